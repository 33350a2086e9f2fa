/* One dump into the client's sink: attempts of census + HPROF (a retried
 * attempt starts the sink over), then the results and the histogram. */
#ifndef HD_LIB_SESSION_H
#define HD_LIB_SESSION_H

#include "../common/hd_error.h"
#include "../hprof/census.h"
#include "../hprof/heapwrite.h"
#include "events.h"

struct histogram {
	struct hdump_histogram_row *rows;
	size_t n;
};
void histogram_free(struct histogram *h);

struct dump_session {
	const struct hdump_options *opt;
	const struct hdump_sink *sink;
	const struct hd_events *ev;
	struct hd_census census;
	const struct hd_classes *classes; /* of the last attempt's heap */
	const struct hd_statics *statics; /* of the last attempt's heap, or NULL */
	uint64_t written;
	uint64_t t0_ms;
	unsigned attempts; /* begun by the caller, this one included */
};

void session_begin(struct dump_session *s, const struct hdump_options *opt,
		   const struct hdump_sink *sink, const struct hd_events *ev);

/* Starts the sink over if bytes went out.  A retry calls it before it
 * stops the target again: a sink that cannot start over (no rewind, or a
 * stream) fails then, for good (HD_E_OUTPUT), the target left running. */
HD_MUST_CHECK int session_start_over(struct dump_session *s);

/* Census and (if wanted) HPROF, in the caller's attempt ATTEMPT (from 1).
 * May be called again after a failure: the sink starts over. */
HD_MUST_CHECK int session_attempt(struct dump_session *s, const struct hd_dump_input *in,
				  unsigned attempt);

/* After a successful last attempt (RC 0): fills R and replaces H with the
 * histogram.  Frees the census either way.  Returns RC or its own error. */
HD_MUST_CHECK int session_end(struct dump_session *s, int rc, struct hdump_result *r,
			      struct histogram *h);

#endif
