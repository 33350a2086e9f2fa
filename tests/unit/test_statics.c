/* Static fields (symbols/statics.c): the two statics arrays found on
 * synthetic image heaps (unreferenced, holding every static fact, the
 * Object[] by size, the byte[] only when one is left), and crafted static
 * facts attributed to classes or refused: valid ones kept in order, facts
 * two sources agree on kept once, facts outside the arrays, misaligned, of
 * no known type or class refused, and a class with an overlapping or
 * contradicted static keeping none. */
#include "../../common/hd_error.h"
#include "../../symbols/imageobjs.h"
#include "../../symbols/statics.h"
#include "synthdump.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	struct sd_heap d;
	struct hd_imageobjs io;
	struct hd_field_facts ff;
	struct hd_statics s;
};

static void open_fixture(struct fixture *x, const struct sh_params *p)
{
	memset(x, 0, sizeof *x);
	sd_open(&x->d, p, 1);
	cr_assert_eq(imageobjs_build(&x->io, x->d.mv, &x->d.L, &x->d.classes), 0, "%s",
		     hd_error_message());
}

static void close_fixture(struct fixture *x)
{
	statics_free(&x->s);
	ff_free(&x->ff);
	imageobjs_free(&x->io);
	sd_close(&x->d);
}

static struct hd_names_input input(struct fixture *x)
{
	return (struct hd_names_input){.mv = x->d.mv, .L = &x->d.L, .classes = &x->d.classes,
				       .objs = &x->io};
}

static uint64_t hub(struct fixture *x, const char *name)
{
	return sh_class(&x->d.h, name)->hub;
}

static size_t class_index(struct fixture *x, const char *name)
{
	const struct hd_class *c = classes_named(&x->d.classes, name);
	cr_assert_not_null(c, "%s", name);
	return (size_t)(c - x->d.classes.v);
}

static void fact(struct fixture *x, const char *cls, const char *name, uint8_t type,
		 uint32_t offset, enum hd_field_source src)
{
	struct hd_field_fact f = {.hub = hub(x, cls), .offset = offset, .type = type,
				  .source = (uint8_t)src, .is_static = true};
	cr_assert_eq(ff_add(&x->ff, &f, name), 0);
}

static uint32_t length_at(struct fixture *x, uint64_t addr)
{
	long i = imageobjs_find(&x->io, addr);
	cr_assert_geq(i, 0);
	return x->io.length[i];
}

static void expect(struct fixture *x, const char *cls, size_t i, const char *name, uint8_t type,
		   uint32_t offset);

/* ---- Finding the arrays ------------------------------------------------ */

/* The heap has Object[]s of 10 (an ArrayList's, referenced), 0 and 3
 * elements (both unreferenced): the largest unreferenced one is taken.
 * Its byte[]s that nothing references (the reference-map table, a huge
 * array) are more than one: none is taken. */
static void locates(const struct sh_params *p)
{
	struct fixture x;
	open_fixture(&x, p);
	struct hd_names_input in = input(&x);
	cr_assert_eq(statics_build(&x.s, &x.ff, &in), 0, "%s", hd_error_message());
	uint64_t three = sh_nth(&x.d.h, "[Ljava.lang.Object;", 2)->addr;
	cr_assert_eq(length_at(&x, three), 3, "the generator's third Object[] has 3 elements");
	cr_assert_eq(length_at(&x, sh_nth(&x.d.h, "[Ljava.lang.Object;", 0)->addr), 10);
	cr_assert_eq(x.s.objects.addr, three, "%s: Object[] at %#llx", p->name,
		     (unsigned long long)x.s.objects.addr);
	cr_assert_eq(x.s.objects.start, p->array_base);
	cr_assert_eq(x.s.objects.end, p->array_base + 3 * p->ref_size);
	cr_assert_eq(x.s.objects.elem, p->ref_size);
	cr_assert_eq(x.s.prims.addr, 0, "%s: a byte[] chosen among several", p->name);
	cr_assert_eq(x.s.n, 0);
	cr_assert_eq(x.s.unattributed_refs, 3);
	close_fixture(&x);
}

Test(statics, locates_ce_22_3) { locates(&sh_ce_22_3); }
Test(statics, locates_oracle_21) { locates(&sh_oracle_21); }
Test(statics, locates_ce_25) { locates(&sh_ce_25); }

/* A fact only the huge byte[] can hold leaves it the one candidate; a
 * reference fact beyond the 3-element Object[] leaves no Object[] (the
 * referenced 10-element one does not count). */
Test(statics, facts_choose_among_candidates)
{
	struct fixture x;
	open_fixture(&x, &sh_ce_25);
	unsigned base = sh_ce_25.array_base;
	fact(&x, "java.lang.String", "big", HD_T_INT, base + 20000 - 4, HD_SRC_REFLECTION);
	fact(&x, "java.lang.Integer", "far", HD_T_OBJECT, base + 5 * 8, HD_SRC_SUBSTRATE);
	struct hd_names_input in = input(&x);
	cr_assert_eq(statics_build(&x.s, &x.ff, &in), 0, "%s", hd_error_message());
	cr_assert_neq(x.s.prims.addr, 0);
	cr_assert_eq(length_at(&x, x.s.prims.addr), 20000);
	cr_assert_eq(x.s.objects.addr, 0);
	/* The reference fact has no array: refused, and Integer has no statics. */
	cr_assert_eq(x.s.n, 1);
	cr_assert_eq(x.s.facts_dropped, 1);
	size_t n;
	const struct hd_static *v = statics_of(&x.s, class_index(&x, "java.lang.String"), &n);
	cr_assert_eq(n, 1);
	cr_assert_eq(v[0].offset, base + 20000 - 4);
	cr_assert_str_eq(x.s.names[v[0].name], "big");
	statics_of(&x.s, class_index(&x, "java.lang.Integer"), &n);
	cr_assert_eq(n, 0);
	cr_assert_eq(x.s.unattributed_bytes, 20000 - 4);
	close_fixture(&x);
}

/* The unreferenced byte[]s of the heap (the reference-map table, the huge
 * patterned array) all reach a boolean fact near their start; the one whose
 * byte there is not 0 or 1 is no statics array, which leaves the other. */
Test(statics, boolean_facts_rule_out_constant_tables)
{
	struct fixture x;
	open_fixture(&x, &sh_ce_25);
	unsigned base = sh_ce_25.array_base;
	uint64_t table = x.d.L.refmap_data - base;
	uint64_t big = 0;
	for (size_t i = 0; !big; i++)
		if (sh_nth(&x.d.h, "[B", i)->size >= 20000)
			big = sh_nth(&x.d.h, "[B", i)->addr;
	uint32_t table_len = length_at(&x, table);
	uint32_t j = 0;
	while (j < table_len && !(*sh_ptr(&x.d.h, table + base + j) <= 1 &&
				  *sh_ptr(&x.d.h, big + base + j) > 1))
		j++;
	cr_assert_lt(j, table_len, "no byte that tells the two apart");
	fact(&x, "java.lang.String", "flag", HD_T_BOOLEAN, base + j, HD_SRC_SUBSTRATE);
	struct hd_names_input in = input(&x);
	cr_assert_eq(statics_build(&x.s, &x.ff, &in), 0, "%s", hd_error_message());
	cr_assert_eq(x.s.prims.addr, table, "byte[] at %#llx",
		     (unsigned long long)x.s.prims.addr);
	expect(&x, "java.lang.String", 0, "flag", HD_T_BOOLEAN, base + j);
	close_fixture(&x);
}

/* ---- Attributing slots -------------------------------------------------- */

/* Arrays placed by hand: 8 reference slots from 16, 64 bytes from 16. */
static void crafted_arrays(struct fixture *x)
{
	x->s.objects = (struct hd_statics_array){.addr = 0x1000, .start = 16, .end = 16 + 64, .elem = 8};
	x->s.prims = (struct hd_statics_array){.addr = 0x2000, .start = 16, .end = 16 + 64, .elem = 1};
}

static void attribute(struct fixture *x)
{
	cr_assert_eq(statics_attribute(&x->s, &x->ff, &x->d.classes, NULL), 0, "%s",
		     hd_error_message());
}

static void expect(struct fixture *x, const char *cls, size_t i, const char *name, uint8_t type,
		   uint32_t offset)
{
	size_t n;
	const struct hd_static *v = statics_of(&x->s, class_index(x, cls), &n);
	cr_assert_lt(i, n, "%s has %zu statics", cls, n);
	cr_assert_str_eq(x->s.names[v[i].name], name);
	cr_assert_eq(v[i].type, type, "%s.%s", cls, name);
	cr_assert_eq(v[i].offset, offset, "%s.%s", cls, name);
}

static size_t count_of(struct fixture *x, const char *cls)
{
	size_t n;
	statics_of(&x->s, class_index(x, cls), &n);
	return n;
}

Test(statics, valid_facts_are_kept_references_first_by_offset)
{
	struct fixture x;
	open_fixture(&x, &sh_ce_25);
	crafted_arrays(&x);
	fact(&x, "java.lang.String", "flag", HD_T_BOOLEAN, 40, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.String", "count", HD_T_LONG, 24, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.String", "cache", HD_T_OBJECT, 24, HD_SRC_REFLECTION);
	fact(&x, "java.lang.String", "first", HD_T_OBJECT, 16, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.Integer", "last", HD_T_OBJECT, 72, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.Integer", "c", HD_T_CHAR, 78, HD_SRC_SUBSTRATE);
	/* an instance field is no static */
	struct hd_field_fact inst = {.hub = hub(&x, "java.lang.Integer"), .offset = 16,
				     .type = HD_T_INT, .source = HD_SRC_LAYOUT};
	cr_assert_eq(ff_add(&x.ff, &inst, "value"), 0);
	attribute(&x);
	cr_assert_eq(x.s.n, 6);
	cr_assert_eq(x.s.classes, 2);
	cr_assert_eq(x.s.facts_dropped, 0);
	expect(&x, "java.lang.String", 0, "first", HD_T_OBJECT, 16);
	expect(&x, "java.lang.String", 1, "cache", HD_T_OBJECT, 24);
	expect(&x, "java.lang.String", 2, "count", HD_T_LONG, 24);
	expect(&x, "java.lang.String", 3, "flag", HD_T_BOOLEAN, 40);
	expect(&x, "java.lang.Integer", 0, "last", HD_T_OBJECT, 72);
	expect(&x, "java.lang.Integer", 1, "c", HD_T_CHAR, 78);
	cr_assert_eq(x.s.unattributed_refs, 8 - 3);
	cr_assert_eq(x.s.unattributed_bytes, 64 - 8 - 1 - 2);
	close_fixture(&x);
}

Test(statics, what_two_sources_agree_on_is_kept_once)
{
	struct fixture x;
	open_fixture(&x, &sh_ce_25);
	crafted_arrays(&x);
	fact(&x, "java.lang.String", "cache", HD_T_OBJECT, 24, HD_SRC_REFLECTION);
	fact(&x, "java.lang.String", "cache", HD_T_OBJECT, 24, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.String", "n", HD_T_INT, 20, HD_SRC_REFLECTION);
	fact(&x, "java.lang.String", "n", HD_T_INT, 20, HD_SRC_SUBSTRATE);
	attribute(&x);
	cr_assert_eq(count_of(&x, "java.lang.String"), 2);
	cr_assert_eq(x.s.nnames, 2);
	close_fixture(&x);
}

/* Two classes claim overlapping bytes: neither keeps any static, not even
 * the ones nobody disputes. */
Test(statics, overlapping_statics_drop_both_classes)
{
	struct fixture x;
	open_fixture(&x, &sh_ce_25);
	crafted_arrays(&x);
	fact(&x, "java.lang.String", "i", HD_T_INT, 40, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.String", "ok", HD_T_OBJECT, 16, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.Integer", "s", HD_T_SHORT, 42, HD_SRC_REFLECTION);
	fact(&x, "java.lang.Number", "l", HD_T_LONG, 48, HD_SRC_SUBSTRATE);
	/* the same slot, two names of one class */
	fact(&x, "java.util.HashMap", "a", HD_T_OBJECT, 32, HD_SRC_SUBSTRATE);
	fact(&x, "java.util.HashMap", "b", HD_T_OBJECT, 32, HD_SRC_REFLECTION);
	/* the same reference slot, two classes */
	fact(&x, "java.util.ArrayList", "x", HD_T_OBJECT, 40, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.Object", "y", HD_T_OBJECT, 40, HD_SRC_REFLECTION);
	attribute(&x);
	cr_assert_eq(count_of(&x, "java.lang.String"), 0);
	cr_assert_eq(count_of(&x, "java.lang.Integer"), 0);
	cr_assert_eq(count_of(&x, "java.util.HashMap"), 0);
	cr_assert_eq(count_of(&x, "java.util.ArrayList"), 0);
	cr_assert_eq(count_of(&x, "java.lang.Object"), 0);
	expect(&x, "java.lang.Number", 0, "l", HD_T_LONG, 48);
	cr_assert_eq(x.s.n, 1);
	cr_assert_eq(x.s.facts_dropped, 7);
	close_fixture(&x);
}

/* One name at two places in its class: the sources contradict each other,
 * the class keeps nothing. */
Test(statics, a_name_at_two_offsets_drops_the_class)
{
	struct fixture x;
	open_fixture(&x, &sh_ce_25);
	crafted_arrays(&x);
	fact(&x, "java.lang.String", "n", HD_T_INT, 20, HD_SRC_REFLECTION);
	fact(&x, "java.lang.String", "n", HD_T_INT, 28, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.String", "other", HD_T_BYTE, 33, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.Integer", "k", HD_T_OBJECT, 16, HD_SRC_SUBSTRATE);
	attribute(&x);
	cr_assert_eq(count_of(&x, "java.lang.String"), 0);
	cr_assert_eq(count_of(&x, "java.lang.Integer"), 1);
	close_fixture(&x);
}

Test(statics, facts_outside_misaligned_or_untyped_are_refused)
{
	struct fixture x;
	open_fixture(&x, &sh_ce_25);
	crafted_arrays(&x);
	fact(&x, "java.lang.String", "before", HD_T_OBJECT, 8, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.String", "past", HD_T_OBJECT, 80, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.String", "straddles", HD_T_LONG, 76, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.String", "far", HD_T_INT, 0xfffffffc, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.String", "between", HD_T_OBJECT, 20, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.String", "odd", HD_T_INT, 18, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.String", "halfword", HD_T_CHAR, 33, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.String", "untyped", 0, 24, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.String", "bad_type", 3, 24, HD_SRC_SUBSTRATE);
	struct hd_field_fact stranger = {.hub = 0x1234568, .offset = 16, .type = HD_T_OBJECT,
					 .is_static = true};
	cr_assert_eq(ff_add(&x.ff, &stranger, "no_class"), 0);
	fact(&x, "java.lang.String", "good", HD_T_BYTE, 79, HD_SRC_SUBSTRATE);
	attribute(&x);
	cr_assert_eq(x.s.n, 1);
	expect(&x, "java.lang.String", 0, "good", HD_T_BYTE, 79);
	cr_assert_eq(x.s.facts_dropped, 10);
	close_fixture(&x);
}

/* Without a byte[], primitive facts have nowhere to be; references still
 * land in the Object[]. */
Test(statics, primitives_without_their_array_are_refused)
{
	struct fixture x;
	open_fixture(&x, &sh_ce_25);
	crafted_arrays(&x);
	x.s.prims = (struct hd_statics_array){0};
	fact(&x, "java.lang.String", "i", HD_T_INT, 16, HD_SRC_SUBSTRATE);
	fact(&x, "java.lang.Integer", "r", HD_T_OBJECT, 16, HD_SRC_SUBSTRATE);
	attribute(&x);
	cr_assert_eq(count_of(&x, "java.lang.String"), 0);
	expect(&x, "java.lang.Integer", 0, "r", HD_T_OBJECT, 16);
	cr_assert_eq(x.s.unattributed_bytes, 0);
	close_fixture(&x);
}

/* Many facts at one place: the overlap check stays linear and every class
 * involved is dropped. */
Test(statics, a_pile_of_facts_at_one_offset_is_refused_whole)
{
	struct fixture x;
	open_fixture(&x, &sh_ce_25);
	crafted_arrays(&x);
	char name[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof name, "f%d", i);
		fact(&x, i % 2 ? "java.lang.String" : "java.lang.Integer", name, HD_T_INT, 20,
		     HD_SRC_SUBSTRATE);
	}
	attribute(&x);
	cr_assert_eq(x.s.n, 0);
	cr_assert_eq(x.s.facts_dropped, 20000);
	close_fixture(&x);
}
