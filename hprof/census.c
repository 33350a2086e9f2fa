#include "census.h"

#include "../common/interrupt.h"

#include <stdlib.h>
#include <string.h>

struct census_ctx {
	const struct hd_dump_input *in;
	struct hd_census *c;
	struct hd_walker *w;
};

static int census_object(void *ctx, const struct hd_object *o)
{
	struct census_ctx *x = ctx;
	const struct hd_class *cls = o->hubinfo.cls;
	if (cls->is_filler) {
		x->c->fillers++;
		return 0;
	}
	size_t k = (size_t)(cls - x->in->classes->v);
	x->c->count[k]++;
	x->c->size[k] += o->size;
	x->c->objects++;
	x->c->bytes += o->size;
	return objindex_add(&x->c->starts, o->addr);
}

static int census_chunk(void *ctx, const struct hd_chunk *ch)
{
	struct census_ctx *x = ctx;
	if (hd_interrupted())
		return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
	x->c->chunks++;
	x->w->in_image_heap = ch->image;
	return hw_walk_range(x->w, ch->first, ch->top, ch->gaps, ch->ngaps, census_object, x);
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
	if (objindex_init(&c->starts, in->L->chunk_size) != 0) {
		census_free(c);
		return -1;
	}
	struct hd_walker w;
	if (hw_init(&w, in->L, in->mv, classes_lookup, (void *)in->classes) != 0 ||
	    hw_cache_hubs(&w) != 0) {
		hw_fini(&w);
		census_free(c);
		return -1;
	}
	struct census_ctx x = {in, c, &w};
	int rc = in->chunks(in->chunks_ctx, &w, census_chunk, &x);
	hw_fini(&w);
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
	memset(c, 0, sizeof *c);
}
