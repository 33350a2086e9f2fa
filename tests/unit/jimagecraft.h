/* Crafted jimage files (the format symbols/jimage.h describes), for tests
 * of symbols/jimage.c and symbols/jdkclasses.c: a few named resources
 * behind a perfect-hash index, in either byte order, with the position of
 * each table given back so that a test can spoil it. */
#ifndef HD_TEST_JIMAGECRAFT_H
#define HD_TEST_JIMAGECRAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jc_resource {
	const char *module, *parent, *base, *ext; /* "" or NULL: absent part */
	const uint8_t *data;
	size_t len;
	/* For /packages/P entries: the content is generated, one (0, offset of
	 * this module's name) pair. */
	const char *package_module;
	uint64_t compressed; /* claimed compressed size (the data is stored as is) */
};

struct jc_image {
	uint8_t *buf;   /* malloc'd */
	size_t len;
	size_t redirect, offsets, locations, strings, index_size;
	uint32_t table_length;
	size_t loc_at[16]; /* where each resource's location starts, in the file */
};

/* Builds the image of RES[0..N) (N <= 16): BIG for big-endian, SEEDED to
 * reach every location through a second-hash seed instead of a direct
 * index. */
void jc_build(struct jc_image *im, const struct jc_resource *res, size_t n, bool big,
	      bool seeded);
void jc_write(const struct jc_image *im, const char *path);

/* The image's hash (see symbols/jimage.c): for tests that aim a redirect. */
uint32_t jc_hash(const char *name, uint32_t seed);

#endif
