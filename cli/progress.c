#include "progress.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REDRAW_MS 250
/* A dump shorter than this draws nothing. */
#define FIRST_DRAW_MS 300

struct progress {
	FILE *tty;
	/* Written by progress_event (any thread the library calls back on),
	 * read by the drawing thread. */
	atomic_int phase;
	atomic_uint_fast64_t phase_start_ms, done, total;
	uint64_t start_ms;
	pthread_t thread;
	pthread_mutex_t lock;  /* STOP, and the terminal */
	pthread_cond_t wake;
	bool stop;
	size_t drawn;          /* width of the line on the terminal; 0: none */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const char *phase_name(int phase)
{
	switch (phase) {
	case HDUMP_PHASE_DISCOVER:
		return "discovering the heap layout";
	case HDUMP_PHASE_SCAN:
		return "scanning the process";
	case HDUMP_PHASE_CENSUS:
		return "census";
	case HDUMP_PHASE_WRITE:
		return "writing";
	default:
		return "starting";
	}
}

void progress_format(char *buf, size_t size, int phase, uint64_t elapsed_ms, uint64_t done,
		     uint64_t total)
{
	int n = snprintf(buf, size, "hdump: %s", phase_name(phase));
	if (n < 0 || (size_t)n >= size)
		return;
	if (phase != HDUMP_PHASE_WRITE || !total || !elapsed_ms) {
		snprintf(buf + n, size - (size_t)n, "  %.1f s", (double)elapsed_ms / 1000.0);
		return;
	}
	/* TOTAL is an estimate: never promise 100 % before the end. */
	unsigned pct = done >= total ? 99u : (unsigned)(done * 100u / total);
	double rate = (double)done / ((double)elapsed_ms / 1000.0); /* bytes/s */
	int k = snprintf(buf + n, size - (size_t)n, "  %2u%%  %.1f of ~%.1f MiB  %.1f MiB/s", pct,
			 (double)done / 1048576.0, (double)total / 1048576.0, rate / 1048576.0);
	if (k < 0 || (size_t)(n + k) >= size || done >= total || rate < 1.0)
		return;
	snprintf(buf + n + k, size - (size_t)(n + k), "  ETA %.0f s",
		 (double)(total - done) / rate);
}

/* Under LOCK. */
static void erase(struct progress *p)
{
	if (!p->drawn)
		return;
	fprintf(p->tty, "\r%*s\r", (int)p->drawn, "");
	fflush(p->tty);
	p->drawn = 0;
}

/* Under LOCK. */
static void draw(struct progress *p)
{
	uint64_t now = now_ms();
	if (now - p->start_ms < FIRST_DRAW_MS)
		return;
	char line[160];
	int phase = atomic_load(&p->phase);
	uint64_t since = atomic_load(&p->phase_start_ms);
	progress_format(line, sizeof line, phase, since ? now - since : now - p->start_ms,
			atomic_load(&p->done), atomic_load(&p->total));
	size_t len = strlen(line);
	/* Spaces, not an erase-line escape: every terminal understands them. */
	fprintf(p->tty, "\r%s%*s", line, len < p->drawn ? (int)(p->drawn - len) : 0, "");
	fflush(p->tty);
	p->drawn = len > p->drawn ? len : p->drawn;
}

static void *draw_main(void *arg)
{
	struct progress *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += REDRAW_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->wake, &p->lock, &until);
		if (!p->stop)
			draw(p);
	}
	erase(p);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct progress *progress_start(FILE *tty)
{
	struct progress *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->tty = tty;
	atomic_init(&p->phase, -1);
	p->start_ms = now_ms();
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	/* Signals stay with the main thread, whose calls they must interrupt. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&p->thread, NULL, draw_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return NULL;
	}
	return p;
}

void progress_event(struct progress *p, const struct hdump_event *ev)
{
	if (!p)
		return;
	if (ev->kind == HDUMP_EVENT_PHASE_BEGIN) {
		atomic_store(&p->done, 0);
		atomic_store(&p->total, 0);
		atomic_store(&p->phase_start_ms, now_ms());
		atomic_store(&p->phase, (int)ev->phase);
	} else if (ev->kind == HDUMP_EVENT_PROGRESS) {
		atomic_store(&p->done, ev->done);
		atomic_store(&p->total, ev->total);
	}
}

void progress_suspend(struct progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	erase(p);
}

void progress_resume(struct progress *p)
{
	if (p)
		pthread_mutex_unlock(&p->lock);
}

void progress_stop(struct progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
