#include "heapwalk.h"

#include "../common/grow.h"
#include "../common/hd_error.h"
#include "../common/interrupt.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Enough of an object's start to decode its header and array length. */
#define HEAD_BYTES 64

int hw_init(struct hd_walker *w, const struct hd_layout *L, hd_memview *mv,
	    hd_hub_lookup_fn lookup, void *lookup_ctx)
{
	*w = (struct hd_walker){.layout = L, .mv = mv, .lookup = lookup, .lookup_ctx = lookup_ctx};
	/* A chunk at a time; larger (unaligned) objects are streamed. */
	w->buf_cap = L->chunk_size > (1u << 20) ? L->chunk_size : (1u << 20);
	w->buf = malloc(w->buf_cap);
	if (!w->buf)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	return 0;
}

int hw_cache_hubs(struct hd_walker *w)
{
	/* Read for every object, by one thread of several: lines of its own. */
	if (!w->hubs && !(w->hubs = hd_calloc_lines(HW_HUB_CACHE, sizeof *w->hubs)))
		return -1;
	return 0;
}

void hw_fini(struct hd_walker *w)
{
	free(w->buf);
	free(w->hubs);
	w->buf = NULL;
	w->hubs = NULL;
}

/* The lookup itself, its answer kept when W caches: only hubs the lookup
 * accepted are. */
const struct hd_hubinfo *hw_lookup_hub_uncached(struct hd_walker *w, uint64_t hub)
{
	struct hd_hubinfo info;
	if (!w->lookup(w->lookup_ctx, hub, &info))
		return NULL;
	if (!w->hubs) {
		w->missed = info;
		return &w->missed;
	}
	struct hw_hub_cache *e = hw_cache_entry(w, hub);
	*e = (struct hw_hub_cache){hub, info};
	return &e->info;
}

enum hd_error_class hw_contradiction(const struct hd_walker *w)
{
	return w->in_image_heap ? HD_E_LAYOUT : HD_E_INCONSISTENT;
}

void hw_decode_failed(const struct hd_walker *w, enum hw_bad why, uint64_t addr, uint64_t a,
		      uint64_t b, uint64_t c)
{
	enum hd_error_class cls = hw_contradiction(w);
	switch (why) {
	case HW_BAD_CUT:
		hd_fail(cls, "object at 0x%" PRIx64 " is cut off", addr);
		return;
	case HW_BAD_FORWARDED:
		hd_fail(cls, "object at 0x%" PRIx64 " is forwarded (a GC was in progress)",
			addr);
		return;
	case HW_BAD_HUB:
		hd_fail(cls, "object at 0x%" PRIx64 ": header 0x%" PRIx64
			" does not point to a hub", addr, a);
		return;
	case HW_BAD_ARRAY_CUT:
		hd_fail(cls, "array at 0x%" PRIx64 " is cut off", addr);
		return;
	case HW_BAD_LENGTH:
		hd_fail(cls, "array at 0x%" PRIx64 " has length %d", addr, (int32_t)a);
		return;
	case HW_BAD_SIZE:
		break;
	}
	hd_fail(cls,
		"object at 0x%" PRIx64 " has impossible size %" PRIu64
		" (encoding 0x%x, %" PRIu64 " bytes left)",
		addr, a, (uint32_t)c, b);
}

int hw_decode_at(struct hd_walker *w, uint64_t addr, uint64_t limit, struct hd_object *obj)
{
	uint8_t head[HEAD_BYTES];
	size_t n = limit < sizeof head ? (size_t)limit : sizeof head;
	if (mv_read(w->mv, addr, head, n) != 0)
		return -1;
	if (hw_decode(w, addr, head, n, limit, obj) != 0)
		return -1;
	obj->data = NULL;
	return 0;
}

int hw_skip_gaps(const struct hd_walker *w, const struct hd_gap *gaps, size_t ngaps,
		 uint64_t *cur)
{
	for (size_t i = 0; i < ngaps; i++) {
		if (*cur == gaps[i].from)
			*cur = gaps[i].to;
		else if (*cur > gaps[i].from && *cur < gaps[i].to)
			return hd_fail(hw_contradiction(w), "walk entered the TLAB gap at 0x%" PRIx64,
				       gaps[i].from);
	}
	return 0;
}

int hw_walk_start(struct hd_walker *w, uint64_t from, uint64_t to, const uint8_t **base)
{
	if (to < from)
		return hd_fail(hw_contradiction(w), "chunk top 0x%" PRIx64 " lies below its start", to);
	/* Local memory (an executable, a snapshot) is walked in place. */
	*base = mv_local_ptr(w->mv, from, to - from);
	if (!*base && to - from <= w->buf_cap) {
		if (mv_read(w->mv, from, w->buf, (size_t)(to - from)) != 0)
			return -1;
		*base = w->buf;
	}
	return 0;
}

int hw_decode_streamed(struct hd_walker *w, uint64_t cur, uint64_t to, struct hd_object *obj)
{
	if (hw_decode_at(w, cur, to - cur, obj) != 0)
		return -1;
	if (obj->size <= w->buf_cap) {
		if (mv_read(w->mv, cur, w->buf, (size_t)obj->size) != 0)
			return -1;
		obj->data = w->buf;
	}
	return 0;
}

int hw_walk_overshot(const struct hd_walker *w, uint64_t to, uint64_t cur)
{
	return hd_fail(hw_contradiction(w),
		       "walk overshot the chunk top 0x%" PRIx64 " (ended at 0x%" PRIx64 ")", to, cur);
}

int hw_walk_range(struct hd_walker *w, uint64_t from, uint64_t to, const struct hd_gap *gaps,
		  size_t ngaps, hd_object_fn fn, void *ctx)
{
	return hw_walk_range_with(w, from, to, gaps, ngaps, fn, ctx);
}

static bool object_fills(struct hd_walker *w, uint64_t chunk, uint64_t start, uint64_t top)
{
	struct hd_object obj;
	if (start >= top || hw_decode_at(w, chunk + start, top - start, &obj) != 0)
		return false;
	return obj.size == top - start;
}

/* The card table of a 512 MiB object: the most a probe reads in one piece.
 * The probe is for layouts hdump does not know: in the variable one (25)
 * the offset the top implies is exact at any size (GraalVM sizes the card
 * table from the object, UnalignedHeapChunk.calculateObjectStartOffset,
 * and the object ends at the top; test_isolate.c
 * huge_unaligned_objects_found_without_probing), so larger objects do not
 * need it. */
#define PROBE_WINDOW (1u << 20)
/* Words that hold their own offset, and so may precede the object: a real
 * card table holds bytes 0 and 1 only. */
#define PROBE_CANDIDATES 16

/* Where the object starts, or 0.  TOP is known to be readable. */
static uint64_t find_object_start(struct hd_walker *w, uint64_t chunk, uint64_t top,
				  uint64_t header_end, bool *over_budget)
{
	const struct hd_layout *L = w->layout;
	if (L->unaligned_obj_start && object_fills(w, chunk, L->unaligned_obj_start, top))
		return L->unaligned_obj_start;
	/* Layouts whose card table grows with the object keep the object's
	 * offset in the word before it: try the offset the chunk's size
	 * implies (UnalignedChunkRememberedSet.getObjectStartOffset; the top,
	 * not the end, which a reused or page-rounded chunk may place
	 * further). */
	uint64_t ct_and_obj = top - header_end - 8;
	uint64_t guess = top - ((ct_and_obj * 512 / 513) & ~7ull);
	uint64_t word = 0;
	if (guess >= header_end + 8 && guess < top &&
	    mv_try_read(w->mv, chunk + guess - 8, &word, 8) == 0 && word == guess &&
	    object_fills(w, chunk, guess, top))
		return guess;
	/* Fixed layouts: one card-table word after the header. */
	if (object_fills(w, chunk, header_end + 8, top))
		return header_end + 8;
	/* Else look for the offset word over the card table, in one read. */
	uint64_t len = ct_and_obj / 512 + 64;
	if (len > top - header_end)
		len = top - header_end;
	if (len > PROBE_WINDOW)
		len = PROBE_WINDOW;
	len &= ~7ull;
	if (w->probed + len > HW_PROBE_BUDGET) {
		*over_budget = true;
		return 0;
	}
	w->probed += len;
	uint8_t *buf = malloc(len);
	uint64_t found = 0;
	if (buf && mv_try_read(w->mv, chunk + header_end, buf, len) == 0) {
		unsigned tries = 0;
		for (uint64_t off = 0; off < len && !found && tries < PROBE_CANDIDATES; off += 8) {
			uint64_t cand = header_end + off + 8;
			if (ld_u64(buf + off) != cand)
				continue;
			tries++;
			if (object_fills(w, chunk, cand, top))
				found = cand;
		}
	}
	free(buf);
	return found;
}

int hw_unaligned_object_start(struct hd_walker *w, uint64_t chunk, uint64_t top, uint64_t limit,
			      bool image, uint64_t *start)
{
	const struct hd_layout *L = w->layout;
	enum hd_error_class cls = image ? HD_E_LAYOUT : HD_E_INCONSISTENT;
	uint64_t header_end = (L->ch_struct_end + 7u) & ~7ull;
	if (top <= header_end + 8)
		return hd_fail(cls, "unaligned chunk 0x%" PRIx64 " has its top inside its header",
			       chunk);
	if (chunk >= limit || top > limit - chunk)
		return hd_fail(cls,
			       "unaligned chunk 0x%" PRIx64 " has its top 0x%" PRIx64
			       " beyond its memory (which ends at 0x%" PRIx64 ")",
			       chunk, top, limit);
	bool saved = w->in_image_heap, over_budget = false;
	w->in_image_heap = image;
	*start = find_object_start(w, chunk, top, header_end, &over_budget);
	w->in_image_heap = saved;
	hd_error_clear();
	if (over_budget)
		return hd_fail(cls,
			       "unaligned chunk 0x%" PRIx64
			       ": more than %u MB probed for unaligned objects",
			       chunk, HW_PROBE_BUDGET >> 20);
	if (!*start)
		return hd_fail(cls, "unaligned chunk 0x%" PRIx64 " holds no valid object", chunk);
	return 0;
}

/* Reads and decodes the header of the image-heap chunk at C, which the
 * caller has checked lies inside the image heap with its header. */
static int read_image_chunk_header(struct hd_walker *w, uint64_t c, struct lay_chunk_header *h)
{
	const struct hd_layout *L = w->layout;
	uint8_t raw[128];
	if (L->ch_struct_end > sizeof raw)
		return hd_fail(HD_E_LAYOUT, "chunk header too large");
	if (mv_read(w->mv, c, raw, L->ch_struct_end) != 0)
		return -1;
	*h = lay_chunk_header(L, raw);
	return 0;
}

int hw_image_chunks(struct hd_walker *w, hd_chunk_fn fn, void *ctx)
{
	const struct hd_layout *L = w->layout;
	uint64_t image_end = L->image_start + L->image_size;
	uint64_t max_chunks = L->image_size / 64 + 1;
	uint64_t c = L->image_start, n = 0;
	for (;;) {
		struct lay_chunk_header h = {0};
		if (L->chunk_size > image_end - c)
			return hd_fail(HD_E_LAYOUT, "image heap ends inside the chunk at +0x%" PRIx64,
				       c - L->image_start);
		if (read_image_chunk_header(w, c, &h) != 0)
			return -1;
		if (!lay_chunk_is_aligned(L, &h) || h.top < (int64_t)L->aligned_obj_start ||
		    h.top > h.end)
			return hd_fail(HD_E_LAYOUT,
				       "image heap chunk at +0x%" PRIx64 " has a bad header",
				       c - L->image_start);
		struct hd_chunk ch = {.addr = c, .aligned = true, .image = true,
				      .first = c + L->aligned_obj_start, .top = c + (uint64_t)h.top};
		int rc = fn(ctx, &ch);
		if (rc != 0)
			return rc;
		if (h.next == 0)
			break;
		if (h.next < (int64_t)L->chunk_size || ++n > max_chunks ||
		    (uint64_t)h.next > image_end - c)
			return hd_fail(HD_E_LAYOUT,
				       "image heap chunk at +0x%" PRIx64 " links outside the heap",
				       c - L->image_start);
		c += (uint64_t)h.next;
	}
	uint64_t u = (c + L->chunk_size + 7) & ~7ull;
	while (u < image_end) {
		struct lay_chunk_header h = {0};
		if (u + L->ch_struct_end > image_end) {
			/* Zero padding may end the heap; a header may not. */
			uint8_t tail[128] = {0}, zero[128] = {0};
			size_t n = (size_t)(image_end - u);
			if (n > sizeof tail)
				return hd_fail(HD_E_LAYOUT, "chunk header too large");
			if (mv_read(w->mv, u, tail, n) != 0)
				return -1;
			if (memcmp(tail, zero, n) == 0)
				break;
			return hd_fail(HD_E_LAYOUT,
				       "image heap ends inside the unaligned chunk header at +0x%" PRIx64,
				       u - L->image_start);
		}
		if (read_image_chunk_header(w, u, &h) != 0)
			return -1;
		if (h.end == 0 && h.top == 0)
			break; /* zero padding: no (more) unaligned chunks */
		if (!lay_unaligned_header_ok(L, &h) || (uint64_t)h.end > image_end - u)
			return hd_fail(HD_E_LAYOUT,
				       "image heap unaligned chunk at +0x%" PRIx64 " has a bad header",
				       u - L->image_start);
		uint64_t start;
		if (hw_unaligned_object_start(w, u, (uint64_t)h.top, image_end, true, &start) != 0) {
			hd_error_context("image heap unaligned chunk at +0x%" PRIx64, u - L->image_start);
			return -1;
		}
		struct hd_chunk ch = {.addr = u, .image = true, .first = u + start,
				      .top = u + (uint64_t)h.top};
		int rc = fn(ctx, &ch);
		if (rc != 0)
			return rc;
		if (h.next == 0)
			break;
		if (h.next < h.end || ++n > max_chunks || (uint64_t)h.next > image_end - u)
			return hd_fail(HD_E_LAYOUT,
				       "image heap unaligned chunk at +0x%" PRIx64
				       " links outside the heap",
				       u - L->image_start);
		u += (uint64_t)h.next;
	}
	return 0;
}

struct image_objects {
	struct hd_walker *w;
	hd_object_fn fn;
	void *ctx;
};

static int image_objects_chunk(void *ctx, const struct hd_chunk *ch)
{
	const struct image_objects *x = ctx;
	if (hd_interrupted())
		return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
	return hw_walk_range(x->w, ch->first, ch->top, ch->gaps, ch->ngaps, x->fn, x->ctx);
}

int hw_image_objects(struct hd_walker *w, hd_object_fn fn, void *ctx)
{
	w->in_image_heap = true;
	return hw_image_chunks(w, image_objects_chunk, &(struct image_objects){w, fn, ctx});
}
