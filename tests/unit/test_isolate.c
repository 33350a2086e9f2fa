/* Live isolate scanning (agent/isolate.c) and the census and HPROF writing
 * over it (hprof/heapdump.c), on synthetic live targets (synthlive.h) in
 * the three layouts: wired as `hdump -p` wires them (cli/live.c: isolates
 * in the maps, discovery on the executable's image heap, class table,
 * thread locals, isolate scan, census, dump), every finding checked against
 * the generator's ground truth.  Then the same targets with forged data:
 * hostile headers, thread lists and chunk lists must end in a clean error
 * or a correct result within a bound, counted in reads, not seconds. */
#include "../../agent/isolate.h"
#include "../../agent/snapshot.h"
#include "../../common/hd_error.h"
#include "../../hprof/heapdump.h"
#include "../../hprof/hprof.h"
#include "../../symbols/discover.h"
#include "hprofparse.h"
#include "synthlive.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static const struct sh_params *const PRESETS[] __attribute__((unused)) = {&sh_ce_22_3, &sh_oracle_21, &sh_ce_25};
#define NPRESETS (sizeof PRESETS / sizeof PRESETS[0])

/* ---- Wiring, as cli/live.c does ------------------------------------------ */

struct live_run {
	struct sl_live t;
	hd_memview *local; /* the executable's image heap, where the isolate maps it */
	struct hd_layout L;
	struct hd_classes classes;
	struct hd_threadlocals tl;
	struct hd_isolate iso;
};

static void prepare(struct live_run *r, const struct sh_params *p)
{
	memset(r, 0, sizeof *r);
	cr_assert_eq(sl_build(p, &r->t), 0, "%s: the generator failed", p->name);
	uint64_t starts[4];
	cr_assert_eq(isolates_find(&r->t.maps, &r->t.img, starts, 4), 1, "%s", p->name);
	cr_assert_eq(starts[0], r->t.image_start, "%s", p->name);
	r->local = mv_new_local();
	cr_assert_not_null(r->local);
	cr_assert_eq(mv_add_local(r->local, starts[0], r->t.h.data, r->t.h.size), 0);
	uint64_t *hubs = NULL;
	size_t nhubs = 0;
	hd_error_clear();
	cr_assert_eq(discover_layout(r->local, starts[0], r->t.h.size, &r->L, &hubs, &nhubs, NULL), 0,
		     "%s: %s", p->name, hd_error_message());
	cr_assert_eq(r->L.heap_base, r->t.heap_base, "%s", p->name);
	cr_assert_eq(classes_build(&r->classes, r->local, &r->L, hubs, nhubs), 0, "%s: %s", p->name,
		     hd_error_message());
	free(hubs);
	cr_assert_eq(threadlocals_discover(r->local, &r->L, &r->classes, &r->tl), 0, "%s: %s",
		     p->name, hd_error_message());
}

static int scan(struct live_run *r)
{
	hd_error_clear();
	isolate_free(&r->iso);
	return isolate_scan(&r->iso, r->t.proc, &r->t.maps, &r->L, &r->classes, &r->tl, &r->t.target);
}

static void scan_ok(struct live_run *r)
{
	cr_assert_eq(scan(r), 0, "%s: %s", r->t.h.p.name, hd_error_message());
}

static void finish(struct live_run *r)
{
	isolate_free(&r->iso);
	classes_free(&r->classes);
	mv_free(r->local);
	sl_free(&r->t);
}

/* Roots as a live dump adds them: thread objects, stack words on objects. */
static int thread_roots(void *ctx, const struct hd_census *c, struct hd_root **out, size_t *n)
{
	struct live_run *r = ctx;
	struct hd_root *v = calloc(2 * SL_THREADS, sizeof *v);
	cr_assert_not_null(v);
	*n = 0;
	for (size_t i = 0; i < r->iso.nthreads; i++) {
		const struct hd_ithread *th = &r->iso.threads[i];
		cr_assert(objindex_has(&c->starts, th->thread_obj));
		v[(*n)++] = (struct hd_root){HPROF_ROOT_THREAD_OBJ, th->thread_obj, (uint32_t)i + 1,
					     (uint32_t)i + 2};
		for (uint64_t a = th->stack_lo & ~7ull; a + 8 <= th->stack_hi; a += 8) {
			uint64_t w = 0;
			cr_assert_eq(mv_read(r->t.proc, a, &w, 8), 0);
			if (w != th->thread_obj && objindex_has(&c->starts, w))
				v[(*n)++] = (struct hd_root){HPROF_ROOT_JAVA_FRAME, w, (uint32_t)i + 1, 0};
		}
	}
	*out = v;
	return 0;
}

static struct hd_dump_input dump_input(struct live_run *r, hd_memview *mv)
{
	return (struct hd_dump_input){.L = &r->L, .classes = &r->classes, .mv = mv,
				      .chunks = isolate_chunks, .chunks_ctx = &r->iso,
				      .roots = thread_roots, .roots_ctx = r,
				      .nthreads = (uint32_t)r->iso.nthreads, .threads = 2};
}

/* ---- Ground truth ----------------------------------------------------------- */

static bool is_filler(const struct sl_live *t, const struct sh_object *o)
{
	return strcmp(t->h.classes[o->cls].name, "com.oracle.svm.core.heap.FillerObject") == 0;
}

static const struct sh_object *object_at(const struct sl_live *t, uint64_t addr)
{
	size_t lo = 0, hi = t->nobjs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (t->objs[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->nobjs && t->objs[lo].addr == addr ? &t->objs[lo] : NULL;
}

static void check_threads(struct live_run *r)
{
	const char *name = r->t.h.p.name;
	cr_assert_eq(r->tl.isolate, r->t.h.tl.isolate, "%s", name);
	cr_assert_eq(r->tl.next, r->t.h.tl.next, "%s", name);
	cr_assert_eq(r->tl.tlab, r->t.h.tl.tlab, "%s", name);
	cr_assert_eq(r->tl.current_thread, r->t.h.tl.current_thread, "%s", name);
	cr_assert_eq(r->tl.extent, r->t.h.tl.extent, "%s", name);
	cr_assert_eq(r->iso.nthreads, SL_THREADS, "%s: %zu threads", name, r->iso.nthreads);
	for (size_t i = 0; i < SL_THREADS; i++) {
		const struct hd_ithread *got = &r->iso.threads[i];
		const struct sl_thread *want = &r->t.threads[i];
		cr_assert_eq(got->addr, want->addr, "%s: thread %zu", name, i);
		cr_assert_not_null(got->task, "%s: thread %zu has no task", name, i);
		cr_assert_eq(got->task->tid, want->tid, "%s: thread %zu", name, i);
		cr_assert_eq(got->thread_obj, want->thread_obj, "%s: thread %zu", name, i);
		cr_assert_eq(got->stack_lo, want->stack_lo, "%s", name);
		cr_assert_eq(got->stack_hi, want->stack_hi, "%s", name);
	}
}

static void check_chunks(struct live_run *r)
{
	const char *name = r->t.h.p.name;
	cr_assert_eq(r->iso.runtime_chunks, r->t.nchunks, "%s: %zu runtime chunks, want %zu", name,
		     r->iso.runtime_chunks, r->t.nchunks);
	cr_assert_eq(r->iso.nchunks - r->iso.runtime_chunks, r->t.h.naligned + r->t.h.nunaligned);
	for (size_t i = 0; i < r->t.nchunks; i++) {
		size_t found = 0;
		for (size_t k = 0; k < r->iso.nchunks; k++)
			found += !r->iso.chunks[k].image && r->iso.chunks[k].addr == r->t.chunks[i];
		cr_assert_eq(found, 1, "%s: chunk %#llx found %zu times", name,
			     (unsigned long long)r->t.chunks[i], found);
	}
}

static void check_census(struct live_run *r, const struct hd_census *c)
{
	const struct sl_live *t = &r->t;
	const char *name = t->h.p.name;
	cr_assert_eq(c->objects, t->objects, "%s: %llu objects, want %llu", name,
		     (unsigned long long)c->objects, (unsigned long long)t->objects);
	cr_assert_eq(c->bytes, t->bytes, "%s", name);
	cr_assert_eq(c->chunks, r->iso.nchunks, "%s", name);
	for (size_t i = 0; i < t->nobjs; i++) {
		const struct sh_object *o = &t->objs[i];
		cr_assert_eq(objindex_has(&c->starts, o->addr), !is_filler(t, o), "%s: object %#llx (%s)",
			     name, (unsigned long long)o->addr, t->h.classes[o->cls].name);
		for (uint64_t a = o->addr + 8; a < o->addr + o->size; a += 8)
			cr_assert_not(objindex_has(&c->starts, a), "%s: inside an object: %#llx", name,
				      (unsigned long long)a);
	}
}

/* ---- The dump, read back ----------------------------------------------------- */

struct membuf {
	uint8_t *b;
	size_t len, cap;
};

static int mem_sink(void *ctx, const void *buf, size_t len)
{
	struct membuf *m = ctx;
	if (m->len + len > m->cap) {
		m->cap = (m->len + len) * 2;
		m->b = realloc(m->b, m->cap);
		cr_assert_not_null(m->b);
	}
	memcpy(m->b + m->len, buf, len);
	m->len += len;
	return 0;
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
	struct class_dump d = {.id = hp_u8(s + 1), .super = hp_u8(s + 13)};
	const uint8_t *p = s + 1 + 8 + 4 + 8 * 6 + 4;
	uint16_t cp = hp_u2(p);
	p += 2;
	for (uint16_t i = 0; i < cp; i++)
		p += 3 + hp_type_size(p[2]);
	uint16_t statics = hp_u2(p);
	p += 2;
	for (uint16_t i = 0; i < statics; i++)
		p += 9 + hp_type_size(p[8]);
	d.nfields = hp_u2(p);
	d.fields = p + 2;
	return d;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Every object dumped once and known; every reference on a dumped object.
 * Returns the number of non-null references. */
static uint64_t check_hprof(const struct sl_live *t, const uint8_t *buf, size_t len)
{
	const char *name = t->h.p.name;
	struct hp_file f;
	char err[128];
	cr_assert_eq(hp_parse(buf, len, &f, err, sizeof err), 0, "%s: %s", name, err);
	struct class_dump *classes = NULL;
	size_t nclasses = 0;
	uint64_t *ids = NULL, *refs = NULL;
	size_t nids = 0, nrefs = 0, cap_ids = 0, cap_refs = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < f.nrecs; i++) {
			const struct hp_record *rec = &f.recs[i];
			if (rec->tag != HPROF_HEAP_DUMP_SEGMENT)
				continue;
			for (size_t pos = 0; pos < rec->len;) {
				const uint8_t *s = rec->body + pos;
				size_t n = hp_sub_len(s, rec->len - pos);
				cr_assert_gt(n, 0, "%s: bad sub-record 0x%x", name, s[0]);
				pos += n;
				if (pass == 0 && s[0] == HPROF_CLASS_DUMP) {
					classes = realloc(classes, (nclasses + 1) * sizeof *classes);
					classes[nclasses++] = class_dump(s);
					continue;
				}
				if (pass == 0 || s[0] < HPROF_INSTANCE_DUMP || s[0] > HPROF_PRIM_ARRAY_DUMP)
					continue;
				uint64_t id = hp_u8(s + 1);
				const struct sh_object *o = object_at(t, id);
				cr_assert_not_null(o, "%s: dumped %#llx is no object", name, (unsigned long long)id);
				cr_assert_not(is_filler(t, o), "%s: filler %#llx dumped", name, (unsigned long long)id);
				if (nids == cap_ids)
					ids = realloc(ids, (cap_ids = 2 * cap_ids + 1024) * sizeof *ids);
				ids[nids++] = id;
				const uint8_t *v;
				uint32_t count;
				if (s[0] == HPROF_OBJ_ARRAY_DUMP) {
					count = hp_u4(s + 13);
					v = s + 25;
					for (uint32_t k = 0; k < count; k++) {
						if (nrefs == cap_refs)
							refs = realloc(refs, (cap_refs = 2 * cap_refs + 1024) * sizeof *refs);
						refs[nrefs++] = hp_u8(v + 8 * k);
					}
				} else if (s[0] == HPROF_INSTANCE_DUMP) {
					v = s + 25;
					for (const struct class_dump *k = find_class(classes, nclasses, hp_u8(s + 13)); k;
					     k = k->super ? find_class(classes, nclasses, k->super) : NULL) {
						for (uint16_t fi = 0; fi < k->nfields; fi++) {
							uint8_t type = k->fields[9 * fi + 8];
							if (type == 2) {
								if (nrefs == cap_refs)
									refs = realloc(refs, (cap_refs = 2 * cap_refs + 1024) *
												     sizeof *refs);
								refs[nrefs++] = hp_u8(v);
							}
							v += hp_type_size(type);
						}
					}
					cr_assert_eq(v, s + 25 + hp_u4(s + 21), "%s: values of %#llx", name,
						     (unsigned long long)id);
				}
			}
		}
	}
	qsort(ids, nids, sizeof *ids, cmp_u64);
	for (size_t i = 1; i < nids; i++)
		cr_assert_neq(ids[i], ids[i - 1], "%s: %#llx dumped twice", name, (unsigned long long)ids[i]);
	cr_assert_eq(nids, t->objects, "%s: %zu objects dumped, want %llu", name, nids,
		     (unsigned long long)t->objects);
	uint64_t nonnull = 0;
	for (size_t i = 0; i < nrefs; i++) {
		if (!refs[i])
			continue;
		nonnull++;
		cr_assert_not_null(bsearch(&refs[i], ids, nids, sizeof *ids, cmp_u64),
				   "%s: reference to %#llx dangles", name, (unsigned long long)refs[i]);
	}
	free(classes);
	free(ids);
	free(refs);
	hp_free(&f);
	return nonnull;
}

static void check_live(const struct sh_params *p)
{
	struct live_run r;
	prepare(&r, p);
	for (int a = 0; a < 2; a++)
		for (int s = 0; s < 3; s++)
			cr_assert_gt(r.t.hash_states[a][s], 0, "%s: no runtime %s in hash state %d", p->name,
				     a ? "array" : "instance", s);
	scan_ok(&r);
	check_threads(&r);
	check_chunks(&r);
	struct hd_dump_input in = dump_input(&r, r.t.proc);
	struct hd_census c;
	cr_assert_eq(heap_census(&in, &c), 0, "%s: %s", p->name, hd_error_message());
	check_census(&r, &c);
	struct membuf m = {0};
	hd_hprof *w = hprof_open(mem_sink, &m, 1, 4096);
	cr_assert_not_null(w);
	cr_assert_eq(heap_write_hprof(&in, &c, w), 0, "%s: %s", p->name, hd_error_message());
	hprof_free(w);
	uint64_t refs = check_hprof(&r.t, m.b, m.len);
	cr_assert_eq(refs, r.t.refs, "%s: %llu references dumped, %llu laid out", p->name,
		     (unsigned long long)refs, (unsigned long long)r.t.refs);
	free(m.b);
	census_free(&c);
	finish(&r);
}

Test(live, ce_22_3) { check_live(&sh_ce_22_3); }
Test(live, oracle_21) { check_live(&sh_oracle_21); }
Test(live, ce_25) { check_live(&sh_ce_25); }
