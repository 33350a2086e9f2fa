/* hdump_memory_usage and hdump_cgroup_pids: a process's memory and its
 * memory cgroup's, read from /proc and the cgroup file systems. */
#include "../include/hdump.h"
#include "../common/cgroup.h"
#include "../common/procfs.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int64_t kb_field(const char *path, const char *key)
{
	long long kb = procfs_field(path, key);
	return kb >= 0 && kb < (1LL << 50) ? (int64_t)kb * 1024 : -1;
}

int hdump_memory_usage(pid_t pid, struct hdump_memory_usage *m)
{
	memset(m, 0, sizeof *m);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	m->rss = kb_field(path, "VmRSS");
	m->rss_anon = kb_field(path, "RssAnon");
	if (m->rss < 0)
		return hd_fail(HD_E_NOENT, "no such process: %d", (int)pid);
	m->mem_total = kb_field("/proc/meminfo", "MemTotal");
	m->mem_available = kb_field("/proc/meminfo", "MemAvailable");
	struct cgroup_mounts mounts;
	cgroup_find_mounts("/proc/self/mountinfo", &mounts);
	struct cgroup_memory cg;
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	if (cgroup_memory_read(path, &mounts, &cg) != 0)
		return -1;
	m->cgroup_version = cg.version;
	snprintf(m->cgroup, sizeof m->cgroup, "%s", cg.dir);
	m->cgroup_current = cg.current;
	m->cgroup_limit = cg.limit;
	m->events_high = cg.events_high;
	m->events_max = cg.events_max;
	m->events_oom = cg.events_oom;
	m->events_oom_kill = cg.events_oom_kill;
	if (cg.v2_dir[0]) {
		snprintf(m->pressure, sizeof m->pressure, "%s/memory.pressure", cg.v2_dir);
		if (access(m->pressure, F_OK) != 0)
			m->pressure[0] = '\0';
	}
	return 0;
}

int hdump_cgroup_pids(const char *dir, pid_t **pids, size_t *n)
{
	return cgroup_procs(dir, pids, n);
}
