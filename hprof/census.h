/* The first pass of a dump: walks every chunk, counts objects and bytes per
 * class and records where every object starts, so that the writer can check
 * each reference and a root scan can tell object starts from other words.
 * It keeps the chunks it walked, for the writer.  In one pass (census_defer)
 * the writer counts and records the chunks that own a region itself, as it
 * writes them. */
#ifndef HD_CENSUS_H
#define HD_CENSUS_H

#include "../common/hd_error.h"
#include "dumpinput.h"
#include "objindex.h"

#include <stdint.h>

/* The chunks of the input, copied (a chunk source owns its chunks only
 * during its callback), in the source's order. */
struct hd_chunklist {
	struct hd_chunk *v;
	size_t n, cap;
};

struct hd_census {
	uint64_t objects;   /* walked, fillers excluded */
	uint64_t bytes;
	uint64_t fillers;
	uint64_t chunks;
	size_t nclasses;
	uint64_t *count;    /* per class index */
	uint64_t *size;
	struct hd_objindex starts;
	struct hd_chunklist list;
	/* Per chunk of LIST: the bits of the region it alone owns (walked on
	 * a thread of its own), else NULL (walked by census_prepare). */
	uint64_t **own;
	bool deferred;      /* census_defer: the owning chunks are the writer's */
};

/* What one thread counts, summed into a census (census_counts_add); and
 * the region of the chunk it walks, whose starts it sets. */
struct census_counts {
	const struct hd_class *classes;
	uint64_t *count, *size; /* per class index */
	uint64_t fillers;
	uint64_t *bits;         /* NULL: none */
	uint64_t base, region_size;
};

HD_MUST_CHECK int census_counts_init(struct census_counts *n, const struct hd_classes *t,
				     uint64_t region_size);
/* Adds N's counts to C. */
void census_counts_add(struct hd_census *c, const struct census_counts *n);
void census_counts_fini(struct census_counts *n);
HD_MUST_CHECK int census_outside(uint64_t addr);

/* Counts O; false for a filler (not an object of the dump). */
static inline bool census_count(struct census_counts *n, const struct hd_object *o)
{
	const struct hd_class *cls = o->hubinfo.cls;
	if (cls->is_filler) {
		n->fillers++;
		return false;
	}
	size_t k = (size_t)(cls - n->classes);
	n->count[k]++;
	n->size[k] += o->size;
	return true;
}

/* Records that an object starts at ADDR, in N's region. */
static inline int census_start(struct census_counts *n, uint64_t addr)
{
	if (addr - n->base >= n->region_size) /* below BASE too: it wraps */
		return census_outside(addr);
	objindex_bit_set(n->bits, (addr - n->base) >> 3);
	return 0;
}

/* Walks every chunk, the aligned ones on IN's threads; every walk must end
 * at its chunk's top.  On success the caller owns C (census_free); on
 * error C holds nothing.  Errors: the chunk source's and the walk's,
 * HD_E_INTERRUPTED, HD_E_INTERNAL. */
HD_MUST_CHECK int heap_census(const struct hd_dump_input *in, struct hd_census *c);
/* The part of heap_census before the owning chunks' walk: collects the
 * chunks, claims their regions, walks the chunks that own none, seals the
 * index.  Then either census_walk (two passes) or census_defer. */
HD_MUST_CHECK int census_prepare(const struct hd_dump_input *in, struct hd_census *c);
/* Walks the owning chunks on IN's threads. */
HD_MUST_CHECK int census_walk(const struct hd_dump_input *in, struct hd_census *c);
/* Leaves the owning chunks to the writer, which counts them and sets their
 * starts as it writes them (C->deferred); false when the index is not
 * direct (then census_walk).  Errors: HD_E_INTERNAL. */
HD_MUST_CHECK int census_defer(struct hd_census *c, bool *deferred);
/* The bytes of the chunks census_defer left to the writer. */
uint64_t census_deferred_bytes(const struct hd_census *c);
void census_free(struct hd_census *c);

#endif
