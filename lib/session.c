#include "session.h"

#include "../common/clock.h"
#include "../common/hd_error.h"
#include "../symbols/statics.h"
#include "writeprogress.h"

#include <stdlib.h>
#include <string.h>

void histogram_free(struct histogram *h)
{
	free(h->rows);
	h->rows = NULL;
	h->n = 0;
}

void session_begin(struct dump_session *s, const struct hdump_options *opt,
		   const struct hdump_sink *sink, const struct hd_events *ev)
{
	memset(s, 0, sizeof *s);
	s->opt = opt;
	s->sink = sink;
	s->ev = ev;
	s->t0_ms = hd_monotonic_ms();
}

int session_start_over(struct dump_session *s)
{
	if (!s->written)
		return 0;
	if (!s->sink->rewind)
		return hd_fail(HD_E_OUTPUT, "cannot retry a dump already written to a sink "
					    "that cannot start over");
	if (s->sink->rewind(s->sink->ctx, s->written) != 0)
		return -1;
	s->written = 0;
	return 0;
}

/* A guess at an object's size in the chunks not yet counted (pkl's heaps:
 * 54-60 bytes), for the progress display's total. */
#define GUESS_OBJECT_BYTES 48u

/* The HPROF size the progress display counts against: the census's
 * prediction, the uncounted chunks' objects guessed from their bytes. */
static uint64_t progress_total(const struct hd_census *c, const struct hd_dump_input *in,
			       unsigned id_size)
{
	struct hd_census guess = *c;
	uint64_t bytes = c->deferred ? census_deferred_bytes(c) : 0;
	guess.bytes += bytes;
	guess.objects += bytes / GUESS_OBJECT_BYTES;
	return write_progress_estimate(&guess, in->classes->n, id_size, in->L->ref_size);
}

int session_attempt(struct dump_session *s, const struct hd_dump_input *in, unsigned attempt)
{
	census_free(&s->census);
	s->classes = in->classes;
	s->statics = in->statics;
	if (session_start_over(s) != 0)
		return -1;
	events_phase(s->ev, HDUMP_EVENT_PHASE_BEGIN, HDUMP_PHASE_CENSUS, attempt);
	bool deferred = false;
	int rc = census_prepare(in, &s->census);
	/* One pass: the writer counts the chunks that own their region and
	 * records their starts as it writes them, so that each is read once.
	 * Two where a reference's fate must be known before its record is
	 * written (a partial dump writes a dangling one as null), and into a
	 * sink that cannot start over: a walk that meets a heap caught
	 * mid-change then fails before any byte went out, and is retried. */
	if (rc == 0 && s->opt->hprof && s->sink->rewind && !in->missing_refs)
		rc = census_defer(&s->census, &deferred);
	if (rc == 0 && !deferred)
		rc = census_walk(in, &s->census);
	events_phase(s->ev, HDUMP_EVENT_PHASE_END, HDUMP_PHASE_CENSUS, attempt);
	if (rc != 0 || !s->opt->hprof)
		return rc;
	events_phase(s->ev, HDUMP_EVENT_PHASE_BEGIN, HDUMP_PHASE_WRITE, attempt);
	uint64_t date = s->opt->date_ms ? s->opt->date_ms : hd_wall_ms();
	struct write_progress progress;
	struct hprof_ids ids;
	hprof_ids_init8(&ids);
	rc = s->opt->ids8 ? 0 : heap_plan_ids(in, &s->census, &ids);
	write_progress_begin(&progress, s->sink, s->ev, attempt, progress_total(&s->census, in, ids.size));
	hd_hprof *w = rc == 0 ? hprof_open(write_progress_write, &progress, ids.size, date, 0) : NULL;
	if (w) {
		rc = heap_write_hprof(in, &s->census, &ids, w);
		s->written = hprof_bytes_written(w);
		hprof_free(w);
	} else {
		rc = -1;
	}
	hprof_ids_free(&ids);
	if (rc == 0)
		write_progress_end(&progress);
	events_phase(s->ev, HDUMP_EVENT_PHASE_END, HDUMP_PHASE_WRITE, attempt);
	return rc;
}

static int by_bytes(const void *a, const void *b)
{
	const struct hdump_histogram_row *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* jmap -histo's rows: one per class with instances, largest first. */
static int histogram_build(struct histogram *h, const struct hd_classes *t,
			   const struct hd_census *c)
{
	histogram_free(h);
	h->rows = malloc((t->n ? t->n : 1) * sizeof *h->rows);
	if (!h->rows)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t k = 0; k < t->n; k++)
		if (c->count[k])
			h->rows[h->n++] = (struct hdump_histogram_row){t->v[k].name, c->count[k],
									c->size[k]};
	qsort(h->rows, h->n, sizeof *h->rows, by_bytes);
	return 0;
}

_Static_assert(HDUMP_NAME_SOURCES == HD_SRC_COUNT, "one name per field source");

const char *hdump_name_source(unsigned i)
{
	return i < HD_SRC_COUNT ? ff_source_name(i) : NULL;
}

/* How many of the census's instances have fields named, and by whom. */
static void naming_coverage(const struct hd_classes *t, const struct hd_census *c,
			    struct hdump_result *r)
{
	for (size_t k = 0; k < t->n; k++) {
		const struct hd_class *cls = &t->v[k];
		if (!c->count[k] || !cls->nfields ||
		    (cls->kind != HD_KIND_INSTANCE && cls->kind != HD_KIND_HYBRID))
			continue;
		r->field_instances += c->count[k];
		if (cls->all_named)
			r->named_instances += c->count[k];
		for (unsigned s = 0; s < HD_SRC_COUNT; s++)
			if (cls->named_by & (1u << s))
				r->named_by[s] += c->count[k];
	}
}

int session_end(struct dump_session *s, int rc, struct hdump_result *r, struct histogram *h)
{
	if (rc == 0)
		rc = histogram_build(h, s->classes, &s->census);
	if (rc == 0 && r) {
		const struct hd_census *c = &s->census;
		*r = (struct hdump_result){
			.objects = c->objects, .bytes = c->bytes, .fillers = c->fillers,
			.chunks = c->chunks, .classes = s->classes->n, .hprof_bytes = s->written,
			.seconds = (double)(hd_monotonic_ms() - s->t0_ms) / 1000.0,
			.attempts = s->attempts,
		};
		naming_coverage(s->classes, c, r);
		if (s->statics) {
			r->statics_classes = s->statics->classes;
			r->statics_written = s->statics->n;
			r->statics_unattributed_slots = s->statics->unattributed_refs;
			r->statics_unattributed_bytes = s->statics->unattributed_bytes;
		}
	}
	census_free(&s->census);
	return rc;
}
