#include "addrmap.h"

#include <stdlib.h>
#include <string.h>

static size_t addr_slot(const struct addr_map *m, uint64_t key)
{
	size_t i = (size_t)((key >> 3) * 0x9e3779b97f4a7c15ull) & (m->cap - 1);
	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

uint64_t addr_get(const struct addr_map *m, uint64_t key)
{
	return m->cap ? m->vals[addr_slot(m, key)] : 0;
}

int addr_put(struct addr_map *m, uint64_t key, uint64_t val)
{
	if (!key)
		return hd_fail(HD_E_INTERNAL, "address map: the null address cannot be a key");
	if (2 * (m->n + 1) > m->cap) {
		struct addr_map big = {.cap = m->cap ? 2 * m->cap : 1024};
		big.keys = calloc(big.cap, sizeof *big.keys);
		big.vals = calloc(big.cap, sizeof *big.vals);
		if (!big.keys || !big.vals) {
			free(big.keys);
			free(big.vals);
			return hd_fail(HD_E_INTERNAL, "out of memory");
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i]) {
				size_t k = addr_slot(&big, m->keys[i]);
				big.keys[k] = m->keys[i];
				big.vals[k] = m->vals[i];
				big.n++;
			}
		free(m->keys);
		free(m->vals);
		*m = big;
	}
	size_t i = addr_slot(m, key);
	m->n += !m->keys[i];
	m->keys[i] = key;
	m->vals[i] = val;
	return 0;
}

void addr_map_free(struct addr_map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}
