/* A private copy of the address ranges a dump reads from a stopped target
 * (for an isolate: every chunk up to its top, each thread's stack and
 * thread-local block), so the target can run on while the copy is walked and
 * written.  Costs as much memory as the heap in use. */
#ifndef HD_SNAPSHOT_H
#define HD_SNAPSHOT_H

#include "../common/hd_error.h"
#include "memview.h"

#include <stddef.h>
#include <stdint.h>

struct hd_snapshot {
	hd_memview *view;  /* local regions over the arena */
	uint8_t *arena;    /* one mapping holding every copied range */
	uint64_t arena_size;
	uint64_t bytes;
};

struct hd_range {
	uint64_t from, to; /* [from, to) */
};

/* Copies the N ranges R (in any order, overlaps allowed; sorted and merged
 * in place) from PROC; reads of the copy that miss it are torn reads
 * (mv_reads_may_tear).  Errors: HD_E_TARGET_GONE, HD_E_TORN (a range went
 * unreadable),
 * HD_E_SNAPSHOT (a copy larger than the machine's memory, refused before
 * anything is allocated or read), HD_E_INTERNAL (out of memory). */
HD_MUST_CHECK int snapshot_take(struct hd_snapshot *s, hd_memview *proc, struct hd_range *r, size_t n);
void snapshot_free(struct hd_snapshot *s);

#endif
