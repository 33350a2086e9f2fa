#include "symtab.h"

#include "elffile.h"

#include <elf.h>
#include <stdlib.h>
#include <string.h>

/* Any machine's libc: the caller checks the code it finds. */
static const struct hd_elffile_want ANY_ELF64 = {
	.machine = EM_NONE,
	.max_sections = SYMTAB_MAX_SECTIONS,
	.unsupported = HD_E_NOT_ELF,
};

struct table {
	Elf_Data *syms; /* libelf's, ELF_T_SYM; NULL: no such table */
	size_t n;
	size_t names;   /* the section of its names (checked: a terminated string table) */
};

struct segment {
	uint64_t vaddr, filesz, offset;
};

struct hd_symtab {
	/* Its descriptor and path are the caller's, used only while opening. */
	struct hd_elffile file;
	struct table tables[2]; /* .dynsym, .symtab */
	struct segment segments[SYMTAB_MAX_SEGMENTS];
	size_t nsegments;
};

/* The loaded segments (PT_LOAD), from the program headers checked here to
 * lie in the file and within the limit before libelf reads them; each
 * segment's file part cut at the file's end. */
static int load_segments(hd_symtab *st)
{
	const struct hd_elffile *f = &st->file;
	const Elf64_Ehdr *eh = &f->eh;
	if (eh->e_phoff == 0)
		return 0;
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return hd_fail(HD_E_NOT_ELF, "%s: damaged ELF header (segment entry size %u)", f->path,
			       eh->e_phentsize);
	/* PN_XNUM (extended numbering) is over the limit too. */
	if (eh->e_phnum > SYMTAB_MAX_SEGMENTS)
		return hd_fail(HD_E_LAYOUT, "%s: %u segments (limit %u)", f->path, eh->e_phnum,
			       SYMTAB_MAX_SEGMENTS);
	if (!elffile_inside(f, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
		return hd_fail(HD_E_LAYOUT, "%s: program headers lie past the end of the file",
			       f->path);
	for (size_t i = 0; i < eh->e_phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(f->elf, (int)i, &ph))
			return elffile_libelf_failed(f, HD_E_LAYOUT, "unreadable program headers");
		if (ph.p_type != PT_LOAD || ph.p_offset > f->size)
			continue;
		/* Only the bytes the file holds: a code address past them is
		 * not in the file, whatever the segment claims. */
		uint64_t held = f->size - ph.p_offset;
		st->segments[st->nsegments++] = (struct segment){
			ph.p_vaddr, ph.p_filesz < held ? ph.p_filesz : held, ph.p_offset};
	}
	return 0;
}

/* One symbol table, its size checked by the size of an ELF symbol and
 * against the file before libelf reads it; its names checked too. */
static int load_table(const struct hd_elffile *f, Elf_Scn *scn, const GElf_Shdr *sh,
		      struct table *t)
{
	if (sh->sh_entsize != sizeof(Elf64_Sym) || sh->sh_size % sizeof(Elf64_Sym) != 0)
		return hd_fail(HD_E_NOT_ELF, "%s: damaged symbol table (entry size %llu)", f->path,
			       (unsigned long long)sh->sh_entsize);
	uint64_t n = sh->sh_size / sizeof(Elf64_Sym);
	if (n > SYMTAB_MAX_SYMBOLS)
		return hd_fail(HD_E_LAYOUT, "%s: %llu symbols in one table (limit %u)", f->path,
			       (unsigned long long)n, SYMTAB_MAX_SYMBOLS);
	if (n == 0)
		return 0;
	if (!elffile_inside(f, sh->sh_offset, sh->sh_size))
		return hd_fail(HD_E_LAYOUT, "%s: symbols lie past the end of the file", f->path);
	if (sh->sh_flags & SHF_COMPRESSED)
		return hd_fail(HD_E_NOT_ELF, "%s: damaged symbol table (compressed)", f->path);
	if (elffile_strtab(f, sh->sh_link, SYMTAB_MAX_STRINGS) != 0)
		return -1;
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || d->d_type != ELF_T_SYM || d->d_size != sh->sh_size)
		return elffile_libelf_failed(f, HD_E_LAYOUT, "unreadable symbol table");
	t->syms = d;
	t->n = (size_t)n;
	t->names = sh->sh_link;
	return 0;
}

static int load_tables(hd_symtab *st)
{
	const struct hd_elffile *f = &st->file;
	for (size_t i = 1; i < f->shnum; i++) {
		Elf_Scn *scn;
		GElf_Shdr sh;
		if (elffile_section(f, i, &scn, &sh) != 0)
			return -1;
		int which = sh.sh_type == SHT_DYNSYM ? 0 : sh.sh_type == SHT_SYMTAB ? 1 : -1;
		if (which < 0)
			continue;
		if (st->tables[which].syms)
			return hd_fail(HD_E_NOT_ELF, "%s: two symbol tables of one kind", f->path);
		if (load_table(f, scn, &sh, &st->tables[which]) != 0)
			return -1;
	}
	return 0;
}

hd_symtab *symtab_open(int fd, const char *path)
{
	hd_symtab *st = calloc(1, sizeof *st);
	if (!st) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		return NULL;
	}
	if (elffile_open(&st->file, fd, path, &ANY_ELF64) != 0) {
		free(st);
		return NULL;
	}
	if (load_segments(st) != 0 || load_tables(st) != 0) {
		symtab_close(st);
		return NULL;
	}
	/* Everything symtab_find_function reads is loaded: the caller may
	 * close FD, and libelf must not read it again. */
	elf_cntl(st->file.elf, ELF_C_FDDONE);
	return st;
}

/* Where VADDR's bytes lie in the file: inside a loaded segment's file part. */
static bool file_offset(const hd_symtab *st, uint64_t vaddr, uint64_t *off)
{
	for (size_t i = 0; i < st->nsegments; i++) {
		const struct segment *s = &st->segments[i];
		if (vaddr >= s->vaddr && vaddr - s->vaddr < s->filesz &&
		    s->offset <= UINT64_MAX - (vaddr - s->vaddr)) {
			*off = vaddr - s->vaddr + s->offset;
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
			GElf_Sym s;
			if (!gelf_getsym(tab->syms, (int)i, &s) ||
			    GELF_ST_TYPE(s.st_info) != STT_FUNC || s.st_shndx == SHN_UNDEF)
				continue;
			/* NULL for a name past the table's end. */
			const char *sname = elf_strptr(st->file.elf, tab->names, s.st_name);
			if (!sname || strcmp(sname, name) != 0)
				continue;
			sym->value = s.st_value;
			sym->size = s.st_size;
			sym->in_file = file_offset(st, s.st_value, &sym->file_offset);
			return true;
		}
	}
	return false;
}

void symtab_close(hd_symtab *st)
{
	if (!st)
		return;
	elffile_close(&st->file);
	free(st);
}
