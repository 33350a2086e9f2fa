#include "writeprogress.h"

#include "../common/clock.h"

/* Ten events a second at most: a terminal redraws no faster, and the clock
 * read costs nothing next to the megabyte a write usually carries. */
#define PERIOD_MS 100u

/* Per object: an INSTANCE DUMP's tag, id, stack serial, class id and
 * length, less the object header the heap bytes already count (8-byte
 * ids: 17 bytes).  4-byte ids take 8 of those off, and 4 off each 8-byte
 * reference: pkl 0.30.2's heaps (8-byte references) came out 11.6-12.5
 * bytes per object smaller than their heap bytes, about five references
 * per object.  Per class: what pkl's images average (names, LOAD CLASS,
 * CLASS DUMP). */
#define PER_OBJECT 17
#define REFS_PER_OBJECT 5
#define PER_CLASS 480u

uint64_t write_progress_estimate(const struct hd_census *c, uint64_t nclasses, unsigned id_size,
				 unsigned ref_size)
{
	int64_t per_object = PER_OBJECT - 2 * (8 - (int64_t)id_size);
	if (ref_size > id_size)
		per_object -= REFS_PER_OBJECT * (int64_t)(ref_size - id_size);
	/* An object takes 16 bytes of heap at least: the total stays positive. */
	uint64_t objects = per_object < 0 ? (uint64_t)-per_object * c->objects : 0;
	uint64_t bytes = c->bytes > objects ? c->bytes - objects : 0;
	if (per_object > 0)
		bytes += (uint64_t)per_object * c->objects;
	return bytes + PER_CLASS * nclasses;
}

static void emit(const struct write_progress *p)
{
	events_emit(p->ev, &(struct hdump_event){.kind = HDUMP_EVENT_PROGRESS,
						 .phase = HDUMP_PHASE_WRITE,
						 .attempt = p->attempt, .done = p->done,
						 .total = p->total});
}

void write_progress_begin(struct write_progress *p, const struct hdump_sink *sink,
			  const struct hd_events *ev, unsigned attempt, uint64_t total)
{
	*p = (struct write_progress){.sink = sink, .ev = ev, .attempt = attempt, .total = total,
				     .caller = pthread_self()};
	if (ev->fn)
		emit(p);
	p->next_ms = hd_monotonic_ms() + PERIOD_MS;
}

int write_progress_write(void *ctx, const void *buf, size_t len)
{
	struct write_progress *p = ctx;
	if (p->sink->write(p->sink->ctx, buf, len) != 0)
		return -1;
	p->done += len;
	if (p->ev->fn && pthread_equal(pthread_self(), p->caller)) {
		uint64_t now = hd_monotonic_ms();
		if (now >= p->next_ms) {
			p->next_ms = now + PERIOD_MS;
			emit(p);
		}
	}
	return 0;
}

void write_progress_end(struct write_progress *p)
{
	p->total = p->done;
	if (p->ev->fn)
		emit(p);
}
