#include "cgroup.h"

#include "grow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cgroup v1 writes "no limit" as a huge page-rounded number. */
#define NO_LIMIT (1LL << 60)
/* A cgroup path has at most this many levels we climb. */
#define MAX_DEPTH 64

/* A whole non-negative decimal number (trailing newline allowed), else -1. */
static long long parse_count(const char *s)
{
	if (*s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || (*end && *end != '\n'))
		return -1;
	return v;
}

/* The number a one-value file holds; -1 if missing, "max" or malformed. */
static long long read_number(const char *dir, const char *name)
{
	char path[CGROUP_PATH_MAX + 64], line[64];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long long v = fgets(line, sizeof line, f) ? parse_count(line) : -1;
	fclose(f);
	return v;
}

/* The number after "KEY " in a "key value" file (memory.events,
 * memory.oom_control); -1 if absent. */
static long long read_keyed(const char *dir, const char *name, const char *key)
{
	char path[CGROUP_PATH_MAX + 64], line[128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = strlen(key);
	long long v = -1;
	for (unsigned lines = 0; lines < 64 && fgets(line, sizeof line, f); lines++)
		if (strncmp(line, key, n) == 0 && line[n] == ' ') {
			v = parse_count(line + n + 1);
			break;
		}
	fclose(f);
	return v;
}

/* Copies the mount point (field 5 of a mountinfo line) if it is a plain
 * absolute path that fits. */
static void take_mount_point(const char *line, char *out, size_t size)
{
	const char *p = line;
	for (int field = 0; field < 4 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || *p != '/')
		return;
	size_t len = strcspn(p, " ");
	if (len >= size || memchr(p, '\\', len)) /* escaped characters: not ours to guess */
		return;
	memcpy(out, p, len);
	out[len] = '\0';
}

void cgroup_find_mounts(const char *mountinfo, struct cgroup_mounts *m)
{
	memset(m, 0, sizeof *m);
	FILE *f = fopen(mountinfo, "re");
	if (!f)
		return;
	char line[1024];
	for (unsigned lines = 0; lines < 100000 && fgets(line, sizeof line, f); lines++) {
		if (!strchr(line, '\n') && !feof(f)) { /* longer than any we need: skip it */
			int c;
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		const char *sep = strstr(line, " - ");
		if (!sep)
			continue;
		if (strncmp(sep, " - cgroup2 ", 11) == 0 && !m->v2[0]) {
			take_mount_point(line, m->v2, sizeof m->v2);
		} else if (strncmp(sep, " - cgroup ", 10) == 0 && !m->v1_memory[0]) {
			const char *opts = strrchr(sep, ' ');
			/* the super options: "rw,memory" */
			for (const char *o = opts ? opts + 1 : ""; *o; o += strcspn(o, ","), o += *o == ',')
				if (strncmp(o, "memory", 6) == 0 && (o[6] == ',' || o[6] == '\n' || !o[6]))
					take_mount_point(line, m->v1_memory, sizeof m->v1_memory);
		}
	}
	fclose(f);
}

/* Is REL a cgroup path that stays inside its hierarchy? */
static bool safe_rel(const char *rel)
{
	if (rel[0] != '/')
		return false;
	for (const char *p = rel; (p = strstr(p, "/..")) != NULL; p += 3)
		if (p[3] == '/' || p[3] == '\0')
			return false;
	return true;
}

/* Fills OUT's numbers from the cgroup directory DIR. */
static void read_levels(const char *root, const char *rel, int version, struct cgroup_memory *out)
{
	char dir[CGROUP_PATH_MAX];
	if ((size_t)snprintf(dir, sizeof dir, "%s%s", root, strcmp(rel, "/") ? rel : "") >= sizeof dir)
		return;
	size_t root_len = strlen(root);
	const char *max_file = version == 2 ? "memory.max" : "memory.limit_in_bytes";
	const char *cur_file = version == 2 ? "memory.current" : "memory.usage_in_bytes";
	long long best_room = -1;
	out->version = version;
	snprintf(out->dir, sizeof out->dir, "%s", dir);
	out->current = read_number(dir, cur_file);
	out->limit = -1;
	for (int depth = 0; depth < MAX_DEPTH; depth++) {
		long long max = read_number(dir, max_file), cur = read_number(dir, cur_file);
		if (max >= 0 && max < NO_LIMIT && cur >= 0) {
			long long room = max > cur ? max - cur : 0;
			if (best_room < 0 || room < best_room) {
				best_room = room;
				snprintf(out->dir, sizeof out->dir, "%s", dir);
				out->current = cur;
				out->limit = max;
			}
		}
		char *slash = strrchr(dir + root_len, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	if (version == 2) {
		out->events_high = read_keyed(out->dir, "memory.events", "high");
		out->events_max = read_keyed(out->dir, "memory.events", "max");
		out->events_oom = read_keyed(out->dir, "memory.events", "oom");
		out->events_oom_kill = read_keyed(out->dir, "memory.events", "oom_kill");
	} else {
		out->events_max = read_number(out->dir, "memory.failcnt");
		out->events_oom_kill = read_keyed(out->dir, "memory.oom_control", "oom_kill");
	}
}

int cgroup_memory_read(const char *cgroup_file, const struct cgroup_mounts *m,
		       struct cgroup_memory *out)
{
	memset(out, 0, sizeof *out);
	out->current = out->limit = -1;
	out->events_high = out->events_max = out->events_oom = out->events_oom_kill = -1;
	FILE *f = fopen(cgroup_file, "re");
	if (!f)
		return hd_fail(HD_E_NOENT, "no cgroup file %s (process gone?)", cgroup_file);
	char line[CGROUP_PATH_MAX + 64], v1_rel[CGROUP_PATH_MAX] = "", v2_rel[CGROUP_PATH_MAX] = "";
	for (unsigned lines = 0; lines < 256 && fgets(line, sizeof line, f); lines++) {
		char *nl = strchr(line, '\n');
		if (!nl)
			break; /* a line longer than any real one: stop trusting the file */
		*nl = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || !safe_rel(c2 + 1) || strlen(c2 + 1) >= CGROUP_PATH_MAX)
			continue;
		*c2 = '\0';
		const char *controllers = c1 + 1;
		bool memory = false;
		for (const char *o = controllers; *o; o += strcspn(o, ","), o += *o == ',')
			memory |= strncmp(o, "memory", 6) == 0 && (o[6] == ',' || !o[6]);
		if (c1 == line + 1 && line[0] == '0' && !controllers[0])
			strcpy(v2_rel, c2 + 1);
		else if (memory)
			strcpy(v1_rel, c2 + 1);
	}
	fclose(f);
	if (v2_rel[0] && m->v2[0] &&
	    (size_t)snprintf(out->v2_dir, sizeof out->v2_dir, "%s%s", m->v2,
			     strcmp(v2_rel, "/") ? v2_rel : "") >= sizeof out->v2_dir)
		out->v2_dir[0] = '\0';
	/* On a hybrid system the memory controller is bound to v1 and the v2
	 * hierarchy has none: v1 first. */
	if (v1_rel[0] && m->v1_memory[0])
		read_levels(m->v1_memory, v1_rel, 1, out);
	else if (out->v2_dir[0] && read_number(out->v2_dir, "memory.current") >= 0)
		read_levels(m->v2, v2_rel, 2, out);
	return 0;
}

int cgroup_procs(const char *dir, pid_t **pids, size_t *n)
{
	*pids = NULL;
	*n = 0;
	char path[CGROUP_PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return hd_fail_errno(errno == EACCES ? HD_E_PERM : HD_E_NOENT, errno, "%s", path);
	size_t cap = 0;
	char line[32];
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof line, f)) {
		long long v = parse_count(line);
		if (v <= 0 || v > (1 << 30))
			continue;
		if (*n >= CGROUP_MAX_PROCS)
			rc = hd_fail(HD_E_INTERNAL, "%s lists more than %u processes", path, CGROUP_MAX_PROCS);
		else if ((rc = hd_grow(pids, &cap, *n, sizeof **pids, 16)) == 0)
			(*pids)[(*n)++] = (pid_t)v;
	}
	fclose(f);
	if (rc != 0) {
		free(*pids);
		*pids = NULL;
		*n = 0;
	}
	return rc;
}
