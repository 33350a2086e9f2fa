/* Field names from the runtime compiler's field objects: every image that
 * can compile at run time (Truffle languages) keeps one SubstrateField
 * (22.3) or SubstrateTruffleField (23.1, 25) per field the compiler may
 * touch, with its declaring type, field type, name, modifiers and location
 * (the instance offset, or the offset in the statics arrays).  The image
 * does not say where in those objects each of these sits: the slots are
 * chosen by how well the locations fit the declaring classes' reference
 * maps over all objects, and nothing is said when no choice fits. */
#ifndef HD_SUBSTRATEFIELDS_H
#define HD_SUBSTRATEFIELDS_H

#include "fieldfacts.h"
#include "fieldobjs.h"

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

/* hd_field_source_fn: HD_SRC_SUBSTRATE facts from the image heap. */
HD_MUST_CHECK int substratefields_facts(struct hd_field_facts *ff,
					const struct hd_names_input *in);

#endif
