#include "inject.h"

#include "../common/clock.h"
#include "../common/hd_error.h"
#include "../common/interrupt.h"
#include "attach.h"
#include "kernel_restart.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "system call injection is implemented for x86-64 only"
#endif

#define SYSCALL_INSN_LEN INJECT_SYSCALL_LEN /* 0f 05 */
#define MAX_STOPS 16                /* stops one injected call may report */
#define LIBC_MAX_SIZE (64 << 20)    /* a larger "libc" is not read */
#define LIBC_MAX_SYMBOLS 65536      /* symbols examined for a site */
#define POLL_MIN_NS 20000L          /* first pause while waiting for a stop */
#define POLL_MAX_NS 1000000L

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
		if (!task->seized || !task->stopped ||
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

/* The offset in the file of the code at virtual address VADDR. */
static bool code_offset(Elf *e, uint64_t vaddr, uint64_t *off)
{
	size_t nph;
	if (elf_getphdrnum(e, &nph) != 0)
		return false;
	for (size_t i = 0; i < nph && i < 64; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return true;
		}
	}
	return false;
}

/* Where offset OFF of LIB's file is mapped executable, or 0. */
static uint64_t mapped_at(const struct hd_maps *maps, const struct hd_mapping *lib, uint64_t off)
{
	for (size_t i = 0; i < maps->n; i++) {
		const struct hd_mapping *m = &maps->v[i];
		if (m->dev == lib->dev && m->ino == lib->ino && m->x && off >= m->offset &&
		    off - m->offset < m->end - m->start)
			return m->start + (off - m->offset);
	}
	return 0;
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

/* (2) In LIB (a libc mapped in the target) a function symbol's value is an
 * instruction boundary, and decoding the fixed-length prologue from there
 * lands on the `syscall`.  The bytes are checked again in the target's
 * memory, which is what runs.  The file is opened through map_files, which
 * needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE: when it cannot be opened,
 * *OPEN_ERR is set to the errno. */
static bool site_from_library(hd_memview *mv, const struct hd_maps *maps, pid_t pid,
			      const struct hd_mapping *lib, uint64_t *site, int *open_err)
{
	char path[96];
	snprintf(path, sizeof path, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, lib->start,
		 lib->end);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*open_err = errno;
		return false;
	}
	struct stat st;
	Elf *e = NULL;
	bool found = false;
	if (fstat(fd, &st) != 0 || st.st_size > LIBC_MAX_SIZE || elf_version(EV_CURRENT) == EV_NONE ||
	    !(e = elf_begin(fd, ELF_C_READ, NULL)))
		goto out;
	size_t examined = 0;
	for (Elf_Scn *scn = NULL; !found && (scn = elf_nextscn(e, scn));) {
		GElf_Shdr sh;
		Elf_Data *d;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		size_t nsyms = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < nsyms && !found && examined++ < LIBC_MAX_SYMBOLS; i++) {
			GElf_Sym sym;
			uint64_t off, addr;
			uint8_t code[ENTRY_PROLOGUE_MAX];
			if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    sym.st_shndx == SHN_UNDEF || sym.st_size < sizeof code ||
			    !code_offset(e, sym.st_value, &off) ||
			    pread(fd, code, sizeof code, (off_t)off) != (ssize_t)sizeof code)
				continue;
			size_t at = syscall_prologue(code);
			if (!at || !(addr = mapped_at(maps, lib, off)) ||
			    !is_fixed_code(maps, addr, sizeof code) ||
			    mv_try_read(mv, addr, code, sizeof code) != 0 || syscall_prologue(code) != at)
				continue;
			*site = addr + at;
			found = true;
		}
	}
out:
	if (e)
		elf_end(e);
	close(fd);
	return found;
}

static bool is_libc_name(const char *name)
{
	return strncmp(name, "libc.so", 7) == 0 || strncmp(name, "libc-", 5) == 0 ||
	       strncmp(name, "ld-musl-", 8) == 0 || strncmp(name, "libc.musl-", 10) == 0;
}

int inject_find_site(hd_memview *mv, const struct hd_maps *maps, const struct hd_target *t,
		     uint64_t *site)
{
	if (site_from_threads(mv, maps, t, site))
		return 0;
	int open_err = 0;
	for (size_t i = 0; i < maps->n; i++)
		if (maps->v[i].x && is_libc_name(maps->v[i].name) &&
		    site_from_library(mv, maps, t->pid, &maps->v[i], site, &open_err))
			return 0;
	if (open_err)
		return hd_fail(HD_E_SNAPSHOT,
			       "refusing a fork snapshot: no thread of process %d is in a system call "
			       "and hdump cannot read its libc (map_files: %s); use --snapshot=stop",
			       (int)t->pid, strerror(open_err));
	return hd_fail(HD_E_SNAPSHOT,
		       "refusing a fork snapshot: no syscall instruction in process %d's code is "
		       "proven to start an instruction (no thread in a system call, no libc "
		       "symbols); use --snapshot=stop", (int)t->pid);
}

enum wait_outcome { STOP_SEEN, STOP_LATE };
#define NO_DEADLINE UINT64_MAX

/* Waits for TID's next stop until DEADLINE (ms), or until hdump is told to
 * stop when WATCH_SIGNALS.  A poll with a growing pause: a stop normally
 * comes within microseconds, and the cap bounds what polling adds to the
 * target's pause.  With NO_DEADLINE and no signals to watch, a blocking
 * wait that nothing but the stop (or SIGKILL of hdump) ends. */
static int wait_stop_until(pid_t tid, int *status, uint64_t deadline, bool watch_signals)
{
	long pause_ns = POLL_MIN_NS;
	bool blocking = deadline == NO_DEADLINE && !watch_signals;
	for (;;) {
		pid_t r = waitpid(tid, status, __WALL | (blocking ? 0 : WNOHANG));
		if (r == tid) {
			if (WIFEXITED(*status) || WIFSIGNALED(*status))
				return hd_fail(HD_E_TARGET_GONE, "thread %d exited", (int)tid);
			return STOP_SEEN;
		}
		if (r < 0 && errno != EINTR)
			return hd_fail_errno(HD_E_TARGET_GONE, errno, "waiting for thread %d", (int)tid);
		if (hd_monotonic_ms() >= deadline || (watch_signals && hd_interrupted()))
			return STOP_LATE;
		struct timespec ts = {0, pause_ns};
		nanosleep(&ts, NULL);
		pause_ns = pause_ns * 2 < POLL_MAX_NS ? pause_ns * 2 : POLL_MAX_NS;
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

enum call_end { CALL_ERROR = -1, CALL_BEFORE = 0, CALL_RETURNED = 1 };
enum call_cut { NOT_CUT, CUT_TIMEOUT, CUT_SIGNAL };

/* Drives TID from its stop through the call's entry and exit stops.
 * Returns CALL_RETURNED at the exit stop; CALL_BEFORE when TID stopped
 * before the call ran (a signal, left in *PENDING_SIG, or our cut);
 * CALL_ERROR.  A call still running at the deadline, or when hdump is told
 * to stop, is cut (*CUT): PTRACE_INTERRUPT wakes an interruptible wait,
 * which returns (-ERESTARTSYS...) to the exit stop.  A wait the interrupt
 * does not wake (uninterruptible or killable only, as a user notification
 * already received under SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) is waited
 * out however long it takes, signals to hdump notwithstanding: a thread
 * released with the injected registers would return into the middle of
 * the target's code. */
static int run_call(pid_t tid, struct hd_injected *out, int *pending_sig, enum call_cut *cut)
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
		int w = wait_stop_until(tid, &status, *cut == NOT_CUT ? deadline : NO_DEADLINE,
					!cleanup && *cut == NOT_CUT);
		if (w < 0)
			return CALL_ERROR;
		if (w == STOP_LATE) {
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
			return CALL_RETURNED;
		}
		if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK ||
		    event == PTRACE_EVENT_VFORK) {
			unsigned long child = 0;
			if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &child) == 0)
				out->new_child = (pid_t)child;
			continue;
		}
		if (event == PTRACE_EVENT_STOP) {
			if (*cut != NOT_CUT && !entered)
				return CALL_BEFORE; /* our interrupt came first */
			continue; /* a group stop or interrupt: the call still has to run */
		}
		if (!entered) {
			*pending_sig = sig;
			return CALL_BEFORE;
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
	int at = run_call(tid, out, pending_sig, &cut);
	regs = saved;
	/* From a stop before the call the kernel still restarts the thread's
	 * own call itself.  After an error this is a best effort on a thread
	 * that may be gone. */
	if (at != CALL_BEFORE)
		restart_interrupted_call(&regs);
	if (ptrace(PTRACE_SETREGS, tid, 0, &regs) != 0 && at != CALL_ERROR) {
		hd_fail_errno(HD_E_TARGET_GONE, errno, "restoring registers of thread %d", (int)tid);
		goto restore_options;
	}
	if (at == CALL_ERROR)
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
