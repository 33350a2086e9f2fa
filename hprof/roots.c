#include "roots.h"

#include "../common/grow.h"
#include "../common/hd_error.h"
#include "../common/interrupt.h"
#include "hprof.h"

#include <stdlib.h>

void root_scan_init(struct root_scan *rs, const struct hd_census *c, uint64_t heap_base,
		    uint64_t region_size)
{
	*rs = (struct root_scan){.c = c, .heap_base = heap_base, .region_size = region_size,
				 .budget = MAX_ROOT_SCAN};
}

int root_scan_add(struct root_scan *rs, struct hd_root r)
{
	if (hd_grow(&rs->v, &rs->cap, rs->n, sizeof *rs->v, 256) != 0)
		return -1;
	rs->v[rs->n++] = r;
	return 0;
}

/* SEEN, a bit per object start, keeps each range's roots unique in O(1) a
 * word whatever the target put there. */
/* The object a word of the target refers to, absolute or heap-base
 * relative, 0 if none. */
static uint64_t object_at(const struct root_scan *rs, uint64_t w)
{
	if (objindex_has(&rs->c->starts, w))
		return w;
	if (w && w < (1ull << 40) && objindex_has(&rs->c->starts, rs->heap_base + w))
		return rs->heap_base + w;
	return 0;
}

/* Roots like ROOT (its id set) for each object a word of [LO, HI) points to. */
static int scan_range(struct root_scan *rs, hd_memview *view, uint64_t lo, uint64_t hi,
		      struct hd_root root)
{
	if (!lo || hi <= lo || hi - lo > MAX_STACK_SCAN || hi - lo > rs->budget)
		return 0;
	rs->budget -= hi - lo;
	lo &= ~7ull;
	uint8_t *buf = malloc(hi - lo);
	struct hd_objindex seen;
	if (!buf || objindex_init(&seen, rs->region_size) != 0) {
		free(buf);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	int rc = 0;
	if (mv_try_read(view, lo, buf, hi - lo) == 0) {
		for (uint64_t off = 0; off + 8 <= hi - lo && rc == 0; off += 8) {
			if (off % (1u << 20) == 0 && hd_interrupted()) {
				rc = hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d",
					     hd_interrupted_signal());
				break;
			}
			uint64_t id = object_at(rs, ld_u64(buf + off));
			if (!id || objindex_has(&seen, id))
				continue;
			rc = objindex_add(&seen, id);
			root.id = id;
			if (rc == 0)
				rc = root_scan_add(rs, root);
		}
	}
	objindex_free(&seen);
	free(buf);
	return rc;
}


int root_scan_range(struct root_scan *rs, hd_memview *view, uint64_t lo, uint64_t hi,
		    uint8_t kind, uint32_t thread)
{
	return scan_range(rs, view, lo, hi, (struct hd_root){.kind = kind, .thread_serial = thread});
}

int root_scan_frame(struct root_scan *rs, hd_memview *view, uint64_t lo, uint64_t hi,
		    uint32_t thread, uint32_t frame)
{
	return scan_range(rs, view, lo, hi, (struct hd_root){.kind = HPROF_ROOT_JAVA_FRAME,
							     .thread_serial = thread,
							     .frame = frame + 1});
}

int root_scan_slot(struct root_scan *rs, hd_memview *view, uint64_t addr, unsigned size,
		   uint32_t thread, uint32_t frame)
{
	uint64_t w = 0;
	if (size > 8 || mv_try_read(view, addr, &w, size) != 0)
		return 0;
	uint64_t id = size < 8 ? (w ? rs->heap_base + w : 0) : object_at(rs, w);
	if (!id || !objindex_has(&rs->c->starts, id))
		return 0;
	return root_scan_add(rs, (struct hd_root){.kind = HPROF_ROOT_JAVA_FRAME, .id = id,
						  .thread_serial = thread, .frame = frame + 1});
}
