/* The end-to-end tests' client of the trap API (include/hdump.h alone):
 *
 *   trapdump PID OUT.hprof exit|signal|both
 *
 * traces PID, discovers it while it runs, prints "ready" once traced, then
 * waits for SIGCHLD on a signalfd and polls the trap (exit and both: the
 * shutdown too).  At the trap it prints "trap=exiting status=N",
 * "trap=signalled signo=N" or "trap=shutting-down checks=N" (the thread
 * creations checked for the shutdown, the trap's included), dumps the
 * held process to OUT.hprof (written under a temporary name, renamed when
 * complete), prints the --json-like summary line "dump objects=N", then
 * releases the process and exits 0.  A process that ends untrapped:
 * "gone status=N", exit 3.  SIGINT/SIGTERM: the trap is closed (the process
 * detached, running on), "stops=N" (the ptrace stops it handled), exit 14.  Every error: its line, its exit code. */
#include "../../include/hdump.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static int failed(const char *what)
{
	struct hdump_error e = hdump_error();
	fprintf(stderr, "trapdump: %s: %s\n", what, e.message);
	fflush(stdout);
	return hdump_exit_code(e.cls);
}

static int file_write(void *ctx, const void *buf, size_t len)
{
	if (fwrite(buf, 1, len, ctx) != len)
		return hdump_fail_errno(HDUMP_E_OUTPUT, errno, "writing the dump");
	return 0;
}

/* A retried attempt starts the file over. */
static int file_rewind(void *ctx, uint64_t written)
{
	(void)written;
	if (fflush(ctx) != 0 || ftruncate(fileno(ctx), 0) != 0 || fseek(ctx, 0, SEEK_SET) != 0)
		return hdump_fail_errno(HDUMP_E_OUTPUT, errno, "starting the dump over");
	return 0;
}

static int dump(hdump_target *t, const char *out)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.part", out);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return hdump_fail_errno(HDUMP_E_OUTPUT, errno, "%s", tmp);
	struct hdump_options o;
	hdump_options_init(&o);
	struct hdump_sink sink = {file_write, file_rewind, f};
	struct hdump_result r;
	int rc = hdump_dump(t, &o, &sink, &r);
	if (fclose(f) != 0 && rc == 0)
		rc = hdump_fail_errno(HDUMP_E_OUTPUT, errno, "%s", tmp);
	if (rc == 0 && rename(tmp, out) != 0)
		rc = hdump_fail_errno(HDUMP_E_OUTPUT, errno, "%s", out);
	if (rc != 0) {
		remove(tmp);
		return -1;
	}
	printf("dump objects=%" PRIu64 " threads=%" PRIu64 "\n", r.objects, r.stack_threads);
	return 0;
}

/* Waits (bounded, so that a signal to us is seen) for a SIGCHLD on FD. */
static void await_sigchld(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	if (poll(&p, 1, 200) == 1) {
		struct signalfd_siginfo si;
		while (read(fd, &si, sizeof si) == (ssize_t)sizeof si)
			;
	}
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: trapdump PID OUT.hprof exit|signal|both\n");
		return 2;
	}
	unsigned what = strcmp(argv[3], "exit") == 0     ? HDUMP_TRAP_EXIT | HDUMP_TRAP_SHUTDOWN
			: strcmp(argv[3], "signal") == 0 ? HDUMP_TRAP_FATAL_SIGNAL
							 : HDUMP_TRAP_EXIT | HDUMP_TRAP_FATAL_SIGNAL |
							   HDUMP_TRAP_SHUTDOWN;
	hdump_install_signal_handlers();
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		perror("trapdump: signalfd");
		return 1;
	}
	hdump_trap *tr = hdump_trap_open((pid_t)atoi(argv[1]), what);
	if (!tr)
		return failed("trap");
	hdump_target *t = hdump_trap_target(tr);
	if (hdump_discover(t) != 0) {
		int rc = failed("discover");
		hdump_trap_close(tr);
		return rc;
	}
	printf("ready\n");
	fflush(stdout);
	int rc = 0;
	for (;;) {
		if (hdump_interrupted()) {
			fprintf(stderr, "trapdump: interrupted by signal %d; process detached\n",
				hdump_interrupted());
			printf("stops=%" PRIu64 "\n", hdump_trap_stops(tr));
			rc = 14;
			break;
		}
		struct hdump_trap_event ev;
		if (hdump_trap_poll(tr, &ev) != 0) {
			rc = failed("poll");
			break;
		}
		if (ev.kind == HDUMP_TRAP_NONE) {
			await_sigchld(fd);
			continue;
		}
		if (ev.kind == HDUMP_TRAP_GONE) {
			printf("gone status=%d\n", ev.status);
			rc = 3;
			break;
		}
		if (ev.kind == HDUMP_TRAP_EXITING)
			printf("trap=exiting status=%d\n", ev.status);
		else if (ev.kind == HDUMP_TRAP_SHUTTING_DOWN)
			printf("trap=shutting-down checks=%" PRIu64 "\n", hdump_trap_shutdown_checks(tr));
		else
			printf("trap=signalled signo=%d\n", ev.signo);
		fflush(stdout);
		if (dump(t, argv[2]) != 0)
			rc = failed("dump");
		if (hdump_trap_release(tr) != 0 && rc == 0)
			rc = failed("release");
		if (rc == 0)
			printf("released\n");
		break;
	}
	hdump_trap_close(tr);
	fflush(stdout);
	return rc;
}
