/* What the image says about its classes' fields, before any of it is
 * believed.  Each source of names (reflection metadata, the runtime
 * compiler's field objects, Truffle node data, JDK class files placed by the
 * layout algorithm) adds facts: a field of a class, at an offset, with a
 * type where the source knows it; or the set of a class's field names,
 * without offsets.  symbols/classes.c then keeps a fact
 * only where it fits the class's own bytes and no other source contradicts
 * it, and names what is left by offset. */
#ifndef HD_FIELDFACTS_H
#define HD_FIELDFACTS_H

#include "../common/hd_error.h"
#include "../common/strintern.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum hd_field_source {
	HD_SRC_LAYOUT,     /* proven by layout discovery: String, boxed values, referent */
	HD_SRC_REFLECTION, /* complete reflection-metadata entries, in-heap Field objects */
	HD_SRC_SUBSTRATE,  /* SubstrateField / SubstrateTruffleField objects */
	HD_SRC_TRUFFLE,    /* Truffle NodeClassImpl$NodeFieldData records */
	HD_SRC_PREDICTED,  /* names placed by the layout algorithm (name lists, class files) */
	HD_SRC_COUNT
};

/* For --verbose and --json: "reflection", "substrate", ... */
const char *ff_source_name(enum hd_field_source s);

struct hd_field_fact {
	uint64_t hub;      /* the declaring class */
	uint32_t offset;   /* instance field: in the object; static field: in its class
			      of statics array (Object[] for references, byte[] otherwise),
			      array header included */
	uint8_t type;      /* enum hd_type (classes.h); 0 when the source does not say */
	uint8_t source;    /* enum hd_field_source */
	bool is_static;
	uint32_t name;     /* index into hd_field_facts.names */
};

/* The names of the fields a class declares that have storage, without
 * offsets or types, as a set: the image's order is not declaration order
 * (the encoder collects them through a hash map).  Statics may be among
 * them. */
struct hd_name_list {
	uint64_t hub;
	uint32_t first, n; /* hd_field_facts.list_names[first .. first+n) */
	bool refines;      /* exactly the fields with storage (ff_add_refined_list) */
};

struct hd_field_facts {
	struct hd_field_fact *v;
	size_t n, cap;
	struct hd_name_list *lists;
	size_t nlists, cap_lists;
	uint32_t *list_slots; /* open addressing: hub -> its first list + 1 */
	size_t list_nslots;
	uint32_t *list_names;
	size_t nlist_names, cap_list_names;
	struct hd_strintern names; /* each distinct name once */
	/* The image builder laid out each class's fields one after another
	 * from where its superclass's end (22.3), as the layouts of the
	 * image's classes prove (fieldpredict.h): no field of a subclass lies
	 * below the end of its superclass's fields. */
	bool sequential_layout;
};

/* Adds a fact (F's name field is ignored: NAME is copied).  Errors:
 * HD_E_INTERNAL (out of memory). */
HD_MUST_CHECK int ff_add(struct hd_field_facts *ff, const struct hd_field_fact *f,
			 const char *name);
/* Adds HUB's name list.  Errors: HD_E_INTERNAL. */
HD_MUST_CHECK int ff_add_list(struct hd_field_facts *ff, uint64_t hub, const char *const *names,
			      size_t n);
/* Adds HUB's name list that names exactly the storage of its final
 * layout (the SubstrateType field arrays, rebuilt from it; a hybrid's
 * array as its length, its slots one by one): it is the list ff_list_of
 * gives, over lists that may also hold statics, or fields without
 * storage of their own (reflection metadata's).  Errors: HD_E_INTERNAL. */
HD_MUST_CHECK int ff_add_refined_list(struct hd_field_facts *ff, uint64_t hub,
				      const char *const *names, size_t n);
/* Forgets every fact and list added after the first N and NLISTS (what a
 * source that failed added). */
void ff_truncate(struct hd_field_facts *ff, size_t n, size_t nlists);
/* The name list of HUB (its refined one, else the first), NULL if none
 * was added. */
const struct hd_name_list *ff_list_of(const struct hd_field_facts *ff, uint64_t hub);
static inline const char *ff_name(const struct hd_field_facts *ff, uint32_t i)
{
	return ff->names.v[i];
}
void ff_free(struct hd_field_facts *ff);

/* What a source reads from: the image heap and what is known of it. */
struct hd_classes;
struct hd_imageobjs;
struct hd_elfimage;
struct hd_layout;
struct hd_memview;
struct hd_names_input {
	struct hd_memview *mv;             /* holds the image heap */
	const struct hd_layout *L;
	const struct hd_classes *classes;  /* fields by offset only, so far */
	const struct hd_imageobjs *objs;   /* the image heap's objects by class */
	const char *jdk_dir;               /* class files for layout prediction, or NULL */
	FILE *log;                         /* --verbose lines, or NULL */
	/* The executable whose mapped image heap MV holds, for walks to let
	 * its pages go behind them (elfimage_passed), or NULL. */
	const struct hd_elfimage *img;
};

/* A source of facts.  A source that finds nothing it can use, or data that
 * does not decode, adds nothing (and says why to LOG): names are an extra,
 * never a reason to refuse a dump.  Returns -1 only for HD_E_INTERRUPTED and
 * HD_E_INTERNAL. */
typedef int (*hd_field_source_fn)(struct hd_field_facts *ff, const struct hd_names_input *in);

#endif
