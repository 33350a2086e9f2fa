#include "cowfork.h"

#include <string.h>

#if defined(__x86_64__)

#include "../common/procfs.h"
#include "kernel_restart.h"
#include "seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

/* No exit signal (the low byte): the target is never sent SIGCHLD for it. */
#define CLONE_FLAGS (CLONE_FILES | CLONE_FS)
/* The child's stack pointer: non-canonical, so no mapping can back it.  The
 * guard below comes a moment after the clone; should hdump die in between,
 * the child is let go at the forker's next instruction, a system call
 * wrapper's way back to its caller, and faults at its first push, pop or
 * signal frame: SIGSEGV, with no handler able to run, ends it before the
 * target's code can do anything in its name. */
#define CHILD_STACK 0x8000000000000000UL
#define REAP_TRIES 20
#define REAP_THREADS 4 /* threads tried in turn when the forker cannot reap */

/* The child sits in its first ptrace stop.  Make sure it can never run the
 * target's code: killed with us, and exit_group if it ever resumes. */
static int guard_child(const struct hd_cowfork *f)
{
	int status;
	if (tracee_wait(f->child, &status) != 0 || !WIFSTOPPED(status))
		return hd_fail(HD_E_SNAPSHOT, "the fork of process %d did not stop", (int)f->target);
	if (ptrace(PTRACE_SETOPTIONS, f->child, 0, (void *)(long)PTRACE_O_EXITKILL) != 0)
		return hd_fail_errno(HD_E_SNAPSHOT, errno, "guarding the fork of process %d",
				     (int)f->target);
	struct user_regs_struct regs;
	if (ptrace(PTRACE_GETREGS, f->child, 0, &regs) != 0)
		return hd_fail_errno(HD_E_SNAPSHOT, errno, "registers of the fork");
	regs.rip = f->site;
	regs.rax = SYS_exit_group;
	regs.orig_rax = (unsigned long long)-1;
	regs.rdi = 0;
	if (ptrace(PTRACE_SETREGS, f->child, 0, &regs) != 0)
		return hd_fail_errno(HD_E_SNAPSHOT, errno, "registers of the fork");
	return 0;
}

void cowfork_let_go(const struct hd_cowfork *f)
{
	/* Until the target reaps it, the child's pid stays its zombie's: a
	 * signal sent early or twice cannot reach another process. */
	if (f->child > 0)
		kill(f->child, SIGKILL);
}

/* Preserves the recorded error: it runs on paths that failed already. */
static void kill_child(struct hd_cowfork *f)
{
	struct hd_error_state first;
	hd_error_save(&first);
	cowfork_let_go(f);
	int status;
	/* Our wait collects the tracer's notice; the target's own is left.
	 * The kernel makes the child the target's zombie inside that wait
	 * (wait_task_zombie), so a wait4 in the target finds it at once. */
	while (tracee_wait(f->child, &status) == 0 && !WIFEXITED(status) && !WIFSIGNALED(status))
		;
	hd_error_restore(&first);
}

/* CALL as seccomp sees it when injected at F's site; the arguments in
 * UNKNOWN (a bit per argument) are not known yet. */
static struct seccomp_call seccomp_view(const struct hd_cowfork *f, const char *name, long nr,
					const long args[6], unsigned unknown)
{
	struct seccomp_call c = {.name = name, .unknown_args = unknown};
	c.data.nr = (int)nr;
	c.data.arch = AUDIT_ARCH_X86_64;
	c.data.instruction_pointer = f->site + INJECT_SYSCALL_LEN;
	for (int i = 0; i < 6; i++)
		c.data.args[i] = (uint64_t)args[i];
	return c;
}

static void reap_args(const struct hd_cowfork *f, long args[6])
{
	long a[6] = {f->child, 0, __WALL | WNOHANG, 0, 0, 0};
	memcpy(args, a, sizeof a);
}

/* The zombie is the target's child: only a wait in the target frees it.
 * TASK is a thread of process PID we hold.  Returns 0 with *REAPED (also
 * when the child is gone already), or false when this thread could not
 * take the call (a signal, or its filters: that refusal stays recorded)
 * or the child is not a zombie yet: retry.  -1 with the error recorded. */
static int reap_with(struct hd_cowfork *f, pid_t pid, struct hd_task *task, bool *reaped)
{
	long args[6];
	reap_args(f, args);
	struct seccomp_call check = seccomp_view(f, "wait4", SYS_wait4, args, 0);
	struct hd_injected r;
	int sig = 0;
	*reaped = false;
	if (task->pending_sig)
		return 0;
	if (seccomp_check_calls(pid, task->tid, &check, 1) != 0)
		return 0; /* another thread may be allowed */
	int rc = inject_syscall(task->tid, f->site, SYS_wait4, args, &r, &sig);
	task->pending_sig = sig;
	if (rc != 0)
		return hd_error_class() == HD_E_INCONSISTENT ? 0 : -1;
	if (r.ret == f->child || r.ret == -ECHILD) {
		*reaped = true;
		return 0;
	}
	if (r.ret == 0)
		return 0; /* not a zombie yet */
	return hd_fail(HD_E_SNAPSHOT, "wait4 in process %d for its fork: %s", (int)f->target,
		       strerror((int)-r.ret));
}

/* A live thread of the target to hold for the reap, in *TID: the one that
 * made the fork first, else one of the first REAP_THREADS others in turn.
 * False when the target is gone. */
static bool reaping_thread(const struct hd_cowfork *f, int attempt, pid_t *tid)
{
	char path[64];
	if (attempt == 0 && f->forker > 0) {
		snprintf(path, sizeof path, "/proc/%d/task/%d", (int)f->target, (int)f->forker);
		if (access(path, F_OK) == 0) {
			*tid = f->forker;
			return true;
		}
	}
	pid_t *tids;
	size_t n;
	if (procfs_tasks(f->target, &tids, &n) != 0)
		return false;
	size_t turn = (size_t)attempt % REAP_THREADS;
	if (n)
		*tid = tids[turn < n ? turn : n - 1];
	free(tids);
	return n > 0;
}

int cowfork_discard(struct hd_cowfork *f)
{
	if (f->child <= 0)
		return 0;
	hd_error_clear(); /* what is recorded below is about this reap only */
	kill_child(f);
	bool reaped = false;
	int rc = 0;
	for (int attempt = 0; attempt < REAP_TRIES && rc == 0 && !reaped; attempt++) {
		pid_t tid = 0;
		if (!reaping_thread(f, attempt, &tid)) {
			reaped = true; /* the target is gone; init reaps its orphans */
			break;
		}
		struct hd_target held;
		if (target_stop_thread(&held, f->target, tid) == 0)
			rc = reap_with(f, f->target, &held.tasks[0], &reaped);
		else if (hd_error_class() != HD_E_TARGET_GONE && hd_error_class() != HD_E_INCONSISTENT)
			rc = -1;
		target_free(&held);
	}
	pid_t child = f->child;
	f->child = 0;
	if (reaped)
		return 0;
	if (rc == 0 && hd_error_class() == HD_OK) /* else a seccomp refusal says why */
		hd_fail(HD_E_SNAPSHOT, "process %d did not reap its fork %d", (int)f->target, (int)child);
	hd_error_context("fork %d of process %d is left a zombie", (int)child, (int)f->target);
	return -1;
}

/* The thread to run the clone in: held, with no signal to deliver. */
static struct hd_task *forking_thread(struct hd_target *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->tasks[i].state == TASK_STOPPED && !t->tasks[i].pending_sig)
			return &t->tasks[i];
	return NULL;
}

int cowfork_take(struct hd_cowfork *f, struct hd_target *t, hd_memview *mv,
		 const struct hd_maps *maps, const struct inject_entries *libc)
{
	memset(f, 0, sizeof *f);
	f->target = t->pid;
	if (inject_find_site(mv, maps, t, libc, &f->site) != 0)
		return -1;
	struct hd_task *task = forking_thread(t);
	if (!task)
		return hd_fail(HD_E_INCONSISTENT, "every thread of process %d holds a signal",
			       (int)t->pid);
	/* Every call this thread may be made to run, before running any: the
	 * reaping wait4 names a child that does not exist yet. */
	long args[6] = {CLONE_FLAGS, (long)CHILD_STACK, 0, 0, 0, 0}, wait_args[6];
	reap_args(f, wait_args);
	struct seccomp_call calls[2] = {
		seccomp_view(f, "clone", SYS_clone, args, 0),
		seccomp_view(f, "wait4", SYS_wait4, wait_args, 1u << 0),
	};
	if (seccomp_check_calls(t->pid, task->tid, calls, 2) != 0)
		return -1;
	f->forker = task->tid;
	struct hd_injected r;
	int sig = 0;
	int rc = inject_syscall(task->tid, f->site, SYS_clone, args, &r, &sig);
	task->pending_sig = sig;
	f->child = r.new_child;
	if (rc == 0 && r.ret < 0)
		rc = r.ret == -K_ERESTARTNOINTR
			     ? hd_fail(HD_E_INCONSISTENT, "the fork of process %d was interrupted",
				       (int)t->pid)
			     : hd_fail(HD_E_SNAPSHOT, "the kernel refused to fork process %d: %s",
						      (int)t->pid, strerror((int)-r.ret));
	if (rc == 0 && f->child <= 0)
		rc = hd_fail(HD_E_SNAPSHOT, "the fork of process %d was not traced", (int)t->pid);
	if (rc == 0)
		rc = guard_child(f);
	if (rc != 0 && f->child > 0) {
		/* A clone cut short may still have made a child: reap it now,
		 * through the thread whose filters were checked. */
		kill_child(f);
		struct hd_error_state first;
		hd_error_save(&first);
		bool reaped; /* if not, the first error is still the one to report */
		reap_with(f, t->pid, task, &reaped);
		hd_error_restore(&first);
		f->child = 0;
	}
	return rc;
}

bool cowfork_supported(void) { return true; }

#else

bool cowfork_supported(void) { return false; }

int cowfork_take(struct hd_cowfork *f, struct hd_target *t, hd_memview *mv,
		 const struct hd_maps *maps, const struct inject_entries *libc)
{
	(void)mv, (void)maps, (void)libc;
	memset(f, 0, sizeof *f);
	f->target = t->pid;
	return hd_fail(HD_E_SNAPSHOT, "fork snapshots need x86-64");
}

void cowfork_let_go(const struct hd_cowfork *f)
{
	(void)f; /* cowfork_take never makes a child here */
}

int cowfork_discard(struct hd_cowfork *f)
{
	f->child = 0; /* cowfork_take never makes one here */
	return 0;
}

#endif
