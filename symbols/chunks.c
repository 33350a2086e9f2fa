#include "chunks.h"

#include "addrmap.h"
#include "../common/grow.h"
#include "../common/interrupt.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096u
#define MAX_CHUNK_HEADER 128 /* bytes: more than any layout's header words */

/* A root object as read from the process. */
struct root_obj {
	uint64_t addr, size;
	const struct hd_class *cls;
	uint8_t data[CHUNK_ROOT_BYTES];
};

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
	 * for each of the image heap's objects (the walk without roots). */
	const struct hd_classes *classes;
	bool *is_root;
	/* The roots given, read and checked, in address order; NULL: the image
	 * heap is walked for them. */
	struct root_obj *roots;
	size_t nroots, next_root;
	struct hd_chunk *img; /* the image heap's chunks, listed before any walk */
	size_t nimg, cap_img;
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

/* Follows the chains the root object of class CLS, SIZE bytes at DATA,
 * points at. */
static int follow_root(struct chunk_ctx *x, const struct hd_class *cls, const uint8_t *data,
		       uint64_t size)
{
	/* Chunk pointers are word fields: try every non-reference 8-byte slot. */
	for (size_t i = 0; i < cls->nfields; i++) {
		const struct hd_field *f = &cls->fields[i];
		if (f->type == HD_T_OBJECT || f->offset % 8 || f->offset + 8 > size)
			continue;
		uint64_t v = ld_u64(data + f->offset);
		bool aligned;
		if (is_chunk_header(x, v, &aligned) && add_chain(x, v, aligned) != 0)
			return -1;
	}
	return 0;
}

static int chain_roots_cb(void *ctx, const struct hd_object *o)
{
	struct chunk_ctx *x = ctx;
	const struct hd_class *cls = o->hubinfo.cls;
	if (!x->is_root[cls - x->classes->v])
		return 0;
	return follow_root(x, cls, o->data, o->size);
}

static int collect_image_chunk(void *ctx, const struct hd_chunk *ch)
{
	struct chunk_ctx *x = ctx;
	if (hd_grow(&x->img, &x->cap_img, x->nimg, sizeof *x->img, 64) != 0)
		return -1;
	x->img[x->nimg++] = *ch;
	return 0;
}

/* Reads each of ROOTS from the process and checks it: in address order,
 * inside one of the image heap's chunks (X->img), decoding to
 * an object of a root class whose hub is the one listed, of no more than
 * CHUNK_ROOT_BYTES.  True with X->roots set when every one holds; false
 * (no error recorded) on the first that does not. */
static bool read_roots(struct chunk_ctx *x, const struct hd_chunk_roots *roots)
{
	const struct hd_layout *L = x->L;
	const struct hd_chunk *img = x->img;
	size_t nimg = x->nimg, c = 0;
	if (roots->n > CHUNK_ROOTS_MAX || !(x->roots = calloc(roots->n, sizeof *x->roots)))
		return false;
	bool ok = true;
	for (size_t i = 0; ok && i < roots->n; i++) {
		const struct hd_chunk_root *r = &roots->v[i];
		uint64_t addr = L->image_start + r->off;
		struct root_obj *o = &x->roots[i];
		while (c < nimg && img[c].top <= addr)
			c++;
		ok = r->off < L->image_size && r->hub_off < L->image_size &&
		     (i == 0 || r->off > roots->v[i - 1].off) && c < nimg && addr >= img[c].first;
		if (!ok)
			break;
		uint64_t room = img[c].top - addr;
		size_t n = room < CHUNK_ROOT_BYTES ? (size_t)room : CHUNK_ROOT_BYTES;
		struct hd_object obj;
		ok = mv_try_read(x->mv, addr, o->data, n) == 0 &&
		     hw_decode(x->w, addr, o->data, n, n, &obj) == 0 &&
		     obj.hub == L->image_start + r->hub_off && obj.hubinfo.cls &&
		     chunks_is_root_class(obj.hubinfo.cls);
		if (ok) {
			o->addr = addr;
			o->size = obj.size;
			o->cls = obj.hubinfo.cls;
		}
	}
	if (!ok) {
		hd_error_clear(); /* a header that did not decode: not this scan's failure */
		free(x->roots);
		x->roots = NULL;
		return false;
	}
	x->nroots = roots->n;
	return true;
}

/* Each image heap chunk, then the chains from its root objects: the roots
 * read, else every object of the chunk walked.  Pushed in the same order
 * either way. */
static int image_chains(struct chunk_ctx *x)
{
	if (!x->roots) {
		x->is_root = calloc(x->classes->n ? x->classes->n : 1, sizeof(bool));
		if (!x->is_root)
			return hd_fail(HD_E_INTERNAL, "out of memory");
		for (size_t k = 0; k < x->classes->n; k++)
			x->is_root[k] = chunks_is_root_class(&x->classes->v[k]);
	}
	for (size_t i = 0; i < x->nimg; i++) {
		const struct hd_chunk ch = x->img[i];
		if (push_chunk(x, &ch) != 0)
			return -1;
		x->out->image++;
		if (x->roots) {
			for (; x->next_root < x->nroots && x->roots[x->next_root].addr < ch.top;
			     x->next_root++) {
				const struct root_obj *o = &x->roots[x->next_root];
				if (follow_root(x, o->cls, o->data, o->size) != 0)
					return -1;
			}
		} else if (hw_walk_range(x->w, ch.first, ch.top, NULL, 0, chain_roots_cb, x) != 0) {
			return -1;
		}
	}
	return 0;
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
		const struct hd_chunk_roots *roots, const struct hd_ithread *threads,
		size_t nthreads, bool partial)
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
			      .classes = classes};
	w.in_image_heap = true;
	int rc = hw_image_chunks(&w, collect_image_chunk, &x);
	if (rc == 0 && roots && roots->n)
		out->by_roots = read_roots(&x, roots);
	if (rc == 0)
		rc = image_chains(&x);
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
	free(x.roots);
	free(x.img);
	addr_map_free(&x.seen);
	if (rc == 0)
		rc = attach_gaps(&x);
	return rc;
}

int chunks_find(struct hd_chunk_list *out, hd_memview *mv, const struct hd_readable *r,
		const struct hd_layout *L, const struct hd_classes *classes,
		const struct hd_chunk_roots *roots, const struct hd_ithread *threads,
		size_t nthreads)
{
	return find(out, mv, r, L, classes, roots, threads, nthreads, false);
}

int chunks_find_partial(struct hd_chunk_list *out, hd_memview *mv, const struct hd_readable *r,
			const struct hd_layout *L, const struct hd_classes *classes,
			const struct hd_chunk_roots *roots, const struct hd_ithread *threads,
			size_t nthreads)
{
	return find(out, mv, r, L, classes, roots, threads, nthreads, true);
}

static int cmp_root(const void *a, const void *b)
{
	const struct hd_chunk_root *x = a, *y = b;
	return (x->off > y->off) - (x->off < y->off);
}

int chunk_roots_collect(struct hd_chunk_roots *out, const struct hd_imageobjs *objs,
			const struct hd_layout *L)
{
	memset(out, 0, sizeof *out);
	const struct hd_classes *classes = objs->classes;
	size_t cap = 0;
	for (size_t k = 0; k < classes->n; k++) {
		const struct hd_class *cls = &classes->v[k];
		if (!chunks_is_root_class(cls))
			continue;
		size_t n;
		const uint32_t *idx = imageobjs_of(objs, cls, &n);
		uint64_t size = lay_object_size(L, cls->enc, 0, true, cls->idhash_off);
		if (out->n + n > CHUNK_ROOTS_MAX || size > CHUNK_ROOT_BYTES ||
		    cls->hub - L->image_start >= L->image_size) {
			chunk_roots_free(out); /* the scans walk the image heap */
			return 0;
		}
		for (size_t i = 0; i < n; i++) {
			if (hd_grow(&out->v, &cap, out->n, sizeof *out->v, 32) != 0) {
				chunk_roots_free(out);
				return -1;
			}
			out->v[out->n++] = (struct hd_chunk_root){objs->addr[idx[i]] - L->image_start,
								 cls->hub - L->image_start};
		}
	}
	qsort(out->v, out->n, sizeof *out->v, cmp_root);
	return 0;
}

void chunk_roots_free(struct hd_chunk_roots *roots)
{
	free(roots->v);
	memset(roots, 0, sizeof *roots);
}

void chunk_list_free(struct hd_chunk_list *list)
{
	free(list->v);
	free(list->gaps);
	memset(list, 0, sizeof *list);
}
