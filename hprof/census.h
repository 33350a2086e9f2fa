/* The first pass of a dump: walks every chunk, counts objects and bytes per
 * class and records where every object starts, so that the writer can check
 * each reference and a root scan can tell object starts from other words.
 * It keeps the chunks it walked, for the writer. */
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
	uint64_t *count;    /* per class index */
	uint64_t *size;
	struct hd_objindex starts;
	struct hd_chunklist list;
};

/* Walks every chunk, the aligned ones on IN's threads; every walk must end
 * at its chunk's top.  On success the caller owns C (census_free); on
 * error C holds nothing.  Errors: the chunk source's and the walk's,
 * HD_E_INTERRUPTED, HD_E_INTERNAL. */
HD_MUST_CHECK int heap_census(const struct hd_dump_input *in, struct hd_census *c);
void census_free(struct hd_census *c);

#endif
