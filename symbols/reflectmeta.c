#include "reflectmeta.h"

#include "classes.h"
#include "elfimage.h"
#include "imageobjs.h"
#include "layout.h"
#include "varint.h"
#include "../common/interrupt.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The top four bits of an entry's modifiers (ReflectionMetadataDecoderImpl
 * / RuntimeMetadataDecoderImpl); Java's own modifiers use 16 bits. */
#define RM_COMPLETE (1u << 31)
#define RM_IN_HEAP (1u << 30)
#define RM_HIDING (1u << 29)
#define RM_NEGATIVE (1u << 28)
#define RM_JAVA_MODIFIERS 0xffffu
#define ACC_STATIC 0x0008u

/* Bounds no real list comes near: a class file holds at most 65535 fields,
 * the JDK's largest classes a few hundred. */
#define MAX_FIELDS 4096
#define MAX_CONDITIONS 256
/* Neither does an offset: instances and static arrays are far smaller. */
#define MAX_OFFSET (1 << 24)

/* How the lists are written: 22.3 and 23.1 count with putUV; 25 counts
 * with putSV (a negative count is an error index) and gives each entry a
 * list of condition types.  A complete entry has a trusted-final byte when
 * the image's JDK has the notion (17 and later). */
struct dialect {
	bool signed_counts;
	bool trusted_final;
};

/* One way to read the metadata. */
struct reading {
	unsigned slot;    /* which of the holders' ints is the fields index */
	unsigned strings; /* which String[] holds member names */
	struct dialect d;
};

enum entry_kind { E_REACHABLE, E_COMPLETE, E_HIDING, E_NEGATIVE, E_IN_HEAP };

struct entry {
	uint8_t kind;   /* enum entry_kind */
	uint8_t type;   /* complete: enum hd_type */
	bool is_static;
	int32_t offset; /* complete: -1 when the image kept none */
	const char *name;
};

/* Java identifiers as class files hold them: no empty name, no leading
 * digit, no character that a field name cannot have. */
static bool is_identifier(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '$'))
			return false;
	}
	return true;
}

/* The longest String[], which bounds the indexes of strings we do not
 * read (signatures, reasons: the other String[] in 25, the same in 22.3). */
static size_t max_strings(const struct rm_metadata *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->nstrings; i++)
		if (m->strings[i].n > n)
			n = m->strings[i].n;
	return n;
}

static bool read_name(struct hd_varint *r, const struct rm_metadata *m, const struct reading *rd,
		      const char **name)
{
	int32_t i;
	const struct rm_strings *s = &m->strings[rd->strings];
	if (!vi_sv_int(r, &i) || i < 0 || (size_t)i >= s->n || !s->v[i] || !is_identifier(s->v[i]))
		return false;
	*name = s->v[i];
	return true;
}

static bool skip_other_string(struct hd_varint *r, const struct rm_metadata *m)
{
	int32_t i;
	return vi_sv_int(r, &i) && i >= -1 && (i < 0 || (size_t)i < max_strings(m));
}

/* A class index: *TYPE is 0 for null (-1). */
static bool read_type(struct hd_varint *r, const struct rm_metadata *m, uint8_t *type)
{
	int32_t i;
	if (!vi_sv_int(r, &i) || i < -1)
		return false;
	if (i == -1) {
		*type = 0;
		return true;
	}
	if ((size_t)i >= m->nclasses || !m->class_types[i])
		return false;
	*type = m->class_types[i];
	return true;
}

/* A length-prefixed byte array (annotations), -1 for null. */
static bool skip_byte_array(struct hd_varint *r)
{
	int32_t n;
	return vi_uv_int(r, &n) && n >= -1 && (n < 0 || vi_skip(r, (uint64_t)n));
}

/* A list's length; false for one that cannot be real.  *N is -1 for a
 * signed dialect's error index (the class's registration failed: no list). */
static bool read_count(struct hd_varint *r, const struct dialect *d, int32_t *n)
{
	if (!(d->signed_counts ? vi_sv_int(r, n) : vi_uv_int(r, n)))
		return false;
	if (*n < 0) {
		*n = -1;
		return d->signed_counts;
	}
	/* each entry takes at least one byte */
	return *n <= MAX_FIELDS && (size_t)*n <= r->len - r->pos;
}

static bool skip_conditions(struct hd_varint *r, const struct rm_metadata *m)
{
	int32_t n;
	uint8_t type;
	if (!vi_sv_int(r, &n) || n < 0 || n > MAX_CONDITIONS)
		return false;
	for (int32_t i = 0; i < n; i++)
		if (!read_type(r, m, &type) || !type)
			return false;
	return true;
}

static bool read_complete(struct hd_varint *r, const struct rm_metadata *m, const struct dialect *d,
			  struct entry *e)
{
	uint8_t trusted_final;
	if (d->trusted_final && (!vi_u1(r, &trusted_final) || trusted_final > 1))
		return false;
	if (!skip_other_string(r, m) || !skip_byte_array(r) || !skip_byte_array(r) ||
	    !vi_sv_int(r, &e->offset) || e->offset < -1 || e->offset >= MAX_OFFSET)
		return false;
	return skip_other_string(r, m); /* the reason a field was deleted */
}

static bool read_entry(struct hd_varint *r, const struct rm_metadata *m, const struct reading *rd,
		       struct entry *e)
{
	int32_t mods;
	if (!vi_uv_int(r, &mods))
		return false;
	uint32_t flags = (uint32_t)mods & ~RM_JAVA_MODIFIERS;
	bool complete = flags & RM_COMPLETE, hiding = flags & RM_HIDING;
	bool negative = flags & RM_NEGATIVE, in_heap = flags & RM_IN_HEAP;
	if ((flags & ~(RM_COMPLETE | RM_IN_HEAP | RM_HIDING | RM_NEGATIVE)) ||
	    (complete && hiding) || (negative && (complete || hiding)))
		return false;
	if (rd->d.signed_counts && !skip_conditions(r, m))
		return false;
	*e = (struct entry){.is_static = (uint32_t)mods & ACC_STATIC, .offset = -1};
	if (in_heap) {
		int32_t object; /* an index into the code info's object constants */
		e->kind = E_IN_HEAP;
		return vi_sv_int(r, &object) && object >= 0;
	}
	if (!read_name(r, m, rd, &e->name))
		return false;
	e->kind = complete ? E_COMPLETE : hiding ? E_HIDING : negative ? E_NEGATIVE : E_REACHABLE;
	if ((complete || hiding) && !read_type(r, m, &e->type))
		return false;
	if (!complete)
		return true;
	return e->type && read_complete(r, m, &rd->d, e);
}

/* Decodes the field list at INDEX into E (MAX_FIELDS entries).  *N is 0
 * for a class without one (-1) or with an error index. */
static bool read_list(const struct rm_metadata *m, const struct reading *rd, int32_t index,
		      struct entry *e, size_t *n)
{
	*n = 0;
	if (index < 0)
		return true; /* -1: no list; below: an error index */
	if ((size_t)index >= m->len)
		return false;
	struct hd_varint r = vi_at(m->data, m->len, (size_t)index);
	int32_t count;
	if (!read_count(&r, &rd->d, &count))
		return false;
	for (int32_t i = 0; i < count; i++)
		if (!read_entry(&r, m, rd, &e[i]))
			return false;
	*n = count < 0 ? 0 : (size_t)count;
	return true;
}

/* Checks for a signal every 1024th step of a loop over the image's data. */
static int poll_interrupt(size_t step)
{
	if (step % 1024 == 0 && hd_interrupted())
		return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
	return 0;
}

struct score {
	size_t lists;   /* holders whose list decoded, with at least one entry */
	size_t entries; /* in those lists */
	size_t bad;     /* holders whose list did not decode */
};

/* Each entry decoded speaks for a reading, each list that fails against:
 * a wrong dialect can decode as many lists (a short list's count and
 * names read as a condition and a name), not as many entries. */
static int64_t merit(const struct score *s)
{
	return (int64_t)s->entries - (int64_t)s->bad;
}

static int score_reading(const struct rm_metadata *m, const struct reading *rd, struct entry *e,
			 struct score *s)
{
	*s = (struct score){0};
	for (size_t h = 0; h < m->nholders; h++) {
		size_t n;
		if (poll_interrupt(h) != 0)
			return -1;
		if (!read_list(m, rd, m->holders[h].ints[rd->slot], e, &n)) {
			/* Half the lists failed: this reading can no longer
			 * decode more than it fails, and is never chosen. */
			if (2 * ++s->bad >= m->nholders)
				return 0;
		} else if (n) {
			s->lists++;
			s->entries += n;
		}
	}
	return 0;
}

/* The reading with the most merit among those under which most lists
 * decode (the fields index is the int whose lists decode, not one whose
 * values land on decodable bytes as often as not); *FOUND false when
 * there is none. */
static int choose_reading(const struct rm_metadata *m, struct entry *e, struct reading *best,
			  bool *found, FILE *log)
{
	struct score top = {0};
	*found = false;
	for (unsigned slot = 0; slot < m->nints; slot++)
		for (unsigned str = 0; str < m->nstrings; str++)
			for (unsigned d = 0; d < 4; d++) {
				struct reading rd = {.slot = slot, .strings = str,
						     .d = {.signed_counts = d & 1,
							   .trusted_final = d & 2}};
				struct score s;
				if (score_reading(m, &rd, e, &s) != 0)
					return -1;
				if (s.lists > s.bad && merit(&s) > merit(&top)) {
					top = s;
					*best = rd;
					*found = true;
				}
			}
	if (!*found && log)
		fprintf(log, "reflection metadata: no reading decodes more field lists than it "
			     "fails; no names from it\n");
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of the fields the class gave storage: its reachable entries
 * plus its registered fields that have an offset.  None (*K = 0) when an
 * entry leaves that open: a Field object we do not read, a hiding entry,
 * a registered field without an offset.  Returns 0, 1 when a name
 * repeats (no list), -1 when memory runs out. */
static int storage_names(const struct entry *e, size_t n, const char **names, size_t *k)
{
	bool any_reachable = false;
	*k = 0;
	for (size_t i = 0; i < n; i++) {
		switch (e[i].kind) {
		case E_REACHABLE:
			any_reachable = true;
			break;
		case E_COMPLETE:
			if (e[i].offset >= 0)
				break;
			*k = 0;
			return 0;
		case E_NEGATIVE: /* a queried field that does not exist */
			continue;
		default:
			*k = 0;
			return 0;
		}
		names[(*k)++] = e[i].name;
	}
	if (!any_reachable) { /* only registered fields: a part, not the list */
		*k = 0;
		return 0;
	}
	const char **sorted = malloc(*k * sizeof *sorted);
	if (!sorted)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	memcpy(sorted, names, *k * sizeof *sorted);
	qsort(sorted, *k, sizeof *sorted, cmp_names);
	bool unique = true;
	for (size_t i = 1; i < *k && unique; i++)
		unique = strcmp(sorted[i - 1], sorted[i]) != 0;
	free(sorted);
	return unique ? 0 : 1;
}

static int add_class(struct hd_field_facts *ff, uint64_t hub, const struct entry *e, size_t n,
		     const char **names, struct rm_counts *c)
{
	size_t k;
	int rc = storage_names(e, n, names, &k);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		c->bad_classes++;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (e[i].kind == E_IN_HEAP)
			c->in_heap++;
		if (e[i].kind != E_COMPLETE)
			continue;
		if (e[i].offset < 0) {
			c->no_offset++;
			continue;
		}
		struct hd_field_fact f = {.hub = hub, .offset = (uint32_t)e[i].offset,
					  .type = e[i].type, .source = HD_SRC_REFLECTION,
					  .is_static = e[i].is_static};
		if (ff_add(ff, &f, e[i].name) != 0)
			return -1;
		c->complete++;
		c->complete_static += e[i].is_static;
	}
	if (!k)
		return 0;
	if (ff_add_list(ff, hub, names, k) != 0)
		return -1;
	c->lists++;
	c->list_names += k;
	return 0;
}

int rm_facts_from(struct hd_field_facts *ff, const struct rm_metadata *m, struct rm_counts *c,
		  bool *found, FILE *log)
{
	*c = (struct rm_counts){0};
	*found = false;
	if (!m->nholders || !m->nstrings || !m->nints)
		return 0;
	struct entry *e = malloc(MAX_FIELDS * sizeof *e);
	const char **names = malloc(MAX_FIELDS * sizeof *names);
	if (!e || !names) {
		free(e);
		free(names);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	struct reading rd;
	int rc = choose_reading(m, e, &rd, found, log);
	if (*found) {
		c->int_slot = rd.slot;
		c->names = rd.strings;
		c->signed_counts = rd.d.signed_counts;
		c->trusted_final = rd.d.trusted_final;
	}
	for (size_t h = 0; rc == 0 && *found && h < m->nholders; h++) {
		size_t n;
		if ((rc = poll_interrupt(h)) != 0)
			break;
		if (!read_list(m, &rd, m->holders[h].ints[rd.slot], e, &n))
			c->bad_classes++;
		else
			rc = add_class(ff, m->holders[h].hub, e, n, names, c);
	}
	/* With reachable entries (-H:+IncludeMethodData), every field that got
	 * storage has an entry, and a class with any entry a list: a holder
	 * without one (-1, the encoder's empty list) is a class without
	 * fields. */
	for (size_t h = 0; rc == 0 && *found && c->lists && h < m->nholders; h++) {
		if (m->holders[h].ints[rd.slot] != -1)
			continue;
		if ((rc = ff_add_list(ff, m->holders[h].hub, NULL, 0)) == 0)
			c->no_fields++;
	}
	free(e);
	free(names);
	return rc;
}

/* ---- Reading the metadata out of the image heap ---- */

/* Bounds on what the image may claim. */
#define MAX_ARRAY (1u << 22)        /* names or classes in ImageCodeInfo */
#define MAX_ENCODING (256u << 20)   /* the encoding byte[] */
#define MAX_OBJECT 4096u            /* the fixed part of the objects we read */
#define MAX_PATHS 16

static const char *const encoding_classes[] = {
	"com.oracle.svm.core.reflect.target.ReflectionMetadataEncoding", /* 22.3, 23.1 */
	"com.oracle.svm.core.code.RuntimeMetadataEncoding",              /* 25 */
};
#define CODE_INFO_CLASS "com.oracle.svm.core.code.ImageCodeInfo"
#define HOLDER_CLASS "com.oracle.svm.core.hub.DynamicHub$ReflectionMetadata"
#define COMPANION_CLASS "com.oracle.svm.core.hub.DynamicHubCompanion"

struct image {
	const struct hd_names_input *in;
	struct rm_metadata m;
	uint8_t *data;
	char **strings[RM_MAX_STRING_ARRAYS];
	uint8_t *class_types;
	struct rm_holder *holders;
	unsigned int_offs[RM_MAX_CANDIDATES]; /* where the holders' ints are */
	const char *why; /* what was missing, for the log */
};

/* Reads the fixed part of the object of class C at ADDR into BUF
 * (MAX_OBJECT bytes). */
static int read_object(const struct image *im, const struct hd_class *c, uint64_t addr,
		       uint8_t *buf)
{
	if (c->fixed_size > MAX_OBJECT)
		return hd_fail(HD_E_LAYOUT, "%s is larger than expected", c->name);
	return lay_read_image(im->in->mv, addr, buf, c->fixed_size, c->name);
}

/* The one instance of the class named NAME: 0 when there is not exactly
 * one. */
static uint64_t the_instance(const struct image *im, const char *name)
{
	size_t n;
	const uint32_t *v = imageobjs_named(im->in->objs, name, &n);
	return n == 1 ? im->in->objs->addr[v[0]] : 0;
}

/* The references of the object of class C at ADDR that land on objects of
 * the class named WANT: up to MAX of them, into OUT. */
static int refs_to(const struct image *im, const struct hd_class *c, uint64_t addr,
		   const char *want, uint64_t *out, size_t max, size_t *n)
{
	uint8_t buf[MAX_OBJECT];
	*n = 0;
	if (read_object(im, c, addr, buf) != 0)
		return -1;
	for (size_t i = 0; i < c->nfields && *n < max; i++) {
		if (c->fields[i].type != HD_T_OBJECT ||
		    c->fields[i].offset + im->in->L->ref_size > c->fixed_size)
			continue;
		uint64_t to = lay_ref(im->in->L, buf + c->fields[i].offset);
		const struct hd_class *tc = to ? imageobjs_class_at(im->in->objs, to) : NULL;
		if (tc && strcmp(tc->name, want) == 0)
			out[(*n)++] = to;
	}
	return 0;
}

/* The array at ADDR: its element count and where its elements start. */
static int array_at(const struct image *im, uint64_t addr, uint32_t max, uint32_t *len,
		    uint64_t *elems)
{
	long i = imageobjs_find(im->in->objs, addr);
	if (i < 0)
		return hd_fail(HD_E_LAYOUT, "no array at 0x%" PRIx64, addr);
	const struct hd_class *c = &im->in->objs->classes->v[im->in->objs->cls[i]];
	*len = im->in->objs->length[i];
	*elems = addr + le_base(c->enc);
	if (*len > max)
		return hd_fail(HD_E_LAYOUT, "%s of %u elements", c->name, *len);
	return 0;
}

/* The references held by the object array at ADDR (malloc'd). */
static uint64_t *read_refs(const struct image *im, uint64_t addr, uint32_t *len)
{
	uint64_t *refs = NULL;
	if (imageobjs_array_refs(im->in->objs, im->in->mv, im->in->L, addr, MAX_ARRAY, &refs,
				 len) != 0)
		return NULL;
	return refs;
}

/* The encoding byte[] its singleton holds. */
static int find_encoding(struct image *im)
{
	for (size_t k = 0; k < sizeof encoding_classes / sizeof *encoding_classes; k++) {
		uint64_t holder = the_instance(im, encoding_classes[k]), data;
		size_t n;
		if (!holder)
			continue;
		if (refs_to(im, imageobjs_class_at(im->in->objs, holder), holder, "[B", &data, 1,
			    &n) != 0)
			return -1;
		uint32_t len = 0;
		uint64_t elems = 0;
		if (n != 1 || array_at(im, data, MAX_ENCODING, &len, &elems) != 0)
			break;
		im->data = malloc(len + 1u);
		if (!im->data)
			return hd_fail(HD_E_INTERNAL, "out of memory");
		if (lay_read_image(im->in->mv, elems, im->data, len, "reflection metadata") != 0)
			return -1;
		im->m.data = im->data;
		im->m.len = len;
		return 0;
	}
	im->why = "no encoding byte[]";
	return 0;
}

/* A String[]'s strings: NULL for null elements and for what is no String. */
static int read_strings(struct image *im, uint64_t arr, char ***out, size_t *n)
{
	uint32_t len;
	uint64_t *refs = read_refs(im, arr, &len);
	if (!refs)
		return -1;
	*n = 0;
	*out = calloc(len + 1u, sizeof **out);
	if (!*out) {
		free(refs);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	*n = len;
	int rc = 0;
	for (uint32_t k = 0; k < len && rc == 0; k++) {
		const struct hd_class *c = refs[k] ? imageobjs_class_at(im->in->objs, refs[k]) : NULL;
		if ((rc = poll_interrupt(k)) != 0 || !c || c->hub != im->in->L->string_hub)
			continue;
		(*out)[k] = lay_read_string(im->in->mv, im->in->L, refs[k]);
		if (!(*out)[k] && hd_error_class() == HD_E_INTERNAL)
			rc = -1;
		else if (!(*out)[k]) /* a String that does not read is a null name */
			hd_error_clear();
	}
	free(refs);
	return rc;
}

/* ImageCodeInfo's String[]s and its Class[] (the types of its elements). */
static int find_code_info_arrays(struct image *im)
{
	uint64_t info = the_instance(im, CODE_INFO_CLASS), arr[RM_MAX_STRING_ARRAYS];
	const struct hd_class *ic = info ? imageobjs_class_at(im->in->objs, info) : NULL;
	size_t n;
	if (!ic) {
		im->why = "no ImageCodeInfo";
		return 0;
	}
	if (refs_to(im, ic, info, "[Ljava.lang.String;", arr, RM_MAX_STRING_ARRAYS, &n) != 0)
		return -1;
	for (size_t k = 0; k < n; k++) {
		if (read_strings(im, arr[k], &im->strings[k], &im->m.strings[k].n) != 0)
			return -1;
		im->m.strings[k].v = (const char *const *)im->strings[k];
		im->m.nstrings++;
	}
	if (refs_to(im, ic, info, "[Ljava.lang.Class;", arr, 2, &n) != 0)
		return -1;
	if (n != 1) {
		im->why = "no single Class[] in ImageCodeInfo";
		return 0;
	}
	uint32_t len;
	uint64_t *refs = read_refs(im, arr[0], &len);
	if (!refs)
		return -1;
	im->class_types = calloc(len + 1u, 1);
	if (!im->class_types) {
		free(refs);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	for (uint32_t k = 0; k < len; k++) {
		const struct hd_class *c = refs[k] ? classes_find(im->in->classes, refs[k]) : NULL;
		im->class_types[k] = (uint8_t)classes_field_type(c);
	}
	free(refs);
	im->m.class_types = im->class_types;
	im->m.nclasses = len;
	return 0;
}

/* Whether the reference at OFF of the object of class C whose bytes are
 * at OBJ lands on an object of class WANT; *TO is where it points. */
static bool ref_to_class(const struct image *im, const struct hd_class *c, const uint8_t *obj,
			 unsigned off, const struct hd_class *want, uint64_t *to)
{
	if (off + im->in->L->ref_size > c->fixed_size)
		return false;
	*to = lay_ref(im->in->L, obj + off);
	return *to && imageobjs_class_at(im->in->objs, *to) == want;
}

/* How a hub reaches its ReflectionMetadata: a reference slot of the hub,
 * and (25) a slot of the companion it leads to. */
struct path {
	unsigned hub_off;
	int comp_off; /* -1: the hub's slot holds it */
	size_t count;
};

static uint64_t follow(const struct image *im, const struct hd_class *classcls,
		       const struct hd_class *cc, const uint8_t *hub, const struct path *p,
		       const struct hd_class *holder)
{
	uint64_t to;
	uint8_t comp[MAX_OBJECT];
	if (p->comp_off < 0)
		return ref_to_class(im, classcls, hub, p->hub_off, holder, &to) ? to : 0;
	if (!ref_to_class(im, classcls, hub, p->hub_off, cc, &to) ||
	    read_object(im, cc, to, comp) != 0)
		return 0;
	return ref_to_class(im, cc, comp, (unsigned)p->comp_off, holder, &to) ? to : 0;
}

static void tally(struct path *paths, size_t *npaths, unsigned hub_off, int comp_off)
{
	for (size_t i = 0; i < *npaths; i++)
		if (paths[i].hub_off == hub_off && paths[i].comp_off == comp_off) {
			paths[i].count++;
			return;
		}
	if (*npaths < MAX_PATHS)
		paths[(*npaths)++] = (struct path){hub_off, comp_off, 1};
}

/* Every way the hubs reach a ReflectionMetadata, counted over the hubs. */
static int count_paths(const struct image *im, const struct hd_class *classcls,
		       const struct hd_class *cc, const struct hd_class *holder,
		       struct path *paths, size_t *npaths)
{
	const struct hd_classes *t = im->in->classes;
	uint8_t hub[MAX_OBJECT], comp[MAX_OBJECT];
	uint32_t ticks = 0;
	for (size_t h = 0; h < t->n; h++) {
		if (poll_interrupt(h) != 0 || read_object(im, classcls, t->v[h].hub, hub) != 0)
			return -1;
		elfimage_tick(im->in->img, &ticks);
		for (size_t i = 0; i < classcls->nfields; i++) {
			unsigned off = classcls->fields[i].offset;
			uint64_t to;
			if (classcls->fields[i].type != HD_T_OBJECT)
				continue;
			if (ref_to_class(im, classcls, hub, off, holder, &to)) {
				tally(paths, npaths, off, -1);
				continue;
			}
			if (!cc || !ref_to_class(im, classcls, hub, off, cc, &to))
				continue;
			if (read_object(im, cc, to, comp) != 0)
				return -1;
			for (size_t j = 0; j < cc->nfields; j++)
				if (cc->fields[j].type == HD_T_OBJECT &&
				    ref_to_class(im, cc, comp, cc->fields[j].offset, holder, &to))
					tally(paths, npaths, off, (int)cc->fields[j].offset);
		}
	}
	return 0;
}

/* Whether [OFF, OFF+4) of class C is free of references and of the
 * identity hash: a place an int field can be. */
static bool int_slot(const struct hd_class *c, unsigned off, unsigned ref_size)
{
	if (c->idhash_off && off < c->idhash_off + 4u && c->idhash_off < off + 4)
		return false;
	for (size_t i = 0; i < c->nfields; i++)
		if (c->fields[i].type == HD_T_OBJECT && off < c->fields[i].offset + ref_size &&
		    c->fields[i].offset < off + 4)
			return false;
	return true;
}

/* One holder per hub that reaches a ReflectionMetadata, with that
 * object's candidate ints. */
static int find_holders(struct image *im)
{
	const struct hd_classes *t = im->in->classes;
	const struct hd_layout *L = im->in->L;
	const struct hd_class *holder = classes_named(t, HOLDER_CLASS);
	const struct hd_class *classcls = classes_find(t, L->class_hub);
	const struct hd_class *cc = classes_named(t, COMPANION_CLASS);
	if (!holder || !classcls || holder->fixed_size > MAX_OBJECT) {
		im->why = "no DynamicHub$ReflectionMetadata";
		return 0;
	}
	unsigned *offs = im->int_offs;
	for (unsigned off = L->hdr_size; off + 4 <= holder->fixed_size &&
					 im->m.nints < RM_MAX_CANDIDATES; off += 4)
		if (int_slot(holder, off, L->ref_size))
			offs[im->m.nints++] = off;
	struct path paths[MAX_PATHS];
	size_t npaths = 0;
	if (count_paths(im, classcls, cc, holder, paths, &npaths) != 0)
		return -1;
	const struct path *best = NULL;
	for (size_t i = 0; i < npaths; i++)
		if (!best || paths[i].count > best->count)
			best = &paths[i];
	if (!best) {
		im->why = "no hub reaches a ReflectionMetadata";
		return 0;
	}
	im->holders = calloc(t->n + 1, sizeof *im->holders);
	if (!im->holders)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	uint8_t hub[MAX_OBJECT], obj[MAX_OBJECT];
	uint32_t ticks = 0;
	for (size_t h = 0; h < t->n; h++) {
		uint64_t rm;
		if (poll_interrupt(h) != 0 || read_object(im, classcls, t->v[h].hub, hub) != 0)
			return -1;
		elfimage_tick(im->in->img, &ticks);
		if (!(rm = follow(im, classcls, cc, hub, best, holder)))
			continue;
		if (read_object(im, holder, rm, obj) != 0)
			return -1;
		struct rm_holder *ho = &im->holders[im->m.nholders++];
		ho->hub = t->v[h].hub;
		for (unsigned k = 0; k < im->m.nints; k++)
			ho->ints[k] = (int32_t)ld_u32(obj + offs[k]);
	}
	im->m.holders = im->holders;
	return 0;
}

static void image_free(struct image *im)
{
	free(im->data);
	for (size_t k = 0; k < RM_MAX_STRING_ARRAYS; k++) {
		for (size_t i = 0; im->strings[k] && i < im->m.strings[k].n; i++)
			free(im->strings[k][i]);
		free(im->strings[k]);
	}
	free(im->class_types);
	free(im->holders);
}

int reflectmeta_facts(struct hd_field_facts *ff, const struct hd_names_input *in)
{
	struct image im = {.in = in};
	struct rm_counts c = {0};
	int rc = find_encoding(&im);
	if (rc == 0 && !im.why)
		rc = find_code_info_arrays(&im);
	if (rc == 0 && !im.why)
		rc = find_holders(&im);
	bool found = false;
	if (rc == 0 && !im.why)
		rc = rm_facts_from(ff, &im.m, &c, &found, in->log);
	image_free(&im);
	if (rc != 0) {
		if (hd_error_is_fatal())
			return -1;
		if (in->log)
			fprintf(in->log, "reflection metadata: %s; no names from it\n",
				hd_error_message());
		hd_error_clear();
		return 0;
	}
	if (in->log && im.why)
		fprintf(in->log, "reflection metadata: %s; no names from it\n", im.why);
	else if (in->log && found)
		fprintf(in->log,
			"reflection metadata (fields index at +%u, %s counts, %s trusted-final "
			"byte): %zu classes with name lists (%zu names), %zu complete fields "
			"(%zu static), %zu without offset, %zu Field objects not read, %zu classes "
			"not decoded, %zu without fields\n",
			im.int_offs[c.int_slot], c.signed_counts ? "signed" : "unsigned",
			c.trusted_final ? "a" : "no", c.lists, c.list_names, c.complete,
			c.complete_static, c.no_offset, c.in_heap, c.bad_classes, c.no_fields);
	return 0;
}
