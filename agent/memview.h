/* A read-only view of a target's memory: the first stage of the pipeline.
 *
 * Every later stage (layout discovery, heap walk, HPROF writer) reads target
 * memory only through this view, so the same code serves an executable read
 * from disk (its image heap placed at a chosen address) and a live process
 * (process_vm_readv, falling back to /proc/PID/mem).  Memory read through it
 * is untrusted: callers bound every size they derive from it. */
#ifndef HD_MEMVIEW_H
#define HD_MEMVIEW_H

#include "../common/hd_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct hd_memview hd_memview;

/* A view over local buffers only (an executable's image heap, test data).
 * Returns NULL on out of memory (error recorded). */
HD_MUST_CHECK hd_memview *mv_new_local(void);

/* Makes [ADDR, ADDR+LEN) readable, backed by DATA, which must outlive the
 * view.  Returns 0, or -1 (HD_E_INTERNAL: memory, or a range that wraps). */
HD_MUST_CHECK int mv_add_local(hd_memview *mv, uint64_t addr, const void *data, size_t len);

/* Says that MV's local regions copy the memory of a live process (a
 * snapshot): a read outside them is then a torn read, as on a process
 * view.  Without it a local view holds data that never changes (an image
 * heap), and such a read is a layout error. */
void mv_reads_may_tear(hd_memview *mv);
/* MV reads a live process or a copy of one (data that may have been caught
 * mid-change), not data that never changes. */
bool mv_may_tear(const hd_memview *mv);

/* A view of process PID's memory.  The caller must keep PID stopped (or
 * accept torn reads) while reading. */
HD_MUST_CHECK hd_memview *mv_new_process(pid_t pid);

/* An independent view of the same memory (same local buffers, same
 * process), for another thread: a view keeps per-reader state. */
HD_MUST_CHECK hd_memview *mv_clone(const hd_memview *mv);

/* Reads through /proc/PID/mem only.  process_vm_readv pins the pages it
 * reads, and pinning an anonymous page shared copy-on-write with another
 * process copies it: reading a fork that way would duplicate its memory. */
void mv_read_without_pinning(hd_memview *mv);

void mv_free(hd_memview *mv);

/* Copies LEN bytes at ADDR into BUF, all or nothing.  Returns 0, or -1 with
 * the error recorded: HD_E_TORN when any byte is unmapped in a process (or
 * outside a snapshot's copy): target data pointed somewhere it should not,
 * which a concurrent mutation explains, so the caller's retry may succeed;
 * HD_E_LAYOUT for the same in a fixed local view (see mv_reads_may_tear);
 * HD_E_TARGET_GONE when the process died. */
HD_MUST_CHECK int mv_read(hd_memview *mv, uint64_t addr, void *buf, size_t len);

/* Same, but records nothing: for probing addresses that may legitimately be
 * unmapped.  Returns 0 or -1 (errno EFAULT/ESRCH). */
HD_MUST_CHECK int mv_try_read(hd_memview *mv, uint64_t addr, void *buf, size_t len);

/* Direct pointer to LEN bytes at ADDR when they lie in one local region,
 * else NULL.  Lets offline walks avoid a copy. */
const void *mv_local_ptr(hd_memview *mv, uint64_t addr, size_t len);

/* Reads asked of MV so far (mv_read and mv_try_read calls, and their
 * bytes): what a walk cost, counted without a clock; and the system calls
 * that read a process for them. */
struct mv_stats {
	uint64_t reads, bytes;
	uint64_t syscalls;
};
struct mv_stats mv_stats(const hd_memview *mv);

#endif
