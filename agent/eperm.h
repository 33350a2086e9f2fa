/* Why ptrace said EPERM: the diagnosis hdump prints instead of the bare
 * errno, naming what the user can change. */
#ifndef HD_EPERM_H
#define HD_EPERM_H

#include <sys/types.h>

/* Records why PID cannot be inspected, in this order: another tracer holds
 * it (HD_E_TRACED), it belongs to another user, Yama's ptrace_scope forbids
 * it, else a container or seccomp without CAP_SYS_PTRACE (HD_E_PERM).
 * Always returns -1, so callers write "return target_explain_eperm(pid)". */
int target_explain_eperm(pid_t pid);

#endif
