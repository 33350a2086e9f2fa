/* Observing the helper processes the injection tests fork, from outside,
 * without sleeping: /proc polled against a deadline. */
#ifndef HD_TEST_TRACEE_H
#define HD_TEST_TRACEE_H

#include <stdint.h>
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

/* For a BODY whose one job is to set something up: writes the readiness
 * byte and VALUE (an address the test needs) on OUT, waits until the test
 * writes a byte on IN or closes it, and exits 0. */
void tracee_announce_and_wait(int in, int out, uint64_t value) __attribute__((noreturn));

/* Reads the VALUE a helper announced. */
uint64_t tracee_announced(const struct tracee *h);

/* Writes INPUT (unless NULL) to H, reads its one report, reaps it (the
 * test fails unless it exited 0) and closes the pipes.  Returns the report
 * (a static buffer). */
const char *tracee_finish(struct tracee *h, const char *input);

/* For helpers a test has no report to ask of: killed and reaped, so none
 * outlives its test. */
void tracee_kill(struct tracee *h);

/* How many children PID's main thread has (zombies included). */
int tracee_children(pid_t pid);

#endif
