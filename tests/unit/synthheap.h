/* Synthetic SubstrateVM image heaps for the unit tests.
 *
 * sh_build() lays out a small but complete image heap in memory, in the
 * format symbols/discover.c has to recognise: aligned chunks (header words
 * in RawStructure order, a clean card table, an initialised first-object
 * table, objects from objects-start to top), an optional unaligned-chunk
 * list after them, DynamicHubs (the Class hub being its own hub), hub names
 * as java.lang.String objects, a reference-map table, and a few instances
 * of the classes discovery anchors on (String, Integer, HashMap, ArrayList,
 * WeakReference, ...), with references between them.
 *
 * Everything is parametrised by struct sh_params, and the generator returns
 * the ground truth next to the bytes (struct sh_heap): the layout discovery
 * should find, every object with its class, per-class counts.  The presets
 * mimic the layouts of real builds (each names its release where it is
 * declared below), with 64 KiB chunks so that the tests stay fast. */
#ifndef HD_TEST_SYNTHHEAP_H
#define HD_TEST_SYNTHHEAP_H

#include "../../agent/memview.h"
#include "../../symbols/layout.h"
#include "../../symbols/threadlocals.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the identity hash of an object lives. */
enum sh_idhash_mode {
	SH_IDHASH_HEADER,   /* an int right after the header, in every object (CE 22.3/23.1) */
	SH_IDHASH_OPTIONAL, /* instances: per-type offset, in a gap or appended (the object
			       grows); arrays: after the elements.  Image-heap objects always
			       carry it (Oracle GraalVM, 4-byte references) */
	SH_IDHASH_TYPED,    /* instances: a per-type int field counted in the instance size;
			       array-like objects: right after the header (CE 25) */
};

/* Where the single object of an unaligned chunk starts. */
enum sh_unaligned_mode {
	SH_UNALIGNED_FIXED,    /* after one 8-byte card-table word (22.3/23.1) */
	SH_UNALIGNED_VARIABLE, /* after a card table sized by the object and a word that
				  holds the object's offset (25) */
};

struct sh_params {
	const char *name;
	uint64_t heap_base;          /* compressed references are relative to it */
	uint64_t base_offset;        /* image-heap start - heap base */
	unsigned ref_size, ref_shift;
	unsigned hdr_size, hub_shift; /* hub = base + ((header >> hub_shift) << 3) */
	enum sh_idhash_mode idhash;
	unsigned array_length_off, array_base;

	/* Chunks: offsets of the header words; -1 for absent fields. */
	uint64_t chunk_size;
	unsigned ch_end, ch_next, ch_prev, ch_top;
	int ch_space, ch_salt;
	unsigned ch_struct_size;           /* aligned chunks */
	unsigned ch_unaligned_struct_size;
	enum sh_unaligned_mode unaligned;
	unsigned unaligned_chunks;         /* 0..2 huge arrays, one chunk each */
	uint64_t tail_padding;             /* zero bytes after the last chunk */

	/* DynamicHub: a hybrid, fixed fields then the vtable (8-byte words). */
	unsigned hub_fixed;
	unsigned hub_name, hub_enc, hub_refmap;
	int hub_idhash;                    /* u16 per-type identity-hash offset, -1 none */
	unsigned hub_super;                /* the superclass hub, or the companion */
	bool companion;                    /* hub_super leads to a DynamicHubCompanion (25) */
	int hub_component;                 /* array hubs: the component hub, -1 none */
	unsigned hub_refs_start, hub_refs_count; /* the hub's own reference map */

	bool string_hash_is_zero;          /* JDK 17+: String.hashIsZero */
	bool abstract_reference;           /* java.lang.ref.Reference is abstract, as in
					      every real image (layout encoding 3) */
	bool char_array;                   /* include [C */
	unsigned string_pads;              /* reference-sized primitive fields placed
					      before String.value (no real JDK has them:
					      they push value past offset 64 to probe
					      fixed-size buffers), at most 16 */
	uint64_t seed;                     /* identity hashes */
	bool vm_classes;                   /* what a running VM needs besides: Thread, the
					      Spaces (and HeapAllocation where the hub has a
					      companion, as in 25), the VMThreadLocalInfo table
					      and the static word that heads the thread list
					      (see synthlive.h) */
	bool abstract_chain;               /* hdump.test.Leaf, under an abstract class
					      under a class with instances and padding */
};

/* GraalVM CE 22.3 (JDK 11): 8-byte references and headers, hash at +8. */
extern const struct sh_params sh_ce_22_3;
/* Oracle GraalVM for JDK 21: 4-byte headers and compressed references
 * (shift 3), 5 reserved header bits, optional identity hash. */
extern const struct sh_params sh_oracle_21;
/* GraalVM CE 25: 8-byte references, type-specific identity hash, salted
 * chunk headers, superclass in a DynamicHubCompanion, variable unaligned
 * chunk layout. */
extern const struct sh_params sh_ce_25;

#define SH_MAX_FIELDS 24

struct sh_field {
	const char *name;
	unsigned off;
	char kind; /* 'R' reference, 'X' reference left out of the map, 'J' long, 'I' int,
		      'B' byte, 'P' reference-sized primitive */
};

struct sh_class {
	const char *name;
	uint64_t hub;
	uint64_t super_hub;    /* the superclass's hub, 0 for java.lang.Object */
	char kind;             /* 'i' instance, 'a' abstract, 'h' hub, 'p' primitive array,
				  'o' object array */
	int32_t enc;
	int32_t refmap_index;
	uint16_t idhash_off;   /* what the hub's identity-hash slot holds */
	uint32_t size;         /* instance size without an appended hash; 0 if not an instance */
	uint64_t count;        /* objects of this class in the heap */
	uint64_t first;        /* address of the first of them, 0 if none */
	struct sh_field fields[SH_MAX_FIELDS]; /* inherited ones included */
	unsigned nfields;
};

struct sh_object {
	uint64_t addr, size;
	size_t cls;            /* index into sh_heap.classes */
};

struct sh_heap {
	struct sh_params p;
	uint8_t *data;         /* the image heap, SIZE bytes, placed at START */
	uint64_t start, size;
	struct hd_layout expect; /* what discover_layout() must find (see the tests
				    for the fields that only some configurations set) */
	uint64_t objects;      /* fillers excluded */
	uint64_t bytes;        /* their total size */
	uint64_t fillers;
	size_t naligned, nunaligned;
	uint64_t *chunks;      /* chunk addresses: the aligned ones, then the unaligned */
	struct sh_class *classes;
	size_t nclasses;
	struct sh_object *objs; /* in address order */
	size_t nobjs;
	uint64_t refs;         /* non-null references written into objects */
	uint64_t writable;     /* first chunk of the writable partition */
	/* With vm_classes: the word VMThreads.head lives in (inside a byte[] of
	 * static primitive fields, zero in the image), and the thread locals
	 * the VMThreadLocalInfo table describes. */
	uint64_t thread_head;
	struct hd_threadlocals tl;
};

/* Builds the heap described by P into H.  Returns 0, or -1 after printing
 * why to stderr (inconsistent parameters, out of memory). */
int sh_build(const struct sh_params *p, struct sh_heap *h);
void sh_free(struct sh_heap *h);

/* Ground-truth lookups; they abort on names the generator does not know,
 * since that is a bug in the test. */
const struct sh_class *sh_class(const struct sh_heap *h, const char *name);
unsigned sh_field(const struct sh_heap *h, const char *cls, const char *field);
/* The N-th object (0-based, address order) of class CLS. */
const struct sh_object *sh_nth(const struct sh_heap *h, const char *cls, size_t n);

/* The heap as an executable's image heap: a local view of its bytes (NULL
 * on out of memory), and every hub the generator made (malloc'd, H's class
 * order): the image heap and hub list discovery hands on. */
hd_memview *sh_view(const struct sh_heap *h);
uint64_t *sh_hubs(const struct sh_heap *h);

/* Raw access for tests that corrupt the heap. */
uint8_t *sh_ptr(struct sh_heap *h, uint64_t addr);
uint64_t sh_encode_ref(const struct sh_heap *h, uint64_t addr);
uint64_t sh_encode_header(const struct sh_heap *h, uint64_t hub, unsigned bits);
void sh_put_ref(struct sh_heap *h, uint64_t at, uint64_t target);
void sh_put_header(struct sh_heap *h, uint64_t obj, uint64_t hub);

/* Runtime objects (allocated after start-up, outside the image heap), whose
 * identity hash depends on their state: with the optional hash (header bits
 * 3-4) it is absent, derived from the address, or stored in a field that
 * may grow the object; in the other layouts the slot always exists and is
 * 0 until the hash is taken. */
enum sh_hash_state { SH_HASH_NONE, SH_HASH_FROM_ADDRESS, SH_HASH_IN_FIELD };

uint64_t sh_runtime_size(const struct sh_heap *h, const struct sh_class *c, uint32_t len,
			 enum sh_hash_state s);
/* Writes the header (hub, GC_BITS, hash state), the array length and the
 * hash into P, which holds sh_runtime_size() zero bytes. */
void sh_runtime_init(const struct sh_heap *h, uint8_t *p, const struct sh_class *c, uint32_t len,
		     enum sh_hash_state s, unsigned gc_bits, uint32_t hash);

/* java.lang.String.hashCode() of UTF-16 units. */
int32_t sh_java_hash(const uint16_t *units, size_t n);

#endif
