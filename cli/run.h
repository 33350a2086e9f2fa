/* The command behind the options: open the target, discover, then list its
 * isolates or dump it into the output file, and say what was done. */
#ifndef HD_CLI_RUN_H
#define HD_CLI_RUN_H

#include "../include/hdump.h"

#include <stdbool.h>
#include <sys/types.h>

struct cli_options {
	pid_t pid;
	const char *exe;
	const char *output;   /* NULL: default name (unless --histo alone) */
	bool force;
	bool sync;            /* --sync: the file survives a crash once hdump exits 0 */
	bool histo;
	bool verbose;
	bool json;
	bool list_isolates;
	const char *jdk;      /* --jdk DIR, NULL: an installed JDK */
	bool stacks;          /* --stacks / --threads-only: print them, write no dump */
	bool gzip;            /* -z, or an output name ending in .gz */
	int gzip_level;       /* --gzip-level, 0: the default */
	bool quiet;           /* -q: no progress display, no warnings */
	const char *core;     /* --core FILE: dump a core file (EXE: its executable) */
	struct hdump_options dump;
	const char *cache_dir; /* --cache-dir DIR, NULL: the default's (hdump.h) */
	bool no_cache;         /* --no-cache */
};

/* 0, or -1 with the error recorded (hdump_error). */
int run(const struct cli_options *opt);

#endif
