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
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
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

/* Filesystems on which the kernel's refusal to open an executing file for
 * writing holds for every writer: local ones (and overlayfs, whose writes
 * copy a file up and leave the mapped lower file alone).  The magic numbers
 * are statfs(2)'s. */
static bool write_denied_while_running(int fd)
{
	static const unsigned long local[] = {
		0xEF53,     /* ext2/3/4 */
		0x58465342, /* xfs */
		0x9123683E, /* btrfs */
		0x01021994, /* tmpfs */
		0x794c7630, /* overlayfs */
		0xF2F52010, /* f2fs */
		0x2FC12FC1, /* zfs */
		0x73717368, /* squashfs */
		0xE0F5E1E2, /* erofs */
	};
	struct statfs sf;
	if (fstatfs(fd, &sf) != 0)
		return false;
	for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
		if ((unsigned long)sf.f_type == local[i])
			return true;
	return false;
}

/* Maps the image heap read-only; false (nothing recorded) when the kernel
 * will not, and the copy is read instead. */
static bool map_heap(struct hd_elfimage *img, const struct hd_elffile *f)
{
	long page = sysconf(_SC_PAGESIZE);
	if (page <= 0)
		return false;
	uint64_t skew = img->heap_offset % (uint64_t)page;
	size_t len = (size_t)(img->heap_size + skew);
	void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, f->fd, (off_t)(img->heap_offset - skew));
	if (p == MAP_FAILED)
		return false;
	img->map = p;
	img->map_len = len;
	img->heap = (uint8_t *)p + skew;
	return true;
}

/* The image heap's bytes: a mapping (see elfimage.h) when RUNNING says the
 * file cannot change under it, else a private copy (read in pieces that
 * poll for signals), so that nothing the file does later can reach them. */
static int read_heap(struct hd_elfimage *img, const struct hd_elffile *f, const GElf_Shdr *heap,
		     bool running)
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
	if (running && write_denied_while_running(f->fd) && map_heap(img, f))
		return 0;
	img->heap = malloc(img->heap_size);
	if (!img->heap)
		return hd_fail(HD_E_INTERNAL, "out of memory (image heap of %llu bytes)",
			       (unsigned long long)img->heap_size);
	return elffile_read(f, img->heap_offset, img->heap, img->heap_size);
}

/* Walks the section table through libelf for the image heap and the
 * writable data sections the VM version may lie in. */
static int scan_sections(struct hd_elfimage *img, const struct hd_elffile *f, bool running)
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
	rc = read_heap(img, f, &heap, running);
out:
	free(buf);
	return rc;
}

static bool file_id(int fd, struct hd_fileid *id)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return false;
	*id = (struct hd_fileid){(uint64_t)st.st_dev, (uint64_t)st.st_ino, (uint64_t)st.st_size,
				 st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ctim.tv_sec,
				 st.st_ctim.tv_nsec};
	return true;
}

static int open_image(const char *path, struct hd_elfimage *img, bool running)
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
	/* The identity before anything is read and after all is: the same
	 * twice, the bytes read are the file's under that identity. */
	struct hd_fileid after;
	bool id_before = file_id(fd, &img->id);
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
		rc = scan_sections(img, &f, running);
		elffile_close(&f);
		img->id_known = rc == 0 && id_before && file_id(fd, &after) &&
				memcmp(&after, &img->id, sizeof after) == 0;
	}
	close(fd);
	if (rc != 0)
		elfimage_close(img);
	return rc;
}

int elfimage_open(const char *path, struct hd_elfimage *img)
{
	return open_image(path, img, false);
}

int elfimage_open_running(const char *path, struct hd_elfimage *img)
{
	return open_image(path, img, true);
}

void elfimage_release(const struct hd_elfimage *img)
{
	/* A private mapping never written holds only page-cache pages:
	 * dropping them loses nothing. */
	if (img->map)
		(void)madvise(img->map, img->map_len, MADV_DONTNEED);
}

void elfimage_release_range(const struct hd_elfimage *img, uint64_t offset, uint64_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	if (!img || !img->map || page <= 0 || offset >= img->heap_size)
		return;
	if (len > img->heap_size - offset)
		len = img->heap_size - offset;
	uintptr_t lo = (uintptr_t)(img->heap + offset), hi = lo + (uintptr_t)len;
	lo -= lo % (uintptr_t)page;
	(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* How far a walk gets ahead of the pages it lets go: large enough that
 * madvise is rare, small against an image heap. */
#define RELEASE_STEP (1u << 20)

void elfimage_passed(struct hd_release_behind *r, uint64_t addr)
{
	uint64_t at = addr - r->image_start;
	if (r->img && addr >= r->image_start && at > r->released + RELEASE_STEP) {
		elfimage_release_range(r->img, r->released, at - r->released);
		r->released = at;
	}
}

/* Items between releases in a stage that reads in no order: a few
 * hundred classes touch a few MiB of a 50 MB image heap, and a release
 * (one madvise over it) costs about as much as refaulting what they need
 * from the page cache. */
#define TICKS_PER_RELEASE 256u

void elfimage_tick(const struct hd_elfimage *img, uint32_t *ticks)
{
	if (img && img->map && ++*ticks % TICKS_PER_RELEASE == 0)
		elfimage_release(img);
}

void elfimage_drop_pages(struct hd_elfimage *img)
{
	if (img->map)
		munmap(img->map, img->map_len);
	else
		free(img->heap);
	img->map = NULL;
	img->map_len = 0;
	img->heap = NULL;
}

void elfimage_close(struct hd_elfimage *img)
{
	elfimage_drop_pages(img);
	memset(img, 0, sizeof *img);
}
