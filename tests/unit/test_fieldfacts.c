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
