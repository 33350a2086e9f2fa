/* Runs of readable mappings (symbols/readable.c) over crafted maps. */
#include "../../symbols/readable.h"

#include <criterion/criterion.h>

Test(readable, runs_of_adjacent_readable_mappings)
{
	struct hd_mapping v[] = {
		{.start = 0x1000, .end = 0x3000, .r = true},
		{.start = 0x3000, .end = 0x4000, .r = true},  /* adjacent: one run */
		{.start = 0x4000, .end = 0x5000, .r = false}, /* unreadable ends it */
		{.start = 0x5000, .end = 0x6000, .r = true},
		{.start = 0x7000, .end = 0x8000, .r = true},  /* a hole before it */
	};
	struct hd_maps maps = {v, sizeof v / sizeof v[0]};
	struct hd_readable r;
	cr_assert_eq(readable_init(&r, &maps), 0);
	cr_assert_eq(readable_end(&r, 0x1000), 0x4000);
	cr_assert_eq(readable_end(&r, 0x2fff), 0x4000);
	cr_assert_eq(readable_end(&r, 0x3800), 0x4000);
	cr_assert_eq(readable_end(&r, 0x4800), 0, "unreadable");
	cr_assert_eq(readable_end(&r, 0x5000), 0x6000, "a run starts after unreadable memory");
	cr_assert_eq(readable_end(&r, 0x6800), 0, "unmapped");
	cr_assert_eq(readable_end(&r, 0x7000), 0x8000, "a hole ends a run");
	cr_assert_eq(readable_end(&r, 0x8000), 0);
	readable_fini(&r);
}
