/* The roots a live heap adds beyond the image heap: every word of a
 * thread's stack or thread-local block that is an object start, absolute or
 * heap-base relative (a conservative scan), or, for Java frames decoded
 * from the code info, the slots their reference maps name.
 * The ranges come from the target, so each is capped (MAX_STACK_SCAN), so is
 * their sum (MAX_ROOT_SCAN: ranges past it are not scanned), and each word
 * costs O(1) however the target filled it. */
#ifndef HD_ROOTS_H
#define HD_ROOTS_H

#include "../agent/memview.h"
#include "../common/hd_error.h"
#include "census.h"
#include "dumpinput.h"

#include <stddef.h>
#include <stdint.h>

#define MAX_STACK_SCAN (64u << 20)
#define MAX_ROOT_SCAN (256ull << 20)

struct root_scan {
	const struct hd_census *c; /* its object starts decide what is a root */
	uint64_t heap_base, region_size;
	uint64_t budget;           /* bytes the scans may still read */
	struct hd_root *v;         /* the roots, the caller's to free */
	size_t n, cap;
};

void root_scan_init(struct root_scan *rs, const struct hd_census *c, uint64_t heap_base,
		    uint64_t region_size);

/* Appends R.  Errors: HD_E_INTERNAL (out of memory). */
HD_MUST_CHECK int root_scan_add(struct root_scan *rs, struct hd_root r);

/* Appends a root of KIND for THREAD for each object a word of [LO, HI)
 * points to, in the order first met, once per range.  A range that cannot be
 * read, is empty, or is over either cap adds nothing.  Errors: HD_E_INTERNAL,
 * HD_E_INTERRUPTED. */
HD_MUST_CHECK int root_scan_range(struct root_scan *rs, hd_memview *view, uint64_t lo,
				  uint64_t hi, uint8_t kind, uint32_t thread);

/* The same for the words of one Java frame [LO, HI): ROOT_JAVA_FRAME roots
 * tied to frame FRAME of THREAD's STACK TRACE (when its reference map is
 * unknown).  Errors: as root_scan_range. */
HD_MUST_CHECK int root_scan_frame(struct root_scan *rs, hd_memview *view, uint64_t lo,
				  uint64_t hi, uint32_t thread, uint32_t frame);

/* A root of frame FRAME of THREAD for the reference slot of SIZE bytes at
 * ADDR (a reference map's slot: SIZE below 8 is heap-base relative), when it
 * holds an object start; an unreadable slot adds nothing.  Errors:
 * HD_E_INTERNAL. */
HD_MUST_CHECK int root_scan_slot(struct root_scan *rs, hd_memview *view, uint64_t addr,
				 unsigned size, uint32_t thread, uint32_t frame);

#endif
