/* Whether a fork snapshot may be taken, memory-wise.  While the child of a
 * copy-on-write fork lives, every private page the target writes is copied:
 * up to all of its anonymous memory, the worst case of a dump overlapping a
 * full collection, which rewrites the whole heap.  The fork is refused when
 * that could push the target's cgroup over its limit or the system out of
 * memory. */
#ifndef HD_MEMPOLICY_H
#define HD_MEMPOLICY_H

#include "../common/cgroup.h"
#include "../common/hd_error.h"

#include <sys/types.h>

/* Refuses (HD_E_SNAPSHOT) when PID's private memory (RssAnon) could not be
 * duplicated within the memory the system has available (with free swap)
 * or under the limit of each of its memory cgroups and their ancestors.
 * HD_E_NOENT when PID does not exist. */
HD_MUST_CHECK int mempolicy_check_fork(pid_t pid);

/* The cgroup half, from CGROUP_FILE (the format of /proc/PID/cgroup, v1 and
 * v2 lines) and the hierarchies mounted at M: refuses (HD_E_SNAPSHOT) when
 * the process's memory cgroup or one of its ancestors has less than NEED
 * bytes left under its limit (the one with least room is named).  PID
 * names the process in the message.  A missing CGROUP_FILE passes (no
 * cgroups). */
HD_MUST_CHECK int mempolicy_check_cgroups(pid_t pid, const char *cgroup_file,
					  const struct cgroup_mounts *m, long long need);

#endif
