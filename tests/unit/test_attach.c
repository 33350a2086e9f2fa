/* Stopping a target's threads (agent/attach.h) on helper processes: every
 * thread held (TASK_STOPPED, in a tracing stop) then let go (TASK_DETACHED,
 * running); one thread held alone; a missing process or thread; a thread
 * that another tracer holds fails the attach with HD_E_TRACED and leaves
 * every thread running; a SIGTRAP met while stopping is handed back. */
#include "../../agent/attach.h"
#include "../../common/clock.h"
#include "../../common/hd_error.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Pipes between the test and the helper's two threads: the test writes a
 * byte on to[i], thread i echoes it on from[i]. */
struct helper {
	pid_t pid, tid2;
	int to[2], from[2];
};

static int helper_to[2][2], helper_from[2][2];
static volatile sig_atomic_t traps_handled, stop_trapping;
static volatile unsigned long traps_raised;

static void on_sigtrap(int s)
{
	(void)s;
	traps_handled++;
}

static void echo_loop(int in, int out)
{
	char c;
	while (read(in, &c, 1) == 1 && c != 'q')
		if (write(out, &c, 1) != 1)
			_exit(3);
}

static void *second_thread(void *trapping)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	if (write(helper_from[1][1], &tid, sizeof tid) != sizeof tid)
		_exit(3);
	if (!trapping) {
		echo_loop(helper_to[1][0], helper_from[1][1]);
		return NULL;
	}
	/* A SIGTRAP after another, each handled before tgkill returns: a
	 * handler count below the raise count is a signal lost. */
	while (!stop_trapping) {
		traps_raised++;
		syscall(SYS_tgkill, getpid(), tid, SIGTRAP);
	}
	return NULL;
}

static void start_helper(struct helper *h, bool trapping)
{
	for (int i = 0; i < 2; i++)
		cr_assert(pipe(helper_to[i]) == 0 && pipe(helper_from[i]) == 0);
	h->pid = fork();
	cr_assert_neq(h->pid, -1);
	if (h->pid == 0) {
		signal(SIGTRAP, on_sigtrap);
		pthread_t th;
		if (pthread_create(&th, NULL, second_thread, trapping ? "" : NULL) != 0)
			_exit(2);
		if (trapping) {
			char c;
			if (read(helper_to[0][0], &c, 1) != 1)
				_exit(3);
			stop_trapping = 1;
			pthread_join(th, NULL);
			unsigned long counts[2] = {traps_raised, (unsigned long)traps_handled};
			_exit(write(helper_from[0][1], counts, sizeof counts) == sizeof counts ? 0 : 3);
		}
		echo_loop(helper_to[0][0], helper_from[0][1]);
		_exit(0);
	}
	for (int i = 0; i < 2; i++) {
		h->to[i] = helper_to[i][1];
		h->from[i] = helper_from[i][0];
		close(helper_to[i][0]);
		close(helper_from[i][1]);
	}
	cr_assert_eq(read(h->from[1], &h->tid2, sizeof h->tid2), (ssize_t)sizeof h->tid2);
}

/* Reads LEN bytes from FD within 10 s (a thread left stopped never answers). */
static bool read_within(int fd, void *buf, size_t len)
{
	struct pollfd p = {fd, POLLIN, 0};
	return poll(&p, 1, 10000) == 1 && read(fd, buf, len) == (ssize_t)len;
}

static void expect_thread_runs(const struct helper *h, int i)
{
	char c = 'a' + (char)i, back = 0;
	cr_assert_eq(write(h->to[i], &c, 1), 1);
	cr_assert(read_within(h->from[i], &back, 1), "thread %d of the helper does not run", i);
	cr_assert_eq(back, c);
}

static void stop_helper(struct helper *h)
{
	kill(h->pid, SIGKILL);
	waitpid(h->pid, NULL, 0);
	for (int i = 0; i < 2; i++) {
		close(h->to[i]);
		close(h->from[i]);
	}
}

static long tracer_of(pid_t pid, pid_t tid)
{
	char path[64], line[128];
	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	FILE *f = fopen(path, "re");
	long tracer = -1;
	cr_assert_not_null(f);
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "TracerPid:", 10) == 0)
			tracer = strtol(line + 10, NULL, 10);
	fclose(f);
	return tracer;
}

/* The state letter of /proc/PID/task/TID/stat: 't' in a tracing stop. */
static char state_of(pid_t pid, pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	FILE *f = fopen(path, "re");
	cr_assert_not_null(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *close_paren = strrchr(buf, ')'); /* comm may hold anything */
	cr_assert(close_paren && close_paren[1] == ' ');
	return close_paren[2];
}

Test(attach, every_thread_stopped_then_released, .timeout = 60)
{
	struct helper h;
	start_helper(&h, false);
	struct hd_target t;
	cr_assert_eq(target_stop(&t, h.pid), 0, "%s", hd_error_message());
	cr_assert_eq(t.n, 2);
	bool seen_main = false, seen_second = false;
	for (size_t i = 0; i < t.n; i++) {
		const struct hd_task *task = &t.tasks[i];
		seen_main |= task->tid == h.pid;
		seen_second |= task->tid == h.tid2;
		cr_assert_eq(task->state, TASK_STOPPED);
		cr_assert(task_is_ours(task));
		cr_assert_eq(state_of(h.pid, task->tid), 't', "thread %d not in a tracing stop",
			     (int)task->tid);
		cr_assert_eq(tracer_of(h.pid, task->tid), (long)getpid());
		cr_assert(task->comm[0], "no name read");
#if defined(__x86_64__)
		cr_assert(task->have_regs && task->rsp, "no registers read");
#endif
	}
	cr_assert(seen_main && seen_second);
	target_release(&t);
	for (size_t i = 0; i < t.n; i++) {
		cr_assert_eq(t.tasks[i].state, TASK_DETACHED);
		cr_assert_not(task_is_ours(&t.tasks[i]));
		cr_assert_eq(tracer_of(h.pid, t.tasks[i].tid), 0);
	}
	target_release(&t); /* idempotent */
	expect_thread_runs(&h, 0);
	expect_thread_runs(&h, 1);
	target_free(&t);
	cr_assert_eq(t.n, 0);
	stop_helper(&h);
}

Test(attach, one_thread_held_alone, .timeout = 60)
{
	struct helper h;
	start_helper(&h, false);
	struct hd_target t;
	cr_assert_eq(target_stop_thread(&t, h.pid, h.tid2), 0, "%s", hd_error_message());
	cr_assert_eq(t.n, 1);
	cr_assert_eq(t.tasks[0].tid, h.tid2);
	cr_assert_eq(t.tasks[0].state, TASK_STOPPED);
	cr_assert_eq(tracer_of(h.pid, h.tid2), (long)getpid());
	cr_assert_eq(tracer_of(h.pid, h.pid), 0);
	expect_thread_runs(&h, 0); /* the other thread was never stopped */
	target_free(&t);
	expect_thread_runs(&h, 1);
	stop_helper(&h);
}

Test(attach, a_missing_process_or_thread)
{
	struct hd_target t;
	cr_assert_eq(target_stop(&t, 0x7ffffff0), -1);
	cr_assert_eq(hd_error_class(), HD_E_NOENT, "%s", hd_error_message());
	target_free(&t);
	cr_assert_eq(target_stop_thread(&t, getpid(), 0x7ffffff0), -1);
	cr_assert_eq(hd_error_class(), HD_E_TARGET_GONE, "%s", hd_error_message());
	cr_assert_eq(t.n, 0);
	target_free(&t);
}

Test(attach, only_seized_and_stopped_tasks_are_ours)
{
	struct hd_task task = {0};
	cr_assert_eq(task.state, TASK_DETACHED, "a zeroed task is not ours");
	cr_assert_not(task_is_ours(&task));
	task.state = TASK_SEIZED;
	cr_assert(task_is_ours(&task));
	task.state = TASK_STOPPED;
	cr_assert(task_is_ours(&task));
	task.state = TASK_GONE;
	cr_assert_not(task_is_ours(&task));
}

Test(attach, a_thread_traced_by_another_tracer_fails_the_attach, .timeout = 60)
{
	struct helper h;
	start_helper(&h, false);
	/* Another tracer seizes only the helper's second thread and holds it
	 * until its pipe closes. */
	int ready[2], hold[2];
	cr_assert(pipe(ready) == 0 && pipe(hold) == 0);
	pid_t tracer = fork();
	cr_assert_neq(tracer, -1);
	if (tracer == 0) {
		close(hold[1]);
		char ok = ptrace(PTRACE_SEIZE, h.tid2, 0, 0) == 0 ? 'y' : 'n';
		if (write(ready[1], &ok, 1) != 1)
			_exit(3);
		char c;
		while (read(hold[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(hold[0]);
	char ok = 0;
	cr_assert(read_within(ready[0], &ok, 1));
	cr_assert_eq(ok, 'y', "the second tracer could not seize the thread");
	cr_assert_eq(tracer_of(h.pid, h.tid2), (long)tracer);

	struct hd_target t;
	cr_assert_eq(target_stop(&t, h.pid), -1, "attached although thread %d is traced", (int)h.tid2);
	cr_assert_eq(hd_error_class(), HD_E_TRACED, "%s", hd_error_message());
	char want[32];
	snprintf(want, sizeof want, "thread %d", (int)h.tid2);
	cr_assert(strstr(hd_error_message(), want), "%s", hd_error_message());
	target_free(&t);

	/* Holding only that thread is refused the same way. */
	cr_assert_eq(target_stop_thread(&t, h.pid, h.tid2), -1);
	cr_assert_eq(hd_error_class(), HD_E_TRACED, "%s", hd_error_message());
	target_free(&t);

	cr_assert_eq(tracer_of(h.pid, h.pid), 0, "the first thread was not released");
	expect_thread_runs(&h, 0);
	expect_thread_runs(&h, 1);
	close(hold[1]);
	waitpid(tracer, NULL, 0);
	stop_helper(&h);
}

/* A thread that raises SIGTRAP after SIGTRAP is, now and then, seized just
 * as one is dequeued: the stop it reports is that signal's, not our
 * interrupt, and the signal must reach its handler after the release. */
Test(attach, a_sigtrap_met_while_stopping_is_delivered, .timeout = 60)
{
	struct helper h;
	start_helper(&h, true);
	bool met = false;
	for (uint64_t end = hd_monotonic_ms() + 5000; !met && hd_monotonic_ms() < end;) {
		struct hd_target t;
		cr_assert_eq(target_stop(&t, h.pid), 0, "%s", hd_error_message());
		for (size_t i = 0; i < t.n; i++)
			met |= t.tasks[i].pending_sig == SIGTRAP;
		target_free(&t);
	}
	char q = 'q';
	cr_assert_eq(write(h.to[0], &q, 1), 1);
	unsigned long counts[2];
	cr_assert(read_within(h.from[0], counts, sizeof counts), "the helper did not report");
	cr_assert_eq(counts[1], counts[0], "%lu SIGTRAPs raised, %lu handled", counts[0], counts[1]);
	cr_assert_gt(counts[0], 0);
	stop_helper(&h);
	if (!met)
		cr_skip("no stop met a SIGTRAP within 5 s (one CPU?); nothing was lost meanwhile");
}
