/* Crafted inputs for the decoders of field-describing objects
 * (symbols/fieldobjs.h): a small class table built in memory (no image
 * heap), and rows of objects whose reference slots are resolved by hand,
 * so a test says exactly what each slot holds, hostile values included. */
#ifndef HD_TEST_FIELDCRAFT_H
#define HD_TEST_FIELDCRAFT_H

#include "../../symbols/classes.h"
#include "../../symbols/fieldobjs.h"

#include <stddef.h>
#include <stdint.h>

#define FC_MAX_CLASSES 32
#define FC_MAX_REFS 16

struct fc_table {
	struct hd_classes t;
	struct hd_class v[FC_MAX_CLASSES];
	struct hd_field fields[FC_MAX_CLASSES][FC_MAX_REFS];
};

void fc_table_init(struct fc_table *k);

/* Adds a class NAME (a string literal) of KIND with fields' bytes up to
 * SIZE, reference slots at REFS[0..NREFS) (ascending) and Java superclass
 * JSUPER (-1: none); its hub is 0x10000 + 0x100 * its index. */
const struct hd_class *fc_class(struct fc_table *k, const char *name, enum hd_class_kind kind,
				uint32_t size, int32_t jsuper, const unsigned *refs, size_t nrefs);

/* N zeroed rows of SIZE bytes with reference slots REF_OFF[0..NREFS),
 * each FO_NULL.  Freed with fo_rows_free. */
void fc_rows(struct fo_rows *r, size_t n, unsigned size, const unsigned *ref_off, size_t nrefs);

void fc_ref(struct fo_rows *r, size_t i, size_t k, enum fo_ref_kind kind,
	    const struct hd_class *cls, const char *str);
void fc_u32(struct fo_rows *r, size_t i, unsigned off, uint32_t v);
void fc_u64(struct fo_rows *r, size_t i, unsigned off, uint64_t v);

/* The facts of FF for class C as "name@offset:type" (statics
 * "static name@..."), by offset, space-separated, in a static buffer. */
const char *fc_facts(const struct hd_field_facts *ff, const struct hd_class *c);

/* One decoding on crafted rows: rows, geometry, the facts and result. */
struct fc_run {
	struct fo_rows r;
	struct fo_geom g;
	struct hd_field_facts ff;
	struct fo_result res;
};
typedef int (*fc_decoder)(struct hd_field_facts *ff, const struct fo_rows *rows,
			  const struct fo_geom *g, struct fo_result *res);

/* Runs FN on X's rows into X's (fresh) facts, which must not fail. */
void fc_decode(struct fc_run *x, fc_decoder fn);
void fc_done(struct fc_run *x);

/* Asserts the slots X's decoding chose, by offset (MODS -1: none). */
void fc_expect_slots(const struct fc_run *x, unsigned name, unsigned decl, unsigned type,
		     unsigned loc, int mods);

/* Decodes (fc_decode), runs EXPECT(SKIPPED), frees X (fc_done). */
void fc_decode_check(struct fc_run *x, fc_decoder fn, void (*expect)(size_t), size_t skipped);

/* Asserts that X's decoding chose slots, added facts only from SRC, none
 * named "evil" (what the tests call their hostile objects), and left out
 * SKIPPED objects. */
void fc_expect_found(const struct fc_run *x, enum hd_field_source src, size_t skipped);

#endif
