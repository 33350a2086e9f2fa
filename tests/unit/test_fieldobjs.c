/* What the field-object sources share (symbols/fieldobjs.c), on crafted
 * classes and rows: which types are primitive, where a field fits its
 * class (abstract classes through a subclass), how candidates become facts
 * (each place once, disagreements dropped), which slot holds the names. */
#include "../../symbols/fieldobjs.h"
#include "fieldcraft.h"

#include <criterion/criterion.h>
#include <string.h>

static struct fc_table k;
static struct fo_geom g;

Test(fieldobjs, primitive_classes_give_their_types)
{
	fc_table_init(&k);
	cr_assert_eq(classes_field_type(fc_class(&k, "int", HD_KIND_NONE, 0, -1, NULL, 0)), HD_T_INT);
	cr_assert_eq(classes_field_type(fc_class(&k, "boolean", HD_KIND_NONE, 0, -1, NULL, 0)),
		     HD_T_BOOLEAN);
	cr_assert_eq(classes_field_type(fc_class(&k, "double", HD_KIND_NONE, 0, -1, NULL, 0)), HD_T_DOUBLE);
	cr_assert_eq(classes_field_type(fc_class(&k, "void", HD_KIND_NONE, 0, -1, NULL, 0)), 0);
	cr_assert_eq(classes_field_type(fc_class(&k, "java.util.List", HD_KIND_NONE, 0, -1, NULL, 0)),
		     HD_T_OBJECT, "an interface is a reference type");
	/* Only a class without instances can be a primitive. */
	cr_assert_eq(classes_field_type(fc_class(&k, "int", HD_KIND_INSTANCE, 16, -1, NULL, 0)),
		     HD_T_OBJECT);
	cr_assert_eq(classes_field_type(NULL), 0);
}

static const unsigned foo_refs[] = {8, 16};

Test(fieldobjs, a_field_fits_inside_its_class_and_its_reference_map)
{
	fc_table_init(&k);
	const struct hd_class *foo = fc_class(&k, "Foo", HD_KIND_INSTANCE, 32, -1, foo_refs, 2);
	cr_assert_eq(fo_geom_init(&g, &k.t, 8, 8), 0);
	cr_assert(fo_instance_fits(foo, 8, HD_T_OBJECT, &g));
	cr_assert(fo_instance_fits(foo, 16, HD_T_OBJECT, &g));
	cr_assert(fo_instance_fits(foo, 24, HD_T_INT, &g));
	cr_assert(fo_instance_fits(foo, 28, HD_T_INT, &g));
	cr_assert(fo_instance_fits(foo, 24, HD_T_LONG, &g));
	cr_assert(fo_instance_fits(foo, 31, HD_T_BYTE, &g));
	cr_assert_not(fo_instance_fits(foo, 24, HD_T_OBJECT, &g), "no reference there");
	cr_assert_not(fo_instance_fits(foo, 16, HD_T_INT, &g), "a primitive over a reference");
	cr_assert_not(fo_instance_fits(foo, 20, HD_T_INT, &g), "inside a reference");
	cr_assert_not(fo_instance_fits(foo, 12, HD_T_OBJECT, &g), "misaligned");
	cr_assert_not(fo_instance_fits(foo, 26, HD_T_INT, &g), "misaligned");
	cr_assert_not(fo_instance_fits(foo, 4, HD_T_INT, &g), "in the header");
	cr_assert_not(fo_instance_fits(foo, 32, HD_T_INT, &g), "past the class");
	cr_assert_not(fo_instance_fits(foo, 28, HD_T_LONG, &g), "crosses the end");
	cr_assert_not(fo_instance_fits(foo, -8, HD_T_INT, &g));
	cr_assert_not(fo_instance_fits(foo, (1ll << 32) + 24, HD_T_INT, &g),
		      "a 64-bit location is not cut to 32 bits");
	cr_assert_not(fo_instance_fits(foo, 24, 0, &g), "no type");
	cr_assert_not(fo_instance_fits(NULL, 24, HD_T_INT, &g), "no class");
	fo_geom_free(&g);
}

Test(fieldobjs, an_abstract_class_is_checked_in_a_subclass)
{
	fc_table_init(&k);
	const struct hd_class *base = fc_class(&k, "Base", HD_KIND_NONE, 0, -1, NULL, 0);
	const struct hd_class *mid = fc_class(&k, "Mid", HD_KIND_NONE, 0, 0, NULL, 0);
	fc_class(&k, "Leaf", HD_KIND_INSTANCE, 32, 1, foo_refs, 2);
	const struct hd_class *lone = fc_class(&k, "Lone", HD_KIND_NONE, 0, -1, NULL, 0);
	cr_assert_eq(fo_geom_init(&g, &k.t, 8, 8), 0);
	cr_assert(fo_instance_fits(base, 8, HD_T_OBJECT, &g));
	cr_assert(fo_instance_fits(mid, 24, HD_T_INT, &g));
	cr_assert_not(fo_instance_fits(base, 24, HD_T_OBJECT, &g));
	cr_assert_not(fo_instance_fits(lone, 8, HD_T_OBJECT, &g), "no class shows its bytes");
	fo_geom_free(&g);
}

Test(fieldobjs, a_superclass_cycle_ends)
{
	fc_table_init(&k);
	fc_class(&k, "A", HD_KIND_INSTANCE, 32, 1, foo_refs, 2);
	const struct hd_class *b = fc_class(&k, "B", HD_KIND_NONE, 0, 2, NULL, 0);
	fc_class(&k, "C", HD_KIND_NONE, 0, 1, NULL, 0);
	fc_class(&k, "D", HD_KIND_NONE, 0, 77, NULL, 0);
	cr_assert_eq(fo_geom_init(&g, &k.t, 8, 8), 0);
	cr_assert(fo_instance_fits(b, 8, HD_T_OBJECT, &g));
	fo_geom_free(&g);
}

Test(fieldobjs, each_place_is_named_once_and_disagreements_are_dropped)
{
	fc_table_init(&k);
	const struct hd_class *foo = fc_class(&k, "Foo", HD_KIND_INSTANCE, 32, -1, foo_refs, 2);
	const struct hd_class *tint = fc_class(&k, "int", HD_KIND_NONE, 0, -1, NULL, 0);
	const struct hd_class *tobj = fc_class(&k, "java.lang.Object", HD_KIND_INSTANCE, 8, -1,
					       NULL, 0);
	cr_assert_eq(fo_geom_init(&g, &k.t, 8, 8), 0);
	const struct fo_cand c[] = {
		{foo, tobj, "a", 8, false},  {foo, tobj, "a", 8, false}, /* the same, twice */
		{foo, tobj, "b", 16, false}, {foo, tobj, "x", 16, false}, /* disagree */
		{foo, tint, "n", 24, false}, {foo, tint, "m", 20, false}, /* over a reference */
		{foo, tint, "s", 16, true},  {foo, tint, "t", 18, true},  /* static, misaligned */
		{foo, tint, NULL, 28, false}, {foo, tint, "", 28, false}, /* no name */
		{foo, tint, "k", 28, false}, {foo, tint, "k", 24, true},  /* one name, two places */
		{foo, tint, "a.b", 28, false}, {foo, tint, "x\033[2J", 28, false}, /* no field names */
	};
	struct hd_field_facts ff = {0};
	size_t added, skipped;
	cr_assert_eq(fo_emit(&ff, c, sizeof c / sizeof *c, HD_SRC_TRUFFLE, &g, &added, &skipped),
		     0);
	cr_assert_str_eq(fc_facts(&ff, foo), "a@8:2 n@24:10 static s@16:10");
	cr_assert_eq(added, 3);
	cr_assert_eq(skipped, 10,
		     "two disagreeing, two misplaced, two unnamed, two twice, two misnamed: %zu",
		     skipped);
	for (size_t i = 0; i < ff.n; i++)
		cr_assert_eq(ff.v[i].source, HD_SRC_TRUFFLE);
	ff_free(&ff);
	fo_geom_free(&g);
}

static const unsigned three_refs[] = {8, 16, 24};

Test(fieldobjs, the_name_slot_is_the_one_string_slot)
{
	struct fo_rows r;
	fc_rows(&r, 200, 40, three_refs, 3);
	for (size_t i = 0; i < r.n; i++)
		fc_ref(&r, i, 1, FO_STRING, NULL, "f");
	cr_assert_eq(fo_string_slot(&r), 1);
	fc_ref(&r, 7, 1, FO_OTHER, NULL, NULL);
	cr_assert_eq(fo_string_slot(&r), 1, "one odd object in 200 does not hide the slot");
	fc_ref(&r, 8, 1, FO_NULL, NULL, NULL);
	fc_ref(&r, 9, 1, FO_OTHER, NULL, NULL);
	cr_assert_eq(fo_string_slot(&r), -1, "3 in 200 do");
	for (size_t i = 0; i < r.n; i++) {
		fc_ref(&r, i, 1, FO_STRING, NULL, "f");
		fc_ref(&r, i, 2, FO_STRING, NULL, "g");
	}
	cr_assert_eq(fo_string_slot(&r), -1, "two String slots: which is the name?");
	fo_rows_free(&r);
}

static const unsigned six_refs[] = {8, 16, 24, 32, 40, 48};

Test(fieldobjs, a_layout_with_many_class_slots_is_not_searched)
{
	fc_table_init(&k);
	const struct hd_class *foo = fc_class(&k, "Foo", HD_KIND_INSTANCE, 32, -1, foo_refs, 2);
	cr_assert_eq(fo_geom_init(&g, &k.t, 8, 8), 0);
	struct fo_rows r;
	fc_rows(&r, 100, 64, six_refs, 6);
	for (size_t i = 0; i < r.n; i++) {
		fc_ref(&r, i, 0, FO_STRING, NULL, "f");
		for (size_t s = 1; s < 5; s++)
			fc_ref(&r, i, s, FO_HUB, foo, NULL);
		fc_u32(&r, i, 56, 8);
	}
	struct fo_assign a;
	enum fo_search_result res;
	cr_assert_eq(fo_search(&r, &g, 4, false, &a, &res), 0);
	cr_assert_eq(res, FO_AMBIGUOUS, "4 class slots: %d", res);
	cr_assert_eq(a.score.instance, 0, "no assignment was tried");
	fc_ref(&r, 0, 4, FO_OTHER, NULL, NULL);
	fc_ref(&r, 1, 4, FO_OTHER, NULL, NULL);
	cr_assert_eq(fo_search(&r, &g, 4, false, &a, &res), 0);
	cr_assert_eq(a.score.instance, 100, "3 class slots are searched");
	fo_rows_free(&r);
	fo_geom_free(&g);
}
