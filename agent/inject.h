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

#include "../common/hd_error.h"
#include "attach.h"
#include "memview.h"
#include "procmaps.h"

#include <stdint.h>
#include <sys/types.h>

/* Injected calls give up after this long (see inject_syscall). */
#define INJECT_TIMEOUT_MS 2000

/* The length of `syscall`: the kernel (and a seccomp filter's
 * instruction_pointer) sees a call made at SITE at SITE + this. */
#define INJECT_SYSCALL_LEN 2

/* Where the target's libc starts functions that may be system call
 * wrappers: entry points read from the library's symbol table (each an
 * instruction boundary) and mapped to the target's addresses.  agent/
 * reads no symbol table: symbols/syscall_wrappers.h fills this in. */
#define INJECT_MAX_ENTRIES 32
struct inject_entries {
	uint64_t addr[INJECT_MAX_ENTRIES];
	size_t n;
	int unreadable; /* errno when libc's file could not be opened, else 0 */
};

/* The address of a `syscall` instruction (0f 05) in the target's code that
 * is proven to start an instruction — never a 0f 05 byte pair found by
 * scanning, which may be the tail of another instruction.  Proven either
 * (1) by the CPU: a thread of T held inside a system call has its rip just
 * after the `syscall` it entered the kernel with, or (2) by LIBC (may be
 * NULL): an entry whose code in the target's memory is
 * `[endbr64] mov $nr, %eax; syscall`.  Only code in a mapping that is not
 * writable qualifies.  T's threads must be held.  Errors: HD_E_SNAPSHOT
 * (no proven site; also on any CPU but x86-64). */
HD_MUST_CHECK int inject_find_site(hd_memview *mv, const struct hd_maps *maps,
				   const struct hd_target *t, const struct inject_entries *libc,
				   uint64_t *site);

struct hd_injected {
	long ret;         /* the system call's return value (-errno on failure) */
	pid_t new_child;  /* a process it created (PTRACE_O_TRACECLONE), or 0 */
};

/* Runs system call NR(ARGS) in TID at SITE.  TID must be in a ptrace stop
 * of ours (an interrupt stop, not a signal-delivery stop).  Returns 0 with
 * the outcome in *OUT, TID stopped again and its registers restored.  If a
 * signal reaches TID first, its registers are restored, the signal is left
 * in *PENDING_SIG for the caller to deliver on detach, and the call fails
 * with HD_E_INCONSISTENT (retrying helps).  HD_E_TARGET_GONE if TID died.
 *
 * A call that has not returned after INJECT_TIMEOUT_MS — or when hdump is
 * told to stop (SIGINT/SIGTERM) while it runs — is cut short with
 * PTRACE_INTERRUPT: the thread leaves the call (a blocking wait returns
 * early), its registers are restored and the call fails with HD_E_SNAPSHOT
 * (HD_E_INTERRUPTED for a signal).  A call the interrupt cannot end (an
 * uninterruptible or killable-only wait) is waited for until it ends, with
 * no bound: the thread is never let go with the injected registers.  A signal that came before the call
 * started does not cut it: clean-up calls run after one.  OUT->new_child is
 * filled even on failure: a process the call created before it was cut
 * short is the caller's to kill.  On any CPU but x86-64: HD_E_SNAPSHOT. */
HD_MUST_CHECK int inject_syscall(pid_t tid, uint64_t site, long nr, const long args[6],
		   struct hd_injected *out, int *pending_sig);

#endif
