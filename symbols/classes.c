#include "classes.h"

#include "heapwalk.h"
#include "../common/grow.h"
#include "../common/hash.h"
#include "../common/hd_error.h"
#include "../common/interrupt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HUB_BYTES 4096
#define MAX_FIELDS 65536
/* More facts than this for one class are not believed (none has that many
 * fields); and checking facts may cost this many steps at most, past which
 * the facts left unchecked are dropped: hostile facts cannot stall a dump. */
#define MAX_CLASS_FACTS 2048
#define CHECK_BUDGET (1ull << 28)

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

const struct hd_class *classes_find(const struct hd_classes *t, uint64_t hub)
{
	if (!t->nslots)
		return NULL;
	for (size_t i = hd_hash_u64(hub) & (t->nslots - 1), probes = 0; probes < t->nslots;
	     i = (i + 1) & (t->nslots - 1), probes++) {
		uint32_t s = t->slots[i];
		if (!s)
			return NULL;
		if (t->v[s - 1].hub == hub)
			return &t->v[s - 1];
	}
	return NULL;
}

enum hd_type classes_field_type(const struct hd_class *c)
{
	static const struct {
		const char *name;
		enum hd_type t;
	} prims[] = {
		{"boolean", HD_T_BOOLEAN}, {"byte", HD_T_BYTE},   {"char", HD_T_CHAR},
		{"short", HD_T_SHORT},     {"int", HD_T_INT},     {"long", HD_T_LONG},
		{"float", HD_T_FLOAT},     {"double", HD_T_DOUBLE},
	};
	if (!c)
		return 0;
	if (c->kind == HD_KIND_NONE) {
		for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++)
			if (strcmp(c->name, prims[i].name) == 0)
				return prims[i].t;
		if (strcmp(c->name, "void") == 0)
			return 0;
	}
	return HD_T_OBJECT;
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
		size_t i = hd_hash_u64(t->v[k].hub) & (t->nslots - 1);
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

static bool is_type(uint8_t t)
{
	return t == HD_T_OBJECT || (t >= HD_T_BOOLEAN && t <= HD_T_LONG);
}

/* What an instance byte is while a class's fields are settled. */
enum {
	ROLE_FREE,      /* no field yet */
	ROLE_REF_START, /* first byte of a reference slot (reference map, referent) */
	ROLE_REF,       /* further bytes of one */
	ROLE_HASH,      /* the class's identity hash (4 bytes) */
	ROLE_MONITOR_START, /* first byte of the class's monitor slot */
	ROLE_MONITOR,   /* further bytes of it */
	ROLE_NONE,      /* no field of this class or above: padding, or a slot of the
			   class whose bytes a subclass reuses (see mark_nofield) */
	ROLE_TAKEN,     /* header, or a field settled already */
};

/* A class's fields under construction. */
struct field_builder {
	struct hd_classes *t;
	struct hd_field *f;
	size_t n, cap;
	uint8_t *role;
	uint8_t *claimed;   /* bytes the class's own named facts take */
	unsigned size;      /* 0: no instance bytes (abstract class, Object) */
};

static unsigned field_len(const struct hd_layout *L, uint8_t type)
{
	return type == HD_T_OBJECT ? L->ref_size : hd_type_size(type);
}

/* Adds F to the class and takes its bytes. */
static int add_field(struct field_builder *b, const struct hd_layout *L, struct hd_field f)
{
	if (b->n >= MAX_FIELDS)
		return hd_fail(HD_E_LAYOUT, "class with more than %d fields", MAX_FIELDS);
	if (hd_grow(&b->f, &b->cap, b->n, sizeof *b->f, 16) != 0)
		return -1;
	b->f[b->n++] = f;
	if (b->size)
		memset(b->role + f.offset, ROLE_TAKEN, field_len(L, f.type));
	return 0;
}

/* A field nobody names (KIND@offset), or the slot SLOT (named KIND). */
static int add_unnamed(struct field_builder *b, const struct hd_layout *L, unsigned off,
		       uint8_t type, const char *kind, enum hd_slot slot)
{
	char name[32];
	uint32_t idx;
	if (slot == HD_SLOT_NONE)
		snprintf(name, sizeof name, "%s@%u", kind, off);
	else
		snprintf(name, sizeof name, "%s", kind);
	if (strintern_add(&b->t->names, name, &idx) != 0)
		return -1;
	uint8_t named_by = slot == HD_SLOT_NONE ? 0 : 1u << HD_SRC_LAYOUT;
	return add_field(b, L, (struct hd_field){.offset = off, .type = type, .named_by = named_by,
						 .slot = (uint8_t)slot, .name = idx});
}

static int cmp_field(const void *a, const void *b)
{
	const struct hd_field *x = a, *y = b;
	return (x->offset > y->offset) - (x->offset < y->offset);
}

struct refmap_marks {
	const struct hd_layout *L;
	uint8_t *role;
};

static int mark_refs(void *ctx, unsigned off, unsigned count)
{
	const struct refmap_marks *m = ctx;
	for (unsigned k = 0; k < count; k++) {
		unsigned at = off + k * m->L->ref_size;
		m->role[at] = ROLE_REF_START;
		memset(m->role + at + 1, ROLE_REF, m->L->ref_size - 1);
	}
	return 0;
}

static unsigned hash_off(const struct hd_layout *L, const struct hd_class *c)
{
	return L->hub_idhash >= 0 ? c->idhash_off : L->idhash_fixed_off;
}

/* Makes the free bytes of ROLE in [FROM, TO) padding. */
static void pad(uint8_t *role, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++)
		if (role[i] == ROLE_FREE)
			role[i] = ROLE_NONE;
}

/* The bytes of C's instances that the image builder's instance-field layout
 * (hosted/meta/UniverseBuilder.layoutInstanceFields) leaves without a field,
 * where that can be told from the class's size and slots alone.  Three
 * rules, each sound whatever fields the class has:
 *
 * - java.lang.Object declares no instance field, and Native Image injects
 *   none into it (no @Inject in Target_java_lang_Object, 22.3 to 25).
 *
 * - With 8-byte references, nothing but the identity hash follows the
 *   monitor slot.  22.3 places the monitor after every field, then at most
 *   @Contended padding.  23.1 and 25 place each field, then the monitor,
 *   then the hash, in the best-fitting free run below the end, or append
 *   them aligned.  A free run below the end only ever comes from the bytes
 *   an appended field of size s skipped to align itself (fewer than s <= 8,
 *   ending s-aligned), or is what is left of such a run once a field took
 *   part of it (a superclass's monitor or hash in such a run is free again
 *   in its subclasses, which lay out over the superclass's bytes without
 *   them): so no run holds an aligned 8-byte slot, and the monitor is
 *   appended after every field.  The hash follows it or lies in a run
 *   below; nothing else comes after.
 *
 * - With a type-specific hash counted in the instance size (CE 25, hub
 *   offset, not the optional hash of 4-byte-reference builds), a hash at a
 *   multiple of 8 in an instance of exactly that offset + 8 bytes was
 *   appended, after every field and the monitor: by the above, a 4-byte
 *   slot in a free run is the last 4 bytes of an 8-byte field's alignment
 *   skip, at 4 mod 8.  The 4 bytes after it are alignment padding
 *   (instanceSize = alignUp(hash + 4, 8)).  A hash at 4 mod 8 may have
 *   been put in such a run before larger fields: what follows it keeps its
 *   fields (or its kind@offset names). */
static void mark_padding(const struct hd_layout *L, const struct hd_class *c, uint8_t *role,
			 unsigned size)
{
	if (c->kind != HD_KIND_INSTANCE)
		return;
	if (c->jsuper < 0 && strcmp(c->name, "java.lang.Object") == 0) {
		pad(role, 0, size);
		return;
	}
	unsigned m = c->monitor_off;
	if (L->ref_size == 8 && m >= L->hdr_size && m < size && role[m] == ROLE_MONITOR_START)
		pad(role, m + L->ref_size, size);
	unsigned h = c->idhash_off;
	if (L->hub_idhash >= 0 && !L->hash_appended && h >= L->hdr_size && h % 8 == 0 &&
	    size == h + 8 && role[h] == ROLE_HASH)
		pad(role, h + 4, size);
}

/* The roles of the SIZE bytes of C's instances before any field: header,
 * reference slots (the referent included), identity hash, monitor slot,
 * padding. */
static int class_roles(const struct hd_layout *L, const uint8_t *table, uint32_t table_len,
		       const struct hd_class *c, uint8_t *role, unsigned size)
{
	memset(role, ROLE_FREE, size);
	memset(role, ROLE_TAKEN, L->hdr_size < size ? L->hdr_size : size);
	struct refmap_marks marks = {L, role};
	if (lay_refmap_each(L, table, table_len, c->refmap_idx, size, mark_refs, &marks) != 0) {
		hd_error_context("class %s", c->name);
		return -1;
	}
	if (c->is_reference && L->referent_off >= (int)L->hdr_size &&
	    (unsigned)L->referent_off + L->ref_size <= size &&
	    !memchr(role + L->referent_off, ROLE_REF_START, L->ref_size)) {
		role[L->referent_off] = ROLE_REF_START;
		memset(role + L->referent_off + 1, ROLE_REF, L->ref_size - 1);
	}
	/* A hash that is not whole inside the instance (the optional hash of an
	 * object that grows by it) is no slot of the class. */
	unsigned h = hash_off(L, c);
	bool whole = h >= L->hdr_size && h <= size && size - h >= 4;
	for (unsigned i = h; whole && i < h + 4; i++)
		whole = role[i] == ROLE_FREE;
	for (unsigned i = h; h >= L->hdr_size && i < h + 4 && i < size; i++)
		if (role[i] == ROLE_FREE)
			role[i] = whole ? ROLE_HASH : ROLE_NONE;
	unsigned m = c->monitor_off;
	if (m >= L->hdr_size && m < size && role[m] == ROLE_REF_START) {
		role[m] = ROLE_MONITOR_START;
		memset(role + m + 1, ROLE_MONITOR, L->ref_size - 1);
	}
	mark_padding(L, c, role, size);
	return 0;
}

/* Has C instance bytes that fields describe? */
static bool has_bytes(const struct hd_class *c)
{
	return c->kind == HD_KIND_INSTANCE || c->kind == HD_KIND_HYBRID;
}

/* The role byte I of a slot of kind SLOT has. */
static uint8_t slot_role(uint8_t slot, unsigned i)
{
	if (slot == HD_SLOT_HASH)
		return ROLE_HASH;
	return i ? ROLE_MONITOR : ROLE_MONITOR_START;
}

/* Does a field of TYPE at OFF fit bytes of roles ROLE (SIZE of them)?  A
 * reference exactly on a reference slot, a primitive naturally aligned on
 * free bytes only. */
static bool fits_roles(const struct hd_layout *L, const uint8_t *role, unsigned size, unsigned off,
		       uint8_t type)
{
	unsigned len = field_len(L, type);
	if (!len || off < L->hdr_size || off % len || off > size || len > size - off)
		return false;
	if (type == HD_T_OBJECT)
		return role[off] == ROLE_REF_START;
	for (unsigned i = 0; i < len; i++)
		if (role[off + i] != ROLE_FREE)
			return false;
	return true;
}

/* Does F, a field of a superclass, fit bytes of roles ROLE?  A slot only on
 * the same slot of this class (the subclass has its hash or monitor there
 * too), any other field as fits_roles says. */
static bool fits_field(const struct hd_layout *L, const uint8_t *role, unsigned size,
		       const struct hd_field *f)
{
	if (f->slot == HD_SLOT_NONE)
		return fits_roles(L, role, size, f->offset, f->type);
	unsigned len = field_len(L, f->type);
	if (f->offset > size || len > size - f->offset)
		return false;
	for (unsigned i = 0; i < len; i++)
		if (role[f->offset + i] != slot_role(f->slot, i))
			return false;
	return true;
}

/* ---- Facts by class -------------------------------------------------- */

struct keyed {
	uint32_t cls, offset, idx; /* for statics: OFFSET is the name index */
};

/* The instance-field facts of FF by class and offset, and their fate.  A
 * group is the facts of one class at one offset (sources that agree). */
struct factset {
	const struct hd_field_facts *ff;
	uint32_t *order;  /* fact indexes by class, then offset */
	size_t *first;    /* class k's: order[first[k] .. first[k+1]) */
	uint8_t *type;    /* per fact: its group's type, 0 until known */
	bool *drop;       /* per fact */
	bool *verified;   /* per fact: checked against a class with instances */
	bool *kept;       /* per fact: named a field */
	size_t max_class_facts; /* of any class */
	struct keyed *statics; /* static-field facts: class, name index; sorted */
	size_t nstatics;
};

struct apply {
	struct hd_classes *t;
	const struct hd_layout *L;
	const uint8_t *table;
	uint32_t table_len;
	struct factset fs;
	uint8_t *state;
	uint8_t **nofield; /* per class: NULL, or a flag per instance byte that no field
			      this class declares or inherits lies there */
	bool *complete;    /* per class settled: it and its ancestors up to the nearest
			      with instances have every field named (padding_if_complete) */
	struct hd_naming_stats *stats;
	uint64_t work;     /* steps spent checking facts (CHECK_BUDGET) */
};

/* Spends COST steps; false once the budget is gone. */
static bool spend(struct apply *x, uint64_t cost)
{
	x->work += cost;
	return x->work <= CHECK_BUDGET;
}

static int check_interrupted(void)
{
	if (hd_interrupted())
		return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
	return 0;
}

/* The roles of C's instance bytes (class_roles) in a new buffer, NULL on
 * error. */
static uint8_t *roles_of(const struct apply *x, const struct hd_class *c)
{
	uint8_t *role = malloc(c->fixed_size + 1);
	if (!role)
		hd_fail(HD_E_INTERNAL, "out of memory");
	else if (class_roles(x->L, x->table, x->table_len, c, role, c->fixed_size) != 0) {
		free(role);
		return NULL;
	}
	return role;
}

static const struct hd_field_fact *fact(const struct factset *fs, size_t i)
{
	return &fs->ff->v[fs->order[i]];
}

/* End of the group that starts at order position I (within END). */
static size_t group_end(const struct factset *fs, size_t i, size_t end)
{
	size_t j = i + 1;
	while (j < end && fact(fs, j)->offset == fact(fs, i)->offset)
		j++;
	return j;
}

/* The next group of class K's facts at or after order position *I that is
 * not dropped: [*I, *J).  False past the last. */
static bool next_live_group(const struct factset *fs, size_t k, size_t *i, size_t *j)
{
	size_t end = fs->first[k + 1];
	for (; *i < end; *i = *j) {
		*j = group_end(fs, *i, end);
		if (!fs->drop[fs->order[*i]])
			return true;
	}
	return false;
}

static void drop_group(struct factset *fs, size_t i, size_t j)
{
	for (; i < j; i++)
		fs->drop[fs->order[i]] = true;
}

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	if (x->cls != y->cls)
		return (x->cls > y->cls) - (x->cls < y->cls);
	if (x->offset != y->offset)
		return (x->offset > y->offset) - (x->offset < y->offset);
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static void factset_free(struct factset *fs)
{
	free(fs->order);
	free(fs->first);
	free(fs->type);
	free(fs->drop);
	free(fs->verified);
	free(fs->kept);
	free(fs->statics);
}

/* Sorts FF's instance-field facts by class and offset; a fact of no class
 * with instance fields is dropped at once. */
static int factset_build(struct factset *fs, const struct hd_classes *t,
			 const struct hd_field_facts *ff)
{
	memset(fs, 0, sizeof *fs);
	fs->ff = ff;
	size_t n = ff->n ? ff->n : 1;
	struct keyed *k = malloc(n * sizeof *k);
	fs->order = malloc(n * sizeof *fs->order);
	fs->first = calloc(t->n + 1, sizeof *fs->first);
	fs->type = calloc(n, 1);
	fs->drop = calloc(n, sizeof *fs->drop);
	fs->verified = calloc(n, sizeof *fs->verified);
	fs->kept = calloc(n, sizeof *fs->kept);
	fs->statics = malloc(n * sizeof *fs->statics);
	if (!k || !fs->order || !fs->first || !fs->type || !fs->drop || !fs->verified || !fs->kept ||
	    !fs->statics) {
		free(k);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	size_t nk = 0;
	for (size_t i = 0; i < ff->n; i++) {
		const struct hd_field_fact *f = &ff->v[i];
		const struct hd_class *c = classes_find(t, f->hub);
		if (f->is_static && c)
			fs->statics[fs->nstatics++] = (struct keyed){(uint32_t)(c - t->v), f->name, 0};
		if (f->is_static)
			continue;
		bool arraylike = c && (c->kind == HD_KIND_OBJ_ARRAY || c->kind == HD_KIND_PRIM_ARRAY);
		uint8_t type = f->type;
		if (!c || arraylike || (type != 0 && !is_type(type)) || f->name >= ff->names.n ||
		    f->source >= HD_SRC_COUNT) {
			fs->drop[i] = true;
			continue;
		}
		fs->type[i] = type;
		k[nk++] = (struct keyed){(uint32_t)(c - t->v), f->offset, (uint32_t)i};
	}
	qsort(k, nk, sizeof *k, cmp_keyed);
	qsort(fs->statics, fs->nstatics, sizeof *fs->statics, cmp_keyed);
	for (size_t i = 0; i < nk; i++) {
		fs->order[i] = k[i].idx;
		fs->first[k[i].cls + 1]++;
	}
	for (size_t c = 0; c < t->n; c++) {
		if (fs->first[c + 1] > fs->max_class_facts)
			fs->max_class_facts = fs->first[c + 1];
		fs->first[c + 1] += fs->first[c];
	}
	free(k);
	return 0;
}

/* Within each class: the sources must agree on the name and type at an
 * offset, and a name must not stand at two offsets; else the name goes. */
static void check_agreement(struct apply *x)
{
	struct factset *fs = &x->fs;
	for (size_t c = 0; c < x->t->n; c++) {
		size_t end = fs->first[c + 1], n = end - fs->first[c];
		if (n > MAX_CLASS_FACTS || !spend(x, (uint64_t)n * n)) {
			drop_group(fs, fs->first[c], end);
			continue;
		}
		for (size_t i = fs->first[c], j; i < end; i = j) {
			j = group_end(fs, i, end);
			uint8_t type = 0;
			bool agree = true;
			for (size_t m = i; m < j; m++) {
				const struct hd_field_fact *f = fact(fs, m);
				agree = agree && f->name == fact(fs, i)->name &&
					(!f->type || !type || f->type == type);
				if (f->type)
					type = f->type;
			}
			for (size_t m = i; m < j; m++)
				fs->type[fs->order[m]] = type;
			if (!agree)
				drop_group(fs, i, j);
		}
		for (size_t i = fs->first[c]; i < end; i++)
			for (size_t m = i + 1; m < end; m++)
				if (fact(fs, m)->offset != fact(fs, i)->offset &&
				    fact(fs, m)->name == fact(fs, i)->name) {
					fs->drop[fs->order[i]] = true;
					fs->drop[fs->order[m]] = true;
				}
	}
}

/* Checks the facts of class A against the bytes of instances of its
 * subclass (or itself) C, whose roles are ROLE: a fact that does not fit
 * is dropped; a fact of no type on a reference slot is a reference. */
static void check_in(struct factset *fs, const struct hd_layout *L, size_t a, const uint8_t *role,
		     unsigned size)
{
	for (size_t i = fs->first[a], j = i; next_live_group(fs, a, &i, &j); i = j) {
		uint32_t first = fs->order[i];
		unsigned off = fact(fs, i)->offset;
		uint8_t type = fs->type[first];
		if (!type && off < size && role[off] == ROLE_REF_START)
			type = HD_T_OBJECT;
		bool ok = type && fits_roles(L, role, size, off, type);
		for (size_t m = i; m < j; m++) {
			fs->type[fs->order[m]] = type;
			fs->verified[fs->order[m]] = true;
			fs->drop[fs->order[m]] = !ok;
		}
	}
}

/* Drops the facts of class A in bytes its nearest ancestor with instances
 * keeps for references: those belong to that ancestor or above. */
static int check_not_inherited(struct apply *x, size_t a)
{
	const struct hd_classes *t = x->t;
	int32_t p = t->v[a].jsuper;
	for (int depth = 0; p >= 0 && depth < HD_CLASS_MAX_DEPTH; p = t->v[p].jsuper, depth++)
		if (t->v[p].kind == HD_KIND_INSTANCE || t->v[p].kind == HD_KIND_HYBRID)
			break;
	if (p < 0 || t->v[p].jsuper < 0)
		return 0;
	unsigned size = t->v[p].fixed_size;
	uint8_t *role = roles_of(x, &t->v[p]);
	if (!role)
		return -1;
	struct factset *fs = &x->fs;
	for (size_t i = fs->first[a]; i < fs->first[a + 1]; i++) {
		uint32_t f = fs->order[i];
		unsigned off = fs->ff->v[f].offset, len = field_len(x->L, fs->type[f]);
		for (unsigned b = off; !fs->drop[f] && b < off + len && b < size; b++)
			if (role[b] == ROLE_REF_START || role[b] == ROLE_REF)
				fs->drop[f] = true;
	}
	free(role);
	return 0;
}

/* Two named fields of one class that overlap: neither name stands. */
static void check_overlaps(struct factset *fs, const struct hd_layout *L, size_t a)
{
	size_t end = fs->first[a + 1], prev = SIZE_MAX;
	unsigned prev_end = 0;
	for (size_t i = fs->first[a], j = i; next_live_group(fs, a, &i, &j); i = j) {
		uint32_t f = fs->order[i];
		unsigned off = fs->ff->v[f].offset;
		if (prev != SIZE_MAX && off < prev_end) {
			drop_group(fs, i, j);
			drop_group(fs, prev, group_end(fs, prev, end));
		}
		if (prev == SIZE_MAX || off + field_len(L, fs->type[f]) > prev_end) {
			prev = i;
			prev_end = off + field_len(L, fs->type[f]);
		}
	}
}

/* Does a surviving fact of class A overlap [OFF, OFF+LEN)? */
static bool group_overlaps(const struct apply *x, size_t a, unsigned off, unsigned len)
{
	const struct factset *fs = &x->fs;
	for (size_t i = fs->first[a], j = i; next_live_group(fs, a, &i, &j); i = j) {
		uint32_t f = fs->order[i];
		unsigned o = fs->ff->v[f].offset;
		if (o < off + len && off < o + field_len(x->L, fs->type[f]))
			return true;
	}
	return false;
}

/* A fact of class K on the bytes of a name of one of its superclasses: the
 * superclass declares the field there, K's name goes. */
static void check_ancestors(struct apply *x, size_t k)
{
	struct factset *fs = &x->fs;
	const struct hd_classes *t = x->t;
	for (size_t i = fs->first[k], j = i; next_live_group(fs, k, &i, &j); i = j) {
		uint32_t f = fs->order[i];
		unsigned off = fs->ff->v[f].offset, len = field_len(x->L, fs->type[f]);
		for (int32_t a = t->v[k].jsuper, depth = 0; a >= 0 && depth < HD_CLASS_MAX_DEPTH;
		     a = t->v[a].jsuper, depth++)
			if (!spend(x, fs->first[a + 1] - fs->first[a] + 1) ||
			    group_overlaps(x, (size_t)a, off, len)) {
				drop_group(fs, i, j);
				break;
			}
	}
}

/* Keeps the facts that fit: see classes_apply_facts. */
static int validate(struct apply *x)
{
	struct hd_classes *t = x->t;
	struct factset *fs = &x->fs;
	check_agreement(x);
	for (size_t k = 0; k < t->n; k++) {
		const struct hd_class *c = &t->v[k];
		if (!has_bytes(c))
			continue;
		uint8_t *role = check_interrupted() == 0 ? roles_of(x, c) : NULL;
		if (!role)
			return -1;
		for (int32_t s = (int32_t)k, depth = 0; s >= 0 && depth < HD_CLASS_MAX_DEPTH;
		     s = t->v[s].jsuper, depth++) {
			size_t n = fs->first[s + 1] - fs->first[s];
			if (spend(x, n + c->fixed_size / 8 + 1))
				check_in(fs, x->L, (size_t)s, role, c->fixed_size);
			else
				drop_group(fs, fs->first[s], fs->first[s + 1]);
		}
		free(role);
	}
	for (size_t k = 0; k < t->n; k++) {
		if (fs->first[k] == fs->first[k + 1])
			continue;
		/* Untried (no class with instances has these bytes) or untyped. */
		for (size_t i = fs->first[k]; i < fs->first[k + 1]; i++) {
			uint32_t f = fs->order[i];
			if (!fs->verified[f] || !fs->type[f])
				fs->drop[f] = true;
		}
		if (check_not_inherited(x, k) != 0)
			return -1;
		check_overlaps(fs, x->L, k);
	}
	for (size_t k = 0; k < t->n; k++)
		check_ancestors(x, k);
	return 0;
}

/* ---- Slots that are not inherited ------------------------------------- */

/* Past this size a class's own slots are not looked for. */
#define MAX_NOFIELD_BYTES 65536

/* Flags in BELOW the bytes of class K's surviving facts. */
static void mark_fact_bytes(const struct apply *x, size_t k, uint8_t *below, unsigned size)
{
	const struct factset *fs = &x->fs;
	for (size_t i = fs->first[k]; i < fs->first[k + 1]; i++) {
		uint32_t f = fs->order[i];
		unsigned off = fs->ff->v[f].offset, len = field_len(x->L, fs->type[f]);
		for (unsigned b = off; !fs->drop[f] && b < off + len && b < size; b++)
			below[b] = 1;
	}
}

/* Flags in NOFIELD the LEN bytes at AT of A's slot (roles RA) unless its
 * subclass D (roles RD, DSIZE bytes) has the same slot there. */
static void mark_slot_gone(uint8_t *nofield, const uint8_t *ra, const uint8_t *rd, unsigned dsize,
			   unsigned at, unsigned len)
{
	if (at > dsize || len > dsize - at || memcmp(ra + at, rd + at, len) != 0)
		memset(nofield + at, 1, len);
}

/* Flags the bytes of A that hold no field its subclass D inherits: where A
 * has a reference slot D has none, where A has a free byte D has something
 * else (a reference, its hash) or a name of its own or of a class between
 * them, A's hash or monitor slot where D has not the same slot.  Those are
 * A's own (padding, or a slot whose bytes D reuses): no field of A is put
 * there, so that A can stay D's HPROF super.  A slot D reuses is left out
 * of A's fields, its value unwritten: HPROF has no field a subclass does not
 * inherit. */
static int mark_nofield(struct apply *x, size_t a, const uint8_t *rd, const uint8_t *below,
			unsigned dsize)
{
	const struct hd_class *A = &x->t->v[a];
	const struct hd_layout *L = x->L;
	unsigned size = A->fixed_size;
	uint8_t *ra = roles_of(x, A);
	if (!ra)
		return -1;
	int rc = 0;
	for (unsigned b = L->hdr_size; b < size; b++) {
		bool gone = ra[b] == ROLE_REF_START ? b >= dsize || rd[b] != ROLE_REF_START
			  : ra[b] == ROLE_FREE	    ? b >= dsize || rd[b] != ROLE_FREE || below[b]
						    : false;
		if (!gone)
			continue;
		if (!x->nofield[a] && !(x->nofield[a] = calloc(size, 1))) {
			rc = hd_fail(HD_E_INTERNAL, "out of memory");
			break;
		}
		unsigned len = ra[b] == ROLE_REF_START ? L->ref_size : 1;
		memset(x->nofield[a] + b, 1, len);
	}
	unsigned h = hash_off(L, A), m = A->monitor_off;
	bool has_hash = h < size && ra[h] == ROLE_HASH;
	bool has_monitor = m < size && ra[m] == ROLE_MONITOR_START;
	if (rc == 0 && (has_hash || has_monitor) && !x->nofield[a] &&
	    !(x->nofield[a] = calloc(size, 1)))
		rc = hd_fail(HD_E_INTERNAL, "out of memory");
	if (rc == 0 && has_hash)
		mark_slot_gone(x->nofield[a], ra, rd, dsize, h, 4);
	if (rc == 0 && has_monitor)
		mark_slot_gone(x->nofield[a], ra, rd, dsize, m, L->ref_size);
	free(ra);
	return rc;
}

/* mark_nofield for every class with instances against its ancestors. */
static int find_nofield(struct apply *x)
{
	const struct hd_classes *t = x->t;
	for (size_t d = 0; d < t->n; d++) {
		const struct hd_class *D = &t->v[d];
		if (!has_bytes(D))
			continue;
		uint8_t *rd = check_interrupted() == 0 ? roles_of(x, D) : NULL;
		uint8_t *below = calloc(D->fixed_size + 1, 1);
		int rc = rd && below ? 0 : -1;
		if (rd && !below)
			hd_fail(HD_E_INTERNAL, "out of memory");
		if (rc == 0)
			mark_fact_bytes(x, d, below, D->fixed_size);
		for (int32_t a = D->jsuper, depth = 0; rc == 0 && a >= 0 && depth < HD_CLASS_MAX_DEPTH;
		     a = t->v[a].jsuper, depth++) {
			if (has_bytes(&t->v[a]) && t->v[a].fixed_size <= MAX_NOFIELD_BYTES &&
			    spend(x, t->v[a].fixed_size))
				rc = mark_nofield(x, (size_t)a, rd, below, D->fixed_size);
			mark_fact_bytes(x, (size_t)a, below, D->fixed_size);
		}
		free(rd);
		free(below);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* ---- Settling the fields --------------------------------------------- */

static bool overlaps_field(const struct hd_layout *L, const struct hd_field *f, size_t n,
			   unsigned off, unsigned len, bool named_only)
{
	for (size_t i = 0; i < n; i++)
		if ((!named_only || f[i].named_by) && f[i].offset < off + len &&
		    off < f[i].offset + field_len(L, f[i].type))
			return true;
	return false;
}

/* Can SUPER stand as C's HPROF super?  Its fields must lie on C's bytes
 * as they are: references on reference slots, primitives on free bytes
 * that none of C's own names claims. */
static bool super_fits(const struct hd_layout *L, const struct hd_class *super,
		       const struct field_builder *b)
{
	if (!b->size)
		return true;
	for (size_t i = 0; i < super->nfields; i++) {
		const struct hd_field *f = &super->fields[i];
		unsigned len = field_len(L, f->type);
		if (!fits_field(L, b->role, b->size, f) || memchr(b->claimed + f->offset, 1, len))
			return false;
	}
	return true;
}

static int synthesize(struct field_builder *b, const struct hd_layout *L)
{
	for (unsigned off = L->hdr_size; off < b->size;) {
		int rc = 0;
		if (b->role[off] == ROLE_REF_START) {
			rc = add_unnamed(b, L, off, HD_T_OBJECT, "ref", HD_SLOT_NONE);
			off += L->ref_size;
		} else if (b->role[off] == ROLE_MONITOR_START) {
			rc = add_unnamed(b, L, off, HD_T_OBJECT, "<monitor>", HD_SLOT_MONITOR);
			off += L->ref_size;
		} else if (b->role[off] == ROLE_HASH) {
			rc = add_unnamed(b, L, off, HD_T_INT, "<hash>", HD_SLOT_HASH);
			off += 4;
		} else if (b->role[off] == ROLE_FREE) {
			unsigned len = 1;
			while (off + len < b->size && len < 4 && b->role[off + len] == ROLE_FREE)
				len++;
			/* Largest naturally aligned int/short/byte that fits. */
			unsigned sz = (len >= 4 && off % 4 == 0) ? 4 : (len >= 2 && off % 2 == 0) ? 2 : 1;
			rc = add_unnamed(b, L, off, sz == 4 ? HD_T_INT : sz == 2 ? HD_T_SHORT : HD_T_BYTE,
					 sz == 4 ? "i32" : sz == 2 ? "i16" : "i8", HD_SLOT_NONE);
			off += sz;
		} else {
			off++;
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* The names of C's Java superclass that its HPROF super lacks (an ancestor
 * was skipped), where they fit: C lists them as its own. */
static int keep_skipped_names(struct field_builder *b, const struct hd_layout *L,
			      const struct hd_class *jsuper, size_t inherited)
{
	for (size_t i = 0; jsuper && i < jsuper->nfields; i++) {
		const struct hd_field *f = &jsuper->fields[i];
		unsigned len = field_len(L, f->type);
		if (!f->named_by || overlaps_field(L, b->f, inherited, f->offset, len, false) ||
		    (b->size && (!fits_field(L, b->role, b->size, f) ||
				 memchr(b->claimed + f->offset, 1, len))))
			continue;
		if (add_field(b, L, *f) != 0)
			return -1;
	}
	return 0;
}

static bool has_static(const struct factset *fs, uint32_t cls, uint32_t name)
{
	struct keyed key = {cls, name, 0};
	size_t lo = 0, hi = fs->nstatics;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct keyed *m = &fs->statics[mid];
		if (m->cls < cls || (m->cls == cls && m->offset < name))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < fs->nstatics && fs->statics[lo].cls == key.cls && fs->statics[lo].offset == name;
}

/* Is A on C's chain of HPROF supers (C inherits its fields)? */
static bool hprof_ancestor(const struct hd_classes *t, size_t k, int32_t a)
{
	for (int32_t s = t->v[k].super, depth = 0; s >= 0 && depth < HD_CLASS_MAX_DEPTH;
	     s = t->v[s].super, depth++)
		if (s == a)
			return true;
	return false;
}

/* Are the bytes of C's ancestors all accounted for in C: each ancestor
 * without instances up to the nearest one with them complete, and that one
 * among C's HPROF supers (its fields, synthetic ones included, are C's,
 * through the complete abstract classes between them)?  An ancestor
 * without instances has no synthetic fields: a field of it nobody named
 * would otherwise pass for C's padding. */
static bool ancestors_complete(const struct apply *x, size_t k)
{
	const struct hd_classes *t = x->t;
	for (int32_t a = t->v[k].jsuper, depth = 0; a >= 0 && depth < HD_CLASS_MAX_DEPTH;
	     a = t->v[a].jsuper, depth++) {
		/* Object's bytes are its hash slot and padding (mark_padding),
		 * whether or not it has a field for the hash. */
		if (t->v[a].jsuper < 0 && strcmp(t->v[a].name, "java.lang.Object") == 0)
			return true;
		if (has_bytes(&t->v[a]))
			return hprof_ancestor(t, k, a);
		if (!x->complete[a])
			return false;
	}
	return false;
}

/* A name list holds every field of C that has storage (fieldfacts.h).  When
 * each of its names is one of C's named fields or a static field, and the
 * ancestors' bytes are accounted for, C is complete; with no reference slot
 * left unnamed, the bytes left are padding: no synthetic field is made for
 * them. */
static void padding_if_complete(struct apply *x, struct field_builder *b, size_t k,
				size_t inherited)
{
	const struct factset *fs = &x->fs;
	const struct hd_name_list *l = ff_list_of(fs->ff, x->t->v[k].hub);
	if (!l || !ancestors_complete(x, k))
		return;
	for (uint32_t i = 0; i < l->n; i++) {
		uint32_t name = fs->ff->list_names[l->first + i];
		bool placed = has_static(fs, (uint32_t)k, name);
		for (size_t f = inherited; f < b->n && !placed; f++)
			placed = b->f[f].named_by &&
				 strcmp(x->t->names.v[b->f[f].name], ff_name(fs->ff, name)) == 0;
		if (!placed)
			return;
	}
	x->complete[k] = true;
	if (!b->size || memchr(b->role, ROLE_REF_START, b->size))
		return;
	for (unsigned i = 0; i < b->size; i++)
		if (b->role[i] == ROLE_FREE)
			b->role[i] = ROLE_NONE;
}

/* With the sequential layout (hd_field_facts.sequential_layout), the
 * bytes below the end of a superclass's fields are its and its
 * superclasses': where the nearest complete superclass is among C's HPROF
 * supers (so its fields, and its superclasses' synthetic ones, are C's),
 * the bytes no field holds below the end of its fields are padding, even
 * when C's own list is not all placed. */
static void padding_below_complete_super(struct apply *x, struct field_builder *b, size_t k)
{
	const struct hd_classes *t = x->t;
	if (!x->fs.ff->sequential_layout || !b->size)
		return;
	int32_t a = t->v[k].jsuper;
	for (int depth = 0; a >= 0 && !x->complete[a] && depth < HD_CLASS_MAX_DEPTH; depth++)
		a = t->v[a].jsuper;
	if (a < 0 || !x->complete[a] || !hprof_ancestor(t, k, a))
		return;
	unsigned end = 0;
	for (size_t i = 0; i < t->v[a].nfields; i++) {
		const struct hd_field *f = &t->v[a].fields[i];
		if (f->slot == HD_SLOT_NONE && f->offset + field_len(x->L, f->type) > end)
			end = f->offset + field_len(x->L, f->type);
	}
	for (unsigned i = 0; i < end && i < b->size; i++)
		if (b->role[i] == ROLE_FREE)
			b->role[i] = ROLE_NONE;
}

/* C's own named fields: the groups of facts that survived validation and
 * still fit after the inherited fields. */
static int add_named(struct apply *x, struct field_builder *b, size_t k)
{
	struct factset *fs = &x->fs;
	for (size_t i = fs->first[k], j = i; next_live_group(fs, k, &i, &j); i = j) {
		uint32_t f = fs->order[i];
		unsigned off = fs->ff->v[f].offset;
		uint8_t type = fs->type[f];
		bool fits = b->size ? fits_roles(x->L, b->role, b->size, off, type)
				    : !overlaps_field(x->L, b->f, b->n, off, field_len(x->L, type), false);
		if (!fits) {
			drop_group(fs, i, j);
			continue;
		}
		uint8_t named_by = 0;
		for (size_t m = i; m < j; m++) {
			named_by |= (uint8_t)(1u << fact(fs, m)->source);
			fs->kept[fs->order[m]] = true;
		}
		uint32_t idx;
		if (strintern_add(&x->t->names, ff_name(fs->ff, fs->ff->v[f].name), &idx) != 0 ||
		    add_field(b, x->L, (struct hd_field){.offset = off, .type = type,
							 .named_by = named_by, .name = idx}) != 0)
			return -1;
	}
	return 0;
}

/* C's own groups that lie on a name its Java superclass has: the bytes are
 * inherited, the name goes. */
static void claim_own(struct apply *x, struct field_builder *b, size_t k,
		      const struct hd_class *jsuper)
{
	struct factset *fs = &x->fs;
	for (size_t i = fs->first[k]; i < fs->first[k + 1]; i++) {
		uint32_t f = fs->order[i];
		unsigned off = fs->ff->v[f].offset, len = field_len(x->L, fs->type[f]);
		if (fs->drop[f])
			continue;
		if (jsuper && overlaps_field(x->L, jsuper->fields, jsuper->nfields, off, len, true))
			fs->drop[f] = true;
		else if (b->size && off <= b->size && len <= b->size - off)
			memset(b->claimed + off, 1, len);
	}
}

static int finish_class(struct hd_class *c, struct field_builder *b, size_t inherited)
{
	c->own = malloc((b->n - inherited + 1) * sizeof *c->own);
	if (!c->own)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	c->nown = b->n - inherited;
	if (c->nown)
		memcpy(c->own, b->f + inherited, c->nown * sizeof *c->own);
	if (b->n)
		qsort(b->f, b->n, sizeof *b->f, cmp_field);
	c->fields = b->f;
	c->nfields = b->n;
	b->f = NULL;
	c->named_by = 0;
	c->all_named = c->nfields > 0;
	for (size_t i = 0; i < c->nfields; i++) {
		if (!c->fields[i].slot)
			c->named_by |= c->fields[i].named_by;
		c->all_named = c->all_named && c->fields[i].named_by;
	}
	return 0;
}

static int settle_fields(struct apply *x, size_t k, struct field_builder *b)
{
	struct hd_classes *t = x->t;
	const struct hd_layout *L = x->L;
	struct hd_class *c = &t->v[k];
	const struct hd_class *jsuper = c->jsuper >= 0 ? &t->v[c->jsuper] : NULL;
	if (b->size && class_roles(L, x->table, x->table_len, c, b->role, b->size) != 0)
		return -1;
	for (unsigned i = 0; x->nofield[k] && i < b->size; i++)
		if (x->nofield[k][i])
			b->role[i] = ROLE_NONE;
	claim_own(x, b, k, jsuper);
	int32_t s = c->jsuper;
	for (int depth = 0; s >= 0 && depth < HD_CLASS_MAX_DEPTH && !super_fits(L, &t->v[s], b); depth++)
		s = t->v[s].jsuper;
	c->super = s;
	if (s != c->jsuper)
		x->stats->super_skips++;
	const struct hd_class *sup = s >= 0 ? &t->v[s] : NULL;
	for (size_t i = 0; sup && i < sup->nfields; i++) {
		const struct hd_field *f = &sup->fields[i];
		if (add_field(b, L, *f) != 0)
			return -1;
	}
	size_t inherited = b->n;
	if (sup != jsuper && keep_skipped_names(b, L, jsuper, inherited) != 0)
		return -1;
	if (add_named(x, b, k) != 0)
		return -1;
	padding_if_complete(x, b, k, inherited);
	padding_below_complete_super(x, b, k);
	if (b->size && synthesize(b, L) != 0)
		return -1;
	return finish_class(c, b, inherited);
}

/* Settles C's fields after its superclasses'.  HPROF inherits fields along
 * the superclass chain, so C's HPROF super is its Java superclass when that
 * class's fields fit C's bytes (a subclass field placed in a superclass gap
 * can break that, then the nearest ancestor that fits), and C adds its own
 * names and a synthetic field for every byte nobody names. */
static int settle(struct apply *x, size_t k)
{
	struct hd_classes *t = x->t;
	struct hd_class *c = &t->v[k];
	if (x->state[k] == 2)
		return 0;
	if (x->state[k] == 1)
		return hd_fail(HD_E_LAYOUT, "superclass cycle at %s", c->name);
	x->state[k] = 1;
	for (int32_t s = c->jsuper, depth = 0; s >= 0; s = t->v[s].jsuper, depth++) {
		if (depth > 1024)
			return hd_fail(HD_E_LAYOUT, "superclass chain too long at %s", c->name);
		if (settle(x, (size_t)s) != 0)
			return -1;
	}
	struct field_builder b = {.t = t, .size = has_bytes(c) ? c->fixed_size : 0};
	b.role = malloc(b.size + 1);
	b.claimed = calloc(b.size + 1, 1);
	int rc = b.role && b.claimed ? settle_fields(x, k, &b) : hd_fail(HD_E_INTERNAL, "out of memory");
	free(b.role);
	free(b.claimed);
	free(b.f);
	if (rc != 0) {
		hd_error_context("class %s", c->name);
		return -1;
	}
	x->state[k] = 2;
	return 0;
}

static void count_facts(const struct apply *x)
{
	const struct factset *fs = &x->fs;
	struct hd_naming_stats *st = x->stats;
	for (size_t i = 0; i < fs->ff->n; i++) {
		const struct hd_field_fact *f = &fs->ff->v[i];
		if (f->is_static || f->source >= HD_SRC_COUNT)
			continue;
		if (fs->kept[i])
			st->facts_kept[f->source]++;
		else
			st->facts_dropped[f->source]++;
	}
	for (size_t k = 0; k < x->t->n; k++) {
		const struct hd_class *c = &x->t->v[k];
		uint8_t own = 0;
		for (size_t i = 0; i < c->nown; i++)
			if (!c->own[i].slot)
				own |= c->own[i].named_by;
		for (unsigned s = 0; s < HD_SRC_COUNT; s++)
			st->classes_named[s] += (own >> s) & 1;
	}
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
	c->monitor_off = (uint16_t)lay_hub_monitor_off(L, raw);
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
		for (int32_t s = (int32_t)i, depth = 0; s >= 0 && depth < HD_CLASS_MAX_DEPTH;
		     s = t->v[s].jsuper, depth++)
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
	memset(stats, 0, sizeof *stats);
	struct apply x = {.t = t, .L = L, .table_len = L->refmap_len, .stats = stats};
	uint8_t *table = malloc(L->refmap_len ? L->refmap_len : 1);
	x.table = table;
	x.state = calloc(t->n ? t->n : 1, 1);
	x.nofield = calloc(t->n ? t->n : 1, sizeof *x.nofield);
	x.complete = calloc(t->n ? t->n : 1, sizeof *x.complete);
	int rc = -1;
	if (!table || !x.state || !x.nofield || !x.complete) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		goto out;
	}
	if (lay_read_image(mv, L->refmap_data, table, L->refmap_len, "the reference-map table") != 0 ||
	    factset_build(&x.fs, t, ff) != 0 || validate(&x) != 0 || find_nofield(&x) != 0)
		goto out;
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].fields);
		free(t->v[i].own);
		t->v[i].fields = t->v[i].own = NULL;
		t->v[i].nfields = t->v[i].nown = 0;
	}
	for (size_t i = 0; i < t->n; i++)
		if (settle(&x, i) != 0)
			goto out;
	count_facts(&x);
	rc = 0;
out:
	factset_free(&x.fs);
	for (size_t i = 0; x.nofield && i < t->n; i++)
		free(x.nofield[i]);
	free(x.nofield);
	free(x.complete);
	free(table);
	free(x.state);
	return rc;
}

static int layout_fact(struct hd_field_facts *ff, uint64_t hub, int off, uint8_t type,
		       const char *name)
{
	if (off < 0)
		return 0;
	struct hd_field_fact f = {.hub = hub, .offset = (uint32_t)off, .type = type,
				  .source = HD_SRC_LAYOUT};
	return ff_add(ff, &f, name);
}

/* The boxed primitives' value: the first naturally aligned slot of its
 * size past the header that is not the identity hash. */
static int boxed_fact(struct hd_field_facts *ff, const struct hd_layout *L, const struct hd_class *c)
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
	for (size_t i = 0; i < sizeof boxes / sizeof boxes[0]; i++) {
		if (strcmp(c->name, boxes[i].name) != 0 || c->kind != HD_KIND_INSTANCE)
			continue;
		unsigned sz = hd_type_size(boxes[i].type);
		unsigned idh = L->hub_idhash >= 0 ? c->idhash_off : L->idhash_fixed_off;
		for (unsigned off = L->hdr_size; off + sz <= c->fixed_size; off += sz)
			if (!(off < idh + 4 && off + sz > idh))
				return layout_fact(ff, c->hub, (int)off, boxes[i].type, "value");
	}
	return 0;
}

int classes_layout_facts(const struct hd_classes *t, const struct hd_layout *L,
			 struct hd_field_facts *ff)
{
	if (layout_fact(ff, L->string_hub, (int)L->str_value, HD_T_OBJECT, "value") != 0 ||
	    layout_fact(ff, L->string_hub, L->str_coder, HD_T_BYTE, "coder") != 0 ||
	    layout_fact(ff, L->string_hub, L->str_hash, HD_T_INT, "hash") != 0)
		return -1;
	const struct hd_class *reference = classes_named(t, "java.lang.ref.Reference");
	if (reference && layout_fact(ff, reference->hub, L->referent_off, HD_T_OBJECT, "referent") != 0)
		return -1;
	for (size_t k = 0; k < t->n; k++)
		if (boxed_fact(ff, L, &t->v[k]) != 0)
			return -1;
	return 0;
}

void classes_free(struct hd_classes *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].fields);
		free(t->v[i].own);
	}
	strintern_free(&t->names);
	free(t->v);
	free(t->slots);
	memset(t, 0, sizeof *t);
}

int classes_index(struct hd_classes *t)
{
	free(t->slots);
	return build_index(t);
}
