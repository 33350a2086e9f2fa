#include "chunks.h"

#include "addrmap.h"
#include "../common/grow.h"
#include "../common/interrupt.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096u
#define MAX_CHUNK_HEADER 128 /* bytes: more than any layout's header words */

struct chunk_ctx {
	hd_memview *mv;
	const struct hd_readable *r;
	const struct hd_layout *L;
	const struct hd_ithread *threads;
	size_t nthreads;
	struct hd_walker *w;
	struct hd_chunk_list *out;
	size_t cap;
	struct addr_map seen; /* chunk address -> 1 */
	uint64_t tlab_reserve;
	uint64_t image_end;
	bool partial; /* chunks_find_partial */
	/* Per class index: chunks_is_root_class, decided once, not by name
	 * for each of the image heap's objects. */
	const struct hd_classes *classes;
	bool *is_root;
};

static int push_chunk(struct chunk_ctx *x, const struct hd_chunk *c)
{
	struct hd_chunk_list *out = x->out;
	if (out->n >= CHUNKS_MAX)
		return hd_fail(HD_E_INCONSISTENT, "more than %u heap chunks", CHUNKS_MAX);
	if (hd_grow(&out->v, &x->cap, out->n, sizeof *out->v, 256) != 0 ||
	    addr_put(&x->seen, c->addr, 1) != 0)
		return -1;
	out->v[out->n++] = *c;
	return 0;
}

/* The live top of an aligned chunk a TLAB owns (its header says "null"). */
static uint64_t tlab_top(const struct chunk_ctx *x, uint64_t c)
{
	for (size_t i = 0; i < x->nthreads; i++)
		if (x->threads[i].tlab.start == c)
			return x->threads[i].tlab.top;
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
	if (L->ch_struct_end > MAX_CHUNK_HEADER)
		return hd_fail(HD_E_LAYOUT, "chunk header too large");
	for (size_t steps = 0; c; steps++) {
		if (steps > CHUNKS_MAX || (c >= L->image_start && c < x->image_end))
			return hd_fail(HD_E_INCONSISTENT, "heap chunk list runs into the image heap");
		if (hd_interrupted())
			return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
		if (addr_get(&x->seen, c))
			return 0;
		uint8_t raw[MAX_CHUNK_HEADER];
		if (mv_read(x->mv, c, raw, L->ch_struct_end) != 0) {
			if (!x->partial || hd_error_is_fatal())
				return -1;
			/* The chain is lost from here on; the chunk is listed empty,
			 * for the core to count as missing. */
			hd_error_clear();
			return push_chunk(x, &(struct hd_chunk){.addr = c, .first = c, .top = c,
								 .aligned = aligned});
		}
		struct lay_chunk_header h = lay_chunk_header(L, raw);
		struct hd_chunk ch = {.addr = c, .aligned = aligned};
		if (aligned) {
			if ((c & (L->chunk_size - 1)) || !lay_chunk_is_aligned(L, &h))
				return hd_fail(HD_E_INCONSISTENT, "bad aligned chunk header at 0x%" PRIx64, c);
			uint64_t abs_top = c + (uint64_t)h.top;
			if (abs_top == 0) { /* owned by a TLAB: the thread has the top */
				abs_top = tlab_top(x, c);
				if (!abs_top)
					return hd_fail(HD_E_INCONSISTENT,
						       "chunk 0x%" PRIx64 " belongs to no thread's TLAB", c);
			}
			if (abs_top < c + L->aligned_obj_start || abs_top > c + L->chunk_size ||
			    abs_top > readable_end(x->r, c))
				return hd_fail(HD_E_INCONSISTENT, "chunk 0x%" PRIx64 " has top 0x%" PRIx64, c,
					       abs_top);
			ch.first = c + L->aligned_obj_start;
			ch.top = abs_top;
		} else {
			if ((c & (PAGE - 1)) || !lay_unaligned_header_ok(L, &h))
				return hd_fail(HD_E_INCONSISTENT, "bad unaligned chunk header at 0x%" PRIx64, c);
			/* A runtime chunk: its object carries the optional hash only
			 * if its header says so, and it lies within its mapping. */
			uint64_t limit = readable_end(x->r, c), start;
			if (!limit)
				return hd_fail(HD_E_INCONSISTENT, "unaligned chunk 0x%" PRIx64 " is not mapped", c);
			if (hw_unaligned_object_start(x->w, c, (uint64_t)h.top, limit, false, &start) != 0)
				return -1;
			ch.first = c + start;
			ch.top = c + (uint64_t)h.top;
		}
		if (push_chunk(x, &ch) != 0)
			return -1;
		c = h.next ? c + (uint64_t)h.next : 0;
	}
	return 0;
}

/* Does V look like the address of a chunk header, and of which kind?  For
 * words that may or may not point at one: a read that fails says no. */
static bool is_chunk_header(struct chunk_ctx *x, uint64_t v, bool *aligned)
{
	const struct hd_layout *L = x->L;
	uint8_t raw[MAX_CHUNK_HEADER];
	if (!v || (v & (PAGE - 1)) || (v >= L->image_start && v < x->image_end) ||
	    L->ch_struct_end > sizeof raw || mv_try_read(x->mv, v, raw, L->ch_struct_end) != 0)
		return false;
	struct lay_chunk_header h = lay_chunk_header(L, raw);
	if (!(v & (L->chunk_size - 1)) && lay_chunk_is_aligned(L, &h)) {
		*aligned = true;
		return true;
	}
	if (lay_unaligned_header_ok(L, &h) && h.end > (int64_t)L->ch_struct_end + 8 &&
	    h.end < (1ll << 40)) {
		*aligned = false;
		return true;
	}
	return false;
}

bool chunks_is_root_class(const struct hd_class *cls)
{
	static const char pkg[] = "com.oracle.svm.core.genscavenge.";
	if (cls->kind != HD_KIND_INSTANCE || strncmp(cls->name, pkg, sizeof pkg - 1) != 0)
		return false;
	const char *simple = cls->name + sizeof pkg - 1;
	return strcmp(simple, "Space") == 0 || strcmp(simple, "HeapAllocation") == 0;
}

static int chain_roots_cb(void *ctx, const struct hd_object *o)
{
	struct chunk_ctx *x = ctx;
	const struct hd_class *cls = o->hubinfo.cls;
	if (!x->is_root[cls - x->classes->v])
		return 0;
	/* Chunk pointers are word fields: try every non-reference 8-byte slot. */
	for (size_t i = 0; i < cls->nfields; i++) {
		const struct hd_field *f = &cls->fields[i];
		if (f->type == HD_T_OBJECT || f->offset % 8 || f->offset + 8 > o->size)
			continue;
		uint64_t v = ld_u64(o->data + f->offset);
		bool aligned;
		if (is_chunk_header(x, v, &aligned) && add_chain(x, v, aligned) != 0)
			return -1;
	}
	return 0;
}

static int image_chunk_cb(void *ctx, const struct hd_chunk *ch)
{
	struct chunk_ctx *x = ctx;
	if (push_chunk(x, ch) != 0)
		return -1;
	x->out->image++;
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
	struct hd_chunk_list *out = x->out;
	out->gaps = calloc(x->nthreads + 1, sizeof *out->gaps);
	if (!out->gaps)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < x->nthreads; i++) {
		const struct hd_tlab *tl = &x->threads[i].tlab;
		if (!tl->top || tl->top > tl->end || tl->start > tl->top)
			continue;
		uint64_t to = tl->end + x->tlab_reserve;
		if (to > tl->top)
			out->gaps[out->ngaps++] = (struct hd_gap){tl->top, to};
	}
	qsort(out->gaps, out->ngaps, sizeof *out->gaps, cmp_gap);
	for (size_t i = 0; i < out->n; i++) {
		struct hd_chunk *ch = &out->v[i];
		if (ch->image || !ch->aligned)
			continue;
		/* The gaps that start inside the chunk: a run of the sorted list. */
		size_t lo = 0, hi = out->ngaps;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (out->gaps[mid].from < ch->first)
				lo = mid + 1;
			else
				hi = mid;
		}
		size_t inside = 0;
		for (size_t g = lo; g < out->ngaps && out->gaps[g].from < ch->top; g++, inside++)
			/* A TLAB whose chunk top is its own top: no gap inside. */
			if (out->gaps[g].to > ch->top)
				out->gaps[g].to = ch->top;
		if (inside) {
			ch->gaps = &out->gaps[lo];
			ch->ngaps = inside;
		}
	}
	return 0;
}

/* What a live TLAB keeps free past its end: room for the smallest filler
 * array, which is how it is closed when it retires. */
static uint64_t tlab_reserve(const struct hd_classes *classes)
{
	const struct hd_class *filler = classes_named(classes, "com.oracle.svm.core.heap.FillerArray");
	if (!filler)
		filler = classes_named(classes, "[I");
	if (!filler)
		return 0;
	uint64_t min = (le_base(filler->enc) + 7u) & ~7u;
	return min > 8 ? min : 0;
}

static int find(struct hd_chunk_list *out, hd_memview *mv, const struct hd_readable *r,
		const struct hd_layout *L, const struct hd_classes *classes,
		const struct hd_ithread *threads, size_t nthreads, bool partial)
{
	memset(out, 0, sizeof *out);
	struct hd_walker w;
	if (hw_init(&w, L, mv, classes_lookup, (void *)classes) != 0)
		return -1;
	if (hw_cache_hubs(&w) != 0) {
		hw_fini(&w);
		return -1;
	}
	struct chunk_ctx x = {.mv = mv, .r = r, .L = L, .threads = threads, .nthreads = nthreads,
			      .w = &w, .out = out, .tlab_reserve = tlab_reserve(classes),
			      .image_end = L->image_start + L->image_size, .partial = partial,
			      .classes = classes,
			      .is_root = calloc(classes->n ? classes->n : 1, sizeof(bool))};
	int rc = x.is_root ? 0 : hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t k = 0; rc == 0 && k < classes->n; k++)
		x.is_root[k] = chunks_is_root_class(&classes->v[k]);
	if (rc == 0)
		rc = hw_image_chunks(&w, image_chunk_cb, &x);
	for (size_t i = 0; rc == 0 && i < nthreads; i++) {
		const struct hd_tlab *tlab = &threads[i].tlab;
		bool aligned;
		if (tlab->start && !(tlab->start & (L->chunk_size - 1)) &&
		    is_chunk_header(&x, tlab->start, &aligned) && aligned)
			rc = add_chain(&x, tlab->start, true);
		if (rc == 0 && tlab->unaligned)
			rc = add_chain(&x, tlab->unaligned, false);
	}
	hw_fini(&w);
	free(x.is_root);
	addr_map_free(&x.seen);
	if (rc == 0)
		rc = attach_gaps(&x);
	return rc;
}

int chunks_find(struct hd_chunk_list *out, hd_memview *mv, const struct hd_readable *r,
		const struct hd_layout *L, const struct hd_classes *classes,
		const struct hd_ithread *threads, size_t nthreads)
{
	return find(out, mv, r, L, classes, threads, nthreads, false);
}

int chunks_find_partial(struct hd_chunk_list *out, hd_memview *mv, const struct hd_readable *r,
			const struct hd_layout *L, const struct hd_classes *classes,
			const struct hd_ithread *threads, size_t nthreads)
{
	return find(out, mv, r, L, classes, threads, nthreads, true);
}

void chunk_list_free(struct hd_chunk_list *list)
{
	free(list->v);
	free(list->gaps);
	memset(list, 0, sizeof *list);
}
