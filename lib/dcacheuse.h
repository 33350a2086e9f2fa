/* A target's use of the discovery cache (symbols/dcache.h, dcachefile.h):
 * the entry of its executable read once, applied to each copy of the image
 * heap and checked there, or, when it is missing or does not hold up, the
 * fresh discovery's results written back.  Nothing here fails a dump: a
 * cache that cannot be read is "off" and one that does not hold up
 * "stale", both said under -v (a refused directory also as a warning),
 * and discovery runs as if there were none. */
#ifndef HD_LIB_DCACHEUSE_H
#define HD_LIB_DCACHEUSE_H

#include "events.h"
#include "../include/hdump.h"
#include "../symbols/dcache.h"
#include "../symbols/dcachefile.h"

struct dcache_use {
	char *dir;                   /* NULL: no cache (the library's default) */
	enum hdump_discovery_cache state;
	struct hd_dcache_key key;
	uint8_t *file;               /* the entry read: while discovery runs, a hit's
				      * code info after (dcache_use_done) */
	size_t file_len;             /* its bytes (dcache_buf_free) */
	size_t off, len;             /* its payload */
	bool unwritten;              /* discovered afresh: the entry is still to write */
	struct hd_dcache_ident ident; /* the executable's identity (dcache_index_*) */
	bool ident_known;            /* it has one */
	bool by_ident;               /* the heap's hash came from the index, not the heap */
};

/* Reads the entry of IMG (JDK_DIR: the --jdk named) from U's directory.
 * Returns true when there is one to apply; false also for U NULL (no
 * cache). */
bool dcache_use_open(struct dcache_use *u, const struct hd_elfimage *img, const char *jdk_dir,
		     const struct hd_events *ev);

/* Decodes the entry into D for a copy of the image heap at START and
 * checks it against MV.  False: the entry is stale (said), D's structures
 * are freed, and discovery must run. */
bool dcache_use_apply(struct dcache_use *u, const struct hd_discovery *d, uint64_t start,
		      hd_memview *mv, const struct hd_events *ev);

/* After a successful discovery of IMG (its image heap still readable): a
 * hit is said; otherwise the entry is left for dcache_use_write, keyed by
 * the image heap's hash even when its identity named another.  An image
 * heap hashed is recorded in the identity index.  Frees what was read, but
 * for a hit's code-info tables, which D's code info reads in place until
 * dcache_use_free.  U NULL: nothing. */
void dcache_use_done(struct dcache_use *u, const struct hd_elfimage *img,
		     const struct hd_discovery *d, const struct hd_events *ev);

/* Writes D, discovered afresh, as the entry (once; a failure is a
 * warning; nothing after SIGINT).  Called as the target is closed, once
 * the dump has freed its own buffers: the entry's encoding (some 17 MB
 * for pkl) then does not add to the dump's peak RSS.  U NULL: nothing. */
void dcache_use_write(struct dcache_use *u, const struct hd_discovery *d,
		      const struct hd_events *ev);

/* Frees D's structures (a failed apply's partial decode). */
void dcache_use_discard(const struct hd_discovery *d);

void dcache_use_free(struct dcache_use *u);

#endif
