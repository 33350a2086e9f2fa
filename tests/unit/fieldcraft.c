#include "fieldcraft.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fc_table_init(struct fc_table *k)
{
	memset(k, 0, sizeof *k);
	k->t.v = k->v;
}

const struct hd_class *fc_class(struct fc_table *k, const char *name, enum hd_class_kind kind,
				uint32_t size, int32_t jsuper, const unsigned *refs, size_t nrefs)
{
	cr_assert_lt(k->t.n, FC_MAX_CLASSES);
	cr_assert_leq(nrefs, FC_MAX_REFS);
	size_t i = k->t.n++;
	struct hd_class *c = &k->v[i];
	*c = (struct hd_class){.hub = 0x10000 + 0x100 * i, .name = (char *)name, .kind = kind,
			       .fixed_size = size, .jsuper = jsuper, .super = jsuper,
			       .fields = k->fields[i], .nfields = nrefs};
	for (size_t f = 0; f < nrefs; f++)
		k->fields[i][f] = (struct hd_field){.offset = refs[f], .type = HD_T_OBJECT};
	return c;
}

void fc_rows(struct fo_rows *r, size_t n, unsigned size, const unsigned *ref_off, size_t nrefs)
{
	memset(r, 0, sizeof *r);
	r->n = n;
	r->size = size;
	r->nrefs = nrefs;
	r->addr = calloc(n ? n : 1, sizeof *r->addr);
	r->bytes = calloc(n ? n : 1, size);
	r->ref_off = calloc(nrefs ? nrefs : 1, sizeof *r->ref_off);
	r->refs = calloc(n * nrefs + 1, sizeof *r->refs);
	cr_assert(r->addr && r->bytes && r->ref_off && r->refs);
	memcpy(r->ref_off, ref_off, nrefs * sizeof *ref_off);
	for (size_t i = 0; i < n; i++)
		r->addr[i] = 0x100000 + i * size;
}

void fc_ref(struct fo_rows *r, size_t i, size_t k, enum fo_ref_kind kind,
	    const struct hd_class *cls, const char *str)
{
	cr_assert(i < r->n && k < r->nrefs);
	r->refs[i * r->nrefs + k] = (struct fo_ref){.kind = (uint8_t)kind, .cls = cls, .str = str};
}

void fc_u32(struct fo_rows *r, size_t i, unsigned off, uint32_t v)
{
	cr_assert(i < r->n && off + 4 <= r->size);
	memcpy(r->bytes + i * r->size + off, &v, 4);
}

void fc_u64(struct fo_rows *r, size_t i, unsigned off, uint64_t v)
{
	cr_assert(i < r->n && off + 8 <= r->size);
	memcpy(r->bytes + i * r->size + off, &v, 8);
}

static int by_offset(const void *a, const void *b)
{
	const struct hd_field_fact *x = *(const struct hd_field_fact *const *)a;
	const struct hd_field_fact *y = *(const struct hd_field_fact *const *)b;
	if (x->is_static != y->is_static)
		return x->is_static - y->is_static;
	return (x->offset > y->offset) - (x->offset < y->offset);
}

const char *fc_facts(const struct hd_field_facts *ff, const struct hd_class *c)
{
	static char buf[1024];
	const size_t len = sizeof buf;
	uint64_t hub = c->hub;
	const struct hd_field_fact **v = calloc(ff->n ? ff->n : 1, sizeof *v);
	cr_assert_not_null(v);
	size_t n = 0;
	for (size_t i = 0; i < ff->n; i++)
		if (ff->v[i].hub == hub)
			v[n++] = &ff->v[i];
	qsort(v, n, sizeof *v, by_offset);
	size_t used = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s%s@%u:%u", i ? " " : "",
					 v[i]->is_static ? "static " : "", ff_name(ff, v[i]->name),
					 v[i]->offset, v[i]->type);
	free(v);
	return buf;
}

void fc_decode(struct fc_run *x, fc_decoder fn)
{
	memset(&x->ff, 0, sizeof x->ff);
	cr_assert_eq(fn(&x->ff, &x->r, &x->g, &x->res), 0);
}

void fc_expect_slots(const struct fc_run *x, unsigned name, unsigned decl, unsigned type,
		     unsigned loc, int mods)
{
	const struct fo_assign *a = &x->res.slots;
	cr_assert_eq(x->res.found, FO_FOUND);
	cr_assert_eq(x->r.ref_off[a->name], name);
	cr_assert_eq(x->r.ref_off[a->decl], decl);
	cr_assert_eq(x->r.ref_off[a->type], type);
	cr_assert_eq(a->loc, loc);
	cr_assert_eq(a->mods, mods);
}

void fc_decode_check(struct fc_run *x, fc_decoder fn, void (*expect)(size_t), size_t skipped)
{
	fc_decode(x, fn);
	expect(skipped);
	fc_done(x);
}

void fc_done(struct fc_run *x)
{
	ff_free(&x->ff);
	fo_rows_free(&x->r);
	fo_geom_free(&x->g);
}

void fc_expect_found(const struct fc_run *x, enum hd_field_source src, size_t skipped)
{
	cr_assert_eq(x->res.found, FO_FOUND);
	cr_assert_eq(x->res.skipped, skipped, "skipped %zu, want %zu", x->res.skipped, skipped);
	for (size_t i = 0; i < x->ff.n; i++) {
		cr_assert_str_neq(ff_name(&x->ff, x->ff.v[i].name), "evil");
		cr_assert_eq(x->ff.v[i].source, src);
	}
}
