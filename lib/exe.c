#include "exe.h"
#include "dcacheuse.h"

#include "../symbols/discover.h"
#include "../symbols/imageobjs.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

int exe_open(struct exe *x, const char *path, struct hd_elfimage *img)
{
	memset(x, 0, sizeof *x);
	x->img = img;
	if (elfimage_open(path, img) != 0)
		return -1;
	x->mv = mv_new_local();
	if (!x->mv || mv_add_local(x->mv, OFFLINE_IMAGE_START, elfimage_heap(img), img->heap_size) != 0)
		return -1;
	return 0;
}

static int discover_fresh(struct exe *x, const struct hd_events *ev, const char *jdk_dir)
{
	uint64_t *hubs = NULL;
	size_t nhubs = 0;
	FILE *log = events_verbose_stream(ev);
	int rc = discover_layout_of_image(x->mv, OFFLINE_IMAGE_START, x->img, &x->L, &hubs, &nhubs,
					  log);
	if (rc == 0)
		rc = classes_build(&x->classes, x->mv, &x->L, hubs, nhubs);
	if (rc == 0)
		rc = fieldnames_apply(&x->naming, &x->classes, x->mv, &x->L, jdk_dir, log,
				      x->img);
	if (rc == 0)
		rc = statics_build(&x->statics, &x->naming.facts, &(struct hd_names_input){
			.mv = x->mv, .L = &x->L, .classes = &x->classes, .objs = &x->naming.objs, .log = log});
	if (log)
		fclose(log);
	free(hubs);
	return rc;
}

/* What the discovery cache keeps of X: no thread locals nor code info
 * (an executable runs no thread). */
static struct hd_discovery exe_discovery(struct exe *x)
{
	return (struct hd_discovery){&x->L, &x->classes, &x->statics, NULL, NULL, NULL, NULL};
}

int exe_discover(struct exe *x, const struct hd_events *ev, const char *jdk_dir)
{
	struct dcache_use *cache = x->cache;
	struct hd_discovery d = exe_discovery(x);
	if (!(dcache_use_open(cache, x->img, jdk_dir, ev) &&
	      dcache_use_apply(cache, &d, OFFLINE_IMAGE_START, x->mv, ev)) &&
	    (hd_error_is_fatal() || discover_fresh(x, ev, jdk_dir) != 0))
		return -1;
	dcache_use_done(cache, x->img, &d, ev);
	return 0;
}

static int image_chunks(void *ctx, struct hd_walker *w, hd_chunk_fn fn, void *fnctx)
{
	(void)ctx;
	return hw_image_chunks(w, fn, fnctx);
}

int exe_dump(struct exe *x, const struct hdump_options *o, const struct hdump_sink *sink,
	     const struct hd_events *ev, struct hdump_result *r, struct histogram *h)
{
	struct hd_dump_input in = {
		.L = &x->L, .classes = &x->classes, .mv = x->mv, .chunks = image_chunks,
		.statics = &x->statics, .threads = o->threads,
	};
	/* The dump does not read the image objects' index nor the field facts
	 * (discovery's; the class table holds the names): their memory is the
	 * writer's now. */
	imageobjs_free(&x->naming.objs);
	ff_free(&x->naming.facts);
	malloc_trim(0);
	struct dump_session s;
	session_begin(&s, o, sink, ev);
	s.attempts = 1;
	return session_end(&s, session_attempt(&s, &in, 1), r, h);
}

void exe_cache_write(struct exe *x, const struct hd_events *ev)
{
	struct hd_discovery d = exe_discovery(x);
	dcache_use_write(x->cache, &d, ev);
}

void exe_close(struct exe *x)
{
	statics_free(&x->statics);
	fieldnames_free(&x->naming);
	classes_free(&x->classes);
	mv_free(x->mv);
	memset(x, 0, sizeof *x);
}
