/* The Java stacks of a live isolate's threads: walked from the code info
 * (symbols/stackwalk.h), named for people (hdump_stacks) and for the dump
 * (its STACK TRACEs), and the roots each frame holds (its reference map, or
 * a conservative scan of the frame where the map is unknown; what lies
 * outside the decoded frames is scanned conservatively as before). */
#ifndef HD_LIB_STACKS_H
#define HD_LIB_STACKS_H

#include "../hprof/dumpinput.h"
#include "../hprof/roots.h"
#include "../include/hdump.h"
#include "../symbols/codeinfo.h"
#include "../symbols/isolate.h"
#include "../symbols/stackwalk.h"

#include <stddef.h>

/* A thread's name, copied: the target's task list it comes from is freed
 * at the end of each attempt, and the API's names must outlive it. */
struct thread_name {
	char s[sizeof ((struct hd_task *)0)->comm];
	char *java;  /* its java.lang.Thread's name (malloc'd), NULL if unread */
};

/* N holds T's name; returns it, or NULL without T (no OS thread matched). */
const char *thread_name_keep(struct thread_name *n, const struct hd_task *t);

struct live_stacks {
	size_t n;                      /* threads, as in the isolate's scan */
	struct hd_stack *walks;
	struct thread_name *names;     /* per thread, what api[i].name points to */
	struct hd_trace *traces;       /* per thread, for the dump */
	struct hd_trace_frame *frames; /* every thread's, in order */
	char **methods;                /* each frame's method name (NULL: unknown) */
	struct hdump_stack *api;       /* per thread, for hdump_stacks */
	struct hdump_frame *api_frames;
	size_t total;                  /* Java frames, all threads */
	uint64_t decoded_threads, undecoded_frames;
};

/* Walks every thread of ISO (through VIEW, the process or its snapshot)
 * with CI, naming frames from its image heap (L, CLASSES) in VIEW too.
 * A thread whose walk cannot start gets no frames.  Errors:
 * HD_E_INTERRUPTED, HD_E_INTERNAL.  S is to be freed with stacks_free also
 * on failure. */
HD_MUST_CHECK int stacks_walk(struct live_stacks *s, const struct hd_codeinfo *ci,
			      hd_memview *view, const struct hd_layout *L,
			      const struct hd_classes *classes, const struct hd_threadlocals *tl,
			      const struct hd_isolate *iso);
void stacks_free(struct live_stacks *s);

/* The roots of thread I's stack [TH's stack_lo, stack_hi) for RS, with
 * SERIAL its thread serial.  Errors: as root_scan_range. */
HD_MUST_CHECK int stacks_roots(const struct live_stacks *s, const struct hd_codeinfo *ci,
			       size_t i, const struct hd_ithread *th, struct root_scan *rs,
			       hd_memview *view, uint32_t serial);

#endif
