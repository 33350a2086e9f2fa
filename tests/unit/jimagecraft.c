#include "jimagecraft.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MULT 0x01000193u

uint32_t jc_hash(const char *name, uint32_t seed)
{
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		seed = seed * MULT ^ *p;
	return seed & 0x7fffffffu;
}

struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct bytes *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void put_word(struct bytes *b, uint32_t v, bool big)
{
	uint8_t w[4];
	for (int i = 0; i < 4; i++)
		w[i] = (uint8_t)(big ? v >> (24 - 8 * i) : v >> (8 * i));
	put(b, w, 4);
}

/* The offset of S in the string bytes, added when new; "" is at 0. */
static uint32_t string(struct bytes *strings, const char *s)
{
	if (!s || !*s)
		return 0;
	for (size_t at = 1; at < strings->len; at += strlen((char *)strings->p + at) + 1)
		if (strcmp((char *)strings->p + at, s) == 0)
			return (uint32_t)at;
	uint32_t at = (uint32_t)strings->len;
	put(strings, s, strlen(s) + 1);
	return at;
}

static void put_attr(struct bytes *loc, unsigned kind, uint64_t v)
{
	if (v == 0)
		return;
	unsigned n = 0;
	while (n < 7 && v >> (8 * (n + 1)))
		n++;
	uint8_t head = (uint8_t)(kind << 3 | n);
	put(loc, &head, 1);
	for (int i = (int)n; i >= 0; i--) {
		uint8_t byte = (uint8_t)(v >> (8 * i));
		put(loc, &byte, 1);
	}
}

static void full_name(char *out, size_t size, const struct jc_resource *r)
{
	int n = 0;
	if (r->module && *r->module)
		n += snprintf(out + n, size - (size_t)n, "/%s/", r->module);
	if (r->parent && *r->parent)
		n += snprintf(out + n, size - (size_t)n, "%s/", r->parent);
	n += snprintf(out + n, size - (size_t)n, "%s", r->base);
	if (r->ext && *r->ext)
		snprintf(out + n, size - (size_t)n, ".%s", r->ext);
}

/* A table length where every name has a redirect slot of its own, and the
 * location index each gets (SEEDED: through a seed of its own). */
static uint32_t place(const struct jc_resource *res, size_t n, bool seeded, int32_t *redirect_of,
		      uint32_t *index_of)
{
	char name[512];
	for (uint32_t len = (uint32_t)n + 1; len < 4096; len++) {
		bool slot_used[4096] = {0}, index_used[4096] = {0};
		bool ok = true;
		for (size_t i = 0; i < n && ok; i++) {
			full_name(name, sizeof name, &res[i]);
			uint32_t slot = jc_hash(name, MULT) % len;
			ok = !slot_used[slot];
			slot_used[slot] = true;
			if (!seeded) {
				index_of[i] = (uint32_t)i;
				redirect_of[i] = -(int32_t)i - 1;
				continue;
			}
			ok = false;
			for (uint32_t seed = 1; seed < 100000 && !ok; seed++) {
				uint32_t idx = jc_hash(name, seed) % len;
				if (!index_used[idx]) {
					index_used[idx] = ok = true;
					index_of[i] = idx;
					redirect_of[i] = (int32_t)seed;
				}
			}
		}
		if (ok)
			return len;
	}
	cr_assert_fail("no table length places the names");
	return 0;
}

void jc_build(struct jc_image *im, const struct jc_resource *res, size_t n, bool big,
	      bool seeded)
{
	cr_assert(n <= 16);
	memset(im, 0, sizeof *im);
	int32_t redirect_of[16];
	uint32_t index_of[16];
	uint32_t tl = place(res, n, seeded, redirect_of, index_of);
	struct bytes strings = {0}, loc = {0}, content = {0};
	uint8_t zero = 0;
	put(&strings, &zero, 1);
	put(&loc, &zero, 1); /* location 0: empty, as in real images */
	uint32_t loc_off[16];
	for (size_t i = 0; i < n; i++) {
		const struct jc_resource *r = &res[i];
		uint32_t mod = string(&strings, r->module), parent = string(&strings, r->parent);
		uint32_t base = string(&strings, r->base), ext = string(&strings, r->ext);
		uint64_t at = content.len;
		size_t len = r->len;
		if (r->package_module) {
			struct bytes pair = {0};
			put_word(&pair, 0, big);
			put_word(&pair, string(&strings, r->package_module), big);
			put(&content, pair.p, pair.len);
			len = pair.len;
			free(pair.p);
		} else if (r->len) {
			put(&content, r->data, r->len);
		}
		loc_off[i] = (uint32_t)loc.len;
		put_attr(&loc, 1, mod);
		put_attr(&loc, 2, parent);
		put_attr(&loc, 3, base);
		put_attr(&loc, 4, ext);
		put_attr(&loc, 5, at);
		put_attr(&loc, 6, r->compressed);
		put_attr(&loc, 7, len);
		put(&loc, &zero, 1);
	}
	struct bytes out = {0};
	put_word(&out, 0xCAFEDADAu, big);
	put_word(&out, 0x00010000u, big);
	put_word(&out, 0, big);
	put_word(&out, (uint32_t)n, big);
	put_word(&out, tl, big);
	put_word(&out, (uint32_t)loc.len, big);
	put_word(&out, (uint32_t)strings.len, big);
	im->redirect = out.len;
	char name[512];
	int32_t *redirect = calloc(tl, sizeof *redirect);
	uint32_t *offsets = calloc(tl, sizeof *offsets);
	cr_assert(redirect && offsets);
	for (size_t i = 0; i < n; i++) {
		full_name(name, sizeof name, &res[i]);
		redirect[jc_hash(name, MULT) % tl] = redirect_of[i];
		offsets[index_of[i]] = loc_off[i];
	}
	for (uint32_t i = 0; i < tl; i++)
		put_word(&out, (uint32_t)redirect[i], big);
	im->offsets = out.len;
	for (uint32_t i = 0; i < tl; i++)
		put_word(&out, offsets[i], big);
	im->locations = out.len;
	for (size_t i = 0; i < n; i++)
		im->loc_at[i] = im->locations + loc_off[i];
	put(&out, loc.p, loc.len);
	im->strings = out.len;
	put(&out, strings.p, strings.len);
	im->index_size = out.len;
	if (content.len)
		put(&out, content.p, content.len);
	im->buf = out.p;
	im->len = out.len;
	im->table_length = tl;
	free(redirect);
	free(offsets);
	free(strings.p);
	free(loc.p);
	free(content.p);
}

void jc_write(const struct jc_image *im, const char *path)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(im->buf, 1, im->len, f), im->len);
	cr_assert_eq(fclose(f), 0);
}
