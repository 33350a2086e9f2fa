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

static const struct hd_field *field_at(const struct hd_class *c, uint32_t off)
{
	for (size_t i = 0; i < c->nfields; i++)
		if (c->fields[i].offset == off)
			return &c->fields[i];
	return NULL;
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
		 * belongs to one, and so does every other byte but the identity
		 * hash's and padding a subclass puts a field in. */
		uint8_t owner[256] = {0};
		cr_assert_eq(c->fixed_size, want->size);
		for (size_t i = 0; i < c->nfields; i++) {
			const struct hd_field *f = &c->fields[i];
			unsigned len = f->type == HD_T_OBJECT ? p->ref_size : hd_type_size(f->type);
			cr_assert_geq(f->offset, p->hdr_size, "%s: field in the header", want->name);
			cr_assert_leq(f->offset + len, c->fixed_size, "%s: field past the end", want->name);
			for (unsigned j = 0; j < len; j++)
				cr_assert_eq(owner[f->offset + j]++, 0, "%s: fields overlap at %u",
					     want->name, f->offset + j);
		}
		uint8_t generated[256] = {0};
		for (unsigned i = 0; i < want->nfields; i++) {
			const struct sh_field *sf = &want->fields[i];
			unsigned len = sf->kind == 'I' ? 4 : sf->kind == 'B' ? 1 : sf->kind == 'J' ? 8
				     : sf->kind && strchr("RXP", sf->kind) ? p->ref_size : 0;
			memset(generated + sf->off, 1, len);
		}
		unsigned h = r.L.hub_idhash >= 0 ? c->idhash_off : r.L.idhash_fixed_off;
		bool gap_filled = strcmp(want->name, "hdump.test.WithLong") == 0 && p->ref_size == 8;
		for (unsigned j = p->hdr_size; j < c->fixed_size; j++) {
			bool hash = j >= h && j < h + 4;
			cr_assert(owner[j] || (!generated[j] && (hash || gap_filled)),
				  "%s.%s: byte %u not covered", p->name, want->name, j);
			cr_assert(!owner[j] || !hash, "%s.%s: a field on the hash at %u", p->name,
				  want->name, j);
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
	cr_assert(f && f->type == HD_T_OBJECT && strcmp(t.interned[f->name], "value") == 0);
	f = field_at(s, (uint32_t)r.L.str_hash);
	cr_assert(f && f->type == HD_T_INT && strcmp(t.interned[f->name], "hash") == 0);
	f = field_at(s, (uint32_t)r.L.str_coder);
	cr_assert(f && f->type == HD_T_BYTE && strcmp(t.interned[f->name], "coder") == 0);
	const struct hd_class *integer = classes_named(&t, "java.lang.Integer");
	f = field_at(integer, sh_field(&r.h, "java.lang.Integer", "value"));
	cr_assert(f && f->type == HD_T_INT && strcmp(t.interned[f->name], "value") == 0);
	/* FillsGap.r lies in WithLong's identity-hash slot with 4-byte
	 * references (the long leaves a gap): no field of WithLong's is there,
	 * so the HPROF super is the Java superclass.  With 8-byte references in
	 * CE 25 it covers WithLong's hash and padding, on which WithLong has a
	 * synthetic field: that superclass does not fit and is skipped. */
	const struct hd_class *with_long = classes_named(&t, "hdump.test.WithLong");
	const struct hd_class *fills = classes_named(&t, "hdump.test.FillsGap");
	unsigned r_off = sh_field(&r.h, "hdump.test.FillsGap", "r");
	if (p->ref_size == 4)
		cr_assert_eq(r_off, with_long->idhash_off, "%s: the generator no longer fills "
			     "WithLong's gap", p->name);
	bool overlap = false;
	for (size_t i = 0; i < with_long->nfields; i++) {
		const struct hd_field *wf = &with_long->fields[i];
		unsigned len = wf->type == HD_T_OBJECT ? p->ref_size : hd_type_size(wf->type);
		overlap = overlap || (wf->offset < r_off + p->ref_size && r_off < wf->offset + len);
	}
	cr_assert(p->ref_size == 8 || !overlap, "%s: WithLong has a field on its hash", p->name);
	cr_assert_str_eq(t.v[fills->super].name, overlap ? "java.lang.Object" : "hdump.test.WithLong",
			 "%s: FillsGap's HPROF super", p->name);
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
		cr_assert_str_eq(t.interned[f->name], "referent", "%s", PRESETS[i]->name);
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
