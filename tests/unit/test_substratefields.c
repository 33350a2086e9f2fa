/* The SubstrateField decoder (symbols/substratefields.c) on crafted field
 * objects laid out as a 25 image has them, its slots unknown to it: it
 * must find name, classes, modifiers and location by how they fit, give
 * exact facts, skip the hostile objects one by one, and say nothing when
 * no choice of slots (or more than one) fits. */
#include "../../symbols/substratefields.h"
#include "fieldcraft.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* type +8, declaring class +16, name +24, constant value +32; modifiers
 * +40, hash code +44, location +48, two booleans +52. */
static const unsigned field_refs[] = {8, 16, 24, 32};
enum { REF_TYPE, REF_DECL, REF_NAME, REF_CONST };
#define OFF_MODS 40
#define OFF_HASH 44
#define OFF_LOC 48
#define OFF_FLAGS 52
#define ROW_SIZE 80

static struct fc_table k;
static struct fc_run x;
static const struct hd_class *t_int, *t_bool, *t_obj, *str, *node, *base, *sub, *holder;

static const unsigned str_refs[] = {8}, node_refs[] = {8, 16, 24}, sub_refs[] = {8};

static void classes(void)
{
	fc_table_init(&k);
	t_int = fc_class(&k, "int", HD_KIND_NONE, 0, -1, NULL, 0);
	t_bool = fc_class(&k, "boolean", HD_KIND_NONE, 0, -1, NULL, 0);
	t_obj = fc_class(&k, "java.lang.Object", HD_KIND_INSTANCE, 8, -1, NULL, 0);
	str = fc_class(&k, "java.lang.String", HD_KIND_INSTANCE, 24, 2, str_refs, 1);
	node = fc_class(&k, "Node", HD_KIND_INSTANCE, 40, 2, node_refs, 3);
	base = fc_class(&k, "Base", HD_KIND_NONE, 0, 2, NULL, 0);
	sub = fc_class(&k, "Sub", HD_KIND_INSTANCE, 16, 5, sub_refs, 1);
	holder = fc_class(&k, "Holder", HD_KIND_NONE, 0, 2, NULL, 0);
	cr_assert_eq(fo_geom_init(&x.g, &k.t, 8, 8), 0);
}

struct field {
	const struct hd_class **decl, **type;
	const char *name;
	uint32_t mods, loc;
};
static const struct field fields[] = {
	{&str, &t_obj, "value", 0x12, 8},  {&str, &t_int, "hash", 0x2, 16},
	{&str, &t_bool, "coder", 0x12, 20}, {&node, &t_obj, "left", 0x2, 8},
	{&node, &t_obj, "right", 0x2, 16}, {&node, &t_obj, "parent", 0x42, 24},
	{&node, &t_int, "count", 0x1, 32},  {&node, &t_bool, "dirty", 0x0, 36},
	{&base, &t_obj, "owner", 0x14, 8},  {&holder, &t_obj, "cache", 0x18, 40},
	{&holder, &t_int, "max", 0x1a, 24},
};
#define NFIELDS (sizeof fields / sizeof *fields)

/* The classes, and N objects cycling through FIELDS, in x.r. */
static void field_rows(size_t n)
{
	struct fo_rows *r = &x.r;
	classes();
	fc_rows(r, n, ROW_SIZE, field_refs, 4);
	for (size_t i = 0; i < n; i++) {
		const struct field *f = &fields[i % NFIELDS];
		fc_ref(r, i, REF_TYPE, FO_HUB, *f->type, NULL);
		fc_ref(r, i, REF_DECL, FO_HUB, *f->decl, NULL);
		fc_ref(r, i, REF_NAME, FO_STRING, NULL, f->name);
		fc_ref(r, i, REF_CONST, i % 3 ? FO_NULL : FO_OTHER, NULL, NULL);
		fc_u32(r, i, OFF_MODS, f->mods);
		fc_u32(r, i, OFF_HASH, 0x9e3779b9u * (uint32_t)(i + 1));
		fc_u32(r, i, OFF_LOC, f->loc);
		fc_u32(r, i, OFF_FLAGS, 0x0101);
	}
}

/* Every field named where it belongs; SKIPPED objects left out. */
static void expect_all(size_t skipped)
{
	fc_expect_found(&x, HD_SRC_SUBSTRATE, skipped);
	cr_assert_str_eq(fc_facts(&x.ff, str), "value@8:2 hash@16:10 coder@20:4");
	cr_assert_str_eq(fc_facts(&x.ff, node), "left@8:2 right@16:2 parent@24:2 count@32:10 dirty@36:4");
	cr_assert_str_eq(fc_facts(&x.ff, base), "owner@8:2", "an abstract class, through Sub");
	cr_assert_str_eq(fc_facts(&x.ff, holder), "static max@24:10 static cache@40:2");
	cr_assert_str_eq(fc_facts(&x.ff, sub), "");
}

Test(substratefields, slots_are_found_and_every_field_named)
{
	field_rows(220);
	fc_decode(&x, substratefields_decode);
	fc_expect_slots(&x, 24, 16, 8, OFF_LOC, OFF_MODS);
	cr_assert_eq(x.res.slots.score.ref_ok, x.res.slots.score.ref_typed);
	cr_assert_eq(x.res.slots.score.prim_ok, x.res.slots.score.prim_typed);
	expect_all(0);
	cr_assert_eq(x.res.added, NFIELDS);
	cr_assert_eq(x.res.statics, 2);
	fc_done(&x);
}

Test(substratefields, hostile_objects_are_skipped_one_by_one)
{
	field_rows(220);
	/* A name that is no String, a location past the class, a declaring
	 * class that is no class, a field type that is no class, a reference
	 * typed field over an int. */
	fc_ref(&x.r, 3, REF_NAME, FO_OTHER, NULL, NULL);
	fc_ref(&x.r, 14, REF_NAME, FO_STRING, NULL, "evil");
	fc_u32(&x.r, 14, OFF_LOC, 4096);
	fc_ref(&x.r, 25, REF_NAME, FO_STRING, NULL, "evil");
	fc_ref(&x.r, 25, REF_DECL, FO_OTHER, NULL, NULL);
	fc_ref(&x.r, 36, REF_NAME, FO_STRING, NULL, "evil");
	fc_ref(&x.r, 36, REF_TYPE, FO_OTHER, NULL, NULL);
	fc_ref(&x.r, 47, REF_NAME, FO_STRING, NULL, "evil");
	fc_u32(&x.r, 47, OFF_LOC, 32);
	fc_decode_check(&x, substratefields_decode, expect_all, 5);
}

Test(substratefields, two_names_for_one_place_give_none)
{
	field_rows(220);
	fc_ref(&x.r, 3, REF_NAME, FO_STRING, NULL, "other"); /* Node.left at 8 */
	fc_decode(&x, substratefields_decode);
	cr_assert_str_eq(fc_facts(&x.ff, node), "right@16:2 parent@24:2 count@32:10 dirty@36:4");
	fc_done(&x);
}

static void expect_refusal(enum fo_search_result want)
{
	fc_decode(&x, substratefields_decode);
	cr_assert_eq(x.res.found, want, "found %d, want %d", x.res.found, want);
	cr_assert_eq(x.ff.n, 0, "a refused source adds nothing");
	fc_done(&x);
}

Test(substratefields, no_fitting_location_no_facts)
{
	field_rows(220);
	for (size_t i = 0; i < x.r.n; i++)
		fc_u32(&x.r, i, OFF_LOC, 8 + 4 * (uint32_t)(i % 9));
	expect_refusal(FO_NONE_FITS);
}

Test(substratefields, two_fitting_locations_no_facts)
{
	field_rows(220);
	for (size_t i = 0; i < x.r.n; i++)
		fc_u32(&x.r, i, 60, fields[i % NFIELDS].loc);
	expect_refusal(FO_AMBIGUOUS);
}

Test(substratefields, names_that_are_not_strings_no_facts)
{
	field_rows(220);
	for (size_t i = 0; i < x.r.n; i += 20)
		fc_ref(&x.r, i, REF_NAME, FO_OTHER, NULL, NULL);
	expect_refusal(FO_NO_NAME);
}

Test(substratefields, too_few_objects_to_tell_no_facts)
{
	field_rows(5);
	expect_refusal(FO_NONE_FITS);
}

/* SubstrateType: kind +8, hub +16, all instance fields +24, unique
 * concrete implementation +32. */
static const unsigned type_refs[] = {8, 16, 24, 32};

Test(substratefields, the_type_hub_slot_leads_to_the_most_classes)
{
	classes();
	fc_rows(&x.r, 8, 48, type_refs, 4);
	for (size_t i = 0; i < x.r.n; i++) {
		fc_ref(&x.r, i, 0, FO_OTHER, NULL, NULL);
		fc_ref(&x.r, i, 1, FO_HUB, &k.v[i], NULL);
		fc_ref(&x.r, i, 3, FO_HUB, &k.v[i / 4], NULL);
	}
	cr_assert_eq(substratefields_hub_slot(&x.r), 1);
	for (size_t i = 0; i < x.r.n; i++)
		fc_ref(&x.r, i, 3, FO_HUB, &k.v[i], NULL);
	cr_assert_eq(substratefields_hub_slot(&x.r), 1, "two slots that agree");
	fc_ref(&x.r, 2, 3, FO_HUB, &k.v[7], NULL);
	fc_ref(&x.r, 7, 3, FO_HUB, &k.v[2], NULL);
	cr_assert_eq(substratefields_hub_slot(&x.r), -1, "two slots that disagree");
	for (size_t i = 0; i < x.r.n; i++) {
		fc_ref(&x.r, i, 1, FO_OTHER, NULL, NULL);
		fc_ref(&x.r, i, 3, FO_NULL, NULL, NULL);
	}
	cr_assert_eq(substratefields_hub_slot(&x.r), -1, "no slot leads to classes");
	fc_done(&x);
}

/* ---- Name lists from the types' field arrays --------------------------- */

/* Field objects at 0x1000 + 0x10 * index. */
static const struct {
	const struct hd_class **decl;
	const char *name;
	bool is_static;
} objs[] = {
	{&node, "left", false},  {&node, "right", false}, {&node, "parent", false},
	{&node, "count", false}, {&node, "dirty", false}, {&base, "owner", false},
	{&str, "value", false},  {&str, "hash", false},   {&str, "coder", false},
	{&str, "CACHE", true},   {NULL, "lost", false},   {&node, "left", false},
};
#define NOBJS (sizeof objs / sizeof *objs)
#define OBJ(i) (0x1000u + 0x10u * (i))

static uint64_t obj_addr[NOBJS];
static struct fo_cand obj_cand[NOBJS];

/* The field arrays: which objects each type's array holds. */
static const uint64_t node_all[] = {OBJ(3), OBJ(0), OBJ(4), OBJ(1), OBJ(2)};
static const uint64_t node_less[] = {OBJ(0), OBJ(1), OBJ(2), OBJ(3)};
static const uint64_t node_twice[] = {OBJ(0), OBJ(1), OBJ(2), OBJ(3), OBJ(4), OBJ(11)};
static const uint64_t node_foreign[] = {OBJ(0), OBJ(1), OBJ(2), OBJ(3), OBJ(4), OBJ(6)};
static const uint64_t sub_all[] = {OBJ(5)};
static const uint64_t str_lost[] = {OBJ(6), OBJ(7), OBJ(10)};
static const uint64_t str_unknown[] = {OBJ(6), OBJ(7), 0x999};
static const uint64_t str_static[] = {OBJ(6), OBJ(7), OBJ(8), OBJ(9)};

#define TYPE(c, a) ((struct sf_type_fields){(c), (a), sizeof(a) / sizeof *(a)})

/* The lists TYPES prove (the classes made already: TYPE reads them). */
static void lists(const struct sf_type_fields *types, size_t n)
{
	memset(&x.ff, 0, sizeof x.ff);
	for (size_t i = 0; i < NOBJS; i++) {
		/* Declared in reverse, so that the lookup cannot rely on order. */
		size_t j = NOBJS - 1 - i;
		obj_addr[j] = OBJ(i);
		obj_cand[j] = (struct fo_cand){.decl = objs[i].decl ? *objs[i].decl : NULL,
					       .name = objs[i].name,
					       .is_static = objs[i].is_static};
	}
	cr_assert_eq(substratefields_lists(&x.ff, &k.t, types, n, obj_addr, obj_cand, NOBJS, NULL), 0);
}

/* CLS's list as "a b c" in a static buffer, "-" for none. */
static const char *list_of(const struct hd_class *cls)
{
	static char buf[256];
	const struct hd_name_list *l = ff_list_of(&x.ff, cls->hub);
	if (!l)
		return "-";
	buf[0] = '\0';
	for (uint32_t i = 0; i < l->n; i++) {
		if (i)
			strcat(buf, " ");
		strcat(buf, ff_name(&x.ff, x.ff.list_names[l->first + i]));
	}
	return buf;
}

Test(substratefields, a_field_array_gives_its_chain_their_field_sets)
{
	classes();
	struct sf_type_fields t[] = {TYPE(node, node_all), TYPE(sub, sub_all)};
	lists(t, 2);
	cr_assert_str_eq(list_of(node), "count dirty left parent right");
	cr_assert_str_eq(list_of(sub), "", "Sub declares no field");
	cr_assert_str_eq(list_of(base), "owner");
	cr_assert_str_eq(list_of(t_obj), "");
	cr_assert_str_eq(list_of(str), "-", "no type of String");
	fc_done(&x);
}

Test(substratefields, an_array_that_does_not_hold_up_gives_no_list)
{
	classes();
	struct sf_type_fields t[] = {TYPE(str, str_lost), TYPE(str, str_unknown),
				     TYPE(str, str_static), TYPE(node, node_twice),
				     TYPE(node, node_foreign)};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		lists(&t[i], 1);
		cr_assert_eq(x.ff.nlists, 0, "type %zu", i);
		fc_done(&x);
	}
}

Test(substratefields, types_that_disagree_on_a_class_give_it_no_list)
{
	classes();
	struct sf_type_fields t[] = {TYPE(node, node_all), TYPE(node, node_less)};
	lists(t, 2);
	cr_assert_str_eq(list_of(node), "-");
	cr_assert_str_eq(list_of(t_obj), "", "both agree on Object");
	fc_done(&x);
}

Test(substratefields, lists_are_refined)
{
	classes();
	struct sf_type_fields t[] = {TYPE(node, node_all)};
	lists(t, 1);
	cr_assert(ff_list_of(&x.ff, node->hub)->refines, "a SubstrateType array holds no statics");
	fc_done(&x);
}

/* ---- A hybrid class's parts (22.3's DynamicHub in small) ---------------- */

static const struct hd_class *hub_cls, *vtable_type, *slots_type;
static struct hybrid_obs hub_obs[2];

/* Length at 12, four type-id slots at 16..22, "name" at 24, the vtable's
 * 8-byte entries from 32. */
static void hybrid_classes(void)
{
	classes();
	static const unsigned hub_refs[] = {24};
	hub_cls = fc_class(&k, "java.lang.Class", HD_KIND_HYBRID, 32, 2, hub_refs, 1);
	vtable_type = fc_class(&k, "[J", HD_KIND_PRIM_ARRAY, 0, 2, NULL, 0);
	slots_type = fc_class(&k, "[S", HD_KIND_PRIM_ARRAY, 0, 2, NULL, 0);
	k.v[hub_cls - k.v].enc = (int32_t)(0xc0000003u | 32u << 8);
	k.v[vtable_type - k.v].enc = (int32_t)(0xe0000003u | 16u << 8);
	k.v[vtable_type - k.v].elem_type = HD_T_LONG;
	k.v[slots_type - k.v].enc = (int32_t)(0xe0000001u | 16u << 8);
	k.v[slots_type - k.v].elem_type = HD_T_SHORT;
	hub_obs[0] = (struct hybrid_obs){.length = 4, .span = 32 + 4 * 8, .last_slot = 3};
	hub_obs[1] = (struct hybrid_obs){.length = 2, .span = 0, .last_slot = 0};
}

static int observe(void *ctx, const struct hd_class *c, const struct hybrid_parts *p,
		   struct hybrid_obs **o, size_t *n)
{
	(void)ctx;
	cr_assert_eq(c, hub_cls);
	cr_assert_eq(p->nslots, 4);
	*o = malloc(sizeof hub_obs);
	cr_assert_not_null(*o);
	memcpy(*o, hub_obs, sizeof hub_obs);
	*n = 2;
	return 0;
}

/* The list of the hub's type (its fields: vtable, typeCheckSlots, name). */
static void hybrid_lists(void)
{
	static const uint64_t addr[] = {0x2000, 0x2010, 0x2020};
	const uint64_t fields[] = {0x2020, 0x2000, 0x2010};
	struct fo_cand cands[] = {
		{.decl = hub_cls, .type = vtable_type, .name = "vtable", .loc = -1},
		{.decl = hub_cls, .type = slots_type, .name = "typeCheckSlots", .loc = -1},
		{.decl = hub_cls, .type = t_obj, .name = "name", .loc = 24},
	};
	struct sf_type_fields t = {hub_cls, fields, 3};
	memset(&x.ff, 0, sizeof x.ff);
	cr_assert_eq(substratefields_lists(&x.ff, &k.t, &t, 1, addr, cands, 3,
					   &(struct sf_hybrid){12, observe, NULL}), 0);
}

Test(substratefields, a_hybrid_class_gets_its_parts_by_their_storage)
{
	hybrid_classes();
	hybrid_lists();
	cr_assert_str_eq(list_of(hub_cls), "name vtable.length typeCheckSlots[0] typeCheckSlots[1] "
					    "typeCheckSlots[2] typeCheckSlots[3]");
	cr_assert_str_eq(fc_facts(&x.ff, hub_cls), "vtable.length@12:10 typeCheckSlots[0]@16:9 "
						   "typeCheckSlots[1]@18:9 typeCheckSlots[2]@20:9 "
						   "typeCheckSlots[3]@22:9");
	fc_done(&x);
}

Test(substratefields, a_hybrid_length_that_lies_names_nothing)
{
	hybrid_classes();
	hub_obs[0].length = 5; /* past the next object */
	hybrid_lists();
	cr_assert_str_eq(list_of(hub_cls), "name typeCheckSlots vtable", "the fields, unplaced");
	cr_assert_str_eq(fc_facts(&x.ff, hub_cls), "");
	fc_done(&x);
}

Test(substratefields, hybrid_slots_no_hub_uses_name_nothing)
{
	hybrid_classes();
	hub_obs[0].last_slot = 0;
	hybrid_lists();
	cr_assert_str_eq(fc_facts(&x.ff, hub_cls), "");
	fc_done(&x);
}
