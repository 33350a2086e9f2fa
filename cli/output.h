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

struct hd_dio;
struct hd_gzsink;

struct hd_output {
	int fd;
	bool is_stream; /* written in place: no temporary file, no rename */
	bool force;
	/* --sync: the file and its name survive a crash once output_commit
	 * returns (fsync of the file, then of its directory).  Set after
	 * output_open.  Without it the file is complete for every reader, a full
	 * disk failed the dump, but the kernel may still be writing it back. */
	bool sync;
	/* The file system may report a full disk only at write-back: the
	 * commit waits for the device (see output.c). */
	bool wait_for_device;
	char *path;     /* final name; NULL for standard output */
	char *tmp_path; /* hidden temporary name, NULL once renamed */
	struct hd_gzsink *gz; /* output_set_gzip: compresses what output_write gets */
	uint64_t bytes_in;    /* given to output_write since the last rewind */
	uint64_t bytes_out;   /* that reached the file (compressed, with gzip) */
	struct hd_dio *dio;   /* writes a regular file (see dio.h); NULL for a stream */
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

/* The sink that writes O: a file's can start over, a stream's cannot (no
 * rewind: the library then reads the heap twice, struct hdump_sink). */
struct hdump_sink output_sink(struct hd_output *o);

/* Compresses everything written from now on into one gzip member (see
 * gzsink.h) on THREADS threads (0: one per CPU, at most 8) at LEVEL (1..9,
 * 0: the default, 1).  Call after output_open, before the first write.
 * Errors: HDUMP_E_USAGE (a level out of range, or bytes already written),
 * HDUMP_E_INTERNAL. */
int output_set_gzip(struct hd_output *o, unsigned threads, int level);

/* True when PATH names a gzip file (ends in ".gz"). */
bool output_name_wants_gzip(const char *path);

/* Writes what is left (with gzip: compresses it and writes the trailer
 * first), waits for the device to have it (with sync: to hold it durably)
 * and gives the file its final name.  Errors: HDUMP_E_DISK_FULL,
 * HDUMP_E_OUTPUT, HDUMP_E_OUTPUT_EXISTS (a file appeared under the name). */
int output_commit(struct hd_output *o);

/* Removes whatever was written (idempotent; safe after a commit). */
void output_abort(struct hd_output *o);

#endif
