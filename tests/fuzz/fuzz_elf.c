/* Fuzz target: the input is a whole executable.  The ELF reader opens it
 * (through a memfd, as a file) and, when it finds an image heap, the dump
 * pipeline runs on that (tests/fuzz/pipeline.c). */
#include "../../common/hd_error.h"
#include "../../symbols/elfimage.h"
#include "pipeline.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		fuzz_invariant_failed("cannot stage the input in a memfd");
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
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
