/* A dump file written around the page cache.  Its bytes are copied into
 * aligned blocks that a thread of its own writes with O_DIRECT while the
 * dump goes on: the kernel neither copies them into cache pages nor writes
 * those back and reclaims them later, CPU that the walk needs on a small
 * machine.  Every block but the last is DIO_BLOCK bytes, so every write is
 * aligned but the file's tail, which is written through the cache.  Where
 * the file system refuses O_DIRECT (at fcntl, or a write's EINVAL) the same
 * thread writes through the cache, and starts each DIO_WRITEBACK_STEP's
 * write-back at once (sync_file_range) so that the device writes while the
 * dump is made instead of while the caller waits for the file at its end
 * (output.c: sync_file_range, or fsync with --sync). */
#ifndef HD_CLI_DIO_H
#define HD_CLI_DIO_H

#include "../include/hdump.h"

#include <stdbool.h>
#include <stddef.h>

/* What O_DIRECT needs of a buffer's address, a write's size and offset on
 * any device of up to 4 KiB logical blocks; larger ones refuse a write with
 * EINVAL, and the file is then written through the cache. */
#define DIO_ALIGN 4096u
#define DIO_BLOCK (1u << 20)
/* Bytes written through the cache whose write-back is not started yet: at
 * most this many. */
#define DIO_WRITEBACK_STEP (8u << 20)

typedef struct hd_dio hd_dio;

/* The class of a failed write's errno: a full disk or quota, or any other
 * output error. */
enum hdump_error_class dio_error_class(int e);

/* Writes FD, a regular file, from offset 0, with O_DIRECT when TRY_DIRECT
 * and the file system allows it; NAME (for messages) must outlive D.  NULL
 * with HDUMP_E_INTERNAL recorded. */
hd_dio *dio_new(int fd, const char *name, bool try_direct);

/* Copies BUF for the thread; waits only while every block waits for the
 * device.  Errors (HDUMP_E_DISK_FULL, HDUMP_E_OUTPUT): a write of the
 * thread failed, found when a full block is handed over (so at most a
 * block later) and by every dio_flush and dio_rewind after it. */
HDUMP_MUST_CHECK int dio_write(hd_dio *d, const void *buf, size_t len);

/* Waits until everything given is written, the tail included.  Errors as
 * dio_write's. */
HDUMP_MUST_CHECK int dio_flush(hd_dio *d);

/* Writes nothing more of what was given and empties the file (a retried
 * dump).  Errors as dio_write's. */
HDUMP_MUST_CHECK int dio_rewind(hd_dio *d);

/* True while the file is written with O_DIRECT.  Asked while the thread
 * has nothing to write: after dio_new, dio_flush or dio_rewind. */
bool dio_is_direct(const hd_dio *d);

/* Stops the thread (waiting for a write under way) and frees D (NULL:
 * nothing).  Writes nothing more. */
void dio_free(hd_dio *d);

#endif
