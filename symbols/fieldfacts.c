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

int ff_add_list(struct hd_field_facts *ff, uint64_t hub, const char *const *names, size_t n)
{
	if (n > UINT32_MAX - ff->nlist_names)
		return hd_fail(HD_E_INTERNAL, "too many field names");
	if (hd_grow(&ff->lists, &ff->cap_lists, ff->nlists, sizeof *ff->lists, 64) != 0)
		return -1;
	struct hd_name_list l = {hub, (uint32_t)ff->nlist_names, 0};
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
	strintern_free(&ff->names);
	free(ff->v);
	free(ff->lists);
	free(ff->list_names);
	memset(ff, 0, sizeof *ff);
}
