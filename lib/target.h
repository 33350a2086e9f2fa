/* What an hdump_target (include/hdump.h) holds, and the entry a unit test
 * uses to open a process it simulates. */
#ifndef HD_LIB_TARGET_H
#define HD_LIB_TARGET_H

#include "../include/hdump.h"
#include "core.h"
#include "dcacheuse.h"
#include "events.h"
#include "exe.h"
#include "heapusage.h"
#include "live.h"
#include "process.h"
#include "session.h"

struct hdump_target {
	enum hdump_target_kind kind;
	struct hd_events ev;
	struct hd_elfimage img;
	bool discovered;
	char *jdk_dir;                  /* hdump_set_jdk's, NULL: an installed JDK */
	struct dcache_use cache;        /* hdump_set_discovery_cache's, and what it did */
	struct exe exe;                 /* HDUMP_TARGET_EXECUTABLE */
	struct live live;               /* HDUMP_TARGET_PROCESS */
	struct hd_real_process *real;   /* the process ops' context, when real */
	struct hd_core *core;           /* HDUMP_TARGET_CORE: the ops' context (live) */
	struct histogram histo;         /* of the last successful dump */
	struct heapusage *heapusage;    /* hdump_heap_usage's roots, found at its first call */
};

/* hdump_open_process over OPS (CTX), which may simulate a process. */
HD_MUST_CHECK hdump_target *target_open_process(const struct hd_process_ops *ops, void *ctx,
						pid_t pid);

#endif
