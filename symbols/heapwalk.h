/* Linear walks over heap chunks: every object from a chunk's first object to
 * its top, each header decoded through the caller's hub lookup.  Used first by
 * layout discovery (probing candidate layouts) and then by the dump itself. */
#ifndef HD_HEAPWALK_H
#define HD_HEAPWALK_H

#include "layout.h"
#include "../agent/memview.h"
#include "../common/hd_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the walker needs to know about a hub to size its instances. */
struct hd_hubinfo {
	int32_t enc;
	unsigned idhash_off; /* per-type identity-hash offset (optional-hash layouts) */
	const void *cls;     /* caller's class record, handed back in hd_object */
};

/* Fills INFO for the hub at HUB; returns false if HUB is not a hub. */
typedef bool (*hd_hub_lookup_fn)(void *ctx, uint64_t hub, struct hd_hubinfo *info);

struct hd_object {
	uint64_t addr;
	uint64_t size;
	uint64_t header;     /* raw header word */
	uint64_t hub;
	struct hd_hubinfo hubinfo;
	uint32_t length;     /* array-like objects: element count */
	const uint8_t *data; /* all SIZE bytes, or NULL when too large to buffer */
};

/* Returns 0 to go on, anything else stops the walk and is returned. */
typedef int (*hd_object_fn)(void *ctx, const struct hd_object *obj);

/* A range [from, to) inside a chunk that holds no objects: a live TLAB's
 * unformatted tail. */
struct hd_gap {
	uint64_t from, to;
};

struct hd_walker {
	const struct hd_layout *layout;
	hd_memview *mv;
	hd_hub_lookup_fn lookup;
	void *lookup_ctx;
	bool in_image_heap;  /* image objects always carry the optional hash, and a
				contradiction there is final (HD_E_LAYOUT) */
	/* The hubs met last, direct-mapped by address (hw_cache_hubs; NULL:
	 * none): a heap of small objects looks up a few hubs millions of times. */
	struct hw_hub_cache {
		uint64_t hub;     /* 0: empty */
		struct hd_hubinfo info;
	} *hubs;
	struct hd_hubinfo missed; /* the last lookup's answer, where none are cached */
	uint8_t *buf;        /* chunk-sized read buffer */
	size_t buf_cap;
	uint64_t bytes;      /* bytes of the objects visited so far */
	uint64_t probed;     /* bytes read looking for unaligned objects */
};

/* The class of a contradiction in the data W walks: final (HD_E_LAYOUT) in
 * the image heap, which never changes; in a live isolate's own chunks a
 * concurrent mutation explains it and a retry may not meet it
 * (HD_E_INCONSISTENT). */
enum hd_error_class hw_contradiction(const struct hd_walker *w);

/* Errors: HD_E_INTERNAL (out of memory). */
HD_MUST_CHECK int hw_init(struct hd_walker *w, const struct hd_layout *L, hd_memview *mv,
			  hd_hub_lookup_fn lookup, void *lookup_ctx);
void hw_fini(struct hd_walker *w);
/* Keeps the lookup's answers: for a lookup whose answer for a hub never
 * changes while W lives (a class table).  Errors: HD_E_INTERNAL. */
HD_MUST_CHECK int hw_cache_hubs(struct hd_walker *w);

/* Walks the objects of [FROM, TO), skipping GAPS (sorted, may be NULL), and
 * calls FN for each.  The walk must end exactly at TO.  Returns 0, FN's
 * nonzero result, or -1 with the error recorded: what a read reports, or for
 * a header that does not decode, a walk that enters a gap or overshoots,
 * HD_E_LAYOUT in the image heap (in_image_heap: its data never changes) and
 * HD_E_INCONSISTENT in a live isolate's own chunks (a retry may not meet
 * it). */
HD_MUST_CHECK int hw_walk_range(struct hd_walker *w, uint64_t from, uint64_t to,
				const struct hd_gap *gaps, size_t ngaps, hd_object_fn fn,
				void *ctx);

/* hw_walk_range inline, for a caller whose FN is known at compile time:
 * FN is then inlined into the loop, which a heap of small objects runs
 * millions of times (the dump's census and writer).  What follows down to
 * it is that loop's parts, for it alone. */

#define HW_HUB_CACHE 1024 /* entries, a power of two */

static inline struct hw_hub_cache *hw_cache_entry(const struct hd_walker *w, uint64_t hub)
{
	return &w->hubs[(hub >> 3) & (HW_HUB_CACHE - 1)];
}

/* W's lookup, its answer cached when W caches; out of line.  NULL: HUB is
 * not a hub. */
const struct hd_hubinfo *hw_lookup_hub_uncached(struct hd_walker *w, uint64_t hub);

/* Through the cache: a cached hub is the answer for nearly every object.
 * The answer is W's, valid until its next lookup: read in place, it is no
 * copy that the walk's next load must wait for. */
static inline __attribute__((always_inline)) const struct hd_hubinfo *
hw_lookup_hub(struct hd_walker *w, uint64_t hub)
{
	if (w->hubs) {
		const struct hw_hub_cache *e = hw_cache_entry(w, hub);
		if (e->hub == hub && hub)
			return &e->info;
	}
	return hw_lookup_hub_uncached(w, hub);
}

/* Why an object does not decode, recorded by hw_decode_failed (out of line,
 * off the loop's path) with A, B and C as each reason's message needs; the
 * decode then returns -1 itself, which tells the compiler that a decode
 * that returned 0 filled its object. */
enum hw_bad {
	HW_BAD_CUT,       /* the header is cut off */
	HW_BAD_FORWARDED,
	HW_BAD_HUB,       /* A: the header */
	HW_BAD_ARRAY_CUT,
	HW_BAD_LENGTH,    /* A: the length */
	HW_BAD_SIZE,      /* A: the size, B: the bytes left, C: the encoding */
};
__attribute__((cold)) void hw_decode_failed(const struct hd_walker *w, enum hw_bad why,
					    uint64_t addr, uint64_t a, uint64_t b, uint64_t c);

/* Decodes the object whose first AVAIL (>= hdr) bytes are at P, at most
 * LIMIT bytes long; errors as hw_walk_range's. */
static inline __attribute__((always_inline)) int hw_decode(struct hd_walker *w, uint64_t addr,
							   const uint8_t *p, size_t avail,
							   uint64_t limit, struct hd_object *obj)
{
	const struct hd_layout *L = w->layout;
	if (avail < L->hdr_size) {
		hw_decode_failed(w, HW_BAD_CUT, addr, 0, 0, 0);
		return -1;
	}
	obj->addr = addr;
	obj->header = lay_header(L, p);
	if (obj->header & HD_HDR_FORWARDED) {
		hw_decode_failed(w, HW_BAD_FORWARDED, addr, 0, 0, 0);
		return -1;
	}
	obj->hub = lay_hub_from_header(L, obj->header);
	const struct hd_hubinfo *hub = hw_lookup_hub(w, obj->hub);
	if (!hub) {
		hw_decode_failed(w, HW_BAD_HUB, addr, obj->header, 0, 0);
		return -1;
	}
	obj->hubinfo = *hub;
	int32_t enc = hub->enc;
	obj->length = 0;
	if (le_is_arraylike(enc)) {
		if (avail < L->array_length_off + 4u) {
			hw_decode_failed(w, HW_BAD_ARRAY_CUT, addr, 0, 0, 0);
			return -1;
		}
		int32_t len = lay_array_length(L, p);
		if (len < 0) {
			hw_decode_failed(w, HW_BAD_LENGTH, addr, (uint32_t)len, 0, 0);
			return -1;
		}
		obj->length = (uint32_t)len;
	}
	bool with_hash = w->in_image_heap ||
			 (L->hub_shift >= 5 && ((obj->header >> 3) & 3) == 2);
	obj->size = lay_object_size(L, enc, obj->length, with_hash, hub->idhash_off);
	if (obj->size < L->hdr_size || obj->size > limit) {
		hw_decode_failed(w, HW_BAD_SIZE, addr, obj->size, limit, (uint32_t)enc);
		return -1;
	}
	return 0;
}

/* The walk's start: *BASE the bytes of [FROM, TO) when they are local or
 * fit W's buffer (read into it), else NULL (objects are read one by one). */
HD_MUST_CHECK int hw_walk_start(struct hd_walker *w, uint64_t from, uint64_t to,
				const uint8_t **base);
/* Skips the gap starting at *CUR, if any; fails if *CUR lies inside one. */
HD_MUST_CHECK int hw_skip_gaps(const struct hd_walker *w, const struct hd_gap *gaps,
			       size_t ngaps, uint64_t *cur);
/* The object at CUR of a range read one object at a time. */
HD_MUST_CHECK int hw_decode_streamed(struct hd_walker *w, uint64_t cur, uint64_t to,
				     struct hd_object *obj);
__attribute__((cold)) int hw_walk_overshot(const struct hd_walker *w, uint64_t to, uint64_t cur);

/* The loop of both: with OBJ_APART the streamed path decodes into an
 * object of its own, so that OBJ's address never leaves the loop and OBJ
 * can live in registers.  That pays for a small visitor (the census: 8 %
 * fewer instructions), not for a large one, whose loop then spills more
 * than it saves (the writer: 4 % more). */
static inline __attribute__((always_inline)) int
hw_walk_loop(struct hd_walker *w, uint64_t from, uint64_t to, const struct hd_gap *gaps,
	     size_t ngaps, hd_object_fn fn, void *ctx, bool obj_apart)
{
	const uint8_t *base;
	if (hw_walk_start(w, from, to, &base) != 0)
		return -1;
	uint64_t cur = from;
	for (;;) {
		if (ngaps && hw_skip_gaps(w, gaps, ngaps, &cur) != 0)
			return -1;
		if (cur >= to)
			break;
		struct hd_object obj;
		if (base) {
			const uint8_t *p = base + (cur - from);
			if (hw_decode(w, cur, p, (size_t)(to - cur), to - cur, &obj) != 0)
				return -1;
			obj.data = p;
		} else if (obj_apart) {
			struct hd_object streamed = {0};
			if (hw_decode_streamed(w, cur, to, &streamed) != 0)
				return -1;
			obj = streamed;
		} else if (hw_decode_streamed(w, cur, to, &obj) != 0) {
			return -1;
		}
		w->bytes += obj.size;
		int rc = fn ? fn(ctx, &obj) : 0;
		if (rc != 0)
			return rc;
		cur += obj.size;
	}
	if (cur != to)
		return hw_walk_overshot(w, to, cur);
	return 0;
}

static inline __attribute__((always_inline)) int
hw_walk_range_with(struct hd_walker *w, uint64_t from, uint64_t to, const struct hd_gap *gaps,
		   size_t ngaps, hd_object_fn fn, void *ctx)
{
	return hw_walk_loop(w, from, to, gaps, ngaps, fn, ctx, false);
}

/* hw_walk_range_with for a visitor of a few lines (the census's). */
static inline __attribute__((always_inline)) int
hw_walk_range_small(struct hd_walker *w, uint64_t from, uint64_t to, const struct hd_gap *gaps,
		    size_t ngaps, hd_object_fn fn, void *ctx)
{
	return hw_walk_loop(w, from, to, gaps, ngaps, fn, ctx, true);
}

/* Decodes one object at ADDR (at most LIMIT bytes long) without visiting;
 * errors as hw_walk_range's. */
HD_MUST_CHECK int hw_decode_at(struct hd_walker *w, uint64_t addr, uint64_t limit,
			       struct hd_object *obj);

/* Bytes a walker may probe for unaligned objects, in all. */
#define HW_PROBE_BUDGET (64u << 20)

/* Where the single object of the unaligned chunk at CHUNK starts, TOP being
 * the chunk's top offset, read from its header.  LIMIT is the end of the
 * memory the caller knows readable from CHUNK on (its mapping, the image
 * heap): a top beyond it is refused unread.  IMAGE: the chunk belongs to
 * the image heap, whose objects always carry the optional identity hash;
 * runtime objects carry it by their header.  The known layouts are tried
 * first: a fixed offset, and the offset a card table sized by the object
 * implies (exact at any size).  Only then is a bounded window read in one
 * piece and a bounded number of candidates tried; a walker probes at most
 * HW_PROBE_BUDGET bytes in all.  Returns 0 with the start offset in *START,
 * or -1 with the reason recorded: HD_E_LAYOUT for an image chunk,
 * HD_E_INCONSISTENT for a live isolate's own. */
HD_MUST_CHECK int hw_unaligned_object_start(struct hd_walker *w, uint64_t chunk, uint64_t top,
					    uint64_t limit, bool image, uint64_t *start);

struct hd_chunk {
	uint64_t addr;
	bool aligned;
	bool image;     /* part of the image heap (never collected: a GC root) */
	uint64_t first; /* first object, absolute */
	uint64_t top;   /* end of the last object, absolute */
	const struct hd_gap *gaps; /* live TLAB tails inside [first, top), sorted */
	size_t ngaps;
};

typedef int (*hd_chunk_fn)(void *ctx, const struct hd_chunk *chunk);

/* Enumerates the image heap's chunks: the aligned list from the image-heap
 * start, then the unaligned list that follows it.  Validates each header;
 * a heap that ends inside one is refused, not taken for the list's end.
 * Returns 0, FN's nonzero result, or -1 with the error recorded: what a read
 * reports, HD_E_LAYOUT for a header that does not hold together. */
HD_MUST_CHECK int hw_image_chunks(struct hd_walker *w, hd_chunk_fn fn, void *ctx);

/* Every object of the image heap, chunk by chunk in hw_image_chunks'
 * order: FN(CTX, object) for each (W walks as in_image_heap; a signal
 * ends the walk between chunks, HD_E_INTERRUPTED).  Returns 0, FN's
 * nonzero result, or -1 with the error recorded, as hw_image_chunks. */
HD_MUST_CHECK int hw_image_objects(struct hd_walker *w, hd_object_fn fn, void *ctx);

#endif
