/* Every heap chunk of a live isolate: the image heap's, then the collected
 * heap's, found by following the chunk chains from where the isolate keeps
 * them (the Spaces and HeapAllocation objects of its image heap, its
 * threads' TLABs), with the live tops and TLAB gaps that exist only in the
 * threads. */
#ifndef HD_CHUNKS_H
#define HD_CHUNKS_H

#include "classes.h"
#include "heapwalk.h"
#include "layout.h"
#include "readable.h"
#include "threadlist.h"
#include "../agent/memview.h"
#include "../common/hd_error.h"

#include <stdbool.h>
#include <stddef.h>

struct hd_chunk_list {
	struct hd_chunk *v; /* in the order found: each image heap chunk, then the
			       runtime chains its Space objects lead to, then the
			       TLABs' chains */
	size_t n;
	size_t image;       /* how many of them are the image heap's */
	struct hd_gap *gaps; /* live TLAB tails, sorted; the chunks point into it */
	size_t ngaps;
};

/* Chunks one isolate may have, and links one chain may follow. */
#define CHUNKS_MAX (1u << 22)

/* Finds the chunks of the isolate whose layout is L, read through MV: its
 * image heap's, and every chunk the chains from its Space and HeapAllocation
 * objects and from the TLABs of its THREADS lead to.  A chunk's top must lie
 * within the readable run R knows; unaligned objects are probed within a
 * bounded budget.  *OUT's arrays are malloc'd (chunk_list_free) also on
 * failure.  Errors: HD_E_INCONSISTENT (a header, chain or top that does not
 * hold together), HD_E_LAYOUT (the image heap's chunks do not), what a read
 * reports, HD_E_INTERRUPTED, HD_E_INTERNAL. */
HD_MUST_CHECK int chunks_find(struct hd_chunk_list *out, hd_memview *mv,
			      const struct hd_readable *r, const struct hd_layout *L,
			      const struct hd_classes *classes, const struct hd_ithread *threads,
			      size_t nthreads);

/* As chunks_find, for a core dumped partially: a chunk header MV cannot
 * read (memory the core lacks) ends its chain there instead of failing.
 * That chunk is listed empty (top = first = addr: the core counts it as
 * missing); the chunks behind it are lost with it. */
HD_MUST_CHECK int chunks_find_partial(struct hd_chunk_list *out, hd_memview *mv,
				      const struct hd_readable *r, const struct hd_layout *L,
				      const struct hd_classes *classes,
				      const struct hd_ithread *threads, size_t nthreads);

void chunk_list_free(struct hd_chunk_list *list);

/* Whether CLS is one of the collector's classes whose image-heap objects
 * hold the collected heap's chunk chains in their word fields (Space,
 * HeapAllocation). */
bool chunks_is_root_class(const struct hd_class *cls);

#endif
