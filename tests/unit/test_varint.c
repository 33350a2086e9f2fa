/* Graal's variable-length integers (symbols/varint.c): known encodings,
 * round trips through the writer's algorithm, and the bounds. */
#include "../../symbols/varint.h"
#include "varintw.h"

#include <criterion/criterion.h>

Test(varint, known_encodings)
{
	/* 192 is the first number that needs two bytes: 192 + 0 * 64 */
	static const uint8_t b192[] = {0xc0, 0x00};
	struct hd_varint r = vi_at(b192, sizeof b192, 0);
	uint64_t u;
	cr_assert(vi_uv(&r, &u));
	cr_assert_eq(u, 192);
	cr_assert_eq(r.pos, 2);
	/* 255 + 191 * 64 = 12479 */
	static const uint8_t b2[] = {0xff, 0xbf, 0x07};
	r = vi_at(b2, sizeof b2, 0);
	cr_assert(vi_uv(&r, &u));
	cr_assert_eq(u, 255 + 191 * 64);
	uint8_t b;
	cr_assert(vi_u1(&r, &b));
	cr_assert_eq(b, 7);
	/* zig-zag: 0 -> 0, -1 -> 1, 1 -> 2 */
	static const uint8_t zz[] = {0, 1, 2};
	r = vi_at(zz, sizeof zz, 0);
	int64_t s;
	cr_assert(vi_sv(&r, &s) && s == 0);
	cr_assert(vi_sv(&r, &s) && s == -1);
	cr_assert(vi_sv(&r, &s) && s == 1);
	cr_assert_not(vi_sv(&r, &s), "end of the buffer");
}

Test(varint, round_trips)
{
	static const int64_t values[] = {0, 1, 63, 191, 192, 193, 255, 256, 12479, 12480,
					 65535, 1 << 20, INT32_MAX, INT32_MIN, -1, -192,
					 INT64_MAX, INT64_MIN};
	for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
		struct varintw w = {0};
		vw_uv(&w, (uint64_t)values[i]);
		vw_sv(&w, values[i]);
		struct hd_varint r = vi_at(w.buf, w.n, 0);
		uint64_t u;
		int64_t s;
		cr_assert(vi_uv(&r, &u));
		cr_assert_eq(u, (uint64_t)values[i], "uv %lld", (long long)values[i]);
		cr_assert(r.pos <= HD_VARINT_MAX_BYTES);
		cr_assert(vi_sv(&r, &s));
		cr_assert_eq(s, values[i], "sv %lld", (long long)values[i]);
		cr_assert_eq(r.pos, w.n, "each value consumed exactly");
	}
}

Test(varint, java_ints)
{
	struct varintw w = {0};
	vw_uv_int(&w, -1);
	cr_assert_eq(w.n, HD_VARINT_MAX_BYTES, "a negative int is a 64-bit value to putUV");
	vw_uv_int(&w, (int32_t)0x80000008u); /* a complete static field's modifiers */
	vw_uv(&w, 1ull << 32);                /* not an int */
	vw_sv(&w, (int64_t)INT32_MAX + 1);    /* not an int either */
	vw_sv(&w, INT32_MIN);
	struct hd_varint r = vi_at(w.buf, w.n, 0);
	int32_t v;
	cr_assert(vi_uv_int(&r, &v));
	cr_assert_eq(v, -1);
	cr_assert(vi_uv_int(&r, &v));
	cr_assert_eq((uint32_t)v, 0x80000008u);
	cr_assert_not(vi_uv_int(&r, &v));
	cr_assert_not(vi_sv_int(&r, &v));
	cr_assert(vi_sv_int(&r, &v));
	cr_assert_eq(v, INT32_MIN);
}

Test(varint, bounded)
{
	/* Continuation bytes up to the end: truncated, never read past. */
	uint8_t cont[5] = {0xc0, 0xff, 0xff, 0xff, 0xff};
	for (size_t len = 0; len <= sizeof cont; len++) {
		struct hd_varint r = vi_at(cont, len, 0);
		uint64_t u;
		cr_assert_not(vi_uv(&r, &u), "truncated at %zu", len);
		cr_assert(r.pos <= len);
	}
	/* The eleventh byte ends a number even when it is a high code. */
	uint8_t eleven[12];
	for (size_t i = 0; i < sizeof eleven; i++)
		eleven[i] = 0xff;
	struct hd_varint r = vi_at(eleven, sizeof eleven, 0);
	uint64_t u;
	cr_assert(vi_uv(&r, &u));
	cr_assert_eq(r.pos, HD_VARINT_MAX_BYTES);
	/* A start past the end reads nothing. */
	r = vi_at(eleven, 4, 9);
	uint8_t b;
	cr_assert_not(vi_u1(&r, &b));
	r = vi_at(eleven, sizeof eleven, 2);
	cr_assert(vi_skip(&r, 10));
	cr_assert_not(vi_skip(&r, 1));
	cr_assert_not(vi_skip(&r, UINT64_MAX));
}
