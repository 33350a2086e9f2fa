#include "dcache.h"

#include "../common/interrupt.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Bounds a decoded payload must keep, beyond the bytes it has: no real
 * image comes near them (pkl: 17,737 classes, fields per class in the
 * hundreds, names under 1 KiB). */
#define MAX_NAME 65536u
#define MAX_CLASSES (1u << 22)
#define MAX_CLASS_FIELDS 65536u
#define MAX_HUB_SPAN 4096u

/* Sections in the order they are written; a payload for an executable
 * stops after STATICS. */
enum { PART_LIVE = 1 }; /* the flag byte: thread locals and code info follow */

struct writer {
	uint8_t *p;
	size_t n, cap;
	bool oom;
};

static void put(struct writer *w, const void *v, size_t len)
{
	if (w->oom || !len) /* an empty table may have no buffer */
		return;
	if (len > w->cap - w->n) {
		size_t cap = w->cap ? w->cap : 1u << 16;
		while (cap - w->n < len)
			cap *= 2;
		uint8_t *np = realloc(w->p, cap);
		if (!np) {
			w->oom = true;
			return;
		}
		w->p = np;
		w->cap = cap;
	}
	memcpy(w->p + w->n, v, len);
	w->n += len;
}

static void put_u8(struct writer *w, uint8_t v) { put(w, &v, 1); }
static void put_u16(struct writer *w, uint16_t v) { put(w, &v, 2); }
static void put_u32(struct writer *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(struct writer *w, uint64_t v) { put(w, &v, 8); }

static void put_str(struct writer *w, const char *s)
{
	size_t len = strlen(s);
	put_u32(w, (uint32_t)len);
	put(w, s, len);
}

static void put_bytes(struct writer *w, const struct hd_bytes *b)
{
	put_u64(w, b->n);
	put(w, b->p, b->n);
}

struct reader {
	const uint8_t *p;
	size_t n, at;
	bool bad;
};

/* Inline, so that the fixed-size reads below copy with one load: an entry
 * is some hundred thousand of them. */
static inline __attribute__((always_inline)) bool get(struct reader *r, void *v, size_t len)
{
	if (r->bad || len > r->n - r->at) {
		r->bad = true;
		memset(v, 0, len);
		return false;
	}
	memcpy(v, r->p + r->at, len);
	r->at += len;
	return true;
}

static uint8_t get_u8(struct reader *r) { uint8_t v; get(r, &v, 1); return v; }
static uint16_t get_u16(struct reader *r) { uint16_t v; get(r, &v, 2); return v; }
static uint32_t get_u32(struct reader *r) { uint32_t v; get(r, &v, 4); return v; }
static uint64_t get_u64(struct reader *r) { uint64_t v; get(r, &v, 8); return v; }
static int32_t get_i32(struct reader *r) { return (int32_t)get_u32(r); }

/* A count of elements of at least ELEM bytes each: no more than MAX, nor
 * than the bytes left hold, so what is allocated for it is bounded by the
 * payload's size. */
static size_t get_count(struct reader *r, size_t max, size_t elem)
{
	uint64_t v = get_u64(r);
	if (v > max || v > (r->n - r->at) / elem) {
		r->bad = true;
		return 0;
	}
	return (size_t)v;
}

/* A string of at most MAX_NAME bytes, none of them NUL: *LEN bytes at *S
 * in the payload; false (R bad) when there is none. */
static bool take_str(struct reader *r, const uint8_t **s, uint32_t *len)
{
	*len = get_u32(r);
	if (r->bad || *len > MAX_NAME || *len > r->n - r->at || memchr(r->p + r->at, 0, *len)) {
		r->bad = true;
		return false;
	}
	*s = r->p + r->at;
	r->at += *len;
	return true;
}

/* A NUL-terminated copy of a string of at most MAX_NAME bytes, NULL when
 * the payload is bad or memory runs out (*OOM says which). */
static char *get_str(struct reader *r, bool *oom)
{
	const uint8_t *p;
	uint32_t len;
	if (!take_str(r, &p, &len))
		return NULL;
	char *s = malloc((size_t)len + 1);
	if (!s) {
		*oom = true;
		return NULL;
	}
	memcpy(s, p, len);
	s[len] = 0;
	return s;
}

/* Makes the whole pages of P[0..N), fresh memory about to be written, present
 * in one call: the code-info tables (12-17 MB for pkl) otherwise take a
 * fault for each 4 KiB as they are copied (3,300 of a warm
 * --list-isolates' 6,500); the class table (1.4 MB) as it is filled.  Where the kernel cannot (before 5.14),
 * the faults are taken as before. */
static void prefault(void *p, size_t n)
{
	long page = sysconf(_SC_PAGESIZE);
	if (page <= 0 || n < (size_t)page * 16)
		return;
	uintptr_t lo = ((uintptr_t)p + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
	uintptr_t hi = ((uintptr_t)p + n) & ~((uintptr_t)page - 1);
	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
}

/* A table of bytes into *B, pointing into the entry (borrowed: no copy of
 * its 12-17 MB to fault in, 7-8 ms of a 0.22 s dump here), or only its
 * length when not KEEP (a second isolate's decode). */
static void get_bytes(struct reader *r, struct hd_bytes *b, bool keep)
{
	size_t n = get_count(r, CODEINFO_MAX_TABLE, 1);
	if (r->bad)
		return;
	/* The tables are only read: the cast keeps hd_bytes one type for
	 * copies and borrowed bytes. */
	*b = (struct hd_bytes){keep ? (uint8_t *)(uintptr_t)(r->p + r->at) : NULL, n};
	r->at += n; /* get_count: no more than the bytes left */
}

/* Addresses are written as offsets from the image start; 0 stays 0 where
 * it means "none". */
static void put_layout(struct writer *w, const struct hd_layout *L)
{
	uint64_t base = L->image_start;
	const uint64_t words[] = {
		L->ref_size, L->ref_shift, L->hdr_size, L->hub_shift, L->array_length_off,
		L->hash_appended, L->heap_base - base, L->image_size, L->chunk_size, L->ch_end,
		L->ch_top, L->ch_next, L->ch_prev, L->ch_struct_end, L->aligned_obj_start,
		L->unaligned_obj_start, L->class_hub - base, L->hub_name, L->hub_enc, L->hub_refmap,
		(uint64_t)(int64_t)L->hub_idhash, (uint64_t)(int64_t)L->hub_monitor,
		(uint64_t)(int64_t)L->hub_super, (uint64_t)(int64_t)L->hub_super2,
		L->idhash_fixed_off, L->string_hub - base, L->str_value,
		(uint64_t)(int64_t)L->str_coder, (uint64_t)(int64_t)L->str_hash,
		L->refmap_data - base, L->refmap_len, (uint64_t)(int64_t)L->referent_off,
	};
	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		put_u64(w, words[i]);
}

/* Offsets into hubs, objects and chunk headers: small in every layout. */
static bool small_off(uint64_t v) { return v < MAX_HUB_SPAN; }
static bool small_signed(int64_t v) { return v >= -1 && v < (int64_t)MAX_HUB_SPAN; }

static int get_layout(struct reader *r, struct hd_layout *L, uint64_t start)
{
	uint64_t w[32];
	for (size_t i = 0; i < 32; i++)
		w[i] = get_u64(r);
	if (r->bad)
		return 0;
	bool ok = (w[0] == 4 || w[0] == 8) && w[1] < 8 && w[2] == w[0] && w[3] < 64 &&
		  small_off(w[4]) && w[5] <= 1 && w[7] && w[7] <= (1ull << 40) &&
		  w[8] >= 4096 && w[8] <= (1ull << 30) && !(w[8] & (w[8] - 1));
	for (size_t i = 9; ok && i <= 15; i++)
		ok = w[i] < w[8];
	for (size_t i = 17; ok && i <= 19; i++)
		ok = small_off(w[i]);
	for (size_t i = 20; ok && i <= 23; i++)
		ok = small_signed((int64_t)w[i]);
	ok = ok && small_off(w[24]) && small_off(w[26]) && small_signed((int64_t)w[27]) &&
	     small_signed((int64_t)w[28]) && w[30] <= UINT32_MAX && small_signed((int64_t)w[31]);
	if (!ok)
		return hd_fail(HD_E_LAYOUT, "the cached layout is implausible");
	*L = (struct hd_layout){
		.ref_size = (unsigned)w[0], .ref_shift = (unsigned)w[1], .hdr_size = (unsigned)w[2],
		.hub_shift = (unsigned)w[3], .array_length_off = (unsigned)w[4],
		.hash_appended = w[5] != 0, .heap_base = start + w[6], .image_start = start,
		.image_size = w[7], .chunk_size = w[8], .ch_end = (unsigned)w[9],
		.ch_top = (unsigned)w[10], .ch_next = (unsigned)w[11], .ch_prev = (unsigned)w[12],
		.ch_struct_end = (unsigned)w[13], .aligned_obj_start = w[14],
		.unaligned_obj_start = w[15], .class_hub = start + w[16], .hub_name = (unsigned)w[17],
		.hub_enc = (unsigned)w[18], .hub_refmap = (unsigned)w[19],
		.hub_idhash = (int)(int64_t)w[20], .hub_monitor = (int)(int64_t)w[21],
		.hub_super = (int)(int64_t)w[22], .hub_super2 = (int)(int64_t)w[23],
		.idhash_fixed_off = (unsigned)w[24], .string_hub = start + w[25],
		.str_value = (unsigned)w[26], .str_coder = (int)(int64_t)w[27],
		.str_hash = (int)(int64_t)w[28], .refmap_data = start + w[29],
		.refmap_len = (uint32_t)w[30], .referent_off = (int)(int64_t)w[31],
	};
	return 0;
}

static void put_field(struct writer *w, const struct hd_field *f)
{
	put_u32(w, f->offset);
	put_u8(w, f->type);
	put_u8(w, f->named_by);
	put_u8(w, f->slot);
	put_u32(w, f->name);
}

#define FIELD_BYTES 11u

static void put_classes(struct writer *w, const struct hd_classes *t, uint64_t base)
{
	put_u64(w, t->names.n);
	for (size_t i = 0; i < t->names.n; i++)
		put_str(w, t->names.v[i]);
	put_u64(w, t->n);
	for (size_t i = 0; i < t->n; i++) {
		const struct hd_class *c = &t->v[i];
		put_u64(w, c->hub - base);
		put_str(w, c->name);
		put_u32(w, (uint32_t)c->enc);
		put_u8(w, (uint8_t)c->kind);
		put_u8(w, c->elem_type);
		put_u16(w, c->idhash_off);
		put_u16(w, c->monitor_off);
		put_u32(w, (uint32_t)c->refmap_idx);
		put_u8(w, c->is_reference);
		put_u8(w, c->is_filler);
		put_u32(w, (uint32_t)c->jsuper);
		put_u32(w, (uint32_t)c->super);
		put_u32(w, c->fixed_size);
		put_u8(w, c->named_by);
		put_u8(w, c->all_named);
		put_u64(w, c->nfields);
		for (size_t k = 0; k < c->nfields; k++)
			put_field(w, &c->fields[k]);
		put_u64(w, c->nown);
		for (size_t k = 0; k < c->nown; k++)
			put_field(w, &c->own[k]);
	}
}

static bool is_type(uint8_t t)
{
	return t == HD_T_OBJECT || (t >= HD_T_BOOLEAN && t <= HD_T_LONG);
}

/* N fields into *OUT (malloc'd, one more slot so that no size is 0), each
 * with a type and a name of T's. */
static int get_fields(struct reader *r, const struct hd_classes *t, struct hd_field **out,
		      size_t *nout)
{
	size_t n = get_count(r, MAX_CLASS_FIELDS, FIELD_BYTES);
	if (r->bad)
		return 0;
	struct hd_field *f = malloc((n + 1) * sizeof *f);
	if (!f)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	*out = f;
	*nout = n;
	/* get_count has checked that all N are there: read them without a
	 * check per byte (pkl: 600,000 fields in two isolates' decodes). */
	const uint8_t *p = r->p + r->at;
	bool bad = false;
	for (size_t k = 0; k < n; k++, p += FIELD_BYTES) {
		memcpy(&f[k].offset, p, 4);
		f[k].type = p[4];
		f[k].named_by = p[5];
		f[k].slot = p[6];
		memcpy(&f[k].name, p + 7, 4);
		bad |= !is_type(f[k].type) || f[k].slot > HD_SLOT_MONITOR ||
		       f[k].name >= t->names.n || f[k].offset > (1u << 30);
	}
	r->at += n * FIELD_BYTES;
	r->bad = bad;
	return 0;
}

static bool in_table(int32_t i, size_t n) { return i >= -1 && (int64_t)i < (int64_t)n; }

static int get_class(struct reader *r, struct hd_classes *t, struct hd_class *c, uint64_t start)
{
	bool oom = false;
	c->hub = start + get_u64(r);
	c->name = get_str(r, &oom);
	if (oom)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	c->enc = get_i32(r);
	c->kind = get_u8(r);
	c->elem_type = get_u8(r);
	c->idhash_off = get_u16(r);
	c->monitor_off = get_u16(r);
	c->refmap_idx = get_i32(r);
	c->is_reference = get_u8(r) != 0;
	c->is_filler = get_u8(r) != 0;
	c->jsuper = get_i32(r);
	c->super = get_i32(r);
	c->fixed_size = get_u32(r);
	c->named_by = get_u8(r);
	c->all_named = get_u8(r) != 0;
	if (c->kind > HD_KIND_PRIM_ARRAY || !in_table(c->jsuper, t->n) || !in_table(c->super, t->n) ||
	    (c->kind >= HD_KIND_OBJ_ARRAY && !is_type(c->elem_type)) || c->fixed_size > (1u << 30))
		r->bad = true;
	if (get_fields(r, t, &c->fields, &c->nfields) != 0)
		return -1;
	return get_fields(r, t, &c->own, &c->nown);
}

/* The field names into T's set, each terminated in SCRATCH (MAX_NAME + 1
 * bytes) rather than in a copy of its own: the set copies it anyway. */
static int get_names(struct reader *r, struct hd_classes *t, char *scratch)
{
	size_t nnames = get_count(r, UINT32_MAX, 4);
	for (size_t i = 0; i < nnames && !r->bad; i++) {
		const uint8_t *p;
		uint32_t len, idx;
		if (!take_str(r, &p, &len))
			break;
		memcpy(scratch, p, len);
		scratch[len] = 0;
		if (strintern_add(&t->names, scratch, &idx) != 0)
			return -1;
		if (idx != i) /* each name once, or the indexes would shift */
			r->bad = true;
	}
	return 0;
}

static int get_classes(struct reader *r, struct hd_classes *t, uint64_t start)
{
	char *scratch = malloc(MAX_NAME + 1);
	if (!scratch)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	int rc = get_names(r, t, scratch);
	free(scratch);
	if (rc != 0)
		return -1;
	size_t n = get_count(r, MAX_CLASSES, 8);
	if (r->bad)
		return 0;
	t->v = calloc(n ? n : 1, sizeof *t->v);
	if (!t->v)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	t->n = n; /* calloc'd: classes_free frees what was read so far */
	prefault(t->v, n * sizeof *t->v);
	for (size_t i = 0; i < n && !r->bad; i++) {
		if (get_class(r, t, &t->v[i], start) != 0)
			return -1;
		if (hd_interrupted())
			return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d",
				       hd_interrupted_signal());
	}
	return r->bad ? 0 : classes_index(t);
}

static void put_array(struct writer *w, const struct hd_statics_array *a, uint64_t base)
{
	put_u64(w, a->addr ? a->addr - base : UINT64_MAX);
	put_u32(w, a->start);
	put_u32(w, a->end);
	put_u32(w, a->elem);
}

static void get_array(struct reader *r, struct hd_statics_array *a, uint64_t start)
{
	uint64_t off = get_u64(r);
	a->addr = off == UINT64_MAX ? 0 : start + off;
	a->start = get_u32(r);
	a->end = get_u32(r);
	a->elem = get_u32(r);
	if (a->start > a->end || (a->addr && a->elem != 1 && a->elem != 4 && a->elem != 8))
		r->bad = true;
}

static void put_statics(struct writer *w, const struct hd_statics *s, uint64_t base)
{
	put_array(w, &s->objects, base);
	put_array(w, &s->prims, base);
	put_u64(w, s->nnames);
	for (size_t i = 0; i < s->nnames; i++)
		put_str(w, s->names[i]);
	put_u64(w, s->n);
	for (size_t i = 0; i < s->n; i++) {
		put_u32(w, s->v[i].offset);
		put_u8(w, s->v[i].type);
		put_u32(w, s->v[i].name);
	}
	put_u64(w, s->first ? s->nclasses : 0);
	for (size_t k = 0; s->first && k <= s->nclasses; k++)
		put_u64(w, s->first[k]);
	put_u64(w, s->classes);
	put_u64(w, s->facts_dropped);
	put_u64(w, s->unattributed_refs);
	put_u64(w, s->unattributed_bytes);
}

static int get_statics(struct reader *r, struct hd_statics *s, size_t nclasses, uint64_t start)
{
	get_array(r, &s->objects, start);
	get_array(r, &s->prims, start);
	size_t nnames = get_count(r, UINT32_MAX, 4);
	if (r->bad)
		return 0;
	if (!(s->names = calloc(nnames ? nnames : 1, sizeof *s->names)))
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < nnames && !r->bad; i++) {
		bool oom = false;
		s->names[i] = get_str(r, &oom);
		if (oom)
			return hd_fail(HD_E_INTERNAL, "out of memory");
		s->nnames = i + 1;
	}
	size_t n = get_count(r, UINT32_MAX, 9);
	if (r->bad || !(s->v = malloc((n ? n : 1) * sizeof *s->v)))
		return r->bad ? 0 : hd_fail(HD_E_INTERNAL, "out of memory");
	s->n = n;
	for (size_t i = 0; i < n && !r->bad; i++) {
		s->v[i].offset = get_u32(r);
		s->v[i].type = get_u8(r);
		s->v[i].name = get_u32(r);
		if (!is_type(s->v[i].type) || s->v[i].name >= s->nnames)
			r->bad = true;
	}
	size_t nc = get_count(r, MAX_CLASSES, 8);
	if (nc && nc != nclasses) /* one list per class of the table, or none */
		r->bad = true;
	if (r->bad)
		return 0;
	if (nc && !(s->first = malloc((nc + 1) * sizeof *s->first)))
		return hd_fail(HD_E_INTERNAL, "out of memory");
	s->nclasses = nc;
	for (size_t k = 0; nc && k <= nc && !r->bad; k++) {
		uint64_t f = get_u64(r);
		if (f > n || (k > 0 && f < s->first[k - 1]) || (k == nc && f != n))
			r->bad = true;
		s->first[k] = (size_t)f;
	}
	s->classes = get_u64(r);
	s->facts_dropped = get_u64(r);
	s->unattributed_refs = get_u64(r);
	s->unattributed_bytes = get_u64(r);
	return 0;
}

static unsigned type_size(const struct hd_layout *L, uint8_t type)
{
	return type == HD_T_OBJECT ? L->ref_size : hd_type_size(type);
}

/* Each static lies inside the elements of the array its type says: the
 * writer reads it there without another check. */
static bool statics_fit(const struct hd_layout *L, const struct hd_statics *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct hd_static *f = &s->v[i];
		const struct hd_statics_array *a = f->type == HD_T_OBJECT ? &s->objects : &s->prims;
		if (!a->addr || f->offset < a->start ||
		    type_size(L, f->type) > a->end - f->offset || f->offset > a->end)
			return false;
	}
	return true;
}

/* The kind, fixed size and element type C's layout encoding gives (as
 * classes.c reads them from a hub): the walker sizes objects by the
 * encoding, the writer reads fields and elements by these. */
static bool kind_fits_enc(const struct hd_layout *L, const struct hd_class *c)
{
	int32_t e = c->enc;
	if (!le_is_plausible(e))
		return false;
	if (le_is_instance(e))
		return c->kind == HD_KIND_INSTANCE && c->fixed_size == (uint32_t)e;
	if (le_is_hybrid(e))
		return c->kind == HD_KIND_HYBRID && c->fixed_size == le_base(e);
	if (!le_is_pure_array(e))
		return c->kind == HD_KIND_NONE;
	if (c->kind != (le_has_primitive_elems(e) ? HD_KIND_PRIM_ARRAY : HD_KIND_OBJ_ARRAY) ||
	    le_shift(e) > 3)
		return false;
	return (c->kind == HD_KIND_OBJ_ARRAY) == (c->elem_type == HD_T_OBJECT) &&
	       type_size(L, c->elem_type) == 1u << le_shift(e);
}

/* Every class's kind fits its encoding, its HPROF and Java superclass
 * chains end within HD_CLASS_MAX_DEPTH (no cycle, no chain that would cost
 * a hostile entry's length squared), and the fields the writer reads for an instance of
 * it (its own and its HPROF ancestors') lie in its fixed bytes. */
static bool classes_fit(const struct hd_layout *L, const struct hd_classes *t)
{
	for (size_t k = 0; k < t->n; k++) {
		const struct hd_class *cls = &t->v[k];
		if (!kind_fits_enc(L, cls))
			return false;
		bool instance = cls->kind == HD_KIND_INSTANCE || cls->kind == HD_KIND_HYBRID;
		size_t depth = 0;
		for (int32_t s = (int32_t)k; s >= 0; s = t->v[s].super) {
			if (++depth > HD_CLASS_MAX_DEPTH)
				return false;
			for (size_t i = 0; instance && i < t->v[s].nown; i++) {
				const struct hd_field *f = &t->v[s].own[i];
				if (f->offset > cls->fixed_size ||
				    type_size(L, f->type) > cls->fixed_size - f->offset)
					return false;
			}
		}
		depth = 0;
		for (int32_t s = (int32_t)k; s >= 0; s = t->v[s].jsuper)
			if (++depth > HD_CLASS_MAX_DEPTH)
				return false;
	}
	return true;
}

static void put_threadlocals(struct writer *w, const struct hd_threadlocals *tl)
{
	const int v[] = {tl->isolate, tl->os_thread_id, tl->os_thread_handle, tl->next,
			 tl->stack_base, tl->tlab, tl->current_thread, tl->last_anchor, tl->status};
	for (size_t i = 0; i < sizeof v / sizeof *v; i++)
		put_u32(w, (uint32_t)v[i]);
	put_u32(w, tl->extent);
	put_u64(w, tl->head_word);
}

/* Thread-local offsets lie in the IsolateThread the table covers;
 * VMThreads.head's word in the image heap. */
static void get_threadlocals(struct reader *r, struct hd_threadlocals *tl,
			     const struct hd_layout *L)
{
	int v[9];
	for (size_t i = 0; i < 9; i++)
		v[i] = get_i32(r);
	unsigned extent = get_u32(r);
	uint64_t head_word = get_u64(r);
	if (extent > (1u << 20) || head_word % 8 || L->image_size < 8 ||
	    head_word > L->image_size - 8)
		r->bad = true;
	for (size_t i = 0; i < 9; i++)
		if (v[i] < -1 || v[i] >= (int)extent)
			r->bad = true;
	*tl = (struct hd_threadlocals){v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], extent,
				       0, 0, head_word};
}

static void put_offsets(struct writer *w, const uint64_t *v, size_t n)
{
	put_u64(w, n);
	for (size_t i = 0; i < n; i++)
		put_u64(w, v[i]);
}

static int get_offsets(struct reader *r, uint64_t **v, size_t *n, bool keep)
{
	size_t c = get_count(r, CODEINFO_MAX_TABLE, 8);
	if (r->bad)
		return 0;
	if (!keep) {
		r->at += c * 8;
		return 0;
	}
	if (!(*v = malloc((c ? c : 1) * sizeof **v)))
		return hd_fail(HD_E_INTERNAL, "out of memory");
	*n = c;
	for (size_t i = 0; i < c; i++)
		(*v)[i] = get_u64(r);
	return 0;
}

static void put_codeinfo(struct writer *w, const struct hd_codeinfo *ci, bool have)
{
	put_u8(w, have);
	if (!have)
		return;
	put_u64(w, ci->code_start);
	put_u64(w, ci->code_size);
	put_bytes(w, &ci->index);
	put_bytes(w, &ci->entries);
	put_bytes(w, &ci->refmaps);
	put_bytes(w, &ci->frames);
	put_bytes(w, &ci->methods);
	put_u8(w, (uint8_t)ci->format);
	put_u8(w, ci->deopt_byte);
	put_u32(w, ci->method_entry);
	put_u8(w, ci->short_class);
	put_u8(w, ci->short_name);
	put_offsets(w, ci->classes, ci->nclasses);
	put_offsets(w, ci->names, ci->nnames);
	put_u32(w, ci->ref_size);
	put_u64(w, ci->nentries);
}

/* The tables are decoded later as the hostile data they are (codeinfo.h:
 * every decode bounded); here only what sizes them is checked.  Not KEEP:
 * only their sizes are read into CI, for a decode that does not want
 * them. */
static int get_codeinfo(struct reader *r, struct hd_codeinfo *ci, bool *have, bool keep)
{
	*have = get_u8(r) != 0;
	if (!*have || r->bad)
		return 0;
	ci->code_start = get_u64(r);
	ci->code_size = get_u64(r);
	ci->borrowed = true;
	get_bytes(r, &ci->index, keep);
	get_bytes(r, &ci->entries, keep);
	get_bytes(r, &ci->refmaps, keep);
	get_bytes(r, &ci->frames, keep);
	get_bytes(r, &ci->methods, keep);
	ci->format = get_u8(r);
	ci->deopt_byte = get_u8(r) != 0;
	ci->method_entry = get_u32(r);
	ci->short_class = get_u8(r) != 0;
	ci->short_name = get_u8(r) != 0;
	if (get_offsets(r, &ci->classes, &ci->nclasses, keep) != 0 ||
	    get_offsets(r, &ci->names, &ci->nnames, keep) != 0)
		return -1;
	ci->ref_size = get_u32(r);
	ci->nentries = get_u64(r);
	if (ci->format > HD_FI_METHOD_TABLE || ci->method_entry > 64 ||
	    (ci->ref_size != 4 && ci->ref_size != 8) || ci->code_start + ci->code_size < ci->code_start ||
	    ci->index.n / 4 < ci->code_size / CODEINFO_GRANULARITY)
		r->bad = true;
	return 0;
}

static void put_roots(struct writer *w, const struct hd_chunk_roots *roots)
{
	size_t n = roots ? roots->n : 0;
	put_u64(w, n);
	for (size_t i = 0; i < n; i++) {
		put_u64(w, roots->v[i].off);
		put_u64(w, roots->v[i].hub_off);
	}
}

/* Each root and its hub lie in the image heap, in address order; that
 * each is a root object of that hub is checked where it is read
 * (chunks_find), a list that is not being walked past. */
static int get_roots(struct reader *r, const struct hd_layout *L, struct hd_chunk_roots *out)
{
	size_t n = get_count(r, CHUNK_ROOTS_MAX, 16);
	if (r->bad || !n)
		return 0;
	if (!(out->v = malloc(n * sizeof *out->v)))
		return hd_fail(HD_E_INTERNAL, "out of memory");
	out->n = n;
	for (size_t i = 0; i < n; i++) {
		uint64_t off = get_u64(r), hub = get_u64(r);
		if (off >= L->image_size || hub >= L->image_size || (i && off <= out->v[i - 1].off))
			r->bad = true;
		out->v[i] = (struct hd_chunk_root){off, hub};
	}
	return 0;
}

int dcache_encode(const struct hd_discovery *d, uint8_t **out, size_t *n)
{
	struct writer w = {0};
	uint64_t base = d->L->image_start;
	bool live = d->tl && d->ci && d->have_ci;
	put_u8(&w, live ? PART_LIVE : 0);
	put_layout(&w, d->L);
	put_classes(&w, d->classes, base);
	put_statics(&w, d->statics, base);
	if (live) {
		put_threadlocals(&w, d->tl);
		put_codeinfo(&w, d->ci, *d->have_ci);
		put_roots(&w, d->roots);
	}
	if (w.oom) {
		free(w.p);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	*out = w.p;
	*n = w.n;
	return 0;
}

int dcache_decode(const struct hd_discovery *d, uint64_t image_start, const uint8_t *p, size_t n)
{
	struct reader r = {p, n, 0, false};
	uint8_t parts = get_u8(&r);
	if (r.bad || parts > PART_LIVE)
		return hd_fail(HD_E_LAYOUT, "the cache entry has unknown parts (0x%x)", parts);
	if (d->tl && !(parts & PART_LIVE))
		return hd_fail(HD_E_LAYOUT, "the cache entry has no thread locals (written for an "
			       "executable)");
	if (get_layout(&r, d->L, image_start) != 0 ||
	    get_classes(&r, d->classes, image_start) != 0 ||
	    get_statics(&r, d->statics, d->classes->n, image_start) != 0)
		return -1;
	if (!r.bad && (!classes_fit(d->L, d->classes) || !statics_fit(d->L, d->statics)))
		return hd_fail(HD_E_LAYOUT, "the cache entry's classes do not fit their layout "
			       "encodings, fields or statics lie outside their objects, or "
			       "superclasses form a cycle");
	if (parts & PART_LIVE) {
		struct hd_threadlocals tl;
		struct hd_codeinfo ci = {0};
		struct hd_chunk_roots roots = {0};
		bool have = false;
		get_threadlocals(&r, &tl, d->L);
		if (get_codeinfo(&r, d->ci ? d->ci : &ci, d->have_ci ? d->have_ci : &have,
				 d->ci != NULL) != 0)
			return -1;
		codeinfo_free(&ci);
		if (get_roots(&r, d->L, d->roots ? d->roots : &roots) != 0)
			return -1;
		chunk_roots_free(&roots);
		if (d->tl)
			*d->tl = tl;
	}
	if (r.bad || r.at != r.n)
		return hd_fail(HD_E_LAYOUT, "the cache entry does not decode (at byte %zu of %zu)",
			       r.at, r.n);
	return 0;
}

/* The hub of the object at ADDR, 0 when its header does not read. */
static uint64_t hub_of(hd_memview *mv, const struct hd_layout *L, uint64_t addr)
{
	uint8_t h[8];
	if (mv_try_read(mv, addr, h, L->hdr_size) != 0)
		return 0;
	return lay_hub_from_header(L, lay_header(L, h));
}

static bool in_image(const struct hd_layout *L, uint64_t addr, uint64_t len)
{
	return addr >= L->image_start && addr - L->image_start <= L->image_size &&
	       len <= L->image_size - (addr - L->image_start);
}

/* The bytes of a hub the class table was read from. */
static unsigned hub_span(const struct hd_layout *L)
{
	unsigned span = L->hub_enc + 4;
	if (L->hub_refmap + 4 > span)
		span = L->hub_refmap + 4;
	if (L->hub_idhash >= 0 && (unsigned)L->hub_idhash + 2 > span)
		span = (unsigned)L->hub_idhash + 2;
	if (L->hub_monitor > 0 && (unsigned)L->hub_monitor + 2 > span)
		span = (unsigned)L->hub_monitor + 2;
	return span;
}

static int check_class(hd_memview *mv, const struct hd_layout *L, const struct hd_class *c)
{
	uint8_t raw[MAX_HUB_SPAN + 8];
	unsigned span = hub_span(L);
	if (!in_image(L, c->hub, span) || mv_try_read(mv, c->hub, raw, span) != 0)
		return hd_fail(HD_E_LAYOUT, "cached class %s: its hub 0x%" PRIx64 " is not in the "
			       "image heap", c->name, c->hub);
	if (lay_hub_from_header(L, lay_header(L, raw)) != L->class_hub)
		return hd_fail(HD_E_LAYOUT, "cached class %s: 0x%" PRIx64 " is no DynamicHub",
			       c->name, c->hub);
	if (lay_hub_encoding(L, raw) != c->enc || lay_hub_refmap_index(L, raw) != c->refmap_idx ||
	    lay_hub_idhash_off(L, raw) != c->idhash_off ||
	    lay_hub_monitor_off(L, raw) != c->monitor_off)
		return hd_fail(HD_E_LAYOUT, "cached class %s: its hub at 0x%" PRIx64 " holds "
			       "another layout", c->name, c->hub);
	return 0;
}

/* A statics array that was found is an array of the image. */
static int check_array(hd_memview *mv, const struct hd_classes *t, const struct hd_layout *L,
		       const struct hd_statics_array *a)
{
	if (!a->addr)
		return 0;
	const struct hd_class *c = classes_find(t, hub_of(mv, L, a->addr));
	if (!c || c->kind < HD_KIND_OBJ_ARRAY || !in_image(L, a->addr, a->end))
		return hd_fail(HD_E_LAYOUT, "the cached statics array at 0x%" PRIx64 " is no "
			       "array of the image", a->addr);
	return 0;
}

int dcache_check(const struct hd_discovery *d, hd_memview *mv)
{
	const struct hd_layout *L = d->L;
	if (hub_span(L) > MAX_HUB_SPAN)
		return hd_fail(HD_E_LAYOUT, "cached hub fields span more than %u bytes", MAX_HUB_SPAN);
	if (hub_of(mv, L, L->class_hub) != L->class_hub)
		return hd_fail(HD_E_LAYOUT, "the cached Class hub 0x%" PRIx64 " is not its own hub",
			       L->class_hub);
	const struct hd_class *string = classes_find(d->classes, L->string_hub);
	if (!string || strcmp(string->name, "java.lang.String") != 0 ||
	    !classes_find(d->classes, L->class_hub))
		return hd_fail(HD_E_LAYOUT, "the cached String or Class hub is not in the class table");
	for (size_t i = 0; i < d->classes->n; i++) {
		if ((i & 1023) == 0 && hd_interrupted())
			return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d",
				       hd_interrupted_signal());
		if (check_class(mv, L, &d->classes->v[i]) != 0)
			return -1;
	}
	if (!in_image(L, L->refmap_data, L->refmap_len))
		return hd_fail(HD_E_LAYOUT, "the cached reference-map table is not in the image heap");
	if (check_array(mv, d->classes, L, &d->statics->objects) != 0 ||
	    check_array(mv, d->classes, L, &d->statics->prims) != 0)
		return -1;
	return 0;
}
