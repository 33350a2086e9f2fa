/* Stopping every thread of a target with ptrace, and always letting it go.
 *
 * PTRACE_SEIZE + PTRACE_INTERRUPT per thread, /proc/PID/task rescanned until
 * a pass finds no new thread, stops collected in one __WALL wait loop.  No
 * ptrace option that kills the target with us is set: if hdump dies, the
 * kernel detaches and the threads run on.  A signal that arrives while a
 * thread is stopped is handed back to it on release. */
#ifndef HD_ATTACH_H
#define HD_ATTACH_H

#include "../common/hd_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where a thread stands with us.  Only SEIZED and STOPPED threads are ours
 * (we must detach them); a zeroed task is DETACHED. */
enum hd_task_state {
	TASK_DETACHED = 0, /* never seized, or let go */
	TASK_SEIZED,       /* ours; the stop our interrupt asked for not seen yet */
	TASK_STOPPED,      /* ours and held in a ptrace stop */
	TASK_GONE,         /* exited while ours: nothing to detach */
};

struct hd_task {
	pid_t tid;
	enum hd_task_state state;
	int pending_sig;  /* signal to deliver on detach */
	/* x86-64 registers at the stop (have_regs): what isolate discovery
	 * reads; other architectures leave have_regs false. */
	uint64_t rsp, rip, fs_base, r14, r15;
	bool have_regs;
	char comm[20];
};

struct hd_target {
	pid_t pid;
	struct hd_task *tasks;
	size_t n, cap;
	/* a core dumped with --partial: a heap chunk header it lacks ends that
	 * chunk chain instead of failing the scan */
	bool lacks_memory;
};

/* Whether we hold TASK and must detach it. */
bool task_is_ours(const struct hd_task *task);

/* Stops every thread of PID.  On failure everything seized so far has been
 * released.  Errors: HD_E_NOENT, HD_E_PERM (with what to change), HD_E_TRACED,
 * HD_E_TARGET_GONE, HD_E_INCONSISTENT (a thread did not stop in time),
 * HD_E_INTERRUPTED, HD_E_INTERNAL (ptrace failed in a way no target causes). */
HD_MUST_CHECK int target_stop(struct hd_target *t, pid_t pid);

/* Stops only thread TID of PID (T then holds that one task, STOPPED), for
 * an injected call that needs no other thread held.  It also serves the
 * clean-up that must happen after hdump was told to stop, so it ignores
 * that request (no HD_E_INTERRUPTED).  Errors: HD_E_PERM, HD_E_TRACED,
 * HD_E_TARGET_GONE (also when TID alone exited), HD_E_INCONSISTENT,
 * HD_E_INTERNAL. */
HD_MUST_CHECK int target_stop_thread(struct hd_target *t, pid_t pid, pid_t tid);

/* Detaches every thread we hold, handing back pending signals.  Idempotent;
 * safe on a target that was never stopped; preserves errno and the
 * recorded error. */
void target_release(struct hd_target *t);

void target_free(struct hd_target *t);

/* Waits for TID's next report (a stop or its end), through EINTR: a signal
 * to hdump must not abandon a tracee halfway through an operation.
 * Returns 0, or -1 with HD_E_TARGET_GONE recorded (not our tracee, or
 * reaped already). */
HD_MUST_CHECK int tracee_wait(pid_t tid, int *status);

/* The pause between two polls for a tracee's stop: 50 us at *ROUND 0,
 * doubling each round up to 1 ms.  A stop mostly comes within microseconds
 * of the request, and a whole millisecond's sleep added to every wait added
 * to the target's pause; the longer pauses keep a slow stop from costing a
 * core. */
void tracee_poll_pause(unsigned *round);

/* PTRACE_SEIZE of thread TID of T's process failed with ERR: 0 when the
 * thread is exiting (skip it), else -1 with the cause recorded (another
 * tracer, permissions with what to change, or an unexplained errno).
 * Shared with agent/exittrap.c. */
HD_MUST_CHECK int target_seize_refused(const struct hd_target *t, pid_t tid, int err);

/* Whether PID exists and no one traces it yet: 0, or -1 with HD_E_NOENT,
 * or why it cannot be traced (target_explain_eperm). */
HD_MUST_CHECK int target_check_untraced(pid_t pid);

/* T's task for thread TID, or NULL. */
struct hd_task *target_find_task(struct hd_target *t, pid_t tid);

/* Fill TASK (a thread held in a ptrace stop) with its registers, and with
 * its name from /proc/PID/task/TID/comm. */
void task_read_regs(struct hd_task *task);
void task_read_comm(pid_t pid, struct hd_task *task);

#endif
