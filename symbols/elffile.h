/* An ELF file handed to libelf only after its header has been checked: the
 * one way hdump opens ELF files (the executable, symbols/elfimage.h; a
 * library's symbol tables, symbols/symtab.h).
 *
 * libelf's elf_begin sizes its per-section array by the header's section
 * count (extended numbering included), bounded only by the file's size,
 * which a sparse file makes free: a file claiming millions of sections
 * would cost gigabytes inside elf_begin.  So the ELF header and section 0
 * are first read here, with pread on the same descriptor, and the count
 * checked against the file's size and the caller's limit.  libelf then
 * parses the file in ELF_C_READ mode: it reads with pread on demand and
 * never maps the file, so a file truncated meanwhile is an error, not a
 * SIGBUS.  The header libelf read must be byte for byte the one checked.
 *
 * Left open: a file rewritten between the check and elf_begin is refused
 * once elf_begin returns, but elf_begin has by then sized its section
 * array by the new header (bounded by libelf only by the file's size at
 * that moment).  Closing that would need a file no one can write (a sealed
 * copy, or a lease), which costs more than the window is worth: the files
 * read are hdump's own input and the libc a target maps. */
#ifndef HD_ELFFILE_H
#define HD_ELFFILE_H

#include "../common/hd_error.h"

#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What a reader accepts, checked before libelf allocates anything. */
struct hd_elffile_want {
	uint16_t machine;                /* e_machine, or EM_NONE for any */
	size_t max_sections;
	/* The class of a sound ELF file this reader does not take: another
	 * class, byte order or machine, more sections or string bytes than its
	 * limits. */
	enum hd_error_class unsupported;
};

struct hd_elffile {
	int fd;              /* the caller's: not closed here */
	const char *path;    /* for messages */
	uint64_t size;       /* the file's size when opened */
	dev_t dev;           /* its identity */
	ino_t ino;
	Elf64_Ehdr eh;       /* the header, as checked and as libelf read it */
	size_t shnum;        /* sections: they fit in the file, within the limit */
	enum hd_error_class unsupported;
	Elf *elf;            /* libelf's view, ELF_C_READ */
};

/* Checks the 64-bit little-endian ELF file open at FD (a regular file;
 * PATH names it in messages) against WANT, then opens it with libelf.
 * Errors: HD_E_NOT_ELF (not ELF, a damaged header), WANT->unsupported,
 * HD_E_LAYOUT (a section table past the file's end, or the file changed
 * while being read), HD_E_NOENT (unreadable), HD_E_INTERRUPTED,
 * HD_E_INTERNAL.  Nothing to close on failure. */
HD_MUST_CHECK int elffile_open(struct hd_elffile *f, int fd, const char *path,
			       const struct hd_elffile_want *want);

void elffile_close(struct hd_elffile *f);

/* Whether [OFF, OFF+LEN) lies in the file as it was opened. */
bool elffile_inside(const struct hd_elffile *f, uint64_t off, uint64_t len);

/* Reads exactly LEN bytes at OFF, which the caller has checked lie inside
 * the file, in pieces that poll for signals; a short read means the file
 * shrank meanwhile (HD_E_LAYOUT). */
HD_MUST_CHECK int elffile_read(const struct hd_elffile *f, uint64_t off, void *buf, size_t len);

/* Section INDEX's header, or -1 (HD_E_NOT_ELF for an index past the
 * sections, HD_E_LAYOUT for a table libelf cannot read). */
HD_MUST_CHECK int elffile_section(const struct hd_elffile *f, size_t index, Elf_Scn **scn,
				  GElf_Shdr *sh);

/* The string table in section INDEX, loaded: a SHT_STRTAB inside the file,
 * of at most MAX bytes (else f->unsupported), not compressed (libelf would
 * inflate it to whatever size its header claims), ending in a NUL, which
 * keeps each elf_strptr() O(1): it otherwise searches back from the name
 * for a terminator. */
HD_MUST_CHECK int elffile_strtab(const struct hd_elffile *f, size_t index, size_t max);

/* Records libelf's last error for F as "PATH: WHAT: libelf's message". */
int elffile_libelf_failed(const struct hd_elffile *f, enum hd_error_class cls, const char *what);

#endif
