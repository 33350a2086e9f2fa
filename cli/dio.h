/* A dump file written behind the dump: its bytes are copied into blocks
 * that a thread of its own writes while the next one fills, so the walk
 * never waits for a write unless the device is slower than the dump.
 *
 * Through the page cache up to a budget (dio_cache_budget: what the kernel
 * lets be dirty), then around it with O_DIRECT where the file system takes
 * it.  In the cache the dump costs a copy the kernel makes and writes back
 * after hdump exits, as jcmd's does; past the budget the kernel would
 * throttle the writes to the device's speed anyway, and O_DIRECT then
 * spares the copy and leaves the machine's memory (a target near its limit
 * is a watchdog's case) to others.  Every block but the last is DIO_BLOCK
 * bytes, so every direct write is aligned but the file's tail, which goes
 * through the cache.  Where the file system refuses O_DIRECT (at fcntl, or
 * a write's EINVAL) the rest goes through the cache. */
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
/* With write_back_early, bytes written through the cache whose write-back
 * is not started yet: at most this many. */
#define DIO_WRITEBACK_STEP (8u << 20)

typedef struct hd_dio hd_dio;

/* The class of a failed write's errno: a full disk or quota, or any other
 * output error. */
enum hdump_error_class dio_error_class(int e);

struct dio_options {
	/* The file's first bytes written through the cache: 0, all with
	 * O_DIRECT where it is taken; UINT64_MAX, none. */
	uint64_t cache_budget;
	/* Hand what goes through the cache to the device as the file grows
	 * (DIO_WRITEBACK_STEP), for a caller that waits for it at the end. */
	bool write_back_early;
};

/* Half of what the kernel lets be dirty before it throttles writers: its
 * vm.dirty_bytes, or vm.dirty_ratio of the memory available to hdump
 * (MemAvailable, or the room left in its memory cgroup or an ancestor's
 * when less: hdump_memory_usage).  Other writers share that limit, hence
 * the half. */
uint64_t dio_cache_budget(void);

/* Writes FD, a regular file, from offset 0, as OPT says; NAME (for
 * messages) must outlive D.  NULL with HDUMP_E_INTERNAL recorded. */
hd_dio *dio_new(int fd, const char *name, struct dio_options opt);

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

/* False once the file system refused O_DIRECT (at dio_new, or a write's
 * EINVAL): everything goes through the cache.  Asked while the thread has
 * nothing to write: after dio_new, dio_flush or dio_rewind. */
bool dio_direct_taken(const hd_dio *d);

/* Stops the thread (waiting for a write under way) and frees D (NULL:
 * nothing).  Writes nothing more. */
void dio_free(hd_dio *d);

#endif
