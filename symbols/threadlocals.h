/* Where each VM thread local lives inside an IsolateThread, read from the
 * image's own table of thread locals (VMThreadLocalInfos, kept for crash
 * logs): each VMThreadLocalInfo names a thread local and gives its offset. */
#ifndef HD_THREADLOCALS_H
#define HD_THREADLOCALS_H

#include "classes.h"
#include "elfimage.h"
#include "layout.h"
#include "../agent/memview.h"
#include "../common/hd_error.h"

struct hd_threadlocals {
	int isolate;        /* VMThreads.IsolateTL: the heap base */
	int os_thread_id;   /* VMThreads.OSThreadIdTL: tid, or pthread_t on old releases */
	int os_thread_handle; /* VMThreads.OSThreadHandleTL: pthread_t */
	int next;           /* VMThreads.nextTL */
	int stack_base;     /* VMThreads.StackBase: highest address */
	int tlab;           /* ThreadLocalAllocation.regularTLAB (struct hd_tlab) */
	int current_thread; /* PlatformThreads/JavaThreads.currentThread: java.lang.Thread */
	int last_anchor;    /* JavaFrameAnchors.lastAnchor: where a thread out of Java left it, -1 */
	int status;         /* StatusSupport.status(TL): int, 1 = running Java code, -1 */
	unsigned extent;    /* bytes of an IsolateThread the table covers */
	/* Where VMThreads.head, a static word, is looked for first: the
	 * primitive statics array's elements, as offsets from the image heap's
	 * start (head_from == head_to: unknown).  Set by the caller once the
	 * statics are known; the whole writable image heap is searched when no
	 * list is found there. */
	uint64_t head_from, head_to;
	/* VMThreads.head itself, as an offset from the image heap's start (0:
	 * unknown): a static word lies alike in every copy of the image, so
	 * once a search has found it unambiguously (threadlist_read_learning)
	 * a scan reads that word instead of searching. */
	uint64_t head_word;
};

/* Reads the table from the image heap in MV (which must hold it locally).
 * Errors: HD_E_LAYOUT when the table or a required entry is missing. */
HD_MUST_CHECK int threadlocals_discover(hd_memview *mv, const struct hd_layout *L,
			  const struct hd_classes *classes, struct hd_threadlocals *out);

/* The same, letting the pages of IMG's mapped image heap go behind its
 * walk (elfimage_passed); IMG may be NULL. */
HD_MUST_CHECK int threadlocals_discover_releasing(hd_memview *mv, const struct hd_layout *L,
						  const struct hd_classes *classes,
						  struct hd_threadlocals *out,
						  const struct hd_elfimage *img);

#endif
