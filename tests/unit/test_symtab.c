/* The ELF symbol table reader (symbols/symtab.h) on crafted files: a
 * function found with where its code lies, what is not a defined function
 * passed over, and hostile headers (sizes past the file, counts past the
 * limits, extended numbering, strings out of bounds) refused with the
 * right class; then a real libc. */
#include "../../common/hd_error.h"
#include "../../symbols/symtab.h"
#include "elfcraft.h"

#include <criterion/criterion.h>
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The file, laid out at fixed offsets: header, one PT_LOAD mapping the
 * whole file at BASE, the names, the symbols, code, section headers. */
#define BASE 0x400000
#define PH_OFF 0x40
#define STR_OFF 0x100
#define SYM_OFF 0x140
#define CODE_OFF 0x200
#define SH_OFF 0x300
#define NSYMS 5

static const char STRINGS[] = "\0getpid\0data_obj\0undef_fn\0far_fn";
enum { S_GETPID = 1, S_DATA = 8, S_UNDEF = 17, S_FAR = 26 };

struct crafted {
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	char strings[sizeof STRINGS];
	Elf64_Sym syms[NSYMS];
	Elf64_Shdr sh[3]; /* null, symbols, strings */
	uint64_t file_size;
};

static struct crafted good(void)
{
	struct crafted c;
	memset(&c, 0, sizeof c);
	c.eh = elfcraft_header(ET_DYN);
	c.eh.e_phoff = PH_OFF;
	c.eh.e_phnum = 1;
	c.eh.e_shoff = SH_OFF;
	c.eh.e_shnum = 3;
	c.file_size = SH_OFF + sizeof c.sh;
	c.ph = (Elf64_Phdr){.p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0,
			    .p_vaddr = BASE, .p_filesz = c.file_size, .p_memsz = c.file_size};
	memcpy(c.strings, STRINGS, sizeof STRINGS);
	unsigned char func = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
	c.syms[1] = (Elf64_Sym){.st_name = S_GETPID, .st_info = func, .st_shndx = 1,
				.st_value = BASE + CODE_OFF, .st_size = 12};
	c.syms[2] = (Elf64_Sym){.st_name = S_DATA, .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT),
				.st_shndx = 1, .st_value = BASE + CODE_OFF + 16, .st_size = 8};
	c.syms[3] = (Elf64_Sym){.st_name = S_UNDEF, .st_info = func, .st_shndx = SHN_UNDEF};
	c.syms[4] = (Elf64_Sym){.st_name = S_FAR, .st_info = func, .st_shndx = 1,
				.st_value = BASE + 0x100000, .st_size = 4}; /* past the file */
	c.sh[1] = (Elf64_Shdr){.sh_type = SHT_DYNSYM, .sh_offset = SYM_OFF, .sh_size = sizeof c.syms,
			       .sh_link = 2, .sh_entsize = sizeof(Elf64_Sym)};
	c.sh[2] = (Elf64_Shdr){.sh_type = SHT_STRTAB, .sh_offset = STR_OFF,
			       .sh_size = sizeof STRINGS};
	return c;
}

static void put(int fd, uint64_t off, const void *p, size_t n)
{
	cr_assert_eq(pwrite(fd, p, n, (off_t)off), (ssize_t)n);
}

/* Opens C written to a temporary file: the table, or NULL (error recorded). */
static hd_symtab *open_crafted(const struct crafted *c)
{
	char path[] = "/tmp/hdump-symtab-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(ftruncate(fd, (off_t)c->file_size), 0);
	put(fd, 0, &c->eh, sizeof c->eh);
	put(fd, PH_OFF, &c->ph, sizeof c->ph);
	put(fd, STR_OFF, c->strings, sizeof c->strings);
	put(fd, SYM_OFF, c->syms, sizeof c->syms);
	static const uint8_t code[] = {0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0xc3};
	put(fd, CODE_OFF, code, sizeof code);
	if (SH_OFF + sizeof c->sh <= c->file_size)
		put(fd, SH_OFF, c->sh, sizeof c->sh);
	hd_error_clear();
	hd_symtab *st = symtab_open(fd, "crafted");
	close(fd);
	return st;
}

Test(symtab, finds_a_function_and_where_its_code_lies)
{
	struct crafted c = good();
	hd_symtab *st = open_crafted(&c);
	cr_assert(st, "%s", hd_error_message());
	struct hd_symbol sym;
	cr_assert(symtab_find_function(st, "getpid", &sym));
	cr_assert_eq(sym.value, BASE + CODE_OFF);
	cr_assert_eq(sym.size, 12);
	cr_assert(sym.in_file);
	cr_assert_eq(sym.file_offset, CODE_OFF);
	cr_assert_not(symtab_find_function(st, "data_obj", &sym), "an object is no function");
	cr_assert_not(symtab_find_function(st, "undef_fn", &sym), "undefined: another file's");
	cr_assert_not(symtab_find_function(st, "getpi", &sym), "names match whole");
	cr_assert(symtab_find_function(st, "far_fn", &sym));
	cr_assert_not(sym.in_file, "its address lies in no segment's file bytes");
	symtab_close(st);
}

/* A segment claiming more file bytes than the file holds: code past the
 * file's end is not in the file. */
Test(symtab, a_segment_is_cut_at_the_end_of_the_file)
{
	struct crafted c = good();
	c.ph.p_filesz = c.ph.p_memsz = 0x200000;
	hd_symtab *st = open_crafted(&c);
	cr_assert(st, "%s", hd_error_message());
	struct hd_symbol sym;
	cr_assert(symtab_find_function(st, "getpid", &sym));
	cr_assert(sym.in_file);
	cr_assert_eq(sym.file_offset, CODE_OFF);
	cr_assert(symtab_find_function(st, "far_fn", &sym));
	cr_assert_not(sym.in_file, "offset 0x%llx in a file of %llu bytes",
		      (unsigned long long)sym.file_offset, (unsigned long long)c.file_size);
	symtab_close(st);
}

/* Whether C opens and has the function NAME. */
static bool opens_and_finds(const struct crafted *c, const char *name)
{
	hd_symtab *st = open_crafted(c);
	cr_assert(st, "%s", hd_error_message());
	struct hd_symbol sym;
	bool found = symtab_find_function(st, name, &sym);
	symtab_close(st);
	return found;
}

Test(symtab, reads_symtab_as_well_as_dynsym)
{
	struct crafted c = good();
	c.sh[1].sh_type = SHT_SYMTAB;
	cr_assert(opens_and_finds(&c, "getpid"));
}

Test(symtab, a_file_without_sections_finds_nothing)
{
	struct crafted c = good();
	c.eh.e_shoff = 0;
	c.eh.e_shnum = 0;
	cr_assert_not(opens_and_finds(&c, "getpid"));
}

Test(symtab, a_name_out_of_bounds_is_passed_over)
{
	struct crafted c = good();
	c.syms[1].st_name = 0x7fffffff;
	cr_assert_not(opens_and_finds(&c, "getpid"));
}

enum spoil {
	NOT_ELF, CLASS32, BIG_ENDIAN_FILE, SYM_ENTSIZE, SYMS_PAST_END, TOO_MANY_SYMS,
	NAMES_UNTERMINATED, NAMES_TOO_BIG, LINK_OUT_OF_RANGE, LINK_NOT_STRTAB, SHDRS_PAST_END,
	EXTENDED_HUGE, EXTENDED_PAST_END, TOO_MANY_SEGMENTS, SEGMENTS_PAST_END, SHENTSIZE,
	SPOIL_COUNT
};

static const struct {
	const char *what;
	enum hd_error_class cls;
} SPOILS[SPOIL_COUNT] = {
	[NOT_ELF] = {"not ELF", HD_E_NOT_ELF},
	[CLASS32] = {"32-bit", HD_E_NOT_ELF},
	[BIG_ENDIAN_FILE] = {"big-endian", HD_E_NOT_ELF},
	[SYM_ENTSIZE] = {"symbol entry size 16", HD_E_NOT_ELF},
	[SYMS_PAST_END] = {"symbols past the end", HD_E_LAYOUT},
	[TOO_MANY_SYMS] = {"2^40 symbols", HD_E_LAYOUT},
	[NAMES_UNTERMINATED] = {"names not terminated", HD_E_NOT_ELF},
	[NAMES_TOO_BIG] = {"4 GiB of names", HD_E_LAYOUT},
	[LINK_OUT_OF_RANGE] = {"string table index past the sections", HD_E_NOT_ELF},
	[LINK_NOT_STRTAB] = {"string table that is not one", HD_E_NOT_ELF},
	[SHDRS_PAST_END] = {"section headers past the end", HD_E_LAYOUT},
	[EXTENDED_HUGE] = {"extended numbering, 2^30 sections", HD_E_LAYOUT},
	[EXTENDED_PAST_END] = {"extended numbering, 100 sections past the end", HD_E_LAYOUT},
	[TOO_MANY_SEGMENTS] = {"65535 segments", HD_E_LAYOUT},
	[SEGMENTS_PAST_END] = {"segments past the end", HD_E_LAYOUT},
	[SHENTSIZE] = {"section entry size 32", HD_E_NOT_ELF},
};

static void spoil(struct crafted *c, enum spoil how)
{
	switch (how) {
	case NOT_ELF: c->eh.e_ident[EI_MAG1] = 'X'; break;
	case CLASS32: c->eh.e_ident[EI_CLASS] = ELFCLASS32; break;
	case BIG_ENDIAN_FILE: c->eh.e_ident[EI_DATA] = ELFDATA2MSB; break;
	case SYM_ENTSIZE: c->sh[1].sh_entsize = 16; break;
	case SYMS_PAST_END: c->sh[1].sh_offset = c->file_size - sizeof(Elf64_Sym); break;
	case TOO_MANY_SYMS: c->sh[1].sh_size = sizeof(Elf64_Sym) << 40; break;
	case NAMES_UNTERMINATED: c->strings[sizeof STRINGS - 1] = 'x'; break;
	case NAMES_TOO_BIG: c->sh[2].sh_size = 1ull << 32; break;
	case LINK_OUT_OF_RANGE: c->sh[1].sh_link = 3; break;
	case LINK_NOT_STRTAB: c->sh[1].sh_link = 1; break;
	case SHDRS_PAST_END: c->eh.e_shoff = c->file_size - sizeof(Elf64_Shdr); break;
	case EXTENDED_HUGE:
		c->eh.e_shnum = 0;
		c->sh[0].sh_size = 1u << 30;
		break;
	case EXTENDED_PAST_END:
		c->eh.e_shnum = 0;
		c->sh[0].sh_size = 100;
		break;
	case TOO_MANY_SEGMENTS: c->eh.e_phnum = 0xffff; break;
	case SEGMENTS_PAST_END:
		c->eh.e_phoff = c->file_size - 8;
		break;
	case SHENTSIZE: c->eh.e_shentsize = 32; break;
	default: break;
	}
}

/* Each spoiled file is refused (with its class), never read past its end
 * nor sized by what it claims (ASan and the limits would tell). */
Test(symtab, hostile_headers_are_refused)
{
	for (int i = 0; i < SPOIL_COUNT; i++) {
		struct crafted c = good();
		spoil(&c, (enum spoil)i);
		hd_symtab *st = open_crafted(&c);
		cr_assert_null(st, "%s: accepted", SPOILS[i].what);
		cr_assert_eq(hd_error_class(), SPOILS[i].cls, "%s: class %d: %s", SPOILS[i].what,
			     hd_error_class(), hd_error_message());
	}
}

/* The library the injection reads in practice. */
Test(symtab, finds_getpid_in_this_machines_libc)
{
	static const char *const paths[] = {"/lib/x86_64-linux-gnu/libc.so.6",
					    "/lib/aarch64-linux-gnu/libc.so.6", "/lib64/libc.so.6"};
	int fd = -1;
	for (size_t i = 0; i < sizeof paths / sizeof *paths && fd < 0; i++)
		fd = open(paths[i], O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "no libc found");
	hd_symtab *st = symtab_open(fd, "libc");
	close(fd);
	cr_assert(st, "%s", hd_error_message());
	struct hd_symbol sym;
	cr_assert(symtab_find_function(st, "getpid", &sym));
	cr_assert(sym.in_file && sym.size > 0);
	cr_assert_not(symtab_find_function(st, "no_such_function_in_libc", &sym));
	symtab_close(st);
}
