#include "elfimage.h"

#include "../common/hd_error.h"
#include "../common/interrupt.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char VM_KEY[] = "com.oracle.svm.core.VM=";

/* The heap is read in pieces, so that a signal is noticed on a slow disk. */
#define READ_PIECE (4u << 20)

struct reader {
	int fd;
	const char *path;
	uint64_t size; /* the file's size when opened */
};

/* Reads exactly LEN bytes at OFF, which the caller has checked lie inside
 * the file as it was opened; a short read means it shrank meanwhile. */
static int read_at(const struct reader *r, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		if (hd_interrupted())
			return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d",
				       hd_interrupted_signal());
		size_t want = len < READ_PIECE ? len : READ_PIECE;
		ssize_t n = pread(r->fd, p, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hd_fail_errno(HD_E_NOENT, errno, "%s: read", r->path);
		if (n == 0)
			return hd_fail(HD_E_LAYOUT, "%s: the file shrank while being read", r->path);
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static bool inside(const struct reader *r, uint64_t off, uint64_t len)
{
	return off <= r->size && len <= r->size - off;
}

/* What the header promises, checked with our own reads before libelf sees
 * the file: libelf sizes its per-section array by the header's count
 * (extended numbering included) bounded only by the file's size, so a
 * sparse file of gigabytes would cost gigabytes inside elf_begin. */
static int check_header(const struct reader *r, size_t *shnum)
{
	Elf64_Ehdr eh;
	if (read_at(r, 0, &eh, sizeof eh) != 0)
		return -1;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return hd_fail(HD_E_NOT_ELF, "%s: not an ELF file", r->path);
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64)
		return hd_fail(HD_E_NOT_NATIVE_IMAGE, "%s: not an x86-64 ELF executable", r->path);
	if (eh.e_shoff == 0)
		return hd_fail(HD_E_NOT_NATIVE_IMAGE, "%s: no section table", r->path);
	/* libelf assumes the native entry size whatever the header says. */
	if (eh.e_shentsize != sizeof(Elf64_Shdr))
		return hd_fail(HD_E_NOT_ELF, "%s: damaged ELF header (section entry size %u)",
			       r->path, eh.e_shentsize);
	Elf64_Shdr first;
	if (!inside(r, eh.e_shoff, sizeof first))
		return hd_fail(HD_E_LAYOUT,
			       "%s: truncated ELF file (section headers lie past its end)", r->path);
	if (read_at(r, eh.e_shoff, &first, sizeof first) != 0)
		return -1;
	uint64_t n = eh.e_shnum ? eh.e_shnum : first.sh_size;
	/* libelf would silently see no sections in a table cut by the file's
	 * end; it is refused here, as is one larger than any image has. */
	if (n == 0 || n > (r->size - eh.e_shoff) / sizeof(Elf64_Shdr))
		return hd_fail(HD_E_LAYOUT,
			       "%s: truncated ELF file (%llu section headers do not fit in it)",
			       r->path, (unsigned long long)n);
	if (n > HD_MAX_SECTIONS)
		return hd_fail(HD_E_NOT_NATIVE_IMAGE, "%s: %llu sections (a native image has a few "
						      "dozen; limit %u)",
			       r->path, (unsigned long long)n, HD_MAX_SECTIONS);
	*shnum = (size_t)n;
	return 0;
}

static int libelf_failed(enum hd_error_class cls, const struct reader *r, const char *what)
{
	return hd_fail(cls, "%s: %s: %s", r->path, what, elf_errmsg(-1));
}

/* The section names, loaded by libelf.  Checked first: inside the file and
 * bounded, not compressed (libelf would inflate it to whatever size its
 * header claims), and ending in a NUL, which keeps each elf_strptr() O(1):
 * it otherwise searches back from the name for a terminator. */
static int load_names(Elf *elf, const struct reader *r, size_t shnum, size_t *strndx)
{
	if (elf_getshdrstrndx(elf, strndx) != 0 || *strndx == SHN_UNDEF || *strndx >= shnum)
		return hd_fail(HD_E_NOT_ELF, "%s: damaged ELF header (no section names)", r->path);
	Elf_Scn *scn = elf_getscn(elf, *strndx);
	GElf_Shdr sh;
	if (!scn || !gelf_getshdr(scn, &sh))
		return libelf_failed(HD_E_LAYOUT, r, "unreadable section table");
	if (sh.sh_type != SHT_STRTAB || !inside(r, sh.sh_offset, sh.sh_size))
		return hd_fail(HD_E_LAYOUT, "%s: truncated ELF file (section names lie past its end)",
			       r->path);
	if (sh.sh_size > HD_MAX_SECTION_NAMES)
		return hd_fail(HD_E_NOT_NATIVE_IMAGE, "%s: %llu bytes of section names (limit %u)",
			       r->path, (unsigned long long)sh.sh_size, HD_MAX_SECTION_NAMES);
	if (sh.sh_flags & SHF_COMPRESSED)
		return hd_fail(HD_E_NOT_ELF, "%s: damaged ELF file (compressed section names)",
			       r->path);
	Elf_Data *d = elf_rawdata(scn, NULL);
	if (!d)
		return libelf_failed(HD_E_LAYOUT, r, "unreadable section names");
	if (d->d_size == 0 || ((const char *)d->d_buf)[d->d_size - 1] != '\0')
		return hd_fail(HD_E_NOT_ELF, "%s: damaged ELF file (section names not terminated)",
			       r->path);
	return 0;
}

static bool name_is(Elf *elf, size_t strndx, const GElf_Shdr *sh, const char *want)
{
	const char *name = elf_strptr(elf, strndx, sh->sh_name);
	return name && strcmp(name, want) == 0;
}

/* The version is a C string in a writable data section (.data).  Each
 * section is read in pieces overlapping by the key's length, so a key that
 * straddles two pieces is found; the whole search is bounded by
 * HD_VERSION_SCAN_*.  An unreadable section only leaves the version empty. */
static int find_vm_version(struct hd_elfimage *img, const struct reader *r, uint64_t off,
			   uint64_t size, uint8_t *buf, size_t cap)
{
	if (img->vm_version[0] || !inside(r, off, size) ||
	    img->version_scan_sections >= HD_VERSION_SCAN_SECTIONS)
		return 0;
	img->version_scan_sections++;
	const size_t keep = sizeof img->vm_version + sizeof VM_KEY;
	for (uint64_t pos = 0; pos < size;) {
		uint64_t left = HD_VERSION_SCAN_BYTES - img->version_scan_bytes;
		size_t n = size - pos < cap ? (size_t)(size - pos) : cap;
		if (n > left)
			n = (size_t)left;
		if (n == 0)
			return 0;
		if (read_at(r, off + pos, buf, n) != 0)
			return -1;
		img->version_scan_bytes += n;
		bool last = pos + n >= size;
		const uint8_t *hit = memmem(buf, n, VM_KEY, sizeof VM_KEY - 1);
		if (hit && ((size_t)(hit - buf) + keep <= n || last)) {
			const uint8_t *v = hit + sizeof VM_KEY - 1;
			size_t max = (size_t)(buf + n - v), k = 0;
			while (k < max && k + 1 < sizeof img->vm_version && v[k] >= 0x20 && v[k] < 0x7f)
				k++;
			memcpy(img->vm_version, v, k);
			img->vm_version[k] = '\0';
			return 0;
		}
		if (last)
			break;
		/* Go on from just before the end, so that a key (and its value)
		 * cut by the piece's end is seen whole in the next piece. */
		pos += n > keep ? n - keep : n;
	}
	return 0;
}

/* A symbol table's entries, counted by libelf's size of a symbol (the
 * file's sh_entsize is not trusted); one outside the file counts nothing. */
/* The image heap's bytes: a private copy (read in pieces that poll for
 * signals), so that nothing the file does later can reach them. */
static int read_heap(struct hd_elfimage *img, const struct reader *r, const GElf_Shdr *heap)
{
	if (heap->sh_size == 0 || heap->sh_type == SHT_NOBITS ||
	    !inside(r, heap->sh_offset, heap->sh_size))
		return hd_fail(HD_E_LAYOUT, "%s: .svm_heap lies outside the file (truncated?)",
			       r->path);
	if (heap->sh_size > HD_MAX_IMAGE_HEAP)
		return hd_fail(HD_E_LAYOUT, "%s: .svm_heap of %llu bytes (limit %llu)", r->path,
			       (unsigned long long)heap->sh_size,
			       (unsigned long long)HD_MAX_IMAGE_HEAP);
	img->heap_offset = heap->sh_offset;
	img->heap_size = heap->sh_size;
	img->heap = malloc(img->heap_size);
	if (!img->heap)
		return hd_fail(HD_E_INTERNAL, "out of memory (image heap of %llu bytes)",
			       (unsigned long long)img->heap_size);
	return read_at(r, img->heap_offset, img->heap, img->heap_size);
}

/* Walks the section table through libelf (ELF_C_READ: read with pread on
 * demand, never mapped; a short read is a libelf error, not a fault). */
static int scan_sections(struct hd_elfimage *img, const struct reader *r, size_t shnum)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return hd_fail(HD_E_INTERNAL, "libelf is too old");
	Elf *elf = elf_begin(r->fd, ELF_C_READ, NULL);
	if (!elf)
		return libelf_failed(HD_E_NOT_ELF, r, "not an ELF file");
	const size_t cap = 1u << 20;
	uint8_t *buf = malloc(cap);
	int rc = -1;
	if (!buf) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		goto out;
	}
	/* The file may have been rewritten since check_header() read it. */
	size_t n;
	if (elf_kind(elf) != ELF_K_ELF || elf_getshdrnum(elf, &n) != 0 || n != shnum) {
		hd_fail(HD_E_LAYOUT, "%s: the file changed while being read", r->path);
		goto out;
	}
	size_t strndx;
	if (load_names(elf, r, shnum, &strndx) != 0)
		goto out;
	img->section_count = n;
	GElf_Shdr heap = {0}, sh;
	bool have_heap = false;
	size_t i = 0;
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		if ((++i & 1023) == 0 && hd_interrupted()) {
			hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
			goto out;
		}
		if (!gelf_getshdr(scn, &sh)) {
			libelf_failed(HD_E_LAYOUT, r, "unreadable section table");
			goto out;
		}
		if (name_is(elf, strndx, &sh, ".svm_heap")) {
			heap = sh;
			have_heap = true;
		} else if (sh.sh_type == SHT_PROGBITS && (sh.sh_flags & SHF_WRITE) &&
			   (sh.sh_flags & SHF_ALLOC)) {
			if (find_vm_version(img, r, sh.sh_offset, sh.sh_size, buf, cap) != 0)
				goto out;
		}
	}
	if (!have_heap) {
		hd_fail(HD_E_NOT_NATIVE_IMAGE,
			"%s: not a GraalVM native image (no .svm_heap section)", r->path);
		goto out;
	}
	rc = read_heap(img, r, &heap);
out:
	free(buf);
	elf_end(elf);
	return rc;
}

int elfimage_open(const char *path, struct hd_elfimage *img)
{
	memset(img, 0, sizeof *img);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ENOTDIR)
			return hd_fail(HD_E_NOENT, "%s: no such file", path);
		if (e == EACCES || e == EPERM)
			return hd_fail_errno(HD_E_PERM, e, "%s", path);
		return hd_fail_errno(HD_E_NOENT, e, "%s", path);
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return hd_fail(HD_E_NOT_ELF, "%s: not a regular file", path);
	}
	if (st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		close(fd);
		return hd_fail(HD_E_NOT_ELF, "%s: not an ELF file (too short)", path);
	}
	struct reader r = {.fd = fd, .path = path, .size = (uint64_t)st.st_size};
	img->file_size = r.size;
	img->dev = st.st_dev;
	img->ino = st.st_ino;
	size_t shnum = 0;
	int rc = check_header(&r, &shnum);
	if (rc == 0)
		rc = scan_sections(img, &r, shnum);
	close(fd);
	if (rc != 0)
		elfimage_close(img);
	return rc;
}

void elfimage_drop_pages(struct hd_elfimage *img)
{
	free(img->heap);
	img->heap = NULL;
}

void elfimage_close(struct hd_elfimage *img)
{
	free(img->heap);
	memset(img, 0, sizeof *img);
}
