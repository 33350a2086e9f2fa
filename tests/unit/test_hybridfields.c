/* The hybrid parts of a @Hybrid class (symbols/hybridfields.c): what the
 * fields without a location prove, checked against the instances, on a
 * crafted DynamicHub of 22.3's shape (length at 12, 13 type-id slots, the
 * first field at 42, 8-byte vtable entries from 216) and hostile variants. */
#include "../../symbols/hybridfields.h"
#include "../../symbols/layout.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* hybrid, primitive elements, base 216, shift 3: 22.3's Class hub */
#define HUB_ENC ((int32_t)0xc000d803u)

static const struct hybrid_class hub = {.len_off = 12, .enc = HUB_ENC, .first_loc = 42};
static const struct hybrid_field vtable = {"vtable", true, false, 3};
static const struct hybrid_field slots = {"typeCheckSlots", true, true, 1};

static int parts(const struct hybrid_class *c, struct hybrid_field a, struct hybrid_field b,
		 size_t n, struct hybrid_parts *p)
{
	struct hybrid_field f[2] = {a, b};
	return hybrid_parts_of(c, f, n, p);
}

/* P's storage names: N of them, the first FIRST, the last LAST. */
static void expect_names(const struct hybrid_parts *p, size_t n, const char *first,
			 const char *last)
{
	char **names;
	size_t got;
	cr_assert_eq(hybrid_names(p, &names, &got), 0);
	cr_assert_eq(got, n);
	cr_assert_str_eq(names[0], first);
	cr_assert_str_eq(names[n - 1], last);
	hybrid_names_free(names, got);
}

Test(hybridfields, a_hub_gives_length_and_slots)
{
	struct hybrid_parts p;
	cr_assert_eq(parts(&hub, slots, vtable, 2, &p), 0);
	cr_assert_str_eq(p.array, "vtable");
	cr_assert_str_eq(p.slots, "typeCheckSlots");
	cr_assert_eq(p.len_off, 12);
	cr_assert_eq(p.slots_off, 16);
	cr_assert_eq(p.nslots, 13);
	cr_assert_eq(p.base, 216);
	cr_assert_eq(p.shift, 3);
	expect_names(&p, 14, "vtable.length", "typeCheckSlots[12]");
}

Test(hybridfields, without_slots_field_only_the_length)
{
	struct hybrid_parts p;
	cr_assert_eq(parts(&hub, vtable, vtable, 1, &p), 0);
	cr_assert_null(p.slots);
	cr_assert_eq(p.nslots, 0);
	expect_names(&p, 1, "vtable.length", "vtable.length");
}

Test(hybridfields, slots_that_do_not_fit_the_gap_prove_nothing)
{
	struct hybrid_parts p;
	struct hybrid_class c = hub;
	c.first_loc = 43; /* an odd gap: no whole number of shorts */
	cr_assert_eq(parts(&c, slots, vtable, 2, &p), 1);
	c.first_loc = 16; /* no room for any slot */
	cr_assert_eq(parts(&c, slots, vtable, 2, &p), 1);
	c.first_loc = 14; /* a field over the length */
	cr_assert_eq(parts(&c, vtable, vtable, 1, &p), 1);
	c.first_loc = 16 + 2 * 5000; /* slots past the largest array base */
	c.enc = (int32_t)(0xc0000003u | (0xfffu << 8));
	cr_assert_eq(parts(&c, slots, vtable, 2, &p), 1);
	c = hub;
	c.first_loc = 0; /* no field: where the slots end is not known */
	cr_assert_eq(parts(&c, slots, vtable, 2, &p), 1);
	c = hub;
	c.first_loc = 224; /* a field in the array part */
	cr_assert_eq(parts(&c, vtable, vtable, 1, &p), 1);
}

Test(hybridfields, fields_the_layout_does_not_explain_prove_nothing)
{
	struct hybrid_parts p;
	struct hybrid_field word = {"typeIDDepth", false, false, 0};
	struct hybrid_field wide = {"vtable", true, false, 2};
	cr_assert_eq(parts(&hub, vtable, word, 2, &p), 1, "a field without a location that is no array");
	cr_assert_eq(parts(&hub, vtable, vtable, 2, &p), 1, "two array fields");
	cr_assert_eq(parts(&hub, slots, slots, 2, &p), 1, "two slot fields");
	cr_assert_eq(parts(&hub, slots, slots, 1, &p), 1, "no array field");
	cr_assert_eq(parts(&hub, wide, slots, 2, &p), 1, "elements of another size than the class's");
	struct hybrid_class c = hub;
	c.enc = 216; /* a plain instance class */
	cr_assert_eq(parts(&c, vtable, slots, 2, &p), 1);
	c.enc = (int32_t)0xe000d803u; /* a primitive array */
	cr_assert_eq(parts(&c, vtable, slots, 2, &p), 1);
}

static struct hybrid_obs obs[3] = {
	{.length = 20, .span = 216 + 20 * 8, .last_slot = 0},
	{.length = 5, .span = 216 + 5 * 8, .last_slot = 7},
	{.length = 0, .span = 0, .last_slot = 0}, /* the last of its chunk */
};

Test(hybridfields, instances_confirm_the_parts)
{
	struct hybrid_parts p;
	cr_assert_eq(parts(&hub, slots, vtable, 2, &p), 0);
	cr_assert(hybrid_parts_agree(&p, obs, 3));
	struct hybrid_obs hashed = {.length = 1, .span = 216 + 8 + 8}; /* + an appended hash */
	cr_assert(hybrid_parts_agree(&p, &hashed, 1) == false, "no slot used");
	hashed.last_slot = 1;
	cr_assert(hybrid_parts_agree(&p, &hashed, 1));
}

Test(hybridfields, a_length_that_lies_is_refused)
{
	struct hybrid_parts p;
	cr_assert_eq(parts(&hub, slots, vtable, 2, &p), 0);
	struct hybrid_obs o[3];
	memcpy(o, obs, sizeof o);
	o[0].length = 21; /* past the next object */
	cr_assert(!hybrid_parts_agree(&p, o, 3));
	o[0].length = 18; /* 16 bytes short of it */
	cr_assert(!hybrid_parts_agree(&p, o, 3));
	o[0].length = -1;
	cr_assert(!hybrid_parts_agree(&p, o, 3));
	cr_assert(!hybrid_parts_agree(&p, &obs[2], 1), "no instance whose end is known");
	cr_assert(!hybrid_parts_agree(&p, NULL, 0));
}

Test(hybridfields, slots_no_instance_uses_may_be_padding)
{
	struct hybrid_parts p;
	cr_assert_eq(parts(&hub, slots, vtable, 2, &p), 0);
	struct hybrid_obs o[3];
	memcpy(o, obs, sizeof o);
	o[1].last_slot = 0;
	cr_assert(!hybrid_parts_agree(&p, o, 3));
}
