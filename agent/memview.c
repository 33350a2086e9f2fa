#include "memview.h"

#include "../common/grow.h"
#include "../common/hd_error.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

struct local_region {
	uint64_t addr;
	size_t len;
	const uint8_t *data;
};

struct hd_memview {
	pid_t pid;   /* 0: local regions only */
	size_t last; /* region of the last hit: reads come in runs */
	bool sorted;
	bool may_tear; /* reads that miss are torn reads, not layout errors */
	int mem_fd;  /* /proc/PID/mem, opened lazily when process_vm_readv is refused */
	bool use_mem_fd;
	uint64_t page_mask; /* the kernel's page size - 1 */
	struct local_region *regions;
	size_t nregions, cap;
	struct mv_stats stats;
};

hd_memview *mv_new_local(void)
{
	hd_memview *mv = calloc(1, sizeof *mv);
	if (!mv) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		return NULL;
	}
	mv->mem_fd = -1;
	long page = sysconf(_SC_PAGESIZE);
	mv->page_mask = page > 0 ? (uint64_t)page - 1 : 4095;
	return mv;
}

int mv_add_local(hd_memview *mv, uint64_t addr, const void *data, size_t len)
{
	if (addr + len < addr)
		return hd_fail(HD_E_INTERNAL, "local region wraps the address space");
	if (hd_grow(&mv->regions, &mv->cap, mv->nregions, sizeof *mv->regions, 4) != 0)
		return -1;
	mv->regions[mv->nregions++] = (struct local_region){addr, len, data};
	mv->sorted = mv->nregions == 1 ||
		     (mv->sorted && mv->regions[mv->nregions - 2].addr < addr);
	return 0;
}

hd_memview *mv_new_process(pid_t pid)
{
	hd_memview *mv = mv_new_local();
	if (mv) {
		mv->pid = pid;
		mv->may_tear = true;
	}
	return mv;
}

void mv_reads_may_tear(hd_memview *mv) { mv->may_tear = true; }
bool mv_may_tear(const hd_memview *mv) { return mv->may_tear; }

void mv_read_without_pinning(hd_memview *mv) { mv->use_mem_fd = true; }

hd_memview *mv_clone(const hd_memview *mv)
{
	hd_memview *c = mv_new_local();
	if (!c)
		return NULL;
	c->pid = mv->pid;
	c->use_mem_fd = mv->use_mem_fd;
	c->may_tear = mv->may_tear;
	c->sorted = mv->sorted;
	if (mv->nregions) {
		c->regions = malloc(mv->nregions * sizeof *c->regions);
		if (!c->regions) {
			mv_free(c);
			hd_fail(HD_E_INTERNAL, "out of memory");
			return NULL;
		}
		memcpy(c->regions, mv->regions, mv->nregions * sizeof *c->regions);
		c->nregions = c->cap = mv->nregions;
	}
	return c;
}

void mv_free(hd_memview *mv)
{
	if (!mv)
		return;
	if (mv->mem_fd >= 0)
		close(mv->mem_fd);
	free(mv->regions);
	free(mv);
}

static const void *in_region(const struct local_region *r, uint64_t addr, size_t len)
{
	if (addr >= r->addr && len <= r->len && addr - r->addr <= r->len - len)
		return r->data + (addr - r->addr);
	return NULL;
}

const void *mv_local_ptr(hd_memview *mv, uint64_t addr, size_t len)
{
	hd_memview *m = mv;
	if (m->last < m->nregions) {
		const void *p = in_region(&m->regions[m->last], addr, len);
		if (p)
			return p;
	}
	if (m->sorted) {
		/* The last region starting at or below ADDR is the only candidate. */
		size_t lo = 0, hi = m->nregions;
		while (hi - lo > 1) {
			size_t mid = (lo + hi) / 2;
			if (m->regions[mid].addr <= addr)
				lo = mid;
			else
				hi = mid;
		}
		const void *p = m->nregions ? in_region(&m->regions[lo], addr, len) : NULL;
		if (p)
			m->last = lo;
		return p;
	}
	for (size_t i = 0; i < m->nregions; i++) {
		const void *p = in_region(&m->regions[i], addr, len);
		if (p) {
			m->last = i;
			return p;
		}
	}
	return NULL;
}

/* /proc/PID/mem: user-space addresses are far below 2^63, where pread's
 * signed offset would stop (elfutils f17d1012).  The kernel copies a read
 * one page-sized step at a time from the read's offset, looking up and
 * taking each page the step touches: a read that starts inside a page
 * touches two pages per step.  So the head up to the first page boundary
 * is read alone, and every later step covers one whole page. */
static int read_proc_mem(hd_memview *mv, uint64_t addr, void *buf, size_t len)
{
	if (mv->mem_fd < 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/mem", (int)mv->pid);
		mv->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (mv->mem_fd < 0)
			return -1;
	}
	if (addr >= (1ull << 63) || len >= (1ull << 63) - addr) {
		errno = EFAULT;
		return -1;
	}
	size_t done = 0;
	while (done < len) {
		size_t want = len - done;
		uint64_t in_page = (addr + done) & mv->page_mask;
		if (in_page && want > mv->page_mask + 1 - in_page)
			want = (size_t)(mv->page_mask + 1 - in_page);
		mv->stats.syscalls++;
		ssize_t n = pread(mv->mem_fd, (uint8_t *)buf + done, want, (off_t)(addr + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EFAULT;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

static int read_process(hd_memview *mv, uint64_t addr, void *buf, size_t len)
{
	if (!mv->use_mem_fd) {
		size_t done = 0;
		while (done < len) {
			struct iovec local = {(uint8_t *)buf + done, len - done};
			struct iovec remote = {(void *)(uintptr_t)(addr + done), len - done};
			mv->stats.syscalls++;
			ssize_t n = process_vm_readv(mv->pid, &local, 1, &remote, 1, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
				/* Refused by seccomp or an old kernel: /proc/PID/mem
				 * serves the same pages while we are the tracer. */
				mv->use_mem_fd = true;
				return read_proc_mem(mv, addr + done, (uint8_t *)buf + done,
						     len - done);
			}
			if (n < 0)
				return -1;
			if (n == 0) {
				errno = EFAULT;
				return -1;
			}
			/* A short count stops at the first unmapped page. */
			done += (size_t)n;
		}
		return 0;
	}
	return read_proc_mem(mv, addr, buf, len);
}

int mv_try_read(hd_memview *mv, uint64_t addr, void *buf, size_t len)
{
	if (len == 0)
		return 0;
	mv->stats.reads++;
	mv->stats.bytes += len;
	const void *p = mv_local_ptr(mv, addr, len);
	if (p) {
		memcpy(buf, p, len);
		return 0;
	}
	if (mv->pid == 0 || addr + len < addr) {
		errno = EFAULT;
		return -1;
	}
	return read_process(mv, addr, buf, len);
}

int mv_read(hd_memview *mv, uint64_t addr, void *buf, size_t len)
{
	if (mv_try_read(mv, addr, buf, len) == 0)
		return 0;
	if (errno == ESRCH)
		return hd_fail(HD_E_TARGET_GONE, "target process %d exited", (int)mv->pid);
	return hd_fail(mv->may_tear ? HD_E_TORN : HD_E_LAYOUT,
		       "cannot read %zu bytes at 0x%" PRIx64 ": not mapped", len, addr);
}

struct mv_stats mv_stats(const hd_memview *mv) { return mv->stats; }
