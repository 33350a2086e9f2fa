#include "../common/escape.h"
#include "../common/hd_error.h"
#include "../symbols/discover.h"
#include "../symbols/elfimage.h"
#include "run.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>

/* Where an offline image heap is placed: any chunk-aligned address works
 * (references are heap-base relative); this one keeps ids recognisable
 * and far from 0. */
#define OFFLINE_IMAGE_START 0x10000000000ull

static int image_chunks(void *ctx, struct hd_walker *w, hd_chunk_fn fn, void *fnctx)
{
	(void)ctx;
	return hw_image_chunks(w, fn, fnctx);
}

int run_exe(const struct hd_options *opt)
{
	struct hd_elfimage img;
	if (elfimage_open(opt->exe, &img) != 0)
		return -1;
	char version[4 * sizeof img.vm_version];
	if (opt->verbose)
		fprintf(stderr, "hdump: %s: %s, image heap of %llu bytes\n", opt->exe,
			img.vm_version[0] ? hd_escape(img.vm_version, version, sizeof version)
					  : "unknown VM version",
			(unsigned long long)img.heap_size);
	int rc = -1;
	struct hd_layout L;
	struct hd_classes classes = {0};
	uint64_t *hubs = NULL;
	size_t nhubs = 0;
	hd_memview *mv = mv_new_local();
	if (!mv || mv_add_local(mv, OFFLINE_IMAGE_START, elfimage_heap(&img), img.heap_size) != 0)
		goto out;
	if (discover_layout(mv, OFFLINE_IMAGE_START, img.heap_size, &L, &hubs, &nhubs,
			    opt->verbose ? stderr : NULL) != 0)
		goto out;
	if (classes_build(&classes, mv, &L, hubs, nhubs) != 0)
		goto out;
	struct hd_dump_input in = {
		.L = &L, .classes = &classes, .mv = mv, .chunks = image_chunks, .threads = opt->threads,
	};
	char *copy = strdup(opt->exe);
	if (!copy) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		goto out;
	}
	struct dump_session session;
	rc = session_begin(&session, opt, basename(copy));
	free(copy);
	if (rc == 0)
		rc = session_attempt(&session, &in);
	rc = session_end(&session, &in, rc);
out:
	classes_free(&classes);
	free(hubs);
	mv_free(mv);
	elfimage_close(&img);
	return rc;
}
