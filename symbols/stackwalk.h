/* One thread's Java stack, walked the way Native Image walks it: compiled
 * Java code keeps no frame pointer, so each frame's size comes from the
 * code-info tables (codeinfo.h) at its instruction pointer, the caller's
 * frame starts right above it, and the return address is the caller's
 * frame's last word.  A thread out of Java code left a JavaFrameAnchor
 * (its last Java sp and ip) where the walk starts; an entry-point frame,
 * called from C, continues at the anchor before it. */
#ifndef HD_STACKWALK_H
#define HD_STACKWALK_H

#include "codeinfo.h"
#include "threadlist.h"
#include "threadlocals.h"
#include "../agent/memview.h"
#include "../common/hd_error.h"

#include <stddef.h>
#include <stdint.h>

/* Where a walk starts and what bounds it: sp, ip, the anchor to continue
 * at after an entry point (0: none), and the stack [lo, hi). */
struct hd_walk_start {
	uint64_t sp, ip, anchor;
	uint64_t lo, hi;
};

/* One physical frame and the Java frames (inlined ones) it holds. */
struct hd_phys_frame {
	uint64_t sp, ip;
	uint32_t size;       /* total frame size, return address included */
	int64_t refmap;      /* codeinfo's reference map index */
	uint32_t first_java; /* its deepest Java frame: index into hd_stack.java */
	uint32_t njava;      /* 0: frame info missing or undecodable */
};

struct hd_stack {
	struct hd_phys_frame *phys;
	size_t nphys;
	struct hd_java_frame *java; /* deepest (most recent) first */
	size_t njava;
	uint64_t walked_hi;  /* the walk covered [start sp, walked_hi) */
	const char *end;     /* why the walk ended */
};

/* Frames one walk collects at most: deeper stacks are cut there. */
#define STACKWALK_MAX_FRAMES 4096u

/* Where thread TH starts: its registers when it runs Java code (status 1,
 * or no anchor), else its last JavaFrameAnchor.  Returns false when
 * neither gives an address in CI's code (the thread then has no Java
 * frames to decode). */
bool stackwalk_start(const struct hd_codeinfo *ci, hd_memview *mv, const struct hd_threadlocals *tl,
		     const struct hd_ithread *th, struct hd_walk_start *out);

/* Walks from START through MV.  An address outside the code, a frame
 * size that leaves the stack, an unreadable word or STACKWALK_MAX_FRAMES
 * ends the walk (OUT->end says which); what was walked so far stays.
 * Errors: HD_E_INTERRUPTED, HD_E_INTERNAL.  OUT is to be freed with
 * stack_free also on failure. */
HD_MUST_CHECK int stackwalk(const struct hd_codeinfo *ci, hd_memview *mv,
			    const struct hd_walk_start *start, struct hd_stack *out);
void stack_free(struct hd_stack *s);

#endif
