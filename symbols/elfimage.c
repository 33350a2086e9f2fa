#include "elfimage.h"

#include "../common/hd_error.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char VM_KEY[] = "com.oracle.svm.core.VM=";

/* The version is a C string in a writable data section (.data): searching
 * only there keeps the rest of a 100 MB file out of memory. */
static void find_vm_version(struct hd_elfimage *img, uint64_t off, uint64_t size)
{
	if (img->vm_version[0] || off > img->file_size || size > img->file_size - off)
		return;
	const uint8_t *hit = memmem(img->file + off, size, VM_KEY, sizeof VM_KEY - 1);
	if (!hit)
		return;
	const uint8_t *s = hit + sizeof VM_KEY - 1;
	size_t max = (size_t)(img->file + img->file_size - s);
	size_t n = 0;
	while (n < max && n + 1 < sizeof img->vm_version && s[n] >= 0x20 && s[n] < 0x7f)
		n++;
	memcpy(img->vm_version, s, n);
	img->vm_version[n] = '\0';
}

static int scan_sections(struct hd_elfimage *img, const char *path)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return hd_fail(HD_E_INTERNAL, "libelf is too old");
	Elf *elf = elf_memory((char *)img->file, img->file_size);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		return hd_fail(HD_E_NOT_ELF, "%s: not an ELF file", path);
	}
	int rc = -1;
	size_t shstrndx;
	GElf_Ehdr ehdr;
	if (!gelf_getehdr(elf, &ehdr) || elf_getshdrstrndx(elf, &shstrndx) != 0) {
		hd_fail(HD_E_NOT_ELF, "%s: damaged ELF header: %s", path, elf_errmsg(-1));
		goto out;
	}
	if (ehdr.e_shoff > img->file_size ||
	    (uint64_t)ehdr.e_shnum * ehdr.e_shentsize > img->file_size - ehdr.e_shoff) {
		hd_fail(HD_E_LAYOUT, "%s: truncated ELF file (section headers lie past its end)", path);
		goto out;
	}
	if (ehdr.e_machine != EM_X86_64 || ehdr.e_ident[EI_CLASS] != ELFCLASS64) {
		hd_fail(HD_E_NOT_NATIVE_IMAGE, "%s: not an x86-64 ELF executable", path);
		goto out;
	}
	int found = 0;
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (strcmp(name, ".svm_heap") == 0) {
			img->heap_offset = sh.sh_offset;
			img->heap_addr = sh.sh_addr;
			img->heap_size = sh.sh_size;
			found = 1;
		} else if (strcmp(name, ".debug_info") == 0) {
			img->has_dwarf = 1;
		} else if (sh.sh_type == SHT_PROGBITS && (sh.sh_flags & SHF_WRITE) &&
			   (sh.sh_flags & SHF_ALLOC)) {
			find_vm_version(img, sh.sh_offset, sh.sh_size);
		} else if ((sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM) &&
			   sh.sh_entsize) {
			img->symbol_count += sh.sh_size / sh.sh_entsize;
		}
	}
	if (!found) {
		hd_fail(HD_E_NOT_NATIVE_IMAGE,
			"%s: not a GraalVM native image (no .svm_heap section)", path);
		goto out;
	}
	if (img->heap_size == 0 || img->heap_offset > img->file_size ||
	    img->heap_size > img->file_size - img->heap_offset) {
		hd_fail(HD_E_LAYOUT, "%s: .svm_heap lies outside the file (truncated?)", path);
		goto out;
	}
	rc = 0;
out:
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
	if (st.st_size < 64) {
		close(fd);
		return hd_fail(HD_E_NOT_ELF, "%s: not an ELF file (too short)", path);
	}
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return hd_fail_errno(HD_E_INTERNAL, errno, "%s: mmap", path);
	img->file = map;
	img->file_size = (size_t)st.st_size;
	img->dev = st.st_dev;
	img->ino = st.st_ino;
	if (scan_sections(img, path) != 0) {
		elfimage_close(img);
		return -1;
	}
	return 0;
}

void elfimage_drop_pages(struct hd_elfimage *img)
{
	if (img->file)
		madvise((void *)img->file, img->file_size, MADV_DONTNEED);
}

void elfimage_close(struct hd_elfimage *img)
{
	if (img->file)
		munmap((void *)img->file, img->file_size);
	memset(img, 0, sizeof *img);
}
