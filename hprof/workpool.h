/* Runs N independent jobs on up to T threads, the caller's included.  The
 * first error wins: once a job fails (or the process is asked to stop) no
 * further job starts, the running ones finish, and that first error is the
 * one reported.  An optional commit step sees the jobs' results one at a
 * time in job order, whatever order they ran in, and a window bounds how
 * far the jobs may run ahead of it: so a job's output can be held in a slot
 * (job % window) until its turn. */
#ifndef HD_WORKPOOL_H
#define HD_WORKPOOL_H

#include "../common/hd_error.h"

#include <stddef.h>

struct hd_workpool {
	size_t njobs;
	unsigned threads;   /* at most this many run jobs at once; 0 counts as 1 */
	/* Job J starts only once job J - WINDOW is committed; 0: no bound. */
	size_t window;
	/* Runs job JOB on worker WORKER (< threads), which runs one job at a
	 * time: per-worker state indexed by WORKER needs no lock. */
	int (*run)(void *ctx, unsigned worker, size_t job);
	/* Optional.  Called for each job that ran, in job order, never two at
	 * once; on any thread. */
	int (*commit)(void *ctx, size_t job);
	void *ctx;
};

/* Returns 0 once every job ran and was committed; -1 with the first error
 * recorded (a job's, a commit's, HD_E_INTERRUPTED checked before each job,
 * or HD_E_INTERNAL). */
HD_MUST_CHECK int workpool_run(const struct hd_workpool *p);

/* Threads for NJOBS jobs when WANTED are asked for (0: one per CPU), at
 * most WORKPOOL_MAX_THREADS and NJOBS, at least 1. */
#define WORKPOOL_MAX_THREADS 8
unsigned workpool_threads(unsigned wanted, size_t njobs);

#endif
