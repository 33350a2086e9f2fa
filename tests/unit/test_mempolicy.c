/* The fork snapshot's memory policy (agent/mempolicy.h): cgroup limits
 * read from a crafted cgroup tree (v2 and v1, a cgroup and its ancestors,
 * "max" and v1's huge "no limit"), and the system-wide check on this very
 * process. */
#include "../../agent/mempolicy.h"
#include "../../common/hd_error.h"

#include "tmpdir.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MB (1LL << 20)

static char root[64];

static void put(const char *rel, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	FILE *f = fopen(path, "we");
	cr_assert(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void dir(const char *rel)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	cr_assert(mkdir(path, 0700) == 0, "%s", path);
}

static void put_bytes(const char *rel, long long v)
{
	char text[32];
	snprintf(text, sizeof text, "%lld\n", v);
	put(rel, text);
}

static void make_tree(void)
{
	tmpdir_make(root, sizeof root, "hdump-cgroup");
	dir("a");
	dir("a/b");
	dir("memory");
	dir("memory/x");
	put("a/memory.max", "max\n");
	put("a/memory.current", "1\n");
	put_bytes("a/b/memory.max", 100 * MB);
	put_bytes("a/b/memory.current", 90 * MB);
	put("v2.cgroup", "0::/a/b\n");
	put("v1.cgroup", "7:cpu:/y\n5:cpuset,memory:/x\n");
	put_bytes("memory/x/memory.limit_in_bytes", 1LL << 62);
	put_bytes("memory/x/memory.usage_in_bytes", 99 * MB);
}

static int check(const char *cgroup_file, long long need)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", root, cgroup_file);
	struct cgroup_mounts m;
	snprintf(m.v2, sizeof m.v2, "%s", root);
	snprintf(m.v1_memory, sizeof m.v1_memory, "%s/memory", root);
	hd_error_clear();
	return mempolicy_check_cgroups(4242, path, &m, need);
}

static void clean(void) { tmpdir_remove(root); }

Test(mempolicy, a_v2_cgroup_refuses_what_it_has_no_room_for)
{
	make_tree();
	cr_assert(check("v2.cgroup", 5 * MB) == 0, "%s", hd_error_message());
	cr_assert(check("v2.cgroup", 20 * MB) != 0);
	cr_assert_eq(hd_error_class(), HD_E_SNAPSHOT);
	cr_assert(strstr(hd_error_message(), "cgroup /a/b has 10 MB left"), "%s", hd_error_message());
	cr_assert(strstr(hd_error_message(), "process 4242"), "%s", hd_error_message());
	clean();
}

Test(mempolicy, an_ancestor_limit_counts)
{
	make_tree();
	put("a/b/memory.max", "max\n");
	put_bytes("a/memory.max", 50 * MB);
	put_bytes("a/memory.current", 45 * MB);
	cr_assert(check("v2.cgroup", 10 * MB) != 0);
	cr_assert(strstr(hd_error_message(), "cgroup /a has 5 MB left"), "%s", hd_error_message());
	put_bytes("memory.max", 10 * MB);
	put_bytes("memory.current", 9 * MB);
	put("a/memory.max", "max\n");
	cr_assert(check("v2.cgroup", 2 * MB) != 0, "the root's own limit");
	cr_assert(strstr(hd_error_message(), "cgroup / has 1 MB left"), "%s", hd_error_message());
	clean();
}

Test(mempolicy, v1_memory_controller)
{
	make_tree();
	cr_assert(check("v1.cgroup", 1024 * MB) == 0, "v1's 'no limit': %s", hd_error_message());
	put_bytes("memory/x/memory.limit_in_bytes", 100 * MB);
	cr_assert(check("v1.cgroup", 2 * MB) != 0);
	cr_assert(strstr(hd_error_message(), "cgroup /x has 1 MB left"), "%s", hd_error_message());
	clean();
}

Test(mempolicy, no_cgroup_file_passes)
{
	make_tree();
	cr_assert(check("none.cgroup", 1LL << 50) == 0);
	clean();
}

Test(mempolicy, this_process_may_fork_and_a_missing_one_is_noent)
{
	cr_assert(mempolicy_check_fork(getpid()) == 0, "%s", hd_error_message());
	cr_assert(mempolicy_check_fork(0x7ffffff0) != 0);
	cr_assert_eq(hd_error_class(), HD_E_NOENT);
}
