/* The executable on disk: its .svm_heap section (the image heap as linked),
 * the VM version string.
 *
 * The file is opened as symbols/elffile.h says (header and section count
 * checked before libelf allocates for them; libelf reading with pread,
 * never mapping: a file truncated or rewritten while hdump runs is then an
 * error, not a SIGBUS).  Every size is checked against the file's real
 * size before anything is allocated, and the work spent on the version
 * string is bounded, so a hostile file (a section table larger than the
 * file, extended section numbering claiming billions of sections, tens of
 * thousands of sections) costs little.
 *
 * The image heap is either a private copy (pread) or, for the executable of
 * a running process on a local filesystem, a read-only mapping of the file
 * (elfimage_open_running): the kernel refuses every open for writing of a
 * file being executed (ETXTBSY), so the mapping cannot be truncated under
 * hdump, and its pages can leave hdump's resident set between the stages
 * that read them (elfimage_release) while the page cache keeps them.  A
 * network or FUSE filesystem does not enforce that refusal for writers on
 * other machines: there the copy is read, as for --exe and cores, whose
 * files nothing holds. */
#ifndef HD_ELFIMAGE_H
#define HD_ELFIMAGE_H

#include "../common/hd_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Native images have a few dozen sections and an image heap of tens to
 * hundreds of MiB; a file beyond these is refused before anything is
 * allocated for it. */
#define HD_MAX_SECTIONS (1u << 18)
#define HD_MAX_SECTION_NAMES (16u << 20)
#define HD_MAX_IMAGE_HEAP (8ull << 30)

/* The VM version is searched for in at most this many writable data
 * sections and this many bytes in all (real images: one .data section of
 * well under 1 MiB). */
#define HD_VERSION_SCAN_SECTIONS 64
#define HD_VERSION_SCAN_BYTES (16u << 20)

/* A file's identity as fstat saw it: every write to the file changes its
 * ctime (which, unlike mtime, no user can set), a replacement changes
 * its inode.  What the discovery cache knows a file by, once its content
 * has been hashed (dcachefile.h). */
struct hd_fileid {
	uint64_t dev, ino, size;
	int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
};

struct hd_elfimage {
	uint8_t *heap;         /* .svm_heap's bytes: malloc'd, or inside MAP */
	void *map;             /* the read-only mapping HEAP lies in, or NULL */
	size_t map_len;
	uint64_t file_size;
	dev_t dev;             /* identity, to find the file's mappings in a process */
	ino_t ino;
	/* The file's identity while its image heap was read; ID_KNOWN false
	 * when it changed meanwhile (then the bytes are of no one identity). */
	struct hd_fileid id;
	bool id_known;
	uint64_t heap_offset;  /* .svm_heap: file offset, size */
	uint64_t heap_size;
	char vm_version[160];  /* "GraalVM CE 25+37.1", or "" when absent */
	size_t section_count;
	/* The version search's work, within HD_VERSION_SCAN_*. */
	unsigned version_scan_sections;
	uint64_t version_scan_bytes;
};

/* Opens PATH, reads its section table and its image heap.  Errors:
 * HD_E_NOENT, HD_E_PERM, HD_E_NOT_ELF (not ELF, or a damaged header),
 * HD_E_NOT_NATIVE_IMAGE (not x86-64, no .svm_heap), HD_E_LAYOUT (a section
 * table or section that lies outside the file: truncated, or changed while
 * being read), HD_E_INTERRUPTED. */
HD_MUST_CHECK int elfimage_open(const char *path, struct hd_elfimage *img);

/* The same for PATH, the executable of a running process (/proc/PID/exe):
 * the image heap is mapped when the filesystem is a local one, else read. */
HD_MUST_CHECK int elfimage_open_running(const char *path, struct hd_elfimage *img);

/* Whether the image heap is a mapping of the file rather than a copy. */
static inline bool elfimage_is_mapped(const struct hd_elfimage *img)
{
	return img->map != NULL;
}

/* Lets the image heap's pages go from hdump's resident set when it is a
 * mapping (the next read faults them back from the page cache); nothing
 * for a copy.  For the end of each stage that read much of it. */
void elfimage_release(const struct hd_elfimage *img);

/* The same for the LEN bytes at OFFSET into the image heap (widened to
 * whole pages, clipped to the heap): for a walk to let go of what it has
 * passed.  IMG may be NULL. */
void elfimage_release_range(const struct hd_elfimage *img, uint64_t offset, uint64_t len);

/* A walk of the image heap in address order that lets the pages it has
 * passed go, every few MiB: set IMG (NULL: nothing is let go) and
 * IMAGE_START (the address the image heap's first byte is read at), then
 * call elfimage_passed with each object's address. */
struct hd_release_behind {
	const struct hd_elfimage *img;
	uint64_t image_start;
	uint64_t released; /* offset below which the pages were let go */
};
void elfimage_passed(struct hd_release_behind *r, uint64_t addr);

/* For a stage that reads the image heap in no order (a class's objects,
 * its metadata, wherever they lie): call once per item it handles; every
 * few hundred items the pages go.  IMG may be NULL. */
void elfimage_tick(const struct hd_elfimage *img, uint32_t *ticks);

void elfimage_close(struct hd_elfimage *img);

/* Frees the image heap's bytes: a live dump needs them only for discovery.
 * elfimage_heap() must not be used afterwards. */
void elfimage_drop_pages(struct hd_elfimage *img);

/* The image heap's bytes as they are in the file. */
static inline const uint8_t *elfimage_heap(const struct hd_elfimage *img)
{
	return img->heap;
}

#endif
