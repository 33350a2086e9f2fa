/* Core files parsed (symbols/corefile.c), crafted byte by byte: a sound
 * core's segments, files, threads and entry; cores that are cut short,
 * whose notes lie, whose segments overlap or wrap, that claim huge counts. */
#include "../../symbols/corefile.h"
#include "corecraft.h"

#include <criterion/criterion.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

static void write_core(const struct cc_core *c, uint64_t truncate)
{
	snprintf(path, sizeof path, "/tmp/hd-corefile-%d", (int)getpid());
	cr_assert_eq(cc_write(c, path, truncate), 0);
}

/* A sound core's threads, entry and segments, its NT_FILE note the
 * caller's. */
static void sound_but_files(struct cc_core *c)
{
	cc_init(c);
	cc_thread(c, 101, 0x401000, 0x7ff000);
	cc_thread(c, 102, 0x401010, 0x7fe000);
	cc_entry(c, 0x401000);
	cc_seg(c, (struct cc_seg){0x400000, 0x2000, 0x1000, PF_R | PF_X, 0xaa});
	cc_seg(c, (struct cc_seg){0x500000, 0x1000, 0, PF_R, 0});
	cc_seg(c, (struct cc_seg){0x600000, 0x3000, 0x3000, PF_R | PF_W, 0xbb});
}

static void sound(struct cc_core *c)
{
	sound_but_files(c);
	static const uint64_t e[2][3] = {{0x400000, 0x402000, 0}, {0x500000, 0x501000, 3}};
	static const char *const names[2] = {"/opt/app/bin/app", "/lib/libc.so.6"};
	cc_files(c, 2, e, names);
}

static int open_it(struct hd_corefile *cf)
{
	int rc = corefile_open(path, cf);
	unlink(path);
	return rc;
}

Test(corefile, a_sound_core)
{
	struct cc_core c;
	sound(&c);
	write_core(&c, 0);
	struct hd_corefile cf;
	cr_assert_eq(open_it(&cf), 0, "%s", hd_error_message());
	cr_assert_eq(cf.nsegs, 3);
	cr_assert_eq(cf.segs[0].present, 0x1000);
	cr_assert_eq(cf.segs[0].file, 0);
	cr_assert_eq(cf.segs[1].file, 1);
	cr_assert_eq(cf.segs[1].file_offset, 3 * 4096);
	cr_assert_eq(cf.segs[2].file, -1);
	cr_assert_eq(cf.ntasks, 2);
	cr_assert_eq(cf.tasks[1].tid, 102);
	cr_assert_eq(cf.tasks[1].rip, 0x401010);
	cr_assert_eq(cf.tasks[1].rsp, 0x7fe000);
	cr_assert(cf.tasks[0].have_regs);
	cr_assert_eq(cf.pid, 101, "no NT_PRPSINFO: the first thread's");
	cr_assert_str_eq(corefile_executable(&cf), "/opt/app/bin/app");
	corefile_close(&cf);
}

Test(corefile, a_truncated_core_says_what_it_holds)
{
	struct cc_core c;
	sound(&c);
	write_core(&c, 4096 + 0x1000 + 0x1800); /* the last segment half there */
	struct hd_corefile cf;
	cr_assert_eq(open_it(&cf), 0, "%s", hd_error_message());
	cr_assert_eq(cf.segs[2].filesz, 0x3000);
	cr_assert_eq(cf.segs[2].present, 0x1800);
	corefile_close(&cf);
}

static void expect_refused(const struct cc_core *c, enum hd_error_class cls, const char *what)
{
	write_core(c, 0);
	struct hd_corefile cf;
	cr_assert_eq(open_it(&cf), -1, "%s", what);
	cr_assert_eq(hd_error_class(), cls, "%s: %s", what, hd_error_message());
	corefile_close(&cf);
}

Test(corefile, notes_that_lie_are_refused)
{
	struct cc_core c;
	cc_init(&c);
	cc_thread(&c, 1, 0, 0);
	uint64_t huge[2] = {UINT64_MAX / 8, 4096};
	cc_note(&c, NT_FILE, huge, sizeof huge);
	expect_refused(&c, HD_E_LAYOUT, "NT_FILE count past the note");

	cc_init(&c);
	cc_thread(&c, 1, 0, 0);
	uint8_t unterminated[16 + 24 + 4] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
	unterminated[16 + 8] = 1; /* end 1 > start 0 */
	memset(unterminated + 40, 'x', 4);
	cc_note(&c, NT_FILE, unterminated, sizeof unterminated);
	expect_refused(&c, HD_E_LAYOUT, "a name without its NUL");

	cc_init(&c);
	uint8_t short_status[100] = {0};
	cc_note(&c, NT_PRSTATUS, short_status, sizeof short_status);
	expect_refused(&c, HD_E_LAYOUT, "a short NT_PRSTATUS");

	cc_init(&c);
	cc_seg(&c, (struct cc_seg){0x1000, 0x1000, 0x1000, PF_R, 1});
	expect_refused(&c, HD_E_LAYOUT, "no thread");
}

Test(corefile, segments_that_overlap_or_wrap_are_refused)
{
	struct cc_core c;
	cc_init(&c);
	cc_thread(&c, 1, 0, 0);
	cc_seg(&c, (struct cc_seg){0x10000, 0x2000, 0, PF_R, 0});
	cc_seg(&c, (struct cc_seg){0x11000, 0x2000, 0, PF_R, 0});
	expect_refused(&c, HD_E_LAYOUT, "overlap");

	cc_init(&c);
	cc_thread(&c, 1, 0, 0);
	cc_seg(&c, (struct cc_seg){UINT64_MAX - 0xfff, 0x2000, 0, PF_R, 0});
	expect_refused(&c, HD_E_LAYOUT, "wrap");
}

Test(corefile, huge_counts_and_other_files_are_refused)
{
	struct cc_core c;
	sound(&c);
	c.phnum_lie = 60000; /* program headers far past the file's end */
	expect_refused(&c, HD_E_LAYOUT, "phnum");

	sound(&c);
	c.type = ET_EXEC;
	expect_refused(&c, HD_E_NOT_ELF, "an executable");

	snprintf(path, sizeof path, "/tmp/hd-corefile-%d", (int)getpid());
	FILE *f = fopen(path, "w");
	fputs("not an ELF file at all, but long enough to hold a header........", f);
	fclose(f);
	struct hd_corefile cf;
	cr_assert_eq(open_it(&cf), -1);
	cr_assert_eq(hd_error_class(), HD_E_NOT_ELF);
	corefile_close(&cf);
}

Test(corefile, mappings_only_the_file_note_names)
{
	struct cc_core c;
	sound_but_files(&c);
	/* gcore writes no segment for unmodified file mappings: the rest of
	 * the executable's first entry and all of a second one */
	static const uint64_t e[3][3] = {
		{0x400000, 0x404000, 0}, {0x500000, 0x501000, 3}, {0x700000, 0x702000, 8}};
	static const char *const names[3] = {"/opt/app/bin/app", "/lib/libc.so.6", "/opt/app/bin/app"};
	cc_files(&c, 3, e, names);
	write_core(&c, 0);
	struct hd_corefile cf;
	cr_assert_eq(open_it(&cf), 0, "%s", hd_error_message());
	cr_assert_eq(cf.nsegs, 5);
	const struct core_segment *rest = &cf.segs[1], *other = &cf.segs[4];
	cr_assert(rest->from_note && rest->vaddr == 0x402000 && rest->memsz == 0x2000);
	cr_assert(rest->r && !rest->w && rest->filesz == 0);
	cr_assert_eq(rest->file_offset, 0x2000);
	cr_assert_str_eq(cf.files[rest->file].name, "/opt/app/bin/app");
	cr_assert(other->from_note && other->vaddr == 0x700000 && other->file_offset == 0x8000);
	cr_assert(!cf.segs[0].from_note && !cf.segs[2].from_note);
	cr_assert(cf.marks_inaccessible == false, "every segment readable");
	corefile_close(&cf);

	/* an entry that starts below a segment and ends above it: a range on
	 * each side (the first added while its segment is being read) */
	sound_but_files(&c);
	static const uint64_t around[1][3] = {{0x3fe000, 0x404000, 0}};
	static const char *const one[1] = {"/opt/app/bin/app"};
	cc_files(&c, 1, around, one);
	write_core(&c, 0);
	cr_assert_eq(open_it(&cf), 0, "%s", hd_error_message());
	cr_assert_eq(cf.nsegs, 5);
	bool below = false, above = false;
	for (size_t i = 0; i < cf.nsegs; i++) {
		const struct core_segment *g = &cf.segs[i];
		below |= g->from_note && g->vaddr == 0x3fe000 && g->memsz == 0x2000 &&
			 g->file_offset == 0;
		above |= g->from_note && g->vaddr == 0x402000 && g->memsz == 0x2000 &&
			 g->file_offset == 0x4000;
	}
	cr_assert(below && above, "the ranges on both sides of the segment");
	corefile_close(&cf);

	/* two entries naming the same unwritten range */
	sound_but_files(&c);
	static const uint64_t twice[2][3] = {{0x700000, 0x702000, 0}, {0x700000, 0x702000, 0}};
	static const char *const two[2] = {"/a", "/b"};
	cc_files(&c, 2, twice, two);
	expect_refused(&c, HD_E_LAYOUT, "entries naming one range twice");
}
