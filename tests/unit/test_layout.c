/* Pure decoders of symbols/layout.h, the object-start index
 * (agent/objindex.h) and local memory views (agent/memview.h). */
#include "../../agent/memview.h"
#include "../../hprof/objindex.h"
#include "../../common/hd_error.h"
#include "../../symbols/layout.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

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

/* ---- Object-start index ------------------------------------------------- */

/* Object starts spread over many regions, the address-space ends included,
 * enough to make the table grow several times. */
static uint64_t index_addr(unsigned i)
{
	static const uint64_t region = 64 * 1024;
	uint64_t r = (uint64_t)(i % 700) * 0x9e3779b1ull % 50000; /* region number */
	if (i % 97 == 0)
		r = 0;
	if (i % 89 == 0)
		r = UINT64_MAX / region;
	return r * region + (uint64_t)(i * 40) % region;
}

Test(objindex, add_and_has_across_many_regions)
{
	struct hd_objindex x;
	cr_assert_eq(objindex_init(&x, 64 * 1024), 0);
	enum { N = 5000 };
	for (unsigned i = 0; i < N; i++)
		cr_assert_eq(objindex_add(&x, index_addr(i) & ~7ull), 0);
	cr_assert_gt(x.nslots, 64, "the table never grew");
	cr_assert_leq(x.nused * 2, x.nslots, "load factor above 1/2");
	for (unsigned i = 0; i < N; i++) {
		uint64_t a = index_addr(i) & ~7ull;
		cr_assert(objindex_has(&x, a), "start 0x%llx lost", (unsigned long long)a);
		cr_assert_not(objindex_has(&x, a + 4), "unaligned 0x%llx", (unsigned long long)a + 4);
	}
	/* Addresses never added: other words of the same regions, other regions. */
	unsigned false_hits = 0;
	for (unsigned i = 0; i < N; i++) {
		uint64_t a = (index_addr(i) & ~7ull) + 8;
		bool added = false;
		for (unsigned j = 0; j < N && !added; j++)
			added = (index_addr(j) & ~7ull) == a;
		if (!added && objindex_has(&x, a))
			false_hits++;
	}
	cr_assert_eq(false_hits, 0);
	cr_assert_not(objindex_has(&x, 0x123456789abc0000ull));
	objindex_free(&x);
}

Test(objindex, smallest_regions_and_duplicates)
{
	struct hd_objindex x;
	cr_assert_eq(objindex_init(&x, 64), 0);
	for (uint64_t a = 0x1000; a < 0x1000 + 64 * 100; a += 16) {
		cr_assert_eq(objindex_add(&x, a), 0);
		cr_assert_eq(objindex_add(&x, a), 0);
	}
	for (uint64_t a = 0x1000; a < 0x1000 + 64 * 100; a += 8)
		cr_assert_eq(objindex_has(&x, a), (a & 8) == 0, "0x%llx", (unsigned long long)a);
	cr_assert_eq(x.nused, 100);
	objindex_free(&x);
}

Test(objindex, region_size_must_be_a_power_of_two)
{
	static const uint64_t bad[] = {0, 32, 63, 100, (1u << 20) + 8};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct hd_objindex x;
		hd_error_clear();
		cr_assert_eq(objindex_init(&x, bad[i]), -1, "region size %llu", (unsigned long long)bad[i]);
		cr_assert_eq(hd_error_class(), HD_E_INTERNAL);
		objindex_free(&x);
	}
}

/* ---- Memory views ------------------------------------------------------- */

Test(memview, local_reads)
{
	uint8_t a[64], b[32], out[64];
	for (int i = 0; i < 64; i++)
		a[i] = (uint8_t)i;
	memset(b, 0xee, sizeof b);
	hd_memview *mv = mv_new_local();
	cr_assert_not_null(mv);
	cr_assert_eq(mv_add_local(mv, 0x1000, a, sizeof a), 0);
	cr_assert_eq(mv_add_local(mv, 0x9000, b, sizeof b), 0);

	hd_error_clear();
	cr_assert_eq(mv_read(mv, 0x1010, out, 16), 0);
	cr_assert_arr_eq(out, a + 16, 16);
	cr_assert_eq(mv_read(mv, 0x1000, out, 64), 0, "the whole region");
	cr_assert_arr_eq(out, a, 64);
	cr_assert_eq(mv_read(mv, 0x9008, out, 8), 0, "the second region");
	cr_assert_arr_eq(out, b, 8);
	cr_assert_eq(mv_local_ptr(mv, 0x1020, 8), a + 0x20);
	cr_assert_eq(hd_error_class(), HD_OK);

	static const struct {
		uint64_t addr;
		size_t len;
		const char *what;
	} bad[] = {
		{0x1038, 16, "straddling the end"},
		{0x0ff8, 16, "straddling the start"},
		{0x5000, 8, "unmapped"},
		{0x1040, 1, "one past the end"},
		{UINT64_MAX - 3, 8, "wrapping the address space"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(out, 0x5a, sizeof out);
		hd_error_clear();
		cr_assert_eq(mv_read(mv, bad[i].addr, out, bad[i].len), -1, "%s", bad[i].what);
		cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", bad[i].what);
		cr_assert_null(mv_local_ptr(mv, bad[i].addr, bad[i].len), "%s", bad[i].what);
		cr_assert_eq(out[0], 0x5a, "%s: partial read", bad[i].what);
	}
	/* Probing records nothing. */
	hd_error_clear();
	errno = 0;
	cr_assert_eq(mv_try_read(mv, 0x5000, out, 8), -1);
	cr_assert_eq(errno, EFAULT);
	cr_assert_eq(hd_error_class(), HD_OK);
	cr_assert_eq(mv_try_read(mv, 0x5000, out, 0), 0, "an empty read is always possible");
	mv_free(mv);
}

/* Many regions, added in address order (looked up by bisection) and in
 * reverse (looked up linearly), read in and across their bounds. */
Test(memview, many_local_regions)
{
	enum { N = 64 };
	static uint8_t data[N][128];
	for (int i = 0; i < N; i++)
		memset(data[i], i + 1, sizeof data[i]);
	for (int order = 0; order < 2; order++) {
		hd_memview *mv = mv_new_local();
		cr_assert_not_null(mv);
		for (int j = 0; j < N; j++) {
			int i = order ? N - 1 - j : j;
			/* 256 bytes apart: a 128-byte hole after each region. */
			cr_assert_eq(mv_add_local(mv, 0x10000 + 256u * (unsigned)i, data[i], 128), 0);
		}
		for (int pass = 0; pass < 2; pass++) {
			for (int i = 0; i < N; i++) {
				uint64_t a = 0x10000 + 256u * (unsigned)i;
				uint8_t out[128];
				/* The exact start first, before any lookup of region I. */
				cr_assert_eq(mv_local_ptr(mv, a, 128), data[i], "order %d, region %d", order, i);
				cr_assert_eq(mv_read(mv, a + 100, out, 28), 0, "order %d, region %d", order, i);
				cr_assert_eq(out[0], i + 1);
				cr_assert_eq(out[27], i + 1);
				cr_assert_null(mv_local_ptr(mv, a + 120, 16), "into the hole");
				cr_assert_null(mv_local_ptr(mv, a + 128, 1), "in the hole");
				cr_assert_null(mv_local_ptr(mv, a - 1, 2), "from the previous hole");
			}
		}
		cr_assert_null(mv_local_ptr(mv, 0xfff0, 8), "below every region");
		cr_assert_null(mv_local_ptr(mv, 0x10000 + 256u * N, 8), "above every region");
		mv_free(mv);
	}
}

Test(memview, process_reads_own_memory)
{
	static const char secret[] = "hdump memview process read";
	char out[sizeof secret];
	hd_memview *mv = mv_new_process(getpid());
	cr_assert_not_null(mv);
	cr_assert_eq(mv_read(mv, (uint64_t)(uintptr_t)secret, out, sizeof out), 0, "%s",
		     hd_error_message());
	cr_assert_str_eq(out, secret);
	hd_error_clear();
	cr_assert_eq(mv_read(mv, 16, out, 8), -1, "page zero is never mapped");
	cr_assert_eq(hd_error_class(), HD_E_TORN);
	mv_free(mv);
}
