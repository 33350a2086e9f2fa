/* The address map (symbols/addrmap.c): values kept across growth, updates
 * in place, absent keys, and the null address refused. */
#include "../../common/hd_error.h"
#include "../../symbols/addrmap.h"

#include <criterion/criterion.h>

/* Page-aligned addresses, as chunks are, and odd ones, as nothing is. */
static uint64_t key(unsigned i) { return 0x7f0000000000ull + (uint64_t)i * 4096 + (i % 3); }

Test(addrmap, values_survive_growth)
{
	struct addr_map m = {0};
	cr_assert_eq(addr_get(&m, key(1)), 0, "an empty map holds nothing");
	const unsigned n = 100000;
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(addr_put(&m, key(i), i + 1), 0);
	cr_assert_eq(m.n, n);
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(addr_get(&m, key(i)), i + 1, "key %u", i);
	cr_assert_eq(addr_get(&m, key(n)), 0);
	cr_assert_eq(addr_get(&m, key(0) + 8), 0);
	addr_map_free(&m);
	cr_assert_eq(m.cap, 0);
}

Test(addrmap, put_replaces)
{
	struct addr_map m = {0};
	cr_assert_eq(addr_put(&m, 0x1000, 1), 0);
	cr_assert_eq(addr_put(&m, 0x1000, UINT64_MAX), 0);
	cr_assert_eq(m.n, 1);
	cr_assert_eq(addr_get(&m, 0x1000), UINT64_MAX);
	hd_error_clear();
	cr_assert_eq(addr_put(&m, 0, 1), -1, "0 marks a free slot");
	cr_assert_eq(hd_error_class(), HD_E_INTERNAL);
	cr_assert_eq(m.n, 1);
	addr_map_free(&m);
}
