/* The conservative root scan of stacks and thread-local blocks (hprof/roots.h):
 * roots in the order first met, once per range, absolute or heap-base
 * relative; a hostile range of distinct roots costs O(1) a word; the caps. */
#include "../../hprof/roots.h"
#include "../../hprof/objindex.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define HEAP_BASE 0x7f0000000000ull
#define CHUNK (1ull << 20)
#define OBJ(i) (HEAP_BASE + CHUNK + 16 * (uint64_t)(i)) /* object starts */
#define STACK 0x7ffd00000000ull

static struct hd_census census;
static hd_memview *mv;

static void with_objects(size_t n)
{
	memset(&census, 0, sizeof census);
	cr_assert_eq(objindex_init(&census.starts, CHUNK), 0);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(objindex_add(&census.starts, OBJ(i)), 0);
	mv = mv_new_local();
	cr_assert_not_null(mv);
}

static void done(struct root_scan *rs)
{
	free(rs->v);
	mv_free(mv);
	objindex_free(&census.starts);
}

Test(roots, first_met_order_once_per_range)
{
	with_objects(8);
	static uint64_t stack[] = {OBJ(3), 12345, OBJ(1), OBJ(3), OBJ(5) - HEAP_BASE, OBJ(1) + 8,
				   0, OBJ(5), OBJ(1)};
	cr_assert_eq(mv_add_local(mv, STACK, stack, sizeof stack), 0);
	struct root_scan rs;
	root_scan_init(&rs, &census, HEAP_BASE, CHUNK);
	cr_assert_eq(root_scan_range(&rs, mv, STACK, STACK + sizeof stack, 7, 2), 0);
	uint64_t want[] = {OBJ(3), OBJ(1), OBJ(5)};
	cr_assert_eq(rs.n, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(rs.v[i].id, want[i], "root %zu", i);
		cr_assert_eq(rs.v[i].kind, 7);
		cr_assert_eq(rs.v[i].thread_serial, 2);
	}
	/* Another range (another thread) names the same objects again. */
	cr_assert_eq(root_scan_range(&rs, mv, STACK, STACK + 24, 8, 3), 0);
	cr_assert_eq(rs.n, 5);
	cr_assert_eq(rs.v[3].id, OBJ(3));
	cr_assert_eq(rs.v[4].id, OBJ(1));
	cr_assert_eq(rs.v[4].thread_serial, 3);
	done(&rs);
}

/* A stack of 2M words, each a different object: quadratic deduplication
 * would take hours; the timeout says it must not. */
Test(roots, a_hostile_stack_of_distinct_roots_is_linear, .timeout = 60)
{
	size_t n = 2u << 20;
	with_objects(n);
	uint64_t *stack = malloc(n * sizeof *stack);
	cr_assert_not_null(stack);
	for (size_t i = 0; i < n; i++)
		stack[i] = OBJ(i);
	cr_assert_eq(mv_add_local(mv, STACK, stack, n * sizeof *stack), 0);
	struct root_scan rs;
	root_scan_init(&rs, &census, HEAP_BASE, CHUNK);
	cr_assert_eq(root_scan_range(&rs, mv, STACK, STACK + n * sizeof *stack, 7, 1), 0);
	cr_assert_eq(rs.n, n);
	cr_assert_eq(rs.v[n - 1].id, OBJ(n - 1));
	done(&rs);
	free(stack);
}

Test(roots, ranges_over_a_cap_are_not_scanned)
{
	with_objects(4);
	static uint64_t stack[16] = {OBJ(0), OBJ(1), OBJ(2), OBJ(3)};
	cr_assert_eq(mv_add_local(mv, STACK, stack, sizeof stack), 0);
	struct root_scan rs;
	root_scan_init(&rs, &census, HEAP_BASE, CHUNK);
	cr_assert_eq(root_scan_range(&rs, mv, STACK, STACK + MAX_STACK_SCAN + 8, 7, 1), 0);
	cr_assert_eq(rs.n, 0, "a range over MAX_STACK_SCAN was scanned");
	/* The total: what is left of it decides. */
	rs.budget = 16;
	cr_assert_eq(root_scan_range(&rs, mv, STACK, STACK + 24, 7, 1), 0);
	cr_assert_eq(rs.n, 0, "a range over the remaining budget was scanned");
	cr_assert_eq(root_scan_range(&rs, mv, STACK, STACK + 16, 7, 1), 0);
	cr_assert_eq(rs.n, 2);
	cr_assert_eq(rs.budget, 0);
	cr_assert_eq(root_scan_range(&rs, mv, STACK + 16, STACK + 24, 7, 1), 0);
	cr_assert_eq(rs.n, 2, "scanned past the total");
	/* Unreadable and empty ranges add nothing. */
	rs.budget = MAX_ROOT_SCAN;
	cr_assert_eq(root_scan_range(&rs, mv, STACK + sizeof stack - 8, STACK + sizeof stack + 8, 7, 1), 0);
	cr_assert_eq(root_scan_range(&rs, mv, STACK + 8, STACK + 8, 7, 1), 0);
	cr_assert_eq(rs.n, 2);
	done(&rs);
}
