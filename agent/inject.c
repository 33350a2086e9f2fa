#include "inject.h"

#if defined(__x86_64__)

#include "../common/clock.h"
#include "../common/interrupt.h"
#include "kernel_restart.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>

#define SYSCALL_INSN_LEN INJECT_SYSCALL_LEN /* 0f 05 */
#define MAX_STOPS 16                /* stops one injected call may report */

static const uint8_t SYSCALL_INSN[SYSCALL_INSN_LEN] = {0x0f, 0x05};
static const uint8_t ENDBR64[4] = {0xf3, 0x0f, 0x1e, 0xfa};
#define MOV_EAX_IMM32 0xb8 /* b8 imm32: mov $imm32, %eax */
#define ENTRY_PROLOGUE_MAX (sizeof ENDBR64 + 5 + SYSCALL_INSN_LEN)

/* Code the target cannot have rewritten since it was loaded. */
static bool is_fixed_code(const struct hd_maps *maps, uint64_t addr, size_t len)
{
	const struct hd_mapping *m = maps_find(maps, addr);
	return m && m->x && m->r && !m->w && addr + len <= m->end;
}

static bool is_syscall_at(hd_memview *mv, const struct hd_maps *maps, uint64_t addr)
{
	uint8_t b[SYSCALL_INSN_LEN];
	return is_fixed_code(maps, addr, sizeof b) && mv_try_read(mv, addr, b, sizeof b) == 0 &&
	       memcmp(b, SYSCALL_INSN, sizeof b) == 0;
}

static bool is_restart_code(unsigned long long rax)
{
	long long v = (long long)rax;
	return v == -K_ERESTARTSYS || v == -K_ERESTARTNOINTR || v == -K_ERESTARTNOHAND ||
	       v == -K_ERESTART_RESTARTBLOCK;
}

/* (1) A held thread our stop interrupted inside a system call (orig_rax >=
 * 0, rax still a "restart me" code: the kernel rewinds rip and replaces
 * rax only after the stop) entered the kernel through the 2-byte
 * instruction that ends at its rip.  Once rewound, rip would point at the
 * `syscall` itself, hence the rax test; int 0x80 (cd 80) also ends at rip,
 * hence the byte check. */
static bool site_from_threads(hd_memview *mv, const struct hd_maps *maps,
			      const struct hd_target *t, uint64_t *site)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct hd_task *task = &t->tasks[i];
		struct user_regs_struct regs;
		if (task->state != TASK_STOPPED ||
		    ptrace(PTRACE_GETREGS, task->tid, 0, &regs) != 0)
			continue;
		if ((long long)regs.orig_rax < 0 || !is_restart_code(regs.rax) ||
		    regs.rip < SYSCALL_INSN_LEN)
			continue;
		if (is_syscall_at(mv, maps, regs.rip - SYSCALL_INSN_LEN)) {
			*site = regs.rip - SYSCALL_INSN_LEN;
			return true;
		}
	}
	return false;
}

/* The length of `[endbr64] mov $imm32, %eax` when CODE starts with it and
 * a `syscall` follows, else 0. */
static size_t syscall_prologue(const uint8_t code[ENTRY_PROLOGUE_MAX])
{
	size_t at = memcmp(code, ENDBR64, sizeof ENDBR64) == 0 ? sizeof ENDBR64 : 0;
	if (code[at] != MOV_EAX_IMM32 || memcmp(code + at + 5, SYSCALL_INSN, SYSCALL_INSN_LEN) != 0)
		return 0;
	return at + 5;
}

/* (2) A function's entry is an instruction boundary, and decoding the
 * fixed-length prologue from there lands on the `syscall`.  The bytes are
 * the target's own, which is what runs. */
static bool site_from_entries(hd_memview *mv, const struct hd_maps *maps,
			      const struct inject_entries *libc, uint64_t *site)
{
	for (size_t i = 0; i < libc->n && i < INJECT_MAX_ENTRIES; i++) {
		uint8_t code[ENTRY_PROLOGUE_MAX];
		uint64_t entry = libc->addr[i];
		if (!is_fixed_code(maps, entry, sizeof code) ||
		    mv_try_read(mv, entry, code, sizeof code) != 0)
			continue;
		size_t at = syscall_prologue(code);
		if (at) {
			*site = entry + at;
			return true;
		}
	}
	return false;
}

int inject_find_site(hd_memview *mv, const struct hd_maps *maps, const struct hd_target *t,
		     const struct inject_entries *libc, uint64_t *site)
{
	if (site_from_threads(mv, maps, t, site) || (libc && site_from_entries(mv, maps, libc, site)))
		return 0;
	if (libc && libc->unreadable)
		return hd_fail(HD_E_SNAPSHOT,
			       "refusing a fork snapshot: no thread of process %d is in a system call "
			       "and hdump cannot read its libc (map_files: %s)",
			       (int)t->pid, strerror(libc->unreadable));
	return hd_fail(HD_E_SNAPSHOT,
		       "refusing a fork snapshot: no syscall instruction in process %d's code is "
		       "proven to start an instruction (no thread in a system call, no libc "
		       "symbols)", (int)t->pid);
}

#define NO_DEADLINE UINT64_MAX

/* Waits for TID's next stop until DEADLINE (ms), or until hdump is told to
 * stop when WATCH_SIGNALS; *LATE tells which came first.  A poll: a stop
 * normally comes within microseconds, the first look costs nothing, and
 * the pauses between looks (tracee_poll_pause: 50 us growing to 1 ms)
 * bound what polling adds to the target's pause.
 * With NO_DEADLINE and no signals to watch, a blocking wait that nothing
 * but the stop (or SIGKILL of hdump) ends.  Returns 0, or -1
 * (HD_E_TARGET_GONE: TID exited). */
static int wait_stop_until(pid_t tid, int *status, uint64_t deadline, bool watch_signals,
			   bool *late)
{
	bool blocking = deadline == NO_DEADLINE && !watch_signals;
	unsigned round = 0;
	*late = false;
	for (;;) {
		pid_t r = waitpid(tid, status, __WALL | (blocking ? 0 : WNOHANG));
		if (r == tid) {
			if (WIFEXITED(*status) || WIFSIGNALED(*status))
				return hd_fail(HD_E_TARGET_GONE, "thread %d exited", (int)tid);
			return 0;
		}
		if (r < 0 && errno != EINTR)
			return hd_fail_errno(HD_E_TARGET_GONE, errno, "waiting for thread %d", (int)tid);
		if (hd_monotonic_ms() >= deadline || (watch_signals && hd_interrupted())) {
			*late = true;
			return 0;
		}
		tracee_poll_pause(&round);
	}
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

enum call_end { CALL_BEFORE, CALL_RETURNED };
enum call_cut { NOT_CUT, CUT_TIMEOUT, CUT_SIGNAL };

/* Drives TID from its stop through the call's entry and exit stops.
 * Returns 0 with *END: CALL_RETURNED at the exit stop, CALL_BEFORE when
 * TID stopped before the call ran (a signal, left in *PENDING_SIG, or our
 * cut); or -1 with the error recorded.  A call still running at the deadline, or when hdump is told
 * to stop, is cut (*CUT): PTRACE_INTERRUPT wakes an interruptible wait,
 * which returns (-ERESTARTSYS...) to the exit stop.  A wait the interrupt
 * does not wake (uninterruptible or killable only, as a user notification
 * already received under SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) is waited
 * out however long it takes, signals to hdump notwithstanding: a thread
 * released with the injected registers would return into the middle of
 * the target's code. */
static int run_call(pid_t tid, struct hd_injected *out, int *pending_sig, enum call_cut *cut,
		    enum call_end *end)
{
	bool entered = false, resume = true;
	bool cleanup = hd_interrupted(); /* already told to stop: this call is clean-up */
	uint64_t deadline = hd_monotonic_ms() + INJECT_TIMEOUT_MS;
	*cut = NOT_CUT;
	for (int stops = 0; stops < MAX_STOPS;) {
		if (resume && ptrace(PTRACE_SYSCALL, tid, 0, 0) != 0)
			return hd_fail_errno(HD_E_TARGET_GONE, errno, "resuming thread %d", (int)tid);
		resume = true;
		int status;
		bool late;
		if (wait_stop_until(tid, &status, *cut == NOT_CUT ? deadline : NO_DEADLINE,
				    !cleanup && *cut == NOT_CUT, &late) != 0)
			return -1;
		if (late) {
			*cut = !cleanup && hd_interrupted() ? CUT_SIGNAL : CUT_TIMEOUT;
			if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0)
				return hd_fail_errno(HD_E_TARGET_GONE, errno, "interrupting thread %d",
						     (int)tid);
			resume = false; /* the thread is still running: just wait */
			continue;
		}
		stops++;
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
			*end = CALL_RETURNED;
			return 0;
		}
		if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK ||
		    event == PTRACE_EVENT_VFORK) {
			unsigned long child = 0;
			if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &child) == 0)
				out->new_child = (pid_t)child;
			continue;
		}
		if (event == PTRACE_EVENT_STOP) {
			if (*cut != NOT_CUT && !entered) {
				*end = CALL_BEFORE; /* our interrupt came first */
				return 0;
			}
			continue; /* a group stop or interrupt: the call still has to run */
		}
		if (!entered) {
			*pending_sig = sig;
			*end = CALL_BEFORE;
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
	enum call_cut cut;
	enum call_end at = CALL_BEFORE;
	int ran = run_call(tid, out, pending_sig, &cut, &at);
	regs = saved;
	/* From a stop before the call the kernel still restarts the thread's
	 * own call itself.  After an error this is a best effort on a thread
	 * that may be gone. */
	if (ran != 0 || at == CALL_RETURNED)
		restart_interrupted_call(&regs);
	if (ptrace(PTRACE_SETREGS, tid, 0, &regs) != 0 && ran == 0) {
		hd_fail_errno(HD_E_TARGET_GONE, errno, "restoring registers of thread %d", (int)tid);
		goto restore_options;
	}
	if (ran != 0)
		goto restore_options;
	if (cut == CUT_SIGNAL)
		hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d during a system call injected "
					  "into thread %d (thread restored)", hd_interrupted_signal(), (int)tid);
	else if (cut == CUT_TIMEOUT)
		hd_fail(HD_E_SNAPSHOT, "the system call injected into thread %d did not return within "
				       "%d ms (a seccomp supervisor, or a call that blocks); it was "
				       "interrupted and the thread restored", (int)tid, INJECT_TIMEOUT_MS);
	else if (at == CALL_BEFORE)
		hd_fail(HD_E_INCONSISTENT, "signal %d reached thread %d before the injected call",
			*pending_sig, (int)tid);
	else
		rc = 0;
restore_options:
	ptrace(PTRACE_SETOPTIONS, tid, 0, 0);
	return rc;
}

#else

int inject_find_site(hd_memview *mv, const struct hd_maps *maps, const struct hd_target *t,
		     const struct inject_entries *libc, uint64_t *site)
{
	(void)mv, (void)maps, (void)t, (void)libc, (void)site;
	return hd_fail(HD_E_SNAPSHOT, "fork snapshots need x86-64");
}

int inject_syscall(pid_t tid, uint64_t site, long nr, const long args[6],
		   struct hd_injected *out, int *pending_sig)
{
	(void)tid, (void)site, (void)nr, (void)args;
	*pending_sig = 0;
	out->ret = 0;
	out->new_child = 0;
	return hd_fail(HD_E_SNAPSHOT, "fork snapshots need x86-64");
}

#endif
