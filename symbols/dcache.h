/* The discovery cache's payload: what discovery derives from an
 * executable's image heap alone (layout, class table with its named fields,
 * static fields, thread locals, code info), encoded with every address as
 * an offset from the image heap's start, so one entry serves every copy of
 * the image (each isolate's, each run's).  The file around it (key,
 * checksum, directory) is dcachefile.h's.
 *
 * A payload is untrusted input: decoding bounds every count by the bytes
 * left and checks every index it stores (field names, superclasses,
 * statics), and dcache_check compares what was decoded with the image heap
 * it is to describe before anything uses it. */
#ifndef HD_DCACHE_H
#define HD_DCACHE_H

#include "chunks.h"
#include "classes.h"
#include "codeinfo.h"
#include "layout.h"
#include "statics.h"
#include "threadlocals.h"
#include "../agent/memview.h"
#include "../common/hd_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where discovery's results live: the caller's structures.  TL and CI are
 * NULL for an executable (no threads, no stacks); HAVE_CI says whether CI
 * holds decoded tables.  ROOTS, where the chunk chains start (chunks.h), is
 * kept with TL, for a process; NULL writes and reads an empty list. */
struct hd_discovery {
	struct hd_layout *L;
	struct hd_classes *classes;
	struct hd_statics *statics;
	struct hd_threadlocals *tl;
	struct hd_codeinfo *ci;
	bool *have_ci;
	struct hd_chunk_roots *roots;
};

/* Encodes D (its image heap at L->image_start) into *OUT (malloc'd, *N
 * bytes).  Errors: HD_E_INTERNAL. */
HD_MUST_CHECK int dcache_encode(const struct hd_discovery *d, uint8_t **out, size_t *n);

/* Decodes P[0..N) into D, its image heap placed at IMAGE_START.  D's
 * structures are overwritten (they must hold nothing); on failure they are
 * to be freed by their owners' *_free as usual.  A payload without thread
 * locals and code info (written for an executable) does not decode for a D
 * that wants them.  D's code-info tables point into P (borrowed): P must
 * outlive them.  Errors: HD_E_LAYOUT (truncated, a count beyond the bytes
 * left, an index out of range, an implausible layout), HD_E_INTERNAL. */
HD_MUST_CHECK int dcache_decode(const struct hd_discovery *d, uint64_t image_start,
				const uint8_t *p, size_t n);

/* Checks decoded D against the image heap in MV (D->L->image_start ..
 * + image_size): the Class hub is its own hub, every class's hub lies in
 * the image heap, is a DynamicHub (its hub the Class hub) and holds the
 * layout encoding, reference-map index, identity-hash and monitor offsets
 * the entry says; String's hub is a class of the table, and the statics
 * arrays are arrays.  Errors: HD_E_LAYOUT naming the first mismatch,
 * HD_E_INTERRUPTED. */
HD_MUST_CHECK int dcache_check(const struct hd_discovery *d, hd_memview *mv);

#endif
