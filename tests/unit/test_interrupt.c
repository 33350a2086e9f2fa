/* The stop request (common/interrupt.h): each handled signal sets the flag
 * and names itself, and a blocking call it arrives in returns EINTR
 * instead of being restarted, so that the loop around it can look. */
#include "../../common/interrupt.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

Test(interrupt, nothing_before_a_signal)
{
	hd_install_signal_handlers();
	cr_assert_not(hd_interrupted());
	cr_assert_eq(hd_interrupted_signal(), 0);
}

Test(interrupt, each_signal_sets_the_flag)
{
	int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
		pid_t pid = fork(); /* a fresh flag per signal */
		cr_assert_neq(pid, -1);
		if (pid == 0) {
			hd_install_signal_handlers();
			raise(sigs[i]);
			_exit(hd_interrupted() && hd_interrupted_signal() == sigs[i] ? 0 : 1);
		}
		int status;
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "signal %d: status 0x%x",
			  sigs[i], status);
	}
}

static pid_t reader_tid;
static volatile int reader_ready;

/* Sends SIGTERM to the reader once it sleeps in read (polled in /proc). */
static void *interrupt_the_reader(void *arg)
{
	(void)arg;
	char path[64], buf[64];
	while (!reader_ready)
		sched_yield();
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)reader_tid);
	for (int i = 0; i < 3000000; i++) {
		FILE *f = fopen(path, "re");
		size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = '\0';
		/* "0 ..." (read's number on x86-64), not "running" or "-1 ..." */
		if (buf[0] >= '0' && buf[0] <= '9' && strtol(buf, NULL, 10) == SYS_read)
			break;
	}
	syscall(SYS_tgkill, getpid(), reader_tid, SIGTERM);
	return NULL;
}

Test(interrupt, a_blocking_read_returns_eintr, .timeout = 30)
{
	hd_install_signal_handlers();
	int p[2];
	cr_assert(pipe(p) == 0);
	reader_tid = (pid_t)syscall(SYS_gettid);
	pthread_t th;
	cr_assert(pthread_create(&th, NULL, interrupt_the_reader, NULL) == 0);
	reader_ready = 1;
	char c;
	errno = 0;
	ssize_t n = read(p[0], &c, 1); /* nothing is ever written */
	cr_assert_eq(n, -1);
	cr_assert_eq(errno, EINTR);
	cr_assert(hd_interrupted());
	cr_assert_eq(hd_interrupted_signal(), SIGTERM);
	pthread_join(th, NULL);
}
