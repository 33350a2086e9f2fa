/* The dump file: created only for the user who asked (mode 0600), never
 * through a symlink, never over an existing file without --force, and
 * visible under its name only once complete: it is written to a hidden
 * temporary file beside the target and renamed at the end.
 *
 * Streams are written in place instead: "-" (standard output), a character
 * device (/dev/null, a terminal) and a FIFO.  Only a regular file, or
 * nothing, is ever replaced — a device node, FIFO, socket, directory or
 * symlink never is, --force or not. */
#ifndef HD_OUTPUT_H
#define HD_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hd_output {
	int fd;
	bool is_stream; /* written in place: no temporary file, no rename */
	bool force;
	char *path;     /* final name; NULL for standard output */
	char *tmp_path; /* hidden temporary name, NULL once renamed */
};

/* Errors: HDUMP_E_OUTPUT_EXISTS (a regular file, without FORCE), HDUMP_E_OUTPUT
 * (directory missing, no permission, a name that is not a regular file nor a
 * stream), HDUMP_E_INTERRUPTED (a signal while waiting for a FIFO's reader). */
int output_open(struct hd_output *o, const char *path, bool force);

/* struct hdump_sink's write: all of BUF.  Errors: HDUMP_E_DISK_FULL, HDUMP_E_OUTPUT. */
int output_write(void *ctx, const void *buf, size_t len);

/* struct hdump_sink's rewind: starts the file over (a retried dump).
 * Fails on a stream once anything was written. */
int output_rewind(void *ctx, uint64_t written);

/* Flushes to disk and gives the file its final name. */
int output_commit(struct hd_output *o);

/* Removes whatever was written (idempotent; safe after a commit). */
void output_abort(struct hd_output *o);

#endif
