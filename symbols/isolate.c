#include "isolate.h"

#include "../common/hd_error.h"
#include "../common/interrupt.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>


size_t isolates_find(const struct hd_maps *maps, const struct hd_elfimage *img,
		     uint64_t *starts, size_t max)
{
	size_t n = 0, more = 0; /* stored, found beyond MAX */
	uint64_t last_more = 0;
	for (size_t i = 0; i < maps->n; i++) {
		const struct hd_mapping *m = &maps->v[i];
		if (m->dev != img->dev || m->ino != img->ino || !m->r)
			continue;
		/* The part of .svm_heap this mapping covers, if any. */
		uint64_t lo = m->offset > img->heap_offset ? m->offset : img->heap_offset;
		uint64_t len = m->end - m->start;
		if (lo >= img->heap_offset + img->heap_size || m->offset + len <= lo)
			continue;
		uint64_t start = m->start + (img->heap_offset - m->offset);
		if (lo != img->heap_offset)
			start = m->start - (m->offset - img->heap_offset);
		/* An isolate's copy sits just above its reserved, inaccessible null
		 * region; the loader's own mapping of the section does not. */
		const struct hd_mapping *below = maps_find(maps, start - 1);
		if (!below || below->r || below->ino == img->ino)
			continue;
		bool seen = false;
		for (size_t k = 0; k < n; k++)
			seen |= starts[k] == start;
		if (seen)
			continue;
		if (n < max) {
			starts[n++] = start;
		} else if (start > last_more) {
			/* Only counted: MAPS ascends, so a copy's later mappings give
			 * the start counted last again. */
			more++;
			last_more = start;
		}
	}
	for (size_t i = 1; i < n; i++) /* insertion sort: a handful of isolates */
		for (size_t k = i; k > 0 && starts[k - 1] > starts[k]; k--) {
			uint64_t tmp = starts[k];
			starts[k] = starts[k - 1];
			starts[k - 1] = tmp;
		}
	return n + more;
}

int isolate_scan(struct hd_isolate *iso, hd_memview *proc, const struct hd_maps *maps,
		 const struct hd_layout *L, const struct hd_classes *classes,
		 const struct hd_chunk_roots *roots, const struct hd_threadlocals *tl,
		 const struct hd_target *t)
{
	memset(iso, 0, sizeof *iso);
	iso->image_start = L->image_start;
	iso->heap_base = L->heap_base;
	struct hd_readable r;
	if (readable_init(&r, maps) != 0)
		return -1;
	struct hd_chunk_list chunks = {0};
	int rc = threadlist_read_learning(proc, &r, L, tl, t, &iso->head_word, &iso->threads,
					  &iso->nthreads);
	if (rc == 0)
		rc = (t->lacks_memory ? chunks_find_partial : chunks_find)(
			&chunks, proc, &r, L, classes, roots, iso->threads, iso->nthreads);
	readable_fini(&r);
	iso->chunks = chunks.v;
	iso->nchunks = chunks.n;
	iso->runtime_chunks = chunks.n - chunks.image;
	iso->gaps = chunks.gaps;
	iso->ngaps = chunks.ngaps;
	iso->chunks_by_roots = chunks.by_roots;
	return rc;
}

void isolate_free(struct hd_isolate *iso)
{
	free(iso->threads);
	free(iso->chunks);
	free(iso->gaps);
	memset(iso, 0, sizeof *iso);
}

int isolate_chunks(void *ctx, struct hd_walker *w, hd_chunk_fn fn, void *fnctx)
{
	(void)w;
	struct hd_isolate *iso = ctx;
	for (size_t i = 0; i < iso->nchunks; i++) {
		if (hd_interrupted())
			return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
		int rc = fn(fnctx, &iso->chunks[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int isolate_read_ranges(const struct hd_isolate *iso, unsigned extent, struct hd_range **r,
			size_t *n)
{
	struct hd_range *v = calloc(iso->nchunks + 2 * iso->nthreads + 1, sizeof *v);
	if (!v)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < iso->nchunks; i++)
		v[k++] = (struct hd_range){iso->chunks[i].addr, iso->chunks[i].top};
	for (size_t i = 0; i < iso->nthreads; i++) {
		const struct hd_ithread *th = &iso->threads[i];
		if (th->stack_lo && th->stack_hi > th->stack_lo &&
		    th->stack_hi - th->stack_lo <= MAX_STACK_COPY)
			v[k++] = (struct hd_range){th->stack_lo & ~7ull, th->stack_hi};
		v[k++] = (struct hd_range){th->addr, th->addr + extent};
	}
	*r = v;
	*n = k;
	return 0;
}
