/* The set of object starts seen by a heap walk, so that every reference can
 * be checked to land on an object start before it is written.  One bit per
 * 8 bytes, kept only for the regions that hold objects: about 1/64 of the
 * heap's size. */
#ifndef HD_OBJINDEX_H
#define HD_OBJINDEX_H

#include "../common/hd_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hd_objindex {
	uint64_t region_size;   /* power of two */
	struct objindex_region {
		uint64_t base;
		uint8_t *bits;
	} *regions;             /* open addressing on base */
	size_t nslots, nused;
	struct objindex_region *last; /* walks add object after object in one region */
	/* Once sealed: slot + 1 of each region from DIRECT_LO on, 0 where none,
	 * so that a lookup is an index, not a probe. */
	uint32_t *direct;
	uint64_t direct_lo;
	size_t ndirect;
	unsigned shift;         /* log2(region_size) */
};

/* REGION_SIZE: a power of two, typically the aligned chunk size. */
HD_MUST_CHECK int objindex_init(struct hd_objindex *x, uint64_t region_size);
void objindex_free(struct hd_objindex *x);
HD_MUST_CHECK int objindex_add(struct hd_objindex *x, uint64_t addr);
bool objindex_has(const struct hd_objindex *x, uint64_t addr);
/* Makes lookups direct where the regions span at most OBJINDEX_DIRECT_MAX
 * regions (a heap's reserved address space does), until the next add.
 * Errors: HD_E_INTERNAL (out of memory). */
#define OBJINDEX_DIRECT_MAX (1u << 18)
HD_MUST_CHECK int objindex_seal(struct hd_objindex *x);

#endif
