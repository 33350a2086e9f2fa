/* The ids of an HPROF file: 8 bytes, or 4 when every id of the dump fits
 * in 32 bits, which makes a dump of small objects a quarter smaller (an
 * object's record holds its id and its class's, and an id per reference).
 *
 * An id is made from a value of one of two kinds.  A synthetic value (a
 * name's number, a viewer class's, a frame's) is below 2^31.  An address
 * (an object's, or a class's: hub + 1) maps, with 4-byte ids, to 2^31 plus
 * its 8-byte slot among the used 1 MiB blocks of the heap: a block any
 * object, hub or chunk touches, numbered in address order.  Addresses are
 * 8-aligned, so distinct objects get distinct slots; a hub's id, hub + 1,
 * gets the next slot, that of hub + 8, which lies inside the hub (a hub is
 * more than 8 bytes, and its block's successor is marked used with it), so
 * no object's.  2^17 slots per block: 16 GiB of used blocks fit.  Either
 * kind is then scattered by an odd multiplier, which keeps 0 (null) at 0.
 *
 * An address in no used block (a reference that lands on no object: the
 * dump fails, or writes it as null) maps through the table's last entry,
 * without reading past it: its id means nothing, but costs no check. */
#ifndef HD_HPROFIDS_H
#define HD_HPROFIDS_H

#include "../common/hd_error.h"

#include <stddef.h>
#include <stdint.h>

/* Addresses [LO, HI) that hold ids. */
struct hprof_span {
	uint64_t lo, hi;
};

#define HPROF_IDS_BLOCK_SHIFT 20
/* The table covers at most this many blocks from the lowest address to the
 * highest (a 4 MiB table: pkl's two 32 GiB reservations take 64 Ki); a
 * wider heap gets 8-byte ids. */
#define HPROF_IDS_MAX_SPAN (1u << 20)
#define HPROF_IDS_SYNTHETIC_END (1u << 31)

/* The multiplier of 8-byte ids, and of 4-byte ones: a bijection that
 * keeps 0 at 0.  Raw addresses cluster in heap chunks whose spacing can
 * alias the id table of VisualVM's heap library (linear probing modulo 4/3
 * of the record count): opening such a dump then takes quadratic time.
 * Scattered ids keep its probes short.  With 8-byte ids the inverse
 * multiplier gives the address back. */
#define HPROF_ID_MULTIPLIER 0x9e3779b97f4a7c15ull
#define HPROF_ID_INVERSE 0xf1de83e19937733dull
#define HPROF_ID32_MULTIPLIER 0x9e3779b1u
#define HPROF_ID32_INVERSE 0x0e8b2f51u

struct hprof_ids {
	unsigned size;     /* 4 or 8 */
	uint64_t lo;       /* the first block's address */
	uint64_t nblocks;
	/* Per block from LO, 2^31 + its first slot (0: a block that holds no
	 * id); then one 0 for every address outside. */
	uint32_t *base;
};

/* 8-byte ids, as every dump had them before. */
void hprof_ids_init8(struct hprof_ids *ids);

/* Plans the ids of a dump whose addresses lie in the N SPANS and whose
 * synthetic values are below SYNTHETIC_END: 4 bytes when the used blocks'
 * slots and SYNTHETIC_END fit, the blocks span at most HPROF_IDS_MAX_SPAN
 * and none is the first MiB (whose slot 0 would be null's), else 8.  The
 * caller frees IDS (hprof_ids_free).  Errors: HD_E_INTERNAL (out of memory). */
HD_MUST_CHECK int hprof_ids_plan(struct hprof_ids *ids, const struct hprof_span *spans, size_t n,
				 uint64_t synthetic_end);
void hprof_ids_free(struct hprof_ids *ids);

/* The slot of the address V, 2^31 and up, of IDS planned with 4-byte ids:
 * one table load, no branch.  V's low 3 bits are not looked at. */
static inline uint32_t hprof_ids_slot(const struct hprof_ids *ids, uint64_t v)
{
	uint64_t b = (v - ids->lo) >> HPROF_IDS_BLOCK_SHIFT;
	b = b < ids->nblocks ? b : ids->nblocks;
	return ids->base[b] + (uint32_t)((v & ((1u << HPROF_IDS_BLOCK_SHIFT) - 1)) >> 3);
}

/* The 4-byte id of the object at V (8-aligned: a reference that is not
 * lands on no object start, and is never written as it is). */
static inline uint32_t hprof_ids_object4(const struct hprof_ids *ids, uint64_t v)
{
	return hprof_ids_slot(ids, v) * HPROF_ID32_MULTIPLIER;
}

/* The id, in IDS's size, of the address V: an object's, or a class's,
 * hd_class_id(hub) = hub + 1, which takes the slot after the hub's. */
static inline uint64_t hprof_ids_addr(const struct hprof_ids *ids, uint64_t v)
{
	return ids->size == 4 ? (hprof_ids_slot(ids, v) + (uint32_t)(v & 7)) * HPROF_ID32_MULTIPLIER
			      : v * HPROF_ID_MULTIPLIER;
}

/* The id, in IDS's size, of the synthetic value V. */
static inline uint64_t hprof_ids_synthetic(const struct hprof_ids *ids, uint64_t v)
{
	return ids->size == 4 ? (uint32_t)v * HPROF_ID32_MULTIPLIER : v * HPROF_ID_MULTIPLIER;
}

#endif
