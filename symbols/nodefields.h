/* Field names from Truffle's node classes: each NodeClassImpl keeps a
 * NodeFieldData per field of its node class (inherited ones included):
 * kind, type, name, declaring class and the field's offset as the image
 * laid it out.  Which slot of NodeFieldData holds which is chosen, as for
 * substratefields.h, by how well the offsets fit the declaring classes'
 * reference maps over all records. */
#ifndef HD_NODEFIELDS_H
#define HD_NODEFIELDS_H

#include "fieldfacts.h"
#include "fieldobjs.h"

/* Decodes the NodeFieldData rows ROWS into facts of FF (one per field,
 * however many node classes inherit it).  Errors: HD_E_INTERNAL, HD_E_INTERRUPTED. */
HD_MUST_CHECK int nodefields_decode(struct hd_field_facts *ff, const struct fo_rows *rows,
				    const struct fo_geom *g, struct fo_result *res);

/* hd_field_source_fn: HD_SRC_TRUFFLE facts from the image heap. */
HD_MUST_CHECK int nodefields_facts(struct hd_field_facts *ff, const struct hd_names_input *in);

#endif
