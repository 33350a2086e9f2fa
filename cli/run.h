/* The commands behind the options: what to dump, and the shared tail that
 * counts, prints the histogram and writes the file. */
#ifndef HD_RUN_H
#define HD_RUN_H

#include "../hprof/heapdump.h"

#include <stdbool.h>
#include <sys/types.h>

struct hd_options {
	pid_t pid;
	const char *exe;
	const char *output;   /* NULL: default name (unless --histo alone) */
	bool force;
	bool histo;
	bool verbose;
	bool json;
	bool list_isolates;
	int isolate;          /* -1: the application's */
	unsigned retries;
};

/* --exe: the image heap of an executable on disk. */
int run_exe(const struct hd_options *opt);

/* Census, histogram and HPROF for IN; NAME_HINT names the default file
 * ("hdump-<hint>-<time>.hprof"). */
int run_dump(const struct hd_options *opt, const struct hd_dump_input *in, const char *name_hint);

#endif
