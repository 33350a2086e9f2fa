#include "workpool.h"

#include "../common/interrupt.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

struct pool {
	const struct hd_workpool *p;
	pthread_mutex_t lock;
	pthread_cond_t moved;   /* a job was committed, or the pool failed */
	size_t next;            /* the next job to start */
	size_t committed;       /* jobs [0, committed) are committed */
	bool committing;        /* one thread at a time commits */
	bool *ran;              /* per job: ran, waiting for its commit */
	bool failed;
	struct hd_error_state first;
};

struct thread {
	struct pool *pool;
	unsigned worker;
	pthread_t id;
};

/* Under the lock.  Records the calling thread's error if it is the first. */
static void pool_fail(struct pool *s)
{
	if (!s->failed) {
		hd_error_save(&s->first);
		s->failed = true;
	}
	pthread_cond_broadcast(&s->moved);
}

static bool may_start(const struct pool *s)
{
	return s->failed || s->next >= s->p->njobs || !s->p->window ||
	       s->next - s->committed < s->p->window;
}

/* Under the lock, by the one committing thread: commits every job that ran,
 * in order, up to the first that has not. */
static void commit_ready(struct pool *s)
{
	while (!s->failed && s->committed < s->p->njobs && s->ran[s->committed]) {
		size_t job = s->committed;
		pthread_mutex_unlock(&s->lock);
		int rc = s->p->commit ? s->p->commit(s->p->ctx, job) : 0;
		pthread_mutex_lock(&s->lock);
		if (rc != 0) {
			pool_fail(s);
			return;
		}
		s->committed++;
		pthread_cond_broadcast(&s->moved);
	}
}

static void *work(void *arg)
{
	struct thread *t = arg;
	struct pool *s = t->pool;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!may_start(s))
			pthread_cond_wait(&s->moved, &s->lock);
		if (s->failed || s->next >= s->p->njobs)
			break;
		size_t job = s->next++;
		pthread_mutex_unlock(&s->lock);
		int rc = hd_interrupted() ? hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d",
						    hd_interrupted_signal())
					  : s->p->run(s->p->ctx, t->worker, job);
		pthread_mutex_lock(&s->lock);
		if (rc != 0) {
			pool_fail(s);
			break;
		}
		s->ran[job] = true;
		if (!s->committing) {
			s->committing = true;
			commit_ready(s);
			s->committing = false;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int workpool_run(const struct hd_workpool *p)
{
	if (!p->njobs)
		return 0;
	unsigned n = p->threads ? p->threads : 1;
	if (n > p->njobs)
		n = (unsigned)p->njobs;
	struct pool s = {.p = p};
	s.ran = calloc(p->njobs, sizeof *s.ran);
	struct thread *t = calloc(n, sizeof *t);
	if (!s.ran || !t) {
		free(s.ran);
		free(t);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.moved, NULL);
	unsigned started = 1; /* the caller's thread is worker 0 */
	for (; started < n; started++) {
		t[started] = (struct thread){.pool = &s, .worker = started};
		if (pthread_create(&t[started].id, NULL, work, &t[started]) != 0) {
			pthread_mutex_lock(&s.lock);
			hd_fail(HD_E_INTERNAL, "cannot start a worker thread");
			pool_fail(&s);
			pthread_mutex_unlock(&s.lock);
			break;
		}
	}
	t[0] = (struct thread){.pool = &s, .worker = 0};
	work(&t[0]);
	for (unsigned i = 1; i < started; i++)
		pthread_join(t[i].id, NULL);
	pthread_cond_destroy(&s.moved);
	pthread_mutex_destroy(&s.lock);
	free(s.ran);
	free(t);
	if (s.failed) {
		hd_error_restore(&s.first);
		return -1;
	}
	return 0;
}

unsigned workpool_threads(unsigned wanted, size_t njobs)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = wanted ? wanted : (cpus > 0 ? (unsigned)cpus : 1);
	if (n > WORKPOOL_MAX_THREADS)
		n = WORKPOOL_MAX_THREADS;
	if (n > njobs)
		n = njobs ? (unsigned)njobs : 1;
	return n;
}
