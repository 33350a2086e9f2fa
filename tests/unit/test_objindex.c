/* The index of object starts (hprof/objindex.c): what is added is found,
 * nothing else is (neighbours, unaligned and hostile addresses, other
 * regions, region edges), many regions survive the table's growth, and
 * region sizes that are not a power of two from 64 to 2^40 are refused. */
#include "../../common/hd_error.h"
#include "../../hprof/objindex.h"

#include <criterion/criterion.h>
#include <stdlib.h>

#define REGION (64u * 1024)

static struct hd_objindex x;

static void fresh(uint64_t region)
{
	cr_assert_eq(objindex_init(&x, region), 0, "%s", hd_error_message());
}

Test(objindex, added_starts_are_found_and_nothing_else)
{
	fresh(REGION);
	const uint64_t base = 0x7f1234560000ull;
	for (uint64_t a = base; a < base + REGION; a += 24)
		cr_assert_eq(objindex_add(&x, a), 0);
	for (uint64_t a = base; a < base + REGION; a += 8)
		cr_assert_eq(objindex_has(&x, a), (a - base) % 24 == 0, "%#llx",
			     (unsigned long long)a);
	objindex_free(&x);
}

Test(objindex, region_edges_belong_to_their_region)
{
	fresh(REGION);
	const uint64_t base = 0x100000ull * REGION;
	cr_assert_eq(objindex_add(&x, base + REGION - 8), 0); /* last word of a region */
	cr_assert_eq(objindex_add(&x, base + REGION), 0);     /* first of the next */
	cr_assert(objindex_has(&x, base + REGION - 8));
	cr_assert(objindex_has(&x, base + REGION));
	cr_assert_not(objindex_has(&x, base));
	cr_assert_not(objindex_has(&x, base + REGION + 8));
	cr_assert_not(objindex_has(&x, base + 2 * REGION - 8));
	cr_assert_eq(x.nused, 2);
	objindex_free(&x);
}

/* Ids from the target: null, unaligned, the top of the address space, in
 * regions never added; none is found and none faults. */
Test(objindex, hostile_ids_are_not_found)
{
	fresh(REGION);
	cr_assert_eq(objindex_add(&x, 0x40000000ull), 0);
	static const uint64_t ids[] = {0,
				       1,
				       0x40000000ull + 4,
				       0x40000000ull + 1,
				       0x40000000ull - 8,
				       UINT64_MAX,
				       UINT64_MAX - 7,
				       0x8000000000000000ull,
				       0x40000000ull + REGION};
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		cr_assert_not(objindex_has(&x, ids[i]), "%#llx", (unsigned long long)ids[i]);
	cr_assert(objindex_has(&x, 0x40000000ull));
	objindex_free(&x);
}

/* The top region of the address space is a region like any other. */
Test(objindex, the_last_region_of_the_address_space)
{
	fresh(REGION);
	cr_assert_eq(objindex_add(&x, UINT64_MAX - 7), 0);
	cr_assert(objindex_has(&x, UINT64_MAX - 7));
	cr_assert_not(objindex_has(&x, UINT64_MAX - 15));
	cr_assert_not(objindex_has(&x, 0));
	objindex_free(&x);
}

/* Thousands of regions, added out of order and revisited, force the table
 * to grow many times; every start stays found, the table stays at most
 * half full, and each region costs REGION / 64 bytes of bits. */
Test(objindex, many_regions_survive_growth)
{
	fresh(REGION);
	const size_t n = 5000;
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			uint64_t r = (i * 7919) % n; /* a permutation: 7919 is prime, n is not a multiple */
			uint64_t a = 0x10000000000ull + r * 3 * REGION + (r % (REGION / 8)) * 8;
			cr_assert_eq(objindex_add(&x, a), 0);
		}
	cr_assert_eq(x.nused, n);
	cr_assert_leq(2 * x.nused, x.nslots);
	for (size_t r = 0; r < n; r++) {
		uint64_t a = 0x10000000000ull + r * 3 * REGION + (r % (REGION / 8)) * 8;
		cr_assert(objindex_has(&x, a), "region %zu", r);
		cr_assert_not(objindex_has(&x, a + REGION), "region %zu + 1 was never added", r);
	}
	objindex_free(&x);
	cr_assert_null(x.regions);
}

/* Regions terabytes apart with the same offset bits stay apart. */
Test(objindex, far_apart_regions_stay_apart)
{
	fresh(REGION);
	for (uint64_t i = 0; i < 64; i++)
		cr_assert_eq(objindex_add(&x, (i << 40) + 8 * i), 0);
	for (uint64_t i = 0; i < 64; i++) {
		cr_assert(objindex_has(&x, (i << 40) + 8 * i));
		cr_assert_not(objindex_has(&x, (i << 40) + 8 * i + 8));
	}
	objindex_free(&x);
}

/* Sealed, a lookup indexes a table over the regions' span: it answers as
 * the probing one does, inside the span, at its edges and outside it; an
 * add unseals; regions too far apart for the table stay probed. */
Test(objindex, sealed_lookups_answer_as_probed_ones)
{
	fresh(REGION);
	const uint64_t lo = 0x7f0000000000ull;
	for (uint64_t i = 0; i < 300; i += 3)
		cr_assert_eq(objindex_add(&x, lo + i * REGION + 8 * i), 0);
	bool before[302 * 3];
	for (uint64_t i = 0; i < 302 * 3; i++)
		before[i] = objindex_has(&x, lo - REGION + (i / 3) * REGION + 8 * (i % 3 + i / 3 - 1));
	cr_assert_eq(objindex_seal(&x), 0);
	cr_assert_not_null(x.direct);
	cr_assert_eq(x.ndirect, 298);
	for (uint64_t i = 0; i < 302 * 3; i++)
		cr_assert_eq(objindex_has(&x, lo - REGION + (i / 3) * REGION + 8 * (i % 3 + i / 3 - 1)),
			     before[i], "%llu", (unsigned long long)i);
	cr_assert_not(objindex_has(&x, 0));
	cr_assert_not(objindex_has(&x, UINT64_MAX - 7));
	cr_assert_eq(objindex_add(&x, lo + 1000 * REGION), 0);
	cr_assert_null(x.direct, "an add must unseal");
	cr_assert(objindex_has(&x, lo + 1000 * REGION));
	cr_assert(objindex_has(&x, lo + 297 * REGION + 8 * 297));
	cr_assert_eq(objindex_add(&x, lo + ((uint64_t)OBJINDEX_DIRECT_MAX + 5) * REGION), 0);
	cr_assert_eq(objindex_seal(&x), 0);
	cr_assert_null(x.direct, "a span too large for the table");
	cr_assert(objindex_has(&x, lo + ((uint64_t)OBJINDEX_DIRECT_MAX + 5) * REGION));
	objindex_free(&x);
}

Test(objindex, region_sizes_are_powers_of_two_from_64_to_2_40)
{
	/* Above 2^40, a sealed lookup below the table's start could wrap back
	 * into it. */
	static const uint64_t bad[] = {0, 1, 8, 32, 63, 96, REGION + 64,
				       1ull << 41, 1ull << 63, UINT64_MAX};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		hd_error_clear();
		cr_assert_eq(objindex_init(&x, bad[i]), -1, "%llu", (unsigned long long)bad[i]);
		cr_assert_eq(hd_error_class(), HD_E_INTERNAL);
		cr_assert_null(x.regions);
	}
	fresh(64);
	cr_assert_eq(objindex_add(&x, 64 + 56), 0);
	cr_assert(objindex_has(&x, 64 + 56));
	cr_assert_not(objindex_has(&x, 128));
	objindex_free(&x);
}

/* Sealed, a misaligned address is no object start even one byte past one,
 * at the smallest and the largest region size (the direct lookup rotates
 * the low bits out of the table's reach). */
Test(objindex, sealed_misaligned_addresses_are_not_starts)
{
	const uint64_t sizes[] = {64, REGION, 1ull << 30};
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		fresh(sizes[s]);
		const uint64_t start = 4 * sizes[s] + 8;
		cr_assert_eq(objindex_add(&x, start), 0);
		cr_assert_eq(objindex_add(&x, 6 * sizes[s]), 0);
		cr_assert_eq(objindex_seal(&x), 0);
		cr_assert_not_null(x.direct);
		cr_assert(objindex_has(&x, start));
		for (uint64_t b = 1; b < 8; b++) {
			cr_assert_not(objindex_has(&x, start + b), "%llu + %llu",
				      (unsigned long long)sizes[s], (unsigned long long)b);
			cr_assert_not(objindex_has(&x, start - b), "%llu - %llu",
				      (unsigned long long)sizes[s], (unsigned long long)b);
		}
		cr_assert_not(objindex_has(&x, 5 * sizes[s] + 8), "a region without objects");
		objindex_free(&x);
	}
}

/* One pass: a reference into a region still open is deferred, whether an
 * object starts there or not; once the region is complete it is looked up
 * at once; the settlement counts the deferred addresses no object starts
 * at and names the lowest. */
Test(objindex, deferred_regions_are_settled_at_the_end)
{
	fresh(REGION);
	const uint64_t a = 0x100000ull * REGION, b = a + 2 * REGION;
	cr_assert_eq(objindex_add(&x, a), 0);
	bool made;
	uint64_t *bits = objindex_region(&x, b, &made);
	cr_assert(bits && made);
	cr_assert_eq(objindex_seal(&x), 0);
	cr_assert(objindex_direct(&x));
	cr_assert_eq(objindex_defer(&x, b), 0, "%s", hd_error_message());
	cr_assert_neq(objindex_defer(&x, a + REGION), 0, "a region without objects");
	/* Region A was complete from the start: no start at A + 8, now. */
	cr_assert(objindex_check(&x, a));
	cr_assert_not(objindex_check(&x, a + 8));
	cr_assert_not(objindex_check(&x, b + 4 * REGION), "beyond every region");
	/* B is open: both deferred, one of them never gets a start. */
	cr_assert(objindex_check(&x, b + 64));
	cr_assert(objindex_check(&x, b + 800));
	cr_assert(objindex_check(&x, b + 96));
	objindex_bit_set(bits, 64 / 8);
	objindex_complete(&x, b);
	cr_assert(objindex_check(&x, b + 64));
	cr_assert_not(objindex_check(&x, b + 72), "complete: at once");
	uint64_t first;
	cr_assert_eq(objindex_settle(&x, &first), 2);
	cr_assert_eq(first, b + 96);
	cr_assert_null(x.open);
	cr_assert_not(objindex_check(&x, b + 800));
	objindex_free(&x);
}

/* Regions whose bits come from the reserved mapping and regions past it
 * (allocated one by one) alike: each starts empty and keeps to itself
 * when its neighbour's bits are all set, and both kinds are freed (ASan
 * sees a slice of the mapping passed to free, or a lost allocation). */
Test(objindex, reserved_and_unreserved_regions_keep_apart)
{
	fresh(REGION);
	objindex_reserve(&x, 3);
	objindex_reserve(&x, 100); /* once: the first mapping stays */
	const uint64_t base = 0x7f0000000000ull;
	for (size_t r = 0; r < 6; r++) {
		bool made;
		uint64_t *bits = objindex_region(&x, base + r * REGION, &made);
		cr_assert_not_null(bits);
		cr_assert(made);
		for (size_t i = 0; i < REGION / 8; i++)
			cr_assert_not(objindex_bit(bits, i), "region %zu bit %zu set before any add", r, i);
		if (r % 2 == 0)
			for (size_t i = 0; i < REGION / 8; i++)
				objindex_bit_set(bits, i);
	}
	cr_assert_eq(x.starts_slab.used, 3 * (REGION / 64), "three regions of a bit per 8 bytes");
	cr_assert_eq(objindex_seal(&x), 0);
	for (size_t r = 0; r < 6; r++)
		for (uint64_t off = 0; off < REGION; off += 8)
			cr_assert_eq(objindex_has(&x, base + r * REGION + off), r % 2 == 0,
				     "region %zu offset %llu", r, (unsigned long long)off);
	objindex_free(&x);
}
