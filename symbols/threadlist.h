/* The IsolateThreads of a live isolate: the list VMThreads keeps, found
 * through the image's own thread-local table (symbols/threadlocals.h) and
 * matched to the stopped OS threads, with what a dump needs of each: its
 * TLAB, its java.lang.Thread and its stack. */
#ifndef HD_THREADLIST_H
#define HD_THREADLIST_H

#include "layout.h"
#include "readable.h"
#include "threadlocals.h"
#include "../agent/attach.h"
#include "../agent/memview.h"
#include "../common/hd_error.h"

#include <stddef.h>
#include <stdint.h>

/* ThreadLocalAllocation.regularTLAB, four words in this order. */
struct hd_tlab {
	uint64_t start;     /* the aligned chunk the TLAB owns (22.3 to 24), or where
			       the TLAB starts inside a shared chunk (25) */
	uint64_t end;       /* end of the TLAB's allocation area */
	uint64_t top;       /* next free byte: the live top of its chunk */
	uint64_t unaligned; /* first of the unaligned chunks the thread allocated, 0 if none */
};
#define HD_TLAB_SIZE 32u

struct hd_ithread {
	uint64_t addr;              /* the IsolateThread */
	const struct hd_task *task; /* its OS thread (NULL if none matched) */
	struct hd_tlab tlab;
	uint64_t thread_obj;        /* java.lang.Thread, 0 if none */
	uint64_t stack_lo, stack_hi;
};

/* The thread-list head is searched among the writable image heap's words
 * that point at writable memory: more than this many is an error. */
#define ISOLATE_HEAD_CANDIDATES_MAX (1u << 20)

/* IsolateThreads one list may hold. */
#define THREADLIST_MAX 256

/* Finds the thread list of the isolate whose heap base is L->heap_base
 * (the head: the word TL->head_word names when that holds, else one
 * searched for among its writable image heap's words, or a stopped
 * thread's r15) and reads every IsolateThread on it through MV, matched
 * to T's tasks;
 * each stack runs from its thread's rsp up to StackBase, within the
 * readable run R knows.  *THREADS (malloc'd, THREADLIST_MAX entries) gets
 * *N of them; an isolate may have none attached.  Every search is bounded
 * (ISOLATE_HEAD_CANDIDATES_MAX, a budget of list steps).  Errors:
 * HD_E_INCONSISTENT (a list that does not hold together, a budget spent),
 * what a read reports, HD_E_INTERRUPTED, HD_E_INTERNAL. */
HD_MUST_CHECK int threadlist_read(hd_memview *mv, const struct hd_readable *r,
				  const struct hd_layout *L, const struct hd_threadlocals *tl,
				  const struct hd_target *t, struct hd_ithread **threads,
				  size_t *n);

/* As threadlist_read.  With TL->head_word known, the word there is the
 * head: null, no thread is attached; a proper list with a live thread,
 * that list; anything else, and the search runs as without it.  *LEARNED
 * gets the offset of the word a search found the head in when no other
 * word had as many live threads behind it (that word is then
 * VMThreads.head), else 0. */
HD_MUST_CHECK int threadlist_read_learning(hd_memview *mv, const struct hd_readable *r,
					   const struct hd_layout *L,
					   const struct hd_threadlocals *tl,
					   const struct hd_target *t, uint64_t *learned,
					   struct hd_ithread **threads, size_t *n);

#endif
