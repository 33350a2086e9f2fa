#include "objindex.h"

#include "../common/hd_error.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static size_t slot_of(const struct hd_objindex *x, uint64_t base)
{
	uint64_t h = (base / x->region_size) * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 20) & (x->nslots - 1);
}

/* A bit per 8 bytes, in words of 64 (a region may be as small as 64 bytes). */
static size_t region_words(const struct hd_objindex *x)
{
	return (size_t)((x->region_size / 8 + 63) / 64);
}

/* Maps BYTES for S, or leaves S empty when the mapping is refused (an
 * overcommit limit): the bits are then allocated one region at a time. */
static void slab_map(struct objindex_slab *s, size_t bytes)
{
	void *p = bytes ? mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
			: MAP_FAILED;
	*s = p == MAP_FAILED ? (struct objindex_slab){0} : (struct objindex_slab){p, bytes, 0};
}

static void slab_unmap(struct objindex_slab *s)
{
	if (s->p)
		munmap(s->p, s->bytes);
	*s = (struct objindex_slab){0};
}

/* BYTES of zeroes from S, else from the allocator.  NULL: out of memory. */
static void *slab_take(struct objindex_slab *s, size_t bytes)
{
	if (s->p && s->bytes - s->used >= bytes) {
		void *p = (uint8_t *)s->p + s->used;
		s->used += bytes;
		return p;
	}
	return calloc(1, bytes);
}

static void slab_give_back(const struct objindex_slab *s, void *p)
{
	if (!s->p || (uint8_t *)p < (uint8_t *)s->p || (uint8_t *)p >= (uint8_t *)s->p + s->bytes)
		free(p);
}

int objindex_init(struct hd_objindex *x, uint64_t region_size)
{
	memset(x, 0, sizeof *x);
	/* At most 2^40: a lookup below the direct table's start must wrap to
	 * an index past its end (OBJINDEX_DIRECT_MAX). */
	if (region_size < 64 || region_size > (1ull << 40) || (region_size & (region_size - 1)))
		return hd_fail(HD_E_INTERNAL, "object index region size %llu",
			       (unsigned long long)region_size);
	x->region_size = region_size;
	x->shift = (unsigned)__builtin_ctzll(region_size);
	x->word_shift = x->shift - 3;
	x->word_mask = (region_size >> 3) - 1;
	x->nslots = 64;
	x->regions = calloc(x->nslots, sizeof *x->regions);
	return x->regions ? 0 : hd_fail(HD_E_INTERNAL, "out of memory");
}

void objindex_reserve(struct hd_objindex *x, size_t nregions)
{
	/* Once: regions made may hold bits of the slab mapped first. */
	if (!x->starts_slab.p && nregions <= SIZE_MAX / 8 / region_words(x))
		slab_map(&x->starts_slab, nregions * region_words(x) * sizeof(uint64_t));
}

static void undefer(struct hd_objindex *x)
{
	for (size_t k = 0; x->pending && k < x->ndirect; k++)
		slab_give_back(&x->pending_slab, (void *)x->pending[k]);
	free(x->pending);
	free(x->open);
	slab_unmap(&x->pending_slab);
	x->pending = NULL;
	x->open = NULL;
}

static void unseal(struct hd_objindex *x)
{
	undefer(x);
	free(x->direct);
	free(x->zero);
	x->direct = NULL;
	x->zero = NULL;
	x->ndirect = 0;
}

void objindex_free(struct hd_objindex *x)
{
	for (size_t i = 0; i < x->nslots && x->regions; i++)
		slab_give_back(&x->starts_slab, x->regions[i].bits);
	free(x->regions);
	unseal(x);
	slab_unmap(&x->starts_slab);
	memset(x, 0, sizeof *x);
}

int objindex_seal(struct hd_objindex *x)
{
	unseal(x);
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < x->nslots; i++)
		if (x->regions[i].bits) {
			lo = x->regions[i].base < lo ? x->regions[i].base : lo;
			hi = x->regions[i].base > hi ? x->regions[i].base : hi;
		}
	if (lo > hi || ((hi - lo) >> x->shift) >= OBJINDEX_DIRECT_MAX)
		return 0; /* empty, or too sparse: lookups probe */
	size_t n = (size_t)((hi - lo) >> x->shift) + 1;
	x->direct = calloc(n, sizeof *x->direct);
	x->zero = calloc(region_words(x), sizeof *x->zero);
	if (!x->direct || !x->zero) {
		unseal(x);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		x->direct[i] = x->zero;
	for (size_t i = 0; i < x->nslots; i++)
		if (x->regions[i].bits)
			x->direct[(x->regions[i].base - lo) >> x->shift] = x->regions[i].bits;
	x->direct_lo = lo;
	x->ndirect = n;
	return 0;
}

static struct objindex_region *find(const struct hd_objindex *x, uint64_t base)
{
	for (size_t i = slot_of(x, base);; i = (i + 1) & (x->nslots - 1)) {
		struct objindex_region *r = &x->regions[i];
		if (!r->bits || r->base == base)
			return r;
	}
}

static int grow(struct hd_objindex *x)
{
	struct hd_objindex bigger = *x;
	bigger.nslots = x->nslots * 2;
	bigger.regions = calloc(bigger.nslots, sizeof *bigger.regions);
	if (!bigger.regions)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < x->nslots; i++)
		if (x->regions[i].bits)
			*find(&bigger, x->regions[i].base) = x->regions[i];
	free(x->regions);
	*x = bigger;
	x->last = NULL;
	return 0;
}

uint64_t *objindex_region(struct hd_objindex *x, uint64_t base, bool *made)
{
	*made = false;
	if (x->direct)
		unseal(x);
	if (x->nused * 2 >= x->nslots && grow(x) != 0)
		return NULL;
	struct objindex_region *r = find(x, base);
	if (!r->bits) {
		r->bits = slab_take(&x->starts_slab, region_words(x) * sizeof *r->bits);
		if (!r->bits) {
			hd_fail(HD_E_INTERNAL, "out of memory");
			return NULL;
		}
		r->base = base;
		x->nused++;
		*made = true;
	}
	x->last = r;
	return r->bits;
}

int objindex_add(struct hd_objindex *x, uint64_t addr)
{
	uint64_t base = addr & ~(x->region_size - 1);
	struct objindex_region *r = x->last;
	if (!r || r->base != base || !r->bits) {
		bool made;
		if (!objindex_region(x, base, &made))
			return -1;
		r = x->last;
	}
	uint64_t i = (addr - base) >> 3;
	objindex_bit_set(r->bits, i);
	return 0;
}

bool objindex_has_outside(const struct hd_objindex *x, uint64_t addr)
{
	if (x->direct || (addr & 7))
		return false;
	uint64_t base = addr & ~(x->region_size - 1);
	const struct objindex_region *r = find(x, base);
	if (!r->bits)
		return false;
	uint64_t i = (addr - base) >> 3;
	return objindex_bit(r->bits, i);
}

int objindex_defer(struct hd_objindex *x, uint64_t base)
{
	uint64_t k = (base - x->direct_lo) >> x->shift;
	if (!x->direct || (base & (x->region_size - 1)) || base < x->direct_lo ||
	    k >= x->ndirect || x->direct[k] == x->zero)
		return hd_fail(HD_E_INTERNAL, "cannot defer region 0x%llx", (unsigned long long)base);
	if (!x->open) {
		x->open = calloc(x->ndirect, sizeof *x->open);
		x->pending = calloc(x->ndirect, sizeof *x->pending);
		/* Deferred regions are regions made: at most NUSED. */
		if (!x->open || !x->pending) {
			undefer(x);
			return hd_fail(HD_E_INTERNAL, "out of memory");
		}
		slab_map(&x->pending_slab, x->nused * region_words(x) * sizeof **x->pending);
	}
	if (!x->pending[k] &&
	    !(x->pending[k] = slab_take(&x->pending_slab, region_words(x) * sizeof *x->pending[k])))
		return hd_fail(HD_E_INTERNAL, "out of memory");
	atomic_store_explicit(&x->open[k], 1, memory_order_relaxed);
	return 0;
}

void objindex_complete(struct hd_objindex *x, uint64_t base)
{
	atomic_store_explicit(&x->open[(base - x->direct_lo) >> x->shift], 0, memory_order_release);
}

uint64_t objindex_settle(struct hd_objindex *x, uint64_t *first)
{
	uint64_t bad = 0;
	*first = 0;
	for (size_t k = 0; x->pending && k < x->ndirect; k++)
		for (size_t i = 0; x->pending[k] && i < region_words(x); i++) {
			uint64_t miss = atomic_load_explicit(&x->pending[k][i], memory_order_relaxed) &
					~x->direct[k][i];
			if (miss && !bad)
				*first = x->direct_lo + ((uint64_t)k << x->shift) +
					 (((uint64_t)i * 64 + (unsigned)__builtin_ctzll(miss)) << 3);
			bad += (uint64_t)__builtin_popcountll(miss);
		}
	undefer(x);
	return bad;
}
