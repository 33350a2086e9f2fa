/* How a live dump reaches a process: the seam between the dump's logic
 * (lib/live.c: retries, snapshot strategy, isolate choice) and process
 * access (agent/: ptrace, /proc, process_vm_readv, the injected fork).
 * hd_real_process is the real thing; a unit test supplies a synthetic
 * process instead (tests/unit/test_live.c).
 *
 * A copy snapshot needs no operation of its own: it reads through the
 * memory view. */
#ifndef HD_LIB_PROCESS_H
#define HD_LIB_PROCESS_H

#include "../agent/attach.h"
#include "../agent/memview.h"
#include "../agent/procmaps.h"
#include "../common/hd_error.h"
#include "../symbols/elfimage.h"
#include "../symbols/heapwalk.h"

#include <sys/types.h>

struct hd_process_ops {
	/* The mappings of PID: the target, or its fork child.  Errors: as
	 * maps_read's (a refusal says what to change). */
	int (*read_maps)(void *ctx, pid_t pid, struct hd_maps *m);
	/* The target's executable, its image heap read (elfimage_open). */
	int (*open_image)(void *ctx, pid_t pid, struct hd_elfimage *img);
	/* A view of PID's memory (the target, or its fork child). */
	hd_memview *(*open_memory)(void *ctx, pid_t pid);
	/* Holds every thread of PID with its registers (target_stop), and lets
	 * them go (idempotent, keeps the recorded error). */
	int (*stop)(void *ctx, struct hd_target *t, pid_t pid);
	void (*release)(void *ctx, struct hd_target *t);
	/* May the target be forked (memory it could need)?  HD_E_SNAPSHOT if not.
	 * Also prepares the fork while the target runs (where a call can start). */
	int (*fork_allowed)(void *ctx, pid_t pid);
	/* Forks the held target T; *CHILD gets the frozen child's pid. */
	int (*fork)(void *ctx, struct hd_target *t, hd_memview *mv, const struct hd_maps *maps,
		    pid_t *child);
	/* Ends the child of the last fork, if any (idempotent).  Clears the
	 * recorded error first; -1 with the error when it could not be reaped. */
	int (*discard_fork)(void *ctx);
	/* Optional: the dump has read all it needs of the last fork's child: let
	 * it die now, while the dump's file is finished; discard_fork reaps it. */
	void (*let_go_fork)(void *ctx);
	/* Optional (NULL: a process has every chunk it maps): called for each
	 * chunk a scan found, before anything of it is written.  0: the chunk
	 * is there; 1: leave it out of the dump (the ops count it); -1: fail
	 * with the error recorded (a core that lacks the chunk's memory). */
	int (*chunk_missing)(void *ctx, const struct hd_chunk *chunk);
	/* Optional (NULL: /proc and the threads' control blocks, heapusage.c):
	 * the running threads of PID into T, by kernel id and, where known,
	 * pthread_t as fs_base (have_regs then set, the other registers 0);
	 * nothing is stopped. */
	int (*running_threads)(void *ctx, pid_t pid, struct hd_target *t);
};

/* Over agent/: CTX is a struct hd_real_process. */
extern const struct hd_process_ops hd_real_process_ops;

struct hd_real_process;
HD_MUST_CHECK struct hd_real_process *hd_real_process_new(void);
void hd_real_process_free(struct hd_real_process *p);

#endif
