/* Fuzz target: the input is a whole executable.  The ELF reader opens it
 * (through a memfd, as a file) and, when it finds an image heap, the dump
 * pipeline runs on that (tests/fuzz/pipeline.c); the symbol table reader
 * opens the same file and looks up the functions a libc is searched for. */
#include "../../common/hd_error.h"
#include "../../symbols/elfimage.h"
#include "../../symbols/symtab.h"
#include "pipeline.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A refusal must say the file is bad, and a function found must lie in it. */
static void read_symbols(int fd, size_t size)
{
	hd_error_clear();
	hd_symtab *st = symtab_open(fd, "fuzz-elf");
	if (!st) {
		enum hd_error_class c = hd_error_class();
		if (c != HD_E_NOT_ELF && c != HD_E_LAYOUT)
			fuzz_invariant_failed("the symbol table reader failed with an unexpected class");
		return;
	}
	static const char *const names[] = {"getpid", "main", ""};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		struct hd_symbol sym;
		if (symtab_find_function(st, names[i], &sym) && sym.in_file && sym.file_offset >= size)
			fuzz_invariant_failed("a function's code past the end of the file");
	}
	symtab_close(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		fuzz_invariant_failed("cannot stage the input in a memfd");
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	read_symbols(fd, size);
	struct hd_elfimage img;
	hd_error_clear();
	fuzz_outcome = "refused by the ELF reader";
	if (elfimage_open(path, &img) != 0) {
		enum hd_error_class c = hd_error_class();
		if (c != HD_E_NOT_ELF && c != HD_E_NOT_NATIVE_IMAGE && c != HD_E_LAYOUT)
			fuzz_invariant_failed("the ELF reader failed with an unexpected class");
	} else {
		if (img.heap_size > size)
			fuzz_invariant_failed("an image heap larger than the file");
		fuzz_pipeline(elfimage_heap(&img), img.heap_size);
		elfimage_close(&img);
	}
	close(fd);
	return 0;
}
