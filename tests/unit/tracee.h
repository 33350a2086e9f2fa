/* Observing the helper processes the injection tests fork, from outside,
 * without sleeping: /proc polled against a deadline. */
#ifndef HD_TEST_TRACEE_H
#define HD_TEST_TRACEE_H

#include <sys/types.h>

struct tracee {
	pid_t pid;
	int to, from;  /* our ends of the pipes to and from it */
	int child_in;  /* the number of its end of TO, in the helper */
};

/* Forks a helper that runs BODY(CTX, IN, OUT) and must write the readiness
 * byte 'R' on OUT before its blocking call; returns once that byte came
 * (the test fails if the helper dies first). */
struct tracee tracee_spawn(void (*body)(const void *ctx, int in, int out), const void *ctx);

/* Polls (up to 30 s, else the test fails) until PID sleeps in system call
 * NR: only then is its blocking call, not its way there, what is
 * interrupted. */
void tracee_await_syscall(pid_t pid, long nr);

/* Polls like tracee_await_syscall, for call NR with ARG as its argument
 * number INDEX (0..5), but asserts nothing, so that a thread other than
 * the test's may wait: 0 once seen, -1 after the 30 s. */
int tracee_wait_syscall_arg(pid_t pid, long nr, unsigned index, unsigned long arg);

/* How many children PID's main thread has (zombies included). */
int tracee_children(pid_t pid);

#endif
