/* The commands behind the options: what to dump, and the shared tail that
 * counts, writes the file, prints the histogram and reports. */
#ifndef HD_RUN_H
#define HD_RUN_H

#include "../hprof/heapwrite.h"
#include "output.h"

#include <stdbool.h>
#include <sys/types.h>

enum hd_snapshot_mode {
	HD_SNAPSHOT_STOP,  /* walk the stopped target */
	HD_SNAPSHOT_COPY,  /* copy the heap out, resume, walk the copy */
	HD_SNAPSHOT_FORK,  /* fork it, resume, walk the frozen child */
};

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
	enum hd_snapshot_mode snapshot;
	unsigned threads;     /* 0: one per CPU */
};

/* --exe: the image heap of an executable on disk. */
int run_exe(const struct hd_options *opt);

/* -p: a running process. */
int run_live(const struct hd_options *opt);

/* One dump from start to end: the output is opened first (so an existing
 * file fails before any work), then attempts of census + writing, then the
 * histogram, the commit and the report. */
struct dump_session {
	const struct hd_options *opt;
	bool write_file;
	char *path;
	struct hd_output out;
	struct hd_census census;
	uint64_t written;
	uint64_t t0_ms;
};

int session_begin(struct dump_session *s, const struct hd_options *opt, const char *name_hint);
/* Census and (if a file is wanted) HPROF.  May be called again after a
 * failure: the output starts over. */
int session_attempt(struct dump_session *s, const struct hd_dump_input *in);
/* Histogram, commit, report; or, if RC != 0, removes the output.  Returns RC
 * or the first error of its own. */
int session_end(struct dump_session *s, const struct hd_dump_input *in, int rc);

#endif
