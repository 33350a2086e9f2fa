/* /proc/PID/maps, parsed: what is mapped where, with which rights and from
 * which file. */
#ifndef HD_PROCMAPS_H
#define HD_PROCMAPS_H

#include "../common/hd_error.h"

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
	char name[64]; /* "[stack]", a file's base name (cut to fit), or "" */
};

struct hd_maps {
	struct hd_mapping *v; /* ascending, not overlapping */
	size_t n;
};

/* Errors: HD_E_NOENT (no such process, or no mapping), HD_E_PERM,
 * HD_E_INTERNAL (memory). */
HD_MUST_CHECK int maps_read(pid_t pid, struct hd_maps *m);

/* Parses LEN bytes of TEXT in the format of /proc/PID/maps.  Lines that do
 * not parse, and mappings that are empty or not above the previous one,
 * are skipped.  Returns 0 (M may hold no mapping), or -1 (HD_E_INTERNAL:
 * memory). */
HD_MUST_CHECK int maps_parse(const char *text, size_t len, struct hd_maps *m);

void maps_free(struct hd_maps *m);

/* The mapping containing ADDR, or NULL. */
const struct hd_mapping *maps_find(const struct hd_maps *m, uint64_t addr);

#endif
