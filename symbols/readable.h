/* Runs of readable memory in a process's mappings.  The kernel does not
 * merge every pair of adjacent mappings, and a chunk or a stack may span
 * two, so what bounds a read is the run of adjacent readable mappings
 * without a hole, not the one mapping an address falls in. */
#ifndef HD_READABLE_H
#define HD_READABLE_H

#include "../agent/procmaps.h"
#include "../common/hd_error.h"

#include <stdint.h>

struct hd_readable {
	const struct hd_maps *maps;
	uint64_t *run_end; /* per mapping: where its run ends, 0 if unreadable */
};

/* Errors: HD_E_INTERNAL (out of memory).  MAPS must outlive R. */
HD_MUST_CHECK int readable_init(struct hd_readable *r, const struct hd_maps *maps);
void readable_fini(struct hd_readable *r);

/* The end of the readable memory from ADDR on, 0 if ADDR is unreadable. */
uint64_t readable_end(const struct hd_readable *r, uint64_t addr);

#endif
