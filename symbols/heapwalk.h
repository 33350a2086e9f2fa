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
