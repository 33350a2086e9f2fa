/* Reading exactly so many bytes at an offset of a file: the one copy of
 * that loop, for the files hdump parses with pread rather than mapping
 * them (a file truncated meanwhile is then an error, not a SIGBUS): ELF
 * files (symbols/elffile.h), a JDK's jimage (symbols/jimage.h) and the
 * discovery cache's entries (symbols/dcachefile.h). */
#ifndef HD_READAT_H
#define HD_READAT_H

#include "hd_error.h"

#include <stddef.h>
#include <stdint.h>

/* Reads LEN bytes at OFF of the file open at FD (PATH names it in
 * messages), in pieces that poll for signals.  Errors: HD_E_LAYOUT (the
 * file ends before: it shrank since the caller checked its size),
 * HD_E_NOENT (a failed read), HD_E_INTERRUPTED. */
HD_MUST_CHECK int hd_read_at(int fd, const char *path, uint64_t off, void *buf, size_t len);

#endif
