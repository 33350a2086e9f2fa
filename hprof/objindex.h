/* The set of object starts seen by a heap walk, so that every reference can
 * be checked to land on an object start before it is written.  One bit per
 * 8 bytes, kept only for the regions that hold objects: about 1/64 of the
 * heap's size. */
#ifndef HD_OBJINDEX_H
#define HD_OBJINDEX_H

#include "../common/hd_error.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hd_objindex {
	uint64_t region_size;   /* power of two */
	struct objindex_region {
		uint64_t base;
		uint64_t *bits; /* words, not bytes: a walk's store of a bit then
				   aliases no pointer or narrower field it reads */
	} *regions;             /* open addressing on base */
	size_t nslots, nused;
	struct objindex_region *last; /* walks add object after object in one region */
	/* Once sealed: the bits of each region from DIRECT_LO on (a region
	 * without objects: ZERO's, all clear), so that a lookup is an index,
	 * not a probe. */
	uint64_t **direct;
	uint64_t direct_lo;
	size_t ndirect;
	uint64_t *zero;
	/* One pass (objindex_defer): per direct region, whether its starts
	 * are still being set, and the references into it met meanwhile
	 * (NULL: none deferred to it).  NULL: no region deferred. */
	atomic_uchar *open;
	_Atomic(uint64_t) **pending;
	/* Fresh zero pages, mapped at once for many regions' bits (starts,
	 * then pending), handed out a region at a time: a page is zeroed by
	 * the kernel when a walk first sets a bit in it, on that walk's
	 * thread, instead of every region's bits allocated and cleared on one
	 * thread before the walks start (0.1 s of a 25 M-object dump). */
	struct objindex_slab {
		void *p;
		size_t bytes, used;
	} starts_slab, pending_slab;
	unsigned shift;         /* log2(region_size) */
	unsigned word_shift;    /* log2(region_size / 8): 8-byte words per region */
	uint64_t word_mask;     /* region_size / 8 - 1 */
};

/* REGION_SIZE: a power of two, typically the aligned chunk size. */
HD_MUST_CHECK int objindex_init(struct hd_objindex *x, uint64_t region_size);
/* Maps the bits of NREGIONS regions the next objindex_region calls make,
 * where the system allows the mapping; more, or all when it does not, are
 * allocated one by one.  Once per index: a later call does nothing. */
void objindex_reserve(struct hd_objindex *x, size_t nregions);
void objindex_free(struct hd_objindex *x);
HD_MUST_CHECK int objindex_add(struct hd_objindex *x, uint64_t addr);
/* The bits of the region at BASE (region-aligned), made if need be; *MADE
 * says whether it was made now.  A thread that alone owns a region may set
 * its bits (objindex_bit_set) while
 * others do the same in theirs.  NULL on error (HD_E_INTERNAL). */
HD_MUST_CHECK uint64_t *objindex_region(struct hd_objindex *x, uint64_t base, bool *made);
/* Bit I of a region's BITS (I = (addr - base) / 8), the one layout every
 * reader and writer of the bits goes through. */
static inline void objindex_bit_set(uint64_t *bits, uint64_t i)
{
	bits[i >> 6] |= 1ull << (i & 63);
}
static inline bool objindex_bit(const uint64_t *bits, uint64_t i)
{
	return (bits[i >> 6] >> (i & 63)) & 1;
}
/* objindex_has for an address the direct table does not cover (or for
 * an index not sealed: then it covers none). */
bool objindex_has_outside(const struct hd_objindex *x, uint64_t addr);
/* ADDR's place in the direct table: region *K, bit *I of its bits; false
 * when the table does not cover ADDR. */
static inline bool objindex_direct_slot(const struct hd_objindex *x, uint64_t addr, uint64_t *k,
					uint64_t *i)
{
	/* The offset in 8-byte words, rotated: the bits of a misaligned
	 * ADDR land on top, and so does an address below DIRECT_LO (the
	 * difference wraps): either gives an index far past the table's end
	 * (OBJINDEX_DIRECT_MAX, region sizes up to 2^40). */
	uint64_t d = addr - x->direct_lo;
	d = (d >> 3) | (d << 61);
	*k = d >> x->word_shift;
	*i = d & x->word_mask;
	return *k < x->ndirect;
}
/* Whether an object starts at ADDR: inline, since every reference written
 * asks it. */
static inline bool objindex_has(const struct hd_objindex *x, uint64_t addr)
{
	uint64_t k, i;
	if (!objindex_direct_slot(x, addr, &k, &i))
		return objindex_has_outside(x, addr);
	return objindex_bit(x->direct[k], i);
}
/* Makes lookups direct where the regions span at most OBJINDEX_DIRECT_MAX
 * regions (a heap's reserved address space does), until the next add.
 * Errors: HD_E_INTERNAL (out of memory). */
#define OBJINDEX_DIRECT_MAX (1u << 18)
HD_MUST_CHECK int objindex_seal(struct hd_objindex *x);

/* Whether the sealed index looks every address up directly (so that its
 * regions can be deferred). */
static inline bool objindex_direct(const struct hd_objindex *x) { return x->direct != NULL; }
/* One pass: the starts of the region at BASE (one of the sealed index's)
 * are set later, by the one thread that owns it, which then calls
 * objindex_complete; until then objindex_check defers the references into
 * it.  Errors: HD_E_INTERNAL (not direct, not a region, out of memory). */
HD_MUST_CHECK int objindex_defer(struct hd_objindex *x, uint64_t base);
/* The owner of the deferred region at BASE has set all its starts. */
void objindex_complete(struct hd_objindex *x, uint64_t base);
/* Whether a reference to ADDR may be written: an object starts there, or
 * ADDR lies in a region still open, where the check is deferred to
 * objindex_settle.  Any thread, while owners fill their regions. */
static inline bool objindex_check(struct hd_objindex *x, uint64_t addr)
{
	if (!x->open)
		return objindex_has(x, addr);
	uint64_t k, i;
	if (!objindex_direct_slot(x, addr, &k, &i))
		return false; /* direct: nothing lies outside */
	/* Acquire: a region seen complete shows all of its owner's bits. */
	if (atomic_load_explicit(&x->open[k], memory_order_acquire)) {
		atomic_fetch_or_explicit(&x->pending[k][i >> 6], 1ull << (i & 63),
					 memory_order_relaxed);
		return true;
	}
	return objindex_bit(x->direct[k], i);
}
/* Once every deferred region is complete: how many deferred addresses no
 * object starts at, the lowest in *FIRST (0: none); ends the deferral. */
uint64_t objindex_settle(struct hd_objindex *x, uint64_t *first);

#endif
