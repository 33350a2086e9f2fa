#include "fieldnames.h"

#include "fieldpredict.h"
#include "nodefields.h"
#include "reflectmeta.h"
#include "substratefields.h"

#include "../common/interrupt.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Layout discovery's own names (String, boxed values, referent). */
static int names_from_layout(struct hd_field_facts *ff, const struct hd_names_input *in)
{
	return classes_layout_facts(in->classes, in->L, ff);
}

/* Run in this order: a later source may read the facts of an earlier one
 * (the layout predictor, last, places the names no other source did). */
static const struct {
	enum hd_field_source source;
	hd_field_source_fn fn;
} sources[] = {
	{HD_SRC_LAYOUT, names_from_layout},
	{HD_SRC_REFLECTION, reflectmeta_facts},
	{HD_SRC_SUBSTRATE, substratefields_facts},
	{HD_SRC_TRUFFLE, nodefields_facts},
	{HD_SRC_PREDICTED, fieldpredict_facts},
};

/* Runs one source; its facts are stamped with its name whatever it wrote,
 * and a source that fails for any other reason than a signal or memory
 * adds nothing. */
static int run_source(struct hd_field_facts *ff, size_t i, const struct hd_names_input *in)
{
	size_t n0 = ff->n, nlists0 = ff->nlists;
	if (hd_interrupted())
		return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
	if (sources[i].fn(ff, in) != 0) {
		if (hd_error_is_fatal())
			return -1;
		if (in->log)
			fprintf(in->log, "field names from %s: %s\n", ff_source_name(sources[i].source),
				hd_error_message());
		hd_error_clear();
		ff_truncate(ff, n0, nlists0);
		return 0;
	}
	for (size_t k = n0; k < ff->n; k++)
		ff->v[k].source = (uint8_t)sources[i].source;
	return 0;
}

static void log_stats(const struct hd_naming *nm, FILE *log)
{
	if (!log)
		return;
	fprintf(log, "field names:");
	for (unsigned s = 0; s < HD_SRC_COUNT; s++)
		fprintf(log, " %s %" PRIu64 " kept %" PRIu64 " dropped (%" PRIu64 " classes)%s",
			ff_source_name(s), nm->stats.facts_kept[s], nm->stats.facts_dropped[s],
			nm->stats.classes_named[s], s + 1 < HD_SRC_COUNT ? "," : "");
	fprintf(log, "; %" PRIu64 " classes skip a superclass\n", nm->stats.super_skips);
}

int fieldnames_apply(struct hd_naming *nm, struct hd_classes *t, hd_memview *mv,
		     const struct hd_layout *L, const char *jdk_dir, FILE *log,
		     const struct hd_elfimage *img)
{
	memset(nm, 0, sizeof *nm);
	if (imageobjs_build_releasing(&nm->objs, mv, L, t, img) != 0)
		return -1;
	if (img)
		elfimage_release(img);
	struct hd_names_input in = {mv, L, t, &nm->objs, jdk_dir, log, img};
	for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
		if (run_source(&nm->facts, i, &in) != 0)
			return -1;
		if (img)
			elfimage_release(img);
	}
	if (classes_apply_facts(t, mv, L, &nm->facts, &nm->stats) != 0)
		return -1;
	log_stats(nm, log);
	return 0;
}

static int copy_list(struct hd_field_facts *to, const struct hd_field_facts *from,
		     const struct hd_name_list *l, uint64_t delta)
{
	const char **names = malloc((l->n ? l->n : 1) * sizeof *names);
	if (!names)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (uint32_t k = 0; k < l->n; k++)
		names[k] = ff_name(from, from->list_names[l->first + k]);
	int rc = l->refines ? ff_add_refined_list(to, l->hub + delta, names, l->n)
			    : ff_add_list(to, l->hub + delta, names, l->n);
	free(names);
	return rc;
}

int fieldnames_apply_moved(struct hd_naming *nm, const struct hd_naming *from, uint64_t delta,
			   struct hd_classes *t, hd_memview *mv, const struct hd_layout *L)
{
	memset(nm, 0, sizeof *nm);
	const struct hd_field_facts *ff = &from->facts;
	for (size_t i = 0; i < ff->n; i++) {
		struct hd_field_fact f = ff->v[i];
		f.hub += delta;
		if (ff_add(&nm->facts, &f, ff_name(ff, f.name)) != 0)
			return -1;
	}
	for (size_t i = 0; i < ff->nlists; i++)
		if (copy_list(&nm->facts, ff, &ff->lists[i], delta) != 0)
			return -1;
	nm->facts.sequential_layout = ff->sequential_layout;
	return classes_apply_facts(t, mv, L, &nm->facts, &nm->stats);
}

void fieldnames_free(struct hd_naming *nm)
{
	ff_free(&nm->facts);
	imageobjs_free(&nm->objs);
	memset(nm, 0, sizeof *nm);
}
