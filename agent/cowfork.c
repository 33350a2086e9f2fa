#include "cowfork.h"

#include "../common/hd_error.h"
#include "../common/procfs.h"
#include "inject.h"
#include "kernel_restart.h"
#include "seccomp.h"

#include <dirent.h>
#include <errno.h>
#include <linux/audit.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

/* No exit signal (the low byte): the target is never sent SIGCHLD for it. */
#define CLONE_FLAGS (CLONE_FILES | CLONE_FS)
#define UNLIMITED (1LL << 60) /* cgroup v1 writes "no limit" as a huge number */
#define REAP_TRIES 20

/* -------- memory limits -------- */

/* Walks the cgroup REL (under ROOT) and its ancestors; fails when one of
 * them has less than NEED bytes left under its limit. */
static int check_cgroup_tree(const char *root, const char *rel, const char *max_file,
			     const char *cur_file, long long need, pid_t pid)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s%s", root, rel);
	size_t root_len = strlen(root);
	for (;;) {
		char p[600];
		snprintf(p, sizeof p, "%s/%s", dir, max_file);
		long long max = procfs_number(p);
		snprintf(p, sizeof p, "%s/%s", dir, cur_file);
		long long cur = procfs_number(p);
		if (max >= 0 && max < UNLIMITED && cur >= 0 && max - cur < need)
			return hd_fail(HD_E_SNAPSHOT,
				       "refusing a fork snapshot: process %d may need %lld MB more while "
				       "the child lives, but cgroup %s has %lld MB left; use "
				       "--snapshot=stop", (int)pid, need >> 20,
				       dir[root_len] ? dir + root_len : "/",
				       max > cur ? (max - cur) >> 20 : 0);
		char *slash = strrchr(dir + root_len, '/');
		if (!slash)
			return 0;
		*slash = '\0';
	}
}

static int check_cgroups(pid_t pid, long long need)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0; /* no cgroups: only the system-wide check applies */
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || c2[1] != '/')
			continue;
		*c2 = '\0';
		const char *controllers = c1 + 1, *rel = c2 + 1;
		if (strcmp(rel, "/") == 0)
			rel = "";
		if (controllers[0] == '\0')
			rc = check_cgroup_tree("/sys/fs/cgroup", rel, "memory.max", "memory.current",
					       need, pid);
		else if (strstr(controllers, "memory"))
			rc = check_cgroup_tree("/sys/fs/cgroup/memory", rel, "memory.limit_in_bytes",
					       "memory.usage_in_bytes", need, pid);
	}
	fclose(f);
	return rc;
}

int cowfork_check_memory(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	long long anon_kb = procfs_field(path, "RssAnon");
	if (anon_kb < 0)
		return hd_fail(HD_E_NOENT, "no such process: %d", (int)pid);
	long long need = anon_kb * 1024;
	long long avail_kb = procfs_field("/proc/meminfo", "MemAvailable");
	long long swap_kb = procfs_field("/proc/meminfo", "SwapFree");
	if (avail_kb >= 0 && (avail_kb + (swap_kb > 0 ? swap_kb : 0)) * 1024 < need)
		return hd_fail(HD_E_SNAPSHOT,
			       "refusing a fork snapshot: process %d may need %lld MB more while the "
			       "child lives, but the system has %lld MB available; use --snapshot=stop",
			       (int)pid, need >> 20, (avail_kb + (swap_kb > 0 ? swap_kb : 0)) >> 10);
	return check_cgroups(pid, need);
}

/* -------- the child -------- */

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

static void kill_child(struct hd_cowfork *f)
{
	kill(f->child, SIGKILL);
	int status;
	/* Our wait collects the tracer's notice; the target's own is left.
	 * The kernel makes the child the target's zombie inside that wait
	 * (wait_task_zombie), so a wait4 in the target finds it at once. */
	while (tracee_wait(f->child, &status) == 0 && !WIFEXITED(status) && !WIFSIGNALED(status))
		;
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
 * TASK is a thread of process PID we hold.  Returns 1 when reaped (or gone
 * already), 0 when the thread could not take the call (retry), -1. */
static int reap_with(struct hd_cowfork *f, pid_t pid, struct hd_task *task)
{
	long args[6];
	reap_args(f, args);
	struct seccomp_call check = seccomp_view(f, "wait4", SYS_wait4, args, 0);
	struct hd_injected r;
	int sig = 0;
	if (task->pending_sig)
		return 0;
	if (seccomp_check_calls(pid, task->tid, &check, 1) != 0)
		return 0; /* another thread may be allowed */
	int rc = inject_syscall(task->tid, f->site, SYS_wait4, args, &r, &sig);
	task->pending_sig = sig;
	if (rc != 0)
		return hd_error_class() == HD_E_INCONSISTENT ? 0 : -1;
	if (r.ret == f->child || r.ret == -ECHILD)
		return 1;
	if (r.ret == 0)
		return 0; /* not a zombie yet */
	return hd_fail(HD_E_SNAPSHOT, "wait4 in process %d for its fork: %s", (int)f->target,
		       strerror((int)-r.ret));
}

/* A live thread of the target to hold for the reap: the one that made the
 * fork first, else one of the others in turn. */
static pid_t reaping_thread(const struct hd_cowfork *f, int attempt)
{
	char path[64];
	if (attempt == 0 && f->forker > 0) {
		snprintf(path, sizeof path, "/proc/%d/task/%d", (int)f->target, (int)f->forker);
		if (access(path, F_OK) == 0)
			return f->forker;
	}
	snprintf(path, sizeof path, "/proc/%d/task", (int)f->target);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	pid_t chosen = 0;
	int seen = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		if (tid <= 0)
			continue;
		chosen = tid;
		if (seen++ == attempt % 4)
			break;
	}
	closedir(d);
	return chosen;
}

int cowfork_discard(struct hd_cowfork *f)
{
	if (f->child <= 0)
		return 0;
	hd_error_clear(); /* what is recorded below is about this reap only */
	kill_child(f);
	int done = 0;
	for (int attempt = 0; attempt < REAP_TRIES && done == 0; attempt++) {
		pid_t tid = reaping_thread(f, attempt);
		if (!tid) {
			done = 1; /* the target is gone; init reaps its orphans */
			break;
		}
		struct hd_target held;
		if (target_stop_thread(&held, f->target, tid) == 0 && held.tasks[0].seized)
			done = reap_with(f, f->target, &held.tasks[0]);
		else if (hd_error_class() != HD_E_TARGET_GONE && hd_error_class() != HD_E_INCONSISTENT)
			done = -1;
		target_free(&held);
	}
	pid_t child = f->child;
	f->child = 0;
	if (done == 1)
		return 0;
	if (done == 0 && hd_error_class() == HD_OK) /* else a seccomp refusal says why */
		hd_fail(HD_E_SNAPSHOT, "process %d did not reap its fork %d", (int)f->target, (int)child);
	hd_error_context("fork %d of process %d is left a zombie", (int)child, (int)f->target);
	return -1;
}

/* The thread to run the clone in: held, with no signal to deliver. */
static struct hd_task *forking_thread(struct hd_target *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->tasks[i].seized && t->tasks[i].stopped && !t->tasks[i].pending_sig)
			return &t->tasks[i];
	return NULL;
}

int cowfork_take(struct hd_cowfork *f, struct hd_target *t, hd_memview *mv,
		 const struct hd_maps *maps)
{
	memset(f, 0, sizeof *f);
	f->target = t->pid;
	if (inject_find_site(mv, maps, t, &f->site) != 0)
		return -1;
	struct hd_task *task = forking_thread(t);
	if (!task)
		return hd_fail(HD_E_INCONSISTENT, "every thread of process %d holds a signal",
			       (int)t->pid);
	/* Every call this thread may be made to run, before running any: the
	 * reaping wait4 names a child that does not exist yet. */
	long args[6] = {CLONE_FLAGS, 0, 0, 0, 0, 0}, wait_args[6];
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
			     : hd_fail(HD_E_SNAPSHOT, "the kernel refused to fork process %d: %s; use "
						      "--snapshot=stop", (int)t->pid, strerror((int)-r.ret));
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
		reap_with(f, t->pid, task);
		hd_error_restore(&first);
		f->child = 0;
	}
	return rc;
}
