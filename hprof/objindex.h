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
	/* Once sealed: the bits of each region from DIRECT_LO on, NULL where
	 * none, so that a lookup is an index, not a probe. */
	uint8_t **direct;
	uint64_t direct_lo;
	size_t ndirect;
	unsigned shift;         /* log2(region_size) */
};

/* REGION_SIZE: a power of two, typically the aligned chunk size. */
HD_MUST_CHECK int objindex_init(struct hd_objindex *x, uint64_t region_size);
void objindex_free(struct hd_objindex *x);
HD_MUST_CHECK int objindex_add(struct hd_objindex *x, uint64_t addr);
/* The bits of the region at BASE (region-aligned), made if need be; *MADE
 * says whether it was made now.  A thread that alone owns a region may set
 * its bits (bit (addr - BASE) / 8) while others do the same in theirs.
 * NULL on error (HD_E_INTERNAL). */
HD_MUST_CHECK uint8_t *objindex_region(struct hd_objindex *x, uint64_t base, bool *made);
/* objindex_has by a probe of the region table (an unsealed index). */
bool objindex_has_probed(const struct hd_objindex *x, uint64_t addr);
/* Whether an object starts at ADDR: inline, since every reference written
 * asks it. */
static inline bool objindex_has(const struct hd_objindex *x, uint64_t addr)
{
	if (addr & 7)
		return false;
	if (!x->direct)
		return objindex_has_probed(x, addr);
	/* Below DIRECT_LO the difference wraps: too large an index. */
	uint64_t k = (addr - x->direct_lo) >> x->shift;
	if (k >= x->ndirect || !x->direct[k])
		return false;
	uint64_t i = (addr & (x->region_size - 1)) >> 3;
	return x->direct[k][i >> 3] & (1u << (i & 7));
}
/* Makes lookups direct where the regions span at most OBJINDEX_DIRECT_MAX
 * regions (a heap's reserved address space does), until the next add.
 * Errors: HD_E_INTERNAL (out of memory). */
#define OBJINDEX_DIRECT_MAX (1u << 18)
HD_MUST_CHECK int objindex_seal(struct hd_objindex *x);

#endif
