/* The heap writer (hprof/heapwrite.c) on synthetic image heaps
 * (synthdump.h), read back with the independent parser (hprofparse.h):
 * every thread count writes the same bytes; fields and array elements carry
 * HPROF's type codes; the first dangling reference reported is the first in
 * chunk order whatever the thread count; a pending SIGINT and a failing
 * sink stop it with their error; every record holds what the generator's
 * ground truth says (objects once, class ids, field values, array elements,
 * roots). */
#include "../../common/hd_error.h"
#include "../../common/interrupt.h"
#include "../../hprof/heapwrite.h"
#include "../../symbols/statics.h"
#include "hprofparse.h"
#include "synthdump.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
	struct hprof_membuf m;
	unsigned calls, fail_at; /* fail_at: 1-based call that fails, 0: none */
	bool ids4;               /* the ids heap_plan_ids chooses (4 bytes here), not 8 */
	struct hprof_ids ids;    /* those written, the caller's to free */
};

static int test_sink(void *ctx, const void *buf, size_t len)
{
	struct sink *s = ctx;
	if (s->fail_at && ++s->calls >= s->fail_at)
		return hd_fail(HD_E_DISK_FULL, "test sink: no space left (call %u)", s->calls);
	return hprof_membuf_sink(&s->m, buf, len);
}

/* Dumps IN into S (segments of at most LIMIT bytes, 0: the default), the
 * writer seeing aligned chunks of CHUNK_SIZE bytes (0: the layout's);
 * returns heap_write_hprof's result. */
static int dump_chunked(const struct hd_dump_input *in, size_t limit, uint64_t chunk_size,
			struct sink *s)
{
	struct hd_census c;
	cr_assert_eq(heap_census(in, &c), 0, "%s", hd_error_message());
	hprof_ids_init8(&s->ids);
	if (s->ids4) {
		cr_assert_eq(heap_plan_ids(in, &c, &s->ids), 0, "%s", hd_error_message());
		cr_assert_eq(s->ids.size, 4, "a synthetic heap's ids fit in 4 bytes");
	}
	hd_hprof *w = hprof_open(test_sink, s, s->ids.size, 1, limit);
	cr_assert_not_null(w);
	struct hd_layout L = *in->L;
	struct hd_dump_input writer_in = *in;
	if (chunk_size) {
		L.chunk_size = chunk_size;
		writer_in.L = &L;
	}
	hd_error_clear();
	int rc = heap_write_hprof(&writer_in, &c, &s->ids, w);
	hprof_free(w);
	census_free(&c);
	return rc;
}

static int dump_input(const struct hd_dump_input *in, size_t limit, struct sink *s)
{
	return dump_chunked(in, limit, 0, s);
}

/* The same for D with THREADS threads. */
static int dump(struct sd_heap *d, unsigned threads, size_t limit, struct sink *s)
{
	struct hd_dump_input in = sd_input(d, threads);
	return dump_input(&in, limit, s);
}

/* Calls FN for every sub-record of F's segments. */
static void each_sub(const struct hp_file *f, void (*fn)(const uint8_t *s, void *ctx), void *ctx)
{
	for (size_t i = 0; i < f->nrecs; i++) {
		const struct hp_record *r = &f->recs[i];
		if (r->tag != HPROF_HEAP_DUMP_SEGMENT)
			continue;
		for (size_t pos = 0; pos < r->len;) {
			size_t len = hp_sub_len(r->body + pos, r->len - pos, f->id_size);
			cr_assert_gt(len, 0, "bad sub-record 0x%x", r->body[pos]);
			fn(r->body + pos, ctx);
			pos += len;
		}
	}
}

static void count_object(const uint8_t *s, void *ctx)
{
	if (s[0] >= HPROF_INSTANCE_DUMP && s[0] <= HPROF_PRIM_ARRAY_DUMP)
		++*(uint64_t *)ctx;
}

/* Twelve passes over the heap's chunks make dozens of jobs, more than any
 * thread count here, so that jobs finish out of order. */
#define REPEAT 12

/* CHUNK_SIZE: the layout's aligned chunk size as the writer sees it (0:
 * the heap's); IDS4: 4-byte ids. */
static void same_bytes_for_every_thread_count(const struct sh_params *p, size_t limit,
					      uint64_t chunk_size, bool ids4)
{
	struct sd_heap d;
	sd_open(&d, p, REPEAT);
	struct hd_dump_input one_in = sd_input(&d, 1);
	struct sink one = {.ids4 = ids4};
	cr_assert_eq(dump_chunked(&one_in, limit, chunk_size, &one), 0, "%s: %s", p->name, hd_error_message());
	struct hp_file f;
	char err[128];
	cr_assert_eq(hp_parse(one.m.p, one.m.len, &f, err, sizeof err), 0, "%s: %s", p->name, err);
	uint64_t objects = 0;
	each_sub(&f, count_object, &objects);
	cr_assert_eq(objects, REPEAT * d.h.objects, "%s", p->name);
	hp_free(&f);
	hprof_ids_free(&one.ids);
	static const unsigned threads[] = {2, 3, 4, 8};
	for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++)
		for (int run = 0; run < 4; run++) {
			struct hd_dump_input in = sd_input(&d, threads[t]);
			struct sink many = {.ids4 = ids4};
			cr_assert_eq(dump_chunked(&in, limit, chunk_size, &many), 0, "%s",
				     hd_error_message());
			cr_assert_eq(many.m.len, one.m.len, "%s: %u threads: %zu bytes, one thread %zu",
				     p->name, threads[t], many.m.len, one.m.len);
			cr_assert_arr_eq(many.m.p, one.m.p, one.m.len, "%s: %u threads, run %d",
					 p->name, threads[t], run);
			free(many.m.p);
			hprof_ids_free(&many.ids);
		}
	free(one.m.p);
	sd_close(&d);
}

Test(heapwrite, every_thread_count_writes_the_same_bytes)
{
	same_bytes_for_every_thread_count(&sh_ce_25, 0, 0, false);
	same_bytes_for_every_thread_count(&sh_oracle_21, 4096, 0, false);
	same_bytes_for_every_thread_count(&sh_ce_25, 0, 0, true);
}

/* ---- Type codes --------------------------------------------------------- */

struct types {
	const struct hp_file *f;
	uint64_t string_class, byte_array_class, int_array_class;
	int value, hash, coder;    /* String's field types as written, -1: not seen */
	bool elements[256];        /* element types of the primitive arrays seen */
};

static const char *utf8(const struct hp_file *f, uint64_t id)
{
	static char name[64];
	for (size_t i = 0; i < f->nrecs; i++) {
		const struct hp_record *r = &f->recs[i];
		if (r->tag == HPROF_UTF8 && hp_id(r->body) == id && r->len - 8 < sizeof name) {
			memcpy(name, r->body + 8, r->len - 8);
			name[r->len - 8] = '\0';
			return name;
		}
	}
	return "";
}

static void record_types(const uint8_t *s, void *ctx)
{
	struct types *t = ctx;
	if (s[0] == HPROF_CLASS_DUMP && hp_id(s + 1) == t->string_class) {
		const uint8_t *p = s + 1 + 8 + 4 + 6 * 8 + 4;
		cr_assert_eq(hp_u2(p), 0);     /* constant pool */
		cr_assert_eq(hp_u2(p + 2), 0); /* statics */
		unsigned n = hp_u2(p + 4);
		p += 6;
		for (unsigned i = 0; i < n; i++, p += 9) {
			const char *name = utf8(t->f, hp_id(p));
			int *slot = strcmp(name, "value") == 0  ? &t->value
				    : strcmp(name, "hash") == 0 ? &t->hash
				    : strcmp(name, "coder") == 0 ? &t->coder
								 : NULL;
			if (slot)
				*slot = p[8];
		}
	}
	if (s[0] == HPROF_PRIM_ARRAY_DUMP) {
		/* id, trace, length, element type: the class is by type only */
		t->elements[s[1 + 8 + 4 + 4]] = true;
	}
}

Test(heapwrite, fields_and_elements_carry_hprof_type_codes)
{
	struct sd_heap d;
	sd_open(&d, &sh_ce_22_3, 1);
	struct sink s = {0};
	cr_assert_eq(dump(&d, 2, 0, &s), 0, "%s", hd_error_message());
	struct hp_file f;
	char err[128];
	cr_assert_eq(hp_parse(s.m.p, s.m.len, &f, err, sizeof err), 0, "%s", err);
	struct types t = {.f = &f, .string_class = hd_class_id(sh_class(&d.h, "java.lang.String")->hub),
			  .value = -1, .hash = -1, .coder = -1};
	each_sub(&f, record_types, &t);
	/* HPROF 1.0.2: 2 object, 5 char, 8 byte, 10 int. */
	cr_assert_eq(t.value, 2);
	cr_assert_eq(t.hash, 10);
	cr_assert_eq(t.coder, 8);
	for (int type = 0; type < 256; type++)
		cr_assert_eq(t.elements[type], type == 8 || type == 10 || (type == 5 && d.h.p.char_array),
			     "arrays of type %d", type);
	hp_free(&f);
	free(s.m.p);
	sd_close(&d);
}

/* ---- Errors ------------------------------------------------------------- */

/* Two Strings whose value points inside themselves: the error counts every
 * pass's and names the first String's, in chunk order, for every thread
 * count.  An executable's image heap never changes: the error is final. */
Test(heapwrite, the_first_dangling_reference_is_the_first_in_chunk_order)
{
	struct sd_heap d;
	sd_open(&d, &sh_oracle_21, 3);
	const struct sh_class *str = sh_class(&d.h, "java.lang.String");
	cr_assert_geq(str->count, 2);
	uint64_t first = sh_nth(&d.h, "java.lang.String", 0)->addr;
	uint64_t last = sh_nth(&d.h, "java.lang.String", str->count - 1)->addr;
	unsigned value = sh_field(&d.h, "java.lang.String", "value");
	sh_put_ref(&d.h, first + value, first + 8);
	sh_put_ref(&d.h, last + value, last + 8);
	char want[160];
	snprintf(want, sizeof want,
		 "6 references do not land on an object start (first: 0x%" PRIx64
		 " in object 0x%" PRIx64 ")",
		 first + 8, first);
	for (unsigned threads = 1; threads <= 4; threads++)
		for (int run = 0; run < 3; run++) {
			struct sink s = {0};
			cr_assert_eq(dump(&d, threads, 0, &s), -1);
			cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", hd_error_message());
			cr_assert_str_eq(hd_error_message(), want, "%u threads", threads);
			free(s.m.p);
		}
	sd_close(&d);
}

/* The same dangling reference read from a live process (or a copy of one):
 * a concurrent mutation explains it, so it is retried, not final. */
Test(heapwrite, a_dangling_reference_in_a_live_heap_is_retryable)
{
	struct sd_heap d;
	sd_open(&d, &sh_ce_25, 1);
	uint64_t first = sh_nth(&d.h, "java.lang.String", 0)->addr;
	sh_put_ref(&d.h, first + sh_field(&d.h, "java.lang.String", "value"), first + 8);
	struct sink fixed = {0};
	cr_assert_eq(dump(&d, 2, 0, &fixed), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", hd_error_message());
	free(fixed.m.p);
	mv_reads_may_tear(d.mv);
	struct sink live = {0};
	cr_assert_eq(dump(&d, 2, 0, &live), -1);
	cr_assert_eq(hd_error_class(), HD_E_INCONSISTENT, "%s", hd_error_message());
	cr_assert_not_null(strstr(hd_error_message(), "do not land on an object start"), "%s",
			   hd_error_message());
	free(live.m.p);
	sd_close(&d);
}

/* A partial dump (a core lacking heap chunks, --partial): the same
 * references are written as null and counted, on every thread count, and
 * the dump succeeds. */
Test(heapwrite, a_partial_dump_nulls_and_counts_references_to_no_object)
{
	struct sd_heap d;
	sd_open(&d, &sh_oracle_21, 3);
	const struct sh_class *str = sh_class(&d.h, "java.lang.String");
	uint64_t first = sh_nth(&d.h, "java.lang.String", 0)->addr;
	uint64_t last = sh_nth(&d.h, "java.lang.String", str->count - 1)->addr;
	unsigned value = sh_field(&d.h, "java.lang.String", "value");
	sh_put_ref(&d.h, first + value, first + 8);
	sh_put_ref(&d.h, last + value, last + 8);
	for (unsigned threads = 1; threads <= 4; threads++) {
		uint64_t missing = 0;
		struct hd_dump_input in = sd_input(&d, threads);
		in.missing_refs = &missing;
		struct sink s = {0};
		cr_assert_eq(dump_input(&in, 0, &s), 0, "%s", hd_error_message());
		cr_assert_eq(missing, 6, "%u threads: every pass's, as the error counts them", threads);
		free(s.m.p);
	}
	sd_close(&d);
}

Test(heapwrite, a_pending_sigint_stops_it)
{
	struct sd_heap d;
	sd_open(&d, &sh_ce_25, REPEAT);
	struct hd_dump_input in = sd_input(&d, 4);
	struct hd_census c;
	cr_assert_eq(heap_census(&in, &c), 0, "%s", hd_error_message());
	hd_install_signal_handlers();
	cr_assert_eq(raise(SIGINT), 0);
	struct sink s = {0};
	hprof_ids_init8(&s.ids);
	hd_hprof *w = hprof_open(test_sink, &s, 8, 1, 0);
	cr_assert_not_null(w);
	cr_assert_eq(heap_write_hprof(&in, &c, &s.ids, w), -1);
	cr_assert_eq(hd_error_class(), HD_E_INTERRUPTED, "%s", hd_error_message());
	hprof_free(w);
	census_free(&c);
	free(s.m.p);
	sd_close(&d);
}

/* The sink fails at its N-th call, for every N the dump makes: the sink's
 * error is the one reported, whichever thread count. */
Test(heapwrite, a_failing_sink_is_reported)
{
	struct sd_heap d;
	sd_open(&d, &sh_ce_25, REPEAT);
	struct sink probe = {0};
	probe.fail_at = UINT32_MAX;
	cr_assert_eq(dump(&d, 1, 4096, &probe), 0, "%s", hd_error_message());
	unsigned calls = probe.calls;
	cr_assert_gt(calls, 2);
	free(probe.m.p);
	for (unsigned threads = 1; threads <= 4; threads += 3)
		for (unsigned n = 1; n <= calls; n += 1 + calls / 16) {
			struct sink s = {.fail_at = n};
			cr_assert_eq(dump(&d, threads, 4096, &s), -1, "call %u", n);
			cr_assert_eq(hd_error_class(), HD_E_DISK_FULL, "call %u: %s", n,
				     hd_error_message());
			free(s.m.p);
		}
	sd_close(&d);
}

/* ---- Every record against the ground truth: every object once, references
 * intact, values as the format defines them ------------------------------- */

static const struct sh_object *object_at(const struct sh_heap *h, uint64_t addr)
{
	size_t lo = 0, hi = h->nobjs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (h->objs[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < h->nobjs && h->objs[lo].addr == addr ? &h->objs[lo] : NULL;
}

/* The INSTANCE DUMP values of OBJ as the format defines them: the class's
 * own fields, then each superclass's; references as IDS's ids, values
 * big-endian. */
static size_t expected_values(const struct hd_classes *t, const struct hd_layout *L,
			      const struct hprof_ids *ids, const struct hd_class *c,
			      const uint8_t *obj, uint8_t *out)
{
	size_t n = 0;
	for (const struct hd_class *k = c; k; k = k->super >= 0 ? &t->v[k->super] : NULL) {
		for (size_t i = 0; i < k->nown; i++) {
			const struct hd_field *f = &k->own[i];
			uint64_t v = 0;
			unsigned size = ids->size;
			if (f->type == HD_T_OBJECT) {
				v = hprof_ids_addr(ids, lay_ref(L, obj + f->offset));
			} else {
				size = hd_type_size(f->type);
				memcpy(&v, obj + f->offset, size);
			}
			for (unsigned b = 0; b < size; b++)
				out[n + b] = (uint8_t)(v >> (8 * (size - 1 - b)));
			n += size;
		}
	}
	return n;
}

/* Where field NAME's value lies in C's INSTANCE DUMP values (ids of ID
 * bytes), or -1. */
static long value_pos(const struct hd_classes *t, const struct hd_class *c, const char *name,
		      unsigned id)
{
	long pos = 0;
	for (const struct hd_class *k = c; k; k = k->super >= 0 ? &t->v[k->super] : NULL) {
		for (size_t i = 0; i < k->nown; i++) {
			if (strcmp(t->names.v[k->own[i].name], name) == 0)
				return pos;
			pos += k->own[i].type == HD_T_OBJECT ? id : hd_type_size(k->own[i].type);
		}
	}
	return -1;
}

/* The addresses of a dump's ids: with 8-byte ids the inverse multiplier;
 * with 4-byte ones a table of the ids of every object and class of the
 * heap, which must all differ. */
struct id_map {
	const struct hprof_ids *ids;
	struct id_pair {
		uint64_t id, addr;
	} *v;
	size_t n;
};

static int by_id(const void *a, const void *b)
{
	const struct id_pair *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

static void id_map_open(struct id_map *m, const struct sh_heap *h, const struct hprof_ids *ids)
{
	*m = (struct id_map){.ids = ids};
	if (ids->size == 8)
		return;
	m->v = malloc((h->nobjs + h->nclasses + 1) * sizeof *m->v);
	cr_assert_not_null(m->v);
	m->v[m->n++] = (struct id_pair){0, 0}; /* null */
	for (size_t i = 0; i < h->nobjs; i++)
		m->v[m->n++] = (struct id_pair){hprof_ids_addr(ids, h->objs[i].addr), h->objs[i].addr};
	for (size_t i = 0; i < h->nclasses; i++)
		m->v[m->n++] = (struct id_pair){hprof_ids_addr(ids, hd_class_id(h->classes[i].hub)),
						hd_class_id(h->classes[i].hub)};
	qsort(m->v, m->n, sizeof *m->v, by_id);
	for (size_t i = 1; i < m->n; i++)
		cr_assert_neq(m->v[i].id, m->v[i - 1].id, "%#llx and %#llx share id %#llx",
			      (unsigned long long)m->v[i - 1].addr, (unsigned long long)m->v[i].addr,
			      (unsigned long long)m->v[i].id);
}

/* The address of the id at P (UINT64_MAX: none of the heap's). */
static uint64_t id_addr(const struct id_map *m, const uint8_t *p)
{
	if (m->ids->size == 8)
		return hp_id(p);
	struct id_pair key = {hp_u4(p), 0};
	const struct id_pair *e = bsearch(&key, m->v, m->n, sizeof *m->v, by_id);
	return e ? e->addr : UINT64_MAX;
}

static void check_dump(const struct sh_params *p, bool ids4)
{
	struct sd_heap r;
	sd_open(&r, p, 1);
	const struct hd_classes *t = &r.classes;
	struct sink out = {.ids4 = ids4};
	cr_assert_eq(dump(&r, 1, 4096, &out), 0, "%s: %s", p->name, hd_error_message());
	struct hprof_membuf m = out.m;
	struct id_map map;
	id_map_open(&map, &r.h, &out.ids);
	const unsigned id = out.ids.size;

	struct hp_file f;
	char err[128];
	cr_assert_eq(hp_parse(m.p, m.len, &f, err, sizeof err), 0, "%s: %s", p->name, err);
	cr_assert_eq(f.id_size, id);
	cr_assert_eq(f.recs[f.nrecs - 1].tag, HPROF_HEAP_DUMP_END);
	uint64_t objects = 0, class_dumps = 0, globals = 0, integers = 0;
	uint8_t *seen = calloc(r.h.nobjs, 1);
	const uint64_t elements = sh_nth(&r.h, "java.util.ArrayList", 0)->addr +
				  sh_field(&r.h, "java.util.ArrayList", "elementData");
	uint64_t raw = 0;
	memcpy(&raw, sh_ptr(&r.h, elements), r.h.p.ref_size);
	const uint64_t element_data = r.h.expect.heap_base + (raw << r.h.p.ref_shift);
	bool checked_elements = false;
	for (size_t i = 0; i < f.nrecs; i++) {
		const struct hp_record *rec = &f.recs[i];
		if (rec->tag != HPROF_HEAP_DUMP_SEGMENT)
			continue;
		for (size_t pos = 0; pos < rec->len;) {
			const uint8_t *s = rec->body + pos;
			size_t len = hp_sub_len(s, rec->len - pos, id);
			cr_assert_gt(len, 0, "%s: bad sub-record 0x%x", p->name, s[0]);
			pos += len;
			if (s[0] == HPROF_CLASS_DUMP)
				class_dumps++;
			if (s[0] == HPROF_ROOT_JNI_GLOBAL)
				globals++;
			if (s[0] < HPROF_INSTANCE_DUMP || s[0] > HPROF_PRIM_ARRAY_DUMP)
				continue;
			uint64_t addr = id_addr(&map, s + 1);
			const struct sh_object *o = object_at(&r.h, addr);
			cr_assert_not_null(o, "%s: dumped %#llx is no object", p->name,
					   (unsigned long long)addr);
			cr_assert_eq(seen[o - r.h.objs]++, 0, "%s: %#llx dumped twice", p->name,
				     (unsigned long long)addr);
			const struct sh_class *k = &r.h.classes[o->cls];
			objects++;
			/* id, trace, then the class id or the length */
			const uint8_t *after = s + 1 + id + 4;
			if (s[0] == HPROF_INSTANCE_DUMP) {
				cr_assert_eq(k->kind == 'i' || k->kind == 'h', true, "%s", k->name);
				cr_assert_eq(id_addr(&map, after), hd_class_id(k->hub), "%s: class of %s",
					     p->name, k->name);
				const uint8_t *values = after + id + 4;
				uint8_t want[4096];
				size_t n = expected_values(t, &r.L, &out.ids, classes_find(t, k->hub),
							   sh_ptr(&r.h, addr), want);
				cr_assert_eq(hp_u4(after + id), n, "%s: %s values", p->name, k->name);
				cr_assert_arr_eq(values, want, n, "%s: %s at %#llx: values", p->name,
						 k->name, (unsigned long long)addr);
				if (strcmp(k->name, "java.lang.Integer") == 0) {
					/* Integer.value, the only field, as written by the generator. */
					static const int32_t ints[] = {-1, 0, 1, 42, 1000, INT32_MAX, INT32_MIN};
					size_t nth = 0;
					while (sh_nth(&r.h, "java.lang.Integer", nth)->addr != addr)
						nth++;
					long at = value_pos(t, classes_find(t, k->hub), "value", id);
					cr_assert_geq(at, 0);
					cr_assert_eq((int32_t)hp_u4(values + at), ints[nth]);
					integers++;
				}
			} else if (s[0] == HPROF_OBJ_ARRAY_DUMP) {
				cr_assert_eq(k->kind, 'o', "%s", k->name);
				cr_assert_eq(id_addr(&map, after + 4), hd_class_id(k->hub));
				if (addr == element_data) {
					/* [Integer(1), "hello", Integer(42), the HashMap, null...] */
					const uint8_t *e = after + 4 + id;
					cr_assert_eq(hp_u4(after), 10);
					cr_assert_eq(id_addr(&map, e), sh_nth(&r.h, "java.lang.Integer", 2)->addr);
					cr_assert_eq(id_addr(&map, e + 3 * id),
						     sh_nth(&r.h, "java.util.HashMap", 0)->addr);
					cr_assert_eq(id_addr(&map, e + 4 * id), 0);
					checked_elements = true;
				}
			} else {
				cr_assert_eq(k->kind, 'p', "%s", k->name);
			}
		}
	}
	cr_assert(checked_elements, "%s: the ArrayList's elements were not dumped", p->name);
	cr_assert_eq(integers, 7);
	cr_assert_eq(objects, r.h.objects, "%s: %llu objects dumped, want %llu", p->name,
		     (unsigned long long)objects, (unsigned long long)r.h.objects);
	cr_assert_eq(globals, r.h.objects, "%s: every image-heap object is a root", p->name);
	cr_assert_geq(class_dumps, r.h.nclasses);
	free(seen);
	free(map.v);
	hprof_ids_free(&out.ids);
	hp_free(&f);
	free(m.p);
	sd_close(&r);
}

Test(heapwrite, every_record_holds_the_ground_truth_ce_22_3) { check_dump(&sh_ce_22_3, false); }
Test(heapwrite, every_record_holds_the_ground_truth_oracle_21) { check_dump(&sh_oracle_21, false); }
Test(heapwrite, every_record_holds_the_ground_truth_ce_25) { check_dump(&sh_ce_25, false); }

/* The same with 4-byte ids: every object's and class's id distinct, and
 * every reference the id of the object it points to. */
Test(heapwrite, every_record_holds_the_ground_truth_with_4_byte_ids_ce_22_3)
{
	check_dump(&sh_ce_22_3, true);
}
Test(heapwrite, every_record_holds_the_ground_truth_with_4_byte_ids_oracle_21)
{
	check_dump(&sh_oracle_21, true);
}
Test(heapwrite, every_record_holds_the_ground_truth_with_4_byte_ids_ce_25)
{
	check_dump(&sh_ce_25, true);
}

/* ---- Chunks larger than an aligned chunk ---------------------------------- */

/* A layout whose aligned chunks are 8 KiB, over heaps generated with
 * 64 KiB ones: every chunk is larger, each object is a job, and each array
 * of more than 4 KiB of elements is written in parts (the huge ones in 3 to
 * 5), on several threads through the slots or in place on one. */
#define SMALL_CHUNK (8u << 10)

struct huge_check {
	struct sd_heap *d;
	unsigned found;
};

/* A primitive array of over 4 KiB: its elements are the heap's, big-endian. */
static void check_huge_array(const uint8_t *s, void *ctx)
{
	struct huge_check *c = ctx;
	if (s[0] != HPROF_PRIM_ARRAY_DUMP)
		return;
	const struct sh_object *o = object_at(&c->d->h, hp_id(s + 1));
	cr_assert_not_null(o);
	uint32_t n = hp_u4(s + 13);
	unsigned size = s[17] == HPROF_T_INT ? 4 : s[17] == HPROF_T_BYTE ? 1 : 0;
	if ((uint64_t)n * size <= 4 << 10)
		return;
	const uint8_t *heap = sh_ptr(&c->d->h, o->addr) + c->d->h.p.array_base;
	for (uint64_t i = 0; i < (uint64_t)n * size; i++)
		cr_assert_eq(s[18 + i], heap[i - i % size + size - 1 - i % size],
			     "element byte %llu of %#llx", (unsigned long long)i,
			     (unsigned long long)o->addr);
	c->found++;
}

Test(heapwrite, arrays_larger_than_an_aligned_chunk_are_written_in_parts)
{
	static const struct sh_params *presets[] = {&sh_ce_22_3, &sh_oracle_21, &sh_ce_25};
	for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
		const struct sh_params *p = presets[i];
		/* Parts inside a segment, and parts of a record longer than one. */
		same_bytes_for_every_thread_count(p, 0, SMALL_CHUNK, false);
		same_bytes_for_every_thread_count(p, 4096, SMALL_CHUNK, false);
		same_bytes_for_every_thread_count(p, 4096, SMALL_CHUNK, true);
		struct sd_heap d;
		sd_open(&d, p, 1);
		struct hd_dump_input in = sd_input(&d, 3);
		struct sink out = {0};
		cr_assert_eq(dump_chunked(&in, 0, SMALL_CHUNK, &out), 0, "%s: %s", p->name,
			     hd_error_message());
		struct hp_file f;
		char err[128];
		cr_assert_eq(hp_parse(out.m.p, out.m.len, &f, err, sizeof err), 0, "%s", err);
		struct huge_check c = {.d = &d};
		each_sub(&f, check_huge_array, &c);
		cr_assert_geq(c.found, p->unaligned_chunks, "%s: %u arrays", p->name, c.found);
		hp_free(&f);
		free(out.m.p);
		sd_close(&d);
	}
}

/* ---- Static fields ------------------------------------------------------ */

/* Statics of java.lang.String placed by hand in two real arrays of the
 * heap: the Object[] of 3 elements (an ArrayList, "world!", a UTF-16
 * string) and the huge byte[] whose bytes the generator patterned. */
struct statics_case {
	struct sd_heap d;
	struct hd_field_facts ff;
	struct hd_statics s;
	uint64_t three, big;
	unsigned base;
};

static void statics_open(struct statics_case *c, const struct sh_params *p)
{
	memset(c, 0, sizeof *c);
	sd_open(&c->d, p, 1);
	c->three = sh_nth(&c->d.h, "[Ljava.lang.Object;", 2)->addr;
	size_t i = 0;
	while (sh_nth(&c->d.h, "[B", i)->size < 20000)
		i++;
	c->big = sh_nth(&c->d.h, "[B", i)->addr;
	c->base = p->array_base;
	c->s.objects = (struct hd_statics_array){c->three, c->base, c->base + 3 * p->ref_size,
						 p->ref_size};
	c->s.prims = (struct hd_statics_array){c->big, c->base, c->base + 20000, 1};
}

static void static_fact(struct statics_case *c, const char *name, uint8_t type, uint32_t offset)
{
	struct hd_field_fact f = {.hub = sh_class(&c->d.h, "java.lang.String")->hub,
				  .offset = offset, .type = type, .is_static = true};
	cr_assert_eq(ff_add(&c->ff, &f, name), 0);
}

static int dump_statics(struct statics_case *c, struct sink *out)
{
	cr_assert_eq(statics_attribute(&c->s, &c->ff, &c->d.classes, NULL), 0);
	struct hd_dump_input in = sd_input(&c->d, 2);
	in.statics = &c->s;
	return dump_input(&in, 0, out);
}

static void statics_close(struct statics_case *c)
{
	statics_free(&c->s);
	ff_free(&c->ff);
	sd_close(&c->d);
}

struct class_dump {
	uint64_t id;
	const uint8_t *rec;
	size_t len;
};

static void find_class_dump(const uint8_t *s, void *ctx)
{
	struct class_dump *cd = ctx;
	if (s[0] == HPROF_CLASS_DUMP && hp_id(s + 1) == cd->id)
		cd->rec = s;
}

/* The CLASS DUMP of java.lang.String in OUT's dump, parsed into F. */
static const uint8_t *string_class_dump(struct statics_case *c, struct sink *out, struct hp_file *f)
{
	char err[128];
	cr_assert_eq(hp_parse(out->m.p, out->m.len, f, err, sizeof err), 0, "%s", err);
	struct class_dump cd = {.id = hd_class_id(sh_class(&c->d.h, "java.lang.String")->hub)};
	each_sub(f, find_class_dump, &cd);
	cr_assert_not_null(cd.rec);
	return cd.rec;
}

/* The big-endian bytes of the SIZE little-endian bytes at ADDR. */
static uint64_t heap_le(struct statics_case *c, uint64_t addr, unsigned size)
{
	uint64_t v = 0;
	memcpy(&v, sh_ptr(&c->d.h, addr), size);
	return v;
}

static void class_dump_statics(const struct sh_params *p)
{
	struct statics_case c;
	statics_open(&c, p);
	unsigned rs = p->ref_size;
	static_fact(&c, "LIST", HD_T_OBJECT, c.base);
	static_fact(&c, "WIDE", HD_T_OBJECT, c.base + 2 * rs);
	static_fact(&c, "COUNT", HD_T_INT, c.base + 8);
	static_fact(&c, "TOTAL", HD_T_LONG, c.base + 16);
	static_fact(&c, "ON", HD_T_BOOLEAN, c.base + 3);
	struct sink out = {0};
	cr_assert_eq(dump_statics(&c, &out), 0, "%s: %s", p->name, hd_error_message());
	struct hp_file f;
	const struct sh_class *str = sh_class(&c.d.h, "java.lang.String");
	const uint8_t *q = string_class_dump(&c, &out, &f) + 1 + 8 + 4 + 6 * 8 + 4;
	cr_assert_eq(hp_u2(q), 0); /* constant pool */
	cr_assert_eq(hp_u2(q + 2), 5, "%s: statics", p->name);
	q += 4;
	/* References first, then the primitives, each by offset. */
	static const char *const names[] = {"LIST", "WIDE", "ON", "COUNT", "TOTAL"};
	static const uint8_t types[] = {2, 2, 4, 10, 11};
	const uint64_t want[] = {
		sh_nth(&c.d.h, "java.util.ArrayList", 0)->addr,
		lay_ref(&c.d.L, sh_ptr(&c.d.h, c.three + c.base + 2 * rs)),
		heap_le(&c, c.big + c.base + 3, 1),
		heap_le(&c, c.big + c.base + 8, 4),
		heap_le(&c, c.big + c.base + 16, 8),
	};
	cr_assert_neq(want[1], 0);
	cr_assert_neq(want[3], 0, "the generator patterns the huge byte[]");
	for (size_t i = 0; i < 5; i++) {
		cr_assert_str_eq(utf8(&f, hp_id(q)), names[i], "%s: static %zu", p->name, i);
		cr_assert_eq(q[8], types[i], "%s: %s", p->name, names[i]);
		q += 9;
		unsigned size = hp_type_size(types[i], 8);
		uint64_t v = 0;
		for (unsigned b = 0; b < size; b++)
			v = v << 8 | q[b];
		if (types[i] == 2)
			v = hp_id(q);
		cr_assert_eq(v, want[i], "%s: %s = %#llx, want %#llx", p->name, names[i],
			     (unsigned long long)v, (unsigned long long)want[i]);
		q += size;
	}
	/* The instance fields follow, as without statics: value, hash, coder... */
	cr_assert_eq(hp_u2(q), classes_find(&c.d.classes, str->hub)->nown);
	hp_free(&f);
	free(out.m.p);
	statics_close(&c);
}

Test(heapwrite, class_dumps_carry_statics_ce_22_3) { class_dump_statics(&sh_ce_22_3); }
Test(heapwrite, class_dumps_carry_statics_oracle_21) { class_dump_statics(&sh_oracle_21); }
Test(heapwrite, class_dumps_carry_statics_ce_25) { class_dump_statics(&sh_ce_25); }

/* A static reference is checked like any other: one that lands on no
 * object start fails the dump, naming the statics array. */
Test(heapwrite, a_dangling_static_reference_fails_the_dump)
{
	struct statics_case c;
	statics_open(&c, &sh_ce_25);
	static_fact(&c, "LIST", HD_T_OBJECT, c.base);
	uint64_t first = sh_nth(&c.d.h, "java.lang.String", 0)->addr;
	sh_put_ref(&c.d.h, c.three + c.base, first + 8);
	struct sink out = {0};
	cr_assert_eq(dump_statics(&c, &out), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", hd_error_message());
	char want[160];
	snprintf(want, sizeof want, "in object 0x%" PRIx64 ")", c.three);
	cr_assert_not_null(strstr(hd_error_message(), want), "%s", hd_error_message());
	free(out.m.p);
	statics_close(&c);
}

/* Statics with no class (no accepted fact) write no static field. */
Test(heapwrite, statics_nobody_names_are_not_written)
{
	struct statics_case c;
	statics_open(&c, &sh_ce_25);
	struct sink out = {0};
	cr_assert_eq(dump_statics(&c, &out), 0, "%s", hd_error_message());
	struct hp_file f;
	cr_assert_eq(hp_u2(string_class_dump(&c, &out, &f) + 1 + 8 + 4 + 6 * 8 + 4 + 2), 0);
	cr_assert_eq(c.s.unattributed_refs, 3);
	hp_free(&f);
	free(out.m.p);
	statics_close(&c);
}

/* Two statics of String, attributed: LIST, the Object[] array's first
 * element, and COUNT, an int at byte 8 of the byte[] array's elements. */
static void list_and_count(struct statics_case *c, const struct sh_params *p)
{
	statics_open(c, p);
	static_fact(c, "LIST", HD_T_OBJECT, c->base);
	static_fact(c, "COUNT", HD_T_INT, c->base + 8);
	cr_assert_eq(statics_attribute(&c->s, &c->ff, &c->d.classes, NULL), 0);
}

/* The values are the heap's when it is dumped, not when the statics were
 * found: a process writes its statics as it runs. */
Test(heapwrite, static_values_are_read_when_dumping)
{
	struct statics_case c;
	list_and_count(&c, &sh_oracle_21);
	uint64_t map = sh_nth(&c.d.h, "java.util.HashMap", 0)->addr;
	sh_put_ref(&c.d.h, c.three + c.base, map);
	memcpy(sh_ptr(&c.d.h, c.big + c.base + 8), "\x78\x56\x34\x12", 4);
	struct sink out = {0};
	cr_assert_eq(dump_statics(&c, &out), 0, "%s", hd_error_message());
	struct hp_file f;
	const uint8_t *q = string_class_dump(&c, &out, &f) + 1 + 8 + 4 + 6 * 8 + 4 + 2;
	cr_assert_eq(hp_u2(q), 2);
	cr_assert_eq(hp_id(q + 2 + 9), map);
	cr_assert_eq(hp_u4(q + 2 + 9 + 8 + 9), 0x12345678);
	hp_free(&f);
	free(out.m.p);
	statics_close(&c);
}

/* Every kind of name in one dump (classes, fields, statics, frame strings):
 * a viewer keeps one text per UTF8 id, so no id may be written twice. */
static void utf8_ids_are_distinct(bool ids4)
{
	struct statics_case c;
	list_and_count(&c, &sh_ce_25);
	struct hd_dump_input in = sd_input(&c.d, 2);
	in.statics = &c.s;
	struct hd_trace_frame fr = {"run", 0, 7};
	struct hd_trace tr = {&fr, 1};
	in.nthreads = 1;
	in.traces = &tr;
	struct sink out = {.ids4 = ids4};
	cr_assert_eq(dump_input(&in, 0, &out), 0, "%s", hd_error_message());
	struct hp_file f;
	char err[128];
	cr_assert_eq(hp_parse(out.m.p, out.m.len, &f, err, sizeof err), 0, "%s", err);
	const unsigned id = f.id_size;
	size_t dups = 0;
	for (size_t i = 0; i < f.nrecs; i++)
		for (size_t j = i + 1; j < f.nrecs; j++)
			if (f.recs[i].tag == HPROF_UTF8 && f.recs[j].tag == HPROF_UTF8 &&
			    hp_raw_id(f.recs[i].body, id) == hp_raw_id(f.recs[j].body, id)) {
				dups++;
				cr_log_warn("dup id: '%.*s' vs '%.*s'", (int)(f.recs[i].len - id),
					    f.recs[i].body + id, (int)(f.recs[j].len - id),
					    f.recs[j].body + id);
			}
	cr_assert_eq(dups, 0, "%zu UTF8 ids written twice", dups);
	hp_free(&f);
	free(out.m.p);
	hprof_ids_free(&out.ids);
	statics_close(&c);
}

Test(heapwrite, utf8_ids_are_distinct_with_statics_and_traces) { utf8_ids_are_distinct(false); }
Test(heapwrite, utf8_ids_are_distinct_with_4_byte_ids) { utf8_ids_are_distinct(true); }
/* ---- One pass ------------------------------------------------------------ */

/* Dumps IN into S in one pass (the census of the chunks that own their
 * region taken while they are written) and leaves the census in C. */
static int dump_one_pass(const struct hd_dump_input *in, struct sink *s, struct hd_census *c)
{
	cr_assert_eq(census_prepare(in, c), 0, "%s", hd_error_message());
	bool deferred;
	cr_assert_eq(census_defer(c, &deferred), 0, "%s", hd_error_message());
	cr_assert(deferred);
	hprof_ids_init8(&s->ids);
	if (s->ids4)
		cr_assert_eq(heap_plan_ids(in, c, &s->ids), 0, "%s", hd_error_message());
	hd_hprof *w = hprof_open(test_sink, s, s->ids.size, 1, 0);
	cr_assert_not_null(w);
	hd_error_clear();
	int rc = heap_write_hprof(in, c, &s->ids, w);
	hprof_ids_free(&s->ids);
	hprof_free(w);
	return rc;
}

/* Forward references (into chunks written later, deferred) and backward
 * ones (checked at once) alike: one pass writes the two passes' bytes and
 * counts the census's objects, on every thread count. */
static void one_pass_as_two(const struct sh_params *p, bool ids4)
{
	struct sd_heap d;
	sd_open(&d, p, REPEAT);
	struct hd_dump_input one_in = sd_input(&d, 1);
	struct sink two = {.ids4 = ids4};
	cr_assert_eq(dump_input(&one_in, 0, &two), 0, "%s: %s", p->name, hd_error_message());
	hprof_ids_free(&two.ids);
	struct hd_census want;
	cr_assert_eq(heap_census(&one_in, &want), 0, "%s", hd_error_message());
	static const unsigned threads[] = {1, 2, 3, 8};
	for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
		struct hd_dump_input in = sd_input(&d, threads[t]);
		struct sink one = {.ids4 = ids4};
		struct hd_census c;
		cr_assert_eq(dump_one_pass(&in, &one, &c), 0, "%s: %s", p->name, hd_error_message());
		cr_assert_eq(one.m.len, two.m.len, "%s: %u threads", p->name, threads[t]);
		cr_assert_arr_eq(one.m.p, two.m.p, two.m.len, "%s: %u threads", p->name, threads[t]);
		cr_assert_eq(c.objects, want.objects, "%s: %u threads", p->name, threads[t]);
		cr_assert_eq(c.bytes, want.bytes);
		cr_assert_eq(c.fillers, want.fillers);
		cr_assert_arr_eq(c.count, want.count, d.classes.n * sizeof *c.count);
		cr_assert_arr_eq(c.size, want.size, d.classes.n * sizeof *c.size);
		for (size_t i = 0; i < d.h.nobjs; i++)
			cr_assert_eq(objindex_has(&c.starts, d.h.objs[i].addr),
				     objindex_has(&want.starts, d.h.objs[i].addr));
		census_free(&c);
		free(one.m.p);
	}
	census_free(&want);
	free(two.m.p);
	sd_close(&d);
}

Test(heapwrite, one_pass_writes_what_two_do_ce_25) { one_pass_as_two(&sh_ce_25, false); }
Test(heapwrite, one_pass_writes_what_two_do_oracle_21) { one_pass_as_two(&sh_oracle_21, false); }
Test(heapwrite, one_pass_writes_what_two_do_with_4_byte_ids) { one_pass_as_two(&sh_ce_25, true); }

/* A reference that lands inside an object of another chunk, one that owns
 * its region: to a later one it is deferred while that chunk is unwritten,
 * and then it fails the dump (named by its target alone); to an earlier
 * one it fails it too.  Every such chunk's first object is tried. */
Test(heapwrite, one_pass_fails_on_a_dangling_reference_either_way)
{
	struct sd_heap d;
	sd_open(&d, &sh_ce_25, 1);
	uint64_t from = sh_nth(&d.h, "java.lang.String", 0)->addr;
	uint64_t region = d.L.chunk_size, at = from + sh_field(&d.h, "java.lang.String", "value");
	uint8_t saved[8];
	memcpy(saved, sh_ptr(&d.h, at), sizeof saved);
	struct hd_dump_input plan_in = sd_input(&d, 1);
	struct hd_census plan;
	cr_assert_eq(heap_census(&plan_in, &plan), 0, "%s", hd_error_message());
	unsigned forward = 0;
	for (size_t ci = 0; ci < plan.list.n; ci++) {
		const struct hd_chunk *ch = &plan.list.v[ci];
		if (!plan.own[ci] || ch->addr == (from & ~(region - 1)) || ch->top - ch->first < 16)
			continue;
		uint64_t to = ch->first + 8; /* inside the chunk's first object */
		forward += to > from;
		sh_put_ref(&d.h, at, to);
		char want[64];
		snprintf(want, sizeof want, "(first: 0x%" PRIx64, to);
		for (unsigned threads = 1; threads <= 4; threads += 3) {
			struct hd_dump_input in = sd_input(&d, threads);
			struct sink s = {0};
			struct hd_census c;
			cr_assert_eq(dump_one_pass(&in, &s, &c), -1, "to %#" PRIx64, to);
			cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", hd_error_message());
			cr_assert_not_null(strstr(hd_error_message(), want), "%s, want %s",
					   hd_error_message(), want);
			census_free(&c);
			free(s.m.p);
		}
	}
	cr_assert_gt(forward, 0, "no chunk after the String's");
	memcpy(sh_ptr(&d.h, at), saved, sizeof saved);
	census_free(&plan);
	sd_close(&d);
}
