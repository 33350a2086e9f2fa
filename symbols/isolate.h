/* A live isolate of a native-image process: where its image heap copy lives,
 * its threads (IsolateThreads, found through the image's own thread-local
 * table) and every chunk of its collected heap — the chunks in Spaces and
 * those only a TLAB or the allocator knows of, with the live tops and TLAB
 * gaps that exist only in the threads. */
#ifndef HD_ISOLATE_H
#define HD_ISOLATE_H

#include "classes.h"
#include "elfimage.h"
#include "threadlocals.h"
#include "../agent/attach.h"
#include "../agent/snapshot.h"
#include "heapwalk.h"
#include "../agent/procmaps.h"

struct hd_ithread {
	uint64_t addr;           /* the IsolateThread */
	const struct hd_task *task; /* its OS thread (NULL if none matched) */
	uint64_t tlab[4];        /* start (or chunk), end, top, unaligned chunks */
	uint64_t thread_obj;     /* java.lang.Thread, 0 if none */
	uint64_t stack_lo, stack_hi;
};

struct hd_isolate {
	uint64_t image_start;
	uint64_t heap_base;
	struct hd_ithread *threads;
	size_t nthreads;
	struct hd_chunk *chunks; /* image heap chunks first, then runtime chunks */
	size_t nchunks;
	struct hd_gap *gaps;
	size_t ngaps;
	size_t runtime_chunks;
};

/* Image-heap copies of IMG mapped in MAPS (one per isolate), in address
 * order.  Returns the count (0: not a native image process). */
size_t isolates_find(const struct hd_maps *maps, const struct hd_elfimage *img,
		     uint64_t *starts, size_t max);

/* The thread-list head is searched among the writable image heap's words
 * that point at writable memory: more than this many is an error. */
#define ISOLATE_HEAD_CANDIDATES_MAX (1u << 20)

/* Finds the isolate's threads (IsolateThreads whose isolate word is its
 * heap base, matched to T's tasks) and every heap chunk, through PROC.
 * Everything read is bounded by MAPS (chunk tops, stacks) and by fixed
 * budgets (the thread-list search, unaligned-object probing), so a forged
 * target costs an error, not minutes or memory.  Errors: HD_E_LAYOUT /
 * HD_E_INCONSISTENT when what is found does not hold together (a retry may
 * help), HD_E_TARGET_GONE, HD_E_INTERRUPTED, HD_E_INTERNAL. */
int isolate_scan(struct hd_isolate *iso, hd_memview *proc, const struct hd_maps *maps,
		 const struct hd_layout *L, const struct hd_classes *classes,
		 const struct hd_threadlocals *tl, const struct hd_target *t);
void isolate_free(struct hd_isolate *iso);

/* hd_chunk_source_fn over ISO's chunks. */
int isolate_chunks(void *iso, struct hd_walker *w, hd_chunk_fn fn, void *fnctx);

/* What a dump of ISO reads, for a copy snapshot: every chunk up to its top,
 * each thread's stack (up to MAX_STACK_COPY) and its thread-local block of
 * EXTENT bytes.  *R is malloc'd.  Errors: HD_E_INTERNAL. */
#define MAX_STACK_COPY (64u << 20)
int isolate_read_ranges(const struct hd_isolate *iso, unsigned extent, struct hd_range **r,
			size_t *n);

#endif
