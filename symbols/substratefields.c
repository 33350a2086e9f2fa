#include "substratefields.h"

#include "imageobjs.h"

#include <stdlib.h>
#include <string.h>

static const char *const type_class = "com.oracle.svm.graal.meta.SubstrateType";
static const char *const field_classes[] = {
	"com.oracle.svm.graal.meta.SubstrateField",         /* 22.3 */
	"com.oracle.svm.truffle.api.SubstrateTruffleField", /* 23.1, 25 */
};

static int cmp_cls(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (const struct hd_class *const *)a;
	uintptr_t y = (uintptr_t) * (const struct hd_class *const *)b;
	return x < y ? -1 : x > y;
}

/* How many different classes slot K leads to; -1: out of memory. */
static long distinct(const struct fo_rows *r, size_t k)
{
	const struct hd_class **v = malloc((r->n ? r->n : 1) * sizeof *v);
	if (!v)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		if (fo_ref_at(r, i, k)->kind == FO_HUB)
			v[n++] = fo_ref_at(r, i, k)->cls;
	qsort(v, n, sizeof *v, cmp_cls);
	long count = n > 0;
	for (size_t i = 1; i < n; i++)
		count += v[i] != v[i - 1];
	free(v);
	return count;
}

static bool same_column(const struct fo_rows *r, size_t a, size_t b)
{
	for (size_t i = 0; i < r->n; i++)
		if (fo_ref_at(r, i, a)->cls != fo_ref_at(r, i, b)->cls)
			return false;
	return true;
}

long substratefields_hub_slot(const struct fo_rows *types)
{
	long found = -1, most = 0;
	bool tied = false;
	for (size_t k = 0; k < types->nrefs; k++) {
		long count = fo_hub_slot(types, k) ? distinct(types, k) : 0;
		if (count < 0)
			return -2;
		if (count > most) {
			found = (long)k;
			most = count;
			tied = false;
		} else if (count == most && count > 0 && !same_column(types, (size_t)found, k)) {
			tied = true;
		}
	}
	return tied ? -1 : found;
}

int substratefields_decode(struct hd_field_facts *ff, const struct fo_rows *rows,
			   const struct fo_geom *g, struct fo_result *res)
{
	return fo_decode(ff, rows, g, 4, true, HD_SRC_SUBSTRATE, res);
}

/* Each SubstrateType stands for its DynamicHub: *OUT maps their
 * addresses (ascending) to the hubs' classes; none when the image has no
 * SubstrateType or no slot of it leads to the hubs. */
static int type_aliases(const struct hd_names_input *in, struct fo_alias **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	const struct hd_class *c = classes_named(in->classes, type_class);
	if (!c)
		return 0;
	struct fo_rows types;
	int rc = fo_read_rows(in, c, NULL, 0, &types);
	long k = rc == 0 ? substratefields_hub_slot(&types) : -1;
	if (k == -2)
		rc = -1;
	if (rc == 0 && k < 0 && in->log)
		fprintf(in->log, "field names: %zu SubstrateType objects: no slot leads to their "
			"DynamicHubs\n", types.n);
	if (k >= 0) {
		*out = malloc((types.n ? types.n : 1) * sizeof **out);
		if (!*out)
			rc = hd_fail(HD_E_INTERNAL, "out of memory");
		for (size_t i = 0; *out && i < types.n; i++)
			if (fo_ref_at(&types, i, (size_t)k)->kind == FO_HUB)
				(*out)[(*n)++] = (struct fo_alias){
					.addr = types.addr[i],
					.cls = fo_ref_at(&types, i, (size_t)k)->cls};
	}
	fo_rows_free(&types);
	return rc;
}

int substratefields_facts(struct hd_field_facts *ff, const struct hd_names_input *in)
{
	struct fo_alias *aliases;
	size_t naliases;
	if (type_aliases(in, &aliases, &naliases) != 0)
		return fo_error_propagates(in->log, type_class) ? -1 : 0;
	int rc = 0;
	for (size_t i = 0; naliases && i < sizeof field_classes / sizeof *field_classes && rc == 0;
	     i++)
		rc = fo_source(ff, in, field_classes[i], aliases, naliases, 4, true,
			       HD_SRC_SUBSTRATE);
	free(aliases);
	return rc;
}
