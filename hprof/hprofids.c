#include "hprofids.h"

#include <stdlib.h>

#define BLOCK (1ull << HPROF_IDS_BLOCK_SHIFT)
#define SLOTS_PER_BLOCK (BLOCK >> 3)
/* Blocks whose slots fit above the synthetic values. */
#define MAX_USED ((1ull << 32) - HPROF_IDS_SYNTHETIC_END) / SLOTS_PER_BLOCK

void hprof_ids_init8(struct hprof_ids *ids) { *ids = (struct hprof_ids){.size = 8}; }

void hprof_ids_free(struct hprof_ids *ids)
{
	free(ids->base);
	hprof_ids_init8(ids);
}

int hprof_ids_plan(struct hprof_ids *ids, const struct hprof_span *spans, size_t n,
		   uint64_t synthetic_end)
{
	hprof_ids_init8(ids);
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < n; i++)
		if (spans[i].hi > spans[i].lo) {
			lo = spans[i].lo < lo ? spans[i].lo : lo;
			hi = spans[i].hi > hi ? spans[i].hi : hi;
		}
	lo &= ~(BLOCK - 1);
	/* Below 2^63, null's block index ((0 - LO) >> 20) is past the table. */
	if (synthetic_end > HPROF_IDS_SYNTHETIC_END || !hi || lo < BLOCK || hi > 1ull << 63 ||
	    ((hi - 1 - lo) >> HPROF_IDS_BLOCK_SHIFT) >= HPROF_IDS_MAX_SPAN)
		return 0;
	uint64_t nblocks = ((hi - 1 - lo) >> HPROF_IDS_BLOCK_SHIFT) + 1;
	uint32_t *base = calloc(nblocks + 1, sizeof *base);
	if (!base)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	/* How many spans cover each block, as differences: O(1) a span, however
	 * many blocks the target's chunks claim.  Modulo 2^32, exact (N < 2^32). */
	for (size_t i = 0; i < n; i++)
		if (spans[i].hi > spans[i].lo) {
			base[(spans[i].lo - lo) >> HPROF_IDS_BLOCK_SHIFT]++;
			base[((spans[i].hi - 1 - lo) >> HPROF_IDS_BLOCK_SHIFT) + 1]--;
		}
	uint32_t cover = 0;
	uint64_t used = 0;
	for (uint64_t b = 0; b < nblocks; b++) {
		cover += base[b];
		if (!cover) {
			base[b] = 0;
			continue;
		}
		if (used == MAX_USED) {
			free(base);
			return 0;
		}
		base[b] = (uint32_t)(HPROF_IDS_SYNTHETIC_END + used++ * SLOTS_PER_BLOCK);
	}
	base[nblocks] = 0;
	*ids = (struct hprof_ids){.size = 4, .lo = lo, .nblocks = nblocks, .base = base};
	return 0;
}
