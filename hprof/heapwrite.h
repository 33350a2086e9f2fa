/* The second pass of a dump (or, census_defer, the census's second half
 * too): the whole HPROF body — class names and class dumps, the classes'
 * roots, every object as an INSTANCE, OBJECT ARRAY or PRIMITIVE ARRAY DUMP,
 * each reference checked against the census's object starts, then the
 * other GC roots.  The chunks are written on several threads; the output does not
 * depend on how many. */
#ifndef HD_HEAPWRITE_H
#define HD_HEAPWRITE_H

#include "../common/hd_error.h"
#include "census.h"
#include "dumpinput.h"
#include "hprof.h"
#include "hprofids.h"

/* Plans the ids of the dump of IN whose chunks census C holds
 * (hprofids.h): 4 bytes when its chunks, hubs and names fit, else 8; for
 * hprof_open's header and heap_write_hprof.  The caller frees IDS.
 * Errors: HD_E_INTERNAL. */
HD_MUST_CHECK int heap_plan_ids(const struct hd_dump_input *in, const struct hd_census *c,
				struct hprof_ids *ids);

/* Writes the whole HPROF body to W (header already written by hprof_open,
 * with IDS's size) with IDS, and finishes it.  When C is deferred
 * (census_defer) it also counts the chunks left to it into C and sets
 * their starts, checks the references into them once all are set, and
 * ends C's deferral.  Fails with HD_E_INCONSISTENT if a reference does not
 * land on an object start seen by the census; else the errors of the chunk
 * source, the walk, the roots callback and W's sink, HD_E_INTERRUPTED,
 * HD_E_INTERNAL. */
HD_MUST_CHECK int heap_write_hprof(const struct hd_dump_input *in, struct hd_census *c,
				   const struct hprof_ids *ids, hd_hprof *w);

#endif
