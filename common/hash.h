/* Hash functions for the open-addressing indexes (hubs, names). */
#ifndef HD_HASH_H
#define HD_HASH_H

#include <stdint.h>

/* Spreads an address's bits: hubs and objects are 8-aligned and clustered. */
static inline uint64_t hd_hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static inline uint64_t hd_hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

#endif
