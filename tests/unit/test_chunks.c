/* The chunks of a live isolate (symbols/chunks.c) in synthetic live targets
 * (synthlive.h), with the generator's layout and the target's own threads:
 * every runtime chunk found once, the TLAB gaps, and the refusal, as a
 * heap caught changing (HD_E_INCONSISTENT), of chains that do not hold
 * together. */
#include "../../common/hd_error.h"
#include "../../lib/exe.h"
#include "../../symbols/chunks.h"
#include "synthlive.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	return chunks_find(&f->list, f->t.proc, &f->r, &f->t.h.expect, &f->classes, NULL, f->threads,
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

/* The chunk roots of the target's image heap, from one walk of its objects
 * (as discovery lists them). */
static void collect_roots(struct fixture *f, struct hd_chunk_roots *roots)
{
	struct hd_imageobjs objs;
	cr_assert_eq(imageobjs_build(&objs, f->t.proc, &f->t.h.expect, &f->classes), 0, "%s",
		     hd_error_message());
	cr_assert_eq(chunk_roots_collect(roots, &objs, &f->t.h.expect), 0, "%s",
		     hd_error_message());
	imageobjs_free(&objs);
}

/* The same chunks, in the same order, with the same tops and gaps. */
static void assert_same_chunks(const struct hd_chunk_list *a, const struct hd_chunk_list *b,
			       const char *what)
{
	cr_assert_eq(a->n, b->n, "%s: %zu chunks against %zu", what, a->n, b->n);
	cr_assert_eq(a->image, b->image, "%s", what);
	cr_assert_eq(a->ngaps, b->ngaps, "%s", what);
	for (size_t k = 0; k < a->n; k++) {
		const struct hd_chunk *x = &a->v[k], *y = &b->v[k];
		cr_assert(x->addr == y->addr && x->first == y->first && x->top == y->top &&
			  x->aligned == y->aligned && x->image == y->image && x->ngaps == y->ngaps,
			  "%s: chunk %zu differs (0x%llx against 0x%llx)", what, k,
			  (unsigned long long)x->addr, (unsigned long long)y->addr);
	}
	for (size_t g = 0; g < a->ngaps; g++)
		cr_assert(a->gaps[g].from == b->gaps[g].from && a->gaps[g].to == b->gaps[g].to, "%s",
			  what);
}

static int find_with(struct fixture *f, const struct hd_chunk_roots *roots,
		     struct hd_chunk_list *out)
{
	hd_error_clear();
	return chunks_find(out, f->t.proc, &f->r, &f->t.h.expect, &f->classes, roots, f->threads,
			   f->nthreads);
}

/* Read from the roots discovery lists, the chains are those the walk of
 * the whole image heap finds. */
Test(chunks, roots_find_what_the_walk_finds)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture f;
		setup(&f, PRESETS[i]);
		struct hd_chunk_roots roots;
		collect_roots(&f, &roots);
		cr_assert_gt(roots.n, 0, "%s: no Space or HeapAllocation listed", PRESETS[i]->name);
		struct hd_chunk_list walked = {0}, read = {0};
		cr_assert_eq(find_with(&f, NULL, &walked), 0, "%s", hd_error_message());
		cr_assert_not(walked.by_roots);
		cr_assert_eq(find_with(&f, &roots, &read), 0, "%s", hd_error_message());
		cr_assert(read.by_roots, "%s: the roots were not used", PRESETS[i]->name);
		cr_assert_gt(read.n - read.image, 0, "%s", PRESETS[i]->name);
		assert_same_chunks(&walked, &read, PRESETS[i]->name);
		chunk_list_free(&walked);
		chunk_list_free(&read);
		chunk_roots_free(&roots);
		teardown(&f);
	}
}

static int cmp_root_off(const void *a, const void *b)
{
	const struct hd_chunk_root *x = a, *y = b;
	return (x->off > y->off) - (x->off < y->off);
}

/* A list that does not hold for this image heap (an entry that is stale
 * or was tampered with) is not used: the image heap is walked, and the
 * chunks are those of the walk. */
Test(chunks, roots_that_do_not_hold_are_walked_past)
{
	static const char *const how[] = {"another hub", "not an object of the class", "out of order",
					  "beyond the image heap", "between the image chunks"};
	for (size_t i = 0; i < NPRESETS; i++) {
		for (size_t h = 0; h < sizeof how / sizeof *how; h++) {
			struct fixture f;
			setup(&f, PRESETS[i]);
			const struct hd_layout *L = &f.t.h.expect;
			struct hd_chunk_roots roots;
			collect_roots(&f, &roots);
			cr_assert_geq(roots.n, 2, "%s", PRESETS[i]->name);
			struct hd_chunk_root *last = &roots.v[roots.n - 1];
			switch (h) {
			case 0: last->hub_off += 8; break;
			case 1: last->off = L->class_hub - L->image_start; break;
			case 2: roots.v[0].off = last->off + 8; break;
			case 3: last->off = L->image_size + 64; break;
			default: last->off = L->image_size - 8; break; /* past every chunk's top */
			}
			if (h == 1) /* kept in address order */
				qsort(roots.v, roots.n, sizeof *roots.v, cmp_root_off);
			struct hd_chunk_list walked = {0}, read = {0};
			cr_assert_eq(find_with(&f, NULL, &walked), 0, "%s", hd_error_message());
			cr_assert_eq(find_with(&f, &roots, &read), 0, "%s: %s: %s", PRESETS[i]->name,
				     how[h], hd_error_message());
			cr_assert_not(read.by_roots, "%s: %s: the list was used", PRESETS[i]->name,
				      how[h]);
			cr_assert_eq(hd_error_class(), HD_OK, "%s: %s", PRESETS[i]->name, how[h]);
			assert_same_chunks(&walked, &read, how[h]);
			chunk_list_free(&walked);
			chunk_list_free(&read);
			chunk_roots_free(&roots);
			teardown(&f);
		}
	}
}

/* The root-class objects a walk of a real image heap meets, in order. */
struct walked_roots {
	const struct hd_chunk_roots *want;
	uint64_t image_start;
	size_t n;
};

static int check_walked_root(void *ctx, const struct hd_object *o)
{
	struct walked_roots *x = ctx;
	if (!chunks_is_root_class(o->hubinfo.cls))
		return 0;
	cr_assert_lt(x->n, x->want->n, "the walk meets more root objects than listed");
	const struct hd_chunk_root *r = &x->want->v[x->n++];
	cr_assert_eq(r->off, o->addr - x->image_start, "root %zu", x->n - 1);
	cr_assert_eq(r->hub_off, o->hub - x->image_start, "root %zu", x->n - 1);
	return 0;
}

/* On the real images tests/fetch-pkl.sh caches (skipped without them):
 * the roots discovery lists are exactly the Space and HeapAllocation
 * objects a walk of the whole image heap meets. */
Test(chunks, roots_of_the_real_images_are_the_walks)
{
	static const char *const versions[] = {"0.25.1-2", "0.30.2"};
	const char *cache = getenv("HDUMP_CACHE"), *home = getenv("HOME");
	size_t tried = 0;
	for (size_t i = 0; i < sizeof versions / sizeof *versions; i++) {
		char path[512];
		if (cache)
			snprintf(path, sizeof path, "%s/pkl/%s/pkl", cache, versions[i]);
		else
			snprintf(path, sizeof path, "%s/.cache/hdump/pkl/%s/pkl", home ? home : "",
				 versions[i]);
		if (access(path, R_OK) != 0)
			continue;
		tried++;
		struct hd_elfimage img;
		struct exe x;
		struct hd_events quiet = {0};
		cr_assert_eq(exe_open(&x, path, &img), 0, "%s", hd_error_message());
		cr_assert_eq(exe_discover(&x, &quiet, NULL), 0, "%s", hd_error_message());
		struct hd_chunk_roots roots;
		cr_assert_eq(chunk_roots_collect(&roots, &x.naming.objs, &x.L), 0);
		cr_assert_gt(roots.n, 0, "%s: no root listed", versions[i]);
		struct hd_walker w;
		cr_assert_eq(hw_init(&w, &x.L, x.mv, classes_lookup, &x.classes), 0);
		struct walked_roots walked = {&roots, x.L.image_start, 0};
		cr_assert_eq(hw_image_objects(&w, check_walked_root, &walked), 0, "%s",
			     hd_error_message());
		cr_assert_eq(walked.n, roots.n, "%s: %zu of %zu listed roots walked", versions[i],
			     walked.n, roots.n);
		hw_fini(&w);
		chunk_roots_free(&roots);
		exe_close(&x);
		elfimage_close(&img);
	}
	if (!tried)
		cr_log_warn("no pkl image cached (tests/fetch-pkl.sh): the real images were not tried");
}
