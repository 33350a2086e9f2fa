/* The heap walk (symbols/heapwalk.c) on crafted chunks: objects visited in
 * order with their sizes, gaps stepped over, the image heap's chunk lists,
 * and the class of what does not hold together — final (HD_E_LAYOUT) in the
 * image heap, retryable (HD_E_INCONSISTENT) in a live isolate's chunks. */
#include "../../common/hd_error.h"
#include "../../symbols/heapwalk.h"

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
