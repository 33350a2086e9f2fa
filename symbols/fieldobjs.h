/* What the field-describing objects of an image heap have in common
 * (SubstrateField, Truffle's NodeFieldData): a declaring class, a field
 * type, a name and a location, in slots of their own class whose offsets a
 * stripped image does not tell.  The sources read every instance into rows
 * (the raw bytes plus each reference slot resolved: a String, a class, or
 * something else), then try slot assignments and keep the one whose
 * locations fit the declaring classes' reference maps.  This module holds
 * the rows, the fit of one location, the score of an assignment and the
 * emission of the facts; the sources hold which slots they try. */
#ifndef HD_FIELDOBJS_H
#define HD_FIELDOBJS_H

#include "classes.h"
#include "fieldfacts.h"
#include "../common/hd_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fo_ref_kind { FO_NULL, FO_STRING, FO_HUB, FO_OTHER };

/* One reference slot of one object, resolved. */
struct fo_ref {
	uint8_t kind;                 /* enum fo_ref_kind */
	const struct hd_class *cls;   /* FO_HUB: the class the reference stands for */
	const char *str;              /* FO_STRING: its text */
};

/* The instances of one class: N rows of SIZE raw bytes, and for each the
 * NREFS reference slots (at REF_OFF, ascending) resolved. */
struct fo_rows {
	size_t n;
	unsigned size;
	uint64_t *addr;               /* where each object is */
	uint8_t *bytes;
	size_t nrefs;
	unsigned *ref_off;
	struct fo_ref *refs;
	char **strs;                  /* the texts the refs point to, owned */
	size_t nstrs;
};

static inline const uint8_t *fo_row(const struct fo_rows *r, size_t i)
{
	return r->bytes + i * r->size;
}
static inline const struct fo_ref *fo_ref_at(const struct fo_rows *r, size_t i, size_t k)
{
	return &r->refs[i * r->nrefs + k];
}

/* Where fields may lie: past the object header; references are REF_SIZE.
 * A field of a class without instances of its own (abstract) is checked
 * in a class that has some: REP[k] is, for class k of T, a class with
 * instances among k and its subclasses (-1: none), whose bytes hold k's
 * fields at the same offsets. */
struct fo_geom {
	unsigned hdr;
	unsigned ref_size;
	const struct hd_classes *t;
	int32_t *rep;
};

/* Errors: HD_E_INTERNAL.  G is to be freed with fo_geom_free. */
HD_MUST_CHECK int fo_geom_init(struct fo_geom *g, const struct hd_classes *t, unsigned hdr,
			       unsigned ref_size);
void fo_geom_free(struct fo_geom *g);

/* One field as an assignment of slots reads it. */
struct fo_cand {
	const struct hd_class *decl; /* NULL: not a class */
	const struct hd_class *type; /* NULL: not a class */
	const char *name;            /* NULL: not a String */
	int64_t loc;
	bool is_static;
};

/* Does DECL's instance field at LOC, of type T, fit its class (or, for a
 * class without instances, its representative): inside its fields' bytes,
 * and a reference exactly where the class has one? */
bool fo_instance_fits(const struct hd_class *decl, int64_t loc, enum hd_type t,
		      const struct fo_geom *g);

/* How well an assignment's candidates fit. */
struct fo_score {
	size_t instance;   /* instance fields with a class, a type and a name */
	size_t ref_typed, ref_ok;   /* of those, reference-typed; landing on a ref slot */
	size_t prim_typed, prim_ok; /* primitive-typed; landing off ref slots, inside */
	size_t statics;
};
void fo_score(const struct fo_cand *c, size_t n, const struct fo_geom *g, struct fo_score *s);
static inline size_t fo_fits_total(const struct fo_score *s) { return s->ref_ok + s->prim_ok; }

/* An assignment is believed only when nearly all of its instance fields
 * fit (wrong slots fit by chance far less often) and there are enough of
 * them to tell. */
bool fo_score_trusted(const struct fo_score *s);

/* The reference slot that holds a String in (nearly) every row; -1 when
 * no slot does or several do. */
long fo_string_slot(const struct fo_rows *r);

/* Whether reference slot K leads to a class in (nearly) every row. */
bool fo_hub_slot(const struct fo_rows *r, size_t k);

/* "Nearly every one of N": a rare object built differently (or damaged)
 * must not hide a slot, but a slot that holds its kind only by chance must
 * not pass. */
static inline bool fo_nearly_all(size_t count, size_t n)
{
	return n > 0 && count * 100 >= n * 99;
}

/* A choice of slots: reference slots NAME, DECL, TYPE (indexes into
 * fo_rows.ref_off), the location word at byte LOC (LOC_WIDTH bytes,
 * signed) and the modifiers int at byte MODS (-1: none, every field is an
 * instance field). */
struct fo_assign {
	size_t name, decl, type;
	unsigned loc, loc_width;
	int mods;
	struct fo_score score;
};

/* Java's field modifier bits (public ... synthetic, enum); a word holding
 * anything else is not a modifiers word. */
#define FO_FIELD_MODIFIERS 0x50dfu
#define FO_ACC_STATIC 0x8u

enum fo_search_result { FO_FOUND, FO_NO_NAME, FO_NONE_FITS, FO_AMBIGUOUS };

/* Tries every assignment: the String slot as name; DECL and TYPE among
 * the slots that lead to classes; the location among the LOC_WIDTH-byte
 * words off the reference slots; with WITH_MODS, the modifiers among the
 * ints whose values are (nearly) all Java field modifiers, not all zero.
 * Keeps the one whose instance fields fit best, if it is trusted
 * (fo_score_trusted) and no assignment with another location, class or
 * type slot fits as well; more than a few candidate class slots or
 * modifiers words are ambiguous.  *OUT is the best one found in any case.
 * Errors (-1): HD_E_INTERNAL, HD_E_INTERRUPTED. */
HD_MUST_CHECK int fo_search(const struct fo_rows *r, const struct fo_geom *g, unsigned loc_width,
			    bool with_mods, struct fo_assign *out,
			    enum fo_search_result *result);

/* The fields row by row as assignment A reads them (N = R->n entries). */
HD_MUST_CHECK int fo_candidates(const struct fo_rows *r, const struct fo_assign *a,
				struct fo_cand **out);

/* Adds the facts of the candidates that fit (instance fields by
 * fo_instance_fits; statics at a positive location aligned to their
 * type), each field once: candidates that name one place differently, or
 * put one name of a class in two places, are all dropped.  *SKIPPED
 * counts the candidates left out.  Errors: HD_E_INTERNAL. */
HD_MUST_CHECK int fo_emit(struct hd_field_facts *ff, const struct fo_cand *c, size_t n,
			  enum hd_field_source src, const struct fo_geom *g, size_t *added,
			  size_t *skipped);

/* A reference that lands on an object of the class an alias names stands
 * for the alias's class (a SubstrateType for its DynamicHub). */
struct fo_alias {
	uint64_t addr;
	const struct hd_class *cls;
};

/* Reads the instances of C from the image heap of IN: each reference slot
 * resolved (a String's text, a DynamicHub or an alias's class, else
 * FO_OTHER).  ALIASES is sorted by address (or NULL).  An instance that
 * does not read leaves a row of FO_OTHER.  Errors: HD_E_INTERRUPTED,
 * HD_E_INTERNAL, HD_E_LAYOUT (C has no instance layout). */
HD_MUST_CHECK int fo_read_rows(const struct hd_names_input *in, const struct hd_class *c,
			       const struct fo_alias *aliases, size_t naliases,
			       struct fo_rows *out);
void fo_rows_free(struct fo_rows *r);

/* What decoding one class's field objects gave. */
struct fo_result {
	enum fo_search_result found;
	struct fo_assign slots;
	size_t added, statics, skipped;
};

/* Chooses the slots of ROWS (fo_search) and, when trusted, adds the facts
 * they give (fo_emit) with source SRC.  Errors: HD_E_INTERNAL,
 * HD_E_INTERRUPTED. */
HD_MUST_CHECK int fo_decode(struct hd_field_facts *ff, const struct fo_rows *rows,
			    const struct fo_geom *g, unsigned loc_width, bool with_mods,
			    enum hd_field_source src, struct fo_result *res);

/* One --verbose line on RES for the N objects of WHAT. */
void fo_report(FILE *log, const char *what, const struct fo_rows *rows,
	       const struct fo_result *res);

/* What a source does with the objects it decoded, past their facts (CTX
 * is its own).  Errors: HD_E_INTERNAL, HD_E_INTERRUPTED. */
typedef int (*fo_then_fn)(struct hd_field_facts *ff, const struct hd_names_input *in,
			  const struct fo_rows *rows, const struct fo_result *res,
			  const void *ctx);

/* Reads the instances of the class named NAME (none: nothing to do),
 * decodes them (fo_decode), reports, and when slots were found runs THEN
 * (NULL: nothing more).  Data that does not decode is reported and left
 * out; only HD_E_INTERRUPTED and HD_E_INTERNAL fail. */
HD_MUST_CHECK int fo_source(struct hd_field_facts *ff, const struct hd_names_input *in,
			    const char *name, const struct fo_alias *aliases, size_t naliases,
			    unsigned loc_width, bool with_mods, enum hd_field_source src,
			    fo_then_fn then, const void *ctx);

/* Whether the error recorded must fail the dump (HD_E_INTERNAL,
 * HD_E_INTERRUPTED); otherwise it is logged to LOG with WHAT and cleared. */
bool fo_error_propagates(FILE *log, const char *what);

#endif
