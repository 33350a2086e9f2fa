#include "heapwrite.h"

#include "../common/grow.h"
#include "../common/hd_error.h"
#include "../common/interrupt.h"
#include "../symbols/statics.h"
#include "workpool.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DUMMY_TRACE 1u

/* References that land on no object start, and the first of them; and
 * those of a partial dump, written as null instead (MISSING). */
struct dangling {
	uint64_t n, from, to;
	uint64_t missing;
};

static void dangling_add(struct dangling *d, const struct dangling *more)
{
	uint64_t missing = d->missing + more->missing;
	if (!d->n)
		*d = *more;
	else
		d->n += more->n;
	d->missing = missing;
}

/* One value of an INSTANCE DUMP: where it lies in the object, and how it
 * is copied (a reference, or a primitive of KIND bytes turned big-endian). */
struct field_op {
	uint32_t offset;
	uint8_t kind;
};
/* A reference, as an 8-byte or a 4-byte id: the id size is chosen once per
 * dump, so each field's copy still has one path. */
#define OP_REF8 0
#define OP_REF4 3

struct writer {
	const struct hd_dump_input *in;
	struct hd_census *c;
	const struct hprof_ids *ids;
	unsigned id_size;       /* IDS's */
	const uint64_t *class_ids; /* per class, its id: hd_class_id(hub)'s */
	hd_hprof *w;
	struct hd_walker *walker;
	const uint32_t *inst_bytes; /* per class: bytes of an INSTANCE DUMP's values */
	/* Per class K, its values' copy program: OPS[OP_START[K]..OP_START[K+1]),
	 * its own fields, then each superclass's, as the viewers read them. */
	const struct field_op *ops;
	const size_t *op_start;
	struct dangling dangling;
	uint8_t *io;            /* staging for arrays too large to buffer */
	uint8_t *rec;           /* one record being built */
	uint8_t *static_refs;   /* the statics arrays as the dump reads them, */
	uint8_t *static_prims;  /* from their start to their last element's end */
	/* One pass: the census of the chunk being written, when it owns its
	 * region (counts.bits). */
	struct census_counts counts;
};

/* Object-array ids are encoded into the record buffer this many bytes at a time. */
#define REC_FLUSH (64u << 10)

static const struct hd_class *class_of(const struct writer *x, size_t k)
{
	return &x->in->classes->v[k];
}

static unsigned value_size(unsigned id_size, uint8_t type)
{
	return type == HD_T_OBJECT ? id_size : hd_type_size(type);
}

/* A reference R that lands on no object start: counted (the dump fails),
 * or written as null in a partial dump.  Out of line: the hot path is the
 * test in checked_ref. */
static __attribute__((noinline, cold)) uint64_t dangling_ref(struct writer *x, uint64_t from,
							     uint64_t r)
{
	if (x->in->missing_refs) {
		x->dangling.missing++;
		return 0;
	}
	dangling_add(&x->dangling, &(struct dangling){1, from, r, 0});
	return r;
}

static inline uint64_t checked_ref(struct writer *x, uint64_t from, uint64_t r)
{
	if (r && !objindex_check(&x->c->starts, r))
		return dangling_ref(x, from, r);
	return r;
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

/* The HPROF ids of the UTF8 records, the only place they are handed out:
 * one range per kind of name, in this order, so that no two names share an
 * id (a viewer keeps one text per id). */
enum name_kind {
	NAME_CLASS,  /* t->n class names */
	NAME_FIELD,  /* t->names.n instance field names */
	NAME_VIEWER, /* N_VIEWER_CLASSES names of classes the image lacks */
	NAME_STATIC, /* the statics' nnames names */
	NAME_TRACE,  /* the STACK FRAME strings, last: as many as there are */
};

static uint64_t name_id(const struct hd_dump_input *in, enum name_kind kind, uint64_t index)
{
	const struct hd_statics *s = in->statics;
	const uint64_t count[] = {
		[NAME_CLASS] = in->classes->n,
		[NAME_FIELD] = in->classes->names.n,
		[NAME_VIEWER] = N_VIEWER_CLASSES,
		[NAME_STATIC] = s ? s->nnames : 0,
	};
	uint64_t base = 1;
	for (unsigned k = 0; k < kind; k++)
		base += count[k];
	return base + index;
}

/* The id of a name, as the file holds it. */
static uint64_t name_ref(const struct writer *x, enum name_kind kind, uint64_t index)
{
	return hprof_ids_synthetic(x->ids, name_id(x->in, kind, index));
}

/* The id ID (a file's, of X's size) at P. */
static inline uint8_t *put_id(const struct writer *x, uint8_t *p, uint64_t id)
{
	return hprof_put_id(p, x->id_size, id);
}

/* The id of the object at V. */
static inline uint64_t object_id(const struct writer *x, uint64_t v)
{
	return x->id_size == 4 ? hprof_ids_object4(x->ids, v) : v * HPROF_ID_MULTIPLIER;
}

/* The id ID as the next bytes of the open sub-record. */
static int write_id(struct writer *x, uint64_t id)
{
	uint8_t b[8];
	return hprof_bytes(x->w, b, (size_t)(put_id(x, b, id) - b));
}

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
	uint64_t id = hprof_ids_synthetic(x->ids, name_id(x->in, NAME_VIEWER, i));
	(void)super_hub;
	if (hprof_utf8(x->w, id, name) != 0)
		return -1;
	return hprof_load_class(x->w, (uint32_t)(t->n + 1 + i),
				hprof_ids_synthetic(x->ids, viewer_class_id(i)), DUMMY_TRACE, id);
}

static int viewer_class_dump(struct writer *x, size_t i, uint64_t super_hub)
{
	hd_hprof *w = x->w;
	if (hprof_sub_begin(w, 1 + 7 * x->id_size + 4 + 4 + 6) || hprof_u1(w, HPROF_CLASS_DUMP) ||
	    write_id(x, hprof_ids_synthetic(x->ids, viewer_class_id(i))) ||
	    hprof_u4(w, DUMMY_TRACE) || write_id(x, hprof_ids_addr(x->ids, hd_class_id(super_hub))) ||
	    write_id(x, 0) || write_id(x, 0) || write_id(x, 0) || write_id(x, 0) || write_id(x, 0) ||
	    hprof_u4(w, 0) || hprof_u2(w, 0) || hprof_u2(w, 0) || hprof_u2(w, 0))
		return -1;
	return hprof_sub_end(w);
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
		uint64_t id = name_ref(x, NAME_CLASS, k);
		rc = hprof_utf8(x->w, id, buf);
		if (rc == 0)
			rc = hprof_load_class(x->w, (uint32_t)(k + 1), x->class_ids[k], DUMMY_TRACE, id);
	}
	free(buf);
	for (size_t i = 0; i < t->names.n && rc == 0; i++)
		rc = hprof_utf8(x->w, name_ref(x, NAME_FIELD, i), t->names.v[i]);
	const struct hd_statics *s = x->in->statics;
	for (size_t i = 0; s && i < s->nnames && rc == 0; i++)
		rc = hprof_utf8(x->w, name_ref(x, NAME_STATIC, i), s->names[i]);
	return rc;
}

/* The statics of class K, at most as many as a CLASS DUMP can count. */
static const struct hd_static *statics_of_class(const struct writer *x, size_t k, size_t *n)
{
	const struct hd_static *v = statics_of(x->in->statics, k, n);
	if (*n > UINT16_MAX)
		*n = UINT16_MAX;
	return v;
}

/* Reads one statics array whole, as it is now: a process's are its own. */
static int read_statics_array(struct writer *x, const struct hd_statics_array *a, uint8_t **out)
{
	if (!a->addr)
		return 0;
	if (!(*out = malloc(a->end)))
		return hd_fail(HD_E_INTERNAL, "out of memory");
	return mv_read(x->in->mv, a->addr, *out, a->end);
}

/* Its value, as the record holds it: an id, or the bytes big-endian. */
static int write_static_value(struct writer *x, const struct hd_static *f)
{
	const struct hd_statics *s = x->in->statics;
	if (f->type == HD_T_OBJECT)
		return write_id(x, hprof_ids_addr(x->ids, checked_ref(x, s->objects.addr,
						  lay_ref(x->in->L, x->static_refs + f->offset))));
	uint8_t be[8];
	unsigned n = hd_type_size(f->type);
	for (unsigned b = 0; b < n; b++)
		be[b] = x->static_prims[f->offset + n - 1 - b];
	return hprof_bytes(x->w, be, n);
}

static int write_class_dump(struct writer *x, size_t k)
{
	const struct hd_class *cls = class_of(x, k);
	size_t nstatics;
	const struct hd_static *statics = statics_of_class(x, k, &nstatics);
	unsigned id = x->id_size;
	uint64_t len = 1 + 7 * id + 4 + 4 + 2 + 2 + 2 + cls->nown * (id + 1ull);
	for (size_t i = 0; i < nstatics; i++)
		len += id + 1 + value_size(id, statics[i].type);
	hd_hprof *w = x->w;
	uint64_t super = cls->super >= 0 ? x->class_ids[cls->super] : 0;
	uint32_t isize = cls->kind == HD_KIND_INSTANCE || cls->kind == HD_KIND_HYBRID ? cls->fixed_size : 0;
	if (hprof_sub_begin(w, len) || hprof_u1(w, HPROF_CLASS_DUMP) ||
	    write_id(x, x->class_ids[k]) || hprof_u4(w, DUMMY_TRACE) || write_id(x, super) ||
	    write_id(x, 0) || write_id(x, 0) || write_id(x, 0) || write_id(x, 0) || write_id(x, 0) ||
	    hprof_u4(w, isize) || hprof_u2(w, 0) || hprof_u2(w, (uint16_t)nstatics))
		return -1;
	for (size_t i = 0; i < nstatics; i++)
		if (write_id(x, name_ref(x, NAME_STATIC, statics[i].name)) ||
		    hprof_u1(w, hprof_type_of(statics[i].type)) ||
		    write_static_value(x, &statics[i]) != 0)
			return -1;
	if (hprof_u2(w, (uint16_t)cls->nown))
		return -1;
	for (size_t i = 0; i < cls->nown; i++) {
		uint8_t type = hprof_type_of(cls->own[i].type);
		if (!type)
			return hd_fail(HD_E_INTERNAL, "%s: field of type %u", cls->name,
				       cls->own[i].type);
		if (write_id(x, name_ref(x, NAME_FIELD, cls->own[i].name)) || hprof_u1(w, type))
			return -1;
	}
	return hprof_sub_end(w);
}

/* The root R: its id an object's, or hd_class_id's. */
static int write_root(struct writer *x, const struct hd_root *r)
{
	hd_hprof *w = x->w;
	uint64_t id = hprof_ids_addr(x->ids, r->id);
	uint32_t thread = r->thread_serial;
	uint32_t second; /* the u4 or id after the object's id */
	switch (r->kind) {
	case HPROF_ROOT_JNI_GLOBAL:
		/* its second id, the JNI global ref, is the object's */
		if (hprof_sub_begin(w, 1 + 2 * x->id_size) || hprof_u1(w, r->kind) ||
		    write_id(x, id) || write_id(x, id))
			return -1;
		return hprof_sub_end(w);
	case HPROF_ROOT_JNI_LOCAL:
		second = 0xffffffffu; /* no frame */
		break;
	case HPROF_ROOT_JAVA_FRAME:
		second = r->frame ? r->frame - 1 : 0xffffffffu;
		break;
	case HPROF_ROOT_THREAD_OBJ:
		second = r->trace_serial;
		break;
	default:
		if (hprof_sub_begin(w, 1 + x->id_size) || hprof_u1(w, r->kind) || write_id(x, id))
			return -1;
		return hprof_sub_end(w);
	}
	if (hprof_sub_begin(w, 1 + x->id_size + 8) || hprof_u1(w, r->kind) || write_id(x, id) ||
	    hprof_u4(w, thread) || hprof_u4(w, second))
		return -1;
	return hprof_sub_end(w);
}

/* The ids of N references of the object FROM, ELEM bytes apart from P, each
 * checked, at OUT; returns their end.  A loop per id size: the size is the
 * dump's, the loop every array's. */
static uint8_t *put_refs(struct writer *x, uint64_t from, const uint8_t *p, uint64_t n,
			 unsigned elem, uint8_t *out)
{
	const struct hd_layout *L = x->in->L;
	/* A copy the id stores cannot alias: the table's fields stay in
	 * registers. */
	const struct hprof_ids ids = *x->ids;
	if (x->id_size == 4)
		for (uint64_t i = 0; i < n; i++)
			out = hprof_put_u4(out, hprof_ids_object4(&ids,
							    checked_ref(x, from, lay_ref(L, p + i * elem))));
	else
		for (uint64_t i = 0; i < n; i++)
			out = hprof_put_u8(out, checked_ref(x, from, lay_ref(L, p + i * elem)) *
						  HPROF_ID_MULTIPLIER);
	return out;
}

/* The copy programs of every class with instances, for ids of ID_SIZE
 * bytes; the caller frees *OPS and *START. */
static int build_copy_programs(const struct hd_classes *t, unsigned id_size, struct field_op **ops,
			       size_t **start)
{
	size_t n = 0;
	*ops = NULL;
	*start = calloc(t->n + 1, sizeof **start);
	if (!*start)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t pass = 0; pass < 2; pass++) {
		n = 0;
		for (size_t k = 0; k < t->n; k++) {
			(*start)[k] = n;
			const struct hd_class *cls = &t->v[k];
			if (cls->kind != HD_KIND_INSTANCE && cls->kind != HD_KIND_HYBRID)
				continue;
			for (const struct hd_class *c = cls; c;
			     c = c->super >= 0 ? &t->v[c->super] : NULL)
				for (size_t i = 0; i < c->nown; i++, n++)
					if (pass)
						(*ops)[n] = (struct field_op){
							c->own[i].offset,
							c->own[i].type == HD_T_OBJECT
								? (id_size == 4 ? OP_REF4 : OP_REF8)
								: (uint8_t)hd_type_size(c->own[i].type)};
		}
		(*start)[t->n] = n;
		if (!pass && !(*ops = malloc((n ? n : 1) * sizeof **ops)))
			return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	return 0;
}

/* The INSTANCE DUMP's values of O, of class K, big-endian, into OUT.
 * Inline, as write_object: every instance runs it. */
static inline __attribute__((always_inline)) void encode_values(struct writer *x,
								const struct hd_object *o,
								size_t k, uint8_t *out)
{
	const struct hd_layout *L = x->in->L;
	const struct hprof_ids ids = *x->ids; /* as in put_refs */
	const struct field_op *op = x->ops + x->op_start[k], *end = x->ops + x->op_start[k + 1];
	for (; op < end; op++) {
		const uint8_t *p = o->data + op->offset;
		switch (op->kind) {
		case OP_REF8:
			out = hprof_put_u8(out, checked_ref(x, o->addr, lay_ref(L, p)) * HPROF_ID_MULTIPLIER);
			break;
		case OP_REF4:
			out = hprof_put_u4(out, hprof_ids_object4(&ids, checked_ref(x, o->addr, lay_ref(L, p))));
			break;
		case 1:
			*out++ = *p;
			break;
		case 2:
			out[0] = p[1];
			out[1] = p[0];
			out += 2;
			break;
		case 4:
			out = hprof_put_u4(out, ld_u32(p));
			break;
		default:
			out = hprof_put_u8(out, ld_u64(p));
			break;
		}
	}
}

/* The elements of an array held whole, big-endian, into OUT. */
static void encode_elements(struct writer *x, const struct hd_object *o, const uint8_t *p,
			    uint64_t n, unsigned elem, bool refs, uint8_t *out)
{
	if (refs) {
		put_refs(x, o->addr, p, n, elem, out);
		return;
	}
	switch (elem) {
	case 1:
		memcpy(out, p, n);
		break;
	case 2:
		for (uint64_t i = 0; i < n; i++, p += 2, out += 2) {
			out[0] = p[1];
			out[1] = p[0];
		}
		break;
	case 4:
		for (uint64_t i = 0; i < n; i++, p += 4)
			out = hprof_put_u4(out, ld_u32(p));
		break;
	default:
		for (uint64_t i = 0; i < n; i++, p += 8)
			out = hprof_put_u8(out, ld_u64(p));
		break;
	}
}

/* Element bytes [OFF, OFF+LEN) of an array, read in pieces when the walk
 * did not hold the whole object. */
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
			if (mv_read(x->walker->mv, o->addr + off, x->io, n) != 0)
				return -1;
			p = x->io;
		}
		if (refs) {
			/* REC_FLUSH bytes of ids at a time */
			uint64_t nrefs = n / L->ref_size, batch = REC_FLUSH / x->id_size;
			for (uint64_t i = 0; i < nrefs; i += batch) {
				uint64_t m = nrefs - i < batch ? nrefs - i : batch;
				uint8_t *q = put_refs(x, o->addr, p + i * L->ref_size, m, L->ref_size,
						      x->rec);
				if (hprof_bytes(x->w, x->rec, (size_t)(q - x->rec)))
					return -1;
			}
		} else if (hprof_swapped(x->w, p, n, elem) != 0) {
			return -1;
		}
		off += n;
		len -= n;
	}
	return 0;
}

/* An object of the image heap is a root: a JNI global one, whose second
 * id, the JNI global ref, is the object's, ID. */
static int write_image_root(struct writer *x, uint64_t id)
{
	if (!x->walker->in_image_heap)
		return 0;
	uint8_t *r = hprof_sub_reserve(x->w, 1 + 2 * x->id_size);
	if (!r)
		return -1;
	*r = HPROF_ROOT_JNI_GLOBAL;
	put_id(x, put_id(x, r + 1, id), id);
	return 0;
}

/* An array's record: HEAD bytes, then N elements of ELEM bytes in the heap
 * and OUT_ELEM in the file. */
struct array_shape {
	bool refs;
	uint8_t elem_type;      /* a primitive array's */
	unsigned elem, out_elem;
	uint64_t head, n;
};

/* Inline: every array written asks it. */
static inline __attribute__((always_inline)) int array_shape(const struct hd_class *cls,
							     uint32_t length, unsigned id_size,
							     struct array_shape *a)
{
	a->refs = cls->kind == HD_KIND_OBJ_ARRAY;
	a->elem = 1u << le_shift(cls->enc);
	a->out_elem = a->refs ? id_size : a->elem;
	a->head = a->refs ? 1 + id_size + 4 + 4 + id_size : 1 + id_size + 4 + 4 + 1;
	/* The elements lie inside the object: its size was computed from this
	 * length and element size, and object arrays have reference-sized
	 * elements (classes_build refuses others).  A record's length is a u4: keep
	 * what fits (SVM's own dumper does too). */
	a->n = length;
	if (a->head + a->n * a->out_elem > HPROF_MAX_SUBRECORD)
		a->n = (HPROF_MAX_SUBRECORD - a->head) / a->out_elem;
	a->elem_type = hprof_type_of(cls->elem_type);
	if (!a->refs && !a->elem_type)
		return hd_fail(HD_E_INTERNAL, "%s: elements of type %u", cls->name, cls->elem_type);
	return 0;
}

/* The A->head bytes that begin the record of an array of class K, shape
 * A, whose id is ID, at P; returns their end. */
static inline uint8_t *put_array_head(const struct writer *x, uint8_t *p, uint64_t id, size_t k,
				      const struct array_shape *a)
{
	*p++ = a->refs ? HPROF_OBJ_ARRAY_DUMP : HPROF_PRIM_ARRAY_DUMP;
	p = put_id(x, p, id);
	p = hprof_put_u4(p, DUMMY_TRACE);
	p = hprof_put_u4(p, (uint32_t)a->n);
	if (a->refs)
		return put_id(x, p, x->class_ids[k]);
	*p++ = a->elem_type;
	return p;
}

/* Begins the record of the array O, of shape A, whose elements follow. */
static int begin_array(struct writer *x, const struct hd_object *o, const struct array_shape *a)
{
	uint8_t head[1 + 8 + 4 + 4 + 8];
	const struct hd_class *cls = o->hubinfo.cls;
	size_t k = (size_t)(cls - x->in->classes->v);
	uint8_t *end = put_array_head(x, head, object_id(x, o->addr), k, a);
	if (hprof_sub_begin(x->w, a->head + a->n * a->out_elem))
		return -1;
	return hprof_bytes(x->w, head, (size_t)(end - head));
}

/* Inline: the chunks' walk loop calls it for every object (a big chunk's
 * objects call it through a pointer). */
static inline __attribute__((always_inline)) int write_object(void *ctx,
							      const struct hd_object *o)
{
	struct writer *x = ctx;
	const struct hd_class *cls = o->hubinfo.cls;
	if (x->counts.bits) {
		if (!census_count(&x->counts, o))
			return 0;
		if (census_start(&x->counts, o->addr) != 0)
			return -1;
	} else if (cls->is_filler) {
		return 0;
	}
	hd_hprof *w = x->w;
	uint64_t id = object_id(x, o->addr);
	if (write_image_root(x, id) != 0)
		return -1;
	size_t k = (size_t)(cls - x->in->classes->v);
	if (cls->kind == HD_KIND_INSTANCE || cls->kind == HD_KIND_HYBRID) {
		if (!o->data)
			return hd_fail(hw_contradiction(x->walker), /* a hybrid's length may be torn */
				       "instance at 0x%" PRIx64 " is too large", o->addr);
		/* The hot path: built in place in the output (or built whole, then
		 * handed over in one piece, when too large). */
		uint32_t nb = x->inst_bytes[k];
		size_t len = 1 + 2 * x->id_size + 4 + 4 + (size_t)nb;
		bool in_place = len <= HPROF_RESERVE_MAX;
		uint8_t *rec = in_place ? hprof_sub_reserve(w, len) : x->rec;
		if (!rec)
			return -1;
		uint8_t *p = rec;
		*p++ = HPROF_INSTANCE_DUMP;
		p = put_id(x, p, id);
		p = hprof_put_u4(p, DUMMY_TRACE);
		p = put_id(x, p, x->class_ids[k]);
		p = hprof_put_u4(p, nb);
		encode_values(x, o, k, p);
		if (in_place)
			return 0;
		if (hprof_sub_begin(w, len) || hprof_bytes(w, x->rec, len))
			return -1;
		return hprof_sub_end(w);
	}
	struct array_shape a;
	if (array_shape(cls, o->length, x->id_size, &a) != 0)
		return -1;
	uint64_t len = a.head + a.n * a.out_elem;
	if (o->data && len <= HPROF_RESERVE_MAX) {
		/* A small array, held whole: built in place. */
		uint8_t *p = hprof_sub_reserve(w, (size_t)len);
		if (!p)
			return -1;
		p = put_array_head(x, p, id, k, &a);
		encode_elements(x, o, o->data + le_base(cls->enc), a.n, a.elem, a.refs, p);
		return 0;
	}
	if (begin_array(x, o, &a) != 0 ||
	    stream_elements(x, o, le_base(cls->enc), a.n * a.elem, a.elem, a.refs) != 0)
		return -1;
	return hprof_sub_end(w);
}

/* ---- The objects, on several threads -------------------------------------
 *
 * Each job of the pool (workpool.h) writes its objects to the records
 * writer of the job's slot, and the slots are repacked into the file's
 * segments in job order, so the bytes do not depend on the number of
 * threads or on which finished first.  A job is a chunk; or, in a chunk
 * larger than the layout's aligned chunk (an unaligned chunk: one large
 * array), an object, or a part of a large array's elements, whose record
 * is repacked from one slot after another.  Each job's records start a
 * segment, and the segment is closed after them (unless a record goes on
 * in the next job): so a slot's records fill segments alone, which go to
 * the file from the slot's memory, without a copy. */
#define SLOTS_PER_WORKER 2

/* A slot's records writer keeps the room its largest job needed, and an
 * array's records can take twice its bytes (8-byte ids for 4-byte
 * references): with chunks of up to 8 MiB the slots held 28 MiB between
 * them at 256 MB of heap.  So a chunk larger than an aligned chunk of the
 * layout (512 KiB or 1 MiB for pkl) is cut into jobs that write no more
 * than an aligned chunk's bytes each, whatever size the release chose. */
static bool is_big(const struct hd_layout *L, const struct hd_chunk *ch)
{
	return ch->top - ch->first > L->chunk_size;
}

/* The file bytes of a part's elements: half an aligned chunk's (a slot
 * then holds no more than an aligned chunk's records need: those of small
 * objects take more bytes than the objects), less room for the record's
 * head and root. */
static uint64_t part_bytes(const struct hd_layout *L)
{
	return L->chunk_size > (8u << 10) ? L->chunk_size / 2 - 64 : 4u << 10;
}

enum job_kind {
	JOB_CHUNK,   /* a chunk that is not big */
	JOB_OBJECT,  /* an object of a big chunk, with few elements if any */
	JOB_PART,    /* element bytes [FROM, TO) of a big chunk's array */
};

struct job {
	enum job_kind kind;
	size_t chunk;
	uint64_t addr, size;          /* the object's, as the plan decoded it */
	const struct hd_class *cls;
	uint32_t length;
	uint64_t from, to;
	bool open;                    /* a part before the last: its record goes on */
};

/* Each thread's own: lines of its own (hd_calloc_lines). */
struct worker {
	_Alignas(HD_LINE) struct writer x; /* x.w: the records writer of its job's slot */
	struct hd_walker walker;
	hd_memview *mv;              /* its own view (NULL: the caller's) */
};

struct slot {
	hd_hprof *records;
	struct dangling dangling;
};

struct objects {
	struct hd_census *census;
	const struct hd_chunklist *chunks;
	struct job *jobs;            /* the chunks that are not big, then the big ones' */
	size_t njobs, jobs_cap;
	struct worker *workers;
	unsigned nworkers;
	struct slot *slots;
	size_t nslots;
	hd_hprof *out;
	struct dangling dangling;    /* of the committed jobs, in chunk order */
};

static int add_job(struct objects *o, const struct job *j)
{
	if (o->njobs == o->jobs_cap &&
	    hd_grow(&o->jobs, &o->jobs_cap, o->njobs, sizeof *o->jobs, 64) != 0)
		return -1;
	o->jobs[o->njobs++] = *j;
	return 0;
}

struct plan {
	struct objects *o;
	size_t chunk;
	uint64_t part;               /* part_bytes */
	unsigned id_size;
};

/* The jobs of an object of a big chunk: its parts when its elements are
 * more than a part's bytes, else the object. */
static int plan_object(void *ctx, const struct hd_object *obj)
{
	struct plan *p = ctx;
	const struct hd_class *cls = obj->hubinfo.cls;
	if (cls->is_filler)
		return 0;
	struct job j = {.kind = JOB_OBJECT, .chunk = p->chunk, .addr = obj->addr,
			.size = obj->size, .cls = cls, .length = obj->length};
	struct array_shape a;
	if (cls->kind != HD_KIND_OBJ_ARRAY && cls->kind != HD_KIND_PRIM_ARRAY)
		return add_job(p->o, &j);
	if (array_shape(cls, obj->length, p->id_size, &a) != 0)
		return -1;
	if (a.n * a.out_elem <= p->part)
		return add_job(p->o, &j);
	uint64_t bytes = a.n * a.elem, step = p->part / a.out_elem * a.elem;
	j.kind = JOB_PART;
	for (j.from = 0; j.from < bytes; j.from = j.to) {
		j.to = bytes - j.from > step ? j.from + step : bytes;
		j.open = j.to < bytes;
		if (add_job(p->o, &j) != 0)
			return -1;
	}
	return 0;
}

/* The jobs: each chunk that is not big, then the objects and parts of the
 * big ones, walked here by W (their headers alone: each holds large
 * objects, read later by the jobs). */
static int plan_jobs(struct objects *o, struct hd_walker *w)
{
	const struct hd_layout *L = w->layout;
	for (size_t i = 0; i < o->chunks->n; i++)
		if (!is_big(L, &o->chunks->v[i]) &&
		    add_job(o, &(struct job){.kind = JOB_CHUNK, .chunk = i}) != 0)
			return -1;
	for (size_t i = 0; i < o->chunks->n; i++) {
		const struct hd_chunk *ch = &o->chunks->v[i];
		if (!is_big(L, ch))
			continue;
		if (hd_interrupted())
			return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d",
				       hd_interrupted_signal());
		struct plan p = {.o = o, .chunk = i, .part = part_bytes(L),
				 .id_size = o->workers[0].x.id_size};
		w->in_image_heap = ch->image;
		if (hw_walk_range(w, ch->first, ch->top, ch->gaps, ch->ngaps, plan_object, &p) != 0)
			return -1;
	}
	return 0;
}

/* Element bytes [J->FROM, J->TO) of a big array, and its record's head
 * before the first: the record stays open in X->w until the last. */
static int write_part(struct writer *x, const struct job *j)
{
	const struct hd_object o = {.addr = j->addr, .length = j->length, .hubinfo.cls = j->cls};
	struct array_shape a;
	if (array_shape(j->cls, j->length, x->id_size, &a) != 0)
		return -1;
	uint64_t bytes = a.n * a.elem;
	if (j->from == 0 ? write_image_root(x, object_id(x, o.addr)) != 0 ||
				   begin_array(x, &o, &a) != 0
			 : hprof_sub_resume(x->w, (bytes - j->from) / a.elem * a.out_elem) != 0)
		return -1;
	if (stream_elements(x, &o, le_base(j->cls->enc) + j->from, j->to - j->from, a.elem,
			    a.refs) != 0)
		return -1;
	return j->open ? hprof_sub_pause(x->w) : hprof_sub_end(x->w);
}

/* A chunk's objects; in one pass, when it owns its region (BITS), also
 * its census and starts, and the region is complete after it. */
static int write_chunk(struct writer *x, const struct hd_chunk *ch, uint64_t *bits)
{
	x->counts.bits = bits;
	x->counts.base = ch->addr;
	int rc = hw_walk_range_with(x->walker, ch->first, ch->top, ch->gaps, ch->ngaps,
				    write_object, x);
	x->counts.bits = NULL;
	if (rc == 0 && bits)
		objindex_complete(&x->c->starts, ch->addr);
	return rc;
}

static int write_job(struct writer *x, const struct objects *o, const struct job *j)
{
	const struct hd_chunk *ch = &o->chunks->v[j->chunk];
	if (hd_interrupted())
		return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
	x->walker->in_image_heap = ch->image;
	switch (j->kind) {
	case JOB_CHUNK:
		return write_chunk(x, ch, o->census->deferred ? o->census->own[j->chunk] : NULL);
	case JOB_OBJECT:
		return hw_walk_range(x->walker, j->addr, j->addr + j->size, NULL, 0, write_object, x);
	case JOB_PART:
		return write_part(x, j);
	}
	return hd_fail(HD_E_INTERNAL, "writer job of kind %d", (int)j->kind);
}

static int worker_init(struct worker *k, const struct writer *proto, size_t max_rec,
		       bool own_view)
{
	memset(k, 0, sizeof *k);
	k->x = *proto;
	hd_memview *mv = proto->in->mv;
	if (own_view && !(mv = k->mv = mv_clone(mv)))
		return -1;
	k->x.io = malloc(1u << 20);
	k->x.rec = malloc(max_rec);
	k->x.w = NULL;
	if (!k->x.io || !k->x.rec)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	if (proto->c->deferred &&
	    census_counts_init(&k->x.counts, proto->in->classes, proto->in->L->chunk_size) != 0)
		return -1;
	if (hw_init(&k->walker, proto->in->L, mv, classes_lookup, (void *)proto->in->classes) != 0)
		return -1;
	k->x.walker = &k->walker;
	if (hw_cache_hubs(&k->walker) != 0)
		return -1;
	return 0;
}

static void worker_fini(struct worker *k)
{
	if (k->x.walker)
		hw_fini(&k->walker);
	free(k->x.io);
	free(k->x.rec);
	census_counts_fini(&k->x.counts);
	mv_free(k->mv);
}

static int run_job(void *ctx, unsigned worker, size_t job)
{
	struct objects *o = ctx;
	struct worker *k = &o->workers[worker];
	struct slot *s = &o->slots[job % o->nslots];
	k->x.w = s->records;
	k->x.dangling = (struct dangling){0};
	if (write_job(&k->x, o, &o->jobs[job]) != 0)
		return -1;
	s->dangling = k->x.dangling;
	return 0;
}

static int commit_job(void *ctx, size_t job)
{
	struct objects *o = ctx;
	const struct slot *s = &o->slots[job % o->nslots];
	dangling_add(&o->dangling, &s->dangling);
	return hprof_repack(o->out, s->records);
}

/* One worker: each job's records go straight into OUT's segments, packed
 * and cut as hprof_repack packs a records writer's (the same bytes, without
 * the slots). */
static int write_in_place(struct objects *o)
{
	struct writer *x = &o->workers[0].x;
	x->w = o->out;
	for (size_t j = 0; j < o->njobs; j++) {
		const struct job *job = &o->jobs[j];
		uint64_t before = hprof_bytes_put(o->out);
		x->dangling = (struct dangling){0};
		if (write_job(x, o, job) != 0)
			return -1;
		dangling_add(&o->dangling, &x->dangling);
		if (hprof_bytes_put(o->out) != before && !job->open && hprof_flush(o->out) != 0)
			return -1;
	}
	return 0;
}

static void objects_free(struct objects *o)
{
	for (unsigned i = 0; o->workers && i < o->nworkers; i++)
		worker_fini(&o->workers[i]);
	for (size_t i = 0; o->slots && i < o->nslots; i++)
		hprof_free(o->slots[i].records);
	free(o->workers);
	free(o->slots);
	free(o->jobs);
}

/* Writes every object of PROTO's census's chunks to OUT; adds the dangling
 * references met to PROTO's, and in one pass the workers' counts to the
 * census. */
static int write_objects(struct writer *proto, hd_hprof *out, size_t max_rec)
{
	struct objects o = {.census = proto->c, .chunks = &proto->c->list, .out = out};
	/* The objects never share a segment with the roots before them. */
	int rc = hprof_flush(out);
	/* The first worker, set up first, plans the jobs. */
	unsigned threads = workpool_threads(proto->in->threads, SIZE_MAX);
	o.workers = hd_calloc_lines(threads, sizeof *o.workers);
	if (rc == 0 && !o.workers)
		rc = -1;
	if (rc == 0) {
		o.nworkers = 1;
		rc = worker_init(&o.workers[0], proto, max_rec, false);
	}
	if (rc == 0)
		rc = plan_jobs(&o, &o.workers[0].walker);
	if (rc == 0) {
		unsigned n = workpool_threads(proto->in->threads, o.njobs);
		/* One worker writes in place: no slots. */
		o.nslots = n > 1 ? (size_t)n * SLOTS_PER_WORKER : 0;
		o.slots = calloc(o.nslots ? o.nslots : 1, sizeof *o.slots);
		if (!o.slots)
			rc = hd_fail(HD_E_INTERNAL, "out of memory");
		for (; rc == 0 && o.nworkers < n; o.nworkers++)
			rc = worker_init(&o.workers[o.nworkers], proto, max_rec, true);
	}
	for (size_t i = 0; rc == 0 && i < o.nslots; i++)
		if (!(o.slots[i].records = hprof_open_records()))
			rc = -1;
	if (rc == 0 && o.nworkers == 1) {
		rc = write_in_place(&o);
	} else if (rc == 0) {
		struct hd_workpool pool = {.njobs = o.njobs, .threads = o.nworkers,
					   .window = o.nslots, .run = run_job,
					   .commit = commit_job, .ctx = &o};
		rc = workpool_run(&pool);
	}
	dangling_add(&proto->dangling, &o.dangling);
	for (unsigned i = 0; rc == 0 && proto->c->deferred && i < o.nworkers; i++)
		census_counts_add(proto->c, &o.workers[i].x.counts);
	objects_free(&o);
	return rc;
}

/* LOAD CLASS serial of the class whose hub is HUB, else java.lang.Object's
 * (a frame must name some class). */
static uint32_t class_serial(const struct hd_classes *t, uint64_t hub)
{
	const struct hd_class *c = hub ? classes_find(t, hub) : NULL;
	if (!c)
		c = classes_named(t, "java.lang.Object");
	return c ? (uint32_t)(c - t->v) + 1 : 0;
}

/* The Java frames of every thread's STACK TRACE. */
static uint64_t trace_frames(const struct hd_dump_input *in)
{
	uint64_t total = 0;
	for (uint32_t i = 0; in->traces && i < in->nthreads; i++)
		total += in->traces[i].n;
	return total;
}

/* One STACK TRACE per thread, for its thread root and its frame roots:
 * its Java frames as STACK FRAME records (method names as UTF8 records in
 * ids after every other name), or none. */
static int write_traces(struct writer *x)
{
	const struct hd_dump_input *in = x->in;
	const struct hd_classes *t = in->classes;
	uint64_t base = name_id(in, NAME_TRACE, 0), total = trace_frames(in);
	uint64_t sig_id = hprof_ids_synthetic(x->ids, base);
	uint64_t source_id = hprof_ids_synthetic(x->ids, base + 1), next = base + 2;
	if (total && (hprof_utf8(x->w, sig_id, "()") != 0 ||
		      hprof_utf8(x->w, source_id, "Unknown Source") != 0))
		return -1;
	uint64_t *ids = NULL;
	size_t cap = 0;
	int rc = 0;
	for (uint32_t i = 0; i < in->nthreads && rc == 0; i++) {
		const struct hd_trace *tr = in->traces ? &in->traces[i] : NULL;
		size_t n = tr ? tr->n : 0;
		if (n > cap) {
			uint64_t *more = realloc(ids, n * sizeof *ids);
			if (!more) {
				rc = hd_fail(HD_E_INTERNAL, "out of memory");
				break;
			}
			ids = more;
			cap = n;
		}
		for (size_t k = 0; k < n && rc == 0; k++) {
			const struct hd_trace_frame *f = &tr->frames[k];
			uint64_t name_id = hprof_ids_synthetic(x->ids, next);
			uint64_t frame_id = hprof_ids_synthetic(x->ids, next++ + total);
			rc = hprof_utf8(x->w, name_id, f->method ? f->method : "?");
			if (rc == 0)
				rc = hprof_frame(x->w, frame_id, name_id, sig_id, source_id,
						 class_serial(t, f->class_hub), f->line > 0 ? f->line : -1);
			ids[k] = frame_id;
		}
		if (rc == 0)
			rc = hprof_trace(x->w, DUMMY_TRACE + 1 + i, i + 1, ids, (uint32_t)n);
	}
	free(ids);
	return rc;
}

/* The roots besides the image heap's: after the objects, since finding
 * them takes every object start (HPROF allows root sub-records in any
 * heap-dump segment). */
static int write_roots(struct writer *x)
{
	struct hd_root *roots = NULL;
	size_t nroots = 0;
	if (x->in->roots && x->in->roots(x->in->roots_ctx, x->c, &roots, &nroots) != 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < nroots && rc == 0; i++)
		rc = write_root(x, &roots[i]);
	free(roots);
	return rc;
}

/* One pass: the references deferred while their regions were written,
 * now that every start is known. */
static void settle_deferred(struct writer *x)
{
	uint64_t first, n = objindex_settle(&x->c->starts, &first);
	if (n)
		dangling_add(&x->dangling, &(struct dangling){n, 0, first, 0});
	x->c->deferred = false;
}

int heap_plan_ids(const struct hd_dump_input *in, const struct hd_census *c,
		  struct hprof_ids *ids)
{
	const struct hd_classes *t = in->classes;
	size_t n = c->list.n + t->n;
	struct hprof_span *spans = malloc((n ? n : 1) * sizeof *spans);
	if (!spans)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < c->list.n; i++)
		spans[i] = (struct hprof_span){c->list.v[i].first, c->list.v[i].top};
	/* A hub's id, hub + 1, takes the slot of hub + 8 (hprofids.h), whose
	 * block must be used too.  A hub at the top of memory saturates: too
	 * high for 4-byte ids. */
	for (size_t k = 0; k < t->n; k++) {
		uint64_t hub = t->v[k].hub;
		spans[c->list.n + k] = (struct hprof_span){hub, hub + 16 > hub ? hub + 16 : UINT64_MAX};
	}
	uint64_t end = name_id(in, NAME_TRACE, 0) + 2 + 2 * trace_frames(in);
	if (end < viewer_class_id(N_VIEWER_CLASSES))
		end = viewer_class_id(N_VIEWER_CLASSES);
	int rc = hprof_ids_plan(ids, spans, n, end);
	free(spans);
	return rc;
}

int heap_write_hprof(const struct hd_dump_input *in, struct hd_census *c,
		     const struct hprof_ids *ids, hd_hprof *w)
{
	const struct hd_classes *t = in->classes;
	struct writer x = {.in = in, .c = c, .ids = ids, .id_size = ids->size, .w = w};
	int rc = -1;
	uint32_t *inst_bytes = calloc(t->n ? t->n : 1, sizeof *inst_bytes);
	uint64_t *class_ids = calloc(t->n ? t->n : 1, sizeof *class_ids);
	struct field_op *ops = NULL;
	size_t *op_start = NULL;
	size_t max_rec = REC_FLUSH + 64;
	for (size_t k = 0; inst_bytes && class_ids && k < t->n; k++) {
		for (size_t i = 0; i < t->v[k].nfields; i++)
			inst_bytes[k] += value_size(ids->size, t->v[k].fields[i].type);
		if (inst_bytes[k] + 64u > max_rec)
			max_rec = inst_bytes[k] + 64u;
		class_ids[k] = hprof_ids_addr(ids, hd_class_id(t->v[k].hub));
	}
	x.inst_bytes = inst_bytes;
	x.class_ids = class_ids;
	if (!inst_bytes || !class_ids) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		goto out_free;
	}
	if (hprof_id_size(w) != ids->size) {
		hd_fail(HD_E_INTERNAL, "HPROF file of %u-byte ids written with %u-byte ones",
			hprof_id_size(w), ids->size);
		goto out_free;
	}
	if (build_copy_programs(t, ids->size, &ops, &op_start) != 0)
		goto out_free;
	x.ops = ops;
	x.op_start = op_start;
	/* Every top-level record comes before the first heap-dump segment:
	 * viewers misread records between segments. */
	if (write_class_names(&x) != 0 || each_missing_viewer_class(&x, viewer_class_name) != 0 ||
	    hprof_trace(w, DUMMY_TRACE, 0, NULL, 0) != 0)
		goto out_free;
	if (write_traces(&x) != 0)
		goto out_free;
	if (in->statics && (read_statics_array(&x, &in->statics->objects, &x.static_refs) != 0 ||
			    read_statics_array(&x, &in->statics->prims, &x.static_prims) != 0))
		goto out_free;
	for (size_t k = 0; k < t->n; k++)
		if (write_class_dump(&x, k) != 0)
			goto out_free;
	if (each_missing_viewer_class(&x, viewer_class_dump) != 0)
		goto out_free;
	for (size_t k = 0; k < t->n; k++) {
		struct hd_root r = {.kind = HPROF_ROOT_STICKY_CLASS, .id = hd_class_id(t->v[k].hub)};
		if (write_root(&x, &r) != 0)
			goto out_free;
	}
	rc = write_objects(&x, w, max_rec);
	if (rc == 0 && c->deferred)
		settle_deferred(&x);
	if (rc == 0)
		rc = write_roots(&x);
	if (in->missing_refs)
		*in->missing_refs += x.dangling.missing;
	/* Final only in data that never changes: in a live process even the
	 * image heap's references are written at run time (and moved by a
	 * collection), so there a retry may not meet them. */
	/* A reference deferred in one pass was settled without its object
	 * (FROM 0). */
	char from[40] = "";
	if (x.dangling.from)
		snprintf(from, sizeof from, " in object 0x%" PRIx64, x.dangling.from);
	if (rc == 0 && x.dangling.n)
		rc = hd_fail(mv_may_tear(in->mv) ? HD_E_INCONSISTENT : HD_E_LAYOUT,
			     "%" PRIu64 " references do not land on an object start (first: "
			     "0x%" PRIx64 "%s)", x.dangling.n, x.dangling.to, from);
	if (rc == 0)
		rc = hprof_finish(w);
out_free:
	free(inst_bytes);
	free(class_ids);
	free(ops);
	free(op_start);
	free(x.static_refs);
	free(x.static_prims);
	return rc;
}
