/* The jimage container of a JDK 9 or later (lib/modules): the class files
 * of every module behind one perfect-hash index.
 *
 * The format (OpenJDK's jdk.internal.jimage and libjimage): a header of
 * seven 32-bit words in the file's byte order (magic 0xCAFEDADA, version
 * 1.0, flags, resource count, table length, locations size, strings size),
 * then the redirect table and the offsets table (table-length 32-bit words
 * each), the location attribute bytes, the string bytes, and the resources.
 * A name hashes (FNV-style over its bytes, seed 0x01000193) to a redirect
 * slot, which holds either the location's index (negative, ~index) or the
 * seed of a second hash that gives it (positive); the location found is
 * then checked against the name, so a name the image does not hold is
 * absent, not a false hit.  A location is a run of attributes (a byte
 * kind<<3 | length-1, then the value's bytes, most significant first)
 * naming its module, parent, base and extension in the string bytes, and
 * its content's offset past the index and its sizes.
 *
 * Resources compressed by jlink (--compress: the "zip" and "compact-cp"
 * decompressors) are refused: the JDKs hdump is used with (Debian's
 * OpenJDK, Temurin) ship them uncompressed.  The file is read with pread,
 * never mapped, so a file truncated meanwhile is an error, not a SIGBUS;
 * every table index, offset, string and size is checked before use. */
#ifndef HD_JIMAGE_H
#define HD_JIMAGE_H

#include "../common/hd_error.h"

#include <stddef.h>
#include <stdint.h>

struct hd_jimage;

/* Opens the jimage at PATH and reads its index (a few MB for a full JDK).
 * Errors: HD_E_NOENT (cannot be opened or read), HD_E_PERM, HD_E_USAGE (not a jimage:
 * no magic, another version), HD_E_LAYOUT (an index that does not fit in
 * the file or is larger than hdump takes), HD_E_INTERRUPTED,
 * HD_E_INTERNAL. */
HD_MUST_CHECK int jimage_open(struct hd_jimage **out, const char *path);

/* The resource NAME ("/java.base/java/lang/Object.class"), read into a
 * malloc'd buffer the caller frees: 0 with *DATA and *LEN, or 0 with *DATA
 * NULL when the image has no such resource.  Errors: HD_E_LAYOUT (a
 * location or resource that does not fit, a compressed resource, one of
 * more than MAX bytes), HD_E_NOENT (a failed read), HD_E_INTERRUPTED,
 * HD_E_INTERNAL. */
HD_MUST_CHECK int jimage_read(struct hd_jimage *im, const char *name, size_t max,
			      uint8_t **data, size_t *len);

/* The module that holds the classes of package PKG (dotted: "java.util"):
 * 0 with *MODULE (a string of IM's, valid until jimage_close) or with
 * *MODULE NULL when no module does.  Errors as jimage_read. */
HD_MUST_CHECK int jimage_package_module(struct hd_jimage *im, const char *pkg,
					const char **module);

void jimage_close(struct hd_jimage *im);

#endif
