#include "mempolicy.h"

#include "../common/procfs.h"

#include <stdio.h>
#include <string.h>

#define UNLIMITED (1LL << 60) /* cgroup v1 writes "no limit" as a huge number */

/* Walks the cgroup REL (under ROOT) and its ancestors; fails when one of
 * them has less than NEED bytes left under its limit. */
static int check_cgroup_tree(const char *root, const char *rel, const char *max_file,
			     const char *cur_file, long long need, pid_t pid)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s%s", root, rel);
	size_t root_len = strlen(root);
	for (;;) {
		char p[600];
		snprintf(p, sizeof p, "%s/%s", dir, max_file);
		long long max = procfs_number(p);
		snprintf(p, sizeof p, "%s/%s", dir, cur_file);
		long long cur = procfs_number(p);
		if (max >= 0 && max < UNLIMITED && cur >= 0 && max - cur < need)
			return hd_fail(HD_E_SNAPSHOT,
				       "refusing a fork snapshot: process %d may need %lld MB more while "
				       "the child lives, but cgroup %s has %lld MB left",
				       (int)pid, need >> 20,
				       dir[root_len] ? dir + root_len : "/",
				       max > cur ? (max - cur) >> 20 : 0);
		char *slash = root_len < sizeof dir ? strrchr(dir + root_len, '/') : NULL;
		if (!slash)
			return 0;
		*slash = '\0';
	}
}

int mempolicy_check_cgroups(pid_t pid, const char *cgroup_file, const char *fs_root,
			    long long need)
{
	char line[512], v1_root[256];
	snprintf(v1_root, sizeof v1_root, "%s/memory", fs_root);
	FILE *f = fopen(cgroup_file, "re");
	if (!f)
		return 0; /* no cgroups: only the system-wide check applies */
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || c2[1] != '/')
			continue;
		*c2 = '\0';
		const char *controllers = c1 + 1, *rel = c2 + 1;
		if (strcmp(rel, "/") == 0)
			rel = "";
		if (controllers[0] == '\0')
			rc = check_cgroup_tree(fs_root, rel, "memory.max", "memory.current", need, pid);
		else if (strstr(controllers, "memory"))
			rc = check_cgroup_tree(v1_root, rel, "memory.limit_in_bytes",
					       "memory.usage_in_bytes", need, pid);
	}
	fclose(f);
	return rc;
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
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	return mempolicy_check_cgroups(pid, path, "/sys/fs/cgroup", need);
}
