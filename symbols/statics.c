#include "statics.h"

#include "classes.h"
#include "elfimage.h"
#include "heapwalk.h"
#include "imageobjs.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define OBJECT_ARRAY "[Ljava.lang.Object;"
#define BYTE_ARRAY "[B"
/* Lists each partition's first and last object (22.3 to 25). */
#define IMAGE_HEAP_INFO "com.oracle.svm.core.genscavenge.ImageHeapInfo"

static void logf_(FILE *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(FILE *log, const char *fmt, ...)
{
	if (!log)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("statics: ", log);
	vfprintf(log, fmt, ap);
	fputc('\n', log);
	va_end(ap);
}

/* ---- The two arrays ------------------------------------------------------
 *
 * Every reference of the image heap is followed once; an Object[] or byte[]
 * that none lands on is a candidate. */

struct scan {
	const struct hd_layout *L;
	const struct hd_class *heap_info; /* its references are partition bounds, not holders */
	hd_memview *mv;
	/* One bit per 8 bytes of the image heap (objects are 8-aligned): an
	 * Object[] or byte[] starts there; a reference lands on one. */
	uint64_t *cand, *refd;
	size_t nbits;
	uint8_t *buf;       /* pieces of objects the walker did not buffer */
	struct hd_release_behind behind;
};

/* Bit of the image-heap address A, or SIZE_MAX when none has one. */
static size_t bit_of(const struct scan *x, uint64_t a)
{
	uint64_t off = a - x->L->image_start;
	if (a < x->L->image_start || off % 8 || off / 8 >= x->nbits)
		return SIZE_MAX;
	return (size_t)(off / 8);
}

static bool test_bit(const uint64_t *m, size_t i) { return m[i / 64] >> (i % 64) & 1; }
static void set_bit(uint64_t *m, size_t i) { m[i / 64] |= 1ull << (i % 64); }

#define SCAN_PIECE (1u << 20)

static void mark(struct scan *x, uint64_t r)
{
	size_t i = bit_of(x, r);
	if (i != SIZE_MAX && test_bit(x->cand, i))
		set_bit(x->refd, i);
}

static void add_candidates(struct scan *x, const struct hd_imageobjs *io, const char *name)
{
	size_t n;
	const uint32_t *v = imageobjs_named(io, name, &n);
	for (size_t i = 0; i < n; i++) {
		size_t b = bit_of(x, io->addr[v[i]]);
		if (b != SIZE_MAX)
			set_bit(x->cand, b);
	}
}

/* Bytes [OFF, OFF+LEN) of O (LEN <= SCAN_PIECE), from the walk's buffer or
 * read. */
static const uint8_t *object_bytes(struct scan *x, const struct hd_object *o, uint64_t off,
				   size_t len)
{
	if (o->data)
		return o->data + off;
	return mv_read(x->mv, o->addr + off, x->buf, len) == 0 ? x->buf : NULL;
}

static int scan_object(void *ctx, const struct hd_object *o)
{
	struct scan *x = ctx;
	const struct hd_class *c = o->hubinfo.cls;
	unsigned rs = x->L->ref_size;
	elfimage_passed(&x->behind, o->addr);
	if (c == x->heap_info)
		return 0;
	if (c->kind == HD_KIND_INSTANCE || c->kind == HD_KIND_HYBRID) {
		if (c->fixed_size > SCAN_PIECE || c->fixed_size > o->size)
			return 0;
		const uint8_t *p = object_bytes(x, o, 0, c->fixed_size);
		if (!p)
			return -1;
		for (size_t i = 0; i < c->nfields; i++)
			if (c->fields[i].type == HD_T_OBJECT)
				mark(x, lay_ref(x->L, p + c->fields[i].offset));
		return 0;
	}
	if (c->kind != HD_KIND_OBJ_ARRAY)
		return 0;
	uint64_t off = le_base(c->enc), len = (uint64_t)o->length * rs;
	if (off + len > o->size)
		return 0;
	while (len) {
		size_t n = len < SCAN_PIECE ? (size_t)len : SCAN_PIECE;
		const uint8_t *p = object_bytes(x, o, off, n);
		if (!p)
			return -1;
		for (size_t i = 0; i + rs <= n; i += rs)
			mark(x, lay_ref(x->L, p + i));
		off += n;
		len -= n;
	}
	return 0;
}

static bool is_ref(const struct hd_field_fact *f) { return f->type == HD_T_OBJECT; }

/* Whether a static of TYPE at OFFSET lies in A's elements, aligned as SVM
 * places it: a reference on an element, a primitive at a multiple of its
 * size from the array's start (layoutStaticFields). */
static bool fits(const struct hd_statics_array *a, uint8_t type, uint32_t offset)
{
	unsigned size = type == HD_T_OBJECT ? a->elem : hd_type_size(type);
	if (!a->addr || !size || offset < a->start || offset > a->end || a->end - offset < size)
		return false;
	return type == HD_T_OBJECT ? (offset - a->start) % size == 0 : offset % size == 0;
}

/* A static fact that names a class of the table and says its array. */
static bool usable(const struct hd_field_fact *f, const struct hd_classes *t)
{
	return f->is_static && (f->type == HD_T_OBJECT || hd_type_size(f->type)) &&
	       classes_find(t, f->hub);
}

/* The end an array whose elements start at START, ELEM bytes each, must
 * reach to hold every static fact of one kind that could lie in it (one
 * before its elements or off their grid is refused later, whatever the
 * array). */
static uint64_t facts_need(const struct hd_field_facts *ff, const struct hd_classes *t, bool refs,
			   uint32_t start, unsigned elem)
{
	const struct hd_statics_array open = {1, start, UINT32_MAX, elem};
	uint64_t need = start;
	for (size_t i = 0; i < ff->n; i++) {
		const struct hd_field_fact *f = &ff->v[i];
		if (!usable(f, t) || is_ref(f) != refs || !fits(&open, f->type, f->offset))
			continue;
		uint64_t end = (uint64_t)f->offset + (refs ? elem : hd_type_size(f->type));
		if (end > need)
			need = end;
	}
	return need;
}

/* Boolean statics hold 0 or 1: the byte[] of statics shows it at each
 * boolean fact where a constant table of the code, as unreferenced and as
 * large, shows other bytes.  At most this many are looked at. */
#define BOOLEAN_CHECKS 1024

struct booleans {
	uint32_t off[BOOLEAN_CHECKS];
	size_t n;
};

static void collect_booleans(struct booleans *b, const struct hd_field_facts *ff,
			     const struct hd_classes *t)
{
	b->n = 0;
	for (size_t i = 0; i < ff->n && b->n < BOOLEAN_CHECKS; i++)
		if (ff->v[i].type == HD_T_BOOLEAN && usable(&ff->v[i], t))
			b->off[b->n++] = ff->v[i].offset;
}

/* Whether every boolean fact of B reads 0 or 1 in A (which reaches them);
 * a byte that does not read counts against A. */
static bool booleans_hold(const struct booleans *b, hd_memview *mv,
			  const struct hd_statics_array *a)
{
	for (size_t i = 0; i < b->n; i++) {
		uint8_t v;
		if (b->off[i] < a->start || b->off[i] >= a->end)
			continue;
		if (mv_try_read(mv, a->addr + b->off[i], &v, 1) != 0 || v > 1)
			return false;
	}
	return true;
}

/* Among the unreferenced instances of NAME that hold every static fact of
 * their kind: for the Object[], the largest, when no other is as large (the
 * others are constants of compiled code, such as enum values() arrays); for
 * the byte[], the only one whose boolean facts read 0 or 1, since the
 * code's constant tables are byte[]s as large (two of 64 KiB in the pkl
 * images). */
static void choose(struct hd_statics_array *a, const struct scan *x, const struct hd_names_input *in,
		   const struct hd_field_facts *ff, bool refs)
{
	const char *name = refs ? OBJECT_ARRAY : BYTE_ARRAY;
	const struct hd_imageobjs *io = in->objs;
	const struct hd_class *c = classes_named(in->classes, name);
	unsigned elem = refs ? in->L->ref_size : 1;
	size_t unreferenced = 0, holding = 0, tied = 0;
	struct hd_statics_array best = {0};
	size_t n;
	const uint32_t *v = imageobjs_of(io, c, &n);
	uint64_t need = c ? facts_need(ff, in->classes, refs, le_base(c->enc), elem) : 0;
	struct booleans bools;
	collect_booleans(&bools, ff, in->classes);
	for (size_t i = 0; i < n; i++) {
		uint32_t k = v[i];
		size_t b = bit_of(x, io->addr[k]);
		if (b == SIZE_MAX || test_bit(x->refd, b))
			continue;
		unreferenced++;
		uint64_t end = le_base(c->enc) + (uint64_t)io->length[k] * elem;
		if (end > UINT32_MAX)
			continue;
		if (end < need)
			continue;
		struct hd_statics_array cand = {io->addr[k], le_base(c->enc), (uint32_t)end, elem};
		if (!refs && !booleans_hold(&bools, in->mv, &cand))
			continue;
		holding++;
		if (!best.addr || cand.end > best.end) {
			best = cand;
			tied = 0;
		} else if (cand.end == best.end) {
			tied++;
		}
	}
	memset(a, 0, sizeof *a);
	if (!best.addr || tied || (!refs && holding > 1)) {
		logf_(in->log, "%s: %zu unreferenced, %zu fit every static fact: none chosen", name,
		      unreferenced, holding);
		return;
	}
	*a = best;
	logf_(in->log, "%s at 0x%" PRIx64 ", %" PRIu32 " elements (%zu unreferenced, %zu fit every "
	      "static fact)", name, a->addr, (a->end - a->start) / elem, unreferenced, holding);
}

int statics_locate(struct hd_statics *s, const struct hd_field_facts *ff,
		   const struct hd_names_input *in)
{
	const struct hd_imageobjs *io = in->objs;
	size_t nobj, nbyte;
	imageobjs_named(io, OBJECT_ARRAY, &nobj);
	imageobjs_named(io, BYTE_ARRAY, &nbyte);
	memset(&s->objects, 0, sizeof s->objects);
	memset(&s->prims, 0, sizeof s->prims);
	if (!nobj && !nbyte) {
		logf_(in->log, "no Object[] or byte[] in the image heap");
		return 0;
	}
	struct scan x = {.L = in->L, .mv = in->mv, .nbits = (size_t)(in->L->image_size / 8),
			 .heap_info = classes_named(in->classes, IMAGE_HEAP_INFO),
			 .behind = {.img = in->img, .image_start = in->L->image_start}};
	x.cand = calloc(x.nbits / 64 + 1, sizeof *x.cand);
	x.refd = calloc(x.nbits / 64 + 1, sizeof *x.refd);
	x.buf = malloc(SCAN_PIECE);
	struct hd_walker w;
	int rc = -1;
	if (!x.cand || !x.refd || !x.buf) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		goto out;
	}
	add_candidates(&x, io, OBJECT_ARRAY);
	add_candidates(&x, io, BYTE_ARRAY);
	if (hw_init(&w, in->L, in->mv, classes_lookup, (void *)in->classes) != 0)
		goto out;
	rc = hw_image_objects(&w, scan_object, &x);
	hw_fini(&w);
	if (rc != 0) {
		if (hd_error_is_fatal())
			goto out;
		/* Image data the index's walk already read once: not expected,
		 * and no reason to refuse a dump. */
		logf_(in->log, "the image heap's references could not be followed: %s",
		      hd_error_message());
		hd_error_clear();
		rc = 0;
		goto out;
	}
	choose(&s->objects, &x, in, ff, true);
	choose(&s->prims, &x, in, ff, false);
out:
	free(x.cand);
	free(x.refd);
	free(x.buf);
	return rc;
}

/* ---- Which class declares which slot ------------------------------------ */

struct placed {
	uint32_t cls;     /* index into the class table */
	uint32_t offset;
	uint8_t type;
	bool refs;        /* in the Object[] */
	uint32_t name;    /* index into the facts' names */
};

static unsigned placed_size(const struct hd_statics *s, const struct placed *p)
{
	return p->refs ? s->objects.elem : hd_type_size(p->type);
}

static int by_location(const void *a, const void *b)
{
	const struct placed *x = a, *y = b;
	if (x->refs != y->refs)
		return x->refs ? -1 : 1;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	if (x->name != y->name)
		return x->name < y->name ? -1 : 1;
	return (int)x->type - (int)y->type;
}

static int by_class_name(const void *a, const void *b)
{
	const struct placed *x = a, *y = b;
	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	if (x->name != y->name)
		return x->name < y->name ? -1 : 1;
	return by_location(a, b);
}

static int by_class_location(const void *a, const void *b)
{
	const struct placed *x = a, *y = b;
	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	return by_location(a, b);
}

static bool same_field(const struct placed *a, const struct placed *b)
{
	return a->cls == b->cls && a->name == b->name && a->type == b->type &&
	       a->refs == b->refs && a->offset == b->offset;
}

/* Marks in BAD (per class) every class with a static that overlaps a
 * static that is not the same field, or a name at two locations.  P is
 * sorted by location, duplicates removed. */
static void find_contradictions(const struct hd_statics *s, struct placed *p, size_t n, bool *bad)
{
	/* An entry overlaps an earlier one iff it starts before the furthest
	 * end so far, a later one iff the next starts before its own end. */
	uint64_t reach = 0;
	bool reach_refs = true;
	for (size_t i = 0; i < n; i++) {
		if (p[i].refs != reach_refs) {
			reach = 0;
			reach_refs = p[i].refs;
		}
		uint64_t end = (uint64_t)p[i].offset + placed_size(s, &p[i]);
		bool overlaps = p[i].offset < reach ||
				(i + 1 < n && p[i + 1].refs == p[i].refs && p[i + 1].offset < end);
		if (overlaps)
			bad[p[i].cls] = true;
		if (end > reach)
			reach = end;
	}
	qsort(p, n, sizeof *p, by_class_name);
	for (size_t i = 1; i < n; i++)
		if (p[i].cls == p[i - 1].cls && p[i].name == p[i - 1].name)
			bad[p[i].cls] = true;
}

static int keep_names(struct hd_statics *s, const struct hd_field_facts *ff)
{
	uint32_t *local = malloc((ff->names.n ? ff->names.n : 1) * sizeof *local);
	s->names = malloc((s->n ? s->n : 1) * sizeof *s->names);
	if (!local || !s->names) {
		free(local);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	memset(local, 0xff, (ff->names.n ? ff->names.n : 1) * sizeof *local);
	for (size_t i = 0; i < s->n; i++) {
		uint32_t f = s->v[i].name;
		if (local[f] == UINT32_MAX) {
			if (!(s->names[s->nnames] = strdup(ff_name(ff, f)))) {
				free(local);
				return hd_fail(HD_E_INTERNAL, "out of memory");
			}
			local[f] = (uint32_t)s->nnames++;
		}
		s->v[i].name = local[f];
	}
	free(local);
	return 0;
}

static void count_unattributed(struct hd_statics *s)
{
	uint64_t refs = 0, bytes = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].type == HD_T_OBJECT)
			refs++;
		else
			bytes += hd_type_size(s->v[i].type);
	}
	if (s->objects.addr && s->objects.elem)
		s->unattributed_refs = (s->objects.end - s->objects.start) / s->objects.elem - refs;
	if (s->prims.addr)
		s->unattributed_bytes = s->prims.end - s->prims.start - bytes;
}

int statics_attribute(struct hd_statics *s, const struct hd_field_facts *ff,
		      const struct hd_classes *t, FILE *log)
{
	struct hd_statics_array objects = s->objects, prims = s->prims;
	statics_free(s);
	s->objects = objects;
	s->prims = prims;
	s->classes = s->facts_dropped = s->unattributed_refs = s->unattributed_bytes = 0;
	s->nclasses = t->n;
	struct placed *p = malloc((ff->n ? ff->n : 1) * sizeof *p);
	bool *bad = calloc(t->n ? t->n : 1, sizeof *bad);
	s->first = calloc(t->n + 1, sizeof *s->first);
	int rc = -1;
	if (!p || !bad || !s->first) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		goto out;
	}
	size_t n = 0, statics = 0;
	for (size_t i = 0; i < ff->n; i++) {
		const struct hd_field_fact *f = &ff->v[i];
		if (!f->is_static)
			continue;
		statics++;
		const struct hd_statics_array *a = is_ref(f) ? &s->objects : &s->prims;
		if (!usable(f, t) || !fits(a, f->type, f->offset))
			continue;
		const struct hd_class *c = classes_find(t, f->hub);
		p[n++] = (struct placed){(uint32_t)(c - t->v), f->offset, f->type, is_ref(f), f->name};
	}
	/* Sources that agree give the same field more than once. */
	qsort(p, n, sizeof *p, by_location);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!m || !same_field(&p[i], &p[m - 1]))
			p[m++] = p[i];
	find_contradictions(s, p, m, bad);
	qsort(p, m, sizeof *p, by_class_location);
	s->v = malloc((m ? m : 1) * sizeof *s->v);
	if (!s->v) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m; i++) {
		if (bad[p[i].cls])
			continue;
		s->v[s->n++] = (struct hd_static){p[i].offset, p[i].type, p[i].name};
		s->first[p[i].cls + 1]++;
	}
	for (size_t k = 0; k < t->n; k++) {
		s->classes += s->first[k + 1] != 0;
		s->first[k + 1] += s->first[k];
	}
	s->facts_dropped = statics - s->n;
	if (keep_names(s, ff) != 0)
		goto out;
	count_unattributed(s);
	logf_(log, "%zu statics in %" PRIu64 " classes; %" PRIu64 " static facts refused; "
	      "%" PRIu64 " Object[] slots and %" PRIu64 " byte[] bytes unattributed", s->n,
	      s->classes, s->facts_dropped, s->unattributed_refs, s->unattributed_bytes);
	rc = 0;
out:
	free(p);
	free(bad);
	return rc;
}

int statics_build(struct hd_statics *s, const struct hd_field_facts *ff,
		  const struct hd_names_input *in)
{
	memset(s, 0, sizeof *s);
	if (statics_locate(s, ff, in) != 0)
		return -1;
	return statics_attribute(s, ff, in->classes, in->log);
}

const struct hd_static *statics_of(const struct hd_statics *s, size_t k, size_t *n)
{
	*n = 0;
	if (!s || !s->first || k >= s->nclasses)
		return NULL;
	*n = s->first[k + 1] - s->first[k];
	return s->v + s->first[k];
}

void statics_free(struct hd_statics *s)
{
	for (size_t i = 0; i < s->nnames; i++)
		free(s->names[i]);
	free(s->names);
	free(s->v);
	free(s->first);
	memset(s, 0, sizeof *s);
}
