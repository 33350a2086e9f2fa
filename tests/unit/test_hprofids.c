/* The ids' plan (hprof/hprofids.c): 4 bytes exactly when every id fits,
 * and then no two addresses of the used blocks, no hub + 1, no synthetic
 * value and null share an id. */
#include "../../common/hd_error.h"
#include "../../hprof/hprofids.h"

#include <criterion/criterion.h>
#include <stdlib.h>

#define MiB (1ull << 20)

static unsigned plan_size(const struct hprof_span *spans, size_t n, uint64_t synthetic_end)
{
	struct hprof_ids ids;
	cr_assert_eq(hprof_ids_plan(&ids, spans, n, synthetic_end), 0, "%s", hd_error_message());
	unsigned size = ids.size;
	if (size == 8)
		cr_assert_null(ids.base, "an 8-byte plan holds no table");
	hprof_ids_free(&ids);
	return size;
}

/* The value a 4-byte id was made from. */
static uint32_t unscrambled(uint32_t id) { return id * HPROF_ID32_INVERSE; }

Test(hprofids, eight_bytes_are_the_multiplied_value)
{
	struct hprof_ids ids;
	hprof_ids_init8(&ids);
	cr_assert_eq(ids.size, 8);
	cr_assert_eq(hprof_ids_addr(&ids, 0x7f0012345678ull), 0x7f0012345678ull * HPROF_ID_MULTIPLIER);
	cr_assert_eq(hprof_ids_synthetic(&ids, 5), 5 * HPROF_ID_MULTIPLIER);
	cr_assert_eq(hprof_ids_addr(&ids, 0), 0);
	cr_assert_eq(HPROF_ID_MULTIPLIER * HPROF_ID_INVERSE, 1);
	cr_assert_eq((uint32_t)(HPROF_ID32_MULTIPLIER * HPROF_ID32_INVERSE), 1);
	hprof_ids_free(&ids);
}

/* Two heaps 32 GiB apart, like pkl's image heap and runtime heap. */
Test(hprofids, a_heap_that_fits_gets_4_bytes)
{
	const struct hprof_span spans[] = {
		{0x7f0000000000ull, 0x7f0000000000ull + 3 * MiB},
		{0x7f0800000000ull + MiB / 2, 0x7f0800000000ull + 40 * MiB},
	};
	cr_assert_eq(plan_size(spans, 2, 1000), 4);
}

Test(hprofids, what_does_not_fit_gets_8_bytes)
{
	const struct hprof_span one = {0x10000000, 0x10000000 + 4 * MiB};
	cr_assert_eq(plan_size(&one, 1, HPROF_IDS_SYNTHETIC_END), 4, "synthetic values up to 2^31");
	cr_assert_eq(plan_size(&one, 1, HPROF_IDS_SYNTHETIC_END + 1), 8, "a synthetic value of 2^31");
	cr_assert_eq(plan_size(NULL, 0, 10), 8, "no address at all");
	const struct hprof_span first_mib = {0x1000, 0x2000};
	cr_assert_eq(plan_size(&first_mib, 1, 10), 8, "slot 0 of block 0 would be null's");
	/* The table's span: the lowest block to the highest. */
	uint64_t lo = 0x100000000ull;
	const struct hprof_span edge[] = {{lo, lo + 8},
					  {lo + (HPROF_IDS_MAX_SPAN - 1) * MiB, lo + HPROF_IDS_MAX_SPAN * MiB}};
	cr_assert_eq(plan_size(edge, 2, 10), 4, "blocks spanning the table's maximum");
	const struct hprof_span wide[] = {{lo, lo + 8}, {lo + HPROF_IDS_MAX_SPAN * MiB, lo + HPROF_IDS_MAX_SPAN * MiB + 8}};
	cr_assert_eq(plan_size(wide, 2, 10), 8, "blocks spanning one more");
	const struct hprof_span top = {UINT64_MAX - 15, UINT64_MAX};
	cr_assert_eq(plan_size(&top, 1, 10), 8, "addresses above 2^63");
	/* 2^14 used blocks of 2^17 slots fill 2^31 ids; one more does not fit. */
	const struct hprof_span full = {lo, lo + (1ull << 14) * MiB};
	cr_assert_eq(plan_size(&full, 1, 10), 4, "16 GiB of used blocks");
	const struct hprof_span over = {lo, lo + (1ull << 14) * MiB + 1};
	cr_assert_eq(plan_size(&over, 1, 10), 8, "16 GiB and a byte");
}

/* Used blocks with unused ones between them, spans that overlap, and hubs
 * at the very end of a block: every 8-aligned address of a used block and
 * every hub + 1 gets an id of its own, above every synthetic value, never
 * null's. */
Test(hprofids, no_two_values_share_an_id)
{
	const uint64_t lo = 0x7f0000000000ull;
	const uint64_t hub_a = lo + 5 * MiB - 8, hub_b = lo + 9 * MiB - 8;
	const struct hprof_span spans[] = {
		{lo + 100, lo + 2 * MiB},       /* blocks 0, 1 */
		{lo + MiB, lo + MiB + 64},      /* block 1 again */
		{hub_a, hub_a + 16},            /* blocks 4, 5: a hub in 4's last slot */
		{hub_b, hub_b + 16},            /* blocks 8, 9 */
		{lo + 20 * MiB, lo + 21 * MiB}, /* block 20 */
	};
	struct hprof_ids ids;
	cr_assert_eq(hprof_ids_plan(&ids, spans, 5, 1u << 20), 0);
	cr_assert_eq(ids.size, 4);
	const uint64_t blocks[] = {0, 1, 4, 5, 8, 9, 20};
	const size_t nblocks = sizeof blocks / sizeof blocks[0], per = MiB / 8;
	/* a bit per id the used blocks may take: 2^31 + [0, nblocks * per) */
	uint8_t *seen = calloc(nblocks * per / 8, 1);
	cr_assert_not_null(seen);
	for (size_t b = 0; b < nblocks; b++)
		for (uint64_t a = lo + blocks[b] * MiB; a < lo + (blocks[b] + 1) * MiB; a += 8) {
			uint32_t v = unscrambled((uint32_t)hprof_ids_addr(&ids, a));
			cr_assert_geq(v, HPROF_IDS_SYNTHETIC_END, "%#llx", (unsigned long long)a);
			v -= HPROF_IDS_SYNTHETIC_END;
			cr_assert_lt(v, nblocks * per, "%#llx", (unsigned long long)a);
			cr_assert_not(seen[v >> 3] & (1u << (v & 7)), "%#llx: id taken",
				      (unsigned long long)a);
			seen[v >> 3] |= (uint8_t)(1u << (v & 7));
		}
	/* A used block's slots are consecutive, and so are the blocks'. */
	cr_assert_eq(unscrambled((uint32_t)hprof_ids_addr(&ids, lo + 20 * MiB + 8)),
		     HPROF_IDS_SYNTHETIC_END + 6 * per + 1);
	/* A hub's id, hub + 1, is that of hub + 8: inside the hub, no object's. */
	const uint64_t hubs[] = {hub_a, hub_b, lo + 200};
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq((uint32_t)hprof_ids_addr(&ids, hubs[i] + 1), (uint32_t)hprof_ids_addr(&ids, hubs[i] + 8));
	cr_assert_eq((uint32_t)hprof_ids_addr(&ids, 0), 0, "null");
	cr_assert_eq(hprof_ids_synthetic(&ids, 7), 7 * HPROF_ID32_MULTIPLIER);
	free(seen);
	hprof_ids_free(&ids);
}

/* An address in no used block (a reference to no object, which fails the
 * dump or is written as null) reads the table's last entry, not past it:
 * ASan would report the overrun. */
Test(hprofids, an_address_outside_reads_no_further_than_the_table)
{
	const uint64_t lo = 0x7f0000000000ull;
	const struct hprof_span spans[] = {{lo, lo + MiB}, {lo + 3 * MiB, lo + 4 * MiB}};
	struct hprof_ids ids;
	cr_assert_eq(hprof_ids_plan(&ids, spans, 2, 10), 0);
	cr_assert_eq(ids.size, 4);
	const uint64_t outside[] = {8, lo - 8, lo + 4 * MiB, lo + MiB + 16, UINT64_MAX - 7};
	for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
		cr_assert_lt(unscrambled((uint32_t)hprof_ids_addr(&ids, outside[i])), 1u << 18);
	hprof_ids_free(&ids);
}
