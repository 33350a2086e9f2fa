#include "fieldobjs.h"

#include "imageobjs.h"
#include "../common/interrupt.h"

#include <stdlib.h>
#include <string.h>

/* Field-describing objects are small; a class claiming more is not one. */
#define MAX_ROW_SIZE 256u
/* Static locations index the statics arrays, far smaller than this. */
#define MAX_STATIC_LOC (1 << 24)

static unsigned type_size(enum hd_type t, const struct fo_geom *g)
{
	return t == HD_T_OBJECT ? g->ref_size : hd_type_size(t);
}

/* First of DECL's fields at or past OFF. */
static size_t field_at_or_after(const struct hd_class *decl, uint64_t off)
{
	size_t lo = 0, hi = decl->nfields;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (decl->fields[mid].offset < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool has_instances(const struct hd_class *c)
{
	return c->kind == HD_KIND_INSTANCE || c->kind == HD_KIND_HYBRID;
}

/* The jsuper chain is image data: a cycle must not hold us. */
#define MAX_CLASS_DEPTH 1024

int fo_geom_init(struct fo_geom *g, const struct hd_classes *t, unsigned hdr, unsigned ref_size)
{
	*g = (struct fo_geom){.hdr = hdr, .ref_size = ref_size, .t = t};
	g->rep = malloc((t->n ? t->n : 1) * sizeof *g->rep);
	if (!g->rep)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < t->n; i++)
		g->rep[i] = has_instances(&t->v[i]) ? (int32_t)i : -1;
	for (size_t i = 0; i < t->n; i++) {
		if (!has_instances(&t->v[i]))
			continue;
		int32_t s = t->v[i].jsuper;
		for (unsigned depth = 0; s >= 0 && (size_t)s < t->n && depth < MAX_CLASS_DEPTH;
		     s = t->v[s].jsuper, depth++)
			if (g->rep[s] < 0)
				g->rep[s] = (int32_t)i;
	}
	return 0;
}

void fo_geom_free(struct fo_geom *g)
{
	free(g->rep);
	g->rep = NULL;
}

/* The class whose bytes show DECL's fields, NULL if none. */
static const struct hd_class *layout_class(const struct hd_class *decl, const struct fo_geom *g)
{
	if (!decl || has_instances(decl))
		return decl;
	if (!g->t || decl < g->t->v || decl >= g->t->v + g->t->n)
		return NULL;
	int32_t r = g->rep[decl - g->t->v];
	return r >= 0 ? &g->t->v[r] : NULL;
}

bool fo_instance_fits(const struct hd_class *decl, int64_t loc, enum hd_type t,
		      const struct fo_geom *g)
{
	decl = layout_class(decl, g);
	if (!decl || !t)
		return false;
	unsigned size = type_size(t, g);
	if (loc < (int64_t)g->hdr || (uint64_t)loc % size != 0 ||
	    (uint64_t)loc + size > decl->fixed_size)
		return false;
	uint64_t start = (uint64_t)loc >= g->ref_size ? (uint64_t)loc - g->ref_size + 1 : 0;
	for (size_t i = field_at_or_after(decl, start);
	     i < decl->nfields && decl->fields[i].offset < (uint64_t)loc + size; i++)
		if (decl->fields[i].type == HD_T_OBJECT)
			return t == HD_T_OBJECT && decl->fields[i].offset == (uint64_t)loc;
	return t != HD_T_OBJECT;
}

/* A field name as the JVM allows one (JVMS 4.2.2: an unqualified name,
 * without . ; [ /), with no control characters a hostile image could send
 * to a terminal or a viewer, and of a sane length. */
#define MAX_NAME_BYTES 1024
static bool plausible_name(const char *name)
{
	size_t n = name ? strnlen(name, MAX_NAME_BYTES + 1) : 0;
	if (n == 0 || n > MAX_NAME_BYTES || strpbrk(name, ".;[/"))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

static bool static_fits(const struct fo_cand *c, enum hd_type t, const struct fo_geom *g)
{
	return c->decl && t && c->loc > 0 && c->loc < MAX_STATIC_LOC &&
	       (uint64_t)c->loc % type_size(t, g) == 0;
}

void fo_score(const struct fo_cand *c, size_t n, const struct fo_geom *g, struct fo_score *s)
{
	memset(s, 0, sizeof *s);
	for (size_t i = 0; i < n; i++) {
		enum hd_type t = classes_field_type(c[i].type);
		if (!c[i].decl || !t || !c[i].name)
			continue;
		if (c[i].is_static) {
			s->statics++;
			continue;
		}
		s->instance++;
		bool fits = fo_instance_fits(c[i].decl, c[i].loc, t, g);
		if (t == HD_T_OBJECT) {
			s->ref_typed++;
			s->ref_ok += fits;
		} else {
			s->prim_typed++;
			s->prim_ok += fits;
		}
	}
}

bool fo_score_trusted(const struct fo_score *s)
{
	return s->instance >= 8 && fo_fits_total(s) * 100 >= s->instance * 95;
}

static size_t count_kind(const struct fo_rows *r, size_t k, enum fo_ref_kind kind)
{
	size_t count = 0;
	for (size_t i = 0; i < r->n; i++)
		count += fo_ref_at(r, i, k)->kind == kind;
	return count;
}

long fo_string_slot(const struct fo_rows *r)
{
	long found = -1;
	for (size_t k = 0; k < r->nrefs; k++) {
		if (!fo_nearly_all(count_kind(r, k, FO_STRING), r->n))
			continue;
		if (found >= 0)
			return -1;
		found = (long)k;
	}
	return found;
}

bool fo_hub_slot(const struct fo_rows *r, size_t k)
{
	return k < r->nrefs && fo_nearly_all(count_kind(r, k, FO_HUB), r->n);
}

struct placed {
	uint64_t hub;
	uint32_t offset;
	bool is_static;
	bool dropped;
	uint8_t type;
	const char *name;
};

static int cmp_u64(uint64_t x, uint64_t y)
{
	return (x > y) - (x < y);
}

/* By place: class, static or not, offset; then name. */
static int by_place(const void *a, const void *b)
{
	const struct placed *x = a, *y = b;
	int d = cmp_u64(x->hub, y->hub);
	d = d ? d : (int)x->is_static - (int)y->is_static;
	d = d ? d : cmp_u64(x->offset, y->offset);
	return d ? d : strcmp(x->name, y->name);
}

/* By name within the class (a class has one field of a name). */
static int by_name(const void *a, const void *b)
{
	const struct placed *x = a, *y = b;
	int d = cmp_u64(x->hub, y->hub);
	d = d ? d : strcmp(x->name, y->name);
	return d ? d : by_place(a, b);
}

static bool same_place(const struct placed *x, const struct placed *y)
{
	return x->hub == y->hub && x->is_static == y->is_static && x->offset == y->offset;
}

static bool same_field(const struct placed *x, const struct placed *y)
{
	return same_place(x, y) && x->type == y->type && strcmp(x->name, y->name) == 0;
}

static bool same_name(const struct placed *x, const struct placed *y)
{
	return x->hub == y->hub && strcmp(x->name, y->name) == 0;
}

/* Sorts P by ORDER and drops every member of a group (runs of KEY) in
 * which two members are not the same field. */
static void drop_conflicts(struct placed *p, size_t n, int (*order)(const void *, const void *),
			   bool (*key)(const struct placed *, const struct placed *))
{
	qsort(p, n, sizeof *p, order);
	for (size_t i = 0, j; i < n; i = j) {
		bool agree = true;
		for (j = i + 1; j < n && key(&p[j], &p[i]); j++)
			agree &= same_field(&p[j], &p[i]);
		for (size_t m = i; !agree && m < j; m++)
			p[m].dropped = true;
	}
}

int fo_emit(struct hd_field_facts *ff, const struct fo_cand *c, size_t n,
	    enum hd_field_source src, const struct fo_geom *g, size_t *added, size_t *skipped)
{
	*added = *skipped = 0;
	struct placed *p = malloc((n ? n : 1) * sizeof *p);
	if (!p)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	size_t np = 0;
	for (size_t i = 0; i < n; i++) {
		enum hd_type t = classes_field_type(c[i].type);
		bool ok = plausible_name(c[i].name) &&
			  (c[i].is_static ? static_fits(&c[i], t, g)
					  : fo_instance_fits(c[i].decl, c[i].loc, t, g));
		if (!ok) {
			(*skipped)++;
			continue;
		}
		p[np++] = (struct placed){.hub = c[i].decl->hub, .offset = (uint32_t)c[i].loc,
					  .is_static = c[i].is_static, .type = (uint8_t)t,
					  .name = c[i].name};
	}
	/* Two names for one place, or two places for one name: the objects
	 * contradict each other, and neither is believed. */
	drop_conflicts(p, np, by_name, same_name);
	drop_conflicts(p, np, by_place, same_place);
	int rc = 0;
	for (size_t i = 0; i < np && rc == 0; i++) {
		if (p[i].dropped) {
			(*skipped)++;
			continue;
		}
		if (i > 0 && !p[i - 1].dropped && same_field(&p[i], &p[i - 1]))
			continue;
		struct hd_field_fact f = {.hub = p[i].hub, .offset = p[i].offset, .type = p[i].type,
					  .source = (uint8_t)src, .is_static = p[i].is_static};
		rc = ff_add(ff, &f, p[i].name);
		*added += rc == 0;
	}
	free(p);
	return rc;
}


static int cmp_alias(const void *key, const void *elem)
{
	uint64_t a = *(const uint64_t *)key, b = ((const struct fo_alias *)elem)->addr;
	return (a > b) - (a < b);
}

static const struct hd_class *alias_of(const struct fo_alias *a, size_t n, uint64_t addr)
{
	const struct fo_alias *hit = n ? bsearch(&addr, a, n, sizeof *a, cmp_alias) : NULL;
	return hit ? hit->cls : NULL;
}

/* Resolves the reference ADDR of a row into *REF.  Only HD_E_INTERNAL
 * fails; data that does not decode is FO_OTHER. */
static int resolve(const struct hd_names_input *in, const struct fo_alias *aliases,
		   size_t naliases, struct fo_rows *r, uint64_t addr, struct fo_ref *ref)
{
	*ref = (struct fo_ref){.kind = addr ? FO_OTHER : FO_NULL};
	const struct hd_class *target = addr ? imageobjs_class_at(in->objs, addr) : NULL;
	if (!target)
		return 0;
	if (target->hub == in->L->class_hub) {
		ref->cls = classes_find(in->classes, addr);
		ref->kind = ref->cls ? FO_HUB : FO_OTHER;
		return 0;
	}
	const struct hd_class *alias = alias_of(aliases, naliases, addr);
	if (alias) {
		*ref = (struct fo_ref){.kind = FO_HUB, .cls = alias};
		return 0;
	}
	if (target->hub != in->L->string_hub)
		return 0;
	char *s = lay_read_string(in->mv, in->L, addr);
	if (!s) {
		if (hd_error_class() == HD_E_INTERNAL)
			return -1;
		hd_error_clear();
		return 0;
	}
	r->strs[r->nstrs++] = s;
	*ref = (struct fo_ref){.kind = FO_STRING, .str = s};
	return 0;
}

static int read_row(const struct hd_names_input *in, const struct fo_alias *aliases,
		    size_t naliases, struct fo_rows *r, size_t i, uint64_t addr)
{
	uint8_t *row = r->bytes + i * r->size;
	struct fo_ref *refs = r->refs + i * r->nrefs;
	for (size_t k = 0; k < r->nrefs; k++)
		refs[k] = (struct fo_ref){.kind = FO_OTHER};
	if (lay_read_image(in->mv, addr, row, r->size, "field object") != 0) {
		hd_error_clear();
		memset(row, 0, r->size);
		return 0;
	}
	for (size_t k = 0; k < r->nrefs; k++)
		if (resolve(in, aliases, naliases, r, lay_ref(in->L, row + r->ref_off[k]),
			    &refs[k]) != 0)
			return -1;
	return 0;
}

int fo_read_rows(const struct hd_names_input *in, const struct hd_class *c,
		 const struct fo_alias *aliases, size_t naliases, struct fo_rows *out)
{
	memset(out, 0, sizeof *out);
	if (c->kind != HD_KIND_INSTANCE || c->fixed_size > MAX_ROW_SIZE)
		return hd_fail(HD_E_LAYOUT, "%s is no small instance class", c->name);
	size_t n;
	const uint32_t *idx = imageobjs_of(in->objs, c, &n);
	out->size = c->fixed_size;
	out->ref_off = malloc((c->nfields ? c->nfields : 1) * sizeof *out->ref_off);
	if (!out->ref_off)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t k = 0; k < c->nfields; k++)
		if (c->fields[k].type == HD_T_OBJECT &&
		    c->fields[k].offset + in->L->ref_size <= out->size)
			out->ref_off[out->nrefs++] = c->fields[k].offset;
	out->addr = malloc((n ? n : 1) * sizeof *out->addr);
	out->bytes = malloc((n ? n : 1) * out->size);
	size_t cells = n * out->nrefs; /* nrefs <= MAX_ROW_SIZE: no overflow */
	out->refs = malloc((cells ? cells : 1) * sizeof *out->refs);
	out->strs = malloc((cells ? cells : 1) * sizeof *out->strs);
	if (!out->addr || !out->bytes || !out->refs || !out->strs)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < n; i++, out->n++) {
		if (i % 1024 == 0 && hd_interrupted())
			return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d",
				       hd_interrupted_signal());
		out->addr[i] = in->objs->addr[idx[i]];
		if (read_row(in, aliases, naliases, out, i, out->addr[i]) != 0)
			return -1;
	}
	return 0;
}

void fo_rows_free(struct fo_rows *r)
{
	for (size_t i = 0; i < r->nstrs; i++)
		free(r->strs[i]);
	free(r->strs);
	free(r->addr);
	free(r->bytes);
	free(r->ref_off);
	free(r->refs);
	memset(r, 0, sizeof *r);
}

static int64_t loc_value(const uint8_t *row, unsigned off, unsigned width)
{
	return width == 8 ? (int64_t)ld_u64(row + off) : (int64_t)(int32_t)ld_u32(row + off);
}

static void fill(const struct fo_rows *r, const struct fo_assign *a, struct fo_cand *c)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct fo_ref *name = fo_ref_at(r, i, a->name);
		const struct fo_ref *decl = fo_ref_at(r, i, a->decl);
		const struct fo_ref *type = fo_ref_at(r, i, a->type);
		const uint8_t *row = fo_row(r, i);
		c[i] = (struct fo_cand){
			.decl = decl->kind == FO_HUB ? decl->cls : NULL,
			.type = type->kind == FO_HUB ? type->cls : NULL,
			.name = name->kind == FO_STRING ? name->str : NULL,
			.loc = loc_value(row, a->loc, a->loc_width),
			.is_static = a->mods >= 0 &&
				     (ld_u32(row + a->mods) & FO_ACC_STATIC) != 0,
		};
	}
}

int fo_candidates(const struct fo_rows *r, const struct fo_assign *a, struct fo_cand **out)
{
	*out = malloc((r->n ? r->n : 1) * sizeof **out);
	if (!*out)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	fill(r, a, *out);
	return 0;
}

/* Is the WIDTH-byte word at OFF clear of every reference slot? */
static bool off_refs(const struct fo_rows *r, const struct fo_geom *g, unsigned off,
		     unsigned width)
{
	for (size_t k = 0; k < r->nrefs; k++)
		if (r->ref_off[k] < off + width && off < r->ref_off[k] + g->ref_size)
			return false;
	return true;
}

static bool is_modifiers_word(const struct fo_rows *r, unsigned off)
{
	size_t fit = 0, nonzero = 0;
	for (size_t i = 0; i < r->n; i++) {
		uint32_t v = ld_u32(fo_row(r, i) + off);
		fit += (v & ~FO_FIELD_MODIFIERS) == 0;
		nonzero += v != 0;
	}
	return fo_nearly_all(fit, r->n) && nonzero * 10 >= r->n;
}

/* Does X fit better than Y: a larger share of instance fields, then more. */
static bool better(const struct fo_score *x, const struct fo_score *y)
{
	uint64_t lx = (uint64_t)fo_fits_total(x) * (y->instance ? y->instance : 1);
	uint64_t ly = (uint64_t)fo_fits_total(y) * (x->instance ? x->instance : 1);
	if (!x->instance || !y->instance)
		return x->instance > y->instance;
	return lx != ly ? lx > ly : fo_fits_total(x) > fo_fits_total(y);
}

static bool same_score(const struct fo_score *x, const struct fo_score *y)
{
	return fo_fits_total(x) == fo_fits_total(y) && x->instance == y->instance;
}

/* Hostile layouts must not make the search quadratic in their size: real
 * field objects have two class slots and one modifiers word; more
 * candidates than these make the choice ambiguous anyway. */
#define MAX_CLASS_SLOTS 3
#define MAX_MODS_WORDS 3

/* Tries A with every location word; keeps the best in *OUT. */
static int try_locations(const struct fo_rows *r, const struct fo_geom *g, struct fo_assign a,
			 struct fo_cand *c, struct fo_assign *out, bool *found, bool *tied)
{
	for (a.loc = g->hdr; a.loc + a.loc_width <= r->size; a.loc += a.loc_width) {
		if ((int)a.loc == a.mods || !off_refs(r, g, a.loc, a.loc_width))
			continue;
		if (hd_interrupted())
			return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d",
				       hd_interrupted_signal());
		fill(r, &a, c);
		fo_score(c, r->n, g, &a.score);
		if (*found && same_score(&a.score, &out->score) &&
		    (a.loc != out->loc || a.decl != out->decl || a.type != out->type))
			*tied = true;
		if (!*found || better(&a.score, &out->score)) {
			*tied = false;
			*out = a;
			*found = true;
		}
	}
	return 0;
}

int fo_search(const struct fo_rows *r, const struct fo_geom *g, unsigned loc_width,
	      bool with_mods, struct fo_assign *out, enum fo_search_result *result)
{
	memset(out, 0, sizeof *out);
	long name = fo_string_slot(r);
	*result = name < 0 ? FO_NO_NAME : FO_AMBIGUOUS;
	if (name < 0)
		return 0;
	size_t classes[MAX_CLASS_SLOTS], nclasses = 0;
	for (size_t k = 0; k < r->nrefs; k++) {
		if (!fo_hub_slot(r, k))
			continue;
		if (nclasses == MAX_CLASS_SLOTS)
			return 0;
		classes[nclasses++] = k;
	}
	int mods[MAX_MODS_WORDS] = {-1};
	size_t nmods = !with_mods;
	for (unsigned off = g->hdr; with_mods && off + 4 <= r->size; off += 4) {
		if (!off_refs(r, g, off, 4) || !is_modifiers_word(r, off))
			continue;
		if (nmods == MAX_MODS_WORDS)
			return 0;
		mods[nmods++] = (int)off;
	}
	struct fo_cand *c = malloc((r->n ? r->n : 1) * sizeof *c);
	if (!c)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	bool found = false, tied = false;
	int rc = 0;
	struct fo_assign a = {.name = (size_t)name, .loc_width = loc_width};
	for (size_t d = 0; d < nclasses && rc == 0; d++)
		for (size_t t = 0; t < nclasses && rc == 0; t++)
			for (size_t m = 0; m < nmods && rc == 0 && d != t; m++) {
				a.decl = classes[d];
				a.type = classes[t];
				a.mods = mods[m];
				rc = try_locations(r, g, a, c, out, &found, &tied);
			}
	free(c);
	*result = !found || !fo_score_trusted(&out->score) ? FO_NONE_FITS
		  : tied                                   ? FO_AMBIGUOUS
							   : FO_FOUND;
	return rc;
}

int fo_decode(struct hd_field_facts *ff, const struct fo_rows *rows, const struct fo_geom *g,
	      unsigned loc_width, bool with_mods, enum hd_field_source src,
	      struct fo_result *res)
{
	memset(res, 0, sizeof *res);
	if (fo_search(rows, g, loc_width, with_mods, &res->slots, &res->found) != 0)
		return -1;
	if (res->found != FO_FOUND)
		return 0;
	struct fo_cand *c;
	if (fo_candidates(rows, &res->slots, &c) != 0)
		return -1;
	size_t before = ff->n;
	int rc = fo_emit(ff, c, rows->n, src, g, &res->added, &res->skipped);
	for (size_t i = before; i < ff->n; i++)
		res->statics += ff->v[i].is_static;
	free(c);
	return rc;
}

void fo_report(FILE *log, const char *what, const struct fo_rows *r,
	       const struct fo_result *res)
{
	static const char *const why[] = {
		[FO_FOUND] = "",
		[FO_NO_NAME] = "no slot holds a String in every object",
		[FO_NONE_FITS] = "no choice of slots fits the reference maps",
		[FO_AMBIGUOUS] = "two choices of slots fit equally",
	};
	const struct fo_assign *a = &res->slots;
	if (!log)
		return;
	if (res->found != FO_FOUND) {
		fprintf(log,
			"field names: %zu %s objects unused: %s (best: location +%u, %zu of %zu "
			"instance fields fit)\n",
			r->n, what, why[res->found], a->loc, fo_fits_total(&a->score),
			a->score.instance);
		return;
	}
	char mods[32] = "";
	if (a->mods >= 0)
		snprintf(mods, sizeof mods, ", modifiers +%d", a->mods);
	fprintf(log,
		"field names: %zu %s objects: name +%u, declaring class +%u, type +%u%s, "
		"location +%u; instance fields fitting: %zu/%zu of reference type, %zu/%zu "
		"primitive; %zu facts (%zu static), %zu skipped\n",
		r->n, what, r->ref_off[a->name], r->ref_off[a->decl], r->ref_off[a->type], mods,
		a->loc, a->score.ref_ok, a->score.ref_typed, a->score.prim_ok,
		a->score.prim_typed, res->added, res->statics, res->skipped);
}

bool fo_error_propagates(FILE *log, const char *what)
{
	if (hd_error_is_fatal())
		return true;
	if (log)
		fprintf(log, "field names: %s unused: %s\n", what, hd_error_message());
	hd_error_clear();
	return false;
}

int fo_source(struct hd_field_facts *ff, const struct hd_names_input *in, const char *name,
	      const struct fo_alias *aliases, size_t naliases, unsigned loc_width, bool with_mods,
	      enum hd_field_source src, fo_then_fn then, const void *ctx)
{
	size_t n;
	const struct hd_class *c = classes_named(in->classes, name);
	if (!c || (imageobjs_of(in->objs, c, &n), n == 0))
		return 0;
	struct fo_geom g;
	struct fo_rows rows;
	struct fo_result res;
	int rc = fo_geom_init(&g, in->classes, in->L->hdr_size, in->L->ref_size);
	if (rc == 0)
		rc = fo_read_rows(in, c, aliases, naliases, &rows);
	else
		memset(&rows, 0, sizeof rows);
	if (rc == 0)
		rc = fo_decode(ff, &rows, &g, loc_width, with_mods, src, &res);
	if (rc == 0)
		fo_report(in->log, name, &rows, &res);
	if (rc == 0 && then && res.found == FO_FOUND)
		rc = then(ff, in, &rows, &res, ctx);
	fo_rows_free(&rows);
	fo_geom_free(&g);
	return rc != 0 && fo_error_propagates(in->log, name) ? -1 : 0;
}
