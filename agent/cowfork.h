/* A copy-on-write snapshot of a stopped target: one clone() injected into
 * one of its threads while every thread is held.  The child shares the
 * target's pages copy-on-write, so the target can run on at once while the
 * child's frozen address space is dumped at leisure.
 *
 * The child never executes an instruction: it is born in a ptrace stop of
 * ours, with PTRACE_O_EXITKILL so it dies if hdump dies, and its registers
 * pointed at exit_group as a second guard.  Should hdump die between the
 * clone and that guard, the child's stack pointer, which nothing can back,
 * makes its first push or return fault it to death.  It shares the target's file
 * table (CLONE_FILES) so it holds no extra reference on any open file, and
 * has no exit signal, so the target is never sent SIGCHLD.  When the dump is
 * done it is killed, and reaped by a wait4 injected into the target.
 *
 * Nothing is injected unless the thread's seccomp filters are known to
 * allow every call it will be made to run (agent/seccomp.h), and only at a
 * `syscall` instruction proven to start an instruction (inject_find_site).
 *
 * What it costs the target: the clone itself (page tables copied while the
 * threads are held), and a copy of each private page it writes while the
 * child lives — up to all of its private memory, hence the check first
 * (agent/mempolicy.h).
 *
 * x86-64 only: elsewhere cowfork_supported says no and cowfork_take fails
 * with HD_E_SNAPSHOT. */
#ifndef HD_COWFORK_H
#define HD_COWFORK_H

#include "../common/hd_error.h"
#include "attach.h"
#include "inject.h"
#include "memview.h"
#include "procmaps.h"

#include <stdbool.h>
#include <stdint.h>

struct hd_cowfork {
	pid_t target;
	pid_t child;      /* 0: none */
	pid_t forker;     /* the thread that ran the clone: the first to reap */
	uint64_t site;    /* the syscall instruction calls are injected at */
};

/* Whether this build can fork a target at all: asked before the target is
 * held, so that a refusal costs it nothing. */
bool cowfork_supported(void);

/* Clones the target held in T (every thread stopped, MAPS and MV of the
 * target), injecting the clone at a site inject_find_site proves, from a
 * held thread or from LIBC's entries (may be NULL).  T stays stopped;
 * release it right after.  Errors: HD_E_SNAPSHOT
 * (refused before anything was injected: no proven site, or a seccomp
 * filter that does not allow clone and wait4 or cannot be read; or the
 * kernel refused the clone, or it did not return in time), HD_E_INCONSISTENT
 * (a signal came in first: retry), HD_E_TARGET_GONE, HD_E_INTERRUPTED. */
HD_MUST_CHECK int cowfork_take(struct hd_cowfork *f, struct hd_target *t, hd_memview *mv,
			       const struct hd_maps *maps, const struct inject_entries *libc);

/* Sends the child SIGKILL without waiting for it: called once its memory
 * has been read, so that its exit (the teardown of a copy of the target's
 * page tables, tens of ms per GB) runs while the dump's file is finished;
 * cowfork_discard still collects and reaps it.  No-op without a child. */
void cowfork_let_go(const struct hd_cowfork *f);

/* Kills the child (if cowfork_let_go has not) and reaps it through one briefly stopped target thread
 * whose seccomp filters allow the wait4 (checked then: a thread may add
 * filters at any time).  Only that thread is held, so the check has a
 * window the others can use: a filter another thread adds to it with
 * SECCOMP_FILTER_FLAG_TSYNC between the check's last reading of its filter
 * count and the wait4's entry (microseconds) meets the wait4 unchecked.
 * That takes a target installing filters while it is being dumped; the
 * wait4 then gets whatever that filter answers: an errno leaves the child
 * a zombie, KILL or TRAP ends the target as its own clone would, a user
 * notification makes hdump wait for the supervisor.
 * Idempotent.  Clears the recorded error first
 * (callers keep theirs with hd_error_save).  Returns 0, or -1 when the
 * target could not be made to reap (the child then stays a zombie until
 * the target exits; error recorded). */
HD_MUST_CHECK int cowfork_discard(struct hd_cowfork *f);

#endif
