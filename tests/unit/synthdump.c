#include "synthdump.h"

#include "../../common/hd_error.h"
#include "../../symbols/discover.h"

#include <criterion/criterion.h>
#include <string.h>

void sd_open(struct sd_heap *d, const struct sh_params *p, unsigned repeat)
{
	memset(d, 0, sizeof *d);
	d->repeat = repeat;
	cr_assert_eq(sh_build(p, &d->h), 0, "%s: the generator failed", p->name);
	d->mv = mv_new_local();
	cr_assert_not_null(d->mv);
	cr_assert_eq(mv_add_local(d->mv, d->h.start, d->h.data, d->h.size), 0);
	cr_assert_eq(discover_layout(d->mv, d->h.start, d->h.size, &d->L, &d->hubs, &d->nhubs, NULL),
		     0, "%s: %s", p->name, hd_error_message());
	cr_assert_eq(classes_build(&d->classes, d->mv, &d->L, d->hubs, d->nhubs), 0, "%s: %s",
		     p->name, hd_error_message());
}

void sd_close(struct sd_heap *d)
{
	classes_free(&d->classes);
	free(d->hubs);
	mv_free(d->mv);
	sh_free(&d->h);
}

static int repeated_chunks(void *ctx, struct hd_walker *w, hd_chunk_fn fn, void *fnctx)
{
	const struct sd_heap *d = ctx;
	for (unsigned i = 0; i < d->repeat; i++)
		if (hw_image_chunks(w, fn, fnctx) != 0)
			return -1;
	return 0;
}

struct hd_dump_input sd_input(struct sd_heap *d, unsigned threads)
{
	return (struct hd_dump_input){.L = &d->L, .classes = &d->classes, .mv = d->mv,
				      .chunks = repeated_chunks, .chunks_ctx = d,
				      .threads = threads};
}
