/* The census (hprof/census.c) on synthetic image heaps whose ground truth
 * is known (synthdump.h): counts and bytes per class, every object start
 * and nothing else in the index, fillers apart; a chunk source or a walk
 * that fails leaves nothing behind; a pending SIGINT stops it. */
#include "../../common/hd_error.h"
#include "../../common/interrupt.h"
#include "../../hprof/census.h"
#include "synthdump.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

static const struct sh_params *const PRESETS[] = {&sh_ce_22_3, &sh_oracle_21, &sh_ce_25};
#define NPRESETS (sizeof PRESETS / sizeof PRESETS[0])

static bool is_filler(const struct sh_class *k)
{
	return strcmp(k->name, "com.oracle.svm.core.heap.FillerObject") == 0;
}

static void counts_every_object(const struct sh_params *p, unsigned repeat, unsigned threads)
{
	struct sd_heap d;
	sd_open(&d, p, repeat);
	struct hd_dump_input in = sd_input(&d, threads);
	struct hd_census c;
	cr_assert_eq(heap_census(&in, &c), 0, "%s: %s", p->name, hd_error_message());
	/* Chunks seen twice are counted twice; the index of starts is a set. */
	cr_assert_eq(c.objects, repeat * d.h.objects, "%s: %llu objects", p->name,
		     (unsigned long long)c.objects);
	cr_assert_eq(c.bytes, repeat * d.h.bytes);
	cr_assert_eq(c.fillers, repeat * d.h.fillers);
	cr_assert_eq(c.chunks, repeat * (d.h.naligned + d.h.nunaligned));
	for (size_t k = 0; k < d.h.nclasses; k++) {
		const struct sh_class *want = &d.h.classes[k];
		const struct hd_class *cls = classes_find(&d.classes, want->hub);
		cr_assert_not_null(cls, "%s: %s", p->name, want->name);
		size_t i = (size_t)(cls - d.classes.v);
		uint64_t count = is_filler(want) ? 0 : repeat * want->count;
		cr_assert_eq(c.count[i], count, "%s: %s: %llu, want %llu", p->name, want->name,
			     (unsigned long long)c.count[i], (unsigned long long)count);
	}
	uint64_t bytes = 0;
	for (size_t i = 0; i < d.classes.n; i++)
		bytes += c.size[i];
	cr_assert_eq(bytes, c.bytes);
	for (size_t i = 0; i < d.h.nobjs; i++) {
		const struct sh_object *o = &d.h.objs[i];
		bool filler = is_filler(&d.h.classes[o->cls]);
		cr_assert_eq(objindex_has(&c.starts, o->addr), !filler, "%s: %#llx", p->name,
			     (unsigned long long)o->addr);
		for (uint64_t a = o->addr + 8; a < o->addr + o->size; a += 8)
			cr_assert_not(objindex_has(&c.starts, a), "%s: inside an object: %#llx",
				      p->name, (unsigned long long)a);
	}
	census_free(&c);
	cr_assert_null(c.count);
	sd_close(&d);
}

Test(census, counts_every_object_of_every_layout)
{
	for (size_t i = 0; i < NPRESETS; i++)
		counts_every_object(PRESETS[i], 1, 1);
}

/* The aligned chunks are walked on several threads: the same census. */
Test(census, on_threads_counts_the_same)
{
	for (size_t i = 0; i < NPRESETS; i++)
		counts_every_object(PRESETS[i], 1, 3);
}

/* A chunk listed twice is walked twice, the second time not on a thread of
 * its own (its region is taken). */
Test(census, a_chunk_seen_twice_counts_twice)
{
	counts_every_object(&sh_ce_25, 2, 1);
	counts_every_object(&sh_ce_25, 2, 3);
}

static int failing_source(void *ctx, struct hd_walker *w, hd_chunk_fn fn, void *fnctx)
{
	unsigned *left = ctx;
	(void)w;
	(void)fn;
	(void)fnctx;
	if (!*left)
		return hd_fail(HD_E_TORN, "test: chunk list read failed");
	--*left;
	return 0;
}

Test(census, a_failing_source_leaves_nothing)
{
	struct sd_heap d;
	sd_open(&d, &sh_oracle_21, 1);
	struct hd_dump_input in = sd_input(&d, 1);
	unsigned left = 0;
	in.chunks = failing_source;
	in.chunks_ctx = &left;
	struct hd_census c;
	cr_assert_eq(heap_census(&in, &c), -1);
	cr_assert_eq(hd_error_class(), HD_E_TORN);
	cr_assert_str_eq(hd_error_message(), "test: chunk list read failed");
	cr_assert_null(c.count);
	cr_assert_null(c.size);
	cr_assert_null(c.starts.regions);
	census_free(&c); /* twice is harmless */
	sd_close(&d);
}

/* An object whose hub is not one (a String claiming to be its own class)
 * fails the walk, hence the census. */
Test(census, a_walk_that_misses_the_top_fails)
{
	struct sd_heap d;
	sd_open(&d, &sh_ce_22_3, 1);
	const struct sh_object *o = sh_nth(&d.h, "java.lang.String", 0);
	sh_put_header(&d.h, o->addr, o->addr);
	struct hd_dump_input in = sd_input(&d, 1);
	struct hd_census c;
	cr_assert_eq(heap_census(&in, &c), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", hd_error_message());
	cr_assert_null(c.count);
	sd_close(&d);
}

Test(census, a_pending_sigint_stops_it)
{
	struct sd_heap d;
	sd_open(&d, &sh_ce_25, 1);
	struct hd_dump_input in = sd_input(&d, 1);
	hd_install_signal_handlers();
	cr_assert_eq(raise(SIGINT), 0);
	struct hd_census c;
	cr_assert_eq(heap_census(&in, &c), -1);
	cr_assert_eq(hd_error_class(), HD_E_INTERRUPTED, "%s", hd_error_message());
	cr_assert_null(c.count);
	sd_close(&d);
}

/* One pass: census_prepare counts only the chunks that own no region and
 * census_defer leaves the others' starts unset for the writer; census_walk
 * instead gives heap_census's counts.  Threads change neither. */
Test(census, deferred_chunks_are_left_to_the_writer)
{
	struct sd_heap d;
	sd_open(&d, &sh_ce_25, 2);
	for (unsigned threads = 1; threads <= 3; threads++) {
		struct hd_dump_input in = sd_input(&d, threads);
		struct hd_census whole, part, walked;
		cr_assert_eq(heap_census(&in, &whole), 0, "%s", hd_error_message());
		cr_assert_eq(census_prepare(&in, &part), 0, "%s", hd_error_message());
		bool deferred;
		cr_assert_eq(census_defer(&part, &deferred), 0, "%s", hd_error_message());
		cr_assert(deferred && part.deferred);
		/* The second pass over the chunks owns no region: counted now;
		 * the first's aligned chunks are not. */
		cr_assert_geq(part.objects, d.h.objects);
		cr_assert_lt(part.objects, whole.objects);
		cr_assert_gt(census_deferred_bytes(&part), 0);
		cr_assert_eq(census_prepare(&in, &walked), 0, "%s", hd_error_message());
		cr_assert_eq(census_walk(&in, &walked), 0, "%s", hd_error_message());
		cr_assert_eq(walked.objects, whole.objects);
		cr_assert_eq(walked.bytes, whole.bytes);
		cr_assert_eq(walked.fillers, whole.fillers);
		for (size_t i = 0; i < d.h.nobjs; i++)
			cr_assert_eq(objindex_has(&walked.starts, d.h.objs[i].addr),
				     objindex_has(&whole.starts, d.h.objs[i].addr));
		census_free(&whole);
		census_free(&part);
		census_free(&walked);
	}
	sd_close(&d);
}
