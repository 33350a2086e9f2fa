/* Small readers for the "Key:  value" and single-number files of /proc and
 * /sys. */
#ifndef HD_PROCFS_H
#define HD_PROCFS_H

/* The number after "KEY:" in the file at PATH (/proc/PID/status,
 * /proc/meminfo), as written (kB fields stay in kB); -1 if absent. */
long long procfs_field(const char *path, const char *key);

/* The number a one-value file holds (memory.max, memory.current); -1 if it
 * is missing or says "max". */
long long procfs_number(const char *path);

#endif
