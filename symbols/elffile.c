#include "elffile.h"

#include "../common/readat.h"

#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool elffile_inside(const struct hd_elffile *f, uint64_t off, uint64_t len)
{
	return off <= f->size && len <= f->size - off;
}

int elffile_read(const struct hd_elffile *f, uint64_t off, void *buf, size_t len)
{
	return hd_read_at(f->fd, f->path, off, buf, len);
}

int elffile_libelf_failed(const struct hd_elffile *f, enum hd_error_class cls, const char *what)
{
	return hd_fail(cls, "%s: %s: %s", f->path, what, elf_errmsg(-1));
}

/* The header and the section count, checked with our own reads before
 * libelf sees the file (elffile.h says why). */
static int check_header(struct hd_elffile *f, const struct hd_elffile_want *want)
{
	Elf64_Ehdr *eh = &f->eh;
	if (elffile_read(f, 0, eh, sizeof *eh) != 0)
		return -1;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return hd_fail(HD_E_NOT_ELF, "%s: not an ELF file", f->path);
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    (want->machine != EM_NONE && eh->e_machine != want->machine))
		return hd_fail(want->unsupported,
			       "%s: not a 64-bit little-endian ELF file for this machine", f->path);
	if (eh->e_shoff == 0)
		return 0; /* no section table */
	/* libelf assumes the native entry size whatever the header says. */
	if (eh->e_shentsize != sizeof(Elf64_Shdr))
		return hd_fail(HD_E_NOT_ELF, "%s: damaged ELF header (section entry size %u)",
			       f->path, eh->e_shentsize);
	Elf64_Shdr first;
	if (!elffile_inside(f, eh->e_shoff, sizeof first))
		return hd_fail(HD_E_LAYOUT,
			       "%s: truncated ELF file (section headers lie past its end)", f->path);
	if (elffile_read(f, eh->e_shoff, &first, sizeof first) != 0)
		return -1;
	uint64_t n = eh->e_shnum ? eh->e_shnum : first.sh_size;
	/* libelf would silently see no sections in a table cut by the file's
	 * end; it is refused here, as is one larger than the caller takes. */
	if (n == 0 || n > (f->size - eh->e_shoff) / sizeof(Elf64_Shdr))
		return hd_fail(HD_E_LAYOUT,
			       "%s: truncated ELF file (%llu section headers do not fit in it)",
			       f->path, (unsigned long long)n);
	if (n > want->max_sections)
		return hd_fail(want->unsupported, "%s: %llu sections (limit %zu)", f->path,
			       (unsigned long long)n, want->max_sections);
	f->shnum = (size_t)n;
	return 0;
}

/* libelf's view of the file, which must be the one checked: the file may
 * have been rewritten since check_header() read it. */
static int begin(struct hd_elffile *f)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return hd_fail(HD_E_INTERNAL, "libelf is too old");
	f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
	if (!f->elf)
		return elffile_libelf_failed(f, HD_E_NOT_ELF, "not an ELF file");
	const Elf64_Ehdr *seen = elf_kind(f->elf) == ELF_K_ELF ? elf64_getehdr(f->elf) : NULL;
	size_t n;
	if (!seen || memcmp(seen, &f->eh, sizeof f->eh) != 0 || elf_getshdrnum(f->elf, &n) != 0 ||
	    n != f->shnum)
		return hd_fail(HD_E_LAYOUT, "%s: the file changed while being read", f->path);
	return 0;
}

int elffile_open(struct hd_elffile *f, int fd, const char *path,
		 const struct hd_elffile_want *want)
{
	memset(f, 0, sizeof *f);
	f->fd = fd;
	f->path = path;
	f->unsupported = want->unsupported;
	struct stat st;
	if (fstat(fd, &st) != 0)
		return hd_fail_errno(HD_E_NOENT, errno, "%s", path);
	if (!S_ISREG(st.st_mode))
		return hd_fail(HD_E_NOT_ELF, "%s: not a regular file", path);
	if (st.st_size < (off_t)sizeof(Elf64_Ehdr))
		return hd_fail(HD_E_NOT_ELF, "%s: not an ELF file (too short)", path);
	f->size = (uint64_t)st.st_size;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	if (check_header(f, want) != 0 || begin(f) != 0) {
		elffile_close(f);
		return -1;
	}
	return 0;
}

void elffile_close(struct hd_elffile *f)
{
	elf_end(f->elf);
	f->elf = NULL;
}

int elffile_section(const struct hd_elffile *f, size_t index, Elf_Scn **scn, GElf_Shdr *sh)
{
	if (index == SHN_UNDEF || index >= f->shnum)
		return hd_fail(HD_E_NOT_ELF, "%s: damaged ELF file (section %zu of %zu)", f->path,
			       index, f->shnum);
	*scn = elf_getscn(f->elf, index);
	if (!*scn || !gelf_getshdr(*scn, sh))
		return elffile_libelf_failed(f, HD_E_LAYOUT, "unreadable section table");
	return 0;
}

int elffile_strtab(const struct hd_elffile *f, size_t index, size_t max)
{
	Elf_Scn *scn;
	GElf_Shdr sh;
	if (elffile_section(f, index, &scn, &sh) != 0)
		return -1;
	if (sh.sh_type != SHT_STRTAB)
		return hd_fail(HD_E_NOT_ELF, "%s: damaged ELF file (section %zu is no string table)",
			       f->path, index);
	if (!elffile_inside(f, sh.sh_offset, sh.sh_size))
		return hd_fail(HD_E_LAYOUT, "%s: truncated ELF file (a string table lies past its end)",
			       f->path);
	if (sh.sh_size > max)
		return hd_fail(f->unsupported, "%s: a string table of %llu bytes (limit %zu)", f->path,
			       (unsigned long long)sh.sh_size, max);
	if (sh.sh_flags & SHF_COMPRESSED)
		return hd_fail(HD_E_NOT_ELF, "%s: damaged ELF file (compressed string table)",
			       f->path);
	Elf_Data *d = elf_rawdata(scn, NULL);
	if (!d)
		return elffile_libelf_failed(f, HD_E_LAYOUT, "unreadable string table");
	if (d->d_size == 0 || ((const char *)d->d_buf)[d->d_size - 1] != '\0')
		return hd_fail(HD_E_NOT_ELF, "%s: damaged ELF file (string table not terminated)",
			       f->path);
	return 0;
}
