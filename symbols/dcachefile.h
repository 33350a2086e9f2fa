/* The discovery cache's files: one per executable content, named by its
 * key, in a directory of the user's own.
 *
 * The key is what discovery's results depend on: the image heap's bytes
 * (a 64-bit hash of all of them, their size and file offset), the file's
 * size, the --jdk directory named for field names, and the running
 * program's own file (hdump rebuilt is another discovery).  Discovery reads
 * nothing of the executable but its image heap, so the hash covers
 * everything a build-id would vouch for, and a rebuilt or patched file
 * misses even when its build-id, size or mtime did not change.
 *
 * A file: magic, format number, hdump's version, the key, the payload's
 * length and hash, the payload (dcache.h).  All of it is checked before
 * the payload is decoded; a file that fails is stale, never used.  The
 * directory must be owned by the effective user and writable by no one
 * else, and so must each file (mode 0600); a file is written under a
 * temporary name, synced and renamed, so a crash never leaves a half
 * entry under a real name.  At most DCACHE_KEEP entries and
 * DCACHE_KEEP_BYTES are kept: the oldest are removed after a write. */
#ifndef HD_DCACHEFILE_H
#define HD_DCACHEFILE_H

#include "elfimage.h"
#include "../common/hd_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The payload's format (dcache.c): 2 added the chunk roots and VMThreads.head's
 * word to the live part;
 * an entry of another format is refused, never misread. */
#define DCACHE_FORMAT 2u
#define DCACHE_KEEP 16u
#define DCACHE_KEEP_BYTES (512ull << 20)
#define DCACHE_MAX_FILE (1ull << 30)

struct hd_dcache_key {
	uint64_t heap_hash, heap_size, heap_offset, file_size, jdk_hash;
	uint64_t tool_hash; /* of the running program's own file: a rebuilt hdump,
			       whose discovery may differ, never reads an older one's entries */
};

/* A 64-bit hash of P[0..N), SEED first: for change detection, not against
 * an adversary who chooses both inputs. */
uint64_t dcache_hash(const void *p, size_t n, uint64_t seed);

/* IMG's image heap's hash, read a piece at a time (a mapped heap's pages
 * let go behind it). */
uint64_t dcache_heap_hash(const struct hd_elfimage *img);

/* IMG's key, HEAP_HASH its image heap's hash (dcache_heap_hash's, or the
 * identity index's), JDK_DIR the --jdk named, or NULL. */
void dcache_key(struct hd_dcache_key *k, const struct hd_elfimage *img, uint64_t heap_hash,
		const char *jdk_dir);

/* The identity index: the image heap's hash of a file hdump has hashed
 * before, found by the file's identity (elfimage.h: device, inode, size,
 * mtime, ctime) rather than by reading and hashing tens of MB.  A file
 * written or replaced since has another identity and is hashed afresh;
 * what the hash then finds is checked against the image as ever
 * (dcache.h). */
#define DCACHE_INDEX_KEEP 32u
/* A file changed less than this long ago is not recorded (dcache_index_add). */
#define DCACHE_RACY_SECONDS 2

struct hd_dcache_ident {
	struct hd_fileid file;
	uint64_t heap_offset, heap_size, heap_hash;
};

/* IMG's identity into R (heap_hash 0); false when it has none (the file
 * changed while it was read). */
bool dcache_ident(struct hd_dcache_ident *r, const struct hd_elfimage *img);

/* R's heap_hash from DIR's index; false when R is not there (or the
 * index is missing, damaged, or not the user's own: nothing is said). */
bool dcache_index_find(const char *dir, struct hd_dcache_ident *r);

/* Records R (its heap_hash the hash of the bytes read under its identity)
 * in DIR's index, the newest first, the same file's other identities
 * dropped; nothing when R's ctime is less than DCACHE_RACY_SECONDS before
 * NOW (seconds since the epoch): a write in the same clock tick may not
 * change it.  Errors: as dcache_write's. */
HD_MUST_CHECK int dcache_index_add(const char *dir, const struct hd_dcache_ident *r, int64_t now);

/* The default directory into BUF: $HDUMP_CACHE_DIR, else
 * $XDG_CACHE_HOME/hdump/discovery, else $HOME/.cache/hdump/discovery.
 * Errors: HD_E_USAGE (none of them set, or too long for BUF). */
HD_MUST_CHECK int dcache_default_dir(char *buf, size_t size);

/* The header of file BUF[0..N) for key K: *OFF and *LEN locate the
 * payload, whose hash has been checked.  Errors: HD_E_LAYOUT naming what
 * does not match (magic, format, version, key, length, hash). */
HD_MUST_CHECK int dcache_parse(const uint8_t *buf, size_t n, const struct hd_dcache_key *k,
			       size_t *off, size_t *len);

/* The whole file of K in DIR into *BUF (*N bytes, freed with
 * dcache_buf_free), *FOUND false when there is none.  Errors: HD_E_PERM (DIR or the file is not
 * the user's own, or others may write it), HD_E_LAYOUT (not a regular
 * file, larger than DCACHE_MAX_FILE), HD_E_INTERNAL. */
HD_MUST_CHECK int dcache_read(const char *dir, const struct hd_dcache_key *k, uint8_t **buf,
			      size_t *n, bool *found);

/* Frees what dcache_read gave: BUF (may be NULL) of N bytes. */
void dcache_buf_free(uint8_t *buf, size_t n);
/* Gives the pages of BUF (N bytes, dcache_read's) outside [LO, HI) back to
 * the system: what is still read of an entry kept, for the rest of the
 * run. */
void dcache_buf_keep_only(uint8_t *buf, size_t n, const uint8_t *lo, const uint8_t *hi);

/* Writes PAYLOAD[0..N) as K's entry in DIR (made 0700 if missing), then
 * prunes DIR to the newest entries.  Errors: HD_E_PERM, HD_E_OUTPUT
 * (a write, sync or rename that failed: disk full, read-only). */
HD_MUST_CHECK int dcache_write(const char *dir, const struct hd_dcache_key *k,
			       const uint8_t *payload, size_t n);

#endif
