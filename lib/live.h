/* A live dump: the process's isolates prepared from its executable, then
 * attempts of stop, snapshot (stop, copy or fork), scan, isolate choice and
 * census/writing, retried with backoff while the heap is caught mid-change.
 * Process access goes through struct hd_process_ops (process.h). */
#ifndef HD_LIB_LIVE_H
#define HD_LIB_LIVE_H

#include "../agent/attach.h"
#include "../agent/memview.h"
#include "../agent/procmaps.h"
#include "../symbols/elfimage.h"
#include "../symbols/fieldnames.h"
#include "../symbols/statics.h"
#include "../symbols/isolate.h"
#include "../symbols/threadlocals.h"
#include "events.h"
#include "process.h"
#include "stacks.h"
#include "session.h"

#define MAX_ISOLATES 16

/* What one isolate needs to be dumped: its layout and class table, both
 * discovered from the executable's image heap placed where this isolate
 * maps its copy, and what the last scan found. */
struct live_isolate {
	struct hd_layout L;
	struct hd_classes classes;
	struct hd_naming naming; /* the facts its classes' field names came from */
	struct hd_statics statics;
	struct hd_isolate scan;
};

struct live {
	const struct hd_process_ops *ops;
	void *ops_ctx;
	pid_t pid;
	struct hd_elfimage *img; /* the caller's */
	struct dcache_use *cache; /* the discovery cache, NULL: none (dcacheuse.h) */
	hd_memview *local;       /* .svm_heap at every isolate's address */
	hd_memview *proc;
	struct hd_maps maps;
	struct hd_target target;
	struct hd_threadlocals tl;
	struct hd_chunk_roots roots; /* where every isolate's chunk chains start */
	uint64_t starts[MAX_ISOLATES];
	size_t nisolates;
	size_t ignored_isolates; /* mapped beyond MAX_ISOLATES: warned of at discovery */
	struct live_isolate iso[MAX_ISOLATES];
	/* References into heap chunks left out (a core's, --partial), written
	 * as null by the dumps so far */
	uint64_t missing_refs;
	/* hdump_list_isolates' answer */
	struct hdump_isolate listed[MAX_ISOLATES];
	struct hdump_thread *listed_threads;
	struct thread_name *listed_names; /* what listed_threads[i].name points to */
	/* Thread stacks: the code info (when the image's tables decode), the
	 * last walk of the chosen isolate's threads, and whether a listing
	 * (live_list) walks them too (hdump_stacks). */
	struct hd_codeinfo ci;
	bool have_ci;
	bool want_stacks;
	struct live_stacks stacks;
	/* The snapshot the current dump takes (never AUTO), whether a fork
	 * refused while the target is held may fall back to stop (AUTO), and
	 * why it is the one taken (hdump_result.snapshot_reason). */
	enum hdump_snapshot snapshot;
	bool fork_fallback;
	char snapshot_reason[256];
};

/* Reads PID's maps and executable (into IMG) through OPS and finds its
 * isolates.  Errors: HD_E_NOENT ("no such process"), HD_E_PERM,
 * HD_E_NOT_NATIVE_IMAGE.  live_close in every case. */
HD_MUST_CHECK int live_open(struct live *lv, const struct hd_process_ops *ops, void *ops_ctx,
			    pid_t pid, struct hd_elfimage *img);

/* Layout, classes (fields named, JDK_DIR: fieldnames_apply's) and thread
 * locals of every isolate, from LV->cache's entry where it holds up, else
 * from the image heap (and written to it); then IMG's bytes are dropped and
 * the process's memory opened. */
HD_MUST_CHECK int live_discover(struct live *lv, const struct hd_events *ev, const char *jdk_dir);

/* The dump into SINK, with O's snapshot mode, retries and isolate; on
 * success R and H hold its results and histogram. */
HD_MUST_CHECK int live_dump(struct live *lv, const struct hdump_options *o,
			    const struct hdump_sink *sink, const struct hd_events *ev,
			    struct hdump_result *r, struct histogram *h);

/* The isolates found by one scan, with O's retries and choice (lv->listed). */
HD_MUST_CHECK int live_list(struct live *lv, const struct hdump_options *o,
			    const struct hd_events *ev);

/* Writes the discovery cache's entry when discovery ran afresh
 * (dcache_use_write): before live_close, after the dumps. */
void live_cache_write(struct live *lv, const struct hd_events *ev);

void live_close(struct live *lv);

#endif
