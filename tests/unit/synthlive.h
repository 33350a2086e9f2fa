/* Synthetic live targets for the unit tests: the process memory of one
 * isolate of a native image, built on a synthetic image heap (synthheap.h).
 *
 * sl_build() lays out, as local buffers behind a memory view (the same
 * view type hdump reads a process through), with the /proc/PID/maps and
 * the stopped threads such a process would show:
 *  - the executable's own mappings, the heap base's inaccessible null
 *    region and the isolate's copy of the image heap (read-only part, and
 *    a writable part whose Spaces, HeapAllocation and VMThreads.head now
 *    point into the runtime heap);
 *  - runtime aligned chunks in Space chains (eden, old), unaligned chunks
 *    (one right after the image heap's last page, one far away);
 *  - TLABs in the style of the preset: a whole aligned chunk owned by a
 *    thread (header top "null", the top in the thread, older chunks linked
 *    behind it; CE 22.3 and the 23.1 line), or TLABs carved from a shared
 *    chunk of HeapAllocation leaving unformatted gaps (CE 25), one of them
 *    still empty; and the threads' lists of unaligned chunks;
 *  - every chunk in mappings of its own, as /proc/PID/maps shows mappings
 *    the kernel did not merge (an unaligned chunk's object spans two);
 *  - runtime objects, instances and arrays, in every identity-hash state,
 *    referencing each other and the image heap;
 *  - IsolateThreads in a malloc'd area (one of them freed but still
 *    pointing into the list), their stacks and thread objects, and the OS
 *    threads (tids, fs_base, rsp) they run on, plus one that is no Java
 *    thread.
 * The ground truth comes with it: every object, chunk and thread. */
#ifndef HD_TEST_SYNTHLIVE_H
#define HD_TEST_SYNTHLIVE_H

#include "../../agent/attach.h"
#include "../../agent/memview.h"
#include "../../agent/procmaps.h"
#include "../../symbols/elfimage.h"
#include "synthheap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_THREADS 3

struct sl_thread {
	uint64_t addr;       /* the IsolateThread */
	pid_t tid;
	uint64_t thread_obj; /* its java.lang.Thread */
	uint64_t stack_lo, stack_hi;
};

struct sl_region {
	uint64_t addr;
	uint8_t *data;
	size_t len;
};

struct sl_live {
	struct sh_heap h;        /* the image heap as the executable holds it */
	bool shared_tlabs;       /* CE 25 style TLABs */
	hd_memview *proc;        /* the process's memory */
	struct hd_maps maps;
	struct hd_target target; /* its stopped threads */
	struct hd_elfimage img;  /* identity and .svm_heap placement only */
	uint64_t heap_base, image_start;

	/* Ground truth, image heap included, fillers excluded. */
	uint64_t objects, bytes, refs;
	struct sh_object *objs;  /* every object, fillers too, in address order */
	size_t nobjs;
	uint64_t *chunks;        /* runtime chunks */
	size_t nchunks;
	struct sl_thread threads[SL_THREADS]; /* in list order */
	uint64_t tlab_chunk;     /* whole-chunk style: the chunk thread 0 owns */
	uint64_t adjacent_unaligned, far_unaligned;
	uint64_t hash_states[2][3]; /* runtime objects per [array?][hash state] */

	struct sl_region *regions; /* owned buffers behind PROC */
	size_t nregions, cap_regions;
};

/* Builds the live target of preset P.  Returns 0, or -1 after printing why. */
int sl_build(const struct sh_params *p, struct sl_live *t);
void sl_free(struct sl_live *t);

/* The bytes at ADDR in the target (aborts when unmapped: a test bug). */
uint8_t *sl_ptr(struct sl_live *t, uint64_t addr);

/* Adds a readable and writable anonymous region of LEN zero bytes at ADDR
 * (page-aligned) to the target, for tests that forge more memory. */
uint8_t *sl_map(struct sl_live *t, uint64_t addr, size_t len);

#endif
