/* The decoders of symbols/layout.h (layout.c): encodings, sizes,
 * references, chunk headers, reference maps, hub fields and Strings, on
 * crafted bytes in each layout. */
#include "../../agent/memview.h"
#include "../../common/hd_error.h"
#include "../../symbols/layout.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* ---- Layout encodings --------------------------------------------------- */

struct enc_case {
	uint32_t enc;
	bool instance, arraylike, pure, hybrid, primitive;
	unsigned base, shift;
};

/* Values seen in real images (observed-binaries.md §4) and the specials. */
static const struct enc_case ENCODINGS[] = {
	{0xE0001000, false, true, true, false, true, 16, 0},    /* byte[], CE */
	{0xE0001002, false, true, true, false, true, 16, 2},    /* int[], CE */
	{0xE0000800, false, true, true, false, true, 8, 0},     /* byte[], 4-byte references */
	{0xA0001003, false, true, true, false, false, 16, 3},   /* Object[], CE */
	{0xA0000802, false, true, true, false, false, 8, 2},    /* Object[], compressed */
	{0xC000D803, false, true, false, true, true, 0xd8, 3},  /* DynamicHub, 22.3 */
	{0xC0006003, false, true, false, true, true, 0x60, 3},  /* DynamicHub, 25 */
	{0x80001003, false, true, false, true, false, 16, 3},   /* hybrid with object elements */
	{0x20, true, false, false, false, false, 0, 0},         /* String, 32 bytes */
	{0x48, true, false, false, false, false, 0, 0},         /* HashMap, 72 bytes */
	{0, false, false, false, false, false, 0, 0},           /* neutral */
	{1, false, false, false, false, false, 0, 0},           /* primitive class */
	{2, false, false, false, false, false, 0, 0},           /* interface */
	{3, false, false, false, false, false, 0, 0},           /* abstract class */
};

Test(layout, encoding_predicates)
{
	for (size_t i = 0; i < sizeof ENCODINGS / sizeof ENCODINGS[0]; i++) {
		const struct enc_case *c = &ENCODINGS[i];
		int32_t e = (int32_t)c->enc;
		cr_assert_eq(le_is_instance(e), c->instance, "0x%x instance", c->enc);
		cr_assert_eq(le_is_arraylike(e), c->arraylike, "0x%x array-like", c->enc);
		cr_assert_eq(le_is_pure_array(e), c->pure, "0x%x pure array", c->enc);
		cr_assert_eq(le_is_hybrid(e), c->hybrid, "0x%x hybrid", c->enc);
		cr_assert_eq(le_has_primitive_elems(e), c->primitive, "0x%x primitive", c->enc);
		cr_assert(le_is_plausible(e), "0x%x must be plausible", c->enc);
		if (c->arraylike) {
			cr_assert_eq(le_base(e), c->base, "0x%x base", c->enc);
			cr_assert_eq(le_shift(e), c->shift, "0x%x shift", c->enc);
		}
	}
}

Test(layout, implausible_encodings)
{
	static const uint32_t bad[] = {
		4,          /* instance sizes are multiples of 8 */
		0x21,
		1u << 24,   /* too large an instance */
		0xE0001004, /* element size 16 */
		0xE0101000, /* unused bits set */
		0xE0000300, /* base below the header */
		0x80000000, /* base 0 */
		0x60001000, /* positive, neither small nor a size */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_not(le_is_plausible((int32_t)bad[i]), "0x%x accepted", bad[i]);
	cr_assert(le_is_plausible((1 << 24) - 8));
}

/* ---- Object sizes ------------------------------------------------------- */

static struct hd_layout layout_of(unsigned ref, bool hash_appended)
{
	struct hd_layout L = {.ref_size = ref, .hdr_size = ref, .hash_appended = hash_appended,
			      .array_length_off = ref == 8 ? 12 : 4};
	return L;
}

Test(layout, instance_sizes)
{
	struct hd_layout ce = layout_of(8, false), opt = layout_of(4, true);
	cr_assert_eq(lay_object_size(&ce, 24, 0, true, 24), 24, "no appended hash in CE");
	cr_assert_eq(lay_object_size(&opt, 24, 0, false, 24), 24, "runtime object without hash");
	cr_assert_eq(lay_object_size(&opt, 24, 0, true, 24), 32, "hash appended after the fields");
	cr_assert_eq(lay_object_size(&opt, 24, 0, true, 20), 24, "hash in the last gap");
	cr_assert_eq(lay_object_size(&opt, 24, 0, true, 4), 24, "hash in an early gap");
	cr_assert_eq(lay_object_size(&opt, 16, 0, true, 16), 24, "String: 16 + hash = 24");
	cr_assert_eq(lay_object_size(&opt, 8, 0, true, 8), 16, "Integer: 8 + hash = 16");
	cr_assert_eq(lay_object_size(&opt, 16, 0, true, 22), 32, "alignUp(22 + 4)");
	for (int32_t special = 0; special <= 3; special++)
		cr_assert_eq(lay_object_size(&opt, special, 0, true, 0), 0, "encoding %d", special);
}

Test(layout, array_sizes)
{
	struct hd_layout ce = layout_of(8, false), opt = layout_of(4, true);
	const int32_t bytes_ce = (int32_t)0xE0001000, ints_ce = (int32_t)0xE0001002,
		      longs_ce = (int32_t)0xE0001003, bytes_opt = (int32_t)0xE0000800,
		      hub = (int32_t)0xC000D803;
	cr_assert_eq(lay_object_size(&ce, bytes_ce, 0, true, 0), 16);
	cr_assert_eq(lay_object_size(&ce, bytes_ce, 1, true, 0), 24);
	cr_assert_eq(lay_object_size(&ce, bytes_ce, 8, true, 0), 24);
	cr_assert_eq(lay_object_size(&ce, ints_ce, 2, true, 0), 24);
	cr_assert_eq(lay_object_size(&ce, longs_ce, 1, true, 0), 24);
	cr_assert_eq(lay_object_size(&ce, hub, 30, true, 0), 0xd8 + 30 * 8);
	/* Optional hash: at roundUp(end, 4), then 8-byte alignment. */
	cr_assert_eq(lay_object_size(&opt, bytes_opt, 0, false, 0), 8);
	cr_assert_eq(lay_object_size(&opt, bytes_opt, 0, true, 0), 16);
	cr_assert_eq(lay_object_size(&opt, bytes_opt, 3, false, 0), 16);
	cr_assert_eq(lay_object_size(&opt, bytes_opt, 3, true, 0), 16, "11 -> 12 + 4");
	cr_assert_eq(lay_object_size(&opt, bytes_opt, 4, true, 0), 16, "12 + 4");
	cr_assert_eq(lay_object_size(&opt, bytes_opt, 5, true, 0), 24, "13 -> 16 + 4");
	cr_assert_eq(lay_object_size(&opt, (int32_t)0xC0006803, 4, true, 0), 0x68 + 32 + 8);
	/* The largest array does not overflow. */
	cr_assert_eq(lay_object_size(&ce, longs_ce, INT32_MAX, false, 0), 16 + ((uint64_t)INT32_MAX << 3));
}

/* ---- Headers and references --------------------------------------------- */

Test(layout, hub_from_header)
{
	struct hd_layout L = {.heap_base = 0x7f1f08e00000ull, .hub_shift = 3};
	cr_assert_eq(lay_hub_from_header(&L, 0x01076e00), L.heap_base + 0x01076e00);
	cr_assert_eq(lay_hub_from_header(&L, 0x01076e07), L.heap_base + 0x01076e00, "bits 0-2 dropped");
	L.hub_shift = 5;
	uint64_t off = 0x1230, h = ((off >> 3) << 5) | 0x12; /* hash state 10, remembered set */
	cr_assert_eq(lay_hub_from_header(&L, h), L.heap_base + off);
	cr_assert_eq(lay_hub_from_header(&L, 0xffffffe0u), L.heap_base + ((0xffffffe0ull >> 5) << 3),
		     "32-bit headers reach 1 GiB");
}

Test(layout, header_width)
{
	const uint8_t raw[8] = {0x10, 0x20, 0x30, 0x40, 0xff, 0xff, 0xff, 0xff};
	struct hd_layout L4 = {.hdr_size = 4}, L8 = {.hdr_size = 8};
	cr_assert_eq(lay_header(&L4, raw), 0x40302010u);
	cr_assert_eq(lay_header(&L8, raw), 0xffffffff40302010ull);
}

Test(layout, references)
{
	uint8_t raw[8];
	struct hd_layout L8 = {.ref_size = 8, .ref_shift = 0, .heap_base = 0x7f0000000000ull};
	struct hd_layout L4 = {.ref_size = 4, .ref_shift = 3, .heap_base = 0x7e0000000000ull};
	uint64_t v = 0x1234;
	memcpy(raw, &v, 8);
	cr_assert_eq(lay_ref(&L8, raw), L8.heap_base + 0x1234);
	/* pkl 0.25.1 stores chunks below the heap base as negative offsets. */
	v = (uint64_t)-0x100000;
	memcpy(raw, &v, 8);
	cr_assert_eq(lay_ref(&L8, raw), L8.heap_base - 0x100000);
	uint32_t c = 0x10;
	memcpy(raw, &c, 4);
	memset(raw + 4, 0xff, 4); /* the next field: must not be read */
	cr_assert_eq(lay_ref(&L4, raw), L4.heap_base + 0x80);
	c = 0xffffffffu;
	memcpy(raw, &c, 4);
	cr_assert_eq(lay_ref(&L4, raw), L4.heap_base + 0x7fffffff8ull);
	memset(raw, 0, sizeof raw);
	cr_assert_eq(lay_ref(&L8, raw), 0, "null is 0, not the heap base");
	memset(raw + 4, 0xff, 4);
	cr_assert_eq(lay_ref(&L4, raw), 0, "compressed null");
}

Test(layout, rebase_moves_addresses_only)
{
	struct hd_layout L = {.heap_base = 0x1000000, .image_start = 0x1100000, .class_hub = 0x1200008,
			      .string_hub = 0x1200100, .refmap_data = 0x1100010, .hub_name = 0x30,
			      .str_value = 16, .chunk_size = 1 << 20};
	struct hd_layout R = L;
	lay_rebase(&R, 0x40000000);
	cr_assert_eq(R.heap_base, L.heap_base + 0x40000000);
	cr_assert_eq(R.image_start, L.image_start + 0x40000000);
	cr_assert_eq(R.class_hub, L.class_hub + 0x40000000);
	cr_assert_eq(R.string_hub, L.string_hub + 0x40000000);
	cr_assert_eq(R.refmap_data, L.refmap_data + 0x40000000);
	cr_assert_eq(R.hub_name, L.hub_name);
	cr_assert_eq(R.str_value, L.str_value);
	cr_assert_eq(R.chunk_size, L.chunk_size);
}

/* ---- Chunk headers, hub fields, array lengths, in each layout ----------- */

/* The three layouts hdump knows, with the header and hub offsets of the
 * pkl binaries and synthheap's presets. */
static const struct {
	const char *name;
	struct hd_layout L;
} LAYOUTS[] = {
	{"CE 22.3", {.ref_size = 8, .hdr_size = 8, .hub_shift = 3, .array_length_off = 12,
		     .chunk_size = 1 << 20, .ch_end = 0, .ch_next = 8, .ch_prev = 16, .ch_top = 32,
		     .ch_struct_end = 40, .hub_name = 0x30, .hub_enc = 0xb8, .hub_refmap = 0xc0,
		     .hub_idhash = -1, .str_value = 16, .str_coder = -1, .heap_base = 0x100000}},
	{"CE 25", {.ref_size = 8, .hdr_size = 8, .hub_shift = 3, .array_length_off = 12,
		   .chunk_size = 1 << 20, .ch_end = 0, .ch_next = 16, .ch_prev = 24, .ch_top = 40,
		   .ch_struct_end = 56, .hub_name = 0x30, .hub_enc = 0x2c, .hub_refmap = 0x4c,
		   .hub_idhash = 0x50, .str_value = 8, .str_coder = 20, .heap_base = 0x100000}},
	{"4-byte compressed", {.ref_size = 4, .ref_shift = 3, .hdr_size = 4, .hub_shift = 5,
			       .array_length_off = 4, .chunk_size = 1 << 19, .ch_end = 0, .ch_next = 16,
			       .ch_prev = 24, .ch_top = 32, .ch_struct_end = 48, .hub_name = 0x10,
			       .hub_enc = 0x58, .hub_refmap = 0x5c, .hub_idhash = 0x60,
			       .str_value = 4, .str_coder = 12, .heap_base = 0x100000}},
};
#define NLAYOUTS (sizeof LAYOUTS / sizeof LAYOUTS[0])

static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

Test(layout, chunk_header_in_each_layout)
{
	for (size_t i = 0; i < NLAYOUTS; i++) {
		const struct hd_layout *L = &LAYOUTS[i].L;
		uint8_t raw[64];
		/* Every word distinct, so a decoder reading the wrong slot shows. */
		for (unsigned k = 0; k < sizeof raw; k += 8)
			put64(raw + k, 0xdead0000u + k);
		put64(raw + L->ch_end, L->chunk_size);
		put64(raw + L->ch_top, 0x2a8);
		put64(raw + L->ch_next, (uint64_t)-(int64_t)(3 * L->chunk_size));
		struct lay_chunk_header h = lay_chunk_header(L, raw);
		cr_assert_eq(h.end, (int64_t)L->chunk_size, "%s", LAYOUTS[i].name);
		cr_assert_eq(h.top, 0x2a8, "%s", LAYOUTS[i].name);
		cr_assert_eq(h.next, -(int64_t)(3 * L->chunk_size), "%s: links go both ways",
			     LAYOUTS[i].name);
		cr_assert(lay_chunk_is_aligned(L, &h), "%s", LAYOUTS[i].name);

		/* An unaligned chunk: its end is its own size. */
		put64(raw + L->ch_end, L->chunk_size + 4096);
		put64(raw + L->ch_top, L->chunk_size + 4096);
		h = lay_chunk_header(L, raw);
		cr_assert_not(lay_chunk_is_aligned(L, &h), "%s", LAYOUTS[i].name);
		cr_assert(lay_unaligned_header_ok(L, &h), "%s: top at the end", LAYOUTS[i].name);
		h.top = h.end + 8;
		cr_assert_not(lay_unaligned_header_ok(L, &h), "%s: top past the end", LAYOUTS[i].name);
		h.top = L->ch_struct_end;
		cr_assert_not(lay_unaligned_header_ok(L, &h), "%s: top in the header",
			      LAYOUTS[i].name);
		h = (struct lay_chunk_header){.end = L->ch_struct_end, .top = L->ch_struct_end};
		cr_assert_not(lay_unaligned_header_ok(L, &h), "%s: end in the header",
			      LAYOUTS[i].name);
	}
}

Test(layout, hub_fields_in_each_layout)
{
	for (size_t i = 0; i < NLAYOUTS; i++) {
		const struct hd_layout *L = &LAYOUTS[i].L;
		uint8_t hub[0x100];
		for (unsigned k = 0; k < sizeof hub; k++)
			hub[k] = (uint8_t)(k * 7 + 1);
		put32(hub + L->hub_enc, 0xE0001000u);
		put32(hub + L->hub_refmap, 0x1234);
		if (L->hub_idhash >= 0)
			put16(hub + L->hub_idhash, 0x1c);
		cr_assert_eq(lay_hub_encoding(L, hub), (int32_t)0xE0001000u, "%s", LAYOUTS[i].name);
		cr_assert_eq(lay_hub_refmap_index(L, hub), 0x1234, "%s", LAYOUTS[i].name);
		cr_assert_eq(lay_hub_idhash_off(L, hub), L->hub_idhash >= 0 ? 0x1cu : 0u,
			     "%s: no per-type offset where the hash is fixed", LAYOUTS[i].name);
	}
}

Test(layout, array_length_in_each_layout)
{
	for (size_t i = 0; i < NLAYOUTS; i++) {
		const struct hd_layout *L = &LAYOUTS[i].L;
		uint8_t obj[32];
		memset(obj, 0xee, sizeof obj);
		put32(obj + L->array_length_off, 1000);
		cr_assert_eq(lay_array_length(L, obj), 1000, "%s", LAYOUTS[i].name);
		put32(obj + L->array_length_off, 0x80000000u);
		cr_assert_lt(lay_array_length(L, obj), 0, "%s: corrupt lengths stay visible",
			     LAYOUTS[i].name);
	}
}

/* ---- Reference maps ------------------------------------------------------ */

struct runs {
	unsigned off[8], count[8];
	size_t n;
	size_t stop_after; /* return 7 after this many runs (0: never) */
};

static int collect_run(void *ctx, unsigned off, unsigned count)
{
	struct runs *r = ctx;
	r->off[r->n] = off;
	r->count[r->n++] = count;
	return r->stop_after && r->n == r->stop_after ? 7 : 0;
}

/* A table with a map at INDEX 8: PAIRS (offset, count) pairs. */
static uint32_t write_map(uint8_t *table, const int32_t *pairs, size_t npairs)
{
	memset(table, 0, 256);
	put32(table + 8, (uint32_t)npairs);
	for (size_t k = 0; k < npairs; k++) {
		put32(table + 12 + 8 * k, (uint32_t)pairs[2 * k]);
		put32(table + 16 + 8 * k, (uint32_t)pairs[2 * k + 1]);
	}
	return 12 + 8 * (uint32_t)npairs;
}

Test(layout, refmap_runs_in_each_layout)
{
	for (size_t i = 0; i < NLAYOUTS; i++) {
		const struct hd_layout *L = &LAYOUTS[i].L;
		unsigned r = L->ref_size, h = L->hdr_size;
		uint8_t table[256];
		int32_t pairs[] = {(int32_t)(h + r), 2, (int32_t)(h + 4 * r), 1};
		uint32_t len = write_map(table, pairs, 2);
		struct runs got = {0};
		cr_assert_eq(lay_refmap_each(L, table, len, 8, h + 5 * r, collect_run, &got), 0,
			     "%s: %s", LAYOUTS[i].name, hd_error_message());
		cr_assert_eq(got.n, 2, "%s", LAYOUTS[i].name);
		cr_assert_eq(got.off[0], h + r);
		cr_assert_eq(got.count[0], 2);
		cr_assert_eq(got.off[1], h + 4 * r);
		cr_assert_eq(got.count[1], 1);

		/* The visitor's nonzero result ends the visit and is returned. */
		struct runs first = {.stop_after = 1};
		cr_assert_eq(lay_refmap_each(L, table, len, 8, h + 5 * r, collect_run, &first), 7);
		cr_assert_eq(first.n, 1);
		/* An empty map, and a map checked without a visitor. */
		cr_assert_eq(lay_refmap_each(L, table, write_map(table, NULL, 0), 8, h, NULL, NULL), 0);
	}
}

Test(layout, refmap_that_does_not_decode_is_refused)
{
	for (size_t i = 0; i < NLAYOUTS; i++) {
		const struct hd_layout *L = &LAYOUTS[i].L;
		int32_t r = (int32_t)L->ref_size, h = (int32_t)L->hdr_size;
		const struct {
			const char *what;
			int32_t pairs[4];
			size_t npairs;
			unsigned limit;
		} bad[] = {
			{"run past the object", {h, 3}, 1, (unsigned)(h + 2 * r)},
			{"run over the header", {h - r, 1}, 1, 256},
			{"runs out of order", {h + 2 * r, 1, h, 1}, 2, 256},
			{"overlapping runs", {h, 2, h + r, 1}, 2, 256},
			{"misaligned run", {h + 2, 1}, 1, 256},
			{"empty run", {h, 0}, 1, 256},
			{"negative offset", {-8, 1}, 1, 256},
		};
		for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
			uint8_t table[256];
			uint32_t len = write_map(table, bad[k].pairs, bad[k].npairs);
			struct runs got = {0};
			hd_error_clear();
			cr_assert_eq(lay_refmap_each(L, table, len, 8, bad[k].limit, collect_run, &got), -1,
				     "%s: %s accepted", LAYOUTS[i].name, bad[k].what);
			cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s: %s", LAYOUTS[i].name, bad[k].what);
		}
		uint8_t table[256];
		int32_t one[] = {h, 1};
		uint32_t len = write_map(table, one, 1);
		cr_assert_eq(lay_refmap_each(L, table, len, -4, 256, NULL, NULL), -1, "negative index");
		cr_assert_eq(lay_refmap_each(L, table, len, (int32_t)len - 3, 256, NULL, NULL), -1,
			     "index at the table's end");
		cr_assert_eq(lay_refmap_each(L, table, len - 1, 8, 256, NULL, NULL), -1,
			     "map overruns its table");
		cr_assert_eq(lay_refmap_each(L, NULL, len, 8, 256, NULL, NULL), -1, "no table");
		put32(table + 8, 0x80000000u);
		cr_assert_eq(lay_refmap_each(L, table, len, 8, 256, NULL, NULL), -1, "negative count");
	}
}

/* ---- Image-heap reads and Strings ---------------------------------------- */

/* A String at S whose value array at A holds TEXT (BYTES bytes), its hub at
 * HUB, in the image heap at L->heap_base. */
struct string_image {
	uint8_t mem[4096];
	uint64_t s, a, hub;
};

static uint64_t encode_ref(const struct hd_layout *L, uint64_t addr)
{
	return (addr - L->heap_base) >> L->ref_shift;
}

static void put_ref(const struct hd_layout *L, uint8_t *p, uint64_t addr)
{
	if (L->ref_size == 8)
		put64(p, encode_ref(L, addr));
	else
		put32(p, (uint32_t)encode_ref(L, addr));
}

static void build_string(struct string_image *m, const struct hd_layout *L, const void *text,
			 uint32_t bytes, bool utf16, int32_t value_enc)
{
	memset(m->mem, 0, sizeof m->mem);
	uint64_t base = L->heap_base;
	m->s = base + 0x100, m->a = base + 0x200, m->hub = base + 0x400;
	uint8_t *a = m->mem + (m->a - base);
	uint64_t header = ((m->hub - base) >> 3) << L->hub_shift;
	if (L->hdr_size == 8)
		put64(a, header);
	else
		put32(a, (uint32_t)header);
	put32(a + L->array_length_off, utf16 ? bytes / 2 : bytes);
	memcpy(a + le_base(value_enc), text, bytes);
	put32(m->mem + (m->hub - base) + L->hub_enc, (uint32_t)value_enc);
	put_ref(L, m->mem + (m->s - base) + L->str_value, m->a);
	if (L->str_coder >= 0)
		m->mem[m->s - base + (unsigned)L->str_coder] = utf16;
}

static int32_t byte_array_enc(const struct hd_layout *L, unsigned shift)
{
	return (int32_t)(0xE0000000u | (L->array_length_off + 4) << 8 | shift);
}

Test(layout, strings_in_each_layout)
{
	for (size_t i = 0; i < NLAYOUTS; i++) {
		const struct hd_layout *L = &LAYOUTS[i].L;
		struct string_image m;
		hd_memview *mv = mv_new_local();
		cr_assert_not_null(mv);
		cr_assert_eq(mv_add_local(mv, L->heap_base, m.mem, sizeof m.mem), 0);

		build_string(&m, L, "java.lang.Class", 15, false, byte_array_enc(L, 0));
		char *s = lay_read_string(mv, L, m.s);
		cr_assert_not_null(s, "%s: %s", LAYOUTS[i].name, hd_error_message());
		cr_assert_str_eq(s, "java.lang.Class", "%s", LAYOUTS[i].name);
		free(s);

		/* UTF-16: in a char[] value, or by the coder byte in a byte[]. */
		static const uint16_t utf16[] = {'c', 0xe9, 0x20ac};
		build_string(&m, L, utf16, sizeof utf16, true, byte_array_enc(L, 1));
		s = lay_read_string(mv, L, m.s);
		cr_assert_not_null(s, "%s: %s", LAYOUTS[i].name, hd_error_message());
		cr_assert_str_eq(s, "c\xc3\xa9\xe2\x82\xac", "%s: char[]", LAYOUTS[i].name);
		free(s);
		if (L->str_coder >= 0) {
			build_string(&m, L, utf16, sizeof utf16, true, byte_array_enc(L, 0));
			put32(m.mem + (m.a - L->heap_base) + L->array_length_off, sizeof utf16);
			s = lay_read_string(mv, L, m.s);
			cr_assert_not_null(s, "%s: %s", LAYOUTS[i].name, hd_error_message());
			cr_assert_str_eq(s, "c\xc3\xa9\xe2\x82\xac", "%s: coder 1", LAYOUTS[i].name);
			free(s);
		}

		/* A value that is no byte or char array; one outside the image. */
		build_string(&m, L, "abc", 3, false, byte_array_enc(L, 2));
		hd_error_clear();
		cr_assert_null(lay_read_string(mv, L, m.s), "%s: int[] value", LAYOUTS[i].name);
		cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
		build_string(&m, L, "abc", 3, false, byte_array_enc(L, 0));
		put_ref(L, m.mem + (m.s - L->heap_base) + L->str_value, L->heap_base + (1u << 20));
		hd_error_clear();
		cr_assert_null(lay_read_string(mv, L, m.s), "%s: value outside", LAYOUTS[i].name);
		cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s: %s", LAYOUTS[i].name,
			     hd_error_message());
		hd_error_clear();
		cr_assert_null(lay_read_string(mv, L, 0));
		cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "a null String is recorded too");
		mv_free(mv);
	}
}

Test(layout, string_fields_in_each_layout)
{
	for (size_t i = 0; i < NLAYOUTS; i++) {
		const struct hd_layout *L = &LAYOUTS[i].L;
		unsigned span = lay_string_span(L);
		cr_assert_geq(span, L->str_value + L->ref_size, "%s", LAYOUTS[i].name);
		if (L->str_coder >= 0)
			cr_assert_geq(span, (unsigned)L->str_coder + 1, "%s", LAYOUTS[i].name);
		uint8_t s[64];
		memset(s, 0x01, sizeof s);
		put_ref(L, s + L->str_value, L->heap_base + 0x2a8);
		if (L->str_coder >= 0)
			s[L->str_coder] = 0;
		struct lay_string str = lay_string(L, s);
		cr_assert_eq(str.value, L->heap_base + 0x2a8, "%s", LAYOUTS[i].name);
		cr_assert_eq(str.coder, 0, "%s: Latin-1, or no coder field", LAYOUTS[i].name);
		if (L->str_coder >= 0) {
			s[L->str_coder] = 1;
			cr_assert_eq(lay_string(L, s).coder, 1, "%s", LAYOUTS[i].name);
		}
	}
}

/* A read of the image heap that fails is the image's data pointing outside
 * it: HD_E_LAYOUT, naming what was read, whatever the view reported. */
Test(layout, failed_image_read_is_a_layout_error)
{
	static uint8_t image[4096];
	hd_memview *mv = mv_new_local();
	cr_assert_not_null(mv);
	cr_assert_eq(mv_add_local(mv, 0x200000, image, sizeof image), 0);
	uint8_t buf[16];
	cr_assert_eq(lay_read_image(mv, 0x200000 + 4088, buf, 8, "the hub"), 0);
	hd_error_clear();
	cr_assert_eq(lay_read_image(mv, 0x200000 + 4090, buf, 8, "the hub"), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	cr_assert_not_null(strstr(hd_error_message(), "the hub at 0x200ffa"), "%s", hd_error_message());
	mv_free(mv);
}
