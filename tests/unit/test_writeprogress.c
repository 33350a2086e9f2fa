/* The write phase's progress events (lib/writeprogress.c): bytes counted
 * on their way to the client's sink, events on the caller's thread only,
 * when due, and an end that says everything was written. */
#include "../../lib/writeprogress.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

struct seen {
	unsigned n;
	struct hdump_event last;
};

static void record(void *ctx, const struct hdump_event *ev)
{
	struct seen *s = ctx;
	s->n++;
	s->last = *ev;
}

struct sink {
	size_t len;
	bool fail;
};

static int sink_write(void *ctx, const void *buf, size_t len)
{
	struct sink *s = ctx;
	(void)buf;
	if (s->fail)
		return hd_fail(HD_E_DISK_FULL, "test sink: full");
	s->len += len;
	return 0;
}

struct fixture {
	struct sink out;
	struct hdump_sink sink;
	struct seen seen;
	struct hd_events ev;
	struct write_progress p;
};

static void begin(struct fixture *f, uint64_t total)
{
	memset(f, 0, sizeof *f);
	f->sink = (struct hdump_sink){sink_write, NULL, &f->out};
	f->ev = (struct hd_events){record, &f->seen};
	write_progress_begin(&f->p, &f->sink, &f->ev, 2, total);
}

Test(writeprogress, starts_counts_when_due_and_ends_complete)
{
	struct fixture f;
	begin(&f, 1000);
	cr_assert_eq(f.seen.n, 1, "a start");
	cr_assert_eq(f.seen.last.kind, HDUMP_EVENT_PROGRESS);
	cr_assert_eq(f.seen.last.phase, HDUMP_PHASE_WRITE);
	cr_assert_eq(f.seen.last.attempt, 2);
	cr_assert_eq(f.seen.last.done, 0);
	cr_assert_eq(f.seen.last.total, 1000);
	f.p.next_ms = UINT64_MAX; /* not due */
	cr_assert_eq(write_progress_write(&f.p, "abcd", 4), 0);
	cr_assert_eq(f.seen.n, 1, "nothing before it is due");
	cr_assert_eq(f.out.len, 4, "the bytes went on");
	f.p.next_ms = 0; /* due */
	cr_assert_eq(write_progress_write(&f.p, "efgh", 4), 0);
	cr_assert_eq(f.seen.n, 2);
	cr_assert_eq(f.seen.last.done, 8);
	cr_assert_eq(f.seen.last.total, 1000);
	cr_assert_gt(f.p.next_ms, 0, "the next one is a period away");
	write_progress_end(&f.p);
	cr_assert_eq(f.seen.n, 3);
	cr_assert_eq(f.seen.last.done, 8);
	cr_assert_eq(f.seen.last.total, 8, "the end is exact, whatever was estimated");
}

static void *write_elsewhere(void *arg)
{
	struct write_progress *p = arg;
	return (void *)(intptr_t)write_progress_write(p, "xy", 2);
}

/* The library's writer threads write too; the client hears only on the
 * thread it called from. */
Test(writeprogress, no_event_from_another_thread)
{
	struct fixture f;
	begin(&f, 1000);
	f.p.next_ms = 0;
	pthread_t t;
	void *rc;
	cr_assert_eq(pthread_create(&t, NULL, write_elsewhere, &f.p), 0);
	cr_assert_eq(pthread_join(t, &rc), 0);
	cr_assert_eq((intptr_t)rc, 0);
	cr_assert_eq(f.seen.n, 1, "only the start");
	cr_assert_eq(f.p.done, 2, "counted all the same");
	cr_assert_eq(write_progress_write(&f.p, "z", 1), 0);
	cr_assert_eq(f.seen.n, 2);
	cr_assert_eq(f.seen.last.done, 3);
}

Test(writeprogress, a_failing_sink_fails_and_counts_nothing)
{
	struct fixture f;
	begin(&f, 1000);
	f.out.fail = true;
	f.p.next_ms = 0;
	cr_assert_eq(write_progress_write(&f.p, "abcd", 4), -1);
	cr_assert_eq(hd_error_class(), HD_E_DISK_FULL);
	cr_assert_eq(f.p.done, 0);
	cr_assert_eq(f.seen.n, 1);
}

Test(writeprogress, nobody_listening_costs_no_event)
{
	struct fixture f;
	memset(&f, 0, sizeof f);
	f.sink = (struct hdump_sink){sink_write, NULL, &f.out};
	f.ev = (struct hd_events){NULL, NULL};
	write_progress_begin(&f.p, &f.sink, &f.ev, 1, 10);
	f.p.next_ms = 0;
	cr_assert_eq(write_progress_write(&f.p, "abcd", 4), 0);
	write_progress_end(&f.p);
	cr_assert_eq(f.p.done, 4);
}

Test(writeprogress, the_estimate_grows_with_bytes_objects_and_classes)
{
	struct hd_census c = {.objects = 10, .bytes = 1000};
	uint64_t base = write_progress_estimate(&c, 5, 8, 8);
	cr_assert_gt(base, 1000, "more than the heap's bytes: every record has a header");
	c.bytes += 100;
	cr_assert_eq(write_progress_estimate(&c, 5, 8, 8), base + 100);
	c.objects += 1;
	cr_assert_gt(write_progress_estimate(&c, 5, 8, 8), base + 100);
	cr_assert_gt(write_progress_estimate(&c, 6, 8, 8), write_progress_estimate(&c, 5, 8, 8));
}

Test(writeprogress, four_byte_ids_shrink_the_estimate_most_where_references_are_wide)
{
	struct hd_census c = {.objects = 1000, .bytes = 54000}; /* pkl's 54 bytes an object */
	uint64_t ids8 = write_progress_estimate(&c, 0, 8, 8);
	uint64_t narrow = write_progress_estimate(&c, 0, 4, 4);
	uint64_t wide = write_progress_estimate(&c, 0, 4, 8);
	cr_assert_lt(narrow, ids8, "two 4-byte ids a record");
	cr_assert_lt(wide, narrow, "each 8-byte reference written in 4");
	cr_assert_lt(wide, c.bytes, "pkl 0.30.2's dumps with 4-byte ids are smaller than its heap");
	c.objects = 10000; /* 5 bytes an object: no heap holds that, yet no wrap */
	cr_assert_leq(write_progress_estimate(&c, 0, 4, 8), c.bytes);
}
