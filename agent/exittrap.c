#include "exittrap.h"

#include "../common/clock.h"
#include "../common/grow.h"
#include "../common/procfs.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define OPEN_PASSES 16         /* rescans of /proc/PID/task before giving up */
#define HOLD_TIMEOUT_MS 5000   /* a thread that does not stop by then fails the hold */
#define REPORTS_PER_POLL 64    /* per thread and poll: a signal storm cannot keep us */
#define STATUS_MAX 4096        /* /proc/PID/status is about 1.5 KB */

#define TRACE_OPTIONS (PTRACE_O_TRACEEXIT | PTRACE_O_TRACECLONE)

bool exittrap_fatal_signal(int signo)
{
	return signo == SIGSEGV || signo == SIGBUS || signo == SIGABRT || signo == SIGILL ||
	       signo == SIGFPE;
}

/* Bit SIGNO of the hexadecimal mask after "KEY:" in STATUS; false when
 * the line is missing or malformed. */
static bool mask_has(const char *status, const char *key, int signo)
{
	size_t klen = strlen(key);
	for (const char *line = status; line && *line; line = strchr(line, '\n'), line += !!line) {
		if (strncmp(line, key, klen) != 0 || line[klen] != ':')
			continue;
		const char *p = line + klen + 1;
		p += strspn(p, " \t");
		size_t digits = strspn(p, "0123456789abcdefABCDEF");
		int bit = signo - 1;
		if (bit < 0 || (size_t)bit / 4 >= digits)
			return false;
		char c = p[digits - 1 - (size_t)bit / 4];
		int nibble = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
		return (nibble >> (bit % 4)) & 1;
	}
	return false;
}

bool exittrap_default_disposition(const char *status, int signo)
{
	return !mask_has(status, "SigCgt", signo) && !mask_has(status, "SigIgn", signo);
}

/* Whether SIGNO would kill PID now with its default action: read from
 * /proc/PID/status.  Unreadable: assumed default, so that a trap errs on
 * the side of a dump. */
static bool signal_kills(pid_t pid, int signo)
{
	char path[64], buf[STATUS_MAX];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return exittrap_default_disposition(buf, signo);
}

/* Records TID, traced and running. */
static int add_traced(struct hd_target *t, pid_t tid)
{
	if (hd_grow(&t->tasks, &t->cap, t->n, sizeof *t->tasks, 16) != 0)
		return -1;
	memset(&t->tasks[t->n], 0, sizeof t->tasks[t->n]);
	t->tasks[t->n].tid = tid;
	t->tasks[t->n++].state = TASK_SEIZED;
	return 0;
}

static pid_t tracer_of(pid_t pid, pid_t tid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	return (pid_t)procfs_field(path, "TracerPid");
}

/* Seizes TID.  A thread a traced one created is ours already (TRACECLONE):
 * PTRACE_SEIZE says EPERM, and /proc says we trace it. */
static int seize_one(struct hd_exittrap *x, pid_t tid, size_t *added)
{
	if (ptrace(PTRACE_SEIZE, tid, 0, (void *)(long)TRACE_OPTIONS) != 0) {
		int err = errno;
		if (err == EPERM && tracer_of(x->t.pid, tid) == getpid())
			goto ours;
		return target_seize_refused(&x->t, tid, err);
	}
ours:
	if (add_traced(&x->t, tid) != 0) {
		ptrace(PTRACE_DETACH, tid, 0, 0);
		return -1;
	}
	++*added;
	return 0;
}

static int seize_new_threads(struct hd_exittrap *x, size_t *added)
{
	pid_t *tids;
	size_t n;
	*added = 0;
	if (procfs_tasks(x->t.pid, &tids, &n) != 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (!target_find_task(&x->t, tids[i]))
			rc = seize_one(x, tids[i], added);
	free(tids);
	return rc;
}

int exittrap_open(struct hd_exittrap *x, pid_t pid, unsigned what)
{
	memset(x, 0, sizeof *x);
	x->t.pid = pid;
	x->what = what;
	if (!what || (what & ~(EXITTRAP_EXIT | EXITTRAP_SIGNAL | EXITTRAP_SHUTDOWN)))
		return hd_fail(HD_E_USAGE, "nothing to trap (0x%x)", what);
	if (target_check_untraced(pid) != 0)
		return -1;
	for (int pass = 0;; pass++) {
		size_t added;
		if (seize_new_threads(x, &added) != 0)
			break;
		if (!target_find_task(&x->t, pid)) {
			hd_fail(HD_E_NOENT, "process %d exited", (int)pid);
			break;
		}
		if (!added)
			return 0;
		if (pass >= OPEN_PASSES) {
			hd_fail(HD_E_INCONSISTENT, "process %d keeps creating threads", (int)pid);
			break;
		}
	}
	exittrap_detach(x);
	return -1;
}

/* Continues TASK (SIG delivered); it runs traced. */
static void resume(struct hd_task *task, int sig)
{
	task->state = TASK_SEIZED;
	task->pending_sig = 0;
	ptrace(PTRACE_CONT, task->tid, 0, (void *)(long)sig);
}

static void hold(struct hd_task *task, int sig)
{
	task->state = TASK_STOPPED;
	task->pending_sig = sig;
}

static void trap(struct hd_exittrap *x, struct hd_task *task, enum exittrap_kind kind, int status,
		 int signo)
{
	x->holding = true;
	x->ev = (struct exittrap_event){kind, status, signo, task->tid};
	hold(task, kind == EXITTRAP_SIGNALLED ? signo : 0);
}

/* TASK stopped in its exit: is the process ending (rather than one thread)?
 * exit_group's caller is, and so is the last thread calling exit; a thread
 * a group exit or a signal kills is not the trap (its killer, or the
 * signal's delivery, is). */
static bool process_exits(struct hd_exittrap *x, struct hd_task *task, unsigned long msg)
{
	if (!WIFEXITED((int)msg))
		return false;
#if defined(__x86_64__)
	struct user_regs_struct regs;
	if (ptrace(PTRACE_GETREGS, task->tid, 0, &regs) != 0)
		return false;
	if (regs.orig_rax == SYS_exit_group)
		return true;
	if (regs.orig_rax != SYS_exit)
		return false;
#else
	(void)task; /* elsewhere: the process exits when its last thread does */
#endif
	pid_t *tids;
	size_t n;
	if (procfs_tasks(x->t.pid, &tids, &n) != 0)
		return false;
	free(tids);
	return n == 1;
}

/* Whether TID, stopped creating a thread, runs the process's shutdown: the
 * caller's probe, asked only when the shutdown is to be trapped. */
static bool shutting_down(struct hd_exittrap *x, pid_t tid)
{
	if (!(x->what & EXITTRAP_SHUTDOWN) || !x->probe.shutting_down)
		return false;
#if defined(__x86_64__)
	struct user_regs_struct regs;
	if (ptrace(PTRACE_GETREGS, tid, 0, &regs) != 0)
		return false;
	x->probes++;
	return x->probe.shutting_down(x->probe.ctx, regs.rsp);
#else
	(void)tid; /* the stack pointer is read on x86-64 only */
	return false;
#endif
}

#define SCAN_PAGE 4096u

bool exittrap_stack_holds(hd_memview *mv, uint64_t sp, uint64_t lo, uint64_t hi,
			  bool (*match)(void *ctx, uint64_t word), void *ctx)
{
	/* Aligned down: a return address sits in an 8-byte slot at or above
	 * the stack pointer (x86-64 keeps rsp 8-aligned at calls). */
	uint64_t at = sp & ~(uint64_t)7;
	uint64_t words[SCAN_PAGE / 8];
	for (uint64_t done = 0; done < EXITTRAP_SCAN_MAX;) {
		uint64_t len = SCAN_PAGE - at % SCAN_PAGE; /* to the page's end */
		if (at > UINT64_MAX - len || mv_try_read(mv, at, words, len) != 0)
			return false;
		for (size_t i = 0; i < len / 8; i++)
			if (words[i] >= lo && words[i] < hi && match(ctx, words[i]))
				return true;
		at += len;
		done += len;
	}
	return false;
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* One report STATUS of TASK.  TASK may move when a new thread is recorded:
 * it is used before that. */
static void handle(struct hd_exittrap *x, struct hd_task *task, int status)
{
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		task->state = TASK_GONE;
		if (task->tid == x->t.pid)
			x->ev = (struct exittrap_event){EXITTRAP_GONE, status, 0, task->tid};
		return;
	}
	if (!WIFSTOPPED(status))
		return;
	int sig = WSTOPSIG(status);
	unsigned long msg = 0;
	switch (status >> 16) {
	case PTRACE_EVENT_CLONE: {
		pid_t tid = task->tid;
		bool ok = ptrace(PTRACE_GETEVENTMSG, tid, 0, &msg) == 0;
		if (x->holding)
			hold(task, 0);
		else if (shutting_down(x, tid))
			trap(x, task, EXITTRAP_SHUTTING_DOWN, -1, 0);
		else
			resume(task, 0);
		/* The new thread is traced already; its first stop comes to us. */
		if (ok && !target_find_task(&x->t, (pid_t)msg) && add_traced(&x->t, (pid_t)msg) != 0)
			ptrace(PTRACE_DETACH, (pid_t)msg, 0, 0);
		return;
	}
	case PTRACE_EVENT_EXIT:
		if (x->holding)
			hold(task, 0);
		else if ((x->what & EXITTRAP_EXIT) &&
			 ptrace(PTRACE_GETEVENTMSG, task->tid, 0, &msg) == 0 &&
			 process_exits(x, task, msg))
			trap(x, task, EXITTRAP_EXITING, WEXITSTATUS((int)msg), 0);
		else
			resume(task, 0);
		return;
	case PTRACE_EVENT_STOP:
		/* Our interrupt or a new thread's first stop report SIGTRAP; a
		 * group-stop its stop signal, and is listened to: the thread
		 * stays stopped as it would untraced, and reports SIGCONT. */
		if (x->holding)
			hold(task, 0);
		else if (is_stop_signal(sig)) {
			task->state = TASK_SEIZED;
			ptrace(PTRACE_LISTEN, task->tid, 0, 0);
		} else
			resume(task, 0);
		return;
	case 0: /* signal-delivery stop: SIG is about to be delivered */
		if (x->holding)
			hold(task, sig);
		else if ((x->what & EXITTRAP_SIGNAL) && exittrap_fatal_signal(sig) &&
			 signal_kills(x->t.pid, sig))
			trap(x, task, EXITTRAP_SIGNALLED, 0, sig);
		else
			resume(task, sig);
		return;
	default: /* an event we did not ask for */
		if (x->holding)
			hold(task, 0);
		else
			resume(task, 0);
	}
}

/* Collects the reports of every thread we trace, without blocking.
 * Returns how many came. */
static size_t collect(struct hd_exittrap *x)
{
	size_t got = 0;
	for (size_t i = 0; i < x->t.n; i++) {
		for (int k = 0; k < REPORTS_PER_POLL; k++) {
			struct hd_task *task = &x->t.tasks[i];
			if (task->state == TASK_GONE || task->state == TASK_DETACHED)
				break;
			int status;
			pid_t r = waitpid(task->tid, &status, __WALL | WNOHANG);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) { /* reaped by someone else, or never ours */
				task->state = TASK_GONE;
				break;
			}
			if (r == 0)
				break;
			got++;
			if (WIFSTOPPED(status))
				x->stops++;
			handle(x, task, status);
		}
	}
	return got;
}

/* Forgets the threads that exited: a long trace of a process that makes
 * and ends threads keeps its list to the live ones. */
static void forget_gone(struct hd_target *t)
{
	size_t k = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->tasks[i].state != TASK_GONE)
			t->tasks[k++] = t->tasks[i];
	t->n = k;
}

void exittrap_poll(struct hd_exittrap *x, struct exittrap_event *ev)
{
	collect(x);
	if (!x->holding)
		forget_gone(&x->t);
	if (!x->holding && x->ev.kind != EXITTRAP_GONE && x->t.n == 0)
		x->ev = (struct exittrap_event){EXITTRAP_GONE, -1, 0, 0};
	*ev = x->ev;
}

static const struct hd_task *first_running(const struct hd_target *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->tasks[i].state == TASK_SEIZED)
			return &t->tasks[i];
	return NULL;
}

/* Whether thread TID of PID has exited (a zombie, or gone from /proc).  A
 * group leader that exits first is reported only once every thread has:
 * while one is held, it never is, and must not be waited for. */
static bool task_dead(pid_t pid, pid_t tid)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return true;
	bool dead = false;
	if (fgets(line, sizeof line, f)) {
		const char *paren = strrchr(line, ')');
		dead = paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
	}
	fclose(f);
	return dead;
}

/* Interrupts every running thread and collects until each is held or
 * gone, or the deadline passed (-1, HD_E_INCONSISTENT). */
static int stop_running(struct hd_exittrap *x)
{
	for (size_t i = 0; i < x->t.n; i++)
		if (x->t.tasks[i].state == TASK_SEIZED)
			ptrace(PTRACE_INTERRUPT, x->t.tasks[i].tid, 0, 0);
	uint64_t deadline = hd_monotonic_ms() + HOLD_TIMEOUT_MS;
	const struct hd_task *late;
	while ((late = first_running(&x->t))) {
		if (collect(x))
			continue;
		for (size_t i = 0; i < x->t.n; i++)
			if (x->t.tasks[i].state == TASK_SEIZED && task_dead(x->t.pid, x->t.tasks[i].tid))
				x->t.tasks[i].state = TASK_GONE;
		if (!first_running(&x->t))
			break;
		if (hd_monotonic_ms() > deadline)
			return hd_fail(HD_E_INCONSISTENT, "thread %d of process %d did not stop within %d ms",
				       (int)late->tid, (int)x->t.pid, HOLD_TIMEOUT_MS);
		hd_sleep_ms(1);
	}
	return 0;
}

int exittrap_hold_all(struct hd_exittrap *x)
{
	if (!x->holding)
		return hd_fail(HD_E_USAGE, "process %d is not held at a trap", (int)x->t.pid);
	if (stop_running(x) != 0)
		return -1;
	if (x->ev.kind == EXITTRAP_NONE || x->ev.kind == EXITTRAP_GONE)
		return hd_fail(HD_E_TARGET_GONE, "process %d ended", (int)x->t.pid);
	for (size_t i = 0; i < x->t.n; i++)
		if (x->t.tasks[i].state == TASK_STOPPED) {
			task_read_regs(&x->t.tasks[i]);
			task_read_comm(x->t.pid, &x->t.tasks[i]);
		}
	return 0;
}

void exittrap_detach(struct hd_exittrap *x)
{
	int saved = errno;
	struct hd_error_state err;
	hd_error_save(&err);
	/* PTRACE_DETACH needs a stopped thread: every one is held first
	 * (its pending signal recorded), then let go with it.  Threads with a
	 * signal go last: a fatal one ends the whole process at once, and a
	 * thread still traced then would stop at its PTRACE_EVENT_EXIT and
	 * wait there for a tracer that has moved on. */
	x->holding = true;
	(void)stop_running(x);
	for (int with_signal = 0; with_signal < 2; with_signal++)
		for (size_t i = 0; i < x->t.n; i++) {
			struct hd_task *task = &x->t.tasks[i];
			if ((task->state != TASK_STOPPED && task->state != TASK_SEIZED) ||
			    (task->pending_sig != 0) != with_signal)
				continue;
			/* Marked first, never detached twice: a stale tid could
			 * belong to someone else. */
			task->state = TASK_DETACHED;
			ptrace(PTRACE_DETACH, task->tid, 0, (void *)(long)task->pending_sig);
		}
	free(x->t.tasks);
	memset(x, 0, sizeof *x);
	hd_error_restore(&err);
	errno = saved;
}
