#include "pipeline.h"

#include "../../symbols/heapwalk.h"
#include "../../common/hd_error.h"
#include "../../hprof/heapwrite.h"
#include "../../hprof/hprof.h"
#include "../../symbols/classes.h"
#include "../../symbols/discover.h"
#include "../unit/hprofparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the heap is placed, as hdump --exe does (any chunk-aligned address). */
#define START 0x10000000000ull

const char *fuzz_outcome = "";

void fuzz_invariant_failed(const char *msg)
{
	fprintf(stderr, "fuzz: %s (error class %d: %s)\n", msg, (int)hd_error_class(),
		hd_error_message());
	abort();
}

/* A failed stage must say why, with a class a hostile heap may cause. */
static void expect_failure_class(const char *stage)
{
	enum hd_error_class c = hd_error_class();
	if (c != HD_E_LAYOUT && c != HD_E_INCONSISTENT) {
		char msg[128];
		snprintf(msg, sizeof msg, "%s failed with an unexpected class", stage);
		fuzz_invariant_failed(msg);
	}
}

/* The dump must split into records, and every heap-dump segment into
 * sub-records that fill it exactly. */
static void check_dump(const struct hprof_membuf *m)
{
	struct hp_file f;
	char err[128];
	if (hp_parse(m->p, m->len, &f, err, sizeof err) != 0)
		fuzz_invariant_failed(err);
	for (size_t i = 0; i < f.nrecs; i++) {
		if (f.recs[i].tag != HPROF_HEAP_DUMP_SEGMENT)
			continue;
		const uint8_t *p = f.recs[i].body;
		size_t left = f.recs[i].len;
		while (left) {
			size_t n = hp_sub_len(p, left, f.id_size);
			if (!n || n > left)
				fuzz_invariant_failed("a heap-dump sub-record does not fit its segment");
			p += n;
			left -= n;
		}
	}
	if (!f.nrecs || f.recs[f.nrecs - 1].tag != HPROF_HEAP_DUMP_END)
		fuzz_invariant_failed("the dump does not end with HEAP DUMP END");
	hp_free(&f);
}

static int image_chunks(void *ctx, struct hd_walker *w, hd_chunk_fn fn, void *fnctx)
{
	(void)ctx;
	return hw_image_chunks(w, fn, fnctx);
}

void fuzz_pipeline(const uint8_t *heap, size_t size)
{
	hd_memview *mv = mv_new_local();
	if (!mv || mv_add_local(mv, START, heap, size) != 0)
		fuzz_invariant_failed("no memory view");
	struct hd_layout L;
	uint64_t *hubs = NULL;
	size_t nhubs = 0;
	struct hd_classes t = {0};
	hd_error_clear();
	fuzz_outcome = "refused by discovery";
	if (discover_layout(mv, START, size, &L, &hubs, &nhubs, NULL) != 0) {
		if (hd_error_class() != HD_E_LAYOUT)
			fuzz_invariant_failed("discovery failed with a class other than layout");
		goto out;
	}
	fuzz_outcome = "refused by the class table";
	if (classes_build(&t, mv, &L, hubs, nhubs) != 0) {
		expect_failure_class("the class table");
		goto out;
	}
	struct hd_dump_input in = {.L = &L, .classes = &t, .mv = mv, .chunks = image_chunks,
				   .threads = 1};
	struct hd_census c;
	fuzz_outcome = "refused by the census";
	if (heap_census(&in, &c) != 0) {
		expect_failure_class("the census");
		goto out;
	}
	struct hprof_membuf m = {0};
	struct hprof_ids ids;
	if (heap_plan_ids(&in, &c, &ids) != 0)
		fuzz_invariant_failed("no HPROF ids");
	hd_hprof *w = hprof_open(hprof_membuf_sink, &m, ids.size, 1, 1u << 20);
	if (!w)
		fuzz_invariant_failed("no HPROF writer");
	fuzz_outcome = "refused by the writer";
	if (heap_write_hprof(&in, &c, &ids, w) != 0) {
		expect_failure_class("the writer");
	} else {
		check_dump(&m);
		fuzz_outcome = "dumped";
		hd_error_clear(); /* what failed probes recorded on the way */
	}
	hprof_free(w);
	hprof_ids_free(&ids);
	free(m.p);
	census_free(&c);
out:
	classes_free(&t);
	free(hubs);
	mv_free(mv);
}
