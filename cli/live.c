#include "../agent/attach.h"
#include "../agent/cowfork.h"
#include "../agent/eperm.h"
#include "../agent/mempolicy.h"
#include "../symbols/isolate.h"
#include "../agent/procmaps.h"
#include "../agent/snapshot.h"
#include "../common/clock.h"
#include "../common/escape.h"
#include "../common/grow.h"
#include "../common/hd_error.h"
#include "../common/interrupt.h"
#include "../symbols/discover.h"
#include "../symbols/syscall_wrappers.h"
#include "../symbols/threadlocals.h"
#include "../hprof/roots.h"
#include "run.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ISOLATES 16

/* What one isolate needs to be dumped: its layout and class table, both
 * discovered from the executable's image heap placed where this isolate
 * maps its copy. */
struct live_isolate {
	struct hd_layout L;
	struct hd_classes classes;
	struct hd_isolate scan;
};

struct live {
	const struct hd_options *opt;
	struct hd_elfimage img;
	hd_memview *local;   /* .svm_heap at the first isolate's address */
	hd_memview *proc;
	struct hd_maps maps;
	struct hd_target target;
	struct hd_threadlocals tl;
	uint64_t starts[MAX_ISOLATES];
	size_t nisolates;
	struct live_isolate iso[MAX_ISOLATES];
};

static bool is_retryable(void)
{
	enum hd_error_class c = hd_error_class();
	return c == HD_E_LAYOUT || c == HD_E_INCONSISTENT || c == HD_E_TORN;
}

static int prepare_isolates(struct live *lv)
{
	uint64_t *hubs = NULL;
	size_t nhubs = 0;
	lv->local = mv_new_local();
	if (!lv->local)
		return -1;
	for (size_t i = 0; i < lv->nisolates; i++)
		if (mv_add_local(lv->local, lv->starts[i], elfimage_heap(&lv->img), lv->img.heap_size) != 0)
			return -1;
	struct live_isolate *first = &lv->iso[0];
	if (discover_layout(lv->local, lv->starts[0], lv->img.heap_size, &first->L, &hubs, &nhubs,
			    lv->opt->verbose ? stderr : NULL) != 0)
		return -1;
	int rc = 0;
	uint64_t moved = 0; /* how far HUBS have been moved from the first copy */
	/* Every isolate maps its own copy of the same image heap. */
	for (size_t i = 0; i < lv->nisolates && rc == 0; i++) {
		uint64_t delta = lv->starts[i] - lv->starts[0];
		struct live_isolate *li = &lv->iso[i];
		li->L = first->L;
		lay_rebase(&li->L, delta);
		for (size_t k = 0; k < nhubs; k++)
			hubs[k] += delta - moved;
		moved = delta;
		rc = classes_build(&li->classes, lv->local, &li->L, hubs, nhubs);
	}
	free(hubs);
	if (rc != 0)
		return -1;
	return threadlocals_discover(lv->local, &first->L, &first->classes, &lv->tl);
}

/* Roots a live heap adds: each thread's java.lang.Thread, and what its
 * stack and thread-local block point to (roots.h). */
struct roots_ctx {
	struct live *lv;
	struct live_isolate *li;
	hd_memview *view; /* the process, or the snapshot taken of it */
};

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
								 serial, serial + 1});
		if (rc == 0)
			rc = root_scan_range(&rs, x->view, th->stack_lo, th->stack_hi,
					     HPROF_ROOT_JAVA_FRAME, serial);
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
static size_t pick_isolate(const struct live *lv)
{
	size_t best = 0, best_threads = 0;
	for (size_t i = 0; i < lv->nisolates; i++) {
		const struct hd_isolate *s = &lv->iso[i].scan;
		for (size_t k = 0; k < s->nthreads; k++)
			if (s->threads[k].task && s->threads[k].task->tid == lv->target.pid)
				return i;
		if (s->nthreads > best_threads) {
			best_threads = s->nthreads;
			best = i;
		}
	}
	return best;
}

static void list_isolates(const struct live *lv, size_t chosen)
{
	for (size_t i = 0; i < lv->nisolates; i++) {
		const struct hd_isolate *s = &lv->iso[i].scan;
		printf("isolate %zu: heap base 0x%" PRIx64 ", image heap 0x%" PRIx64 ", %zu threads, "
		       "%zu runtime chunks%s\n",
		       i, s->heap_base, s->image_start, s->nthreads, s->runtime_chunks,
		       i == chosen ? " (default)" : "");
		for (size_t k = 0; k < s->nthreads; k++) {
			const struct hd_task *t = s->threads[k].task;
			char comm[4 * sizeof t->comm];
			printf("  thread %d %s\n", t ? (int)t->tid : -1,
			       t ? hd_escape(t->comm, comm, sizeof comm) : "(no OS thread)");
		}
	}
}

/* Finds every isolate's threads and chunks in process PID (the target, or
 * its frozen fork) through VIEW. */
static int scan_all(struct live *lv, pid_t pid, hd_memview *view)
{
	maps_free(&lv->maps);
	if (maps_read(pid, &lv->maps) != 0)
		return -1;
	for (size_t i = 0; i < lv->nisolates; i++) {
		isolate_free(&lv->iso[i].scan);
		if (isolate_scan(&lv->iso[i].scan, view, &lv->maps, &lv->iso[i].L,
				 &lv->iso[i].classes,
				 &lv->tl, &lv->target) != 0) {
			hd_error_context("isolate %zu", i);
			return -1;
		}
	}
	return 0;
}

/* Test hooks, only in the test build (hdump-faults, -DHDUMP_FAULT_HOOKS):
 * HDUMP_FAULT=kill-target kills the target while it is stopped, "stall" says
 * so on stderr and holds it stopped for 3 s, "proc-mem" reads through
 * /proc/PID/mem as if process_vm_readv were refused, so the tests reach
 * those paths deterministically.  The installed hdump has none of this. */
#ifdef HDUMP_FAULT_HOOKS
static bool fault_is(const char *name)
{
	const char *fault = getenv("HDUMP_FAULT");
	return fault && strcmp(fault, name) == 0;
}
#else
#define fault_is(name) false
#endif

static void inject_fault(pid_t pid)
{
	if (fault_is("kill-target")) {
		kill(pid, SIGKILL);
	} else if (fault_is("stall")) {
		/* The tests wait for this line, not for a guessed time. */
		fprintf(stderr, "hdump: HDUMP_FAULT=stall: holding\n");
		for (int i = 0; i < 300 && !hd_interrupted(); i++)
			hd_sleep_ms(10);
	}
}

int run_live(const struct hd_options *opt)
{
	struct live *lv = calloc(1, sizeof *lv);
	if (!lv)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	lv->opt = opt;
	int rc = -1;
	char exe[64];
	snprintf(exe, sizeof exe, "/proc/%d/exe", (int)opt->pid);
	if (maps_read(opt->pid, &lv->maps) != 0) {
		if (hd_error_class() == HD_E_PERM)
			target_explain_eperm(opt->pid);
		goto out;
	}
	if (elfimage_open(exe, &lv->img) != 0) {
		if (hd_error_class() == HD_E_NOENT)
			hd_fail(HD_E_NOENT, "no such process: %d", (int)opt->pid);
		else if (hd_error_class() == HD_E_NOT_NATIVE_IMAGE || hd_error_class() == HD_E_NOT_ELF)
			hd_fail(HD_E_NOT_NATIVE_IMAGE, "process %d is not a GraalVM native image",
				(int)opt->pid);
		goto out;
	}
	lv->nisolates = isolates_find(&lv->maps, &lv->img, lv->starts, MAX_ISOLATES);
	if (!lv->nisolates) {
		hd_fail(HD_E_NOT_NATIVE_IMAGE, "process %d maps no isolate's image heap (not started "
					       "yet, or not a native image)", (int)opt->pid);
		goto out;
	}
	if (prepare_isolates(lv) != 0)
		goto out;
	elfimage_drop_pages(&lv->img);
	lv->proc = mv_new_process(opt->pid);
	if (!lv->proc)
		goto out;
	if (fault_is("proc-mem"))
		mv_read_without_pinning(lv->proc);
	char hint[32];
	snprintf(hint, sizeof hint, "%d", (int)opt->pid);
	struct dump_session session;
	bool want_dump = !opt->list_isolates;
	if (want_dump && session_begin(&session, opt, hint) != 0) {
		session_end(&session, NULL, -1);
		goto out;
	}
	struct roots_ctx rctx = {lv, NULL, lv->proc};
	struct hd_snapshot snap = {0};
	struct hd_cowfork cow = {0};
	struct hd_dump_input in = {.mv = lv->proc, .chunks = isolate_chunks, .roots = live_roots,
				   .roots_ctx = &rctx, .threads = opt->threads};
	bool forking = opt->snapshot == HD_SNAPSHOT_FORK && !opt->list_isolates;
	struct inject_entries libc_entries = {0};
	if (forking)
		syscall_wrappers_find(opt->pid, &lv->maps, &libc_entries);
	if (forking && mempolicy_check_fork(opt->pid) != 0) {
		rc = -1;
		if (want_dump)
			session_end(&session, NULL, rc);
		goto out;
	}
	for (unsigned attempt = 0;; attempt++) {
		uint64_t stopped_at = hd_monotonic_ms();
		hd_memview *view = lv->proc, *child_view = NULL;
		pid_t scanned_pid = opt->pid;
		rc = target_stop(&lv->target, opt->pid);
		if (rc == 0 && forking) {
			/* Held only for the fork; everything after reads the child. */
			rc = cowfork_take(&cow, &lv->target, lv->proc, &lv->maps, &libc_entries);
			target_release(&lv->target);
			if (opt->verbose)
				fprintf(stderr, "hdump: target stopped for %" PRIu64 " ms (fork %d)\n",
					hd_monotonic_ms() - stopped_at, (int)cow.child);
			if (rc == 0 && !(view = child_view = mv_new_process(cow.child)))
				rc = -1;
			if (child_view)
				mv_read_without_pinning(child_view);
			scanned_pid = cow.child;
		}
		if (rc == 0)
			rc = scan_all(lv, scanned_pid, view);
		size_t chosen = 0;
		if (rc == 0) {
			chosen = opt->isolate >= 0 ? (size_t)opt->isolate : pick_isolate(lv);
			if (chosen >= lv->nisolates)
				rc = hd_fail(HD_E_USAGE, "no isolate %d (the process has %zu)", opt->isolate,
					     lv->nisolates);
		}
		if (rc == 0)
			inject_fault(opt->pid);
		if (rc == 0 && opt->list_isolates) {
			target_release(&lv->target);
			list_isolates(lv, chosen);
			break;
		}
		if (rc == 0) {
			struct live_isolate *li = &lv->iso[chosen];
			rctx.li = li;
			in.L = &li->L;
			in.classes = &li->classes;
			in.chunks_ctx = &li->scan;
			in.nthreads = (uint32_t)li->scan.nthreads;
			in.mv = rctx.view = view;
			if (opt->snapshot == HD_SNAPSHOT_COPY) {
				/* Copy, let the target go, then walk the copy. */
				snapshot_free(&snap);
				struct hd_range *ranges = NULL;
				size_t nranges = 0;
				rc = isolate_read_ranges(&li->scan, lv->tl.extent, &ranges, &nranges);
				if (rc == 0)
					rc = snapshot_take(&snap, lv->proc, ranges, nranges);
				free(ranges);
				target_release(&lv->target);
				if (opt->verbose && rc == 0)
					fprintf(stderr, "hdump: target stopped for %" PRIu64 " ms (copied %" PRIu64 " MB)\n",
						hd_monotonic_ms() - stopped_at, snap.bytes >> 20);
				in.mv = rctx.view = snap.view;
			}
			if (rc == 0)
				rc = session_attempt(&session, &in);
		}
		if (opt->verbose && opt->snapshot == HD_SNAPSHOT_STOP && lv->target.n)
			fprintf(stderr, "hdump: target stopped for %" PRIu64 " ms\n", hd_monotonic_ms() - stopped_at);
		target_release(&lv->target);
		target_free(&lv->target);
		mv_free(child_view);
		struct hd_error_state first;
		char esc[HD_ESCAPED_MESSAGE];
		hd_error_save(&first);
		if (cowfork_discard(&cow) != 0) /* the dump stands; the leftover zombie is worth a word */
			fprintf(stderr, "hdump: warning: %s\n", hd_escape(hd_error_message(), esc, sizeof esc));
		hd_error_restore(&first);
		if (rc == 0 || !is_retryable() || attempt >= opt->retries || hd_interrupted())
			break;
		if (opt->verbose)
			fprintf(stderr, "hdump: attempt %u: %s; retrying\n", attempt + 1,
				hd_escape(hd_error_message(), esc, sizeof esc));
		hd_sleep_ms(20u << (attempt < 5 ? attempt : 5));
	}
	if (rc != 0 && is_retryable() && !opt->list_isolates) {
		char last[256];
		snprintf(last, sizeof last, "%s", hd_error_message());
		hd_fail(HD_E_INCONSISTENT, "the heap did not hold still after %u attempts (last: %s)",
			opt->retries + 1, last);
	}
	if (want_dump)
		rc = session_end(&session, &in, rc);
	snapshot_free(&snap);
out:
	target_free(&lv->target);
	for (size_t i = 0; i < lv->nisolates; i++) {
		isolate_free(&lv->iso[i].scan);
		classes_free(&lv->iso[i].classes);
	}
	maps_free(&lv->maps);
	mv_free(lv->local);
	mv_free(lv->proc);
	elfimage_close(&lv->img);
	free(lv);
	return rc;
}
