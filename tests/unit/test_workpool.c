/* The worker pool (hprof/workpool.c): every job runs exactly once, on a
 * worker that runs one job at a time; commits come in job order, each after
 * its job and never two at once; no job runs further ahead of the commits
 * than the window; the first error stops the pool and is the one reported;
 * a pending SIGINT stops it before the next job.  No timing is involved:
 * jobs that must wait poll a state another job sets. */
#include "../../common/clock.h"
#include "../../common/hd_error.h"
#include "../../common/interrupt.h"
#include "../../hprof/workpool.h"

#include <criterion/criterion.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_JOBS 2000
#define MAX_THREADS 8

struct probe {
	size_t window;
	size_t fail_run;           /* this job fails; MAX_JOBS: none */
	size_t fail_late;          /* this job fails too; MAX_JOBS: none */
	bool fail_all;
	bool fail_in_turn;         /* worker 1 fails, then worker 0 once it has exited */
	atomic_int failed_tid;
	atomic_bool zero_in_job;
	size_t fail_commit;        /* this job's commit fails; MAX_JOBS: none */
	size_t raise_at;           /* this job raises SIGINT; MAX_JOBS: none */
	atomic_uint runs[MAX_JOBS];
	atomic_bool ran[MAX_JOBS];
	atomic_uint busy[MAX_THREADS];
	atomic_size_t committed;   /* commits so far */
	atomic_uint committing;
	atomic_uint violations;    /* broken promises, counted where seen */
	size_t order[MAX_JOBS];    /* committed jobs, in commit order */
};

static struct probe P;

static void probe_init(size_t window)
{
	memset(&P, 0, sizeof P);
	P.window = window;
	P.fail_run = P.fail_late = P.fail_commit = P.raise_at = MAX_JOBS;
}

/* Worker 1's job fails once worker 0 is in its job (so that both jobs are
 * taken), and its thread, having recorded the error, exits; worker 0's job
 * fails only once that thread is gone. */
static int fail_in_turn(struct probe *p, unsigned worker)
{
	uint64_t deadline = hd_monotonic_ms() + 20000;
	if (worker != 0) {
		while (!atomic_load(&p->zero_in_job) && hd_monotonic_ms() < deadline)
			sched_yield();
		atomic_store(&p->failed_tid, (int)syscall(SYS_gettid));
		return hd_fail(HD_E_LAYOUT, "the first error");
	}
	atomic_store(&p->zero_in_job, true);
	char task[64] = "";
	for (;;) {
		int tid = atomic_load(&p->failed_tid);
		if (tid)
			snprintf(task, sizeof task, "/proc/self/task/%d", tid);
		if ((tid && access(task, F_OK) != 0) || hd_monotonic_ms() > deadline)
			break;
		sched_yield();
	}
	return hd_fail(HD_E_OUTPUT, "the second error");
}

static int run(void *ctx, unsigned worker, size_t job)
{
	struct probe *p = ctx;
	if (worker >= MAX_THREADS || atomic_fetch_add(&p->busy[worker], 1) != 0)
		atomic_fetch_add(&p->violations, 1);
	if (p->window && job >= atomic_load(&p->committed) + p->window)
		atomic_fetch_add(&p->violations, 1);
	atomic_fetch_add(&p->runs[job], 1);
	int rc = 0;
	if (job == p->raise_at)
		raise(SIGINT);
	/* Jobs after the one that raises wait for it: what they see decides
	 * nothing, but no job may start once they are done. */
	if (p->raise_at < MAX_JOBS && job > p->raise_at)
		while (!hd_interrupted())
			sched_yield();
	if (p->fail_in_turn)
		rc = fail_in_turn(p, worker);
	if (job == p->fail_run || job == p->fail_late || p->fail_all)
		rc = hd_fail(HD_E_LAYOUT, "job %zu failed", job);
	atomic_store(&p->ran[job], true);
	if (worker < MAX_THREADS)
		atomic_fetch_sub(&p->busy[worker], 1);
	return rc;
}

static int commit(void *ctx, size_t job)
{
	struct probe *p = ctx;
	if (atomic_fetch_add(&p->committing, 1) != 0 || !atomic_load(&p->ran[job]))
		atomic_fetch_add(&p->violations, 1);
	size_t n = atomic_load(&p->committed);
	p->order[n] = job;
	int rc = job == p->fail_commit ? hd_fail(HD_E_OUTPUT, "commit %zu failed", job) : 0;
	if (rc == 0)
		atomic_store(&p->committed, n + 1);
	atomic_fetch_sub(&p->committing, 1);
	return rc;
}

static struct hd_workpool pool(size_t njobs, unsigned threads)
{
	return (struct hd_workpool){.njobs = njobs, .threads = threads, .window = P.window,
				    .run = run, .commit = commit, .ctx = &P};
}

Test(workpool, every_job_runs_once_and_commits_in_order)
{
	static const unsigned threads[] = {0, 1, 2, 3, 8};
	static const size_t windows[] = {0, 1, 2, 16};
	static const size_t njobs[] = {1, 7, MAX_JOBS};
	for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++)
		for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++)
			for (size_t j = 0; j < sizeof njobs / sizeof njobs[0]; j++) {
				probe_init(windows[w]);
				struct hd_workpool wp = pool(njobs[j], threads[t]);
				cr_assert_eq(workpool_run(&wp), 0, "%s", hd_error_message());
				cr_assert_eq(atomic_load(&P.violations), 0,
					     "threads %u window %zu jobs %zu", threads[t],
					     windows[w], njobs[j]);
				cr_assert_eq(atomic_load(&P.committed), njobs[j]);
				for (size_t i = 0; i < njobs[j]; i++) {
					cr_assert_eq(atomic_load(&P.runs[i]), 1, "job %zu", i);
					cr_assert_eq(P.order[i], i);
				}
			}
}

Test(workpool, no_jobs_is_success)
{
	probe_init(0);
	struct hd_workpool wp = pool(0, 4);
	cr_assert_eq(workpool_run(&wp), 0);
}

/* Runs 100 jobs with a window of one, on THREADS threads, where job J
 * starts only after job J - 1 is committed: the failure set up in P is
 * recorded before any later job could start, so job 20, which would fail
 * too, never runs, and the error reported is the first. */
static void stops_at(unsigned threads, size_t committed, enum hd_error_class cls,
		     const char *message)
{
	P.fail_late = 20;
	struct hd_workpool wp = pool(100, threads);
	hd_error_clear();
	cr_assert_eq(workpool_run(&wp), -1);
	cr_assert_eq(hd_error_class(), cls, "%s", hd_error_message());
	cr_assert_str_eq(hd_error_message(), message);
	cr_assert_eq(atomic_load(&P.committed), committed);
	for (size_t i = committed + 1; i < 100; i++)
		cr_assert_eq(atomic_load(&P.runs[i]), 0, "threads %u: job %zu ran", threads, i);
	cr_assert_eq(atomic_load(&P.violations), 0);
}

Test(workpool, the_first_failed_job_stops_the_pool_and_is_reported)
{
	for (unsigned threads = 1; threads <= 4; threads++) {
		probe_init(1);
		P.fail_run = 10;
		stops_at(threads, 10, HD_E_LAYOUT, "job 10 failed");
	}
}

Test(workpool, a_failed_commit_stops_the_pool_and_is_reported)
{
	for (unsigned threads = 1; threads <= 4; threads++) {
		probe_init(1);
		P.fail_commit = 5;
		stops_at(threads, 5, HD_E_OUTPUT, "commit 5 failed");
	}
}

/* Two errors, one after the other (the second job fails only once the
 * thread of the first has recorded its error and exited): the first is the
 * one reported. */
Test(workpool, the_first_of_two_errors_wins)
{
	probe_init(0);
	P.fail_in_turn = true;
	struct hd_workpool wp = pool(2, 2);
	cr_assert_eq(workpool_run(&wp), -1);
	cr_assert_str_eq(hd_error_message(), "the first error");
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	cr_assert_eq(atomic_load(&P.runs[0]) + atomic_load(&P.runs[1]), 2);
}

/* Every job fails: whichever failed first, the error reported is one
 * job's, whole, and no job ran twice. */
Test(workpool, one_of_many_errors_is_reported_whole)
{
	probe_init(0);
	P.fail_all = true;
	struct hd_workpool wp = pool(MAX_JOBS, 4);
	cr_assert_eq(workpool_run(&wp), -1);
	size_t job = MAX_JOBS;
	char tail[16] = "";
	cr_assert_eq(sscanf(hd_error_message(), "job %zu %15s", &job, tail), 2, "%s",
		     hd_error_message());
	cr_assert_str_eq(tail, "failed");
	cr_assert_lt(job, MAX_JOBS);
	cr_assert_eq(atomic_load(&P.runs[job]), 1, "job %zu never ran", job);
	size_t ran = 0;
	for (size_t i = 0; i < MAX_JOBS; i++) {
		cr_assert_leq(atomic_load(&P.runs[i]), 1);
		ran += atomic_load(&P.runs[i]);
	}
	cr_assert_leq(ran, 4, "a failed job stops its thread: at most one each");
	cr_assert_eq(atomic_load(&P.committed), 0);
}

/* SIGINT raised by job 10: the jobs already started finish (those after it
 * wait until it has raised), none starts after.  The flag stays set once
 * raised: one pool per test. */
static void interrupted_with(unsigned threads)
{
	probe_init(0);
	P.raise_at = 10;
	hd_install_signal_handlers();
	struct hd_workpool wp = pool(MAX_JOBS, threads);
	cr_assert_eq(workpool_run(&wp), -1);
	cr_assert_eq(hd_error_class(), HD_E_INTERRUPTED, "%s", hd_error_message());
	size_t ran = 0, last = 0;
	for (size_t i = 0; i < MAX_JOBS; i++)
		if (atomic_load(&P.runs[i])) {
			ran++;
			last = i;
		}
	/* Jobs start in order: job 10 and at most THREADS - 1 after it. */
	cr_assert_leq(last, 10 + threads - 1, "job %zu ran", last);
	cr_assert_geq(ran, 11);
	cr_assert_eq(atomic_load(&P.violations), 0);
}

Test(workpool, an_interrupted_pool_of_one_thread_stops) { interrupted_with(1); }
Test(workpool, an_interrupted_pool_of_four_threads_stops) { interrupted_with(4); }
