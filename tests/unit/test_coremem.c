/* A core's memory as a view (symbols/coremem.c), on crafted cores and a
 * crafted executable: dumped bytes, the executable's pages the core left
 * out filled from the file, a read across two segments, and what must stay
 * missing (truncation, coredump_filter bits) with the reason. */
#include "../../symbols/coremem.h"
#include "corecraft.h"

#include <criterion/criterion.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXE "/opt/app/bin/app"
#define EXE_SIZE (3 * 4096)

static char core_path[64], exe_path[64];
static int exe_fd = -1;

/* An executable whose byte at offset I is I / 4096 + 1. */
static void make_exe(void)
{
	snprintf(exe_path, sizeof exe_path, "/tmp/hd-coremem-exe-%d", (int)getpid());
	exe_fd = open(exe_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(exe_fd, 0);
	unlink(exe_path);
	uint8_t page[4096];
	for (int i = 0; i < 3; i++) {
		memset(page, i + 1, sizeof page);
		cr_assert_eq(write(exe_fd, page, sizeof page), (ssize_t)sizeof page);
	}
}

/* The executable mapped read-only at 0x400000 (its ELF header page dumped,
 * the rest left out), written to at 0x402000 (ANON: dumped as anonymous
 * memory is), then anonymous memory at 0x403000 (dumped when ANON). */
static void craft(struct cc_core *c, bool anon)
{
	cc_init(c);
	cc_thread(c, 7, 0x400100, 0);
	cc_entry(c, 0x400100);
	static const uint64_t e[2][3] = {{0x400000, 0x402000, 0}, {0x402000, 0x403000, 2}};
	static const char *const names[2] = {EXE, EXE};
	cc_files(c, 2, e, names);
	cc_seg(c, (struct cc_seg){0x400000, 0x2000, 0x1000, PF_R | PF_X, 0xee});
	cc_seg(c, (struct cc_seg){0x402000, 0x1000, anon ? 0x1000 : 0, PF_R | PF_W, 0xdd});
	cc_seg(c, (struct cc_seg){0x403000, 0x2000, anon ? 0x2000 : 0, PF_R | PF_W, 0xcc});
}

static void build(struct hd_corefile *cf, struct hd_corememory *m, const struct cc_core *c,
		  uint64_t truncate)
{
	make_exe();
	snprintf(core_path, sizeof core_path, "/tmp/hd-coremem-%d", (int)getpid());
	cr_assert_eq(cc_write(c, core_path, truncate), 0);
	cr_assert_eq(corefile_open(core_path, cf), 0, "%s", hd_error_message());
	unlink(core_path);
	cr_assert_eq(corememory_build(m, cf, EXE, exe_fd, EXE_SIZE), 0, "%s", hd_error_message());
}

/* The gap at ADDR, of kind WHY. */
static const struct core_gap *expect_gap(const struct hd_corememory *m, uint64_t addr,
					 enum core_gap_why why)
{
	const struct core_gap *g = corememory_gap(m, addr, addr + 1);
	cr_assert_not_null(g, "no gap at 0x%llx", (unsigned long long)addr);
	cr_assert_eq(g->why, why);
	return g;
}

static void done(struct hd_corefile *cf, struct hd_corememory *m)
{
	corememory_free(m);
	corefile_close(cf);
	close(exe_fd);
}

Test(coremem, dumped_bytes_and_the_executables_pages)
{
	struct cc_core c;
	craft(&c, true);
	struct hd_corefile cf;
	struct hd_corememory m;
	build(&cf, &m, &c, 0);
	uint8_t b[0x5000];
	/* one read over all three segments: header page from the core, the
	 * next page from the file, then the written and anonymous pages */
	cr_assert_eq(mv_read(m.view, 0x400000, b, sizeof b), 0, "%s", hd_error_message());
	cr_assert_eq(b[0], 0xee);
	cr_assert_eq(b[0x1000], 2, "the file's second page, not invented");
	cr_assert_eq(b[0x2000], 0xdd, "the core's copy of a written page");
	cr_assert_eq(b[0x4fff], 0xcc);
	cr_assert_eq(m.ngaps, 0);
	cr_assert_eq(mv_read(m.view, 0x405000, b, 1), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "a core never changes: no torn read");
	done(&cf, &m);
}

Test(coremem, anonymous_memory_filtered_out_stays_missing)
{
	struct cc_core c;
	craft(&c, false);
	struct hd_corefile cf;
	struct hd_corememory m;
	build(&cf, &m, &c, 0);
	uint8_t b[16];
	cr_assert_eq(mv_read(m.view, 0x401000, b, sizeof b), 0, "unmodified file pages");
	cr_assert_eq(mv_try_read(m.view, 0x402000, b, 1), -1, "written exe page: stale in the file");
	cr_assert_eq(mv_try_read(m.view, 0x403000, b, 1), -1);
	expect_gap(&m, 0x402000, GAP_WRITTEN_EXE);
	const struct core_gap *g = expect_gap(&m, 0x404000, GAP_ANONYMOUS);
	char text[400];
	corememory_describe(g, &cf, text, sizeof text);
	cr_assert(strstr(text, "0x403000-0x405000") && strstr(text, "coredump_filter bit 0"), "%s",
		  text);
	cr_assert_eq(corememory_missing_bytes(&m), 0x3000);
	done(&cf, &m);
}

Test(coremem, a_truncated_core_is_missing_its_tail)
{
	struct cc_core c;
	craft(&c, true);
	struct hd_corefile cf;
	struct hd_corememory m;
	/* notes page, header page, written page, half the anonymous segment */
	build(&cf, &m, &c, 4096 + 0x1000 + 0x1000 + 0x1000);
	uint8_t b[16];
	cr_assert_eq(mv_read(m.view, 0x403ff0, b, sizeof b), 0);
	cr_assert_eq(mv_try_read(m.view, 0x403ff8, b, sizeof b), -1, "a read into the cut");
	const struct core_gap *g = expect_gap(&m, 0x404000, GAP_TRUNCATED);
	cr_assert_eq(g->lo, 0x404000);
	cr_assert_eq(g->hi, 0x405000);
	done(&cf, &m);
}

/* As gcore writes a core: its segments at offsets that miss page alignment
 * (its notes come first), no segment for the executable's unwritten pages
 * (only NT_FILE names them), its written pages and anonymous memory dumped
 * right after.  One read across all of it sees each byte where it was. */
static void gcore_odd_offsets(uint32_t shift)
{
	struct cc_core c;
	cc_init(&c);
	cc_thread(&c, 7, 0x400100, 0);
	cc_entry(&c, 0x400100);
	static const uint64_t e[1][3] = {{0x400000, 0x403000, 0}};
	static const char *const names[1] = {EXE};
	cc_files(&c, 1, e, names);
	cc_seg(&c, (struct cc_seg){0x400000, 0x1000, 0x1000, PF_R, 0xee});
	cc_seg(&c, (struct cc_seg){0x403000, 0x5000, 0x5000, PF_R | PF_W, 0xcc});
	c.data_shift = shift;
	struct hd_corefile cf;
	struct hd_corememory m;
	build(&cf, &m, &c, 0);
	static uint8_t b[0x8000];
	cr_assert_eq(mv_read(m.view, 0x400000, b, sizeof b), 0, "%s", hd_error_message());
	cr_assert(b[0] == 0xee && b[0xfff] == 0xee);
	cr_assert(b[0x1000] == 2 && b[0x2fff] == 3, "the file's pages, where only NT_FILE names them");
	for (size_t i = 0x3000; i < sizeof b; i++)
		cr_assert_eq(b[i], 0xcc, "byte 0x%zx", i);
	cr_assert_eq(m.ngaps, 0);
	/* an address keeps its place in 8 bytes, mapped or copied */
	const void *p = mv_local_ptr(m.view, 0x403008, 8);
	cr_assert_not_null(p);
	cr_assert_eq((uintptr_t)p % 8, 0, "shift 0x%x", shift);
	done(&cf, &m);
}

Test(coremem, a_gcore_core_at_odd_offsets)
{
	gcore_odd_offsets(0xa18); /* gcore's: 8-aligned, mapped */
	gcore_odd_offsets(0x3);   /* not even that: copied */
}
