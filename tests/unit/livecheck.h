/* Checks of a dump of a synthetic live target (synthlive.h) against its
 * ground truth, for the tests that dump one: every object dumped once,
 * no filler, every reference on a dumped object, the thread roots. */
#ifndef HD_TEST_LIVECHECK_H
#define HD_TEST_LIVECHECK_H

#include "synthlive.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool lc_is_filler(const struct sl_live *t, const struct sh_object *o);
/* The object starting at ADDR, or NULL. */
const struct sh_object *lc_object_at(const struct sl_live *t, uint64_t addr);

struct lc_dump {
	uint64_t refs;                        /* non-null references dumped */
	uint64_t thread_objs[SL_THREADS + 1]; /* ROOT THREAD OBJECT ids, in order */
	size_t nthread_objs;
};

/* Parses the HPROF file BUF and asserts (Criterion) that it holds every
 * object of T once and nothing else, and no dangling reference. */
struct lc_dump lc_check_hprof(const struct sl_live *t, const uint8_t *buf, size_t len);

#endif
