/* JDK class files (symbols/jdkclasses.c): a crafted class file parsed to its
 * fields; malformed ones (every truncation, indexes out of range or of the
 * wrong kind, huge counts, bad names and descriptors) refused; a crafted
 * JDK directory opened, looked up, and refused where it is no JDK; then,
 * when installed, the real JDK 17 and 25 classes the layout predictor
 * needs first. */
#include "../../symbols/jdkclasses.h"
#include "jimagecraft.h"

#include "tmpdir.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a class file assembler ---- */

struct cf {
	uint8_t b[4096];
	size_t n;
	/* Where the parts a test spoils are. */
	size_t cp_count, tag_integer, this_class, super_class, interface0, fields_count,
		field0_name, hash_text, methods_count;
};

static void u1(struct cf *c, unsigned v)
{
	cr_assert_lt(c->n, sizeof c->b);
	c->b[c->n++] = (uint8_t)v;
}

static void u2(struct cf *c, unsigned v)
{
	u1(c, v >> 8);
	u1(c, v & 0xff);
}

static void u4(struct cf *c, uint32_t v)
{
	u2(c, v >> 16);
	u2(c, v & 0xffff);
}

static void utf8(struct cf *c, const char *s)
{
	u1(c, 1);
	u2(c, (unsigned)strlen(s));
	for (const char *p = s; *p; p++)
		u1(c, (uint8_t)*p);
}

static void put_u2(struct cf *c, size_t at, unsigned v)
{
	c->b[at] = (uint8_t)(v >> 8);
	c->b[at + 1] = (uint8_t)v;
}

/* What varies between the crafted classes. */
struct shape {
	const char *this_name, *super_name; /* super NULL: super_class 0 */
	const char *field0_name, *field0_desc;
};

static const struct shape node = {"p/Node", "java/lang/Object", "hash", "I"};

#define CP_COUNT 40

/* A class THIS extends SUPER implements java.io.Serializable, with five
 * fields (field0, key, static COUNT, grid, static flag), a constructor
 * with a Code attribute, a SourceFile attribute, and a constant of every
 * tag, longs and doubles taking two slots. */
static void assemble(struct cf *c, const struct shape *s)
{
	memset(c, 0, sizeof *c);
	u4(c, 0xCAFEBABEu);
	u2(c, 0);
	u2(c, 61);
	c->cp_count = c->n;
	u2(c, CP_COUNT);
	utf8(c, s->this_name);                 /* 1 */
	u1(c, 7), u2(c, 1);                    /* 2 Class #1 */
	utf8(c, s->super_name ? s->super_name : "unused"); /* 3 */
	u1(c, 7), u2(c, 3);                    /* 4 Class #3 */
	c->hash_text = c->n + 3;
	utf8(c, s->field0_name);               /* 5 */
	utf8(c, s->field0_desc);               /* 6 */
	utf8(c, "key");                        /* 7 */
	utf8(c, "Ljava/lang/Object;");         /* 8 */
	u1(c, 5), u4(c, 0), u4(c, 0x123);      /* 9-10 Long */
	utf8(c, "COUNT");                      /* 11 */
	utf8(c, "J");                          /* 12 */
	utf8(c, "grid");                       /* 13 */
	utf8(c, "[[I");                        /* 14 */
	u1(c, 6), u4(c, 0x40000000), u4(c, 0); /* 15-16 Double */
	u1(c, 15), u1(c, 1), u2(c, 18);        /* 17 MethodHandle */
	u1(c, 9), u2(c, 2), u2(c, 19);         /* 18 Fieldref */
	u1(c, 12), u2(c, 5), u2(c, 6);         /* 19 NameAndType */
	utf8(c, "<init>");                     /* 20 */
	utf8(c, "()V");                        /* 21 */
	utf8(c, "Code");                       /* 22 */
	utf8(c, "SourceFile");                 /* 23 */
	utf8(c, "Node.java");                  /* 24 */
	c->tag_integer = c->n;
	u1(c, 3), u4(c, 42);                   /* 25 Integer */
	u1(c, 4), u4(c, 0x3f800000);           /* 26 Float */
	u1(c, 8), u2(c, 24);                   /* 27 String */
	u1(c, 10), u2(c, 4), u2(c, 29);        /* 28 Methodref */
	u1(c, 12), u2(c, 20), u2(c, 21);       /* 29 NameAndType */
	u1(c, 11), u2(c, 37), u2(c, 29);       /* 30 InterfaceMethodref */
	u1(c, 16), u2(c, 21);                  /* 31 MethodType */
	u1(c, 17), u2(c, 0), u2(c, 29);        /* 32 Dynamic */
	u1(c, 18), u2(c, 0), u2(c, 29);        /* 33 InvokeDynamic */
	u1(c, 19), u2(c, 1);                   /* 34 Module */
	u1(c, 20), u2(c, 1);                   /* 35 Package */
	utf8(c, "java/io/Serializable");       /* 36 */
	u1(c, 7), u2(c, 36);                   /* 37 Class */
	utf8(c, "flag");                       /* 38 */
	utf8(c, "Z");                          /* 39 */
	u2(c, 0x0021);
	c->this_class = c->n;
	u2(c, 2);
	c->super_class = c->n;
	u2(c, s->super_name ? 4 : 0);
	u2(c, 1);
	c->interface0 = c->n;
	u2(c, 37);
	c->fields_count = c->n;
	u2(c, 5);
	static const unsigned fields[5][4] = {
		{0x0000, 5, 6, 0}, {0x0002, 7, 8, 1}, {0x0018, 11, 12, 1}, {0x0000, 13, 14, 0},
		{0x0008, 38, 39, 0},
	};
	for (int i = 0; i < 5; i++) {
		u2(c, fields[i][0]);
		if (i == 0)
			c->field0_name = c->n;
		u2(c, fields[i][1]);
		u2(c, fields[i][2]);
		u2(c, fields[i][3]);
		if (fields[i][3])
			u2(c, 22), u4(c, 2), u2(c, 25); /* an attribute, skipped */
	}
	c->methods_count = c->n;
	u2(c, 1);
	u2(c, 0x0001), u2(c, 20), u2(c, 21), u2(c, 1);
	u2(c, 22), u4(c, 5);
	for (int i = 0; i < 5; i++)
		u1(c, 0xb1);
	u2(c, 1);
	u2(c, 23), u4(c, 2), u2(c, 24);
}

static void expect_refused(const struct cf *c, size_t len, const char *why)
{
	struct hd_jclass *cls = (struct hd_jclass *)1;
	hd_error_clear();
	cr_assert_eq(jdk_parse_class(c->b, len, &cls), -1, "%s", why);
	cr_assert_null(cls);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s: %s", why, hd_error_message());
}

static void expect_field(const struct hd_jclass *cls, size_t i, const char *name, char desc,
			 bool is_static)
{
	cr_assert_lt(i, cls->nfields);
	cr_assert_str_eq(cls->fields[i].name, name);
	cr_assert_eq(cls->fields[i].desc, desc, "%s", name);
	cr_assert_eq(cls->fields[i].is_static, is_static, "%s", name);
}

/* ---- the class file ---- */

Test(jdkclasses, a_crafted_class_file_gives_its_fields_in_order)
{
	struct cf c;
	assemble(&c, &node);
	struct hd_jclass *cls;
	cr_assert_eq(jdk_parse_class(c.b, c.n, &cls), 0, "%s", hd_error_message());
	cr_assert_str_eq(cls->name, "p.Node");
	cr_assert_str_eq(cls->super, "java.lang.Object");
	cr_assert_eq(cls->nfields, 5);
	expect_field(cls, 0, "hash", 'I', false);
	expect_field(cls, 1, "key", 'L', false);
	expect_field(cls, 2, "COUNT", 'J', true);
	expect_field(cls, 3, "grid", '[', false);
	expect_field(cls, 4, "flag", 'Z', true);
	free(cls);
}

Test(jdkclasses, object_has_no_superclass_and_nothing_else_lacks_one)
{
	struct cf c;
	struct shape object = node;
	object.this_name = "java/lang/Object";
	object.super_name = NULL;
	assemble(&c, &object);
	struct hd_jclass *cls;
	cr_assert_eq(jdk_parse_class(c.b, c.n, &cls), 0, "%s", hd_error_message());
	cr_assert_str_eq(cls->name, "java.lang.Object");
	cr_assert_null(cls->super);
	free(cls);
	object.super_name = "java/lang/Object";
	assemble(&c, &object);
	expect_refused(&c, c.n, "Object with a superclass");
	assemble(&c, &node);
	put_u2(&c, c.super_class, 0);
	expect_refused(&c, c.n, "a class without a superclass");
}

Test(jdkclasses, every_truncation_and_a_trailing_byte_are_refused)
{
	struct cf c;
	assemble(&c, &node);
	for (size_t len = 0; len < c.n; len++) {
		char why[32];
		snprintf(why, sizeof why, "cut at %zu", len);
		expect_refused(&c, len, why);
	}
	c.b[c.n] = 0;
	expect_refused(&c, c.n + 1, "a byte past the end");
}

Test(jdkclasses, constant_pool_indexes_out_of_range_or_of_another_kind_are_refused)
{
	static const unsigned bad_names[] = {0, CP_COUNT, 0xffff, 10 /* a Long's 2nd slot */,
					     2 /* a Class */, 9 /* the Long */};
	struct cf c;
	for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
		assemble(&c, &node);
		put_u2(&c, c.field0_name, bad_names[i]);
		expect_refused(&c, c.n, "field name index");
		assemble(&c, &node);
		put_u2(&c, c.field0_name + 2, bad_names[i]);
		expect_refused(&c, c.n, "field descriptor index");
	}
	static const unsigned bad_classes[] = {0, 1 /* a Utf8 */, CP_COUNT, 0xffff, 16};
	for (size_t i = 0; i < sizeof bad_classes / sizeof *bad_classes; i++) {
		assemble(&c, &node);
		put_u2(&c, c.this_class, bad_classes[i]);
		expect_refused(&c, c.n, "this_class");
		assemble(&c, &node);
		put_u2(&c, c.interface0, bad_classes[i]);
		expect_refused(&c, c.n, "interface");
		if (bad_classes[i] == 0)
			continue;
		assemble(&c, &node);
		put_u2(&c, c.super_class, bad_classes[i]);
		expect_refused(&c, c.n, "super_class");
	}
}

Test(jdkclasses, huge_counts_are_refused_before_anything_is_allocated_for_them)
{
	struct cf c;
	assemble(&c, &node);
	put_u2(&c, c.fields_count, 0xffff);
	expect_refused(&c, c.n, "65535 fields");
	cr_assert(strstr(hd_error_message(), "room"), "%s", hd_error_message());
	assemble(&c, &node);
	put_u2(&c, c.methods_count, 0xffff);
	expect_refused(&c, c.n, "65535 methods");
	assemble(&c, &node);
	put_u2(&c, c.cp_count, 0xffff);
	expect_refused(&c, c.n, "65535 constants");
	assemble(&c, &node);
	put_u2(&c, c.cp_count, 0);
	expect_refused(&c, c.n, "no constants");
	assemble(&c, &node);
	c.b[0] = 0xcb;
	expect_refused(&c, c.n, "no magic");
}

Test(jdkclasses, unknown_constant_tags_are_refused)
{
	static const uint8_t tags[] = {0, 2, 13, 14, 21, 0xff};
	struct cf c;
	for (size_t i = 0; i < sizeof tags; i++) {
		assemble(&c, &node);
		c.b[c.tag_integer] = tags[i];
		expect_refused(&c, c.n, "tag");
	}
}

Test(jdkclasses, field_names_and_descriptors_are_checked)
{
	static const char *const bad_desc[] = {"V", "Q", "", "II", "[", "L;", "Lx", "Ljava//X;",
					       "Lx;I", "[V", "L/x;"};
	static const char *const good_desc[] = {"B", "C", "D", "F", "I", "J", "S", "Z", "[[I",
						"Ljava/lang/String;", "[Lx;", "LA$B;"};
	static const char *const bad_name[] = {"", "a.b", "a;b", "a[", "a/b"};
	struct cf c;
	struct shape s = node;
	struct hd_jclass *cls;
	for (size_t i = 0; i < sizeof bad_desc / sizeof *bad_desc; i++) {
		s.field0_desc = bad_desc[i];
		assemble(&c, &s);
		expect_refused(&c, c.n, bad_desc[i]);
	}
	for (size_t i = 0; i < sizeof good_desc / sizeof *good_desc; i++) {
		s.field0_desc = good_desc[i];
		assemble(&c, &s);
		cr_assert_eq(jdk_parse_class(c.b, c.n, &cls), 0, "%s: %s", good_desc[i],
			     hd_error_message());
		cr_assert_eq(cls->fields[0].desc, good_desc[i][0]);
		free(cls);
	}
	char dims[260];
	memset(dims, '[', 255);
	strcpy(dims + 255, "I");
	s.field0_desc = dims;
	assemble(&c, &s);
	cr_assert_eq(jdk_parse_class(c.b, c.n, &cls), 0, "255 dimensions");
	free(cls);
	memset(dims, '[', 256);
	strcpy(dims + 256, "I");
	assemble(&c, &s);
	expect_refused(&c, c.n, "256 dimensions");
	s = node;
	for (size_t i = 0; i < sizeof bad_name / sizeof *bad_name; i++) {
		s.field0_name = bad_name[i];
		assemble(&c, &s);
		expect_refused(&c, c.n, bad_name[i]);
	}
	static const char *const bad_class[] = {"", "p/", "/p", "p//X", "p.X", "[I"};
	for (size_t i = 0; i < sizeof bad_class / sizeof *bad_class; i++) {
		s = node;
		s.this_name = bad_class[i];
		assemble(&c, &s);
		expect_refused(&c, c.n, bad_class[i]);
		s = node;
		s.super_name = bad_class[i];
		assemble(&c, &s);
		expect_refused(&c, c.n, bad_class[i]);
	}
}

Test(jdkclasses, names_that_are_not_modified_utf8_are_refused)
{
	/* "hash": a NUL (which would end the C string), a lone continuation
	 * byte, a sequence cut by the name's end, a 4-byte lead. */
	static const struct { size_t at; uint8_t byte; } spoils[] = {
		{1, 0x00}, {1, 0x80}, {3, 0xc3}, {2, 0xe2}, {0, 0xf0},
	};
	struct cf c;
	for (size_t i = 0; i < sizeof spoils / sizeof *spoils; i++) {
		assemble(&c, &node);
		c.b[c.hash_text + spoils[i].at] = spoils[i].byte;
		expect_refused(&c, c.n, "utf8");
	}
	/* Two- and three-byte sequences are names like any other. */
	struct shape s = node;
	s.field0_name = "\xc3\xa9t\xe2\x82\xac";
	assemble(&c, &s);
	struct hd_jclass *cls;
	cr_assert_eq(jdk_parse_class(c.b, c.n, &cls), 0, "%s", hd_error_message());
	cr_assert_str_eq(cls->fields[0].name, "\xc3\xa9t\xe2\x82\xac");
	free(cls);
}

/* Every byte of the class file set to a few values in turn: parsed or
 * refused, never read out of bounds (ASan is the judge). */
Test(jdkclasses, every_byte_spoiled_is_survived)
{
	static const uint8_t values[] = {0x00, 0x01, 0x07, 0x28, 0x7f, 0x80, 0xff};
	struct cf c;
	assemble(&c, &node);
	for (size_t at = 0; at < c.n; at++)
		for (size_t v = 0; v < sizeof values; v++) {
			uint8_t old = c.b[at];
			c.b[at] = values[v];
			struct hd_jclass *cls;
			if (jdk_parse_class(c.b, c.n, &cls) == 0) {
				cr_assert_not_null(cls->name);
				free(cls);
			} else {
				cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
			}
			c.b[at] = old;
		}
}

/* ---- a crafted JDK ---- */

static char jdk[64];

static void write_file(const char *rel, const void *data, size_t len)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", jdk, rel);
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void write_text(const char *rel, const char *text)
{
	write_file(rel, text, strlen(text));
}

/* JDK: release says 11.0.2; lib/modules has java.lang.Object (module
 * java.base), p.Node, p.Other (a file holding p/Node) and p.Bad (cut
 * short), in module m.a.  OBJECT_COMPRESSED marks Object compressed. */
static void craft_jdk(bool object_compressed)
{
	char path[256];
	snprintf(path, sizeof path, "%s/lib", jdk);
	mkdir(path, 0700);
	write_text("release", "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"11.0.2\"\nOS_NAME=\"Linux\"\n");
	static struct cf object, nodecf;
	struct shape s = node;
	s.this_name = "java/lang/Object";
	s.super_name = NULL;
	assemble(&object, &s);
	assemble(&nodecf, &node);
	struct jc_resource res[] = {
		{.module = "java.base", .parent = "java/lang", .base = "Object", .ext = "class",
		 .data = object.b, .len = object.n, .compressed = object_compressed ? 10 : 0},
		{.module = "packages", .base = "java.lang", .package_module = "java.base"},
		{.module = "m.a", .parent = "p", .base = "Node", .ext = "class", .data = nodecf.b,
		 .len = nodecf.n},
		{.module = "m.a", .parent = "p", .base = "Other", .ext = "class", .data = nodecf.b,
		 .len = nodecf.n},
		{.module = "m.a", .parent = "p", .base = "Bad", .ext = "class", .data = nodecf.b,
		 .len = nodecf.n / 2},
		{.module = "packages", .base = "p", .package_module = "m.a"},
	};
	struct jc_image im;
	jc_build(&im, res, sizeof res / sizeof *res, false, true);
	snprintf(path, sizeof path, "%s/lib/modules", jdk);
	jc_write(&im, path);
	free(im.buf);
}

static void make_jdk(void) { tmpdir_make(jdk, sizeof jdk, "hd-jdk"); }
static void remove_jdk(void) { tmpdir_remove(jdk); }

TestSuite(jdkdir, .init = make_jdk, .fini = remove_jdk);

Test(jdkdir, a_crafted_jdk_gives_its_classes)
{
	craft_jdk(false);
	struct hd_jdk *j;
	cr_assert_eq(jdk_open(&j, jdk, 0), 0, "%s", hd_error_message());
	cr_assert_eq(jdk_major(j), 11);
	cr_assert_str_eq(jdk_dir(j), jdk);
	const struct hd_jclass *cls = jdk_class(j, "p.Node");
	cr_assert_not_null(cls, "%s", hd_error_message());
	cr_assert_str_eq(cls->name, "p.Node");
	cr_assert_str_eq(cls->super, "java.lang.Object");
	cr_assert_eq(cls->nfields, 5);
	expect_field(cls, 0, "hash", 'I', false);
	expect_field(cls, 2, "COUNT", 'J', true);
	cr_assert_eq(jdk_class(j, "p.Node"), cls, "parsed once, kept");
	const struct hd_jclass *object = jdk_class(j, "java.lang.Object");
	cr_assert_not_null(object);
	cr_assert_null(object->super);
	jdk_close(j);
}

Test(jdkdir, absent_and_impossible_names_are_absent_without_an_error)
{
	craft_jdk(false);
	struct hd_jdk *j;
	cr_assert_eq(jdk_open(&j, jdk, 0), 0, "%s", hd_error_message());
	static const char *const absent[] = {
		"p.Missing", "q.Node", "java.lang.String", "Node", "", ".p.Node", "p.Node.",
		"p..Node", "p/Node", "[I", "[Lp.Node;", "p.Node/0x0000000800c01000", "p",
	};
	for (size_t i = 0; i < sizeof absent / sizeof *absent; i++) {
		hd_error_clear();
		cr_assert_null(jdk_class(j, absent[i]), "%s", absent[i]);
		cr_assert_eq(hd_error_class(), HD_OK, "%s: %s", absent[i], hd_error_message());
	}
	char longname[4000];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	longname[1] = '.';
	cr_assert_null(jdk_class(j, longname));
	cr_assert_eq(hd_error_class(), HD_OK);
	jdk_close(j);
}

Test(jdkdir, a_damaged_class_or_one_under_another_name_is_an_error)
{
	craft_jdk(false);
	struct hd_jdk *j;
	cr_assert_eq(jdk_open(&j, jdk, 0), 0, "%s", hd_error_message());
	hd_error_clear();
	cr_assert_null(jdk_class(j, "p.Bad"));
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	cr_assert(strstr(hd_error_message(), "/m.a/p/Bad.class"), "%s", hd_error_message());
	hd_error_clear();
	cr_assert_null(jdk_class(j, "p.Other"));
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	cr_assert(strstr(hd_error_message(), "holds class p.Node"), "%s", hd_error_message());
	cr_assert_not_null(jdk_class(j, "p.Node"), "the JDK still answers");
	jdk_close(j);
}

static void expect_open_fails(const char *dir, enum hd_error_class cls, const char *says)
{
	struct hd_jdk *j = (struct hd_jdk *)1;
	cr_assert_eq(jdk_open(&j, dir, 0), -1, "%s", dir);
	cr_assert_null(j);
	cr_assert_eq(hd_error_class(), cls, "%s: %s", dir, hd_error_message());
	cr_assert(strstr(hd_error_message(), says), "%s", hd_error_message());
}

Test(jdkdir, what_is_no_jdk_is_refused_with_a_reason)
{
	char path[256];
	snprintf(path, sizeof path, "%s/nonexistent", jdk);
	expect_open_fails(path, HD_E_NOENT, "nonexistent");
	write_text("release", "JAVA_VERSION=\"17\"\n");
	snprintf(path, sizeof path, "%s/release", jdk);
	expect_open_fails(path, HD_E_USAGE, "not a directory");
	expect_open_fails(jdk, HD_E_USAGE, "no lib/modules");
	snprintf(path, sizeof path, "%s/jre", jdk);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/jre/lib", jdk);
	mkdir(path, 0700);
	write_text("jre/lib/rt.jar", "PK");
	expect_open_fails(jdk, HD_E_USAGE, "JDK 8");
	snprintf(path, sizeof path, "%s/lib", jdk);
	mkdir(path, 0700);
	write_text("lib/modules", "this is not a jimage, and long enough");
	expect_open_fails(jdk, HD_E_USAGE, "not a jimage");
	/* A jimage without java.lang.Object. */
	static const uint8_t some[] = {1, 2, 3};
	struct jc_resource res[] = {{.module = "m", .base = "x", .data = some, .len = 3}};
	struct jc_image im;
	jc_build(&im, res, 1, false, false);
	snprintf(path, sizeof path, "%s/lib/modules", jdk);
	jc_write(&im, path);
	free(im.buf);
	expect_open_fails(jdk, HD_E_USAGE, "java.lang.Object");
}

Test(jdkdir, a_compressed_image_is_refused_at_open)
{
	craft_jdk(true);
	expect_open_fails(jdk, HD_E_LAYOUT, "compressed");
}

Test(jdkdir, the_major_version_comes_from_the_release_file)
{
	craft_jdk(false);
	static const struct { const char *text; unsigned major; } releases[] = {
		{"JAVA_VERSION=\"1.8.0_392\"\n", 8},
		{"JAVA_VERSION=\"25.0.3\"", 25},
		{"A=\"1\"\nJAVA_VERSION=\"21\"\n", 21},
		{"JAVA_VERSION_DATE=\"2025-04-15\"\n", 0},
		{"JAVA_VERSION=\"\"\n", 0},
		{"JAVA_VERSION=\"99999999999\"\n", 0},
		{"", 0},
	};
	for (size_t i = 0; i < sizeof releases / sizeof *releases; i++) {
		write_text("release", releases[i].text);
		struct hd_jdk *j;
		cr_assert_eq(jdk_open(&j, jdk, 0), 0, "%s", hd_error_message());
		cr_assert_eq(jdk_major(j), releases[i].major, "%s", releases[i].text);
		jdk_close(j);
	}
	char path[256];
	snprintf(path, sizeof path, "%s/release", jdk);
	unlink(path);
	struct hd_jdk *j;
	cr_assert_eq(jdk_open(&j, jdk, 0), 0, "no release file: major unknown, JDK usable");
	cr_assert_eq(jdk_major(j), 0);
	jdk_close(j);
}

Test(jdkdir, java_home_comes_first_and_the_major_version_wanted_is_preferred)
{
	craft_jdk(false);
	cr_assert_eq(setenv("JAVA_HOME", jdk, 1), 0);
	struct hd_jdk *j;
	cr_assert_eq(jdk_open(&j, NULL, 0), 0, "%s", hd_error_message());
	cr_assert_str_eq(jdk_dir(j), jdk);
	jdk_close(j);
	cr_assert_eq(jdk_open(&j, NULL, 11), 0, "%s", hd_error_message());
	cr_assert_str_eq(jdk_dir(j), jdk);
	jdk_close(j);
	cr_assert_eq(jdk_open(&j, NULL, 99), 0, "%s", hd_error_message());
	cr_assert_str_eq(jdk_dir(j), jdk, "no JDK 99: the first that opens");
	jdk_close(j);
	if (access("/usr/lib/jvm/java-17-openjdk-amd64/lib/modules", R_OK) != 0)
		cr_skip_test("no JDK 17 installed to prefer over JAVA_HOME's 11");
	cr_assert_eq(jdk_open(&j, NULL, 17), 0, "%s", hd_error_message());
	cr_assert_eq(jdk_major(j), 17);
	cr_assert_str_neq(jdk_dir(j), jdk);
	jdk_close(j);
}

/* ---- the installed JDKs ---- */

static const char *const installed[] = {
	"/usr/lib/jvm/java-17-openjdk-amd64",
	"/usr/lib/jvm/temurin-25-jdk-amd64",
};

/* The fields of CLS that are not static, as "name(desc) ...". */
static void instance_fields(const struct hd_jclass *cls, char *out, size_t size)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < cls->nfields && n < size; i++)
		if (!cls->fields[i].is_static)
			n += (size_t)snprintf(out + n, size - n, "%s%s(%c)", n ? " " : "",
					      cls->fields[i].name, cls->fields[i].desc);
}

static const struct hd_jclass *expect_class(struct hd_jdk *j, const char *name,
					    const char *super, const char *fields)
{
	const struct hd_jclass *cls = jdk_class(j, name);
	cr_assert_not_null(cls, "%s: %s", name, hd_error_message());
	if (super)
		cr_assert_str_eq(cls->super, super, "%s", name);
	else
		cr_assert_null(cls->super);
	char got[512];
	instance_fields(cls, got, sizeof got);
	cr_assert_str_eq(got, fields, "%s", name);
	return cls;
}

Test(jdkclasses, the_installed_jdks_classes_have_their_known_fields)
{
	int seen = 0;
	for (size_t i = 0; i < sizeof installed / sizeof *installed; i++) {
		char modules[256];
		snprintf(modules, sizeof modules, "%s/lib/modules", installed[i]);
		if (access(modules, R_OK) != 0)
			continue;
		seen++;
		struct hd_jdk *j;
		cr_assert_eq(jdk_open(&j, installed[i], 0), 0, "%s", hd_error_message());
		cr_assert_eq(jdk_major(j), i == 0 ? 17u : 25u);
		expect_class(j, "java.util.HashMap$Node", "java.lang.Object",
			     "hash(I) key(L) value(L) next(L)");
		const struct hd_jclass *s = expect_class(j, "java.lang.String", "java.lang.Object",
							 "value([) coder(B) hash(I) hashIsZero(Z)");
		bool serial = false;
		for (size_t k = 0; k < s->nfields; k++)
			if (strcmp(s->fields[k].name, "serialVersionUID") == 0)
				serial = s->fields[k].is_static && s->fields[k].desc == 'J';
		cr_assert(serial, "String.serialVersionUID: a static long");
		expect_class(j, "java.util.ArrayList", "java.util.AbstractList",
			     "elementData([) size(I)");
		expect_class(j, "java.util.AbstractList", "java.util.AbstractCollection",
			     "modCount(I)");
		expect_class(j, "java.util.AbstractCollection", "java.lang.Object", "");
		expect_class(j, "java.lang.Object", NULL, "");
		expect_class(j, "java.lang.Long", "java.lang.Number", "value(J)");
		expect_class(j, "java.util.LinkedHashMap$Entry", "java.util.HashMap$Node",
			     "before(L) after(L)");
		expect_class(j, "java.util.concurrent.ConcurrentHashMap$Node", "java.lang.Object",
			     "hash(I) key(L) val(L) next(L)");
		cr_assert_null(jdk_class(j, "java.util.NoSuchClass"));
		jdk_close(j);
	}
	if (!seen)
		cr_skip_test("no JDK 17 or Temurin 25 installed here");
}
