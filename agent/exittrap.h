/* Tracing a process so that its end can be held: every thread seized with
 * PTRACE_O_TRACEEXIT | PTRACE_O_TRACECLONE, no stop on its hot path.
 *
 * The target stops only where the kernel makes a traced thread stop: at
 * signal delivery, at thread creation (the clone event and the new thread's
 * first stop) and at a thread's exit.  Each such stop is continued at once
 * (an ordinary signal with itself, a group-stop with PTRACE_LISTEN so that
 * the process stays stopped as it would untraced) until a TRAP: the process
 * calling exit/exit_group, or a fatal signal it does not handle about to be
 * delivered.  From then on every stop is held, and exittrap_hold_all stops
 * the rest, so that the process can be dumped; exittrap_detach lets every
 * thread go, the trapped one on to its end exactly as it would have (the
 * exit continues, the signal is delivered by the kernel to an untraced
 * process, so its core dump is the one it would have had).
 *
 * A signal the process handles is not fatal by itself (a Native Image
 * catches SIGSEGV and SIGBUS to print a crash log, then calls abort()): it
 * is passed on, and the end the handler leads to (SIGABRT at its default
 * disposition, or an exit) is the trap.
 *
 * No PTRACE_O_EXITKILL: if the tracer dies, the kernel detaches and the
 * process runs on (a held stop ends as a detach would).  All calls from one
 * thread, the tracer. */
#ifndef HD_EXITTRAP_H
#define HD_EXITTRAP_H

#include "attach.h"
#include "memview.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define EXITTRAP_EXIT 1u   /* trap exit/exit_group */
#define EXITTRAP_SIGNAL 2u /* trap a fatal signal at its default disposition */
#define EXITTRAP_SHUTDOWN 4u /* trap a thread creation the probe says is the VM's shutdown */

enum exittrap_kind {
	EXITTRAP_NONE,      /* nothing held */
	EXITTRAP_EXITING,   /* held in its exit: status = the exit code */
	EXITTRAP_SIGNALLED, /* held before delivery of signo */
	EXITTRAP_GONE,      /* ended untrapped: status = its wait status when we saw it
			       (-1 when we did not) */
	EXITTRAP_SHUTTING_DOWN, /* held where a thread creates another and the probe says
			       the process is shutting down: status -1 (not known yet) */
};

struct exittrap_event {
	enum exittrap_kind kind;
	int status, signo;
	pid_t tid; /* the thread at the trap */
};

/* Asked at each thread creation while EXITTRAP_SHUTDOWN is traced (x86-64):
 * whether the creating thread, stopped in its clone with its stack pointer
 * at SP, is running the process's shutdown.  A false answer (also any
 * doubt) only means "no trap here". */
struct exittrap_probe {
	bool (*shutting_down)(void *ctx, uint64_t sp);
	void *ctx;
};

struct hd_exittrap {
	/* Every thread we trace: SEIZED runs traced (or sits in a group-stop
	 * we LISTENed to), STOPPED is held, GONE exited. */
	struct hd_target t;
	unsigned what;
	bool holding;                /* a trap fired: stops are held, not continued */
	struct exittrap_event ev;    /* the trap, or the end */
	unsigned long stops;         /* ptrace stops of the target handled so far:
					what being traced cost it, in round trips */
	struct exittrap_probe probe; /* set by the caller; none: no shutdown trap */
	unsigned long probes;        /* thread creations the probe was asked about */
};

/* Whether SIGNO is one of the crash signals a trap may stop at (SIGSEGV,
 * SIGBUS, SIGABRT, SIGILL, SIGFPE). */
bool exittrap_fatal_signal(int signo);

/* Whether SIGNO's disposition, as /proc/PID/status gives it (SigCgt and
 * SigIgn, hexadecimal masks), is the default: neither caught nor ignored.
 * STATUS is that file's text. */
bool exittrap_default_disposition(const char *status, int signo);

/* The most a stack scan reads above the stack pointer. */
#define EXITTRAP_SCAN_MAX (256u << 10)

/* Whether a word of the stack above SP (8-byte aligned words from SP up,
 * read through MV page by page until a page does not read or
 * EXITTRAP_SCAN_MAX bytes were read) lies in [LO, HI) and MATCH says yes
 * for it.  A stack pointer anywhere (unmapped, misaligned, near the top of
 * the address space) is answered, never followed further than the bound. */
bool exittrap_stack_holds(hd_memview *mv, uint64_t sp, uint64_t lo, uint64_t hi,
			  bool (*match)(void *ctx, uint64_t word), void *ctx);

/* Seizes every thread of PID (rescanning /proc/PID/task until a pass adds
 * none) for the ends in WHAT; nothing is stopped.  On failure nothing stays
 * traced.  Errors: HD_E_USAGE (WHAT), HD_E_NOENT, HD_E_PERM (with what to
 * change), HD_E_TRACED, HD_E_INCONSISTENT (threads keep appearing),
 * HD_E_INTERNAL. */
HD_MUST_CHECK int exittrap_open(struct hd_exittrap *x, pid_t pid, unsigned what);

/* Handles every stop pending, without blocking, and gives the trap (then
 * held, also in later calls) or the end, else NONE. */
void exittrap_poll(struct hd_exittrap *x, struct exittrap_event *ev);

/* Held at a trap: stops every other thread too (bounded in time) and reads
 * the registers of every held one.  Errors: HD_E_USAGE (no trap),
 * HD_E_TARGET_GONE, HD_E_INCONSISTENT (a thread did not stop in time). */
HD_MUST_CHECK int exittrap_hold_all(struct hd_exittrap *x);

/* Lets every thread go (the trapped one to its end), each with the signal
 * it was stopped with, and frees X.  Idempotent; safe in every state;
 * preserves errno and the recorded error. */
void exittrap_detach(struct hd_exittrap *x);

#endif
