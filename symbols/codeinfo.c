#include "codeinfo.h"

#include "../common/hd_error.h"
#include "../common/interrupt.h"

#include <stdlib.h>
#include <string.h>

/* ---- bounded readers over a table ------------------------------------ */

/* A cursor that turns every read past the end into BAD, never a crash. */
struct rd {
	const uint8_t *p;
	size_t n, pos;
	bool bad;
};

/* Graal's UNSIGNED5 variant (UnsafeArrayTypeWriter): bytes below 192 end
 * a value, byte i weighs 64^i, at most 11 bytes.  Private until the shared
 * varint module (symbols/varint.h) is merged. */
static uint64_t rd_uv(struct rd *r)
{
	uint64_t v = 0;
	for (unsigned i = 0, shift = 0; i < 11; i++, shift += 6) {
		if (r->pos >= r->n) {
			r->bad = true;
			return 0;
		}
		uint8_t b = r->p[r->pos++];
		v += (uint64_t)b << shift;
		if (b < 192)
			break;
	}
	return v;
}

static int64_t rd_sv(struct rd *r)
{
	uint64_t v = rd_uv(r);
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* An int-sized signed value (getSVInt): anything wider is bad data. */
static int32_t rd_svi(struct rd *r)
{
	int64_t v = rd_sv(r);
	if (v < INT32_MIN || v > INT32_MAX)
		r->bad = true;
	return r->bad ? 0 : (int32_t)v;
}

static uint8_t rd_u1(struct rd *r)
{
	if (r->pos >= r->n) {
		r->bad = true;
		return 0;
	}
	return r->p[r->pos++];
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

/* The class and name of method table entry MID (23.1 on). */
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
	if (c->ci->format == HD_FI_INLINE_NAMES) {
		int64_t name = rd_svi(r);
		line = rd_svi(r);
		if (name < 0)
			*succ = rd_svi(r);
		if (r->bad || !inline_names(c->ci, first, name < 0 ? -(name + 1) : name, &f))
			return false;
		f.line = (int32_t)((line < 0 ? -line : line) - 2);
	} else {
		line = rd_svi(r);
		int64_t bci = rd_sv(r);
		if (bci < 0)
			*succ = rd_svi(r);
		if (r->bad || !method_names(c->ci, first, &f))
			return false;
		f.line = (int32_t)((line < 0 ? -line : line) - 3);
		bci = bci < 0 ? -(bci + 1) : bci;
		f.bci = (int32_t)((bci >> 2) - 4);
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
			restore = r->pos;
			r->pos = (size_t)succ;
		}
		int64_t lead = is_first ? first : rd_svi(r);
		if (lead < -1) {
			if (restore != SIZE_MAX)
				return false;
			size_t back = r->pos;
			r->pos = (size_t)(-(lead + 2));
			lead = rd_svi(r);
			if (r->bad || lead < 0 || !compressed_frame(c, lead, &succ, &done))
				return false;
			r->pos = back;
		} else if (lead < 0 || r->bad || !compressed_frame(c, lead, &succ, &done)) {
			return false;
		}
		if (restore != SIZE_MAX)
			r->pos = restore;
	}
	return true;
}

/* Skips N value descriptions: a flag byte, then data for the types that
 * have it (ValueType: StackSlot, Register, ReservedRegister, Constant,
 * VirtualObject). */
static bool skip_values(struct rd *r, uint64_t n)
{
	if (n > r->n - r->pos)
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
		if (r->bad || nvirt > r->n - r->pos)
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
			if (bci == 3)
				return true;
			if (!skip_locals(r, first))
				return false;
			f.bci = (int32_t)((int64_t)(bci >> 2) - 4);
			int64_t mid = rd_svi(r);
			f.line = rd_svi(r);
			if (r->bad || !method_names(c->ci, mid, &f))
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
	struct chain c = {ci, {ci->frames.p, ci->frames.n, (size_t)e->frame_info, false}, out, 0};
	int64_t first = rd_svi(&c.r);
	bool ok = !c.r.bad && (first == -1 ? uncompressed_chain(&c) : compressed_chain(&c, first));
	*n = ok ? c.n : 0;
	return ok && c.n > 0;
}

/* ---- reference maps (CodeReferenceMapDecoder) ------------------------- */

bool codeinfo_refmap(const struct hd_codeinfo *ci, int64_t index, hd_refslot_fn fn, void *ctx)
{
	if (index == CODEINFO_EMPTY_REFMAP || index == CODEINFO_NO_REFMAP)
		return index == CODEINFO_EMPTY_REFMAP;
	if (index < 0 || (uint64_t)index >= ci->refmaps.n)
		return false;
	struct rd r = {ci->refmaps.p, ci->refmaps.n, (size_t)index, false};
	int64_t off = 0, slots = 0;
	for (bool first = true;; first = false) {
		int64_t gap = rd_sv(&r), count = rd_sv(&r);
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
			if (fn(ctx, (int32_t)off, compressed) != 0)
				return false;
			for (int64_t d = 0; d < count && !r.bad; d++)
				(void)rd_sv(&r);
			off += size;
			continue;
		}
		for (int64_t k = 0; k < count; k++, off += size)
			if (off > CODEINFO_MAX_SLOT_OFF || fn(ctx, (int32_t)off, compressed) != 0)
				return false;
	}
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
	struct sample *samples;
	size_t nsamples;
	uint64_t last_ip;
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

static int copy_bytes(struct finder *f, const struct array_ref *a, struct hd_bytes *out)
{
	free(out->p);
	*out = (struct hd_bytes){0};
	if (a->len > CODEINFO_MAX_TABLE)
		return hd_fail(HD_E_LAYOUT, "a code-info table of %llu bytes", (unsigned long long)a->len);
	out->p = malloc(a->len ? a->len : 1);
	if (!out->p)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	out->n = a->len;
	return lay_read_image(f->mv, a->addr + a->base, out->p, a->len, "code-info table");
}

/* The elements of an object array as offsets from the image start: those
 * that are not an object of class WANT (by hub) become 0 (unknown). */
static int copy_refs(struct finder *f, const struct array_ref *a, uint64_t want_hub,
		     uint64_t **out, size_t *n)
{
	const struct hd_layout *L = f->L;
	free(*out);
	*out = NULL;
	*n = 0;
	if (a->len > CODEINFO_MAX_TABLE / L->ref_size)
		return hd_fail(HD_E_LAYOUT, "a code-info array of %llu elements", (unsigned long long)a->len);
	uint8_t *raw = malloc(a->len * L->ref_size + 1);
	uint64_t *v = calloc(a->len + 1, sizeof *v);
	if (!raw || !v) {
		free(raw);
		free(v);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	if (lay_read_image(f->mv, a->addr + a->base, raw, a->len * L->ref_size, "code-info array") != 0) {
		free(raw);
		free(v);
		return -1;
	}
	for (uint64_t i = 0; i < a->len; i++) {
		uint64_t r = lay_ref(L, raw + i * L->ref_size);
		const struct hd_class *c = r ? imageobjs_class_at(f->io, r) : NULL;
		bool ok = c && (want_hub ? c->hub == want_hub : strcmp(c->name, "java.lang.Class") == 0);
		v[i] = ok ? r - L->image_start : 0;
	}
	free(raw);
	*out = v;
	*n = a->len;
	return 0;
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
 * none, 22.3's inline names) at each entry width the encoder may write
 * (class and name indexes, plus signature and modifiers when all method
 * metadata is kept), then a reference-map array among the rest.  Returns 1
 * when one decodes, 0 if none, -1 on error. */
static int try_method_table(struct finder *f, const struct holdings *h, const bool *used,
			    size_t fi, size_t mt)
{
	struct hd_codeinfo *ci = f->ci;
	bool table = mt < h->nbytes;
	ci->format = table ? HD_FI_METHOD_TABLE : HD_FI_INLINE_NAMES;
	free(ci->methods.p);
	ci->methods = (struct hd_bytes){0};
	if (table && copy_bytes(f, &h->bytes[mt], &ci->methods) != 0)
		return -1;
	unsigned idx = (ci->short_class ? 2 : 4) + (ci->short_name ? 2 : 4);
	const unsigned widths[] = {idx, idx + 4, idx + 6};
	for (size_t w = 0; w < (table ? 3u : 1u); w++) {
		ci->method_entry = table ? widths[w] : 0;
		if ((table && ci->methods.n % ci->method_entry) || !frames_decode(f) ||
		    !names_plausible(f))
			continue;
		for (size_t rm = 0; rm < h->nbytes; rm++)
			if (!used[rm] && rm != fi && rm != mt &&
			    copy_bytes(f, &h->bytes[rm], &ci->refmaps) == 0 && refmaps_decode(f))
				return 1;
	}
	return 0;
}

/* Tries the roles of the byte arrays left after the entry table (USED marks
 * the index and entries) and of the Class[] and String[] arrays: frame info,
 * names, method table, reference maps.  Returns 1 when one assignment
 * decodes, 0 if none, -1 on error. */
static int assign_frame_roles(struct finder *f, const struct holdings *h, const bool *used)
{
	struct hd_codeinfo *ci = f->ci;
	for (size_t fi = 0; fi < h->nbytes; fi++) {
		if (used[fi] || copy_bytes(f, &h->bytes[fi], &ci->frames) != 0)
			continue;
		for (size_t cl = 0; cl < h->nclasses; cl++) {
			if (copy_refs(f, &h->classes[cl], 0, &ci->classes, &ci->nclasses) != 0)
				return -1;
			for (size_t nm = 0; nm < h->nstrings; nm++) {
				if (copy_refs(f, &h->strings[nm], f->L->string_hub, &ci->names, &ci->nnames) != 0)
					return -1;
				ci->short_class = ci->nclasses <= 0xffff;
				ci->short_name = ci->nnames <= 0xffff;
				for (size_t mt = 0; mt <= h->nbytes; mt++) {
					if (mt < h->nbytes && (used[mt] || mt == fi))
						continue;
					int rc = try_method_table(f, h, used, fi, mt);
					if (rc != 0)
						return rc;
				}
			}
		}
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
		for (size_t en = 0; en < h->nbytes; en++) {
			if (en == ix || copy_bytes(f, &h->bytes[ix], &ci->index) != 0 ||
			    copy_bytes(f, &h->bytes[en], &ci->entries) != 0)
				continue;
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

int codeinfo_discover(struct hd_codeinfo *ci, hd_memview *mv, const struct hd_layout *L,
		      const struct hd_imageobjs *io)
{
	memset(ci, 0, sizeof *ci);
	ci->ref_size = L->ref_size;
	size_t n = 0;
	const uint32_t *objs = imageobjs_named(io, "com.oracle.svm.core.code.ImageCodeInfo", &n);
	struct finder f = {ci, mv, L, io, calloc(MAX_SAMPLES, sizeof(struct sample)), 0, 0};
	if (!f.samples)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	int rc = 0;
	for (size_t i = 0; i < n && i < MAX_CODEINFOS && rc == 0; i++) {
		struct holdings h;
		bool used[MAX_ARRAYS] = {0};
		const struct hd_class *c = &io->classes->v[io->cls[objs[i]]];
		if (read_holdings(&f, io->addr[objs[i]], c, &h) != 0)
			break;
		rc = find_entry_table(&f, &h, used);
		if (rc == 1)
			rc = assign_frame_roles(&f, &h, used);
		if (rc == 1) {
			free(f.samples);
			return 0;
		}
	}
	free(f.samples);
	if (rc < 0 || hd_error_class() == HD_E_INTERRUPTED || hd_error_class() == HD_E_INTERNAL)
		return -1;
	return hd_fail(HD_E_LAYOUT, "no code-info tables decode (%zu ImageCodeInfo objects)", n);
}

void codeinfo_free(struct hd_codeinfo *ci)
{
	free(ci->index.p);
	free(ci->entries.p);
	free(ci->refmaps.p);
	free(ci->frames.p);
	free(ci->methods.p);
	free(ci->classes);
	free(ci->names);
	memset(ci, 0, sizeof *ci);
}
