/* The memory cgroup reader (common/cgroup.h) on crafted trees: mountinfo
 * lines (v1 memory, v2, hostile ones), /proc/PID/cgroup files (v1 on a
 * hybrid system, pure v2, paths that try to leave the hierarchy, lines too
 * long), the limit with the least room among a cgroup and its ancestors,
 * the event counters, and cgroup.procs with junk in it. */
#include "../../common/cgroup.h"

#include "tmpdir.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static void put(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	FILE *f = fopen(path, "we");
	cr_assert(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void mk(const char *rel)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	cr_assert(mkdir(path, 0700) == 0, "%s", path);
}

static void setup(void) { tmpdir_make(root, sizeof root, "hd-cgroup"); }
static void teardown(void) { tmpdir_remove(root); }

TestSuite(cgroup, .init = setup, .fini = teardown);

static void mountinfo_with(const char *v1, const char *v2)
{
	char text[2048];
	snprintf(text, sizeof text,
		 "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
		 "30 25 0:26 / %s rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
		 "31 25 0:27 / %s rw,nosuid shared:10 - cgroup cgroup rw,memory\n"
		 "32 25 0:28 / %s rw,nosuid shared:11 - cgroup2 cgroup2 rw,nsdelegate\n",
		 "/sys/fs/cgroup/cpu", v1, v2);
	put("mountinfo", text);
}

Test(cgroup, mounts_found_by_type_and_controller)
{
	mountinfo_with("/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified");
	char path[128];
	snprintf(path, sizeof path, "%s/mountinfo", root);
	struct cgroup_mounts m;
	cgroup_find_mounts(path, &m);
	cr_assert_str_eq(m.v1_memory, "/sys/fs/cgroup/memory");
	cr_assert_str_eq(m.v2, "/sys/fs/cgroup/unified");
}

Test(cgroup, hostile_mountinfo_gives_nothing_wrong)
{
	char longline[3000];
	memset(longline, 'a', sizeof longline - 2);
	longline[sizeof longline - 2] = '\n';
	longline[sizeof longline - 1] = '\0';
	char text[4096];
	/* an escaped space in a mount point, a relative one, a line with no
	 * separator, a line far longer than any real one, "memoryx" */
	snprintf(text, sizeof text,
		 "31 25 0:27 / /sys/fs/cg\\040x rw - cgroup cgroup rw,memory\n"
		 "32 25 0:28 / relative rw - cgroup2 cgroup2 rw\n"
		 "33 25 0:28 / /x rw cgroup2 cgroup2 rw\n"
		 "%s"
		 "34 25 0:29 / /sys/fs/cgroup/other rw - cgroup cgroup rw,memoryx\n",
		 longline);
	put("mountinfo", text);
	char path[128];
	snprintf(path, sizeof path, "%s/mountinfo", root);
	struct cgroup_mounts m;
	cgroup_find_mounts(path, &m);
	cr_assert_str_eq(m.v1_memory, "");
	cr_assert_str_eq(m.v2, "");
	cgroup_find_mounts("/nonexistent/mountinfo", &m);
	cr_assert_str_eq(m.v2, "");
}

/* A v2 tree: ROOT/v2/a (limit 100 MiB, 90 used) /a/b (limit 50 MiB, 10
 * used) holding the process: a has less room left, so a is reported. */
static void v2_tree(struct cgroup_mounts *m)
{
	mk("v2");
	mk("v2/a");
	mk("v2/a/b");
	put("v2/a/memory.max", "104857600\n");
	put("v2/a/memory.current", "94371840\n");
	put("v2/a/memory.events", "low 0\nhigh 3\nmax 7\noom 1\noom_kill 1\n");
	put("v2/a/b/memory.max", "52428800\n");
	put("v2/a/b/memory.current", "10485760\n");
	put("v2/memory.current", "1\n");
	put("v2/memory.max", "max\n");
	memset(m, 0, sizeof *m);
	snprintf(m->v2, sizeof m->v2, "%s/v2", root);
}

static void read_cg(const char *cgroup_text, const struct cgroup_mounts *m, struct cgroup_memory *out)
{
	put("cgroup", cgroup_text);
	char path[128];
	snprintf(path, sizeof path, "%s/cgroup", root);
	cr_assert_eq(cgroup_memory_read(path, m, out), 0);
}

Test(cgroup, v2_least_room_among_ancestors_and_events)
{
	struct cgroup_mounts m;
	v2_tree(&m);
	struct cgroup_memory cg;
	read_cg("0::/a/b\n", &m, &cg);
	cr_assert_eq(cg.version, 2);
	cr_assert_eq(cg.limit, 104857600);
	cr_assert_eq(cg.current, 94371840);
	char want[256];
	snprintf(want, sizeof want, "%s/v2/a", root);
	cr_assert_str_eq(cg.dir, want);
	cr_assert_eq(cg.events_high, 3);
	cr_assert_eq(cg.events_max, 7);
	cr_assert_eq(cg.events_oom, 1);
	cr_assert_eq(cg.events_oom_kill, 1);
}

Test(cgroup, v2_without_limits_reports_own_usage)
{
	struct cgroup_mounts m;
	v2_tree(&m);
	mk("v2/free");
	put("v2/free/memory.current", "4096\n");
	put("v2/free/memory.max", "max\n");
	struct cgroup_memory cg;
	read_cg("0::/free\n", &m, &cg);
	cr_assert_eq(cg.version, 2);
	cr_assert_eq(cg.limit, -1);
	cr_assert_eq(cg.current, 4096);
}

Test(cgroup, hybrid_prefers_v1_memory_controller)
{
	struct cgroup_mounts m;
	v2_tree(&m);
	mk("v1");
	mk("v1/svc");
	put("v1/svc/memory.limit_in_bytes", "209715200\n");
	put("v1/svc/memory.usage_in_bytes", "104857600\n");
	put("v1/svc/memory.failcnt", "12\n");
	put("v1/svc/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
	put("v1/memory.limit_in_bytes", "9223372036854771712\n"); /* v1's "no limit" */
	put("v1/memory.usage_in_bytes", "5\n");
	snprintf(m.v1_memory, sizeof m.v1_memory, "%s/v1", root);
	struct cgroup_memory cg;
	read_cg("12:pids:/x\n4:memory:/svc\n0::/a/b\n", &m, &cg);
	cr_assert_eq(cg.version, 1);
	cr_assert_eq(cg.limit, 209715200);
	cr_assert_eq(cg.current, 104857600);
	cr_assert_eq(cg.events_max, 12);
	cr_assert_eq(cg.events_oom_kill, 2);
	cr_assert_eq(cg.events_high, -1);
}

/* PSI's memory.pressure is in the process's own v2 cgroup whichever
 * hierarchy has the memory controller: on a hybrid system the v2 directory
 * is reported beside the v1 numbers; without a v2 mount there is none. */
Test(cgroup, own_v2_dir_reported_on_a_hybrid_system)
{
	struct cgroup_mounts m;
	v2_tree(&m);
	mk("v1");
	put("v1/memory.limit_in_bytes", "209715200\n");
	put("v1/memory.usage_in_bytes", "104857600\n");
	snprintf(m.v1_memory, sizeof m.v1_memory, "%s/v1", root);
	struct cgroup_memory cg;
	read_cg("4:memory:/\n0::/a/b\n", &m, &cg);
	cr_assert_eq(cg.version, 1);
	char want[256];
	snprintf(want, sizeof want, "%s/v2/a/b", root);
	cr_assert_str_eq(cg.v2_dir, want);
	read_cg("4:memory:/\n0::/\n", &m, &cg);
	snprintf(want, sizeof want, "%s/v2", root);
	cr_assert_str_eq(cg.v2_dir, want, "the root cgroup is the mount point itself");
	m.v2[0] = '\0';
	read_cg("4:memory:/\n0::/a/b\n", &m, &cg);
	cr_assert_str_eq(cg.v2_dir, "");
	read_cg("4:memory:/\n0::/a/../../etc\n", &(struct cgroup_mounts){.v2 = "/x"}, &cg);
	cr_assert_str_eq(cg.v2_dir, "", "a path leaving the hierarchy is refused");
}

Test(cgroup, paths_leaving_the_hierarchy_are_refused)
{
	struct cgroup_mounts m;
	v2_tree(&m);
	struct cgroup_memory cg;
	read_cg("0::/a/../../etc\n", &m, &cg);
	cr_assert_eq(cg.version, 0);
	read_cg("0::a/b\n", &m, &cg);
	cr_assert_eq(cg.version, 0);
	read_cg("0::/..\n", &m, &cg);
	cr_assert_eq(cg.version, 0);
	/* "..x" is a name, not a way up */
	mk("v2/..x");
	put("v2/..x/memory.current", "7\n");
	read_cg("0::/..x\n", &m, &cg);
	cr_assert_eq(cg.version, 2);
	cr_assert_eq(cg.current, 7);
}

Test(cgroup, hostile_numbers_and_lines)
{
	struct cgroup_mounts m;
	v2_tree(&m);
	mk("v2/bad");
	put("v2/bad/memory.current", "12abc\n");
	put("v2/bad/memory.max", "-5\n");
	put("v2/bad/memory.events", "high 99999999999999999999999\nmax\n");
	struct cgroup_memory cg;
	read_cg("0::/bad\n", &m, &cg);
	cr_assert_eq(cg.version, 0, "memory.current does not read: not a memory cgroup");
	put("v2/bad/memory.current", "100\n");
	read_cg("0::/bad\n", &m, &cg);
	cr_assert_eq(cg.version, 2);
	cr_assert_eq(cg.limit, -1);
	cr_assert_eq(cg.events_high, -1);
	cr_assert_eq(cg.events_max, -1);
	/* a line longer than the reader's buffer ends the file */
	char text[2000];
	memset(text, 'x', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	char file[2100];
	snprintf(file, sizeof file, "%s\n0::/a/b\n", text);
	read_cg(file, &m, &cg);
	cr_assert_eq(cg.version, 0);
	/* no cgroup file: the process is gone */
	cr_assert_eq(cgroup_memory_read("/nonexistent/cgroup", &m, &cg), -1);
	cr_assert_eq(hd_error_class(), HD_E_NOENT);
}

Test(cgroup, procs_skip_junk_and_bound)
{
	mk("g");
	put("g/cgroup.procs", "12\nabc\n0\n-3\n99999999999\n34\n");
	char dir[128];
	snprintf(dir, sizeof dir, "%s/g", root);
	pid_t *pids;
	size_t n;
	cr_assert_eq(cgroup_procs(dir, &pids, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(pids[0], 12);
	cr_assert_eq(pids[1], 34);
	free(pids);
	snprintf(dir, sizeof dir, "%s/none", root);
	cr_assert_eq(cgroup_procs(dir, &pids, &n), -1);
	cr_assert_eq(hd_error_class(), HD_E_NOENT);
	cr_assert_null(pids);
}
