#include "eperm.h"

#include "../common/hd_error.h"
#include "../common/procfs.h"

#include <stdio.h>
#include <unistd.h>

static long status_field(pid_t pid, const char *key)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	return (long)procfs_field(path, key);
}

static int yama_scope(void)
{
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	int v = -1;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

int target_explain_eperm(pid_t pid)
{
	long tracer = status_field(pid, "TracerPid");
	if (tracer > 0)
		return hd_fail(HD_E_TRACED,
			       "process %d is already traced by process %ld (a debugger?); "
			       "detach it first", (int)pid, tracer);
	long uid = status_field(pid, "Uid");
	if (uid >= 0 && (uid_t)uid != geteuid() && geteuid() != 0)
		return hd_fail(HD_E_PERM,
			       "cannot attach to process %d: it belongs to uid %ld; run hdump as "
			       "that user or with CAP_SYS_PTRACE (e.g. sudo)", (int)pid, uid);
	int scope = yama_scope();
	if (scope >= 1 && geteuid() != 0)
		return hd_fail(HD_E_PERM,
			       "cannot attach to process %d: kernel.yama.ptrace_scope is %d; run "
			       "hdump with CAP_SYS_PTRACE (e.g. sudo) or set "
			       "'sysctl kernel.yama.ptrace_scope=0'", (int)pid, scope);
	return hd_fail(HD_E_PERM,
		       "cannot attach to process %d: ptrace not permitted (in a container, "
		       "grant CAP_SYS_PTRACE; check kernel.yama.ptrace_scope and seccomp)",
		       (int)pid);
}
