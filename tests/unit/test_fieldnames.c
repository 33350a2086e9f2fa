/* Field naming (symbols/fieldnames.c) on synthetic image heaps: the object
 * index built, the layout's own names kept and counted, the line -v shows,
 * and a second copy of the image heap (another isolate) named the same way
 * from the first copy's facts. */
#include "../../common/hd_error.h"
#include "../../symbols/fieldnames.h"
#include "synthheap.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sh_params *const PRESETS[] = {&sh_ce_22_3, &sh_oracle_21, &sh_ce_25};
#define NPRESETS (sizeof PRESETS / sizeof PRESETS[0])

/* Far enough for any chunk alignment. */
#define DELTA 0x40000000ull

struct copy {
	hd_memview *mv;
	struct hd_layout L;
	struct hd_classes t;
	struct hd_naming nm;
};

/* The heap H placed DELTA bytes further than generated (DELTA 0: where it
 * was generated), with its class table. */
static void place(struct copy *c, const struct sh_heap *h, uint64_t delta)
{
	memset(c, 0, sizeof *c);
	c->mv = mv_new_local();
	cr_assert_not_null(c->mv);
	cr_assert_eq(mv_add_local(c->mv, h->start + delta, h->data, h->size), 0);
	c->L = h->expect;
	lay_rebase(&c->L, delta);
	uint64_t *hubs = sh_hubs(h);
	cr_assert_not_null(hubs);
	for (size_t k = 0; k < h->nclasses; k++)
		hubs[k] += delta;
	cr_assert_eq(classes_build(&c->t, c->mv, &c->L, hubs, h->nclasses), 0, "%s: %s", h->p.name,
		     hd_error_message());
	free(hubs);
}

static void unplace(struct copy *c)
{
	fieldnames_free(&c->nm);
	classes_free(&c->t);
	mv_free(c->mv);
}

static const char *field_name(const struct hd_classes *t, const struct hd_class *c, unsigned off)
{
	for (size_t i = 0; i < c->nfields; i++)
		if (c->fields[i].offset == off)
			return t->names.v[c->fields[i].name];
	return NULL;
}

Test(fieldnames, layout_names_kept_and_counted)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct sh_heap h;
		cr_assert_eq(sh_build(PRESETS[i], &h), 0);
		struct copy c;
		place(&c, &h, 0);
		char *text = NULL;
		size_t len = 0;
		FILE *log = open_memstream(&text, &len);
		cr_assert_not_null(log);
		cr_assert_eq(fieldnames_apply(&c.nm, &c.t, c.mv, &c.L, NULL, log, NULL), 0, "%s: %s",
			     h.p.name, hd_error_message());
		fclose(log);
		cr_assert_eq(c.nm.objs.n, h.nobjs, "%s: the object index", h.p.name);
		/* String's value, coder and hash, Integer's value, the referent. */
		cr_assert_eq(c.nm.stats.facts_kept[HD_SRC_LAYOUT], 5, "%s: %llu", h.p.name,
			     (unsigned long long)c.nm.stats.facts_kept[HD_SRC_LAYOUT]);
		cr_assert_eq(c.nm.stats.facts_dropped[HD_SRC_LAYOUT], 0);
		cr_assert_str_eq(field_name(&c.t, classes_named(&c.t, "java.lang.String"),
					    h.expect.str_value), "value");
		cr_assert_not_null(strstr(text, "field names: layout 5 kept 0 dropped"), "%s", text);
		free(text);
		unplace(&c);
		sh_free(&h);
	}
}

/* Another isolate's copy: the same facts, moved, name the same fields. */
Test(fieldnames, moved_copy_named_alike)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct sh_heap h;
		cr_assert_eq(sh_build(PRESETS[i], &h), 0);
		struct copy a, b;
		place(&a, &h, 0);
		place(&b, &h, DELTA);
		cr_assert_eq(fieldnames_apply(&a.nm, &a.t, a.mv, &a.L, NULL, NULL, NULL), 0);
		struct hd_field_fact extra = {.hub = sh_class(&h, "java.util.HashMap$Node")->hub,
					      .offset = sh_field(&h, "java.util.HashMap$Node", "next"),
					      .type = HD_T_OBJECT, .source = HD_SRC_SUBSTRATE};
		cr_assert_eq(ff_add(&a.nm.facts, &extra, "next"), 0);
		const char *names[] = {"hash", "key", "value", "next"};
		/* a list of another source first: the refined one wins in both */
		cr_assert_eq(ff_add_list(&a.nm.facts, extra.hub, names, 3), 0);
		cr_assert_eq(ff_add_refined_list(&a.nm.facts, extra.hub, names, 4), 0);
		a.nm.facts.sequential_layout = !a.nm.facts.sequential_layout;
		cr_assert_eq(fieldnames_apply_moved(&b.nm, &a.nm, DELTA, &b.t, b.mv, &b.L), 0, "%s: %s",
			     h.p.name, hd_error_message());
		cr_assert_eq(b.nm.objs.n, 0, "the moved copy walks nothing");
		cr_assert_eq(b.nm.facts.n, a.nm.facts.n);
		for (size_t k = 0; k < a.nm.facts.n; k++)
			cr_assert_eq(b.nm.facts.v[k].hub, a.nm.facts.v[k].hub + DELTA);
		const struct hd_name_list *l = ff_list_of(&b.nm.facts, extra.hub + DELTA);
		cr_assert(l && l->n == 4 && l->refines, "the moved copy keeps the refined list");
		cr_assert_eq(b.nm.facts.sequential_layout, a.nm.facts.sequential_layout,
			     "the moved copy keeps the layout algorithm");
		cr_assert_str_eq(ff_name(&b.nm.facts, b.nm.facts.list_names[l->first + 3]), "next");
		/* The moved copy used the extra fact; the first copy's table was
		 * settled before it was added. */
		const struct hd_class *node = classes_named(&b.t, "java.util.HashMap$Node");
		cr_assert_str_eq(field_name(&b.t, node, (unsigned)extra.offset), "next", "%s", h.p.name);
		cr_assert_eq(b.nm.stats.facts_kept[HD_SRC_SUBSTRATE], 1);
		for (size_t k = 0; k < a.t.n; k++) {
			const struct hd_class *x = &a.t.v[k], *y = &b.t.v[k];
			cr_assert_eq(y->hub, x->hub + DELTA);
			cr_assert_eq(y->super, x->super);
			if (x == classes_named(&a.t, "java.util.HashMap$Node"))
				continue;
			cr_assert_eq(y->nfields, x->nfields, "%s: %s", h.p.name, x->name);
			for (size_t f = 0; f < x->nfields; f++)
				cr_assert_str_eq(b.t.names.v[y->fields[f].name],
						 a.t.names.v[x->fields[f].name]);
		}
		unplace(&a);
		unplace(&b);
		sh_free(&h);
	}
}
