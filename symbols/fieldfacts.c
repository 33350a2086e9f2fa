#include "fieldfacts.h"

#include "../common/grow.h"

#include <stdlib.h>
#include <string.h>

const char *ff_source_name(enum hd_field_source s)
{
	static const char *const names[HD_SRC_COUNT] = {
		[HD_SRC_LAYOUT] = "layout",       [HD_SRC_REFLECTION] = "reflection",
		[HD_SRC_SUBSTRATE] = "substrate", [HD_SRC_TRUFFLE] = "truffle",
		[HD_SRC_PREDICTED] = "predicted",
	};
	return (unsigned)s < HD_SRC_COUNT ? names[s] : "?";
}

static uint64_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

static int rehash(struct hd_field_facts *ff)
{
	size_t nslots = ff->name_nslots ? ff->name_nslots * 2 : 256;
	uint32_t *slots = calloc(nslots, sizeof *slots);
	if (!slots)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t k = 0; k < ff->nnames; k++) {
		size_t i = hash_name(ff->names[k]) & (nslots - 1);
		while (slots[i])
			i = (i + 1) & (nslots - 1);
		slots[i] = (uint32_t)(k + 1);
	}
	free(ff->name_slots);
	ff->name_slots = slots;
	ff->name_nslots = nslots;
	return 0;
}

static int intern(struct hd_field_facts *ff, const char *name, uint32_t *idx)
{
	if ((ff->nnames + 1) * 2 > ff->name_nslots && rehash(ff) != 0)
		return -1;
	size_t i = hash_name(name) & (ff->name_nslots - 1);
	for (; ff->name_slots[i]; i = (i + 1) & (ff->name_nslots - 1))
		if (strcmp(ff->names[ff->name_slots[i] - 1], name) == 0) {
			*idx = ff->name_slots[i] - 1;
			return 0;
		}
	if (ff->nnames >= UINT32_MAX - 1)
		return hd_fail(HD_E_INTERNAL, "too many field names");
	if (hd_grow(&ff->names, &ff->cap_names, ff->nnames, sizeof *ff->names, 256) != 0)
		return -1;
	char *copy = strdup(name);
	if (!copy)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	ff->names[ff->nnames] = copy;
	*idx = (uint32_t)ff->nnames++;
	ff->name_slots[i] = *idx + 1;
	return 0;
}

int ff_add(struct hd_field_facts *ff, const struct hd_field_fact *f, const char *name)
{
	uint32_t idx;
	if (intern(ff, name, &idx) != 0 ||
	    hd_grow(&ff->v, &ff->cap, ff->n, sizeof *ff->v, 256) != 0)
		return -1;
	ff->v[ff->n] = *f;
	ff->v[ff->n++].name = idx;
	return 0;
}

int ff_add_list(struct hd_field_facts *ff, uint64_t hub, const char *const *names, size_t n)
{
	if (n > UINT32_MAX - ff->nlist_names)
		return hd_fail(HD_E_INTERNAL, "too many field names");
	if (hd_grow(&ff->lists, &ff->cap_lists, ff->nlists, sizeof *ff->lists, 64) != 0)
		return -1;
	struct hd_name_list l = {hub, (uint32_t)ff->nlist_names, 0};
	for (size_t i = 0; i < n; i++) {
		uint32_t idx;
		if (intern(ff, names[i], &idx) != 0 ||
		    hd_grow(&ff->list_names, &ff->cap_list_names, ff->nlist_names,
			    sizeof *ff->list_names, 256) != 0)
			return -1;
		ff->list_names[ff->nlist_names++] = idx;
		l.n++;
	}
	ff->lists[ff->nlists++] = l;
	return 0;
}

const struct hd_name_list *ff_list_of(const struct hd_field_facts *ff, uint64_t hub)
{
	for (size_t i = 0; i < ff->nlists; i++)
		if (ff->lists[i].hub == hub)
			return &ff->lists[i];
	return NULL;
}

void ff_free(struct hd_field_facts *ff)
{
	for (size_t i = 0; i < ff->nnames; i++)
		free(ff->names[i]);
	free(ff->names);
	free(ff->name_slots);
	free(ff->v);
	free(ff->lists);
	free(ff->list_names);
	memset(ff, 0, sizeof *ff);
}
