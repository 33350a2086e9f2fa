#include "coremem.h"

#include "../common/grow.h"
#include "../common/interrupt.h"
#include "../common/readat.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Where a piece of memory comes from: the core, or the executable. */
struct piece {
	uint64_t lo, hi;
	int fd;
	uint64_t off;
};

/* One run of adjacent pieces, mapped as one reservation so that a read
 * across two mappings works as it did in the process. */
struct core_run {
	void *base;
	size_t len;
};

struct builder {
	struct hd_corememory *m;
	const struct hd_corefile *cf;
	struct piece *pieces;
	size_t npieces, cap_pieces, cap_gaps;
	uint64_t copied; /* bytes read into memory, not mapped */
};

static int add_piece(struct builder *b, uint64_t lo, uint64_t hi, int fd, uint64_t off)
{
	if (lo >= hi)
		return 0;
	if (hd_grow(&b->pieces, &b->cap_pieces, b->npieces, sizeof *b->pieces, 64) != 0)
		return -1;
	b->pieces[b->npieces++] = (struct piece){lo, hi, fd, off};
	return 0;
}

static int add_gap(struct builder *b, uint64_t lo, uint64_t hi, enum core_gap_why why, size_t seg)
{
	struct hd_corememory *m = b->m;
	if (lo >= hi)
		return 0;
	if (hd_grow(&m->gaps, &b->cap_gaps, m->ngaps, sizeof *m->gaps, 16) != 0)
		return -1;
	m->gaps[m->ngaps++] = (struct core_gap){lo, hi, why, seg};
	return 0;
}

static bool is_exe(const struct hd_corefile *cf, const struct core_segment *s, const char *exe)
{
	return exe && s->file >= 0 && strcmp(cf->files[s->file].name, exe) == 0;
}

/* The part of segment I the core left out: from the executable where its
 * bytes must be the file's, else a gap. */
static int left_out(struct builder *b, size_t i, const char *exe, int exe_fd, uint64_t exe_size)
{
	const struct core_segment *s = &b->cf->segs[i];
	uint64_t lo = s->vaddr + s->filesz, hi = s->vaddr + s->memsz;
	if (lo >= hi || !s->r)
		return 0; /* no bytes, or none a process could read */
	if (!is_exe(b->cf, s, exe))
		return add_gap(b, lo, hi, s->file >= 0 ? GAP_FILE : GAP_ANONYMOUS, i);
	/* A private mapping the process wrote to is dumped whole while bit 0
	 * is on; without bit 0 its written pages are lost and the file's
	 * would be stale. */
	if (s->w && !b->m->anonymous_dumped)
		return add_gap(b, lo, hi, GAP_WRITTEN_EXE, i);
	uint64_t off = s->file_offset + s->filesz;
	uint64_t in_file = off < exe_size ? exe_size - off : 0;
	uint64_t end = in_file < hi - lo ? lo + in_file : hi;
	if (add_piece(b, lo, end, exe_fd, off) != 0)
		return -1;
	return add_gap(b, end, hi, GAP_PAST_FILE, i);
}

static int collect(struct builder *b, const char *exe, int exe_fd, uint64_t exe_size)
{
	const struct hd_corefile *cf = b->cf;
	for (size_t i = 0; i < cf->nsegs; i++) {
		const struct core_segment *s = &cf->segs[i];
		b->m->anonymous_dumped |= s->file < 0 && s->r && s->w && s->filesz > 0;
	}
	for (size_t i = 0; i < cf->nsegs; i++) {
		const struct core_segment *s = &cf->segs[i];
		if (add_piece(b, s->vaddr, s->vaddr + s->present, cf->fd, s->offset) != 0 ||
		    add_gap(b, s->vaddr + s->present, s->vaddr + s->filesz, GAP_TRUNCATED, i) != 0 ||
		    left_out(b, i, exe, exe_fd, exe_size) != 0)
			return -1;
	}
	return 0;
}

/* Copying is for the few bytes that cannot be mapped; a core that would
 * need more is refused rather than read into memory. */
#define COPY_MAX (1ull << 30)

/* Fills [P->lo, P->hi) at DST: the whole pages mapped from the source
 * where its offset shares DST's place in a page, the rest read. */
static int fill(struct builder *b, const struct piece *p, uint8_t *dst, uint64_t page)
{
	uint64_t len = p->hi - p->lo, head = 0, mapped = 0;
	if (((uintptr_t)dst - p->off) % page == 0) {
		head = (page - (uintptr_t)dst % page) % page;
		mapped = head < len ? (len - head) / page * page : 0;
	}
	uint64_t copied = len - mapped;
	if (copied > COPY_MAX - b->copied)
		return hd_fail(HD_E_INTERNAL, "a core's memory lies in it at offsets that are not "
			       "page-aligned as its addresses are, beyond the %llu MiB hdump copies",
			       COPY_MAX >> 20);
	b->copied += copied;
	if (mapped && mmap(dst + head, (size_t)mapped, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, p->fd,
			   (off_t)(p->off + head)) == MAP_FAILED)
		return hd_fail_errno(HD_E_INTERNAL, errno, "cannot map a core's memory");
	if (!mapped)
		head = len;
	uint64_t tail = head + mapped;
	if (hd_read_at(p->fd, "core", p->off, dst, (size_t)head) != 0 ||
	    hd_read_at(p->fd, "core", p->off + tail, dst + tail, (size_t)(len - tail)) != 0)
		return -1;
	return 0;
}

/* Where in a page the run's first byte goes: so that the piece holding
 * most bytes shares its source's page alignment and is mapped, not
 * copied (a kernel core's segments lie page-aligned in the file; gcore's
 * start at an odd offset, its adjacent segments adjacent in the file).
 * Addresses keep their place in 8 bytes, which readers of the view's
 * pointers may count on: a piece whose offset would break that is copied. */
static uint64_t run_shift(const struct builder *b, size_t first, size_t end, uint64_t page)
{
	size_t best = first;
	uint64_t lo = b->pieces[first].lo;
	for (size_t i = first + 1; i < end; i++)
		if (b->pieces[i].hi - b->pieces[i].lo > b->pieces[best].hi - b->pieces[best].lo)
			best = i;
	const struct piece *p = &b->pieces[best];
	if ((p->off - p->lo) % 8 != 0)
		return lo % page;
	return (p->off % page + page - (p->lo - lo) % page) % page;
}

static int map_run(struct builder *b, size_t first, size_t end, uint64_t page)
{
	struct hd_corememory *m = b->m;
	uint64_t lo = b->pieces[first].lo, hi = b->pieces[end - 1].hi;
	uint64_t shift = run_shift(b, first, end, page);
	if (hi - lo > SIZE_MAX - shift - page)
		return hd_fail(HD_E_INTERNAL, "a core's memory does not fit this address space");
	size_t len = (size_t)((shift + (hi - lo) + page - 1) / page * page);
	void *base = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return hd_fail_errno(HD_E_INTERNAL, errno, "cannot reserve %zu bytes for a core's "
				     "memory", len);
	m->runs[m->nruns++] = (struct core_run){base, len};
	uint8_t *at = (uint8_t *)base + shift;
	for (size_t i = first; i < end; i++) {
		if (hd_interrupted())
			return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d",
				       hd_interrupted_signal());
		if (fill(b, &b->pieces[i], at + (b->pieces[i].lo - lo), page) != 0)
			return -1;
	}
	if (mprotect(base, len, PROT_READ) != 0)
		return hd_fail_errno(HD_E_INTERNAL, errno, "mprotect");
	return mv_add_local(m->view, lo, at, (size_t)(hi - lo));
}

int corememory_build(struct hd_corememory *m, const struct hd_corefile *cf, const char *exe_name,
		     int exe_fd, uint64_t exe_size)
{
	memset(m, 0, sizeof *m);
	struct builder b = {.m = m, .cf = cf};
	long ps = sysconf(_SC_PAGESIZE);
	uint64_t page = ps > 0 ? (uint64_t)ps : 4096;
	if (!(m->view = mv_new_local()) || collect(&b, exe_name, exe_fd, exe_size) != 0)
		goto fail;
	m->runs = calloc(b.npieces ? b.npieces : 1, sizeof *m->runs);
	if (!m->runs) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		goto fail;
	}
	/* Pieces ascend (segments do, and do not overlap): runs are cut where
	 * one does not start where the last ended. */
	for (size_t i = 0, first = 0; i < b.npieces; i++)
		if (i + 1 == b.npieces || b.pieces[i + 1].lo != b.pieces[i].hi) {
			if (map_run(&b, first, i + 1, page) != 0)
				goto fail;
			first = i + 1;
		}
	free(b.pieces);
	return 0;
fail:
	free(b.pieces);
	return -1;
}

void corememory_free(struct hd_corememory *m)
{
	for (size_t i = 0; i < m->nruns; i++)
		munmap(m->runs[i].base, m->runs[i].len);
	free(m->runs);
	free(m->gaps);
	mv_free(m->view);
	memset(m, 0, sizeof *m);
}

const struct core_gap *corememory_gap(const struct hd_corememory *m, uint64_t lo, uint64_t hi)
{
	/* gaps ascend and do not overlap: the first that ends above LO */
	size_t a = 0, b = m->ngaps;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (m->gaps[mid].hi <= lo)
			a = mid + 1;
		else
			b = mid;
	}
	return a < m->ngaps && m->gaps[a].lo < hi ? &m->gaps[a] : NULL;
}

uint64_t corememory_missing_bytes(const struct hd_corememory *m)
{
	uint64_t n = 0;
	for (size_t i = 0; i < m->ngaps; i++)
		n += m->gaps[i].hi - m->gaps[i].lo;
	return n;
}

void corememory_describe(const struct core_gap *g, const struct hd_corefile *cf, char *buf,
			 size_t size)
{
	const struct core_segment *s = &cf->segs[g->seg];
	const char *name = s->file >= 0 ? cf->files[s->file].name : "anonymous memory";
	const char *why = "";
	switch (g->why) {
	case GAP_TRUNCATED:
		why = "the core file is truncated (a core size limit, ulimit -c, or a copy cut short)";
		break;
	case GAP_ANONYMOUS:
		why = "the core left anonymous memory out (coredump_filter bit 0 was off)";
		break;
	case GAP_FILE:
		why = "the core left file-backed pages out (coredump_filter bits 2 and 3)";
		break;
	case GAP_WRITTEN_EXE:
		why = "the core left the executable's written private pages out (coredump_filter "
		      "bit 0 was off)";
		break;
	case GAP_PAST_FILE:
		why = "the mapping runs past the end of the executable";
		break;
	}
	snprintf(buf, size, "0x%" PRIx64 "-0x%" PRIx64 " (%s, %" PRIu64 " bytes): %s", g->lo, g->hi,
		 name, g->hi - g->lo, why);
}
