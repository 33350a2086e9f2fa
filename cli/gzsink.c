#include "gzsink.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* pigz's block size: large enough that the sync marker (5 bytes) and the
 * restart of the match search cost under 1 %, small enough to keep every
 * thread busy on a dump of a few MiB. */
#define BLOCK (128u << 10)
#define DICT (32u << 10) /* deflate's window */
#define MAX_THREADS 8u
#define SLOTS_PER_THREAD 2u

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_BUSY, SLOT_DONE };

/* One block on its way: its input, the dictionary it starts from, and once
 * DONE its deflated bytes.  QUEUED and BUSY slots belong to the workers,
 * the others to the writer. */
struct slot {
	enum slot_state state;
	uint64_t seq;
	bool last;
	unsigned char *in, *dict, *out;
	size_t in_len, dict_len, out_len;
	uint32_t crc;
	bool failed;
};

struct worker {
	hd_gzsink *g;
	z_stream strm;
	bool strm_ready;
	pthread_t tid;
	bool started;
};

struct hd_gzsink {
	struct hdump_sink inner;
	int level;
	size_t out_cap;            /* deflateBound of a block, with room for the flush */
	struct worker *workers;    /* NULL: the writer compresses (one thread) */
	unsigned nworkers;
	struct worker self;        /* the writer's stream when there are no workers */
	pthread_mutex_t lock;
	pthread_cond_t queued;     /* a slot was queued, or the workers must stop */
	pthread_cond_t done;       /* a slot is DONE */
	bool stopping;
	struct slot *slots;
	size_t nslots;
	uint64_t next_seq;         /* the block being filled */
	uint64_t next_emit;        /* the next block to write out */
	unsigned char *tail;       /* the last DICT bytes before the block being filled */
	size_t tail_len;
	bool header_written, finished;
	uint32_t crc;
	uint64_t in_total, out_total;
};

static struct slot *filling(hd_gzsink *g) { return &g->slots[g->next_seq % g->nslots]; }

/* A slot's state changes hands between threads: always under the lock. */
static enum slot_state state_of(hd_gzsink *g, const struct slot *s)
{
	pthread_mutex_lock(&g->lock);
	enum slot_state st = s->state;
	pthread_mutex_unlock(&g->lock);
	return st;
}

static void set_state(hd_gzsink *g, struct slot *s, enum slot_state st)
{
	pthread_mutex_lock(&g->lock);
	s->state = st;
	if (st == SLOT_QUEUED)
		pthread_cond_signal(&g->queued);
	pthread_mutex_unlock(&g->lock);
}

static int stream_init(struct worker *w, int level)
{
	/* Raw deflate (negative window bits): the gzip framing is ours. */
	if (deflateInit2(&w->strm, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return hdump_fail(HDUMP_E_INTERNAL, "zlib: cannot start a deflate stream");
	w->strm_ready = true;
	return 0;
}

/* Deflates S on its own, ended on a byte boundary: a sync flush (an empty
 * stored block) for a block others follow, the final-block bit for the last. */
static void compress_block(z_stream *z, struct slot *s, size_t out_cap)
{
	s->failed = deflateReset(z) != Z_OK ||
		    (s->dict_len && deflateSetDictionary(z, s->dict, (uInt)s->dict_len) != Z_OK);
	if (s->failed)
		return;
	z->next_in = s->in;
	z->avail_in = (uInt)s->in_len;
	z->next_out = s->out;
	z->avail_out = (uInt)out_cap;
	int rc = deflate(z, s->last ? Z_FINISH : Z_SYNC_FLUSH);
	/* The bound leaves room, so one call takes all: anything else is a bug. */
	s->failed = z->avail_in != 0 || z->avail_out == 0 ||
		    rc != (s->last ? Z_STREAM_END : Z_OK);
	s->out_len = out_cap - z->avail_out;
	s->crc = (uint32_t)crc32(0, s->in, (uInt)s->in_len);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	hd_gzsink *g = w->g;
	pthread_mutex_lock(&g->lock);
	for (;;) {
		struct slot *s = NULL;
		for (size_t i = 0; i < g->nslots; i++)
			if (g->slots[i].state == SLOT_QUEUED && (!s || g->slots[i].seq < s->seq))
				s = &g->slots[i];
		if (g->stopping)
			break;
		if (!s) {
			pthread_cond_wait(&g->queued, &g->lock);
			continue;
		}
		s->state = SLOT_BUSY;
		pthread_mutex_unlock(&g->lock);
		compress_block(&w->strm, s, g->out_cap);
		pthread_mutex_lock(&g->lock);
		s->state = SLOT_DONE;
		pthread_cond_broadcast(&g->done);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

static int inner_write(hd_gzsink *g, const void *buf, size_t len)
{
	if (g->inner.write(g->inner.ctx, buf, len) != 0)
		return -1;
	g->out_total += len;
	return 0;
}

/* Writes block NEXT_EMIT once it is DONE; WAIT: wait for it, else return
 * 1 when it is not done yet. */
static int emit_next(hd_gzsink *g, bool wait)
{
	struct slot *s = &g->slots[g->next_emit % g->nslots];
	pthread_mutex_lock(&g->lock);
	while (wait && s->state != SLOT_DONE)
		pthread_cond_wait(&g->done, &g->lock);
	bool ready = s->state == SLOT_DONE;
	pthread_mutex_unlock(&g->lock);
	if (!ready)
		return 1;
	if (s->failed)
		return hdump_fail(HDUMP_E_INTERNAL, "zlib: deflate failed");
	if (inner_write(g, s->out, s->out_len) != 0)
		return -1;
	g->crc = (uint32_t)crc32_combine(g->crc, s->crc, (z_off_t)s->in_len);
	s->in_len = 0;
	set_state(g, s, SLOT_FREE);
	g->next_emit++;
	return 0;
}

/* Hands the filled block on, writes out what is done, and waits until the
 * next block's slot is free: at most NSLOTS blocks are ever in flight. */
static int submit(hd_gzsink *g, bool last)
{
	struct slot *s = filling(g);
	s->seq = g->next_seq++;
	s->last = last;
	memcpy(s->dict, g->tail, g->tail_len);
	s->dict_len = g->tail_len;
	/* The next block's dictionary: this one's end, topped up by the old tail. */
	if (s->in_len >= DICT) {
		memcpy(g->tail, s->in + s->in_len - DICT, DICT);
		g->tail_len = DICT;
	} else {
		size_t keep = g->tail_len + s->in_len > DICT ? DICT - s->in_len : g->tail_len;
		memmove(g->tail, g->tail + g->tail_len - keep, keep);
		memcpy(g->tail + keep, s->in, s->in_len);
		g->tail_len = keep + s->in_len;
	}
	if (!g->workers) {
		compress_block(&g->self.strm, s, g->out_cap);
		set_state(g, s, SLOT_DONE);
		return emit_next(g, true);
	}
	set_state(g, s, SLOT_QUEUED);
	int rc;
	while ((rc = emit_next(g, false)) == 0 && g->next_emit < g->next_seq)
		;
	if (rc < 0)
		return -1;
	while (state_of(g, filling(g)) != SLOT_FREE)
		if (emit_next(g, true) != 0)
			return -1;
	return 0;
}

static int write_header(hd_gzsink *g)
{
	/* No name, mtime 0 (the same bytes for the same dump), OS Unix. */
	static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
	if (inner_write(g, header, sizeof header) != 0)
		return -1;
	g->header_written = true;
	return 0;
}

int gzsink_write(void *ctx, const void *buf, size_t len)
{
	hd_gzsink *g = ctx;
	if (g->finished)
		return hdump_fail(HDUMP_E_INTERNAL, "gzip output written after its end");
	if (!g->header_written && write_header(g) != 0)
		return -1;
	const unsigned char *p = buf;
	while (len) {
		struct slot *s = filling(g);
		size_t n = BLOCK - s->in_len < len ? BLOCK - s->in_len : len;
		memcpy(s->in + s->in_len, p, n);
		s->in_len += n;
		g->in_total += n;
		p += n;
		len -= n;
		if (s->in_len == BLOCK && submit(g, false) != 0)
			return -1;
	}
	return 0;
}

/* Waits for the workers' blocks and forgets every block. */
static void drain(hd_gzsink *g)
{
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->nslots; i++) {
		while (g->slots[i].state == SLOT_QUEUED || g->slots[i].state == SLOT_BUSY)
			pthread_cond_wait(&g->done, &g->lock);
		g->slots[i].state = SLOT_FREE;
		g->slots[i].in_len = 0;
	}
	pthread_mutex_unlock(&g->lock);
}

int gzsink_rewind(void *ctx, uint64_t written)
{
	hd_gzsink *g = ctx;
	(void)written; /* what the inner sink got is ours to say */
	drain(g);
	if (g->out_total && (!g->inner.rewind || g->inner.rewind(g->inner.ctx, g->out_total) != 0))
		return g->inner.rewind ? -1
				       : hdump_fail(HDUMP_E_OUTPUT, "cannot retry a dump already "
								    "written to a sink that cannot start over");
	g->next_seq = g->next_emit = 0;
	g->tail_len = 0;
	g->header_written = g->finished = false;
	g->crc = 0;
	g->in_total = g->out_total = 0;
	return 0;
}

int gzsink_finish(hd_gzsink *g)
{
	if (g->finished)
		return hdump_fail(HDUMP_E_INTERNAL, "gzip output finished twice");
	if (!g->header_written && write_header(g) != 0)
		return -1;
	if (submit(g, true) != 0)
		return -1;
	while (g->next_emit < g->next_seq)
		if (emit_next(g, true) != 0)
			return -1;
	unsigned char trailer[8];
	uint32_t isize = (uint32_t)g->in_total; /* RFC 1952: the size modulo 2^32 */
	for (int i = 0; i < 4; i++) {
		trailer[i] = (unsigned char)(g->crc >> (8 * i));
		trailer[4 + i] = (unsigned char)(isize >> (8 * i));
	}
	if (inner_write(g, trailer, sizeof trailer) != 0)
		return -1;
	g->finished = true;
	return 0;
}

void gzsink_counts(const hd_gzsink *g, uint64_t *in, uint64_t *out)
{
	*in = g->in_total;
	*out = g->out_total;
}

static unsigned thread_count(unsigned wanted)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = wanted ? wanted : cpus > 0 ? (unsigned)cpus : 1;
	return n > MAX_THREADS ? MAX_THREADS : n;
}

/* The workers take no signals: SIGINT must interrupt the writer's calls. */
static int start_workers(hd_gzsink *g, unsigned n)
{
	g->workers = calloc(n, sizeof *g->workers);
	if (!g->workers)
		return hdump_fail(HDUMP_E_INTERNAL, "out of memory");
	g->nworkers = n;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = 0;
	for (unsigned i = 0; rc == 0 && i < n; i++) {
		struct worker *w = &g->workers[i];
		w->g = g;
		if (stream_init(w, g->level) != 0)
			rc = -1;
		else if (pthread_create(&w->tid, NULL, worker_main, w) != 0)
			rc = hdump_fail(HDUMP_E_INTERNAL, "cannot start a compression thread");
		else
			w->started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

hd_gzsink *gzsink_new(const struct hdump_sink *inner, unsigned threads, int level)
{
	if (level < 0 || level > 9) {
		hdump_fail(HDUMP_E_USAGE, "gzip level %d is not from 1 to 9", level);
		return NULL;
	}
	hd_gzsink *g = calloc(1, sizeof *g);
	if (!g) {
		hdump_fail(HDUMP_E_INTERNAL, "out of memory");
		return NULL;
	}
	g->inner = *inner;
	g->level = level ? level : GZSINK_DEFAULT_LEVEL;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->queued, NULL);
	pthread_cond_init(&g->done, NULL);
	unsigned n = thread_count(threads);
	int rc = stream_init(&g->self, g->level);
	if (rc == 0)
		/* A sync flush adds an empty stored block (5 bytes) and the bits
		 * that complete a byte. */
		g->out_cap = deflateBound(&g->self.strm, BLOCK) + 16;
	g->nslots = n > 1 ? (size_t)n * SLOTS_PER_THREAD : 1;
	g->slots = rc == 0 ? calloc(g->nslots, sizeof *g->slots) : NULL;
	g->tail = malloc(DICT);
	if (rc == 0 && (!g->slots || !g->tail))
		rc = hdump_fail(HDUMP_E_INTERNAL, "out of memory");
	for (size_t i = 0; rc == 0 && i < g->nslots; i++) {
		struct slot *s = &g->slots[i];
		s->in = malloc(BLOCK);
		s->dict = malloc(DICT);
		s->out = malloc(g->out_cap);
		if (!s->in || !s->dict || !s->out)
			rc = hdump_fail(HDUMP_E_INTERNAL, "out of memory");
	}
	if (rc == 0 && n > 1)
		rc = start_workers(g, n);
	if (rc != 0) {
		gzsink_free(g);
		return NULL;
	}
	return g;
}

void gzsink_free(hd_gzsink *g)
{
	if (!g)
		return;
	if (g->workers) {
		pthread_mutex_lock(&g->lock);
		g->stopping = true;
		pthread_cond_broadcast(&g->queued);
		pthread_mutex_unlock(&g->lock);
		for (unsigned i = 0; i < g->nworkers; i++) {
			if (g->workers[i].started)
				pthread_join(g->workers[i].tid, NULL);
			if (g->workers[i].strm_ready)
				deflateEnd(&g->workers[i].strm);
		}
		free(g->workers);
	}
	if (g->self.strm_ready)
		deflateEnd(&g->self.strm);
	for (size_t i = 0; g->slots && i < g->nslots; i++) {
		free(g->slots[i].in);
		free(g->slots[i].dict);
		free(g->slots[i].out);
	}
	free(g->slots);
	free(g->tail);
	pthread_cond_destroy(&g->queued);
	pthread_cond_destroy(&g->done);
	pthread_mutex_destroy(&g->lock);
	free(g);
}
