/* The stack walk (symbols/stackwalk.h) over crafted stacks in a local
 * memory view, with the crafted code info of codecraft.h: frames by frame
 * size and return address, an entry point continued at the anchor before
 * it, both anchor forms (three words; five with magic words around them),
 * a thread running Java code started from its registers, and walks that
 * must stop: frames leaving the stack, unknown code, a garbage anchor. */
#include "codecraft.h"
#include "../../symbols/stackwalk.h"

#include <criterion/criterion.h>
#include <string.h>

#define STACK 0x7ffd00000000ull
#define WORDS 512
#define W(off) stack[(off) / 8]

static struct hd_codeinfo ci;
static uint64_t stack[WORDS];
static hd_memview *mv;

static void setup(void)
{
	craft_codeinfo(&ci);
	mv = craft_stack(stack, sizeof stack, STACK);
}

static void teardown(void)
{
	mv_free(mv);
	codeinfo_free(&ci);
}

TestSuite(stackwalk, .init = setup, .fini = teardown);

static struct hd_walk_start at(uint64_t sp, uint64_t ip, uint64_t anchor)
{
	return (struct hd_walk_start){sp, ip, anchor, STACK, STACK + sizeof stack};
}

Test(stackwalk, frames_by_size_then_the_entry_point)
{
	/* A's frame [0x100, 0x120): return address into B at its top word */
	W(0x118) = CRAFT_CALL_B;
	struct hd_stack s;
	struct hd_walk_start st = at(STACK + 0x100, CRAFT_CALL_A, 0);
	cr_assert_eq(stackwalk(&ci, mv, &st, &s), 0);
	cr_assert_eq(s.nphys, 2);
	cr_assert_eq(s.phys[0].sp, STACK + 0x100);
	cr_assert_eq(s.phys[0].size, 32);
	cr_assert_eq(s.phys[0].njava, 2);
	cr_assert_eq(s.phys[1].sp, STACK + 0x120);
	cr_assert_eq(s.phys[1].first_java, 2);
	cr_assert_eq(s.njava, 3);
	cr_assert_eq(s.java[0].class_off, 0x200); /* B.b inlined into A.a */
	cr_assert_eq(s.java[2].line, 9);
	cr_assert_eq(s.walked_hi, STACK + 0x150);
	cr_assert_str_eq(s.end, "entry point");
	stack_free(&s);
}

Test(stackwalk, entry_point_continues_at_the_anchor_before)
{
	W(0x118) = CRAFT_CALL_B;
	/* the anchor at 0x400: ip, sp, previous (none) */
	W(0x400) = CRAFT_CALL_A, W(0x408) = STACK + 0x300, W(0x410) = 0;
	W(0x318) = 0x1234; /* A's caller there: native code */
	struct hd_stack s;
	struct hd_walk_start st = at(STACK + 0x100, CRAFT_CALL_A, STACK + 0x400);
	cr_assert_eq(stackwalk(&ci, mv, &st, &s), 0);
	cr_assert_eq(s.nphys, 3);
	cr_assert_eq(s.phys[2].sp, STACK + 0x300);
	cr_assert_eq(s.njava, 5);
	cr_assert_str_eq(s.end, "native code");
	stack_free(&s);
}

static struct hd_threadlocals tls(void)
{
	return (struct hd_threadlocals){.last_anchor = 16, .status = 8};
}

Test(stackwalk, start_at_a_five_word_anchor)
{
	/* IsolateThread at 0x800: status 3 (native), lastAnchor 0x400, whose
	 * magic words are garbage (one even looks like code) */
	W(0x808) = 3, W(0x810) = STACK + 0x400;
	W(0x400) = CRAFT_CODE + 8, W(0x408) = CRAFT_CALL_A, W(0x410) = STACK + 0x300,
	W(0x418) = 0, W(0x420) = 0x77;
	struct hd_threadlocals tl = tls();
	struct hd_ithread th = {.addr = STACK + 0x800, .stack_lo = STACK + 0x80,
				.stack_hi = STACK + sizeof stack};
	struct hd_walk_start st;
	cr_assert(stackwalk_start(&ci, mv, &tl, &th, &st));
	cr_assert_eq(st.sp, STACK + 0x300);
	cr_assert_eq(st.ip, CRAFT_CALL_A);
	cr_assert_eq(st.anchor, 0);
}

Test(stackwalk, start_from_registers_in_java_code)
{
	W(0x808) = 1; /* running Java code: its registers, not a stale anchor */
	W(0x810) = STACK + 0x400;
	struct hd_task task = {.rsp = STACK + 0x100, .rip = CRAFT_CODE + 0x55, .have_regs = true};
	struct hd_threadlocals tl = tls();
	struct hd_ithread th = {.addr = STACK + 0x800, .task = &task, .stack_lo = STACK + 0x100,
				.stack_hi = STACK + sizeof stack};
	struct hd_walk_start st;
	cr_assert(stackwalk_start(&ci, mv, &tl, &th, &st));
	cr_assert_eq(st.sp, STACK + 0x100);
	cr_assert_eq(st.ip, CRAFT_CODE + 0x55);
	task.rip = 0x1234; /* in native code with no anchor: nothing to walk */
	W(0x810) = 0;
	cr_assert_not(stackwalk_start(&ci, mv, &tl, &th, &st));
}

Test(stackwalk, garbage_anchor_starts_nothing)
{
	W(0x808) = 3, W(0x810) = STACK + 0x400;
	W(0x400) = CRAFT_CALL_A, W(0x408) = CRAFT_CALL_B, W(0x410) = 7, W(0x418) = 9;
	struct hd_threadlocals tl = tls();
	struct hd_ithread th = {.addr = STACK + 0x800, .stack_lo = STACK,
				.stack_hi = STACK + sizeof stack};
	struct hd_walk_start st;
	cr_assert_not(stackwalk_start(&ci, mv, &tl, &th, &st));
	W(0x810) = STACK + sizeof stack + 64; /* an anchor off the stack */
	cr_assert_not(stackwalk_start(&ci, mv, &tl, &th, &st));
}

Test(stackwalk, frame_leaving_the_stack_ends_the_walk)
{
	struct hd_stack s;
	/* A's 32-byte frame would end past the stack's top */
	struct hd_walk_start st = at(STACK + sizeof stack - 16, CRAFT_CALL_A, 0);
	cr_assert_eq(stackwalk(&ci, mv, &st, &s), 0);
	cr_assert_eq(s.nphys, 1);
	cr_assert_str_eq(s.end, "frame leaves the stack");
	cr_assert_leq(s.walked_hi, STACK + sizeof stack);
	stack_free(&s);
	st = at(STACK + 0x100, 0x1234, 0);
	cr_assert_eq(stackwalk(&ci, mv, &st, &s), 0);
	cr_assert_eq(s.nphys, 0);
	cr_assert_str_eq(s.end, "native code");
	stack_free(&s);
}

Test(stackwalk, return_addresses_looping_back_are_bounded)
{
	/* every frame's return address is A's call again: the walk still only
	 * climbs the stack, and stops at its top */
	for (size_t i = 0; i < WORDS; i++)
		stack[i] = CRAFT_CALL_A;
	struct hd_stack s;
	struct hd_walk_start st = at(STACK, CRAFT_CALL_A, 0);
	cr_assert_eq(stackwalk(&ci, mv, &st, &s), 0);
	cr_assert_eq(s.nphys, sizeof stack / 32);
	stack_free(&s);
}
