/* Running one system call inside a thread of the target, and putting the
 * thread back exactly as it was.
 *
 * The call executes at a `syscall` instruction that already exists in the
 * target's executable code, so no byte of the target is written; the thread
 * is driven with PTRACE_SYSCALL from its entry to its exit stop.  Its
 * registers are restored afterwards, and a system call our stop interrupted
 * (a blocking read, a futex wait, a sleep) is restarted the way the kernel
 * would have restarted it.  Only a thread we hold in a ptrace stop that
 * carries no signal may be used. */
#ifndef HD_INJECT_H
#define HD_INJECT_H

#include "memview.h"
#include "procmaps.h"

#include <stdint.h>
#include <sys/types.h>

/* The address of a `syscall` instruction (0f 05) in an executable mapping
 * of MAPS, read through MV.  Errors: HD_E_LAYOUT (none found). */
int inject_find_site(hd_memview *mv, const struct hd_maps *maps, uint64_t *site);

struct hd_injected {
	long ret;         /* the system call's return value (-errno on failure) */
	pid_t new_child;  /* a process it created (PTRACE_O_TRACECLONE), or 0 */
};

/* Runs system call NR(ARGS) in TID at SITE.  TID must be in a ptrace stop
 * of ours (an interrupt stop, not a signal-delivery stop).  Returns 0 with
 * the outcome in *OUT, TID stopped again and its registers restored.  If a
 * signal reaches TID first, its registers are restored, the signal is left
 * in *PENDING_SIG for the caller to deliver on detach, and the call fails
 * with HD_E_INCONSISTENT (retrying helps).  HD_E_TARGET_GONE if TID died. */
int inject_syscall(pid_t tid, uint64_t site, long nr, const long args[6],
		   struct hd_injected *out, int *pending_sig);

#endif
