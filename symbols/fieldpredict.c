#include "fieldpredict.h"

#include "classes.h"
#include "elfimage.h"
#include "jdkclasses.h"
#include "imageobjs.h"
#include "layout.h"
#include "../common/grow.h"
#include "../common/interrupt.h"

#include <stdlib.h>
#include <string.h>

/* Bounds on what is predicted: they keep the work per class small whatever
 * the image or the class files say.  A class beyond them is left alone. */
#define FP_MAX_BYTES 2048  /* instance size */
#define FP_WORDS (FP_MAX_BYTES / 64)
#define FP_MAX_OWN 64      /* instance fields a class declares */
#define FP_MAX_COMBOS 1024 /* field-removal patterns tried without a name list */
#define FP_MAX_NODES 4096  /* candidate layouts kept per class */
#define FP_MAX_WORK 65536  /* layouts tried per class */
#define FP_MAX_DEPTH 256   /* superclass chain */
#define FP_MAX_JDKS 8      /* installed JDKs tried */
#define FP_MAX_SAMPLES 256 /* image-heap instances read per class */
#define FP_JDK_MAJOR_MIN 9 /* the majors asked of jdk_open when no JDK is named */
#define FP_JDK_MAJOR_MAX 40

/* The image builder sorts a class's fields by kind — Object, double, long,
 * float, int, char, short, byte, boolean — keeping declaration order within
 * a kind; a rank is a position in that order. */
#define FP_NRANK 9
#define FP_RANK_OBJECT 0

/* 22.3 places fields one after another from where the superclass's fields
 * end; 23.1 and later put each into the best-fitting gap (the superclass's
 * included) or append it. */
enum fp_algo { FP_SEQUENTIAL, FP_GAPS, FP_NALGO };

enum fp_hash {
	FP_HASH_FIXED,    /* in the header: nothing to place */
	FP_HASH_TYPED,    /* a per-type int field, counted in the instance size */
	FP_HASH_OPTIONAL, /* a per-type int field outside the instance size */
};

struct fp_model {
	unsigned ref;   /* reference size */
	unsigned first; /* first byte a field may use */
	enum fp_hash hash;
};

typedef uint64_t fp_bits[FP_WORDS];

struct fp_field {
	const char *name; /* owned by the JDK */
	uint8_t type;     /* enum hd_type */
	uint8_t size;
	uint8_t rank;
	bool array;       /* declared as an array type */
};

/* One way a class's own fields can lie over one of its superclass's
 * layouts. */
struct fp_node {
	int32_t parent; /* in the superclass's nodes; -1 for java.lang.Object */
	uint8_t algo;
	bool alive;     /* reproduces a class of the image, itself or below */
	bool excluded;  /* not on the layouts of some class that reproduces */
	uint32_t stamp; /* the last class whose layouts rest on it, + 1 */
	uint8_t count[FP_NRANK];   /* fields of each rank present */
	uint16_t end;   /* sequential: where a subclass starts; gaps: bytes in use */
	uint16_t off[FP_MAX_OWN]; /* of the present fields, in sorted order */
	fp_bits used;   /* bytes the fields hold (gaps) */
	fp_bits refs;   /* reference fields, inherited included */
};

enum fp_status {
	FP_ST_NONE,         /* not predicted: no superclass layout, not an instance class */
	FP_ST_NOCLASS,      /* the JDK has no such class */
	FP_ST_EXACT,        /* every own field placed */
	FP_ST_AMBIGUOUS,    /* reproduced, but some names are not unique */
	FP_ST_CONTRADICTED, /* no layout reproduces the image's data */
	FP_ST_TOO_MANY,     /* beyond the bounds above */
	FP_ST_UNPLACED,     /* no class file; its name list is not references only */
	FP_ST_PENDING,      /* has layouts; which are alive is known at the end */
	FP_ST_COUNT
};

struct fp_class {
	struct fp_field *f; /* own instance fields, sorted by rank */
	size_t nf;
	uint8_t nrank[FP_NRANK];
	bool has_list;
	bool listed_only; /* no class file: the name list's references */
	struct fp_node *nodes;
	size_t nnodes;
	uint8_t status;
};

/* A class whose every own field is placed: its facts are
 * fp_out.v[first .. first+n). */
struct fp_complete {
	uint64_t hub;
	size_t first, n;
};

struct fp_out {
	struct hd_field_fact *v;
	const char **names;
	size_t n, cap, cap_names;
	struct fp_complete *complete;
	size_t ncomplete, cap_complete;
};

struct fp_run {
	const struct hd_names_input *in;
	struct hd_field_facts *ff;
	const struct hd_classes *cl;
	const struct fp_model *m;
	struct hd_jdk *jdk;
	const uint32_t *order;  /* classes, superclasses first */
	const uint32_t *facts;  /* other sources' instance facts, by hub */
	size_t nfacts;
	struct fp_class *pc;
	bool algo_ok[FP_NALGO];
	/* The class files are not of the image's JDK (or that is not known):
	 * fields of a kind with others of the same kind are left unnamed, for
	 * their order may differ between versions where their sizes do not. */
	bool other_jdk;
	unsigned count[FP_ST_COUNT];
	unsigned listed_exact; /* of the exact ones, placed from name lists alone */
	unsigned withheld;     /* placed fields left unnamed for other_jdk */
	struct fp_out out;
};

static bool bit_get(const fp_bits b, unsigned i)
{
	return i < FP_MAX_BYTES && (b[i / 64] >> (i % 64)) & 1;
}

static void bits_set(fp_bits b, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to && i < FP_MAX_BYTES; i++)
		b[i / 64] |= 1ull << (i % 64);
}

static unsigned align_up(unsigned v, unsigned a)
{
	return (v + a - 1) & ~(a - 1);
}

/* The smallest gap below LEN that holds SIZE aligned bytes (the first of
 * equal ones), or -1. */
/* The first byte in [FROM, LEN) whose bit is WANT (bytes past
 * FP_MAX_BYTES read clear, as bit_get has them), else LEN: a word at a
 * time, layouts being mostly runs. */
static unsigned next_bit(const fp_bits b, unsigned from, unsigned len, bool want)
{
	while (from < len) {
		if (from >= FP_MAX_BYTES)
			return want ? len : from;
		unsigned w = from / 64;
		uint64_t word = (want ? b[w] : ~b[w]) & (~0ull << (from % 64));
		if (word) {
			unsigned i = w * 64 + (unsigned)__builtin_ctzll(word);
			return i < len ? i : len;
		}
		from = (w + 1) * 64;
	}
	return len;
}

static int find_gap(const fp_bits used, unsigned len, unsigned size)
{
	int best = -1;
	unsigned best_len = 0;
	for (unsigned off = next_bit(used, 0, len, false); off < len;
	     off = next_bit(used, off, len, false)) {
		unsigned end = next_bit(used, off + 1, len, true);
		unsigned adj = align_up(off, size) - off;
		if (end - off >= adj + size && (best < 0 || end - off < best_len)) {
			best = (int)(off + adj);
			best_len = end - off;
		}
		off = end;
	}
	return best;
}

/* Reserves SIZE bytes in the best gap or after the last used byte. */
static unsigned place_in_gap(fp_bits used, unsigned *len, unsigned size)
{
	int g = find_gap(used, *len, size);
	unsigned off = g >= 0 ? (unsigned)g : align_up(*len, size);
	bits_set(used, off, off + size);
	if (off + size > *len)
		*len = off + size;
	return off;
}

static const struct fp_kind {
	char desc;
	uint8_t type, size, rank; /* size 0: a reference */
} kinds[] = {
	{'L', HD_T_OBJECT, 0, 0}, {'[', HD_T_OBJECT, 0, 0}, {'D', HD_T_DOUBLE, 8, 1},
	{'J', HD_T_LONG, 8, 2},   {'F', HD_T_FLOAT, 4, 3},  {'I', HD_T_INT, 4, 4},
	{'C', HD_T_CHAR, 2, 5},   {'S', HD_T_SHORT, 2, 6},  {'B', HD_T_BYTE, 1, 7},
	{'Z', HD_T_BOOLEAN, 1, 8},
};

/* A field of descriptor DESC, or (DESC 0) of enum hd_type TYPE. */
static bool kind_field(char desc, uint8_t type, unsigned ref, struct fp_field *f)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (desc ? kinds[i].desc == desc : kinds[i].type == type) {
			f->type = kinds[i].type;
			f->size = kinds[i].size ? kinds[i].size : (uint8_t)ref;
			f->rank = kinds[i].rank;
			f->array = kinds[i].desc == '[' && desc;
			return true;
		}
	return false;
}

/* The facts about HUB in IDX (N of FF's facts, by hub): [*first, *end). */
static void facts_in(const struct hd_field_facts *ff, const uint32_t *idx, size_t n, uint64_t hub,
		     size_t *first, size_t *end)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ff->v[idx[mid]].hub < hub)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo < n && ff->v[idx[lo]].hub == hub)
		lo++;
	*end = lo;
}

/* Facts of other sources about HUB's instance fields: [*first, *end) of
 * R->facts. */
static void facts_of(const struct fp_run *r, uint64_t hub, size_t *first, size_t *end)
{
	facts_in(r->ff, r->facts, r->nfacts, hub, first, end);
}

static bool list_has(const struct hd_field_facts *ff, const struct hd_name_list *l, const char *name)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (strcmp(ff_name(ff, ff->list_names[l->first + i]), name) == 0)
			return true;
	return false;
}

static const struct hd_jfield *jfield(const struct hd_jclass *jc, const char *name)
{
	for (size_t i = 0; i < jc->nfields; i++)
		if (strcmp(jc->fields[i].name, name) == 0)
			return &jc->fields[i];
	return NULL;
}

/* Is NAME an instance field of one of JC's superclasses in the JDK? */
static bool inherited_field(struct fp_run *r, const struct hd_jclass *jc, const char *name)
{
	for (unsigned depth = 0; jc && jc->super && depth < FP_MAX_DEPTH; depth++) {
		hd_error_clear();
		jc = jdk_class(r->jdk, jc->super);
		const struct hd_jfield *f = jc ? jfield(jc, name) : NULL;
		if (f && !f->is_static)
			return true;
	}
	return false;
}

/* A failed class-file read is no reason to stop, except these. */
static int jdk_error(void)
{
	if (hd_error_is_fatal())
		return -1;
	hd_error_clear();
	return 0;
}

/* The class's own fields: the class file's instance fields, only those in
 * the image's name list when it has one.  Returns 1 when the class file
 * cannot be the image's class (a listed name it does not declare: an
 * injected field, another JDK version). */
static int own_fields(struct fp_run *r, struct fp_class *p, const struct hd_class *c,
		      const struct hd_jclass *jc)
{
	const struct hd_name_list *l = ff_list_of(r->ff, c->hub);
	p->has_list = l != NULL;
	for (uint32_t i = 0; l && i < l->n; i++)
		if (!jfield(jc, ff_name(r->ff, r->ff->list_names[l->first + i])))
			return 1;
	p->f = calloc(jc->nfields + 1, sizeof *p->f);
	if (!p->f)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (unsigned rank = 0; rank < FP_NRANK; rank++)
		for (size_t i = 0; i < jc->nfields; i++) {
			const struct hd_jfield *jf = &jc->fields[i];
			struct fp_field f = {jf->name, 0, 0, 0, false};
			if (jf->is_static || (l && !list_has(r->ff, l, jf->name)))
				continue;
			if (!kind_field(jf->desc, 0, r->m->ref, &f))
				return 1;
			if (f.rank != rank)
				continue;
			if (p->nf >= FP_MAX_OWN)
				return 1;
			p->f[p->nf++] = f;
			p->nrank[rank]++;
		}
	return 0;
}

/* A class the JDK does not have, with a name list: a name other sources
 * type takes that type, every other name is taken to be a reference, and
 * no two names may be of one kind.  The reference map of the class (or,
 * for an abstract one, of each subclass) then refutes any other truth but
 * one — a name that is a static (or a primitive) plus a monitor slot —
 * which chain_agrees rules out.  A name of unknown primitive type, or a
 * fact for a name outside the list, leaves the class alone.  REFS: the
 * class's reference slots, NULL for an abstract class.  Returns 1 for a
 * class left alone. */
static int listed_fields(struct fp_run *r, struct fp_class *p, const struct hd_class *c,
			 const fp_bits refs)
{
	const struct hd_name_list *l = ff_list_of(r->ff, c->hub);
	if (!l || l->n > FP_MAX_OWN || !r->in->objs || !r->in->mv)
		return 1;
	size_t first, end;
	facts_of(r, c->hub, &first, &end);
	for (size_t i = first; i < end; i++)
		if (!list_has(r->ff, l, ff_name(r->ff, r->ff->v[r->facts[i]].name)))
			return 1;
	struct fp_field listed[FP_MAX_OWN];
	for (uint32_t k = 0; k < l->n; k++) {
		const char *name = ff_name(r->ff, r->ff->list_names[l->first + k]);
		if (list_has(r->ff, &(struct hd_name_list){.hub = l->hub, .first = l->first, .n = k}, name))
			return 1;
		uint8_t type = 0;
		for (size_t i = first; i < end; i++) {
			const struct hd_field_fact *f = &r->ff->v[r->facts[i]];
			if (strcmp(ff_name(r->ff, f->name), name) != 0)
				continue;
			uint8_t t = f->type            ? f->type
				    : refs && bit_get(refs, f->offset) ? HD_T_OBJECT
								   : 0;
			if (!t || (type && type != t))
				return 1;
			type = t;
		}
		listed[k].name = name;
		if (!kind_field(0, type ? type : HD_T_OBJECT, r->m->ref, &listed[k]))
			return 1;
	}
	/* The list's order is not the declaration order (it is the image
	 * builder's set order): which of two names of a kind comes first is
	 * unknown, so a kind may have one name at most. */
	for (uint32_t k = 0; k < l->n; k++)
		for (uint32_t j = 0; j < k; j++)
			if (listed[j].rank == listed[k].rank)
				return 1;
	p->has_list = true;
	p->listed_only = true;
	p->f = calloc(l->n + 1, sizeof *p->f);
	if (!p->f)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (unsigned rank = 0; rank < FP_NRANK; rank++)
		for (uint32_t k = 0; k < l->n; k++)
			if (listed[k].rank == rank) {
				p->f[p->nf++] = listed[k];
				p->nrank[rank]++;
			}
	return 0;
}

/* What C's image-heap instances hold in its reference slots: SEEN, the
 * slots non-null in at least one; NOT_ARRAY, those holding something that
 * is no array (or no object start) in at least one. */
struct fp_observed {
	fp_bits seen, not_array;
};

static void observe(const struct fp_run *r, const struct hd_class *c, const fp_bits refs,
		    struct fp_observed *o)
{
	memset(o, 0, sizeof *o);
	size_t n;
	const uint32_t *idx = imageobjs_of(r->in->objs, c, &n);
	uint8_t buf[FP_MAX_BYTES];
	for (size_t i = 0; i < n && i < FP_MAX_SAMPLES; i++) {
		if (lay_read_image(r->in->mv, r->in->objs->addr[idx[i]], buf, c->fixed_size,
				   "an instance") != 0) {
			hd_error_clear();
			continue;
		}
		for (unsigned off = 0; off + r->m->ref <= c->fixed_size; off++) {
			uint64_t v = bit_get(refs, off) ? lay_ref(r->in->L, buf + off) : 0;
			if (!v)
				continue;
			bits_set(o->seen, off, off + 1);
			const struct hd_class *vc = imageobjs_class_at(r->in->objs, v);
			if (!vc || (vc->kind != HD_KIND_OBJ_ARRAY && vc->kind != HD_KIND_PRIM_ARRAY))
				bits_set(o->not_array, off, off + 1);
		}
	}
}

/* Do the instances observed in O agree with node N of P's fields?  From a
 * name list alone, every placed reference must have held one (a monitor
 * slot never does: the image builder leaves it null); a field declared as
 * an array must never hold anything else. */
static bool instances_agree(const struct fp_class *p, const struct fp_node *n,
			    const struct fp_observed *o)
{
	for (unsigned q = 0; p->listed_only && q < n->count[FP_RANK_OBJECT]; q++)
		if (!bit_get(o->seen, n->off[q]))
			return false;
	/* Which reference field is where is known when all are present. */
	if (n->count[FP_RANK_OBJECT] != p->nrank[FP_RANK_OBJECT])
		return true;
	for (unsigned q = 0; q < p->nrank[FP_RANK_OBJECT]; q++)
		if (p->f[q].array && bit_get(o->not_array, n->off[q]))
			return false;
	return true;
}

/* Node N of class K, and the layouts of its abstract superclasses it rests
 * on (which have no instances of their own to check), against K's
 * instances. */
static bool chain_agrees(const struct fp_run *r, size_t k, const struct fp_node *n,
			 const struct fp_observed *o)
{
	if (!instances_agree(&r->pc[k], n, o))
		return false;
	int32_t s = r->cl->v[k].jsuper, pi = n->parent;
	for (unsigned d = 0; s >= 0 && pi >= 0 && d < FP_MAX_DEPTH; d++) {
		const struct fp_node *sn = &r->pc[s].nodes[pi];
		if (r->cl->v[s].kind != HD_KIND_INSTANCE && !instances_agree(&r->pc[s], sn, o))
			return false;
		pi = sn->parent;
		s = r->cl->v[s].jsuper;
	}
	return true;
}

static int field_index(const struct fp_class *p, const char *name)
{
	for (size_t i = 0; i < p->nf; i++)
		if (strcmp(p->f[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Do the other sources' facts about the class allow its fields at all?
 * Each must name an own instance field (or an inherited one, which its
 * declaring class checks) of the type the class file says. */
static bool facts_allow_class(struct fp_run *r, const struct fp_class *p, const struct hd_class *c,
			      const struct hd_jclass *jc)
{
	size_t i, end;
	for (facts_of(r, c->hub, &i, &end); i < end; i++) {
		const struct hd_field_fact *f = &r->ff->v[r->facts[i]];
		const char *name = ff_name(r->ff, f->name);
		int k = field_index(p, name);
		if (k < 0 && !inherited_field(r, jc, name))
			return false;
		if (k >= 0 && f->type && f->type != p->f[k].type)
			return false;
	}
	return true;
}

/* Do the facts fit node N?  Where only some fields of a kind are present,
 * the fact's offset must be one of that kind's. */
static bool facts_allow_node(const struct fp_run *r, const struct fp_class *p,
			     const struct hd_class *c, const struct fp_node *n)
{
	size_t i, end;
	for (facts_of(r, c->hub, &i, &end); i < end; i++) {
		const struct hd_field_fact *f = &r->ff->v[r->facts[i]];
		int k = field_index(p, ff_name(r->ff, f->name));
		if (k < 0)
			continue;
		unsigned rank = p->f[k].rank, pos = 0, first_of_rank = 0;
		for (unsigned q = 0; q < rank; q++)
			pos += n->count[q];
		for (int q = 0; q < k; q++)
			first_of_rank += p->f[q].rank < rank;
		unsigned j = (unsigned)k - first_of_rank;
		if (n->count[rank] == p->nrank[rank]) {
			if (n->off[pos + j] != f->offset)
				return false;
			continue;
		}
		bool seen = false;
		for (unsigned q = 0; q < n->count[rank]; q++)
			seen |= n->off[pos + q] == f->offset;
		if (!seen)
			return false;
	}
	return true;
}

/* Lays out the fields of P counted in N->count over the superclass layout
 * PARENT.  False when they do not fit the bounds. */
static bool lay_out(const struct fp_run *r, const struct fp_class *p, const struct fp_node *parent,
		    struct fp_node *n)
{
	uint8_t present[FP_MAX_OWN];
	unsigned np = 0;
	for (size_t i = 0, seen_of_rank = 0; i < p->nf; i++) {
		seen_of_rank = i && p->f[i].rank == p->f[i - 1].rank ? seen_of_rank + 1 : 0;
		if (seen_of_rank < n->count[p->f[i].rank])
			present[np++] = (uint8_t)i;
	}
	memcpy(n->refs, parent->refs, sizeof n->refs);
	memcpy(n->used, parent->used, sizeof n->used);
	unsigned next = parent->end;
	if (n->algo == FP_SEQUENTIAL) {
		/* At each offset the first remaining field whose size divides it,
		 * else a byte of padding. */
		bool placed[FP_MAX_OWN] = {false};
		for (unsigned done = 0; done < np;) {
			if (next >= FP_MAX_BYTES)
				return false;
			unsigned q = 0;
			while (q < np && (placed[q] || next % p->f[present[q]].size))
				q++;
			if (q == np) {
				next++;
				continue;
			}
			placed[q] = true;
			n->off[q] = (uint16_t)next;
			next += p->f[present[q]].size;
			done++;
		}
	} else {
		for (unsigned q = 0; q < np; q++)
			n->off[q] = (uint16_t)place_in_gap(n->used, &next, p->f[present[q]].size);
	}
	if (next + 2 * r->m->ref + 8 > FP_MAX_BYTES)
		return false;
	for (unsigned q = 0; q < np; q++)
		if (p->f[present[q]].type == HD_T_OBJECT)
			bits_set(n->refs, n->off[q], n->off[q] + 1);
	n->end = (uint16_t)next;
	return true;
}

/* Does the hub say where each type's monitor slot is (0: none)? */
static bool monitor_known(const struct fp_run *r)
{
	return r->in->L->hub_monitor > 0;
}

/* Does node N, with or without a monitor slot, give C's instance size,
 * reference map, identity-hash offset and, where the hub says, monitor
 * offset?  REFS: C's reference slots. */
static bool reproduces(const struct fp_run *r, const struct fp_node *n, bool monitor,
		       const struct hd_class *c, const fp_bits refs)
{
	const struct fp_model *m = r->m;
	fp_bits want;
	memcpy(want, n->refs, sizeof want);
	unsigned after, hash = 0, mon = 0;
	if (n->algo == FP_SEQUENTIAL) {
		/* The monitor follows the class's own fields. */
		after = n->end;
		if (monitor) {
			mon = after = align_up(after, m->ref);
			bits_set(want, after, after + 1);
			after += m->ref;
		}
	} else {
		fp_bits used;
		memcpy(used, n->used, sizeof used);
		unsigned len = n->end;
		if (monitor) {
			mon = place_in_gap(used, &len, m->ref);
			bits_set(want, mon, mon + 1);
		}
		after = len;
		if (m->hash != FP_HASH_FIXED) {
			int g = find_gap(used, len, 4);
			hash = g >= 0 ? (unsigned)g : align_up(len, 4);
			if (g < 0 && m->hash == FP_HASH_TYPED)
				after = hash + 4;
		}
	}
	if (align_up(after, 8) != c->fixed_size || memcmp(want, refs, sizeof want) != 0 ||
	    (monitor_known(r) && mon != c->monitor_off))
		return false;
	return m->hash == FP_HASH_FIXED || hash == c->idhash_off;
}

/* Most classes keep one or two layouts of several hundred bytes each, and
 * every class's stay until the run ends: the vector starts small. */
static int add_node(struct fp_class *p, const struct fp_node *n, size_t *cap)
{
	if (hd_grow(&p->nodes, cap, p->nnodes, sizeof *p->nodes, 1) != 0)
		return -1;
	p->nodes[p->nnodes++] = *n;
	return 0;
}

static int object_nodes(struct fp_run *r, struct fp_class *p)
{
	size_t cap = 0;
	for (unsigned a = 0; a < FP_NALGO; a++) {
		if (!r->algo_ok[a])
			continue;
		struct fp_node n = {.parent = -1, .algo = (uint8_t)a, .end = (uint16_t)r->m->first};
		bits_set(n.used, 0, r->m->first);
		if (add_node(p, &n, &cap) != 0)
			return -1;
	}
	return 0;
}

/* The reference slots of C's reference map, false if one lies beyond the
 * bounds.  The class table also marks java.lang.ref.Reference's referent,
 * which the image's map leaves out (the GC treats it apart): so does this,
 * and the class file's referent, a plain reference, is refuted — the
 * image builder substitutes that class, fields in another order. */
static bool class_refs(const struct fp_run *r, const struct hd_class *c, fp_bits refs)
{
	memset(refs, 0, sizeof(fp_bits));
	for (size_t i = 0; i < c->nfields; i++)
		if (c->fields[i].type == HD_T_OBJECT) {
			if (c->fields[i].offset >= FP_MAX_BYTES)
				return false;
			bits_set(refs, c->fields[i].offset, c->fields[i].offset + 1);
		}
	int off = r->in->L->referent_off;
	if (c->is_reference && off >= 0 && off < FP_MAX_BYTES)
		refs[off / 64] &= ~(1ull << (off % 64));
	/* The class table names no field on the monitor slot the hub gives
	 * (layout discovery proved it a slot of the reference map). */
	if (monitor_known(r) && c->monitor_off)
		bits_set(refs, c->monitor_off, c->monitor_off + 1u);
	return true;
}

/* Every layout of class K's own fields over its superclass's layouts that
 * the image does not refute. */
static int predict_class(struct fp_run *r, size_t k)
{
	const struct hd_class *c = &r->cl->v[k];
	struct fp_class *p = &r->pc[k];
	if (c->jsuper < 0)
		return strcmp(c->name, "java.lang.Object") == 0 ? object_nodes(r, p) : 0;
	const struct fp_class *sp = &r->pc[c->jsuper];
	bool concrete = c->kind == HD_KIND_INSTANCE;
	if (!sp->nnodes || (!concrete && c->kind != HD_KIND_NONE))
		return 0;
	hd_error_clear(); /* a NULL with an error is a class file that did not read */
	const struct hd_jclass *jc = jdk_class(r->jdk, c->name);
	if (!jc && jdk_error() != 0)
		return -1;
	fp_bits refs;
	if (concrete && (c->fixed_size > FP_MAX_BYTES || !class_refs(r, c, refs))) {
		p->status = FP_ST_TOO_MANY;
		return 0;
	}
	p->status = FP_ST_CONTRADICTED;
	if (jc && (!jc->super || strcmp(jc->super, r->cl->v[c->jsuper].name) != 0))
		return 0;
	int rc = jc ? own_fields(r, p, c, jc) : listed_fields(r, p, c, concrete ? refs : NULL);
	if (rc != 0) {
		if (!jc)
			p->status = FP_ST_NOCLASS;
		return rc < 0 ? -1 : 0;
	}
	if (jc && !facts_allow_class(r, p, c, jc))
		return jdk_error();
	size_t combos = 1;
	for (unsigned q = 0; q < FP_NRANK && !p->has_list; q++)
		combos *= p->nrank[q] + 1u;
	if (combos > FP_MAX_COMBOS || combos * sp->nnodes > FP_MAX_WORK) {
		p->status = FP_ST_TOO_MANY;
		return 0;
	}
	size_t cap = 0;
	bool observed = false;
	struct fp_observed seen;
	for (size_t pi = 0; pi < sp->nnodes; pi++) {
		for (size_t ci = 0; ci < combos; ci++) {
			if (hd_interrupted())
				return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d",
					       hd_interrupted_signal());
			struct fp_node n = {.parent = (int32_t)pi, .algo = sp->nodes[pi].algo};
			for (unsigned q = 0, rest = (unsigned)ci; q < FP_NRANK; q++) {
				unsigned radix = p->has_list ? 1 : p->nrank[q] + 1u;
				n.count[q] = p->has_list ? p->nrank[q] : (uint8_t)(rest % radix);
				rest /= radix;
			}
			if (!lay_out(r, p, &sp->nodes[pi], &n) || !facts_allow_node(r, p, c, &n))
				continue;
			if (concrete && !reproduces(r, &n, false, c, refs) &&
			    !reproduces(r, &n, true, c, refs))
				continue;
			if (concrete && r->in->objs && r->in->mv && !observed) {
				observe(r, c, refs, &seen);
				observed = true;
			}
			if (observed && !chain_agrees(r, k, &n, &seen))
				continue;
			if (p->nnodes >= FP_MAX_NODES) {
				p->status = FP_ST_TOO_MANY;
				free(p->nodes);
				p->nodes = NULL;
				p->nnodes = 0;
				return 0;
			}
			if (add_node(p, &n, &cap) != 0)
				return -1;
		}
	}
	if (p->nnodes)
		p->status = FP_ST_PENDING;
	else if (p->listed_only)
		p->status = FP_ST_UNPLACED;
	return 0;
}

/* Which algorithm the image used, where its classes say: one that
 * reproduces classes the other cannot, while the other reproduces none
 * that it cannot, is the image's. */
static void choose_algo(struct fp_run *r)
{
	unsigned only[FP_NALGO] = {0};
	for (size_t k = 0; k < r->cl->n; k++) {
		const struct fp_class *p = &r->pc[k];
		if (r->cl->v[k].kind != HD_KIND_INSTANCE || r->cl->v[k].jsuper < 0)
			continue;
		bool has[FP_NALGO] = {false};
		for (size_t i = 0; i < p->nnodes; i++)
			has[p->nodes[i].algo] = true;
		if (has[FP_SEQUENTIAL] != has[FP_GAPS])
			only[has[FP_GAPS]]++;
	}
	for (unsigned a = 0; a < FP_NALGO; a++)
		if (only[a] >= 3 && only[1 - a] == 0)
			r->algo_ok[1 - a] = false;
}

/* Marks the layouts that reproduce an instance class and the superclass
 * layouts they rest on.  The image's layout of a class is one: it is among
 * the layouts of each class that reproduces, the class itself and every
 * subclass, so a superclass layout none of one such subclass's layouts
 * rests on is not the image's. */
static void mark_alive(struct fp_run *r)
{
	for (size_t k = 0; k < r->cl->n; k++) {
		struct fp_class *p = &r->pc[k];
		if (r->cl->v[k].kind != HD_KIND_INSTANCE || r->cl->v[k].jsuper < 0)
			continue;
		uint32_t stamp = (uint32_t)k + 1;
		bool any = false;
		for (size_t i = 0; i < p->nnodes; i++) {
			if (!r->algo_ok[p->nodes[i].algo])
				continue;
			any = true;
			p->nodes[i].stamp = stamp;
			int32_t s = r->cl->v[k].jsuper, pi = p->nodes[i].parent;
			for (unsigned d = 0; s >= 0 && pi >= 0 && d < FP_MAX_DEPTH; d++) {
				struct fp_node *sn = &r->pc[s].nodes[pi];
				sn->stamp = stamp;
				pi = sn->parent;
				s = r->cl->v[s].jsuper;
			}
		}
		int32_t s = (int32_t)k;
		for (unsigned d = 0; any && s >= 0 && d < FP_MAX_DEPTH; s = r->cl->v[s].jsuper, d++)
			for (size_t i = 0; i < r->pc[s].nnodes; i++) {
				struct fp_node *n = &r->pc[s].nodes[i];
				n->alive |= n->stamp == stamp;
				n->excluded |= n->stamp != stamp;
			}
	}
}

static int out_add(struct fp_out *o, uint64_t hub, unsigned off, uint8_t type, const char *name)
{
	if (hd_grow(&o->v, &o->cap, o->n, sizeof *o->v, 64) != 0 ||
	    hd_grow(&o->names, &o->cap_names, o->n, sizeof *o->names, 64) != 0)
		return -1;
	o->v[o->n] = (struct hd_field_fact){.hub = hub, .offset = off, .type = type,
					    .source = HD_SRC_PREDICTED};
	o->names[o->n++] = name;
	return 0;
}

/* Marks in COVERED the bytes the fields of node N of class K and of the
 * superclass layouts it rests on hold. */
static void chain_bytes(const struct fp_run *r, size_t k, const struct fp_node *n, fp_bits covered)
{
	int32_t s = (int32_t)k;
	for (unsigned d = 0; s >= 0 && n && d < FP_MAX_DEPTH; d++) {
		const struct fp_class *p = &r->pc[s];
		for (size_t i = 0, q = 0, of_rank = 0; i < p->nf; i++) {
			of_rank = i && p->f[i].rank == p->f[i - 1].rank ? of_rank + 1 : 0;
			if (of_rank >= n->count[p->f[i].rank])
				continue;
			bits_set(covered, n->off[q], n->off[q] + p->f[i].size);
			q++;
		}
		s = r->cl->v[s].jsuper;
		n = s >= 0 && n->parent >= 0 ? &r->pc[s].nodes[n->parent] : NULL;
	}
}

/* Are the bytes of class K's image-heap instances that its live layouts
 * leave to no field (nor to the header, a reference slot, the identity
 * hash) zero in every instance?  The image builder writes padding as
 * zeros: a byte that is not is a field the class file does not declare
 * (one the image builder injected), and the layout is no proof that the
 * class has no other field. */
static bool padding_is_zero(const struct fp_run *r, size_t k)
{
	const struct hd_class *c = &r->cl->v[k];
	const struct fp_class *p = &r->pc[k];
	size_t n;
	const uint32_t *idx = r->in->objs ? imageobjs_of(r->in->objs, c, &n) : NULL;
	if (!idx || !r->in->mv || c->kind != HD_KIND_INSTANCE || c->fixed_size > FP_MAX_BYTES)
		return true;
	fp_bits refs, covered = {0};
	if (!class_refs(r, c, refs))
		return false;
	for (unsigned off = 0; off < c->fixed_size; off++)
		if (bit_get(refs, off))
			bits_set(covered, off, off + r->m->ref);
	bits_set(covered, 0, r->m->first);
	if (r->m->hash != FP_HASH_FIXED)
		bits_set(covered, c->idhash_off, c->idhash_off + 4u);
	for (size_t i = 0; i < p->nnodes; i++)
		if (p->nodes[i].alive && !p->nodes[i].excluded)
			chain_bytes(r, k, &p->nodes[i], covered);
	uint8_t buf[FP_MAX_BYTES];
	for (size_t i = 0; i < n && i < FP_MAX_SAMPLES; i++) {
		if (lay_read_image(r->in->mv, r->in->objs->addr[idx[i]], buf, c->fixed_size,
				   "an instance") != 0) {
			hd_error_clear();
			return false;
		}
		for (unsigned off = 0; off < c->fixed_size; off++)
			if (buf[off] && !bit_get(covered, off))
				return false;
	}
	return true;
}

/* The own fields of class K on which all its live layouts agree. */
static int settle(struct fp_run *r, size_t k)
{
	struct fp_class *p = &r->pc[k];
	const struct fp_node *first = NULL;
	for (size_t i = 0; i < p->nnodes && !first; i++)
		if (p->nodes[i].alive && !p->nodes[i].excluded)
			first = &p->nodes[i];
	if (!first) {
		if (p->status == FP_ST_PENDING)
			p->status = p->listed_only ? FP_ST_UNPLACED : FP_ST_CONTRADICTED;
		return 0;
	}
	size_t placed = 0, out0 = r->out.n;
	for (size_t f = 0, pos = 0, of_rank = 0; f < p->nf; f++) {
		unsigned rank = p->f[f].rank;
		of_rank = f && rank == p->f[f - 1].rank ? of_rank + 1 : 0;
		pos = 0;
		for (unsigned q = 0; q < rank; q++)
			pos += first->count[q];
		bool agree = true;
		for (size_t i = 0; i < p->nnodes && agree; i++) {
			const struct fp_node *n = &p->nodes[i];
			if (!n->alive || n->excluded)
				continue;
			size_t npos = 0;
			for (unsigned q = 0; q < rank; q++)
				npos += n->count[q];
			agree = n->count[rank] == p->nrank[rank] &&
				n->off[npos + of_rank] == first->off[pos + of_rank];
		}
		if (!agree)
			continue;
		placed++;
		if (r->other_jdk && !p->listed_only && p->nrank[rank] > 1) {
			r->withheld++;
			continue;
		}
		if (out_add(&r->out, r->cl->v[k].hub, first->off[pos + of_rank], p->f[f].type,
			    p->f[f].name) != 0)
			return -1;
	}
	p->status = placed == p->nf ? FP_ST_EXACT : FP_ST_AMBIGUOUS;
	/* Every layout that reproduces the class holds all of its class
	 * file's fields, each at one place: that is its whole field set, as a
	 * name list would say (a class with a list has it already).  Not so
	 * for another JDK's class files: a field of the image's version that
	 * they lack could lie where they leave padding. */
	if (p->status != FP_ST_EXACT || p->has_list || r->other_jdk || r->out.n - out0 != p->nf ||
	    !padding_is_zero(r, k))
		return 0;
	struct fp_out *o = &r->out;
	if (hd_grow(&o->complete, &o->cap_complete, o->ncomplete, sizeof *o->complete, 64) != 0)
		return -1;
	o->complete[o->ncomplete++] = (struct fp_complete){r->cl->v[k].hub, out0, p->nf};
	return 0;
}

/* The layouts of a run: its facts stay until they are added. */
static void run_free_layouts(struct fp_run *r)
{
	for (size_t k = 0; r->pc && k < r->cl->n; k++) {
		free(r->pc[k].f);
		free(r->pc[k].nodes);
	}
	free(r->pc);
	r->pc = NULL;
}

static void run_free(struct fp_run *r)
{
	run_free_layouts(r);
	free(r->out.v);
	free(r->out.names);
	free(r->out.complete);
	memset(&r->out, 0, sizeof r->out);
}

/* Does another JDK's run place the class of F otherwise?  Only a run that
 * names some field of that class speaks. */
static bool placed_otherwise(const struct fp_out *other, const struct hd_field_fact *f,
			     const char *name)
{
	bool speaks = false;
	for (size_t i = 0; i < other->n; i++) {
		if (other->v[i].hub != f->hub)
			continue;
		speaks = true;
		if (strcmp(other->names[i], name) == 0)
			return other->v[i].offset != f->offset || other->v[i].type != f->type;
	}
	return speaks;
}

/* Is fact I of the best run kept?  With another JDK's class files, only
 * where every other installed JDK that places its class agrees (a field
 * whose type or place changed between versions does not). */
static bool undisputed(const struct fp_run *runs, size_t nruns, size_t best, bool own, size_t i)
{
	const struct hd_field_fact *f = &runs[best].out.v[i];
	for (size_t j = 0; j < nruns && !own; j++)
		if (j != best && placed_otherwise(&runs[j].out, f, runs[best].out.names[i]))
			return false;
	return true;
}

/* The classes the best run placed completely, each of whose facts is
 * kept, get their field names as a name list, unless they have one:
 * the class table then knows the bytes no name covers are padding. */
static int add_complete(struct hd_field_facts *ff, const struct fp_run *runs, size_t nruns,
			size_t best, bool own, size_t *added)
{
	const struct fp_out *o = &runs[best].out;
	for (size_t c = 0; c < o->ncomplete; c++) {
		const struct fp_complete *pc = &o->complete[c];
		bool keep = !ff_list_of(ff, pc->hub);
		for (size_t i = pc->first; keep && i < pc->first + pc->n; i++)
			keep = undisputed(runs, nruns, best, own, i);
		if (!keep)
			continue;
		if (ff_add_list(ff, pc->hub, o->names + pc->first, pc->n) != 0)
			return -1;
		(*added)++;
	}
	return 0;
}

/* Predicts every class the JDK declares; R->out gets the facts, R->count
 * the classes by status. */
static int run_jdk(struct fp_run *r)
{
	r->pc = calloc(r->cl->n + 1, sizeof *r->pc);
	if (!r->pc)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	uint32_t ticks = 0;
	for (size_t o = 0; o < r->cl->n; o++) {
		if (predict_class(r, r->order[o]) != 0)
			return -1;
		elfimage_tick(r->in->img, &ticks);
	}
	choose_algo(r);
	mark_alive(r);
	for (size_t k = 0; k < r->cl->n; k++) {
		if (settle(r, k) != 0)
			return -1;
		elfimage_tick(r->in->img, &ticks);
		if (r->cl->v[k].kind != HD_KIND_INSTANCE || r->cl->v[k].jsuper < 0)
			continue;
		r->count[r->pc[k].status]++;
		r->listed_exact += r->pc[k].status == FP_ST_EXACT && r->pc[k].listed_only;
	}
	return 0;
}

/* Classes ordered so that each comes after its superclass. */
static int order_classes(const struct hd_classes *cl, uint32_t **out)
{
	uint32_t *order = malloc((cl->n + 1) * sizeof *order);
	uint16_t *depth = calloc(cl->n + 1, sizeof *depth);
	if (!order || !depth) {
		free(order);
		free(depth);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	unsigned maxd = 0;
	for (size_t k = 0; k < cl->n; k++) {
		unsigned d = 0;
		for (int32_t s = cl->v[k].jsuper; s >= 0 && d < FP_MAX_DEPTH; s = cl->v[s].jsuper)
			d++;
		depth[k] = (uint16_t)d;
		maxd = d > maxd ? d : maxd;
	}
	size_t n = 0;
	for (unsigned d = 0; d <= maxd; d++)
		for (size_t k = 0; k < cl->n; k++)
			if (depth[k] == d)
				order[n++] = (uint32_t)k;
	free(depth);
	*out = order;
	return 0;
}

static const struct hd_field_facts *sort_ff;
static int cmp_fact_hub(const void *a, const void *b)
{
	uint64_t x = sort_ff->v[*(const uint32_t *)a].hub, y = sort_ff->v[*(const uint32_t *)b].hub;
	return x < y ? -1 : x > y;
}

/* Which facts index_facts keeps. */
enum fp_facts {
	FP_FACTS_OTHER,    /* instance facts of the other sources */
	FP_FACTS_INSTANCE, /* instance facts, predicted ones included */
	FP_FACTS_STATIC,   /* static facts */
};

static bool fact_kept(const struct hd_field_fact *f, enum fp_facts which)
{
	switch (which) {
	case FP_FACTS_OTHER:
		return !f->is_static && f->source != HD_SRC_PREDICTED;
	case FP_FACTS_INSTANCE:
		return !f->is_static;
	default:
		return f->is_static;
	}
}

static int index_facts(const struct hd_field_facts *ff, enum fp_facts which, uint32_t **out,
		       size_t *n)
{
	*n = 0;
	*out = malloc((ff->n + 1) * sizeof **out);
	if (!*out)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < ff->n && i < UINT32_MAX; i++)
		if (fact_kept(&ff->v[i], which))
			(*out)[(*n)++] = (uint32_t)i;
	sort_ff = ff;
	qsort(*out, *n, sizeof **out, cmp_fact_hub);
	sort_ff = NULL;
	return 0;
}

static void model_of(const struct hd_layout *L, struct fp_model *m, bool algo_ok[FP_NALGO])
{
	m->ref = L->ref_size;
	if (L->hub_idhash < 0) {
		m->hash = FP_HASH_FIXED;
		m->first = L->idhash_fixed_off + 4 > L->hdr_size ? L->idhash_fixed_off + 4 : L->hdr_size;
	} else {
		m->hash = L->hash_appended ? FP_HASH_OPTIONAL : FP_HASH_TYPED;
		m->first = L->hdr_size;
	}
	/* A per-type hash came with the gap-filling layouts. */
	algo_ok[FP_SEQUENTIAL] = m->hash == FP_HASH_FIXED;
	algo_ok[FP_GAPS] = true;
}

/* The Java major version the image was built for, from the VM's version
 * string the image heap keeps as a byte[] ("GraalVM 22.3.1 Java 11 CE",
 * "GraalVM CE 25+37.1": from 23 on, GraalVM's version is the JDK's); 0
 * when no such string is found. */
static unsigned image_java_major(const struct hd_names_input *in)
{
	const struct hd_class *bytes = classes_named(in->classes, "[B");
	size_t n;
	const uint32_t *idx = in->objs ? imageobjs_of(in->objs, bytes, &n) : NULL;
	if (!idx || !in->mv || bytes->kind != HD_KIND_PRIM_ARRAY)
		return 0;
	unsigned base = le_base(bytes->enc);
	uint8_t buf[4096];
	for (size_t i = 0; i < n && base + 64 <= sizeof buf; i++) {
		if (i % 4096 == 0 && hd_interrupted())
			return 0;
		size_t len = base + 64;
		memset(buf, 0, sizeof buf);
		if (mv_try_read(in->mv, in->objs->addr[idx[i]], buf, len) != 0)
			continue;
		int32_t alen = lay_array_length(in->L, buf);
		if (alen < 12 || alen > 64 || memcmp(buf + base, "GraalVM ", 8) != 0)
			continue;
		char text[65];
		memcpy(text, buf + base, (size_t)alen);
		text[alen] = '\0';
		unsigned major = 0;
		const char *java = strstr(text, " Java ");
		if (java && sscanf(java, " Java %u", &major) == 1 && major >= 8 && major < 100)
			return major;
		if ((sscanf(text, "GraalVM CE %u", &major) == 1 ||
		     sscanf(text, "GraalVM EE %u", &major) == 1 ||
		     sscanf(text, "GraalVM %u", &major) == 1) &&
		    major >= 23 && major < 100)
			return major;
	}
	return 0;
}

/* The facts the last-reference rule reads: every instance fact, and the
 * static ones, by class. */
struct fp_known {
	const struct hd_field_facts *ff;
	uint32_t *inst, *stat;
	size_t ninst, nstat;
	uint64_t work; /* names compared so far (FP_MAX_LAST_REF_WORK) */
};

/* Names the last-reference rule compares, over all classes: past this,
 * hostile lists and chains leave the classes left alone. */
#define FP_MAX_LAST_REF_WORK (1ull << 27)

static bool has_fact(struct fp_known *kn, const uint32_t *idx, size_t first, size_t end,
		     const char *name)
{
	kn->work += end - first;
	for (size_t i = first; i < end; i++)
		if (strcmp(ff_name(kn->ff, kn->ff->v[idx[i]].name), name) == 0)
			return true;
	return false;
}

/* Is OFF a reference slot of a superclass of C?  Up to the nearest one
 * with instances (and instance bytes of its own), each superclass must be
 * complete by facts, every name of its list placed by a fact of its own or
 * a static, for the answer to be known: then the slots none of them holds
 * are not theirs.  *KNOWN is false when that cannot be told. */
static bool inherited_reference(struct fp_known *kn, const struct hd_names_input *in,
				const struct hd_class *c, unsigned off, bool *known)
{
	const struct hd_classes *cl = in->classes;
	*known = false;
	for (int32_t a = c->jsuper, depth = 0; a >= 0 && depth < FP_MAX_DEPTH;
	     a = cl->v[a].jsuper, depth++) {
		const struct hd_class *s = &cl->v[a];
		if (s->jsuper < 0) { /* java.lang.Object: its bytes are header, hash, padding */
			*known = true;
			return false;
		}
		if (s->kind == HD_KIND_INSTANCE) {
			*known = true;
			for (size_t j = 0; j < s->nfields; j++)
				if (s->fields[j].type == HD_T_OBJECT && s->fields[j].offset == off)
					return true;
			return false;
		}
		const struct hd_name_list *l = ff_list_of(kn->ff, s->hub);
		size_t fi, fe, si, se;
		if (!l)
			return false;
		facts_in(kn->ff, kn->inst, kn->ninst, s->hub, &fi, &fe);
		facts_in(kn->ff, kn->stat, kn->nstat, s->hub, &si, &se);
		for (uint32_t i = 0; i < l->n; i++) {
			const char *n = ff_name(kn->ff, kn->ff->list_names[l->first + i]);
			if ((!has_fact(kn, kn->inst, fi, fe, n) && !has_fact(kn, kn->stat, si, se, n)) ||
			    kn->work > FP_MAX_LAST_REF_WORK)
				return false;
		}
		kn->work += fe - fi;
		for (size_t j = fi; j < fe; j++)
			if (kn->ff->v[kn->inst[j]].offset == off) {
				*known = true;
				return true;
			}
	}
	return false;
}

/* A class's name list holds every field with storage it declares
 * (fieldfacts.h).  The reference slots of its instances that its
 * superclasses do not hold are its own reference fields, but for its
 * monitor (which the class table names no field when the hub says where
 * it is: else it is not known which slot that is).  A superclass with
 * instances holds the slots of its reference map; one without, those its
 * facts place, once they place its whole list (inherited_reference).
 * When one of the own slots is left unnamed and one name of the list is
 * neither named by a fact nor a static, that name is the slot's, whatever
 * the layout algorithm; two could lie either way round.  Returns the slot,
 * or 0 with *NAME NULL. */
static unsigned last_reference(struct fp_known *kn, const struct hd_names_input *in,
			       const struct hd_class *c, const char **name)
{
	*name = NULL;
	if (kn->work > FP_MAX_LAST_REF_WORK)
		return 0;
	const struct hd_name_list *l = ff_list_of(kn->ff, c->hub);
	if (!l || in->L->hub_monitor <= 0 || c->kind != HD_KIND_INSTANCE || c->jsuper < 0)
		return 0;
	size_t fi, fe, si, se;
	facts_in(kn->ff, kn->inst, kn->ninst, c->hub, &fi, &fe);
	facts_in(kn->ff, kn->stat, kn->nstat, c->hub, &si, &se);
	kn->work += (uint64_t)l->n * (fe - fi);
	if (kn->work > FP_MAX_LAST_REF_WORK)
		return 0;
	for (size_t i = fi; i < fe; i++)
		if (!list_has(kn->ff, l, ff_name(kn->ff, kn->ff->v[kn->inst[i]].name)))
			return 0;
	unsigned slot = 0, nslots = 0, nnames = 0;
	for (size_t i = 0; i < c->nfields && nslots < 2; i++) {
		unsigned off = c->fields[i].offset;
		bool known, own = c->fields[i].type == HD_T_OBJECT && off != c->monitor_off;
		if (own && inherited_reference(kn, in, c, off, &known))
			own = false;
		else if (own && !known)
			return 0;
		for (size_t j = fi; own && j < fe; j++)
			own = kn->ff->v[kn->inst[j]].offset != off;
		if (own) {
			slot = off;
			nslots++;
		}
	}
	for (uint32_t i = 0; i < l->n && nnames < 2; i++) {
		const char *n = ff_name(kn->ff, kn->ff->list_names[l->first + i]);
		if (!has_fact(kn, kn->inst, fi, fe, n) && !has_fact(kn, kn->stat, si, se, n)) {
			*name = n;
			nnames++;
		}
	}
	if (nslots != 1 || nnames != 1 || kn->work > FP_MAX_LAST_REF_WORK) {
		*name = NULL;
		return 0;
	}
	return slot;
}

/* last_reference for every class.  Runs after the predictions: their
 * facts count as names placed. */
static int name_last_references(struct hd_field_facts *ff, const struct hd_names_input *in,
				size_t *named)
{
	const struct hd_classes *cl = in->classes;
	struct fp_known kn = {.ff = ff};
	int rc = -1;
	struct fp_out out = {0};
	if (index_facts(ff, FP_FACTS_INSTANCE, &kn.inst, &kn.ninst) != 0 ||
	    index_facts(ff, FP_FACTS_STATIC, &kn.stat, &kn.nstat) != 0)
		goto out;
	for (size_t k = 0; k < cl->n; k++) {
		if (k % 1024 == 0 && hd_interrupted()) {
			hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
			goto out;
		}
		const char *name;
		unsigned slot = last_reference(&kn, in, &cl->v[k], &name);
		if (name && out_add(&out, cl->v[k].hub, slot, HD_T_OBJECT, name) != 0)
			goto out;
	}
	for (size_t i = 0; i < out.n; i++)
		if (ff_add(ff, &out.v[i], out.names[i]) != 0)
			goto out;
	*named = out.n;
	rc = 0;
out:
	free(out.v);
	free(out.names);
	free(kn.inst);
	free(kn.stat);
	return rc;
}

/* The JDKs to try: the one named, else each distinct installed one. */
static int open_jdks(const struct hd_names_input *in, struct hd_jdk **j, size_t *n)
{
	*n = 0;
	if (in->jdk_dir) {
		if (jdk_open(&j[0], in->jdk_dir, 0) != 0) {
			if (in->log)
				fprintf(in->log, "predicted names: no JDK at %s: %s\n", in->jdk_dir,
					hd_error_message());
			return jdk_error();
		}
		*n = 1;
		return 0;
	}
	for (unsigned major = FP_JDK_MAJOR_MIN; major <= FP_JDK_MAJOR_MAX && *n < FP_MAX_JDKS;
	     major++) {
		struct hd_jdk *cand;
		if (jdk_open(&cand, NULL, major) != 0) {
			if (jdk_error() != 0)
				return -1;
			continue;
		}
		bool dup = false;
		for (size_t i = 0; i < *n; i++)
			dup |= jdk_major(j[i]) == jdk_major(cand);
		if (dup)
			jdk_close(cand);
		else
			j[(*n)++] = cand;
	}
	return 0;
}

int fieldpredict_facts(struct hd_field_facts *ff, const struct hd_names_input *in)
{
	struct fp_model m;
	struct hd_jdk *jdks[FP_MAX_JDKS];
	size_t njdks = 0;
	uint32_t *order = NULL, *facts = NULL;
	size_t nfacts = 0;
	int rc = -1;
	bool algo_ok[FP_NALGO];
	model_of(in->L, &m, algo_ok);
	if (order_classes(in->classes, &order) != 0 || index_facts(ff, FP_FACTS_OTHER, &facts, &nfacts) != 0 ||
	    open_jdks(in, jdks, &njdks) != 0)
		goto out;
	/* With the image's own JDK installed, that one; else every JDK, the
	 * one that reproduces best kept. */
	unsigned major = image_java_major(in);
	bool own = false;
	for (size_t i = 0; i < njdks; i++)
		own |= major && jdk_major(jdks[i]) == major;
	if (in->log)
		fprintf(in->log, "predicted names: the image's Java is %u%s\n", major,
			!major ? " (unknown)" : own ? "" : ", whose class files are not at hand");
	struct fp_run runs[FP_MAX_JDKS];
	size_t nruns = 0, best = 0;
	for (size_t i = 0; i < njdks; i++) {
		if (own && jdk_major(jdks[i]) != major)
			continue;
		struct fp_run *r = &runs[nruns++];
		*r = (struct fp_run){.in = in, .ff = ff, .cl = in->classes, .m = &m,
				     .jdk = jdks[i], .order = order, .facts = facts,
				     .nfacts = nfacts, .algo_ok = {algo_ok[0], algo_ok[1]},
				     .other_jdk = !own};
		int failed = run_jdk(r);
		run_free_layouts(r);
		if (failed)
			goto free_runs;
		if (in->log)
			fprintf(in->log,
				"predicted names, JDK %u: %u classes exact (%u from name lists "
				"alone), %u ambiguous, %u contradicted, %u not in the JDK (%u "
				"with a name list not placed), %u too large\n",
				jdk_major(jdks[i]), r->count[FP_ST_EXACT], r->listed_exact,
				r->count[FP_ST_AMBIGUOUS], r->count[FP_ST_CONTRADICTED],
				r->count[FP_ST_NOCLASS] + r->count[FP_ST_UNPLACED],
				r->count[FP_ST_UNPLACED], r->count[FP_ST_TOO_MANY]);
		/* Class files of the image's own JDK reproduce the most classes
		 * and are refuted by the fewest. */
		const struct fp_run *b = &runs[best];
		if (r->count[FP_ST_EXACT] > b->count[FP_ST_EXACT] ||
		    (r->count[FP_ST_EXACT] == b->count[FP_ST_EXACT] &&
		     r->count[FP_ST_CONTRADICTED] < b->count[FP_ST_CONTRADICTED]))
			best = nruns - 1;
	}
	unsigned disputed = 0;
	for (size_t i = 0; nruns && i < runs[best].out.n; i++) {
		const struct hd_field_fact *f = &runs[best].out.v[i];
		if (!undisputed(runs, nruns, best, own, i)) {
			disputed++;
			continue;
		}
		if (ff_add(ff, f, runs[best].out.names[i]) != 0)
			goto free_runs;
	}
	size_t complete = 0, last_refs = 0;
	if ((nruns && add_complete(ff, runs, nruns, best, own, &complete) != 0) ||
	    name_last_references(ff, in, &last_refs) != 0)
		goto free_runs;
	if (in->log)
		fprintf(in->log, "predicted names: %zu classes' last reference named from their "
			"name list\n", last_refs);
	if (in->log && nruns)
		fprintf(in->log,
			"predicted names: %zu fields, JDK %u; %u left unnamed (of a kind with "
			"others, in another JDK's order), %u disputed by another JDK; %zu classes "
			"complete\n",
			runs[best].out.n - disputed, jdk_major(runs[best].jdk), runs[best].withheld,
			disputed, complete);
	/* The image's classes said which algorithm laid them out. */
	ff->sequential_layout = nruns && runs[best].algo_ok[FP_SEQUENTIAL] &&
				!runs[best].algo_ok[FP_GAPS];
	rc = 0;
free_runs:
	for (size_t i = 0; i < nruns; i++)
		run_free(&runs[i]);
out:
	for (size_t i = 0; i < njdks; i++)
		jdk_close(jdks[i]);
	free(order);
	free(facts);
	return rc;
}
