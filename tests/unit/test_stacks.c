/* A live isolate's thread stacks (lib/stacks.h) over a crafted stack and
 * the crafted code info of codecraft.h: the walk per thread, its counts,
 * and the roots: a decoded frame's reference-map slots (and only those)
 * tied to its frame of the trace, the words outside the decoded frames
 * scanned conservatively and tied to none, and a thread with nothing to
 * walk scanned whole as before. */
#include "codecraft.h"
#include "../../hprof/hprof.h"
#include "../../hprof/objindex.h"
#include "../../lib/stacks.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define HEAP_BASE 0x7f0000000000ull
#define CHUNK (1ull << 20)
#define OBJ(i) (HEAP_BASE + CHUNK + 16 * (uint64_t)(i))
#define STACK 0x7ffd00000000ull
#define W(off) stack[(off) / 8]

static struct hd_codeinfo ci;
static uint64_t stack[512];
static hd_memview *mv;
static struct hd_census census;

static void setup(void)
{
	craft_codeinfo(&ci);
	mv = craft_stack(stack, sizeof stack, STACK);
	memset(&census, 0, sizeof census);
	cr_assert_eq(objindex_init(&census.starts, CHUNK), 0);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(objindex_add(&census.starts, OBJ(i)), 0);
}

static void teardown(void)
{
	objindex_free(&census.starts);
	mv_free(mv);
	codeinfo_free(&ci);
}

TestSuite(stacks, .init = setup, .fini = teardown);

static const struct hd_root *find(const struct root_scan *rs, uint64_t id)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i].id == id)
			return &rs->v[i];
	return NULL;
}

/* Walks the one thread TASK (NULL: none matched) whose IsolateThread is at
 * 0x800 (status at +8, last anchor at +16), its stack [0x80, 0x800). */
static struct hd_ithread walk_one(struct hd_task *task, struct live_stacks *s)
{
	struct hd_ithread th = {.addr = STACK + 0x800, .task = task, .stack_lo = STACK + 0x80,
				.stack_hi = STACK + 0x800};
	struct hd_isolate iso = {.threads = &th, .nthreads = 1};
	struct hd_threadlocals tl = {.status = 8, .last_anchor = 16};
	struct hd_layout L = {.image_start = 0x10000000};
	struct hd_classes classes = {0};
	cr_assert_eq(stacks_walk(s, &ci, mv, &L, &classes, &tl, &iso), 0);
	cr_assert_eq(s->n, 1);
	return th;
}

Test(stacks, frame_roots_from_reference_maps)
{
	/* the thread runs Java code at A's call: A's frame [0x100, 0x120) holds
	 * compressed references in its map's slots 8 and 12, and an object's
	 * address the map does not name at 16; B's (empty map) one at 0x130 */
	W(0x108) = (OBJ(1) - HEAP_BASE) | (OBJ(2) - HEAP_BASE) << 32;
	W(0x110) = OBJ(3);
	W(0x118) = CRAFT_CALL_B;
	W(0x130) = OBJ(4);
	W(0x160) = OBJ(5); /* above the decoded frames */
	W(0x80) = OBJ(6);  /* below them: native frames */
	W(0x808) = 1;      /* status: Java */
	struct hd_task task = {.tid = 7, .rsp = STACK + 0x100, .rip = CRAFT_CALL_A, .have_regs = true};
	struct live_stacks s;
	struct hd_ithread th = walk_one(&task, &s);
	cr_assert_eq(s.total, 3);
	cr_assert_eq(s.decoded_threads, 1);
	cr_assert_eq(s.traces[0].n, 3);
	cr_assert_eq(s.traces[0].frames[2].line, 9);
	cr_assert_eq(s.api[0].tid, 7);
	cr_assert_eq(s.api[0].physical_frames, 2);
	cr_assert_str_eq(s.api[0].frames[0].method, "?"); /* no String there */

	struct root_scan rs;
	root_scan_init(&rs, &census, HEAP_BASE, CHUNK);
	cr_assert_eq(stacks_roots(&s, &ci, 0, &th, &rs, mv, 1), 0);
	const struct hd_root *r1 = find(&rs, OBJ(1)), *r2 = find(&rs, OBJ(2));
	cr_assert(r1 && r2);
	cr_assert_eq(r1->kind, HPROF_ROOT_JAVA_FRAME);
	cr_assert_eq(r1->frame, 1); /* frame 0 of the trace: B.b inlined into A */
	cr_assert_eq(r2->frame, 1);
	cr_assert_null(find(&rs, OBJ(3)), "a word the reference map does not name");
	cr_assert_null(find(&rs, OBJ(4)), "a frame whose map is empty");
	cr_assert(find(&rs, OBJ(5)) && find(&rs, OBJ(5))->frame == 0);
	cr_assert(find(&rs, OBJ(6)) && find(&rs, OBJ(6))->frame == 0);
	free(rs.v);
	stacks_free(&s);
}

Test(stacks, native_frames_between_entry_point_and_anchor_are_scanned)
{
	/* A then B (an entry point) at [0x100, 0x150); the walk goes on at the
	 * anchor's frame at 0x300: C frames lie in between, holding OBJ(7) */
	W(0x118) = CRAFT_CALL_B;
	W(0x400) = CRAFT_CALL_A, W(0x408) = STACK + 0x300, W(0x410) = 0;
	W(0x318) = 0x1234;
	W(0x200) = OBJ(7);
	W(0x808) = 1, W(0x810) = STACK + 0x400;
	struct hd_task task = {.tid = 7, .rsp = STACK + 0x100, .rip = CRAFT_CALL_A, .have_regs = true};
	struct live_stacks s;
	struct hd_ithread th = walk_one(&task, &s);
	cr_assert_eq(s.walks[0].nphys, 3);
	cr_assert_eq(s.walks[0].phys[2].sp, STACK + 0x300);
	struct root_scan rs;
	root_scan_init(&rs, &census, HEAP_BASE, CHUNK);
	cr_assert_eq(stacks_roots(&s, &ci, 0, &th, &rs, mv, 1), 0);
	const struct hd_root *r = find(&rs, OBJ(7));
	cr_assert_not_null(r, "a root in the native frames after the entry point");
	cr_assert_eq(r->frame, 0);
	free(rs.v);
	stacks_free(&s);
}

Test(stacks, nothing_to_walk_scans_the_whole_stack)
{
	W(0x110) = OBJ(3);
	W(0x808) = 3; /* native, no anchor */
	struct live_stacks s;
	struct hd_ithread th = walk_one(NULL, &s);
	cr_assert_eq(s.total, 0);
	cr_assert_eq(s.decoded_threads, 0);
	cr_assert_str_eq(s.api[0].end, "no Java frame to start at");
	struct root_scan rs;
	root_scan_init(&rs, &census, HEAP_BASE, CHUNK);
	cr_assert_eq(stacks_roots(&s, &ci, 0, &th, &rs, mv, 1), 0);
	cr_assert_eq(rs.n, 1);
	cr_assert_eq(rs.v[0].id, OBJ(3));
	cr_assert_eq(rs.v[0].frame, 0);
	free(rs.v);
	stacks_free(&s);
}
