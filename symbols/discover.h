/* Layout discovery: finds the object model of a native image from the bytes
 * of its image heap alone, and validates every finding against the data
 * (hub fixpoint, every chunk walk ending exactly at its top, reference maps
 * that hold only null or object starts).  Runs on the executable's
 * .svm_heap placed at the address the live image heap has (or any address
 * for an offline dump), so the result applies to the process unchanged. */
#ifndef HD_DISCOVER_H
#define HD_DISCOVER_H

#include "layout.h"
#include "../agent/memview.h"
#include "../common/hd_error.h"

#include <stdint.h>
#include <stdio.h>

struct hd_elfimage;

/* Discovers the layout of the image heap held in local memory by MV at
 * [START, START+SIZE).  On success *HUBS (malloc'd, the caller frees) lists
 * every DynamicHub in the image heap.  On failure (HD_E_LAYOUT) the message
 * names the check that did not hold.  LOG, if not NULL, receives one line
 * per finding (for --verbose). */
HD_MUST_CHECK int discover_layout(hd_memview *mv, uint64_t start, uint64_t size,
				  struct hd_layout *out, uint64_t **hubs, size_t *nhubs, FILE *log);

/* discover_layout of IMG's image heap, held by MV at START: where IMG maps
 * it, the search's walks let go of the pages they have passed (the search
 * walks it whole several times). */
HD_MUST_CHECK int discover_layout_of_image(hd_memview *mv, uint64_t start,
					   const struct hd_elfimage *img, struct hd_layout *out,
					   uint64_t **hubs, size_t *nhubs, FILE *log);

/* What the candidate-layout search may spend.  It tries header, chunk and
 * hub configurations in turn, walking chunk 0 and then the whole heap under
 * each; real images settle at the first candidate or within a few hundred,
 * in about one walk of the heap.  A hostile image could make every
 * candidate walk far before failing: the search gives up (HD_E_LAYOUT) after
 * CANDIDATES candidates, or once it has walked WALK_FACTOR times the image
 * heap's size. */
struct hd_search_budget {
	uint64_t candidates;
	uint64_t walk_factor;
};
extern const struct hd_search_budget hd_default_search_budget; /* 100000, 16 */

/* discover_layout under another budget (the tests shrink it). */
HD_MUST_CHECK int discover_layout_within(hd_memview *mv, uint64_t start, uint64_t size,
					 const struct hd_search_budget *budget,
					 struct hd_layout *out, uint64_t **hubs, size_t *nhubs,
					 FILE *log);

#endif
