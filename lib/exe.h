/* An executable's image heap, dumped with no process involved: the heap is
 * placed at a chosen address and read from the file's bytes. */
#ifndef HD_LIB_EXE_H
#define HD_LIB_EXE_H

#include "../agent/memview.h"
#include "../common/hd_error.h"
#include "../symbols/classes.h"
#include "../symbols/elfimage.h"
#include "../symbols/fieldnames.h"
#include "../symbols/statics.h"
#include "../symbols/layout.h"
#include "events.h"
#include "session.h"

/* Where an offline image heap is placed: any chunk-aligned address works
 * (references are heap-base relative); this one keeps ids recognisable
 * and far from 0. */
#define OFFLINE_IMAGE_START 0x10000000000ull

struct exe {
	struct hd_elfimage *img; /* the caller's */
	hd_memview *mv;          /* the image heap at OFFLINE_IMAGE_START */
	struct hd_layout L;
	struct hd_classes classes;
	struct hd_naming naming; /* the facts the classes' field names came from */
	struct hd_statics statics;
	struct dcache_use *cache; /* the discovery cache, NULL: none (dcacheuse.h) */
};

/* Reads PATH's image heap into IMG.  Errors: as elfimage_open's.  exe_close
 * in every case. */
HD_MUST_CHECK int exe_open(struct exe *x, const char *path, struct hd_elfimage *img);
/* Layout and class table from X->cache's entry where it holds up, else
 * from the image heap (and written to X->cache), fields named (JDK_DIR:
 * fieldnames_apply's). */
HD_MUST_CHECK int exe_discover(struct exe *x, const struct hd_events *ev, const char *jdk_dir);
/* One attempt (the image heap never changes): on success R and H hold the
 * results and the histogram. */
HD_MUST_CHECK int exe_dump(struct exe *x, const struct hdump_options *o,
			   const struct hdump_sink *sink, const struct hd_events *ev,
			   struct hdump_result *r, struct histogram *h);
/* Writes the discovery cache's entry when discovery ran afresh
 * (dcache_use_write): before exe_close, after the dumps. */
void exe_cache_write(struct exe *x, const struct hd_events *ev);
void exe_close(struct exe *x);

#endif
