/* /proc/PID/maps, parsed: what is mapped where, with which rights and from
 * which file. */
#ifndef HD_PROCMAPS_H
#define HD_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hd_mapping {
	uint64_t start, end;
	uint64_t offset;
	bool r, w, x;
	dev_t dev;
	ino_t ino;
	char name[64]; /* "[stack]", a file's base name, or "" */
};

struct hd_maps {
	struct hd_mapping *v;
	size_t n;
};

/* Errors: HD_E_NOENT (no such process), HD_E_PERM. */
int maps_read(pid_t pid, struct hd_maps *m);
void maps_free(struct hd_maps *m);

/* The mapping containing ADDR, or NULL. */
const struct hd_mapping *maps_find(const struct hd_maps *m, uint64_t addr);

#endif
