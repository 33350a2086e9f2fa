/* Field names from the image's runtime reflection metadata: one byte[] of
 * Graal variable-length integers (ReflectionMetadataEncoding, 22.3/23.1;
 * RuntimeMetadataEncoding, 25) in which each class that has field metadata
 * has a field list, found through the fields index of its
 * DynamicHub$ReflectionMetadata (off the hub; 25: off DynamicHubCompanion).
 * Names and types are indexes into ImageCodeInfo's String[] and Class[].
 *
 * A "reachable" entry (22.3/23.1 -H:+IncludeMethodData, the default) is a
 * name alone: the class's accessed fields, the very ones that got storage.
 * Their order is NOT the declaration order: the encoder sorts registered
 * fields by getDeclaredFields() but appends the reachable ones in the order
 * of a HashMap keyed by HostedField (String comes out value, hash, coder).
 * The name lists given here are therefore sets in the image's order.
 * A "complete" entry (a field registered for reflection) has name, type,
 * modifiers and, when the field is unsafe-accessed, its offset.  Which int
 * is the fields index, which String[] holds the names and which dialect the
 * lists are written in (counts unsigned, or signed with condition lists;
 * a trusted-final byte or not) is chosen by what decodes: the reading under
 * which most classes' lists decode completely into Java identifiers. */
#ifndef HD_REFLECTMETA_H
#define HD_REFLECTMETA_H

#include "fieldfacts.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The field-name source (hd_field_source_fn): complete entries with an
 * offset as facts (HD_SRC_REFLECTION; statics by modifier bit 8, their
 * offsets into the static arrays); a class's reachable names, with its
 * registered fields that have an offset, as its name list, when no entry
 * leaves the list open (a Field object, whose name is not read here; a
 * hiding entry; a registered field without an offset); where there are
 * reachable entries, an empty list for a class whose metadata holder has
 * no field list (no field of it got storage). */
int reflectmeta_facts(struct hd_field_facts *ff, const struct hd_names_input *in);

/* The decoding, apart from the image: what reflectmeta_facts reads out of
 * the heap, as plain arrays. */
#define RM_MAX_CANDIDATES 8
#define RM_MAX_STRING_ARRAYS 4

struct rm_strings {
	const char *const *v; /* NULL for a null element (or one that is no String) */
	size_t n;
};

/* One DynamicHub$ReflectionMetadata: its class and its ints, one of
 * which is the fields index. */
struct rm_holder {
	uint64_t hub;
	int32_t ints[RM_MAX_CANDIDATES];
};

struct rm_metadata {
	const uint8_t *data;   /* the encoding byte[]'s elements */
	size_t len;
	struct rm_strings strings[RM_MAX_STRING_ARRAYS]; /* ImageCodeInfo's String[]s */
	size_t nstrings;
	const uint8_t *class_types; /* ImageCodeInfo's Class[]: enum hd_type of each
				       element, 0 for null or not a class */
	size_t nclasses;
	const struct rm_holder *holders; /* one per class with reflection metadata */
	size_t nholders;
	unsigned nints;        /* candidate ints per holder */
};

/* What was found, for the log and the tests. */
struct rm_counts {
	size_t lists, list_names; /* classes given a name list, names in them */
	size_t complete, complete_static; /* facts added */
	size_t no_offset;   /* complete entries without an offset (not unsafe-accessed) */
	size_t in_heap;     /* entries that are java.lang.reflect.Field objects (skipped) */
	size_t bad_classes; /* classes whose list did not decode (skipped) */
	size_t no_fields;   /* holders without a list, given an empty one (reachable
			       entries say every field with storage has one) */
	/* the reading chosen */
	unsigned int_slot;  /* which of the holders' ints is the fields index */
	unsigned names;     /* which String[] holds member names */
	bool signed_counts, trusted_final;
};

/* Chooses the reading of M under which most field lists decode, and adds
 * what it gives to FF.  *FOUND is false, nothing added and one line written
 * to LOG, when no reading decodes more lists than it fails.  Returns 0, or
 * -1 with HD_E_INTERNAL or HD_E_INTERRUPTED. */
HD_MUST_CHECK int rm_facts_from(struct hd_field_facts *ff, const struct rm_metadata *m,
				struct rm_counts *counts, bool *found, FILE *log);

#endif
