#include "fieldfacts.h"

#include "../common/grow.h"
#include "../common/hash.h"

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

int ff_add(struct hd_field_facts *ff, const struct hd_field_fact *f, const char *name)
{
	uint32_t idx;
	if (strintern_add(&ff->names, name, &idx) != 0 ||
	    hd_grow(&ff->v, &ff->cap, ff->n, sizeof *ff->v, 256) != 0)
		return -1;
	ff->v[ff->n] = *f;
	ff->v[ff->n++].name = idx;
	return 0;
}

/* Slot of HUB's list in the index: where it is, or the free slot it would
 * take. */
static size_t list_slot(const struct hd_field_facts *ff, uint64_t hub)
{
	size_t i = hd_hash_u64(hub) & (ff->list_nslots - 1);
	while (ff->list_slots[i] && ff->lists[ff->list_slots[i] - 1].hub != hub)
		i = (i + 1) & (ff->list_nslots - 1);
	return i;
}

/* Indexes lists [FROM, nlists), each hub's first refined list winning,
 * else its first. */
static void index_lists(struct hd_field_facts *ff, size_t from)
{
	for (size_t k = from; k < ff->nlists; k++) {
		size_t i = list_slot(ff, ff->lists[k].hub);
		if (!ff->list_slots[i] ||
		    (ff->lists[k].refines && !ff->lists[ff->list_slots[i] - 1].refines))
			ff->list_slots[i] = (uint32_t)(k + 1);
	}
}

/* A fresh index for the lists there are, with room for one more. */
static int reindex_lists(struct hd_field_facts *ff)
{
	size_t nslots = 64;
	while (nslots < (ff->nlists + 1) * 2)
		nslots <<= 1;
	uint32_t *slots = calloc(nslots, sizeof *slots);
	if (!slots)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	free(ff->list_slots);
	ff->list_slots = slots;
	ff->list_nslots = nslots;
	index_lists(ff, 0);
	return 0;
}

static int add_list(struct hd_field_facts *ff, uint64_t hub, const char *const *names, size_t n,
		    bool refines)
{
	if (n > UINT32_MAX - ff->nlist_names)
		return hd_fail(HD_E_INTERNAL, "too many field names");
	if (ff->nlists >= UINT32_MAX - 1)
		return hd_fail(HD_E_INTERNAL, "too many name lists");
	if (hd_grow(&ff->lists, &ff->cap_lists, ff->nlists, sizeof *ff->lists, 64) != 0 ||
	    ((ff->nlists + 1) * 2 > ff->list_nslots && reindex_lists(ff) != 0))
		return -1;
	struct hd_name_list l = {hub, (uint32_t)ff->nlist_names, 0, refines};
	for (size_t i = 0; i < n; i++) {
		uint32_t idx;
		if (strintern_add(&ff->names, names[i], &idx) != 0 ||
		    hd_grow(&ff->list_names, &ff->cap_list_names, ff->nlist_names,
			    sizeof *ff->list_names, 256) != 0)
			return -1;
		ff->list_names[ff->nlist_names++] = idx;
		l.n++;
	}
	ff->lists[ff->nlists++] = l;
	index_lists(ff, ff->nlists - 1);
	return 0;
}

int ff_add_list(struct hd_field_facts *ff, uint64_t hub, const char *const *names, size_t n)
{
	return add_list(ff, hub, names, n, false);
}

int ff_add_refined_list(struct hd_field_facts *ff, uint64_t hub, const char *const *names,
			size_t n)
{
	return add_list(ff, hub, names, n, true);
}

void ff_truncate(struct hd_field_facts *ff, size_t n, size_t nlists)
{
	if (n < ff->n)
		ff->n = n;
	if (nlists >= ff->nlists)
		return;
	ff->nlists = nlists;
	memset(ff->list_slots, 0, ff->list_nslots * sizeof *ff->list_slots);
	index_lists(ff, 0);
}

const struct hd_name_list *ff_list_of(const struct hd_field_facts *ff, uint64_t hub)
{
	if (!ff->list_nslots)
		return NULL;
	uint32_t k = ff->list_slots[list_slot(ff, hub)];
	return k ? &ff->lists[k - 1] : NULL;
}

void ff_free(struct hd_field_facts *ff)
{
	strintern_free(&ff->names);
	free(ff->v);
	free(ff->lists);
	free(ff->list_slots);
	free(ff->list_names);
	memset(ff, 0, sizeof *ff);
}
