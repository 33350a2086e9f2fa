/* A synthetic image heap (synthheap.h) made ready for a dump, as an
 * executable's would be: its layout discovered, its class table built, and
 * a chunk source that enumerates its chunks REPEAT times (one pass for a
 * real heap; more give the writer many jobs from a small heap). */
#ifndef HD_TEST_SYNTHDUMP_H
#define HD_TEST_SYNTHDUMP_H

#include "../../hprof/dumpinput.h"
#include "synthheap.h"

struct sd_heap {
	struct sh_heap h;
	hd_memview *mv;
	struct hd_layout L;
	uint64_t *hubs;
	size_t nhubs;
	struct hd_classes classes;
	unsigned repeat;
};

/* Builds, discovers and reads the classes of the heap P describes; a test
 * failure if any step fails. */
void sd_open(struct sd_heap *d, const struct sh_params *p, unsigned repeat);
void sd_close(struct sd_heap *d);

/* The dump input over D's chunks, written with THREADS threads. */
struct hd_dump_input sd_input(struct sd_heap *d, unsigned threads);

#endif
