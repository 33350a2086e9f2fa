#include "symtab.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct table {
	Elf64_Sym *syms;
	size_t n;
	char *strings; /* ends in a NUL (checked) */
	size_t strings_size;
};

struct hd_symtab {
	struct table tables[2]; /* .dynsym, .symtab */
	Elf64_Phdr *segments;
	size_t nsegments;
};

struct file {
	int fd;
	const char *path;
	uint64_t size;
};

static bool inside(const struct file *f, uint64_t off, uint64_t len)
{
	return off <= f->size && len <= f->size - off;
}

/* Reads exactly LEN bytes at OFF, which lie inside the file as opened. */
static int read_at(const struct file *f, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(f->fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hd_fail_errno(HD_E_NOENT, errno, "%s: read", f->path);
		if (n == 0)
			return hd_fail(HD_E_LAYOUT, "%s: the file shrank while being read", f->path);
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* A malloc'd copy of COUNT entries of SIZE bytes at OFF, checked to lie in
 * the file; NULL with the error recorded. */
static void *read_array(const struct file *f, uint64_t off, uint64_t count, size_t size,
			const char *what)
{
	if (count == 0 || count > UINT64_MAX / size || !inside(f, off, count * size)) {
		hd_fail(HD_E_LAYOUT, "%s: %s lie past the end of the file", f->path, what);
		return NULL;
	}
	void *v = malloc((size_t)(count * size));
	if (!v) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		return NULL;
	}
	if (read_at(f, off, v, (size_t)(count * size)) != 0) {
		free(v);
		return NULL;
	}
	return v;
}

/* The section count, with extended numbering (e_shnum 0: the count is in
 * the first section header's sh_size). */
static int section_count(const struct file *f, const Elf64_Ehdr *eh, uint64_t *n)
{
	*n = eh->e_shnum;
	if (eh->e_shoff == 0) {
		*n = 0;
		return 0;
	}
	if (*n == 0) {
		Elf64_Shdr first;
		if (!inside(f, eh->e_shoff, sizeof first))
			return hd_fail(HD_E_LAYOUT, "%s: section headers lie past the end of the file",
				       f->path);
		if (read_at(f, eh->e_shoff, &first, sizeof first) != 0)
			return -1;
		*n = first.sh_size;
	}
	if (*n > SYMTAB_MAX_SECTIONS)
		return hd_fail(HD_E_LAYOUT, "%s: %llu sections (limit %u)", f->path,
			       (unsigned long long)*n, SYMTAB_MAX_SECTIONS);
	return 0;
}

static int load_table(const struct file *f, const Elf64_Shdr *sh, const Elf64_Shdr *shdrs,
		      uint64_t nsections, struct table *t)
{
	if (sh->sh_entsize != sizeof(Elf64_Sym) || sh->sh_size % sizeof(Elf64_Sym) != 0)
		return hd_fail(HD_E_NOT_ELF, "%s: damaged symbol table (entry size %llu)", f->path,
			       (unsigned long long)sh->sh_entsize);
	uint64_t n = sh->sh_size / sizeof(Elf64_Sym);
	if (n > SYMTAB_MAX_SYMBOLS)
		return hd_fail(HD_E_LAYOUT, "%s: %llu symbols in one table (limit %u)", f->path,
			       (unsigned long long)n, SYMTAB_MAX_SYMBOLS);
	if (sh->sh_link >= nsections || shdrs[sh->sh_link].sh_type != SHT_STRTAB)
		return hd_fail(HD_E_NOT_ELF, "%s: damaged symbol table (no string table)", f->path);
	const Elf64_Shdr *str = &shdrs[sh->sh_link];
	if (str->sh_size > SYMTAB_MAX_STRINGS)
		return hd_fail(HD_E_LAYOUT, "%s: %llu bytes of symbol names (limit %u)", f->path,
			       (unsigned long long)str->sh_size, SYMTAB_MAX_STRINGS);
	if (n == 0)
		return 0;
	if (!(t->syms = read_array(f, sh->sh_offset, n, sizeof *t->syms, "symbols")) ||
	    !(t->strings = read_array(f, str->sh_offset, str->sh_size, 1, "symbol names")))
		return -1;
	t->n = (size_t)n;
	t->strings_size = (size_t)str->sh_size;
	if (t->strings[t->strings_size - 1] != '\0')
		return hd_fail(HD_E_NOT_ELF, "%s: damaged symbol names (not terminated)", f->path);
	return 0;
}

static int load(const struct file *f, hd_symtab *st)
{
	Elf64_Ehdr eh;
	if (f->size < sizeof eh)
		return hd_fail(HD_E_NOT_ELF, "%s: not an ELF file", f->path);
	if (read_at(f, 0, &eh, sizeof eh) != 0)
		return -1;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return hd_fail(HD_E_NOT_ELF, "%s: not a 64-bit little-endian ELF file", f->path);
	if ((eh.e_shoff && eh.e_shentsize != sizeof(Elf64_Shdr)) ||
	    (eh.e_phoff && eh.e_phentsize != sizeof(Elf64_Phdr)))
		return hd_fail(HD_E_NOT_ELF, "%s: damaged ELF header", f->path);
	if (eh.e_phoff && eh.e_phnum) {
		if (eh.e_phnum > SYMTAB_MAX_SEGMENTS)
			return hd_fail(HD_E_LAYOUT, "%s: %u segments (limit %u)", f->path, eh.e_phnum,
				       SYMTAB_MAX_SEGMENTS);
		if (!(st->segments = read_array(f, eh.e_phoff, eh.e_phnum, sizeof *st->segments,
						 "program headers")))
			return -1;
		st->nsegments = eh.e_phnum;
	}
	uint64_t nsections;
	if (section_count(f, &eh, &nsections) != 0)
		return -1;
	if (nsections == 0)
		return 0;
	Elf64_Shdr *shdrs = read_array(f, eh.e_shoff, nsections, sizeof *shdrs, "section headers");
	if (!shdrs)
		return -1;
	int rc = 0;
	for (uint64_t i = 0; i < nsections && rc == 0; i++) {
		int which = shdrs[i].sh_type == SHT_DYNSYM ? 0 : shdrs[i].sh_type == SHT_SYMTAB ? 1 : -1;
		if (which < 0)
			continue;
		if (st->tables[which].syms) {
			rc = hd_fail(HD_E_NOT_ELF, "%s: two symbol tables of one kind", f->path);
			break;
		}
		rc = load_table(f, &shdrs[i], shdrs, nsections, &st->tables[which]);
	}
	free(shdrs);
	return rc;
}

hd_symtab *symtab_open(int fd, const char *path)
{
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		hd_fail_errno(HD_E_NOENT, errno, "%s", path);
		return NULL;
	}
	struct file f = {fd, path, (uint64_t)sb.st_size};
	hd_symtab *st = calloc(1, sizeof *st);
	if (!st) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		return NULL;
	}
	if (load(&f, st) != 0) {
		symtab_close(st);
		return NULL;
	}
	return st;
}

/* Where VADDR's bytes lie in the file: inside a loaded segment's file part. */
static bool file_offset(const hd_symtab *st, uint64_t vaddr, uint64_t *off)
{
	for (size_t i = 0; i < st->nsegments; i++) {
		const Elf64_Phdr *ph = &st->segments[i];
		if (ph->p_type == PT_LOAD && vaddr >= ph->p_vaddr && vaddr - ph->p_vaddr < ph->p_filesz &&
		    ph->p_offset <= UINT64_MAX - (vaddr - ph->p_vaddr)) {
			*off = vaddr - ph->p_vaddr + ph->p_offset;
			return true;
		}
	}
	return false;
}

bool symtab_find_function(const hd_symtab *st, const char *name, struct hd_symbol *sym)
{
	for (size_t t = 0; t < 2; t++) {
		const struct table *tab = &st->tables[t];
		for (size_t i = 0; i < tab->n; i++) {
			const Elf64_Sym *s = &tab->syms[i];
			if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF ||
			    s->st_name >= tab->strings_size ||
			    strcmp(tab->strings + s->st_name, name) != 0)
				continue;
			sym->value = s->st_value;
			sym->size = s->st_size;
			sym->in_file = file_offset(st, s->st_value, &sym->file_offset);
			return true;
		}
	}
	return false;
}

void symtab_close(hd_symtab *st)
{
	if (!st)
		return;
	for (size_t t = 0; t < 2; t++) {
		free(st->tables[t].syms);
		free(st->tables[t].strings);
	}
	free(st->segments);
	free(st);
}
