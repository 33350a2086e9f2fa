#include "census.h"

#include "../common/grow.h"
#include "../common/interrupt.h"
#include "workpool.h"

#include <stdlib.h>
#include <string.h>

/* A thread of the census: its counts, and its walker. */
struct tally {
	struct census_counts n;
	struct hd_walker w;
	hd_memview *mv;      /* its own view (NULL: the input's) */
	struct hd_objindex *starts; /* where starts go while N has no region's bits */
};

int census_outside(uint64_t addr)
{
	return hd_fail(HD_E_INTERNAL, "object 0x%llx outside its chunk's region",
		       (unsigned long long)addr);
}

static int count_object(void *ctx, const struct hd_object *o)
{
	struct tally *t = ctx;
	if (!census_count(&t->n, o))
		return 0;
	if (!t->n.bits)
		return objindex_add(t->starts, o->addr);
	return census_start(&t->n, o->addr);
}

static int walk_chunk(struct tally *t, const struct hd_chunk *ch)
{
	if (hd_interrupted())
		return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
	t->w.in_image_heap = ch->image;
	return hw_walk_range_small(&t->w, ch->first, ch->top, ch->gaps, ch->ngaps, count_object, t);
}

static int collect_chunk(void *ctx, const struct hd_chunk *ch)
{
	struct hd_chunklist *l = ctx;
	if (hd_grow(&l->v, &l->cap, l->n, sizeof *l->v, 256) != 0)
		return -1;
	struct hd_chunk copy = *ch;
	copy.gaps = NULL;
	if (ch->ngaps) {
		struct hd_gap *g = malloc(ch->ngaps * sizeof *g);
		if (!g)
			return hd_fail(HD_E_INTERNAL, "out of memory");
		memcpy(g, ch->gaps, ch->ngaps * sizeof *g);
		copy.gaps = g;
	}
	l->v[l->n++] = copy;
	return 0;
}

static void chunklist_free(struct hd_chunklist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free((void *)l->v[i].gaps);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* The census's threads: the chunks that own their region, as jobs. */
struct pass {
	const struct hd_census *c;
	const size_t *jobs;  /* indices into C's chunks */
	struct tally *tallies;
};

static int run_job(void *ctx, unsigned worker, size_t job)
{
	struct pass *p = ctx;
	struct tally *t = &p->tallies[worker];
	size_t i = p->jobs[job];
	const struct hd_chunk *ch = &p->c->list.v[i];
	t->n.bits = p->c->own[i];
	t->n.base = ch->addr;
	int rc = walk_chunk(t, ch);
	t->n.bits = NULL;
	return rc;
}

int census_counts_init(struct census_counts *n, const struct hd_classes *t, uint64_t region_size)
{
	size_t k = t->n ? t->n : 1;
	*n = (struct census_counts){.classes = t->v, .region_size = region_size};
	/* A writer's own, written for every object: lines of their own. */
	n->count = hd_calloc_lines(k, sizeof *n->count);
	n->size = hd_calloc_lines(k, sizeof *n->size);
	return n->count && n->size ? 0 : -1;
}

void census_counts_add(struct hd_census *c, const struct census_counts *n)
{
	for (size_t i = 0; i < c->nclasses; i++) {
		c->count[i] += n->count[i];
		c->size[i] += n->size[i];
		c->objects += n->count[i];
		c->bytes += n->size[i];
	}
	c->fillers += n->fillers;
}

void census_counts_fini(struct census_counts *n)
{
	free(n->count);
	free(n->size);
	n->count = n->size = NULL;
}

static int tally_init(struct tally *t, const struct hd_dump_input *in, struct hd_census *c,
		      bool own_view)
{
	*t = (struct tally){.starts = &c->starts};
	hd_memview *mv = in->mv;
	if (own_view && !(mv = t->mv = mv_clone(mv)))
		return -1;
	if (census_counts_init(&t->n, in->classes, in->L->chunk_size) != 0)
		return -1;
	if (hw_init(&t->w, in->L, mv, classes_lookup, (void *)in->classes) != 0)
		return -1;
	return hw_cache_hubs(&t->w);
}

static void tally_fini(struct tally *t)
{
	hw_fini(&t->w);
	mv_free(t->mv);
	census_counts_fini(&t->n);
}

/* A chunk walked on a thread of its own must own its region: aligned, at a
 * region's start, within it, and the only chunk there (a chunk list may
 * name one twice). */
static int claim_region(struct hd_census *c, const struct hd_chunk *ch, uint64_t region,
			uint64_t **bits)
{
	*bits = NULL;
	if (!ch->aligned || (ch->addr & (region - 1)) || ch->first < ch->addr ||
	    ch->top > ch->addr + region || ch->top < ch->first)
		return 0;
	bool made;
	uint64_t *b = objindex_region(&c->starts, ch->addr, &made);
	if (!b)
		return -1;
	*bits = made ? b : NULL;
	return 0;
}

int census_walk(const struct hd_dump_input *in, struct hd_census *c)
{
	const struct hd_chunklist *l = &c->list;
	size_t *jobs = malloc((l->n ? l->n : 1) * sizeof *jobs);
	struct pass p = {.c = c, .jobs = jobs};
	size_t njobs = 0;
	int rc = jobs ? 0 : hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; rc == 0 && i < l->n; i++)
		if (c->own[i])
			jobs[njobs++] = i;
	unsigned nthreads = workpool_threads(in->threads, njobs);
	unsigned ready = 0;
	if (rc == 0 && !(p.tallies = calloc(nthreads, sizeof *p.tallies)))
		rc = hd_fail(HD_E_INTERNAL, "out of memory");
	for (; rc == 0 && ready < nthreads; ready++)
		rc = tally_init(&p.tallies[ready], in, c, ready > 0);
	if (rc == 0)
		rc = workpool_run(&(struct hd_workpool){.njobs = njobs, .threads = nthreads,
							.run = run_job, .ctx = &p});
	for (unsigned k = 0; k < ready; k++) {
		if (rc == 0)
			census_counts_add(c, &p.tallies[k].n);
		tally_fini(&p.tallies[k]);
	}
	free(p.tallies);
	free(jobs);
	return rc;
}

/* Claims the chunks' regions, then walks on this thread the chunks that
 * own none. */
static int walk_unowned(const struct hd_dump_input *in, struct hd_census *c)
{
	const struct hd_chunklist *l = &c->list;
	c->own = calloc(l->n ? l->n : 1, sizeof *c->own);
	if (!c->own)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	/* A region per chunk at most: each owns one, or shares one with others. */
	objindex_reserve(&c->starts, l->n);
	for (size_t i = 0; i < l->n; i++)
		if (claim_region(c, &l->v[i], in->L->chunk_size, &c->own[i]) != 0)
			return -1;
	struct tally t;
	int rc = tally_init(&t, in, c, false);
	for (size_t i = 0; rc == 0 && i < l->n; i++)
		if (!c->own[i])
			rc = walk_chunk(&t, &l->v[i]);
	if (rc == 0)
		census_counts_add(c, &t.n);
	tally_fini(&t);
	return rc;
}

int census_prepare(const struct hd_dump_input *in, struct hd_census *c)
{
	memset(c, 0, sizeof *c);
	c->nclasses = in->classes->n;
	size_t n = c->nclasses ? c->nclasses : 1;
	c->count = calloc(n, sizeof *c->count);
	c->size = calloc(n, sizeof *c->size);
	if (!c->count || !c->size) {
		census_free(c);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	struct hd_walker w;
	int rc = objindex_init(&c->starts, in->L->chunk_size);
	if (rc == 0 && (rc = hw_init(&w, in->L, in->mv, classes_lookup, (void *)in->classes)) == 0) {
		rc = in->chunks(in->chunks_ctx, &w, collect_chunk, &c->list);
		hw_fini(&w);
	}
	c->chunks = c->list.n;
	if (rc == 0)
		rc = walk_unowned(in, c);
	if (rc == 0)
		rc = objindex_seal(&c->starts);
	if (rc != 0)
		census_free(c);
	return rc;
}

int census_defer(struct hd_census *c, bool *deferred)
{
	*deferred = false;
	if (!objindex_direct(&c->starts))
		return 0;
	for (size_t i = 0; i < c->list.n; i++)
		if (c->own[i] && objindex_defer(&c->starts, c->list.v[i].addr) != 0)
			return -1;
	*deferred = c->deferred = true;
	return 0;
}

uint64_t census_deferred_bytes(const struct hd_census *c)
{
	uint64_t n = 0;
	for (size_t i = 0; c->deferred && i < c->list.n; i++)
		if (c->own[i])
			n += c->list.v[i].top - c->list.v[i].first;
	return n;
}

int heap_census(const struct hd_dump_input *in, struct hd_census *c)
{
	int rc = census_prepare(in, c);
	if (rc == 0 && (rc = census_walk(in, c)) != 0)
		census_free(c);
	return rc;
}

void census_free(struct hd_census *c)
{
	free(c->count);
	free(c->size);
	free(c->own);
	objindex_free(&c->starts);
	chunklist_free(&c->list);
	memset(c, 0, sizeof *c);
}
