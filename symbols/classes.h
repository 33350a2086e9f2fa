/* The class table: one record per DynamicHub, with its Java name, how its
 * instances are laid out, and the HPROF fields that describe them — real
 * names and types where facts about them hold up (classes_apply_facts),
 * otherwise one field per reference slot and int/short/byte fields over the
 * remaining bytes, named by offset (ref@16, i32@24), so every byte that may
 * hold a field is accounted for.  Each class lists the fields it declares;
 * its HPROF super is its Java superclass.  The slots the VM adds are fields
 * of the class whose instances have them: its identity hash, an int named
 * <hash>, and its monitor slot, a reference named <monitor> (classes.c
 * says when a subclass's reuse of those bytes leaves them out).  Padding
 * (bytes that provably hold no field) is no field of any class: the CLASS
 * DUMP's instance size still counts it. */
#ifndef HD_CLASSES_H
#define HD_CLASSES_H

#include "fieldfacts.h"
#include "layout.h"
#include "../agent/memview.h"
#include "../common/hd_error.h"
#include "../common/strintern.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The deepest superclass chain walked: real images stay below 20, and a
 * hostile table's chain (a cycle, or a cache entry's million-class chain)
 * must not cost more than this per class. */
#define HD_CLASS_MAX_DEPTH 1024

/* Java's basic types, numbered by the JVM's array-type codes (JVMS 6.5
 * newarray: boolean 4 ... long 11) plus 2 for a reference; the writer maps
 * them to HPROF's (hprof/), which happen to share those numbers. */
enum hd_type {
	HD_T_OBJECT = 2,
	HD_T_BOOLEAN = 4,
	HD_T_CHAR = 5,
	HD_T_FLOAT = 6,
	HD_T_DOUBLE = 7,
	HD_T_BYTE = 8,
	HD_T_SHORT = 9,
	HD_T_INT = 10,
	HD_T_LONG = 11,
};

unsigned hd_type_size(enum hd_type t); /* in the target; OBJECT is ref_size */

enum hd_class_kind {
	HD_KIND_NONE,       /* interface, abstract or primitive class: no instances */
	HD_KIND_INSTANCE,
	HD_KIND_HYBRID,     /* fields plus an inline array part (dumped as fields only) */
	HD_KIND_OBJ_ARRAY,
	HD_KIND_PRIM_ARRAY,
};

/* Bytes of an instance that the VM adds, not a Java field. */
enum hd_slot {
	HD_SLOT_NONE,    /* a Java field (named or kind@offset) */
	HD_SLOT_HASH,    /* the identity hash: int <hash> */
	HD_SLOT_MONITOR, /* the monitor slot: a reference <monitor> to the object's monitor */
};

struct hd_field {
	uint32_t offset;
	uint8_t type;       /* enum hd_type */
	uint8_t named_by;   /* bit 1 << enum hd_field_source for each source that named
			       it (a slot: HD_SRC_LAYOUT); 0: a synthetic name,
			       kind@offset (ref@16, i32@24) */
	uint8_t slot;       /* enum hd_slot */
	uint32_t name;      /* index into hd_classes.names */
};

struct hd_class {
	uint64_t hub;
	char *name;         /* Class.getName() form: java.lang.String, [B, [Ljava.lang.Object; */
	int32_t enc;
	enum hd_class_kind kind;
	uint8_t elem_type;  /* arrays: enum hd_type of the elements */
	uint16_t idhash_off;
	uint16_t monitor_off; /* its monitor slot, 0: none or unknown */
	int32_t refmap_idx; /* into the reference-map table */
	bool is_reference;  /* java.lang.ref.Reference or a subclass: referent is a reference */
	bool is_filler;     /* heap padding: never dumped */
	int32_t jsuper;     /* index of the Java superclass, -1: none (java.lang.Object) */
	int32_t super;      /* index of the superclass as written to HPROF (the nearest
			       ancestor whose fields fit this class's bytes), -1: none */
	uint32_t fixed_size;  /* bytes [hdr, fixed_size) are described by fields */
	struct hd_field *fields; /* all fields, inherited ones included, by offset */
	size_t nfields;
	struct hd_field *own;    /* the fields this class adds over its HPROF super */
	size_t nown;
	uint8_t named_by;   /* the sources of its fields' names (inherited ones included;
			       slots left out) */
	bool all_named;     /* it has fields, and each has a real name or is a slot */
};

struct hd_classes {
	struct hd_class *v;
	size_t n;
	uint32_t *slots;    /* open-addressing index: hub -> position in v + 1 */
	size_t nslots;
	struct hd_strintern names; /* field names, each once */
};

/* Reads every hub in HUBS from the image heap in MV and derives its fields.
 * Errors: HD_E_LAYOUT (a hub, name or reference map that does not read or
 * decode), HD_E_INTERRUPTED, HD_E_INTERNAL.  T is to be freed with
 * classes_free also on failure. */
HD_MUST_CHECK int classes_build(struct hd_classes *t, hd_memview *mv, const struct hd_layout *L,
				const uint64_t *hubs, size_t nhubs);
void classes_free(struct hd_classes *t);

/* Indexes T's classes by hub, for a table filled from elsewhere (the
 * discovery cache, dcache.h).  Errors: HD_E_INTERNAL. */
HD_MUST_CHECK int classes_index(struct hd_classes *t);

const struct hd_class *classes_find(const struct hd_classes *t, uint64_t hub);
const struct hd_class *classes_named(const struct hd_classes *t, const char *name);

/* The type of a value whose declared type is the class C (a field's type,
 * as the image's field objects and reflection metadata give it): a
 * primitive for the primitive classes, 0 for void or no class, else an
 * object reference. */
enum hd_type classes_field_type(const struct hd_class *c);

/* The names layout discovery proves (String's value, coder and hash; the
 * boxed primitives' value; Reference.referent), as facts of source
 * HD_SRC_LAYOUT into FF.  Errors: HD_E_INTERNAL. */
HD_MUST_CHECK int classes_layout_facts(const struct hd_classes *t, const struct hd_layout *L,
				       struct hd_field_facts *ff);

/* What became of each source's facts. */
struct hd_naming_stats {
	uint64_t classes_named[HD_SRC_COUNT]; /* classes with an own field that source named */
	uint64_t facts_kept[HD_SRC_COUNT];    /* instance-field facts that named a field */
	uint64_t facts_dropped[HD_SRC_COUNT]; /* instance-field facts that did not fit or that
						 another source contradicted */
	uint64_t super_skips; /* classes whose HPROF super is not their Java super: the
				 parent's fields do not fit their bytes */
};

/* Re-derives every class's fields with the instance-field facts of FF
 * that hold up, counting into STATS what became of them.  A fact names a
 * field of the class that declares it (its hub) and stands only if: the
 * sources that speak of that offset of that class agree on the name and
 * type, and the name is at no other offset of it; it fits the bytes of the
 * class and of every subclass with instances (a reference exactly on a
 * reference slot, the referent included; a primitive naturally aligned on
 * bytes that are no reference, identity hash or monitor; a fact without a
 * type only on a reference slot); it is not on a reference of the nearest
 * superclass with instances nor on a name a superclass keeps; it overlaps
 * no other name of the class; and a class with instances holds it.  A
 * name list (fieldfacts.h) all of whose names stand as instance fields or
 * static facts of its class makes the class's other bytes padding; so does
 * the image builder's layout where it proves padding (classes.c,
 * mark_padding).  The hash and monitor slots are fields <hash> and
 * <monitor> of the class that has them, left out where a subclass has
 * something else on their bytes.  Statics are not applied here.  Errors: HD_E_LAYOUT (a reference map that
 * does not decode), HD_E_INTERRUPTED, HD_E_INTERNAL. */
HD_MUST_CHECK int classes_apply_facts(struct hd_classes *t, hd_memview *mv,
				      const struct hd_layout *L, const struct hd_field_facts *ff,
				      struct hd_naming_stats *stats);

/* Walker hub lookup backed by the table (CTX is the struct hd_classes). */
struct hd_hubinfo;
bool classes_lookup(void *ctx, uint64_t hub, struct hd_hubinfo *info);

#endif
