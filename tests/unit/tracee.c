#include "tracee.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AWAIT_LIMIT_S 30

/* The first field of /proc/PID/syscall: the call the thread is blocked
 * in, -1 when stopped outside one, -2 for "running". */
static long current_syscall(pid_t pid)
{
	char path[64], buf[256] = "";
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
	FILE *f = fopen(path, "re");
	cr_assert(f, "no %s", path);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strncmp(buf, "running", 7) == 0 ? -2 : strtol(buf, NULL, 10);
}

void tracee_await_syscall(pid_t pid, long nr)
{
	struct timespec start, now, pause = {0, 1000000L};
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (current_syscall(pid) == nr)
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		cr_assert(now.tv_sec - start.tv_sec < AWAIT_LIMIT_S,
			  "helper %d never blocked in call %ld", (int)pid, nr);
		nanosleep(&pause, NULL);
	}
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
