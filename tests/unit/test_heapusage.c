/* hdump_heap_usage (lib/heapusage.c) on synthetic live processes
 * (synthlive.h) of the three layouts, read as a running process is: the
 * chunks the Space and HeapAllocation objects' lists and the threads' TLAB
 * chains lead to, counted once each and only runtime chunks; a list whose
 * header does not hold together is read again and then refused; a thread
 * list or TLAB chain that loops is followed once; a target not discovered
 * is refused; the maximum heap is the one the isolate's collection policy
 * computed (its SizeParameters) where that holds together, with the rule
 * that gives it, else the rule's. */
#include "../../include/hdump.h"
#include "../../lib/target.h"
#include "synthlive.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The running threads, as the target's own op would give them: kernel ids
 * and pthread_t (fs_base), no other register. */
static int running_of(void *ctx, pid_t pid, struct hd_target *out)
{
	struct sl_live *t = ctx;
	cr_assert_eq(pid, t->target.pid);
	for (size_t i = 0; i < t->target.n && out->n < out->cap; i++)
		out->tasks[out->n++] = (struct hd_task){.tid = t->target.tasks[i].tid,
							 .fs_base = t->target.tasks[i].fs_base,
							 .have_regs = true};
	return 0;
}

static const struct hd_process_ops ops = {
	.read_maps = maps_of,
	.open_image = image_of,
	.open_memory = memory_of,
	.stop = no_stop,
	.release = no_release,
	.running_threads = running_of,
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
	/* Every runtime chunk is in a Space's list or a thread's TLAB chain
	 * (whole-chunk TLABs: a chain of two aligned chunks and an empty one;
	 * unaligned chains of one and two), each counted once. */
	cr_assert_eq(u.aligned_chunks + u.unaligned_chunks, t.nchunks, "%s", p->name);
	cr_assert_geq(u.unaligned_chunks, 4, "%s", p->name);
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
	 * for a list of a Space or a thread's TLAB chain, every attempt is
	 * torn and the read refused. */
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
		}
		memcpy(hdr + L->ch_end, saved, 8);
	}
	cr_assert_gt(linked, 0, "no chain of two chunks");
	cr_assert_eq(refused, linked, "a torn list was counted");
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
	cr_assert_str_eq(hdump_max_heap_source_name(HDUMP_MAX_HEAP_ISOLATE), "isolate");
	cr_assert_str_eq(hdump_max_heap_source_name(HDUMP_MAX_HEAP_IMAGE_OPTION), "image-option");
	cr_assert_str_eq(hdump_max_heap_source_name(HDUMP_MAX_HEAP_UNKNOWN), "unknown");
}

/* The whole-chunk TLAB chain of thread 0 (22.3 layout): its second chunk's
 * next link is pointed at TO. */
static void relink_tlab_chain(struct sl_live *t, const struct hd_layout *L, uint64_t to)
{
	int64_t next;
	memcpy(&next, sl_ptr(t, t->tlab_chunk + L->ch_next), 8);
	cr_assert_neq(next, 0, "thread 0's TLAB chain has one chunk");
	uint64_t second = t->tlab_chunk + (uint64_t)next;
	int64_t back = (int64_t)(to - second);
	memcpy(sl_ptr(t, second + L->ch_next), &back, 8);
}

Test(heapusage, a_cyclic_tlab_chain_is_counted_once)
{
	struct sl_live t;
	hdump_target *h = open_discovered(&t, &sh_ce_22_3);
	struct hdump_heap_usage u, v;
	cr_assert_eq(hdump_heap_usage(h, &u), 0, "%s", hdump_error().message);
	relink_tlab_chain(&t, &h->live.iso[0].L, t.tlab_chunk);
	cr_assert_eq(hdump_heap_usage(h, &v), 0, "%s", hdump_error().message);
	cr_assert_eq(v.used, u.used);
	cr_assert_eq(v.aligned_chunks, u.aligned_chunks);
	cr_assert_eq(v.attempts, 1);
	hdump_close(h);
	sl_free(&t);
}

Test(heapusage, a_tlab_chain_into_unmapped_memory_is_refused)
{
	struct sl_live t;
	hdump_target *h = open_discovered(&t, &sh_ce_22_3);
	const struct hd_layout *L = &h->live.iso[0].L;
	/* Chunk-aligned, below every runtime chunk and mapping of the layout. */
	uint64_t hole = (t.heap_base - 3 * (1ull << 30)) & ~(L->chunk_size - 1);
	relink_tlab_chain(&t, L, hole);
	struct hdump_heap_usage u;
	cr_assert_eq(hdump_heap_usage(h, &u), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_INCONSISTENT, "%s", hdump_error().message);
	hdump_close(h);
	sl_free(&t);
}

Test(heapusage, a_thread_list_that_loops_is_not_followed)
{
	struct sl_live t;
	hdump_target *h = open_discovered(&t, &sh_ce_22_3);
	const struct hd_threadlocals *tl = &h->live.tl;
	/* The last thread links back to the first: no list ends, so no head
	 * holds together and only the Spaces' lists count. */
	memcpy(sl_ptr(&t, t.threads[SL_THREADS - 1].addr + (unsigned)tl->next), &t.threads[0].addr, 8);
	struct hdump_heap_usage u;
	cr_assert_eq(hdump_heap_usage(h, &u), 0, "%s", hdump_error().message);
	cr_assert_lt(u.aligned_chunks + u.unaligned_chunks, t.nchunks);
	cr_assert_geq(u.aligned_chunks, 2);
	cr_assert_eq(u.unaligned_chunks, 1, "an unaligned chunk only a thread leads to was counted");
	hdump_close(h);
	sl_free(&t);
}

Test(heapusage, a_thread_leaving_the_list_takes_its_chains_along)
{
	struct sl_live t;
	hdump_target *h = open_discovered(&t, &sh_ce_22_3);
	struct hdump_heap_usage u, v;
	cr_assert_eq(hdump_heap_usage(h, &u), 0, "%s", hdump_error().message);
	/* Thread 0 detaches after the head was found: the head word (read
	 * where it was found) now names thread 1, and thread 0's TLAB chain
	 * of two aligned chunks and its unaligned chunk are no longer its. */
	memcpy(sl_ptr(&t, t.h.thread_head), &t.threads[1].addr, 8);
	cr_assert_eq(hdump_heap_usage(h, &v), 0, "%s", hdump_error().message);
	cr_assert_eq(v.aligned_chunks, u.aligned_chunks - 2);
	cr_assert_eq(v.unaligned_chunks, u.unaligned_chunks - 1);
	hdump_close(h);
	sl_free(&t);
}

#define POLICY "com.oracle.svm.core.genscavenge.AdaptiveCollectionPolicy"
#define SIZES "com.oracle.svm.core.genscavenge.AbstractCollectionPolicy$SizeParameters"

static const char *const size_fields[] = {"maxHeapSize", "maxYoungSize", "initialHeapSize",
					  "initialEdenSize", "initialSurvivorSize", "minHeapSize"};

/* The synthetic isolate's SizeParameters words set to V (6 of them). */
static void set_sizes(struct sl_live *t, const uint64_t v[6])
{
	uint64_t obj = sh_nth(&t->h, SIZES, 0)->addr;
	for (size_t i = 0; i < 6; i++)
		memcpy(sl_ptr(t, obj + sh_field(&t->h, SIZES, size_fields[i])), &v[i], 8);
}

/* The policy's sizes reference pointed at TO. */
static void point_sizes_at(struct sl_live *t, uint64_t to)
{
	uint64_t at = sh_nth(&t->h, POLICY, 0)->addr + sh_field(&t->h, POLICY, "sizes");
	uint64_t ref = sh_encode_ref(&t->h, to);
	memcpy(sl_ptr(t, at), &ref, t->h.p.ref_size);
}

/* A discovered synthetic target whose /proc files (command line, memory,
 * cgroup) are this test process's: the default rule is computed from them. */
static hdump_target *open_as_self(struct sl_live *t, const struct sh_params *p)
{
	hdump_target *h = open_discovered(t, p);
	t->target.pid = getpid();
	h->live.pid = getpid();
	return h;
}

/* GraalVM's default for this process: 80 % of the physical memory or of
 * the memory cgroup's lower limit, and which of the two. */
static uint64_t default_rule(enum hdump_max_heap_source *which)
{
	struct hdump_memory_usage m;
	cr_assert_eq(hdump_memory_usage(getpid(), &m), 0, "%s", hdump_error().message);
	*which = HDUMP_MAX_HEAP_DEFAULT_PHYSICAL;
	uint64_t physical = (uint64_t)m.mem_total;
	if (m.cgroup_limit > 0 && (uint64_t)m.cgroup_limit < physical) {
		physical = (uint64_t)m.cgroup_limit;
		*which = HDUMP_MAX_HEAP_DEFAULT_CGROUP;
	}
	return physical / 100 * 80;
}

static void check_isolate_max(const struct sh_params *p)
{
	struct sl_live t;
	hdump_target *h = open_as_self(&t, p);
	uint64_t chunk = h->live.iso[0].L.chunk_size;
	enum hdump_max_heap_source rule;
	uint64_t def = default_rule(&rule);
	/* The policy's sizes as computed from the default rule: the maximum
	 * aligned down to a chunk. */
	uint64_t max = def - def % chunk;
	uint64_t v[6] = {max, max / 3 - max / 3 % chunk, 128 * chunk, 48 * chunk, 8 * chunk, 16 * chunk};
	set_sizes(&t, v);
	struct hdump_heap_usage u;
	cr_assert_eq(hdump_heap_usage(h, &u), 0, "%s: %s", p->name, hdump_error().message);
	cr_assert_eq(u.max, max, "%s: max %llu", p->name, (unsigned long long)u.max);
	cr_assert_eq(u.max_source, HDUMP_MAX_HEAP_ISOLATE, "%s", p->name);
	cr_assert_eq(u.max_rule, rule, "%s: rule %s", p->name, hdump_max_heap_source_name(u.max_rule));
	/* A maximum no rule gives (built into the image): reported as the
	 * isolate's, with the image's options as its rule. */
	v[0] = max + 4 * chunk;
	set_sizes(&t, v);
	cr_assert_eq(hdump_heap_usage(h, &u), 0, "%s: %s", p->name, hdump_error().message);
	cr_assert_eq(u.max, max + 4 * chunk, "%s", p->name);
	cr_assert_eq(u.max_source, HDUMP_MAX_HEAP_ISOLATE);
	cr_assert_eq(u.max_rule, HDUMP_MAX_HEAP_IMAGE_OPTION);
	hdump_close(h);
	sl_free(&t);
}

Test(heapusage, isolate_max_ce_22_3) { check_isolate_max(&sh_ce_22_3); }
Test(heapusage, isolate_max_oracle_21) { check_isolate_max(&sh_oracle_21); }
Test(heapusage, isolate_max_ce_25) { check_isolate_max(&sh_ce_25); }

/* Sizes that do not hold together, or no SizeParameters where the policy
 * points: the rule's maximum, unaligned, with the rule as its source. */
Test(heapusage, a_max_that_does_not_hold_together_is_not_the_isolates)
{
	struct sl_live t;
	hdump_target *h = open_as_self(&t, &sh_ce_25);
	uint64_t chunk = h->live.iso[0].L.chunk_size;
	enum hdump_max_heap_source rule;
	uint64_t def = default_rule(&rule);
	const uint64_t good[6] = {1024 * chunk, 340 * chunk, 128 * chunk, 48 * chunk, 8 * chunk, 16 * chunk};
	struct {
		const char *why;
		uint64_t v[6];
	} bad[] = {
		{"all zero (not computed yet)", {0}},
		{"a word off the chunk size", {1024 * chunk, 340 * chunk + 8, 128 * chunk, 48 * chunk, 8 * chunk, 16 * chunk}},
		{"no single largest", {1024 * chunk, 1024 * chunk, 128 * chunk, 48 * chunk, 8 * chunk, 16 * chunk}},
		{"beyond the address space", {1ull << 50, 340 * chunk, 128 * chunk, 48 * chunk, 8 * chunk, 16 * chunk}},
	};
	struct hdump_heap_usage u;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		set_sizes(&t, bad[i].v);
		cr_assert_eq(hdump_heap_usage(h, &u), 0, "%s: %s", bad[i].why, hdump_error().message);
		cr_assert_eq(u.max_source, rule, "%s: source %s", bad[i].why,
			     hdump_max_heap_source_name(u.max_source));
		cr_assert_eq(u.max, def, "%s", bad[i].why);
		cr_assert_eq(u.max_rule, rule, "%s", bad[i].why);
	}
	/* Good sizes, but the policy's reference leads to another object (a
	 * String), or to nothing. */
	set_sizes(&t, good);
	point_sizes_at(&t, sh_nth(&t.h, "java.lang.String", 0)->addr);
	cr_assert_eq(hdump_heap_usage(h, &u), 0, "%s", hdump_error().message);
	cr_assert_eq(u.max_source, rule, "a String taken for the sizes");
	cr_assert_eq(u.max, def);
	point_sizes_at(&t, 0);
	cr_assert_eq(hdump_heap_usage(h, &u), 0, "%s", hdump_error().message);
	cr_assert_eq(u.max_source, rule);
	hdump_close(h);
	sl_free(&t);
}

/* Once read, the isolate's maximum stays the source when a later read
 * does not hold together (the sizes moved by a collection under it), and
 * follows the policy when it changes. */
Test(heapusage, the_isolates_max_survives_a_torn_read)
{
	struct sl_live t;
	hdump_target *h = open_as_self(&t, &sh_oracle_21);
	uint64_t chunk = h->live.iso[0].L.chunk_size;
	uint64_t v[6] = {1024 * chunk, 340 * chunk, 128 * chunk, 48 * chunk, 8 * chunk, 16 * chunk};
	set_sizes(&t, v);
	struct hdump_heap_usage u;
	cr_assert_eq(hdump_heap_usage(h, &u), 0, "%s", hdump_error().message);
	cr_assert_eq(u.max, 1024 * chunk);
	uint64_t sizes = sh_nth(&t.h, SIZES, 0)->addr;
	point_sizes_at(&t, sh_nth(&t.h, "java.lang.String", 0)->addr);
	cr_assert_eq(hdump_heap_usage(h, &u), 0, "%s", hdump_error().message);
	cr_assert_eq(u.max_source, HDUMP_MAX_HEAP_ISOLATE);
	cr_assert_eq(u.max, 1024 * chunk);
	point_sizes_at(&t, sizes);
	v[0] = 2048 * chunk;
	set_sizes(&t, v);
	cr_assert_eq(hdump_heap_usage(h, &u), 0, "%s", hdump_error().message);
	cr_assert_eq(u.max, 2048 * chunk, "the policy's new maximum");
	hdump_close(h);
	sl_free(&t);
}
