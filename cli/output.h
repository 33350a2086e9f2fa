/* The dump file: created only for the user who asked (mode 0600), never
 * through a symlink, never over an existing file without --force, and
 * visible under its name only once complete: it is written to a hidden
 * temporary file beside the target and renamed at the end.  "-" streams to
 * standard output instead. */
#ifndef HD_OUTPUT_H
#define HD_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

struct hd_output {
	int fd;
	bool is_stdout;
	bool force;
	char *path;     /* final name */
	char *tmp_path; /* hidden temporary name, NULL once renamed */
};

/* Errors: HD_E_OUTPUT_EXISTS, HD_E_OUTPUT (directory missing, no permission). */
int output_open(struct hd_output *o, const char *path, bool force);

/* hprof_sink_fn: writes all of BUF.  Errors: HD_E_DISK_FULL, HD_E_OUTPUT. */
int output_write(void *ctx, const void *buf, size_t len);

/* Starts the file over (a retried dump).  Fails on standard output once
 * anything was written. */
int output_rewind(struct hd_output *o, unsigned long long written);

/* Flushes to disk and gives the file its final name. */
int output_commit(struct hd_output *o);

/* Removes whatever was written (idempotent; safe after a commit). */
void output_abort(struct hd_output *o);

#endif
