/* Synthetic image heaps: see synthheap.h.
 *
 * The generator works in three steps, like the native-image builder:
 *  1. class layouts: instance fields placed largest first at the lowest
 *     free aligned offset (which reproduces the String and HashMap layouts
 *     observed in real CE 22.3 and CE 25 binaries), the monitor slot, the
 *     identity hash, the reference maps and the table that holds them;
 *  2. objects: hubs, strings, instances and arrays, each with its bytes,
 *     references recorded as (object, offset, target) to be resolved once
 *     addresses are known;
 *  3. the image: partitions packed into aligned chunks (each partition
 *     starts a new chunk, as the builder's page-aligned partitions do),
 *     huge arrays in unaligned chunks, chunk headers, card tables and
 *     first-object tables, then every object with its header and
 *     resolved references. */
#include "synthheap.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KiB 1024u

/* ---- Presets ------------------------------------------------------------ */

/* Header: end, next, prev, space, top (40 bytes); objects at 40 + 2 * 128. */
const struct sh_params sh_ce_22_3 = {
	.name = "CE 22.3, 8-byte references",
	.heap_base = 0x7f1f08e00000ull,
	.base_offset = 64 * KiB,
	.ref_size = 8, .ref_shift = 0, .hdr_size = 8, .hub_shift = 3,
	.idhash = SH_IDHASH_HEADER,
	.array_length_off = 12, .array_base = 16,
	.chunk_size = 64 * KiB,
	.ch_end = 0, .ch_next = 8, .ch_prev = 16, .ch_space = 24, .ch_top = 32, .ch_salt = -1,
	.ch_struct_size = 40, .ch_unaligned_struct_size = 40,
	.unaligned = SH_UNALIGNED_FIXED, .unaligned_chunks = 2,
	/* pkl 0.25.1: name +0x30, layout encoding +0xb8, map index +0xc0,
	 * 17 references from +0x30, fixed part 0xd8. */
	.hub_fixed = 0xd8, .hub_name = 0x30, .hub_enc = 0xb8, .hub_refmap = 0xc0,
	.hub_idhash = -1, .hub_super = 0x38, .hub_component = 0x40,
	.hub_refs_start = 0x30, .hub_refs_count = 17,
	.abstract_reference = true, .char_array = true,
	.seed = 0x223,
};

/* Header: end, salt, next, prev, top, space (4 bytes): 44 bytes. */
const struct sh_params sh_oracle_21 = {
	.name = "Oracle GraalVM 21, 4-byte compressed references",
	.heap_base = 0x7e5a00000000ull,
	.base_offset = 64 * KiB,
	.ref_size = 4, .ref_shift = 3, .hdr_size = 4, .hub_shift = 5,
	.idhash = SH_IDHASH_OPTIONAL,
	.array_length_off = 4, .array_base = 8,
	.chunk_size = 64 * KiB,
	.ch_end = 0, .ch_salt = 8, .ch_next = 16, .ch_prev = 24, .ch_top = 32, .ch_space = 40,
	.ch_struct_size = 44, .ch_unaligned_struct_size = 44,
	.unaligned = SH_UNALIGNED_FIXED, .unaligned_chunks = 1,
	.tail_padding = 4 * KiB,
	.hub_fixed = 0x68, .hub_name = 0x10, .hub_super = 0x14, .hub_component = 0x18,
	.hub_refs_start = 0x10, .hub_refs_count = 8,
	.hub_enc = 0x58, .hub_refmap = 0x5c, .hub_idhash = 0x60,
	.string_hash_is_zero = true, .abstract_reference = true,
	.seed = 0x21,
};

/* Header: end, salt, next, prev, space, top, pinned count (4), flag: 53. */
const struct sh_params sh_ce_25 = {
	.name = "CE 25, type-specific identity hash",
	.heap_base = 0x7f2bba580000ull,
	.base_offset = 64 * KiB,
	.ref_size = 8, .ref_shift = 0, .hdr_size = 8, .hub_shift = 3,
	.idhash = SH_IDHASH_TYPED,
	.array_length_off = 12, .array_base = 16,
	.chunk_size = 64 * KiB,
	.ch_end = 0, .ch_salt = 8, .ch_next = 16, .ch_prev = 24, .ch_space = 32, .ch_top = 40,
	.ch_struct_size = 53, .ch_unaligned_struct_size = 52,
	.unaligned = SH_UNALIGNED_VARIABLE, .unaligned_chunks = 1,
	.tail_padding = 40 * KiB,
	/* pkl 0.30.2: layout encoding +0x2c, name +0x30, map index +0x4c,
	 * identity-hash offset +0x50, three references, fixed part 0x60. */
	.hub_fixed = 0x60, .hub_enc = 0x2c, .hub_name = 0x30, .hub_super = 0x38,
	.hub_component = 0x40, .hub_refs_start = 0x30, .hub_refs_count = 3,
	.hub_refmap = 0x4c, .hub_idhash = 0x50, .companion = true,
	.string_hash_is_zero = true, .abstract_reference = true, .char_array = true,
	.seed = 0x25,
};

/* ---- Class descriptions ------------------------------------------------- */

enum ckind { CK_INSTANCE, CK_ABSTRACT, CK_HUB, CK_PRIM_ARRAY, CK_OBJ_ARRAY };

enum { IF_ALWAYS, IF_CHAR_ARRAY, IF_COMPANION, IF_VM, IF_VM_25, IF_CHAIN };

struct fdesc {
	char kind; /* R, X (reference excluded from the map), J, I, B, Z (byte, JDK 17+ only) */
	const char *name;
};

struct cdesc {
	const char *name, *super;
	enum ckind kind;
	unsigned elem_shift;   /* primitive arrays */
	const char *component; /* arrays: component class */
	unsigned vtable_len;   /* never a multiple of 4 for String: see sh_build */
	bool monitor;          /* SVM adds a monitor slot to its reference map */
	bool reference;        /* kind follows params.abstract_reference */
	int only_if;
	struct fdesc f[6];
};

/* Superclasses come before their subclasses. */
static const struct cdesc CLASSES[] = {
	{"java.lang.Object", NULL, CK_INSTANCE, .vtable_len = 11},
	{"java.lang.Class", "java.lang.Object", CK_HUB, .vtable_len = 30},
	{"java.lang.String", "java.lang.Object", CK_INSTANCE, .vtable_len = 15,
	 .f = {{'R', "value"}, {'I', "hash"}, {'B', "coder"}, {'Z', "hashIsZero"}}},
	{"[B", "java.lang.Object", CK_PRIM_ARRAY, .elem_shift = 0, .vtable_len = 10},
	{"[C", "java.lang.Object", CK_PRIM_ARRAY, .elem_shift = 1, .vtable_len = 10,
	 .only_if = IF_CHAR_ARRAY},
	{"[I", "java.lang.Object", CK_PRIM_ARRAY, .elem_shift = 2, .vtable_len = 10},
	{"[Ljava.lang.Object;", "java.lang.Object", CK_OBJ_ARRAY, .component = "java.lang.Object",
	 .vtable_len = 10},
	{"java.lang.Number", "java.lang.Object", CK_ABSTRACT, .vtable_len = 13},
	{"java.lang.Integer", "java.lang.Number", CK_INSTANCE, .vtable_len = 17,
	 .f = {{'I', "value"}}},
	{"java.util.AbstractMap", "java.lang.Object", CK_ABSTRACT, .vtable_len = 21,
	 .f = {{'R', "keySet"}, {'R', "values"}}},
	{"java.util.HashMap", "java.util.AbstractMap", CK_INSTANCE, .vtable_len = 38, .monitor = true,
	 .f = {{'R', "table"}, {'R', "entrySet"}, {'I', "size"}, {'I', "modCount"},
	       {'I', "threshold"}, {'I', "loadFactor"}}},
	{"java.util.HashMap$Node", "java.lang.Object", CK_INSTANCE, .vtable_len = 9,
	 .f = {{'I', "hash"}, {'R', "key"}, {'R', "value"}, {'R', "next"}}},
	{"[Ljava.util.HashMap$Node;", "java.lang.Object", CK_OBJ_ARRAY,
	 .component = "java.util.HashMap$Node", .vtable_len = 10},
	{"java.util.AbstractCollection", "java.lang.Object", CK_ABSTRACT, .vtable_len = 19},
	{"java.util.AbstractList", "java.util.AbstractCollection", CK_ABSTRACT, .vtable_len = 25,
	 .f = {{'I', "modCount"}}},
	{"java.util.ArrayList", "java.util.AbstractList", CK_INSTANCE, .vtable_len = 33,
	 .f = {{'R', "elementData"}, {'I', "size"}}},
	/* The GC treats referent specially, so it is not in the reference map. */
	{"java.lang.ref.Reference", "java.lang.Object", CK_INSTANCE, .vtable_len = 11,
	 .reference = true,
	 .f = {{'X', "referent"}, {'R', "queue"}, {'R', "next"}, {'R', "discovered"}}},
	{"java.lang.ref.WeakReference", "java.lang.ref.Reference", CK_INSTANCE, .vtable_len = 11},
	{"java.lang.ref.ReferenceQueue", "java.lang.Object", CK_INSTANCE, .vtable_len = 13,
	 .f = {{'R', "head"}, {'I', "queueLength"}}},
	{"com.oracle.svm.core.heap.FillerObject", "java.lang.Object", CK_INSTANCE, .vtable_len = 7},
	/* With 4-byte references the subclass's reference fills the gap the
	 * long leaves after the header, so the superclass's fields do not fit
	 * the subclass (see classes.c, settle). */
	{"hdump.test.WithLong", "java.lang.Object", CK_INSTANCE, .vtable_len = 7, .f = {{'J', "l"}}},
	{"hdump.test.FillsGap", "hdump.test.WithLong", CK_INSTANCE, .vtable_len = 7,
	 .f = {{'R', "r"}}},
	{"com.oracle.svm.core.hub.DynamicHubCompanion", "java.lang.Object", CK_INSTANCE,
	 .vtable_len = 7, .only_if = IF_COMPANION,
	 .f = {{'R', "classLoader"}, {'R', "superHub"}, {'R', "packageName"}, {'I', "modifiers"}}},
	/* A running VM's own objects (sh_params.vm_classes).  Chunk pointers
	 * are words: longs to the class table. */
	{"java.lang.Thread", "java.lang.Object", CK_INSTANCE, .vtable_len = 9, .only_if = IF_VM,
	 .f = {{'R', "name"}, {'J', "tid"}, {'I', "priority"}}},
	{"com.oracle.svm.core.genscavenge.Space", "java.lang.Object", CK_INSTANCE, .vtable_len = 7,
	 .only_if = IF_VM,
	 .f = {{'R', "name"}, {'J', "firstAlignedHeapChunk"}, {'J', "lastAlignedHeapChunk"},
	       {'J', "firstUnalignedHeapChunk"}, {'J', "lastUnalignedHeapChunk"}, {'I', "age"}}},
	{"com.oracle.svm.core.genscavenge.HeapAllocation", "java.lang.Object", CK_INSTANCE,
	 .vtable_len = 7, .only_if = IF_VM_25,
	 .f = {{'J', "currentChunk"}, {'J', "retainedChunk"}}},
	/* The serial GC's collection policy and the sizes it computed (its
	 * words 0 in the image: a test fills them). */
	{"com.oracle.svm.core.genscavenge.AbstractCollectionPolicy", "java.lang.Object", CK_ABSTRACT,
	 .vtable_len = 7, .only_if = IF_VM, .f = {{'J', "edenSize"}, {'R', "sizes"}}},
	{"com.oracle.svm.core.genscavenge.AdaptiveCollectionPolicy",
	 "com.oracle.svm.core.genscavenge.AbstractCollectionPolicy", CK_INSTANCE, .vtable_len = 7,
	 .only_if = IF_VM, .f = {{'R', "avgPause"}, {'I', "count"}}},
	{"com.oracle.svm.core.genscavenge.AbstractCollectionPolicy$SizeParameters", "java.lang.Object",
	 CK_INSTANCE, .vtable_len = 7, .only_if = IF_VM,
	 .f = {{'J', "maxHeapSize"}, {'J', "maxYoungSize"}, {'J', "initialHeapSize"},
	       {'J', "initialEdenSize"}, {'J', "initialSurvivorSize"}, {'J', "minHeapSize"}}},
	{"com.oracle.svm.core.threadlocal.VMThreadLocalInfo", "java.lang.Object", CK_INSTANCE,
	 .vtable_len = 7, .only_if = IF_VM,
	 .f = {{'R', "name"}, {'I', "offset"}, {'I', "sizeInBytes"}, {'I', "maxOffset"}}},
	/* sh_params.abstract_chain: a byte, then padding to the reference
	 * (22.3), in a class with instances that a leaf's abstract superclass
	 * extends. */
	{"hdump.test.Base", "java.lang.Object", CK_INSTANCE, .vtable_len = 7, .only_if = IF_CHAIN,
	 .f = {{'B', "flag"}, {'R', "b"}}},
	{"hdump.test.Middle", "hdump.test.Base", CK_ABSTRACT, .vtable_len = 7, .only_if = IF_CHAIN,
	 .f = {{'R', "m"}}},
	{"hdump.test.Leaf", "hdump.test.Middle", CK_INSTANCE, .vtable_len = 7, .only_if = IF_CHAIN,
	 .f = {{'R', "leaf"}}},
};

/* ---- Generator state ---------------------------------------------------- */

enum part { P_RO_PRIM, P_RO_REF, P_HUBS, P_RW, P_HUGE, P_COUNT };

#define MAX_INSTANCE 256
#define MAX_MAP 8

struct gclass {
	const struct cdesc *d;
	enum ckind kind;
	int super;                 /* index, -1 for Object */
	struct sh_class pub;
	uint8_t used[MAX_INSTANCE]; /* bytes taken by (inherited) fields */
	unsigned end;              /* first byte after the fields */
	struct {
		unsigned off, count;
	} map[MAX_MAP];
	unsigned nmap;
	size_t hub_obj, name_obj, companion_obj;
};

struct gobj {
	size_t cls;
	uint32_t len;
	uint64_t size;
	uint8_t *b;
	uint64_t addr;
	enum part part;
	unsigned bits; /* header bits besides the hub */
};

struct gref {
	size_t obj;
	unsigned off;
	size_t target;
};

struct gen {
	const struct sh_params *p;
	struct gclass cls[sizeof CLASSES / sizeof CLASSES[0]];
	size_t ncls;
	struct gobj *objs;
	size_t nobjs, capobjs;
	struct gref *refs;
	size_t nrefs, caprefs;
	uint64_t rng;
	uint8_t table[4096];
	uint32_t table_len;
	size_t table_obj;
	size_t statics_obj;        /* vm_classes: static primitive fields */
	struct hd_threadlocals tl;
	uint64_t writable;         /* image offset of the first writable chunk */
	bool failed;
};

static void fail(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct gen *g, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("synthheap: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	g->failed = true;
}

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* xorshift64*: identity hashes must look random but be reproducible. */
static uint64_t next_random(struct gen *g)
{
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return g->rng * 0x2545f4914f6cdd1dull;
}

/* Identity hashes are positive and non-zero. */
static uint32_t identity_hash(struct gen *g) { return (uint32_t)(next_random(g) >> 33) | 1u; }

static int class_index(const struct gen *g, const char *name)
{
	for (size_t i = 0; i < g->ncls; i++)
		if (strcmp(g->cls[i].pub.name, name) == 0)
			return (int)i;
	return -1;
}

static size_t cls_of(struct gen *g, const char *name)
{
	int k = class_index(g, name);
	if (k < 0) {
		fprintf(stderr, "synthheap: unknown class %s\n", name);
		abort();
	}
	return (size_t)k;
}

static const struct sh_field *find_field(const struct sh_class *c, const char *name)
{
	for (unsigned i = 0; i < c->nfields; i++)
		if (strcmp(c->fields[i].name, name) == 0)
			return &c->fields[i];
	return NULL;
}

/* ---- Step 1: class layouts ---------------------------------------------- */

static unsigned field_size(const struct gen *g, char kind)
{
	return kind == 'R' || kind == 'X' || kind == 'P' ? g->p->ref_size
	       : kind == 'J'                            ? 8
	       : kind == 'I'                            ? 4
							: 1;
}

/* Lowest offset >= FROM, aligned to SIZE, whose SIZE bytes are free. */
static unsigned find_slot(const uint8_t *used, unsigned from, unsigned size)
{
	for (unsigned off = (unsigned)align_up(from, size); off + size <= MAX_INSTANCE; off += size) {
		bool free_ = true;
		for (unsigned i = 0; i < size && free_; i++)
			free_ = !used[off + i];
		if (free_)
			return off;
	}
	return MAX_INSTANCE;
}

static void add_map_entry(struct gen *g, struct gclass *c, unsigned off)
{
	/* Entries are built in offset order (see layout_class), so extending
	 * the last run is all the merging needed. */
	if (c->nmap && c->map[c->nmap - 1].off + c->map[c->nmap - 1].count * g->p->ref_size == off) {
		c->map[c->nmap - 1].count++;
		return;
	}
	if (c->nmap == MAX_MAP) {
		fail(g, "%s: reference map too long", c->pub.name);
		return;
	}
	c->map[c->nmap].off = off;
	c->map[c->nmap].count = 1;
	c->nmap++;
}

static void layout_class(struct gen *g, struct gclass *c)
{
	const struct sh_params *p = g->p;
	unsigned first = p->hdr_size + (p->idhash == SH_IDHASH_HEADER ? 4 : 0);
	if (c->super >= 0) {
		const struct gclass *s = &g->cls[c->super];
		/* Fields are inherited; the monitor slot and the identity hash
		 * are per type (kept out of USED and END below). */
		memcpy(c->used, s->used, sizeof c->used);
		for (unsigned i = 0; i < s->pub.nfields; i++)
			if (strcmp(s->pub.fields[i].name, "$monitor") != 0)
				c->pub.fields[c->pub.nfields++] = s->pub.fields[i];
		c->end = s->end;
	} else {
		memset(c->used, 1, first);
		c->end = first;
	}
	if (c->kind == CK_HUB || c->kind == CK_PRIM_ARRAY || c->kind == CK_OBJ_ARRAY)
		return;
	/* Optional padding that pushes String.value back (sh_params.string_pads). */
	if (strcmp(c->pub.name, "java.lang.String") == 0) {
		static const char *const pads[] = {"pad0", "pad1", "pad2", "pad3", "pad4", "pad5",
						   "pad6", "pad7", "pad8", "pad9", "pad10", "pad11",
						   "pad12", "pad13", "pad14", "pad15"};
		for (unsigned i = 0; i < p->string_pads && i < 16; i++) {
			unsigned off = find_slot(c->used, first, p->ref_size);
			memset(c->used + off, 1, p->ref_size);
			c->pub.fields[c->pub.nfields++] = (struct sh_field){pads[i], off, 'P'};
			c->end = off + p->ref_size;
		}
	}
	/* Largest fields first, each at the lowest free aligned offset: this
	 * fills the gap after a 4-byte hash or header, as the builder does. */
	for (unsigned size = 8; size >= 1; size /= 2) {
		for (const struct fdesc *f = c->d->f; f->name; f++) {
			if (f->kind == 'Z' && !p->string_hash_is_zero)
				continue;
			char kind = f->kind == 'Z' ? 'B' : f->kind;
			if (field_size(g, kind) != size)
				continue;
			unsigned off = find_slot(c->used, first, size);
			if (off >= MAX_INSTANCE || c->pub.nfields == SH_MAX_FIELDS) {
				fail(g, "%s: no room for field %s", c->pub.name, f->name);
				return;
			}
			memset(c->used + off, 1, size);
			c->pub.fields[c->pub.nfields++] = (struct sh_field){f->name, off, kind};
			if (off + size > c->end)
				c->end = off + size;
		}
	}
	uint8_t used[MAX_INSTANCE];
	memcpy(used, c->used, sizeof used);
	unsigned end = c->end;
	if (c->d->monitor && c->pub.nfields < SH_MAX_FIELDS) {
		unsigned off = (unsigned)align_up(end, p->ref_size);
		memset(used + off, 1, p->ref_size);
		c->pub.fields[c->pub.nfields++] = (struct sh_field){"$monitor", off, 'R'};
		end = off + p->ref_size;
	}
	c->pub.size = (uint32_t)align_up(end, 8);
	/* The identity hash: per type, never inherited by subclasses. */
	if (p->idhash == SH_IDHASH_OPTIONAL) {
		unsigned off = find_slot(used, first, 4);
		c->pub.idhash_off = (uint16_t)(off + 4 <= c->pub.size ? off : align_up(end, 4));
	} else if (p->idhash == SH_IDHASH_TYPED) {
		unsigned off = find_slot(used, first, 4);
		c->pub.idhash_off = (uint16_t)off;
		if (off + 4 > end)
			end = off + 4;
		c->pub.size = (uint32_t)align_up(end, 8);
	} else {
		c->pub.idhash_off = (uint16_t)p->hdr_size;
	}
	/* The reference map lists every reference field but the referent. */
	for (unsigned off = 0; off < MAX_INSTANCE; off++)
		for (unsigned i = 0; i < c->pub.nfields; i++)
			if (c->pub.fields[i].off == off && c->pub.fields[i].kind == 'R')
				add_map_entry(g, c, off);
}

static int32_t encoding_of(const struct gen *g, const struct gclass *c)
{
	const struct sh_params *p = g->p;
	switch (c->kind) {
	case CK_INSTANCE:
		return (int32_t)c->pub.size;
	case CK_ABSTRACT:
		return 3;
	case CK_HUB:
		return (int32_t)(0xC0000000u | p->hub_fixed << 8 | 3u);
	case CK_PRIM_ARRAY:
		return (int32_t)(0xE0000000u | p->array_base << 8 | c->d->elem_shift);
	case CK_OBJ_ARRAY:
		return (int32_t)(0xA0000000u | p->array_base << 8 | (p->ref_size == 8 ? 3u : 2u));
	}
	return 0;
}

static bool same_map(const struct gclass *a, const struct gclass *b)
{
	if (a->nmap != b->nmap)
		return false;
	for (unsigned i = 0; i < a->nmap; i++)
		if (a->map[i].off != b->map[i].off || a->map[i].count != b->map[i].count)
			return false;
	return true;
}

/* The table: s4 0 (the empty map, index 0), then per distinct map s4 count
 * and count x (s4 offset, u4 references).  String's map goes first, so its
 * index is 4, as in pkl 0.30.2. */
static void build_refmap_table(struct gen *g)
{
	size_t string = cls_of(g, "java.lang.String");
	put_le(g->table, 0, 4);
	g->table_len = 4;
	for (size_t step = 0; step < g->ncls + 1; step++) {
		size_t k = step == 0 ? string : step - 1;
		struct gclass *c = &g->cls[k];
		if (step > 0 && k == string)
			continue;
		if (c->nmap == 0) {
			c->pub.refmap_index = 0;
			continue;
		}
		int found = -1;
		for (size_t j = 0; j < g->ncls && found < 0; j++)
			if (j != k && g->cls[j].nmap && g->cls[j].pub.refmap_index > 0 &&
			    same_map(&g->cls[j], c))
				found = g->cls[j].pub.refmap_index;
		if (found > 0) {
			c->pub.refmap_index = found;
			continue;
		}
		if (g->table_len + 4 + 8 * c->nmap > sizeof g->table) {
			fail(g, "reference-map table overflow");
			return;
		}
		c->pub.refmap_index = (int32_t)g->table_len;
		put_le(g->table + g->table_len, c->nmap, 4);
		for (unsigned i = 0; i < c->nmap; i++) {
			put_le(g->table + g->table_len + 4 + 8 * i, c->map[i].off, 4);
			put_le(g->table + g->table_len + 8 + 8 * i, c->map[i].count, 4);
		}
		g->table_len += 4 + 8 * c->nmap;
	}
}

static void build_classes(struct gen *g)
{
	const struct sh_params *p = g->p;
	for (size_t i = 0; i < sizeof CLASSES / sizeof CLASSES[0]; i++) {
		const struct cdesc *d = &CLASSES[i];
		if ((d->only_if == IF_CHAR_ARRAY && !p->char_array) ||
		    (d->only_if == IF_COMPANION && !p->companion) ||
		    (d->only_if == IF_VM && !p->vm_classes) ||
		    (d->only_if == IF_VM_25 && !(p->vm_classes && p->companion)) ||
		    (d->only_if == IF_CHAIN && !p->abstract_chain))
			continue;
		struct gclass *c = &g->cls[g->ncls];
		memset(c, 0, sizeof *c);
		c->d = d;
		c->kind = d->reference && p->abstract_reference ? CK_ABSTRACT : d->kind;
		c->pub.name = d->name;
		c->super = d->super ? class_index(g, d->super) : -1;
		if (d->super && c->super < 0) {
			fail(g, "%s: superclass %s missing", d->name, d->super);
			return;
		}
		g->ncls++;
		layout_class(g, c);
		if (c->kind == CK_HUB) {
			c->map[0].off = p->hub_refs_start;
			c->map[0].count = p->hub_refs_count;
			c->nmap = 1;
		}
		if (c->kind == CK_HUB || c->kind == CK_PRIM_ARRAY || c->kind == CK_OBJ_ARRAY) {
			/* Array-like objects keep the hash after the header, or
			 * after their elements in the optional mode. */
			c->pub.idhash_off = p->idhash == SH_IDHASH_OPTIONAL ? 0 : (uint16_t)p->hdr_size;
			c->pub.size = 0;
		}
		if (c->kind == CK_ABSTRACT)
			c->pub.size = 0;
		c->pub.enc = encoding_of(g, c);
	}
	build_refmap_table(g);
}

/* ---- Step 2: objects ---------------------------------------------------- */

static size_t new_obj(struct gen *g, size_t cls, uint32_t len, enum part part)
{
	const struct sh_params *p = g->p;
	const struct gclass *c = &g->cls[cls];
	uint64_t size, hash_at;
	if (c->kind == CK_INSTANCE) {
		size = c->pub.size;
		hash_at = p->idhash == SH_IDHASH_HEADER ? p->hdr_size : c->pub.idhash_off;
		if (p->idhash == SH_IDHASH_OPTIONAL && hash_at + 4 > size)
			size = align_up(hash_at + 4, 8);
	} else if (c->kind == CK_ABSTRACT) {
		fail(g, "%s is abstract", c->pub.name);
		return 0;
	} else {
		unsigned shift = c->kind == CK_HUB ? 3
				 : c->kind == CK_OBJ_ARRAY ? (p->ref_size == 8 ? 3 : 2)
							   : c->d->elem_shift;
		uint64_t raw = (c->kind == CK_HUB ? p->hub_fixed : p->array_base) + ((uint64_t)len << shift);
		if (p->idhash == SH_IDHASH_OPTIONAL) {
			hash_at = align_up(raw, 4);
			size = align_up(hash_at + 4, 8);
		} else {
			hash_at = p->hdr_size;
			size = align_up(raw, 8);
		}
	}
	if (g->nobjs == g->capobjs) {
		size_t cap = g->capobjs ? g->capobjs * 2 : 256;
		struct gobj *v = realloc(g->objs, cap * sizeof *v);
		if (!v) {
			fail(g, "out of memory");
			return 0;
		}
		g->objs = v;
		g->capobjs = cap;
	}
	struct gobj *o = &g->objs[g->nobjs];
	*o = (struct gobj){.cls = cls, .len = len, .size = size, .part = part};
	o->b = calloc(1, size);
	if (!o->b) {
		fail(g, "out of memory");
		return 0;
	}
	if (c->kind != CK_INSTANCE)
		put_le(o->b + p->array_length_off, len, 4);
	put_le(o->b + hash_at, identity_hash(g), 4);
	/* Writable image-heap objects carry the remembered-set bit, huge ones
	 * the unaligned bit; image objects in the optional-hash mode always
	 * have their hash state at "stored" (0b10 in bits 3-4). */
	if (part == P_RW)
		o->bits |= 2;
	if (part == P_HUGE)
		o->bits |= 1;
	if (p->idhash == SH_IDHASH_OPTIONAL)
		o->bits |= 2u << 3;
	return g->nobjs++;
}

static unsigned field_off(struct gen *g, size_t o, const char *name)
{
	const struct sh_field *f = find_field(&g->cls[g->objs[o].cls].pub, name);
	if (!f) {
		fprintf(stderr, "synthheap: %s has no field %s\n", g->cls[g->objs[o].cls].pub.name, name);
		abort();
	}
	return f->off;
}

static void add_ref(struct gen *g, size_t obj, unsigned off, size_t target)
{
	if (g->nrefs == g->caprefs) {
		size_t cap = g->caprefs ? g->caprefs * 2 : 256;
		struct gref *v = realloc(g->refs, cap * sizeof *v);
		if (!v) {
			fail(g, "out of memory");
			return;
		}
		g->refs = v;
		g->caprefs = cap;
	}
	g->refs[g->nrefs++] = (struct gref){obj, off, target};
}

static void set_ref(struct gen *g, size_t o, const char *field, size_t target)
{
	add_ref(g, o, field_off(g, o, field), target);
}

static void set_elem(struct gen *g, size_t array, uint32_t i, size_t target)
{
	add_ref(g, array, g->p->array_base + i * g->p->ref_size, target);
}

static void set_int(struct gen *g, size_t o, const char *field, uint32_t v)
{
	put_le(g->objs[o].b + field_off(g, o, field), v, 4);
}

static void set_byte(struct gen *g, size_t o, const char *field, uint8_t v)
{
	g->objs[o].b[field_off(g, o, field)] = v;
}

int32_t sh_java_hash(const uint16_t *units, size_t n)
{
	uint32_t h = 0;
	for (size_t i = 0; i < n; i++)
		h = 31 * h + units[i];
	return (int32_t)h;
}

/* A String over UNITS: Latin-1 bytes (coder 0) when every unit fits in a
 * byte, else UTF-16LE (coder 1), with hash precomputed as the builder does
 * for image-heap strings. */
static size_t new_string_units(struct gen *g, const uint16_t *units, size_t n)
{
	bool latin1 = true;
	for (size_t i = 0; i < n; i++)
		latin1 = latin1 && units[i] < 256;
	size_t value = new_obj(g, cls_of(g, "[B"), (uint32_t)(latin1 ? n : 2 * n), P_RO_PRIM);
	if (g->failed)
		return 0;
	uint8_t *data = g->objs[value].b + g->p->array_base;
	for (size_t i = 0; i < n; i++) {
		if (latin1)
			data[i] = (uint8_t)units[i];
		else
			put_le(data + 2 * i, units[i], 2);
	}
	size_t s = new_obj(g, cls_of(g, "java.lang.String"), 0, P_RO_REF);
	if (g->failed)
		return 0;
	set_ref(g, s, "value", value);
	int32_t hash = sh_java_hash(units, n);
	set_int(g, s, "hash", (uint32_t)hash);
	set_byte(g, s, "coder", latin1 ? 0 : 1);
	if (g->p->string_hash_is_zero)
		set_byte(g, s, "hashIsZero", hash == 0);
	return s;
}

static size_t new_string(struct gen *g, const char *text)
{
	uint16_t units[256];
	size_t n = strlen(text);
	if (n > 256) {
		fail(g, "string too long");
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		units[i] = (uint8_t)text[i];
	return new_string_units(g, units, n);
}

static size_t new_integer(struct gen *g, int32_t v)
{
	size_t o = new_obj(g, cls_of(g, "java.lang.Integer"), 0, P_RW);
	if (!g->failed)
		set_int(g, o, "value", (uint32_t)v);
	return o;
}

static void build_hubs(struct gen *g)
{
	const struct sh_params *p = g->p;
	/* Names first: the String for "java.lang.Class" must be the first
	 * instance referencing its byte[] (discovery derives String.value
	 * from it). */
	for (size_t k = 0; k < g->ncls && !g->failed; k++)
		g->cls[k].name_obj = new_string(g, g->cls[k].pub.name);
	if (p->companion)
		for (size_t k = 0; k < g->ncls && !g->failed; k++)
			g->cls[k].companion_obj =
				new_obj(g, cls_of(g, "com.oracle.svm.core.hub.DynamicHubCompanion"), 0,
					P_RO_REF);
	size_t class_cls = cls_of(g, "java.lang.Class");
	for (size_t k = 0; k < g->ncls && !g->failed; k++)
		g->cls[k].hub_obj = new_obj(g, class_cls, g->cls[k].d->vtable_len, P_HUBS);
	for (size_t k = 0; k < g->ncls && !g->failed; k++) {
		struct gclass *c = &g->cls[k];
		size_t h = c->hub_obj;
		uint8_t *b = g->objs[h].b;
		add_ref(g, h, p->hub_name, c->name_obj);
		size_t super_hub = c->super >= 0 ? g->cls[c->super].hub_obj : SIZE_MAX;
		if (p->companion) {
			add_ref(g, h, p->hub_super, c->companion_obj);
			if (super_hub != SIZE_MAX)
				set_ref(g, c->companion_obj, "superHub", super_hub);
			set_int(g, c->companion_obj, "modifiers", 0x11);
		} else if (super_hub != SIZE_MAX) {
			add_ref(g, h, p->hub_super, super_hub);
		}
		if (p->hub_component >= 0 && c->d->component)
			add_ref(g, h, (unsigned)p->hub_component, g->cls[cls_of(g, c->d->component)].hub_obj);
		put_le(b + p->hub_enc, (uint32_t)c->pub.enc, 4);
		put_le(b + p->hub_refmap, (uint32_t)c->pub.refmap_index, 4);
		if (p->hub_idhash >= 0)
			put_le(b + p->hub_idhash, c->pub.idhash_off, 2);
		/* The vtable: code addresses in .text, never heap addresses. */
		for (unsigned i = 0; i < c->d->vtable_len; i++)
			put_le(b + p->hub_fixed + 8 * i, 0x400000u + 0x1000u * k + 0x40u * i, 8);
	}
}

/* The reference-map table is the first object of the image heap. */
static void build_table(struct gen *g)
{
	g->table_obj = new_obj(g, cls_of(g, "[B"), g->table_len, P_RO_PRIM);
	if (!g->failed)
		memcpy(g->objs[g->table_obj].b + g->p->array_base, g->table, g->table_len);
}

/* The thread-local table (offsets as the builder assigns them: JNI
 * functions first, the TLAB early), the Spaces and where VMThreads.head
 * lives.  Every chunk pointer is 0 in the image: a live target fills them. */
static void build_vm(struct gen *g)
{
	const struct sh_params *p = g->p;
	static const struct {
		const char *name;
		int off, size, max;
		size_t slot; /* offsetof in struct hd_threadlocals, or SIZE_MAX */
	} locals[] = {
		{"JNIThreadLocalEnvironment.jniFunctions", 0, 8, 0, SIZE_MAX},
		{"StackOverflowCheckImpl.stackBoundaryTL", 8, 8, 63, SIZE_MAX},
		{"ThreadLocalAllocation.regularTLAB", 16, 32, 127, offsetof(struct hd_threadlocals, tlab)},
		{"VMThreads.nextTL", 48, 8, 0x7fffffff, offsetof(struct hd_threadlocals, next)},
		{"VMThreads.IsolateTL", 56, 8, 0x7fffffff, offsetof(struct hd_threadlocals, isolate)},
		{"VMThreads.OSThreadHandleTL", 64, 8, 0x7fffffff,
		 offsetof(struct hd_threadlocals, os_thread_handle)},
		{"VMThreads.OSThreadIdTL", 72, 8, 0x7fffffff, offsetof(struct hd_threadlocals, os_thread_id)},
		{"VMThreads.StackBase", 80, 8, 0x7fffffff, offsetof(struct hd_threadlocals, stack_base)},
		{"VMThreads.StackEnd", 88, 8, 0x7fffffff, SIZE_MAX},
		{NULL, 96, 0, 0x7fffffff, offsetof(struct hd_threadlocals, current_thread)},
		{"StatusSupport.statusTL", 100, 4, 0x7fffffff, SIZE_MAX},
	};
	size_t info = cls_of(g, "com.oracle.svm.core.threadlocal.VMThreadLocalInfo");
	for (size_t i = 0; i < sizeof locals / sizeof locals[0] && !g->failed; i++) {
		/* 25 renamed PlatformThreads to JavaThreads. */
		const char *name = locals[i].name ? locals[i].name
				   : p->companion ? "JavaThreads.currentThread"
						  : "PlatformThreads.currentThread";
		int size = locals[i].size ? locals[i].size : (int)p->ref_size;
		size_t str = new_string(g, name);
		size_t o = new_obj(g, info, 0, P_RO_REF);
		if (g->failed)
			return;
		set_ref(g, o, "name", str);
		set_int(g, o, "offset", (uint32_t)locals[i].off);
		set_int(g, o, "sizeInBytes", (uint32_t)size);
		set_int(g, o, "maxOffset", (uint32_t)locals[i].max);
		if (locals[i].slot != SIZE_MAX)
			memcpy((char *)&g->tl + locals[i].slot, &locals[i].off, sizeof(int));
		if ((unsigned)locals[i].off + 32 > g->tl.extent)
			g->tl.extent = (unsigned)locals[i].off + 32;
	}
	static const char *const spaces[] = {"Eden", "Survivor-1", "Old"};
	for (size_t i = 0; i < 3 && !g->failed; i++) {
		size_t name = new_string(g, spaces[i]);
		size_t sp = new_obj(g, cls_of(g, "com.oracle.svm.core.genscavenge.Space"), 0, P_RW);
		if (!g->failed)
			set_ref(g, sp, "name", name);
	}
	if (p->companion)
		new_obj(g, cls_of(g, "com.oracle.svm.core.genscavenge.HeapAllocation"), 0, P_RW);
	size_t policy = new_obj(g, cls_of(g, "com.oracle.svm.core.genscavenge.AdaptiveCollectionPolicy"), 0,
				P_RW);
	size_t sizes = new_obj(g, cls_of(g, "com.oracle.svm.core.genscavenge.AbstractCollectionPolicy$SizeParameters"),
			       0, P_RW);
	if (!g->failed)
		set_ref(g, policy, "sizes", sizes);
	g->statics_obj = new_obj(g, cls_of(g, "[B"), 64, P_RW);
}

static void build_data(struct gen *g)
{
	const struct sh_params *p = g->p;
	/* Odd-length Latin-1 strings are what String.hash is recognised by. */
	size_t hello = new_string(g, "hello");
	size_t marker = new_string(g, "hdumpmarker-7");
	size_t world = new_string(g, "world!");
	static const uint16_t utf16[] = {'h', 'd', 'u', 'm', 'p', ' ', 0x2192, ' ', 0x4e16, 0x754c};
	size_t wide = new_string_units(g, utf16, sizeof utf16 / sizeof utf16[0]);
	static const char *keys[] = {"alpha", "beta", "gamma"};
	size_t key[3];
	for (int i = 0; i < 3; i++)
		key[i] = new_string(g, keys[i]);
	if (g->failed)
		return;

	static const uint32_t int_lengths[] = {0, 1, 2, 5, 33};
	for (size_t i = 0; i < sizeof int_lengths / sizeof int_lengths[0]; i++) {
		size_t a = new_obj(g, cls_of(g, "[I"), int_lengths[i], P_RO_PRIM);
		for (uint32_t j = 0; j < int_lengths[i] && !g->failed; j++)
			put_le(g->objs[a].b + p->array_base + 4 * j, j * 0x01010101u, 4);
	}
	if (p->char_array) {
		size_t a = new_obj(g, cls_of(g, "[C"), 7, P_RO_PRIM);
		for (uint32_t j = 0; j < 7 && !g->failed; j++)
			put_le(g->objs[a].b + p->array_base + 2 * j, 'a' + j, 2);
	}
	if (g->failed)
		return;

	static const int32_t ints[] = {-1, 0, 1, 42, 1000, INT32_MAX, INT32_MIN};
	size_t integer[sizeof ints / sizeof ints[0]];
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
		integer[i] = new_integer(g, ints[i]);

	size_t queue = new_obj(g, cls_of(g, "java.lang.ref.ReferenceQueue"), 0, P_RW);

	/* HashMap {alpha=1, beta=42, gamma=1000}: beta and gamma share a bucket. */
	size_t map = new_obj(g, cls_of(g, "java.util.HashMap"), 0, P_RW);
	size_t tab = new_obj(g, cls_of(g, "[Ljava.util.HashMap$Node;"), 16, P_RW);
	size_t node[3];
	for (int i = 0; i < 3 && !g->failed; i++) {
		node[i] = new_obj(g, cls_of(g, "java.util.HashMap$Node"), 0, P_RW);
		set_int(g, node[i], "hash", (uint32_t)(0x1000 + i));
		set_ref(g, node[i], "key", key[i]);
		set_ref(g, node[i], "value", integer[2 + i]);
	}
	if (g->failed)
		return;
	set_ref(g, node[1], "next", node[2]);
	set_elem(g, tab, 3, node[0]);
	set_elem(g, tab, 9, node[1]);
	set_ref(g, map, "table", tab);
	set_int(g, map, "size", 3);
	set_int(g, map, "modCount", 3);
	set_int(g, map, "threshold", 12);
	set_int(g, map, "loadFactor", 0x3f400000); /* 0.75f */

	/* ArrayList [1, "hello", 42, map] with room for 10. */
	size_t list = new_obj(g, cls_of(g, "java.util.ArrayList"), 0, P_RW);
	size_t elems = new_obj(g, cls_of(g, "[Ljava.lang.Object;"), 10, P_RW);
	if (g->failed)
		return;
	set_elem(g, elems, 0, integer[2]);
	set_elem(g, elems, 1, hello);
	set_elem(g, elems, 2, integer[3]);
	set_elem(g, elems, 3, map);
	set_ref(g, list, "elementData", elems);
	set_int(g, list, "size", 4);
	set_int(g, list, "modCount", 4);

	/* Weak references: the referent is not in any map but must be found. */
	size_t referents[] = {marker, integer[4], map, SIZE_MAX};
	for (size_t i = 0; i < sizeof referents / sizeof referents[0] && !g->failed; i++) {
		size_t w = new_obj(g, cls_of(g, "java.lang.ref.WeakReference"), 0, P_RW);
		if (referents[i] != SIZE_MAX)
			set_ref(g, w, "referent", referents[i]);
		set_ref(g, w, "queue", queue);
	}

	size_t empty = new_obj(g, cls_of(g, "[Ljava.lang.Object;"), 0, P_RW);
	size_t three = new_obj(g, cls_of(g, "[Ljava.lang.Object;"), 3, P_RW);
	if (g->failed)
		return;
	set_elem(g, three, 0, list);
	set_elem(g, three, 1, world);
	set_elem(g, three, 2, wide);
	(void)empty;
	new_obj(g, cls_of(g, "java.lang.Object"), 0, P_RW);
	size_t with_long = new_obj(g, cls_of(g, "hdump.test.WithLong"), 0, P_RW);
	size_t fills_gap = new_obj(g, cls_of(g, "hdump.test.FillsGap"), 0, P_RW);
	if (g->failed)
		return;
	put_le(g->objs[with_long].b + field_off(g, with_long, "l"), 0x1122334455667788ull, 8);
	put_le(g->objs[fills_gap].b + field_off(g, fills_gap, "l"), 0x99aabbccddeeff00ull, 8);
	set_ref(g, fills_gap, "r", world);
	new_obj(g, cls_of(g, "com.oracle.svm.core.heap.FillerObject"), 0, P_RW);
	new_obj(g, cls_of(g, "java.lang.Object"), 0, P_RW);

	/* Huge arrays, one unaligned chunk each. */
	if (p->unaligned_chunks >= 1) {
		size_t big = new_obj(g, cls_of(g, "[B"), 20000, P_HUGE);
		for (uint32_t j = 0; j < 20000 && !g->failed; j++)
			g->objs[big].b[p->array_base + j] = (uint8_t)(j * 7 + 1);
	}
	if (p->unaligned_chunks >= 2) {
		size_t big = new_obj(g, cls_of(g, "[I"), 3000, P_HUGE);
		for (uint32_t j = 0; j < 3000 && !g->failed; j++)
			put_le(g->objs[big].b + p->array_base + 4 * j, j, 4);
	}
	if (p->vm_classes)
		build_vm(g);
}

/* ---- Step 3: the image -------------------------------------------------- */

static uint64_t objects_start(const struct sh_params *p)
{
	uint64_t h8 = align_up(p->ch_struct_size, 8);
	uint64_t card_table = align_up((p->chunk_size - h8 + 511) / 512, 8);
	return h8 + 2 * card_table;
}

/* FirstObjectTable.setTableForObject (gs/remset): entries per 512-byte
 * card, relative to the objects start.  0: an object starts at the card;
 * -n: the object crossing onto the card starts n words before it; 1..63:
 * go back that many entries; 64..: go back 2^(entry - 58) entries; 127:
 * never set. */
static void fot_set(uint8_t *t, uint64_t start, uint64_t end)
{
	uint64_t si = start / 512, ei = (end - 1) / 512;
	bool at_card = start % 512 == 0;
	if (si == ei && !at_card)
		return;
	if (at_card) {
		t[si] = 0;
	} else {
		si++;
		t[si] = (uint8_t)(int8_t)-(int)((si * 512 - start) / 8);
	}
	uint64_t linear_max = ei < si + 63 ? ei : si + 63;
	uint64_t i = si + 1;
	for (int entry = 1; i <= linear_max; i++, entry++)
		t[i] = (uint8_t)entry;
	for (int exponent = 6; i <= ei; exponent++)
		for (uint64_t n = 0; n < (1ull << exponent) && i <= ei; n++)
			t[i++] = (uint8_t)(exponent + 58);
}

uint64_t sh_encode_ref(const struct sh_heap *h, uint64_t addr)
{
	return addr ? (addr - h->p.heap_base) >> h->p.ref_shift : 0;
}

uint64_t sh_encode_header(const struct sh_heap *h, uint64_t hub, unsigned bits)
{
	return (((hub - h->p.heap_base) >> 3) << h->p.hub_shift) | bits;
}

uint8_t *sh_ptr(struct sh_heap *h, uint64_t addr)
{
	if (addr < h->start || addr - h->start >= h->size) {
		fprintf(stderr, "synthheap: 0x%llx is outside the heap\n", (unsigned long long)addr);
		abort();
	}
	return h->data + (addr - h->start);
}

void sh_put_ref(struct sh_heap *h, uint64_t at, uint64_t target)
{
	put_le(sh_ptr(h, at), sh_encode_ref(h, target), h->p.ref_size);
}

void sh_put_header(struct sh_heap *h, uint64_t obj, uint64_t hub)
{
	uint8_t *p = sh_ptr(h, obj);
	uint64_t old = 0;
	memcpy(&old, p, h->p.hdr_size);
	unsigned low = (1u << h->p.hub_shift) - 1;
	put_le(p, sh_encode_header(h, hub, (unsigned)(old & low)), h->p.hdr_size);
}

static int cmp_obj(const void *a, const void *b)
{
	const struct sh_object *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

static void place_and_write(struct gen *g, struct sh_heap *h)
{
	const struct sh_params *p = g->p;
	const uint64_t first = objects_start(p);
	uint64_t *tops = calloc(g->nobjs + 1, sizeof *tops);
	uint64_t *uchunks = calloc(g->nobjs + 1, sizeof *uchunks); /* offset of each unaligned chunk */
	uint64_t *ustarts = calloc(g->nobjs + 1, sizeof *ustarts);
	size_t *uobj = calloc(g->nobjs + 1, sizeof *uobj);
	if (!tops || !uchunks || !ustarts || !uobj) {
		fail(g, "out of memory");
		goto out;
	}
	/* Aligned chunks: every partition starts a new chunk. */
	size_t chunk = 0;
	uint64_t cur = first;
	for (enum part part = P_RO_PRIM; part < P_HUGE; part++) {
		if (cur > first) {
			tops[chunk++] = cur;
			cur = first;
		}
		if (part == P_RW)
			g->writable = chunk * p->chunk_size;
		for (size_t i = 0; i < g->nobjs; i++) {
			struct gobj *o = &g->objs[i];
			if (o->part != part)
				continue;
			if (o->size > p->chunk_size - first) {
				fail(g, "object of %llu bytes does not fit an aligned chunk",
				     (unsigned long long)o->size);
				goto out;
			}
			if (cur + o->size > p->chunk_size) {
				tops[chunk++] = cur;
				cur = first;
			}
			o->addr = chunk * p->chunk_size + cur; /* image offset for now */
			cur += o->size;
		}
	}
	if (cur > first)
		tops[chunk++] = cur;
	size_t naligned = chunk;
	if (naligned == 0) {
		fail(g, "no objects");
		goto out;
	}
	/* Unaligned chunks, back to back after the aligned ones. */
	uint64_t off = naligned * p->chunk_size;
	size_t nun = 0;
	uint64_t header_end = align_up(p->ch_unaligned_struct_size, 8);
	for (size_t i = 0; i < g->nobjs; i++) {
		struct gobj *o = &g->objs[i];
		if (o->part != P_HUGE)
			continue;
		uint64_t card_table = p->unaligned == SH_UNALIGNED_FIXED ? 0 : align_up((o->size + 511) / 512, 8);
		uint64_t start = header_end + card_table + 8;
		uchunks[nun] = off;
		ustarts[nun] = start;
		uobj[nun] = i;
		o->addr = off + start;
		off += align_up(start + o->size, 8);
		nun++;
	}
	uint64_t size = off + p->tail_padding;
	uint8_t *img = calloc(1, size);
	h->chunks = calloc(naligned + nun, sizeof *h->chunks);
	if (!img || !h->chunks) {
		free(img);
		fail(g, "out of memory");
		goto out;
	}
	h->data = img;
	h->size = size;
	h->start = p->heap_base + p->base_offset;
	h->naligned = naligned;
	h->nunaligned = nun;
	for (size_t i = 0; i < g->nobjs; i++)
		g->objs[i].addr += h->start;

	/* Aligned chunk headers, card tables (clean) and first-object tables. */
	uint64_t h8 = align_up(p->ch_struct_size, 8);
	uint64_t card_table = (first - h8) / 2;
	for (size_t c = 0; c < naligned; c++) {
		uint8_t *b = img + c * p->chunk_size;
		h->chunks[c] = h->start + c * p->chunk_size;
		put_le(b + p->ch_end, p->chunk_size, 8);
		put_le(b + p->ch_top, tops[c], 8);
		put_le(b + p->ch_next, c + 1 < naligned ? p->chunk_size : 0, 8);
		put_le(b + p->ch_prev, c > 0 ? -(uint64_t)p->chunk_size : 0, 8);
		memset(b + h8, 1, card_table);
		memset(b + h8 + card_table, 127, card_table);
	}
	for (size_t i = 0; i < g->nobjs; i++) {
		struct gobj *o = &g->objs[i];
		if (o->part == P_HUGE)
			continue;
		uint64_t c = (o->addr - h->start) / p->chunk_size;
		uint64_t rel = o->addr - h->chunks[c] - first;
		fot_set(img + c * p->chunk_size + h8 + card_table, rel, rel + o->size);
	}
	/* Unaligned chunk headers: end == top; a separate list. */
	for (size_t u = 0; u < nun; u++) {
		uint8_t *b = img + uchunks[u];
		uint64_t end = ustarts[u] + g->objs[uobj[u]].size;
		h->chunks[naligned + u] = h->start + uchunks[u];
		put_le(b + p->ch_end, end, 8);
		put_le(b + p->ch_top, end, 8);
		put_le(b + p->ch_next, u + 1 < nun ? uchunks[u + 1] - uchunks[u] : 0, 8);
		put_le(b + p->ch_prev, u > 0 ? -(uchunks[u] - uchunks[u - 1]) : 0, 8);
		memset(b + header_end, 1, ustarts[u] - 8 - header_end);
		if (p->unaligned == SH_UNALIGNED_VARIABLE)
			put_le(b + ustarts[u] - 8, ustarts[u], 8);
		else
			memset(b + header_end, 1, 8);
	}
	/* Objects: header, bytes, then resolved references. */
	for (size_t i = 0; i < g->nobjs; i++) {
		struct gobj *o = &g->objs[i];
		uint8_t *b = img + (o->addr - h->start);
		memcpy(b, o->b, o->size);
		uint64_t hub = g->objs[g->cls[o->cls].hub_obj].addr;
		put_le(b, sh_encode_header(h, hub, o->bits), p->hdr_size);
	}
	for (size_t i = 0; i < g->nrefs; i++) {
		const struct gref *r = &g->refs[i];
		uint64_t at = g->objs[r->obj].addr + r->off;
		put_le(img + (at - h->start), sh_encode_ref(h, g->objs[r->target].addr), p->ref_size);
	}
out:
	free(tops);
	free(uchunks);
	free(ustarts);
	free(uobj);
}

static void fill_facts(struct gen *g, struct sh_heap *h)
{
	const struct sh_params *p = g->p;
	h->classes = calloc(g->ncls, sizeof *h->classes);
	h->objs = calloc(g->nobjs, sizeof *h->objs);
	if (!h->classes || !h->objs) {
		fail(g, "out of memory");
		return;
	}
	h->nclasses = g->ncls;
	for (size_t k = 0; k < g->ncls; k++) {
		h->classes[k] = g->cls[k].pub;
		h->classes[k].hub = g->objs[g->cls[k].hub_obj].addr;
		h->classes[k].super_hub =
			g->cls[k].super >= 0 ? g->objs[g->cls[g->cls[k].super].hub_obj].addr : 0;
		h->classes[k].kind = "iahpo"[g->cls[k].kind];
		h->classes[k].count = 0;
		h->classes[k].first = 0;
	}
	h->nobjs = g->nobjs;
	h->refs = g->nrefs;
	h->writable = h->start + g->writable;
	if (p->vm_classes) {
		h->thread_head = g->objs[g->statics_obj].addr + p->array_base + 8;
		h->tl = g->tl;
	}
	for (size_t i = 0; i < g->nobjs; i++)
		h->objs[i] = (struct sh_object){g->objs[i].addr, g->objs[i].size, g->objs[i].cls};
	qsort(h->objs, h->nobjs, sizeof *h->objs, cmp_obj);
	for (size_t i = 0; i < h->nobjs; i++) {
		struct sh_class *c = &h->classes[h->objs[i].cls];
		if (!c->count++)
			c->first = h->objs[i].addr;
		if (strcmp(c->name, "com.oracle.svm.core.heap.FillerObject") == 0) {
			h->fillers++;
		} else {
			h->objects++;
			h->bytes += h->objs[i].size;
		}
	}

	struct hd_layout *L = &h->expect;
	const struct sh_class *string = sh_class(h, "java.lang.String");
	const struct sh_class *reference = sh_class(h, "java.lang.ref.Reference");
	L->ref_size = p->ref_size;
	L->ref_shift = p->ref_shift;
	L->hdr_size = p->hdr_size;
	L->hub_shift = p->hub_shift;
	L->array_length_off = p->array_length_off;
	L->hash_appended = p->idhash == SH_IDHASH_OPTIONAL;
	L->heap_base = p->heap_base;
	L->image_start = h->start;
	L->image_size = h->size;
	L->chunk_size = p->chunk_size;
	L->ch_end = p->ch_end;
	L->ch_top = p->ch_top;
	L->ch_next = p->ch_next;
	L->ch_prev = p->ch_prev;
	L->ch_struct_end = (unsigned)align_up(p->ch_struct_size, 8);
	L->aligned_obj_start = objects_start(p);
	L->unaligned_obj_start = 0;
	L->class_hub = sh_class(h, "java.lang.Class")->hub;
	L->hub_name = p->hub_name;
	L->hub_enc = p->hub_enc;
	L->hub_refmap = p->hub_refmap;
	L->hub_idhash = p->idhash == SH_IDHASH_HEADER ? -1 : p->hub_idhash;
	L->hub_super = (int)p->hub_super;
	L->hub_super2 = p->companion
		? (int)sh_field(h, "com.oracle.svm.core.hub.DynamicHubCompanion", "superHub") : -1;
	L->idhash_fixed_off = p->idhash == SH_IDHASH_HEADER ? p->hdr_size : 0;
	L->string_hub = string->hub;
	L->str_value = sh_field(h, "java.lang.String", "value");
	L->str_coder = (int)sh_field(h, "java.lang.String", "coder");
	L->str_hash = (int)sh_field(h, "java.lang.String", "hash");
	L->refmap_data = g->objs[g->table_obj].addr + p->array_base;
	L->refmap_len = g->table_len;
	L->referent_off = (int)find_field(reference, "referent")->off;
}

static bool check_params(struct gen *g)
{
	const struct sh_params *p = g->p;
	if ((p->ref_size != 4 && p->ref_size != 8) || p->hdr_size != p->ref_size ||
	    (p->chunk_size & (p->chunk_size - 1)) || p->chunk_size < 16 * KiB ||
	    (p->heap_base & 7) || (p->base_offset & 7)) {
		fail(g, "%s: inconsistent parameters", p->name);
		return false;
	}
	/* The designated hub fields must not overlap. */
	uint8_t used[4096] = {0};
	struct {
		int off;
		unsigned len;
	} fields[] = {
		{0, p->hdr_size},
		{(int)p->array_length_off, 4},
		{p->idhash == SH_IDHASH_OPTIONAL ? -1 : (int)p->hdr_size, 4},
		{(int)p->hub_refs_start, p->hub_refs_count * p->ref_size},
		{(int)p->hub_enc, 4},
		{(int)p->hub_refmap, 4},
		{p->hub_idhash, 2},
	};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		if (fields[i].off < 0)
			continue;
		for (unsigned j = 0; j < fields[i].len; j++) {
			unsigned at = (unsigned)fields[i].off + j;
			if (at >= p->hub_fixed || used[at]) {
				fail(g, "%s: hub field at %d overlaps another or the vtable", p->name,
				     fields[i].off);
				return false;
			}
			used[at] = 1;
		}
	}
	unsigned refs_end = p->hub_refs_start + p->hub_refs_count * p->ref_size;
	if (p->hub_name < p->hub_refs_start || p->hub_name >= refs_end ||
	    p->hub_super < p->hub_refs_start || p->hub_super >= refs_end) {
		fail(g, "%s: hub name and super must be in the hub's reference map", p->name);
		return false;
	}
	return true;
}

int sh_build(const struct sh_params *p, struct sh_heap *h)
{
	struct gen *g = calloc(1, sizeof *g);
	memset(h, 0, sizeof *h);
	if (!g) {
		fprintf(stderr, "synthheap: out of memory\n");
		return -1;
	}
	g->p = p;
	g->rng = p->seed * 0x9e3779b97f4a7c15ull + 1;
	h->p = *p;
	if (check_params(g))
		build_classes(g);
	if (!g->failed)
		build_table(g);
	if (!g->failed)
		build_hubs(g);
	if (!g->failed)
		build_data(g);
	if (!g->failed)
		place_and_write(g, h);
	if (!g->failed)
		fill_facts(g, h);
	for (size_t i = 0; i < g->nobjs; i++)
		free(g->objs[i].b);
	free(g->objs);
	free(g->refs);
	bool failed = g->failed;
	free(g);
	if (failed) {
		sh_free(h);
		return -1;
	}
	return 0;
}

void sh_free(struct sh_heap *h)
{
	free(h->data);
	free(h->chunks);
	free(h->classes);
	free(h->objs);
	memset(h, 0, sizeof *h);
}

const struct sh_class *sh_class(const struct sh_heap *h, const char *name)
{
	for (size_t k = 0; k < h->nclasses; k++)
		if (strcmp(h->classes[k].name, name) == 0)
			return &h->classes[k];
	fprintf(stderr, "synthheap: no class %s\n", name);
	abort();
}

unsigned sh_field(const struct sh_heap *h, const char *cls, const char *field)
{
	const struct sh_field *f = find_field(sh_class(h, cls), field);
	if (!f) {
		fprintf(stderr, "synthheap: %s has no field %s\n", cls, field);
		abort();
	}
	return f->off;
}

const struct sh_object *sh_nth(const struct sh_heap *h, const char *cls, size_t n)
{
	size_t k = (size_t)(sh_class(h, cls) - h->classes);
	for (size_t i = 0; i < h->nobjs; i++)
		if (h->objs[i].cls == k && n-- == 0)
			return &h->objs[i];
	fprintf(stderr, "synthheap: fewer objects of %s than asked\n", cls);
	abort();
}

/* ---- Runtime objects ---------------------------------------------------- */

/* Where C's hash sits in an object of LEN elements, and its size. */
static uint64_t runtime_layout(const struct sh_heap *h, const struct sh_class *c, uint32_t len,
			       enum sh_hash_state s, uint64_t *hash_at)
{
	const struct sh_params *p = &h->p;
	bool field = p->idhash != SH_IDHASH_OPTIONAL || s == SH_HASH_IN_FIELD;
	if (c->kind == 'i') {
		*hash_at = p->idhash == SH_IDHASH_HEADER ? p->hdr_size : c->idhash_off;
		if (field && p->idhash == SH_IDHASH_OPTIONAL && *hash_at + 4 > c->size)
			return align_up(*hash_at + 4, 8);
		*hash_at = field ? *hash_at : 0;
		return c->size;
	}
	uint64_t raw = le_base(c->enc) + ((uint64_t)len << le_shift(c->enc));
	if (p->idhash != SH_IDHASH_OPTIONAL) {
		*hash_at = p->hdr_size;
		return align_up(raw, 8);
	}
	*hash_at = field ? align_up(raw, 4) : 0;
	return align_up(field ? align_up(raw, 4) + 4 : raw, 8);
}

uint64_t sh_runtime_size(const struct sh_heap *h, const struct sh_class *c, uint32_t len,
			 enum sh_hash_state s)
{
	uint64_t hash_at;
	return runtime_layout(h, c, len, s, &hash_at);
}

void sh_runtime_init(const struct sh_heap *h, uint8_t *p, const struct sh_class *c, uint32_t len,
		     enum sh_hash_state s, unsigned gc_bits, uint32_t hash)
{
	uint64_t hash_at;
	runtime_layout(h, c, len, s, &hash_at);
	bool optional = h->p.idhash == SH_IDHASH_OPTIONAL;
	put_le(p, sh_encode_header(h, c->hub, gc_bits | (optional ? (unsigned)s << 3 : 0)),
	       h->p.hdr_size);
	if (c->kind != 'i')
		put_le(p + h->p.array_length_off, len, 4);
	if (hash_at && s != SH_HASH_NONE)
		put_le(p + hash_at, hash, 4);
}

hd_memview *sh_view(const struct sh_heap *h)
{
	hd_memview *mv = mv_new_local();
	if (mv && mv_add_local(mv, h->start, h->data, h->size) != 0) {
		mv_free(mv);
		return NULL;
	}
	return mv;
}

uint64_t *sh_hubs(const struct sh_heap *h)
{
	uint64_t *v = malloc((h->nclasses + 1) * sizeof *v);
	for (size_t k = 0; v && k < h->nclasses; k++)
		v[k] = h->classes[k].hub;
	return v;
}
