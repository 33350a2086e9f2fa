/* The fork snapshot (agent/cowfork.h) on helper processes: the fork is a
 * faithful frozen copy of the helper, killed and reaped afterwards, and the
 * helper never sees SIGCHLD nor notices anything else; a fork let go before
 * its guard dies at once without running the helper's code; a helper with no
 * thread in a system call forks at a libc wrapper only when the caller
 * hands the wrappers in. */
#include "../../agent/attach.h"
#include "../../agent/cowfork.h"
#include "../../agent/memview.h"
#include "../../agent/procmaps.h"
#include "../../common/clock.h"
#include "../../common/hd_error.h"
#include "../../symbols/syscall_wrappers.h"
#include "tracee.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <unistd.h>

static volatile sig_atomic_t sigchld_seen;
static void on_sigchld(int s) { (void)s; sigchld_seen++; }

/* A native image handles faults; a fork running this would say so. */
static int report_fd = -1;
static void on_fault(int s)
{
	(void)s;
	if (write(report_fd, "fault handled ", 14) < 0)
		_exit(3);
	_exit(4);
}

/* Read by the test in the helper and in its frozen fork. */
static volatile uint64_t marker = 0x5eed;
/* Memory the helper dirties, so that its fork shares it copy-on-write. */
static uint8_t *ballast;
#define BALLAST_SIZE (32u << 20)

/* Blocks in a read, then reports what it read and the SIGCHLDs it saw;
 * handles faults by reporting them. */
static void reader_main(const void *ctx, int in, int out)
{
	(void)ctx;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_sigchld;
	sigaction(SIGCHLD, &sa, NULL);
	report_fd = out;
	sa.sa_handler = on_fault;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	marker = 0xfeedface;
	memset(ballast, 0x5a, BALLAST_SIZE);
	if (write(out, "R", 1) != 1) /* the ballast is written, the read comes next */
		_exit(2);
	char buf[64] = "", report[128];
	ssize_t n = read(in, buf, sizeof buf - 1);
	snprintf(report, sizeof report, "read=%zd:%.*s chld=%d", n, n > 0 ? (int)n : 0, buf,
		 (int)sigchld_seen);
	if (write(out, report, strlen(report)) < 0)
		_exit(2);
	_exit(0);
}

/* Computes forever: no thread in a system call. */
static void spinner_main(const void *ctx, int in, int out)
{
	(void)ctx, (void)in;
	if (write(out, "R", 1) != 1)
		_exit(2);
	for (volatile uint64_t x = 0;; x++)
		;
}

/* The state letter of PID in /proc/PID/stat, '\0' when it is gone. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return '\0';
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' ? paren[2] : '\0';
}

/* Polls until PID is a zombie, for at most ten seconds. */
static bool becomes_zombie(pid_t pid)
{
	for (uint64_t deadline = hd_monotonic_ms() + 10000; hd_monotonic_ms() < deadline;) {
		if (proc_state(pid) == 'Z')
			return true;
		hd_sleep_ms(1);
	}
	return false;
}

struct held {
	struct hd_target t;
	struct hd_maps maps;
	hd_memview *mv;
};

static void hold(struct held *h, pid_t pid)
{
	cr_assert(target_stop(&h->t, pid) == 0, "%s", hd_error_message());
	cr_assert(maps_read(pid, &h->maps) == 0, "%s", hd_error_message());
	cr_assert((h->mv = mv_new_process(pid)));
}

static void let_go(struct held *h)
{
	mv_free(h->mv);
	maps_free(&h->maps);
	target_free(&h->t);
}

/* The process seam asks before holding the target: the answer must match
 * the code this build carries. */
Test(cowfork, supported_exactly_on_x86_64)
{
#if defined(__x86_64__)
	cr_assert(cowfork_supported());
#else
	cr_assert_not(cowfork_supported());
#endif
}

/* A reader helper blocked in its read, forked, and running on: in *H, *X, *F. */
static void fork_a_reader(struct tracee *h, struct held *x, struct hd_cowfork *f)
{
	/* Small pages, as a native image's heap chunks have. */
	ballast = mmap(NULL, BALLAST_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(ballast != MAP_FAILED);
	madvise(ballast, BALLAST_SIZE, MADV_NOHUGEPAGE);
	*h = tracee_spawn(reader_main, NULL);
	tracee_await_syscall(h->pid, SYS_read);
	hold(x, h->pid);
	cr_assert(cowfork_take(f, &x->t, x->mv, &x->maps, NULL) == 0, "%s", hd_error_message());
	target_release(&x->t);
	cr_assert(f->child > 0);
}

Test(cowfork, frozen_copy_then_killed_and_reaped)
{
	struct tracee h;
	struct held x;
	struct hd_cowfork f;
	fork_a_reader(&h, &x, &f);
	/* The helper runs on; the child is its frozen copy. */
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)f.child);
	cr_assert(access(path, F_OK) == 0);
	cr_assert_eq(tracee_children(h.pid), 1);
	hd_memview *cv = mv_new_process(f.child);
	cr_assert(cv);
	uint64_t seen = 0;
	cr_assert(mv_read(cv, (uint64_t)(uintptr_t)&marker, &seen, sizeof seen) == 0);
	cr_assert_eq(seen, 0xfeedface);
	/* The fork shares what the helper wrote; read it the way hdump reads a fork. */
	mv_read_without_pinning(cv);
	uint8_t *piece = malloc(1u << 20);
	cr_assert(piece);
	for (size_t off = 0; off < BALLAST_SIZE; off += 1u << 20) {
		cr_assert(mv_read(cv, (uint64_t)(uintptr_t)ballast + off, piece, 1u << 20) == 0);
		cr_assert(piece[0] == 0x5a && piece[(1u << 20) - 1] == 0x5a);
	}
	free(piece);
	mv_free(cv);
	pid_t child = f.child;
	/* Let go once read: it dies at once, and stays the helper's child until
	 * the discard has the helper reap it. */
	cowfork_let_go(&f);
	cr_assert(becomes_zombie(child), "fork %d did not die (state %c)", (int)child,
		  proc_state(child));
	cr_assert_eq(tracee_children(h.pid), 1);
	cr_assert(cowfork_discard(&f) == 0, "%s", hd_error_message());
	cr_assert_eq(f.child, 0);
	cr_assert_eq(tracee_children(h.pid), 0);
	cr_assert(kill(child, 0) != 0 && errno == ESRCH, "fork %d still exists", (int)child);
	cr_assert(cowfork_discard(&f) == 0, "a second discard is a no-op");
	let_go(&x);
	cr_assert_str_eq(tracee_finish(&h, "xyz"), "read=3:xyz chld=0");
	munmap(ballast, BALLAST_SIZE);
	ballast = NULL;
}

/* The exit code the kernel keeps for zombie PID (/proc/PID/stat field 52),
 * -1 when it cannot be read. */
static int zombie_status(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	for (int field = 2; p && field < 52; field++)
		p = strchr(p + 1, ' ');
	return p ? atoi(p + 1) : -1;
}

#if defined(__x86_64__)
/* hdump killed between the clone and the guard: the kernel lets the child go
 * as it was born, at the instruction after the `syscall` with 0 in rax.  It
 * must die there, by SIGSEGV, without running the helper's code: that code
 * would take the helper's input and report a read of its own, its fault
 * handler would report the fault. */
Test(cowfork, a_fork_let_go_before_its_guard_dies_without_running, .timeout = 60)
{
	struct tracee h;
	struct held x;
	struct hd_cowfork f;
	fork_a_reader(&h, &x, &f);
	struct user_regs_struct regs;
	cr_assert(ptrace(PTRACE_GETREGS, f.child, 0, &regs) == 0);
	regs.rip = f.site + INJECT_SYSCALL_LEN;
	regs.rax = 0;
	cr_assert(ptrace(PTRACE_SETREGS, f.child, 0, &regs) == 0);
	cr_assert(ptrace(PTRACE_DETACH, f.child, 0, 0) == 0);
	cr_assert(becomes_zombie(f.child), "fork %d did not die (state %c)", (int)f.child,
		  proc_state(f.child));
	int status = zombie_status(f.child);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
		  "fork ended with status 0x%x, not SIGSEGV", status);
	cr_assert(cowfork_discard(&f) == 0, "%s", hd_error_message());
	cr_assert_eq(tracee_children(h.pid), 0);
	let_go(&x);
	cr_assert_str_eq(tracee_finish(&h, "xyz"), "read=3:xyz chld=0");
	munmap(ballast, BALLAST_SIZE);
	ballast = NULL;
}
#endif

/* No thread in a call: the clone can only run at a libc wrapper, which the
 * caller finds (symbols/) and hands in; without them the fork is refused
 * before anything is injected. */
Test(cowfork, a_computing_target_forks_at_a_wrapper_the_caller_found, .timeout = 60)
{
	struct tracee h = tracee_spawn(spinner_main, NULL);
	struct held x;
	hold(&x, h.pid);
	struct hd_cowfork f;
	cr_assert(cowfork_take(&f, &x.t, x.mv, &x.maps, NULL) != 0);
	cr_assert_eq(hd_error_class(), HD_E_SNAPSHOT, "%s", hd_error_message());
	cr_assert(strstr(hd_error_message(), "no libc symbols"), "%s", hd_error_message());
	cr_assert_eq(f.child, 0);
	cr_assert_eq(tracee_children(h.pid), 0);
	struct inject_entries libc;
	cr_assert_eq(syscall_wrappers_find(h.pid, &x.maps, &libc), 0, "%s", hd_error_message());
	cr_assert(libc.n > 0, "no wrapper found (unreadable: %d)", libc.unreadable);
	cr_assert(cowfork_take(&f, &x.t, x.mv, &x.maps, &libc) == 0, "%s", hd_error_message());
	target_release(&x.t);
	cr_assert(f.child > 0);
	cr_assert_eq(tracee_children(h.pid), 1);
	const struct hd_mapping *m = maps_find(&x.maps, f.site);
	cr_assert(m && strncmp(m->name, "libc", 4) == 0, "site 0x%llx not in libc",
		  (unsigned long long)f.site);
	cr_assert(cowfork_discard(&f) == 0, "%s", hd_error_message());
	cr_assert_eq(tracee_children(h.pid), 0);
	let_go(&x);
	tracee_kill(&h);
}
