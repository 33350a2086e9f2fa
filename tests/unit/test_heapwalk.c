/* The heap walk (symbols/heapwalk.c) on crafted chunks: objects visited in
 * order with their sizes, gaps stepped over, the image heap's chunk lists,
 * and the class of what does not hold together — final (HD_E_LAYOUT) in the
 * image heap, retryable (HD_E_INCONSISTENT) in a live isolate's chunks.
 * Then synthetic image heaps with hostile unaligned chunks: the probe
 * budget, huge objects found without probing, a heap cut in a header. */
#include "../../common/hd_error.h"
#include "../../symbols/heapwalk.h"
#include "synthdump.h"

#include <criterion/criterion.h>
#include <string.h>

#define IMAGE 0x10000u
#define CHUNK 4096u
#define INSTANCE_HUB 0x100u /* 24-byte instances */
#define BYTES_HUB 0x200u    /* byte[]: base 16 */

static const struct hd_layout L = {
	.ref_size = 8, .hdr_size = 8, .hub_shift = 3, .array_length_off = 12,
	.chunk_size = CHUNK, .ch_end = 0, .ch_next = 8, .ch_prev = 16, .ch_top = 24,
	.ch_struct_end = 32, .aligned_obj_start = 64, .image_start = IMAGE,
	.image_size = 2 * CHUNK,
};

static bool lookup(void *ctx, uint64_t hub, struct hd_hubinfo *info)
{
	(void)ctx;
	if (hub != INSTANCE_HUB && hub != BYTES_HUB)
		return false;
	*info = (struct hd_hubinfo){.enc = hub == INSTANCE_HUB ? 24 : (int32_t)0xE0001000u};
	return true;
}

static uint8_t image[2 * CHUNK];

static void put64(uint64_t addr, uint64_t v) { memcpy(image + (addr - IMAGE), &v, 8); }
static void put32(uint64_t addr, uint32_t v) { memcpy(image + (addr - IMAGE), &v, 4); }

/* Two aligned chunks: the first holds an instance and a 5-byte array, the
 * second one instance. */
static void build(void)
{
	memset(image, 0, sizeof image);
	put64(IMAGE + L.ch_end, CHUNK);
	put64(IMAGE + L.ch_top, 64 + 24 + 24);
	put64(IMAGE + L.ch_next, CHUNK);
	put64(IMAGE + 64, INSTANCE_HUB);
	put64(IMAGE + 88, BYTES_HUB);
	put32(IMAGE + 88 + 12, 5);
	uint64_t c1 = IMAGE + CHUNK;
	put64(c1 + L.ch_end, CHUNK);
	put64(c1 + L.ch_top, 64 + 24);
	put64(c1 + L.ch_prev, -(uint64_t)CHUNK);
	put64(c1 + 64, INSTANCE_HUB);
}

struct fixture {
	hd_memview *mv;
	struct hd_walker w;
	struct hd_layout L;
};

static void setup(struct fixture *f, uint64_t image_size, bool in_image)
{
	build();
	f->L = L;
	f->L.image_size = image_size;
	f->mv = mv_new_local();
	cr_assert_not_null(f->mv);
	cr_assert_eq(mv_add_local(f->mv, IMAGE, image, image_size), 0);
	cr_assert_eq(hw_init(&f->w, &f->L, f->mv, lookup, NULL), 0);
	f->w.in_image_heap = in_image;
}

static void teardown(struct fixture *f)
{
	hw_fini(&f->w);
	mv_free(f->mv);
}

struct seen {
	uint64_t addr[8], size[8];
	uint32_t length[8];
	size_t n;
};

static int note_object(void *ctx, const struct hd_object *o)
{
	struct seen *s = ctx;
	cr_assert_lt(s->n, 8);
	s->addr[s->n] = o->addr;
	s->size[s->n] = o->size;
	s->length[s->n++] = o->length;
	cr_assert_not_null(o->data);
	return 0;
}

Test(heapwalk, objects_in_order_with_their_sizes)
{
	struct fixture f;
	setup(&f, 2 * CHUNK, true);
	struct seen s = {0};
	cr_assert_eq(hw_walk_range(&f.w, IMAGE + 64, IMAGE + 112, NULL, 0, note_object, &s), 0, "%s",
		     hd_error_message());
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.addr[0], IMAGE + 64);
	cr_assert_eq(s.size[0], 24);
	cr_assert_eq(s.addr[1], IMAGE + 88);
	cr_assert_eq(s.size[1], 24, "16 + 5 bytes, rounded to 8");
	cr_assert_eq(s.length[1], 5);
	cr_assert_eq(f.w.bytes, 48);
	teardown(&f);
}

static unsigned lookups;

static bool counting_lookup(void *ctx, uint64_t hub, struct hd_hubinfo *info)
{
	lookups++;
	return lookup(ctx, hub, info);
}

/* With the hub cache, a walk sees the same objects and asks the lookup once
 * per hub; a header naming no hub, whose address shares a cache entry with
 * a hub met before, is still refused. */
Test(heapwalk, cached_hubs_are_looked_up_once)
{
	struct fixture f;
	setup(&f, 2 * CHUNK, true);
	f.w.lookup = counting_lookup;
	cr_assert_eq(hw_cache_hubs(&f.w), 0);
	lookups = 0;
	for (int pass = 0; pass < 3; pass++) {
		struct seen s = {0};
		cr_assert_eq(hw_walk_range(&f.w, IMAGE + 64, IMAGE + 112, NULL, 0, note_object, &s),
			     0, "%s", hd_error_message());
		cr_assert_eq(s.n, 2);
		cr_assert_eq(s.size[1], 24);
		cr_assert_eq(s.length[1], 5);
	}
	cr_assert_eq(lookups, 2, "%u lookups for 2 hubs", lookups);
	put64(IMAGE + 64, INSTANCE_HUB + 1024 * 8); /* the same cache entry, no hub */
	cr_assert_eq(hw_walk_range(&f.w, IMAGE + 64, IMAGE + 112, NULL, 0, NULL, NULL), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	cr_assert_eq(lookups, 3);
	teardown(&f);
}

/* A live TLAB's unformatted tail is stepped over; a walk that lands inside
 * one is refused. */
Test(heapwalk, gaps_are_stepped_over)
{
	struct fixture f;
	setup(&f, 2 * CHUNK, false);
	put64(IMAGE + 64, 0xdeadbeef0); /* garbage the gap covers */
	struct hd_gap gap = {IMAGE + 64, IMAGE + 88};
	struct seen s = {0};
	cr_assert_eq(hw_walk_range(&f.w, IMAGE + 64, IMAGE + 112, &gap, 1, note_object, &s), 0, "%s",
		     hd_error_message());
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.addr[0], IMAGE + 88);
	gap = (struct hd_gap){IMAGE + 56, IMAGE + 88};
	cr_assert_eq(hw_walk_range(&f.w, IMAGE + 64, IMAGE + 112, &gap, 1, NULL, NULL), -1);
	cr_assert_eq(hd_error_class(), HD_E_INCONSISTENT, "%s", hd_error_message());
	cr_assert_not_null(strstr(hd_error_message(), "TLAB gap"), "%s", hd_error_message());
	teardown(&f);
}

/* The same contradictions, in the image heap and in a live isolate's own
 * chunks: only the latter may be a heap caught changing. */
Test(heapwalk, contradictions_are_final_only_in_the_image_heap)
{
	static const struct {
		const char *what;
		uint64_t to;     /* the walk's end */
		uint64_t header; /* written over the first object's, if not 0 */
		struct hd_gap gap; /* stepped over, if not empty */
	} cases[] = {
		{"does not point to a hub", IMAGE + 112, 0x300, {0, 0}},
		{"is forwarded", IMAGE + 112, INSTANCE_HUB | 4, {0, 0}},
		{"impossible size", IMAGE + 104, 0, {0, 0}},
		{"overshot", IMAGE + 112, 0, {IMAGE + 88, IMAGE + 120}},
		{"below its start", IMAGE + 56, 0, {0, 0}},
	};
	for (int live = 0; live < 2; live++) {
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			struct fixture f;
			setup(&f, 2 * CHUNK, !live);
			if (cases[i].header)
				put64(IMAGE + 64, cases[i].header);
			hd_error_clear();
			cr_assert_eq(hw_walk_range(&f.w, IMAGE + 64, cases[i].to, &cases[i].gap,
						   cases[i].gap.to > 0, NULL, NULL), -1,
				     "%s: accepted", cases[i].what);
			cr_assert_eq(hd_error_class(), live ? HD_E_INCONSISTENT : HD_E_LAYOUT, "%s: %s",
				     cases[i].what, hd_error_message());
			cr_assert_not_null(strstr(hd_error_message(), cases[i].what), "%s",
					   hd_error_message());
			teardown(&f);
		}
	}
}

Test(heapwalk, negative_array_length_is_refused)
{
	struct fixture f;
	setup(&f, 2 * CHUNK, true);
	put32(IMAGE + 88 + 12, 0x80000000u);
	struct hd_object o;
	cr_assert_eq(hw_decode_at(&f.w, IMAGE + 88, 24, &o), -1);
	cr_assert_not_null(strstr(hd_error_message(), "has length"), "%s", hd_error_message());
	put32(IMAGE + 88 + 12, 5);
	cr_assert_eq(hw_decode_at(&f.w, IMAGE + 88, 24, &o), 0, "%s", hd_error_message());
	cr_assert_eq(o.length, 5);
	cr_assert_null(o.data, "hw_decode_at reads only the object's start");
	teardown(&f);
}

struct chunks_seen {
	struct hd_chunk v[4];
	size_t n;
};

static int note_chunk(void *ctx, const struct hd_chunk *c)
{
	struct chunks_seen *s = ctx;
	cr_assert_lt(s->n, 4);
	s->v[s->n++] = *c;
	return 0;
}

Test(heapwalk, image_chunks_follow_the_list)
{
	struct fixture f;
	setup(&f, 2 * CHUNK, true);
	struct chunks_seen s = {0};
	cr_assert_eq(hw_image_chunks(&f.w, note_chunk, &s), 0, "%s", hd_error_message());
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.v[0].addr, IMAGE);
	cr_assert_eq(s.v[0].first, IMAGE + 64);
	cr_assert_eq(s.v[0].top, IMAGE + 112);
	cr_assert(s.v[0].aligned && s.v[0].image);
	cr_assert_eq(s.v[1].addr, IMAGE + CHUNK);
	cr_assert_eq(s.v[1].top, IMAGE + CHUNK + 88);
	teardown(&f);
}

/* A link to where the image heap ends, or to a chunk it does not hold in
 * full: refused before the header is read, as the image's fault. */
Test(heapwalk, image_heap_that_ends_inside_a_chunk)
{
	static const uint64_t sizes[] = {CHUNK, CHUNK + CHUNK / 2};
	for (size_t i = 0; i < 2; i++) {
		struct fixture f;
		setup(&f, sizes[i], true);
		uint64_t reads = mv_stats(f.mv).reads;
		struct chunks_seen s = {0};
		hd_error_clear();
		cr_assert_eq(hw_image_chunks(&f.w, note_chunk, &s), -1, "image of %llu bytes accepted",
			     (unsigned long long)sizes[i]);
		cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", hd_error_message());
		cr_assert_not_null(strstr(hd_error_message(), "ends inside the chunk at +0x1000"), "%s",
				   hd_error_message());
		cr_assert_eq(mv_stats(f.mv).reads - reads, 1, "only the first header is read");
		teardown(&f);
	}
}

/* Where an unaligned chunk's top lies inside its header, the class again
 * follows the chunk's owner. */
Test(heapwalk, unaligned_object_start_classes)
{
	for (int image_chunk = 0; image_chunk < 2; image_chunk++) {
		struct fixture f;
		setup(&f, 2 * CHUNK, true);
		uint64_t start = 1;
		hd_error_clear();
		cr_assert_eq(hw_unaligned_object_start(&f.w, IMAGE, 40, IMAGE + 2 * CHUNK, image_chunk,
						       &start), -1);
		cr_assert_eq(hd_error_class(), image_chunk ? HD_E_LAYOUT : HD_E_INCONSISTENT, "%s",
			     hd_error_message());
		cr_assert_not_null(strstr(hd_error_message(), "top inside its header"), "%s",
				   hd_error_message());
		teardown(&f);
	}
}

/* ---- Synthetic image heaps (synthheap.h): hostile unaligned chunks ------ */

static const struct sh_params *const PRESETS[] = {&sh_ce_22_3, &sh_oracle_21, &sh_ce_25};
#define NPRESETS (sizeof PRESETS / sizeof PRESETS[0])

static bool no_hub(void *ctx, uint64_t hub, struct hd_hubinfo *info)
{
	(void)ctx, (void)hub, (void)info;
	return false;
}

/* However many chunks a target forges, a walker's probing stops. */
Test(heapwalk, probe_budget)
{
	struct sh_heap h;
	cr_assert_eq(sh_build(&sh_ce_25, &h), 0);
	hd_memview *mv = mv_new_local();
	cr_assert_eq(mv_add_local(mv, h.start, h.data, h.size), 0);
	struct hd_walker w;
	cr_assert_eq(hw_init(&w, &h.expect, mv, no_hub, NULL), 0);
	uint64_t u = h.chunks[h.naligned], top;
	memcpy(&top, sh_ptr(&h, u + h.p.ch_top), 8);
	uint64_t start;
	cr_assert_eq(hw_unaligned_object_start(&w, u, top, h.start + h.size, true, &start), -1);
	cr_assert_not_null(strstr(hd_error_message(), "holds no valid object"), "%s", hd_error_message());
	w.probed = HW_PROBE_BUDGET - 8;
	uint64_t before = mv_stats(mv).reads;
	cr_assert_eq(hw_unaligned_object_start(&w, u, top, h.start + h.size, true, &start), -1);
	cr_assert_not_null(strstr(hd_error_message(), "probed"), "%s", hd_error_message());
	cr_assert_leq(mv_stats(mv).reads - before, 4);
	hw_fini(&w);
	mv_free(mv);
	sh_free(&h);
}

/* CE 25 puts an unaligned chunk's object after a card table sized by the
 * object (UnalignedHeapChunk.calculateObjectStartOffset: header, one card
 * byte per 512 bytes, the offset word), and the runtime finds it by
 * inverting that size (UnalignedChunkRememberedSet.getObjectStartOffset).
 * The offset the top implies is exact at any size, so an object much
 * larger than the probe window (whose offset word lies past it) is found
 * without probing.  The chunk is sparse: its header, and the offset word
 * and object header where they must be. */
Test(heapwalk, huge_unaligned_objects_found_without_probing)
{
	struct sd_heap r;
	sd_open(&r, &sh_ce_25, 1);
	const struct sh_params *p = &r.h.p;
	struct sh_heap *h = &r.h;
	uint64_t u = h->chunks[h->naligned], top0;
	memcpy(&top0, sh_ptr(h, u + p->ch_top), 8);
	struct hd_walker w;
	cr_assert_eq(hw_init(&w, &r.L, r.mv, classes_lookup, &r.classes), 0);
	uint64_t start0;
	cr_assert_eq(hw_unaligned_object_start(&w, u, top0, h->start + h->size, true, &start0), 0,
		     "%s", hd_error_message());
	hw_fini(&w);
	uint32_t len0;
	memcpy(&len0, sh_ptr(h, u + start0 + p->array_length_off), 4);
	uint64_t size0 = top0 - start0; /* a byte[]: one more element, one more byte */
	uint64_t header_end = (r.L.ch_struct_end + 7u) & ~7ull;

	static const uint64_t sizes[] = {(512ull << 20) + 4096, 1ull << 30, (2ull << 30) - 4096};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint64_t size = size0 + ((sizes[i] - size0) & ~7ull);
		uint64_t len = len0 + (size - size0);
		cr_assert_lt(len, 1ull << 31);
		uint64_t cards = (((size + 511) / 512) + 7) & ~7ull;
		uint64_t start = header_end + cards + 8, top = start + size;
		cr_assert_gt(start, header_end + (1u << 20), "the offset word lies past the window");

		uint64_t chunk = r.L.heap_base + 12 * (1ull << 30); /* far from the image heap */
		uint8_t head[4096], obj[4096];
		memcpy(head, sh_ptr(h, u), sizeof head);
		memcpy(head + p->ch_top, &top, 8);
		memcpy(head + p->ch_end, &top, 8);
		memset(obj, 0, sizeof obj);
		memcpy(obj + 8, &start, 8); /* the word before the object */
		memcpy(obj + 16, sh_ptr(h, u + start0), p->array_base);
		uint32_t len32 = (uint32_t)len;
		memcpy(obj + 16 + p->array_length_off, &len32, 4);
		hd_memview *mv = mv_new_local();
		cr_assert_eq(mv_add_local(mv, h->start, h->data, h->size), 0);
		cr_assert_eq(mv_add_local(mv, chunk, head, sizeof head), 0);
		cr_assert_eq(mv_add_local(mv, chunk + start - 16, obj, sizeof obj), 0);
		cr_assert_eq(hw_init(&w, &r.L, mv, classes_lookup, &r.classes), 0);
		uint64_t got = 0;
		cr_assert_eq(hw_unaligned_object_start(&w, chunk, top, chunk + top, false, &got), 0,
			     "%s", hd_error_message());
		cr_assert_eq(got, start, "a %llu-byte object: found at %llu, not %llu: %s",
			     (unsigned long long)size, (unsigned long long)got,
			     (unsigned long long)start, hd_error_message());
		cr_assert_eq(w.probed, 0, "probed %llu bytes", (unsigned long long)w.probed);
		hw_fini(&w);
		mv_free(mv);
	}
	sd_close(&r);
}

/* Issue 8, part 1: a heap cut inside an unaligned chunk's header. */
static int count_chunk(void *ctx, const struct hd_chunk *ch)
{
	(void)ch;
	++*(size_t *)ctx;
	return 0;
}

Test(heapwalk, image_heap_cut_in_unaligned_header)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct sh_heap h;
		cr_assert_eq(sh_build(PRESETS[i], &h), 0);
		uint64_t u = h.chunks[h.naligned] - h.start;
		for (uint64_t cut = u; cut < u + h.expect.ch_struct_end; cut += 4) {
			struct hd_layout L = h.expect;
			L.image_size = cut;
			hd_memview *mv = mv_new_local();
			cr_assert_eq(mv_add_local(mv, h.start, h.data, cut), 0);
			struct hd_walker w;
			cr_assert_eq(hw_init(&w, &L, mv, no_hub, NULL), 0);
			size_t n = 0;
			hd_error_clear();
			int rc = hw_image_chunks(&w, count_chunk, &n);
			if (cut == u) { /* the list ends with the heap: no unaligned chunks */
				cr_assert_eq(rc, 0, "%s: %s", h.p.name, hd_error_message());
				cr_assert_eq(n, h.naligned);
			} else {
				cr_assert_eq(rc, -1, "%s: a header cut at +%llu was taken for the end",
					     h.p.name, (unsigned long long)(cut - u));
				cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
				cr_assert_not_null(strstr(hd_error_message(), "ends inside"), "%s",
						   hd_error_message());
			}
			hw_fini(&w);
			mv_free(mv);
		}
		sh_free(&h);
	}
}
