#include "mempolicy.h"

#include "../common/cgroup.h"
#include "../common/procfs.h"

#include <stdio.h>
#include <string.h>

int mempolicy_check_cgroups(pid_t pid, const char *cgroup_file, const struct cgroup_mounts *m,
			    long long need)
{
	struct cgroup_memory cg;
	if (cgroup_memory_read(cgroup_file, m, &cg) != 0) {
		hd_error_clear(); /* no cgroup file: only the system-wide check applies */
		return 0;
	}
	if (cg.limit < 0 || cg.limit - cg.current >= need)
		return 0;
	const char *root = cg.version == 1 ? m->v1_memory : m->v2;
	const char *rel = cg.dir + strlen(root);
	return hd_fail(HD_E_SNAPSHOT,
		       "refusing a fork snapshot: process %d may need %lld MB more while the child "
		       "lives, but cgroup %s has %lld MB left",
		       (int)pid, need >> 20, rel[0] ? rel : "/",
		       cg.limit > cg.current ? (cg.limit - cg.current) >> 20 : 0);
}

int mempolicy_check_fork(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	long long anon_kb = procfs_field(path, "RssAnon");
	if (anon_kb < 0)
		return hd_fail(HD_E_NOENT, "no such process: %d", (int)pid);
	long long need = anon_kb * 1024;
	long long avail_kb = procfs_field("/proc/meminfo", "MemAvailable");
	long long swap_kb = procfs_field("/proc/meminfo", "SwapFree");
	if (avail_kb >= 0 && (avail_kb + (swap_kb > 0 ? swap_kb : 0)) * 1024 < need)
		return hd_fail(HD_E_SNAPSHOT,
			       "refusing a fork snapshot: process %d may need %lld MB more while the "
			       "child lives, but the system has %lld MB available",
			       (int)pid, need >> 20, (avail_kb + (swap_kb > 0 ? swap_kb : 0)) >> 10);
	struct cgroup_mounts mounts;
	cgroup_find_mounts("/proc/self/mountinfo", &mounts);
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	return mempolicy_check_cgroups(pid, path, &mounts, need);
}
