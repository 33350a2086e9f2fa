/* One dump into a client's sink (lib/session.c), on a synthetic image heap
 * (synthdump.h): the census alone, census and HPROF, a retried attempt that
 * starts the sink over (and one whose sink cannot), the phases in order,
 * the results and the histogram. */
#include "../../common/hd_error.h"
#include "../../lib/session.h"
#include "synthdump.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

struct sink {
	uint8_t *buf;
	size_t len, cap;
	unsigned writes, fail_at; /* fail_at: the 1-based write that fails, 0: none */
	unsigned rewinds;
	uint64_t rewound; /* the byte count the last rewind was given */
	bool rewind_fails;
};

static int sink_write(void *ctx, const void *buf, size_t len)
{
	struct sink *s = ctx;
	if (s->fail_at && ++s->writes >= s->fail_at)
		return hd_fail(HD_E_TORN, "test sink: torn at write %u", s->writes);
	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2;
		s->buf = realloc(s->buf, s->cap);
		cr_assert_not_null(s->buf);
	}
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	return 0;
}

static int sink_rewind(void *ctx, uint64_t written)
{
	struct sink *s = ctx;
	if (s->rewind_fails)
		return hd_fail(HD_E_OUTPUT, "test sink: cannot seek");
	s->rewinds++;
	s->rewound = written;
	s->len = 0;
	return 0;
}

#define MAX_EVENTS 32
struct seen {
	size_t n;
	struct hdump_event ev[MAX_EVENTS];
	unsigned progress;                  /* PROGRESS events, not in EV: */
	struct hdump_event last_progress;   /* their number depends on the clock */
};

static void record(void *ctx, const struct hdump_event *ev)
{
	struct seen *s = ctx;
	if (ev->kind == HDUMP_EVENT_PROGRESS) {
		cr_assert(s->n && s->ev[s->n - 1].kind == HDUMP_EVENT_PHASE_BEGIN &&
			  s->ev[s->n - 1].phase == HDUMP_PHASE_WRITE, "progress inside the write phase");
		cr_assert(!s->progress || ev->done >= s->last_progress.done, "never backwards");
		s->progress++;
		s->last_progress = *ev;
		return;
	}
	cr_assert_lt(s->n, MAX_EVENTS);
	s->ev[s->n++] = *ev;
}

/* A session over a synthetic heap, its sink and its events. */
struct fixture {
	struct sd_heap d;
	struct hdump_options o;
	struct sink out;
	struct hdump_sink sink;
	struct seen seen;
	struct hd_events ev;
	struct hd_dump_input in;
	struct dump_session s;
	struct histogram h;
};

/* HPROF: into F->out, rewound by sink_rewind; else the census alone, with
 * no sink at all (it needs none). */
static void begin(struct fixture *f, const struct sh_params *p, bool hprof)
{
	memset(f, 0, sizeof *f);
	sd_open(&f->d, p, 1);
	hdump_options_init(&f->o);
	f->o.hprof = hprof;
	f->o.threads = 1;
	f->o.date_ms = 1700000000000ull; /* the same bytes every time */
	f->sink = (struct hdump_sink){sink_write, sink_rewind, &f->out};
	f->ev = (struct hd_events){record, &f->seen};
	f->in = sd_input(&f->d, 1);
	session_begin(&f->s, &f->o, hprof ? &f->sink : NULL, &f->ev);
}

static void end(struct fixture *f)
{
	histogram_free(&f->h);
	free(f->out.buf);
	sd_close(&f->d);
}

Test(session, census_only_results_and_histogram)
{
	struct fixture f;
	begin(&f, &sh_ce_25, false);
	f.s.attempts = 1;
	struct hdump_result r;
	cr_assert_eq(session_end(&f.s, session_attempt(&f.s, &f.in, 1), &r, &f.h), 0, "%s",
		     hd_error_message());
	cr_assert_eq(r.objects, f.d.h.objects);
	cr_assert_eq(r.bytes, f.d.h.bytes);
	cr_assert_eq(r.fillers, f.d.h.fillers);
	cr_assert_eq(r.chunks, f.d.h.naligned + f.d.h.nunaligned);
	cr_assert_eq(r.classes, f.d.classes.n);
	cr_assert_eq(r.hprof_bytes, 0);
	cr_assert_eq(r.attempts, 1);
	cr_assert_geq(r.seconds, 0);
	/* Only the census phase. */
	cr_assert_eq(f.seen.n, 2);
	cr_assert_eq(f.seen.ev[0].kind, HDUMP_EVENT_PHASE_BEGIN);
	cr_assert_eq(f.seen.ev[0].phase, HDUMP_PHASE_CENSUS);
	cr_assert_eq(f.seen.ev[1].kind, HDUMP_EVENT_PHASE_END);
	cr_assert_eq(f.seen.ev[1].phase, HDUMP_PHASE_CENSUS);
	/* The histogram: every class with instances once, largest first, and
	 * its totals the census's. */
	const struct histogram *h = &f.h;
	uint64_t count = 0, bytes = 0;
	cr_assert_gt(h->n, 1);
	for (size_t i = 0; i < h->n; i++) {
		cr_assert_gt(h->rows[i].count, 0);
		count += h->rows[i].count;
		bytes += h->rows[i].bytes;
		if (i)
			cr_assert_geq(h->rows[i - 1].bytes, h->rows[i].bytes, "row %zu", i);
		for (size_t k = 0; k < i; k++)
			cr_assert_str_neq(h->rows[k].name, h->rows[i].name);
	}
	cr_assert_eq(count, f.d.h.objects);
	cr_assert_eq(bytes, f.d.h.bytes);
	end(&f);
	cr_assert_null(f.h.rows);
}

Test(session, a_retried_attempt_starts_the_sink_over)
{
	/* The bytes of one clean attempt, for comparison. */
	struct fixture clean;
	begin(&clean, &sh_oracle_21, true);
	cr_assert_eq(session_end(&clean.s, session_attempt(&clean.s, &clean.in, 1), NULL,
				 &clean.h), 0, "%s", hd_error_message());
	cr_assert_gt(clean.out.len, 0);

	struct fixture f;
	begin(&f, &sh_oracle_21, true);
	f.out.fail_at = 3; /* attempt 1 is torn mid-write */
	f.s.attempts = 1;
	cr_assert_eq(session_attempt(&f.s, &f.in, 1), -1);
	cr_assert_eq(hd_error_class(), HD_E_TORN);
	cr_assert_gt(f.out.len, 0, "attempt 1 wrote something before it failed");
	uint64_t written = f.out.len;
	cr_assert_eq(f.out.rewinds, 0);

	f.out.fail_at = 0;
	f.s.attempts = 2;
	cr_assert_eq(session_attempt(&f.s, &f.in, 2), 0, "%s", hd_error_message());
	cr_assert_eq(f.out.rewinds, 1);
	cr_assert_eq(f.out.rewound, written, "the sink is told what attempt 1 wrote");
	struct hdump_result r;
	cr_assert_eq(session_end(&f.s, 0, &r, &f.h), 0);
	cr_assert_eq(r.attempts, 2);
	cr_assert_eq(r.hprof_bytes, clean.out.len);
	cr_assert_eq(f.out.len, clean.out.len);
	cr_assert_eq(memcmp(f.out.buf, clean.out.buf, clean.out.len), 0,
		     "the same bytes as one attempt");
	/* Progress: the last attempt's end says all its bytes were written. */
	cr_assert_geq(f.seen.progress, 3, "a start for each attempt and an end");
	cr_assert_eq(f.seen.last_progress.attempt, 2);
	cr_assert_eq(f.seen.last_progress.done, r.hprof_bytes);
	cr_assert_eq(f.seen.last_progress.total, r.hprof_bytes);
	/* Each attempt's phases, numbered. */
	const struct { enum hdump_event_kind k; enum hdump_phase p; unsigned a; } want[] = {
		{HDUMP_EVENT_PHASE_BEGIN, HDUMP_PHASE_CENSUS, 1},
		{HDUMP_EVENT_PHASE_END, HDUMP_PHASE_CENSUS, 1},
		{HDUMP_EVENT_PHASE_BEGIN, HDUMP_PHASE_WRITE, 1},
		{HDUMP_EVENT_PHASE_END, HDUMP_PHASE_WRITE, 1},
		{HDUMP_EVENT_PHASE_BEGIN, HDUMP_PHASE_CENSUS, 2},
		{HDUMP_EVENT_PHASE_END, HDUMP_PHASE_CENSUS, 2},
		{HDUMP_EVENT_PHASE_BEGIN, HDUMP_PHASE_WRITE, 2},
		{HDUMP_EVENT_PHASE_END, HDUMP_PHASE_WRITE, 2},
	};
	cr_assert_eq(f.seen.n, sizeof want / sizeof *want);
	for (size_t i = 0; i < f.seen.n; i++) {
		cr_assert_eq(f.seen.ev[i].kind, want[i].k, "event %zu", i);
		cr_assert_eq(f.seen.ev[i].phase, want[i].p, "event %zu", i);
		cr_assert_eq(f.seen.ev[i].attempt, want[i].a, "event %zu", i);
	}
	end(&f);
	end(&clean);
}

Test(session, a_sink_that_cannot_start_over_fails_the_retry)
{
	struct fixture f;
	begin(&f, &sh_ce_25, true);
	f.sink.rewind = NULL;
	f.out.fail_at = 2;
	cr_assert_eq(session_attempt(&f.s, &f.in, 1), -1);
	size_t written = f.out.len;
	cr_assert_gt(written, 0);
	f.out.fail_at = 0;
	cr_assert_eq(session_attempt(&f.s, &f.in, 2), -1);
	cr_assert_eq(hd_error_class(), HD_E_OUTPUT, "final: no retry can change it");
	cr_assert_str_eq(hd_error_message(), "cannot retry a dump already written to a sink "
					     "that cannot start over");
	cr_assert_eq(f.out.len, written, "nothing more written after the refusal");
	cr_assert_eq(session_end(&f.s, -1, NULL, &f.h), -1);
	cr_assert_null(f.h.rows, "no histogram for a failed dump");
	end(&f);
}

Test(session, a_census_only_retry_needs_no_rewind)
{
	struct fixture f;
	begin(&f, &sh_ce_25, false);
	cr_assert_eq(session_attempt(&f.s, &f.in, 1), 0);
	cr_assert_eq(session_attempt(&f.s, &f.in, 2), 0, "%s", hd_error_message());
	struct hdump_result r;
	cr_assert_eq(session_end(&f.s, 0, &r, &f.h), 0);
	cr_assert_eq(r.objects, f.d.h.objects, "counted once, not twice");
	end(&f);
}

Test(session, a_failed_rewind_fails_the_attempt)
{
	struct fixture f;
	begin(&f, &sh_ce_25, true);
	f.out.rewind_fails = true;
	cr_assert_eq(session_attempt(&f.s, &f.in, 1), 0);
	size_t written = f.out.len;
	cr_assert_eq(session_attempt(&f.s, &f.in, 2), -1);
	cr_assert_eq(hd_error_class(), HD_E_OUTPUT, "the sink's own error");
	cr_assert_str_eq(hd_error_message(), "test sink: cannot seek");
	cr_assert_eq(f.out.len, written, "no write after the failed start-over");
	cr_assert_eq(session_end(&f.s, -1, NULL, &f.h), -1);
	end(&f);
}
