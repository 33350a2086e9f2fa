#include "livecheck.h"

#include "../../hprof/hprof.h"
#include "../../symbols/layout.h"
#include "hprofparse.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

bool lc_is_filler(const struct sl_live *t, const struct sh_object *o)
{
	return strcmp(t->h.classes[o->cls].name, "com.oracle.svm.core.heap.FillerObject") == 0;
}

static int cmp_addr(const void *key, const void *obj)
{
	uint64_t a = *(const uint64_t *)key, o = ((const struct sh_object *)obj)->addr;
	return (a > o) - (a < o);
}

const struct sh_object *lc_object_at(const struct sl_live *t, uint64_t addr)
{
	return bsearch(&addr, t->objs, t->nobjs, sizeof *t->objs, cmp_addr);
}
struct class_dump {
	uint64_t id, super;
	const uint8_t *fields; /* (name id, type) pairs */
	uint16_t nfields;
};

static const struct class_dump *find_class(const struct class_dump *v, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

/* Parses a CLASS DUMP sub-record at S. */
static struct class_dump class_dump(const uint8_t *s)
{
	struct class_dump d = {.id = hp_id(s + 1), .super = hp_id(s + 13)};
	const uint8_t *p = s + 1 + 8 + 4 + 8 * 6 + 4;
	uint16_t cp = hp_u2(p);
	p += 2;
	for (uint16_t i = 0; i < cp; i++)
		p += 3 + hp_type_size(p[2], 8);
	uint16_t statics = hp_u2(p);
	p += 2;
	for (uint16_t i = 0; i < statics; i++)
		p += 9 + hp_type_size(p[8], 8);
	d.nfields = hp_u2(p);
	d.fields = p + 2;
	return d;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Walks the heap-dump sub-records of a parsed file. */
struct sub_cursor {
	const struct hp_file *f;
	size_t rec, pos;
};

static const uint8_t *next_sub(struct sub_cursor *c)
{
	while (c->rec < c->f->nrecs) {
		const struct hp_record *r = &c->f->recs[c->rec];
		if (r->tag == HPROF_HEAP_DUMP_SEGMENT && c->pos < r->len) {
			const uint8_t *s = r->body + c->pos;
			size_t n = hp_sub_len(s, r->len - c->pos, 8);
			cr_assert_gt(n, 0, "bad sub-record 0x%x", s[0]);
			c->pos += n;
			return s;
		}
		c->rec++;
		c->pos = 0;
	}
	return NULL;
}

struct u64_list {
	uint64_t *v;
	size_t n, cap;
};

static void push_u64(struct u64_list *l, uint64_t x)
{
	if (l->n == l->cap) {
		l->cap = 2 * l->cap + 1024;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		cr_assert_not_null(l->v);
	}
	l->v[l->n++] = x;
}

/* The references an object's record holds, into REFS. */
static void record_refs(const uint8_t *s, const struct class_dump *classes, size_t nclasses,
			struct u64_list *refs)
{
	if (s[0] == HPROF_OBJ_ARRAY_DUMP) {
		for (uint32_t k = 0; k < hp_u4(s + 13); k++)
			push_u64(refs, hp_id(s + 25 + 8 * k));
		return;
	}
	if (s[0] != HPROF_INSTANCE_DUMP)
		return;
	/* Values: the class's own fields, then each superclass's. */
	const uint8_t *v = s + 25;
	for (const struct class_dump *k = find_class(classes, nclasses, hp_id(s + 13)); k;
	     k = k->super ? find_class(classes, nclasses, k->super) : NULL) {
		for (uint16_t fi = 0; fi < k->nfields; fi++) {
			uint8_t type = k->fields[9 * fi + 8];
			if (type == HD_T_OBJECT)
				push_u64(refs, hp_id(v));
			v += hp_type_size(type, 8);
		}
	}
	cr_assert_eq(v, s + 25 + hp_u4(s + 21), "values of %#llx", (unsigned long long)hp_id(s + 1));
}

struct lc_dump lc_check_hprof(const struct sl_live *t, const uint8_t *buf, size_t len)
{
	struct lc_dump d = {0};
	const char *name = t->h.p.name;
	struct hp_file f;
	char err[128];
	cr_assert_eq(hp_parse(buf, len, &f, err, sizeof err), 0, "%s: %s", name, err);
	struct class_dump *classes = NULL;
	size_t nclasses = 0;
	struct sub_cursor cur = {&f, 0, 0};
	for (const uint8_t *s; (s = next_sub(&cur));)
		if (s[0] == HPROF_CLASS_DUMP) {
			classes = realloc(classes, (nclasses + 1) * sizeof *classes);
			classes[nclasses++] = class_dump(s);
		}
	struct u64_list ids = {0}, refs = {0};
	cur = (struct sub_cursor){&f, 0, 0};
	for (const uint8_t *s; (s = next_sub(&cur));) {
		if (s[0] == HPROF_ROOT_THREAD_OBJ) {
			cr_assert_lt(d.nthread_objs, SL_THREADS + 1, "%s: too many thread roots", name);
			d.thread_objs[d.nthread_objs++] = hp_id(s + 1);
		}
		if (s[0] < HPROF_INSTANCE_DUMP || s[0] > HPROF_PRIM_ARRAY_DUMP)
			continue;
		uint64_t id = hp_id(s + 1);
		const struct sh_object *o = lc_object_at(t, id);
		cr_assert_not_null(o, "%s: dumped %#llx is no object", name, (unsigned long long)id);
		cr_assert_not(lc_is_filler(t, o), "%s: filler %#llx dumped", name, (unsigned long long)id);
		push_u64(&ids, id);
		record_refs(s, classes, nclasses, &refs);
	}
	qsort(ids.v, ids.n, sizeof *ids.v, cmp_u64);
	for (size_t i = 1; i < ids.n; i++)
		cr_assert_neq(ids.v[i], ids.v[i - 1], "%s: %#llx dumped twice", name,
			      (unsigned long long)ids.v[i]);
	cr_assert_eq(ids.n, t->objects, "%s: %zu objects dumped, want %llu", name, ids.n,
		     (unsigned long long)t->objects);
	for (size_t i = 0; i < refs.n; i++) {
		if (!refs.v[i])
			continue;
		d.refs++;
		cr_assert_not_null(bsearch(&refs.v[i], ids.v, ids.n, sizeof *ids.v, cmp_u64),
				   "%s: reference to %#llx dangles", name, (unsigned long long)refs.v[i]);
	}
	free(classes);
	free(ids.v);
	free(refs.v);
	hp_free(&f);
	return d;
}