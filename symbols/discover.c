#include "discover.h"

#include "elfimage.h"
#include "heapwalk.h"
#include "../common/grow.h"
#include "../common/hd_error.h"
#include "../common/interrupt.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Bounds on the searches below: generous for every layout seen so far and
 * small enough that corrupt data cannot make discovery slow. */
#define MAX_HEADER_SLOT 64      /* chunk header words we consider */
#define MAX_HUB_FIELD_AREA 0x400 /* hub fields we consider */

const struct hd_search_budget hd_default_search_budget = {
	.candidates = 100000,
	.walk_factor = 16,
};
/* Candidate reference-map tables checked against every hub, superclass
 * slots checked along every hub's chain, Reference slots walked for the
 * referent: each a full pass over the hubs or the heap. */
#define MAX_REFMAP_TABLE_CHECKS 64
#define MAX_SUPER_CHAIN_CHECKS 64
#define MAX_REFERENT_WALKS 8
/* Instance sizes of String and Reference (real ones are 24 to 64 bytes):
 * the field searches are quadratic in them. */
#define MAX_STRING_SIZE 512
#define MAX_REFERENCE_SIZE 512

struct addr_vec {
	uint64_t *v;
	size_t n, cap;
};

struct disc {
	struct hd_layout L;
	hd_memview *mv;  /* holds the image heap in local memory */
	const uint8_t *img;
	const struct hd_elfimage *map; /* IMG's mapping, whose pages walks let go (NULL: none) */
	FILE *log;
	uint8_t *starts; /* one bit per 8 bytes of the image heap: an object starts here */
	struct addr_vec hubs;
	struct addr_vec class_name_arrays; /* byte arrays reading "java.lang.Class" */
	struct addr_vec strings;
	struct addr_vec zero_led_arrays;  /* byte arrays whose first int is 0 */
	struct {
		uint64_t obj;
		unsigned off;
	} referrer;
	struct name_entry {
		const char *name;
		uint64_t hub;
	} *names;
	size_t nnames;
	/* The candidate-layout search's spending, against its budget. */
	const struct hd_search_budget *budget;
	uint64_t candidates, walked_bytes;
	bool stopped; /* interrupted or over budget: the error is recorded */
};

static void note(struct disc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct disc *d, const char *fmt, ...)
{
	if (!d->log)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("hdump: layout: ", d->log);
	vfprintf(d->log, fmt, ap);
	fputc('\n', d->log);
	va_end(ap);
}

static int vec_push(struct addr_vec *v, uint64_t a)
{
	if (hd_grow(&v->v, &v->cap, v->n, sizeof *v->v, 64) != 0)
		return -1;
	v->v[v->n++] = a;
	return 0;
}

/* Records, once, that SIGINT/SIGTERM asked discovery to end. */
static bool interrupted(struct disc *d)
{
	if (!d->stopped && hd_interrupted()) {
		hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
		d->stopped = true;
	}
	return d->stopped;
}

/* Pointer to LEN image-heap bytes at ADDR, or NULL when out of bounds. */
static const uint8_t *at(const struct disc *d, uint64_t addr, uint64_t len)
{
	const struct hd_layout *L = &d->L;
	if (addr < L->image_start || len > L->image_size ||
	    addr - L->image_start > L->image_size - len)
		return NULL;
	return d->img + (addr - L->image_start);
}

static bool is_start(const struct disc *d, uint64_t addr)
{
	if (!d->starts || (addr & 7) || !at(d, addr, 8))
		return false;
	uint64_t i = (addr - d->L.image_start) >> 3;
	return d->starts[i >> 3] & (1u << (i & 7));
}

/* Decodes the header at ADDR into a hub address, or 0. */
static uint64_t hub_of(const struct disc *d, uint64_t addr)
{
	const uint8_t *p = at(d, addr, d->L.hdr_size);
	return p ? lay_hub_from_header(&d->L, lay_header(&d->L, p)) : 0;
}

static bool is_hub(const struct disc *d, uint64_t addr)
{
	return addr && !(addr & 7) && hub_of(d, addr) == d->L.class_hub;
}

/* The i32 at offset OFF of HUB: for the searches, which try candidate
 * offsets before the layout knows them.  Fields at offsets discovery has
 * settled are read with layout.h's decoders (hub_encoding, hub_refmap_index). */
static bool hub_i32(const struct disc *d, uint64_t hub, unsigned off, int32_t *v)
{
	const uint8_t *p = at(d, hub + off, 4);
	if (!p)
		return false;
	*v = (int32_t)ld_u32(p);
	return true;
}

/* The bytes of HUB up to the end of the i32 at OFF, or NULL. */
static const uint8_t *hub_through(const struct disc *d, uint64_t hub, unsigned off)
{
	return hub + off >= hub ? at(d, hub, (uint64_t)off + 4) : NULL;
}

static bool hub_encoding(const struct disc *d, uint64_t hub, int32_t *enc)
{
	const uint8_t *p = hub_through(d, hub, d->L.hub_enc);
	if (p)
		*enc = lay_hub_encoding(&d->L, p);
	return p != NULL;
}

static bool hub_refmap_index(const struct disc *d, uint64_t hub, int32_t *idx)
{
	const uint8_t *p = hub_through(d, hub, d->L.hub_refmap);
	if (p)
		*idx = lay_hub_refmap_index(&d->L, p);
	return p != NULL;
}

static bool probe_lookup(void *ctx, uint64_t hub, struct hd_hubinfo *info)
{
	const struct disc *d = ctx;
	int32_t enc;
	if (!is_hub(d, hub) || !hub_encoding(d, hub, &enc) || !le_is_plausible(enc))
		return false;
	info->enc = enc;
	const uint8_t *p = at(d, hub, (uint64_t)(d->L.hub_idhash >= 0 ? d->L.hub_idhash + 2 : 0));
	info->idhash_off = p ? lay_hub_idhash_off(&d->L, p) : 0;
	info->cls = NULL;
	return true;
}

/* ---- Stage 1: chunks, headers, encodings, validated by walking ---------- */

/* The word at offset S of the chunk at image offset OFF: the search tries
 * candidate header slots before the layout knows them; once it does,
 * headers are decoded by lay_chunk_header. */
static int64_t slot(const struct disc *d, uint64_t off, unsigned s)
{
	return (int64_t)ld_u64(d->img + off + s);
}

/* Follows candidate "next" slot S from chunk 0; returns the chain length or 0. */
static size_t chain_length(const struct disc *d, unsigned s, uint64_t *offs, size_t max)
{
	const struct hd_layout *L = &d->L;
	uint64_t c = 0;
	size_t n = 0;
	for (;;) {
		if (n >= max || c + L->chunk_size > L->image_size ||
		    (uint64_t)slot(d, c, L->ch_end) != L->chunk_size)
			return 0;
		offs[n++] = c;
		int64_t v = slot(d, c, s);
		if (v == 0)
			return n;
		if (v < (int64_t)L->chunk_size || (v & 7) || (uint64_t)v > L->image_size - c)
			return 0;
		c += (uint64_t)v;
	}
}

static int find_chunk_slots(struct disc *d, unsigned *tops, size_t *ntops)
{
	struct hd_layout *L = &d->L;
	if (L->image_size < 4096)
		return hd_fail(HD_E_LAYOUT, "image heap is too small (%" PRIu64 " bytes)",
			       L->image_size);
	bool found = false;
	for (unsigned s = 0; s < MAX_HEADER_SLOT && !found; s += 8) {
		uint64_t v = (uint64_t)slot(d, 0, s);
		if (v >= (1u << 14) && v <= (1u << 28) && !(v & (v - 1))) {
			L->ch_end = s;
			L->chunk_size = v;
			found = true;
		}
	}
	if (!found)
		return hd_fail(HD_E_LAYOUT, "image heap does not start with a chunk header "
					    "(unchunked image heaps are not supported)");

	size_t max = L->image_size / L->chunk_size + 1;
	uint64_t *offs = malloc(max * sizeof *offs);
	if (!offs)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	size_t best = 0;
	for (unsigned s = 0; s < MAX_HEADER_SLOT; s += 8) {
		if (s == L->ch_end)
			continue;
		size_t n = chain_length(d, s, offs, max);
		if (n > best) {
			best = n;
			L->ch_next = s;
		}
	}
	if (!best) {
		free(offs);
		return hd_fail(HD_E_LAYOUT, "no chunk-header word links the image heap's chunks");
	}
	chain_length(d, L->ch_next, offs, max);
	found = false;
	for (unsigned s = 0; s < MAX_HEADER_SLOT && !found; s += 8) {
		if (s == L->ch_end || s == L->ch_next)
			continue;
		bool ok = slot(d, 0, s) == 0;
		for (size_t i = 1; i < best && ok; i++)
			ok = slot(d, offs[i], s) == -(int64_t)(offs[i] - offs[i - 1]);
		if (ok && best > 1) {
			L->ch_prev = s;
			found = true;
		}
	}
	if (!found) /* a single chunk cannot show its back link */
		L->ch_prev = L->ch_next == 16 ? 24 : 16;
	*ntops = 0;
	for (unsigned s = 0; s < MAX_HEADER_SLOT; s += 8) {
		if (s == L->ch_end || s == L->ch_next || s == L->ch_prev)
			continue;
		bool ok = true;
		for (size_t i = 0; i < best && ok; i++) {
			int64_t v = slot(d, offs[i], s);
			ok = v >= 64 && (uint64_t)v <= L->chunk_size && !(v & 7);
		}
		if (ok)
			tops[(*ntops)++] = s;
	}
	free(offs);
	if (!*ntops)
		return hd_fail(HD_E_LAYOUT, "no chunk-header word holds a plausible top");
	note(d, "chunk size 0x%" PRIx64 ", header: end@%u next@%u prev@%u", L->chunk_size,
	     L->ch_end, L->ch_next, L->ch_prev);
	return 0;
}

struct pass {
	hd_object_fn fn;
	void *ctx;
	struct disc *d;
	struct hd_walker w;
};

static int pass_chunk_cb(void *ctx, const struct hd_chunk *ch)
{
	struct pass *p = ctx;
	if (interrupted(p->d))
		return -1;
	int rc = hw_walk_range(&p->w, ch->first, ch->top, NULL, 0, p->fn, p->ctx);
	/* The search walks the whole image heap several times: without this a
	 * mapped image heap would be resident whole by its end (a large folio
	 * faults back whole, so only what a walk has passed is let go). */
	elfimage_release_range(p->d->map, ch->addr - p->d->L.image_start, ch->top - ch->addr);
	return rc;
}

/* Visits every image-heap object with FN(CTX), if any, under the layout in
 * D; adds the bytes walked to *WALKED if not NULL. */
static int each_object_counted(struct disc *d, hd_object_fn fn, void *ctx, uint64_t *walked)
{
	if (interrupted(d))
		return -1;
	struct pass p = {.fn = fn, .ctx = ctx, .d = d};
	/* The layout stays fixed during a walk, and so does each hub's answer:
	 * it is cached. */
	if (hw_init(&p.w, &d->L, d->mv, probe_lookup, d) != 0)
		return -1;
	if (hw_cache_hubs(&p.w) != 0) {
		hw_fini(&p.w);
		return -1;
	}
	p.w.in_image_heap = true;
	int rc = hw_image_chunks(&p.w, pass_chunk_cb, &p);
	if (walked)
		*walked += p.w.bytes;
	hw_fini(&p.w);
	return rc;
}

static int each_object(struct disc *d, hd_object_fn fn, void *ctx)
{
	return each_object_counted(d, fn, ctx, NULL);
}

/* Charges one candidate layout to the search budget; false (error
 * recorded, search stopped) once it is spent or a signal came. */
static bool may_try_candidate(struct disc *d)
{
	if (interrupted(d))
		return false;
	const struct hd_search_budget *b = d->budget;
	if (d->candidates >= b->candidates || d->walked_bytes / b->walk_factor >= d->L.image_size) {
		hd_fail(HD_E_LAYOUT,
			"layout search gave up after %" PRIu64 " candidates and %" PRIu64
			" bytes walked (limits: %" PRIu64 " candidates, %" PRIu64
			" times the image heap)",
			d->candidates, d->walked_bytes, b->candidates, b->walk_factor);
		d->stopped = true;
		return false;
	}
	d->candidates++;
	return true;
}

/* Walks chunk 0 (a cheap first test) and, with FULL, then every chunk under
 * the candidate layout. */
static bool walks(struct disc *d, bool full)
{
	if (!may_try_candidate(d))
		return false;
	struct hd_walker w;
	if (hw_init(&w, &d->L, d->mv, probe_lookup, d) != 0)
		return false;
	w.in_image_heap = true;
	uint64_t c0 = d->L.image_start;
	uint64_t top = (uint64_t)lay_chunk_header(&d->L, d->img).top;
	bool ok = hw_walk_range(&w, c0 + d->L.aligned_obj_start, c0 + top, NULL, 0, NULL,
				NULL) == 0;
	d->walked_bytes += w.bytes;
	hw_fini(&w);
	return ok && (!full || each_object_counted(d, NULL, NULL, &d->walked_bytes) == 0);
}

/* The hub fixpoint: hub(hub(hub(first object))) == hub(hub(first object)). */
static bool fixpoint(struct disc *d, uint64_t first)
{
	uint64_t h1 = hub_of(d, first);
	if (!h1 || (h1 & 7))
		return false;
	uint64_t hc = hub_of(d, h1);
	if (!hc || (hc & 7) || hub_of(d, hc) != hc)
		return false;
	d->L.class_hub = hc;
	return true;
}

static bool try_walk_configs(struct disc *d, const unsigned *tops, size_t ntops)
{
	struct hd_layout *L = &d->L;
	unsigned alos[2] = {L->hdr_size + 4, L->hdr_size};
	int32_t hc_enc;
	/* The search for the encoding's offset: candidates, read raw. */
	for (unsigned eo = L->hdr_size; eo + 4 <= MAX_HUB_FIELD_AREA; eo += 4) {
		if (!hub_i32(d, L->class_hub, eo, &hc_enc))
			break;
		/* The Class hub is a hybrid with 8-byte (vtable) elements after its fields. */
		if (HD_LE_TAG(hc_enc) != (HD_LE_TAG_IDENTITY | HD_LE_TAG_PRIMITIVE) ||
		    le_shift(hc_enc) != 3 || le_base(hc_enc) <= eo || le_base(hc_enc) % 8)
			continue;
		L->hub_enc = eo;
		for (int ha = 0; ha < 2; ha++) {
			L->hash_appended = ha;
			/* The optional hash field's per-type offset matters only when image
			 * objects grow by it; search its hub slot only then. */
			int idh_first = ha ? (int)L->hdr_size : -1;
			int idh_last = ha ? (int)le_base(hc_enc) - 2 : -1;
			for (int idh = idh_first; idh <= idh_last; idh += ha ? 2 : 1) {
				if (ha && (unsigned)idh >= eo && (unsigned)idh < eo + 4)
					continue;
				L->hub_idhash = idh;
				for (unsigned a = 0; a < 2; a++) {
					L->array_length_off = alos[a];
					for (size_t t = 0; t < ntops; t++) {
						L->ch_top = tops[t];
						if (walks(d, true))
							return true;
						if (d->stopped)
							return false;
					}
				}
			}
		}
	}
	return false;
}

static void note_search_work(struct disc *d)
{
	note(d, "layout search: %" PRIu64 " candidates, %" PRIu64 " bytes walked", d->candidates,
	     d->walked_bytes);
}

static int find_encoding(struct disc *d, const unsigned *tops, size_t ntops)
{
	struct hd_layout *L = &d->L;
	unsigned last = tops[ntops - 1] > L->ch_next ? tops[ntops - 1] : L->ch_next;
	if (L->ch_prev > last)
		last = L->ch_prev;
	static const unsigned hdr_sizes[] = {8, 4};
	static const unsigned hub_shifts[] = {3, 4, 5, 6};
	for (unsigned extra = 8; extra <= 24; extra += 8) {
		uint64_t h8 = last + extra;
		uint64_t card_table = ((L->chunk_size - h8 + 511) / 512 + 7) & ~7ull;
		uint64_t starts[2] = {h8 + 2 * card_table, h8};
		for (int si = 0; si < 2; si++) {
			L->aligned_obj_start = starts[si];
			L->ch_struct_end = (unsigned)h8;
			for (int hi = 0; hi < 2; hi++) {
				for (int bi = 0; bi < 4; bi++) {
					for (int io = 0; io < 2; io++) {
						uint64_t iho = io == 0 ? L->chunk_size : 0;
						if (iho > L->image_start)
							continue;
						L->hdr_size = L->ref_size = hdr_sizes[hi];
						L->hub_shift = hub_shifts[bi];
						L->heap_base = L->image_start - iho;
						if (!fixpoint(d, L->image_start + L->aligned_obj_start))
							continue;
						if (try_walk_configs(d, tops, ntops)) {
							note(d,
							     "%u-byte headers, hub = base + (header >> %u << 3), "
							     "heap base = image start - 0x%" PRIx64,
							     L->hdr_size, L->hub_shift, iho);
							note(d,
							     "objects start at chunk+0x%" PRIx64
							     ", top@%u, array length@%u, hub layout "
							     "encoding@%u%s",
							     L->aligned_obj_start, L->ch_top,
							     L->array_length_off, L->hub_enc,
							     L->hash_appended ? ", optional identity hash" : "");
							note_search_work(d);
							return 0;
						}
						if (d->stopped) {
							note_search_work(d);
							return -1;
						}
					}
				}
			}
		}
	}
	note_search_work(d);
	return hd_fail(HD_E_LAYOUT, "no object-header layout walks the image heap chunks "
				    "to their tops (hub fixpoint or walk failed)");
}

/* ---- Stage 2: indexing the image heap ----------------------------------- */

static const char CLASS_NAME[] = "java.lang.Class";

static bool is_byte_array(int32_t enc)
{
	return le_is_pure_array(enc) && le_has_primitive_elems(enc) && le_shift(enc) == 0;
}

static int index_cb(void *ctx, const struct hd_object *o)
{
	struct disc *d = ctx;
	uint64_t i = (o->addr - d->L.image_start) >> 3;
	d->starts[i >> 3] |= (uint8_t)(1u << (i & 7));
	if (o->hub == d->L.class_hub)
		return vec_push(&d->hubs, o->addr);
	int32_t enc = o->hubinfo.enc;
	if (is_byte_array(enc) && o->length == sizeof CLASS_NAME - 1 &&
	    memcmp(o->data + le_base(enc), CLASS_NAME, sizeof CLASS_NAME - 1) == 0)
		return vec_push(&d->class_name_arrays, o->addr);
	return 0;
}

/* ---- Stage 3: names and strings ----------------------------------------- */

static int referrer_cb(void *ctx, const struct hd_object *o)
{
	struct disc *d = ctx;
	if (!le_is_instance(o->hubinfo.enc) || d->referrer.obj)
		return 0;
	for (unsigned off = d->L.hdr_size; off + d->L.ref_size <= o->size; off += d->L.ref_size) {
		uint64_t r = lay_ref(&d->L, o->data + off);
		for (size_t i = 0; i < d->class_name_arrays.n; i++) {
			if (r == d->class_name_arrays.v[i] && r) {
				d->referrer.obj = o->addr;
				d->referrer.off = off;
				return 0;
			}
		}
	}
	return 0;
}

/* Array at ADDR: its element bytes and length, if its hub is an array hub. */
static const uint8_t *array_elems(const struct disc *d, uint64_t addr, uint32_t *len,
				  unsigned *shift)
{
	uint64_t hub = hub_of(d, addr);
	int32_t enc;
	if (!is_hub(d, hub) || !hub_encoding(d, hub, &enc) || !le_is_pure_array(enc))
		return NULL;
	const uint8_t *p = at(d, addr, d->L.array_length_off + 4);
	if (!p || lay_array_length(&d->L, p) < 0)
		return NULL;
	*len = (uint32_t)lay_array_length(&d->L, p);
	*shift = le_shift(enc);
	return at(d, addr + le_base(enc), (uint64_t)*len << *shift);
}

static int32_t java_hash(const uint8_t *s, uint32_t len, bool utf16)
{
	uint32_t h = 0;
	if (utf16)
		for (uint32_t i = 0; i + 1 < len; i += 2)
			h = 31 * h + ld_u16(s + i);
	else
		for (uint32_t i = 0; i < len; i++)
			h = 31 * h + s[i];
	return (int32_t)h;
}

/* The value array of String S (bytes, their count), coder CODER (0/1). */
static const uint8_t *string_bytes(const struct disc *d, uint64_t s, uint32_t *nbytes,
				   int *coder)
{
	const uint8_t *p = at(d, s, lay_string_span(&d->L));
	if (!p)
		return NULL;
	struct lay_string str = lay_string(&d->L, p);
	uint32_t len;
	unsigned shift;
	const uint8_t *b = str.value ? array_elems(d, str.value, &len, &shift) : NULL;
	if (!b || shift > 1)
		return NULL;
	*nbytes = len << shift;
	*coder = shift == 1 ? 1 : str.coder;
	return b;
}

static int strings_cb(void *ctx, const struct hd_object *o)
{
	struct disc *d = ctx;
	if (o->hub == d->L.string_hub)
		return vec_push(&d->strings, o->addr);
	if (is_byte_array(o->hubinfo.enc) && o->length >= 12 && ld_u32(o->data + le_base(o->hubinfo.enc)) == 0)
		return vec_push(&d->zero_led_arrays, o->addr);
	return 0;
}

static int find_names(struct disc *d)
{
	struct hd_layout *L = &d->L;
	if (!d->class_name_arrays.n)
		return hd_fail(HD_E_LAYOUT, "no byte array holds the name \"java.lang.Class\"");
	/* Compressed 4-byte references may be shifted; 8-byte ones never are. */
	unsigned shifts[2] = {L->ref_size == 4 ? 3 : 0, 0};
	for (int i = 0; i < (L->ref_size == 4 ? 2 : 1) && !d->referrer.obj; i++) {
		L->ref_shift = shifts[i];
		if (each_object(d, referrer_cb, d) != 0)
			return -1;
	}
	if (!d->referrer.obj)
		return hd_fail(HD_E_LAYOUT, "no String references the name \"java.lang.Class\"");
	L->str_value = d->referrer.off;
	L->string_hub = hub_of(d, d->referrer.obj);
	L->str_coder = -1;
	int32_t enc;
	if (!is_hub(d, L->string_hub) || !hub_encoding(d, L->class_hub, &enc))
		return hd_fail(HD_E_LAYOUT, "the String candidate has no hub");
	for (unsigned off = L->hdr_size; off + L->ref_size <= le_base(enc); off += L->ref_size) {
		const uint8_t *p = at(d, L->class_hub + off, L->ref_size);
		if (p && lay_ref(L, p) == d->referrer.obj) {
			L->hub_name = off;
			note(d, "hub name@%u, String value@%u", off, L->str_value);
			return 0;
		}
	}
	return hd_fail(HD_E_LAYOUT, "the Class hub does not reference its name String");
}

/* An image String's text, read once for every candidate offset. */
struct text {
	const uint8_t *b; /* NULL: the value did not read */
	uint32_t n;       /* bytes */
	int32_t latin1;   /* Java hash of the bytes as Latin-1, for odd n >= 3 */
};

/* find_string_fields over the strings' texts T. */
static int string_fields_from(struct disc *d, const struct text *t)
{
	struct hd_layout *L = &d->L;
	int32_t senc;
	if (!hub_encoding(d, L->string_hub, &senc) || !le_is_instance(senc))
		return hd_fail(HD_E_LAYOUT, "String hub has no instance size");
	if (senc > MAX_STRING_SIZE)
		return hd_fail(HD_E_LAYOUT, "String instances of %d bytes (limit %d)", senc,
			       MAX_STRING_SIZE);
	unsigned size = (unsigned)senc;
	L->str_hash = -1;
	unsigned best_hits = 0;
	for (unsigned off = L->hdr_size; off + 4 <= size; off += 4) {
		if (off + 4 > L->str_value && off < L->str_value + L->ref_size)
			continue;
		unsigned hits = 0, tried = 0;
		for (size_t i = 0; i < d->strings.n; i++) {
			if (!t[i].b || t[i].n % 2 == 0 || t[i].n < 3)
				continue;
			tried++;
			if ((int32_t)ld_u32(at(d, d->strings.v[i], size) + off) == t[i].latin1)
				hits++;
		}
		if (tried && hits * 10 >= tried * 9 && hits > best_hits) {
			best_hits = hits;
			L->str_hash = (int)off;
		}
	}
	if (L->str_hash < 0)
		return hd_fail(HD_E_LAYOUT, "no String field holds the strings' hash codes");
	/* coder: a byte that is 0 or 1 in every String, 0 for odd byte counts,
	 * and whose UTF-16 readings match the stored hashes.  Prefer a slot
	 * with such positive evidence, else the lowest consistent slot (byte
	 * fields keep declaration order, and coder precedes hashIsZero). */
	int fallback = -1, best = -1;
	unsigned best_utf16 = 0;
	for (unsigned off = L->hdr_size; off < size; off++) {
		if ((off + 1 > L->str_value && off < L->str_value + L->ref_size) ||
		    (off + 1 > (unsigned)L->str_hash && off < (unsigned)L->str_hash + 4))
			continue;
		bool ok = true;
		unsigned utf16 = 0;
		for (size_t i = 0; i < d->strings.n && ok; i++) {
			uint64_t s = d->strings.v[i];
			uint8_t c = at(d, s, size)[off];
			const uint8_t *b = t[i].b;
			uint32_t n = t[i].n;
			if (!b)
				continue;
			if (c > 1 || (c == 1 && n % 2)) {
				ok = false;
				break;
			}
			int32_t h = (int32_t)ld_u32(at(d, s, size) + (unsigned)L->str_hash);
			if (c == 1 && n >= 2 && h != 0) {
				if (java_hash(b, n, true) != h)
					ok = false;
				else
					utf16++;
			}
		}
		if (!ok)
			continue;
		if (fallback < 0)
			fallback = (int)off;
		if (utf16 > best_utf16) {
			best_utf16 = utf16;
			best = (int)off;
		}
	}
	L->str_coder = best >= 0 ? best : fallback;
	if (L->str_coder < 0)
		return hd_fail(HD_E_LAYOUT, "no String field behaves like the coder");
	note(d, "String hash@%d coder@%d (%u UTF-16 strings confirm it), %zu image strings",
	     L->str_hash, L->str_coder, best_utf16, d->strings.n);
	return 0;
}

/* Finds String.hash (an i32 equal to the Java hash of the text; image strings
 * have it precomputed) and String.coder (a byte, 1 only for UTF-16 text). */
static int find_string_fields(struct disc *d)
{
	struct text *t = malloc((d->strings.n + 1) * sizeof *t);
	if (!t)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < d->strings.n; i++) {
		int coder;
		struct text *x = &t[i];
		x->n = 0;
		x->b = string_bytes(d, d->strings.v[i], &x->n, &coder);
		/* odd byte counts are certainly Latin-1 */
		x->latin1 = x->b && x->n % 2 && x->n >= 3 ? java_hash(x->b, x->n, false) : 0;
	}
	int rc = string_fields_from(d, t);
	free(t);
	return rc;
}

/* ---- Stage 4: reference maps -------------------------------------------- */

static bool hub_fixed_size(const struct disc *d, uint64_t hub, unsigned *size)
{
	int32_t enc;
	if (!hub_encoding(d, hub, &enc))
		return false;
	if (le_is_instance(enc))
		*size = (unsigned)enc;
	else if (le_is_hybrid(enc))
		*size = le_base(enc);
	else
		*size = 0;
	return true;
}

static bool check_every_hub_map(const struct disc *d, uint64_t table, uint32_t len, unsigned slot)
{
	for (size_t i = 0; i < d->hubs.n; i++) {
		unsigned size;
		int32_t idx; /* at SLOT, a candidate for the refmap index: read raw */
		if (!hub_fixed_size(d, d->hubs.v[i], &size) || !hub_i32(d, d->hubs.v[i], slot, &idx))
			return false;
		if (size == 0)
			continue; /* arrays and special hubs carry no instance map */
		if (lay_refmap_each(&d->L, at(d, table, len), len, idx, size, NULL, NULL) != 0)
			return false;
	}
	return true;
}

static int find_refmaps(struct disc *d)
{
	struct hd_layout *L = &d->L;
	int32_t enc;
	if (!hub_encoding(d, L->class_hub, &enc))
		return -1;
	unsigned tables_checked = 0;
	for (unsigned slot = L->hdr_size; slot + 4 <= le_base(enc); slot += 4) {
		if (slot == L->hub_enc)
			continue;
		if (interrupted(d))
			return -1;
		int32_t idx; /* the search: SLOT is a candidate offset, read raw */
		if (!hub_i32(d, L->string_hub, slot, &idx) || idx < 4 || idx % 4)
			continue;
		for (size_t i = 0; i < d->zero_led_arrays.n; i++) {
			uint64_t a = d->zero_led_arrays.v[i];
			uint32_t len;
			unsigned shift;
			const uint8_t *b = array_elems(d, a, &len, &shift);
			if (!b || (uint64_t)idx + 12 > len)
				continue;
			if (ld_u32(b + idx) != 1 || ld_u32(b + idx + 4) != L->str_value ||
			    ld_u32(b + idx + 8) != 1)
				continue;
			uint64_t table = a + (uint64_t)(b - at(d, a, 1));
			if (++tables_checked > MAX_REFMAP_TABLE_CHECKS)
				return hd_fail(HD_E_LAYOUT, "no reference-map table fits every hub "
							    "(gave up after %d candidates)",
					       MAX_REFMAP_TABLE_CHECKS);
			if (!check_every_hub_map(d, table, len, slot))
				continue;
			L->hub_refmap = slot;
			L->refmap_data = table;
			L->refmap_len = len;
			note(d, "reference maps: hub index@%u, table of %u bytes", slot, len);
			return 0;
		}
	}
	return hd_fail(HD_E_LAYOUT, "no reference-map table fits every hub");
}

/* ---- Stage 5: every reference lands on an object start ------------------ */

struct refcheck {
	struct disc *d;
	uint64_t bad, checked, first_bad_at;
};

/* Checks COUNT references from offset OFF of O.  The count comes from the
 * object (an array length, a reference map): slots past the object's own
 * size are refused, not read. */
static bool refcheck_slots(struct refcheck *rc, const struct hd_object *o, unsigned off,
			   uint64_t count)
{
	const struct hd_layout *L = &rc->d->L;
	if (!o->data || off > o->size || count > (o->size - off) / L->ref_size)
		return false;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t r = lay_ref(L, o->data + off + (uint64_t)i * L->ref_size);
		rc->checked++;
		if (r && !is_start(rc->d, r)) {
			if (!rc->bad)
				rc->first_bad_at = o->addr + off + (uint64_t)i * L->ref_size;
			rc->bad++;
		}
	}
	return true;
}

struct map_visit {
	struct refcheck *rc;
	const struct hd_object *o;
};

static int map_visit_cb(void *ctx, unsigned off, unsigned count)
{
	struct map_visit *mv = ctx;
	return refcheck_slots(mv->rc, mv->o, off, count) ? 0 : -1;
}

static int refcheck_cb(void *ctx, const struct hd_object *o)
{
	struct refcheck *rc = ctx;
	const struct disc *d = rc->d;
	/* A header that merely points at hub-like bytes (inside some array)
	 * would pass the walk: the hub must be an object the walk met. */
	if (!is_start(d, o->hub))
		return hd_fail(HD_E_LAYOUT,
			       "object at 0x%" PRIx64 " has hub 0x%" PRIx64 ", not an object start",
			       o->addr, o->hub);
	int32_t enc = o->hubinfo.enc;
	if (le_is_pure_array(enc)) {
		if (!le_has_primitive_elems(enc) && !refcheck_slots(rc, o, le_base(enc), o->length))
			return hd_fail(HD_E_LAYOUT,
				       "object array at 0x%" PRIx64 " holds %u references in %" PRIu64
				       " bytes", o->addr, o->length, o->size);
		return 0;
	}
	int32_t idx;
	if (!hub_refmap_index(d, o->hub, &idx))
		return hd_fail(HD_E_LAYOUT, "hub at 0x%" PRIx64 " is cut off", o->hub);
	unsigned limit = le_is_hybrid(enc) ? le_base(enc) : (unsigned)o->size;
	struct map_visit mv = {rc, o};
	if (lay_refmap_each(&d->L, at(d, d->L.refmap_data, d->L.refmap_len), d->L.refmap_len, idx,
			    limit, map_visit_cb, &mv) != 0)
		return hd_fail(HD_E_LAYOUT, "object at 0x%" PRIx64 " has a bad reference map",
			       o->addr);
	return 0;
}

static int check_references(struct disc *d)
{
	struct refcheck rc = {.d = d};
	if (each_object(d, refcheck_cb, &rc) != 0)
		return -1;
	if (rc.bad)
		return hd_fail(HD_E_LAYOUT,
			       "%" PRIu64 " of %" PRIu64 " references do not land on an object "
			       "start (first at 0x%" PRIx64 ")",
			       rc.bad, rc.checked, rc.first_bad_at);
	note(d, "%" PRIu64 " references checked: all null or object starts", rc.checked);
	return 0;
}

/* ---- Stage 6: hub names, identity hash, superclass, referent ------------ */

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct name_entry *)a)->name, ((const struct name_entry *)b)->name);
}

static int load_names(struct disc *d)
{
	d->names = calloc(d->hubs.n ? d->hubs.n : 1, sizeof *d->names);
	if (!d->names)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < d->hubs.n; i++) {
		if (interrupted(d))
			return -1;
		/* Hubs without instances were never decoded by a walk: what the
		 * class table will require of every hub is checked here. */
		int32_t enc = 0;
		if (!hub_encoding(d, d->hubs.v[i], &enc) || !le_is_plausible(enc) ||
		    (le_is_pure_array(enc) && !le_has_primitive_elems(enc) &&
		     (1u << le_shift(enc)) != d->L.ref_size))
			return hd_fail(HD_E_LAYOUT, "hub at 0x%" PRIx64 " has layout encoding 0x%x",
				       d->hubs.v[i], (uint32_t)enc);
		const uint8_t *p = at(d, d->hubs.v[i] + d->L.hub_name, d->L.ref_size);
		uint64_t s = p ? lay_ref(&d->L, p) : 0;
		char *name = s ? lay_read_string(d->mv, &d->L, s) : NULL;
		if (!name)
			return hd_fail(HD_E_LAYOUT, "hub at 0x%" PRIx64 " has no readable name",
				       d->hubs.v[i]);
		d->names[d->nnames++] = (struct name_entry){name, d->hubs.v[i]};
	}
	qsort(d->names, d->nnames, sizeof *d->names, cmp_name);
	return 0;
}

static uint64_t hub_named(const struct disc *d, const char *name)
{
	struct name_entry key = {name, 0};
	const struct name_entry *e = bsearch(&key, d->names, d->nnames, sizeof key, cmp_name);
	return e ? e->hub : 0;
}

static uint64_t ref_at(const struct disc *d, uint64_t addr)
{
	const uint8_t *p = at(d, addr, d->L.ref_size);
	return p ? lay_ref(&d->L, p) : 0;
}

static uint64_t super_via(const struct disc *d, uint64_t hub, unsigned s1, int s2)
{
	uint64_t r = ref_at(d, hub + s1);
	if (s2 >= 0 && r)
		r = ref_at(d, r + (unsigned)s2);
	return r;
}

/* The superclass link, checked on classes every Java image has. */
static void find_super(struct disc *d)
{
	static const char *pairs[][2] = {
		{"java.lang.String", "java.lang.Object"},
		{"java.lang.Integer", "java.lang.Number"},
		{"java.lang.Number", "java.lang.Object"},
		{"java.util.HashMap", "java.util.AbstractMap"},
		{"java.util.ArrayList", "java.util.AbstractList"},
	};
	struct hd_layout *L = &d->L;
	L->hub_super = L->hub_super2 = -1;
	uint64_t object = hub_named(d, "java.lang.Object");
	int32_t enc;
	if (!object || !hub_encoding(d, L->class_hub, &enc))
		return;
	unsigned fixed = le_base(enc);
	/* Either the hub holds the link, or (GraalVM 25) a companion object does. */
	int companion_slots[1 + MAX_HUB_FIELD_AREA / 16];
	size_t ncs = 0;
	companion_slots[ncs++] = -1;
	for (unsigned s = L->hdr_size; s < MAX_HUB_FIELD_AREA / 4; s += L->ref_size)
		companion_slots[ncs++] = (int)s;
	unsigned chains_checked = 0;
	for (unsigned s1 = L->hdr_size; s1 + L->ref_size <= fixed; s1 += L->ref_size) {
		for (size_t ci = 0; ci < ncs; ci++) {
			int s2 = companion_slots[ci];
			bool ok = super_via(d, object, s1, s2) == 0;
			unsigned checked = 0;
			for (size_t i = 0; i < sizeof pairs / sizeof pairs[0] && ok; i++) {
				uint64_t c = hub_named(d, pairs[i][0]), s = hub_named(d, pairs[i][1]);
				if (!c || !s)
					continue;
				ok = super_via(d, c, s1, s2) == s;
				checked++;
			}
			if (ok && checked >= 2 && ++chains_checked > MAX_SUPER_CHAIN_CHECKS)
				goto not_found;
			if (ok && checked >= 2) {
				/* Every superclass link must end at java.lang.Object or null. */
				for (size_t i = 0; i < d->hubs.n && ok; i++) {
					uint64_t h = d->hubs.v[i];
					for (int depth = 0; h && ok; depth++) {
						uint64_t sup = super_via(d, h, s1, s2);
						ok = depth < 512 && (sup == 0 || is_hub(d, sup));
						h = sup;
					}
				}
			}
			if (ok && checked >= 2) {
				L->hub_super = (int)s1;
				L->hub_super2 = s2;
				note(d, "superclass: hub@%u, then companion@%d (-1: none)", s1, s2);
				return;
			}
		}
	}
not_found:
	note(d, "superclass link not found: classes will extend java.lang.Object");
}

/* The hub slot that holds a per-type identity-hash offset: a u16 that places
 * an int inside every instance and clear of String's known fields.  With
 * VARIED, the offsets must also differ between types (a constant would fit
 * a fixed header slot just as well).  Returns the slot or -1. */
static int idhash_hub_slot(struct disc *d, bool varied)
{
	const struct hd_layout *L = &d->L;
	int32_t enc;
	if (!hub_encoding(d, L->class_hub, &enc))
		return -1;
	for (unsigned slot = L->hdr_size; slot + 2 <= le_base(enc); slot += 2) {
		if (interrupted(d))
			return -1;
		bool ok = true;
		unsigned instances = 0, first = 0;
		bool differ = false;
		for (size_t i = 0; i < d->hubs.n && ok; i++) {
			int32_t e;
			const uint8_t *p = at(d, d->hubs.v[i] + slot, 2);
			if (!p || !hub_encoding(d, d->hubs.v[i], &e))
				ok = false;
			else if (le_is_instance(e)) {
				unsigned v = ld_u16(p);
				ok = v % 4 == 0 && v >= L->hdr_size && v + 4 <= (unsigned)e;
				if (instances++ == 0)
					first = v;
				differ |= v != first;
			}
		}
		const uint8_t *sp = at(d, L->string_hub + slot, 2);
		if (ok && sp) {
			unsigned v = ld_u16(sp);
			ok = v != L->str_value && v != (unsigned)L->str_hash &&
			     !((unsigned)L->str_coder >= v && (unsigned)L->str_coder < v + 4);
		}
		if (ok && instances > 0 && (differ || !varied))
			return (int)slot;
	}
	return -1;
}

/* Per-type identity hash (a u16 offset in every hub) versus a fixed header
 * slot.  A String field right after the header rules the fixed slot out;
 * otherwise a per-type slot must show several offsets to be believed (a
 * String may also start with fields discovery does not know). */
static void find_identity_hash(struct disc *d)
{
	struct hd_layout *L = &d->L;
	if (L->hash_appended)
		return; /* found in stage 1 */
	L->idhash_fixed_off = L->hdr_size;
	bool fields_at_header_end = L->str_value < L->hdr_size + 4 ||
				    (unsigned)L->str_hash < L->hdr_size + 4 ||
				    (unsigned)L->str_coder < L->hdr_size + 4;
	L->hub_idhash = idhash_hub_slot(d, !fields_at_header_end);
	if (L->hub_idhash >= 0)
		note(d, "identity hash: per-type offset in hub@%d", L->hub_idhash);
	else if (!fields_at_header_end)
		note(d, "identity hash: fixed int at +%u", L->idhash_fixed_off);
	else
		note(d, "identity hash: location unknown (fields are named by offset)");
}

struct slot_probe {
	unsigned off, ref_size;
};

/* 1 (ends the visit) when the run holds the probed slot. */
static int in_map_cb(void *ctx, unsigned off, unsigned count)
{
	const struct slot_probe *p = ctx;
	return p->off >= off && p->off < off + count * p->ref_size;
}

/* Does HUB's reference map (checked already by find_refmaps) list the
 * slot at OFF?  A map that cannot be read counts as listing it: the slot
 * is then not taken for the referent. */
static bool slot_in_map(const struct disc *d, uint64_t hub, unsigned off, unsigned size)
{
	int32_t idx;
	struct slot_probe probe = {off, d->L.ref_size};
	return !hub_refmap_index(d, hub, &idx) ||
	       lay_refmap_each(&d->L, at(d, d->L.refmap_data, d->L.refmap_len), d->L.refmap_len, idx,
			       size, in_map_cb, &probe) != 0;
}

/* The hub slot of the per-type monitor offset: a u16 (the low half of an
 * int in older images) that is 0 or a reference slot of the type's map in
 * every instance hub, set in enough of them, and the only slot that is. */
static void find_monitor(struct disc *d)
{
	struct hd_layout *L = &d->L;
	int32_t enc;
	L->hub_monitor = 0;
	if (!hub_encoding(d, L->class_hub, &enc))
		return;
	int found = 0;
	for (unsigned slot = L->hdr_size; slot + 2 <= le_base(enc) && found >= 0; slot += 2) {
		if (interrupted(d) || (int)slot == L->hub_idhash || slot == L->hub_enc ||
		    slot == L->hub_enc + 2 || slot == L->hub_refmap || slot == L->hub_refmap + 2)
			continue;
		bool ok = true;
		unsigned set = 0;
		for (size_t i = 0; i < d->hubs.n && ok; i++) {
			int32_t e;
			const uint8_t *p = at(d, d->hubs.v[i] + slot, 2);
			if (!p || !hub_encoding(d, d->hubs.v[i], &e))
				ok = false;
			else if (le_is_instance(e) && ld_u16(p)) {
				unsigned v = ld_u16(p);
				ok = v % L->ref_size == 0 && v >= L->hdr_size && v + L->ref_size <= (unsigned)e &&
				     slot_in_map(d, d->hubs.v[i], v, (unsigned)e);
				set++;
			}
		}
		if (ok && set >= 16)
			found = found ? -1 : (int)slot;
	}
	if (found > 0) {
		L->hub_monitor = found;
		note(d, "monitor: per-type offset in hub@%d", found);
	} else {
		note(d, "monitor slot: %s", found ? "ambiguous" : "not found");
	}
}

static bool extends(const struct disc *d, uint64_t hub, uint64_t ancestor)
{
	for (int depth = 0; hub && depth < 512; depth++) {
		if (hub == ancestor)
			return true;
		hub = super_via(d, hub, (unsigned)d->L.hub_super, d->L.hub_super2);
	}
	return false;
}

/* The hubs that extend java.lang.ref.Reference, sorted: each superclass
 * chain (up to 512 deep) is followed once per hub, not once per object. */
struct hub_set {
	uint64_t *v;
	size_t n;
};

static int cmp_addr(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static int subclasses_of(const struct disc *d, uint64_t ancestor, struct hub_set *out)
{
	out->n = 0;
	out->v = malloc((d->hubs.n ? d->hubs.n : 1) * sizeof *out->v);
	if (!out->v)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < d->hubs.n; i++)
		if (extends(d, d->hubs.v[i], ancestor))
			out->v[out->n++] = d->hubs.v[i];
	qsort(out->v, out->n, sizeof *out->v, cmp_addr);
	return 0;
}

static bool in_set(const struct hub_set *s, uint64_t hub)
{
	return bsearch(&hub, s->v, s->n, sizeof *s->v, cmp_addr) != NULL;
}

struct referent_probe {
	struct disc *d;
	const struct hub_set *references;
	unsigned off;
	unsigned instances, nonnull;
	bool bad;
};

static int referent_cb(void *ctx, const struct hd_object *o)
{
	struct referent_probe *rp = ctx;
	if (rp->bad || !le_is_instance(o->hubinfo.enc) || !in_set(rp->references, o->hub))
		return 0;
	if (rp->off + rp->d->L.ref_size > o->size) {
		rp->bad = true;
		return 0;
	}
	uint64_t r = lay_ref(&rp->d->L, o->data + rp->off);
	rp->instances++;
	if (r && !is_start(rp->d, r))
		rp->bad = true;
	else if (r)
		rp->nonnull++;
	return 0;
}

/* java.lang.ref.Reference.referent is left out of the reference maps (the
 * GC treats it specially); it is the reference-sized slot of Reference that
 * the map omits and that holds object starts in the image's references. */
static int find_referent(struct disc *d)
{
	struct hd_layout *L = &d->L;
	L->referent_off = -1;
	uint64_t ref_hub = hub_named(d, "java.lang.ref.Reference");
	unsigned size;
	if (!ref_hub || L->hub_super < 0 || !hub_fixed_size(d, ref_hub, &size))
		return 0;
	/* An abstract Reference has no instance size: a concrete subclass has
	 * the same slots (and its map lists the same inherited references). */
	uint64_t layout_hub = ref_hub;
	uint64_t weak = hub_named(d, "java.lang.ref.WeakReference");
	if (size == 0 && weak && hub_fixed_size(d, weak, &size))
		layout_hub = weak;
	if (size == 0 || size > MAX_REFERENCE_SIZE)
		return 0;
	struct hub_set references;
	if (subclasses_of(d, ref_hub, &references) != 0)
		return -1;
	unsigned first = (L->hdr_size + L->ref_size - 1) & ~(L->ref_size - 1);
	unsigned walked = 0;
	int rc = 0;
	for (unsigned off = first; off + L->ref_size <= size && walked < MAX_REFERENT_WALKS;
	     off += L->ref_size) {
		if (slot_in_map(d, layout_hub, off, size))
			continue;
		if (L->hub_idhash < 0 && off < L->idhash_fixed_off + 4 &&
		    off + L->ref_size > L->idhash_fixed_off)
			continue;
		struct referent_probe rp = {.d = d, .references = &references, .off = off};
		walked++;
		if ((rc = each_object(d, referent_cb, &rp)) != 0)
			break;
		if (!rp.bad && rp.nonnull > 0) {
			L->referent_off = (int)off;
			note(d, "Reference.referent@%u (%u of %u image references set)", off,
			     rp.nonnull, rp.instances);
			break;
		}
	}
	if (rc == 0 && L->referent_off < 0)
		note(d, "Reference.referent not found");
	free(references.v);
	return rc;
}

/* ---- Entry points ------------------------------------------------------- */

static void disc_free(struct disc *d)
{
	free(d->starts);
	free(d->hubs.v);
	free(d->class_name_arrays.v);
	free(d->strings.v);
	free(d->zero_led_arrays.v);
	for (size_t i = 0; i < d->nnames; i++)
		free((char *)d->names[i].name);
	free(d->names);
}

static int discover(hd_memview *mv, uint64_t start, uint64_t size, const struct hd_elfimage *map,
		    const struct hd_search_budget *budget, struct hd_layout *out, uint64_t **hubs,
		    size_t *nhubs, FILE *log);

int discover_layout(hd_memview *mv, uint64_t start, uint64_t size, struct hd_layout *out,
		    uint64_t **hubs, size_t *nhubs, FILE *log)
{
	return discover(mv, start, size, NULL, &hd_default_search_budget, out, hubs, nhubs, log);
}

int discover_layout_of_image(hd_memview *mv, uint64_t start, const struct hd_elfimage *img,
			     struct hd_layout *out, uint64_t **hubs, size_t *nhubs, FILE *log)
{
	return discover(mv, start, img->heap_size, img, &hd_default_search_budget, out, hubs, nhubs,
			log);
}

int discover_layout_within(hd_memview *mv, uint64_t start, uint64_t size,
			   const struct hd_search_budget *budget, struct hd_layout *out,
			   uint64_t **hubs, size_t *nhubs, FILE *log)
{
	return discover(mv, start, size, NULL, budget, out, hubs, nhubs, log);
}

static int discover(hd_memview *mv, uint64_t start, uint64_t size, const struct hd_elfimage *map,
		    const struct hd_search_budget *budget, struct hd_layout *out, uint64_t **hubs,
		    size_t *nhubs, FILE *log)
{
	struct disc d = {.log = log, .mv = mv, .map = map, .budget = budget};
	if (!budget->walk_factor)
		return hd_fail(HD_E_INTERNAL, "layout search without a walk budget");
	d.img = mv_local_ptr(mv, start, size);
	if (!d.img)
		return hd_fail(HD_E_INTERNAL, "image heap is not in local memory");
	d.L.image_start = start;
	d.L.image_size = size;
	d.L.hub_idhash = -1;
	unsigned tops[MAX_HEADER_SLOT / 8];
	size_t ntops = 0;
	int rc = -1;
	if (find_chunk_slots(&d, tops, &ntops) != 0 || find_encoding(&d, tops, ntops) != 0)
		goto out;
	d.starts = calloc(size / 64 + 1, 1);
	if (!d.starts) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		goto out;
	}
	if (each_object(&d, index_cb, &d) != 0 || find_names(&d) != 0 ||
	    each_object(&d, strings_cb, &d) != 0 || find_string_fields(&d) != 0 ||
	    find_refmaps(&d) != 0 || check_references(&d) != 0 || load_names(&d) != 0)
		goto out;
	find_identity_hash(&d);
	find_monitor(&d);
	find_super(&d);
	if (find_referent(&d) != 0)
		goto out;
	note(&d, "%zu hubs", d.hubs.n);
	*out = d.L;
	*hubs = d.hubs.v;
	*nhubs = d.hubs.n;
	d.hubs.v = NULL;
	rc = 0;
out:
	if (rc != 0)
		hd_error_context("layout discovery");
	disc_free(&d);
	return rc;
}
