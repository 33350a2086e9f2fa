/* Field lists of the reflection metadata (symbols/reflectmeta.c), crafted
 * in each version's dialect with Graal's writer; malicious lists skip their
 * class and nothing else; and, where the pkl binaries are cached, what the
 * real images give. */
#include "../../symbols/reflectmeta.h"
#include "../../symbols/classes.h"
#include "../../lib/exe.h"
#include "../../common/interrupt.h"
#include "varintw.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMPLETE (int32_t)(1u << 31)
#define IN_HEAP (1 << 30)
#define HIDING (1 << 29)
#define NEGATIVE (1 << 28)
#define STATIC 0x8
#define PRIVATE 0x2

enum { N_NULL, N_VALUE, N_CODER, N_HASH, N_KEY, N_NEXT, N_CACHE, N_BAD, N_DIGIT, N_COUNT };
static const char *const names[N_COUNT] = {NULL,  "value", "coder",    "hash", "key",
					   "next", "cache", "bad name", "1x"};
enum { C_OBJECT, C_INT, C_LONG, C_NULL, C_COUNT };
static const uint8_t class_types[C_COUNT] = {HD_T_OBJECT, HD_T_INT, HD_T_LONG, 0};
static const char *const other_names[3] = {NULL, "x", "y"};

/* Metadata under construction, in one dialect. */
struct craft {
	struct varintw w;
	bool signed_counts, trusted_final;
	struct rm_holder holders[32];
	size_t nholders;
};

/* Starts HUB's list of COUNT entries; its holder's first int is no index
 * (classAccessFlags-like garbage), the second the list, the third -1. */
static void list(struct craft *c, uint64_t hub, int32_t count)
{
	struct rm_holder *h = &c->holders[c->nholders++];
	h->hub = hub;
	h->ints[0] = 0x7fff0000 + (int32_t)c->nholders;
	h->ints[1] = (int32_t)c->w.n;
	h->ints[2] = -1;
	if (c->signed_counts)
		vw_sv(&c->w, count);
	else
		vw_uv(&c->w, (uint64_t)count);
}

/* A holder of HUB without a field list (the class has other metadata). */
static void no_list(struct craft *c, uint64_t hub)
{
	struct rm_holder *h = &c->holders[c->nholders++];
	*h = (struct rm_holder){.hub = hub, .ints = {0x7fff0000, -1, (int32_t)c->w.n}};
}

static void modifiers(struct craft *c, int32_t mods)
{
	vw_uv_int(&c->w, mods);
	if (c->signed_counts) { /* 25: one condition type per entry */
		vw_sv(&c->w, 1);
		vw_sv(&c->w, C_OBJECT);
	}
}

static void reachable(struct craft *c, int name)
{
	modifiers(c, 0);
	vw_sv(&c->w, name);
}

static void complete(struct craft *c, int32_t mods, int name, int type, int32_t offset)
{
	modifiers(c, mods | COMPLETE);
	vw_sv(&c->w, name);
	vw_sv(&c->w, type);
	if (c->trusted_final)
		vw_u1(&c->w, 0);
	vw_sv(&c->w, 0);     /* signature: null */
	vw_uv_int(&c->w, -1); /* annotations: none */
	vw_uv_int(&c->w, 2);  /* type annotations: two bytes */
	vw_u1(&c->w, 0xc0);
	vw_u1(&c->w, 0xff);
	vw_sv(&c->w, offset);
	vw_sv(&c->w, 0); /* deleted reason: null */
}

static struct rm_metadata metadata(const struct craft *c, bool names_second)
{
	struct rm_metadata m = {
		.data = c->w.buf, .len = c->w.n, .nstrings = 2,
		.class_types = class_types, .nclasses = C_COUNT,
		.holders = c->holders, .nholders = c->nholders, .nints = 3,
	};
	m.strings[names_second ? 1 : 0] = (struct rm_strings){names, N_COUNT};
	m.strings[names_second ? 0 : 1] = (struct rm_strings){other_names, 3};
	return m;
}

static void assert_list(const struct hd_field_facts *ff, uint64_t hub,
			const char *const *want, size_t n)
{
	const struct hd_name_list *l = ff_list_of(ff, hub);
	cr_assert_not_null(l, "a list for 0x%llx", (unsigned long long)hub);
	cr_assert_eq(l->n, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(ff_name(ff, ff->list_names[l->first + i]), want[i]);
}

static const struct hd_field_fact *fact(const struct hd_field_facts *ff, uint64_t hub,
					const char *name)
{
	for (size_t i = 0; i < ff->n; i++)
		if (ff->v[i].hub == hub && strcmp(ff_name(ff, ff->v[i].name), name) == 0)
			return &ff->v[i];
	return NULL;
}

struct decoded {
	struct hd_field_facts ff;
	struct rm_counts n;
	bool found;
};

static void decode(const struct rm_metadata *m, struct decoded *d)
{
	memset(d, 0, sizeof *d);
	cr_assert_eq(rm_facts_from(&d->ff, m, &d->n, &d->found, NULL), 0);
}

static void assert_counts(const struct rm_counts *got, struct rm_counts want)
{
	cr_assert_eq(got->lists, want.lists);
	cr_assert_eq(got->list_names, want.list_names);
	cr_assert_eq(got->complete, want.complete);
	cr_assert_eq(got->complete_static, want.complete_static);
	cr_assert_eq(got->no_offset, want.no_offset);
	cr_assert_eq(got->in_heap, want.in_heap);
	cr_assert_eq(got->bad_classes, want.bad_classes);
	cr_assert_eq(got->int_slot, want.int_slot, "the fields index is the second int");
	cr_assert_eq(got->names, want.names);
	cr_assert_eq(got->signed_counts, want.signed_counts);
	cr_assert_eq(got->trusted_final, want.trusted_final);
}

/* 22.3 on JDK 11: unsigned counts, no trusted-final byte; name lists of
 * accessed fields, in the image's order; a registered static with its
 * offset joins its class's list. */
Test(reflectmeta, graal_22_3_name_lists)
{
	struct craft c = {0};
	list(&c, 0x1000, 3);
	reachable(&c, N_VALUE);
	reachable(&c, N_HASH);
	reachable(&c, N_CODER);
	list(&c, 0x2000, 4);
	reachable(&c, N_KEY);
	reachable(&c, N_NEXT);
	reachable(&c, N_VALUE);
	reachable(&c, N_HASH);
	list(&c, 0x3000, 2);
	reachable(&c, N_VALUE);
	complete(&c, STATIC | PRIVATE, N_CACHE, C_OBJECT, 40);
	list(&c, 0x4000, 0);
	struct rm_metadata m = metadata(&c, false);
	struct decoded d;
	decode(&m, &d);
	cr_assert(d.found);
	assert_list(&d.ff, 0x1000, (const char *[]){"value", "hash", "coder"}, 3);
	assert_list(&d.ff, 0x2000, (const char *[]){"key", "next", "value", "hash"}, 4);
	assert_list(&d.ff, 0x3000, (const char *[]){"value", "cache"}, 2);
	cr_assert_null(ff_list_of(&d.ff, 0x4000), "an empty list is no list");
	cr_assert_eq(d.ff.n, 1);
	const struct hd_field_fact *f = fact(&d.ff, 0x3000, "cache");
	cr_assert_not_null(f);
	cr_assert(f->is_static);
	cr_assert_eq(f->offset, 40);
	cr_assert_eq(f->type, HD_T_OBJECT);
	cr_assert_eq(f->source, HD_SRC_REFLECTION);
	assert_counts(&d.n, (struct rm_counts){.lists = 3, .list_names = 9, .complete = 1,
					       .complete_static = 1, .int_slot = 1});
	ff_free(&d.ff);
}

/* Reachable entries say that every field with storage has an entry: a
 * holder without a field list is a class without fields (an empty list).
 * Without reachable entries (-H:-IncludeMethodData) that is not known. */
Test(reflectmeta, holder_without_fields_gets_an_empty_list)
{
	struct craft c = {0};
	list(&c, 0x1000, 1);
	reachable(&c, N_VALUE);
	no_list(&c, 0x2000);
	list(&c, 0x3000, 1);
	reachable(&c, N_KEY);
	struct rm_metadata m = metadata(&c, false);
	struct decoded d;
	decode(&m, &d);
	cr_assert(d.found);
	assert_list(&d.ff, 0x2000, NULL, 0);
	cr_assert_eq(d.n.no_fields, 1);
	assert_counts(&d.n, (struct rm_counts){.lists = 2, .list_names = 2, .int_slot = 1});
	ff_free(&d.ff);

	struct craft r = {0};
	list(&r, 0x1000, 1);
	complete(&r, PRIVATE, N_VALUE, C_LONG, 16);
	no_list(&r, 0x2000);
	list(&r, 0x3000, 1);
	complete(&r, PRIVATE, N_KEY, C_OBJECT, 24);
	m = metadata(&r, false);
	decode(&m, &d);
	cr_assert(d.found);
	cr_assert_null(ff_list_of(&d.ff, 0x2000));
	cr_assert_eq(d.n.no_fields, 0);
	ff_free(&d.ff);
}

/* 23.1: a trusted-final byte; registered instance fields with offsets and
 * types; a hiding entry and a Field object leave the class's list open
 * (no list), a negative query is no field; registered fields alone are
 * facts, not a list. */
Test(reflectmeta, graal_23_1_complete_entries)
{
	struct craft c = {.trusted_final = true};
	list(&c, 0x1000, 2);
	complete(&c, PRIVATE, N_VALUE, C_LONG, 16);
	complete(&c, 0, N_HASH, C_INT, 12);
	list(&c, 0x2000, 3);
	reachable(&c, N_KEY);
	modifiers(&c, HIDING | PRIVATE);
	vw_sv(&c.w, N_NEXT);
	vw_sv(&c.w, C_OBJECT);
	reachable(&c, N_VALUE);
	list(&c, 0x3000, 3);
	reachable(&c, N_KEY);
	modifiers(&c, NEGATIVE);
	vw_sv(&c.w, N_NEXT);
	reachable(&c, N_HASH);
	list(&c, 0x5000, 2);
	reachable(&c, N_KEY);
	modifiers(&c, IN_HEAP);
	vw_sv(&c.w, 3);
	list(&c, 0x6000, 1);
	complete(&c, 0, N_CODER, C_INT, -1); /* registered, not unsafe-accessed */
	struct rm_metadata m = metadata(&c, false);
	struct decoded d;
	decode(&m, &d);
	cr_assert(d.found);
	cr_assert_null(ff_list_of(&d.ff, 0x1000), "registered fields are not all the fields");
	const struct hd_field_fact *v = fact(&d.ff, 0x1000, "value"), *h = fact(&d.ff, 0x1000, "hash");
	cr_assert(v && h);
	cr_assert_eq(v->offset, 16);
	cr_assert_eq(v->type, HD_T_LONG);
	cr_assert_not(v->is_static);
	cr_assert_eq(h->offset, 12);
	cr_assert_eq(h->type, HD_T_INT);
	cr_assert_null(ff_list_of(&d.ff, 0x2000), "a hiding entry leaves the list open");
	assert_list(&d.ff, 0x3000, (const char *[]){"key", "hash"}, 2);
	cr_assert_null(ff_list_of(&d.ff, 0x5000), "a Field object's name is not read");
	cr_assert_null(fact(&d.ff, 0x6000, "coder"), "no offset, no fact");
	assert_counts(&d.n, (struct rm_counts){.lists = 1, .list_names = 2, .complete = 2,
					       .no_offset = 1, .in_heap = 1, .int_slot = 1,
					       .trusted_final = true});
	ff_free(&d.ff);
}

/* 25: signed counts, condition types per entry, member names in the second
 * String[]; a negative count is an error index: no list. */
Test(reflectmeta, graal_25_conditions_and_member_names)
{
	struct craft c = {.signed_counts = true, .trusted_final = true};
	for (uint64_t hub = 0x1000; hub < 0x1004; hub++) {
		list(&c, hub, 2);
		complete(&c, 0, N_VALUE, C_OBJECT, 48);
		complete(&c, STATIC, N_CACHE, C_OBJECT, 416);
	}
	list(&c, 0x2000, -5);
	struct rm_metadata m = metadata(&c, true);
	struct decoded d;
	decode(&m, &d);
	cr_assert(d.found);
	assert_counts(&d.n, (struct rm_counts){.complete = 8, .complete_static = 4, .int_slot = 1,
					       .names = 1, .signed_counts = true,
					       .trusted_final = true});
	const struct hd_field_fact *f = fact(&d.ff, 0x1003, "cache");
	cr_assert(f && f->is_static && f->offset == 416);
	cr_assert_eq(d.ff.nlists, 0);
	ff_free(&d.ff);
}

/* Hostile lists: each skips its own class and nothing else. */
Test(reflectmeta, malicious_lists_skip_their_class)
{
	struct craft c = {0};
	for (uint64_t hub = 0x1000; hub < 0x1010; hub++) { /* the good majority */
		list(&c, hub, 2);
		reachable(&c, N_VALUE);
		reachable(&c, N_HASH);
	}
	list(&c, 0x2001, 1 << 30); /* huge count */
	list(&c, 0x2002, 2);        /* name index out of range */
	reachable(&c, N_COUNT);
	reachable(&c, N_VALUE);
	list(&c, 0x2003, 1);        /* a null name */
	reachable(&c, N_NULL);
	list(&c, 0x2004, 1);        /* not an identifier */
	reachable(&c, N_BAD);
	list(&c, 0x2005, 1);
	reachable(&c, N_DIGIT);
	list(&c, 0x2006, 1);        /* negative offset other than "none" */
	complete(&c, 0, N_VALUE, C_INT, -7);
	list(&c, 0x2007, 1);        /* a complete entry of no type */
	complete(&c, 0, N_VALUE, C_NULL, 12);
	list(&c, 0x2008, 1);        /* class index out of range */
	complete(&c, 0, N_VALUE, C_COUNT, 12);
	list(&c, 0x2009, 1);        /* both complete and hiding */
	modifiers(&c, COMPLETE | HIDING);
	vw_sv(&c.w, N_VALUE);
	list(&c, 0x200a, 1);        /* modifiers beyond Java's and the flags */
	modifiers(&c, 1 << 20);
	vw_sv(&c.w, N_VALUE);
	list(&c, 0x200b, 2);        /* a name repeated */
	reachable(&c, N_KEY);
	reachable(&c, N_KEY);
	list(&c, 0x200c, 3);        /* the last: a list running off the end */
	reachable(&c, N_VALUE);
	vw_u1(&c.w, 0);
	vw_u1(&c.w, 0xc5);          /* a varint cut short */
	struct rm_metadata m = metadata(&c, false);
	struct decoded d;
	decode(&m, &d);
	cr_assert(d.found);
	for (uint64_t hub = 0x1000; hub < 0x1010; hub++)
		assert_list(&d.ff, hub, (const char *[]){"value", "hash"}, 2);
	cr_assert_eq(d.ff.nlists, 16, "no list from a bad class");
	cr_assert_eq(d.ff.n, 0, "no fact from a bad class");
	assert_counts(&d.n, (struct rm_counts){.lists = 16, .list_names = 32, .bad_classes = 12,
					       .int_slot = 1});
	ff_free(&d.ff);
}

/* Metadata that is mostly not what we know: nothing at all. */
Test(reflectmeta, undecodable_metadata_adds_nothing)
{
	struct craft c = {0};
	list(&c, 0x1000, 1);
	reachable(&c, N_VALUE);
	for (uint64_t hub = 0x2000; hub < 0x2004; hub++) {
		list(&c, hub, 1);
		reachable(&c, N_BAD);
	}
	struct rm_metadata m = metadata(&c, false);
	struct decoded d;
	decode(&m, &d);
	cr_assert_not(d.found);
	cr_assert_eq(d.ff.n + d.ff.nlists, 0);
	/* and random bytes, every holder's ints pointing into them */
	uint8_t noise[1024];
	srand(7);
	for (size_t i = 0; i < sizeof noise; i++)
		noise[i] = (uint8_t)rand();
	m.data = noise;
	m.len = sizeof noise;
	for (size_t h = 0; h < c.nholders; h++)
		for (int k = 0; k < 3; k++)
			c.holders[h].ints[k] = rand() % (int)sizeof noise;
	ff_free(&d.ff);
	decode(&m, &d);
	cr_assert_eq(d.ff.n + d.ff.nlists, 0);
	ff_free(&d.ff);
}

/* A signal that arrived before (or during) the decoding ends it with
 * HD_E_INTERRUPTED, which the naming passes on. */
Test(reflectmeta, pending_sigint_ends_decoding)
{
	struct craft c = {0};
	list(&c, 0x1000, 1);
	reachable(&c, N_VALUE);
	struct rm_metadata m = metadata(&c, false);
	struct hd_field_facts ff = {0};
	struct rm_counts n;
	bool found;
	hd_install_signal_handlers();
	cr_assert_eq(raise(SIGINT), 0);
	cr_assert_eq(rm_facts_from(&ff, &m, &n, &found, NULL), -1);
	cr_assert_eq(hd_error_class(), HD_E_INTERRUPTED);
	cr_assert_eq(ff.nlists, 0);
	ff_free(&ff);
}

/* The real images, when tests/fetch-pkl.sh has cached them. */
struct real {
	struct hd_elfimage img;
	struct exe x;
	struct hd_field_facts ff;
};

static bool open_image(struct real *r, const char *version)
{
	const char *cache = getenv("HDUMP_CACHE");
	const char *home = getenv("HOME");
	char path[512];
	if (cache)
		snprintf(path, sizeof path, "%s/pkl/%s/pkl", cache, version);
	else
		snprintf(path, sizeof path, "%s/.cache/hdump/pkl/%s/pkl", home ? home : "", version);
	if (access(path, R_OK) != 0)
		return false;
	memset(r, 0, sizeof *r);
	struct hd_events ev = {0};
	cr_assert_eq(exe_open(&r->x, path, &r->img), 0, "%s", hd_error_message());
	cr_assert_eq(exe_discover(&r->x, &ev, NULL), 0, "%s", hd_error_message());
	return true;
}

static void name_fields(struct real *r)
{
	struct hd_names_input in = {.mv = r->x.mv, .L = &r->x.L, .classes = &r->x.classes,
				    .objs = &r->x.naming.objs};
	ff_free(&r->ff);
	cr_assert_eq(reflectmeta_facts(&r->ff, &in), 0);
}

static bool open_real(struct real *r, const char *version)
{
	if (!open_image(r, version))
		return false;
	name_fields(r);
	return true;
}

/* The bytes of the image heap at ADDR, as the memory view serves them. */
static uint8_t *image_bytes(struct real *r, uint64_t addr)
{
	cr_assert(addr >= OFFLINE_IMAGE_START && addr - OFFLINE_IMAGE_START < r->img.heap_size);
	return r->img.heap + (addr - OFFLINE_IMAGE_START);
}

/* Random bytes over [FROM, TO) of every instance of CLASS (kept below LIMIT
 * when LIMIT is not 0). */
static void scramble(struct real *r, const char *class, unsigned from, unsigned to,
		     unsigned limit)
{
	size_t n;
	const uint32_t *v = imageobjs_named(&r->x.naming.objs, class, &n);
	cr_assert_gt(n, 0, "%s", class);
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = image_bytes(r, r->x.naming.objs.addr[v[i]]);
		for (unsigned k = from; k + 4 <= to; k += 4) {
			uint32_t x = (uint32_t)rand();
			if (limit)
				x %= limit;
			memcpy(p + k, &x, 4);
		}
	}
}

static void close_real(struct real *r)
{
	ff_free(&r->ff);
	exe_close(&r->x);
	elfimage_close(&r->img);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of CLASS's list, sorted, joined by spaces. */
static void assert_names(const struct real *r, const char *class, const char *want)
{
	const struct hd_class *c = classes_named(&r->x.classes, class);
	cr_assert_not_null(c, "%s", class);
	const struct hd_name_list *l = ff_list_of(&r->ff, c->hub);
	cr_assert_not_null(l, "%s has a list", class);
	const char *v[64];
	cr_assert(l->n <= 64);
	for (size_t i = 0; i < l->n; i++)
		v[i] = ff_name(&r->ff, r->ff.list_names[l->first + i]);
	qsort(v, l->n, sizeof *v, cmp_str);
	char got[512] = "";
	for (size_t i = 0; i < l->n; i++)
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? " " : "", v[i]);
	cr_assert_str_eq(got, want, "%s", class);
}

Test(reflectmeta, pkl_0_25_1)
{
	struct real r;
	if (!open_real(&r, "0.25.1-2"))
		cr_skip_test("pkl 0.25.1-2 is not cached");
	cr_assert_gt(r.ff.nlists, 7000);
	assert_names(&r, "java.lang.String", "coder hash value");
	assert_names(&r, "java.util.HashMap$Node", "hash key next value");
	assert_names(&r, "java.util.ArrayList", "elementData size");
	assert_names(&r, "java.util.concurrent.locks.AbstractQueuedSynchronizer", "head state tail");
	const struct hd_class *lc = classes_named(&r.x.classes, "java.lang.Long$LongCache");
	const struct hd_field_fact *f = lc ? fact(&r.ff, lc->hub, "cache") : NULL;
	cr_assert(f && f->is_static && f->type == HD_T_OBJECT);
	close_real(&r);
}

/* Hostile metadata in a real image: random bytes for the encoding, then
 * fields indexes anywhere in it too: nothing named, no read out of bounds
 * (the ASan build runs this too). */
Test(reflectmeta, pkl_0_25_1_scrambled)
{
	struct real r;
	if (!open_image(&r, "0.25.1-2"))
		cr_skip_test("pkl 0.25.1-2 is not cached");
	const struct hd_class *holder =
		classes_named(&r.x.classes, "com.oracle.svm.core.hub.DynamicHub$ReflectionMetadata");
	cr_assert_not_null(holder);
	srand(11);
	/* the encoding: the singleton's one byte[] */
	size_t n;
	const uint32_t *enc = imageobjs_named(
		&r.x.naming.objs, "com.oracle.svm.core.reflect.target.ReflectionMetadataEncoding", &n);
	cr_assert_eq(n, 1);
	uint64_t enc_addr = r.x.naming.objs.addr[enc[0]], data = 0;
	const struct hd_class *ec = classes_named(&r.x.classes,
		"com.oracle.svm.core.reflect.target.ReflectionMetadataEncoding");
	const struct hd_class *bc = classes_named(&r.x.classes, "[B");
	for (size_t i = 0; i < ec->nfields && !data; i++) {
		uint64_t to = lay_ref(&r.x.L, image_bytes(&r, enc_addr) + ec->fields[i].offset);
		if (ec->fields[i].type == HD_T_OBJECT && to &&
		    imageobjs_class_at(&r.x.naming.objs, to) == bc)
			data = to;
	}
	long di = imageobjs_find(&r.x.naming.objs, data);
	cr_assert_geq(di, 0);
	uint32_t len = r.x.naming.objs.length[di];
	uint8_t *elems = image_bytes(&r, data) + le_base(bc->enc);
	for (uint32_t i = 0; i < len; i++)
		elems[i] = (uint8_t)rand();
	name_fields(&r);
	cr_assert_eq(r.ff.n + r.ff.nlists, 0, "random metadata names nothing");
	scramble(&r, "com.oracle.svm.core.hub.DynamicHub$ReflectionMetadata", r.x.L.hdr_size,
		 holder->fixed_size, len);
	name_fields(&r);
	cr_assert_eq(r.ff.n + r.ff.nlists, 0, "random fields indexes name nothing");
	close_real(&r);
}

Test(reflectmeta, pkl_0_30_2)
{
	struct real r;
	if (!open_real(&r, "0.30.2"))
		cr_skip_test("pkl 0.30.2 is not cached");
	size_t statics = 0;
	for (size_t i = 0; i < r.ff.n; i++)
		statics += r.ff.v[i].is_static;
	cr_assert_eq(r.ff.n, 84);
	cr_assert_eq(statics, 7);
	cr_assert_eq(r.ff.nlists, 0, "25 keeps no reachable-field names by default");
	const struct hd_class *s =
		classes_named(&r.x.classes, "java.lang.invoke.BoundMethodHandle$Species_LL");
	cr_assert_not_null(s);
	const struct hd_field_fact *a0 = fact(&r.ff, s->hub, "argL0"), *a1 = fact(&r.ff, s->hub, "argL1");
	cr_assert(a0 && a1 && !a0->is_static);
	cr_assert_eq(a1->offset - a0->offset, r.x.L.ref_size, "two references side by side");
	cr_assert(a0->offset >= r.x.L.hdr_size && a1->offset + r.x.L.ref_size <= s->fixed_size);
	close_real(&r);
}
