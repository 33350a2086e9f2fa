#include "procmaps.h"

#include "../common/grow.h"
#include "../common/hd_error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

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
	char line[4096];
	size_t cap = 0;
	while (fgets(line, sizeof line, f)) {
		struct hd_mapping mp = {0};
		char perms[8] = "";
		unsigned maj, min;
		unsigned long long start, end, off, ino;
		int name_at = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off, &maj,
			   &min, &ino, &name_at) < 7)
			continue;
		mp.start = start;
		mp.end = end;
		mp.offset = off;
		mp.r = perms[0] == 'r';
		mp.w = perms[1] == 'w';
		mp.x = perms[2] == 'x';
		mp.dev = makedev(maj, min);
		mp.ino = (ino_t)ino;
		if (name_at > 0) {
			char *name = line + name_at;
			name[strcspn(name, "\n")] = '\0';
			const char *base = strrchr(name, '/');
			snprintf(mp.name, sizeof mp.name, "%s", base ? base + 1 : name);
		}
		if (hd_grow(&m->v, &cap, m->n, sizeof *m->v, 256) != 0) {
			fclose(f);
			maps_free(m);
			return -1;
		}
		m->v[m->n++] = mp;
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
