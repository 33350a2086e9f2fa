/* A core file as a process (lib/core.c), on a crafted core and executable:
 * the executable named by the core or given, refused when it is another
 * file; maps carrying the executable's identity; threads from the notes;
 * missing chunks failing with the range and reason, or left out and
 * counted when partial; a read error explained. */
#include "../../lib/core.h"
#include "corecraft.h"

#include <criterion/criterion.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char core_path[64], exe_path[64];

/* An executable of two pages of BYTE, and a core of it: its header page
 * dumped (0xee), the rest left out, then anonymous memory left out. */
static void craft(uint8_t byte)
{
	snprintf(exe_path, sizeof exe_path, "/tmp/hd-core-exe-%d", (int)getpid());
	snprintf(core_path, sizeof core_path, "/tmp/hd-core-%d", (int)getpid());
	FILE *f = fopen(exe_path, "wb");
	for (int i = 0; i < 2 * 4096; i++)
		fputc(byte, f);
	fclose(f);
	struct cc_core c;
	cc_init(&c);
	cc_thread(&c, 42, 0x400100, 0x7000);
	cc_entry(&c, 0x400100);
	static const uint64_t e[1][3] = {{0x400000, 0x402000, 0}};
	const char *const names[1] = {exe_path};
	cc_files(&c, 1, e, names);
	cc_seg(&c, (struct cc_seg){0x400000, 0x2000, 0x1000, PF_R | PF_X, 0xee});
	cc_seg(&c, (struct cc_seg){0x500000, 0x100000, 0, PF_R | PF_W, 0});
	cr_assert_eq(cc_write(&c, core_path, 0), 0);
}

static void cleanup(struct hd_core *c)
{
	core_free(c);
	unlink(core_path);
	unlink(exe_path);
}

Test(core, the_cores_executable_read_as_a_process)
{
	craft(0xee);
	struct hd_core c;
	cr_assert_eq(core_open(&c, core_path, NULL), 0, "%s", hd_error_message());
	cr_assert_str_eq(c.exe, exe_path, "found through NT_FILE and AT_ENTRY");
	struct hd_maps m;
	cr_assert_eq(hd_core_ops.read_maps(&c, c.cf.pid, &m), 0);
	cr_assert_eq(m.n, 2);
	struct stat st;
	cr_assert_eq(stat(exe_path, &st), 0);
	cr_assert(m.v[0].ino == st.st_ino && m.v[0].dev == st.st_dev, "the exe's identity");
	cr_assert_eq(m.v[1].ino, 0, "anonymous");
	maps_free(&m);
	struct hd_target t;
	cr_assert_eq(hd_core_ops.stop(&c, &t, c.cf.pid), 0);
	cr_assert_eq(t.n, 1);
	cr_assert_eq(t.tasks[0].tid, 42);
	cr_assert_eq(t.tasks[0].rsp, 0x7000);
	hd_core_ops.release(&c, &t);
	target_free(&t);
	cr_assert_eq(hd_core_ops.fork_allowed(&c, 42), -1);
	cleanup(&c);
}

Test(core, another_executable_is_refused)
{
	craft(0x11);
	struct hd_core c;
	cr_assert_eq(core_open(&c, core_path, exe_path), -1);
	cr_assert_eq(hd_error_class(), HD_E_USAGE, "%s", hd_error_message());
	cr_assert(strstr(hd_error_message(), "is not the executable of this core"));
	cleanup(&c);
}

Test(core, missing_chunks_fail_or_are_counted)
{
	craft(0xee);
	struct hd_core c;
	cr_assert_eq(core_open(&c, core_path, NULL), 0, "%s", hd_error_message());
	struct hd_chunk there = {.addr = 0x400000, .top = 0x401800};
	struct hd_chunk lost = {.addr = 0x500000, .top = 0x540000};
	cr_assert_eq(hd_core_ops.chunk_missing(&c, &there), 0, "header page and file pages");
	cr_assert_eq(hd_core_ops.chunk_missing(&c, &lost), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	cr_assert(strstr(hd_error_message(), "0x500000-0x600000") &&
		  strstr(hd_error_message(), "coredump_filter bit 0"), "%s", hd_error_message());
	c.partial = true;
	cr_assert_eq(hd_core_ops.chunk_missing(&c, &lost), 1);
	cr_assert_eq(c.missing_chunks, 1);
	cr_assert_eq(c.missing_chunk_bytes, 0x40000);
	/* a chunk whose header the core lacks, listed empty by the scan */
	struct hd_chunk headless = {.addr = 0x580000, .first = 0x580000, .top = 0x580000};
	cr_assert_eq(hd_core_ops.chunk_missing(&c, &headless), 1);
	cr_assert_eq(c.missing_chunks, 2);
	cr_assert_eq(c.missing_chunk_bytes, 0x40000, "no size known");
	struct hd_target t;
	cr_assert_eq(hd_core_ops.stop(&c, &t, c.cf.pid), 0);
	cr_assert(t.lacks_memory, "the scan ends a chain at a header the core lacks");
	target_free(&t);
	hd_fail(HD_E_LAYOUT, "cannot read 16 bytes at 0x5ffff8: not mapped");
	core_explain(&c);
	cr_assert(strstr(hd_error_message(), "the core lacks 0x500000-0x600000"), "%s",
		  hd_error_message());
	/* a message naming no missing address: the gap where heap state lies */
	hd_fail(HD_E_LAYOUT, "3 references do not land on an object start (first: 0x7000)");
	core_explain(&c);
	cr_assert(strstr(hd_error_message(), "do not land") &&
		  strstr(hd_error_message(), "the core lacks 0x500000-0x600000"), "%s",
		  hd_error_message());
	char said[512];
	snprintf(said, sizeof said, "%s", hd_error_message());
	core_explain(&c);
	cr_assert_str_eq(hd_error_message(), said, "said once");
	hd_fail(HD_E_INTERRUPTED, "interrupted by signal 2");
	core_explain(&c);
	cr_assert_str_eq(hd_error_message(), "interrupted by signal 2");
	cleanup(&c);
}

Test(core, a_core_without_inaccessible_mappings_is_explained)
{
	craft(0xee); /* every segment readable, as gcore writes them */
	struct hd_core c;
	cr_assert_eq(core_open(&c, core_path, NULL), 0, "%s", hd_error_message());
	hd_fail(HD_E_NOT_NATIVE_IMAGE, "process 42 maps no isolate's image heap");
	core_explain_open(&c);
	cr_assert_eq(hd_error_class(), HD_E_NOT_NATIVE_IMAGE);
	cr_assert(strstr(hd_error_message(), "gcore"), "%s", hd_error_message());
	c.cf.marks_inaccessible = true; /* a kernel core keeps PROT_NONE reservations */
	hd_fail(HD_E_NOT_NATIVE_IMAGE, "process 42 maps no isolate's image heap");
	core_explain_open(&c);
	cr_assert_str_eq(hd_error_message(), "process 42 maps no isolate's image heap",
			 "the executable's header page was checked: nothing to add");
	c.header_checked = false; /* as when coredump_filter bit 4 was off */
	core_explain_open(&c);
	cr_assert(strstr(hd_error_message(), "coredump_filter bit 4"), "%s", hd_error_message());
	cleanup(&c);
}

/* Into FILE: the ELF header of an executable with entry 0x400100 and
 * PHNUM program headers, the first loading two pages at 0x400000. */
static void elf_exe_header(uint8_t *file, uint16_t phnum)
{
	Elf64_Ehdr eh = {.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			 .e_entry = 0x400100, .e_phoff = sizeof eh, .e_ehsize = sizeof eh,
			 .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = phnum};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	Elf64_Phdr ph = {.p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_vaddr = 0x400000,
			 .p_filesz = 2 * 4096, .p_memsz = 2 * 4096, .p_align = 4096};
	memcpy(file, &eh, sizeof eh);
	memcpy(file + sizeof eh, &ph, sizeof ph);
}

/* A two-page ELF executable loaded at 0x400000, entry 0x400100. */
static void write_elf_exe(void)
{
	snprintf(exe_path, sizeof exe_path, "/tmp/hd-core-exe-%d", (int)getpid());
	static uint8_t file[2 * 4096];
	elf_exe_header(file, 1);
	FILE *f = fopen(exe_path, "wb");
	fwrite(file, 1, sizeof file, f);
	fclose(f);
}

/* A gcore core of that executable: the loader's mapping at 0x400000 and an
 * isolate's copy at 0x600000, neither dumped (NT_FILE names them), the copy
 * right above an anonymous mapping gcore wrote as readable FILL bytes. */
static void craft_gcore(uint8_t fill)
{
	write_elf_exe();
	snprintf(core_path, sizeof core_path, "/tmp/hd-core-%d", (int)getpid());
	struct cc_core c;
	cc_init(&c);
	cc_thread(&c, 42, 0x400100, 0x7000);
	cc_entry(&c, 0x400100);
	static const uint64_t e[2][3] = {{0x400000, 0x402000, 0}, {0x600000, 0x602000, 0}};
	const char *const names[2] = {exe_path, exe_path};
	cc_files(&c, 2, e, names);
	cc_seg(&c, (struct cc_seg){0x5f0000, 0x10000, 0x10000, PF_R | PF_W, fill});
	cc_seg(&c, (struct cc_seg){0x700000, 0x1000, 0x1000, PF_R | PF_W, 0});
	c.data_shift = 0x358;
	cr_assert_eq(cc_write(&c, core_path, 0), 0);
}

Test(core, the_null_region_below_an_isolates_copy_is_inaccessible)
{
	craft_gcore(0);
	struct hd_core c;
	cr_assert_eq(core_open(&c, core_path, NULL), 0, "%s", hd_error_message());
	struct hd_maps m;
	cr_assert_eq(hd_core_ops.read_maps(&c, c.cf.pid, &m), 0);
	cr_assert_eq(m.n, 4);
	cr_assert(m.v[0].start == 0x400000 && m.v[0].r, "the loader's mapping");
	cr_assert(m.v[1].start == 0x5f0000 && !m.v[1].r, "zeros below a copy: the null region");
	cr_assert(m.v[2].start == 0x600000 && m.v[2].r, "the isolate's copy");
	cr_assert(m.v[3].start == 0x700000 && m.v[3].r, "zeros below no copy stay readable");
	maps_free(&m);
	cleanup(&c);

	craft_gcore(0x5a); /* not zeros: memory the process had */
	cr_assert_eq(core_open(&c, core_path, NULL), 0, "%s", hd_error_message());
	cr_assert_eq(hd_core_ops.read_maps(&c, c.cf.pid, &m), 0);
	cr_assert(m.v[1].start == 0x5f0000 && m.v[1].r);
	maps_free(&m);
	cleanup(&c);
}

/* A two-page ELF executable loaded at 0x400000 whose second page holds its
 * GNU build-id note (ID_BYTE repeated), into FILE. */
static void build_id_exe(uint8_t *file, uint8_t id_byte)
{
	memset(file, 0, 2 * 4096);
	elf_exe_header(file, 2);
	Elf64_Phdr note = {.p_type = PT_NOTE, .p_flags = PF_R, .p_offset = 0x1000,
			   .p_vaddr = 0x401000, .p_filesz = 16 + 20, .p_memsz = 16 + 20,
			   .p_align = 4};
	memcpy(file + sizeof(Elf64_Ehdr) + sizeof note, &note, sizeof note);
	Elf64_Nhdr nh = {.n_namesz = 4, .n_descsz = 20, .n_type = NT_GNU_BUILD_ID};
	memcpy(file + 0x1000, &nh, sizeof nh);
	memcpy(file + 0x1000 + sizeof nh, "GNU", 4);
	memset(file + 0x1000 + sizeof nh + 4, id_byte, 20);
}

/* libdwfl finds the module at the entry point and its build-id in the
 * core's memory; a file whose first page is the process's but whose
 * build-id is not is refused. */
Test(core, the_build_id_libdwfl_finds_must_be_the_files)
{
	static uint8_t ran[2 * 4096], other[2 * 4096];
	build_id_exe(ran, 0xab);
	build_id_exe(other, 0xcd);
	snprintf(exe_path, sizeof exe_path, "/tmp/hd-core-exe-%d", (int)getpid());
	snprintf(core_path, sizeof core_path, "/tmp/hd-core-%d", (int)getpid());
	struct cc_core cc;
	cc_init(&cc);
	cc_thread(&cc, 42, 0x400100, 0x7000);
	cc_entry(&cc, 0x400100);
	static const uint64_t e[1][3] = {{0x400000, 0x402000, 0}};
	const char *const names[1] = {exe_path};
	cc_files(&cc, 1, e, names);
	cc_seg_bytes(&cc, (struct cc_seg){0x400000, 0x2000, 0x2000, PF_R | PF_X, 0}, ran);
	cr_assert_eq(cc_write(&cc, core_path, 0), 0);
	for (int k = 0; k < 2; k++) {
		FILE *f = fopen(exe_path, "wb");
		fwrite(k ? other : ran, 1, sizeof ran, f);
		fclose(f);
		struct hd_core c;
		int rc = core_open(&c, core_path, NULL);
		if (k == 0) {
			cr_assert_eq(rc, 0, "%s", hd_error_message());
			cr_assert_str_eq(c.cf.module, exe_path, "the module at the entry point");
			cr_assert_eq(c.cf.build_id_len, 20);
			cr_assert_eq(c.cf.build_id[0], 0xab);
		} else {
			cr_assert_eq(rc, -1);
			cr_assert_eq(hd_error_class(), HD_E_USAGE, "%s", hd_error_message());
			cr_assert(strstr(hd_error_message(), "build-id is abab"), "%s", hd_error_message());
		}
		core_free(&c);
	}
	unlink(core_path);
	unlink(exe_path);
}
