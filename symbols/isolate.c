#include "isolate.h"

#include "../common/grow.h"
#include "../common/hd_error.h"
#include "../common/interrupt.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 256 /* IsolateThreads one list may hold */
#define MAX_RUNTIME_CHUNKS (1u << 22)
#define PAGE 4096u

size_t isolates_find(const struct hd_maps *maps, const struct hd_elfimage *img,
		     uint64_t *starts, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < maps->n; i++) {
		const struct hd_mapping *m = &maps->v[i];
		if (m->dev != img->dev || m->ino != img->ino || !m->r)
			continue;
		/* The part of .svm_heap this mapping covers, if any. */
		uint64_t lo = m->offset > img->heap_offset ? m->offset : img->heap_offset;
		uint64_t len = m->end - m->start;
		if (lo >= img->heap_offset + img->heap_size || m->offset + len <= lo)
			continue;
		uint64_t start = m->start + (img->heap_offset - m->offset);
		if (lo != img->heap_offset)
			start = m->start - (m->offset - img->heap_offset);
		/* An isolate's copy sits just above its reserved, inaccessible null
		 * region; the loader's own mapping of the section does not. */
		const struct hd_mapping *below = maps_find(maps, start - 1);
		if (!below || below->r || below->ino == img->ino)
			continue;
		bool seen = false;
		for (size_t k = 0; k < n; k++)
			seen |= starts[k] == start;
		if (!seen && n < max)
			starts[n++] = start;
	}
	for (size_t i = 1; i < n; i++) /* insertion sort: a handful of isolates */
		for (size_t k = i; k > 0 && starts[k - 1] > starts[k]; k--) {
			uint64_t tmp = starts[k];
			starts[k] = starts[k - 1];
			starts[k - 1] = tmp;
		}
	return n;
}

/* Readable memory: the kernel does not merge every pair of adjacent
 * mappings, and a chunk may span two, so what counts is the run of
 * readable mappings without a hole.  RUNS[i]: where the run that mapping i
 * belongs to ends (0 if it is unreadable). */
static uint64_t *readable_runs(const struct hd_maps *maps)
{
	uint64_t *runs = calloc(maps->n + 1, sizeof *runs);
	if (!runs) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		return NULL;
	}
	for (size_t i = maps->n; i-- > 0;)
		if (maps->v[i].r)
			runs[i] = i + 1 < maps->n && runs[i + 1] && maps->v[i + 1].start == maps->v[i].end
					  ? runs[i + 1]
					  : maps->v[i].end;
	return runs;
}

/* The end of the readable memory from ADDR on, 0 if ADDR is unreadable. */
static uint64_t readable_end(const struct hd_maps *maps, const uint64_t *runs, uint64_t addr)
{
	const struct hd_mapping *m = maps_find(maps, addr);
	return m ? runs[m - maps->v] : 0;
}

/* ---- A set of addresses ------------------------------------------------ */

/* Open addressing over nonzero addresses, each with a value: sets of
 * chunks and thread-list nodes grow to millions, so no linear search. */
struct addr_map {
	uint64_t *keys, *vals;
	size_t n, cap;
};

static size_t addr_slot(const struct addr_map *m, uint64_t key)
{
	size_t i = (size_t)((key >> 3) * 0x9e3779b97f4a7c15ull) & (m->cap - 1);
	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* The value of KEY, 0 if absent. */
static uint64_t addr_get(const struct addr_map *m, uint64_t key)
{
	return m->cap ? m->vals[addr_slot(m, key)] : 0;
}

static int addr_put(struct addr_map *m, uint64_t key, uint64_t val)
{
	if (2 * (m->n + 1) > m->cap) {
		struct addr_map big = {.cap = m->cap ? 2 * m->cap : 1024};
		big.keys = calloc(big.cap, sizeof *big.keys);
		big.vals = calloc(big.cap, sizeof *big.vals);
		if (!big.keys || !big.vals) {
			free(big.keys);
			free(big.vals);
			return hd_fail(HD_E_INTERNAL, "out of memory");
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i]) {
				size_t k = addr_slot(&big, m->keys[i]);
				big.keys[k] = m->keys[i];
				big.vals[k] = m->vals[i];
				big.n++;
			}
		free(m->keys);
		free(m->vals);
		*m = big;
	}
	size_t i = addr_slot(m, key);
	m->n += !m->keys[i];
	m->keys[i] = key;
	m->vals[i] = val;
	return 0;
}

static void addr_map_free(struct addr_map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

/* ---- Threads ------------------------------------------------------------ */

static bool rd64(hd_memview *mv, uint64_t a, uint64_t *v) { return mv_try_read(mv, a, v, 8) == 0; }

static const struct hd_task *match_task(const struct hd_target *t, uint64_t handle, uint64_t id);

/* The search for the thread list's head: every list node is evaluated
 * once (how many nodes and live threads follow it), whichever candidate
 * word leads to it, so the work grows with the nodes, not with the
 * candidates times the list length.  Only nodes that carry this isolate's
 * word are remembered, and every candidate that is not remembered yet
 * costs a read: both are bounded, so a writable image heap full of
 * pointer-like words costs a bounded number of reads and no memory. */
#define HEAD_STEPS_BUDGET (1u << 14) /* nodes reached through links, in all */
#define NODE_VISITING UINT64_MAX     /* on the path being evaluated: a cycle */
#define NODE_BAD (UINT64_MAX - 1)    /* not a proper list of this isolate */

struct head_search {
	hd_memview *mv;
	const struct hd_threadlocals *tl;
	uint64_t heap_base;
	const struct hd_target *t;
	struct addr_map nodes; /* node of this isolate -> 1 + (length << 16 | live
				  threads), a mark, or 0: not judged */
	unsigned steps, candidates;
};

static uint64_t node_result(uint64_t len, uint64_t live) { return 1 + (len << 16 | live); }

/* How many live threads the list starting at P holds; 0 if it is not a
 * proper list of this isolate's threads (freed IsolateThreads keep their
 * isolate word, and their stale links can form cycles).  -1: out of
 * memory or over the budget (error recorded). */
static int64_t live_chain_length(struct head_search *s, uint64_t p)
{
	struct {
		uint64_t node;
		bool live;
	} path[MAX_THREADS + 1];
	size_t n = 0;
	uint64_t base = node_result(0, 0), q = p;
	while (q) {
		uint64_t known = addr_get(&s->nodes, q), iso, handle = 0, id = 0, next;
		if (known) {
			base = known == NODE_VISITING ? NODE_BAD : known;
			break;
		}
		if (n == MAX_THREADS) {
			/* Too long from here; a later node may still head a
			 * proper list, so the path stays unjudged (0). */
			base = 0;
			break;
		}
		if (n > 0 && ++s->steps > HEAD_STEPS_BUDGET)
			return hd_fail(HD_E_INCONSISTENT,
				       "thread lists of more than %u IsolateThreads in all: not a live isolate",
				       HEAD_STEPS_BUDGET);
		if (n == 0 && ++s->candidates > ISOLATE_HEAD_CANDIDATES_MAX)
			return hd_fail(HD_E_INCONSISTENT,
				       "more than %u words of the image heap point at writable memory "
				       "that may hold the thread list: not a live isolate",
				       ISOLATE_HEAD_CANDIDATES_MAX);
		if (!rd64(s->mv, q + (unsigned)s->tl->isolate, &iso) || iso != s->heap_base ||
		    !rd64(s->mv, q + (unsigned)s->tl->next, &next)) {
			base = NODE_BAD; /* not remembered: the budgets bound its cost */
			break;
		}
		if (addr_put(&s->nodes, q, NODE_VISITING) != 0)
			return -1;
		path[n].node = q;
		rd64(s->mv, q + (unsigned)s->tl->os_thread_handle, &handle);
		if (s->tl->os_thread_id >= 0)
			rd64(s->mv, q + (unsigned)s->tl->os_thread_id, &id);
		path[n++].live = match_task(s->t, handle, id) != NULL;
		q = next;
	}
	/* Every node on the path gets its result, from the end back. */
	while (n--) {
		if (base && base != NODE_BAD) {
			uint64_t len = ((base - 1) >> 16) + 1, live = ((base - 1) & 0xffff) + path[n].live;
			base = len > MAX_THREADS ? NODE_BAD : node_result(len, live);
		}
		if (addr_put(&s->nodes, path[n].node, base) != 0)
			return -1;
	}
	return !base || base == NODE_BAD ? 0 : (int64_t)((base - 1) & 0xffff);
}

/* The head of the thread list: VMThreads.head is a word in the writable
 * image heap.  Any word there that points at an IsolateThread of this heap
 * is a candidate; the head is the one with the most live threads behind it.
 * Returns 0 and *HEAD (0: none found), or -1. */
static int find_thread_head(hd_memview *mv, const struct hd_maps *maps, const struct hd_layout *L,
			    const struct hd_threadlocals *tl, const struct hd_target *t,
			    uint64_t *head)
{
	struct head_search s = {.mv = mv, .tl = tl, .heap_base = L->heap_base, .t = t};
	uint64_t best = 0;
	int64_t best_len = 0;
	uint64_t image_end = L->image_start + L->image_size;
	uint8_t *buf = malloc(1u << 20);
	if (!buf)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	int rc = 0;
	for (size_t i = 0; i < maps->n && rc == 0; i++) {
		const struct hd_mapping *m = &maps->v[i];
		if (!m->w || !m->r || m->end <= L->image_start || m->start >= image_end)
			continue;
		for (uint64_t a = m->start; a < m->end && a < image_end && rc == 0; a += 1u << 20) {
			size_t len = (size_t)((m->end - a) < (1u << 20) ? (m->end - a) : (1u << 20));
			if (mv_try_read(mv, a, buf, len) != 0)
				continue;
			if (hd_interrupted()) {
				rc = hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
				break;
			}
			for (size_t k = 0; k + 8 <= len; k += 8) {
				uint64_t p = ld_u64(buf + k);
				if (p < PAGE || (p & 7) || (p >= L->image_start && p < image_end))
					continue;
				const struct hd_mapping *pm = maps_find(maps, p);
				if (!pm || !pm->r || !pm->w)
					continue;
				int64_t n = live_chain_length(&s, p);
				if (n < 0) {
					rc = -1;
					break;
				}
				if (n > best_len) {
					best_len = n;
					best = p;
				}
			}
		}
	}
	free(buf);
	addr_map_free(&s.nodes);
	/* Without a static head, a thread stopped in Java code has its
	 * IsolateThread in r15 (and the heap base in r14). */
	for (size_t i = 0; rc == 0 && !best && i < t->n; i++) {
		const struct hd_task *task = &t->tasks[i];
		uint64_t iso;
		if (task->have_regs && task->r14 == L->heap_base &&
		    rd64(mv, task->r15 + (unsigned)tl->isolate, &iso) && iso == L->heap_base)
			best = task->r15;
	}
	*head = best;
	return rc;
}

static const struct hd_task *match_task(const struct hd_target *t, uint64_t handle, uint64_t id)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct hd_task *task = &t->tasks[i];
		if ((task->have_regs && (task->fs_base == handle || task->fs_base == id)) ||
		    (uint64_t)task->tid == id)
			return task;
	}
	return NULL;
}

static int find_threads(struct hd_isolate *iso, hd_memview *mv, const struct hd_maps *maps,
			const uint64_t *runs, const struct hd_layout *L,
			const struct hd_threadlocals *tl, const struct hd_target *t)
{
	/* An isolate may have no thread attached at the moment (a compiler
	 * isolate between compilations): then only its Spaces hold chunks. */
	uint64_t p = 0;
	if (find_thread_head(mv, maps, L, tl, t, &p) != 0)
		return -1;
	size_t cap = MAX_THREADS;
	iso->threads = calloc(cap, sizeof *iso->threads);
	if (!iso->threads)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	while (p) {
		uint64_t isolate, handle = 0, id = 0, next = 0;
		if (!rd64(mv, p + (unsigned)tl->isolate, &isolate) || isolate != L->heap_base)
			return hd_fail(HD_E_INCONSISTENT, "thread list entry 0x%" PRIx64
							  " belongs to another isolate", p);
		if (iso->nthreads == cap)
			return hd_fail(HD_E_INCONSISTENT, "thread list does not end");
		struct hd_ithread *th = &iso->threads[iso->nthreads++];
		memset(th, 0, sizeof *th);
		th->addr = p;
		rd64(mv, p + (unsigned)tl->os_thread_handle, &handle);
		if (tl->os_thread_id >= 0)
			rd64(mv, p + (unsigned)tl->os_thread_id, &id);
		th->task = match_task(t, handle, id);
		if (mv_read(mv, p + (unsigned)tl->tlab, th->tlab, sizeof th->tlab) != 0)
			return -1;
		if (tl->current_thread >= 0) {
			uint8_t raw[8] = {0};
			if (mv_read(mv, p + (unsigned)tl->current_thread, raw, L->ref_size) != 0)
				return -1;
			th->thread_obj = lay_ref(L, raw);
		}
		if (tl->stack_base >= 0)
			rd64(mv, p + (unsigned)tl->stack_base, &th->stack_hi);
		/* The stack: from the stopped thread's rsp up to StackBase, within
		 * the run of adjacent readable mappings that holds rsp (a copy or
		 * scan is no bigger). */
		uint64_t stack_end = th->task ? readable_end(maps, runs, th->task->rsp) : 0;
		if (stack_end) {
			th->stack_lo = th->task->rsp;
			if (th->stack_hi <= th->stack_lo || th->stack_hi > stack_end)
				th->stack_hi = stack_end;
		} else {
			th->stack_hi = 0;
		}
		if (!rd64(mv, p + (unsigned)tl->next, &next))
			return hd_fail(HD_E_INCONSISTENT, "thread list entry 0x%" PRIx64 " is cut off", p);
		p = next;
	}
	return 0;
}

/* ---- Chunks ------------------------------------------------------------- */

struct chunk_set {
	struct hd_chunk *v;
	size_t n, cap;
	struct addr_map seen;
};

static bool have_chunk(const struct chunk_set *s, uint64_t addr) { return addr_get(&s->seen, addr); }

static int push_chunk(struct chunk_set *s, const struct hd_chunk *c)
{
	if (s->n >= MAX_RUNTIME_CHUNKS)
		return hd_fail(HD_E_INCONSISTENT, "more than %u heap chunks", MAX_RUNTIME_CHUNKS);
	if (hd_grow(&s->v, &s->cap, s->n, sizeof *s->v, 256) != 0 || addr_put(&s->seen, c->addr, 1) != 0)
		return -1;
	s->v[s->n++] = *c;
	return 0;
}

struct chunk_ctx {
	struct hd_isolate *iso;
	hd_memview *mv;
	const struct hd_maps *maps;
	const uint64_t *runs; /* readable_runs(maps) */
	const struct hd_layout *L;
	struct hd_walker *w;
	struct chunk_set set;
	size_t image_chunks;
	uint64_t tlab_reserve;
	uint64_t image_end;
};

/* The live top of an aligned chunk a TLAB owns (its header says "null"). */
static uint64_t tlab_top(const struct chunk_ctx *x, uint64_t c)
{
	for (size_t i = 0; i < x->iso->nthreads; i++)
		if (x->iso->threads[i].tlab[0] == c)
			return x->iso->threads[i].tlab[2];
	return 0;
}

/* Adds the chunk at C (ALIGNED: of which kind) and every chunk its header's
 * next links lead to, until the end of the chain or a chunk already known.
 * Returns 0, or -1 with the error recorded: HD_E_INCONSISTENT for a bad
 * header or a chain that runs into the image heap or grows too long,
 * HD_E_INTERRUPTED, or what a read reports. */
static int add_chain(struct chunk_ctx *x, uint64_t c, bool aligned)
{
	const struct hd_layout *L = x->L;
	for (size_t steps = 0; c; steps++) {
		if (steps > MAX_RUNTIME_CHUNKS || (c >= L->image_start && c < x->image_end))
			return hd_fail(HD_E_INCONSISTENT, "heap chunk list runs into the image heap");
		if (hd_interrupted())
			return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
		if (have_chunk(&x->set, c))
			return 0;
		uint8_t hdr[128];
		if (mv_read(x->mv, c, hdr, L->ch_struct_end) != 0)
			return -1;
		int64_t end = (int64_t)ld_u64(hdr + L->ch_end), top = (int64_t)ld_u64(hdr + L->ch_top);
		int64_t next = (int64_t)ld_u64(hdr + L->ch_next);
		struct hd_chunk ch = {.addr = c, .aligned = aligned};
		if (aligned) {
			if ((c & (L->chunk_size - 1)) || (uint64_t)end != L->chunk_size)
				return hd_fail(HD_E_INCONSISTENT, "bad aligned chunk header at 0x%" PRIx64, c);
			uint64_t abs_top = c + (uint64_t)top;
			if (abs_top == 0) { /* owned by a TLAB: the thread has the top */
				abs_top = tlab_top(x, c);
				if (!abs_top)
					return hd_fail(HD_E_INCONSISTENT,
						       "chunk 0x%" PRIx64 " belongs to no thread's TLAB", c);
			}
			if (abs_top < c + L->aligned_obj_start || abs_top > c + L->chunk_size ||
			    abs_top > readable_end(x->maps, x->runs, c))
				return hd_fail(HD_E_INCONSISTENT, "chunk 0x%" PRIx64 " has top 0x%" PRIx64, c,
					       abs_top);
			ch.first = c + L->aligned_obj_start;
			ch.top = abs_top;
		} else {
			if ((c & (PAGE - 1)) || end <= (int64_t)L->ch_struct_end || top > end ||
			    top <= (int64_t)L->ch_struct_end)
				return hd_fail(HD_E_INCONSISTENT, "bad unaligned chunk header at 0x%" PRIx64, c);
			/* A runtime chunk: its object carries the optional hash only
			 * if its header says so, and it lies within its mapping. */
			uint64_t limit = readable_end(x->maps, x->runs, c);
			if (!limit)
				return hd_fail(HD_E_INCONSISTENT, "unaligned chunk 0x%" PRIx64 " is not mapped", c);
			uint64_t start = hw_unaligned_object_start(x->w, c, (uint64_t)top, limit, false);
			if (!start)
				return -1;
			ch.first = c + start;
			ch.top = c + (uint64_t)top;
		}
		if (push_chunk(&x->set, &ch) != 0)
			return -1;
		c = next ? c + (uint64_t)next : 0;
	}
	return 0;
}

/* Is V the address of a valid chunk header, and of which kind? */
static int probe_chunk(struct chunk_ctx *x, uint64_t v, bool *aligned)
{
	const struct hd_layout *L = x->L;
	uint64_t words[16];
	if (!v || (v & (PAGE - 1)) || (v >= L->image_start && v < x->image_end) ||
	    mv_try_read(x->mv, v, words, L->ch_struct_end) != 0)
		return 0;
	uint64_t end = words[L->ch_end / 8];
	if (!(v & (L->chunk_size - 1)) && end == L->chunk_size) {
		*aligned = true;
		return 1;
	}
	uint64_t top = words[L->ch_top / 8];
	if (end > L->ch_struct_end + 8 && end < (1ull << 40) && top <= end && top > L->ch_struct_end) {
		*aligned = false;
		return 1;
	}
	return 0;
}

static int chain_roots_cb(void *ctx, const struct hd_object *o)
{
	struct chunk_ctx *x = ctx;
	const struct hd_class *cls = o->hubinfo.cls;
	static const char pkg[] = "com.oracle.svm.core.genscavenge.";
	if (cls->kind != HD_KIND_INSTANCE || strncmp(cls->name, pkg, sizeof pkg - 1) != 0)
		return 0;
	const char *simple = cls->name + sizeof pkg - 1;
	if (strcmp(simple, "Space") != 0 && strcmp(simple, "HeapAllocation") != 0)
		return 0;
	/* Chunk pointers are word fields: try every non-reference 8-byte slot. */
	for (size_t i = 0; i < cls->nfields; i++) {
		const struct hd_field *f = &cls->fields[i];
		if (f->type == HD_T_OBJECT || f->offset % 8 || f->offset + 8 > o->size)
			continue;
		uint64_t v = ld_u64(o->data + f->offset);
		bool aligned;
		if (probe_chunk(x, v, &aligned) && add_chain(x, v, aligned) != 0)
			return -1;
	}
	return 0;
}

static int image_chunk_cb(void *ctx, const struct hd_chunk *ch)
{
	struct chunk_ctx *x = ctx;
	if (push_chunk(&x->set, ch) != 0)
		return -1;
	x->image_chunks++;
	x->w->in_image_heap = true;
	return hw_walk_range(x->w, ch->first, ch->top, NULL, 0, chain_roots_cb, x);
}

static int cmp_gap(const void *a, const void *b)
{
	const struct hd_gap *x = a, *y = b;
	return (x->from > y->from) - (x->from < y->from);
}

/* Live TLABs carved out of shared chunks leave [top, end + reserve)
 * unformatted until they retire: the walk must step over them. */
static int attach_gaps(struct chunk_ctx *x)
{
	struct hd_isolate *iso = x->iso;
	iso->gaps = calloc(iso->nthreads + 1, sizeof *iso->gaps);
	if (!iso->gaps)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < iso->nthreads; i++) {
		const uint64_t *tl = iso->threads[i].tlab;
		if (!tl[2] || tl[2] > tl[1] || tl[0] > tl[2])
			continue;
		uint64_t to = tl[1] + x->tlab_reserve;
		if (to > tl[2])
			iso->gaps[iso->ngaps++] = (struct hd_gap){tl[2], to};
	}
	qsort(iso->gaps, iso->ngaps, sizeof *iso->gaps, cmp_gap);
	for (size_t i = 0; i < x->set.n; i++) {
		struct hd_chunk *ch = &x->set.v[i];
		if (ch->image || !ch->aligned)
			continue;
		/* The gaps that start inside the chunk: a run of the sorted list. */
		size_t lo = 0, hi = iso->ngaps;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (iso->gaps[mid].from < ch->first)
				lo = mid + 1;
			else
				hi = mid;
		}
		size_t count = 0;
		for (size_t g = lo; g < iso->ngaps && iso->gaps[g].from < ch->top; g++, count++)
			/* A TLAB whose chunk top is its own top: no gap inside. */
			if (iso->gaps[g].to > ch->top)
				iso->gaps[g].to = ch->top;
		if (count) {
			ch->gaps = &iso->gaps[lo];
			ch->ngaps = count;
		}
	}
	return 0;
}

int isolate_scan(struct hd_isolate *iso, hd_memview *proc, const struct hd_maps *maps,
		 const struct hd_layout *L, const struct hd_classes *classes,
		 const struct hd_threadlocals *tl, const struct hd_target *t)
{
	memset(iso, 0, sizeof *iso);
	iso->image_start = L->image_start;
	iso->heap_base = L->heap_base;
	uint64_t *runs = readable_runs(maps);
	struct hd_walker w;
	if (!runs || find_threads(iso, proc, maps, runs, L, tl, t) != 0 ||
	    hw_init(&w, L, proc, classes_lookup, (void *)classes) != 0) {
		free(runs);
		return -1;
	}
	struct chunk_ctx x = {.iso = iso, .mv = proc, .maps = maps, .runs = runs, .L = L, .w = &w,
			      .image_end = L->image_start + L->image_size};
	const struct hd_class *filler = classes_named(classes, "com.oracle.svm.core.heap.FillerArray");
	if (!filler)
		filler = classes_named(classes, "[I");
	if (filler) {
		uint64_t min = (le_base(filler->enc) + 7u) & ~7u;
		x.tlab_reserve = min > 8 ? min : 0;
	}
	int rc = hw_image_chunks(&w, image_chunk_cb, &x);
	for (size_t i = 0; rc == 0 && i < iso->nthreads; i++) {
		const uint64_t *tlab = iso->threads[i].tlab;
		bool aligned;
		if (tlab[0] && !(tlab[0] & (L->chunk_size - 1)) && probe_chunk(&x, tlab[0], &aligned) && aligned)
			rc = add_chain(&x, tlab[0], true);
		if (rc == 0 && tlab[3])
			rc = add_chain(&x, tlab[3], false);
	}
	hw_fini(&w);
	free(runs);
	addr_map_free(&x.set.seen);
	if (rc == 0)
		rc = attach_gaps(&x);
	iso->chunks = x.set.v;
	iso->nchunks = x.set.n;
	iso->runtime_chunks = x.set.n - x.image_chunks;
	return rc;
}

void isolate_free(struct hd_isolate *iso)
{
	free(iso->threads);
	free(iso->chunks);
	free(iso->gaps);
	memset(iso, 0, sizeof *iso);
}

int isolate_chunks(void *ctx, struct hd_walker *w, hd_chunk_fn fn, void *fnctx)
{
	(void)w;
	struct hd_isolate *iso = ctx;
	for (size_t i = 0; i < iso->nchunks; i++) {
		if (hd_interrupted())
			return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
		int rc = fn(fnctx, &iso->chunks[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int isolate_read_ranges(const struct hd_isolate *iso, unsigned extent, struct hd_range **r,
			size_t *n)
{
	struct hd_range *v = calloc(iso->nchunks + 2 * iso->nthreads + 1, sizeof *v);
	if (!v)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < iso->nchunks; i++)
		v[k++] = (struct hd_range){iso->chunks[i].addr, iso->chunks[i].top};
	for (size_t i = 0; i < iso->nthreads; i++) {
		const struct hd_ithread *th = &iso->threads[i];
		if (th->stack_lo && th->stack_hi > th->stack_lo &&
		    th->stack_hi - th->stack_lo <= MAX_STACK_COPY)
			v[k++] = (struct hd_range){th->stack_lo & ~7ull, th->stack_hi};
		v[k++] = (struct hd_range){th->addr, th->addr + extent};
	}
	*r = v;
	*n = k;
	return 0;
}
