/* A process's memory cgroup, read from the files the kernel writes: which
 * cgroup (/proc/PID/cgroup), where the hierarchies are mounted
 * (/proc/self/mountinfo), its usage against its limit and its event
 * counters (v2 memory.current, memory.max, memory.events; v1
 * memory.usage_in_bytes, memory.limit_in_bytes, memory.failcnt,
 * memory.oom_control), and the processes it holds (cgroup.procs).  Every
 * file is hostile: lines and paths are bounded, a path that leaves its
 * hierarchy ("..") is refused, numbers out of range are "unknown". */
#ifndef HD_CGROUP_H
#define HD_CGROUP_H

#include "hd_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CGROUP_PATH_MAX 512

/* Where the memory hierarchies are mounted: the v1 memory controller's and
 * the v2 hierarchy's ("" when not mounted). */
struct cgroup_mounts {
	char v1_memory[CGROUP_PATH_MAX];
	char v2[CGROUP_PATH_MAX];
};

/* From a file in /proc/PID/mountinfo's format (a missing file: neither). */
void cgroup_find_mounts(const char *mountinfo, struct cgroup_mounts *m);

/* The memory cgroup whose limit is closest: of the process's cgroup and its
 * ancestors, the one with the least room left under its limit (or the
 * process's own when none has a limit). */
struct cgroup_memory {
	int version;                  /* 0: no memory cgroup found; 1 or 2 */
	char dir[CGROUP_PATH_MAX];    /* that cgroup's directory */
	long long current;            /* bytes charged, -1 unknown */
	long long limit;              /* bytes, -1 none */
	/* Counters that only grow (-1: unknown).  v2 memory.events: "high"
	 * (reclaim forced by memory.high), "max" (usage hit memory.max),
	 * "oom", "oom_kill"; v1: max = memory.failcnt, oom_kill from
	 * memory.oom_control, high and oom unknown. */
	long long events_high, events_max, events_oom, events_oom_kill;
	/* The process's own v2 cgroup directory ("" when it has none or no v2
	 * hierarchy is mounted), whichever hierarchy holds the memory
	 * controller: PSI's memory.pressure is in every v2 cgroup, on a
	 * hybrid system too, where the numbers above come from v1. */
	char v2_dir[CGROUP_PATH_MAX];
};

/* Reads the memory cgroup of the process whose cgroup file (the format of
 * /proc/PID/cgroup) is CGROUP_FILE, with the hierarchies at M.  A process
 * in no memory cgroup gets version 0.  Errors: HD_E_NOENT (no CGROUP_FILE:
 * the process is gone). */
HD_MUST_CHECK int cgroup_memory_read(const char *cgroup_file, const struct cgroup_mounts *m,
				     struct cgroup_memory *out);

/* Processes listed at most by one read of cgroup.procs. */
#define CGROUP_MAX_PROCS 65536u

/* The processes in the cgroup directory DIR (its cgroup.procs; not its
 * descendants'), malloc'd into *PIDS (*N of them).  Errors: HD_E_NOENT (no
 * such cgroup), HD_E_PERM, HD_E_INTERNAL (memory, more than
 * CGROUP_MAX_PROCS). */
HD_MUST_CHECK int cgroup_procs(const char *dir, pid_t **pids, size_t *n);

#endif
