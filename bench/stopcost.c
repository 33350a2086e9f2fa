/* What one ptrace stop of the exit trap costs the traced process, measured
 * (bench/trap_overhead.py, README "What being traced costs the target"):
 *
 *   stopcost EVENTS PAIRS SEED
 *
 * A child makes EVENTS events of one kind in a block, timing the block
 * itself (monotonic wall time and its process CPU time); the parent traces
 * it with the exit trap's own code (agent/exittrap: the stops handled as
 * the trap handles them, from a signalfd, as tests/e2e/trapdump.c does)
 * for one block of each pair and leaves it untraced for the other, in an
 * order drawn per pair.  Kinds: "clone", a thread created and joined (the
 * trap's clone stop, the new thread's first stop and its exit stop);
 * "signal", a signal the child handles, raised at itself (one
 * signal-delivery stop, passed on).  One line per block:
 *
 *   block KIND PAIR traced|untraced events=N stops=S wall_ns=W cpu_ns=C
 *
 * stops is what the trap counted (0 untraced).  The trap is attached
 * before a traced block's command is sent and detached after its result
 * came back: outside the measured part.  Exit 0, or 1 with a message. */
#include "../agent/exittrap.h"
#include "../common/hd_error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A block may not take longer than this (a stop never continued). */
#define BLOCK_DEADLINE_S 120
#define MAX_EVENTS 1000000u
#define MAX_PAIRS 10000u

struct command {
	char kind; /* 'c' clone, 's' signal */
	uint32_t n;
};

struct result {
	uint64_t wall_ns, cpu_ns;
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile sig_atomic_t handled;

static void on_urg(int sig)
{
	(void)sig;
	handled++;
}

static void *nothing(void *arg)
{
	return arg;
}

/* The child: runs the blocks it is told until the end of its input. */
static void child(int in, int out)
{
	struct sigaction sa = {.sa_handler = on_urg};
	sigaction(SIGURG, &sa, NULL);
	struct command c;
	while (read(in, &c, sizeof c) == (ssize_t)sizeof c) {
		uint64_t w0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
		for (uint32_t i = 0; i < c.n; i++) {
			if (c.kind == 's') {
				raise(SIGURG);
			} else {
				pthread_t t;
				if (pthread_create(&t, NULL, nothing, NULL) != 0 || pthread_join(t, NULL) != 0)
					_exit(3);
			}
		}
		struct result r = {clock_ns(CLOCK_MONOTONIC) - w0, clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0};
		if (write(out, &r, sizeof r) != (ssize_t)sizeof r)
			_exit(4);
	}
	_exit(0);
}

/* Waits for the child's result of one block, handling the trap's stops
 * meanwhile when X is set.  0, or -1 with a message printed. */
static int await_result(int from, int sfd, struct hd_exittrap *x, struct result *r)
{
	time_t deadline = time(NULL) + BLOCK_DEADLINE_S;
	for (;;) {
		struct pollfd p[2] = {{from, POLLIN, 0}, {sfd, POLLIN, 0}};
		int n = poll(p, 2, 200);
		if (n < 0 && errno != EINTR) {
			perror("stopcost: poll");
			return -1;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
				;
		}
		if (x) {
			struct exittrap_event ev;
			exittrap_poll(x, &ev);
			if (ev.kind != EXITTRAP_NONE) {
				fprintf(stderr, "stopcost: the child ended or was trapped (%d)\n", (int)ev.kind);
				return -1;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP)) {
			if (read(from, r, sizeof *r) == (ssize_t)sizeof *r)
				return 0;
			fprintf(stderr, "stopcost: the child gave no result (it ended?)\n");
			return -1;
		}
		if (time(NULL) > deadline) {
			fprintf(stderr, "stopcost: a block took more than %d s\n", BLOCK_DEADLINE_S);
			return -1;
		}
	}
}

/* Tells the child to run a block.  0, or -1 with a message printed. */
static int order(int to, char kind, uint32_t n)
{
	struct command c = {kind, n};
	if (write(to, &c, sizeof c) == (ssize_t)sizeof c)
		return 0;
	perror("stopcost: telling the child");
	return -1;
}

static int run_block(pid_t pid, int to, int from, int sfd, char kind, uint32_t n, bool traced,
		     unsigned pair)
{
	struct hd_exittrap x;
	if (traced && exittrap_open(&x, pid, EXITTRAP_EXIT | EXITTRAP_SIGNAL) != 0) {
		fprintf(stderr, "stopcost: trap: %s\n", hd_error_message());
		return -1;
	}
	struct result r;
	int rc = order(to, kind, n) == 0 ? await_result(from, sfd, traced ? &x : NULL, &r) : -1;
	unsigned long stops = traced ? x.stops : 0;
	if (traced)
		exittrap_detach(&x);
	if (rc == 0)
		printf("block %s %u %s events=%u stops=%lu wall_ns=%llu cpu_ns=%llu\n",
		       kind == 's' ? "signal" : "clone", pair, traced ? "traced" : "untraced", n, stops,
		       (unsigned long long)r.wall_ns, (unsigned long long)r.cpu_ns);
	fflush(stdout);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: stopcost EVENTS PAIRS SEED\n");
		return 2;
	}
	unsigned long events = strtoul(argv[1], NULL, 10), pairs = strtoul(argv[2], NULL, 10);
	if (!events || events > MAX_EVENTS || !pairs || pairs > MAX_PAIRS) {
		fprintf(stderr, "stopcost: EVENTS from 1 to %u, PAIRS from 1 to %u\n", MAX_EVENTS, MAX_PAIRS);
		return 2;
	}
	srand((unsigned)strtoul(argv[3], NULL, 10));
	signal(SIGPIPE, SIG_IGN); /* a child that ended: an error message, not a silent death */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	int down[2], up[2];
	if (sfd < 0 || pipe2(down, O_CLOEXEC) != 0 || pipe2(up, O_CLOEXEC) != 0) {
		perror("stopcost");
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("stopcost: fork");
		return 1;
	}
	if (pid == 0) {
		sigprocmask(SIG_UNBLOCK, &chld, NULL);
		close(down[1]);
		close(up[0]);
		child(down[0], up[1]);
	}
	close(down[0]);
	close(up[1]);
	int rc = 0;
	/* A warm-up block of each kind, untraced and not reported. */
	struct result r;
	for (const char *k = "cs"; *k && rc == 0; k++) {
		rc = order(down[1], *k, (uint32_t)events) == 0 ? await_result(up[0], sfd, NULL, &r) : -1;
	}
	for (unsigned p = 0; p < pairs && rc == 0; p++)
		for (const char *k = "cs"; *k && rc == 0; k++) {
			bool traced_first = rand() & 1;
			rc = run_block(pid, down[1], up[0], sfd, *k, (uint32_t)events, traced_first, p);
			if (rc == 0)
				rc = run_block(pid, down[1], up[0], sfd, *k, (uint32_t)events, !traced_first, p);
		}
	close(down[1]);
	int status = 0;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "stopcost: the child ended with status 0x%x\n", status);
		rc = -1;
	}
	return rc == 0 ? 0 : 1;
}
