/* Names placed by the layout algorithm (symbols/fieldpredict.c), on class
 * tables made by hand for the 22.3 layout (hash in the header, fields one
 * after another) and the 25 layout (fields in gaps, a per-type hash), with
 * JDK class files from a test double of symbols/jdkclasses.h. */
#include "../../symbols/fieldpredict.h"
#include "../../symbols/classes.h"
#include "../../symbols/imageobjs.h"
#include "../../symbols/jdkclasses.h"
#include "../../symbols/layout.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The test double: "installed" JDKs made of static class tables.  It is
 * linked before the library, so the real jdkclasses.c is never pulled in. */
struct hd_jdk {
	unsigned major;
	const struct hd_jclass *classes;
	size_t n;
};
static struct hd_jdk installed[2];
static size_t ninstalled;
static unsigned opened;

int jdk_open(struct hd_jdk **out, const char *dir, unsigned major)
{
	*out = NULL;
	if (dir || !ninstalled)
		return hd_fail(HD_E_NOENT, "no JDK");
	opened++;
	*out = &installed[0];
	for (size_t i = 0; i < ninstalled; i++)
		if (installed[i].major == major)
			*out = &installed[i];
	return 0;
}

unsigned jdk_major(const struct hd_jdk *j)
{
	return j->major;
}

const struct hd_jclass *jdk_class(struct hd_jdk *j, const char *name)
{
	for (size_t i = 0; i < j->n; i++)
		if (strcmp(j->classes[i].name, name) == 0)
			return &j->classes[i];
	return NULL;
}

void jdk_close(struct hd_jdk *j)
{
	(void)j;
}

#define F(n, d) {(char *)(n), (d), false}
#define STATIC(n, d) {(char *)(n), (d), true}
#define JCLASS(n, s, fields) {(char *)(n), (char *)(s), fields, sizeof fields / sizeof fields[0]}

static struct hd_jfield no_fields[1];
static struct hd_jfield abstract_map[] = {F("keySet", 'L'), F("values", 'L')};
static struct hd_jfield hash_map[] = {
	STATIC("DEFAULT_LOAD_FACTOR", 'F'), F("table", '['), F("entrySet", 'L'),
	F("size", 'I'), F("modCount", 'I'), F("threshold", 'I'), F("loadFactor", 'F'),
};
static struct hd_jfield two_ints[] = {F("x", 'I'), F("y", 'I')};
static struct hd_jfield one_long[] = {F("l", 'J')};
static struct hd_jfield one_int[] = {F("i", 'I')};
static struct hd_jfield refs3[] = {F("a", 'L'), F("b", 'L'), F("c", 'L')};
static struct hd_jfield reference[] = {F("referent", 'L'), F("queue", 'L'), F("next", 'L'),
				       F("discovered", 'L')};

static const struct hd_jclass jdk_classes[] = {
	{(char *)"java.lang.Object", NULL, no_fields, 0},
	JCLASS("java.util.AbstractMap", "java.lang.Object", abstract_map),
	JCLASS("java.util.HashMap", "java.util.AbstractMap", hash_map),
	JCLASS("p.TwoInts", "java.lang.Object", two_ints),
	JCLASS("p.Long", "java.lang.Object", one_long),
	JCLASS("p.Int1", "p.Long", one_int),
	JCLASS("p.Int2", "p.Long", one_int),
	JCLASS("p.Int3", "p.Long", one_int),
	JCLASS("p.Refs", "java.lang.Object", refs3),
	JCLASS("p.SubMap", "java.util.AbstractMap", refs3),
	JCLASS("java.lang.ref.Reference", "java.lang.Object", reference),
	{(char *)"java.lang.ref.WeakReference", (char *)"java.lang.ref.Reference", no_fields, 0},
};

/* A class of the image: its layout as the image's hub and reference map
 * say, nothing about names. */
struct spec {
	const char *name;
	int32_t jsuper;
	enum hd_class_kind kind;
	uint32_t size;
	uint16_t idhash;
	uint32_t refs[8]; /* reference slots, 0-terminated */
};

/* An image heap of a few objects: object 0 the VM's version string (a
 * byte[]), the others a test's instances. */
#define HEAP_OBJS 4
struct heap {
	hd_memview *mv;
	struct hd_imageobjs objs;
	uint64_t addr[HEAP_OBJS];
	uint32_t cls[HEAP_OBJS], by_class[HEAP_OBJS];
	size_t first[16];
	uint64_t words[HEAP_OBJS][9];
	uint8_t version[96];
};

struct fixture {
	struct hd_classes cl;
	struct hd_layout L;
	struct hd_field_facts ff;
	struct hd_names_input in;
	struct heap h;
};

/* The version string the image heap holds, NULL for none. */
static const char *image_version = "GraalVM 22.3.1 Java 17 CE";

/* Indexes the heap's N objects by class and hands them to X's input. */
static void heap_done(struct fixture *x, unsigned n)
{
	struct heap *h = &x->h;
	size_t m = 0;
	for (size_t k = 0; k < x->cl.n; k++) {
		h->first[k] = m;
		for (unsigned i = 0; i < n; i++)
			if (h->cls[i] == k)
				h->by_class[m++] = i;
	}
	h->first[x->cl.n] = m;
	h->objs = (struct hd_imageobjs){.classes = &x->cl, .addr = h->addr, .cls = h->cls, .n = n,
					.by_class = h->by_class, .first = h->first};
	x->in.mv = h->mv;
	x->in.objs = &h->objs;
}

/* The class table of S[0..N) plus a byte[] class (the version string's),
 * and an image heap that holds the version string. */
static void build(struct fixture *x, const struct spec *s, size_t n, bool v25)
{
	memset(x, 0, sizeof *x);
	x->cl.v = calloc(n + 1, sizeof *x->cl.v);
	cr_assert_not_null(x->cl.v);
	x->cl.n = n + 1;
	for (size_t i = 0; i < n; i++) {
		struct hd_class *c = &x->cl.v[i];
		c->hub = 0x10000 + 0x100 * i;
		c->name = strdup(s[i].name);
		c->jsuper = s[i].jsuper;
		c->kind = s[i].kind;
		c->fixed_size = s[i].size;
		c->idhash_off = s[i].idhash;
		c->is_reference = strncmp(c->name, "java.lang.ref.", 14) == 0;
		c->fields = calloc(8, sizeof *c->fields);
		for (size_t k = 0; k < 8 && s[i].refs[k]; k++)
			c->fields[c->nfields++] = (struct hd_field){.offset = s[i].refs[k], .type = HD_T_OBJECT};
	}
	struct hd_class *bytes = &x->cl.v[n];
	*bytes = (struct hd_class){.hub = 0x10000 + 0x100 * n, .name = strdup("[B"),
				   .enc = (int32_t)0xE0001000u, .kind = HD_KIND_PRIM_ARRAY,
				   .jsuper = 0};
	x->L.ref_size = 8;
	x->L.hdr_size = 8;
	x->L.array_length_off = 12;
	x->L.hub_idhash = v25 ? 0x50 : -1;
	x->L.idhash_fixed_off = 8;
	x->L.referent_off = -1;
	x->in = (struct hd_names_input){.L = &x->L, .classes = &x->cl};
	x->h.mv = mv_new_local();
	cr_assert_not_null(x->h.mv);
	const char *v = image_version ? image_version : "no version here";
	uint32_t len = (uint32_t)strlen(v);
	memcpy(x->h.version + 12, &len, 4);
	memcpy(x->h.version + 16, v, len);
	x->h.addr[0] = 0x80000;
	x->h.cls[0] = (uint32_t)n;
	cr_assert_eq(mv_add_local(x->h.mv, 0x80000, x->h.version, sizeof x->h.version), 0);
	heap_done(x, 1);
	installed[0] = (struct hd_jdk){17, jdk_classes, sizeof jdk_classes / sizeof jdk_classes[0]};
	ninstalled = 1;
	opened = 0;
}

static void teardown_fixture(struct fixture *x)
{
	for (size_t i = 0; i < x->cl.n; i++) {
		free(x->cl.v[i].name);
		free(x->cl.v[i].fields);
	}
	free(x->cl.v);
	ff_free(&x->ff);
	mv_free(x->h.mv);
}

/* Object I (1 and up, ascending addresses) of class K at ADDR, whose words
 * at byte offsets OFFS[j] hold VALS[j] (up to three, 0-terminated). */
static void heap_obj(struct fixture *x, unsigned i, uint32_t k, uint64_t addr,
		     const unsigned offs[3], const uint64_t vals[3])
{
	struct heap *h = &x->h;
	h->addr[i] = addr;
	h->cls[i] = k;
	for (unsigned j = 0; j < 3 && offs[j]; j++)
		h->words[i][offs[j] / 8] = vals[j];
	cr_assert_eq(mv_add_local(h->mv, addr, h->words[i], sizeof h->words[i]), 0);
}

/* Two instances of class K of X, whose reference slots at 16, 24 and 32
 * hold the values in SLOTS (0: null). */
static void image_heap_of(struct fixture *x, uint32_t k, const uint64_t slots[2][3])
{
	static const unsigned offs[3] = {16, 24, 32};
	for (unsigned i = 0; i < 2; i++)
		heap_obj(x, i + 1, k, 0x100000 + 0x100 * i, offs, slots[i]);
	heap_done(x, 3);
}

static void image_heap(struct fixture *x, const uint64_t slots[2][3])
{
	image_heap_of(x, 1, slots);
}

/* Runs the predictor with its -v lines kept in *LOG (malloc'd). */
static void predict_logged(struct fixture *x, char **log)
{
	size_t len;
	FILE *f = open_memstream(log, &len);
	cr_assert_not_null(f);
	x->in.log = f;
	cr_assert_eq(fieldpredict_facts(&x->ff, &x->in), 0);
	fclose(f);
	x->in.log = NULL;
}

/* The offset of the predicted fact NAME of class K, -1 if none. */
static int predicted(const struct fixture *x, size_t k, const char *name, uint8_t *type)
{
	int found = -1;
	for (size_t i = 0; i < x->ff.n; i++) {
		const struct hd_field_fact *f = &x->ff.v[i];
		if (f->source == HD_SRC_PREDICTED && f->hub == x->cl.v[k].hub &&
		    strcmp(ff_name(&x->ff, f->name), name) == 0) {
			cr_assert_eq(found, -1, "%s predicted twice", name);
			found = (int)f->offset;
			if (type)
				*type = f->type;
		}
	}
	return found;
}

static size_t predicted_count(const struct fixture *x)
{
	size_t n = 0;
	for (size_t i = 0; i < x->ff.n; i++)
		n += x->ff.v[i].source == HD_SRC_PREDICTED;
	return n;
}

static void add_list(struct fixture *x, size_t k, const char *const *names, size_t n)
{
	cr_assert_eq(ff_add_list(&x->ff, x->cl.v[k].hub, names, n), 0);
}

/* 22.3: hash @8, fields from 12 one after another; a superclass's padding
 * is not reused, the monitor comes after the class's own fields.  HashMap
 * has its name list (a static among the names), without which loadFactor
 * could as well have been removed: it lies where padding would.  Three
 * classes only the sequential layout reproduces (an int after a long that
 * left 12..16 empty: 32 bytes sequentially, 24 in the gap) tell the
 * algorithm. */
static const struct spec seq_classes[] = {
	{"java.lang.Object", -1, HD_KIND_INSTANCE, 16, 0, {0}},
	{"java.util.AbstractMap", 0, HD_KIND_NONE, 0, 0, {0}},
	/* keySet 16, values 24 | table 32, entrySet 40, loadFactor 48, size 52,
	 * modCount 56, threshold 60, monitor 64 */
	{"java.util.HashMap", 1, HD_KIND_INSTANCE, 72, 0, {16, 24, 32, 40, 64}},
	{"p.Long", 0, HD_KIND_INSTANCE, 24, 0, {0}},
	{"p.Int1", 3, HD_KIND_INSTANCE, 32, 0, {0}},
	{"p.Int2", 3, HD_KIND_INSTANCE, 32, 0, {0}},
	{"p.Int3", 3, HD_KIND_INSTANCE, 32, 0, {0}},
};

Test(fieldpredict, sequential_layout_of_22_3_is_reproduced)
{
	struct fixture x;
	build(&x, seq_classes, sizeof seq_classes / sizeof seq_classes[0], false);
	static const char *const names[] = {"DEFAULT_LOAD_FACTOR", "table", "entrySet", "size",
					    "modCount", "threshold", "loadFactor"};
	add_list(&x, 2, names, 7);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	uint8_t t = 0;
	cr_assert_eq(predicted(&x, 1, "keySet", &t), 16);
	cr_assert_eq(t, HD_T_OBJECT);
	cr_assert_eq(predicted(&x, 1, "values", NULL), 24);
	cr_assert_eq(predicted(&x, 2, "table", &t), 32);
	cr_assert_eq(t, HD_T_OBJECT);
	cr_assert_eq(predicted(&x, 2, "entrySet", NULL), 40);
	cr_assert_eq(predicted(&x, 2, "loadFactor", &t), 48);
	cr_assert_eq(t, HD_T_FLOAT);
	cr_assert_eq(predicted(&x, 2, "size", &t), 52);
	cr_assert_eq(t, HD_T_INT);
	cr_assert_eq(predicted(&x, 2, "modCount", NULL), 56);
	cr_assert_eq(predicted(&x, 2, "threshold", NULL), 60);
	cr_assert_eq(predicted(&x, 2, "DEFAULT_LOAD_FACTOR", NULL), -1, "statics are not placed");
	cr_assert_eq(predicted(&x, 3, "l", &t), 16);
	cr_assert_eq(t, HD_T_LONG);
	cr_assert_eq(predicted(&x, 4, "i", NULL), 24);
	cr_assert_eq(predicted_count(&x), 2 + 6 + 1 + 3);
	cr_assert(x.ff.sequential_layout, "the classes prove the sequential layout");
	teardown_fixture(&x);
}

/* Without the classes that tell the algorithms apart, HashMap's primitives
 * lie elsewhere in the gap-filling layout (loadFactor in 12..16), which
 * reproduces the same size and references: they stay unnamed, the
 * references (the same in both) are named. */
Test(fieldpredict, algorithms_that_disagree_leave_names_out)
{
	struct fixture x;
	build(&x, seq_classes, 3, false);
	static const char *const names[] = {"table", "entrySet", "size", "modCount", "threshold",
					    "loadFactor"};
	add_list(&x, 2, names, 6);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 2, "table", NULL), 32);
	cr_assert_eq(predicted(&x, 2, "entrySet", NULL), 40);
	cr_assert_eq(predicted(&x, 2, "loadFactor", NULL), -1);
	cr_assert_eq(predicted(&x, 2, "size", NULL), -1);
	cr_assert_not(x.ff.sequential_layout, "nothing proves the sequential layout");
	teardown_fixture(&x);
}

/* 25: fields from 8 into the best gap or appended, then the monitor, then
 * the per-type hash (counted in the size).  No name list: every removal
 * pattern is tried and only the full set reproduces. */
static const struct spec gap_classes[] = {
	{"java.lang.Object", -1, HD_KIND_INSTANCE, 16, 8, {0}},
	{"java.util.AbstractMap", 0, HD_KIND_NONE, 0, 0, {0}},
	/* keySet 8, values 16 | table 24, entrySet 32, loadFactor 40, size 44,
	 * modCount 48, threshold 52, monitor 56, hash 64 */
	{"java.util.HashMap", 1, HD_KIND_INSTANCE, 72, 64, {8, 16, 24, 32, 56}},
	/* one of x, y was removed: 8, hash 12 */
	{"p.TwoInts", 0, HD_KIND_INSTANCE, 16, 12, {0}},
	/* l 8 would give 24 bytes */
	{"p.Long", 0, HD_KIND_INSTANCE, 40, 16, {0}},
};

Test(fieldpredict, gap_layout_of_25_is_reproduced)
{
	struct fixture x;
	build(&x, gap_classes, sizeof gap_classes / sizeof gap_classes[0], true);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 1, "keySet", NULL), 8);
	cr_assert_eq(predicted(&x, 1, "values", NULL), 16);
	cr_assert_eq(predicted(&x, 2, "table", NULL), 24);
	cr_assert_eq(predicted(&x, 2, "entrySet", NULL), 32);
	cr_assert_eq(predicted(&x, 2, "loadFactor", NULL), 40);
	cr_assert_eq(predicted(&x, 2, "size", NULL), 44);
	cr_assert_eq(predicted(&x, 2, "modCount", NULL), 48);
	cr_assert_eq(predicted(&x, 2, "threshold", NULL), 52);
	/* Ambiguous: one int of two, no list to say which. */
	cr_assert_eq(predicted(&x, 3, "x", NULL), -1);
	cr_assert_eq(predicted(&x, 3, "y", NULL), -1);
	/* Contradicted: the size does not fit. */
	cr_assert_eq(predicted(&x, 4, "l", NULL), -1);
	cr_assert_eq(predicted_count(&x), 8);
	teardown_fixture(&x);
}

/* A wrong hash offset refutes the layout as a wrong size does. */
Test(fieldpredict, wrong_hash_offset_contradicts)
{
	struct spec s[3];
	memcpy(s, gap_classes, sizeof s);
	s[2].idhash = 60;
	struct fixture x;
	build(&x, s, 3, true);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 2, "table", NULL), -1);
	cr_assert_eq(predicted(&x, 1, "keySet", NULL), -1, "no subclass speaks for it");
	cr_assert_eq(predicted_count(&x), 0);
	teardown_fixture(&x);
}

/* The name list says which of two same-size fields exists. */
Test(fieldpredict, name_list_filters_the_fields)
{
	struct fixture x;
	build(&x, gap_classes, 4, true);
	static const char *const y[] = {"y"};
	add_list(&x, 3, y, 1);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	uint8_t t = 0;
	cr_assert_eq(predicted(&x, 3, "y", &t), 8);
	cr_assert_eq(t, HD_T_INT);
	cr_assert_eq(predicted(&x, 3, "x", NULL), -1);
	teardown_fixture(&x);
}

/* A listed name the class file does not declare (a field the image builder
 * injected) means the class file is not the image's class. */
Test(fieldpredict, injected_field_contradicts)
{
	struct fixture x;
	build(&x, gap_classes, 4, true);
	static const char *const names[] = {"y", "injected"};
	add_list(&x, 3, names, 2);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 3, "y", NULL), -1);
	teardown_fixture(&x);
}

/* Another source's fact at another offset refutes the layout; one at the
 * predicted offset confirms it. */
Test(fieldpredict, other_sources_check_the_layout)
{
	struct fixture x;
	build(&x, gap_classes, 3, true);
	struct hd_field_fact f = {.hub = x.cl.v[2].hub, .offset = 44, .type = HD_T_INT,
				  .source = HD_SRC_SUBSTRATE};
	cr_assert_eq(ff_add(&x.ff, &f, "size"), 0);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 2, "size", NULL), 44);
	teardown_fixture(&x);

	build(&x, gap_classes, 3, true);
	f.hub = x.cl.v[2].hub;
	f.offset = 48;
	cr_assert_eq(ff_add(&x.ff, &f, "size"), 0);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted_count(&x), 0);
	teardown_fixture(&x);
}

/* The image's Java unknown: of the installed JDKs, the one whose class
 * files reproduce the most classes is used (JDK 25's extra reference leaves
 * HashMap ambiguous); a kind with two fields or more stays unnamed — their
 * order could be another version's — and so does a name another installed
 * JDK places otherwise (loadFactor, which JDK 25 calls lf). */
Test(fieldpredict, the_jdk_that_reproduces_is_chosen)
{
	static struct hd_jfield hash_map_new[] = {F("table", '['), F("entrySet", 'L'),
						  F("size", 'I'), F("modCount", 'I'),
						  F("threshold", 'I'), F("lf", 'F'),
						  F("added", 'L')};
	static const struct hd_jclass newer[] = {
		{(char *)"java.lang.Object", NULL, no_fields, 0},
		JCLASS("java.util.AbstractMap", "java.lang.Object", abstract_map),
		JCLASS("java.util.HashMap", "java.util.AbstractMap", hash_map_new),
	};
	image_version = NULL;
	struct fixture x;
	build(&x, gap_classes, 3, true);
	installed[1] = installed[0];
	installed[0] = (struct hd_jdk){25, newer, 3};
	ninstalled = 2;
	char *log = NULL;
	predict_logged(&x, &log);
	cr_assert_not_null(strstr(log, "fields, JDK 17;"), "%s", log);
	cr_assert_not_null(strstr(log, "1 disputed by another JDK"), "%s", log);
	free(log);
	cr_assert_eq(predicted(&x, 2, "loadFactor", NULL), -1);
	cr_assert_eq(predicted(&x, 2, "lf", NULL), -1);
	cr_assert_eq(predicted(&x, 2, "table", NULL), -1);
	cr_assert_eq(predicted(&x, 2, "size", NULL), -1);
	cr_assert_gt(opened, 2);
	teardown_fixture(&x);
}

/* The image's own JDK, when installed, is the one used: the version string
 * says 25 ("GraalVM CE 25+37.1"), and all names are placed. */
Test(fieldpredict, the_images_own_jdk_is_used)
{
	static struct hd_jfield hash_map_25[] = {F("table", '['), F("entrySet", 'L'),
						 F("size", 'I'), F("modCount", 'I'),
						 F("threshold", 'I'), F("lf25", 'F')};
	static const struct hd_jclass jdk25[] = {
		{(char *)"java.lang.Object", NULL, no_fields, 0},
		JCLASS("java.util.AbstractMap", "java.lang.Object", abstract_map),
		JCLASS("java.util.HashMap", "java.util.AbstractMap", hash_map_25),
	};
	image_version = "GraalVM CE 25+37.1";
	struct fixture x;
	build(&x, gap_classes, 3, true);
	installed[1] = (struct hd_jdk){25, jdk25, 3};
	ninstalled = 2;
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 2, "lf25", NULL), 40);
	cr_assert_eq(predicted(&x, 2, "loadFactor", NULL), -1);
	cr_assert_eq(predicted(&x, 2, "table", NULL), 24);
	cr_assert_eq(predicted(&x, 2, "size", NULL), 44);
	teardown_fixture(&x);
}

/* The image's Java is 11 and only 17 is installed: only fields alone of
 * their kind are named. */
Test(fieldpredict, another_jdks_order_is_not_trusted)
{
	image_version = "GraalVM 22.3.1 Java 11 CE";
	struct fixture x;
	build(&x, seq_classes, sizeof seq_classes / sizeof seq_classes[0], false);
	static const char *const names[] = {"table", "entrySet", "size", "modCount", "threshold",
					    "loadFactor"};
	add_list(&x, 2, names, 6);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 2, "loadFactor", NULL), 48);
	cr_assert_eq(predicted(&x, 2, "table", NULL), -1);
	cr_assert_eq(predicted(&x, 2, "size", NULL), -1);
	cr_assert_eq(predicted(&x, 1, "keySet", NULL), -1);
	cr_assert_eq(predicted(&x, 3, "l", NULL), 16);
	teardown_fixture(&x);
}

/* No JDK at all: nothing predicted, and no failure. */
Test(fieldpredict, no_jdk_is_no_failure)
{
	struct fixture x;
	build(&x, gap_classes, 3, true);
	ninstalled = 0;
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted_count(&x), 0);
	teardown_fixture(&x);
}

/* A class the JDK does not have, whose name list holds one name: a
 * reference where the reference map has one, seen holding a reference in
 * an image-heap instance. */
static const struct spec listed_classes[] = {
	{"java.lang.Object", -1, HD_KIND_INSTANCE, 16, 0, {0}},
	{"q.Ref", 0, HD_KIND_INSTANCE, 24, 0, {16}},
};

Test(fieldpredict, one_listed_reference_is_placed)
{
	struct fixture x;
	build(&x, listed_classes, 2, false);
	static const uint64_t slots[2][3] = {{0, 0, 0}, {0x100000, 0, 0}};
	image_heap(&x, slots);
	static const char *const names[] = {"a"};
	add_list(&x, 1, names, 1);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	uint8_t t = 0;
	cr_assert_eq(predicted(&x, 1, "a", &t), 16);
	cr_assert_eq(t, HD_T_OBJECT);
	teardown_fixture(&x);
}

/* The list's order is not the declaration order: two listed references
 * could lie either way round. */
Test(fieldpredict, two_listed_references_are_not_placed)
{
	static const struct spec s[] = {
		{"java.lang.Object", -1, HD_KIND_INSTANCE, 16, 0, {0}},
		{"q.Refs", 0, HD_KIND_INSTANCE, 32, 0, {16, 24}},
	};
	struct fixture x;
	build(&x, s, 2, false);
	static const uint64_t slots[2][3] = {{0x100000, 0x100000, 0}, {0, 0, 0}};
	image_heap(&x, slots);
	static const char *const names[] = {"a", "b"};
	add_list(&x, 1, names, 2);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted_count(&x), 0);
	teardown_fixture(&x);
}

/* The same reference map from a static name and a monitor slot: the
 * monitor slot is null in every instance, so the name is not placed. */
Test(fieldpredict, monitor_slot_is_not_taken_for_a_listed_field)
{
	struct fixture x;
	build(&x, listed_classes, 2, false);
	static const uint64_t slots[2][3] = {{0, 0x100000, 0}, {0, 0, 0}};
	image_heap(&x, slots);
	static const char *const names[] = {"STATIC"};
	add_list(&x, 1, names, 1);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted_count(&x), 0);
	teardown_fixture(&x);
}

/* A listed name another source types as a primitive is laid out as one
 * (the int before the reference, sequentially from 12); a fact for a name
 * the list does not have leaves the class alone. */
Test(fieldpredict, listed_primitive_takes_its_type_from_other_sources)
{
	static const char *const names[] = {"a", "n"};
	static const uint64_t slots[2][3] = {{0x100000, 0, 0}, {0, 0, 0}};
	struct fixture x;
	build(&x, listed_classes, 2, false);
	image_heap(&x, slots);
	add_list(&x, 1, names, 2);
	struct hd_field_fact f = {.hub = x.cl.v[1].hub, .offset = 12, .type = HD_T_INT,
				  .source = HD_SRC_SUBSTRATE};
	cr_assert_eq(ff_add(&x.ff, &f, "n"), 0);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 1, "a", NULL), 16);
	cr_assert_eq(predicted(&x, 1, "n", NULL), 12);
	teardown_fixture(&x);

	build(&x, listed_classes, 2, false);
	image_heap(&x, slots);
	add_list(&x, 1, names, 2);
	f.hub = x.cl.v[1].hub;
	cr_assert_eq(ff_add(&x.ff, &f, "n"), 0);
	cr_assert_eq(ff_add(&x.ff, &f, "unlisted"), 0);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted_count(&x), 0);
	teardown_fixture(&x);
}

/* java.lang.ref.Reference: the image's reference map leaves the referent
 * out (the class table marks it all the same), which refutes the class
 * file's layout — the image builder substitutes the class and its field
 * order is not the class file's. */
Test(fieldpredict, substituted_reference_is_contradicted)
{
	static const struct spec s[] = {
		{"java.lang.Object", -1, HD_KIND_INSTANCE, 16, 0, {0}},
		{"java.lang.ref.Reference", 0, HD_KIND_NONE, 0, 0, {0}},
		{"java.lang.ref.WeakReference", 1, HD_KIND_INSTANCE, 48, 0, {16, 24, 32, 40}},
	};
	struct fixture x;
	build(&x, s, 3, false);
	x.L.referent_off = 16;
	static const char *const names[] = {"referent", "queue", "next", "discovered"};
	add_list(&x, 1, names, 4);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted_count(&x), 0);
	teardown_fixture(&x);
}

/* JDKs that reproduce as many classes: the one refuted by fewer wins. */
Test(fieldpredict, of_equal_jdks_the_less_refuted_is_chosen)
{
	static struct hd_jfield one_long_z[] = {F("z", 'J')};
	static const struct hd_jclass refuted[] = {
		{(char *)"java.lang.Object", NULL, no_fields, 0},
		JCLASS("java.util.AbstractMap", "java.lang.Object", abstract_map),
		JCLASS("java.util.HashMap", "java.util.AbstractMap", hash_map),
		JCLASS("p.TwoInts", "java.lang.Object", one_long_z),
	};
	static const struct hd_jclass fitting[] = {
		{(char *)"java.lang.Object", NULL, no_fields, 0},
		JCLASS("java.util.AbstractMap", "java.lang.Object", abstract_map),
		JCLASS("java.util.HashMap", "java.util.AbstractMap", hash_map),
		JCLASS("p.TwoInts", "java.lang.Object", two_ints),
	};
	image_version = NULL;
	struct fixture x;
	build(&x, gap_classes, 4, true);
	installed[0] = (struct hd_jdk){17, refuted, 4};
	installed[1] = (struct hd_jdk){21, fitting, 4};
	ninstalled = 2;
	char *log = NULL;
	predict_logged(&x, &log);
	cr_assert_not_null(strstr(log, "fields, JDK 21;"), "%s", log);
	free(log);
	cr_assert_eq(predicted(&x, 2, "loadFactor", NULL), 40, "both agree");
	teardown_fixture(&x);
}

/* A HashMap instance whose table is TABLE and whose bytes 64..72 (its
 * identity hash 64..68, then padding) are WORD64, and a HashMap$Node[]. */
static void hash_map_heap(struct fixture *x, uint64_t table, uint64_t word64)
{
	static const struct spec s[] = {
		{"java.lang.Object", -1, HD_KIND_INSTANCE, 16, 8, {0}},
		{"java.util.AbstractMap", 0, HD_KIND_NONE, 0, 0, {0}},
		{"java.util.HashMap", 1, HD_KIND_INSTANCE, 72, 64, {8, 16, 24, 32, 56}},
		{"[Ljava.util.HashMap$Node;", -1, HD_KIND_OBJ_ARRAY, 0, 0, {0}},
	};
	build(x, s, 4, true);
	static const unsigned map_offs[3] = {24, 64, 0}, no_offs[3] = {0};
	const uint64_t vals[3] = {table, word64, 0};
	heap_obj(x, 1, 2, 0x100000, map_offs, vals);
	heap_obj(x, 2, 3, 0x100100, no_offs, vals);
	heap_done(x, 3);
}

/* A field declared as an array that holds something else in an instance
 * refutes the layout that put it there. */
Test(fieldpredict, array_field_must_hold_arrays)
{
	struct fixture x;
	hash_map_heap(&x, 0x100100, 0);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 2, "table", NULL), 24);
	teardown_fixture(&x);

	hash_map_heap(&x, 0x100000, 0);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted_count(&x), 0);
	teardown_fixture(&x);
}

/* An abstract class the JDK does not have is placed through its concrete
 * subclasses, whose instances must show a reference in its slots as in
 * theirs: when its one name is a static, the null slot that is really the
 * subclass's monitor refutes the layout. */
Test(fieldpredict, abstract_listed_class_placed_through_its_subclass)
{
	static const struct spec s[] = {
		{"java.lang.Object", -1, HD_KIND_INSTANCE, 16, 0, {0}},
		{"q.Abstract", 0, HD_KIND_NONE, 0, 0, {0}},
		{"q.Concrete", 1, HD_KIND_INSTANCE, 24, 0, {16}},
	};
	struct fixture x;
	build(&x, s, 3, false);
	static const uint64_t full[2][3] = {{0x100000, 0, 0}, {0, 0, 0}};
	image_heap_of(&x, 2, full);
	static const char *const names[] = {"x"};
	add_list(&x, 1, names, 1);
	add_list(&x, 2, names, 0);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 1, "x", NULL), 16);
	teardown_fixture(&x);

	build(&x, s, 3, false);
	static const uint64_t monitor[2][3] = {{0, 0x100000, 0}, {0, 0, 0}};
	image_heap_of(&x, 2, monitor);
	static const char *const a_static[] = {"S"};
	add_list(&x, 1, a_static, 1);
	add_list(&x, 2, names, 0);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted_count(&x), 0);
	teardown_fixture(&x);
}

/* A superclass's layout is the one every reproducing subclass allows:
 * p.SubMap alone cannot tell whether AbstractMap kept one reference or two
 * (its own three, or two of them, fill the rest), HashMap can. */
Test(fieldpredict, superclass_layout_is_what_all_subclasses_allow)
{
	static const struct spec s[] = {
		{"java.lang.Object", -1, HD_KIND_INSTANCE, 16, 8, {0}},
		{"java.util.AbstractMap", 0, HD_KIND_NONE, 0, 0, {0}},
		{"java.util.HashMap", 1, HD_KIND_INSTANCE, 72, 64, {8, 16, 24, 32, 56}},
		{"p.SubMap", 1, HD_KIND_INSTANCE, 48, 40, {8, 16, 24, 32}},
	};
	struct fixture x;
	build(&x, s, 4, true);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 1, "keySet", NULL), 8);
	cr_assert_eq(predicted(&x, 1, "values", NULL), 16);
	cr_assert_eq(predicted(&x, 3, "a", NULL), -1, "two of three, or three");
	teardown_fixture(&x);

	build(&x, s, 4, true);
	x.cl.v[2].kind = HD_KIND_NONE; /* without HashMap's word */
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 1, "keySet", NULL), -1);
	teardown_fixture(&x);
}

/* The names of the name list of class K, joined by spaces ("" for an empty
 * list), NULL for none; the order is the list's. */
static char *list_of(const struct fixture *x, size_t k)
{
	const struct hd_name_list *l = ff_list_of(&x->ff, x->cl.v[k].hub);
	if (!l)
		return NULL;
	static char buf[256];
	buf[0] = '\0';
	for (uint32_t i = 0; i < l->n; i++) {
		strcat(buf, i ? " " : "");
		strcat(buf, ff_name(&x->ff, x->ff.list_names[l->first + i]));
	}
	return buf;
}

/* A class every reproducing layout places whole, with the image's own
 * class files, gets its instance names as a name list (statics left out):
 * the class table then knows the rest of its bytes are padding.  A class
 * with a list keeps its own; an ambiguous one gets none. */
Test(fieldpredict, completely_placed_class_gets_a_name_list)
{
	image_version = "GraalVM 22.3.1 Java 17 CE";
	struct fixture x;
	build(&x, gap_classes, 4, true);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_str_eq(list_of(&x, 1), "keySet values");
	cr_assert_str_eq(list_of(&x, 2), "table entrySet loadFactor size modCount threshold");
	cr_assert_null(list_of(&x, 3), "one of x, y: not known which");
	teardown_fixture(&x);

	build(&x, gap_classes, 4, true);
	static const char *const y[] = {"y"};
	add_list(&x, 3, y, 1);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_str_eq(list_of(&x, 3), "y");
	cr_assert_str_eq(list_of(&x, 0), "", "java.lang.Object declares no instance field");
	cr_assert_eq(x.ff.nlists, 4);
	teardown_fixture(&x);
}

/* Another JDK's class files may lack a field of the image's version that
 * lies where they leave padding: the names are placed, no list is made. */
Test(fieldpredict, another_jdks_class_files_make_no_name_list)
{
	image_version = "GraalVM 22.3.1 Java 11 CE";
	struct fixture x;
	build(&x, seq_classes, sizeof seq_classes / sizeof seq_classes[0], false);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 3, "l", NULL), 16);
	cr_assert_null(list_of(&x, 3));
	cr_assert_eq(x.ff.nlists, 0);
	teardown_fixture(&x);
	image_version = "GraalVM 22.3.1 Java 17 CE";
}

/* The image builder writes padding as zeros: a byte that is not belongs to
 * a field the class file does not declare, and no list is made (the names
 * placed stand).  The identity hash is no padding. */
Test(fieldpredict, padding_that_is_not_zero_makes_no_name_list)
{
	struct fixture x;
	hash_map_heap(&x, 0x100100, 0x12345678);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_not_null(list_of(&x, 2));
	teardown_fixture(&x);

	hash_map_heap(&x, 0x100100, 0x100000000ull | 0x12345678);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 2, "size", NULL), 44);
	cr_assert_null(list_of(&x, 2));
	cr_assert_not_null(list_of(&x, 1), "AbstractMap has no instance of its own");
	teardown_fixture(&x);
}

/* Where the hub gives each type's monitor offset, the class table has no
 * field on that slot (it is no field), yet it is in the reference map: the
 * layout with a monitor must put it there.  A class without one (offset 0)
 * is not reproduced by a layout that has one. */
Test(fieldpredict, monitor_offset_from_the_hub)
{
	struct fixture x;
	build(&x, gap_classes, 3, true);
	x.L.hub_monitor = 42;
	x.cl.v[2].nfields = 4; /* the reference map's 8, 16, 24, 32; 56 is the monitor */
	x.cl.v[2].monitor_off = 56;
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 2, "table", NULL), 24);
	cr_assert_eq(predicted(&x, 2, "threshold", NULL), 52);
	teardown_fixture(&x);

	build(&x, gap_classes, 3, true);
	x.L.hub_monitor = 42;
	x.cl.v[2].nfields = 4;
	x.cl.v[2].monitor_off = 0;
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted_count(&x), 0);
	teardown_fixture(&x);

	build(&x, gap_classes, 3, true);
	x.L.hub_monitor = 42;
	x.cl.v[2].monitor_off = 64; /* not where the layout puts it */
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted_count(&x), 0);
	teardown_fixture(&x);
}

/* Classes the JDK does not have: q.Sub's own reference slots are those
 * q.Base's instances lack. */
static const struct spec sub_classes[] = {
	{"java.lang.Object", -1, HD_KIND_INSTANCE, 16, 0, {0}},
	{"q.Base", 0, HD_KIND_INSTANCE, 24, 0, {16}},
	{"q.Sub", 1, HD_KIND_INSTANCE, 40, 0, {16, 24, 32}},
};

/* q.Sub lists s, x and, when another source names it (at 32), a; x is a
 * static when a fact says so.  The hub gives the monitor slots. */
static void sub_with_facts(struct fixture *x, bool a_named, bool x_static)
{
	build(x, sub_classes, 3, false);
	x->L.hub_monitor = 42;
	static const char *const names[] = {"s", "x", "a"};
	add_list(x, 2, names, a_named ? 3 : 2);
	struct hd_field_fact f = {.hub = x->cl.v[2].hub, .offset = 32, .type = HD_T_OBJECT,
				  .source = HD_SRC_SUBSTRATE};
	if (a_named)
		cr_assert_eq(ff_add(&x->ff, &f, "a"), 0);
	f.is_static = true;
	f.offset = 24;
	if (x_static)
		cr_assert_eq(ff_add(&x->ff, &f, "x"), 0);
}

/* s is the one own reference slot left, 24 (32 is a's, or q.Sub's
 * monitor, which is none of its fields). */
Test(fieldpredict, last_reference_takes_the_last_name)
{
	struct fixture x;
	sub_with_facts(&x, true, true);
	char *log = NULL;
	predict_logged(&x, &log);
	cr_assert_not_null(strstr(log, "1 classes' last reference named"), "%s", log);
	free(log);
	uint8_t t = 0;
	cr_assert_eq(predicted(&x, 2, "s", &t), 24);
	cr_assert_eq(t, HD_T_OBJECT);
	cr_assert_eq(predicted_count(&x), 1);
	teardown_fixture(&x);

	sub_with_facts(&x, false, true);
	x.cl.v[2].monitor_off = 32;
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 2, "s", NULL), 24, "the monitor is no field");
	teardown_fixture(&x);
}

/* Two names left (x not known to be a static), two slots left (32 is no
 * monitor), a superclass without instances to say which slots it has, or
 * monitor slots not known (one could be taken for a field): nothing is
 * named. */
Test(fieldpredict, last_reference_needs_one_name_and_one_slot)
{
	struct fixture x;
	sub_with_facts(&x, true, false);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted_count(&x), 0);
	teardown_fixture(&x);

	sub_with_facts(&x, false, true);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted_count(&x), 0);
	teardown_fixture(&x);

	sub_with_facts(&x, true, true);
	x.cl.v[1].kind = HD_KIND_NONE;
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted_count(&x), 0);
	teardown_fixture(&x);

	sub_with_facts(&x, true, true);
	x.L.hub_monitor = 0;
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted_count(&x), 0);
	teardown_fixture(&x);
}

/* q.Sub below an abstract q.Base: q.Base's slots are those its facts
 * place, once they place its whole list.  b at 16 is q.Base's, 32 is a's:
 * s is the one own slot left, 24. */
static void abstract_base_with_facts(struct fixture *x, const char *const *base_list,
				     size_t nbase, unsigned b_at)
{
	sub_with_facts(x, true, true);
	x->cl.v[1].kind = HD_KIND_NONE;
	x->cl.v[1].fixed_size = 0;
	x->cl.v[1].nfields = 0;
	add_list(x, 1, base_list, nbase);
	struct hd_field_fact f = {.hub = x->cl.v[1].hub, .offset = b_at, .type = HD_T_OBJECT,
				  .source = HD_SRC_SUBSTRATE};
	cr_assert_eq(ff_add(&x->ff, &f, "b"), 0);
}

/* The predictor runs and names nothing; the fixture is torn down. */
static void predicts_nothing(struct fixture *x)
{
	cr_assert_eq(fieldpredict_facts(&x->ff, &x->in), 0);
	cr_assert_eq(predicted_count(x), 0);
	teardown_fixture(x);
}

Test(fieldpredict, last_reference_below_a_complete_abstract_superclass)
{
	static const char *const base[] = {"b"}, *const base_more[] = {"b", "c"};
	struct fixture x;
	abstract_base_with_facts(&x, base, 1, 16);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 2, "s", NULL), 24);
	cr_assert_eq(predicted_count(&x), 1);
	teardown_fixture(&x);

	/* c, a field of q.Base nobody placed, could be at 16 or 24: the
	 * slots of q.Base are not known, nothing is named. */
	abstract_base_with_facts(&x, base_more, 2, 16);
	predicts_nothing(&x);

	/* q.Base's fact on no slot of q.Sub leaves two own slots, 16 and 24,
	 * for one name: nothing is named. */
	abstract_base_with_facts(&x, base, 1, 8);
	predicts_nothing(&x);
}

/* A hostile abstract superclass (a list of thousands of names, each placed
 * by a fact) makes each slot's check of its subclasses costly: past a bound
 * on the work of the whole pass, classes are left alone.  q.Burn's eight
 * slots spend it; q.Sub, named (s at 24) when q.Base's list is short, is
 * not. */
static const struct spec burn_classes[] = {
	{"java.lang.Object", -1, HD_KIND_INSTANCE, 16, 0, {0}},
	{"q.Base", 0, HD_KIND_NONE, 0, 0, {0}},
	{"q.Burn", 1, HD_KIND_INSTANCE, 88, 0, {16, 24, 32, 40, 48, 56, 64, 72}},
	{"q.Sub", 1, HD_KIND_INSTANCE, 40, 0, {16, 24}},
};

static void burn_fixture(struct fixture *x, bool burn)
{
	enum { NBASE = 6000 };
	build(x, burn_classes, sizeof burn_classes / sizeof burn_classes[0], false);
	x->L.hub_monitor = 42;
	static char names[NBASE][8];
	static const char *list[NBASE];
	for (unsigned i = 0; i < NBASE; i++) {
		snprintf(names[i], sizeof names[i], "f%u", i);
		list[i] = names[i];
		struct hd_field_fact f = {.hub = x->cl.v[1].hub, .offset = i ? 8 : 16,
					  .type = HD_T_OBJECT, .source = HD_SRC_SUBSTRATE};
		cr_assert_eq(ff_add(&x->ff, &f, names[i]), 0);
	}
	add_list(x, 1, list, burn ? NBASE : 1);
	static const char *const burn_list[] = {"x", "y"}, *const sub_list[] = {"s"};
	add_list(x, 2, burn_list, 2);
	add_list(x, 3, sub_list, 1);
}

Test(fieldpredict, last_reference_work_is_bounded, .timeout = 60)
{
	struct fixture x;
	burn_fixture(&x, false);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 3, "s", NULL), 24);
	teardown_fixture(&x);

	burn_fixture(&x, true);
	cr_assert_eq(fieldpredict_facts(&x.ff, &x.in), 0);
	cr_assert_eq(predicted(&x, 3, "s", NULL), -1);
	teardown_fixture(&x);
}
