#include "varint.h"

enum { LOW_CODES = 192, HIGH_SHIFT = 6 };

bool vi_uv(struct hd_varint *r, uint64_t *v)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < HD_VARINT_MAX_BYTES; i++) {
		if (r->pos >= r->len)
			return false;
		uint64_t b = r->p[r->pos++];
		/* 6 * 10 = 60: the eleventh byte's high bits wrap, as in Java */
		sum += b << (HIGH_SHIFT * i);
		if (b < LOW_CODES || i + 1 == HD_VARINT_MAX_BYTES)
			break;
	}
	*v = sum;
	return true;
}

bool vi_sv(struct hd_varint *r, int64_t *v)
{
	uint64_t u;
	if (!vi_uv(r, &u))
		return false;
	*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return true;
}

static bool fits_int(int64_t x, int32_t *v)
{
	if (x < INT32_MIN || x > INT32_MAX)
		return false;
	*v = (int32_t)x;
	return true;
}

bool vi_uv_int(struct hd_varint *r, int32_t *v)
{
	uint64_t u;
	return vi_uv(r, &u) && fits_int((int64_t)u, v);
}

bool vi_sv_int(struct hd_varint *r, int32_t *v)
{
	int64_t s;
	return vi_sv(r, &s) && fits_int(s, v);
}

bool vi_u1(struct hd_varint *r, uint8_t *v)
{
	if (r->pos >= r->len)
		return false;
	*v = r->p[r->pos++];
	return true;
}

bool vi_skip(struct hd_varint *r, uint64_t n)
{
	if (n > r->len - r->pos)
		return false;
	r->pos += (size_t)n;
	return true;
}
