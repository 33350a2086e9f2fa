/* The symbol tables of an ELF file (.dynsym and .symtab), read by libelf
 * with bounds a hostile file cannot stretch: the file is opened as
 * symbols/elffile.h says, and every size, count and string is checked
 * against the file as opened and against fixed limits before libelf reads
 * it.  For looking up a function by name (a libc's system call wrappers). */
#ifndef HD_SYMTAB_H
#define HD_SYMTAB_H

#include "../common/hd_error.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct hd_symtab hd_symtab;

/* Limits a real file stays far below (a libc has a few thousand symbols). */
#define SYMTAB_MAX_SECTIONS 4096
#define SYMTAB_MAX_SEGMENTS 256
#define SYMTAB_MAX_SYMBOLS (1u << 20)    /* per table */
#define SYMTAB_MAX_STRINGS (64u << 20)   /* bytes of names per table */

struct hd_symbol {
	uint64_t value, size;  /* the virtual address the file gives, its size */
	bool in_file;          /* the code lies in a loaded segment's file bytes: */
	uint64_t file_offset;  /* ... at this offset */
};

/* Reads the symbol tables of the 64-bit little-endian ELF file open at FD
 * (PATH names it in messages); FD is not closed, nor read once this
 * returns.  A file with no symbol table opens, and finds nothing.  Returns
 * NULL with HD_E_NOT_ELF (not such a file, or damaged headers),
 * HD_E_LAYOUT (a table past the file's end or over the limits),
 * HD_E_NOENT (unreadable), HD_E_INTERRUPTED or HD_E_INTERNAL recorded. */
HD_MUST_CHECK hd_symtab *symtab_open(int fd, const char *path);

/* The defined function NAME (STT_FUNC; .dynsym searched first): true with
 * *SYM filled, false when there is none. */
bool symtab_find_function(const hd_symtab *st, const char *name, struct hd_symbol *sym);

void symtab_close(hd_symtab *st);

#endif
