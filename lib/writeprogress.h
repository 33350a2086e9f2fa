/* HDUMP_EVENT_PROGRESS for the write phase: the HPROF bytes on their way to
 * the client's sink, counted against the size the census predicts. */
#ifndef HD_LIB_WRITEPROGRESS_H
#define HD_LIB_WRITEPROGRESS_H

#include "../hprof/census.h"
#include "events.h"

#include <pthread.h>
#include <stdint.h>

struct write_progress {
	const struct hdump_sink *sink; /* the client's */
	const struct hd_events *ev;
	unsigned attempt;
	uint64_t done, total;
	uint64_t next_ms;              /* no event before then */
	pthread_t caller;              /* events go out on this thread only */
};

/* The HPROF size a census of C over NCLASSES classes should give, with
 * ids of ID_SIZE bytes and a heap of REF_SIZE-byte references: each
 * object's bytes, its record's header, and per class its name, LOAD CLASS
 * and CLASS DUMP with the field names (calibrated on pkl's images; a
 * reference narrower than an id grows in HPROF, so more). */
uint64_t write_progress_estimate(const struct hd_census *c, uint64_t nclasses, unsigned id_size,
				 unsigned ref_size);

/* Counts writes into SINK as part ATTEMPT of a dump of about TOTAL bytes,
 * on behalf of the calling thread. */
void write_progress_begin(struct write_progress *p, const struct hdump_sink *sink,
			  const struct hd_events *ev, unsigned attempt, uint64_t total);

/* hprof_sink_fn (CTX: a write_progress): the client's write, then an event
 * when one is due and this is the caller's thread (the library's writer
 * threads also write; the client hears only on its own thread). */
int write_progress_write(void *ctx, const void *buf, size_t len);

/* The last event: everything written, out of what was written. */
void write_progress_end(struct write_progress *p);

#endif
