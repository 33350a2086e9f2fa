#include "tracee.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AWAIT_LIMIT_S 30

/* /proc/PID/syscall: the call the thread is blocked in and its six
 * arguments; "running" or -1 (stopped outside a call) never match. */
static bool in_syscall(pid_t pid, long nr, int index, unsigned long arg)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	long got_nr = -1;
	unsigned long a[6] = {0};
	int n = fscanf(f, "%ld %lx %lx %lx %lx %lx %lx", &got_nr, &a[0], &a[1], &a[2], &a[3], &a[4],
		       &a[5]);
	fclose(f);
	return n >= 1 && got_nr == nr && (index < 0 || (n == 7 && a[index] == arg));
}

static int poll_syscall(pid_t pid, long nr, int index, unsigned long arg)
{
	struct timespec start, now, pause = {0, 1000000L};
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (in_syscall(pid, nr, index, arg))
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= AWAIT_LIMIT_S)
			return -1;
		nanosleep(&pause, NULL);
	}
}

void tracee_await_syscall(pid_t pid, long nr)
{
	cr_assert(poll_syscall(pid, nr, -1, 0) == 0, "helper %d never blocked in call %ld", (int)pid,
		  nr);
}

int tracee_wait_syscall_arg(pid_t pid, long nr, unsigned index, unsigned long arg)
{
	return index < 6 ? poll_syscall(pid, nr, (int)index, arg) : -1;
}

int tracee_children(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
	FILE *f = fopen(path, "re");
	cr_assert(f, "no %s", path);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	int count = 0;
	for (char *p = strtok(buf, " \n"); p; p = strtok(NULL, " \n"))
		count++;
	return count;
}

struct tracee tracee_spawn(void (*body)(const void *ctx, int in, int out), const void *ctx)
{
	int a[2], b[2];
	cr_assert(pipe(a) == 0 && pipe(b) == 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(a[1]);
		close(b[0]);
		body(ctx, a[0], b[1]);
		_exit(0);
	}
	close(a[0]);
	close(b[1]);
	char ready = 0;
	if (read(b[0], &ready, 1) != 1 || ready != 'R') {
		int status = 0;
		waitpid(pid, &status, 0);
		cr_assert_fail("helper %d did not start: status 0x%x", (int)pid, status);
	}
	return (struct tracee){pid, a[1], b[0], a[0]};
}

const char *tracee_finish(struct tracee *h, const char *input)
{
	if (input)
		cr_assert(write(h->to, input, strlen(input)) == (ssize_t)strlen(input));
	static char report[200];
	ssize_t n = read(h->from, report, sizeof report - 1);
	report[n > 0 ? n : 0] = '\0';
	int status;
	cr_assert(waitpid(h->pid, &status, 0) == h->pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "helper status 0x%x", status);
	close(h->to);
	close(h->from);
	return report;
}

void tracee_kill(struct tracee *h)
{
	kill(h->pid, SIGKILL);
	waitpid(h->pid, NULL, 0);
	close(h->to);
	close(h->from);
}

void tracee_announce_and_wait(int in, int out, uint64_t value)
{
	if (write(out, "R", 1) != 1 || write(out, &value, sizeof value) != sizeof value)
		_exit(2);
	char c;
	_exit(read(in, &c, 1) < 0 ? 2 : 0);
}

uint64_t tracee_announced(const struct tracee *h)
{
	uint64_t value;
	cr_assert_eq(read(h->from, &value, sizeof value), (ssize_t)sizeof value);
	return value;
}
