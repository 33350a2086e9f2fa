#include "jimage.h"

#include "../common/readat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JIMAGE_MAGIC 0xCAFEDADAu
#define JIMAGE_VERSION 0x00010000u /* major 1 << 16 | minor 0 */
#define HEADER_WORDS 7
#define HEADER_SIZE (HEADER_WORDS * 4u)
/* The name hash multiplies by this, which is also the first seed. */
#define HASH_MULTIPLIER 0x01000193u
/* A full JDK 25 index is 1.4 MB; jlink images are smaller. */
#define MAX_INDEX (64u << 20)
/* The /packages/P entry lists (flag, module) pairs, one per module that
 * has P; a package is in a few modules at most. */
#define MAX_PACKAGE_ENTRY 4096u
/* Longest resource name looked up (libjimage's IMAGE_MAX_PATH). */
#define MAX_NAME 4096u

enum location_attr {
	LOC_END,
	LOC_MODULE,
	LOC_PARENT,
	LOC_BASE,
	LOC_EXTENSION,
	LOC_OFFSET,
	LOC_COMPRESSED,
	LOC_UNCOMPRESSED,
	LOC_COUNT
};

struct hd_jimage {
	int fd;
	char *path;
	uint64_t file_size;
	bool big_endian;
	uint32_t table_length;
	uint32_t locations_size, strings_size;
	uint64_t index_size;     /* the resources' offsets count from here */
	uint8_t *index;          /* the whole index, header included */
	const uint8_t *redirect, *offsets, *locations, *strings;
};

static uint32_t word(const struct hd_jimage *im, const uint8_t *p)
{
	if (im->big_endian)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* The string at OFF of the string bytes, or NULL when OFF or its
 * terminator lies outside them. */
static const char *string_at(const struct hd_jimage *im, uint64_t off)
{
	if (off >= im->strings_size)
		return NULL;
	const char *s = (const char *)im->strings + off;
	return memchr(s, 0, im->strings_size - off) ? s : NULL;
}

/* The image's hash of NAME's bytes (ImageStringsReader.unmaskedHashCode,
 * masked): equal to Java's over modified UTF-8 for every name without
 * supplementary characters, which no JDK class name has. */
static uint32_t name_hash(const char *name, uint32_t seed)
{
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		seed = (seed * HASH_MULTIPLIER) ^ *p;
	return seed & 0x7fffffffu;
}

static int corrupt(const struct hd_jimage *im, const char *name, const char *what)
{
	return hd_fail(HD_E_LAYOUT, "%s: %s: %s", im->path, name, what);
}

/* The attributes of the location at OFF of the location bytes. */
static int decode_location(const struct hd_jimage *im, const char *name, uint32_t off,
			   uint64_t attr[LOC_COUNT])
{
	memset(attr, 0, LOC_COUNT * sizeof *attr);
	for (uint32_t p = off;;) {
		if (p >= im->locations_size)
			return corrupt(im, name, "location runs past the index");
		uint8_t head = im->locations[p++];
		if (head >> 3 == LOC_END)
			return 0;
		unsigned kind = head >> 3, n = (head & 7u) + 1;
		if (kind >= LOC_COUNT)
			return corrupt(im, name, "unknown location attribute");
		if (n > im->locations_size - p)
			return corrupt(im, name, "location runs past the index");
		uint64_t v = 0;
		for (unsigned i = 0; i < n; i++)
			v = v << 8 | im->locations[p++];
		attr[kind] = v;
	}
}

/* Whether *REST starts with S, moving *REST past it. */
static bool take(const char **rest, const char *s)
{
	size_t n = strlen(s);
	if (strncmp(*rest, s, n) != 0)
		return false;
	*rest += n;
	return true;
}

/* Whether the location ATTR is the one named NAME: /module/parent/base.ext,
 * each part present when its string is not empty.  -1: a string outside
 * the string bytes. */
static int location_is(const struct hd_jimage *im, const char *name,
		       const uint64_t attr[LOC_COUNT], bool *is)
{
	const char *module = string_at(im, attr[LOC_MODULE]);
	const char *parent = string_at(im, attr[LOC_PARENT]);
	const char *base = string_at(im, attr[LOC_BASE]);
	const char *ext = string_at(im, attr[LOC_EXTENSION]);
	if (!module || !parent || !base || !ext)
		return corrupt(im, name, "location names a string outside the index");
	const char *rest = name;
	*is = (!*module || (take(&rest, "/") && take(&rest, module) && take(&rest, "/"))) &&
	      (!*parent || (take(&rest, parent) && take(&rest, "/"))) && take(&rest, base) &&
	      (!*ext || (take(&rest, ".") && take(&rest, ext))) && !*rest;
	return 0;
}

/* The attributes of the location named NAME: 0 with *FOUND set or not. */
static int find_location(const struct hd_jimage *im, const char *name, uint64_t attr[LOC_COUNT],
			 bool *found)
{
	*found = false;
	if (strlen(name) >= MAX_NAME)
		return 0;
	uint32_t n = im->table_length;
	int32_t r = (int32_t)word(im, im->redirect + 4 * (size_t)(name_hash(name, HASH_MULTIPLIER) % n));
	uint64_t index;
	if (r < 0)
		index = (uint64_t)(-(int64_t)r - 1);
	else if (r > 0)
		index = name_hash(name, (uint32_t)r) % n;
	else
		return 0;
	if (index >= n)
		return corrupt(im, name, "redirect slot past the table");
	uint32_t off = word(im, im->offsets + 4 * index);
	bool is;
	if (decode_location(im, name, off, attr) != 0 || location_is(im, name, attr, &is) != 0)
		return -1;
	*found = is;
	return 0;
}

int jimage_read(struct hd_jimage *im, const char *name, size_t max, uint8_t **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	uint64_t attr[LOC_COUNT];
	bool found;
	if (find_location(im, name, attr, &found) != 0)
		return -1;
	if (!found)
		return 0;
	if (attr[LOC_COMPRESSED] != 0)
		return corrupt(im, name,
			       "compressed by jlink --compress, which hdump does not read");
	uint64_t size = attr[LOC_UNCOMPRESSED];
	if (size > max)
		return hd_fail(HD_E_LAYOUT, "%s: %s: %llu bytes (limit %zu)", im->path, name,
			       (unsigned long long)size, max);
	uint64_t end = im->file_size - im->index_size;
	if (attr[LOC_OFFSET] > end || size > end - attr[LOC_OFFSET])
		return corrupt(im, name, "content lies past the end of the file");
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	if (hd_read_at(im->fd, im->path, im->index_size + attr[LOC_OFFSET], buf, size) != 0) {
		free(buf);
		return -1;
	}
	*data = buf;
	*len = size;
	return 0;
}

int jimage_package_module(struct hd_jimage *im, const char *pkg, const char **module)
{
	*module = NULL;
	char name[MAX_NAME];
	if ((size_t)snprintf(name, sizeof name, "/packages/%s", pkg) >= sizeof name)
		return 0;
	uint8_t *entry;
	size_t len;
	if (jimage_read(im, name, MAX_PACKAGE_ENTRY, &entry, &len) != 0)
		return -1;
	if (!entry)
		return 0;
	int rc = 0;
	if (len % 8 != 0)
		rc = corrupt(im, name, "package entry is not a list of (flag, module) pairs");
	/* A module flagged empty has only resources of P, no classes. */
	for (size_t i = 0; rc == 0 && i < len; i += 8) {
		if (word(im, entry + i) != 0)
			continue;
		*module = string_at(im, word(im, entry + i + 4));
		if (!*module)
			rc = corrupt(im, name, "package entry names a string outside the index");
		break;
	}
	free(entry);
	return rc;
}

/* Reads and checks the header, then the rest of the index. */
static int read_index(struct hd_jimage *im)
{
	uint8_t head[HEADER_SIZE];
	if (im->file_size < HEADER_SIZE)
		return hd_fail(HD_E_USAGE, "%s: not a jimage (too short)", im->path);
	if (hd_read_at(im->fd, im->path, 0, head, sizeof head) != 0)
		return -1;
	im->big_endian = false;
	if (word(im, head) != JIMAGE_MAGIC) {
		im->big_endian = true;
		if (word(im, head) != JIMAGE_MAGIC)
			return hd_fail(HD_E_USAGE, "%s: not a jimage (no magic)", im->path);
	}
	uint32_t version = word(im, head + 4);
	if (version != JIMAGE_VERSION)
		return hd_fail(HD_E_USAGE, "%s: jimage version %u.%u, hdump reads 1.0", im->path,
			       version >> 16, version & 0xffffu);
	im->table_length = word(im, head + 16);
	im->locations_size = word(im, head + 20);
	im->strings_size = word(im, head + 24);
	if (im->table_length == 0)
		return hd_fail(HD_E_LAYOUT, "%s: jimage with an empty table", im->path);
	im->index_size = HEADER_SIZE + 8ull * im->table_length + im->locations_size +
			 im->strings_size;
	if (im->index_size > im->file_size)
		return hd_fail(HD_E_LAYOUT, "%s: jimage index of %llu bytes past the file's end",
			       im->path, (unsigned long long)im->index_size);
	if (im->index_size > MAX_INDEX)
		return hd_fail(HD_E_LAYOUT, "%s: jimage index of %llu bytes (limit %u)", im->path,
			       (unsigned long long)im->index_size, MAX_INDEX);
	im->index = malloc(im->index_size);
	if (!im->index)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	if (hd_read_at(im->fd, im->path, 0, im->index, im->index_size) != 0)
		return -1;
	if (memcmp(im->index, head, sizeof head) != 0)
		return hd_fail(HD_E_LAYOUT, "%s: the file changed while being read", im->path);
	im->redirect = im->index + HEADER_SIZE;
	im->offsets = im->redirect + 4 * (size_t)im->table_length;
	im->locations = im->offsets + 4 * (size_t)im->table_length;
	im->strings = im->locations + im->locations_size;
	return 0;
}

int jimage_open(struct hd_jimage **out, const char *path)
{
	*out = NULL;
	struct hd_jimage *im = calloc(1, sizeof *im);
	if (!im || !(im->path = strdup(path))) {
		free(im);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	/* O_NONBLOCK: a FIFO in its place must not hang the open. */
	im->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (im->fd < 0) {
		int err = errno;
		jimage_close(im);
		return hd_fail_errno(err == EACCES ? HD_E_PERM : HD_E_NOENT, err, "%s", path);
	}
	struct stat st;
	int rc;
	if (fstat(im->fd, &st) != 0)
		rc = hd_fail_errno(HD_E_NOENT, errno, "%s", path);
	else if (!S_ISREG(st.st_mode))
		rc = hd_fail(HD_E_USAGE, "%s: not a jimage (not a regular file)", path);
	else {
		im->file_size = (uint64_t)st.st_size;
		rc = read_index(im);
	}
	if (rc != 0) {
		jimage_close(im);
		return -1;
	}
	*out = im;
	return 0;
}

void jimage_close(struct hd_jimage *im)
{
	if (!im)
		return;
	if (im->fd >= 0)
		close(im->fd);
	free(im->index);
	free(im->path);
	free(im);
}
