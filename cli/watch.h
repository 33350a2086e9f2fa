/* hdump watch: a watchdog that dumps native images when a trigger fires
 * (heap occupancy, cgroup or process memory, a signal or a file, a period,
 * the target's exit or fatal signal), within safety limits, and reports
 * each event as a JSON line on stdout (README, "Watchdog"). */
#ifndef HD_CLI_WATCH_H
#define HD_CLI_WATCH_H

#include "watch_parse.h"
#include "../include/hdump.h"

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#define WATCH_MAX_PIDS 64

struct watch_config {
	pid_t pids[WATCH_MAX_PIDS];
	size_t npids;
	const char *cgroup;   /* --cgroup DIR */
	char **command;       /* -- CMD ARGS..., NULL-terminated */
	struct watch_threshold heap, memory, rss;
	struct watch_pressure pressure; /* --pressure: PSI trigger on memory */
	uint64_t every_ms;        /* 0: no periodic dump */
	uint64_t min_interval_ms; /* per target */
	uint64_t interval_ms;     /* sampling period */
	const char *trigger_file;
	const char *dir;
	unsigned max_dumps;       /* 0: unlimited */
	unsigned keep;            /* 0: keep all */
	bool on_exit, on_signal;
	bool snapshot_auto;       /* --snapshot not given or "auto" */
	const char *jdk;
	bool gzip;            /* -z: dumps written .hprof.gz */
	int gzip_level;       /* --gzip-level, 0: the default */
	struct hdump_options dump;
};

/* Parses `hdump watch`'s arguments (ARGV[0] is "watch").  Returns true to
 * go on; false with *EXIT_CODE set (help printed, or a usage error told on
 * ERR). */
bool watch_options_parse(int argc, char **argv, struct watch_config *c, FILE *out, FILE *err,
			 int *exit_code);

/* Runs the watchdog until a signal, --max-dumps, or the end of its targets
 * (of CMD).  Returns the exit code (0 for all of those). */
int watch_run(const struct watch_config *c);

/* hdump watch ARGS: both of the above. */
int watch_main(int argc, char **argv);

#endif
