/* agent/exittrap.c on helper processes: the trap at exit and exit_group
 * (from any thread), at a crash signal with the default disposition (and
 * at the abort a handler ends in), nothing else stopped for good: signals
 * passed through exactly once, threads that come and go, a group-stop kept;
 * and every release ending the helper exactly as it would have ended. */
#include "../../agent/exittrap.h"
#include "../../common/clock.h"
#include "../../common/hd_error.h"
#include "tracee.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEADLINE_MS 30000

/* The helpers' commands: a byte on their input. */
enum { DO_EXIT = 'x', DO_THREAD_EXIT_GROUP = 'g', DO_ABORT = 'a', DO_THREAD_COMES_AND_GOES = 't',
       DO_REPORT = 'r', DO_MARKED_THREAD = 'm' };

/* A word DO_MARKED_THREAD keeps on its stack while it creates a thread, as
 * a return address into the shutdown would be. */
#define STACK_MARK 0x5eedfacecafe0001ull

static volatile sig_atomic_t usr2_seen, winch_seen;
static void count_usr2(int s) { (void)s; usr2_seen++; }
static void count_winch(int s) { (void)s; winch_seen++; }
static void segv_aborts(int s) { (void)s; abort(); }

/* _exit: exit_group at once (exit() would run a sanitizer build's leak
 * check first, which traces the process itself). */
static void *exit_group_thread(void *arg) { _exit((int)(long)arg); }
static void *short_thread(void *arg) { return arg; }

/* Creates a thread and waits for its end with STACK_MARK in its frame,
 * above the stack pointer of the clone. */
__attribute__((noinline)) static void marked_thread(void)
{
	volatile uint64_t mark[2] = {STACK_MARK, 0};
	pthread_t th;
	pthread_create(&th, NULL, short_thread, NULL);
	pthread_join(th, NULL);
	if (mark[0] != STACK_MARK) /* read back: an optimiser keeps the store */
		abort();
	mark[0] = 0; /* no stale mark left below later stack pointers */
}

/* Waits for commands until told to end; counts USR2 and WINCH; SIGSEGV
 * leads to abort() as a Native Image's handler does.  No core file. */
static void commanded(const void *ctx, int in, int out)
{
	(void)ctx;
	setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
	signal(SIGUSR2, count_usr2);
	signal(SIGWINCH, count_winch);
	signal(SIGSEGV, segv_aborts);
	if (write(out, "R", 1) != 1)
		_exit(90);
	char c;
	while (read(in, &c, 1) == 1) {
		pthread_t th;
		char report[64];
		switch (c) {
		case DO_EXIT:
			_exit(42);
		case DO_THREAD_EXIT_GROUP:
			pthread_create(&th, NULL, exit_group_thread, (void *)7L);
			pthread_join(th, NULL);
			_exit(91);
		case DO_ABORT:
			abort();
		case DO_THREAD_COMES_AND_GOES:
			pthread_create(&th, NULL, short_thread, NULL);
			pthread_join(th, NULL);
			if (write(out, "T", 1) != 1)
				_exit(92);
			break;
		case DO_MARKED_THREAD:
			marked_thread();
			if (write(out, "T", 1) != 1)
				_exit(92);
			break;
		case DO_REPORT:
			snprintf(report, sizeof report, "usr2=%d winch=%d", (int)usr2_seen, (int)winch_seen);
			if (write(out, report, strlen(report)) < 0)
				_exit(93);
			break;
		}
	}
	_exit(0);
}

static void command(struct tracee *h, char c)
{
	cr_assert(write(h->to, &c, 1) == 1);
}

/* Polls X until its event is not NONE, within the deadline. */
static struct exittrap_event await_event(struct hd_exittrap *x)
{
	uint64_t deadline = hd_monotonic_ms() + DEADLINE_MS;
	struct exittrap_event ev;
	for (;;) {
		exittrap_poll(x, &ev);
		if (ev.kind != EXITTRAP_NONE || hd_monotonic_ms() > deadline)
			return ev;
		hd_sleep_ms(1);
	}
}

/* Reads the helper's reply into BUF while polling X (a traced helper
 * waits in its stops until they are handled); no trap may come. */
static void await_reply(struct hd_exittrap *x, struct tracee *h, char *buf, size_t size)
{
	uint64_t deadline = hd_monotonic_ms() + DEADLINE_MS;
	for (;;) {
		struct exittrap_event ev;
		exittrap_poll(x, &ev);
		cr_assert_eq(ev.kind, EXITTRAP_NONE);
		struct timeval tv = {0, 1000};
		fd_set r;
		FD_ZERO(&r);
		FD_SET(h->from, &r);
		if (select(h->from + 1, &r, NULL, NULL, &tv) == 1)
			break;
		cr_assert(hd_monotonic_ms() < deadline, "no reply");
	}
	memset(buf, 0, size);
	cr_assert(read(h->from, buf, size - 1) > 0);
}

static int reap(pid_t pid)
{
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* Ends a helper told nothing more: it exits 0 at the end of its input. */
static void helper_end(struct tracee *h)
{
	close(h->to);
	int status = reap(h->pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
	close(h->from);
}

static struct tracee traced(struct hd_exittrap *x, unsigned what)
{
	struct tracee h = tracee_spawn(commanded, NULL);
	cr_assert_eq(exittrap_open(x, h.pid, what), 0, "%s", hd_error_message());
	return h;
}

Test(exittrap, exit_is_held_with_its_status_then_completes)
{
	struct hd_exittrap x;
	struct tracee h = traced(&x, EXITTRAP_EXIT | EXITTRAP_SIGNAL);
	command(&h, DO_EXIT);
	struct exittrap_event ev = await_event(&x);
	cr_assert_eq(ev.kind, EXITTRAP_EXITING);
	cr_assert_eq(ev.status, 42);
	/* Held: its end not reported yet, its threads readable. */
	cr_assert_eq(waitpid(h.pid, &(int){0}, WNOHANG), 0);
	cr_assert_eq(exittrap_hold_all(&x), 0, "%s", hd_error_message());
	cr_assert(x.t.n >= 1 && x.t.tasks[0].state == TASK_STOPPED);
#if defined(__x86_64__)
	cr_assert(x.t.tasks[0].have_regs);
#endif
	exittrap_detach(&x);
	int status = reap(h.pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 42, "status 0x%x", status);
}

Test(exittrap, exit_group_from_another_thread_is_the_trap)
{
	struct hd_exittrap x;
	struct tracee h = traced(&x, EXITTRAP_EXIT);
	command(&h, DO_THREAD_EXIT_GROUP);
	struct exittrap_event ev = await_event(&x);
	cr_assert_eq(ev.kind, EXITTRAP_EXITING);
	cr_assert_eq(ev.status, 7);
	cr_assert_neq(ev.tid, h.pid, "the thread that called exit is held");
	cr_assert_eq(exittrap_hold_all(&x), 0, "%s", hd_error_message());
	exittrap_detach(&x);
	int status = reap(h.pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 7, "status 0x%x", status);
}

Test(exittrap, threads_that_come_and_go_are_no_trap)
{
	struct hd_exittrap x;
	struct tracee h = traced(&x, EXITTRAP_EXIT | EXITTRAP_SIGNAL);
	for (int i = 0; i < 20; i++) {
		command(&h, DO_THREAD_COMES_AND_GOES);
		char reply[8];
		await_reply(&x, &h, reply, sizeof reply);
		cr_assert_str_eq(reply, "T", "round %d", i);
	}
	exittrap_poll(&x, &(struct exittrap_event){0});
	cr_assert_eq(x.t.n, 1, "exited threads are forgotten (%zu left)", x.t.n);
	/* Each thread cost three stops: the creator's clone event, the new
	 * thread's first stop, its exit. */
	cr_assert_eq(x.stops, 3 * 20, "%lu stops", x.stops);
	command(&h, DO_EXIT);
	cr_assert_eq(await_event(&x).kind, EXITTRAP_EXITING);
	exittrap_detach(&x);
	int status = reap(h.pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 42);
}

Test(exittrap, abort_is_held_before_delivery_then_delivered)
{
	struct hd_exittrap x;
	struct tracee h = traced(&x, EXITTRAP_SIGNAL);
	command(&h, DO_ABORT);
	struct exittrap_event ev = await_event(&x);
	cr_assert_eq(ev.kind, EXITTRAP_SIGNALLED);
	cr_assert_eq(ev.signo, SIGABRT);
	cr_assert_eq(exittrap_hold_all(&x), 0, "%s", hd_error_message());
	exittrap_detach(&x);
	int status = reap(h.pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status 0x%x", status);
	cr_assert(!WCOREDUMP(status), "core limit 0: no core, as untraced");
}

Test(exittrap, a_handled_crash_signal_passes_and_its_abort_is_the_trap)
{
	struct hd_exittrap x;
	struct tracee h = traced(&x, EXITTRAP_SIGNAL);
	kill(h.pid, SIGSEGV);
	struct exittrap_event ev = await_event(&x);
	cr_assert_eq(ev.kind, EXITTRAP_SIGNALLED);
	cr_assert_eq(ev.signo, SIGABRT, "SIGSEGV is caught: the handler's abort is the trap");
	exittrap_detach(&x);
	int status = reap(h.pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status 0x%x", status);
}

Test(exittrap, exit_not_asked_for_is_no_trap)
{
	struct hd_exittrap x;
	struct tracee h = traced(&x, EXITTRAP_SIGNAL);
	command(&h, DO_EXIT);
	struct exittrap_event ev = await_event(&x);
	cr_assert_eq(ev.kind, EXITTRAP_GONE);
	/* We are its parent as well as its tracer: its status was reaped. */
	cr_assert(WIFEXITED(ev.status) && WEXITSTATUS(ev.status) == 42, "status 0x%x", ev.status);
	exittrap_detach(&x);
}

Test(exittrap, ordinary_signals_pass_through_once_each)
{
	struct hd_exittrap x;
	struct tracee h = traced(&x, EXITTRAP_EXIT | EXITTRAP_SIGNAL);
	for (int i = 0; i < 3; i++) {
		kill(h.pid, SIGUSR2);
		kill(h.pid, SIGWINCH);
		kill(h.pid, SIGCHLD);
	}
	/* Each signal holds the helper at its delivery until polled; the
	 * report is written only after every one was handled. */
	command(&h, DO_REPORT);
	char report[64];
	await_reply(&x, &h, report, sizeof report);
	/* Standard signals pending together merge: at least one, at most three. */
	int usr2 = -1, winch = -1;
	cr_assert_eq(sscanf(report, "usr2=%d winch=%d", &usr2, &winch), 2, "%s", report);
	cr_assert(usr2 >= 1 && usr2 <= 3 && winch >= 1 && winch <= 3, "%s", report);
	/* One signal-delivery stop for each signal delivered, SIGCHLD's too. */
	cr_assert(x.stops >= (unsigned long)(usr2 + winch + 1) && x.stops <= 9, "%lu stops, %s", x.stops,
		  report);
	exittrap_detach(&x);
	helper_end(&h);
}

/* Whether the helper's reply is there within MS, polling X meanwhile. */
static bool replies_within(struct hd_exittrap *x, struct tracee *h, unsigned ms)
{
	uint64_t deadline = hd_monotonic_ms() + ms;
	while (hd_monotonic_ms() < deadline) {
		exittrap_poll(x, &(struct exittrap_event){0});
		struct timeval tv = {0, 1000};
		fd_set r;
		FD_ZERO(&r);
		FD_SET(h->from, &r);
		if (select(h->from + 1, &r, NULL, NULL, &tv) == 1)
			return true;
	}
	return false;
}

Test(exittrap, a_group_stop_is_kept_until_sigcont)
{
	struct hd_exittrap x;
	struct tracee h = traced(&x, EXITTRAP_EXIT | EXITTRAP_SIGNAL);
	kill(h.pid, SIGSTOP);
	command(&h, DO_REPORT);
	/* Stopped as untraced: no answer while its stops are handled (a
	 * continued group-stop would let it answer at once). */
	cr_assert(!replies_within(&x, &h, 300), "a SIGSTOPped helper answered");
	kill(h.pid, SIGCONT);
	char report[64];
	await_reply(&x, &h, report, sizeof report);
	cr_assert(strncmp(report, "usr2=", 5) == 0, "%s", report);
	/* Detached while group-stopped, it stays stopped, then runs on. */
	kill(h.pid, SIGSTOP);
	command(&h, DO_REPORT);
	cr_assert(!replies_within(&x, &h, 300), "a SIGSTOPped helper answered");
	exittrap_detach(&x);
	/* Woken from our stop, it goes back to the group-stop: polled. */
	char path[64], line[256] = "", state = 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)h.pid);
	uint64_t deadline = hd_monotonic_ms() + DEADLINE_MS;
	while (state != 'T' && hd_monotonic_ms() < deadline) {
		FILE *f = fopen(path, "re");
		cr_assert(f && fgets(line, sizeof line, f));
		fclose(f);
		state = strrchr(line, ')')[2];
		hd_sleep_ms(1);
	}
	cr_assert_eq(state, 'T', "%s", line);
	kill(h.pid, SIGCONT);
	cr_assert(read(h.from, report, sizeof report - 1) > 0, "it answers");
	helper_end(&h);
}

Test(exittrap, refusals)
{
	struct hd_exittrap x;
	cr_assert_eq(exittrap_open(&x, 1 << 30, EXITTRAP_EXIT), -1);
	cr_assert_eq(hd_error_class(), HD_E_NOENT);
	cr_assert_eq(exittrap_open(&x, getpid(), 0), -1);
	cr_assert_eq(hd_error_class(), HD_E_USAGE);
	struct tracee h = traced(&x, EXITTRAP_EXIT);
	cr_assert_eq(exittrap_hold_all(&x), -1, "no trap: nothing to hold");
	cr_assert_eq(hd_error_class(), HD_E_USAGE);
	exittrap_detach(&x);
	exittrap_detach(&x); /* idempotent */
	tracee_kill(&h);
}

Test(exittrap, dispositions_from_status_masks)
{
	const char *status = "Name:\tx\nSigIgn:\t0000000000000006\nSigCgt:\t0000000000000400\n";
	cr_assert(!exittrap_default_disposition(status, SIGSEGV), "caught");
	cr_assert(!exittrap_default_disposition(status, SIGINT), "ignored");
	cr_assert(exittrap_default_disposition(status, SIGABRT));
	cr_assert(exittrap_default_disposition(status, SIGBUS));
	const char *rt = "SigCgt:\t2000000000000000\n";
	cr_assert(!exittrap_default_disposition(rt, 62));
	cr_assert(exittrap_default_disposition(rt, SIGSEGV));
	cr_assert(exittrap_default_disposition("SigCgt:\tzz\n", SIGSEGV), "malformed: default");
	cr_assert(exittrap_default_disposition("", SIGSEGV));
	cr_assert(exittrap_default_disposition(status, 0) && exittrap_default_disposition(status, 200));
	cr_assert(exittrap_fatal_signal(SIGSEGV) && exittrap_fatal_signal(SIGBUS) &&
		  exittrap_fatal_signal(SIGABRT) && exittrap_fatal_signal(SIGILL) &&
		  exittrap_fatal_signal(SIGFPE));
	cr_assert(!exittrap_fatal_signal(SIGTERM) && !exittrap_fatal_signal(SIGUSR2) &&
		  !exittrap_fatal_signal(SIGKILL));
}

/* ---- the shutdown trap: a thread creation the probe recognises ---------- */

static bool is_mark(void *ctx, uint64_t word)
{
	(void)ctx;
	return word == STACK_MARK;
}

/* The probe of these tests: STACK_MARK on the creating thread's stack,
 * read through the process view CTX. */
static bool marked_stack(void *ctx, uint64_t sp)
{
	return exittrap_stack_holds(ctx, sp, STACK_MARK, STACK_MARK + 1, is_mark, NULL);
}

/* A helper traced for WHAT with marked_stack as its probe (over the
 * returned view). */
static hd_memview *traced_with_probe(struct hd_exittrap *x, struct tracee *h, unsigned what)
{
	*h = traced(x, what);
	hd_memview *mv = mv_new_process(h->pid);
	cr_assert(mv);
	x->probe = (struct exittrap_probe){marked_stack, mv};
	return mv;
}

/* Has H run COMMAND (a thread created) with no trap. */
static void thread_passes(struct hd_exittrap *x, struct tracee *h, char command_byte)
{
	command(h, command_byte);
	char reply[8];
	await_reply(x, h, reply, sizeof reply);
	cr_assert_str_eq(reply, "T");
}

Test(exittrap, a_recognised_thread_creation_is_held_then_goes_on)
{
	struct hd_exittrap x;
	struct tracee h;
	hd_memview *mv = traced_with_probe(&x, &h, EXITTRAP_EXIT | EXITTRAP_SHUTDOWN);
	/* Unmarked creations are checked and let go. */
	for (int i = 0; i < 3; i++)
		thread_passes(&x, &h, DO_THREAD_COMES_AND_GOES);
	cr_assert_eq(x.probes, 3);
	command(&h, DO_MARKED_THREAD);
	struct exittrap_event ev = await_event(&x);
	cr_assert_eq(ev.kind, EXITTRAP_SHUTTING_DOWN);
	cr_assert_eq(ev.status, -1);
	cr_assert_eq(ev.tid, h.pid, "the creating thread is held");
	cr_assert_eq(x.probes, 4);
	cr_assert_eq(exittrap_hold_all(&x), 0, "%s", hd_error_message());
	/* Held: the new thread has not run, so the helper cannot reply. */
	cr_assert_eq(waitpid(h.pid, &(int){0}, WNOHANG), 0);
	exittrap_detach(&x);
	mv_free(mv);
	/* Let go, it goes on: the thread runs, the reply comes, and it ends as
	 * it would have. */
	char c;
	cr_assert_eq(read(h.from, &c, 1), 1);
	cr_assert_eq(c, 'T');
	helper_end(&h);
}

Test(exittrap, the_probe_is_asked_only_for_the_shutdown_trap)
{
	struct hd_exittrap x;
	struct tracee h;
	hd_memview *mv = traced_with_probe(&x, &h, EXITTRAP_EXIT | EXITTRAP_SIGNAL);
	thread_passes(&x, &h, DO_MARKED_THREAD);
	cr_assert_eq(x.probes, 0);
	exittrap_detach(&x);
	mv_free(mv);
	helper_end(&h);
}

/* ---- exittrap_stack_holds on synthetic stacks ---------------------------- */

#define STACK_BASE 0x7f0000000000ull
#define PAGE 4096u

struct synthetic_stack {
	hd_memview *mv;
	uint64_t *words;
	size_t len;
};

/* LEN bytes of zero words mapped at STACK_BASE. */
static struct synthetic_stack stack_of(size_t len)
{
	struct synthetic_stack s = {mv_new_local(), aligned_alloc(PAGE, len), len};
	cr_assert(s.mv && s.words);
	memset(s.words, 0, len);
	cr_assert_eq(mv_add_local(s.mv, STACK_BASE, s.words, len), 0);
	return s;
}

static void stack_free(struct synthetic_stack *s)
{
	mv_free(s->mv);
	free(s->words);
}

static void put(struct synthetic_stack *s, uint64_t off, uint64_t word)
{
	cr_assert(off % 8 == 0 && off + 8 <= s->len);
	s->words[off / 8] = word;
}

static bool holds(struct synthetic_stack *s, uint64_t sp)
{
	return exittrap_stack_holds(s->mv, sp, STACK_MARK, STACK_MARK + 16, is_mark, NULL);
}

Test(exittrap, stack_scan_finds_a_word_at_or_above_the_stack_pointer)
{
	struct synthetic_stack s = stack_of(4 * PAGE);
	put(&s, 2 * PAGE + 24, STACK_MARK);
	cr_assert(holds(&s, STACK_BASE));
	cr_assert(holds(&s, STACK_BASE + PAGE + 100), "from mid-page");
	cr_assert(holds(&s, STACK_BASE + 2 * PAGE + 24), "at the stack pointer");
	cr_assert(holds(&s, STACK_BASE + 2 * PAGE + 27), "misaligned: aligned down");
	cr_assert_not(holds(&s, STACK_BASE + 2 * PAGE + 32), "below the stack pointer is not looked at");
	stack_free(&s);
}

Test(exittrap, stack_scan_asks_the_matcher_only_in_range)
{
	struct synthetic_stack s = stack_of(2 * PAGE);
	put(&s, 8, STACK_MARK + 1); /* in range, but the matcher says no */
	put(&s, 16, STACK_MARK - 1);
	put(&s, 24, STACK_MARK + 16);
	cr_assert_not(holds(&s, STACK_BASE));
	put(&s, PAGE, STACK_MARK);
	cr_assert(holds(&s, STACK_BASE));
	stack_free(&s);
}

Test(exittrap, stack_scan_is_bounded)
{
	/* A stack larger than the bound, marked past it: not found. */
	size_t len = EXITTRAP_SCAN_MAX + 4 * PAGE;
	struct synthetic_stack s = stack_of(len);
	put(&s, EXITTRAP_SCAN_MAX + PAGE, STACK_MARK);
	cr_assert_not(holds(&s, STACK_BASE));
	cr_assert(holds(&s, STACK_BASE + 2 * PAGE), "found when within the bound");
	put(&s, EXITTRAP_SCAN_MAX - 8, STACK_MARK);
	cr_assert(holds(&s, STACK_BASE), "the last word within the bound");
	stack_free(&s);
}

Test(exittrap, stack_scan_of_hostile_stack_pointers)
{
	struct synthetic_stack s = stack_of(2 * PAGE);
	put(&s, PAGE, STACK_MARK);
	/* The scan ends where memory does: a mark beyond a hole is not found. */
	cr_assert_not(holds(&s, STACK_BASE - PAGE), "unmapped stack pointer");
	cr_assert_not(holds(&s, 0));
	cr_assert_not(holds(&s, UINT64_MAX));
	cr_assert_not(holds(&s, UINT64_MAX - PAGE - 5));
	cr_assert_not(holds(&s, STACK_BASE + 2 * PAGE), "past the stack's end");
	/* An empty range matches nothing. */
	cr_assert_not(exittrap_stack_holds(s.mv, STACK_BASE, STACK_MARK, STACK_MARK, is_mark, NULL));
	stack_free(&s);
}

Test(exittrap, stack_scan_stops_at_a_hole)
{
	/* Two mappings with a page between them: the second is not read. */
	struct synthetic_stack s = stack_of(PAGE);
	uint64_t *beyond = aligned_alloc(PAGE, PAGE);
	cr_assert(beyond);
	memset(beyond, 0, PAGE);
	beyond[3] = STACK_MARK;
	cr_assert_eq(mv_add_local(s.mv, STACK_BASE + 2 * PAGE, beyond, PAGE), 0);
	cr_assert_not(holds(&s, STACK_BASE));
	cr_assert(holds(&s, STACK_BASE + 2 * PAGE));
	stack_free(&s);
	free(beyond);
}
