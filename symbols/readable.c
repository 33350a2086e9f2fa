#include "readable.h"

#include <stdlib.h>

int readable_init(struct hd_readable *r, const struct hd_maps *maps)
{
	r->maps = maps;
	r->run_end = calloc(maps->n + 1, sizeof *r->run_end);
	if (!r->run_end)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = maps->n; i-- > 0;)
		if (maps->v[i].r)
			r->run_end[i] = i + 1 < maps->n && r->run_end[i + 1] &&
						maps->v[i + 1].start == maps->v[i].end
					? r->run_end[i + 1]
					: maps->v[i].end;
	return 0;
}

void readable_fini(struct hd_readable *r)
{
	free(r->run_end);
	r->run_end = NULL;
}

uint64_t readable_end(const struct hd_readable *r, uint64_t addr)
{
	const struct hd_mapping *m = maps_find(r->maps, addr);
	return m ? r->run_end[m - r->maps->v] : 0;
}
