#include "isolate.h"

#include "../common/grow.h"
#include "../common/hd_error.h"

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

/* ---- Threads ------------------------------------------------------------ */

static bool rd64(hd_memview *mv, uint64_t a, uint64_t *v) { return mv_try_read(mv, a, v, 8) == 0; }

static const struct hd_task *match_task(const struct hd_target *t, uint64_t handle, uint64_t id);

/* How many live threads the list starting at P holds; 0 if it is not a
 * proper list of this isolate's threads (freed IsolateThreads keep their
 * isolate word, and their stale links can form cycles). */
static size_t live_chain_length(hd_memview *mv, uint64_t p, const struct hd_threadlocals *tl,
				uint64_t heap_base, const struct hd_target *t)
{
	uint64_t seen[256];
	size_t n = 0, live = 0;
	uint64_t iso;
	while (p) {
		if (n == sizeof seen / sizeof seen[0] || !rd64(mv, p + (unsigned)tl->isolate, &iso) ||
		    iso != heap_base)
			return 0;
		for (size_t i = 0; i < n; i++)
			if (seen[i] == p)
				return 0;
		seen[n++] = p;
		uint64_t handle = 0, id = 0;
		rd64(mv, p + (unsigned)tl->os_thread_handle, &handle);
		if (tl->os_thread_id >= 0)
			rd64(mv, p + (unsigned)tl->os_thread_id, &id);
		live += match_task(t, handle, id) != NULL;
		if (!rd64(mv, p + (unsigned)tl->next, &p))
			return 0;
	}
	return live;
}

/* The head of the thread list: VMThreads.head is a word in the writable
 * image heap.  Any word there that points at an IsolateThread of this heap
 * is a candidate; the head is the one with the most live threads behind it. */
static uint64_t find_thread_head(hd_memview *mv, const struct hd_maps *maps,
				 const struct hd_layout *L, const struct hd_threadlocals *tl,
				 const struct hd_target *t)
{
	uint64_t best = 0;
	size_t best_len = 0;
	uint64_t image_end = L->image_start + L->image_size;
	uint8_t *buf = malloc(1u << 20);
	if (!buf)
		return 0;
	for (size_t i = 0; i < maps->n; i++) {
		const struct hd_mapping *m = &maps->v[i];
		if (!m->w || !m->r || m->end <= L->image_start || m->start >= image_end)
			continue;
		for (uint64_t a = m->start; a < m->end && a < image_end; a += 1u << 20) {
			size_t len = (size_t)((m->end - a) < (1u << 20) ? (m->end - a) : (1u << 20));
			if (mv_try_read(mv, a, buf, len) != 0)
				continue;
			for (size_t k = 0; k + 8 <= len; k += 8) {
				uint64_t p = ld_u64(buf + k), iso;
				if (p < PAGE || (p & 7) || (p >= L->image_start && p < image_end))
					continue;
				const struct hd_mapping *pm = maps_find(maps, p);
				if (!pm || !pm->r || !pm->w)
					continue;
				if (!rd64(mv, p + (unsigned)tl->isolate, &iso) || iso != L->heap_base)
					continue;
				size_t n = live_chain_length(mv, p, tl, L->heap_base, t);

				if (n > best_len) {
					best_len = n;
					best = p;
				}
			}
		}
	}
	free(buf);
	/* Without a static head, a thread stopped in Java code has its
	 * IsolateThread in r15 (and the heap base in r14). */
	for (size_t i = 0; !best && i < t->n; i++) {
		const struct hd_task *task = &t->tasks[i];
		uint64_t iso;
		if (task->have_regs && task->r14 == L->heap_base &&
		    rd64(mv, task->r15 + (unsigned)tl->isolate, &iso) && iso == L->heap_base)
			best = task->r15;
	}
	return best;
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
			const struct hd_layout *L, const struct hd_threadlocals *tl,
			const struct hd_target *t)
{
	/* An isolate may have no thread attached at the moment (a compiler
	 * isolate between compilations): then only its Spaces hold chunks. */
	uint64_t p = find_thread_head(mv, maps, L, tl, t);
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
		if (th->task)
			th->stack_lo = th->task->rsp;
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
};

static bool have_chunk(const struct chunk_set *s, uint64_t addr)
{
	for (size_t i = 0; i < s->n; i++) /* chunk counts stay in the thousands */
		if (s->v[i].addr == addr)
			return true;
	return false;
}

static int push_chunk(struct chunk_set *s, const struct hd_chunk *c)
{
	if (s->n >= MAX_RUNTIME_CHUNKS)
		return hd_fail(HD_E_INCONSISTENT, "more than %u heap chunks", MAX_RUNTIME_CHUNKS);
	if (hd_grow(&s->v, &s->cap, s->n, sizeof *s->v, 256) != 0)
		return -1;
	s->v[s->n++] = *c;
	return 0;
}

struct chunk_ctx {
	struct hd_isolate *iso;
	hd_memview *mv;
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

/* Reads the chunk header at C and, if it is a valid chunk, adds it and
 * returns its next link (0 at the end).  Returns -1 on a bad header. */
static int add_chain(struct chunk_ctx *x, uint64_t c, bool aligned)
{
	const struct hd_layout *L = x->L;
	for (size_t steps = 0; c; steps++) {
		if (steps > MAX_RUNTIME_CHUNKS || (c >= L->image_start && c < x->image_end))
			return hd_fail(HD_E_INCONSISTENT, "heap chunk list runs into the image heap");
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
			if (abs_top < c + L->aligned_obj_start || abs_top > c + L->chunk_size)
				return hd_fail(HD_E_INCONSISTENT, "chunk 0x%" PRIx64 " has top 0x%" PRIx64, c,
					       abs_top);
			ch.first = c + L->aligned_obj_start;
			ch.top = abs_top;
		} else {
			if ((c & (PAGE - 1)) || end <= (int64_t)L->ch_struct_end || top > end ||
			    top <= (int64_t)L->ch_struct_end)
				return hd_fail(HD_E_INCONSISTENT, "bad unaligned chunk header at 0x%" PRIx64, c);
			uint64_t start = hw_unaligned_object_start(x->w, c, (uint64_t)top);
			if (!start)
				return hd_fail(HD_E_INCONSISTENT,
					       "unaligned chunk 0x%" PRIx64 " holds no valid object", c);
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
		size_t first = iso->ngaps, count = 0;
		for (size_t g = 0; g < iso->ngaps; g++) {
			if (iso->gaps[g].from >= ch->first && iso->gaps[g].from < ch->top) {
				if (first == iso->ngaps)
					first = g;
				count++;
				/* A TLAB whose chunk top is its own top: no gap inside. */
				if (iso->gaps[g].to > ch->top)
					iso->gaps[g].to = ch->top;
			}
		}
		if (count) {
			ch->gaps = &iso->gaps[first];
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
	if (find_threads(iso, proc, maps, L, tl, t) != 0)
		return -1;
	struct hd_walker w;
	if (hw_init(&w, L, proc, classes_lookup, (void *)classes) != 0)
		return -1;
	w.in_image_heap = true;
	struct chunk_ctx x = {.iso = iso, .mv = proc, .L = L, .w = &w,
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
