/* Every heap chunk of a live isolate: the image heap's, then the collected
 * heap's, found by following the chunk chains from where the isolate keeps
 * them (the Spaces and HeapAllocation objects of its image heap, its
 * threads' TLABs), with the live tops and TLAB gaps that exist only in the
 * threads. */
#ifndef HD_CHUNKS_H
#define HD_CHUNKS_H

#include "classes.h"
#include "heapwalk.h"
#include "imageobjs.h"
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
	bool by_roots;      /* the chains were followed from the roots given, each
			       checked; false: from a walk of the whole image heap */
};

/* Where an isolate's chunk chains start: its image heap's objects of the
 * root classes (chunks_is_root_class), as offsets from the image heap's
 * start, ascending, with their hubs.  The image heap's objects never move
 * and lie alike in every copy of one executable, so discovery lists them
 * once (the discovery cache keeps the list) and a scan reads only these
 * objects instead of walking the whole image heap (tens of MB). */
struct hd_chunk_root {
	uint64_t off;     /* the object */
	uint64_t hub_off; /* its hub */
};

struct hd_chunk_roots {
	struct hd_chunk_root *v;
	size_t n;
};

/* Root objects a list may hold (pkl: 20 per isolate), and the bytes one
 * may span. */
#define CHUNK_ROOTS_MAX 4096u
#define CHUNK_ROOT_BYTES 512u

/* Lists the root objects among the image heap's objects OBJS (at
 * L->image_start) into *OUT (malloc'd; chunk_roots_free).  An image with
 * none, more than CHUNK_ROOTS_MAX or one larger than CHUNK_ROOT_BYTES gets
 * an empty list: its scans walk the image heap.  Errors: HD_E_INTERNAL. */
HD_MUST_CHECK int chunk_roots_collect(struct hd_chunk_roots *out, const struct hd_imageobjs *objs,
				      const struct hd_layout *L);
void chunk_roots_free(struct hd_chunk_roots *roots);

/* Chunks one isolate may have, and links one chain may follow. */
#define CHUNKS_MAX (1u << 22)

/* Finds the chunks of the isolate whose layout is L, read through MV: its
 * image heap's, and every chunk the chains from its Space and HeapAllocation
 * objects and from the TLABs of its THREADS lead to.  ROOTS (NULL or empty:
 * none known) say where those objects lie: each is read alone and must be
 * an object of a root class with the hub listed, inside an image heap
 * chunk; when any is not, the whole image heap is walked for them as
 * without ROOTS (OUT->by_roots says which), and the chunks found are the
 * same either way, in the same order.  A chunk's top must lie
 * within the readable run R knows; unaligned objects are probed within a
 * bounded budget.  *OUT's arrays are malloc'd (chunk_list_free) also on
 * failure.  Errors: HD_E_INCONSISTENT (a header, chain or top that does not
 * hold together), HD_E_LAYOUT (the image heap's chunks do not), what a read
 * reports, HD_E_INTERRUPTED, HD_E_INTERNAL. */
HD_MUST_CHECK int chunks_find(struct hd_chunk_list *out, hd_memview *mv,
			      const struct hd_readable *r, const struct hd_layout *L,
			      const struct hd_classes *classes, const struct hd_chunk_roots *roots,
			      const struct hd_ithread *threads, size_t nthreads);

/* As chunks_find, for a core dumped partially: a chunk header MV cannot
 * read (memory the core lacks) ends its chain there instead of failing.
 * That chunk is listed empty (top = first = addr: the core counts it as
 * missing); the chunks behind it are lost with it. */
HD_MUST_CHECK int chunks_find_partial(struct hd_chunk_list *out, hd_memview *mv,
				      const struct hd_readable *r, const struct hd_layout *L,
				      const struct hd_classes *classes,
				      const struct hd_chunk_roots *roots,
				      const struct hd_ithread *threads, size_t nthreads);

void chunk_list_free(struct hd_chunk_list *list);

/* Whether CLS is one of the collector's classes whose image-heap objects
 * hold the collected heap's chunk chains in their word fields (Space,
 * HeapAllocation). */
bool chunks_is_root_class(const struct hd_class *cls);

#endif
