#include "classes.h"

#include "heapwalk.h"
#include "../common/grow.h"
#include "../common/hd_error.h"
#include "../common/interrupt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HUB_BYTES 4096
#define MAX_FIELDS 65536

unsigned hd_type_size(enum hd_type t)
{
	switch (t) {
	case HD_T_BOOLEAN:
	case HD_T_BYTE:
		return 1;
	case HD_T_CHAR:
	case HD_T_SHORT:
		return 2;
	case HD_T_FLOAT:
	case HD_T_INT:
		return 4;
	case HD_T_DOUBLE:
	case HD_T_LONG:
		return 8;
	case HD_T_OBJECT:
		return 0;
	}
	return 0;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

static int intern_grow(struct hd_classes *t)
{
	size_t nslots = t->intern_nslots ? t->intern_nslots * 2 : 1024;
	uint32_t *slots = calloc(nslots, sizeof *slots);
	char **v = realloc(t->interned, nslots / 2 * sizeof *v);
	if (!slots || !v) {
		free(slots);
		if (v)
			t->interned = v;
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	t->interned = v;
	t->cap_interned = nslots / 2;
	for (size_t k = 0; k < t->ninterned; k++) {
		size_t i = hash_str(t->interned[k]) & (nslots - 1);
		while (slots[i])
			i = (i + 1) & (nslots - 1);
		slots[i] = (uint32_t)(k + 1);
	}
	free(t->intern_slots);
	t->intern_slots = slots;
	t->intern_nslots = nslots;
	return 0;
}

static int intern(struct hd_classes *t, const char *s, uint32_t *idx)
{
	if (t->ninterned == t->cap_interned && intern_grow(t) != 0)
		return -1;
	size_t i = hash_str(s) & (t->intern_nslots - 1);
	for (; t->intern_slots[i]; i = (i + 1) & (t->intern_nslots - 1)) {
		if (strcmp(t->interned[t->intern_slots[i] - 1], s) == 0) {
			*idx = t->intern_slots[i] - 1;
			return 0;
		}
	}
	char *copy = strdup(s);
	if (!copy)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	t->interned[t->ninterned] = copy;
	*idx = (uint32_t)t->ninterned++;
	t->intern_slots[i] = *idx + 1;
	return 0;
}

const struct hd_class *classes_find(const struct hd_classes *t, uint64_t hub)
{
	if (!t->nslots)
		return NULL;
	for (size_t i = mix(hub) & (t->nslots - 1), probes = 0; probes < t->nslots;
	     i = (i + 1) & (t->nslots - 1), probes++) {
		uint32_t s = t->slots[i];
		if (!s)
			return NULL;
		if (t->v[s - 1].hub == hub)
			return &t->v[s - 1];
	}
	return NULL;
}

const struct hd_class *classes_named(const struct hd_classes *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return &t->v[i];
	return NULL;
}

bool classes_lookup(void *ctx, uint64_t hub, struct hd_hubinfo *info)
{
	const struct hd_class *c = classes_find(ctx, hub);
	if (!c || c->kind == HD_KIND_NONE)
		return false;
	info->enc = c->enc;
	info->idhash_off = c->idhash_off;
	info->cls = c;
	return true;
}

static int build_index(struct hd_classes *t)
{
	t->nslots = 1;
	while (t->nslots < t->n * 2 + 2)
		t->nslots <<= 1;
	t->slots = calloc(t->nslots, sizeof *t->slots);
	if (!t->slots)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t k = 0; k < t->n; k++) {
		size_t i = mix(t->v[k].hub) & (t->nslots - 1);
		while (t->slots[i])
			i = (i + 1) & (t->nslots - 1);
		t->slots[i] = (uint32_t)(k + 1);
	}
	return 0;
}

static uint8_t array_elem_type(const char *name, int32_t enc)
{
	if (!le_has_primitive_elems(enc))
		return HD_T_OBJECT;
	if (name[0] == '[' && name[2] == '\0') {
		switch (name[1]) {
		case 'Z': return HD_T_BOOLEAN;
		case 'B': return HD_T_BYTE;
		case 'C': return HD_T_CHAR;
		case 'S': return HD_T_SHORT;
		case 'I': return HD_T_INT;
		case 'J': return HD_T_LONG;
		case 'F': return HD_T_FLOAT;
		case 'D': return HD_T_DOUBLE;
		}
	}
	/* Word arrays and other primitive-element hubs: by element size. */
	static const uint8_t by_shift[] = {HD_T_BYTE, HD_T_SHORT, HD_T_INT, HD_T_LONG};
	return by_shift[le_shift(enc) & 3];
}

/* Field list under construction: one byte-role per instance byte. */
enum { ROLE_FREE, ROLE_REF, ROLE_TAKEN };

struct field_builder {
	struct hd_classes *t;
	struct hd_field *f;
	size_t n, cap;
	uint8_t *role;
	unsigned size;
};

static int add_field(struct field_builder *b, unsigned off, uint8_t type, const char *name)
{
	if (b->n >= MAX_FIELDS)
		return hd_fail(HD_E_LAYOUT, "class with more than %d fields", MAX_FIELDS);
	if (hd_grow(&b->f, &b->cap, b->n, sizeof *b->f, 16) != 0)
		return -1;
	uint32_t idx = 0;
	if (intern(b->t, name, &idx) != 0)
		return -1;
	b->f[b->n++] = (struct hd_field){off, type, idx};
	return 0;
}

/* Claims [OFF, OFF+LEN) for a named field if those bytes are still free. */
static int claim_named(struct field_builder *b, unsigned off, unsigned len, uint8_t type,
		       const char *name)
{
	if (off + len > b->size)
		return 0;
	for (unsigned i = 0; i < len; i++)
		if (b->role[off + i] != ROLE_FREE && !(type == HD_T_OBJECT && b->role[off + i] == ROLE_REF))
			return 0;
	memset(b->role + off, ROLE_TAKEN, len);
	return add_field(b, off, type, name);
}

static int cmp_field(const void *a, const void *b)
{
	const struct hd_field *x = a, *y = b;
	return (x->offset > y->offset) - (x->offset < y->offset);
}


struct refmap_marks {
	const struct hd_layout *L;
	struct field_builder *b;
};

static int mark_refs(void *ctx, unsigned off, unsigned count)
{
	const struct refmap_marks *m = ctx;
	for (unsigned k = 0; k < count; k++)
		memset(m->b->role + off + k * m->L->ref_size, ROLE_REF, m->L->ref_size);
	return 0;
}

static const char *boxed_value_type(const char *name, uint8_t *type)
{
	static const struct {
		const char *name;
		uint8_t type;
	} boxes[] = {
		{"java.lang.Boolean", HD_T_BOOLEAN}, {"java.lang.Byte", HD_T_BYTE},
		{"java.lang.Character", HD_T_CHAR},  {"java.lang.Short", HD_T_SHORT},
		{"java.lang.Integer", HD_T_INT},     {"java.lang.Long", HD_T_LONG},
		{"java.lang.Float", HD_T_FLOAT},     {"java.lang.Double", HD_T_DOUBLE},
	};
	for (size_t i = 0; i < sizeof boxes / sizeof boxes[0]; i++)
		if (strcmp(name, boxes[i].name) == 0) {
			*type = boxes[i].type;
			return "value";
		}
	return NULL;
}

/* A superclass can stand as the HPROF super only if its fields fit this
 * class's bytes: same reference slots, no primitive over a reference. */
static bool fields_fit(const struct hd_class *super, const struct field_builder *b)
{
	for (size_t i = 0; i < super->nfields; i++) {
		const struct hd_field *f = &super->fields[i];
		unsigned len = f->type == HD_T_OBJECT ? 0 : hd_type_size(f->type);
		if (f->type == HD_T_OBJECT) {
			if (f->offset >= b->size || b->role[f->offset] != ROLE_REF)
				return false;
			continue;
		}
		if (f->offset + len > b->size || memchr(b->role + f->offset, ROLE_REF, len))
			return false;
	}
	return true;
}

struct settle_ctx {
	struct hd_classes *t;
	const struct hd_layout *L;
	const int32_t *real_super;
	uint8_t *state;
	const uint8_t *table;
	uint32_t table_len;
};

static int synthesize(struct field_builder *b, const struct hd_layout *L)
{
	char name[32];
	for (unsigned off = L->hdr_size; off < b->size;) {
		int rc;
		if (b->role[off] == ROLE_TAKEN) {
			off++;
			continue;
		}
		if (b->role[off] == ROLE_REF) {
			snprintf(name, sizeof name, "ref@%u", off);
			rc = claim_named(b, off, L->ref_size, HD_T_OBJECT, name);
			off += L->ref_size;
		} else {
			unsigned len = 1;
			while (off + len < b->size && len < 4 && b->role[off + len] == ROLE_FREE)
				len++;
			/* Largest naturally aligned int/short/byte that fits. */
			unsigned sz = (len >= 4 && off % 4 == 0) ? 4 : (len >= 2 && off % 2 == 0) ? 2 : 1;
			uint8_t type = sz == 4 ? HD_T_INT : sz == 2 ? HD_T_SHORT : HD_T_BYTE;
			snprintf(name, sizeof name, "%s@%u", sz == 4 ? "i32" : sz == 2 ? "i16" : "i8", off);
			rc = claim_named(b, off, sz, type, name);
			off += sz;
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Fields a class's layout proves the names of. */
static int claim_known_fields(struct field_builder *b, const struct hd_layout *L,
			      const struct hd_class *c, bool is_reference)
{
	int rc = 0;
	if (c->hub == L->string_hub) {
		rc = claim_named(b, L->str_value, L->ref_size, HD_T_OBJECT, "value");
		if (rc == 0 && L->str_coder >= 0)
			rc = claim_named(b, (unsigned)L->str_coder, 1, HD_T_BYTE, "coder");
		if (rc == 0 && L->str_hash >= 0)
			rc = claim_named(b, (unsigned)L->str_hash, 4, HD_T_INT, "hash");
	}
	/* Named by the first class in the hierarchy that has the slot (an
	 * abstract Reference has no fields, so then its subclasses do). */
	if (rc == 0 && is_reference && L->referent_off >= 0 &&
	    (unsigned)L->referent_off + L->ref_size <= b->size && b->role[L->referent_off] == ROLE_REF)
		rc = claim_named(b, (unsigned)L->referent_off, L->ref_size, HD_T_OBJECT, "referent");
	uint8_t btype;
	if (rc == 0 && boxed_value_type(c->name, &btype)) {
		/* The value is the first naturally aligned free slot of its size
		 * that is not the identity hash. */
		unsigned sz = hd_type_size(btype);
		unsigned idh = L->hub_idhash >= 0 ? c->idhash_off : L->idhash_fixed_off;
		for (unsigned off = L->hdr_size; off + sz <= b->size; off += sz) {
			if (memchr(b->role + off, ROLE_TAKEN, sz) || memchr(b->role + off, ROLE_REF, sz) ||
			    (off < idh + 4 && off + sz > idh))
				continue;
			rc = claim_named(b, off, sz, btype, "value");
			break;
		}
	}
	return rc;
}

/* Builds C's fields after its superclasses'.  HPROF inherits fields along
 * the superclass chain, so C's HPROF super is its nearest ancestor whose
 * fields fit C's bytes (a subclass field placed in a superclass gap can
 * break that), and C adds fields for the bytes that ancestor leaves. */
static int settle(struct settle_ctx *x, size_t k)
{
	struct hd_classes *t = x->t;
	const struct hd_layout *L = x->L;
	struct hd_class *c = &t->v[k];
	if (x->state[k] == 2)
		return 0;
	if (x->state[k] == 1)
		return hd_fail(HD_E_LAYOUT, "superclass cycle at %s", c->name);
	x->state[k] = 1;
	for (int32_t s = x->real_super[k], depth = 0; s >= 0; s = x->real_super[s], depth++) {
		if (depth > 1024)
			return hd_fail(HD_E_LAYOUT, "superclass chain too long at %s", c->name);
		if (settle(x, (size_t)s) != 0)
			return -1;
	}
	bool has_fields = c->kind == HD_KIND_INSTANCE || c->kind == HD_KIND_HYBRID;
	/* java.lang.Object's bytes after the header are hash and padding. */
	bool root = x->real_super[k] < 0;
	struct field_builder b = {.t = t, .size = has_fields && !root ? c->fixed_size : 0};
	b.role = calloc(b.size + 1, 1);
	if (!b.role)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	memset(b.role, ROLE_TAKEN, L->hdr_size < b.size ? L->hdr_size : b.size);
	int rc = 0;
	if (b.size) {
		struct refmap_marks marks = {L, &b};
		rc = lay_refmap_each(L, x->table, x->table_len, c->refmap_idx, b.size,
				     mark_refs, &marks);
		if (rc == 0 && c->is_reference && L->referent_off >= 0 &&
		    (unsigned)L->referent_off + L->ref_size <= b.size)
			memset(b.role + L->referent_off, ROLE_REF, L->ref_size);
	}
	int32_t s = x->real_super[k];
	while (s >= 0 && !fields_fit(&t->v[s], &b))
		s = x->real_super[s];
	c->super = s;
	const struct hd_class *sup = s >= 0 ? &t->v[s] : NULL;
	for (size_t i = 0; rc == 0 && sup && i < sup->nfields; i++) {
		const struct hd_field *f = &sup->fields[i];
		unsigned len = f->type == HD_T_OBJECT ? L->ref_size : hd_type_size(f->type);
		rc = add_field(&b, f->offset, f->type, t->interned[f->name]);
		if (rc == 0)
			memset(b.role + f->offset, ROLE_TAKEN, len);
	}
	size_t inherited = b.n;
	if (rc == 0 && b.size)
		rc = claim_known_fields(&b, L, c, c->is_reference);
	if (rc == 0 && b.size)
		rc = synthesize(&b, L);
	free(b.role);
	if (rc != 0) {
		free(b.f);
		hd_error_context("class %s", c->name);
		return rc;
	}
	c->own = malloc((b.n - inherited + 1) * sizeof *c->own);
	if (!c->own) {
		free(b.f);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	c->nown = b.n - inherited;
	if (c->nown)
		memcpy(c->own, b.f + inherited, c->nown * sizeof *c->own);
	if (b.n)
		qsort(b.f, b.n, sizeof *b.f, cmp_field);
	c->fields = b.f;
	c->nfields = b.n;
	x->state[k] = 2;
	return 0;
}

static int read_class(hd_memview *mv, const struct hd_layout *L,
		      uint64_t hub, unsigned hub_bytes, struct hd_class *c, uint64_t *super_hub)
{
	uint8_t raw[MAX_HUB_BYTES];
	if (lay_read_image(mv, hub, raw, hub_bytes, "hub") != 0)
		return -1;
	memset(c, 0, sizeof *c);
	c->hub = hub;
	c->super = -1;
	c->jsuper = -1;
	c->enc = lay_hub_encoding(L, raw);
	c->name = lay_read_string(mv, L, lay_ref(L, raw + L->hub_name));
	if (!c->name) {
		hd_error_context("the name of the hub at 0x%" PRIx64, hub);
		return -1;
	}
	c->refmap_idx = lay_hub_refmap_index(L, raw);
	c->idhash_off = (uint16_t)lay_hub_idhash_off(L, raw);
	*super_hub = 0;
	if (L->hub_super >= 0) {
		*super_hub = lay_ref(L, raw + L->hub_super);
		if (*super_hub && L->hub_super2 >= 0) {
			uint8_t comp[8] = {0};
			if (lay_read_image(mv, *super_hub + (unsigned)L->hub_super2, comp,
					   L->ref_size, "hub companion") != 0)
				return -1;
			*super_hub = lay_ref(L, comp);
		}
	}
	int32_t e = c->enc;
	if (!le_is_plausible(e))
		return hd_fail(HD_E_LAYOUT, "class %s has layout encoding 0x%x", c->name, (uint32_t)e);
	if (le_is_instance(e)) {
		c->kind = HD_KIND_INSTANCE;
		c->fixed_size = (uint32_t)e;
	} else if (le_is_hybrid(e)) {
		c->kind = HD_KIND_HYBRID;
		c->fixed_size = le_base(e);
	} else if (le_is_pure_array(e)) {
		c->kind = le_has_primitive_elems(e) ? HD_KIND_PRIM_ARRAY : HD_KIND_OBJ_ARRAY;
		c->elem_type = array_elem_type(c->name, e);
		/* The writer reads an object array's elements a reference at a time. */
		if (c->kind == HD_KIND_OBJ_ARRAY && (1u << le_shift(e)) != L->ref_size)
			return hd_fail(HD_E_LAYOUT, "object array class %s has %u-byte elements",
				       c->name, 1u << le_shift(e));
	} else {
		c->kind = HD_KIND_NONE;
	}
	c->is_filler = strcmp(c->name, "com.oracle.svm.core.heap.FillerObject") == 0 ||
		       strcmp(c->name, "com.oracle.svm.core.heap.FillerArray") == 0;
	return 0;
}

int classes_build(struct hd_classes *t, hd_memview *mv, const struct hd_layout *L,
		  const uint64_t *hubs, size_t nhubs)
{
	memset(t, 0, sizeof *t);
	uint8_t hc[MAX_HUB_BYTES];
	if (L->hub_enc + 4 > sizeof hc)
		return hd_fail(HD_E_LAYOUT, "hub layout encoding at +%u", L->hub_enc);
	if (lay_read_image(mv, L->class_hub, hc, L->hub_enc + 4, "the Class hub") != 0)
		return -1;
	unsigned hub_bytes = le_base(lay_hub_encoding(L, hc));
	if (hub_bytes > MAX_HUB_BYTES || hub_bytes < L->hub_enc + 4)
		return hd_fail(HD_E_LAYOUT, "hub fields span %u bytes", hub_bytes);
	t->v = calloc(nhubs ? nhubs : 1, sizeof *t->v);
	uint64_t *super_hub = calloc(nhubs ? nhubs : 1, sizeof *super_hub);
	int rc = -1;
	if (!t->v || !super_hub) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nhubs; i++) {
		if (hd_interrupted()) {
			hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
			goto out;
		}
		if (read_class(mv, L, hubs[i], hub_bytes, &t->v[i], &super_hub[i]) != 0) {
			t->n = i + 1; /* classes_free frees the name read_class may have read */
			goto out;
		}
		t->n = i + 1;
	}
	if (build_index(t) != 0)
		goto out;
	const struct hd_class *reference = classes_named(t, "java.lang.ref.Reference");
	for (size_t i = 0; i < t->n; i++) {
		const struct hd_class *s = classes_find(t, super_hub[i]);
		t->v[i].jsuper = s ? (int32_t)(s - t->v) : -1;
	}
	for (size_t i = 0; i < t->n; i++)
		for (int32_t s = (int32_t)i, depth = 0; s >= 0 && depth < 1024; s = t->v[s].jsuper, depth++)
			if (reference && &t->v[s] == reference)
				t->v[i].is_reference = true;
	struct hd_field_facts ff = {0};
	struct hd_naming_stats stats;
	rc = classes_layout_facts(t, L, &ff);
	if (rc == 0)
		rc = classes_apply_facts(t, mv, L, &ff, &stats);
	ff_free(&ff);
out:
	free(super_hub);
	return rc;
}

int classes_apply_facts(struct hd_classes *t, hd_memview *mv, const struct hd_layout *L,
			const struct hd_field_facts *ff, struct hd_naming_stats *stats)
{
	(void)ff;
	memset(stats, 0, sizeof *stats);
	int32_t *real_super = malloc((t->n ? t->n : 1) * sizeof *real_super);
	uint8_t *state = calloc(t->n ? t->n : 1, 1);
	uint8_t *table = malloc(L->refmap_len ? L->refmap_len : 1);
	int rc = -1;
	if (!real_super || !state || !table) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		goto out;
	}
	if (lay_read_image(mv, L->refmap_data, table, L->refmap_len, "the reference-map table") != 0)
		goto out;
	for (size_t i = 0; i < t->n; i++) {
		real_super[i] = t->v[i].jsuper;
		free(t->v[i].fields);
		free(t->v[i].own);
		t->v[i].fields = t->v[i].own = NULL;
		t->v[i].nfields = t->v[i].nown = 0;
	}
	struct settle_ctx x = {t, L, real_super, state, table, L->refmap_len};
	for (size_t i = 0; i < t->n; i++)
		if (settle(&x, i) != 0)
			goto out;
	rc = 0;
out:
	free(real_super);
	free(state);
	free(table);
	return rc;
}

int classes_layout_facts(const struct hd_classes *t, const struct hd_layout *L,
			 struct hd_field_facts *ff)
{
	(void)t;
	(void)L;
	(void)ff;
	return 0;
}

void classes_free(struct hd_classes *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].fields);
		free(t->v[i].own);
	}
	for (size_t i = 0; i < t->ninterned; i++)
		free(t->interned[i]);
	free(t->interned);
	free(t->intern_slots);
	free(t->v);
	free(t->slots);
	memset(t, 0, sizeof *t);
}
