/* The live dump (lib/live.c) end to end through its real code — the retry
 * loop, the stop/copy/fork strategy, isolate choice, roots, census and
 * HPROF — on synthetic live targets (synthlive.h) behind the process seam
 * (lib/process.h), in the three layouts and the three snapshot modes.
 *
 * The synthetic process runs on when released: its runtime chunks are
 * scribbled over, so a copy or fork dump that read the target after
 * letting it go would not come out whole.  The fork's child is a frozen
 * copy of the process's memory at the fork. */
#include "../../common/fault.h"
#include "../../include/hdump.h"
#include "../../lib/events.h"
#include "../../lib/target.h"
#include "livecheck.h"
#include "synthlive.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sh_params *const PRESETS[] = {&sh_ce_22_3, &sh_oracle_21, &sh_ce_25};
#define NPRESETS (sizeof PRESETS / sizeof PRESETS[0])

#define CHILD_PID 777777
#define SCRIBBLE 256 /* bytes zeroed at each runtime chunk when the target runs on */

/* ---- A synthetic process behind the seam --------------------------------- */

struct synth {
	struct sl_live t;
	bool held;
	unsigned stops, releases, forks, discards;
	bool ran_on;            /* released at least once: chunks scribbled */
	uint8_t *scribbled;     /* what the scribble replaced, restored at a stop */
	/* The first TEAR_STOPS stops find the first runtime object's header
	 * torn (a mutator mid-write); later ones find it whole again. */
	unsigned tear_stops;
	uint64_t torn_at, torn_word;
	/* Fork mode: the target's maps read while it was held, before each fork. */
	bool maps_read_held;
	unsigned forks_on_fresh_maps;
	unsigned more_isolates; /* image-heap copies its maps show besides the first */
	/* The task list of the last stop, which the library frees at the
	 * attempt's end: names it hands out must not point into it. */
	uintptr_t tasks_lo, tasks_hi;
	/* A signal the target's release raises (a SIGINT typed mid-attempt). */
	int raise_at_release;
	/* The default snapshot's refusals: before the target is held (memory),
	 * or by the fork itself while it is held (seccomp, no call site). */
	bool refuse_fork_early, refuse_fork_held;
	/* The fork's child: every region of the target, copied at the fork. */
	hd_memview *child;
	uint8_t **child_bufs;
	size_t nchild_bufs;
};

static int by_start(const void *a, const void *b)
{
	const struct hd_mapping *x = a, *y = b;
	return (x->start > y->start) - (x->start < y->start);
}

static int synth_read_maps(void *ctx, pid_t pid, struct hd_maps *m)
{
	struct synth *s = ctx;
	cr_assert(pid == s->t.target.pid || (s->child && pid == CHILD_PID), "maps of %d", (int)pid);
	s->maps_read_held |= s->held && pid == s->t.target.pid;
	m->n = s->t.maps.n;
	m->v = malloc((m->n + 2 * s->more_isolates) * sizeof *m->v);
	cr_assert_not_null(m->v);
	memcpy(m->v, s->t.maps.v, m->n * sizeof *m->v);
	/* More isolates: each a copy of the image heap above its null region,
	 * 1 GiB apart below the first. */
	for (unsigned i = 1; i <= s->more_isolates; i++) {
		uint64_t base = s->t.heap_base - ((uint64_t)i << 30);
		uint64_t start = base + (s->t.image_start - s->t.heap_base);
		m->v[m->n++] = (struct hd_mapping){.start = base, .end = start};
		m->v[m->n++] = (struct hd_mapping){.start = start, .end = start + s->t.h.size, .r = true,
						   .offset = s->t.img.heap_offset,
						   .dev = s->t.img.dev, .ino = s->t.img.ino};
	}
	qsort(m->v, m->n, sizeof *m->v, by_start);
	return 0;
}

static int synth_open_image(void *ctx, pid_t pid, struct hd_elfimage *img)
{
	struct synth *s = ctx;
	cr_assert_eq(pid, s->t.target.pid);
	*img = s->t.img;
	img->heap = malloc(s->t.h.size);
	cr_assert_not_null(img->heap);
	memcpy(img->heap, s->t.h.data, s->t.h.size);
	return 0;
}

static hd_memview *synth_open_memory(void *ctx, pid_t pid)
{
	struct synth *s = ctx;
	if (pid == CHILD_PID) {
		cr_assert_not_null(s->child, "the child's memory opened after its end");
		return mv_clone(s->child);
	}
	cr_assert_eq(pid, s->t.target.pid);
	/* A running process: what is not mapped may have been unmapped as it ran. */
	hd_memview *mv = mv_clone(s->t.proc);
	if (mv)
		mv_reads_may_tear(mv);
	return mv;
}

static void put64(struct synth *s, uint64_t at, uint64_t v) { memcpy(sl_ptr(&s->t, at), &v, 8); }

static int synth_stop(void *ctx, struct hd_target *t, pid_t pid)
{
	struct synth *s = ctx;
	cr_assert_not(s->held, "stopped twice");
	cr_assert_eq(pid, s->t.target.pid);
	s->held = true;
	s->stops++;
	s->maps_read_held = false;
	/* Stopped again, the heap is whole (as after a collection). */
	for (size_t i = 0; s->scribbled && i < s->t.nchunks; i++)
		memcpy(sl_ptr(&s->t, s->t.chunks[i]), s->scribbled + i * SCRIBBLE, SCRIBBLE);
	if (s->torn_at)
		put64(s, s->torn_at, s->stops <= s->tear_stops ? 0xa5a5a5a5a5a5a5a5ull : s->torn_word);
	*t = s->t.target;
	t->tasks = malloc(t->n * sizeof *t->tasks);
	cr_assert_not_null(t->tasks);
	memcpy(t->tasks, s->t.target.tasks, t->n * sizeof *t->tasks);
	s->tasks_lo = (uintptr_t)t->tasks;
	s->tasks_hi = (uintptr_t)(t->tasks + t->n);
	return 0;
}

/* The target runs on: whatever it does, the heap a dump holds must not
 * change, so its runtime chunks are scribbled over until the next stop. */
static void synth_release(void *ctx, struct hd_target *t)
{
	struct synth *s = ctx;
	(void)t;
	if (!s->held)
		return;
	s->held = false;
	s->releases++;
	if (!s->scribbled)
		s->scribbled = malloc(s->t.nchunks * SCRIBBLE);
	cr_assert_not_null(s->scribbled);
	for (size_t i = 0; i < s->t.nchunks; i++) {
		uint8_t *p = sl_ptr(&s->t, s->t.chunks[i]);
		memcpy(s->scribbled + i * SCRIBBLE, p, SCRIBBLE);
		memset(p, 0, SCRIBBLE);
	}
	s->ran_on = true;
	if (s->raise_at_release)
		cr_assert_eq(raise(s->raise_at_release), 0);
}

static int synth_fork_allowed(void *ctx, pid_t pid)
{
	struct synth *s = ctx;
	cr_assert_eq(pid, s->t.target.pid);
	return s->refuse_fork_early ? hdump_fail(HDUMP_E_SNAPSHOT, "no memory to spare") : 0;
}

static int synth_fork(void *ctx, struct hd_target *t, hd_memview *mv, const struct hd_maps *maps,
		      pid_t *child)
{
	struct synth *s = ctx;
	(void)mv;
	(void)maps;
	cr_assert(s->held && t->n == s->t.target.n, "forked a target not held");
	cr_assert_null(s->child, "a fork before the last one's end");
	if (s->refuse_fork_held)
		return hdump_fail(HDUMP_E_SNAPSHOT, "a filter kills clone");
	s->forks++;
	s->forks_on_fresh_maps += s->maps_read_held;
	s->child = mv_new_local();
	s->child_bufs = calloc(s->t.nregions, sizeof *s->child_bufs);
	cr_assert(s->child && s->child_bufs);
	for (size_t i = 0; i < s->t.nregions; i++) {
		const struct sl_region *r = &s->t.regions[i];
		uint8_t *copy = malloc(r->len);
		cr_assert_not_null(copy);
		memcpy(copy, r->data, r->len);
		s->child_bufs[s->nchild_bufs++] = copy;
		cr_assert_eq(mv_add_local(s->child, r->addr, copy, r->len), 0);
	}
	*child = CHILD_PID;
	return 0;
}

static int synth_discard_fork(void *ctx)
{
	struct synth *s = ctx;
	if (!s->child)
		return 0;
	s->discards++;
	mv_free(s->child);
	for (size_t i = 0; i < s->nchild_bufs; i++)
		free(s->child_bufs[i]);
	free(s->child_bufs);
	s->child = NULL;
	s->child_bufs = NULL;
	s->nchild_bufs = 0;
	return 0;
}

static const struct hd_process_ops synth_ops = {
	.read_maps = synth_read_maps,
	.open_image = synth_open_image,
	.open_memory = synth_open_memory,
	.stop = synth_stop,
	.release = synth_release,
	.fork_allowed = synth_fork_allowed,
	.fork = synth_fork,
	.discard_fork = synth_discard_fork,
};

/* ---- Dumping it through the API --------------------------------------------- */

struct memsink {
	char *buf;
	size_t len;
	FILE *f;
	unsigned rewinds;
};

static int mem_write(void *ctx, const void *buf, size_t len)
{
	struct memsink *m = ctx;
	return fwrite(buf, 1, len, m->f) == len ? 0 : hdump_fail(HDUMP_E_OUTPUT, "memory stream");
}

static int mem_rewind(void *ctx, uint64_t written)
{
	struct memsink *m = ctx;
	(void)written;
	m->rewinds++;
	return fseeko(m->f, 0, SEEK_SET) == 0 ? 0 : hdump_fail(HDUMP_E_OUTPUT, "cannot rewind");
}

/* What the dump said along the way. */
struct seen {
	unsigned retries, paused, resumed, census_begun;
	enum hdump_snapshot resumed_with;
	pid_t fork_child;
	uint64_t copied;
	char last_retry[512];
};

static void on_event(void *ctx, const struct hdump_event *ev)
{
	struct seen *s = ctx;
	switch (ev->kind) {
	case HDUMP_EVENT_RETRY:
		s->retries++;
		cr_assert_eq(ev->attempt, s->retries);
		snprintf(s->last_retry, sizeof s->last_retry, "%s", ev->text);
		break;
	case HDUMP_EVENT_PAUSED:
		s->paused++;
		break;
	case HDUMP_EVENT_RESUMED:
		s->resumed++;
		s->resumed_with = ev->snapshot;
		s->fork_child = ev->fork_child;
		s->copied = ev->copied_bytes;
		break;
	case HDUMP_EVENT_PHASE_BEGIN:
		s->census_begun += ev->phase == HDUMP_PHASE_CENSUS;
		break;
	default:
		break;
	}
}

struct run {
	struct synth s;
	hdump_target *target;
	struct memsink sink;
	struct seen seen;
	struct hdump_result result;
};

static void open_run(struct run *r, const struct sh_params *p)
{
	memset(r, 0, sizeof *r);
	cr_assert_eq(sl_build(p, &r->s.t), 0, "%s: the generator failed", p->name);
	r->target = target_open_process(&synth_ops, &r->s, r->s.t.target.pid);
	cr_assert_not_null(r->target, "%s: %s", p->name, hdump_error().message);
	hdump_set_events(r->target, on_event, &r->seen);
	cr_assert_eq(hdump_discover(r->target), 0, "%s: %s", p->name, hdump_error().message);
	r->sink.f = open_memstream(&r->sink.buf, &r->sink.len);
	cr_assert_not_null(r->sink.f);
}

static int dump(struct run *r, enum hdump_snapshot mode, unsigned retries)
{
	struct hdump_options o;
	hdump_options_init(&o);
	o.snapshot = mode;
	o.retries = retries;
	o.threads = 2;
	o.date_ms = 1;
	o.ids8 = true; /* livecheck maps ids back to addresses */
	struct hdump_sink sink = {mem_write, mem_rewind, &r->sink};
	int rc = hdump_dump(r->target, &o, &sink, &r->result);
	cr_assert_eq(fflush(r->sink.f), 0);
	return rc;
}

static void close_run(struct run *r)
{
	hdump_close(r->target);
	cr_assert_eq(fclose(r->sink.f), 0);
	free(r->sink.buf);
	cr_assert_not(r->s.held, "the target was left held");
	cr_assert_null(r->s.child, "the fork's child was left");
	free(r->s.scribbled);
	sl_free(&r->s.t);
}

/* The dump holds the generator's heap exactly: every object once, each
 * reference on an object, each thread's Thread as a root. */
static void check_dump(struct run *r)
{
	const struct sl_live *t = &r->s.t;
	const char *name = t->h.p.name;
	cr_assert_eq(r->result.objects, t->objects, "%s: %llu objects, want %llu", name,
		     (unsigned long long)r->result.objects, (unsigned long long)t->objects);
	cr_assert_eq(r->result.bytes, t->bytes, "%s", name);
	cr_assert_eq(r->result.hprof_bytes, r->sink.len, "%s", name);
	struct lc_dump d = lc_check_hprof(t, (const uint8_t *)r->sink.buf, r->sink.len);
	cr_assert_eq(d.refs, t->refs, "%s: %llu references dumped, %llu laid out", name,
		     (unsigned long long)d.refs, (unsigned long long)t->refs);
	cr_assert_eq(d.nthread_objs, SL_THREADS, "%s: %zu thread roots", name, d.nthread_objs);
	for (size_t i = 0; i < SL_THREADS; i++)
		cr_assert_eq(d.thread_objs[i], t->threads[i].thread_obj, "%s: thread %zu", name, i);
	/* The histogram adds up to the census. */
	const struct hdump_histogram_row *rows;
	size_t n = hdump_histogram(r->target, &rows);
	uint64_t count = 0, bytes = 0;
	for (size_t i = 0; i < n; i++) {
		count += rows[i].count;
		bytes += rows[i].bytes;
		cr_assert(i == 0 || rows[i - 1].bytes >= rows[i].bytes, "%s: histogram order", name);
	}
	cr_assert_eq(count, t->objects, "%s", name);
	cr_assert_eq(bytes, t->bytes, "%s", name);
}

/* N attempts, each holding and releasing the target once, N - 1 retries. */
static void check_attempts(const struct run *r, unsigned n)
{
	const char *name = r->s.t.h.p.name;
	cr_assert_eq(r->result.attempts, n, "%s", name);
	cr_assert_eq(r->s.stops, n, "%s", name);
	cr_assert_eq(r->s.releases, n, "%s", name);
	cr_assert_eq(r->seen.retries, n - 1, "%s", name);
}

static void check_mode(enum hdump_snapshot mode)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct run r;
		open_run(&r, PRESETS[i]);
		const char *name = PRESETS[i]->name;
		cr_assert_eq(dump(&r, mode, 0), 0, "%s: %s", name, hdump_error().message);
		check_dump(&r);
		check_attempts(&r, 1);
		cr_assert_eq(r.s.forks, mode == HDUMP_SNAPSHOT_FORK, "%s", name);
		cr_assert_eq(r.s.discards, mode == HDUMP_SNAPSHOT_FORK, "%s", name);
		cr_assert(r.s.ran_on, "%s: the target never ran on", name);
		cr_assert_eq(r.seen.paused, 1, "%s", name);
		cr_assert_eq(r.seen.resumed, 1, "%s", name);
		cr_assert_eq(r.seen.resumed_with, mode, "%s", name);
		if (mode == HDUMP_SNAPSHOT_FORK)
			cr_assert_eq(r.seen.fork_child, CHILD_PID, "%s", name);
		if (mode == HDUMP_SNAPSHOT_COPY)
			cr_assert_gt(r.seen.copied, 0, "%s", name);
		close_run(&r);
	}
}

Test(live, stop) { check_mode(HDUMP_SNAPSHOT_STOP); }
Test(live, copy) { check_mode(HDUMP_SNAPSHOT_COPY); }
Test(live, fork) { check_mode(HDUMP_SNAPSHOT_FORK); }

/* The default is the shortest safe snapshot: a fork where the target
 * allows it, else a stop; the result says which and why. */
Test(live, the_default_forks_where_allowed)
{
	struct hdump_options o;
	hdump_options_init(&o);
	cr_assert_eq(o.snapshot, HDUMP_SNAPSHOT_AUTO);
	struct run r;
	open_run(&r, &sh_ce_25);
	cr_assert_eq(dump(&r, HDUMP_SNAPSHOT_AUTO, 0), 0, "%s", hdump_error().message);
	check_dump(&r);
	check_attempts(&r, 1);
	cr_assert_eq(r.s.forks, 1);
	cr_assert_eq(r.seen.resumed_with, HDUMP_SNAPSHOT_FORK);
	cr_assert_eq(r.result.snapshot, HDUMP_SNAPSHOT_FORK);
	cr_assert_str_eq(r.result.snapshot_reason, "default, the target allows a fork");
	close_run(&r);
}

/* Refused before the target is held (memory) or while it is (seccomp, no
 * call site): one hold either way, which becomes the stop. */
static void check_default_stop(bool refused_held, const char *reason)
{
	struct run r;
	open_run(&r, &sh_ce_25);
	r.s.refuse_fork_early = !refused_held;
	r.s.refuse_fork_held = refused_held;
	cr_assert_eq(dump(&r, HDUMP_SNAPSHOT_AUTO, 0), 0, "%s", hdump_error().message);
	check_dump(&r);
	check_attempts(&r, 1);
	cr_assert_eq(r.s.forks, 0);
	cr_assert_eq(r.seen.paused, 1);
	cr_assert_eq(r.seen.resumed, 1);
	cr_assert_eq(r.seen.resumed_with, HDUMP_SNAPSHOT_STOP);
	cr_assert_eq(r.result.snapshot, HDUMP_SNAPSHOT_STOP);
	cr_assert_str_eq(r.result.snapshot_reason, reason);
	close_run(&r);
}

Test(live, the_default_stops_where_a_fork_is_refused_early)
{
	check_default_stop(false, "default, no fork: no memory to spare");
}

Test(live, the_default_stops_where_the_held_target_refuses_the_fork)
{
	check_default_stop(true, "default, the fork refused: a filter kills clone");
}

/* Asked for, a fork refused either way fails the dump (exit 15). */
Test(live, a_requested_fork_refused_fails)
{
	for (int held = 0; held < 2; held++) {
		struct run r;
		open_run(&r, &sh_ce_25);
		r.s.refuse_fork_early = !held;
		r.s.refuse_fork_held = held;
		cr_assert_eq(dump(&r, HDUMP_SNAPSHOT_FORK, 0), -1);
		cr_assert_eq(hdump_error().cls, HDUMP_E_SNAPSHOT, "%s", hdump_error().message);
		cr_assert_eq(r.s.stops, (unsigned)held);
		cr_assert_eq(r.s.releases, (unsigned)held);
		close_run(&r);
	}
}

/* ---- Retries ------------------------------------------------------------------ */

/* A target whose first TEAR_STOPS stops find an object header torn. */
static void open_torn(struct run *r, const struct sh_params *p, unsigned tear_stops)
{
	open_run(r, p);
	/* The first object of the runtime heap. */
	const struct sl_live *t = &r->s.t;
	uint64_t first = 0;
	for (size_t i = 0; i < t->nobjs && !first; i++)
		if ((t->objs[i].addr < t->image_start || t->objs[i].addr >= t->image_start + t->h.size) &&
		    !lc_is_filler(t, &t->objs[i]))
			first = t->objs[i].addr;
	cr_assert_neq(first, 0, "%s: no runtime object", p->name);
	r->s.torn_at = first;
	memcpy(&r->s.torn_word, sl_ptr(&r->s.t, first), 8);
	r->s.tear_stops = tear_stops;
}

/* Torn once: the loop lets the target go, retries, and dumps it whole. */
Test(live, retried_after_a_torn_heap)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct run r;
		open_torn(&r, PRESETS[i], 1);
		const char *name = PRESETS[i]->name;
		cr_assert_eq(dump(&r, HDUMP_SNAPSHOT_STOP, 5), 0, "%s: %s", name, hdump_error().message);
		check_dump(&r);
		check_attempts(&r, 2);
		close_run(&r);
	}
}

/* Torn every time: retries + 1 attempts, then HDUMP_E_INCONSISTENT naming
 * the last reason. */
Test(live, gives_up_on_a_heap_that_never_settles)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct run r;
		open_torn(&r, PRESETS[i], 1000);
		const char *name = PRESETS[i]->name;
		cr_assert_eq(dump(&r, HDUMP_SNAPSHOT_STOP, 2), -1, "%s", name);
		struct hdump_error e = hdump_error();
		cr_assert_eq(e.cls, HDUMP_E_INCONSISTENT, "%s: %s", name, e.message);
		cr_assert_not_null(strstr(e.message, "did not hold still after 3 attempts"), "%s: %s",
				   name, e.message);
		cr_assert_not_null(strstr(e.message, r.seen.last_retry), "%s: %s", name, e.message);
		cr_assert_eq(r.s.stops, 3, "%s", name);
		cr_assert_eq(r.s.releases, 3, "%s", name);
		cr_assert_eq(r.seen.retries, 2, "%s", name);
		const struct hdump_histogram_row *rows;
		cr_assert_eq(hdump_histogram(r.target, &rows), 0, "%s: a histogram of a failed dump", name);
		close_run(&r);
	}
}

/* Fork mode re-reads the target's maps while it is held, before each fork:
 * the injected call's site is checked against the maps of the process as
 * it is, not as it was at open or at the last attempt's child. */
Test(live, fork_reads_the_held_targets_maps)
{
	struct run r;
	open_torn(&r, &sh_ce_25, 1);
	cr_assert_eq(dump(&r, HDUMP_SNAPSHOT_FORK, 5), 0, "%s", hdump_error().message);
	check_dump(&r);
	check_attempts(&r, 2);
	cr_assert_eq(r.s.forks, 2);
	cr_assert_eq(r.s.forks_on_fresh_maps, 2, "%u of 2 forks checked their site against fresh maps",
		     r.s.forks_on_fresh_maps);
	close_run(&r);
}

/* A sink that cannot start over, whose first attempt fails retryably after
 * bytes went out (its second write): the dump fails for good with the
 * output's class, and the target is not stopped again. */
struct once_sink {
	unsigned writes;
};

static int fail_second_write(void *ctx, const void *buf, size_t len)
{
	struct once_sink *o = ctx;
	(void)buf;
	(void)len;
	return ++o->writes == 2 ? hdump_fail(HDUMP_E_INCONSISTENT, "caught mid-change") : 0;
}

Test(live, a_sink_that_cannot_start_over_is_not_retried)
{
	struct run r;
	open_run(&r, &sh_ce_25);
	struct hdump_options o;
	hdump_options_init(&o);
	o.retries = 5;
	o.threads = 1;
	struct once_sink once = {0};
	struct hdump_sink sink = {fail_second_write, NULL, &once};
	cr_assert_eq(hdump_dump(r.target, &o, &sink, &r.result), -1);
	struct hdump_error e = hdump_error();
	cr_assert_eq(e.cls, HDUMP_E_OUTPUT, "%d: %s", e.cls, e.message);
	cr_assert_null(strstr(e.message, "did not hold still"), "%s", e.message);
	cr_assert_eq(r.s.stops, 1);
	cr_assert_eq(r.s.releases, 1);
	cr_assert_eq(r.seen.retries, 0);
	close_run(&r);
}

/* A signal during an attempt that fails torn ends the dump as interrupted
 * (exit 14), after that one attempt, not as a heap that did not hold still. */
Test(live, a_signal_during_a_torn_attempt_interrupts)
{
	hdump_install_signal_handlers();
	struct run r;
	open_torn(&r, &sh_ce_25, 1000);
	r.s.raise_at_release = SIGINT;
	cr_assert_eq(dump(&r, HDUMP_SNAPSHOT_STOP, 5), -1);
	struct hdump_error e = hdump_error();
	cr_assert_eq(e.cls, HDUMP_E_INTERRUPTED, "%d: %s", e.cls, e.message);
	cr_assert_eq(hdump_exit_code(e.cls), 14);
	cr_assert_null(strstr(e.message, "did not hold still"), "%s", e.message);
	cr_assert_eq(hdump_interrupted(), SIGINT);
	cr_assert_eq(r.s.stops, 1);
	cr_assert_eq(r.seen.retries, 0);
	close_run(&r);
}

/* hdump_read of a running process: an address it does not map is the heap
 * changing (HDUMP_E_INCONSISTENT), never the library's internal torn class. */
Test(live, a_read_of_unmapped_process_memory_is_inconsistent)
{
	struct run r;
	open_run(&r, &sh_ce_25);
	uint64_t word;
	cr_assert_eq(hdump_read(r.target, r.s.t.image_start, &word, 8), 0, "%s", hdump_error().message);
	cr_assert_eq(hdump_read(r.target, 8, &word, 8), -1);
	struct hdump_error e = hdump_error();
	cr_assert_eq(e.cls, HDUMP_E_INCONSISTENT, "%d: %s", e.cls, e.message);
	cr_assert_eq(hdump_exit_code(e.cls), 13);
	close_run(&r);
}

/* The fault hook the end-to-end tests use to kill or stall a held target
 * runs while it is held, in every snapshot mode (in fork mode: forked). */
static struct synth *hooked;
static unsigned held_hooks, hooks;

static bool note_hold(enum hd_fault_point point, pid_t pid)
{
	if (point != HD_FAULT_TARGET_HELD)
		return false;
	cr_assert_eq(pid, hooked->t.target.pid);
	hooks++;
	held_hooks += hooked->held;
	return true;
}

Test(live, the_target_held_fault_runs_while_it_is_held)
{
	for (enum hdump_snapshot mode = HDUMP_SNAPSHOT_STOP; mode <= HDUMP_SNAPSHOT_FORK; mode++) {
		struct run r;
		open_run(&r, &sh_ce_25);
		hooked = &r.s;
		hooks = held_hooks = 0;
		hd_fault_hook = note_hold;
		cr_assert_eq(dump(&r, mode, 0), 0, "%s", hdump_error().message);
		hd_fault_hook = NULL;
		cr_assert_eq(hooks, 1, "mode %d", mode);
		cr_assert_eq(held_hooks, 1, "mode %d: the hook ran after the target was released", mode);
		cr_assert_eq(r.s.forks, mode == HDUMP_SNAPSHOT_FORK);
		close_run(&r);
	}
}

/* ---- Discovery's log (lib/events.c; to join test_events.c) ---------------- */

/* ---- Isolates --------------------------------------------------------------- */

/* More isolates than hdump keeps (16): a warning names how many it left
 * out, and the rest are there to list. */
struct warned {
	unsigned n;
	char text[256];
};

static void on_warning(void *ctx, const struct hdump_event *ev)
{
	struct warned *w = ctx;
	if (ev->kind != HDUMP_EVENT_WARNING)
		return;
	w->n++;
	snprintf(w->text, sizeof w->text, "%s", ev->text);
}

Test(live, isolates_beyond_the_limit_are_warned_of)
{
	struct synth s = {0};
	cr_assert_eq(sl_build(&sh_ce_25, &s.t), 0);
	s.more_isolates = 19;
	hdump_target *t = target_open_process(&synth_ops, &s, s.t.target.pid);
	cr_assert_not_null(t, "%s", hdump_error().message);
	struct hdump_target_info info;
	hdump_target_info(t, &info);
	cr_assert_eq(info.isolates, 16);
	struct warned w = {0};
	hdump_set_events(t, on_warning, &w);
	cr_assert_eq(hdump_discover(t), 0, "%s", hdump_error().message);
	cr_assert_eq(w.n, 1);
	cr_assert_not_null(strstr(w.text, "maps 20 isolates"), "%s", w.text);
	cr_assert_not_null(strstr(w.text, "4 ignored"), "%s", w.text);
	hdump_close(t);
	sl_free(&s.t);
}

/* NAME, handed out by the API, is EXPECTED and lives in the result, not in
 * the stopped target's task list (freed when the attempt ends: ASan would
 * see the read, a plain build the address). */
static void assert_kept_name(const struct synth *s, const char *name, const char *expected)
{
	cr_assert_not_null(name);
	cr_assert_not((uintptr_t)name >= s->tasks_lo && (uintptr_t)name < s->tasks_hi,
		      "the name points into the freed task list");
	cr_assert_str_eq(name, expected);
}

/* The synthetic process (CE 25), with default options to list it by. */
static void open_listing(struct run *r, struct hdump_options *o)
{
	open_run(r, &sh_ce_25);
	hdump_options_init(o);
}

/* Thread stacks through the API, of a process whose code info does not
 * decode: every thread listed, by its own name, with no Java frame. */
Test(live, stacks_name_their_threads)
{
	struct run r;
	struct hdump_options o;
	open_listing(&r, &o);
	const struct hdump_stack *v;
	size_t n;
	cr_assert_eq(hdump_stacks(r.target, &o, &v, &n), 0, "%s", hdump_error().message);
	cr_assert_eq(n, SL_THREADS);
	for (size_t k = 0; k < n; k++) {
		cr_assert_eq(v[k].tid, r.s.t.threads[k].tid);
		assert_kept_name(&r.s, v[k].name, r.s.t.target.tasks[k].comm);
		cr_assert_eq(v[k].nframes, 0);
	}
	cr_assert_not(r.s.held);
	close_run(&r);
}

/* The isolate list through the API, and a dump of an isolate that is not there. */
Test(live, isolates)
{
	struct run r;
	struct hdump_options o;
	open_listing(&r, &o);
	const struct hdump_isolate *v;
	size_t n;
	cr_assert_eq(hdump_list_isolates(r.target, &o, &v, &n), 0, "%s", hdump_error().message);
	cr_assert_eq(n, 1);
	cr_assert(v[0].chosen);
	cr_assert_eq(v[0].heap_base, r.s.t.heap_base);
	cr_assert_eq(v[0].image_start, r.s.t.image_start);
	cr_assert_eq(v[0].runtime_chunks, r.s.t.nchunks);
	cr_assert_eq(v[0].nthreads, SL_THREADS);
	for (size_t k = 0; k < SL_THREADS; k++) {
		cr_assert_eq(v[0].threads[k].tid, r.s.t.threads[k].tid);
		assert_kept_name(&r.s, v[0].threads[k].name, r.s.t.target.tasks[k].comm);
	}
	cr_assert_eq(r.s.stops, 1);
	cr_assert_not(r.s.held);
	o.isolate = 1;
	struct hdump_sink sink = {mem_write, mem_rewind, &r.sink};
	cr_assert_eq(hdump_dump(r.target, &o, &sink, &r.result), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_USAGE, "%s", hdump_error().message);
	cr_assert_eq(hdump_exit_code(hdump_error().cls), 2);
	close_run(&r);
}
