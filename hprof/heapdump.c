#include "heapdump.h"

#include "../common/hd_error.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* HPROF ids of the UTF8 records: class names, then field names. */
#define NAME_ID_BASE 1u
#define DUMMY_TRACE 1u

struct census_ctx {
	const struct hd_dump_input *in;
	struct hd_census *c;
	struct hd_walker *w;
};

static int census_object(void *ctx, const struct hd_object *o)
{
	struct census_ctx *x = ctx;
	const struct hd_class *cls = o->hubinfo.cls;
	if (cls->is_filler) {
		x->c->fillers++;
		return 0;
	}
	size_t k = (size_t)(cls - x->in->classes->v);
	x->c->count[k]++;
	x->c->size[k] += o->size;
	x->c->objects++;
	x->c->bytes += o->size;
	return objindex_add(&x->c->starts, o->addr);
}

static int census_chunk(void *ctx, const struct hd_chunk *ch)
{
	struct census_ctx *x = ctx;
	x->c->chunks++;
	x->w->in_image_heap = ch->image;
	return hw_walk_range(x->w, ch->first, ch->top, ch->gaps, ch->ngaps, census_object, x);
}

int heap_census(const struct hd_dump_input *in, struct hd_census *c)
{
	memset(c, 0, sizeof *c);
	size_t n = in->classes->n ? in->classes->n : 1;
	c->count = calloc(n, sizeof *c->count);
	c->size = calloc(n, sizeof *c->size);
	if (!c->count || !c->size) {
		census_free(c);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	if (objindex_init(&c->starts, in->L->chunk_size) != 0) {
		census_free(c);
		return -1;
	}
	struct hd_walker w;
	if (hw_init(&w, in->L, in->mv, classes_lookup, (void *)in->classes) != 0) {
		census_free(c);
		return -1;
	}
	struct census_ctx x = {in, c, &w};
	int rc = in->chunks(in->chunks_ctx, &w, census_chunk, &x);
	hw_fini(&w);
	if (rc != 0)
		census_free(c);
	return rc;
}

void census_free(struct hd_census *c)
{
	free(c->count);
	free(c->size);
	objindex_free(&c->starts);
	memset(c, 0, sizeof *c);
}

/* ---- Writing ------------------------------------------------------------ */

struct writer {
	const struct hd_dump_input *in;
	const struct hd_census *c;
	hd_hprof *w;
	struct hd_walker *walker;
	uint32_t *inst_bytes;   /* per class: bytes of an INSTANCE DUMP's values */
	uint64_t dangling, first_dangling_from, first_dangling_to;
	uint8_t *io;            /* staging for arrays too large to buffer */
	uint8_t *rec;           /* one record being built */
};

/* Object-array ids are encoded into the record buffer this many bytes at a time. */
#define REC_FLUSH (64u << 10)

static const struct hd_class *class_of(const struct writer *x, size_t k)
{
	return &x->in->classes->v[k];
}

static unsigned value_size(uint8_t type)
{
	return type == HD_T_OBJECT ? HPROF_ID_SIZE : hd_type_size(type);
}

static uint64_t checked_ref(struct writer *x, uint64_t from, uint64_t r)
{
	if (r && !objindex_has(&x->c->starts, r)) {
		if (!x->dangling++) {
			x->first_dangling_from = from;
			x->first_dangling_to = r;
		}
	}
	return r;
}

static uint64_t utf8_name_id(const struct hd_classes *t, uint32_t name_index)
{
	return NAME_ID_BASE + t->n + name_index;
}

/* Classes the viewers look up by name and fail without: VisualVM computes
 * GC-root paths only when all four java.lang.ref kinds exist, and reads
 * java.lang.StringUTF16 to show UTF-16 strings.  Images leave out the ones
 * they never use; such a class is written with no fields and no instances,
 * under an id no object can have (objects are 8-aligned, far above 0). */
static const struct {
	const char *name;
	const char *super;
} viewer_classes[] = {
	{"java.lang.ref.WeakReference", "java.lang.ref.Reference"},
	{"java.lang.ref.SoftReference", "java.lang.ref.Reference"},
	{"java.lang.ref.FinalReference", "java.lang.ref.Reference"},
	{"java.lang.ref.PhantomReference", "java.lang.ref.Reference"},
	{"java.lang.StringUTF16", "java.lang.Object"},
};
#define N_VIEWER_CLASSES (sizeof viewer_classes / sizeof viewer_classes[0])

static uint64_t viewer_class_id(size_t i) { return 0x11 + 0x10 * (uint64_t)i; }

/* Calls FN for each viewer class the image lacks, with its super's hub. */
static int each_missing_viewer_class(struct writer *x,
				     int (*fn)(struct writer *x, size_t i, uint64_t super_hub))
{
	const struct hd_classes *t = x->in->classes;
	for (size_t i = 0; i < N_VIEWER_CLASSES; i++) {
		const struct hd_class *super = classes_named(t, viewer_classes[i].super);
		if (!classes_named(t, viewer_classes[i].name) && super && fn(x, i, super->hub) != 0)
			return -1;
	}
	return 0;
}

static int viewer_class_name(struct writer *x, size_t i, uint64_t super_hub)
{
	const struct hd_classes *t = x->in->classes;
	char name[64];
	size_t n = strlen(viewer_classes[i].name);
	for (size_t k = 0; k <= n; k++)
		name[k] = viewer_classes[i].name[k] == '.' ? '/' : viewer_classes[i].name[k];
	uint64_t name_id = utf8_name_id(t, (uint32_t)(t->ninterned + i));
	(void)super_hub;
	return hprof_utf8(x->w, name_id, name) ||
	       hprof_load_class(x->w, (uint32_t)(t->n + 1 + i), viewer_class_id(i), DUMMY_TRACE,
				name_id);
}

static int viewer_class_dump(struct writer *x, size_t i, uint64_t super_hub)
{
	hd_hprof *w = x->w;
	return hprof_sub_begin(w, 1 + 8 + 4 + 8 * 6 + 4 + 6) || hprof_u1(w, HPROF_CLASS_DUMP) ||
	       hprof_id(w, viewer_class_id(i)) || hprof_u4(w, DUMMY_TRACE) ||
	       hprof_id(w, hd_class_id(super_hub)) || hprof_id(w, 0) || hprof_id(w, 0) ||
	       hprof_id(w, 0) || hprof_id(w, 0) || hprof_id(w, 0) || hprof_u4(w, 0) ||
	       hprof_u2(w, 0) || hprof_u2(w, 0) || hprof_u2(w, 0) || hprof_sub_end(w);
}

/* HotSpot's naming, which the viewers expect: slashes in class names. */
static int write_class_names(struct writer *x)
{
	const struct hd_classes *t = x->in->classes;
	char *buf = NULL;
	size_t cap = 0;
	int rc = 0;
	for (size_t k = 0; k < t->n && rc == 0; k++) {
		const char *name = t->v[k].name;
		size_t n = strlen(name);
		if (n + 1 > cap) {
			cap = n + 64;
			char *nb = realloc(buf, cap);
			if (!nb) {
				rc = hd_fail(HD_E_INTERNAL, "out of memory");
				break;
			}
			buf = nb;
		}
		for (size_t i = 0; i <= n; i++)
			buf[i] = name[i] == '.' ? '/' : name[i];
		rc = hprof_utf8(x->w, NAME_ID_BASE + k, buf);
		if (rc == 0)
			rc = hprof_load_class(x->w, (uint32_t)(k + 1), hd_class_id(t->v[k].hub),
					      DUMMY_TRACE, NAME_ID_BASE + k);
	}
	free(buf);
	for (size_t i = 0; i < t->ninterned && rc == 0; i++)
		rc = hprof_utf8(x->w, utf8_name_id(t, (uint32_t)i), t->interned[i]);
	return rc;
}

static int write_class_dump(struct writer *x, size_t k)
{
	const struct hd_class *cls = class_of(x, k);
	const struct hd_classes *t = x->in->classes;
	uint64_t len = 1 + 8 + 4 + 8 * 6 + 4 + 2 + 2 + 2 + cls->nown * 9ull;
	hd_hprof *w = x->w;
	uint64_t super = cls->super >= 0 ? hd_class_id(t->v[cls->super].hub) : 0;
	uint32_t isize = cls->kind == HD_KIND_INSTANCE || cls->kind == HD_KIND_HYBRID ? cls->fixed_size : 0;
	if (hprof_sub_begin(w, len) || hprof_u1(w, HPROF_CLASS_DUMP) ||
	    hprof_id(w, hd_class_id(cls->hub)) || hprof_u4(w, DUMMY_TRACE) || hprof_id(w, super) ||
	    hprof_id(w, 0) || hprof_id(w, 0) || hprof_id(w, 0) || hprof_id(w, 0) || hprof_id(w, 0) ||
	    hprof_u4(w, isize) || hprof_u2(w, 0) || hprof_u2(w, 0) || hprof_u2(w, (uint16_t)cls->nown))
		return -1;
	for (size_t i = 0; i < cls->nown; i++)
		if (hprof_id(w, utf8_name_id(t, cls->own[i].name)) || hprof_u1(w, cls->own[i].type))
			return -1;
	return hprof_sub_end(w);
}

static int write_root(hd_hprof *w, const struct hd_root *r)
{
	switch (r->kind) {
	case HPROF_ROOT_JNI_GLOBAL:
		return hprof_sub_begin(w, 17) || hprof_u1(w, r->kind) || hprof_id(w, r->id) ||
		       hprof_id(w, r->id) || hprof_sub_end(w);
	case HPROF_ROOT_JNI_LOCAL:
	case HPROF_ROOT_JAVA_FRAME:
		return hprof_sub_begin(w, 17) || hprof_u1(w, r->kind) || hprof_id(w, r->id) ||
		       hprof_u4(w, r->thread_serial) || hprof_u4(w, 0xffffffffu) || hprof_sub_end(w);
	case HPROF_ROOT_THREAD_OBJ:
		return hprof_sub_begin(w, 17) || hprof_u1(w, r->kind) || hprof_id(w, r->id) ||
		       hprof_u4(w, r->thread_serial) || hprof_u4(w, r->trace_serial) ||
		       hprof_sub_end(w);
	default:
		return hprof_sub_begin(w, 9) || hprof_u1(w, r->kind) || hprof_id(w, r->id) ||
		       hprof_sub_end(w);
	}
}

static uint8_t *put_be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = n; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
	return p + n;
}

/* The INSTANCE DUMP's values, big-endian, into OUT: the class's own fields,
 * then each superclass's, as the viewers read them. */
static void encode_values(struct writer *x, const struct hd_object *o, const struct hd_class *cls,
			  uint8_t *out)
{
	const struct hd_layout *L = x->in->L;
	for (const struct hd_class *k = cls; k; k = k->super >= 0 ? class_of(x, (size_t)k->super) : NULL) {
		for (size_t i = 0; i < k->nown; i++) {
			const struct hd_field *f = &k->own[i];
			const uint8_t *p = o->data + f->offset;
			if (f->type == HD_T_OBJECT) {
				out = put_be(out, checked_ref(x, o->addr, lay_ref(L, p)), HPROF_ID_SIZE);
				continue;
			}
			unsigned n = hd_type_size(f->type);
			for (unsigned b = 0; b < n; b++)
				out[b] = p[n - 1 - b];
			out += n;
		}
	}
}

/* Element bytes [FROM, FROM+LEN) of a large object, read in pieces. */
static int stream_elements(struct writer *x, const struct hd_object *o, uint64_t off,
			   uint64_t len, unsigned elem, bool refs)
{
	const struct hd_layout *L = x->in->L;
	const size_t piece = 1u << 20;
	while (len) {
		size_t n = len < piece ? (size_t)len : piece;
		const uint8_t *p;
		if (o->data) {
			p = o->data + off;
		} else {
			if (mv_read(x->in->mv, o->addr + off, x->io, n) != 0)
				return -1;
			p = x->io;
		}
		if (refs) {
			uint8_t *q = x->rec;
			for (size_t i = 0; i < n; i += L->ref_size) {
				q = put_be(q, checked_ref(x, o->addr, lay_ref(L, p + i)), HPROF_ID_SIZE);
				if (q - x->rec >= REC_FLUSH) {
					if (hprof_bytes(x->w, x->rec, (size_t)(q - x->rec)))
						return -1;
					q = x->rec;
				}
			}
			if (hprof_bytes(x->w, x->rec, (size_t)(q - x->rec)))
				return -1;
		} else if (hprof_swapped(x->w, p, n, elem) != 0) {
			return -1;
		}
		off += n;
		len -= n;
	}
	return 0;
}

static int write_object(void *ctx, const struct hd_object *o)
{
	struct writer *x = ctx;
	const struct hd_class *cls = o->hubinfo.cls;
	if (cls->is_filler)
		return 0;
	const struct hd_layout *L = x->in->L;
	hd_hprof *w = x->w;
	if (x->walker->in_image_heap) {
		struct hd_root r = {.kind = HPROF_ROOT_JNI_GLOBAL, .id = o->addr};
		if (write_root(w, &r) != 0)
			return -1;
	}
	size_t k = (size_t)(cls - x->in->classes->v);
	if (cls->kind == HD_KIND_INSTANCE || cls->kind == HD_KIND_HYBRID) {
		if (!o->data)
			return hd_fail(HD_E_LAYOUT, "instance at 0x%" PRIx64 " is too large", o->addr);
		/* Built whole, then handed over in one piece: the hot path. */
		uint32_t nb = x->inst_bytes[k];
		uint8_t *p = x->rec;
		*p++ = HPROF_INSTANCE_DUMP;
		p = put_be(p, o->addr, HPROF_ID_SIZE);
		p = put_be(p, DUMMY_TRACE, 4);
		p = put_be(p, hd_class_id(cls->hub), HPROF_ID_SIZE);
		p = put_be(p, nb, 4);
		encode_values(x, o, cls, p);
		size_t len = (size_t)(p - x->rec) + nb;
		if (hprof_sub_begin(w, len) || hprof_bytes(w, x->rec, len))
			return -1;
		return hprof_sub_end(w);
	}
	int32_t enc = cls->enc;
	bool refs = cls->kind == HD_KIND_OBJ_ARRAY;
	unsigned elem = 1u << le_shift(enc);
	unsigned out_elem = refs ? HPROF_ID_SIZE : elem;
	uint64_t head = refs ? 1 + 8 + 4 + 4 + 8 : 1 + 8 + 4 + 4 + 1;
	uint64_t n = o->length;
	/* A record's length is a u4: keep what fits (SVM's own dumper does too). */
	if (head + n * out_elem > HPROF_MAX_SUBRECORD)
		n = (HPROF_MAX_SUBRECORD - head) / out_elem;
	if (hprof_sub_begin(w, head + n * out_elem) ||
	    hprof_u1(w, refs ? HPROF_OBJ_ARRAY_DUMP : HPROF_PRIM_ARRAY_DUMP) ||
	    hprof_id(w, o->addr) || hprof_u4(w, DUMMY_TRACE) || hprof_u4(w, (uint32_t)n))
		return -1;
	if (refs ? hprof_id(w, hd_class_id(cls->hub)) : hprof_u1(w, cls->elem_type))
		return -1;
	if (stream_elements(x, o, le_base(enc), n * elem, elem, refs) != 0)
		return -1;
	(void)L;
	return hprof_sub_end(w);
}

static int write_chunk(void *ctx, const struct hd_chunk *ch)
{
	struct writer *x = ctx;
	x->walker->in_image_heap = ch->image;
	return hw_walk_range(x->walker, ch->first, ch->top, ch->gaps, ch->ngaps, write_object, x);
}

int heap_write_hprof(const struct hd_dump_input *in, const struct hd_census *c, hd_hprof *w)
{
	const struct hd_classes *t = in->classes;
	struct writer x = {.in = in, .c = c, .w = w};
	struct hd_walker walker;
	int rc = -1;
	x.inst_bytes = calloc(t->n ? t->n : 1, sizeof *x.inst_bytes);
	x.io = malloc(1u << 20);
	size_t max_rec = REC_FLUSH + 64;
	for (size_t k = 0; x.inst_bytes && k < t->n; k++) {
		for (size_t i = 0; i < t->v[k].nfields; i++)
			x.inst_bytes[k] += value_size(t->v[k].fields[i].type);
		if (x.inst_bytes[k] + 64u > max_rec)
			max_rec = x.inst_bytes[k] + 64u;
	}
	x.rec = malloc(max_rec);
	if (!x.inst_bytes || !x.io || !x.rec) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		goto out_free;
	}
	/* Every top-level record comes before the first heap-dump segment:
	 * viewers misread records between segments. */
	if (write_class_names(&x) != 0 || each_missing_viewer_class(&x, viewer_class_name) != 0 ||
	    hprof_trace(w, DUMMY_TRACE, 0, NULL, 0) != 0)
		goto out_free;
	/* One (empty) stack trace per thread, for its thread root. */
	for (uint32_t i = 0; i < in->nthreads; i++)
		if (hprof_trace(w, DUMMY_TRACE + 1 + i, i + 1, NULL, 0) != 0)
			goto out_free;
	for (size_t k = 0; k < t->n; k++)
		if (write_class_dump(&x, k) != 0)
			goto out_free;
	if (each_missing_viewer_class(&x, viewer_class_dump) != 0)
		goto out_free;
	for (size_t k = 0; k < t->n; k++) {
		struct hd_root r = {.kind = HPROF_ROOT_STICKY_CLASS, .id = hd_class_id(t->v[k].hub)};
		if (write_root(w, &r) != 0)
			goto out_free;
	}
	struct hd_root *roots = NULL;
	size_t nroots = 0;
	if (in->roots && in->roots(in->roots_ctx, c, &roots, &nroots) != 0)
		goto out_free;
	for (size_t i = 0; i < nroots; i++)
		if (write_root(w, &roots[i]) != 0) {
			free(roots);
			goto out_free;
		}
	free(roots);
	if (hw_init(&walker, in->L, in->mv, classes_lookup, (void *)t) != 0)
		goto out_free;
	x.walker = &walker;
	rc = in->chunks(in->chunks_ctx, &walker, write_chunk, &x);
	hw_fini(&walker);
	if (rc == 0 && x.dangling)
		rc = hd_fail(HD_E_INCONSISTENT,
			     "%" PRIu64 " references do not land on an object start (first: "
			     "0x%" PRIx64 " in object 0x%" PRIx64 ")",
			     x.dangling, x.first_dangling_to, x.first_dangling_from);
	if (rc == 0)
		rc = hprof_finish(w);
out_free:
	free(x.inst_bytes);
	free(x.io);
	free(x.rec);
	return rc;
}
