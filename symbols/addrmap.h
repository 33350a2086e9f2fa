/* A map from nonzero addresses to nonzero values, by open addressing: the
 * sets of chunks and thread-list nodes a live isolate's scan keeps grow to
 * millions, so no linear search. */
#ifndef HD_ADDRMAP_H
#define HD_ADDRMAP_H

#include "../common/hd_error.h"

#include <stddef.h>
#include <stdint.h>

struct addr_map {
	uint64_t *keys, *vals;
	size_t n, cap;
};

/* The value of KEY, 0 if absent. */
uint64_t addr_get(const struct addr_map *m, uint64_t key);

/* Sets KEY (nonzero) to VAL.  Errors: HD_E_INTERNAL (out of memory). */
HD_MUST_CHECK int addr_put(struct addr_map *m, uint64_t key, uint64_t val);

void addr_map_free(struct addr_map *m);

#endif
