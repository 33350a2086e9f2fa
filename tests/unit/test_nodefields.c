/* The NodeFieldData decoder (symbols/nodefields.c) on crafted records laid
 * out as a 25 image has them, its slots unknown to it: each node class
 * lists its inherited fields too, yet every fact belongs to the class
 * that declares the field; hostile records are skipped one by one. */
#include "../../symbols/nodefields.h"
#include "fieldcraft.h"

#include <criterion/criterion.h>
#include <string.h>

/* kind +8, type +16, name +24, declaring class +32; long offset +40,
 * cloneable flag +48. */
static const unsigned record_refs[] = {8, 16, 24, 32};
enum { REF_KIND, REF_TYPE, REF_NAME, REF_DECL };
#define OFF_OFFSET 40
#define ROW_SIZE 56

static struct fc_table k;
static struct fc_run x;
static const struct hd_class *t_int, *t_obj, *node, *expr, *leaf;

static const unsigned expr_refs[] = {8, 16}, leaf_refs[] = {8, 16, 32};

static void classes(void)
{
	fc_table_init(&k);
	t_int = fc_class(&k, "int", HD_KIND_NONE, 0, -1, NULL, 0);
	t_obj = fc_class(&k, "java.lang.Object", HD_KIND_INSTANCE, 8, -1, NULL, 0);
	node = fc_class(&k, "Node", HD_KIND_NONE, 0, 1, NULL, 0);
	expr = fc_class(&k, "ExprNode", HD_KIND_INSTANCE, 32, 2, expr_refs, 2);
	leaf = fc_class(&k, "LeafNode", HD_KIND_INSTANCE, 40, 3, leaf_refs, 3);
	cr_assert_eq(fo_geom_init(&x.g, &k.t, 8, 8), 0);
}

struct field {
	const struct hd_class **decl, **type;
	const char *name;
	uint64_t offset;
};
/* ExprNode's record list, then LeafNode's: inherited fields repeat. */
static const struct field records[] = {
	{&node, &t_obj, "parent", 8},   {&expr, &t_obj, "source", 16},
	{&expr, &t_int, "state", 24},   {&node, &t_obj, "parent", 8},
	{&expr, &t_obj, "source", 16},  {&expr, &t_int, "state", 24},
	{&leaf, &t_obj, "child", 32},
};
#define NRECORDS (sizeof records / sizeof *records)

/* The classes, and N records cycling through RECORDS, in x.r. */
static void record_rows(size_t n)
{
	struct fo_rows *r = &x.r;
	classes();
	fc_rows(r, n, ROW_SIZE, record_refs, 4);
	for (size_t i = 0; i < n; i++) {
		const struct field *f = &records[i % NRECORDS];
		fc_ref(r, i, REF_KIND, FO_OTHER, NULL, NULL);
		fc_ref(r, i, REF_TYPE, FO_HUB, *f->type, NULL);
		fc_ref(r, i, REF_NAME, FO_STRING, NULL, f->name);
		fc_ref(r, i, REF_DECL, FO_HUB, *f->decl, NULL);
		fc_u64(r, i, OFF_OFFSET, f->offset);
		fc_u32(r, i, 48, i % 2);
	}
}

/* Every field named where it belongs; SKIPPED objects left out. */
static void expect_all(size_t skipped)
{
	fc_expect_found(&x, HD_SRC_TRUFFLE, skipped);
	cr_assert_str_eq(fc_facts(&x.ff, node), "parent@8:2", "the abstract class declares it");
	cr_assert_str_eq(fc_facts(&x.ff, expr), "source@16:2 state@24:10");
	cr_assert_str_eq(fc_facts(&x.ff, leaf), "child@32:2", "inherited fields stay with their class");
	for (size_t i = 0; i < x.ff.n; i++)
		cr_assert_not(x.ff.v[i].is_static);
}

Test(nodefields, every_field_once_under_its_declaring_class)
{
	record_rows(140);
	fc_decode(&x, nodefields_decode);
	fc_expect_slots(&x, 24, 32, 16, OFF_OFFSET, -1);
	expect_all(0);
	cr_assert_eq(x.res.added, 4);
	fc_done(&x);
}

Test(nodefields, hostile_records_are_skipped_one_by_one)
{
	record_rows(140);
	/* An offset whose low 32 bits fit, a declaring class that is no
	 * class, a name that is no String, a negative offset. */
	fc_ref(&x.r, 2, REF_NAME, FO_STRING, NULL, "evil");
	fc_u64(&x.r, 2, OFF_OFFSET, (1ull << 32) | 24);
	fc_ref(&x.r, 9, REF_NAME, FO_STRING, NULL, "evil");
	fc_ref(&x.r, 9, REF_DECL, FO_OTHER, NULL, NULL);
	fc_ref(&x.r, 16, REF_NAME, FO_OTHER, NULL, NULL);
	fc_ref(&x.r, 23, REF_NAME, FO_STRING, NULL, "evil");
	fc_u64(&x.r, 23, OFF_OFFSET, (uint64_t)-8);
	fc_decode_check(&x, nodefields_decode, expect_all, 4);
}

Test(nodefields, a_record_naming_another_class_field_is_not_believed)
{
	record_rows(140);
	/* Declared by LeafNode at ExprNode's int slot: a reference there? */
	fc_ref(&x.r, 6, REF_NAME, FO_STRING, NULL, "evil");
	fc_u64(&x.r, 6, OFF_OFFSET, 24);
	fc_decode_check(&x, nodefields_decode, expect_all, 1);
}

Test(nodefields, declaring_and_field_type_swapped_do_not_fit)
{
	record_rows(140);
	/* Every declaring class a primitive: no choice of slots fits. */
	for (size_t i = 0; i < x.r.n; i++) {
		fc_ref(&x.r, i, REF_DECL, FO_HUB, t_int, NULL);
		fc_ref(&x.r, i, REF_TYPE, FO_HUB, t_int, NULL);
	}
	fc_decode(&x, nodefields_decode);
	cr_assert_eq(x.res.found, FO_NONE_FITS);
	cr_assert_eq(x.ff.n, 0);
	fc_done(&x);
}
