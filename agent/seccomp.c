#include "seccomp.h"

#include "../common/hd_error.h"
#include "../common/procfs.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

/* The kernel's bound on one thread's whole chain: the filters' lengths plus
 * 4 per filter (MAX_INSNS_PER_PATH in kernel/seccomp.c). */
#define CHAIN_INSNS_MAX 32768
#define CHAIN_PENALTY 4
#define DATA_SIZE ((uint32_t)sizeof(struct seccomp_data))
#define ARGS_OFFSET ((uint32_t)offsetof(struct seccomp_data, args))
#define MAX_CALLS 8

/* A 32-bit value the program computes, and whether it is known: it is not
 * when it comes from an argument the caller does not know yet. */
struct word {
	uint32_t v;
	bool known;
};

static struct word load_data(const struct seccomp_call *call, uint32_t k)
{
	uint32_t v;
	memcpy(&v, (const uint8_t *)&call->data + k, sizeof v);
	bool known = true;
	if (k >= ARGS_OFFSET) {
		unsigned arg = (k - ARGS_OFFSET) / 8;
		known = !(call->unknown_args & (1u << arg));
	}
	return (struct word){v, known};
}

enum alu_outcome {
	ALU_DONE,
	ALU_RETURNS_ZERO, /* division by a zero X ends the program with 0 */
	ALU_UNDECIDED,
};

/* A ALU-op SRC, as the kernel computes it. */
static enum alu_outcome alu(uint16_t op, struct word *a, struct word src)
{
	switch (op) {
	case BPF_NEG:
		a->v = -a->v;
		return ALU_DONE;
	case BPF_ADD: case BPF_SUB: case BPF_MUL: case BPF_AND: case BPF_OR: case BPF_XOR:
		break;
	case BPF_DIV: case BPF_LSH: case BPF_RSH:
		/* A divisor that may be 0 may end the program; a shift by 32
		 * or more is undefined in the classic machine: do not guess. */
		if (!src.known || (op != BPF_DIV && src.v >= 32))
			return ALU_UNDECIDED;
		if (op == BPF_DIV && src.v == 0)
			return ALU_RETURNS_ZERO;
		break;
	default:
		return ALU_UNDECIDED; /* BPF_MOD and others: seccomp refuses them */
	}
	if (!a->known || !src.known) {
		a->known = false;
		return ALU_DONE;
	}
	switch (op) {
	case BPF_ADD: a->v += src.v; break;
	case BPF_SUB: a->v -= src.v; break;
	case BPF_MUL: a->v *= src.v; break;
	case BPF_DIV: a->v /= src.v; break;
	case BPF_AND: a->v &= src.v; break;
	case BPF_OR: a->v |= src.v; break;
	case BPF_XOR: a->v ^= src.v; break;
	case BPF_LSH: a->v <<= src.v; break;
	default: a->v >>= src.v; break; /* BPF_RSH */
	}
	return ALU_DONE;
}

/* The instruction set seccomp accepts (seccomp_check_filter), nothing more.
 * Every jump goes forward and is checked against LEN, so the run takes at
 * most LEN steps. */
bool seccomp_bpf_decide(const struct sock_filter *prog, size_t len,
			const struct seccomp_call *call, uint32_t *ret)
{
	if (!prog || len == 0 || len > BPF_MAXINSNS)
		return false;
	struct word A = {0, true}, X = {0, true}, M[BPF_MEMWORDS];
	bool stored[BPF_MEMWORDS] = {false};
	for (size_t pc = 0; pc < len; pc++) {
		const struct sock_filter *in = &prog[pc];
		uint32_t k = in->k;
		size_t left = len - pc - 1; /* instructions a jump may skip */
		switch (in->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (k >= DATA_SIZE || k % 4)
				return false;
			A = load_data(call, k);
			continue;
		case BPF_LD | BPF_W | BPF_LEN: A = (struct word){DATA_SIZE, true}; continue;
		case BPF_LDX | BPF_W | BPF_LEN: X = (struct word){DATA_SIZE, true}; continue;
		case BPF_LD | BPF_IMM: A = (struct word){k, true}; continue;
		case BPF_LDX | BPF_IMM: X = (struct word){k, true}; continue;
		case BPF_LD | BPF_MEM:
		case BPF_LDX | BPF_MEM:
			if (k >= BPF_MEMWORDS || !stored[k])
				return false;
			*(BPF_CLASS(in->code) == BPF_LD ? &A : &X) = M[k];
			continue;
		case BPF_ST:
		case BPF_STX:
			if (k >= BPF_MEMWORDS)
				return false;
			M[k] = in->code == BPF_ST ? A : X;
			stored[k] = true;
			continue;
		case BPF_MISC | BPF_TAX: X = A; continue;
		case BPF_MISC | BPF_TXA: A = X; continue;
		case BPF_RET | BPF_K: *ret = k; return true;
		case BPF_RET | BPF_A:
			if (!A.known)
				return false;
			*ret = A.v;
			return true;
		case BPF_JMP | BPF_JA:
			if (k > left)
				return false;
			pc += k;
			continue;
		default:
			break;
		}
		/* Every code decomposes into class, operation and source; what
		 * is not listed below is refused (alu() rejects BPF_MOD...). */
		if (BPF_CLASS(in->code) == BPF_ALU) {
			if (BPF_OP(in->code) == BPF_NEG && BPF_SRC(in->code) != BPF_K)
				return false;
			if (in->code == (BPF_ALU | BPF_DIV | BPF_K) && k == 0)
				return false; /* the kernel refuses such a program */
			struct word src = BPF_SRC(in->code) == BPF_X ? X : (struct word){k, true};
			enum alu_outcome r = alu(BPF_OP(in->code), &A, src);
			if (r == ALU_UNDECIDED)
				return false;
			if (r == ALU_RETURNS_ZERO) {
				*ret = 0;
				return true;
			}
			continue;
		}
		if (BPF_CLASS(in->code) != BPF_JMP)
			return false;
		if (in->jt > left || in->jf > left)
			return false;
		struct word b = BPF_SRC(in->code) == BPF_X ? X : (struct word){k, true};
		if (!A.known || !b.known)
			return false; /* the answer depends on what is not known */
		bool taken;
		switch (BPF_OP(in->code)) {
		case BPF_JEQ: taken = A.v == b.v; break;
		case BPF_JGT: taken = A.v > b.v; break;
		case BPF_JGE: taken = A.v >= b.v; break;
		case BPF_JSET: taken = (A.v & b.v) != 0; break;
		default: return false;
		}
		pc += taken ? in->jt : in->jf;
	}
	return false; /* fell off the end: the kernel never accepts that */
}

/* The kernel's order of precedence: the lower the signed action, the more
 * restrictive (KILL_PROCESS is 0x80000000). */
static bool more_restrictive(uint32_t a, uint32_t b)
{
	return (int32_t)(a & SECCOMP_RET_ACTION_FULL) < (int32_t)(b & SECCOMP_RET_ACTION_FULL);
}

static void describe_action(uint32_t ret, char *buf, size_t size)
{
	switch (ret & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_KILL_PROCESS: snprintf(buf, size, "KILL_PROCESS"); break;
	case SECCOMP_RET_KILL_THREAD: snprintf(buf, size, "KILL_THREAD"); break;
	case SECCOMP_RET_TRAP: snprintf(buf, size, "TRAP (SIGSYS)"); break;
	case SECCOMP_RET_ERRNO:
		snprintf(buf, size, "ERRNO (%u)", ret & SECCOMP_RET_DATA);
		break;
	case SECCOMP_RET_USER_NOTIF: snprintf(buf, size, "USER_NOTIF (a supervisor decides)"); break;
	case SECCOMP_RET_TRACE: snprintf(buf, size, "TRACE"); break;
	case SECCOMP_RET_LOG: snprintf(buf, size, "LOG (audited as the target's own call)"); break;
	default: snprintf(buf, size, "unknown action 0x%x (killed)", ret); break;
	}
}

static int refuse(pid_t pid, pid_t tid, const char *why)
{
	return hd_fail(HD_E_SNAPSHOT,
		       "refusing a fork snapshot: thread %d of process %d is under seccomp and %s",
		       (int)tid, (int)pid, why);
}

static int refuse_unreadable(pid_t pid, pid_t tid, int err)
{
	char why[200];
	if (err == EACCES)
		snprintf(why, sizeof why, "its filters cannot be read (PTRACE_SECCOMP_GET_FILTER needs "
					  "CAP_SYS_ADMIN and an unconfined hdump)");
	else if (err == EINVAL)
		snprintf(why, sizeof why, "its seccomp mode changed while its filters were read");
	else if (err == EIO)
		snprintf(why, sizeof why, "this kernel does not show seccomp filters "
					  "(PTRACE_SECCOMP_GET_FILTER: %s)", strerror(err));
	else if (err == EMEDIUMTYPE)
		snprintf(why, sizeof why, "one of its filters is an eBPF program, which hdump "
					  "cannot read");
	else
		snprintf(why, sizeof why, "its filters cannot be read (PTRACE_SECCOMP_GET_FILTER: %s)",
			 strerror(err));
	return refuse(pid, tid, why);
}

int seccomp_check_calls(pid_t pid, pid_t tid, const struct seccomp_call *calls, size_t n)
{
	if (n > MAX_CALLS)
		return hd_fail(HD_E_INTERNAL, "too many calls to check");
	char path[80];
	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	long long mode = procfs_field(path, "Seccomp");
	if (mode == 0)
		return 0;
	if (mode < 0)
		return refuse(pid, tid, "its seccomp mode cannot be read");
	if (mode != SECCOMP_MODE_FILTER)
		return refuse(pid, tid, "in strict mode (only read, write and exit allowed)");
	/* Seccomp_filters (Linux 5.9+) tells how many there are; older kernels
	 * end the chain with ENOENT alone. */
	long long declared = procfs_field(path, "Seccomp_filters");
	struct sock_filter *prog = malloc(BPF_MAXINSNS * sizeof *prog);
	if (!prog)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	uint32_t worst[MAX_CALLS];
	for (size_t c = 0; c < n; c++)
		worst[c] = SECCOMP_RET_ALLOW;
	int rc = 0;
	long total = 0, count = 0;
	for (; rc == 0; count++) {
		errno = 0;
		long len = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)count, NULL);
		if (len < 0 && errno == ENOENT && count > 0)
			break;
		if (len < 0) {
			rc = refuse_unreadable(pid, tid, errno);
			break;
		}
		total += len + CHAIN_PENALTY;
		if (len == 0 || len > BPF_MAXINSNS || total > CHAIN_INSNS_MAX + CHAIN_PENALTY) {
			rc = refuse(pid, tid, "its filter chain is longer than the kernel allows");
			break;
		}
		errno = 0;
		if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)count, prog) != len) {
			rc = refuse_unreadable(pid, tid, errno ? errno : EAGAIN);
			break;
		}
		for (size_t c = 0; c < n && rc == 0; c++) {
			uint32_t r;
			if (!seccomp_bpf_decide(prog, (size_t)len, &calls[c], &r)) {
				char why[120];
				snprintf(why, sizeof why, "hdump cannot tell what its filter %ld does to %s",
					 count, calls[c].name);
				rc = refuse(pid, tid, why);
			} else if (!more_restrictive(worst[c], r)) {
				/* Index 0 is the oldest filter; the kernel runs the
				 * newest first and keeps the first of equal actions,
				 * so a newer filter's data wins a tie. */
				worst[c] = r;
			}
		}
	}
	free(prog);
	/* Read again last, as close to the injection as this function gets:
	 * another thread of the target may add a filter to this one at any
	 * time (SECCOMP_FILTER_FLAG_TSYNC), even while it is held. */
	if (rc == 0 && declared >= 0 &&
	    (declared != count || procfs_field(path, "Seccomp_filters") != declared))
		rc = refuse(pid, tid, "its filters changed while they were read");
	for (size_t c = 0; c < n && rc == 0; c++) {
		if ((worst[c] & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ALLOW)
			continue;
		char action[80], why[160];
		describe_action(worst[c], action, sizeof action);
		snprintf(why, sizeof why, "its filters answer %s to the injected %s", action,
			 calls[c].name);
		rc = refuse(pid, tid, why);
	}
	return rc;
}
