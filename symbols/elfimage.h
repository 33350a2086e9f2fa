/* The executable on disk: its .svm_heap section (the image heap as linked),
 * the VM version string and whatever symbols survived stripping. */
#ifndef HD_ELFIMAGE_H
#define HD_ELFIMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hd_elfimage {
	const uint8_t *file;   /* the whole file, mapped read-only */
	size_t file_size;
	dev_t dev;             /* identity, to find the file's mappings in a process */
	ino_t ino;
	uint64_t heap_offset;  /* .svm_heap: file offset, link address, size */
	uint64_t heap_addr;
	uint64_t heap_size;
	char vm_version[160];  /* "GraalVM CE 25+37.1", or "" when absent */
	size_t symbol_count;   /* .symtab + .dynsym entries */
	int has_dwarf;         /* .debug_info present (extra source, never required) */
};

/* Opens PATH and finds its image heap.  Errors: HD_E_NOENT, HD_E_PERM,
 * HD_E_NOT_ELF, HD_E_NOT_NATIVE_IMAGE (no .svm_heap), HD_E_LAYOUT (section
 * lies outside the file: truncated). */
int elfimage_open(const char *path, struct hd_elfimage *img);

void elfimage_close(struct hd_elfimage *img);

/* Lets the kernel drop the pages read so far (they come back from the file
 * if touched again): a live dump needs the file only for discovery. */
void elfimage_drop_pages(struct hd_elfimage *img);

/* The image heap's bytes as they are in the file. */
static inline const uint8_t *elfimage_heap(const struct hd_elfimage *img)
{
	return img->file + img->heap_offset;
}

#endif
