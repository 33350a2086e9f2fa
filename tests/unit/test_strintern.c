/* The string set (common/strintern.c): each string stored once, numbered in
 * the order first added, across the growth of its index. */
#include "../../common/strintern.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

Test(strintern, each_string_once_numbered_in_order)
{
	struct hd_strintern s = {0};
	char name[32];
	uint32_t idx;
	/* Enough strings to grow the index several times, each added twice. */
	for (unsigned round = 0; round < 2; round++)
		for (unsigned i = 0; i < 5000; i++) {
			snprintf(name, sizeof name, "field%u", i);
			cr_assert_eq(strintern_add(&s, name, &idx), 0);
			cr_assert_eq(idx, i, "%s numbered %u", name, idx);
		}
	cr_assert_eq(s.n, 5000);
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(name, sizeof name, "field%u", i);
		cr_assert_str_eq(s.v[i], name);
	}
	/* The empty string is a string like any other. */
	cr_assert_eq(strintern_add(&s, "", &idx), 0);
	cr_assert_eq(idx, 5000);
	cr_assert_eq(strintern_add(&s, "", &idx), 0);
	cr_assert_eq(idx, 5000);
	strintern_free(&s);
	cr_assert_eq(s.n, 0);
	cr_assert_null(s.v);
}

/* The set copies what it is given: the caller's buffer may change. */
Test(strintern, strings_are_copied)
{
	struct hd_strintern s = {0};
	char buf[] = "value";
	uint32_t a, b;
	cr_assert_eq(strintern_add(&s, buf, &a), 0);
	buf[0] = 'V';
	cr_assert_eq(strintern_add(&s, buf, &b), 0);
	cr_assert_neq(a, b);
	cr_assert_str_eq(s.v[a], "value");
	cr_assert_str_eq(s.v[b], "Value");
	strintern_free(&s);
}
