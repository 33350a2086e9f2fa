/* The ELF reader on crafted files: a well-formed image, a file truncated
 * after it was opened, section tables that claim more than the file holds
 * (plain and with extended numbering, on sparse files, under an address
 * space limit), tens of thousands of sections, a pending signal. */
#include "../../common/interrupt.h"
#include "../../common/hd_error.h"
#include "../../symbols/elfimage.h"

#include <criterion/criterion.h>
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- Building ELF files ------------------------------------------------- */

#define MAX_SECS 8

struct elf_spec {
	const uint8_t *heap;
	size_t heap_size;
	const char *data;        /* .data contents (a C string), NULL: none */
	unsigned extra_data;     /* more writable PROGBITS sections, all over .data */
	bool extended;           /* section count and name index in section 0 */
	uint64_t claimed_shnum;  /* if nonzero: the count the header claims */
	uint64_t file_size;      /* if larger: the file is extended (sparse) to it */
	uint64_t symtab_size;    /* if nonzero: a .symtab of this size (over the heap) */
	uint64_t symtab_entsize; /* the entry size its header claims */
	uint64_t symtab_offset;  /* if nonzero: where it claims to lie */
	bool names_unterminated; /* the names' last byte is not a NUL */
	uint16_t machine;        /* e_machine; 0: x86-64 */
};

static const char NAMES[] = "\0.data\0.svm_heap\0.shstrtab\0.symtab";
enum { N_DATA = 1, N_HEAP = 7, N_SHSTRTAB = 17, N_SYMTAB = 27 };

static void put(int fd, uint64_t off, const void *p, size_t n)
{
	cr_assert_eq(pwrite(fd, p, n, (off_t)off), (ssize_t)n);
}

static Elf64_Shdr section(uint32_t name, uint32_t type, uint64_t flags, uint64_t off, uint64_t size)
{
	return (Elf64_Shdr){.sh_name = name, .sh_type = type, .sh_flags = flags,
			    .sh_offset = off, .sh_size = size, .sh_addralign = 1};
}

/* Writes the file described by S to a new temporary path (returned, to be
 * freed and unlinked by the caller). */
static char *write_elf(const struct elf_spec *s)
{
	char *path = strdup("/tmp/hdump-elf-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	uint64_t off = sizeof(Elf64_Ehdr);
	uint64_t names_off = off;
	off += sizeof NAMES;
	uint64_t data_off = off, data_len = s->data ? strlen(s->data) + 1 : 0;
	off += data_len;
	off = (off + 7) & ~7ull;
	uint64_t heap_off = off;
	off += s->heap_size;
	off = (off + 7) & ~7ull;
	uint64_t shoff = off;

	size_t n = 0;
	Elf64_Shdr fixed[MAX_SECS];
	fixed[n++] = section(0, SHT_NULL, 0, 0, 0);
	size_t shstrndx = n;
	fixed[n++] = section(N_SHSTRTAB, SHT_STRTAB, 0, names_off,
			     sizeof NAMES - (s->names_unterminated ? 1 : 0));
	if (s->data)
		fixed[n++] = section(N_DATA, SHT_PROGBITS, SHF_WRITE | SHF_ALLOC, data_off, data_len);
	fixed[n++] = section(N_HEAP, SHT_PROGBITS, SHF_WRITE | SHF_ALLOC, heap_off, s->heap_size);
	if (s->symtab_size) {
		fixed[n] = section(N_SYMTAB, SHT_SYMTAB, 0,
				   s->symtab_offset ? s->symtab_offset : heap_off, s->symtab_size);
		fixed[n++].sh_entsize = s->symtab_entsize;
	}
	uint64_t total = n + s->extra_data;
	if (s->extended) {
		fixed[0].sh_size = s->claimed_shnum ? s->claimed_shnum : total;
		fixed[0].sh_link = (uint32_t)shstrndx;
	}
	Elf64_Ehdr eh = {
		.e_type = ET_EXEC, .e_machine = s->machine ? s->machine : EM_X86_64,
		.e_version = EV_CURRENT,
		.e_shoff = shoff, .e_ehsize = sizeof eh, .e_shentsize = sizeof(Elf64_Shdr),
		.e_shnum = (uint16_t)(s->extended ? 0 : s->claimed_shnum ? s->claimed_shnum : total),
		.e_shstrndx = (uint16_t)(s->extended ? SHN_XINDEX : shstrndx),
	};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	put(fd, 0, &eh, sizeof eh);
	put(fd, names_off, NAMES, sizeof NAMES);
	if (s->data)
		put(fd, data_off, s->data, data_len);
	if (s->heap_size)
		put(fd, heap_off, s->heap, s->heap_size);
	put(fd, shoff, fixed, n * sizeof *fixed);
	/* Extra writable data sections, each covering the whole file before
	 * the section table. */
	Elf64_Shdr extra = section(N_DATA, SHT_PROGBITS, SHF_WRITE | SHF_ALLOC, 0, shoff);
	for (unsigned i = 0; i < s->extra_data; i++)
		put(fd, shoff + (n + i) * sizeof extra, &extra, sizeof extra);
	if (s->file_size)
		cr_assert_eq(ftruncate(fd, (off_t)s->file_size), 0);
	close(fd);
	return path;
}

static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n);
	cr_assert_not_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + 7);
	return p;
}

/* ---- Tests -------------------------------------------------------------- */

Test(elfimage, reads_heap_version_and_sections)
{
	uint8_t *heap = pattern(100000);
	struct elf_spec s = {.heap = heap, .heap_size = 100000,
			     .data = "xx com.oracle.svm.core.VM=GraalVM Test 1.0"};
	char *path = write_elf(&s);
	struct hd_elfimage img;
	cr_assert_eq(elfimage_open(path, &img), 0, "%s", hd_error_message());
	cr_assert_eq(img.heap_size, 100000);
	cr_assert_eq(memcmp(elfimage_heap(&img), heap, 100000), 0);
	cr_assert_str_eq(img.vm_version, "GraalVM Test 1.0");
	cr_assert_eq(img.section_count, 4);
	/* the file's identity, as stat gives it, unchanged while read */
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert(img.id_known);
	cr_assert_eq(img.id.ino, (uint64_t)st.st_ino);
	cr_assert_eq(img.id.size, (uint64_t)st.st_size);
	cr_assert_eq(img.id.ctime_s, st.st_ctim.tv_sec);
	cr_assert_eq(img.id.ctime_ns, st.st_ctim.tv_nsec);
	cr_assert_eq(img.id.mtime_ns, st.st_mtim.tv_nsec);
	elfimage_close(&img);

	/* The same with extended section numbering. */
	unlink(path);
	free(path);
	s.extended = true;
	path = write_elf(&s);
	cr_assert_eq(elfimage_open(path, &img), 0, "%s", hd_error_message());
	cr_assert_eq(memcmp(elfimage_heap(&img), heap, 100000), 0);
	cr_assert_eq(img.section_count, 4);
	elfimage_close(&img);
	unlink(path);
	free(path);
	free(heap);
}

/* An image built for aarch64 has the same image heap: --exe reads it on any
 * machine; an ELF file for another machine is no native image. */
Test(elfimage, aarch64_images_are_read_other_machines_refused)
{
	uint8_t *heap = pattern(4096);
	struct elf_spec s = {.heap = heap, .heap_size = 4096, .machine = EM_AARCH64};
	char *path = write_elf(&s);
	struct hd_elfimage img;
	cr_assert_eq(elfimage_open(path, &img), 0, "%s", hd_error_message());
	cr_assert_eq(memcmp(elfimage_heap(&img), heap, 4096), 0);
	elfimage_close(&img);
	unlink(path);
	free(path);
	s.machine = EM_RISCV;
	path = write_elf(&s);
	hd_error_clear();
	cr_assert_eq(elfimage_open(path, &img), -1);
	cr_assert_eq(hd_error_class(), HD_E_NOT_NATIVE_IMAGE, "%s", hd_error_message());
	cr_assert_not_null(strstr(hd_error_message(), "x86-64 or aarch64"), "%s", hd_error_message());
	unlink(path);
	free(path);
	free(heap);
}

/* The file is read, not mapped: truncating it after it was opened cannot
 * reach the heap hdump holds (a mapping would raise SIGBUS here). */
Test(elfimage, file_truncated_after_open_is_harmless)
{
	uint8_t *heap = pattern(1 << 20);
	struct elf_spec s = {.heap = heap, .heap_size = 1 << 20};
	char *path = write_elf(&s);
	struct hd_elfimage img;
	cr_assert_eq(elfimage_open(path, &img), 0, "%s", hd_error_message());
	cr_assert_eq(truncate(path, 0), 0);
	unsigned sum = 0, want = 0;
	for (size_t i = 0; i < img.heap_size; i++) {
		sum += elfimage_heap(&img)[i];
		want += heap[i];
	}
	cr_assert_eq(sum, want);
	elfimage_close(&img);
	unlink(path);
	free(path);
	free(heap);
}

/* elfimage reads no symbol table: one that claims a wrong
 * entry size, or to lie outside the file, does not stop the image heap
 * from being read. */
Test(elfimage, hostile_symbol_table_is_left_alone)
{
	uint8_t *heap = pattern(4096);
	struct elf_spec s = {.heap = heap, .heap_size = 4096,
			     .symtab_size = 5 * sizeof(Elf64_Sym), .symtab_entsize = 1};
	char *path = write_elf(&s);
	struct hd_elfimage img;
	cr_assert_eq(elfimage_open(path, &img), 0, "%s", hd_error_message());
	cr_assert_eq(img.section_count, 4);
	cr_assert_eq(memcmp(elfimage_heap(&img), heap, 4096), 0);
	elfimage_close(&img);
	unlink(path);
	free(path);

	s.symtab_entsize = sizeof(Elf64_Sym);
	s.symtab_offset = 1ull << 40;
	path = write_elf(&s);
	cr_assert_eq(elfimage_open(path, &img), 0, "%s", hd_error_message());
	cr_assert_eq(img.heap_size, 4096);
	elfimage_close(&img);
	unlink(path);
	free(path);
	free(heap);
}

/* Section names must end in a NUL: libelf's elf_strptr() otherwise searches
 * back through the whole table for each name. */
Test(elfimage, unterminated_section_names_are_refused)
{
	uint8_t heap[64] = {0};
	struct elf_spec s = {.heap = heap, .heap_size = sizeof heap, .names_unterminated = true};
	char *path = write_elf(&s);
	struct hd_elfimage img;
	cr_assert_eq(elfimage_open(path, &img), -1);
	cr_assert_eq(hd_error_class(), HD_E_NOT_ELF, "%s", hd_error_message());
	cr_assert_not_null(strstr(hd_error_message(), "not terminated"), "%s", hd_error_message());
	unlink(path);
	free(path);
}

/* A file shorter than its section table or its .svm_heap says. */
Test(elfimage, truncated_file_is_a_clean_error)
{
	uint8_t *heap = pattern(65536);
	struct elf_spec s = {.heap = heap, .heap_size = 65536};
	char *path = write_elf(&s);
	struct hd_elfimage img;
	/* Cut inside the section table. */
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(truncate(path, st.st_size - 10), 0);
	cr_assert_eq(elfimage_open(path, &img), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", hd_error_message());
	unlink(path);
	free(path);
	/* A header claiming 200 sections where the file holds 3. */
	s.claimed_shnum = 200;
	path = write_elf(&s);
	cr_assert_eq(elfimage_open(path, &img), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", hd_error_message());
	cr_assert_not_null(strstr(hd_error_message(), "do not fit"), "%s", hd_error_message());
	unlink(path);
	free(path);
	free(heap);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1 /* its shadow memory needs terabytes of address space */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define CHILD_MEMORY (512u << 20)

/* Runs elfimage_open(PATH) in a child limited to CHILD_MEMORY of address
 * space (without ASan); returns the error class it reported + 50, or -1 if
 * it did not exit normally.  *PEAK_KB gets the child's peak RSS. */
static int open_in_small_child(const char *path, long *peak_kb)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
#ifndef UNDER_ASAN
		struct rlimit rl = {CHILD_MEMORY, CHILD_MEMORY};
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(100);
#endif
		struct hd_elfimage img;
		int rc = elfimage_open(path, &img);
		if (rc == 0)
			elfimage_close(&img);
		_exit(rc == 0 ? 0 : 50 + (int)hd_error_class());
	}
	int status;
	struct rusage ru;
	cr_assert_eq(wait4(pid, &status, 0, &ru), pid);
	*peak_kb = ru.ru_maxrss;
	if (!WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Extended section numbering on small sparse files: section 0 claims
 * billions of sections (more than the file's size could hold) or millions
 * (that would fit in its size, which is sparse): both are refused before
 * anything is allocated, inside a 512 MiB address space and with a small
 * peak RSS. */
Test(elfimage, extended_numbering_on_sparse_file_is_bounded)
{
	uint8_t heap[4096] = {1};
	struct {
		uint64_t claimed, file_size;
		int want;
	} cases[] = {
		{1ull << 32, 1ull << 30, 50 + HD_E_LAYOUT},         /* 256 GiB of headers, 1 GiB file */
		{1ull << 25, 4ull << 30, 50 + HD_E_NOT_NATIVE_IMAGE}, /* 2 GiB of headers, 4 GiB file */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct elf_spec s = {.heap = heap, .heap_size = sizeof heap, .extended = true,
				     .claimed_shnum = cases[i].claimed, .file_size = cases[i].file_size};
		char *path = write_elf(&s);
		struct stat st;
		cr_assert_eq(stat(path, &st), 0);
		cr_assert_lt(st.st_blocks * 512, 1 << 20, "the test file is not sparse");
		long peak_kb;
		int got = open_in_small_child(path, &peak_kb);
		unlink(path);
		free(path);
		cr_assert_eq(got, cases[i].want, "case %zu", i);
		cr_assert_lt(peak_kb, (long)(CHILD_MEMORY >> 10), "case %zu: peak RSS %ld KiB", i,
			     peak_kb);
	}
}

/* Tens of thousands of writable sections, none holding the version: the
 * version search reads no more than its documented bounds. */
Test(elfimage, many_sections_bound_the_version_search)
{
	uint8_t *heap = pattern(2 << 20);
	struct elf_spec s = {.heap = heap, .heap_size = 2 << 20, .extra_data = 50000};
	char *path = write_elf(&s);
	struct hd_elfimage img;
	cr_assert_eq(elfimage_open(path, &img), 0, "%s", hd_error_message());
	cr_assert_eq(img.section_count, 50003);
	cr_assert_str_eq(img.vm_version, "");
	cr_assert_eq(img.version_scan_sections, HD_VERSION_SCAN_SECTIONS);
	cr_assert_leq(img.version_scan_bytes, HD_VERSION_SCAN_BYTES);
	cr_assert_geq(img.version_scan_bytes, 8u << 20, "the search did look");
	elfimage_close(&img);
	unlink(path);
	free(path);
	free(heap);
}

/* A version string cut by the search's read pieces is still found. */
Test(elfimage, version_across_read_pieces)
{
	size_t n = (1u << 20) + 4096;
	char *data = malloc(n + 1);
	cr_assert_not_null(data);
	memset(data, 'x', n);
	data[n] = '\0';
	const char *key = "com.oracle.svm.core.VM=GraalVM Split";
	size_t at = (1u << 20) - 10;
	memcpy(data + at, key, strlen(key));
	data[at + strlen(key)] = '\0';
	uint8_t heap[64] = {0};
	struct elf_spec s = {.heap = heap, .heap_size = sizeof heap, .data = data};
	char *path = write_elf(&s);
	free(data);
	struct hd_elfimage img;
	cr_assert_eq(elfimage_open(path, &img), 0, "%s", hd_error_message());
	cr_assert_str_eq(img.vm_version, "GraalVM Split");
	elfimage_close(&img);
	unlink(path);
	free(path);
}

Test(elfimage, pending_sigint_ends_reading)
{
	uint8_t heap[64] = {0};
	struct elf_spec s = {.heap = heap, .heap_size = sizeof heap};
	char *path = write_elf(&s);
	hd_install_signal_handlers();
	cr_assert_eq(raise(SIGINT), 0);
	struct hd_elfimage img;
	cr_assert_eq(elfimage_open(path, &img), -1);
	cr_assert_eq(hd_error_class(), HD_E_INTERRUPTED, "%s", hd_error_message());
	unlink(path);
	free(path);
}

/* Resident KiB of this process's mapping that holds P (/proc/self/smaps),
 * -1 when none does. */
static long resident_kib(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	cr_assert_not_null(f);
	char line[512];
	bool in = false;
	long kib = -1;
	uintptr_t a = (uintptr_t)p;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = a >= lo && a < hi;
		else if (in && sscanf(line, "Rss: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

/* The executable of a running process is mapped, not copied; its pages
 * leave the resident set when let go, and read back the same.  A copy
 * (elfimage_open) is never let go: its bytes would be lost. */
Test(elfimage, running_executable_is_mapped_and_its_pages_let_go)
{
	const size_t size = 4u << 20;
	uint8_t *heap = pattern(size);
	struct elf_spec s = {.heap = heap, .heap_size = size};
	char *path = write_elf(&s);
	struct hd_elfimage img;
	cr_assert_eq(elfimage_open_running(path, &img), 0, "%s", hd_error_message());
	if (!elfimage_is_mapped(&img)) {
		elfimage_close(&img);
		unlink(path);
		cr_skip_test("%s is not on a filesystem known to be local", path);
	}
	cr_assert_eq(memcmp(elfimage_heap(&img), heap, size), 0);
	cr_assert_geq(resident_kib(elfimage_heap(&img)), (long)(size >> 10) - 4);
	elfimage_release(&img);
	cr_assert_leq(resident_kib(elfimage_heap(&img)), 8);
	cr_assert_eq(memcmp(elfimage_heap(&img), heap, size), 0);

	/* A walk lets go of what lies more than a step behind it. */
	struct hd_release_behind behind = {.img = &img, .image_start = 0x1000};
	for (uint64_t off = 0; off < size; off += 4096)
		elfimage_passed(&behind, 0x1000 + off);
	cr_assert_gt(behind.released, 0);
	cr_assert_leq(resident_kib(elfimage_heap(&img)), (long)((size - behind.released) >> 10) + 8);
	cr_assert_eq(memcmp(elfimage_heap(&img), heap, size), 0);
	elfimage_close(&img);

	cr_assert_eq(elfimage_open(path, &img), 0, "%s", hd_error_message());
	cr_assert_not(elfimage_is_mapped(&img));
	elfimage_release(&img);
	elfimage_release_range(&img, 0, size);
	cr_assert_eq(memcmp(elfimage_heap(&img), heap, size), 0);
	elfimage_close(&img);
	unlink(path);
	free(path);
	free(heap);
}
