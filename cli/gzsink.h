/* A struct hdump_sink that gzip-compresses into another sink, on several
 * threads.
 *
 * The input is cut into fixed blocks, each deflated on its own (with the
 * previous block's last 32 KiB as its dictionary) and ended on a byte
 * boundary with a sync flush, the last with the final-block bit: the
 * pieces joined in order make one deflate stream, and the whole one RFC
 * 1952 member (mtime 0) whose CRC is combined from the blocks' — what gzip,
 * zcat and Eclipse MAT all read, where concatenated members are not read
 * by every tool.  Blocks do not depend on the thread count, so the output
 * is the same bytes for any number of threads.  A fixed number of blocks is
 * in flight (two per thread): memory is bounded whatever the input size.
 * Everything is written to the inner sink by the thread that calls
 * gzsink_write / gzsink_finish, in order. */
#ifndef HD_CLI_GZSINK_H
#define HD_CLI_GZSINK_H

#include "../include/hdump.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hd_gzsink hd_gzsink;

#define GZSINK_DEFAULT_LEVEL 1

/* Level 1: on HPROF it gives files about 5 % larger than level 6 for half
 * the CPU time, and in stop mode the target waits for the compression.
 * Compresses into INNER (copied; its ctx must outlive the sink) at LEVEL
 * (1..9, 0: GZSINK_DEFAULT_LEVEL) on THREADS threads (0: one per CPU, at
 * most 8; 1: on the writing thread).  NULL with HDUMP_E_USAGE (a level out
 * of range) or HDUMP_E_INTERNAL recorded. */
hd_gzsink *gzsink_new(const struct hdump_sink *inner, unsigned threads, int level);

/* struct hdump_sink's write and rewind (CTX: the hd_gzsink).  Errors: the
 * inner sink's, HDUMP_E_INTERNAL (zlib).  Rewind starts a new member after
 * rewinding the inner sink with what it received. */
int gzsink_write(void *ctx, const void *buf, size_t len);
int gzsink_rewind(void *ctx, uint64_t written);

/* Compresses what is left and writes the trailer.  Once only. */
HDUMP_MUST_CHECK int gzsink_finish(hd_gzsink *g);

/* Bytes given to the sink, and bytes it wrote to the inner sink. */
void gzsink_counts(const hd_gzsink *g, uint64_t *in, uint64_t *out);

/* Stops the threads and frees G (NULL: nothing). */
void gzsink_free(hd_gzsink *g);

#endif
