/* Stopping every thread of a target with ptrace, and always letting it go.
 *
 * PTRACE_SEIZE + PTRACE_INTERRUPT per thread, /proc/PID/task rescanned until
 * a pass finds no new thread, stops collected in one __WALL wait loop.  No
 * ptrace option that kills the target with us is set: if hdump dies, the
 * kernel detaches and the threads run on.  A signal that arrives while a
 * thread is stopped is handed back to it on release. */
#ifndef HD_ATTACH_H
#define HD_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hd_task {
	pid_t tid;
	bool seized;      /* we are its tracer: must detach */
	bool stopped;     /* reported a ptrace stop */
	int pending_sig;  /* signal to deliver on detach */
	uint64_t rsp, rip, fs_base, r14, r15;
	bool have_regs;
	char comm[20];
};

struct hd_target {
	pid_t pid;
	struct hd_task *tasks;
	size_t n, cap;
};

/* Stops every thread of PID.  On failure everything seized so far has been
 * released.  Errors: HD_E_NOENT, HD_E_PERM (with what to change), HD_E_TRACED,
 * HD_E_TARGET_GONE, HD_E_INCONSISTENT (a thread did not stop in time),
 * HD_E_INTERRUPTED. */
int target_stop(struct hd_target *t, pid_t pid);

/* Stops only thread TID of PID, for an injected call that needs no other
 * thread held — also after hdump was told to stop, for the clean-up that
 * must still happen, so it never fails with HD_E_INTERRUPTED.  Errors:
 * HD_E_PERM, HD_E_TRACED, HD_E_TARGET_GONE (also when TID alone exited),
 * HD_E_INCONSISTENT. */
int target_stop_thread(struct hd_target *t, pid_t pid, pid_t tid);

/* Detaches every seized thread, handing back pending signals.  Idempotent;
 * safe on a target that was never stopped; preserves errno and the
 * recorded error. */
void target_release(struct hd_target *t);

void target_free(struct hd_target *t);

/* Waits for TID's next report (a stop or its end), through EINTR: a signal
 * to hdump must not abandon a tracee halfway through an operation.
 * Returns 0, or -1 with errno (ECHILD: not ours, or reaped). */
int tracee_wait(pid_t tid, int *status);

/* Records why PID cannot be inspected (another tracer, another user, Yama,
 * a container without CAP_SYS_PTRACE) with what to change.  Returns -1. */
int target_explain_eperm(pid_t pid);

#endif
