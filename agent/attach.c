#include "attach.h"

#include "../common/clock.h"
#include "../common/grow.h"
#include "../common/interrupt.h"
#include "../common/procfs.h"
#include "eperm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define ATTACH_PASSES 16       /* rescans of /proc/PID/task before giving up */
#define STOP_TIMEOUT_MS 5000   /* a thread that does not stop by then fails the attach */
#define RELEASE_STOP_MS 100    /* how long a release waits for a late stop */

bool task_is_ours(const struct hd_task *task)
{
	return task->state == TASK_SEIZED || task->state == TASK_STOPPED;
}

struct hd_task *target_find_task(struct hd_target *t, pid_t tid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->tasks[i].tid == tid)
			return &t->tasks[i];
	return NULL;
}

/* Records TID as seized.  On failure (memory) TID is detached again. */
static int add_seized(struct hd_target *t, pid_t tid)
{
	if (hd_grow(&t->tasks, &t->cap, t->n, sizeof *t->tasks, 16) != 0) {
		ptrace(PTRACE_DETACH, tid, 0, 0);
		return -1;
	}
	memset(&t->tasks[t->n], 0, sizeof t->tasks[t->n]);
	t->tasks[t->n].tid = tid;
	t->tasks[t->n++].state = TASK_SEIZED;
	return 0;
}

/* What /proc says of thread TID: its state letter ('\0' once it is gone)
 * and its tracer's pid (0: none). */
static void task_status(pid_t pid, pid_t tid, char *state, long *tracer)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	*state = '\0';
	*tracer = 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "State:", 6) == 0)
			*state = line[6 + strspn(line + 6, " \t")];
		else if (strncmp(line, "TracerPid:", 10) == 0)
			*tracer = strtol(line + 10, NULL, 10);
	}
	fclose(f);
}

/* PTRACE_SEIZE of TID failed with ERR.  A thread that is exiting (ESRCH;
 * or EPERM while gone, zombie or dead) is skipped: returns 0.  Otherwise
 * -1 with the cause recorded: another tracer holds it (it would run on
 * unstopped under our dump), permissions (with what to change), or an
 * errno no target explains. */
int target_seize_refused(const struct hd_target *t, pid_t tid, int err)
{
	if (err == ESRCH)
		return 0;
	if (err != EPERM)
		return hd_fail_errno(HD_E_INTERNAL, err, "PTRACE_SEIZE of thread %d of process %d",
				     (int)tid, (int)t->pid);
	char state;
	long tracer;
	task_status(t->pid, tid, &state, &tracer);
	if (tracer > 0 && tracer != (long)getpid())
		return hd_fail(HD_E_TRACED,
			       "thread %d of process %d is already traced by process %ld (a "
			       "debugger?); detach it first", (int)tid, (int)t->pid, tracer);
	bool exiting = state == '\0' || state == 'Z' || state == 'X' || state == 'x';
	if (exiting && tid != t->pid)
		return 0;
	return target_explain_eperm(t->pid);
}

/* Seizes TID and asks it to stop.  *SKIPPED: it is exiting (nothing
 * added).  Returns 0, or -1 with the error recorded. */
static int seize(struct hd_target *t, pid_t tid, bool *skipped)
{
	*skipped = false;
	if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
		int err = errno;
		if (target_seize_refused(t, tid, err) != 0)
			return -1;
		*skipped = true;
		return 0;
	}
	if (add_seized(t, tid) != 0)
		return -1;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0 && errno != ESRCH)
		return hd_fail_errno(HD_E_INTERNAL, errno, "PTRACE_INTERRUPT %d", (int)tid);
	return 0;
}

/* Seizes and interrupts every thread not seen before and counts them in
 * *ADDED.  Returns 0, or -1 with the error recorded. */
static int seize_new_threads(struct hd_target *t, size_t *added)
{
	pid_t *tids;
	size_t n;
	*added = 0;
	if (procfs_tasks(t->pid, &tids, &n) != 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool skipped;
		if (target_find_task(t, tids[i]))
			continue;
		rc = seize(t, tids[i], &skipped);
		*added += rc == 0 && !skipped;
	}
	free(tids);
	return rc;
}

static const struct hd_task *first_unstopped(const struct hd_target *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->tasks[i].state == TASK_SEIZED)
			return &t->tasks[i];
	return NULL;
}

/* Collects stops until every seized thread is stopped or gone.  An
 * INTERRUPTIBLE wait gives up when hdump is told to stop. */
static int wait_for_stops(struct hd_target *t, bool interruptible)
{
	uint64_t deadline = hd_monotonic_ms() + STOP_TIMEOUT_MS;
	unsigned round = 0;
	const struct hd_task *late;
	while ((late = first_unstopped(t))) {
		if (interruptible && hd_interrupted())
			return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
		int status;
		pid_t tid = waitpid(-1, &status, __WALL | WNOHANG);
		if (tid < 0 && errno == EINTR)
			continue;
		if (tid < 0)
			return hd_fail_errno(HD_E_TARGET_GONE, errno, "waiting for process %d", (int)t->pid);
		if (tid == 0) {
			if (hd_monotonic_ms() > deadline)
				return hd_fail(HD_E_INCONSISTENT,
					       "thread %d of process %d did not stop within %d ms",
					       (int)late->tid, (int)t->pid, STOP_TIMEOUT_MS);
			tracee_poll_pause(&round);
			continue;
		}
		struct hd_task *task = target_find_task(t, tid);
		if (!task)
			continue;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			task->state = TASK_GONE;
			if (tid == t->pid)
				return hd_fail(HD_E_TARGET_GONE, "process %d exited", (int)t->pid);
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		task->state = TASK_STOPPED;
		/* Our interrupt (and a group stop) reports PTRACE_EVENT_STOP, other
		 * ptrace events their own number; a stop with no event is a
		 * signal-delivery stop, which also holds the thread: that signal —
		 * SIGTRAP included, a freshly seized thread makes no syscall
		 * stops — is handed back when we let go. */
		if (status >> 16 == 0)
			task->pending_sig = WSTOPSIG(status);
	}
	return 0;
}

void tracee_poll_pause(unsigned *round)
{
	uint64_t us = 50u << (*round < 4 ? *round : 4);
	hd_sleep_us(us < 1000 ? us : 1000);
	(*round)++;
}

int tracee_wait(pid_t tid, int *status)
{
	for (;;) {
		pid_t r = waitpid(tid, status, __WALL);
		if (r == tid)
			return 0;
		if (r < 0 && errno != EINTR)
			return hd_fail_errno(HD_E_TARGET_GONE, errno, "waiting for thread %d", (int)tid);
	}
}

void task_read_regs(struct hd_task *task)
{
#if defined(__x86_64__)
	struct user_regs_struct regs;
	if (ptrace(PTRACE_GETREGS, task->tid, 0, &regs) != 0)
		return;
	task->rsp = regs.rsp;
	task->rip = regs.rip;
	task->fs_base = regs.fs_base;
	task->r14 = regs.r14;
	task->r15 = regs.r15;
	task->have_regs = true;
#else
	(void)task; /* live isolate discovery reads x86-64 registers only */
#endif
}

void task_read_comm(pid_t pid, struct hd_task *task)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)pid, (int)task->tid);
	FILE *f = fopen(path, "re");
	if (f) {
		if (fgets(task->comm, sizeof task->comm, f))
			task->comm[strcspn(task->comm, "\n")] = '\0';
		fclose(f);
	}
}

int target_check_untraced(pid_t pid)
{
	if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
		return hd_fail(HD_E_NOENT, "no such process: %d", (int)pid);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (procfs_field(path, "TracerPid") > 0)
		return target_explain_eperm(pid);
	return 0;
}

int target_stop(struct hd_target *t, pid_t pid)
{
	memset(t, 0, sizeof *t);
	t->pid = pid;
	if (target_check_untraced(pid) != 0)
		return -1;
	for (int pass = 0;; pass++) {
		size_t added;
		if (seize_new_threads(t, &added) != 0 || wait_for_stops(t, true) != 0)
			goto fail;
		if (!added && pass > 0)
			break;
		if (pass >= ATTACH_PASSES) {
			hd_fail(HD_E_INCONSISTENT, "process %d keeps creating threads", (int)pid);
			goto fail;
		}
	}
	const struct hd_task *main_thread = target_find_task(t, pid);
	if (!main_thread || main_thread->state != TASK_STOPPED) {
		hd_fail(HD_E_TARGET_GONE, "process %d exited", (int)pid);
		goto fail;
	}
	for (size_t i = 0; i < t->n; i++)
		if (t->tasks[i].state == TASK_STOPPED) {
			task_read_regs(&t->tasks[i]);
			task_read_comm(pid, &t->tasks[i]);
		}
	return 0;
fail:
	target_release(t);
	return -1;
}

int target_stop_thread(struct hd_target *t, pid_t pid, pid_t tid)
{
	memset(t, 0, sizeof *t);
	t->pid = pid;
	bool skipped;
	if (seize(t, tid, &skipped) != 0)
		goto fail;
	if (skipped)
		return hd_fail(HD_E_TARGET_GONE, "thread %d of process %d exited", (int)tid, (int)pid);
	if (wait_for_stops(t, false) != 0)
		goto fail;
	if (t->tasks[0].state != TASK_STOPPED) {
		hd_fail(HD_E_TARGET_GONE, "thread %d of process %d exited", (int)tid, (int)pid);
		goto fail;
	}
	task_read_regs(&t->tasks[0]);
	return 0;
fail:
	target_release(t);
	return -1;
}

/* PTRACE_DETACH needs a stopped tracee: collects the stop our interrupt
 * asked for, briefly. */
static void await_late_stop(pid_t tid)
{
	ptrace(PTRACE_INTERRUPT, tid, 0, 0);
	uint64_t deadline = hd_monotonic_ms() + RELEASE_STOP_MS;
	unsigned round = 0;
	for (;;) {
		int status;
		pid_t r = waitpid(tid, &status, __WALL | WNOHANG);
		if (r == tid || (r < 0 && errno != EINTR) || hd_monotonic_ms() > deadline)
			return;
		tracee_poll_pause(&round);
	}
}

void target_release(struct hd_target *t)
{
	int saved = errno;
	for (size_t i = 0; i < t->n; i++) {
		struct hd_task *task = &t->tasks[i];
		if (!task_is_ours(task))
			continue;
		if (task->state == TASK_SEIZED)
			await_late_stop(task->tid);
		/* Marked first, never detached twice: a stale tid could belong
		 * to someone else. */
		task->state = TASK_DETACHED;
		ptrace(PTRACE_DETACH, task->tid, 0, (void *)(long)task->pending_sig);
		task->pending_sig = 0;
	}
	errno = saved;
}

void target_free(struct hd_target *t)
{
	target_release(t);
	free(t->tasks);
	memset(t, 0, sizeof *t);
}
