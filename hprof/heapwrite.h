/* The second pass of a dump: the whole HPROF body — class names and class
 * dumps, GC roots, then every object as an INSTANCE, OBJECT ARRAY or
 * PRIMITIVE ARRAY DUMP, each reference checked against the census's object
 * starts.  The chunks are written on several threads; the output does not
 * depend on how many. */
#ifndef HD_HEAPWRITE_H
#define HD_HEAPWRITE_H

#include "../common/hd_error.h"
#include "census.h"
#include "dumpinput.h"
#include "hprof.h"

/* Writes the whole HPROF body to W (header already written by hprof_open)
 * and finishes it.  Fails with HD_E_INCONSISTENT if a reference does not
 * land on an object start seen by the census; else the errors of the chunk
 * source, the walk, the roots callback and W's sink, HD_E_INTERRUPTED,
 * HD_E_INTERNAL. */
HD_MUST_CHECK int heap_write_hprof(const struct hd_dump_input *in, struct hd_census *c,
				   hd_hprof *w);

#endif
