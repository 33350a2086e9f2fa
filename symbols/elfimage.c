#include "elfimage.h"

#include "../common/hd_error.h"
#include "../common/interrupt.h"
#include "elffile.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char VM_KEY[] = "com.oracle.svm.core.VM=";

/* The machine is checked after the header (elfimage_open): one of two. */
static const struct hd_elffile_want NATIVE_IMAGE = {
	.machine = EM_NONE,
	.max_sections = HD_MAX_SECTIONS,
	.unsupported = HD_E_NOT_NATIVE_IMAGE,
};

static bool name_is(Elf *elf, size_t strndx, const GElf_Shdr *sh, const char *want)
{
	const char *name = elf_strptr(elf, strndx, sh->sh_name);
	return name && strcmp(name, want) == 0;
}

/* The version is a C string in a writable data section (.data).  Each
 * section is read in pieces overlapping by the key's length, so a key that
 * straddles two pieces is found; the whole search is bounded by
 * HD_VERSION_SCAN_*.  An unreadable section only leaves the version empty. */
static int find_vm_version(struct hd_elfimage *img, const struct hd_elffile *f, uint64_t off,
			   uint64_t size, uint8_t *buf, size_t cap)
{
	if (img->vm_version[0] || !elffile_inside(f, off, size) ||
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
		if (elffile_read(f, off + pos, buf, n) != 0)
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

/* The image heap's bytes: a private copy (read in pieces that poll for
 * signals), so that nothing the file does later can reach them. */
static int read_heap(struct hd_elfimage *img, const struct hd_elffile *f, const GElf_Shdr *heap)
{
	if (heap->sh_size == 0 || heap->sh_type == SHT_NOBITS ||
	    !elffile_inside(f, heap->sh_offset, heap->sh_size))
		return hd_fail(HD_E_LAYOUT, "%s: .svm_heap lies outside the file (truncated?)",
			       f->path);
	if (heap->sh_size > HD_MAX_IMAGE_HEAP)
		return hd_fail(HD_E_LAYOUT, "%s: .svm_heap of %llu bytes (limit %llu)", f->path,
			       (unsigned long long)heap->sh_size,
			       (unsigned long long)HD_MAX_IMAGE_HEAP);
	img->heap_offset = heap->sh_offset;
	img->heap_size = heap->sh_size;
	img->heap = malloc(img->heap_size);
	if (!img->heap)
		return hd_fail(HD_E_INTERNAL, "out of memory (image heap of %llu bytes)",
			       (unsigned long long)img->heap_size);
	return elffile_read(f, img->heap_offset, img->heap, img->heap_size);
}

/* Walks the section table through libelf for the image heap and the
 * writable data sections the VM version may lie in. */
static int scan_sections(struct hd_elfimage *img, const struct hd_elffile *f)
{
	if (f->shnum == 0)
		return hd_fail(HD_E_NOT_NATIVE_IMAGE, "%s: no section table", f->path);
	size_t strndx;
	if (elf_getshdrstrndx(f->elf, &strndx) != 0)
		return hd_fail(HD_E_NOT_ELF, "%s: damaged ELF header (no section names)", f->path);
	if (elffile_strtab(f, strndx, HD_MAX_SECTION_NAMES) != 0)
		return -1;
	const size_t cap = 1u << 20;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	int rc = -1;
	GElf_Shdr heap = {0}, sh;
	bool have_heap = false;
	size_t i = 0;
	for (Elf_Scn *scn = elf_nextscn(f->elf, NULL); scn; scn = elf_nextscn(f->elf, scn)) {
		if ((++i & 1023) == 0 && hd_interrupted()) {
			hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
			goto out;
		}
		if (!gelf_getshdr(scn, &sh)) {
			elffile_libelf_failed(f, HD_E_LAYOUT, "unreadable section table");
			goto out;
		}
		if (name_is(f->elf, strndx, &sh, ".svm_heap")) {
			heap = sh;
			have_heap = true;
		} else if (sh.sh_type == SHT_PROGBITS && (sh.sh_flags & SHF_WRITE) &&
			   (sh.sh_flags & SHF_ALLOC)) {
			if (find_vm_version(img, f, sh.sh_offset, sh.sh_size, buf, cap) != 0)
				goto out;
		}
	}
	if (!have_heap) {
		hd_fail(HD_E_NOT_NATIVE_IMAGE,
			"%s: not a GraalVM native image (no .svm_heap section)", f->path);
		goto out;
	}
	rc = read_heap(img, f, &heap);
out:
	free(buf);
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
	struct hd_elffile f;
	int rc = elffile_open(&f, fd, path, &NATIVE_IMAGE);
	/* The image heap's format is the same on every machine Native Image
	 * builds for; an --exe dump can read one built for either. */
	if (rc == 0 && f.eh.e_machine != EM_X86_64 && f.eh.e_machine != EM_AARCH64) {
		rc = hd_fail(HD_E_NOT_NATIVE_IMAGE,
			     "%s: an ELF file for machine %u; native images are x86-64 or aarch64",
			     path, (unsigned)f.eh.e_machine);
		elffile_close(&f);
	} else if (rc == 0) {
		img->file_size = f.size;
		img->dev = f.dev;
		img->ino = f.ino;
		img->section_count = f.shnum;
		rc = scan_sections(img, &f);
		elffile_close(&f);
	}
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
