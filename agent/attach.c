#include "attach.h"

#include "../common/grow.h"
#include "../common/clock.h"
#include "../common/hd_error.h"
#include "../common/interrupt.h"
#include "../common/procfs.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ATTACH_PASSES 16       /* rescans of /proc/PID/task before giving up */
#define STOP_TIMEOUT_MS 5000   /* a thread that does not stop by then fails the attach */

static long status_field(pid_t pid, const char *key)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	return (long)procfs_field(path, key);
}

static int yama_scope(void)
{
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	int v = -1;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

int target_explain_eperm(pid_t pid)
{
	long tracer = status_field(pid, "TracerPid");
	if (tracer > 0)
		return hd_fail(HD_E_TRACED,
			       "process %d is already traced by process %ld (a debugger?); "
			       "detach it first", (int)pid, tracer);
	long uid = status_field(pid, "Uid");
	if (uid >= 0 && (uid_t)uid != geteuid() && geteuid() != 0)
		return hd_fail(HD_E_PERM,
			       "cannot attach to process %d: it belongs to uid %ld; run hdump as "
			       "that user or with CAP_SYS_PTRACE (e.g. sudo)", (int)pid, uid);
	int scope = yama_scope();
	if (scope >= 1 && geteuid() != 0)
		return hd_fail(HD_E_PERM,
			       "cannot attach to process %d: kernel.yama.ptrace_scope is %d; run "
			       "hdump with CAP_SYS_PTRACE (e.g. sudo) or set "
			       "'sysctl kernel.yama.ptrace_scope=0'", (int)pid, scope);
	return hd_fail(HD_E_PERM,
		       "cannot attach to process %d: ptrace not permitted (in a container, "
		       "grant CAP_SYS_PTRACE; check kernel.yama.ptrace_scope and seccomp)",
		       (int)pid);
}

static struct hd_task *find_task(struct hd_target *t, pid_t tid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->tasks[i].tid == tid)
			return &t->tasks[i];
	return NULL;
}

static int add_task(struct hd_target *t, pid_t tid)
{
	if (hd_grow(&t->tasks, &t->cap, t->n, sizeof *t->tasks, 16) != 0)
		return -1;
	memset(&t->tasks[t->n], 0, sizeof t->tasks[t->n]);
	t->tasks[t->n++].tid = tid;
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

/* PTRACE_SEIZE of TID said EPERM: a thread that is exiting (gone, zombie or
 * dead) is let go — the next pass settles it; one that another tracer holds
 * fails the attach, as it would run on unstopped under our dump.  Returns 0
 * to skip the thread, -1 with the error recorded. */
static int refused_thread(struct hd_target *t, pid_t tid)
{
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

/* Seizes and interrupts every thread not seen before and counts them in
 * *ADDED.  Returns 0, or -1 with the error recorded. */
static int seize_new_threads(struct hd_target *t, size_t *added)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)t->pid);
	DIR *d = opendir(path);
	*added = 0;
	if (!d)
		return hd_fail(HD_E_TARGET_GONE, "process %d exited", (int)t->pid);
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		if (tid <= 0 || find_task(t, tid))
			continue;
		if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
			int err = errno;
			if (err == EPERM)
				rc = refused_thread(t, tid);
			else if (err != ESRCH)
				rc = hd_fail_errno(HD_E_PERM, err, "cannot attach to thread %d", (int)tid);
			if (rc != 0)
				break;
			continue; /* exiting meanwhile: the next pass settles it */
		}
		if ((rc = add_task(t, tid)) != 0) {
			ptrace(PTRACE_DETACH, tid, 0, 0);
			break;
		}
		struct hd_task *task = &t->tasks[t->n - 1];
		task->seized = true;
		if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0 && errno != ESRCH)
			rc = hd_fail_errno(HD_E_INTERNAL, errno, "PTRACE_INTERRUPT %d", (int)tid);
		(*added)++;
	}
	closedir(d);
	return rc;
}

/* Collects stops until every seized thread is stopped or gone.  An
 * INTERRUPTIBLE wait gives up when hdump is told to stop. */
static int wait_for_stops(struct hd_target *t, bool interruptible)
{
	uint64_t deadline = hd_monotonic_ms() + STOP_TIMEOUT_MS;
	for (;;) {
		size_t waiting = 0;
		for (size_t i = 0; i < t->n; i++)
			waiting += t->tasks[i].seized && !t->tasks[i].stopped;
		if (!waiting)
			return 0;
		if (interruptible && hd_interrupted())
			return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
		int status;
		pid_t tid = waitpid(-1, &status, __WALL | WNOHANG);
		if (tid < 0 && errno == EINTR)
			continue;
		if (tid < 0)
			return hd_fail_errno(HD_E_TARGET_GONE, errno, "waiting for process %d", (int)t->pid);
		if (tid == 0) {
			if (hd_monotonic_ms() > deadline) {
				for (size_t i = 0; i < t->n; i++)
					if (t->tasks[i].seized && !t->tasks[i].stopped)
						return hd_fail(HD_E_INCONSISTENT,
							       "thread %d of process %d did not stop within %d ms",
							       (int)t->tasks[i].tid, (int)t->pid, STOP_TIMEOUT_MS);
			}
			struct timespec ms = {0, 200000};
			nanosleep(&ms, NULL);
			continue;
		}
		struct hd_task *task = find_task(t, tid);
		if (!task)
			continue;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			task->seized = false; /* gone: nothing to detach */
			if (tid == t->pid)
				return hd_fail(HD_E_TARGET_GONE, "process %d exited", (int)t->pid);
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		task->stopped = true;
		/* Our interrupt (and a group stop) reports PTRACE_EVENT_STOP, other
		 * ptrace events their own number; a stop with no event is a
		 * signal-delivery stop, which also holds the thread: that signal —
		 * SIGTRAP included, a freshly seized thread makes no syscall
		 * stops — is handed back when we let go. */
		if (status >> 16 == 0)
			task->pending_sig = WSTOPSIG(status);
	}
}

int tracee_wait(pid_t tid, int *status)
{
	for (;;) {
		pid_t r = waitpid(tid, status, __WALL);
		if (r == tid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static void read_regs(struct hd_task *task)
{
	struct user_regs_struct regs;
	if (ptrace(PTRACE_GETREGS, task->tid, 0, &regs) != 0)
		return;
	task->rsp = regs.rsp;
	task->rip = regs.rip;
	task->fs_base = regs.fs_base;
	task->r14 = regs.r14;
	task->r15 = regs.r15;
	task->have_regs = true;
}

static void read_comm(pid_t pid, struct hd_task *task)
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

int target_stop(struct hd_target *t, pid_t pid)
{
	memset(t, 0, sizeof *t);
	t->pid = pid;
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return hd_fail(HD_E_NOENT, "no such process: %d", (int)pid);
	long tracer = status_field(pid, "TracerPid");
	if (tracer > 0)
		return target_explain_eperm(pid);
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
	if (!find_task(t, pid) || !find_task(t, pid)->seized) {
		hd_fail(HD_E_TARGET_GONE, "process %d exited", (int)pid);
		goto fail;
	}
	for (size_t i = 0; i < t->n; i++)
		if (t->tasks[i].seized) {
			read_regs(&t->tasks[i]);
			read_comm(pid, &t->tasks[i]);
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
	if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
		int err = errno;
		if (err == EPERM && refused_thread(t, tid) != 0)
			return -1;
		if (err != ESRCH && err != EPERM)
			return target_explain_eperm(pid);
		return hd_fail(HD_E_TARGET_GONE, "thread %d of process %d exited", (int)tid, (int)pid);
	}
	if (add_task(t, tid) != 0) {
		ptrace(PTRACE_DETACH, tid, 0, 0);
		return -1;
	}
	t->tasks[0].seized = true;
	if ((ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0 && errno != ESRCH) || wait_for_stops(t, false) != 0) {
		target_release(t);
		return -1;
	}
	read_regs(&t->tasks[0]);
	return 0;
}

void target_release(struct hd_target *t)
{
	int saved = errno;
	for (size_t i = 0; i < t->n; i++) {
		struct hd_task *task = &t->tasks[i];
		if (!task->seized)
			continue;
		/* Never detach twice: a stale tid could belong to someone else. */
		task->seized = false;
		if (!task->stopped) {
			/* PTRACE_DETACH needs a stopped tracee: collect the stop our
			 * interrupt asked for, briefly. */
			ptrace(PTRACE_INTERRUPT, task->tid, 0, 0);
			for (int i = 0; i < 200; i++) {
				int status;
				pid_t r = waitpid(task->tid, &status, __WALL | WNOHANG);
				if (r == task->tid || (r < 0 && errno != EINTR))
					break;
				struct timespec ms = {0, 500000};
				nanosleep(&ms, NULL);
			}
		}
		ptrace(PTRACE_DETACH, task->tid, 0, (void *)(long)task->pending_sig);
		task->pending_sig = 0;
		task->stopped = false;
	}
	errno = saved;
}

void target_free(struct hd_target *t)
{
	target_release(t);
	free(t->tasks);
	memset(t, 0, sizeof *t);
}
