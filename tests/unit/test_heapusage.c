/* hdump_heap_usage (lib/heapusage.c) on synthetic live processes
 * (synthlive.h) of the three layouts, read as a running process is: the
 * chunks the Space and HeapAllocation objects' lists lead to, counted once
 * each and only runtime chunks; a list whose header does not hold together
 * is read again and then refused; a target not discovered is refused. */
#include "../../include/hdump.h"
#include "../../lib/target.h"
#include "synthlive.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static int maps_of(void *ctx, pid_t pid, struct hd_maps *m)
{
	struct sl_live *t = ctx;
	cr_assert_eq(pid, t->target.pid);
	m->n = t->maps.n;
	m->v = malloc(m->n * sizeof *m->v);
	cr_assert_not_null(m->v);
	memcpy(m->v, t->maps.v, m->n * sizeof *m->v);
	return 0;
}

static int image_of(void *ctx, pid_t pid, struct hd_elfimage *img)
{
	struct sl_live *t = ctx;
	(void)pid;
	*img = t->img;
	img->heap = malloc(t->h.size);
	cr_assert_not_null(img->heap);
	memcpy(img->heap, t->h.data, t->h.size);
	return 0;
}

static hd_memview *memory_of(void *ctx, pid_t pid)
{
	struct sl_live *t = ctx;
	(void)pid;
	hd_memview *mv = mv_clone(t->proc);
	if (mv)
		mv_reads_may_tear(mv);
	return mv;
}

/* Reading heap usage never stops the process. */
static int no_stop(void *ctx, struct hd_target *t, pid_t pid)
{
	(void)ctx;
	(void)t;
	(void)pid;
	cr_assert_fail("hdump_heap_usage stopped the process");
	return -1;
}

static void no_release(void *ctx, struct hd_target *t)
{
	(void)ctx;
	(void)t;
}

static const struct hd_process_ops ops = {
	.read_maps = maps_of,
	.open_image = image_of,
	.open_memory = memory_of,
	.stop = no_stop,
	.release = no_release,
};

static hdump_target *open_discovered(struct sl_live *t, const struct sh_params *p)
{
	cr_assert_eq(sl_build(p, t), 0, "%s", p->name);
	hdump_target *h = target_open_process(&ops, t, t->target.pid);
	cr_assert_not_null(h, "%s", hdump_error().message);
	cr_assert_eq(hdump_discover(h), 0, "%s", hdump_error().message);
	return h;
}

static bool is_runtime_chunk(const struct sl_live *t, uint64_t c)
{
	for (size_t i = 0; i < t->nchunks; i++)
		if (t->chunks[i] == c)
			return true;
	return false;
}

static void check_preset(const struct sh_params *p)
{
	struct sl_live t;
	hdump_target *h = open_discovered(&t, p);
	struct hdump_heap_usage u;
	cr_assert_eq(hdump_heap_usage(h, &u), 0, "%s: %s", p->name, hdump_error().message);
	const struct hd_layout *L = &h->live.iso[0].L;
	/* The Spaces' lists hold at least the eden chain and an old-space
	 * chunk (aligned) and the far unaligned chunk; every chunk counted is
	 * a runtime chunk, so the total is bounded by theirs. */
	cr_assert_geq(u.aligned_chunks, 2, "%s", p->name);
	cr_assert_geq(u.unaligned_chunks, 1, "%s", p->name);
	cr_assert_leq(u.aligned_chunks + u.unaligned_chunks, t.nchunks, "%s", p->name);
	cr_assert_gt(u.used, u.aligned_chunks * L->chunk_size, "%s: unaligned bytes", p->name);
	cr_assert_eq(u.attempts, 1, "%s", p->name);
	cr_assert(is_runtime_chunk(&t, t.far_unaligned));
	/* Read again: the same (nothing ran). */
	struct hdump_heap_usage again;
	cr_assert_eq(hdump_heap_usage(h, &again), 0);
	cr_assert_eq(again.used, u.used);
	hdump_close(h);
	sl_free(&t);
}

Test(heapusage, ce_22_3) { check_preset(&sh_ce_22_3); }
Test(heapusage, oracle_21) { check_preset(&sh_oracle_21); }
Test(heapusage, ce_25) { check_preset(&sh_ce_25); }

Test(heapusage, a_list_that_never_holds_together_is_refused)
{
	struct sl_live t;
	hdump_target *h = open_discovered(&t, &sh_ce_25);
	struct hdump_heap_usage u;
	cr_assert_eq(hdump_heap_usage(h, &u), 0, "%s", hdump_error().message);
	/* A chunk in the middle of a list (another chunk's next) has its
	 * header overwritten (a chunk being freed as it is read) and left so:
	 * for a list of a Space, every attempt is torn and the read refused.
	 * (Lists that only a thread's TLAB leads to are not read at all.) */
	const struct hd_layout *L = &h->live.iso[0].L;
	unsigned refused = 0, linked = 0;
	for (size_t i = 0; i < t.nchunks; i++) {
		int64_t next;
		memcpy(&next, sl_ptr(&t, t.chunks[i] + L->ch_next), 8);
		if (!next)
			continue;
		linked++;
		uint8_t *hdr = sl_ptr(&t, t.chunks[i] + (uint64_t)next);
		uint8_t saved[8];
		memcpy(saved, hdr + L->ch_end, 8);
		memset(hdr + L->ch_end, 0x5a, 8);
		struct hdump_heap_usage v;
		if (hdump_heap_usage(h, &v) != 0) {
			cr_assert_eq(hdump_error().cls, HDUMP_E_INCONSISTENT, "%s", hdump_error().message);
			cr_assert_not_null(strstr(hdump_error().message, "changed under 5 reads"), "%s",
					   hdump_error().message);
			refused++;
		} else {
			cr_assert_eq(v.used, u.used, "a list no Space leads to was counted");
		}
		memcpy(hdr + L->ch_end, saved, 8);
	}
	cr_assert_gt(linked, 0, "no chain of two chunks");
	cr_assert_gt(refused, 0, "no torn Space list was refused");
	struct hdump_heap_usage after;
	cr_assert_eq(hdump_heap_usage(h, &after), 0, "whole again: %s", hdump_error().message);
	cr_assert_eq(after.used, u.used);
	hdump_close(h);
	sl_free(&t);
}

Test(heapusage, needs_a_discovered_process)
{
	struct sl_live t;
	cr_assert_eq(sl_build(&sh_ce_25, &t), 0);
	hdump_target *h = target_open_process(&ops, &t, t.target.pid);
	cr_assert_not_null(h);
	struct hdump_heap_usage u;
	cr_assert_eq(hdump_heap_usage(h, &u), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_USAGE);
	hdump_close(h);
	sl_free(&t);
}

Test(heapusage, max_source_names)
{
	cr_assert_str_eq(hdump_max_heap_source_name(HDUMP_MAX_HEAP_XMX), "-Xmx");
	cr_assert_str_eq(hdump_max_heap_source_name(HDUMP_MAX_HEAP_MAX_HEAP_SIZE), "-XX:MaxHeapSize");
	cr_assert_str_eq(hdump_max_heap_source_name(HDUMP_MAX_HEAP_DEFAULT_PHYSICAL), "default-physical");
	cr_assert_str_eq(hdump_max_heap_source_name(HDUMP_MAX_HEAP_DEFAULT_CGROUP), "default-cgroup");
	cr_assert_str_eq(hdump_max_heap_source_name(HDUMP_MAX_HEAP_UNKNOWN), "unknown");
}
