/* The jimage reader (symbols/jimage.c) on crafted images: resources come
 * back byte for byte through both kinds of redirect and both byte orders,
 * absent names are absent, and every spoiled table, offset, string and
 * size is refused without a read out of bounds (run it under ASan); then
 * on the lib/modules of an installed JDK, when there is one. */
#include "../../symbols/jimage.h"
#include "jimagecraft.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t object_bytes[] = {0xca, 0xfe, 0xba, 0xbe, 1, 2, 3};
static const uint8_t node_bytes[] = {0xca, 0xfe, 0xba, 0xbe, 9, 8, 7, 6, 5};

static const struct jc_resource tiny[] = {
	{.module = "java.base", .parent = "java/lang", .base = "Object", .ext = "class",
	 .data = object_bytes, .len = sizeof object_bytes},
	{.module = "java.base", .parent = "java/util", .base = "HashMap$Node", .ext = "class",
	 .data = node_bytes, .len = sizeof node_bytes},
	{.module = "packages", .base = "java.lang", .package_module = "java.base"},
	{.module = "java.base", .base = "empty", .ext = "txt"},
};

static char dir[] = "/tmp/hd-jimage-XXXXXX";
static char path[64];

static void make_dir(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/modules", dir);
}

static void remove_dir(void)
{
	unlink(path);
	rmdir(dir);
}

TestSuite(jimage, .init = make_dir, .fini = remove_dir);

static struct hd_jimage *open_image(const struct jc_image *im)
{
	jc_write(im, path);
	struct hd_jimage *j;
	cr_assert_eq(jimage_open(&j, path), 0, "%s", hd_error_message());
	return j;
}

static void check_tiny(bool big, bool seeded)
{
	struct jc_image im;
	jc_build(&im, tiny, 4, big, seeded);
	struct hd_jimage *j = open_image(&im);
	uint8_t *data;
	size_t len;
	cr_assert_eq(jimage_read(j, "/java.base/java/lang/Object.class", 1000, &data, &len), 0);
	cr_assert_eq(len, sizeof object_bytes);
	cr_assert_arr_eq(data, object_bytes, len);
	free(data);
	cr_assert_eq(jimage_read(j, "/java.base/java/util/HashMap$Node.class", 1000, &data, &len),
		     0);
	cr_assert_eq(len, sizeof node_bytes);
	cr_assert_arr_eq(data, node_bytes, len);
	free(data);
	cr_assert_eq(jimage_read(j, "/java.base/empty.txt", 1000, &data, &len), 0);
	cr_assert_not_null(data, "an empty resource is there");
	cr_assert_eq(len, 0);
	free(data);
	static const char *const absent[] = {
		"/java.base/java/lang/Object.clas", "/java.base/java/lang/Object.class/",
		"/java.base/java/lang/Objec.class", "java.base/java/lang/Object.class",
		"/java.base/java/util/HashMap.class", "/java.desktop/java/lang/Object.class",
		"", "/", "//",
	};
	for (size_t i = 0; i < sizeof absent / sizeof *absent; i++) {
		data = (uint8_t *)1;
		cr_assert_eq(jimage_read(j, absent[i], 1000, &data, &len), 0, "%s", absent[i]);
		cr_assert_null(data, "%s", absent[i]);
	}
	const char *module;
	cr_assert_eq(jimage_package_module(j, "java.lang", &module), 0);
	cr_assert_str_eq(module, "java.base");
	cr_assert_eq(jimage_package_module(j, "java.util", &module), 0);
	cr_assert_null(module, "no /packages/java.util entry");
	jimage_close(j);
	free(im.buf);
}

Test(jimage, resources_come_back_through_direct_and_seeded_redirects)
{
	check_tiny(false, false);
	check_tiny(false, true);
}

Test(jimage, big_endian_images_read_the_same)
{
	check_tiny(true, false);
	check_tiny(true, true);
}

Test(jimage, a_resource_larger_than_the_limit_is_refused)
{
	struct jc_image im;
	jc_build(&im, tiny, 4, false, false);
	struct hd_jimage *j = open_image(&im);
	uint8_t *data;
	size_t len;
	cr_assert_eq(jimage_read(j, "/java.base/java/lang/Object.class", sizeof object_bytes - 1,
				 &data, &len), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	cr_assert_null(data);
	jimage_close(j);
	free(im.buf);
}

Test(jimage, compressed_resources_are_refused)
{
	struct jc_resource res[2] = {tiny[0], tiny[2]};
	res[0].compressed = 3;
	struct jc_image im;
	jc_build(&im, res, 2, false, false);
	struct hd_jimage *j = open_image(&im);
	uint8_t *data;
	size_t len;
	cr_assert_eq(jimage_read(j, "/java.base/java/lang/Object.class", 1000, &data, &len), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	cr_assert(strstr(hd_error_message(), "compressed"), "%s", hd_error_message());
	jimage_close(j);
	free(im.buf);
}

static void write_bytes(const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void expect_open_fails(enum hd_error_class cls)
{
	struct hd_jimage *j = (struct hd_jimage *)1;
	cr_assert_eq(jimage_open(&j, path), -1);
	cr_assert_null(j);
	cr_assert_eq(hd_error_class(), cls, "%s", hd_error_message());
}

static void put_le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

Test(jimage, what_is_no_jimage_is_refused_at_open)
{
	struct hd_jimage *j;
	cr_assert_eq(jimage_open(&j, "/nonexistent/lib/modules"), -1);
	cr_assert_eq(hd_error_class(), HD_E_NOENT);
	write_bytes("", 0);
	expect_open_fails(HD_E_USAGE);
	write_bytes("not a jimage at all, but long enough", 36);
	expect_open_fails(HD_E_USAGE);
	struct jc_image im;
	jc_build(&im, tiny, 4, false, false);
	put_le(im.buf + 4, 0x00020000u); /* version 2.0 */
	jc_write(&im, path);
	expect_open_fails(HD_E_USAGE);
	free(im.buf);
	cr_assert_eq(jimage_open(&j, dir), -1, "a directory");
	cr_assert_eq(hd_error_class(), HD_E_USAGE);
	unlink(path);
	cr_assert_eq(mkfifo(path, 0600), 0);
	expect_open_fails(HD_E_USAGE); /* and does not hang on the FIFO */
}

Test(jimage, an_index_that_does_not_fit_is_refused_at_open)
{
	struct jc_image im;
	jc_build(&im, tiny, 4, false, false);
	/* Cut inside the string bytes. */
	write_bytes(im.buf, im.index_size - 1);
	expect_open_fails(HD_E_LAYOUT);
	/* Sizes that wrap 32 bits if added carelessly. */
	static const unsigned fields[] = {16, 20, 24};
	for (size_t i = 0; i < 3; i++) {
		uint8_t *copy = malloc(im.len);
		memcpy(copy, im.buf, im.len);
		put_le(copy + fields[i], 0xffffffffu);
		write_bytes(copy, im.len);
		expect_open_fails(HD_E_LAYOUT);
		free(copy);
	}
	put_le(im.buf + 16, 0); /* an empty table: every name's slot is x % 0 */
	jc_write(&im, path);
	expect_open_fails(HD_E_LAYOUT);
	free(im.buf);
}

/* Reads NAME from the spoiled image IM: refused with HD_E_LAYOUT, in a
 * message that SAYS so. */
static void expect_read_fails(const struct jc_image *im, const char *name, const char *says)
{
	struct hd_jimage *j = open_image(im);
	uint8_t *data;
	size_t len;
	cr_assert_eq(jimage_read(j, name, 1000, &data, &len), -1, "%s", name);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", hd_error_message());
	cr_assert(strstr(hd_error_message(), says), "%s", hd_error_message());
	cr_assert_null(data);
	jimage_close(j);
}

static const char object_name[] = "/java.base/java/lang/Object.class";

static size_t object_slot(const struct jc_image *im)
{
	return im->redirect + 4 * (jc_hash(object_name, 0x01000193u) % im->table_length);
}

Test(jimage, spoiled_locations_are_refused)
{
	struct jc_image im;
	jc_build(&im, tiny, 4, false, false);
	size_t slot = object_slot(&im);
	uint8_t saved[4096];
	memcpy(saved, im.buf, im.index_size);

	put_le(im.buf + slot, 0x80000000u); /* INT32_MIN: -r-1 overflows int32 */
	expect_read_fails(&im, object_name, "redirect slot past the table");
	memcpy(im.buf, saved, im.index_size);
	put_le(im.buf + slot, (uint32_t)-(int32_t)im.table_length - 1); /* index = table length */
	expect_read_fails(&im, object_name, "redirect slot past the table");
	memcpy(im.buf, saved, im.index_size);

	/* The offsets entry past the location bytes. */
	put_le(im.buf + im.offsets, (uint32_t)(im.strings - im.locations));
	expect_read_fails(&im, object_name, "runs past the index");
	memcpy(im.buf, saved, im.index_size);

	/* An attribute of kind 8..31. */
	im.buf[im.loc_at[0]] = (uint8_t)(9 << 3);
	expect_read_fails(&im, object_name, "unknown location attribute");
	memcpy(im.buf, saved, im.index_size);

	/* The location's string offsets outside the string bytes: the module
	 * attribute (kind 1, one byte) names the last byte and beyond. */
	cr_assert_eq(im.buf[im.loc_at[0]], 1 << 3);
	im.buf[im.loc_at[0] + 1] = 0xff;
	expect_read_fails(&im, object_name, "string outside the index");
	memcpy(im.buf, saved, im.index_size);

	/* The content's offset past the file's end (Object's is 0, which has
	 * no attribute: HashMap$Node's). */
	size_t p = im.loc_at[1];
	while (im.buf[p] >> 3 != 5)
		p += (im.buf[p] & 7u) + 2;
	cr_assert_eq(im.buf[p], 5 << 3, "a one-byte offset");
	im.buf[p + 1] = 0xf0;
	expect_read_fails(&im, "/java.base/java/util/HashMap$Node.class",
			  "past the end of the file");
	memcpy(im.buf, saved, im.index_size);
	free(im.buf);
}

Test(jimage, a_location_running_off_the_index_is_refused)
{
	/* The last location's end marker turned into an attribute head: its
	 * value would lie in the string bytes, past the location bytes. */
	struct jc_resource one[1] = {tiny[0]};
	struct jc_image im;
	jc_build(&im, one, 1, false, false);
	cr_assert_eq(im.buf[im.strings - 1], 0);
	im.buf[im.strings - 1] = 0x08; /* module attribute, one byte */
	expect_read_fails(&im, object_name, "runs past the index");
	/* The same with no string bytes at all, so that the index ends
	 * there: an eight-byte value would be read past it. */
	im.buf[im.strings - 1] = 0x0f;
	put_le(im.buf + 24, 0);
	write_bytes(im.buf, im.strings);
	struct hd_jimage *j;
	cr_assert_eq(jimage_open(&j, path), 0, "%s", hd_error_message());
	uint8_t *data;
	size_t len;
	cr_assert_eq(jimage_read(j, object_name, 1000, &data, &len), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", hd_error_message());
	jimage_close(j);
	free(im.buf);
}

/* The module jimage_package_module finds for java.lang when its
 * /packages entry holds ENTRY: its return code, *MODULE copied to OUT. */
static int module_of_java_lang(const uint8_t *entry, size_t len, char *out, size_t size)
{
	struct jc_resource res[] = {
		tiny[0], {.module = "packages", .base = "java.lang", .data = entry, .len = len},
	};
	struct jc_image im;
	jc_build(&im, res, 2, false, false);
	struct hd_jimage *j = open_image(&im);
	const char *module;
	int rc = jimage_package_module(j, "java.lang", &module);
	snprintf(out, size, "%s", rc == 0 && module ? module : "");
	jimage_close(j);
	free(im.buf);
	return rc;
}

Test(jimage, package_entries_that_are_no_list_of_pairs_are_refused)
{
	char module[64];
	static const uint8_t odd[] = {0, 0, 0, 0, 1, 0, 0};
	cr_assert_eq(module_of_java_lang(odd, sizeof odd, module, sizeof module), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	/* A module name outside the string bytes. */
	static const uint8_t far[] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f};
	cr_assert_eq(module_of_java_lang(far, sizeof far, module, sizeof module), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	/* Only modules flagged empty: no module has the package's classes. */
	static const uint8_t empty[] = {1, 0, 0, 0, 1, 0, 0, 0};
	cr_assert_eq(module_of_java_lang(empty, sizeof empty, module, sizeof module), 0);
	cr_assert_str_empty(module);
	/* The first module not flagged empty (string 1: "java.base"). */
	static const uint8_t second[] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
	cr_assert_eq(module_of_java_lang(second, sizeof second, module, sizeof module), 0);
	cr_assert_str_eq(module, "java.base");
}

/* Every byte of the index set to each of a few values in turn: opening
 * and reading either work or fail cleanly (ASan is the judge). */
Test(jimage, every_index_byte_spoiled_is_survived)
{
	struct jc_image im;
	jc_build(&im, tiny, 4, false, true);
	static const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
	static const char *const names[] = {object_name, "/java.base/java/util/HashMap$Node.class",
					    "/packages/java.lang", "/java.base/empty.txt"};
	for (size_t at = 0; at < im.index_size; at++)
		for (size_t v = 0; v < sizeof values; v++) {
			uint8_t old = im.buf[at];
			im.buf[at] = values[v];
			jc_write(&im, path);
			im.buf[at] = old;
			struct hd_jimage *j;
			if (jimage_open(&j, path) != 0)
				continue;
			for (size_t k = 0; k < 4; k++) {
				uint8_t *data;
				size_t len;
				if (jimage_read(j, names[k], 1u << 20, &data, &len) == 0)
					free(data);
				else
					cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
			}
			const char *module;
			if (jimage_package_module(j, "java.lang", &module) != 0)
				cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
			jimage_close(j);
		}
	free(im.buf);
}

Test(jimage, the_installed_jdks_modules_hold_object)
{
	static const char *const images[] = {
		"/usr/lib/jvm/java-17-openjdk-amd64/lib/modules",
		"/usr/lib/jvm/temurin-25-jdk-amd64/lib/modules",
	};
	int seen = 0;
	for (size_t i = 0; i < 2; i++) {
		if (access(images[i], R_OK) != 0)
			continue;
		seen++;
		struct hd_jimage *j;
		cr_assert_eq(jimage_open(&j, images[i]), 0, "%s", hd_error_message());
		uint8_t *data;
		size_t len;
		cr_assert_eq(jimage_read(j, object_name, 1u << 20, &data, &len), 0);
		cr_assert_not_null(data);
		cr_assert_gt(len, 100);
		static const uint8_t magic[] = {0xca, 0xfe, 0xba, 0xbe};
		cr_assert_arr_eq(data, magic, 4);
		free(data);
		const char *module;
		cr_assert_eq(jimage_package_module(j, "java.util.concurrent", &module), 0);
		cr_assert_str_eq(module, "java.base");
		cr_assert_eq(jimage_package_module(j, "javax.xml.namespace", &module), 0);
		cr_assert_str_eq(module, "java.xml");
		cr_assert_eq(jimage_package_module(j, "no.such.pkg", &module), 0);
		cr_assert_null(module);
		jimage_close(j);
	}
	if (!seen)
		cr_skip_test("no JDK 17 or Temurin 25 installed here");
}
