/* System calls injected into a stopped process (agent/inject.h), on helper
 * processes whose every observable outcome is checked: a blocking read, a
 * sleep and a user-mode computation carry on exactly as if nothing
 * happened, a signal that races the injection is delivered, and the sites
 * calls are made at are proven instruction starts. */
#include "../../agent/attach.h"
#include "../../agent/inject.h"
#include "../../agent/memview.h"
#include "../../agent/procmaps.h"
#include "../../common/clock.h"
#include "../../common/hd_error.h"
#include "../../symbols/syscall_wrappers.h"
#include "tracee.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t sigchld_seen, sigusr1_seen;
static void on_sigchld(int s) { (void)s; sigchld_seen++; }
static void on_sigusr1(int s) { (void)s; sigusr1_seen++; }

#define SPIN_ROUNDS 300000000ull

static uint64_t spin(uint64_t rounds)
{
	uint64_t x = 88172645463325252ull, sum = 0;
	for (uint64_t i = 0; i < rounds; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		sum += x >> 3;
	}
	return x ^ sum;
}

enum mode { READER, SLEEPER, SPINNER };

/* The helper reports on FROM_HELPER: what its blocking call returned and
 * how many SIGCHLD / SIGUSR1 it saw. */
static void helper_main(const void *ctx, int in, int out)
{
	enum mode m = *(const enum mode *)ctx;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_sigchld;
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = on_sigusr1;
	sigaction(SIGUSR1, &sa, NULL);
	/* Ready: the blocking call comes next. */
	if (write(out, "R", 1) != 1)
		_exit(2);
	char buf[64] = "";
	char report[160];
	if (m == READER) {
		ssize_t n = read(in, buf, sizeof buf - 1);
		snprintf(report, sizeof report, "read=%zd:%.*s", n, n > 0 ? (int)n : 0, buf);
	} else if (m == SLEEPER) {
		struct timespec a, b, d = {0, 400 * 1000000L};
		clock_gettime(CLOCK_MONOTONIC, &a);
		int rc = nanosleep(&d, NULL);
		clock_gettime(CLOCK_MONOTONIC, &b);
		long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
		snprintf(report, sizeof report, "sleep=%d:%s", rc, ms >= 400 ? "full" : "short");
	} else {
		snprintf(report, sizeof report, "spin=%llx", (unsigned long long)spin(SPIN_ROUNDS));
	}
	size_t len = strlen(report);
	snprintf(report + len, sizeof report - len, " chld=%d usr1=%d", (int)sigchld_seen,
		 (int)sigusr1_seen);
	if (write(out, report, strlen(report)) < 0)
		_exit(2);
	_exit(0);
}

static struct tracee helper_start(enum mode m)
{
	struct tracee h = tracee_spawn(helper_main, &m);
	if (m == READER)
		tracee_await_syscall(h.pid, SYS_read);
	else if (m == SLEEPER)
		tracee_await_syscall(h.pid, SYS_clock_nanosleep);
	return h;
}

static uint64_t site_of(const struct hd_target *t)
{
	struct hd_maps maps;
	cr_assert(maps_read(t->pid, &maps) == 0);
	hd_memview *mv = mv_new_process(t->pid);
	struct inject_entries libc;
	cr_assert_eq(syscall_wrappers_find(t->pid, &maps, &libc), 0, "%s", hd_error_message());
	uint64_t site = 0;
	cr_assert(inject_find_site(mv, &maps, t, &libc, &site) == 0, "%s", hd_error_message());
	mv_free(mv);
	maps_free(&maps);
	return site;
}

static void inject_getpid(struct hd_target *t)
{
	struct hd_injected r;
	int sig = -1;
	long args[6] = {0};
	cr_assert(inject_syscall(t->tasks[0].tid, site_of(t), SYS_getpid, args, &r, &sig) == 0,
		  "%s", hd_error_message());
	cr_assert_eq(r.ret, t->pid);
	cr_assert_eq(sig, 0);
	cr_assert_eq(r.new_child, 0);
}

Test(inject, blocking_read_restarts_after_call)
{
	struct tracee h = helper_start(READER);
	struct hd_target t;
	cr_assert(target_stop(&t, h.pid) == 0, "%s", hd_error_message());
	inject_getpid(&t);
	inject_getpid(&t);
	target_free(&t);
	cr_assert_str_eq(tracee_finish(&h, "hello"), "read=5:hello chld=0 usr1=0");
}

Test(inject, sleep_resumes_through_restart_syscall)
{
	struct tracee h = helper_start(SLEEPER);
	struct hd_target t;
	cr_assert(target_stop(&t, h.pid) == 0, "%s", hd_error_message());
	inject_getpid(&t);
	target_free(&t);
	cr_assert_str_eq(tracee_finish(&h, NULL), "sleep=0:full chld=0 usr1=0");
}

Test(inject, computation_keeps_its_registers, .timeout = 60)
{
	char want[64];
	snprintf(want, sizeof want, "spin=%llx chld=0 usr1=0", (unsigned long long)spin(SPIN_ROUNDS));
	struct tracee h = helper_start(SPINNER);
	for (int i = 0; i < 20; i++) {
		struct hd_target t;
		cr_assert(target_stop(&t, h.pid) == 0, "%s", hd_error_message());
		inject_getpid(&t);
		target_free(&t);
		/* Let it compute between the stops (spacing, not synchronisation). */
		hd_sleep_ms(5);
	}
	cr_assert_str_eq(tracee_finish(&h, NULL), want);
}

Test(inject, signal_racing_the_call_is_delivered)
{
	struct tracee h = helper_start(READER);
	struct hd_target t;
	cr_assert(target_stop(&t, h.pid) == 0, "%s", hd_error_message());
	/* Queued while the thread is held: it comes out of the first resume. */
	kill(h.pid, SIGUSR1);
	struct hd_injected r;
	int sig = 0;
	long args[6] = {0};
	cr_assert(inject_syscall(h.pid, site_of(&t), SYS_getpid, args, &r, &sig) != 0);
	cr_assert_eq(hd_error_class(), HD_E_INCONSISTENT);
	cr_assert_eq(sig, SIGUSR1);
	t.tasks[0].pending_sig = sig;
	target_free(&t);
	cr_assert_str_eq(tracee_finish(&h, "abc"), "read=3:abc chld=0 usr1=1");
}

/* Where the thread's system call returns to: just after its `syscall`. */
static uint64_t rip_of(pid_t tid)
{
	struct user_regs_struct regs;
	cr_assert(ptrace(PTRACE_GETREGS, tid, 0, &regs) == 0);
	return regs.rip;
}

Test(inject, sites_are_proven_instruction_starts, .timeout = 60)
{
	/* Blocked in a read: the `syscall` the thread itself is inside. */
	struct tracee h = helper_start(READER);
	struct hd_target t;
	cr_assert(target_stop(&t, h.pid) == 0, "%s", hd_error_message());
	cr_assert_eq(site_of(&t), rip_of(t.tasks[0].tid) - INJECT_SYSCALL_LEN);
	target_free(&t);
	cr_assert_str_eq(tracee_finish(&h, "s"), "read=1:s chld=0 usr1=0");
	/* Computing: no thread in a call, so a libc function that starts with
	 * `[endbr64] mov $nr, %eax; syscall`. */
	h = helper_start(SPINNER);
	cr_assert(target_stop(&t, h.pid) == 0, "%s", hd_error_message());
	uint64_t site = site_of(&t);
	struct hd_maps maps;
	cr_assert(maps_read(h.pid, &maps) == 0);
	const struct hd_mapping *m = maps_find(&maps, site);
	cr_assert(m && strncmp(m->name, "libc", 4) == 0, "site 0x%llx not in libc",
		  (unsigned long long)site);
	hd_memview *mv = mv_new_process(h.pid);
	uint8_t code[7];
	cr_assert(mv_read(mv, site - 5, code, sizeof code) == 0);
	cr_assert(code[0] == 0xb8 && code[5] == 0x0f && code[6] == 0x05);
	mv_free(mv);
	maps_free(&maps);
	target_free(&t);
	tracee_kill(&h);
}

/* Without CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE, /proc/PID/map_files
 * cannot be opened: a target with no thread in a call is refused, saying
 * so, not for want of libc symbols. */
Test(inject, an_unreadable_libc_is_named_in_the_refusal, .timeout = 60)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	cr_assert(syscall(SYS_capget, &hdr, data) == 0);
	data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	data[CAP_TO_INDEX(CAP_CHECKPOINT_RESTORE)].effective &= ~CAP_TO_MASK(CAP_CHECKPOINT_RESTORE);
	cr_assert(syscall(SYS_capset, &hdr, data) == 0); /* this test's process only */
	struct tracee h = helper_start(SPINNER);
	struct hd_target t;
	cr_assert(target_stop(&t, h.pid) == 0, "%s", hd_error_message());
	struct hd_maps maps;
	cr_assert(maps_read(h.pid, &maps) == 0);
	hd_memview *mv = mv_new_process(h.pid);
	struct inject_entries libc;
	cr_assert_eq(syscall_wrappers_find(h.pid, &maps, &libc), 0, "%s", hd_error_message());
	cr_assert_eq(libc.unreadable, EPERM);
	cr_assert_eq(libc.n, 0);
	uint64_t site = 0;
	cr_assert(inject_find_site(mv, &maps, &t, &libc, &site) != 0, "a site at 0x%llx",
		  (unsigned long long)site);
	cr_assert_eq(hd_error_class(), HD_E_SNAPSHOT);
	cr_assert(strstr(hd_error_message(), "cannot read its libc (map_files: Operation not permitted)"),
		  "%s", hd_error_message());
	mv_free(mv);
	maps_free(&maps);
	target_free(&t);
	tracee_kill(&h);
}
