/* What a heap dump is made from, shared by its two passes (census.h, then
 * heapwrite.h): the layout, the class table, a memory view, the chunks and
 * the roots.  Where the chunks come from is the caller's business: the
 * image heap of an executable, or the image and runtime heaps of a process. */
#ifndef HD_DUMPINPUT_H
#define HD_DUMPINPUT_H

#include "../agent/memview.h"
#include "../symbols/classes.h"
#include "../symbols/heapwalk.h"

#include <stddef.h>
#include <stdint.h>

/* Enumerates every chunk of the heap, calling FN(FNCTX) for each. */
typedef int (*hd_chunk_source_fn)(void *ctx, struct hd_walker *w, hd_chunk_fn fn, void *fnctx);

struct hd_root {
	uint8_t kind;           /* enum hprof_sub: a GC_ROOT_* sub-record */
	uint64_t id;
	uint32_t thread_serial; /* thread roots, frames */
	uint32_t trace_serial;  /* ROOT_THREAD_OBJ: the thread's STACK TRACE */
	uint32_t frame;         /* ROOT_JAVA_FRAME: 1 + its frame's number in the
				   thread's STACK TRACE; 0: tied to no frame */
};

/* One Java frame of a thread's STACK TRACE. */
struct hd_trace_frame {
	const char *method;  /* NULL: unknown */
	uint64_t class_hub;  /* 0: unknown */
	int32_t line;        /* -1: unknown */
};

/* A thread's Java frames, most recent first. */
struct hd_trace {
	const struct hd_trace_frame *frames;
	size_t n;
};

struct hd_census;
struct hd_statics;

struct hd_dump_input {
	const struct hd_layout *L;
	const struct hd_classes *classes;
	hd_memview *mv;
	hd_chunk_source_fn chunks;
	void *chunks_ctx;
	/* Roots besides the image heap (which is all roots), found once the
	 * census knows where objects start; may be NULL.  *ROOTS is malloc'd. */
	int (*roots)(void *ctx, const struct hd_census *c, struct hd_root **roots, size_t *n);
	void *roots_ctx;
	/* The image's static fields, whose values are read through MV when
	 * the class dumps are written; NULL: no statics. */
	const struct hd_statics *statics;
	uint32_t nthreads;           /* STACK TRACE serials 2..nthreads+1 */
	const struct hd_trace *traces; /* per thread (nthreads), or NULL: empty traces */
	unsigned threads;            /* writer threads; 0: one per CPU, at most 8 */
	/* Non-NULL: a partial dump of memory that lacks heap chunks (a core's,
	 * --partial): a reference that lands on no object start (its chunk
	 * left out, or lost behind a chunk header the core lacks) is written
	 * as null and counted here, where it would fail the dump. */
	uint64_t *missing_refs;
};

/* HPROF id of a class: hub addresses are also object ids, since every
 * java.lang.Class instance is dumped as an object too. */
static inline uint64_t hd_class_id(uint64_t hub) { return hub + 1; }

#endif
