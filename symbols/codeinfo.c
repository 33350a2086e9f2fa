#include "codeinfo.h"

#include "elfimage.h"

#include "../common/hd_error.h"
#include "../common/interrupt.h"
#include "varint.h"

#include <stdlib.h>
#include <string.h>

/* ---- bounded readers over a table ------------------------------------ */

/* The shared varint reader (varint.h) with a sticky BAD flag: after the
 * first read that fails every read gives 0, so a decoder checks BAD once
 * per step rather than after each value. */
struct rd {
	struct hd_varint v;
	bool bad;
};

static struct rd rd_at(const struct hd_bytes *b, size_t pos)
{
	return (struct rd){vi_at(b->p, b->n, pos), pos > b->n};
}

static uint64_t rd_uv(struct rd *r)
{
	uint64_t x;
	r->bad = r->bad || !vi_uv(&r->v, &x);
	return r->bad ? 0 : x;
}

static int64_t rd_sv(struct rd *r)
{
	int64_t x;
	r->bad = r->bad || !vi_sv(&r->v, &x);
	return r->bad ? 0 : x;
}

/* An int-sized signed value (getSVInt): anything wider is bad data. */
static int32_t rd_svi(struct rd *r)
{
	int32_t x;
	r->bad = r->bad || !vi_sv_int(&r->v, &x);
	return r->bad ? 0 : x;
}

static uint8_t rd_u1(struct rd *r)
{
	uint8_t x;
	r->bad = r->bad || !vi_u1(&r->v, &x);
	return r->bad ? 0 : x;
}

/* Little-endian fixed-size fields of SIZE bytes at OFF, signed or not. */
static bool fixed(const struct hd_bytes *b, size_t off, unsigned size, bool sign, int64_t *v)
{
	if (off > b->n || b->n - off < size)
		return false;
	uint64_t u = 0;
	for (unsigned i = 0; i < size; i++)
		u |= (uint64_t)b->p[off + i] << (8 * i);
	if (sign && size < 8 && (u >> (8 * size - 1)) & 1)
		u |= ~0ull << (8 * size);
	*v = (int64_t)u;
	return true;
}

/* ---- the entry table (CodeInfoDecoder) -------------------------------- */

/* Flag byte: frame size, exception offset, reference map, frame info, two
 * bits each; the entry is the flag byte, an IP delta byte, then each
 * present field in that order. */
enum {
	FS_NONE = 0,
	RM_NONE = 0, RM_EMPTY = 1,
	FI_NONE = 0, FI_DEOPT = 1,
	FRAME_SIZE_METHOD_START = 1,
	FRAME_SIZE_ENTRY_POINT = 2,
	FRAME_SIZE_STATUS_MASK = 7,
};
static const unsigned fs_size[4] = {0, 1, 2, 4};
static const unsigned rm_size[4] = {0, 0, 2, 4};
static const unsigned fi_size[4] = {0, 4, 4, 4};

struct raw_entry {
	uint8_t flags, delta;
	bool has_size;
	int64_t size, refmap, frame_info;
	size_t next; /* offset of the following entry */
};

static bool parse_entry(const struct hd_codeinfo *ci, size_t off, struct raw_entry *e)
{
	const struct hd_bytes *b = &ci->entries;
	if (off > b->n || b->n - off < 2)
		return false;
	e->flags = b->p[off];
	e->delta = b->p[off + 1];
	unsigned fs = e->flags & 3, ex = (e->flags >> 2) & 3, rm = (e->flags >> 4) & 3,
		 fi = (e->flags >> 6) & 3;
	size_t at = off + 2;
	e->has_size = fs != FS_NONE;
	if (e->has_size && !fixed(b, at, fs_size[fs], true, &e->size))
		return false;
	at += fs_size[fs] + fs_size[ex];
	e->refmap = rm == RM_NONE ? CODEINFO_NO_REFMAP : CODEINFO_EMPTY_REFMAP;
	if (rm_size[rm] && !fixed(b, at, rm_size[rm], false, &e->refmap))
		return false;
	at += rm_size[rm];
	e->frame_info = -1;
	if (fi != FI_NONE && !fixed(b, at, 4, true, &e->frame_info))
		return false;
	at += fi_size[fi] + (ci->deopt_byte && fi == FI_DEOPT);
	if (at > b->n)
		return false;
	e->next = at;
	return true;
}

bool codeinfo_contains(const struct hd_codeinfo *ci, uint64_t ip)
{
	return ip >= ci->code_start && ip - ci->code_start < ci->code_size;
}

bool codeinfo_lookup(const struct hd_codeinfo *ci, uint64_t ip, struct hd_code_entry *out)
{
	if (!codeinfo_contains(ci, ip))
		return false;
	uint64_t rel = ip - ci->code_start, k = rel / CODEINFO_GRANULARITY;
	int64_t off;
	if (k > SIZE_MAX / 4 || !fixed(&ci->index, (size_t)k * 4, 4, false, &off))
		return false;
	uint64_t at = k * CODEINFO_GRANULARITY;
	int64_t size = 0;
	struct raw_entry e;
	*out = (struct hd_code_entry){.refmap = CODEINFO_NO_REFMAP, .frame_info = -1};
	/* Every delta is at least 1: one granule holds at most that many entries. */
	for (unsigned steps = 0; steps <= CODEINFO_GRANULARITY; steps++) {
		if (!parse_entry(ci, (size_t)off, &e))
			return false;
		if (e.has_size)
			size = e.size;
		if (e.has_size && (size & FRAME_SIZE_METHOD_START))
			out->frame_info = -1; /* an earlier method's frames name nothing here */
		if (e.frame_info >= 0 && at != rel) {
			/* between call sites: the closest one before names the method */
			out->frame_info = e.frame_info;
			out->deopt_entry = ((e.flags >> 6) & 3) == FI_DEOPT;
		}
		if (at == rel) {
			out->exact = true;
			out->refmap = e.refmap;
			out->frame_info = e.frame_info;
			out->deopt_entry = ((e.flags >> 6) & 3) == FI_DEOPT;
			break;
		}
		if (e.delta == 0 || at + e.delta > rel)
			break;
		at += e.delta;
		off = (int64_t)e.next;
	}
	if (size <= 0 || (size & ~FRAME_SIZE_STATUS_MASK) == 0)
		return false;
	out->frame_size = (uint32_t)(size & ~FRAME_SIZE_STATUS_MASK);
	out->entry_point = size & FRAME_SIZE_ENTRY_POINT;
	return true;
}

/* ---- frame info (FrameInfoDecoder) ------------------------------------- */

struct chain {
	const struct hd_codeinfo *ci;
	struct rd r;
	struct hd_java_frame *out;
	size_t n;
};

/* The class and name of method table entry MID (24.1 on). */
static bool method_names(const struct hd_codeinfo *ci, int64_t mid, struct hd_java_frame *f)
{
	if (!ci->method_entry || mid < 0 || (uint64_t)mid >= ci->methods.n / ci->method_entry)
		return false;
	size_t at = (size_t)mid * ci->method_entry;
	unsigned cb = ci->short_class ? 2 : 4, nb = ci->short_name ? 2 : 4;
	int64_t cls, name;
	if (!fixed(&ci->methods, at, cb, false, &cls) || !fixed(&ci->methods, at + cb, nb, false, &name) ||
	    (uint64_t)cls >= ci->nclasses || (uint64_t)name >= ci->nnames)
		return false;
	f->class_off = ci->classes[cls];
	f->name_off = ci->names[name];
	return true;
}

static bool inline_names(const struct hd_codeinfo *ci, int64_t cls, int64_t name,
			 struct hd_java_frame *f)
{
	if (cls < 0 || name < 0 || (uint64_t)cls >= ci->nclasses || (uint64_t)name >= ci->nnames)
		return false;
	f->class_off = ci->classes[cls];
	f->name_off = ci->names[name];
	return true;
}

/* An encoded bci (23.1 on): the bci +4, shifted past two flag bits; both
 * flags set is the end marker of an uncompressed chain, no bci.  A bci
 * that is no int is bad data. */
#define BCI_NO_CALLER 3u
static bool decode_bci(uint64_t encoded, struct hd_java_frame *f)
{
	int64_t bci = (int64_t)(encoded >> 2) - 4;
	if (encoded == BCI_NO_CALLER || bci > INT32_MAX)
		return false;
	f->bci = (int32_t)bci;
	return true;
}

static bool push(struct chain *c, const struct hd_java_frame *f)
{
	if (c->n >= CODEINFO_MAX_INLINE)
		return false;
	c->out[c->n++] = *f;
	return true;
}

/* One compressed frame: FIRST is its leading value (class index, or
 * method id); sets *SUCC to the successor frame's index (-1: none) and
 * *DONE at the slice's end. */
static bool compressed_frame(struct chain *c, int64_t first, int64_t *succ, bool *done)
{
	struct rd *r = &c->r;
	struct hd_java_frame f = {.line = -1, .bci = -1};
	int64_t line;
	*succ = -1;
	if (c->ci->format != HD_FI_METHOD_TABLE) {
		bool with_bci = c->ci->format == HD_FI_INLINE_NAMES_BCI;
		int64_t name = rd_svi(r);
		line = rd_svi(r);
		uint64_t bci = with_bci ? rd_uv(r) : 0;
		if (with_bci)
			(void)rd_svi(r); /* method id */
		if (name < 0)
			*succ = rd_svi(r);
		if (r->bad || !inline_names(c->ci, first, name < 0 ? -(name + 1) : name, &f))
			return false;
		f.line = (int32_t)((line < 0 ? -line : line) - (with_bci ? 3 : 2));
		if (with_bci && !decode_bci(bci, &f))
			return false;
	} else {
		line = rd_svi(r);
		int64_t bci = rd_sv(r);
		if (bci < 0)
			*succ = rd_svi(r);
		if (r->bad || !method_names(c->ci, first, &f))
			return false;
		f.line = (int32_t)((line < 0 ? -line : line) - 3);
		if (!decode_bci((uint64_t)(bci < 0 ? -(bci + 1) : bci), &f))
			return false;
	}
	*done = line < 0;
	return !(*done && *succ >= 0) && push(c, &f);
}

/* Frames stored as shared slices: each frame leads with a value, or with
 * a pointer to a shared frame elsewhere; a frame may name its successor's
 * index instead of being followed by it.  Bounded by CODEINFO_MAX_INLINE. */
static bool compressed_chain(struct chain *c, int64_t first)
{
	struct rd *r = &c->r;
	int64_t succ = -1;
	bool done = false;
	for (bool is_first = true; !done; is_first = false) {
		size_t restore = SIZE_MAX;
		if (succ >= 0) {
			restore = r->v.pos;
			r->v.pos = (size_t)succ;
		}
		int64_t lead = is_first ? first : rd_svi(r);
		if (lead < -1) {
			if (restore != SIZE_MAX)
				return false;
			size_t back = r->v.pos;
			r->v.pos = (size_t)(-(lead + 2));
			lead = rd_svi(r);
			if (r->bad || lead < 0 || !compressed_frame(c, lead, &succ, &done))
				return false;
			r->v.pos = back;
		} else if (lead < 0 || r->bad || !compressed_frame(c, lead, &succ, &done)) {
			return false;
		}
		if (restore != SIZE_MAX)
			r->v.pos = restore;
	}
	return true;
}

/* Skips N value descriptions: a flag byte, then data for the types that
 * have it (ValueType: StackSlot, Register, ReservedRegister, Constant,
 * VirtualObject). */
static bool skip_values(struct rd *r, uint64_t n)
{
	if (n > r->v.len - r->v.pos)
		return false;
	for (uint64_t i = 0; i < n && !r->bad; i++) {
		unsigned type = rd_u1(r) & 7;
		if (type == 7)
			return false;
		if (type != 0 && type != 5)
			(void)rd_sv(r);
	}
	return !r->bad;
}

static bool skip_locals(struct rd *r, bool first)
{
	(void)rd_uv(r); /* locks */
	(void)rd_uv(r); /* locals */
	(void)rd_uv(r); /* stack */
	(void)rd_sv(r); /* deopt target */
	if (!skip_values(r, rd_uv(r)))
		return false;
	if (first) {
		uint64_t nvirt = rd_uv(r);
		if (r->bad || nvirt > r->v.len - r->v.pos)
			return false;
		for (uint64_t i = 0; i < nvirt; i++)
			if (!skip_values(r, rd_uv(r)))
				return false;
	}
	return !r->bad;
}

/* Frames with their values (deoptimization targets): per frame an encoded
 * bci (a sentinel ends the chain), locals, then the source. */
static bool uncompressed_chain(struct chain *c)
{
	struct rd *r = &c->r;
	for (bool first = true;; first = false) {
		struct hd_java_frame f = {.line = -1, .bci = -1};
		if (c->ci->format == HD_FI_INLINE_NAMES) {
			int64_t bci = rd_svi(r);
			if (r->bad)
				return false;
			if (bci == -1)
				return true;
			if (bci != -2 && !skip_locals(r, first))
				return false;
			f.bci = bci == -2 ? -1 : (int32_t)(bci >> 2);
			int64_t cls = rd_svi(r), name = rd_svi(r);
			f.line = rd_svi(r);
			(void)rd_uv(r); /* method id */
			if (r->bad || !inline_names(c->ci, cls, name, &f))
				return false;
		} else {
			uint64_t bci = rd_uv(r);
			if (r->bad)
				return false;
			if (bci == BCI_NO_CALLER)
				return true;
			if (!skip_locals(r, first) || !decode_bci(bci, &f))
				return false;
			/* class and name indexes, or (method table) a method id */
			bool table = c->ci->format == HD_FI_METHOD_TABLE;
			int64_t cls = table ? -1 : rd_svi(r);
			int64_t method = rd_svi(r);
			f.line = rd_svi(r);
			if (!table)
				(void)rd_uv(r); /* method id */
			if (r->bad || !(table ? method_names(c->ci, method, &f)
					      : inline_names(c->ci, cls, method, &f)))
				return false;
		}
		if (!push(c, &f))
			return false;
	}
}

bool codeinfo_frames(const struct hd_codeinfo *ci, const struct hd_code_entry *e,
		     struct hd_java_frame *out, size_t *n)
{
	*n = 0;
	if (e->frame_info < 0 || (uint64_t)e->frame_info >= ci->frames.n)
		return false;
	struct chain c = {ci, rd_at(&ci->frames, (size_t)e->frame_info), out, 0};
	int64_t first = rd_svi(&c.r);
	bool ok = !c.r.bad && (first == -1 ? uncompressed_chain(&c) : compressed_chain(&c, first));
	*n = ok ? c.n : 0;
	return ok && c.n > 0;
}

/* ---- reference maps (CodeReferenceMapDecoder) ------------------------- */

/* Walks the map at INDEX, calling FN for each slot when FN is not NULL. */
static bool walk_refmap(const struct hd_codeinfo *ci, int64_t index, hd_refslot_fn fn, void *ctx)
{
	struct rd r = rd_at(&ci->refmaps, (size_t)index);
	int64_t off = 0, slots = 0;
	for (bool first = true;; first = false) {
		/* COUNT is an int (Graal's decoder asserts it), a GAP past an int is
		 * past any frame: with int values, and OFF and SLOTS kept within
		 * the limits, no sum below can overflow */
		int64_t gap = rd_svi(&r), count = rd_svi(&r);
		if (r.bad)
			return false;
		if (gap == 0 && count == 0)
			return true;
		bool derived = !first && gap < 0;
		if (derived)
			gap = -(gap + 1);
		bool compressed = count < 0;
		count = compressed ? -count : count;
		unsigned size = compressed ? ci->ref_size : 8;
		off += gap;
		slots += derived ? 1 : count;
		if (off < -CODEINFO_MAX_SLOT_OFF || off > CODEINFO_MAX_SLOT_OFF ||
		    slots > CODEINFO_MAX_SLOT_OFF / 4)
			return false;
		if (derived) { /* a base, then interior pointers into its object */
			if (fn && fn(ctx, (int32_t)off, compressed) != 0)
				return false;
			for (int64_t d = 0; d < count && !r.bad; d++)
				(void)rd_sv(&r);
			off += size;
			continue;
		}
		for (int64_t k = 0; k < count; k++, off += size)
			if (off > CODEINFO_MAX_SLOT_OFF || (fn && fn(ctx, (int32_t)off, compressed) != 0))
				return false;
	}
}

bool codeinfo_refmap(const struct hd_codeinfo *ci, int64_t index, hd_refslot_fn fn, void *ctx)
{
	if (index == CODEINFO_EMPTY_REFMAP || index == CODEINFO_NO_REFMAP)
		return index == CODEINFO_EMPTY_REFMAP;
	if (index < 0 || (uint64_t)index >= ci->refmaps.n)
		return false;
	/* checked whole first: a map that fails halfway reports no slot, so
	 * the caller's fallback (a scan of the frame) adds no root twice */
	return walk_refmap(ci, index, NULL, NULL) && walk_refmap(ci, index, fn, ctx);
}

/* ---- finding the tables ------------------------------------------------ */

#define MAX_ARRAYS 8    /* arrays of one kind an ImageCodeInfo holds */
#define MAX_CODEINFOS 8 /* ImageCodeInfo objects tried (layered images have more than one) */
#define MAX_WORDS 32
#define MAX_SAMPLES 512 /* frame-info entries each role assignment must decode */

struct array_ref {
	uint64_t addr, len;
	unsigned base;
};

/* What one ImageCodeInfo holds: its byte arrays, Class[] and String[]
 * arrays, and its primitive words. */
struct holdings {
	struct array_ref bytes[MAX_ARRAYS], classes[MAX_ARRAYS], strings[MAX_ARRAYS];
	size_t nbytes, nclasses, nstrings;
	uint64_t words[MAX_WORDS];
	size_t nwords;
};

struct sample {
	int64_t frame_info, refmap;
	uint32_t frame_size;
	bool deopt;
};

struct finder {
	struct hd_codeinfo *ci;
	hd_memview *mv;
	const struct hd_layout *L;
	const struct hd_imageobjs *io;
	const struct hd_elfimage *img; /* whose pages a copied table lets go, or NULL */
	struct sample *samples;
	size_t nsamples;
	uint64_t last_ip;
	struct copies *cp; /* of the ImageCodeInfo being tried */
};

static bool is_ref_field(const struct hd_class *c, uint32_t off)
{
	for (size_t i = 0; i < c->nfields; i++)
		if (c->fields[i].type == HD_T_OBJECT && c->fields[i].offset == off)
			return true;
	return false;
}

static void add_array(struct array_ref *v, size_t *n, const struct hd_imageobjs *io, long idx,
		      const struct hd_class *c, uint64_t addr)
{
	if (*n < MAX_ARRAYS)
		v[(*n)++] = (struct array_ref){addr, io->length[idx], le_base(c->enc)};
}

static int read_holdings(struct finder *f, uint64_t obj, const struct hd_class *c,
			 struct holdings *h)
{
	const struct hd_layout *L = f->L;
	memset(h, 0, sizeof *h);
	for (uint32_t off = L->hdr_size; off + 8 <= c->fixed_size; off += 4) {
		uint8_t raw[8];
		if (is_ref_field(c, off)) {
			if (lay_read_image(f->mv, obj + off, raw, L->ref_size, "ImageCodeInfo") != 0)
				return -1;
			uint64_t a = lay_ref(L, raw);
			long idx = a ? imageobjs_find(f->io, a) : -1;
			const struct hd_class *ac = idx >= 0 ? &f->io->classes->v[f->io->cls[idx]] : NULL;
			if (ac && strcmp(ac->name, "[B") == 0)
				add_array(h->bytes, &h->nbytes, f->io, idx, ac, a);
			else if (ac && strcmp(ac->name, "[Ljava.lang.Class;") == 0)
				add_array(h->classes, &h->nclasses, f->io, idx, ac, a);
			else if (ac && strcmp(ac->name, "[Ljava.lang.String;") == 0)
				add_array(h->strings, &h->nstrings, f->io, idx, ac, a);
			off += L->ref_size - 4;
		} else if (off % 8 == 0 && !is_ref_field(c, off + 4) && h->nwords < MAX_WORDS) {
			if (lay_read_image(f->mv, obj + off, raw, 8, "ImageCodeInfo") != 0)
				return -1;
			h->words[h->nwords++] = ld_u64(raw);
			off += 4;
		}
	}
	return 0;
}

/* Each array of one ImageCodeInfo, copied when first tried and kept: the
 * search tries every array in several roles.  While roles are tried, CI's
 * tables point into these copies; the winners are handed over to CI. */
struct copy {
	int state; /* 0 not tried yet, 1 copied, -1 unusable (too large, unreadable) */
	struct hd_bytes bytes;  /* a byte array's bytes */
	uint64_t *refs;         /* an object array's elements, as image offsets (0: unknown) */
	size_t nrefs;
};

struct copies {
	struct copy bytes[MAX_ARRAYS], classes[MAX_ARRAYS], strings[MAX_ARRAYS];
};

/* After a copy failed: a fatal error ends the search; any other is the
 * image's data, which makes the array unusable in every role. */
static int unusable(struct copy *c)
{
	if (hd_error_is_fatal())
		return -1;
	hd_error_clear();
	c->state = -1;
	return 0;
}

/* Byte array A's copy C: 1 when copied, 0 when unusable, -1 on a fatal error. */
static int copy_bytes(struct finder *f, const struct array_ref *a, struct copy *c)
{
	if (c->state == 0 && a->len > CODEINFO_MAX_TABLE)
		c->state = -1;
	if (c->state == 0) {
		if (!(c->bytes.p = malloc(a->len ? a->len : 1)))
			return hd_fail(HD_E_INTERNAL, "out of memory");
		c->bytes.n = a->len;
		if (lay_read_image(f->mv, a->addr + a->base, c->bytes.p, a->len, "code-info table") != 0)
			return unusable(c);
		/* Tables of megabytes: their pages would stay beside the copy. */
		elfimage_release_range(f->img, a->addr + a->base - f->L->image_start, a->len);
		c->state = 1;
	}
	return c->state > 0;
}

/* Object array A's copy C, its elements as offsets from the image start:
 * those that are no object of class WANT (by hub; 0: java.lang.Class)
 * become 0 (unknown).  Returns as copy_bytes. */
static int copy_refs(struct finder *f, const struct array_ref *a, uint64_t want_hub,
		     struct copy *c)
{
	const struct hd_layout *L = f->L;
	if (c->state == 0) {
		uint32_t n;
		if (imageobjs_array_refs(f->io, f->mv, L, a->addr, CODEINFO_MAX_TABLE / L->ref_size,
					 &c->refs, &n) != 0)
			return unusable(c);
		for (uint32_t i = 0; i < n; i++) {
			uint64_t r = c->refs[i];
			const struct hd_class *k = r ? imageobjs_class_at(f->io, r) : NULL;
			bool ok = k && (want_hub ? k->hub == want_hub
						 : strcmp(k->name, "java.lang.Class") == 0);
			c->refs[i] = ok ? r - L->image_start : 0;
		}
		c->nrefs = n;
		c->state = 1;
	}
	return c->state > 0;
}

/* Frees the copies, but for those CI's tables now own (KEEP: the search
 * succeeded) or with CI's tables cleared (they pointed into the copies). */
static void copies_free(struct copies *cp, struct hd_codeinfo *ci, bool keep)
{
	if (!keep) {
		ci->index = ci->entries = ci->frames = ci->methods = ci->refmaps = (struct hd_bytes){0};
		ci->classes = ci->names = NULL;
		ci->nclasses = ci->nnames = 0;
	}
	for (size_t i = 0; i < MAX_ARRAYS; i++) {
		uint8_t *p = cp->bytes[i].bytes.p;
		if (p != ci->index.p && p != ci->entries.p && p != ci->frames.p &&
		    p != ci->methods.p && p != ci->refmaps.p)
			free(p);
		if (cp->classes[i].refs != ci->classes)
			free(cp->classes[i].refs);
		if (cp->strings[i].refs != ci->names)
			free(cp->strings[i].refs);
	}
}

static void keep_sample(struct finder *f, const struct raw_entry *e, int64_t size, size_t ordinal)
{
	if (e->frame_info < 0 || (ordinal >= 128 && ordinal % 61) || f->nsamples >= MAX_SAMPLES)
		return;
	f->samples[f->nsamples++] = (struct sample){
		e->frame_info, e->refmap, (uint32_t)(size & ~FRAME_SIZE_STATUS_MASK),
		((e->flags >> 6) & 3) == FI_DEOPT};
}

/* The whole entry table decodes, ends exactly at its end, and every index
 * entry points at the entry for its granule's first address.  Returns 1
 * when it holds, 0 when not, -1 when interrupted. */
static int table_holds(struct finder *f)
{
	struct hd_codeinfo *ci = f->ci;
	size_t nindex = ci->index.n / 4, matched = 0, off = 0, with_fi = 0;
	uint64_t ip = 0;
	int64_t size = 0;
	f->nsamples = 0;
	ci->nentries = 0;
	for (;;) {
		struct raw_entry e;
		if (!parse_entry(ci, off, &e))
			return 0;
		if (e.has_size)
			size = e.size;
		if (size <= 0)
			return 0;
		if (ip % CODEINFO_GRANULARITY == 0) {
			int64_t want;
			size_t k = (size_t)(ip / CODEINFO_GRANULARITY);
			if (k >= nindex || !fixed(&ci->index, k * 4, 4, false, &want) || (size_t)want != off)
				return 0;
			matched++;
		}
		if (e.frame_info >= 0)
			keep_sample(f, &e, size, with_fi++);
		ci->nentries++;
		if (ci->nentries % 65536 == 0 && hd_interrupted())
			return -1;
		if (e.delta == 0) {
			f->last_ip = ip;
			return e.next == ci->entries.n && matched == nindex;
		}
		/* A granule holds an entry at its start: an entry never jumps one. */
		if ((ip + e.delta) / CODEINFO_GRANULARITY > ip / CODEINFO_GRANULARITY &&
		    (ip + e.delta) % CODEINFO_GRANULARITY)
			return 0;
		ip += e.delta;
		off = e.next;
	}
}

/* Method names look like Java identifiers (or <init>, <clinit>); the
 * other strings an ImageCodeInfo holds are signatures. */
static bool looks_like_method_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s == '(' || *s == ';' || *s == '/' || *s == ' ' || *s == '.')
			return false;
	return true;
}

static bool names_plausible(struct finder *f)
{
	const struct hd_codeinfo *ci = f->ci;
	size_t checked = 0;
	for (size_t i = 0; i < f->nsamples && checked < 16; i += 1 + f->nsamples / 16) {
		struct hd_java_frame fr[CODEINFO_MAX_INLINE];
		size_t n;
		struct hd_code_entry e = {.frame_info = f->samples[i].frame_info};
		if (!codeinfo_frames(ci, &e, fr, &n) || !fr[0].name_off)
			continue;
		struct hd_error_state saved;
		hd_error_save(&saved);
		char *s = lay_read_string(f->mv, f->L, f->L->image_start + fr[0].name_off);
		hd_error_restore(&saved);
		bool ok = s && looks_like_method_name(s);
		free(s);
		if (!ok)
			return false;
		checked++;
	}
	return checked > 0;
}

/* Every sampled frame-info chain decodes with the roles as now set. */
static bool frames_decode(struct finder *f)
{
	for (size_t i = 0; i < f->nsamples; i++) {
		struct hd_java_frame fr[CODEINFO_MAX_INLINE];
		size_t n;
		struct hd_code_entry e = {.frame_info = f->samples[i].frame_info,
					  .deopt_entry = f->samples[i].deopt};
		if (!codeinfo_frames(f->ci, &e, fr, &n))
			return false;
	}
	return f->nsamples > 0;
}

static int count_slot(void *ctx, int32_t off, bool compressed)
{
	(void)off;
	(void)compressed;
	++*(size_t *)ctx;
	return 0;
}

static bool refmaps_decode(struct finder *f)
{
	for (size_t i = 0; i < f->nsamples; i++) {
		size_t slots = 0;
		if (f->samples[i].refmap != CODEINFO_NO_REFMAP &&
		    !codeinfo_refmap(f->ci, f->samples[i].refmap, count_slot, &slots))
			return false;
	}
	return true;
}

/* With frame info, classes and names set: the method table MT (h->nbytes:
 * none) at each entry width the encoder may write (class and name indexes,
 * plus signature and modifiers when all method metadata is kept), or
 * without one each form of inline names, then a reference-map array among
 * the rest.  Returns 1 when one decodes, 0 if none, -1 on error. */
static int try_method_table(struct finder *f, const struct holdings *h, const bool *used,
			    size_t fi, size_t mt)
{
	struct hd_codeinfo *ci = f->ci;
	bool table = mt < h->nbytes;
	ci->methods = (struct hd_bytes){0};
	if (table) {
		int rc = copy_bytes(f, &h->bytes[mt], &f->cp->bytes[mt]);
		if (rc <= 0)
			return rc;
		ci->methods = f->cp->bytes[mt].bytes;
	}
	unsigned idx = (ci->short_class ? 2 : 4) + (ci->short_name ? 2 : 4);
	const unsigned widths[] = {idx, idx + 4, idx + 6};
	const enum hd_fi_format inline_forms[] = {HD_FI_INLINE_NAMES, HD_FI_INLINE_NAMES_BCI};
	for (size_t w = 0; w < (table ? 3u : 2u); w++) {
		ci->format = table ? HD_FI_METHOD_TABLE : inline_forms[w];
		ci->method_entry = table ? widths[w] : 0;
		if ((table && ci->methods.n % ci->method_entry) || !frames_decode(f) ||
		    !names_plausible(f))
			continue;
		for (size_t rm = 0; rm < h->nbytes; rm++) {
			if (used[rm] || rm == fi || rm == mt)
				continue;
			int rc = copy_bytes(f, &h->bytes[rm], &f->cp->bytes[rm]);
			if (rc < 0)
				return -1;
			if (rc == 0)
				continue;
			ci->refmaps = f->cp->bytes[rm].bytes;
			if (refmaps_decode(f))
				return 1;
		}
	}
	return 0;
}

/* The roles of the method table and reference maps, with frame info FI,
 * classes CL and names NM.  Returns as try_method_table. */
static int try_names(struct finder *f, const struct holdings *h, const bool *used, size_t fi,
		     size_t cl, size_t nm)
{
	struct hd_codeinfo *ci = f->ci;
	if (hd_interrupted())
		return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
	int rc = copy_refs(f, &h->classes[cl], 0, &f->cp->classes[cl]);
	if (rc > 0)
		rc = copy_refs(f, &h->strings[nm], f->L->string_hub, &f->cp->strings[nm]);
	if (rc <= 0)
		return rc;
	ci->classes = f->cp->classes[cl].refs;
	ci->nclasses = f->cp->classes[cl].nrefs;
	ci->names = f->cp->strings[nm].refs;
	ci->nnames = f->cp->strings[nm].nrefs;
	ci->short_class = ci->nclasses <= 0xffff;
	ci->short_name = ci->nnames <= 0xffff;
	for (size_t mt = 0; mt <= h->nbytes; mt++) {
		if (mt < h->nbytes && (used[mt] || mt == fi))
			continue;
		if ((rc = try_method_table(f, h, used, fi, mt)) != 0)
			return rc;
	}
	return 0;
}

/* Tries the roles of the byte arrays left after the entry table (USED marks
 * the index and entries) and of the Class[] and String[] arrays: frame info,
 * names, method table, reference maps.  Returns 1 when one assignment
 * decodes, 0 if none, -1 on error. */
static int assign_frame_roles(struct finder *f, const struct holdings *h, const bool *used)
{
	for (size_t fi = 0; fi < h->nbytes; fi++) {
		if (used[fi])
			continue;
		int rc = copy_bytes(f, &h->bytes[fi], &f->cp->bytes[fi]);
		if (rc <= 0) {
			if (rc < 0)
				return -1;
			continue;
		}
		f->ci->frames = f->cp->bytes[fi].bytes;
		for (size_t cl = 0; cl < h->nclasses; cl++)
			for (size_t nm = 0; nm < h->nstrings; nm++)
				if ((rc = try_names(f, h, used, fi, cl, nm)) != 0)
					return rc;
	}
	return 0;
}

/* The code size is the word whose granules the index covers; the code
 * start is the first other word that can be an address. */
static bool code_range(struct finder *f, const struct holdings *h)
{
	struct hd_codeinfo *ci = f->ci;
	uint64_t nindex = ci->index.n / 4;
	size_t size_at = MAX_WORDS;
	for (size_t i = 0; i < h->nwords && size_at == MAX_WORDS; i++) {
		uint64_t v = h->words[i];
		if (v > f->last_ip && (v + CODEINFO_GRANULARITY - 1) / CODEINFO_GRANULARITY <= nindex &&
		    v / CODEINFO_GRANULARITY + 1 >= nindex)
			size_at = i;
	}
	if (size_at == MAX_WORDS)
		return false;
	ci->code_size = h->words[size_at];
	for (size_t i = 0; i < h->nwords; i++)
		if (i != size_at && h->words[i] >= 0x1000 && h->words[i] != ci->code_size &&
		    h->words[i] % 16 == 0 && h->words[i] + ci->code_size > h->words[i]) {
			ci->code_start = h->words[i];
			return true;
		}
	return false;
}

/* The entry table: a pair of byte arrays (index, entries) that decodes as
 * one, with or without the extra byte of lazy deoptimization. */
static int find_entry_table(struct finder *f, const struct holdings *h, bool *used)
{
	struct hd_codeinfo *ci = f->ci;
	for (size_t ix = 0; ix < h->nbytes; ix++) {
		if (h->bytes[ix].len % 4 || h->bytes[ix].len == 0)
			continue;
		int rc = copy_bytes(f, &h->bytes[ix], &f->cp->bytes[ix]);
		if (rc < 0)
			return -1;
		for (size_t en = 0; rc > 0 && en < h->nbytes; en++) {
			int en_rc = en == ix ? 0 : copy_bytes(f, &h->bytes[en], &f->cp->bytes[en]);
			if (en_rc < 0)
				return -1;
			if (en_rc == 0)
				continue;
			ci->index = f->cp->bytes[ix].bytes;
			ci->entries = f->cp->bytes[en].bytes;
			for (int deopt = 0; deopt < 2; deopt++) {
				ci->deopt_byte = deopt;
				int ok = table_holds(f);
				if (ok < 0)
					return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d",
						       hd_interrupted_signal());
				if (ok && code_range(f, h)) {
					used[ix] = used[en] = true;
					return 1;
				}
			}
		}
	}
	return 0;
}

/* The tables of the ImageCodeInfo object OBJ of class C: 1 when they
 * decode (CI holds them), 0 when not, -1 on a fatal error. */
static int try_codeinfo(struct finder *f, uint64_t obj, const struct hd_class *c)
{
	struct holdings h;
	bool used[MAX_ARRAYS] = {0};
	struct copies cp = {0};
	f->cp = &cp;
	int rc = read_holdings(f, obj, c, &h);
	if (rc != 0)
		rc = hd_error_is_fatal() ? -1 : 0;
	else if ((rc = find_entry_table(f, &h, used)) == 1)
		rc = assign_frame_roles(f, &h, used);
	if (rc == 0)
		hd_error_clear(); /* what did not decode is told by the caller's one error */
	copies_free(&cp, f->ci, rc == 1);
	f->cp = NULL;
	return rc;
}

int codeinfo_discover(struct hd_codeinfo *ci, hd_memview *mv, const struct hd_layout *L,
		      const struct hd_imageobjs *io, const struct hd_elfimage *img)
{
	memset(ci, 0, sizeof *ci);
	ci->ref_size = L->ref_size;
	size_t n = 0;
	const uint32_t *objs = imageobjs_named(io, "com.oracle.svm.core.code.ImageCodeInfo", &n);
	struct finder f = {ci, mv, L, io, img, calloc(MAX_SAMPLES, sizeof(struct sample)), 0, 0, NULL};
	if (!f.samples)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	int rc = 0;
	for (size_t i = 0; i < n && i < MAX_CODEINFOS && rc == 0; i++)
		rc = try_codeinfo(&f, io->addr[objs[i]], &io->classes->v[io->cls[objs[i]]]);
	free(f.samples);
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	return hd_fail(HD_E_LAYOUT, "no code-info tables decode (%zu ImageCodeInfo objects)", n);
}

#define NTABLES 5

/* CI's byte tables, into T. */
static void tables_of(const struct hd_codeinfo *ci, const struct hd_bytes *t[NTABLES])
{
	t[0] = &ci->index;
	t[1] = &ci->entries;
	t[2] = &ci->refmaps;
	t[3] = &ci->frames;
	t[4] = &ci->methods;
}

bool codeinfo_tables_span(const struct hd_codeinfo *ci, const uint8_t **lo, const uint8_t **hi)
{
	const struct hd_bytes *t[NTABLES];
	tables_of(ci, t);
	*lo = *hi = NULL;
	for (size_t i = 0; i < NTABLES; i++)
		if (t[i]->p) {
			*lo = !*lo || t[i]->p < *lo ? t[i]->p : *lo;
			*hi = !*hi || t[i]->p + t[i]->n > *hi ? t[i]->p + t[i]->n : *hi;
		}
	return *lo != NULL;
}

void codeinfo_free(struct hd_codeinfo *ci)
{
	const struct hd_bytes *t[NTABLES];
	tables_of(ci, t);
	for (size_t i = 0; !ci->borrowed && i < NTABLES; i++)
		free(t[i]->p);
	free(ci->classes);
	free(ci->names);
	memset(ci, 0, sizeof *ci);
}
