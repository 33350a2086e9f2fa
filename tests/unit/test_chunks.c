/* The chunks of a live isolate (symbols/chunks.c) in synthetic live targets
 * (synthlive.h), with the generator's layout and the target's own threads:
 * every runtime chunk found once, the TLAB gaps, and the refusal, as a
 * heap caught changing (HD_E_INCONSISTENT), of chains that do not hold
 * together. */
#include "../../common/hd_error.h"
#include "../../symbols/chunks.h"
#include "synthlive.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static const struct sh_params *const PRESETS[] = {&sh_ce_22_3, &sh_oracle_21, &sh_ce_25};
#define NPRESETS (sizeof PRESETS / sizeof PRESETS[0])

struct fixture {
	struct sl_live t;
	struct hd_readable r;
	struct hd_classes classes;
	struct hd_ithread *threads;
	size_t nthreads;
	struct hd_chunk_list list;
};

static void setup(struct fixture *f, const struct sh_params *p)
{
	memset(f, 0, sizeof *f);
	cr_assert_eq(sl_build(p, &f->t), 0, "%s: the generator failed", p->name);
	cr_assert_eq(readable_init(&f->r, &f->t.maps), 0);
	uint64_t *hubs = sh_hubs(&f->t.h);
	cr_assert_not_null(hubs);
	cr_assert_eq(classes_build(&f->classes, f->t.proc, &f->t.h.expect, hubs, f->t.h.nclasses), 0,
		     "%s", hd_error_message());
	free(hubs);
	cr_assert_eq(threadlist_read(f->t.proc, &f->r, &f->t.h.expect, &f->t.h.tl, &f->t.target,
				     &f->threads, &f->nthreads), 0, "%s", hd_error_message());
}

static int find(struct fixture *f)
{
	chunk_list_free(&f->list);
	hd_error_clear();
	return chunks_find(&f->list, f->t.proc, &f->r, &f->t.h.expect, &f->classes, f->threads,
			   f->nthreads);
}

static void teardown(struct fixture *f)
{
	chunk_list_free(&f->list);
	free(f->threads);
	classes_free(&f->classes);
	readable_fini(&f->r);
	sl_free(&f->t);
}

Test(chunks, chunks_as_generated)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture f;
		setup(&f, PRESETS[i]);
		cr_assert_eq(find(&f), 0, "%s: %s", PRESETS[i]->name, hd_error_message());
		const struct hd_chunk_list *l = &f.list;
		cr_assert_eq(l->image, f.t.h.naligned + f.t.h.nunaligned, "%s", PRESETS[i]->name);
		cr_assert_eq(l->n - l->image, f.t.nchunks, "%s: %zu runtime chunks, want %zu",
			     PRESETS[i]->name, l->n - l->image, f.t.nchunks);
		size_t image = 0;
		for (size_t k = 0; k < l->n; k++)
			image += l->v[k].image;
		cr_assert_eq(image, l->image, "%s", PRESETS[i]->name);
		for (size_t w = 0; w < f.t.nchunks; w++) {
			size_t found = 0;
			for (size_t k = 0; k < l->n; k++)
				found += !l->v[k].image && l->v[k].addr == f.t.chunks[w];
			cr_assert_eq(found, 1, "%s: chunk 0x%llx found %zu times", PRESETS[i]->name,
				     (unsigned long long)f.t.chunks[w], found);
		}
		/* Carved TLABs leave gaps, each inside the chunk that points at it. */
		if (f.t.shared_tlabs)
			cr_assert_gt(l->ngaps, 0, "%s", PRESETS[i]->name);
		for (size_t g = 1; g < l->ngaps; g++)
			cr_assert_lt(l->gaps[g - 1].from, l->gaps[g].from, "gaps are sorted");
		for (size_t k = 0; k < l->n; k++)
			for (size_t g = 0; g < l->v[k].ngaps; g++) {
				cr_assert_geq(l->v[k].gaps[g].from, l->v[k].first);
				cr_assert_leq(l->v[k].gaps[g].to, l->v[k].top);
			}
		teardown(&f);
	}
}

static void put64(struct fixture *f, uint64_t at, uint64_t v) { memcpy(sl_ptr(&f->t, at), &v, 8); }

/* Each runtime chunk's header, made not to hold together in turn. */
Test(chunks, broken_chains_are_inconsistent)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		for (int how = 0; how < 2; how++) {
			struct fixture f;
			setup(&f, PRESETS[i]);
			const struct hd_layout *L = &f.t.h.expect;
			/* The first runtime aligned chunk of a Space chain. */
			uint64_t c = f.t.chunks[0];
			const char *what;
			if (how == 0) {
				put64(&f, c + L->ch_next, L->image_start - c);
				what = "runs into the image heap";
			} else {
				put64(&f, c + L->ch_top, L->chunk_size + 8);
				what = "has top";
			}
			cr_assert_eq(find(&f), -1, "%s: %s accepted", PRESETS[i]->name, what);
			cr_assert_eq(hd_error_class(), HD_E_INCONSISTENT, "%s: %s", PRESETS[i]->name,
				     hd_error_message());
			cr_assert_not_null(strstr(hd_error_message(), what), "%s: %s", PRESETS[i]->name,
					   hd_error_message());
			teardown(&f);
		}
	}
}

/* A chunk whose header says a TLAB owns it, and no thread's TLAB does. */
Test(chunks, tlab_chunk_without_its_thread)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture f;
		setup(&f, PRESETS[i]);
		if (f.t.shared_tlabs) {
			teardown(&f);
			continue;
		}
		bool owned = false;
		for (size_t k = 0; k < f.nthreads; k++)
			if (f.threads[k].tlab.start == f.t.tlab_chunk) {
				f.threads[k].tlab.top = 0;
				owned = true;
			}
		cr_assert(owned, "%s: no thread owns the TLAB chunk", PRESETS[i]->name);
		cr_assert_eq(find(&f), -1, "%s: accepted", PRESETS[i]->name);
		cr_assert_eq(hd_error_class(), HD_E_INCONSISTENT, "%s", hd_error_message());
		cr_assert_not_null(strstr(hd_error_message(), "belongs to no thread's TLAB"), "%s",
				   hd_error_message());
		teardown(&f);
	}
}
