#include "inject.h"

#include "../common/hd_error.h"
#include "attach.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>

#if !defined(__x86_64__)
#error "system call injection is implemented for x86-64 only"
#endif

/* Kernel-internal "restart me" codes a stopped thread's rax may hold
 * (include/linux/errno.h); user space never sees them. */
#define K_ERESTARTSYS 512
#define K_ERESTARTNOINTR 513
#define K_ERESTARTNOHAND 514
#define K_ERESTART_RESTARTBLOCK 516

#define SITE_SCAN_LIMIT (64u << 20) /* executable bytes searched for a site */
#define SITE_PIECE 65536
#define SYSCALL_INSN_LEN 2          /* 0f 05 */
#define MAX_STOPS 16                /* stops one injected call may report */

int inject_find_site(hd_memview *mv, const struct hd_maps *maps, uint64_t *site)
{
	uint8_t *buf = malloc(SITE_PIECE);
	if (!buf)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	uint64_t scanned = 0;
	for (size_t i = 0; i < maps->n && scanned < SITE_SCAN_LIMIT; i++) {
		const struct hd_mapping *m = &maps->v[i];
		if (!m->x || !m->r)
			continue;
		/* Pieces overlap by one byte so an instruction across a piece
		 * boundary is seen. */
		for (uint64_t a = m->start; a + 1 < m->end && scanned < SITE_SCAN_LIMIT;
		     a += SITE_PIECE - 1) {
			size_t len = m->end - a < SITE_PIECE ? (size_t)(m->end - a) : SITE_PIECE;
			if (mv_try_read(mv, a, buf, len) != 0)
				break;
			scanned += len;
			for (size_t k = 0; k + 1 < len; k++)
				if (buf[k] == 0x0f && buf[k + 1] == 0x05) {
					*site = a + k;
					free(buf);
					return 0;
				}
		}
	}
	free(buf);
	return hd_fail(HD_E_LAYOUT, "no syscall instruction found in the target's code");
}

static int wait_stop(pid_t tid, int *status)
{
	/* The call never blocks, and only finishing it restores the thread. */
	if (tracee_wait(tid, status) != 0)
		return hd_fail_errno(HD_E_TARGET_GONE, errno, "waiting for thread %d", (int)tid);
	if (WIFEXITED(*status) || WIFSIGNALED(*status))
		return hd_fail(HD_E_TARGET_GONE, "thread %d exited", (int)tid);
	return 0;
}

/* What the kernel would have done to REGS when the stop we held the thread
 * in ended with no handler to run: an interrupted call goes back to its
 * `syscall` instruction, or to restart_syscall for calls that keep their
 * own restart state (sleeps).  Needed because we leave from a
 * syscall-exit stop, where this step no longer happens. */
static void restart_interrupted_call(struct user_regs_struct *regs)
{
	if ((long long)regs->orig_rax < 0)
		return;
	switch ((long long)regs->rax) {
	case -K_ERESTARTSYS:
	case -K_ERESTARTNOINTR:
	case -K_ERESTARTNOHAND:
		regs->rax = regs->orig_rax;
		regs->rip -= SYSCALL_INSN_LEN;
		break;
	case -K_ERESTART_RESTARTBLOCK:
		regs->rax = SYS_restart_syscall;
		regs->rip -= SYSCALL_INSN_LEN;
		break;
	default:
		break;
	}
}

/* Drives TID from its stop through the call's entry and exit stops.
 * Returns 1 when it is at the exit stop, 0 when a signal stopped it before
 * the call ran, -1 on error. */
static int run_call(pid_t tid, struct hd_injected *out, int *pending_sig)
{
	bool entered = false;
	for (int stops = 0; stops < MAX_STOPS; stops++) {
		if (ptrace(PTRACE_SYSCALL, tid, 0, 0) != 0)
			return hd_fail_errno(HD_E_TARGET_GONE, errno, "resuming thread %d", (int)tid);
		int status;
		if (wait_stop(tid, &status) != 0)
			return -1;
		int sig = WSTOPSIG(status), event = status >> 16;
		if (sig == (SIGTRAP | 0x80)) {
			if (!entered) {
				entered = true;
				continue;
			}
			struct user_regs_struct regs;
			if (ptrace(PTRACE_GETREGS, tid, 0, &regs) != 0)
				return hd_fail_errno(HD_E_TARGET_GONE, errno, "registers of thread %d",
						     (int)tid);
			out->ret = (long)regs.rax;
			return 1;
		}
		if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK ||
		    event == PTRACE_EVENT_VFORK) {
			unsigned long child = 0;
			if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &child) == 0)
				out->new_child = (pid_t)child;
			continue;
		}
		if (event == PTRACE_EVENT_STOP)
			continue; /* a group stop or interrupt: the call still has to run */
		if (!entered) {
			*pending_sig = sig;
			return 0;
		}
		/* Signals are only taken on the way out, after the exit stop. */
		return hd_fail(HD_E_INTERNAL, "thread %d: unexpected stop 0x%x inside a call", (int)tid,
			       status);
	}
	return hd_fail(HD_E_INTERNAL, "thread %d did not finish the injected call", (int)tid);
}

int inject_syscall(pid_t tid, uint64_t site, long nr, const long args[6],
		   struct hd_injected *out, int *pending_sig)
{
	memset(out, 0, sizeof *out);
	*pending_sig = 0;
	struct user_regs_struct saved, regs;
	if (ptrace(PTRACE_GETREGS, tid, 0, &saved) != 0)
		return hd_fail_errno(HD_E_TARGET_GONE, errno, "registers of thread %d", (int)tid);
	long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK |
		    PTRACE_O_TRACEVFORK;
	if (ptrace(PTRACE_SETOPTIONS, tid, 0, (void *)opts) != 0)
		return hd_fail_errno(HD_E_TARGET_GONE, errno, "options of thread %d", (int)tid);
	regs = saved;
	regs.rip = site;
	regs.rax = (unsigned long long)nr;
	/* No syscall in progress, so leaving the stop does not rewind rip. */
	regs.orig_rax = (unsigned long long)-1;
	regs.rdi = (unsigned long long)args[0];
	regs.rsi = (unsigned long long)args[1];
	regs.rdx = (unsigned long long)args[2];
	regs.r10 = (unsigned long long)args[3];
	regs.r8 = (unsigned long long)args[4];
	regs.r9 = (unsigned long long)args[5];
	int rc = -1;
	if (ptrace(PTRACE_SETREGS, tid, 0, &regs) != 0) {
		hd_fail_errno(HD_E_TARGET_GONE, errno, "setting registers of thread %d", (int)tid);
		goto restore_options;
	}
	int at = run_call(tid, out, pending_sig);
	regs = saved;
	/* From a signal stop the kernel still restarts the call itself.  After
	 * an error this is a best effort on a thread that may be gone. */
	if (at != 0)
		restart_interrupted_call(&regs);
	if (ptrace(PTRACE_SETREGS, tid, 0, &regs) != 0 && at >= 0) {
		hd_fail_errno(HD_E_TARGET_GONE, errno, "restoring registers of thread %d", (int)tid);
		goto restore_options;
	}
	if (at == 1)
		rc = 0;
	else if (at == 0)
		hd_fail(HD_E_INCONSISTENT, "signal %d reached thread %d before the injected call",
			*pending_sig, (int)tid);
restore_options:
	ptrace(PTRACE_SETOPTIONS, tid, 0, 0);
	return rc;
}
