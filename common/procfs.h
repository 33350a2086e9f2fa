/* Small readers for /proc and /sys: the "Key:  value" and single-number
 * files, and the list of a process's threads. */
#ifndef HD_PROCFS_H
#define HD_PROCFS_H

#include "hd_error.h"

#include <stddef.h>
#include <sys/types.h>

/* The number after "KEY:" in the file at PATH (/proc/PID/status,
 * /proc/meminfo), as written (kB fields stay in kB); -1 if absent. */
long long procfs_field(const char *path, const char *key);

/* The number a one-value file holds (memory.max, memory.current); -1 if it
 * is missing or says "max". */
long long procfs_number(const char *path);

/* A process's threads have at most this many ids listed per scan: the
 * kernel's own default threads-max is of this order. */
#define PROCFS_MAX_TASKS (1u << 20)

/* The thread ids in /proc/PID/task, in the directory's order, as a malloc'd
 * array of *N ids in *TIDS (the caller frees it).  Returns 0, or -1 with
 * HD_E_TARGET_GONE (no such process any more) or HD_E_INTERNAL (memory, or
 * more than PROCFS_MAX_TASKS threads) recorded. */
HD_MUST_CHECK int procfs_tasks(pid_t pid, pid_t **tids, size_t *n);

#endif
