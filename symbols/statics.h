/* Static fields.  SubstrateVM keeps every static field that is ever written
 * in one of two image-heap arrays: references in an Object[], primitives
 * packed into a byte[]; a field's location is its byte offset from the
 * array's start (StaticFieldsSupport, UniverseBuilder.layoutStaticFields).
 * Compiled code reaches them as constants, so nothing in the heap points at
 * them (22.3 to 25, non-layered images).  This module finds the two arrays
 * and decides which class declares which slot, from the static facts of
 * the name sources (fieldfacts.h), each checked against the arrays.  The
 * writer reads the values when it dumps: in a process they are the running
 * program's, not the executable's. */
#ifndef HD_STATICS_H
#define HD_STATICS_H

#include "fieldfacts.h"
#include "../common/hd_error.h"

#include <stddef.h>
#include <stdint.h>

struct hd_static {
	uint32_t offset;  /* in its array, array header included */
	uint8_t type;     /* enum hd_type: OBJECT lives in the Object[], others in the byte[] */
	uint32_t name;    /* index into hd_statics.names */
};

/* One of the two arrays: [start, end) of its elements, relative to the
 * array's address. */
struct hd_statics_array {
	uint64_t addr;    /* 0: not found */
	uint32_t start, end;
	unsigned elem;    /* element size: the reference size, or 1 */
};

struct hd_statics {
	struct hd_statics_array objects, prims;
	struct hd_static *v; /* per class, references first, each by offset */
	size_t n;
	size_t *first;       /* class k of the table: v[first[k] .. first[k+1]); NULL: none */
	size_t nclasses;
	char **names;        /* each distinct name once */
	size_t nnames;
	/* For --verbose and --json. */
	uint64_t classes;      /* classes with at least one static */
	uint64_t facts_dropped; /* static facts refused: outside, misaligned, contradicted */
	uint64_t unattributed_refs;  /* Object[] slots no accepted static claims */
	uint64_t unattributed_bytes; /* byte[] bytes no accepted static covers */
};

/* Finds the two arrays of IN's image heap among the Object[]s and byte[]s
 * no image object references (ImageHeapInfo's partition bounds aside) that
 * reach every static fact of FF of their kind (those on their element
 * grid): the largest such Object[] when no other is as large, the byte[]
 * only when it is the one left once its boolean facts read 0 or 1 there
 * (constant tables of the code are as unreferenced and as large).
 * Finding nothing is no error: S then says so (addr 0) and IN's log one
 * line why.  Errors: HD_E_INTERRUPTED, HD_E_INTERNAL. */
HD_MUST_CHECK int statics_locate(struct hd_statics *s, const struct hd_field_facts *ff,
				const struct hd_names_input *in);

/* Decides, from FF's static facts, which class declares each slot of the
 * arrays S holds (statics_locate, or set by the caller), for a class table
 * of NCLASSES classes (CLASSES).  A fact is kept only when its class is in
 * the table, its type says its array, it lies inside that array's elements
 * aligned to its size (a reference exactly on an element), and no fact
 * that is not the same field overlaps it; a class with any contradicted
 * static keeps none.  Replaces what S held but its arrays.  Errors:
 * HD_E_INTERNAL. */
HD_MUST_CHECK int statics_attribute(struct hd_statics *s, const struct hd_field_facts *ff,
				    const struct hd_classes *classes, FILE *log);

/* statics_locate, then statics_attribute with FF. */
HD_MUST_CHECK int statics_build(struct hd_statics *s, const struct hd_field_facts *ff,
				const struct hd_names_input *in);

/* The statics of class K (an index into the class table), *N of them. */
const struct hd_static *statics_of(const struct hd_statics *s, size_t k, size_t *n);

void statics_free(struct hd_statics *s);

#endif
