#include "dio.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Two blocks: one filled while the other is written.  The device writes
 * a block of 1 MiB in about half the time the dump takes to make one (a
 * third block did not pay), and each costs the memory budget its MiB;
 * smaller blocks wrote at half the speed (256 KiB: 350 MB/s against
 * 650-700, one write at a time). */
#define NBLOCKS 2u

struct hd_dio {
	int fd;
	const char *name;
	uint8_t *blocks; /* NBLOCKS of DIO_BLOCK, aligned to DIO_ALIGN */
	unsigned fill;   /* the block the caller fills, fill_len bytes of it */
	size_t fill_len;
	struct dio_options opt;

	pthread_mutex_t lock;
	pthread_cond_t cond; /* a block queued or written, a stop */
	pthread_t thread;
	bool started, stop;
	/* Blocks head .. head + queued - 1 (mod NBLOCKS) wait for the thread,
	 * len[i] bytes each; the first goes at OFFSET. */
	unsigned head, queued;
	size_t len[NBLOCKS];
	uint64_t offset;
	int error; /* errno of the first failed write; then nothing more is written */
	/* The thread's, and the caller's while no block is queued: */
	bool can_direct; /* the file system takes O_DIRECT */
	bool direct;     /* the file's O_DIRECT flag */
	uint64_t written_back; /* written through the cache, write-back started */
};

enum hdump_error_class dio_error_class(int e)
{
	return e == ENOSPC || e == EDQUOT ? HDUMP_E_DISK_FULL : HDUMP_E_OUTPUT;
}

static int set_direct(hd_dio *d, bool on)
{
	int fl = fcntl(d->fd, F_GETFL);
	if (fl < 0 || fcntl(d->fd, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT) != 0)
		return errno;
	d->direct = on;
	return 0;
}

/* With write_back_early, starts the device writing what went through the
 * cache since the last call, every DIO_WRITEBACK_STEP bytes, without
 * waiting for it.  Left to the kernel, a dump stays in the cache up to the
 * background dirty limit (a tenth of memory by default, more than most
 * dumps) and a final wait for it (output_commit) would take all of it at
 * device speed once the walk is done (0.8 s for 1.5 GB here).  Returns 0
 * or an errno. */
static int start_writeback(hd_dio *d, uint64_t end)
{
	if (!d->opt.write_back_early || d->direct || end - d->written_back < DIO_WRITEBACK_STEP)
		return 0;
	if (sync_file_range(d->fd, (off_t)d->written_back, (off_t)(end - d->written_back),
			    SYNC_FILE_RANGE_WRITE) != 0) {
		/* An I/O error or a full disk fails the dump; any other error
		 * (no early write-back on this file system) leaves the writing
		 * to the final wait. */
		int e = errno;
		if (e == EIO || e == ENOSPC || e == EDQUOT)
			return e;
	}
	d->written_back = end;
	return 0;
}

/* Writes LEN bytes of P at OFF: through the cache within the budget, and
 * for the unaligned tail (O_DIRECT would need it padded); aligned with
 * O_DIRECT past it while the file system takes it.  Returns 0 or an errno. */
static int write_block(hd_dio *d, const uint8_t *p, size_t len, uint64_t off)
{
	while (len) {
		size_t n = len;
		bool direct = d->can_direct && off >= d->opt.cache_budget && off % DIO_ALIGN == 0 &&
			      n >= DIO_ALIGN;
		if (direct != d->direct) {
			int e = set_direct(d, direct);
			if (e)
				return e;
			d->written_back = off;
		}
		if (direct)
			n -= n % DIO_ALIGN;
		ssize_t w = pwrite(d->fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EINVAL && d->direct) {
			/* Accepted at fcntl, refused here (an alignment this file
			 * system wants larger): through the cache from now on. */
			d->can_direct = false;
			continue;
		}
		if (w < 0)
			return errno;
		if (w == 0)
			return EIO;
		p += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return start_writeback(d, off);
}

static void *writer_main(void *arg)
{
	hd_dio *d = arg;
	pthread_mutex_lock(&d->lock);
	for (;;) {
		while (!d->queued && !d->stop)
			pthread_cond_wait(&d->cond, &d->lock);
		if (d->stop)
			break;
		unsigned i = d->head;
		size_t len = d->len[i];
		uint64_t off = d->offset;
		bool failed = d->error != 0;
		pthread_mutex_unlock(&d->lock);
		int e = failed ? 0 : write_block(d, d->blocks + (size_t)i * DIO_BLOCK, len, off);
		pthread_mutex_lock(&d->lock);
		if (e)
			d->error = e;
		d->offset += len;
		d->head = (i + 1) % NBLOCKS;
		d->queued--;
		pthread_cond_broadcast(&d->cond);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

hd_dio *dio_new(int fd, const char *name, struct dio_options opt)
{
	hd_dio *d = calloc(1, sizeof *d);
	void *blocks = NULL;
	if (!d || posix_memalign(&blocks, DIO_ALIGN, (size_t)NBLOCKS * DIO_BLOCK) != 0) {
		free(d);
		hdump_fail(HDUMP_E_INTERNAL, "out of memory");
		return NULL;
	}
	d->fd = fd;
	d->name = name;
	d->blocks = blocks;
	d->opt = opt;
	/* A file system without O_DIRECT refuses it here (EINVAL).  The first
	 * write sets the flag its offset wants. */
	d->can_direct = opt.cache_budget != UINT64_MAX && set_direct(d, true) == 0;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	/* Signals are for the thread that polls hdump_interrupted(). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	d->started = pthread_create(&d->thread, NULL, writer_main, d) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!d->started) {
		dio_free(d);
		hdump_fail(HDUMP_E_INTERNAL, "cannot start the output's writer thread");
		return NULL;
	}
	return d;
}

/* Queues the block being filled, if anything is in it, then waits until
 * a block is free (ALL: until every block is written).  Under the lock. */
static int submit(hd_dio *d, bool all)
{
	pthread_mutex_lock(&d->lock);
	if (d->fill_len) {
		d->len[d->fill] = d->fill_len;
		d->queued++;
		d->fill = (d->fill + 1) % NBLOCKS;
		d->fill_len = 0;
		pthread_cond_broadcast(&d->cond);
	}
	while (all ? d->queued > 0 : d->queued == NBLOCKS)
		pthread_cond_wait(&d->cond, &d->lock);
	int e = d->error;
	pthread_mutex_unlock(&d->lock);
	if (e)
		return hdump_fail_errno(dio_error_class(e), e, "writing %s", d->name);
	return 0;
}

int dio_write(hd_dio *d, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		size_t n = DIO_BLOCK - d->fill_len;
		if (n > len)
			n = len;
		memcpy(d->blocks + (size_t)d->fill * DIO_BLOCK + d->fill_len, p, n);
		d->fill_len += n;
		p += n;
		len -= n;
		if (d->fill_len == DIO_BLOCK && submit(d, false) != 0)
			return -1;
	}
	return 0;
}

int dio_flush(hd_dio *d)
{
	return submit(d, true);
}

int dio_rewind(hd_dio *d)
{
	/* What was queued is written, then cut: the thread stays simple. */
	d->fill_len = 0;
	if (submit(d, true) != 0)
		return -1;
	d->offset = 0;
	d->written_back = 0;
	if (ftruncate(d->fd, 0) != 0)
		return hdump_fail_errno(HDUMP_E_OUTPUT, errno, "cannot rewrite %s", d->name);
	return 0;
}

bool dio_direct_taken(const hd_dio *d)
{
	return d->can_direct;
}

/* The number in the file PATH (a sysctl), or false. */
static bool read_number(const char *path, uint64_t *out)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	unsigned long long v;
	bool ok = fscanf(f, "%llu", &v) == 1;
	fclose(f);
	if (ok)
		*out = v;
	return ok;
}

uint64_t dio_cache_budget(void)
{
	uint64_t dirty_bytes = 0, ratio = 20;
	if (read_number("/proc/sys/vm/dirty_bytes", &dirty_bytes) && dirty_bytes)
		return dirty_bytes / 2;
	read_number("/proc/sys/vm/dirty_ratio", &ratio);
	struct hdump_memory_usage m;
	if (hdump_memory_usage(getpid(), &m) != 0 || m.mem_available < 0)
		return 0;
	uint64_t avail = (uint64_t)m.mem_available;
	if (m.cgroup_limit >= 0 && m.cgroup_current >= 0) {
		uint64_t room = m.cgroup_limit > m.cgroup_current
					? (uint64_t)(m.cgroup_limit - m.cgroup_current)
					: 0;
		if (room < avail)
			avail = room;
	}
	if (ratio > 100)
		ratio = 100;
	return avail / 100 * ratio / 2;
}

void dio_free(hd_dio *d)
{
	if (!d)
		return;
	if (d->started) {
		pthread_mutex_lock(&d->lock);
		d->stop = true;
		pthread_cond_broadcast(&d->cond);
		pthread_mutex_unlock(&d->lock);
		pthread_join(d->thread, NULL);
	}
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d->blocks);
	free(d);
}
