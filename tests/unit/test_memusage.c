/* hdump_memory_usage and hdump_cgroup_pids (lib/memusage.c) on this very
 * process and a crafted cgroup directory. */
#include "../../include/hdump.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

Test(memusage, this_process)
{
	struct hdump_memory_usage m;
	cr_assert_eq(hdump_memory_usage(getpid(), &m), 0, "%s", hdump_error().message);
	cr_assert_gt(m.rss, 0);
	cr_assert_gt(m.rss_anon, 0);
	cr_assert_gt(m.mem_total, m.rss);
	cr_assert(m.mem_available > 0 && m.mem_available <= m.mem_total, "%lld of %lld",
		  (long long)m.mem_available, (long long)m.mem_total);
	cr_assert(m.cgroup_version >= 0 && m.cgroup_version <= 2);
	if (m.cgroup_version) {
		cr_assert_neq(m.cgroup[0], '\0');
		cr_assert(m.cgroup_limit == -1 || m.cgroup_limit > 0);
	}
}

/* The PSI file is named only where it exists, in the v2 hierarchy. */
Test(memusage, pressure_file_exists_or_is_empty)
{
	struct hdump_memory_usage m;
	cr_assert_eq(hdump_memory_usage(getpid(), &m), 0, "%s", hdump_error().message);
	if (m.pressure[0]) {
		cr_assert_eq(access(m.pressure, R_OK), 0, "%s", m.pressure);
		size_t n = strlen(m.pressure);
		cr_assert(n > 16 && strcmp(m.pressure + n - 16, "/memory.pressure") == 0, "%s", m.pressure);
	}
}

Test(memusage, no_such_process)
{
	struct hdump_memory_usage m;
	cr_assert_eq(hdump_memory_usage(999999999, &m), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_NOENT);
}

Test(memusage, cgroup_members)
{
	char dir[] = "/tmp/hd-memusage-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "we");
	cr_assert_not_null(f);
	fputs("5\n6\n", f);
	fclose(f);
	pid_t *pids;
	size_t n;
	cr_assert_eq(hdump_cgroup_pids(dir, &pids, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(pids[1], 6);
	free(pids);
	unlink(path);
	rmdir(dir);
}
