#include "live.h"
#include "dcacheuse.h"

#include "../agent/snapshot.h"
#include "../common/clock.h"
#include "../common/fault.h"
#include "../common/hd_error.h"
#include "../common/interrupt.h"
#include "../hprof/roots.h"
#include "../symbols/discover.h"
#include "../symbols/imageobjs.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Errors a later attempt may not meet: the heap was caught mid-change.
 * HD_E_LAYOUT is final: it comes from the image heap, which never changes. */
static bool is_retryable(void)
{
	enum hd_error_class c = hd_error_class();
	return c == HD_E_TORN || c == HD_E_INCONSISTENT;
}

int live_open(struct live *lv, const struct hd_process_ops *ops, void *ops_ctx, pid_t pid,
	      struct hd_elfimage *img)
{
	memset(lv, 0, sizeof *lv);
	lv->ops = ops;
	lv->ops_ctx = ops_ctx;
	lv->pid = pid;
	lv->img = img;
	if (ops->read_maps(ops_ctx, pid, &lv->maps) != 0)
		return -1;
	if (ops->open_image(ops_ctx, pid, img) != 0) {
		if (hd_error_class() == HD_E_NOENT)
			hd_fail(HD_E_NOENT, "no such process: %d", (int)pid);
		else if (hd_error_class() == HD_E_NOT_NATIVE_IMAGE || hd_error_class() == HD_E_NOT_ELF)
			hd_fail(HD_E_NOT_NATIVE_IMAGE, "process %d is not a GraalVM native image",
				(int)pid);
		return -1;
	}
	size_t found = isolates_find(&lv->maps, img, lv->starts, MAX_ISOLATES);
	lv->nisolates = found < MAX_ISOLATES ? found : MAX_ISOLATES;
	lv->ignored_isolates = found - lv->nisolates;
	if (!lv->nisolates)
		return hd_fail(HD_E_NOT_NATIVE_IMAGE, "process %d maps no isolate's image heap (not "
				"started yet, or not a native image)", (int)pid);
	return 0;
}

/* Isolate LI's static fields: the same bytes as the first isolate's image
 * heap read DELTA further, so its two statics arrays are the first's moved
 * (checked: the same class, moved, heads each), attributed with its facts.
 * No walk and no object index for it. */
static int move_statics(struct live *lv, struct live_isolate *li, uint64_t delta)
{
	const struct live_isolate *first = &lv->iso[0];
	struct hd_statics_array *to[] = {&li->statics.objects, &li->statics.prims};
	const struct hd_statics_array *from[] = {&first->statics.objects, &first->statics.prims};
	for (size_t k = 0; k < 2; k++) {
		*to[k] = *from[k];
		if (!from[k]->addr)
			continue;
		uint64_t h0 = 0, h1 = 0;
		if (mv_read(lv->local, from[k]->addr, &h0, first->L.hdr_size) != 0 ||
		    mv_read(lv->local, from[k]->addr + delta, &h1, li->L.hdr_size) != 0)
			return -1;
		if (lay_hub_from_header(&li->L, h1) != lay_hub_from_header(&first->L, h0) + delta)
			return hd_fail(HD_E_LAYOUT, "the statics array at 0x%llx has no moved twin at "
				       "0x%llx", (unsigned long long)from[k]->addr,
				       (unsigned long long)(from[k]->addr + delta));
		to[k]->addr += delta;
	}
	return statics_attribute(&li->statics, &li->naming.facts, &li->classes, NULL);
}

/* Names the fields of every isolate's classes: the sources run on the
 * first copy of the image heap, the others take its facts moved.  The
 * other isolates' class tables are built here from HUBS (the first's,
 * moved in place), after the first's naming, whose peak they would add to. */
static int name_fields(struct live *lv, const char *jdk_dir, FILE *log, uint64_t *hubs,
		       size_t nhubs)
{
	struct live_isolate *first = &lv->iso[0];
	if (fieldnames_apply(&first->naming, &first->classes, lv->local, &first->L, jdk_dir, log,
			     lv->img) != 0 ||
	    statics_build(&first->statics, &first->naming.facts, &(struct hd_names_input){
		    .mv = lv->local, .L = &first->L, .classes = &first->classes,
		    .objs = &first->naming.objs, .log = log, .img = lv->img}) != 0)
		return -1;
	elfimage_release(lv->img);
	uint64_t moved = 0; /* how far HUBS have been moved from the first copy */
	for (size_t i = 1; i < lv->nisolates; i++) {
		struct live_isolate *li = &lv->iso[i];
		uint64_t delta = lv->starts[i] - lv->starts[0];
		for (size_t k = 0; k < nhubs; k++)
			hubs[k] += delta - moved;
		moved = delta;
		if (classes_build(&li->classes, lv->local, &li->L, hubs, nhubs) != 0 ||
		    fieldnames_apply_moved(&li->naming, &first->naming, delta, &li->classes, lv->local,
					   &li->L) != 0 ||
		    move_statics(lv, li, delta) != 0)
			return -1;
		/* The class table holds the names now: the facts serve no one
		 * later. */
		ff_free(&li->naming.facts);
	}
	ff_free(&first->naming.facts);
	return 0;
}

/* The code-info tables, for thread stacks: an image whose tables do not
 * decode is dumped with conservatively scanned stacks, said in one line. */
static int find_codeinfo(struct live *lv, const struct live_isolate *li, const struct hd_events *ev)
{
	int rc = codeinfo_discover(&lv->ci, lv->local, &li->L, &li->naming.objs, lv->img);
	char line[200];
	if (rc == 0) {
		lv->have_ci = true;
		/* tables hold offsets from the image start: any isolate's copy */
		snprintf(line, sizeof line, "code info: code 0x%llx+0x%llx, %zu entries, frame info "
			 "with %s, %zu classes, %zu method names",
			 (unsigned long long)lv->ci.code_start, (unsigned long long)lv->ci.code_size,
			 lv->ci.nentries, lv->ci.format == HD_FI_METHOD_TABLE ? "a method table" :
			 lv->ci.format == HD_FI_INLINE_NAMES_BCI ? "inline names and bcis" :
			 "inline names", lv->ci.nclasses, lv->ci.nnames);
		events_text(ev, HDUMP_EVENT_VERBOSE, line);
		return 0;
	}
	if (hd_error_is_fatal())
		return -1;
	codeinfo_free(&lv->ci);
	snprintf(line, sizeof line, "code info: %s; stacks are scanned conservatively",
		 hd_error_message());
	hd_error_clear();
	events_text(ev, HDUMP_EVENT_VERBOSE, line);
	return 0;
}

/* Isolate I's share of discovery: its layout, classes and statics; the
 * first's also the thread locals and code info, which serve every isolate. */
static struct hd_discovery isolate_discovery(struct live *lv, size_t i)
{
	struct live_isolate *li = &lv->iso[i];
	return (struct hd_discovery){&li->L, &li->classes, &li->statics, i ? NULL : &lv->tl,
				     i ? NULL : &lv->ci, i ? NULL : &lv->have_ci,
				     i ? NULL : &lv->roots};
}

/* Every isolate's discovery from the cache's entry, checked against its
 * copy of the image heap; false (nothing kept) when one does not hold up. */
static bool discover_cached(struct live *lv, const struct hd_events *ev, const char *jdk_dir,
			    struct dcache_use *cache)
{
	if (!dcache_use_open(cache, lv->img, jdk_dir, ev))
		return false;
	for (size_t i = 0; i < lv->nisolates; i++) {
		struct hd_discovery d = isolate_discovery(lv, i);
		if (!dcache_use_apply(cache, &d, lv->starts[i], lv->local, ev)) {
			for (size_t k = 0; k < i; k++) {
				d = isolate_discovery(lv, k);
				dcache_use_discard(&d);
			}
			return false;
		}
	}
	return true;
}

/* Discovery from the image heap itself, isolate by isolate. */
static int discover_fresh(struct live *lv, const struct hd_events *ev, const char *jdk_dir)
{
	uint64_t *hubs = NULL;
	size_t nhubs = 0;
	struct live_isolate *first = &lv->iso[0];
	events_text(ev, HDUMP_EVENT_VERBOSE, elfimage_is_mapped(lv->img) ?
		    "image heap: the executable's, mapped; its pages let go after each stage" :
		    "image heap: a copy read from the executable");
	FILE *log = events_verbose_stream(ev);
	int rc = discover_layout_of_image(lv->local, lv->starts[0], lv->img, &first->L, &hubs,
					  &nhubs, log);
	elfimage_release(lv->img);
	/* Every isolate maps its own copy of the same image heap. */
	for (size_t i = 0; i < lv->nisolates && rc == 0; i++) {
		lv->iso[i].L = first->L;
		lay_rebase(&lv->iso[i].L, lv->starts[i] - lv->starts[0]);
	}
	if (rc == 0)
		rc = classes_build(&first->classes, lv->local, &first->L, hubs, nhubs);
	elfimage_release(lv->img);
	if (rc == 0)
		rc = name_fields(lv, jdk_dir, log, hubs, nhubs);
	free(hubs);
	/* What discovery freed (facts, indexes) goes back to the system before
	 * the walks that follow, rather than staying in malloc's free lists at
	 * the peak. */
	malloc_trim(0);
	if (log)
		fclose(log);
	if (rc != 0 || threadlocals_discover_releasing(lv->local, &first->L, &first->classes,
							   &lv->tl, lv->img) != 0)
		return -1;
	elfimage_release(lv->img);
	if (find_codeinfo(lv, first, ev) != 0)
		return -1;
	return chunk_roots_collect(&lv->roots, &first->naming.objs, &first->L);
}

/* VMThreads.head is a static word, held in the primitive statics array:
 * the thread-list search looks among its elements first (kilobytes) before
 * the whole writable image heap (tens of MB, in every scan). */
static void locate_thread_head(struct live *lv)
{
	const struct live_isolate *first = &lv->iso[0];
	const struct hd_statics_array *a = &first->statics.prims;
	lv->tl.head_from = lv->tl.head_to = 0;
	if (a->addr >= first->L.image_start && a->end > a->start) {
		lv->tl.head_from = a->addr - first->L.image_start + a->start;
		lv->tl.head_to = a->addr - first->L.image_start + a->end;
	}
}

int live_discover(struct live *lv, const struct hd_events *ev, const char *jdk_dir)
{
	struct dcache_use *cache = lv->cache;
	if (lv->ignored_isolates) {
		char why[160];
		snprintf(why, sizeof why, "the process maps %zu isolates; only the %d lowest in memory "
			 "can be listed and dumped, %zu ignored", lv->nisolates + lv->ignored_isolates,
			 MAX_ISOLATES, lv->ignored_isolates);
		events_text(ev, HDUMP_EVENT_WARNING, why);
	}
	lv->local = mv_new_local();
	if (!lv->local)
		return -1;
	for (size_t i = 0; i < lv->nisolates; i++)
		if (mv_add_local(lv->local, lv->starts[i], elfimage_heap(lv->img), lv->img->heap_size) != 0)
			return -1;
	if (!discover_cached(lv, ev, jdk_dir, cache)) {
		if (hd_error_is_fatal() || discover_fresh(lv, ev, jdk_dir) != 0)
			return -1;
	}
	struct hd_discovery d = isolate_discovery(lv, 0);
	dcache_use_done(cache, lv->img, &d, ev);
	locate_thread_head(lv);
	/* The dump needs neither the image heap's bytes nor its object index. */
	imageobjs_free(&lv->iso[0].naming.objs);
	elfimage_drop_pages(lv->img);
	lv->proc = lv->ops->open_memory(lv->ops_ctx, lv->pid);
	return lv->proc ? 0 : -1;
}

/* Roots a live heap adds: each thread's java.lang.Thread, and what its
 * stack and thread-local block point to (roots.h). */
struct roots_ctx {
	const struct live *lv;
	const struct live_isolate *li;
	hd_memview *view; /* the process, or the snapshot taken of it */
};

/* The stacks of LI's threads, walked through VIEW, with a line for -v. */
static int walk_stacks(struct live *lv, const struct live_isolate *li, hd_memview *view,
		       const struct hd_events *ev)
{
	stacks_free(&lv->stacks);
	if (stacks_walk(&lv->stacks, lv->have_ci ? &lv->ci : NULL, view, &li->L,
			&li->classes, &lv->tl, &li->scan) != 0)
		return -1;
	char line[160];
	snprintf(line, sizeof line, "stacks: %zu threads, %llu with Java frames, %zu Java frames "
		 "decoded, %llu machine frames without frame info", lv->stacks.n,
		 (unsigned long long)lv->stacks.decoded_threads, lv->stacks.total,
		 (unsigned long long)lv->stacks.undecoded_frames);
	events_text(ev, HDUMP_EVENT_VERBOSE, line);
	return 0;
}

static int live_roots(void *ctx, const struct hd_census *c, struct hd_root **out, size_t *nout)
{
	struct roots_ctx *x = ctx;
	const struct hd_isolate *iso = &x->li->scan;
	struct root_scan rs;
	root_scan_init(&rs, c, iso->heap_base, x->li->L.chunk_size);
	int rc = 0;
	for (size_t i = 0; i < iso->nthreads && rc == 0; i++) {
		const struct hd_ithread *th = &iso->threads[i];
		uint32_t serial = (uint32_t)i + 1;
		if (th->thread_obj && objindex_has(&c->starts, th->thread_obj))
			rc = root_scan_add(&rs, (struct hd_root){HPROF_ROOT_THREAD_OBJ, th->thread_obj,
								 serial, serial + 1, 0});
		if (rc == 0)
			rc = stacks_roots(&x->lv->stacks, x->lv->have_ci ? &x->lv->ci : NULL, i, th,
					  &rs, x->view, serial);
		if (rc == 0)
			rc = root_scan_range(&rs, x->view, th->addr, th->addr + x->lv->tl.extent,
					     HPROF_ROOT_JNI_LOCAL, serial);
	}
	if (rc != 0) {
		free(rs.v);
		return -1;
	}
	*out = rs.v;
	*nout = rs.n;
	return 0;
}

/* The application's isolate: the one the process's first thread is attached
 * to, else the one with the most attached threads (a compiler isolate has few). */
static size_t application_isolate(const struct live *lv)
{
	size_t best = 0, best_threads = 0;
	for (size_t i = 0; i < lv->nisolates; i++) {
		const struct hd_isolate *s = &lv->iso[i].scan;
		for (size_t k = 0; k < s->nthreads; k++)
			if (s->threads[k].task && s->threads[k].task->tid == lv->pid)
				return i;
		if (s->nthreads > best_threads) {
			best_threads = s->nthreads;
			best = i;
		}
	}
	return best;
}

static int choose_isolate(const struct live *lv, const struct hdump_options *o, size_t *chosen)
{
	*chosen = o->isolate >= 0 ? (size_t)o->isolate : application_isolate(lv);
	if (*chosen >= lv->nisolates)
		return hd_fail(HD_E_USAGE, "no isolate %d (the process has %zu)", o->isolate,
			       lv->nisolates);
	return 0;
}

static int reread_maps(struct live *lv, pid_t pid)
{
	maps_free(&lv->maps);
	return lv->ops->read_maps(lv->ops_ctx, pid, &lv->maps);
}

/* Finds every isolate's threads and chunks in process PID (the target, or
 * its frozen fork) through VIEW. */
static int scan_all(struct live *lv, pid_t pid, hd_memview *view)
{
	if (reread_maps(lv, pid) != 0)
		return -1;
	for (size_t i = 0; i < lv->nisolates; i++) {
		isolate_free(&lv->iso[i].scan);
		if (isolate_scan(&lv->iso[i].scan, view, &lv->maps, &lv->iso[i].L, &lv->iso[i].classes,
				 &lv->roots, &lv->tl, &lv->target) != 0) {
			hd_error_context("isolate %zu", i);
			return -1;
		}
		/* a static word: every isolate's scan (and the cache) reads it */
		if (!lv->tl.head_word)
			lv->tl.head_word = lv->iso[i].scan.head_word;
	}
	return 0;
}

static int list_fill(struct live *lv, size_t chosen)
{
	size_t total = 0;
	for (size_t i = 0; i < lv->nisolates; i++)
		total += lv->iso[i].scan.nthreads;
	free(lv->listed_threads);
	free(lv->listed_names);
	lv->listed_threads = calloc(total ? total : 1, sizeof *lv->listed_threads);
	lv->listed_names = calloc(total ? total : 1, sizeof *lv->listed_names);
	if (!lv->listed_threads || !lv->listed_names)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	struct hdump_thread *th = lv->listed_threads;
	struct thread_name *name = lv->listed_names;
	for (size_t i = 0; i < lv->nisolates; i++) {
		const struct hd_isolate *s = &lv->iso[i].scan;
		lv->listed[i] = (struct hdump_isolate){
			.heap_base = s->heap_base, .image_start = s->image_start,
			.runtime_chunks = s->runtime_chunks, .threads = th, .nthreads = s->nthreads,
			.chosen = i == chosen,
		};
		for (size_t k = 0; k < s->nthreads; k++, th++, name++) {
			const struct hd_task *t = s->threads[k].task;
			*th = (struct hdump_thread){t ? t->tid : -1, thread_name_keep(name, t)};
		}
	}
	return 0;
}

/* One attempt's hold on the target: released once, with an event saying
 * how long it was held and which snapshot was taken meanwhile. */
struct hold {
	struct live *lv;
	const struct hd_events *ev;
	uint64_t since_ms;
	bool held;
};

static void resume(struct hold *h, struct hdump_event ev)
{
	if (!h->held)
		return;
	h->lv->ops->release(h->lv->ops_ctx, &h->lv->target);
	h->held = false;
	ev.kind = HDUMP_EVENT_RESUMED;
	ev.pause_ms = hd_monotonic_ms() - h->since_ms;
	events_emit(h->ev, &ev);
}

/* Leaves out of ISO the chunks the ops say are missing (a core's). */
static int drop_missing_chunks(const struct live *lv, struct hd_isolate *iso)
{
	size_t kept = 0;
	for (size_t i = 0; i < iso->nchunks; i++) {
		int rc = lv->ops->chunk_missing(lv->ops_ctx, &iso->chunks[i]);
		if (rc < 0)
			return -1;
		if (rc == 0)
			iso->chunks[kept++] = iso->chunks[i];
	}
	iso->nchunks = kept;
	return 0;
}

/* Copy: the ranges the dump reads, copied while the target is held. */
static int take_copy(struct hold *h, const struct live_isolate *li, struct hd_snapshot *snap)
{
	struct hd_range *ranges = NULL;
	size_t nranges = 0;
	int rc = isolate_read_ranges(&li->scan, h->lv->tl.extent, &ranges, &nranges);
	if (rc == 0)
		rc = snapshot_take(snap, h->lv->proc, ranges, nranges);
	free(ranges);
	resume(h, (struct hdump_event){.snapshot = rc == 0 ? HDUMP_SNAPSHOT_COPY : HDUMP_SNAPSHOT_STOP,
				       .copied_bytes = rc == 0 ? snap->bytes : 0});
	return rc;
}

/* The census and writing of LI, through VIEW (the held target or its
 * fork) or through a copy taken first. */
static int dump_isolate(struct hold *h, const struct hdump_options *o, struct dump_session *s,
			struct live_isolate *li, hd_memview *view, unsigned n)
{
	struct hd_snapshot snap = {0};
	if (h->lv->ops->chunk_missing && drop_missing_chunks(h->lv, &li->scan) != 0)
		return -1;
	if (h->lv->snapshot == HDUMP_SNAPSHOT_COPY) {
		if (take_copy(h, li, &snap) != 0)
			return -1;
		view = snap.view;
	}
	if (walk_stacks(h->lv, li, view, h->ev) != 0) {
		snapshot_free(&snap);
		return -1;
	}
	struct roots_ctx rctx = {h->lv, li, view};
	struct hd_dump_input in = {
		.L = &li->L, .classes = &li->classes, .mv = view,
		.chunks = isolate_chunks, .chunks_ctx = &li->scan,
		.roots = live_roots, .roots_ctx = &rctx, .statics = &li->statics,
		.nthreads = (uint32_t)li->scan.nthreads, .threads = o->threads,
		.traces = h->lv->stacks.traces,
		.missing_refs = h->lv->target.lacks_memory ? &h->lv->missing_refs : NULL,
	};
	int rc = session_attempt(s, &in, n);
	snapshot_free(&snap);
	return rc;
}

static void say_snapshot(struct live *lv, const struct hd_events *ev)
{
	static const char *const names[] = {"stop", "copy", "fork"};
	char line[sizeof lv->snapshot_reason + 32];
	snprintf(line, sizeof line, "snapshot: %s (%s)", names[lv->snapshot], lv->snapshot_reason);
	events_text(ev, HDUMP_EVENT_VERBOSE, line);
}

/* A fork the held target refused (its seccomp filters, no proven call
 * site, the kernel) is no failure of a default dump: the target is as it
 * was, still held, and is dumped stopped instead. */
static bool fall_back_to_stop(struct live *lv, const struct hd_events *ev)
{
	if (!lv->fork_fallback || hd_error_class() != HD_E_SNAPSHOT)
		return false;
	lv->snapshot = HDUMP_SNAPSHOT_STOP;
	lv->fork_fallback = false;
	snprintf(lv->snapshot_reason, sizeof lv->snapshot_reason, "default, the fork refused: %s",
		 hd_error_message());
	hd_error_clear();
	say_snapshot(lv, ev);
	return true;
}

/* Ends the last fork's child, if any.  The recorded error stays: the dump
 * stands, and a zombie left behind is worth a warning. */
static void discard_fork(struct live *lv, const struct hd_events *ev)
{
	struct hd_error_state first;
	hd_error_save(&first);
	if (lv->ops->discard_fork(lv->ops_ctx) != 0)
		events_text(ev, HDUMP_EVENT_WARNING, hd_error_message());
	hd_error_restore(&first);
}

/* One attempt: hold the target (and fork it), scan every isolate, choose
 * one, then fill the list (S NULL) or dump it (copying it out first).  The
 * target is released on every path. */
static int attempt(struct live *lv, const struct hdump_options *o, struct dump_session *s,
		   const struct hd_events *ev, unsigned n)
{
	bool forking = s && lv->snapshot == HDUMP_SNAPSHOT_FORK;
	if (s)
		s->attempts = n;
	struct hold h = {lv, ev, hd_monotonic_ms(), false};
	hd_memview *view = lv->proc, *child_view = NULL;
	pid_t scanned = lv->pid;
	events_phase(ev, HDUMP_EVENT_PHASE_BEGIN, HDUMP_PHASE_SCAN, n);
	int rc = lv->ops->stop(lv->ops_ctx, &lv->target, lv->pid);
	if (rc == 0) {
		h.held = true;
		events_emit(ev, &(struct hdump_event){.kind = HDUMP_EVENT_PAUSED, .attempt = n,
						      .snapshot = s ? lv->snapshot : HDUMP_SNAPSHOT_STOP});
	}
	if (rc == 0 && forking) {
		/* Held only for the fork; everything after reads the child.  The
		 * injected call's site is checked against the held process's maps. */
		pid_t child = 0;
		rc = reread_maps(lv, lv->pid);
		if (rc == 0)
			rc = lv->ops->fork(lv->ops_ctx, &lv->target, lv->proc, &lv->maps, &child);
		if (rc != 0 && fall_back_to_stop(lv, ev)) {
			rc = 0;
			forking = false;
		} else {
			if (rc == 0)
				hd_fault(HD_FAULT_TARGET_HELD, lv->pid);
			resume(&h, (struct hdump_event){.snapshot = HDUMP_SNAPSHOT_FORK,
							.fork_child = child});
			if (rc == 0 && !(view = child_view = lv->ops->open_memory(lv->ops_ctx, child)))
				rc = -1;
			scanned = child;
		}
	}
	if (rc == 0)
		rc = scan_all(lv, scanned, view);
	events_phase(ev, HDUMP_EVENT_PHASE_END, HDUMP_PHASE_SCAN, n);
	size_t chosen = 0;
	if (rc == 0)
		rc = choose_isolate(lv, o, &chosen);
	if (rc == 0 && !forking)
		hd_fault(HD_FAULT_TARGET_HELD, lv->pid);
	if (rc == 0 && !s) {
		if (lv->want_stacks) /* while the threads are held */
			rc = walk_stacks(lv, &lv->iso[chosen], view, ev);
		resume(&h, (struct hdump_event){.snapshot = HDUMP_SNAPSHOT_STOP});
		if (rc == 0)
			rc = list_fill(lv, chosen);
	} else if (rc == 0) {
		rc = dump_isolate(&h, o, s, &lv->iso[chosen], view, n);
	}
	resume(&h, (struct hdump_event){.snapshot = HDUMP_SNAPSHOT_STOP});
	target_free(&lv->target);
	mv_free(child_view);
	/* A dump that read all it needs of the fork lets its child die while
	 * the file is finished; live_dump reaps it after. */
	if (rc == 0 && forking && lv->ops->let_go_fork)
		lv->ops->let_go_fork(lv->ops_ctx);
	else
		discard_fork(lv, ev);
	return rc;
}

/* Why the attempts end after attempt N failed with a retryable class: a
 * signal, or the retries spent (torn reads are reported as the heap not
 * holding still: HD_E_TORN is never a final class). */
static int give_up(unsigned n)
{
	char last[256];
	snprintf(last, sizeof last, "%s", hd_error_message());
	if (hd_interrupted())
		return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d (attempt %u: %s)",
			       hd_interrupted_signal(), n, last);
	return hd_fail(HD_E_INCONSISTENT, "the heap did not hold still after %u attempts (last: %s)",
		       n, last);
}

/* Attempts until one succeeds, fails for good, or the retries are spent.
 * A sink that cannot start over ends it before the target is stopped again. */
static int attempts(struct live *lv, const struct hdump_options *o, struct dump_session *s,
		    const struct hd_events *ev)
{
	for (unsigned n = 1;; n++) {
		if (attempt(lv, o, s, ev, n) == 0)
			return 0;
		if (!is_retryable())
			return -1;
		if (n > o->retries || hd_interrupted())
			return give_up(n);
		if (s && session_start_over(s) != 0)
			return -1;
		events_emit(ev, &(struct hdump_event){.kind = HDUMP_EVENT_RETRY, .attempt = n,
						      .text = hd_error_message()});
		hd_sleep_ms(20u << (n - 1 < 5 ? n - 1 : 5));
	}
}

/* The snapshot O asks for; AUTO is the shortest safe one: fork when the
 * target allows it (memory to absorb the copies, a call site), else stop. */
static int choose_snapshot(struct live *lv, const struct hdump_options *o,
			   const struct hd_events *ev)
{
	lv->snapshot = o->snapshot;
	lv->fork_fallback = false;
	snprintf(lv->snapshot_reason, sizeof lv->snapshot_reason, "requested");
	if (o->snapshot == HDUMP_SNAPSHOT_FORK || o->snapshot == HDUMP_SNAPSHOT_AUTO) {
		if (lv->ops->fork_allowed(lv->ops_ctx, lv->pid) == 0) {
			lv->snapshot = HDUMP_SNAPSHOT_FORK;
			lv->fork_fallback = o->snapshot == HDUMP_SNAPSHOT_AUTO;
			if (lv->fork_fallback)
				snprintf(lv->snapshot_reason, sizeof lv->snapshot_reason,
					 "default, the target allows a fork");
		} else if (o->snapshot == HDUMP_SNAPSHOT_FORK || hd_error_is_fatal()) {
			return -1;
		} else {
			lv->snapshot = HDUMP_SNAPSHOT_STOP;
			snprintf(lv->snapshot_reason, sizeof lv->snapshot_reason,
				 "default, no fork: %s", hd_error_message());
			hd_error_clear();
		}
	} else if (o->snapshot != HDUMP_SNAPSHOT_STOP && o->snapshot != HDUMP_SNAPSHOT_COPY) {
		return hd_fail(HD_E_USAGE, "no snapshot mode %d", (int)o->snapshot);
	}
	say_snapshot(lv, ev);
	return 0;
}

int live_dump(struct live *lv, const struct hdump_options *o, const struct hdump_sink *sink,
	      const struct hd_events *ev, struct hdump_result *r, struct histogram *h)
{
	if (choose_snapshot(lv, o, ev) != 0)
		return -1;
	struct dump_session s;
	session_begin(&s, o, sink, ev);
	int rc = attempts(lv, o, &s, ev);
	rc = session_end(&s, rc, r, h);
	discard_fork(lv, ev);
	if (rc == 0 && r) {
		r->stack_threads = lv->stacks.decoded_threads;
		r->stack_frames = lv->stacks.total;
		r->stack_undecoded = lv->stacks.undecoded_frames;
		r->snapshot = lv->snapshot;
		snprintf(r->snapshot_reason, sizeof r->snapshot_reason, "%s", lv->snapshot_reason);
	}
	return rc;
}

int live_list(struct live *lv, const struct hdump_options *o, const struct hd_events *ev)
{
	return attempts(lv, o, NULL, ev);
}

void live_cache_write(struct live *lv, const struct hd_events *ev)
{
	if (!lv->nisolates)
		return;
	struct hd_discovery d = isolate_discovery(lv, 0);
	dcache_use_write(lv->cache, &d, ev);
}

void live_close(struct live *lv)
{
	target_free(&lv->target);
	for (size_t i = 0; i < lv->nisolates; i++) {
		isolate_free(&lv->iso[i].scan);
		statics_free(&lv->iso[i].statics);
		fieldnames_free(&lv->iso[i].naming);
		classes_free(&lv->iso[i].classes);
	}
	maps_free(&lv->maps);
	mv_free(lv->local);
	mv_free(lv->proc);
	free(lv->listed_threads);
	free(lv->listed_names);
	stacks_free(&lv->stacks);
	codeinfo_free(&lv->ci);
	chunk_roots_free(&lv->roots);
	memset(lv, 0, sizeof *lv);
}
