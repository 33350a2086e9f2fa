/* The fact store (symbols/fieldfacts.c): facts and name lists come back as
 * added, each name stored once. */
#include "../../symbols/fieldfacts.h"
#include "../../symbols/classes.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

Test(fieldfacts, facts_and_lists_come_back_as_added)
{
	struct hd_field_facts ff = {0};
	char name[32];
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(name, sizeof name, "f%u", i % 300);
		struct hd_field_fact f = {.hub = 0x1000 + 8 * (i % 7), .offset = 8 + i,
					  .type = HD_T_INT, .source = HD_SRC_SUBSTRATE};
		cr_assert_eq(ff_add(&ff, &f, name), 0);
	}
	cr_assert_eq(ff.n, 1000);
	cr_assert_eq(ff.names.n, 300, "each name once");
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(name, sizeof name, "f%u", i % 300);
		cr_assert_str_eq(ff_name(&ff, ff.v[i].name), name);
		cr_assert_eq(ff.v[i].offset, 8 + i);
		cr_assert_eq(ff.v[i].hub, 0x1000 + 8 * (i % 7));
	}
	static const char *const names[] = {"hash", "key", "value", "next"};
	cr_assert_eq(ff_add_list(&ff, 0x2000, names, 4), 0);
	cr_assert_eq(ff_add_list(&ff, 0x3000, names, 0), 0);
	const struct hd_name_list *l = ff_list_of(&ff, 0x2000);
	cr_assert_not_null(l);
	cr_assert_eq(l->n, 4);
	for (unsigned i = 0; i < 4; i++)
		cr_assert_str_eq(ff_name(&ff, ff.list_names[l->first + i]), names[i]);
	cr_assert_eq(ff_list_of(&ff, 0x3000)->n, 0);
	cr_assert_null(ff_list_of(&ff, 0x4000));
	cr_assert_str_eq(ff_source_name(HD_SRC_TRUFFLE), "truffle");
	ff_free(&ff);
	cr_assert_eq(ff.n, 0);
}

/* Lists by hub across the index's growth: a hub's first list is its list;
 * truncating forgets the later lists, for lookups too. */
Test(fieldfacts, lists_by_hub_and_truncation)
{
	struct hd_field_facts ff = {0};
	static const char *const a[] = {"a"}, *const b[] = {"b", "c"};
	for (uint64_t h = 0; h < 3000; h++)
		cr_assert_eq(ff_add_list(&ff, 0x10000 + 8 * h, a, 1), 0);
	cr_assert_eq(ff_add_list(&ff, 0x10000, b, 2), 0); /* a second list for hub 0 */
	for (uint64_t h = 0; h < 3000; h++) {
		const struct hd_name_list *l = ff_list_of(&ff, 0x10000 + 8 * h);
		cr_assert_not_null(l, "hub %llu", (unsigned long long)h);
		cr_assert_eq(l->hub, 0x10000 + 8 * h);
		cr_assert_eq(l->n, 1, "the first list of a hub is its list");
	}
	cr_assert_null(ff_list_of(&ff, 0x10004));
	struct hd_field_fact f = {.hub = 0x10000, .offset = 8, .type = HD_T_INT};
	cr_assert_eq(ff_add(&ff, &f, "x"), 0);
	cr_assert_eq(ff_add(&ff, &f, "y"), 0);
	ff_truncate(&ff, 1, 1000);
	cr_assert_eq(ff.n, 1);
	cr_assert_eq(ff.nlists, 1000);
	cr_assert_not_null(ff_list_of(&ff, 0x10000 + 8 * 999));
	cr_assert_null(ff_list_of(&ff, 0x10000 + 8 * 1000), "a forgotten list is not found");
	cr_assert_eq(ff_add_list(&ff, 0x10000 + 8 * 1000, b, 2), 0);
	cr_assert_eq(ff_list_of(&ff, 0x10000 + 8 * 1000)->n, 2);
	ff_free(&ff);
}

Test(fieldfacts, a_refined_list_wins_over_earlier_and_later_ones)
{
	struct hd_field_facts ff = {0};
	static const char *const a[] = {"a"}, *const b[] = {"b", "c"}, *const c[] = {"c", "d", "e"};
	cr_assert_eq(ff_add_list(&ff, 0x10000, a, 1), 0);
	cr_assert_eq(ff_add_refined_list(&ff, 0x10000, b, 2), 0);
	cr_assert_eq(ff_add_refined_list(&ff, 0x10000, c, 3), 0);
	/* enough other hubs that the index is rebuilt */
	for (uint64_t h = 1; h < 3000; h++)
		cr_assert_eq(ff_add_list(&ff, 0x10000 + 8 * h, a, 1), 0);
	cr_assert_eq(ff_add_list(&ff, 0x10000, a, 1), 0);
	const struct hd_name_list *l = ff_list_of(&ff, 0x10000);
	cr_assert_not_null(l);
	cr_assert_eq(l->n, 2, "the first refined list is the hub's list");
	cr_assert_str_eq(ff_name(&ff, ff.list_names[l->first]), "b");
	ff_truncate(&ff, 0, 1);
	cr_assert_eq(ff_list_of(&ff, 0x10000)->n, 1, "once the refined lists are forgotten, the first");
	ff_free(&ff);
}
