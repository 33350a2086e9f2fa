/* The offline dump pipeline (discovery, class table, census, HPROF writer)
 * on untrusted bytes, with the invariants every outcome must keep; shared
 * by the fuzz targets and their corpus replay. */
#ifndef HD_FUZZ_PIPELINE_H
#define HD_FUZZ_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

/* Runs the pipeline on SIZE bytes at HEAP as an image heap.  Aborts (a
 * crash for the fuzzer, a failure for the replay) when an invariant breaks:
 * an error without its class, an error class no hostile heap may cause, or
 * a dump that does not parse. */
void fuzz_pipeline(const uint8_t *heap, size_t size);

/* How the last run ended ("dumped", or the stage that refused the input),
 * for the replay's log. */
extern const char *fuzz_outcome;

/* Aborts with MSG and the recorded error. */
void fuzz_invariant_failed(const char *msg) __attribute__((noreturn));

#endif
