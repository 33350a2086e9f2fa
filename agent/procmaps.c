#include "procmaps.h"

#include "../common/grow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#define LINE_MAX_LEN 4096 /* longer lines (a path near PATH_MAX) are cut */

/* One line, NUL-terminated.  Returns false when it is not a mapping. */
static bool parse_line(const char *line, struct hd_mapping *mp)
{
	memset(mp, 0, sizeof *mp);
	char perms[8] = "";
	unsigned maj, min;
	unsigned long long start, end, off, ino;
	int name_at = 0;
	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off, &maj, &min,
		   &ino, &name_at) < 7 || end <= start || strlen(perms) < 3)
		return false;
	mp->start = start;
	mp->end = end;
	mp->offset = off;
	mp->r = perms[0] == 'r';
	mp->w = perms[1] == 'w';
	mp->x = perms[2] == 'x';
	mp->dev = makedev(maj, min);
	mp->ino = (ino_t)ino;
	if (name_at > 0) {
		const char *name = line + name_at;
		size_t len = strcspn(name, "\n");
		const char *base = name;
		for (size_t i = 0; i < len; i++)
			if (name[i] == '/')
				base = name + i + 1;
		len -= (size_t)(base - name);
		snprintf(mp->name, sizeof mp->name, "%.*s", (int)len, base);
	}
	return true;
}

/* Appends LINE's mapping to M when it parses and lies above the last. */
static int add_line(struct hd_maps *m, size_t *cap, const char *line)
{
	struct hd_mapping mp;
	if (!parse_line(line, &mp) || (m->n && mp.start < m->v[m->n - 1].end))
		return 0;
	if (hd_grow(&m->v, cap, m->n, sizeof *m->v, 256) != 0)
		return -1;
	m->v[m->n++] = mp;
	return 0;
}

int maps_parse(const char *text, size_t len, struct hd_maps *m)
{
	memset(m, 0, sizeof *m);
	size_t cap = 0;
	char line[LINE_MAX_LEN];
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
		size_t keep = n < sizeof line - 1 ? n : sizeof line - 1;
		memcpy(line, text + at, keep);
		line[keep] = '\0';
		if (add_line(m, &cap, line) != 0) {
			maps_free(m);
			return -1;
		}
		at += n + 1;
	}
	return 0;
}

int maps_read(pid_t pid, struct hd_maps *m)
{
	memset(m, 0, sizeof *m);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		if (e == ENOENT)
			return hd_fail(HD_E_NOENT, "no such process: %d", (int)pid);
		return hd_fail_errno(e == EACCES ? HD_E_PERM : HD_E_NOENT, e, "%s", path);
	}
	char line[LINE_MAX_LEN];
	size_t cap = 0;
	while (fgets(line, sizeof line, f)) {
		if (add_line(m, &cap, line) != 0) {
			fclose(f);
			maps_free(m);
			return -1;
		}
	}
	fclose(f);
	if (m->n == 0)
		return hd_fail(HD_E_NOENT, "process %d has no memory map (exited?)", (int)pid);
	return 0;
}

void maps_free(struct hd_maps *m)
{
	free(m->v);
	memset(m, 0, sizeof *m);
}

const struct hd_mapping *maps_find(const struct hd_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (addr < m->v[mid].start)
			hi = mid;
		else if (addr >= m->v[mid].end)
			lo = mid + 1;
		else
			return &m->v[mid];
	}
	return NULL;
}
