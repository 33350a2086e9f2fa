/* Would a thread's seccomp filters let a system call through?  Asked before
 * hdump makes a target's thread run a call it did not choose: a filter that
 * kills, traps, fails or parks the call (user notification) would harm the
 * target or hang hdump, so only a call every filter answers ALLOW with may be
 * injected.
 *
 * The filters are read back from the kernel (PTRACE_SECCOMP_GET_FILTER,
 * which needs CAP_SYS_ADMIN) and run by a bounded classic-BPF interpreter on
 * the call's exact struct seccomp_data, as the kernel would run them: every
 * filter, the most restrictive action wins.  Anything the interpreter cannot
 * decide counts as "not allowed". */
#ifndef HD_SECCOMP_H
#define HD_SECCOMP_H

#include "../common/hd_error.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One system call as the filters see it.  An argument whose bit is set in
 * UNKNOWN_ARGS is not known yet (the pid a later wait4 will name): the call
 * is decided only if no filter's answer depends on it. */
struct seccomp_call {
	const char *name;      /* for messages: "clone" */
	struct seccomp_data data;
	unsigned unknown_args; /* bit i: args[i] may hold any value */
};

/* The verdict of one program on CALL: true with the filter's return value
 * in *RET, false when the program cannot be decided (malformed,
 * out-of-range jump or load, unknown opcode, too long, or its answer
 * depends on an unknown argument).  LEN is bounded by BPF_MAXINSNS. */
HD_MUST_CHECK bool seccomp_bpf_decide(const struct sock_filter *prog, size_t len,
			const struct seccomp_call *call, uint32_t *ret);

/* Checks that thread TID of process PID (held in a ptrace stop of ours)
 * would be let through for each of the N CALLS.  Returns 0 when every call
 * is allowed (or the thread has no filter); otherwise -1 with an
 * HD_E_SNAPSHOT error saying which call meets which action, or why the
 * filters could not be read, ending in "use --snapshot=stop".  The answer
 * holds only while no other thread of PID can add a filter to TID
 * (SECCOMP_FILTER_FLAG_TSYNC): with every thread held it is final; with
 * only TID held, a filter added after the filter count's last reading
 * (Linux 5.9+; the chain itself on older kernels) goes unseen. */
HD_MUST_CHECK int seccomp_check_calls(pid_t pid, pid_t tid, const struct seccomp_call *calls, size_t n);

#endif
