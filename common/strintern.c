#include "strintern.h"

#include "grow.h"
#include "hash.h"

#include <stdlib.h>
#include <string.h>

static int rehash(struct hd_strintern *s)
{
	size_t nslots = s->nslots ? s->nslots * 2 : 256;
	uint32_t *slots = calloc(nslots, sizeof *slots);
	if (!slots)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t k = 0; k < s->n; k++) {
		size_t i = hd_hash_str(s->v[k]) & (nslots - 1);
		while (slots[i])
			i = (i + 1) & (nslots - 1);
		slots[i] = (uint32_t)(k + 1);
	}
	free(s->slots);
	s->slots = slots;
	s->nslots = nslots;
	return 0;
}

int strintern_add(struct hd_strintern *s, const char *str, uint32_t *idx)
{
	if ((s->n + 1) * 2 > s->nslots && rehash(s) != 0)
		return -1;
	size_t i = hd_hash_str(str) & (s->nslots - 1);
	for (; s->slots[i]; i = (i + 1) & (s->nslots - 1))
		if (strcmp(s->v[s->slots[i] - 1], str) == 0) {
			*idx = s->slots[i] - 1;
			return 0;
		}
	if (s->n >= UINT32_MAX - 1)
		return hd_fail(HD_E_INTERNAL, "too many names");
	if (hd_grow(&s->v, &s->cap, s->n, sizeof *s->v, 256) != 0)
		return -1;
	char *copy = strdup(str);
	if (!copy)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	s->v[s->n] = copy;
	*idx = (uint32_t)s->n++;
	s->slots[i] = *idx + 1;
	return 0;
}

void strintern_free(struct hd_strintern *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	free(s->slots);
	memset(s, 0, sizeof *s);
}
