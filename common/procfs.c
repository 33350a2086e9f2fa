#include "procfs.h"

#include "grow.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long long procfs_field(const char *path, const char *key)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char line[256];
	long long v = -1;
	size_t n = strlen(key);
	while (fgets(line, sizeof line, f))
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			v = strtoll(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

long long procfs_number(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char line[64];
	long long v = -1;
	if (fgets(line, sizeof line, f) && line[0] >= '0' && line[0] <= '9')
		v = strtoll(line, NULL, 10);
	fclose(f);
	return v;
}

int procfs_tasks(pid_t pid, pid_t **tids, size_t *n)
{
	*tids = NULL;
	*n = 0;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return hd_fail(HD_E_TARGET_GONE, "process %d exited", (int)pid);
	size_t cap = 0;
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		long tid = strtol(e->d_name, NULL, 10);
		if (tid <= 0)
			continue; /* "." and ".." */
		if (*n >= PROCFS_MAX_TASKS)
			rc = hd_fail(HD_E_INTERNAL, "process %d has more than %u threads", (int)pid,
				     PROCFS_MAX_TASKS);
		else if ((rc = hd_grow(tids, &cap, *n, sizeof **tids, 16)) == 0)
			(*tids)[(*n)++] = (pid_t)tid;
	}
	closedir(d);
	if (rc != 0) {
		free(*tids);
		*tids = NULL;
		*n = 0;
	}
	return rc;
}
