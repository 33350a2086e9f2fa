#include "substratefields.h"

#include "imageobjs.h"
#include "../common/grow.h"
#include "../common/interrupt.h"

#include <stdlib.h>
#include <string.h>

static const char *const type_class = "com.oracle.svm.graal.meta.SubstrateType";
/* SubstrateType.rawAllInstanceFields, in 22.3 and 25 alike. */
static const char *const field_array_class = "[Lcom.oracle.svm.graal.meta.SubstrateField;";
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

/* ---- Name lists from the types' field arrays --------------------------- */

/* The superclass chain is image data: a cycle must not hold us. */
#define MAX_CHAIN 1024
/* More fields than this in one type's array: not believed. */
#define MAX_TYPE_FIELDS 65536
/* All the types' arrays together (a real image: about 30,000 entries):
 * arrays shared by many types must not make us hold gigabytes. */
#define MAX_ALL_FIELDS (1u << 20)

struct by_addr {
	uint64_t addr;
	size_t i;
};

static int cmp_by_addr(const void *a, const void *b)
{
	uint64_t x = ((const struct by_addr *)a)->addr, y = ((const struct by_addr *)b)->addr;
	return (x > y) - (x < y);
}

/* What one class's list is while the types are read. */
enum { LIST_NONE, LIST_SET, LIST_CONFLICT };
struct class_list {
	uint8_t state;
	const char **names; /* sorted */
	size_t n;
};

/* The candidate at ADDR, NULL if none. */
static const struct fo_cand *cand_at(const struct by_addr *index, size_t n,
				     const struct fo_cand *cands, uint64_t addr)
{
	struct by_addr key = {addr, 0};
	const struct by_addr *hit = n ? bsearch(&key, index, n, sizeof *index, cmp_by_addr) : NULL;
	return hit ? &cands[hit->i] : NULL;
}

/* Class CLS's chain (itself first) into CHAIN; 0 when it does not end. */
static size_t chain_of(const struct hd_classes *t, const struct hd_class *cls, int32_t *chain)
{
	size_t n = 0;
	for (int32_t c = (int32_t)(cls - t->v); c >= 0; c = t->v[c].jsuper) {
		if (n == MAX_CHAIN || (size_t)c >= t->n)
			return 0;
		chain[n++] = c;
	}
	return n;
}

/* A field of a type's array: its declaring class's place in the chain. */
struct chain_field {
	int32_t pos;
	const char *name;
};

static int by_pos_name(const void *a, const void *b)
{
	const struct chain_field *x = a, *y = b;
	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Merges NAMES (sorted, N) into class C's list. */
static int merge_list(struct class_list *c, const char **names, size_t n)
{
	if (c->state == LIST_CONFLICT)
		return 0;
	if (c->state == LIST_SET) {
		bool same = c->n == n;
		for (size_t i = 0; same && i < n; i++)
			same = strcmp(c->names[i], names[i]) == 0;
		if (!same)
			c->state = LIST_CONFLICT;
		return 0;
	}
	c->names = malloc((n ? n : 1) * sizeof *c->names);
	if (!c->names)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	if (n)
		memcpy(c->names, names, n * sizeof *names);
	c->n = n;
	c->state = LIST_SET;
	return 0;
}

/* What a hybrid class's type proved of its hybrid parts. */
enum { HYBRID_NONE, HYBRID_SET, HYBRID_CONFLICT };
struct hybrid_plan {
	uint8_t state;
	struct hybrid_parts parts;
};

/* Scratch space of type_lists. */
struct scratch {
	int32_t *chain;           /* MAX_CHAIN */
	int32_t *pos;             /* per class: its place in the chain, -1 off it */
	struct chain_field *f;    /* per field of the largest type */
	const char **names;       /* likewise */
	struct hybrid_field *hf;  /* likewise */
	struct hybrid_plan *plans; /* per class */
	const struct sf_hybrid *hy;
};

/* The fields of TYPE sorted by declaring class (place in CHAIN) and name
 * into S->f; false when one is not a decoded instance field with a name
 * declared in the chain, or a class has a name twice. */
static bool chain_fields(const struct hd_classes *t, const struct sf_type_fields *type,
			 const struct by_addr *index, size_t nidx, const struct fo_cand *cands,
			 struct scratch *s)
{
	for (size_t i = 0; i < type->n; i++) {
		const struct fo_cand *c = cand_at(index, nidx, cands, type->fields[i]);
		if (!c || !c->decl || !c->name || c->is_static || c->decl < t->v ||
		    c->decl >= t->v + t->n || s->pos[c->decl - t->v] < 0)
			return false;
		s->f[i] = (struct chain_field){s->pos[c->decl - t->v], c->name};
	}
	qsort(s->f, type->n, sizeof *s->f, by_pos_name);
	for (size_t i = 1; i < type->n; i++)
		if (by_pos_name(&s->f[i], &s->f[i - 1]) == 0)
			return false;
	return true;
}

static bool same_parts(const struct hybrid_parts *a, const struct hybrid_parts *b)
{
	return a->len_off == b->len_off && a->slots_off == b->slots_off &&
	       a->nslots == b->nslots && a->base == b->base && a->shift == b->shift &&
	       strcmp(a->array, b->array) == 0 &&
	       (a->slots && b->slots ? strcmp(a->slots, b->slots) == 0 : a->slots == b->slots);
}

/* The hybrid parts of TYPE's class CLS (hybrid), from its fields without a
 * location and the lowest location of the others, checked against CLS's
 * instances, into S->plans.  A type whose fields leave the parts unproven
 * proves nothing of them. */
static int type_hybrid(const struct hd_classes *t, const struct sf_type_fields *type,
		       const struct by_addr *index, size_t nidx, const struct fo_cand *cands,
		       struct scratch *s)
{
	const struct hd_class *cls = type->cls;
	struct hybrid_class hc = {.len_off = s->hy->len_off, .enc = cls->enc};
	size_t nh = 0;
	for (size_t i = 0; i < type->n; i++) {
		const struct fo_cand *c = cand_at(index, nidx, cands, type->fields[i]);
		if (c->loc >= 0) {
			if (c->loc <= UINT32_MAX && (hc.first_loc == 0 || c->loc < hc.first_loc))
				hc.first_loc = (uint32_t)c->loc;
			continue;
		}
		if (c->decl != cls || !c->type || c->type < t->v || c->type >= t->v + t->n)
			return 0;
		bool arr = le_is_pure_array(c->type->enc);
		s->hf[nh++] = (struct hybrid_field){
			.name = c->name,
			.is_array = arr,
			.short_elems = arr && c->type->kind == HD_KIND_PRIM_ARRAY &&
				       c->type->elem_type == HD_T_SHORT,
			.elem_shift = le_shift(c->type->enc)};
	}
	struct hybrid_parts parts;
	if (nh == 0 || hybrid_parts_of(&hc, s->hf, nh, &parts) != 0)
		return 0;
	struct hybrid_obs *obs = NULL;
	size_t nobs = 0;
	if (s->hy->observe(s->hy->ctx, cls, &parts, &obs, &nobs) != 0)
		return -1;
	bool agree = hybrid_parts_agree(&parts, obs, nobs);
	free(obs);
	struct hybrid_plan *plan = &s->plans[cls - t->v];
	if (!agree)
		plan->state = HYBRID_CONFLICT;
	else if (plan->state == HYBRID_NONE)
		*plan = (struct hybrid_plan){HYBRID_SET, parts};
	else if (plan->state == HYBRID_SET && !same_parts(&plan->parts, &parts))
		plan->state = HYBRID_CONFLICT;
	return 0;
}

/* The lists TYPE proves, merged into LISTS; nothing when it does not hold
 * up (a type whose array is wrong somewhere says nothing of any class). */
static int type_lists(struct class_list *lists, const struct hd_classes *t,
		      const struct sf_type_fields *type, const struct by_addr *index, size_t nidx,
		      const struct fo_cand *cands, struct scratch *s)
{
	const struct hd_class *cls = type->cls;
	if (!cls || cls < t->v || cls >= t->v + t->n || cls->kind == HD_KIND_OBJ_ARRAY ||
	    cls->kind == HD_KIND_PRIM_ARRAY || type->n > MAX_TYPE_FIELDS)
		return 0;
	size_t nchain = chain_of(t, cls, s->chain);
	for (size_t c = 0; c < nchain; c++)
		s->pos[s->chain[c]] = (int32_t)c;
	bool ok = nchain > 0 && chain_fields(t, type, index, nidx, cands, s);
	int rc = ok && s->hy && le_is_hybrid(cls->enc) ? type_hybrid(t, type, index, nidx, cands, s)
						       : 0;
	for (size_t c = 0, i = 0; ok && c < nchain && rc == 0; c++) {
		size_t n = 0;
		for (; i < type->n && s->f[i].pos == (int32_t)c; i++)
			s->names[n++] = s->f[i].name;
		rc = merge_list(&lists[s->chain[c]], s->names, n);
	}
	for (size_t c = 0; c < nchain; c++)
		s->pos[s->chain[c]] = -1;
	return rc;
}

/* HUB's list L with the hybrid fields of P replaced by the names of their
 * storage, and those as facts. */
static int add_hybrid(struct hd_field_facts *ff, uint64_t hub, const struct class_list *l,
		      const struct hybrid_parts *p)
{
	char **hn;
	size_t nh;
	if (hybrid_names(p, &hn, &nh) != 0)
		return -1;
	const char **names = malloc((l->n + nh) * sizeof *names);
	int rc = names ? 0 : hd_fail(HD_E_INTERNAL, "out of memory");
	size_t n = 0;
	for (size_t i = 0; rc == 0 && i < l->n; i++)
		if (strcmp(l->names[i], p->array) != 0 && (!p->slots || strcmp(l->names[i], p->slots) != 0))
			names[n++] = l->names[i];
	for (size_t i = 0; rc == 0 && i < nh; i++) {
		names[n++] = hn[i];
		struct hd_field_fact f = {
			.hub = hub,
			.offset = i == 0 ? p->len_off : p->slots_off + 2 * (unsigned)(i - 1),
			.type = i == 0 ? HD_T_INT : HD_T_SHORT,
			.source = HD_SRC_SUBSTRATE};
		rc = ff_add(ff, &f, hn[i]);
	}
	if (rc == 0)
		rc = ff_add_refined_list(ff, hub, names, n);
	free(names);
	hybrid_names_free(hn, nh);
	return rc;
}

int substratefields_lists(struct hd_field_facts *ff, const struct hd_classes *t,
			  const struct sf_type_fields *types, size_t ntypes, const uint64_t *addr,
			  const struct fo_cand *cands, size_t n, const struct sf_hybrid *hy)
{
	size_t most = 1;
	for (size_t i = 0; i < ntypes; i++)
		if (types[i].n > most && types[i].n <= MAX_TYPE_FIELDS)
			most = types[i].n;
	struct by_addr *index = malloc((n ? n : 1) * sizeof *index);
	struct class_list *lists = calloc(t->n ? t->n : 1, sizeof *lists);
	struct scratch s = {.chain = malloc(MAX_CHAIN * sizeof *s.chain),
			    .pos = malloc((t->n ? t->n : 1) * sizeof *s.pos),
			    .f = malloc(most * sizeof *s.f),
			    .names = malloc(most * sizeof *s.names),
			    .hf = malloc(most * sizeof *s.hf),
			    .plans = calloc(t->n ? t->n : 1, sizeof *s.plans),
			    .hy = hy};
	int rc = index && lists && s.chain && s.pos && s.f && s.names && s.hf && s.plans
			 ? 0
			 : hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t c = 0; rc == 0 && c < t->n; c++)
		s.pos[c] = -1;
	for (size_t i = 0; rc == 0 && i < n; i++)
		index[i] = (struct by_addr){addr[i], i};
	if (rc == 0)
		qsort(index, n, sizeof *index, cmp_by_addr);
	/* Two objects at one address are not field objects of an image. */
	for (size_t i = 1; rc == 0 && i < n; i++)
		if (index[i].addr == index[i - 1].addr)
			n = 0;
	for (size_t i = 0; rc == 0 && i < ntypes; i++) {
		if (i % 1024 == 0 && hd_interrupted())
			rc = hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d",
				     hd_interrupted_signal());
		else
			rc = type_lists(lists, t, &types[i], index, n, cands, &s);
	}
	for (size_t c = 0; rc == 0 && lists && c < t->n; c++)
		if (lists[c].state == LIST_SET)
			rc = s.plans[c].state == HYBRID_SET
				     ? add_hybrid(ff, t->v[c].hub, &lists[c], &s.plans[c].parts)
				     : ff_add_refined_list(ff, t->v[c].hub, lists[c].names, lists[c].n);
	for (size_t c = 0; lists && c < t->n; c++)
		free(lists[c].names);
	free(lists);
	free(index);
	free(s.chain);
	free(s.pos);
	free(s.f);
	free(s.names);
	free(s.hf);
	free(s.plans);
	return rc;
}

int substratefields_decode(struct hd_field_facts *ff, const struct fo_rows *rows,
			   const struct fo_geom *g, struct fo_result *res)
{
	return fo_decode(ff, rows, g, 4, true, HD_SRC_SUBSTRATE, res);
}

/* The SubstrateType rows and the slot that leads to their DynamicHubs
 * (-1: none).  Nothing read when the image has no SubstrateType. */
static int read_types(const struct hd_names_input *in, struct fo_rows *types, long *hub_slot)
{
	memset(types, 0, sizeof *types);
	*hub_slot = -1;
	const struct hd_class *c = classes_named(in->classes, type_class);
	if (!c)
		return 0;
	if (fo_read_rows(in, c, NULL, 0, types) != 0)
		return -1;
	*hub_slot = substratefields_hub_slot(types);
	if (*hub_slot == -2)
		return -1;
	if (*hub_slot < 0 && in->log)
		fprintf(in->log, "field names: %zu SubstrateType objects: no slot leads to their "
			"DynamicHubs\n", types->n);
	return 0;
}

/* Each SubstrateType stands for its DynamicHub: *OUT maps their
 * addresses (ascending) to the hubs' classes. */
static int type_aliases(const struct fo_rows *types, long k, struct fo_alias **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (k < 0)
		return 0;
	*out = malloc((types->n ? types->n : 1) * sizeof **out);
	if (!*out)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < types->n; i++)
		if (fo_ref_at(types, i, (size_t)k)->kind == FO_HUB)
			(*out)[(*n)++] = (struct fo_alias){.addr = types->addr[i],
							   .cls = fo_ref_at(types, i, (size_t)k)->cls};
	return 0;
}

static uint64_t slot_ref(const struct hd_names_input *in, const struct fo_rows *r, size_t i,
			 size_t k)
{
	return lay_ref(in->L, fo_row(r, i) + r->ref_off[k]);
}

/* The slot of TYPES that leads to a field array (class ARR) in nearly
 * every row; -1 when none or several do. */
static long array_slot(const struct hd_names_input *in, const struct fo_rows *types,
		       const struct hd_class *arr)
{
	long found = -1;
	for (size_t k = 0; k < types->nrefs; k++) {
		size_t count = 0;
		for (size_t i = 0; i < types->n; i++)
			count += imageobjs_class_at(in->objs, slot_ref(in, types, i, k)) == arr;
		if (!fo_nearly_all(count, types->n))
			continue;
		if (found >= 0)
			return -1;
		found = (long)k;
	}
	return found;
}

/* Appends the elements of the field array at ADDR (class ARR) to *V (N
 * of CAP used) and sets *COUNT: 0; 1 when it does not read (nothing
 * appended); -1 with HD_E_INTERNAL. */
static int read_array(const struct hd_names_input *in, const struct hd_class *arr, uint64_t addr,
		      uint64_t **v, size_t *n, size_t *cap, size_t *count)
{
	uint8_t head[64];
	unsigned rs = in->L->ref_size;
	if (in->L->array_length_off + 4 > sizeof head ||
	    lay_read_image(in->mv, addr, head, in->L->array_length_off + 4, "field array") != 0) {
		hd_error_clear();
		return 1;
	}
	int32_t len = lay_array_length(in->L, head);
	if (len < 0 || len > MAX_TYPE_FIELDS || *n + (size_t)len > MAX_ALL_FIELDS)
		return 1;
	while (*n + (size_t)len > *cap)
		if (hd_grow(v, cap, *cap, sizeof **v, 4096) != 0)
			return -1;
	uint8_t *raw = malloc((size_t)len * rs + 1);
	if (!raw)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	if (lay_read_image(in->mv, addr + le_base(arr->enc), raw, (size_t)len * rs,
			   "field array") != 0) {
		hd_error_clear();
		free(raw);
		return 1;
	}
	for (int32_t i = 0; i < len; i++)
		(*v)[*n + (size_t)i] = lay_ref(in->L, raw + (size_t)i * rs);
	free(raw);
	*count = (size_t)len;
	*n += (size_t)len;
	return 0;
}

/* The field arrays of the types whose hub and array slots read: TYPES
 * (*NTYPES) point into *ELEMS.  Both NULL when the image has no such
 * array. */
static int type_fields(const struct hd_names_input *in, const struct fo_rows *types, long hub,
		       struct sf_type_fields **out, size_t *ntypes, uint64_t **elems)
{
	*out = NULL;
	*elems = NULL;
	*ntypes = 0;
	const struct hd_class *arr = classes_named(in->classes, field_array_class);
	long k = hub >= 0 && arr && arr->kind == HD_KIND_OBJ_ARRAY ? array_slot(in, types, arr) : -1;
	if (k < 0) {
		if (in->log && hub >= 0)
			fprintf(in->log, "field names: no slot of SubstrateType leads to its fields\n");
		return 0;
	}
	size_t n = 0, cap = 0;
	size_t *first = malloc((types->n ? types->n : 1) * sizeof *first);
	*out = malloc((types->n ? types->n : 1) * sizeof **out);
	if (!first || !*out) {
		free(first);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	for (size_t i = 0; i < types->n; i++) {
		const struct fo_ref *h = fo_ref_at(types, i, (size_t)hub);
		uint64_t a = slot_ref(in, types, i, (size_t)k);
		size_t count = 0;
		int rc = h->kind == FO_HUB && imageobjs_class_at(in->objs, a) == arr
				 ? read_array(in, arr, a, elems, &n, &cap, &count)
				 : 1;
		if (rc < 0) {
			free(first);
			return -1;
		}
		if (rc == 0) {
			first[*ntypes] = n - count;
			(*out)[(*ntypes)++] = (struct sf_type_fields){.cls = h->cls, .n = count};
		}
	}
	if (in->log)
		fprintf(in->log, "field names: %zu SubstrateType field arrays read, %zu entries\n",
			*ntypes, n);
	/* *ELEMS moved while it grew: the pointers are set once it is whole. */
	for (size_t i = 0; i < *ntypes; i++)
		(*out)[i].fields = *elems ? *elems + first[i] : NULL;
	free(first);
	return 0;
}

struct type_set {
	const struct sf_type_fields *v;
	size_t n;
};

/* The bytes from the object at index I of the image heap to the next one
 * in its chunk, as the heap walk found them; 0: it ends its chunk (the
 * rest of the chunk is free), or the heap. */
static uint64_t span_of(const struct hd_names_input *in, size_t i)
{
	const struct hd_imageobjs *io = in->objs;
	uint64_t cs = in->L->chunk_size, base = in->L->heap_base;
	if (i + 1 >= io->n || !cs ||
	    (io->addr[i] - base) / cs != (io->addr[i + 1] - base) / cs)
		return 0;
	return io->addr[i + 1] - io->addr[i];
}

/* sf_hybrid.observe over the image heap (CTX: the hd_names_input): each
 * instance's length and last slot as read, its span to the next object. */
static int observe_image(void *ctx, const struct hd_class *c, const struct hybrid_parts *p,
			 struct hybrid_obs **o, size_t *n)
{
	const struct hd_names_input *in = ctx;
	size_t count;
	const uint32_t *idx = imageobjs_of(in->objs, c, &count);
	*n = 0;
	*o = malloc((count ? count : 1) * sizeof **o);
	if (!*o)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < count; i++) {
		uint64_t addr = in->objs->addr[idx[i]];
		uint8_t len[4], slot[2] = {0, 0};
		if (lay_read_image(in->mv, addr + p->len_off, len, sizeof len, "hybrid length") != 0 ||
		    (p->nslots && lay_read_image(in->mv, addr + p->slots_off + 2 * (p->nslots - 1),
						 slot, sizeof slot, "type-id slot") != 0)) {
			hd_error_clear();
			continue;
		}
		(*o)[(*n)++] = (struct hybrid_obs){
			.length = (int32_t)ld_u32(len),
			.span = span_of(in, idx[i]),
			.last_slot = (uint16_t)(slot[0] | slot[1] << 8)};
	}
	return 0;
}

/* fo_then_fn: the name lists the types' field arrays (CTX, a type_set)
 * prove from the decoded field objects. */
static int lists_from(struct hd_field_facts *ff, const struct hd_names_input *in,
		      const struct fo_rows *rows, const struct fo_result *res, const void *ctx)
{
	const struct type_set *types = ctx;
	struct fo_cand *cands;
	if (!types->n)
		return 0;
	size_t before = ff->nlists;
	int rc = fo_candidates(rows, &res->slots, &cands);
	if (rc == 0)
		rc = substratefields_lists(ff, in->classes, types->v, types->n, rows->addr, cands,
					   rows->n,
					   &(struct sf_hybrid){in->L->array_length_off, observe_image,
							       (void *)in});
	if (rc == 0 && in->log)
		fprintf(in->log, "field names: %zu SubstrateType field arrays: field sets of %zu "
			"classes\n", types->n, ff->nlists - before);
	free(cands);
	return rc;
}

int substratefields_facts(struct hd_field_facts *ff, const struct hd_names_input *in)
{
	struct fo_rows types;
	struct fo_alias *aliases = NULL;
	struct sf_type_fields *tf = NULL;
	uint64_t *elems = NULL;
	size_t naliases = 0, ntypes = 0;
	long hub;
	int rc = read_types(in, &types, &hub);
	if (rc == 0)
		rc = type_aliases(&types, hub, &aliases, &naliases);
	if (rc == 0)
		rc = type_fields(in, &types, hub, &tf, &ntypes, &elems);
	for (size_t i = 0; rc == 0 && naliases && i < sizeof field_classes / sizeof *field_classes;
	     i++)
		rc = fo_source(ff, in, field_classes[i], aliases, naliases, 4, true,
			       HD_SRC_SUBSTRATE, lists_from, &(struct type_set){tf, ntypes});
	free(elems);
	free(tf);
	free(aliases);
	fo_rows_free(&types);
	return rc != 0 && fo_error_propagates(in->log, type_class) ? -1 : 0;
}
