/* Live isolate scanning (symbols/isolate.c) on synthetic live targets
 * (synthlive.h) in the three layouts, wired as a live dump wires it
 * (lib/live.c: isolates in the maps, discovery on the executable's image
 * heap, class table, thread locals, isolate scan), every finding checked
 * against the generator's ground truth; the dump over it is test_live's.
 * Then the same targets with forged data: hostile headers, thread lists and
 * chunk lists must end in a clean error or a correct result within a
 * bound, counted in reads, not seconds. */
#include "../../symbols/isolate.h"
#include "../../agent/snapshot.h"
#include "../../common/hd_error.h"
#include "../../hprof/heapwrite.h"
#include "../../hprof/hprof.h"
#include "../../symbols/discover.h"
#include "synthlive.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sh_params *const PRESETS[] = {&sh_ce_22_3, &sh_oracle_21, &sh_ce_25};
#define NPRESETS (sizeof PRESETS / sizeof PRESETS[0])

/* ---- Wiring, as lib/live.c does ------------------------------------------ */

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
	return isolate_scan(&r->iso, r->t.proc, &r->t.maps, &r->L, &r->classes, NULL, &r->tl, &r->t.target);
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
					     (uint32_t)i + 2, 0};
		for (uint64_t a = th->stack_lo & ~7ull; a + 8 <= th->stack_hi; a += 8) {
			uint64_t w = 0;
			cr_assert_eq(mv_read(r->t.proc, a, &w, 8), 0);
			if (w != th->thread_obj && objindex_has(&c->starts, w))
				v[(*n)++] = (struct hd_root){HPROF_ROOT_JAVA_FRAME, w, (uint32_t)i + 1, 0, 0};
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

/* N chunks from BASE on, CHUNK_SIZE apart, each found exactly once. */
static void check_chunks_found_once(struct live_run *r, uint64_t base, size_t n)
{
	uint8_t *seen = calloc(n, 1);
	cr_assert_not_null(seen);
	for (size_t k = 0; k < r->iso.nchunks; k++) {
		uint64_t a = r->iso.chunks[k].addr;
		if (a >= base && a < base + n * r->L.chunk_size)
			cr_assert_eq(seen[(a - base) / r->L.chunk_size]++, 0, "%#llx twice",
				     (unsigned long long)a);
	}
	for (size_t k = 0; k < n; k++)
		cr_assert_eq(seen[k], 1, "chunk %zu not found", k);
	free(seen);
}

/* ---- The scan, against the ground truth ------------------------------------- */

/* Every thread and chunk found; the census and the dump over them are
 * test_live's (the live dump end to end). */
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
	finish(&r);
}

Test(live, ce_22_3) { check_live(&sh_ce_22_3); }
Test(live, oracle_21) { check_live(&sh_oracle_21); }
Test(live, ce_25) { check_live(&sh_ce_25); }

/* --snapshot=copy: what the copy must hold is every chunk to its top and
 * each thread's stack and thread-local block. */
Test(live, read_ranges_cover_the_scan)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct live_run r;
		prepare(&r, PRESETS[i]);
		scan_ok(&r);
		struct hd_range *ranges;
		size_t nranges;
		cr_assert_eq(isolate_read_ranges(&r.iso, r.tl.extent, &ranges, &nranges), 0);
		for (size_t k = 0; k < r.iso.nthreads; k++) {
			const struct hd_ithread *th = &r.iso.threads[k];
			bool stack = false, locals = false;
			for (size_t j = 0; j < nranges; j++) {
				stack |= ranges[j].from <= th->stack_lo && th->stack_hi <= ranges[j].to;
				locals |= ranges[j].from <= th->addr && th->addr + r.tl.extent <= ranges[j].to;
			}
			cr_assert(stack && locals, "%s: thread %zu not covered", PRESETS[i]->name, k);
		}
		for (size_t k = 0; k < r.iso.nchunks; k++) {
			bool covered = false;
			for (size_t j = 0; j < nranges; j++)
				covered |= ranges[j].from <= r.iso.chunks[k].addr &&
					   r.iso.chunks[k].addr < ranges[j].to;
			cr_assert(covered, "%s: chunk %zu not covered", PRESETS[i]->name, k);
		}
		free(ranges);
		finish(&r);
	}
}

/* ---- Hostile targets ----------------------------------------------------------- */

static uint64_t reads(struct live_run *r) { return mv_stats(r->t.proc).reads; }

/* Reads a clean scan of this target costs. */
static uint64_t baseline_reads(struct live_run *r)
{
	uint64_t before = reads(r);
	scan_ok(r);
	return reads(r) - before;
}

static void put64(struct live_run *r, uint64_t at, uint64_t v) { memcpy(sl_ptr(&r->t, at), &v, 8); }

static void set_space(struct live_run *r, size_t space, const char *field, uint64_t v)
{
	static const char cls[] = "com.oracle.svm.core.genscavenge.Space";
	put64(r, sh_nth(&r->t.h, cls, space)->addr + sh_field(&r->t.h, cls, field), v);
}

/* Far from everything else, in the range the layout allows. */
static uint64_t forged_area(const struct live_run *r)
{
	return r->t.h.p.idhash == SH_IDHASH_HEADER ? r->t.heap_base - 8 * (1ull << 30)
						   : r->t.heap_base + 12 * (1ull << 30);
}

/* An unaligned chunk in a 64 MB mapping whose header claims TOP. */
static void forge_unaligned(struct live_run *r, uint64_t top)
{
	uint64_t c = forged_area(r);
	uint8_t *m = sl_map(&r->t, c, 64u << 20);
	const struct sh_params *p = &r->t.h.p;
	memcpy(m + p->ch_end, &top, 8);
	memcpy(m + p->ch_top, &top, 8);
	set_space(r, 2, "firstUnalignedHeapChunk", c);
}

static void unaligned_case(const struct sh_params *p, uint64_t top, const char *msg)
{
	struct live_run r;
	prepare(&r, p);
	uint64_t clean = baseline_reads(&r);
	forge_unaligned(&r, top);
	uint64_t before = reads(&r);
	uint64_t bytes = mv_stats(r.t.proc).bytes;
	cr_assert_eq(scan(&r), -1, "%s: a forged unaligned chunk was accepted", p->name);
	/* A handful of reads past the clean scan, the probe window at most 1 MB. */
	cr_assert_leq(reads(&r) - before, clean + 16, "%s: %llu reads", p->name,
		      (unsigned long long)(reads(&r) - before));
	cr_assert_leq(mv_stats(r.t.proc).bytes - bytes, (4u << 20) + 64 * r.t.h.size);
	cr_assert_eq(hd_error_class(), HD_E_INCONSISTENT, "%s: %s", p->name, hd_error_message());
	cr_assert_not_null(strstr(hd_error_message(), msg), "%s: %s", p->name, hd_error_message());
	finish(&r);
}

/* Issue 8, 2.7: a forged top kept the word-by-word probe going for minutes
 * (here 4M reads: the card table a 16 GB object would have). */
Test(hostile, unaligned_top_beyond_its_mapping)
{
	for (size_t i = 0; i < NPRESETS; i++)
		unaligned_case(PRESETS[i], 1ull << 34, "beyond its memory");
}

Test(hostile, unaligned_chunk_of_garbage)
{
	for (size_t i = 0; i < NPRESETS; i++)
		unaligned_case(PRESETS[i], (64u << 20) - 64, "holds no valid object");
}

/* Free words of the writable image heap: the tail of its last aligned chunk. */
static uint64_t free_words(struct live_run *r, size_t *n)
{
	const struct sh_heap *h = &r->t.h;
	uint64_t c = h->chunks[h->naligned - 1], top;
	memcpy(&top, sl_ptr(&r->t, c + h->p.ch_top), 8);
	*n = (size_t)((h->p.chunk_size - top) / 8);
	return c + top;
}

/* Forges candidates for the thread-list head into the N free words at AT;
 * returns how many reads past a clean scan finding them may cost. */
typedef uint64_t (*forge_fn)(struct live_run *r, uint64_t at, size_t n);

static void head_case(forge_fn forge)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct live_run r;
		prepare(&r, PRESETS[i]);
		uint64_t clean = baseline_reads(&r);
		size_t n;
		uint64_t at = free_words(&r, &n);
		cr_assert_geq(n, 4000);
		uint64_t allowed = forge(&r, at, n);
		uint64_t before = reads(&r);
		scan_ok(&r);
		check_threads(&r);
		cr_assert_leq(reads(&r) - before, clean + allowed, "%s: %llu reads", PRESETS[i]->name,
			      (unsigned long long)(reads(&r) - before));
		finish(&r);
	}
}

/* Thousands of words pointing at thread-list nodes: each node is followed
 * once, and the right head still wins. */
static uint64_t duplicate_candidates(struct live_run *r, uint64_t at, size_t n)
{
	(void)n;
	for (size_t k = 0; k < 4000; k++)
		put64(r, at + 8 * k, k % 2 ? r->t.threads[1].addr : r->t.threads[2].addr);
	return 16;
}

Test(hostile, thread_head_among_duplicate_candidates) { head_case(duplicate_candidates); }

/* Fake IsolateThreads of this isolate, node k linked to node k + 1 within
 * lists of CHAIN nodes, in a mapping of their own.  Returns the first. */
static uint64_t fake_threads(struct live_run *r, size_t n, size_t chain)
{
	uint64_t base = forged_area(r);
	sl_map(&r->t, base, n * 256);
	for (size_t k = 0; k < n; k++) {
		uint64_t p = base + 256 * k;
		put64(r, p + (unsigned)r->tl.isolate, r->t.heap_base);
		put64(r, p + (unsigned)r->tl.next, (k + 1) % chain ? p + 256 : 0);
		put64(r, p + (unsigned)r->tl.os_thread_handle, 0x1000 + k);
	}
	return base;
}

/* One list of up to 5000 nodes, each a candidate, the last one first. */
static uint64_t long_forged_list(struct live_run *r, uint64_t at, size_t n)
{
	n = n > 5000 ? 5000 : n;
	uint64_t fake = fake_threads(r, n, n);
	for (size_t k = 0; k < n; k++)
		put64(r, at + 8 * k, fake + 256 * (n - 1 - k));
	return 5 * n;
}

Test(hostile, thread_head_among_long_forged_lists) { head_case(long_forged_list); }

Test(hostile, thread_head_search_budget)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct live_run r;
		prepare(&r, PRESETS[i]);
		size_t n;
		uint64_t at = free_words(&r, &n);
		/* 200 lists of 256 nodes: 51,200 nodes behind 200 words. */
		uint64_t fake = fake_threads(&r, 200 * 256, 256);
		for (size_t k = 0; k < 200; k++)
			put64(&r, at + 8 * k, fake + 256 * 256 * k);
		uint64_t before = reads(&r);
		cr_assert_eq(scan(&r), -1, "%s: accepted", PRESETS[i]->name);
		cr_assert_eq(hd_error_class(), HD_E_INCONSISTENT, "%s", hd_error_message());
		cr_assert_not_null(strstr(hd_error_message(), "thread lists"), "%s", hd_error_message());
		cr_assert_leq(reads(&r) - before, 5u * 20000 + 1000, "%s: %llu reads", PRESETS[i]->name,
			      (unsigned long long)(reads(&r) - before));
		finish(&r);
	}
}

/* A writable image heap full of distinct words pointing at writable
 * memory: each once cost a read and a remembered node, without bound.
 * Now each costs one read, none is remembered, and the search stops at its
 * budget with an error. */
Test(hostile, thread_head_among_a_million_candidates, .timeout = 120)
{
	const size_t n = ISOLATE_HEAD_CANDIDATES_MAX + 4096;
	struct sh_params p = sh_ce_25;
	p.tail_padding = (8 * n + 0xffff) & ~(uint64_t)0xffff;
	struct live_run r;
	prepare(&r, &p);
	uint64_t clean = baseline_reads(&r);
	uint64_t tail = r.t.image_start + r.t.h.size - p.tail_padding;
	uint64_t target = forged_area(&r);
	sl_map(&r.t, target, 8 * n);
	for (size_t k = 0; k < n; k++)
		put64(&r, tail + 8 * k, target + 8 * k);
	uint64_t before = reads(&r);
	cr_assert_eq(scan(&r), -1, "accepted");
	cr_assert_eq(hd_error_class(), HD_E_INCONSISTENT, "%s", hd_error_message());
	cr_assert_not_null(strstr(hd_error_message(), "point at writable memory"), "%s",
			   hd_error_message());
	cr_assert_leq(reads(&r) - before, clean + ISOLATE_HEAD_CANDIDATES_MAX + 64, "%llu reads",
		      (unsigned long long)(reads(&r) - before));
	finish(&r);
}

/* A thread list with a cycle ends in an error, not a hang. */
Test(hostile, thread_list_cycle)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct live_run r;
		prepare(&r, PRESETS[i]);
		put64(&r, r.t.threads[2].addr + (unsigned)r.tl.next, r.t.threads[0].addr);
		uint64_t before = reads(&r);
		cr_assert_eq(scan(&r), -1, "%s: a cyclic thread list was accepted", PRESETS[i]->name);
		cr_assert_eq(hd_error_class(), HD_E_INCONSISTENT, "%s", hd_error_message());
		cr_assert_leq(reads(&r) - before, 4096, "%s", PRESETS[i]->name);
		finish(&r);
	}
}

/* Thousands of chunks in one Space: every one found once, the dump whole. */
Test(hostile, thousands_of_chunks)
{
	const size_t n = 4096;
	for (size_t i = 0; i < NPRESETS; i++) {
		struct live_run r;
		prepare(&r, PRESETS[i]);
		const struct sh_params *p = &r.t.h.p;
		uint64_t base = forged_area(&r);
		uint8_t *m = sl_map(&r.t, base, n * p->chunk_size);
		for (size_t k = 0; k < n; k++) {
			uint8_t *c = m + k * p->chunk_size;
			uint64_t end = p->chunk_size, top = r.L.aligned_obj_start;
			uint64_t next = k + 1 < n ? p->chunk_size : 0;
			memcpy(c + p->ch_end, &end, 8);
			memcpy(c + p->ch_top, &top, 8);
			memcpy(c + p->ch_next, &next, 8);
		}
		set_space(&r, 1, "firstAlignedHeapChunk", base);
		set_space(&r, 1, "lastAlignedHeapChunk", base + (n - 1) * p->chunk_size);
		scan_ok(&r);
		cr_assert_eq(r.iso.runtime_chunks, r.t.nchunks + n, "%s: %zu", p->name, r.iso.runtime_chunks);
		check_chunks_found_once(&r, base, n);
		struct hd_dump_input in = dump_input(&r, r.t.proc);
		struct hd_census c;
		cr_assert_eq(heap_census(&in, &c), 0, "%s: %s", p->name, hd_error_message());
		cr_assert_eq(c.objects, r.t.objects);
		census_free(&c);
		finish(&r);
	}
}

/* Copy mode sized by what the target declares: refused before allocating. */
Test(hostile, snapshot_of_absurd_size)
{
	struct live_run r;
	prepare(&r, &sh_ce_25);
	struct hd_range range = {r.t.image_start, r.t.image_start + (1ull << 46)};
	struct hd_snapshot snap;
	uint64_t before = reads(&r);
	hd_error_clear();
	cr_assert_eq(snapshot_take(&snap, r.t.proc, &range, 1), -1);
	cr_assert_eq(reads(&r), before, "the target was read: %s", hd_error_message());
	cr_assert_eq(hd_error_class(), HD_E_SNAPSHOT, "a refusal, not a bug: %s", hd_error_message());
	cr_assert_not_null(strstr(hd_error_message(), "refusing a copy snapshot"), "%s",
			   hd_error_message());
	finish(&r);
}

static int cmp_mapping(const void *a, const void *b)
{
	const struct hd_mapping *x = a, *y = b;
	return (x->start > y->start) - (x->start < y->start);
}

/* A second isolate maps its own copy above its own null region; the
 * loader's mapping of the section and the copy's writable part are not
 * isolates of their own. */
Test(live, two_isolates_in_the_maps)
{
	struct live_run r;
	prepare(&r, &sh_ce_25);
	struct hd_maps *m = &r.t.maps;
	uint64_t base2 = r.t.heap_base - (1ull << 30), start2 = base2 + (r.t.image_start - r.t.heap_base);
	m->v = realloc(m->v, (m->n + 2) * sizeof *m->v);
	cr_assert_not_null(m->v);
	m->v[m->n++] = (struct hd_mapping){.start = base2, .end = start2};
	m->v[m->n++] = (struct hd_mapping){.start = start2, .end = start2 + (1u << 20), .r = true,
					   .offset = r.t.img.heap_offset, .dev = r.t.img.dev,
					   .ino = r.t.img.ino};
	qsort(m->v, m->n, sizeof *m->v, cmp_mapping);
	uint64_t starts[4];
	cr_assert_eq(isolates_find(m, &r.t.img, starts, 4), 2);
	cr_assert_eq(starts[0], start2);
	cr_assert_eq(starts[1], r.t.image_start);
	finish(&r);
}
