#include "../common/hd_error.h"
#include "../symbols/discover.h"
#include "../symbols/elfimage.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct hd_elfimage img;
	if (argc < 2 || elfimage_open(argv[1], &img) != 0) {
		fprintf(stderr, "hdump: %s\n", hd_error_message());
		return hd_error_exit_code(hd_error_class());
	}
	printf("vm: %s, heap %#lx\n", img.vm_version, (unsigned long)img.heap_size);
	hd_memview *mv = mv_new_local();
	uint64_t start = 0x7e0000000000ull;
	mv_add_local(mv, start, elfimage_heap(&img), img.heap_size);
	struct hd_layout L;
	if (discover_layout(mv, start, img.heap_size, &L, stderr) != 0) {
		fprintf(stderr, "hdump: %s\n", hd_error_message());
		return hd_error_exit_code(hd_error_class());
	}
	return 0;
}
