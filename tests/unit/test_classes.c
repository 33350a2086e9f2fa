/* The class table (symbols/classes.c) on synthetic image heaps, built from
 * the generator's ground truth (the layout and hubs discovery would find),
 * so that these tests do not depend on discovery: every class's name, kind,
 * HPROF superclass and fields, and the refusals of hubs that do not decode. */
#include "../../common/hd_error.h"
#include "../../common/interrupt.h"
#include "../../symbols/classes.h"
#include "../../symbols/heapwalk.h"
#include "synthheap.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const struct sh_params *const PRESETS[] = {&sh_ce_22_3, &sh_oracle_21, &sh_ce_25};
#define NPRESETS (sizeof PRESETS / sizeof PRESETS[0])

struct fixture {
	struct sh_heap h;
	hd_memview *mv;
	struct hd_layout L; /* what discovery finds: the generator's layout */
	uint64_t *hubs;
	size_t nhubs;
};

static void setup(struct fixture *r, const struct sh_params *p)
{
	memset(r, 0, sizeof *r);
	cr_assert_eq(sh_build(p, &r->h), 0, "%s: the generator failed", p->name);
	r->mv = sh_view(&r->h);
	r->L = r->h.expect;
	r->nhubs = r->h.nclasses;
	r->hubs = sh_hubs(&r->h);
	cr_assert(r->mv && r->hubs);
}

static void teardown(struct fixture *r)
{
	free(r->hubs);
	mv_free(r->mv);
	sh_free(&r->h);
}

/* classes_build must fail with HD_E_LAYOUT and a message naming WHAT. */
static void refused(struct fixture *r, const char *what)
{
	struct hd_classes t;
	hd_error_clear();
	cr_assert_eq(classes_build(&t, r->mv, &r->L, r->hubs, r->nhubs), -1, "%s: accepted",
		     r->h.p.name);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s: %s", r->h.p.name, hd_error_message());
	cr_assert_not_null(strstr(hd_error_message(), what), "%s: %s", r->h.p.name,
			   hd_error_message());
	classes_free(&t);
}

/* ---- Every class as generated ------------------------------------------- */

static unsigned hash_off_of(const struct hd_layout *L, const struct hd_class *c)
{
	return L->hub_idhash >= 0 ? c->idhash_off : L->idhash_fixed_off;
}

static const struct hd_field *field_at(const struct hd_class *c, uint32_t off)
{
	for (size_t i = 0; i < c->nfields; i++)
		if (c->fields[i].offset == off)
			return &c->fields[i];
	return NULL;
}

/* Is byte J of C's instances padding by the rules of classes.c
 * (mark_padding)?  java.lang.Object's bytes, those after an 8-byte monitor
 * slot, and on CE 25 the 4 bytes after a hash at a multiple of 8 that ends
 * the instance but for them. */
static bool provable_padding(const struct hd_layout *L, const struct hd_class *c, unsigned j)
{
	if (strcmp(c->name, "java.lang.Object") == 0)
		return true;
	if (L->ref_size == 8 && c->monitor_off && j >= c->monitor_off + 8u)
		return true;
	unsigned h = c->idhash_off;
	return L->hub_idhash >= 0 && !L->hash_appended && h % 8 == 0 &&
	       c->fixed_size == h + 8 && j >= h + 4;
}

static bool is_slot(const struct hd_classes *t, const struct hd_field *f, enum hd_slot slot)
{
	static const char *const names[] = {[HD_SLOT_HASH] = "<hash>", [HD_SLOT_MONITOR] = "<monitor>"};
	return f->slot == slot && strcmp(t->names.v[f->name], names[slot]) == 0 &&
	       f->type == (slot == HD_SLOT_HASH ? HD_T_INT : HD_T_OBJECT) &&
	       f->named_by == 1u << HD_SRC_LAYOUT;
}

static void check_classes(const struct sh_params *p)
{
	struct fixture r;
	struct hd_classes t;
	setup(&r, p);
	cr_assert_eq(classes_build(&t, r.mv, &r.L, r.hubs, r.nhubs), 0, "%s: %s", p->name,
		     hd_error_message());
	cr_assert_eq(t.n, r.h.nclasses);
	for (size_t k = 0; k < r.h.nclasses; k++) {
		const struct sh_class *want = &r.h.classes[k];
		const struct hd_class *c = classes_find(&t, want->hub);
		cr_assert_not_null(c, "%s: no class for %s", p->name, want->name);
		cr_assert_str_eq(c->name, want->name);
		cr_assert_eq(c->enc, want->enc, "%s: %s encoding", p->name, want->name);
		enum hd_class_kind kind = want->kind == 'i' ? HD_KIND_INSTANCE
					: want->kind == 'a' ? HD_KIND_NONE
					: want->kind == 'h' ? HD_KIND_HYBRID
					: want->kind == 'p' ? HD_KIND_PRIM_ARRAY
							    : HD_KIND_OBJ_ARRAY;
		cr_assert_eq(c->kind, kind, "%s: %s kind %d", p->name, want->name, c->kind);
		cr_assert_eq(classes_lookup(&t, want->hub, &(struct hd_hubinfo){0}), kind != HD_KIND_NONE);
		if (want->super_hub) {
			/* FillsGap is checked below: its super's fields may not fit. */
			cr_assert_geq(c->super, 0, "%s: %s has no HPROF superclass", p->name, want->name);
			if (strcmp(want->name, "hdump.test.FillsGap") != 0)
				cr_assert_eq(t.v[c->super].hub, want->super_hub, "%s: %s extends %s",
					     p->name, want->name, t.v[c->super].name);
		} else {
			cr_assert_eq(c->super, -1);
		}
		cr_assert_eq(c->is_filler, strcmp(want->name, "com.oracle.svm.core.heap.FillerObject") == 0);
		if (c->kind != HD_KIND_INSTANCE || !want->super_hub)
			continue;
		/* No two fields share a byte; every byte of a generated field
		 * belongs to one, and so does every other byte but padding and
		 * slots a subclass puts a field in (a <hash> slot where the
		 * subclass has its own hash elsewhere, a gap of WithLong's). */
		uint8_t owner[256] = {0};
		const struct hd_field *at[256] = {0};
		cr_assert_eq(c->fixed_size, want->size);
		for (size_t i = 0; i < c->nfields; i++) {
			const struct hd_field *f = &c->fields[i];
			unsigned len = f->type == HD_T_OBJECT ? p->ref_size : hd_type_size(f->type);
			cr_assert_geq(f->offset, p->hdr_size, "%s: field in the header", want->name);
			cr_assert_leq(f->offset + len, c->fixed_size, "%s: field past the end", want->name);
			for (unsigned j = 0; j < len; j++) {
				cr_assert_eq(owner[f->offset + j]++, 0, "%s: fields overlap at %u",
					     want->name, f->offset + j);
				at[f->offset + j] = f;
			}
		}
		uint8_t generated[256] = {0};
		for (unsigned i = 0; i < want->nfields; i++) {
			const struct sh_field *sf = &want->fields[i];
			unsigned len = sf->kind == 'I' ? 4 : sf->kind == 'B' ? 1 : sf->kind == 'J' ? 8
				     : sf->kind && strchr("RXP", sf->kind) ? p->ref_size : 0;
			memset(generated + sf->off, 1, len);
		}
		unsigned h = hash_off_of(&r.L, c);
		bool gap_filled = strcmp(want->name, "hdump.test.WithLong") == 0 && p->ref_size == 8;
		bool hash_whole = h + 4 <= c->fixed_size;
		bool hash_reused = false; /* by a subclass's field */
		for (size_t d = 0; d < t.n; d++)
			for (int32_t s = t.v[d].jsuper; s >= 0 && !hash_reused; s = t.v[s].jsuper)
				hash_reused = &t.v[s] == c && hash_off_of(&r.L, &t.v[d]) != h;
		for (unsigned j = p->hdr_size; j < c->fixed_size; j++) {
			bool hash = j >= h && j < h + 4;
			cr_assert(owner[j] || (!generated[j] && ((hash && (!hash_whole || hash_reused)) ||
								gap_filled ||
								provable_padding(&r.L, c, j))),
				  "%s.%s: byte %u not covered", p->name, want->name, j);
			cr_assert(!owner[j] || !hash || (is_slot(&t, at[j], HD_SLOT_HASH) &&
							 at[j]->offset == h),
				  "%s.%s: a field on the hash at %u", p->name, want->name, j);
			cr_assert(!owner[j] || !provable_padding(&r.L, c, j) || hash,
				  "%s.%s: a field on padding at %u", p->name, want->name, j);
		}
		/* Reference fields are exactly the generated ones. */
		for (unsigned i = 0; i < want->nfields; i++) {
			const struct sh_field *sf = &want->fields[i];
			const struct hd_field *f = field_at(c, sf->off);
			cr_assert_not_null(f, "%s.%s: no field at %u", want->name, sf->name, sf->off);
			cr_assert_eq(f->type == HD_T_OBJECT, sf->kind == 'R' || sf->kind == 'X',
				     "%s.%s: type %d", want->name, sf->name, f->type);
		}
	}
	/* Names the layout proves. */
	const struct hd_class *s = classes_named(&t, "java.lang.String");
	cr_assert_not_null(s);
	const struct hd_field *f = field_at(s, r.L.str_value);
	cr_assert(f && f->type == HD_T_OBJECT && strcmp(t.names.v[f->name], "value") == 0);
	f = field_at(s, (uint32_t)r.L.str_hash);
	cr_assert(f && f->type == HD_T_INT && strcmp(t.names.v[f->name], "hash") == 0);
	f = field_at(s, (uint32_t)r.L.str_coder);
	cr_assert(f && f->type == HD_T_BYTE && strcmp(t.names.v[f->name], "coder") == 0);
	const struct hd_class *integer = classes_named(&t, "java.lang.Integer");
	f = field_at(integer, sh_field(&r.h, "java.lang.Integer", "value"));
	cr_assert(f && f->type == HD_T_INT && strcmp(t.names.v[f->name], "value") == 0);
	/* FillsGap.r lies in WithLong's gap: its identity-hash slot with
	 * 4-byte references, its hash and padding with 8-byte ones in CE 25.
	 * No field of WithLong's is there, so FillsGap's HPROF super is its
	 * Java superclass, as every class's is. */
	const struct hd_class *with_long = classes_named(&t, "hdump.test.WithLong");
	unsigned r_off = sh_field(&r.h, "hdump.test.FillsGap", "r");
	if (p->ref_size == 4)
		cr_assert_eq(r_off, with_long->idhash_off, "%s: the generator no longer fills "
			     "WithLong's gap", p->name);
	for (size_t i = 0; i < with_long->nfields; i++) {
		const struct hd_field *wf = &with_long->fields[i];
		unsigned len = wf->type == HD_T_OBJECT ? p->ref_size : hd_type_size(wf->type);
		cr_assert(wf->offset >= r_off + p->ref_size || r_off >= wf->offset + len,
			  "%s: WithLong has a field over FillsGap.r", p->name);
	}
	for (size_t k = 0; k < t.n; k++)
		cr_assert_eq(t.v[k].super, t.v[k].jsuper, "%s: %s's HPROF super is not its Java one",
			     p->name, t.v[k].name);
	cr_assert_eq(classes_named(&t, "[B")->elem_type, HD_T_BYTE);
	cr_assert_eq(classes_named(&t, "[I")->elem_type, HD_T_INT);
	if (p->char_array)
		cr_assert_eq(classes_named(&t, "[C")->elem_type, HD_T_CHAR);
	classes_free(&t);
	teardown(&r);
}

Test(classes, ce_22_3) { check_classes(&sh_ce_22_3); }
Test(classes, oracle_21) { check_classes(&sh_oracle_21); }
Test(classes, ce_25) { check_classes(&sh_ce_25); }

/* With an abstract Reference (no fields of its own) WeakReference names the
 * referent itself. */
Test(classes, weak_reference_names_its_referent)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture r;
		struct hd_classes t;
		setup(&r, PRESETS[i]);
		cr_assert_geq(r.L.referent_off, 0);
		cr_assert_eq(classes_build(&t, r.mv, &r.L, r.hubs, r.nhubs), 0);
		const struct hd_field *f =
			field_at(classes_named(&t, "java.lang.ref.WeakReference"), (uint32_t)r.L.referent_off);
		cr_assert(f && f->type == HD_T_OBJECT);
		cr_assert_str_eq(t.names.v[f->name], "referent", "%s", PRESETS[i]->name);
		classes_free(&t);
		teardown(&r);
	}
}

/* ---- Hubs that do not decode -------------------------------------------- */

static void put_i32(struct sh_heap *h, uint64_t at, uint32_t v) { memcpy(sh_ptr(h, at), &v, 4); }

static uint32_t get_i32(struct sh_heap *h, uint64_t at)
{
	uint32_t v;
	memcpy(&v, sh_ptr(h, at), 4);
	return v;
}

/* In each layout: after CORRUPT, the table is refused as WHAT says. */
static void refused_in_each_layout(void (*corrupt)(struct fixture *r), const char *what)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture r;
		setup(&r, PRESETS[i]);
		corrupt(&r);
		refused(&r, what);
		teardown(&r);
	}
}

/* A hub no object uses may carry a broken layout encoding (discovery checks
 * it too: test_discover.c hub_without_instances_is_checked). */
static void number_encoding_4(struct fixture *r)
{
	put_i32(&r->h, sh_class(&r->h, "java.lang.Number")->hub + r->L.hub_enc, 0x4);
}
Test(classes, implausible_encoding_is_refused)
{
	refused_in_each_layout(number_encoding_4, "java.lang.Number");
}

/* The writer reads object arrays a reference at a time: an object-array
 * class with other elements is refused. */
static void object_array_of_bytes(struct fixture *r)
{
	uint64_t enc_at = sh_class(&r->h, "[Ljava.lang.Object;")->hub + r->L.hub_enc;
	put_i32(&r->h, enc_at, get_i32(&r->h, enc_at) & ~0xffu);
}
Test(classes, object_array_of_bytes_is_refused)
{
	refused_in_each_layout(object_array_of_bytes, "1-byte elements");
}

/* A reference map must decode as discovery checked it (lay_refmap_each):
 * a run over the object header would mark header bytes as references. */
static void string_map_over_the_header(struct fixture *r)
{
	uint64_t hub = sh_class(&r->h, "java.lang.String")->hub;
	uint32_t idx = get_i32(&r->h, hub + r->L.hub_refmap);
	cr_assert_geq(get_i32(&r->h, r->L.refmap_data + idx), 1, "String has a reference");
	put_i32(&r->h, r->L.refmap_data + idx + 4, 0); /* the first run's offset */
}
Test(classes, reference_map_over_the_header_is_refused)
{
	refused_in_each_layout(string_map_over_the_header, "reference map");
}

/* The table reads the image heap: a superclass companion (25) or a name
 * that points outside it is the image's own data at fault, HD_E_LAYOUT,
 * whatever the memory view reports for the failed read. */
static void integer_points_outside(struct fixture *r)
{
	uint64_t hub = sh_class(&r->h, "java.lang.Integer")->hub;
	uint64_t outside = r->h.start + r->h.size + (1u << 20);
	uint64_t v = (outside - r->L.heap_base) >> r->L.ref_shift;
	unsigned slot = r->L.hub_super2 >= 0 ? (unsigned)r->L.hub_super : r->L.hub_name;
	memcpy(sh_ptr(&r->h, hub + slot), &v, r->L.ref_size);
}
Test(classes, reference_outside_the_image_is_a_layout_error)
{
	refused_in_each_layout(integer_points_outside, "outside the image heap");
}

/* A SIGTERM that arrived before or while the table is built ends it with
 * HD_E_INTERRUPTED. */
Test(classes, pending_sigterm_ends_the_class_table)
{
	struct fixture r;
	setup(&r, &sh_oracle_21);
	hd_install_signal_handlers();
	cr_assert_eq(raise(SIGTERM), 0);
	struct hd_classes t;
	hd_error_clear();
	cr_assert_eq(classes_build(&t, r.mv, &r.L, r.hubs, r.nhubs), -1);
	cr_assert_eq(hd_error_class(), HD_E_INTERRUPTED, "%s", hd_error_message());
	classes_free(&t);
	teardown(&r);
}

/* ---- Facts applied (classes_apply_facts) ---------------------------------- */

/* A synthetic heap's class table with crafted facts, the layout's own
 * among them. */
struct applied {
	struct hd_field_facts ff; /* the facts, applied to T */
	struct hd_naming_stats st;
	struct hd_classes t;
	struct fixture r;
};

static void applied_begin(struct applied *a, const struct sh_params *p)
{
	memset(a, 0, sizeof *a);
	setup(&a->r, p);
	cr_assert_eq(classes_build(&a->t, a->r.mv, &a->r.L, a->r.hubs, a->r.nhubs), 0, "%s: %s",
		     p->name, hd_error_message());
	cr_assert_eq(classes_layout_facts(&a->t, &a->r.L, &a->ff), 0);
}

static void fact(struct applied *a, const char *cls, unsigned off, uint8_t type,
		 enum hd_field_source src, const char *name)
{
	struct hd_field_fact f = {.hub = sh_class(&a->r.h, cls)->hub, .offset = off, .type = type,
				  .source = (uint8_t)src};
	cr_assert_eq(ff_add(&a->ff, &f, name), 0);
}

/* The field of CLS named by sh_field's offset of FIELD. */
static unsigned off_of(struct applied *a, const char *cls, const char *field)
{
	return sh_field(&a->r.h, cls, field);
}

static void applied_run(struct applied *a)
{
	cr_assert_eq(classes_apply_facts(&a->t, a->r.mv, &a->r.L, &a->ff, &a->st), 0, "%s: %s",
		     a->r.h.p.name, hd_error_message());
}

static void applied_end(struct applied *a)
{
	ff_free(&a->ff);
	classes_free(&a->t);
	teardown(&a->r);
}

/* The name of CLS's field at OFF (inherited ones included), with its type
 * in *TYPE; NULL if no field starts there. */
static const char *name_at(const struct applied *a, const char *cls, unsigned off, uint8_t *type)
{
	const struct hd_field *f = field_at(classes_named(&a->t, cls), off);
	if (type)
		*type = f ? f->type : 0;
	return f ? a->t.names.v[f->name] : NULL;
}

/* A synthetic name: kind@offset. */
static bool synthetic_at(const struct applied *a, const char *cls, unsigned off)
{
	const char *n = name_at(a, cls, off, NULL);
	return n && strchr(n, '@');
}

#define EACH_PRESET(a)                                                                     \
	for (size_t preset_ = 0; preset_ < NPRESETS && (applied_begin(a, PRESETS[preset_]), 1); \
	     applied_end(a), preset_++)

static const char NODE[] = "java.util.HashMap$Node";

/* C's fields that are no slot (inherited ones included). */
static size_t java_fields(const struct hd_class *c)
{
	size_t n = 0;
	for (size_t i = 0; i < c->nfields; i++)
		n += c->fields[i].slot == HD_SLOT_NONE;
	return n;
}

Test(classes, facts_that_fit_name_fields_with_their_types)
{
	struct applied a;
	EACH_PRESET(&a) {
		fact(&a, NODE, off_of(&a, NODE, "hash"), HD_T_INT, HD_SRC_SUBSTRATE, "hash");
		fact(&a, NODE, off_of(&a, NODE, "key"), HD_T_OBJECT, HD_SRC_SUBSTRATE, "key");
		fact(&a, NODE, off_of(&a, NODE, "value"), 0, HD_SRC_TRUFFLE, "value");
		fact(&a, NODE, off_of(&a, NODE, "next"), HD_T_OBJECT, HD_SRC_REFLECTION, "next");
		fact(&a, NODE, off_of(&a, NODE, "next"), HD_T_OBJECT, HD_SRC_SUBSTRATE, "next");
		/* Primitive types as the facts give them, not int chunks. */
		fact(&a, "java.util.HashMap", off_of(&a, "java.util.HashMap", "loadFactor"), HD_T_FLOAT,
		     HD_SRC_REFLECTION, "loadFactor");
		fact(&a, "hdump.test.WithLong", off_of(&a, "hdump.test.WithLong", "l"), HD_T_DOUBLE,
		     HD_SRC_REFLECTION, "d");
		applied_run(&a);
		const char *who = a.r.h.p.name;
		uint8_t type;
		cr_assert_str_eq(name_at(&a, NODE, off_of(&a, NODE, "hash"), &type), "hash", "%s", who);
		cr_assert_eq(type, HD_T_INT);
		cr_assert_str_eq(name_at(&a, NODE, off_of(&a, NODE, "key"), &type), "key");
		cr_assert_eq(type, HD_T_OBJECT);
		cr_assert_str_eq(name_at(&a, NODE, off_of(&a, NODE, "value"), &type), "value");
		cr_assert_eq(type, HD_T_OBJECT, "%s: an untyped fact on a reference slot", who);
		cr_assert_str_eq(name_at(&a, NODE, off_of(&a, NODE, "next"), NULL), "next");
		cr_assert_str_eq(name_at(&a, "java.util.HashMap",
					 off_of(&a, "java.util.HashMap", "loadFactor"), &type),
				 "loadFactor");
		cr_assert_eq(type, HD_T_FLOAT);
		cr_assert_str_eq(name_at(&a, "hdump.test.WithLong",
					 off_of(&a, "hdump.test.WithLong", "l"), &type), "d");
		cr_assert_eq(type, HD_T_DOUBLE);
		/* Every field of a Node is named: nothing else but its hash and
		 * padding is in it. */
		const struct hd_class *node = classes_named(&a.t, NODE);
		cr_assert_eq(java_fields(node), 4, "%s: %zu fields", who, node->nfields);
		cr_assert(node->all_named, "%s", who);
		cr_assert_eq(node->named_by, (1u << HD_SRC_SUBSTRATE) | (1u << HD_SRC_TRUFFLE) |
						     (1u << HD_SRC_REFLECTION));
		cr_assert_eq(a.st.facts_kept[HD_SRC_SUBSTRATE], 3);
		cr_assert_eq(a.st.facts_kept[HD_SRC_REFLECTION], 3);
		cr_assert_eq(a.st.facts_kept[HD_SRC_TRUFFLE], 1);
		cr_assert_eq(a.st.facts_dropped[HD_SRC_REFLECTION] + a.st.facts_dropped[HD_SRC_SUBSTRATE] +
				     a.st.facts_dropped[HD_SRC_TRUFFLE], 0);
		cr_assert_geq(a.st.classes_named[HD_SRC_SUBSTRATE], 1);
		cr_assert_eq(a.st.super_skips, 0);
	}
}

Test(classes, sources_that_disagree_lose_the_name)
{
	struct applied a;
	EACH_PRESET(&a) {
		unsigned key = off_of(&a, NODE, "key"), hash = off_of(&a, NODE, "hash");
		fact(&a, NODE, key, HD_T_OBJECT, HD_SRC_SUBSTRATE, "key");
		fact(&a, NODE, key, HD_T_OBJECT, HD_SRC_TRUFFLE, "kee");
		fact(&a, NODE, hash, HD_T_INT, HD_SRC_SUBSTRATE, "hash");
		fact(&a, NODE, hash, HD_T_FLOAT, HD_SRC_REFLECTION, "hash");
		/* One name at two offsets of a class: neither stands. */
		fact(&a, NODE, off_of(&a, NODE, "value"), HD_T_OBJECT, HD_SRC_SUBSTRATE, "next");
		fact(&a, NODE, off_of(&a, NODE, "next"), HD_T_OBJECT, HD_SRC_SUBSTRATE, "next");
		applied_run(&a);
		cr_assert(synthetic_at(&a, NODE, key), "%s: %s", a.r.h.p.name,
			  name_at(&a, NODE, key, NULL));
		cr_assert(synthetic_at(&a, NODE, hash));
		cr_assert(synthetic_at(&a, NODE, off_of(&a, NODE, "value")));
		cr_assert(synthetic_at(&a, NODE, off_of(&a, NODE, "next")));
		cr_assert_eq(a.st.facts_dropped[HD_SRC_SUBSTRATE], 4);
		cr_assert_eq(a.st.facts_dropped[HD_SRC_TRUFFLE], 1);
		cr_assert_eq(a.st.facts_dropped[HD_SRC_REFLECTION], 1);
		cr_assert_eq(a.st.facts_kept[HD_SRC_SUBSTRATE], 0);
		cr_assert(!classes_named(&a.t, NODE)->all_named);
	}
}

Test(classes, facts_that_do_not_fit_are_dropped)
{
	struct applied a;
	EACH_PRESET(&a) {
		const char *who = a.r.h.p.name;
		const struct hd_class *node = classes_named(&a.t, NODE);
		unsigned key = off_of(&a, NODE, "key"), hash = off_of(&a, NODE, "hash");
		/* A primitive over a reference slot, a reference on a primitive. */
		fact(&a, NODE, key, HD_T_LONG, HD_SRC_SUBSTRATE, "key");
		fact(&a, NODE, hash, HD_T_OBJECT, HD_SRC_SUBSTRATE, "hash");
		/* Past the instance, in the header, misaligned. */
		fact(&a, NODE, node->fixed_size, HD_T_BYTE, HD_SRC_SUBSTRATE, "past");
		fact(&a, NODE, 0, HD_T_BYTE, HD_SRC_SUBSTRATE, "header");
		fact(&a, "hdump.test.WithLong", off_of(&a, "hdump.test.WithLong", "l") + 2, HD_T_INT,
		     HD_SRC_SUBSTRATE, "misaligned");
		/* The identity hash's slot (in the instance in every preset but
		 * Oracle 21's, whose hash may lie past it). */
		unsigned idh = a.r.L.hub_idhash >= 0 ? node->idhash_off : a.r.L.idhash_fixed_off;
		bool hash_inside = idh + 4 <= node->fixed_size;
		if (hash_inside)
			fact(&a, NODE, idh, HD_T_INT, HD_SRC_SUBSTRATE, "identityHash");
		/* Two names that overlap. */
		fact(&a, "java.util.HashMap", off_of(&a, "java.util.HashMap", "size"), HD_T_INT,
		     HD_SRC_TRUFFLE, "size");
		fact(&a, "java.util.HashMap", off_of(&a, "java.util.HashMap", "size") + 2, HD_T_SHORT,
		     HD_SRC_TRUFFLE, "half");
		/* A static field is not an instance field. */
		struct hd_field_fact st = {.hub = node->hub, .offset = off_of(&a, NODE, "next"),
					   .type = HD_T_OBJECT, .source = HD_SRC_SUBSTRATE,
					   .is_static = true};
		cr_assert_eq(ff_add(&a.ff, &st, "CACHE"), 0);
		/* A class the image does not have. */
		struct hd_field_fact nohub = {.hub = 8, .offset = 16, .type = HD_T_INT,
					      .source = HD_SRC_SUBSTRATE};
		cr_assert_eq(ff_add(&a.ff, &nohub, "ghost"), 0);
		applied_run(&a);
		cr_assert(synthetic_at(&a, NODE, key), "%s", who);
		cr_assert(synthetic_at(&a, NODE, hash), "%s", who);
		cr_assert(synthetic_at(&a, NODE, off_of(&a, NODE, "next")), "%s: a static named it", who);
		cr_assert(synthetic_at(&a, "java.util.HashMap", off_of(&a, "java.util.HashMap", "size")));
		if (hash_inside)
			cr_assert_str_eq(name_at(&a, NODE, idh, NULL), "<hash>", "%s: a field on the hash",
					 who);
		for (size_t i = 0; i < node->nfields; i++)
			cr_assert_eq(node->fields[i].named_by && !node->fields[i].slot, 0, "%s: %s", who,
				     a.t.names.v[node->fields[i].name]);
		cr_assert_eq(a.st.facts_kept[HD_SRC_SUBSTRATE], 0, "%s", who);
		cr_assert_eq(a.st.facts_dropped[HD_SRC_SUBSTRATE], 6u + hash_inside, "%s", who);
		cr_assert_eq(a.st.facts_dropped[HD_SRC_TRUFFLE], 2);
	}
}

/* A field belongs to the class that declares it: a subclass's fact on a
 * superclass's reference or named field is dropped, and an abstract class
 * lists its own names, checked against its subclasses' instances. */
Test(classes, inherited_fields_belong_to_the_superclass)
{
	struct applied a;
	EACH_PRESET(&a) {
		const char *who = a.r.h.p.name;
		const char *weak = "java.lang.ref.WeakReference", *ref = "java.lang.ref.Reference";
		unsigned queue = off_of(&a, ref, "queue");
		fact(&a, ref, queue, HD_T_OBJECT, HD_SRC_REFLECTION, "queue");
		fact(&a, weak, queue, HD_T_OBJECT, HD_SRC_SUBSTRATE, "queue");
		unsigned l = off_of(&a, "hdump.test.WithLong", "l");
		fact(&a, "hdump.test.WithLong", l, HD_T_LONG, HD_SRC_REFLECTION, "l");
		fact(&a, "hdump.test.FillsGap", l, HD_T_LONG, HD_SRC_SUBSTRATE, "l2");
		const char *amap = "java.util.AbstractMap", *map = "java.util.HashMap";
		fact(&a, amap, off_of(&a, map, "keySet"), HD_T_OBJECT, HD_SRC_REFLECTION, "keySet");
		fact(&a, amap, off_of(&a, map, "values"), 0, HD_SRC_REFLECTION, "values");
		fact(&a, map, off_of(&a, map, "table"), HD_T_OBJECT, HD_SRC_REFLECTION, "table");
		applied_run(&a);
		cr_assert_str_eq(name_at(&a, weak, queue, NULL), "queue", "%s", who);
		const struct hd_class *w = classes_named(&a.t, weak);
		for (size_t i = 0; i < w->nown; i++)
			cr_assert(w->own[i].offset != queue, "%s: WeakReference lists queue", who);
		cr_assert_str_eq(name_at(&a, "hdump.test.FillsGap", l, NULL), "l", "%s", who);
		cr_assert_eq(a.st.facts_dropped[HD_SRC_SUBSTRATE], 2, "%s", who);
		const struct hd_class *am = classes_named(&a.t, amap), *hm = classes_named(&a.t, map);
		cr_assert_eq(am->nown, 2, "%s: AbstractMap lists %zu fields", who, am->nown);
		cr_assert_eq(hm->super, (int32_t)(am - a.t.v));
		for (size_t i = 0; i < hm->nown; i++) {
			const char *n = a.t.names.v[hm->own[i].name];
			cr_assert(strcmp(n, "keySet") && strcmp(n, "values"), "%s: HashMap lists %s", who, n);
		}
		cr_assert_str_eq(name_at(&a, map, off_of(&a, map, "values"), NULL), "values");
		cr_assert_str_eq(name_at(&a, map, off_of(&a, map, "table"), NULL), "table");
		/* HashMap's monitor slot is no field of any class. */
		cr_assert_eq(a.st.super_skips, 0);
	}
}

/* A class whose name list is placed in full has no field but those: its
 * other bytes are padding, once its abstract superclasses are complete
 * too (an unnamed field of theirs would otherwise pass for padding). */
Test(classes, complete_name_list_leaves_padding_out)
{
	struct applied a;
	size_t with_padding = 0;
	EACH_PRESET(&a) {
		const char *list[] = {"elementData", "size", "EMPTY"}, *mod[] = {"modCount"};
		const char *al = "java.util.ArrayList", *abl = "java.util.AbstractList";
		const struct hd_class *c = classes_named(&a.t, al);
		cr_assert_eq(ff_add_list(&a.ff, c->hub, list, 3), 0);
		fact(&a, al, off_of(&a, al, "elementData"), HD_T_OBJECT, HD_SRC_PREDICTED, "elementData");
		fact(&a, al, off_of(&a, al, "size"), HD_T_INT, HD_SRC_PREDICTED, "size");
		struct hd_field_fact st = {.hub = c->hub, .offset = 16, .type = HD_T_OBJECT,
					   .source = HD_SRC_PREDICTED, .is_static = true};
		cr_assert_eq(ff_add(&a.ff, &st, "EMPTY"), 0);
		applied_run(&a);
		/* AbstractList's modCount is named by nobody: its bytes stay. */
		cr_assert_not(c->all_named, "%s", a.r.h.p.name);
		fact(&a, abl, off_of(&a, al, "modCount"), HD_T_INT, HD_SRC_PREDICTED, "modCount");
		applied_run(&a);
		/* Named, but AbstractList may have more fields: padding stays
		 * (in the layouts that have some). */
		size_t padding = java_fields(c) - 3;
		with_padding += padding > 0;
		cr_assert_eq(c->all_named, padding == 0, "%s", a.r.h.p.name);
		cr_assert_eq(ff_add_list(&a.ff, classes_named(&a.t, abl)->hub, mod, 1), 0);
		applied_run(&a);
		cr_assert_eq(java_fields(c) - 3, padding, "%s: AbstractCollection may have fields",
			     a.r.h.p.name);
		cr_assert_eq(ff_add_list(&a.ff, classes_named(&a.t, "java.util.AbstractCollection")->hub,
					 NULL, 0), 0);
		applied_run(&a);
		cr_assert(c->all_named, "%s", a.r.h.p.name);
		cr_assert_eq(java_fields(c), 3, "%s: %zu fields", a.r.h.p.name, java_fields(c));
	}
	cr_assert_gt(with_padding, 0, "no layout tells padding from fields");
}

/* Base, Middle and Leaf (sh_params.abstract_chain) named by facts, with
 * the name lists given, Middle's with the extra name EXTRA, Leaf's with
 * LEAF_EXTRA and Base's with BASE_EXTRA if not NULL; SEQUENTIAL: the facts
 * say the layout is 22.3's. */
static void chain_applied_leaf(struct applied *a, const struct sh_params *preset, bool lists,
			       const char *extra, const char *leaf_extra, const char *base_extra,
			       bool sequential)
{
	struct sh_params p = *preset;
	p.abstract_chain = true;
	applied_begin(a, &p);
	const char *base = "hdump.test.Base", *mid = "hdump.test.Middle", *leaf = "hdump.test.Leaf";
	const char *bl[] = {"flag", "b", base_extra}, *ml[] = {"m", extra};
	const char *ll[] = {"leaf", leaf_extra};
	fact(a, base, off_of(a, base, "flag"), HD_T_BYTE, HD_SRC_SUBSTRATE, "flag");
	fact(a, base, off_of(a, base, "b"), HD_T_OBJECT, HD_SRC_SUBSTRATE, "b");
	fact(a, mid, off_of(a, mid, "m"), HD_T_OBJECT, HD_SRC_SUBSTRATE, "m");
	fact(a, leaf, off_of(a, leaf, "leaf"), HD_T_OBJECT, HD_SRC_SUBSTRATE, "leaf");
	if (lists) {
		cr_assert_eq(ff_add_list(&a->ff, sh_class(&a->r.h, base)->hub, bl,
					 base_extra ? 3 : 2), 0);
		cr_assert_eq(ff_add_list(&a->ff, sh_class(&a->r.h, mid)->hub, ml, extra ? 2 : 1), 0);
		cr_assert_eq(ff_add_list(&a->ff, sh_class(&a->r.h, leaf)->hub, ll,
					 leaf_extra ? 2 : 1), 0);
	}
	a->ff.sequential_layout = sequential;
	applied_run(a);
}

static void chain_applied(struct applied *a, const struct sh_params *preset, bool lists,
			  const char *extra)
{
	chain_applied_leaf(a, preset, lists, extra, NULL, NULL, false);
}

/* Through an abstract superclass whose list is placed, a class with a
 * complete list inherits the fields of the nearest superclass with
 * instances (java.lang.reflect.Method, Executable, AccessibleObject): the
 * bytes none of them names are padding.  An unplaced name of the abstract
 * class keeps them. */
Test(classes, complete_below_an_abstract_class_leaves_padding_out)
{
	size_t with_padding = 0;
	for (size_t i = 0; i < NPRESETS; i++) {
		struct applied a;
		const char *who = PRESETS[i]->name;
		chain_applied(&a, PRESETS[i], false, NULL);
		size_t unlisted = java_fields(classes_named(&a.t, "hdump.test.Leaf"));
		with_padding += unlisted > 4;
		applied_end(&a);

		chain_applied(&a, PRESETS[i], true, NULL);
		const struct hd_class *c = classes_named(&a.t, "hdump.test.Leaf");
		cr_assert(c->all_named, "%s", who);
		cr_assert_eq(java_fields(c), 4, "%s: %zu fields", who, java_fields(c));
		applied_end(&a);

		chain_applied(&a, PRESETS[i], true, "gone");
		c = classes_named(&a.t, "hdump.test.Leaf");
		cr_assert_eq(java_fields(c), unlisted, "%s", who);
		applied_end(&a);
	}
	cr_assert_gt(with_padding, 0, "no layout has padding in the chain");
}

/* In 22.3's sequential layout the bytes below the end of a complete
 * superclass's fields are its own: padding, though the leaf's list has a
 * name nobody placed (java.lang.Character$UnicodeBlock below Subset).  Not
 * where the layout may fill a superclass's gaps. */
Test(classes, sequential_layout_pads_below_a_complete_superclass)
{
	struct applied a;
	chain_applied_leaf(&a, &sh_ce_22_3, true, NULL, "unplaced", NULL, false);
	size_t unpadded = java_fields(classes_named(&a.t, "hdump.test.Leaf"));
	applied_end(&a);
	cr_assert_gt(unpadded, 4, "22.3's Base has no padding");
	chain_applied_leaf(&a, &sh_ce_22_3, true, NULL, "unplaced", NULL, true);
	const struct hd_class *c = classes_named(&a.t, "hdump.test.Leaf");
	cr_assert_eq(java_fields(c), 4, "%zu fields", java_fields(c));
	cr_assert(c->all_named);
	applied_end(&a);
	/* An unplaced name of Middle lies after Base's fields: the padding
	 * stays padding.  One of Base's could be in it: nothing changes. */
	chain_applied_leaf(&a, &sh_ce_22_3, true, "gone", "unplaced", NULL, true);
	cr_assert_eq(java_fields(classes_named(&a.t, "hdump.test.Leaf")), 4);
	applied_end(&a);
	chain_applied_leaf(&a, &sh_ce_22_3, true, NULL, "unplaced", "gone", true);
	cr_assert_eq(java_fields(classes_named(&a.t, "hdump.test.Leaf")), unpadded);
	applied_end(&a);
}

/* More facts for one class than any class has fields: none is believed
 * (each would otherwise be checked against all the others). */
Test(classes, too_many_facts_for_a_class_are_dropped)
{
	struct applied a;
	EACH_PRESET(&a) {
		unsigned key = off_of(&a, NODE, "key");
		for (int i = 0; i < 2049; i++)
			fact(&a, NODE, key, HD_T_OBJECT, HD_SRC_SUBSTRATE, "key");
		applied_run(&a);
		cr_assert(synthetic_at(&a, NODE, key), "%s", a.r.h.p.name);
		cr_assert_eq(a.st.facts_dropped[HD_SRC_SUBSTRATE], 2049);
	}
}

/* Without superclass links every class stands alone: its fields still
 * describe all of its instance bytes (java.lang.Object's but none). */
Test(classes, no_superclass_links_still_fields)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture r;
		struct hd_classes t;
		setup(&r, PRESETS[i]);
		r.L.hub_super = -1;
		cr_assert_eq(classes_build(&t, r.mv, &r.L, r.hubs, r.nhubs), 0);
		const struct hd_class *node = classes_named(&t, NODE);
		cr_assert_eq(node->jsuper, -1);
		cr_assert_not_null(field_at(node, sh_field(&r.h, NODE, "next")), "%s", r.h.p.name);
		cr_assert_str_eq(t.names.v[field_at(classes_named(&t, "java.lang.String"),
						     r.L.str_value)->name], "value");
		cr_assert_eq(java_fields(classes_named(&t, "java.lang.Object")), 0);
		classes_free(&t);
		teardown(&r);
	}
}

/* ---- Slots and padding ---------------------------------------------------- */

static void put_u16(struct sh_heap *h, uint64_t at, uint16_t v) { memcpy(sh_ptr(h, at), &v, 2); }

/* The generator writes no monitor offsets: the last u16 of the hubs' fixed
 * part, zero in every hub, becomes the slot that holds them. */
static void monitor_slot(struct fixture *r)
{
	unsigned slot = r->h.p.hub_fixed - 2;
	for (size_t k = 0; k < r->nhubs; k++) {
		uint16_t v;
		memcpy(&v, sh_ptr(&r->h, r->hubs[k] + slot), 2);
		cr_assert_eq(v, 0, "%s: hub slot %u is in use", r->h.p.name, slot);
	}
	r->L.hub_monitor = (int)slot;
}

/* Gives class CLS the monitor slot at OFF (a slot of its reference map). */
static void set_monitor(struct fixture *r, const char *cls, unsigned off)
{
	put_u16(&r->h, sh_class(&r->h, cls)->hub + (unsigned)r->L.hub_monitor, (uint16_t)off);
}

static const struct hd_field *own_at(const struct hd_class *c, unsigned off)
{
	for (size_t i = 0; i < c->nown; i++)
		if (c->own[i].offset == off)
			return &c->own[i];
	return NULL;
}

/* HashMap's monitor slot (a reference of its map the image builder added)
 * is HashMap's own <monitor> reference, not a ref@ field, and its hash its
 * own <hash> int, or java.lang.Object's where every object has it at one
 * offset (22.3).  Neither stands in the class's sources of names. */
Test(classes, monitor_and_hash_are_slots_of_their_class)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture r;
		struct hd_classes t;
		setup(&r, PRESETS[i]);
		const char *who = r.h.p.name;
		monitor_slot(&r);
		unsigned m = sh_field(&r.h, "java.util.HashMap", "$monitor");
		set_monitor(&r, "java.util.HashMap", m);
		cr_assert_eq(classes_build(&t, r.mv, &r.L, r.hubs, r.nhubs), 0, "%s: %s", who,
			     hd_error_message());
		const struct hd_class *hm = classes_named(&t, "java.util.HashMap");
		const struct hd_field *f = own_at(hm, m);
		cr_assert(f && is_slot(&t, f, HD_SLOT_MONITOR), "%s: no <monitor> at %u", who, m);
		cr_assert_eq(hm->named_by & (1u << HD_SRC_LAYOUT), 0, "%s: a slot counts as a name",
			     who);
		unsigned h = hash_off_of(&r.L, hm);
		const struct hd_class *object = classes_named(&t, "java.lang.Object");
		if (r.L.hub_idhash < 0) {
			/* One offset in every object: java.lang.Object's slot. */
			cr_assert(own_at(object, h) && is_slot(&t, own_at(object, h), HD_SLOT_HASH), "%s",
				  who);
			cr_assert_null(own_at(hm, h), "%s: HashMap lists the hash again", who);
			cr_assert(is_slot(&t, field_at(hm, h), HD_SLOT_HASH), "%s", who);
		} else if (h + 4 <= hm->fixed_size) {
			cr_assert(own_at(hm, h) && is_slot(&t, own_at(hm, h), HD_SLOT_HASH), "%s", who);
			/* Object's hash is where its subclasses have fields. */
			cr_assert_eq(object->nfields, 0, "%s", who);
		}
		classes_free(&t);
		teardown(&r);
	}
}

/* CE 25: WithLong made to have its monitor where its subclass FillsGap has
 * the reference r, and its hash where FillsGap has its own: the <monitor>
 * is left out of WithLong (HPROF would make FillsGap inherit it over r, so
 * its value goes unwritten), the <hash> stays WithLong's and FillsGap
 * inherits it, and WithLong stays FillsGap's HPROF super. */
Test(classes, slot_a_subclass_reuses_is_left_out)
{
	struct fixture r;
	struct hd_classes t;
	setup(&r, &sh_ce_25);
	monitor_slot(&r);
	const struct sh_class *wl = sh_class(&r.h, "hdump.test.WithLong");
	const struct sh_class *fg = sh_class(&r.h, "hdump.test.FillsGap");
	unsigned rr = sh_field(&r.h, "hdump.test.FillsGap", "r");
	cr_assert_eq(fg->size, 32);
	cr_assert_eq(fg->idhash_off, 24, "the generator no longer places FillsGap's hash at 24");
	put_i32(&r.h, wl->hub + r.L.hub_enc, 32);
	put_i32(&r.h, wl->hub + r.L.hub_refmap, (uint32_t)fg->refmap_index);
	put_u16(&r.h, wl->hub + (unsigned)r.L.hub_idhash, 24);
	set_monitor(&r, "hdump.test.WithLong", rr);
	cr_assert_eq(classes_build(&t, r.mv, &r.L, r.hubs, r.nhubs), 0, "%s", hd_error_message());
	const struct hd_class *w = classes_named(&t, "hdump.test.WithLong");
	const struct hd_class *g = classes_named(&t, "hdump.test.FillsGap");
	cr_assert_eq(g->super, (int32_t)(w - t.v));
	cr_assert_null(field_at(w, rr), "WithLong has a field over FillsGap.r");
	cr_assert(own_at(w, 24) && is_slot(&t, own_at(w, 24), HD_SLOT_HASH));
	cr_assert_null(own_at(g, 24), "FillsGap lists the hash it inherits");
	const struct hd_field *f = own_at(g, rr);
	cr_assert(f && f->type == HD_T_OBJECT && f->slot == HD_SLOT_NONE);
	/* l as two i32 chunks (nobody names it), the hash; after the monitor
	 * slot, the hash then padding. */
	cr_assert_eq(w->nfields, 3, "WithLong: %zu fields", w->nfields);
	cr_assert_eq(java_fields(w), 2);
	cr_assert(field_at(w, 8) && field_at(w, 12) && !field_at(w, 28));
	classes_free(&t);
	teardown(&r);
}

/* CE 25's String: its hash at 24 ends a 32-byte instance, so 28..31 are
 * padding (no field); 22..23 may hold a short, so keep their i16@22. */
Test(classes, bytes_after_an_appended_hash_are_padding)
{
	struct fixture r;
	struct hd_classes t;
	setup(&r, &sh_ce_25);
	const struct hd_class *s;
	cr_assert_eq(classes_build(&t, r.mv, &r.L, r.hubs, r.nhubs), 0, "%s", hd_error_message());
	s = classes_named(&t, "java.lang.String");
	cr_assert_eq(s->idhash_off, 24, "the generator no longer places String's hash at 24");
	cr_assert_eq(s->fixed_size, 32);
	cr_assert(is_slot(&t, own_at(s, 24), HD_SLOT_HASH));
	cr_assert_null(field_at(s, 28), "a field on String's padding");
	cr_assert_str_eq(t.names.v[field_at(s, 22)->name], "i16@22");
	classes_free(&t);
	teardown(&r);
}

/* Where the bytes after the hash could be a long (a hash at 4 mod 8, placed
 * in the alignment gap of an 8-byte field, or more than 4 bytes after a
 * hash at 0 mod 8), or the hash is the optional one of 4-byte-reference
 * builds, they keep their kind@offset names. */
Test(classes, bytes_after_a_hash_that_may_precede_a_field_keep_names)
{
	const struct {
		const struct sh_params *p;
		const char *cls;
		unsigned hash, size;
	} cases[] = {
		{&sh_ce_25, "java.lang.Integer", 12, 24},
		{&sh_ce_25, "java.lang.String", 24, 40},
		{&sh_oracle_21, "java.lang.Integer", 8, 16},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fixture r;
		struct hd_classes t;
		setup(&r, cases[i].p);
		uint64_t hub = sh_class(&r.h, cases[i].cls)->hub;
		put_i32(&r.h, hub + r.L.hub_enc, cases[i].size);
		put_u16(&r.h, hub + (unsigned)r.L.hub_idhash, (uint16_t)cases[i].hash);
		cr_assert_eq(classes_build(&t, r.mv, &r.L, r.hubs, r.nhubs), 0, "%s",
			     hd_error_message());
		const struct hd_class *c = classes_named(&t, cases[i].cls);
		for (unsigned j = cases[i].hash + 4; j < cases[i].size; j += 4) {
			const struct hd_field *f = field_at(c, j);
			cr_assert(f && !f->named_by && f->type == HD_T_INT, "%s %s: no i32@%u", r.h.p.name,
				  cases[i].cls, j);
		}
		classes_free(&t);
		teardown(&r);
	}
}

/* Nothing but the hash follows an 8-byte monitor slot: bytes past it are
 * padding (CE 22.3, 25); with 4-byte references a monitor may fill a gap,
 * so they keep their names. */
Test(classes, bytes_after_the_monitor_are_padding_with_8_byte_references)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture r;
		struct hd_classes t;
		setup(&r, PRESETS[i]);
		monitor_slot(&r);
		const struct sh_class *hm = sh_class(&r.h, "java.util.HashMap");
		unsigned m = sh_field(&r.h, "java.util.HashMap", "$monitor");
		set_monitor(&r, "java.util.HashMap", m);
		unsigned size = hm->size + 8; /* 8 more bytes than the generator made */
		put_i32(&r.h, hm->hub + r.L.hub_enc, size);
		cr_assert_eq(classes_build(&t, r.mv, &r.L, r.hubs, r.nhubs), 0, "%s",
			     hd_error_message());
		const struct hd_class *c = classes_named(&t, "java.util.HashMap");
		unsigned h = hash_off_of(&r.L, c);
		for (unsigned j = m + r.L.ref_size; j < size; j++) {
			const struct hd_field *f = NULL;
			for (size_t k = 0; k < c->nfields; k++)
				if (j >= c->fields[k].offset &&
				    j < c->fields[k].offset + (c->fields[k].type == HD_T_OBJECT
								   ? r.L.ref_size
								   : hd_type_size(c->fields[k].type)))
					f = &c->fields[k];
			if (r.L.ref_size == 8)
				cr_assert(!f || (f->offset == h && is_slot(&t, f, HD_SLOT_HASH)),
					  "%s: a field after the monitor at %u", r.h.p.name, j);
			else if (j < h || j >= h + 4)
				cr_assert(f && !f->named_by, "%s: byte %u after the monitor unnamed",
					  r.h.p.name, j);
		}
		classes_free(&t);
		teardown(&r);
	}
}
