#include "census.h"

#include "../common/grow.h"
#include "../common/interrupt.h"
#include "workpool.h"

#include <stdlib.h>
#include <string.h>

/* What one thread counts; summed into the census at the end. */
struct tally {
	const struct hd_classes *classes;
	struct hd_walker w;
	hd_memview *mv;      /* its own view (NULL: the input's) */
	uint64_t *count, *size; /* per class: the census's objects and bytes, summed at the end */
	uint64_t fillers;
	/* The bits of the region the chunk walked alone owns, from BASE; NULL:
	 * starts go through the shared index STARTS (one thread). */
	uint64_t *bits;
	uint64_t base, region_size;
	struct hd_objindex *starts;
};

static int count_object(void *ctx, const struct hd_object *o)
{
	struct tally *t = ctx;
	const struct hd_class *cls = o->hubinfo.cls;
	if (cls->is_filler) {
		t->fillers++;
		return 0;
	}
	size_t k = (size_t)(cls - t->classes->v);
	t->count[k]++;
	t->size[k] += o->size;
	if (!t->bits)
		return objindex_add(t->starts, o->addr);
	uint64_t i = (o->addr - t->base) >> 3;
	if (o->addr - t->base >= t->region_size) /* below BASE too: it wraps */
		return hd_fail(HD_E_INTERNAL, "object 0x%llx outside its chunk's region",
			       (unsigned long long)o->addr);
	objindex_bit_set(t->bits, i);
	return 0;
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

/* The census's threads: the aligned chunks, each in a region of its own,
 * as jobs; BITS[j] is the region of job J's chunk LIST->v[JOBS[j]]. */
struct pass {
	const struct hd_chunklist *list;
	const size_t *jobs;
	uint64_t **bits;
	struct tally *tallies;
};

static int run_job(void *ctx, unsigned worker, size_t job)
{
	struct pass *p = ctx;
	struct tally *t = &p->tallies[worker];
	const struct hd_chunk *ch = &p->list->v[p->jobs[job]];
	t->bits = p->bits[job];
	t->base = ch->addr;
	int rc = walk_chunk(t, ch);
	t->bits = NULL;
	return rc;
}

static int tally_init(struct tally *t, const struct hd_dump_input *in, struct hd_census *c,
		      bool own_view)
{
	size_t n = in->classes->n ? in->classes->n : 1;
	*t = (struct tally){.classes = in->classes, .region_size = in->L->chunk_size,
			    .starts = &c->starts};
	hd_memview *mv = in->mv;
	if (own_view && !(mv = t->mv = mv_clone(mv)))
		return -1;
	t->count = calloc(n, sizeof *t->count);
	t->size = calloc(n, sizeof *t->size);
	if (!t->count || !t->size)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	if (hw_init(&t->w, in->L, mv, classes_lookup, (void *)in->classes) != 0)
		return -1;
	return hw_cache_hubs(&t->w);
}

static void tally_fini(struct tally *t)
{
	hw_fini(&t->w);
	mv_free(t->mv);
	free(t->count);
	free(t->size);
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

/* Walks every chunk of C->list: the ones that own their region on up to
 * IN's threads, then the others on this one. */
static int walk_all(const struct hd_dump_input *in, struct hd_census *c)
{
	const struct hd_chunklist *l = &c->list;
	size_t *jobs = malloc((l->n ? l->n : 1) * sizeof *jobs);
	uint64_t **bits = malloc((l->n ? l->n : 1) * sizeof *bits);
	bool *parallel = calloc(l->n ? l->n : 1, sizeof *parallel);
	struct pass p = {.list = l, .jobs = jobs, .bits = bits};
	size_t njobs = 0;
	int rc = jobs && bits && parallel ? 0 : hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; rc == 0 && i < l->n; i++) {
		rc = claim_region(c, &l->v[i], in->L->chunk_size, &bits[njobs]);
		if (rc == 0 && bits[njobs]) {
			parallel[i] = true;
			jobs[njobs++] = i;
		}
	}
	unsigned nthreads = workpool_threads(in->threads, njobs);
	unsigned ready = 0;
	if (rc == 0 && !(p.tallies = calloc(nthreads, sizeof *p.tallies)))
		rc = hd_fail(HD_E_INTERNAL, "out of memory");
	for (; rc == 0 && ready < nthreads; ready++)
		rc = tally_init(&p.tallies[ready], in, c, ready > 0);
	if (rc == 0)
		rc = workpool_run(&(struct hd_workpool){.njobs = njobs, .threads = nthreads,
							.run = run_job, .ctx = &p});
	for (size_t i = 0; rc == 0 && i < l->n; i++)
		if (!parallel[i])
			rc = walk_chunk(&p.tallies[0], &l->v[i]);
	for (unsigned k = 0; k < ready; k++) {
		const struct tally *t = &p.tallies[k];
		for (size_t i = 0; rc == 0 && i < in->classes->n; i++) {
			c->count[i] += t->count[i];
			c->size[i] += t->size[i];
			c->objects += t->count[i];
			c->bytes += t->size[i];
		}
		c->fillers += t->fillers;
		tally_fini(&p.tallies[k]);
	}
	free(p.tallies);
	free(jobs);
	free(bits);
	free(parallel);
	return rc;
}

int heap_census(const struct hd_dump_input *in, struct hd_census *c)
{
	memset(c, 0, sizeof *c);
	size_t n = in->classes->n ? in->classes->n : 1;
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
		rc = walk_all(in, c);
	if (rc == 0)
		rc = objindex_seal(&c->starts);
	if (rc != 0)
		census_free(c);
	return rc;
}

void census_free(struct hd_census *c)
{
	free(c->count);
	free(c->size);
	objindex_free(&c->starts);
	chunklist_free(&c->list);
	memset(c, 0, sizeof *c);
}
