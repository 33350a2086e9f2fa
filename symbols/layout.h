/* The object model of one native image, as discovered from its own data:
 * how references, headers, chunks, hubs and strings are laid out.  Nothing
 * here is a per-version constant; symbols/discover.c finds every field and
 * validates it.  The decoders below are the only code that knows where a
 * field sits in a header, a chunk header, a hub, an array or a reference
 * map: everything else asks them. */
#ifndef HD_LAYOUT_H
#define HD_LAYOUT_H

#include "../agent/memview.h"
#include "../common/hd_error.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* LayoutEncoding (a hub's i32): 0..3 special (no instances), >3 instance
 * size, <0 array-like [tag:3|unused:9|base:12|log2 element size:8]. */
#define HD_LE_LAST_SPECIAL 3
#define HD_LE_TAG(e) ((uint32_t)(e) >> 29)
#define HD_LE_TAG_IDENTITY 4u
#define HD_LE_TAG_PRIMITIVE 2u
#define HD_LE_TAG_PURE 1u

static inline bool le_is_instance(int32_t e) { return e > HD_LE_LAST_SPECIAL; }
static inline bool le_is_arraylike(int32_t e) { return e < 0; }
static inline bool le_is_pure_array(int32_t e)
{
	return e < 0 && (HD_LE_TAG(e) & HD_LE_TAG_PURE);
}
static inline bool le_is_hybrid(int32_t e) { return e < 0 && !(HD_LE_TAG(e) & HD_LE_TAG_PURE); }
static inline bool le_has_primitive_elems(int32_t e)
{
	return e < 0 && (HD_LE_TAG(e) & HD_LE_TAG_PRIMITIVE);
}
static inline unsigned le_base(int32_t e) { return ((uint32_t)e >> 8) & 0xfff; }
static inline unsigned le_shift(int32_t e) { return (uint32_t)e & 0xff; }

/* Does E make sense as a layout encoding at all? */
static inline bool le_is_plausible(int32_t e)
{
	if (e >= 0)
		return e <= HD_LE_LAST_SPECIAL || (e % 8 == 0 && e < (1 << 24));
	return (HD_LE_TAG(e) & HD_LE_TAG_IDENTITY) && le_shift(e) <= 3 &&
	       ((uint32_t)e & 0x1ff00000u) == 0 && le_base(e) >= 4;
}

struct hd_layout {
	/* References and object headers. */
	unsigned ref_size;         /* 4 or 8 */
	unsigned ref_shift;        /* offset from heap base = value << ref_shift */
	unsigned hdr_size;         /* width of the header word (== ref_size) */
	unsigned hub_shift;        /* hub offset = (header >> hub_shift) << 3 */
	unsigned array_length_off; /* i32 array length */
	bool hash_appended;        /* optional identity hash: image objects grow by it */
	uint64_t heap_base;        /* compressed references are relative to it */

	/* Image heap, in the memory view's address space. */
	uint64_t image_start;
	uint64_t image_size;

	/* Heap chunks: offsets of the header words. */
	uint64_t chunk_size;       /* aligned chunk size and alignment */
	unsigned ch_end, ch_top, ch_next, ch_prev;
	unsigned ch_struct_end;    /* first byte after the header words we know */
	uint64_t aligned_obj_start;
	uint64_t unaligned_obj_start; /* fixed offset; 0 if the chunk records it (see heapwalk) */

	/* DynamicHub (java.lang.Class) fields. */
	uint64_t class_hub;        /* the hub of hubs: hub(class_hub) == class_hub */
	unsigned hub_name;         /* reference to the name String */
	unsigned hub_enc;          /* i32 layout encoding */
	unsigned hub_refmap;       /* i32 index into the reference-map table */
	int hub_idhash;            /* u16 per-type identity-hash offset, -1: fixed */
	int hub_monitor;           /* u16 per-type offset of the monitor slot (a reference
				      no Java field holds, not inherited); 0: unknown */
	int hub_super;             /* reference to the superclass hub, -1 unknown */
	int hub_super2;            /* if >= 0, hub_super leads to a companion whose
				      slot hub_super2 holds the superclass */
	unsigned idhash_fixed_off; /* where the hash sits when hub_idhash < 0 */

	/* java.lang.String fields. */
	uint64_t string_hub;
	unsigned str_value;
	int str_coder;             /* byte; -1 when value is a char[] (always UTF-16) */
	int str_hash;              /* i32; -1 unknown */

	/* The reference-map table (byte[] data) all hubs index into. */
	uint64_t refmap_data;
	uint32_t refmap_len;

	/* java.lang.ref.Reference.referent, which the reference maps omit. */
	int referent_off;          /* -1: not found */
};

static inline uint64_t ld_u64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint32_t ld_u32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint16_t ld_u16(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }

/* Raw header word of the object whose first bytes are at P. */
static inline uint64_t lay_header(const struct hd_layout *L, const uint8_t *p)
{
	return L->hdr_size == 8 ? ld_u64(p) : ld_u32(p);
}

static inline uint64_t lay_hub_from_header(const struct hd_layout *L, uint64_t h)
{
	return L->heap_base + ((h >> L->hub_shift) << 3);
}

/* Header bits 0..2: unaligned chunk, remembered set / mark, forwarded. */
#define HD_HDR_UNALIGNED 1u
#define HD_HDR_FORWARDED 4u

/* Reference at P (ref_size bytes) to an address, 0 for null. */
static inline uint64_t lay_ref(const struct hd_layout *L, const uint8_t *p)
{
	uint64_t v = L->ref_size == 8 ? ld_u64(p) : ld_u32(p);
	return v ? L->heap_base + (v << L->ref_shift) : 0;
}

/* An array-like object's i32 length field, from its first bytes at P
 * (at least array_length_off + 4 of them).  Negative in corrupt data. */
static inline int32_t lay_array_length(const struct hd_layout *L, const uint8_t *p)
{
	return (int32_t)ld_u32(p + L->array_length_off);
}

/* DynamicHub fields, from the hub's bytes at HUB (the caller has made sure
 * they reach past each field read: le_base of the Class hub's encoding). */
static inline int32_t lay_hub_encoding(const struct hd_layout *L, const uint8_t *hub)
{
	return (int32_t)ld_u32(hub + L->hub_enc);
}
static inline int32_t lay_hub_refmap_index(const struct hd_layout *L, const uint8_t *hub)
{
	return (int32_t)ld_u32(hub + L->hub_refmap);
}
/* The per-type identity-hash offset, 0 in layouts where the hash is fixed. */
static inline unsigned lay_hub_idhash_off(const struct hd_layout *L, const uint8_t *hub)
{
	return L->hub_idhash >= 0 ? ld_u16(hub + L->hub_idhash) : 0;
}

/* The per-type monitor slot's offset, 0 where the type has none or the
 * layout does not say. */
static inline unsigned lay_hub_monitor_off(const struct hd_layout *L, const uint8_t *hub)
{
	return L->hub_monitor > 0 ? ld_u16(hub + L->hub_monitor) : 0;
}

/* The header words of a heap chunk, as offsets from the chunk (signed in
 * the format: next and prev links point either way; a TLAB-owned aligned
 * chunk's top is the chunk's negated address, "null"). */
struct lay_chunk_header {
	int64_t end, top, next;
};

/* Decodes the chunk header at RAW (L->ch_struct_end bytes). */
static inline struct lay_chunk_header lay_chunk_header(const struct hd_layout *L, const uint8_t *raw)
{
	return (struct lay_chunk_header){
		.end = (int64_t)ld_u64(raw + L->ch_end),
		.top = (int64_t)ld_u64(raw + L->ch_top),
		.next = (int64_t)ld_u64(raw + L->ch_next),
	};
}

/* An aligned chunk's end is the chunk size, which no unaligned chunk's is. */
static inline bool lay_chunk_is_aligned(const struct hd_layout *L, const struct lay_chunk_header *h)
{
	return (uint64_t)h->end == L->chunk_size;
}

/* An unaligned chunk's end and top both lie past its header, the top not
 * past the end. */
static inline bool lay_unaligned_header_ok(const struct hd_layout *L,
					   const struct lay_chunk_header *h)
{
	return h->end > (int64_t)L->ch_struct_end && h->top <= h->end &&
	       h->top > (int64_t)L->ch_struct_end;
}

/* The reference map at INDEX of the table TABLE (LEN bytes): an i32 count,
 * then (i32 offset, u32 count) pairs, each a run of COUNT references.
 * Calls FN(CTX, OFF, COUNT) for each run, in order; runs must be sorted,
 * disjoint, reference-aligned, past the header and inside [0, LIMIT).
 * Returns 0; FN's nonzero result, which ends the visit; or -1 with
 * HD_E_LAYOUT (the table is image-heap data) when the map does not decode. */
typedef int (*lay_refmap_fn)(void *ctx, unsigned off, unsigned count);
HD_MUST_CHECK int lay_refmap_each(const struct hd_layout *L, const uint8_t *table, uint32_t len,
				  int32_t index, unsigned limit, lay_refmap_fn fn, void *ctx);

/* A java.lang.String's value array and coder byte (0 where the layout has
 * none: a char[] value, always UTF-16), decoded from its first
 * lay_string_span() bytes at P. */
struct lay_string {
	uint64_t value;
	uint8_t coder;
};

static inline unsigned lay_string_span(const struct hd_layout *L)
{
	unsigned span = L->str_value + L->ref_size;
	return L->str_coder >= 0 && (unsigned)L->str_coder + 1 > span ? (unsigned)L->str_coder + 1
								      : span;
}

static inline struct lay_string lay_string(const struct hd_layout *L, const uint8_t *p)
{
	return (struct lay_string){.value = lay_ref(L, p + L->str_value),
				   .coder = L->str_coder >= 0 ? p[L->str_coder] : 0};
}

/* Object size from its hub's encoding ENC and, for arrays, LENGTH.
 * Returns 0 when the encoding has no instances or the size overflows. */
static inline uint64_t lay_object_size(const struct hd_layout *L, int32_t enc,
				       uint32_t length, bool with_hash, unsigned idhash_off)
{
	if (le_is_instance(enc)) {
		uint64_t size = (uint64_t)enc;
		if (with_hash && L->hash_appended && idhash_off + 4 > size)
			size = (idhash_off + 4 + 7) & ~7ull;
		return size;
	}
	if (!le_is_arraylike(enc))
		return 0;
	uint64_t size = le_base(enc) + ((uint64_t)length << le_shift(enc));
	if (with_hash && L->hash_appended)
		size = ((size + 3) & ~3ull) + 4;
	return (size + 7) & ~7ull;
}

/* The same layout for another copy of the image heap, DELTA bytes away
 * (each isolate maps its own copy; references are heap-base relative). */
static inline void lay_rebase(struct hd_layout *L, uint64_t delta)
{
	L->heap_base += delta;
	L->image_start += delta;
	L->class_hub += delta;
	L->string_hub += delta;
	L->refmap_data += delta;
}

/* Reads LEN bytes of the image heap at ADDR through MV, which holds the
 * image as the executable has it.  Those bytes never change: a read that
 * fails means the image's own data pointed outside it, recorded as
 * HD_E_LAYOUT (WHAT names the data) whatever the view reported. */
HD_MUST_CHECK int lay_read_image(hd_memview *mv, uint64_t addr, void *buf, size_t len,
				 const char *what);

/* Decodes the java.lang.String at ADDR of the image heap in MV into a
 * NUL-terminated UTF-8 string (malloc'd).  Returns NULL with HD_E_LAYOUT
 * (or HD_E_INTERNAL) recorded if it is not a readable String. */
HD_MUST_CHECK char *lay_read_string(hd_memview *mv, const struct hd_layout *L, uint64_t addr);

#endif
