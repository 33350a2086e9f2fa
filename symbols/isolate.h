/* A live isolate of a native-image process: where its image heap copy lives
 * (isolates_find), and what a dump of it needs (isolate_scan): its threads
 * (symbols/threadlist.h) and every chunk of its heap (symbols/chunks.h). */
#ifndef HD_ISOLATE_H
#define HD_ISOLATE_H

#include "chunks.h"
#include "classes.h"
#include "elfimage.h"
#include "heapwalk.h"
#include "threadlist.h"
#include "threadlocals.h"
#include "../agent/attach.h"
#include "../agent/procmaps.h"
#include "../agent/snapshot.h"
#include "../common/hd_error.h"

struct hd_isolate {
	uint64_t image_start;
	uint64_t heap_base;
	struct hd_ithread *threads;
	size_t nthreads;
	struct hd_chunk *chunks; /* in the order chunks_find found them */
	size_t nchunks;
	struct hd_gap *gaps;
	size_t ngaps;
	size_t runtime_chunks;
	bool chunks_by_roots; /* chunks_find followed the roots given */
	uint64_t head_word;   /* VMThreads.head as the search learned it (0: not) */
};

/* Image-heap copies of IMG mapped in MAPS (one per isolate): the lowest MAX
 * are stored in STARTS, in address order.  Returns how many were found (0:
 * not a native image process), which may exceed MAX: the caller says what
 * it left out. */
size_t isolates_find(const struct hd_maps *maps, const struct hd_elfimage *img,
		     uint64_t *starts, size_t max);

/* Finds the isolate's threads (IsolateThreads whose isolate word is its
 * heap base, matched to T's tasks) and every heap chunk, through PROC;
 * ROOTS (may be NULL) as chunks_find takes them.
 * Everything read is bounded by MAPS (chunk tops, stacks) and by fixed
 * budgets (the thread-list search, unaligned-object probing), so a forged
 * target costs an error, not minutes or memory.  Errors: HD_E_INCONSISTENT
 * when what is found does not hold together (a retry may help), what a
 * read reports (HD_E_TORN, HD_E_TARGET_GONE), HD_E_LAYOUT when the image
 * heap's own chunks do not, HD_E_INTERRUPTED, HD_E_INTERNAL.  ISO is to be
 * freed with isolate_free also on failure. */
HD_MUST_CHECK int isolate_scan(struct hd_isolate *iso, hd_memview *proc,
			       const struct hd_maps *maps, const struct hd_layout *L,
			       const struct hd_classes *classes, const struct hd_chunk_roots *roots,
			       const struct hd_threadlocals *tl, const struct hd_target *t);
void isolate_free(struct hd_isolate *iso);

/* hd_chunk_source_fn over ISO's chunks: returns 0, FN's nonzero result, or
 * -1 with HD_E_INTERRUPTED. */
HD_MUST_CHECK int isolate_chunks(void *iso, struct hd_walker *w, hd_chunk_fn fn, void *fnctx);

/* What a dump of ISO reads, for a copy snapshot: every chunk up to its top,
 * each thread's stack (up to MAX_STACK_COPY) and its thread-local block of
 * EXTENT bytes.  *R is malloc'd.  Errors: HD_E_INTERNAL. */
#define MAX_STACK_COPY (64u << 20)
HD_MUST_CHECK int isolate_read_ranges(const struct hd_isolate *iso, unsigned extent,
				      struct hd_range **r, size_t *n);

#endif
