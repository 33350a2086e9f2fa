/* The hybrid parts of a @Hybrid class's instances (22.3 and 23.1: the
 * DynamicHubs).  Such an object is laid out like an array whose header
 * carries fields (svm/hosted/config/HybridLayout, UniverseBuilder): the
 * length of its hybrid array field at the array length offset, the type-id
 * slots of its hybrid short[] field inline right after it (at length
 * offset + 4), then the class's fields, then, from the array base offset of
 * the class's layout encoding, the array's elements.  The runtime
 * compiler's SubstrateType lists both hybrid fields among the class's
 * fields, at location -1: the list gives their names, the layout their
 * places.  What this module decides is checked against the instances: the
 * length must give each object the size the heap walk found between it and
 * the next, and the last slot must be used by some instance (else it could
 * be alignment padding). */
#ifndef HD_HYBRIDFIELDS_H
#define HD_HYBRIDFIELDS_H

#include "../common/hd_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A field of the class that the list gives at location -1. */
struct hybrid_field {
	const char *name;
	bool is_array;       /* its type is an array class */
	bool short_elems;    /* ... of shorts: the type-id slots */
	unsigned elem_shift; /* log2 of the element size of its type's layout */
};

struct hybrid_class {
	unsigned len_off;   /* the array length's offset, from layout discovery */
	int32_t enc;        /* the class's layout encoding (hybrid: base, element size) */
	uint32_t first_loc; /* the lowest location of a field with storage; 0: none */
};

struct hybrid_parts {
	const char *array;  /* the hybrid array field: its length at len_off */
	const char *slots;  /* the type-id slots field, NULL: none */
	unsigned len_off;
	unsigned slots_off, nslots;
	unsigned base, shift; /* of the array part */
};

/* The parts the location -1 fields F (N) of class C prove: one array field
 * whose element size is the class's, at most one short[] field whose slots
 * fill [len_off + 4, first_loc) exactly, and nothing else without a
 * location.  0, or 1 when they prove nothing. */
int hybrid_parts_of(const struct hybrid_class *c, const struct hybrid_field *f, size_t n,
		    struct hybrid_parts *p);

/* What one instance shows: the int at the length offset, the bytes from
 * its start to the next object's (0: unknown, the last of its chunk), its
 * last type-id slot. */
struct hybrid_obs {
	int32_t length;
	uint64_t span;
	uint16_t last_slot;
};

/* Do the N instances O agree with P: every length gives an object that
 * ends where the next object starts (up to alignment and an appended
 * identity hash), at least one of them with a known end, and some
 * instance uses the last slot? */
bool hybrid_parts_agree(const struct hybrid_parts *p, const struct hybrid_obs *o, size_t n);

/* The names of the parts' storage: "ARRAY.length", then "SLOTS[i]" for
 * each slot, into NAMES (1 + P->nslots of them, each malloc'd; free with
 * hybrid_names_free).  Errors: HD_E_INTERNAL. */
HD_MUST_CHECK int hybrid_names(const struct hybrid_parts *p, char ***names, size_t *n);
void hybrid_names_free(char **names, size_t n);

#endif
