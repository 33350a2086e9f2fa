/* Field names from the runtime compiler's field objects: every image that
 * can compile at run time (Truffle languages) keeps one SubstrateField
 * (22.3) or SubstrateTruffleField (23.1, 25) per field the compiler may
 * touch, with its declaring type, field type, name, modifiers and location
 * (the instance offset, or the offset in the statics arrays).  The image
 * does not say where in those objects each of these sits: the slots are
 * chosen by how well the locations fit the declaring classes' reference
 * maps over all objects, and nothing is said when no choice fits.  Each
 * SubstrateType's array of all its instance fields then gives the classes
 * of its superclass chain their complete field sets (name lists), which
 * let symbols/classes.c tell padding from unnamed fields. */
#ifndef HD_SUBSTRATEFIELDS_H
#define HD_SUBSTRATEFIELDS_H

#include "fieldfacts.h"
#include "fieldobjs.h"
#include "hybridfields.h"

/* The reference slot of SubstrateType rows that holds the type's
 * DynamicHub: of the slots that lead to a class in (nearly) every row,
 * the one that leads to the most different classes (the other hub
 * reference, the unique concrete implementation, is often null or
 * repeats).  -1 when no slot leads to classes, or two that disagree lead
 * to as many; -2 with HD_E_INTERNAL (out of memory). */
long substratefields_hub_slot(const struct fo_rows *types);

/* Decodes the field objects ROWS (their type references already resolved
 * to the types' classes) into facts of FF.  Errors: HD_E_INTERNAL, HD_E_INTERRUPTED. */
HD_MUST_CHECK int substratefields_decode(struct hd_field_facts *ff, const struct fo_rows *rows,
					 const struct fo_geom *g,
					 struct fo_result *res);

/* One SubstrateType's rawAllInstanceFields: the field objects (their
 * addresses) of every instance field of CLS that has storage, its
 * superclasses' included.  The image builder rebuilds that array from the
 * laid-out class (22.3, 25: GraalObjectReplacer
 * .updateSubstrateDataAfterCompilation; a type of at most one field keeps
 * the array of the analysis, a superset), so each class of CLS's
 * superclass chain declares exactly the fields the array gives it. */
struct sf_type_fields {
	const struct hd_class *cls;
	const uint64_t *fields;
	size_t n;
};

/* How the instances of a hybrid class are seen, to check what its type's
 * list says of its hybrid parts (hybridfields.h): OBSERVE fills *O (N,
 * malloc'd) for class C laid out as P; 0, or -1 with HD_E_INTERNAL. */
struct sf_hybrid {
	unsigned len_off; /* the array length's offset, from layout discovery */
	int (*observe)(void *ctx, const struct hd_class *c, const struct hybrid_parts *p,
		       struct hybrid_obs **o, size_t *n);
	void *ctx;
};

/* Adds the name list of each class of each type's chain (CLS, its jsuper,
 * ...): the names of the type's fields that class declares, possibly
 * none, as refined lists (fieldfacts.h: the arrays hold no statics).
 * The field objects are the decoded candidates CANDS, at ADDR[i] (N of
 * them).  A type is left out when one of its fields is not a decoded
 * instance field with a name, declared in its chain, or when one class
 * would have a name twice; a class two types give different names gets
 * no list.  With HY, a hybrid class whose fields without a location prove
 * its hybrid parts, as its instances confirm, gets them as facts, and
 * the names of their storage ("vtable.length", "typeCheckSlots[0]", ...)
 * in its list for the fields' names.  Errors: HD_E_INTERNAL,
 * HD_E_INTERRUPTED. */
HD_MUST_CHECK int substratefields_lists(struct hd_field_facts *ff, const struct hd_classes *t,
					const struct sf_type_fields *types, size_t ntypes,
					const uint64_t *addr, const struct fo_cand *cands,
					size_t n, const struct sf_hybrid *hy);

/* hd_field_source_fn: HD_SRC_SUBSTRATE facts from the image heap. */
HD_MUST_CHECK int substratefields_facts(struct hd_field_facts *ff,
					const struct hd_names_input *in);

#endif
