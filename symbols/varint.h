/* Graal's variable-length integers (UnsafeArrayTypeWriter, the UNSIGNED5
 * variant of Pack200): a byte below 192 ends a number, a byte of 192 or
 * more adds its value times 64^i and asks for the next, and the eleventh
 * byte ends the number whatever it is.  Signed values are zig-zag encoded
 * first.  The image's reflection metadata, its heap-dump metadata and its
 * frame info use them; every read here is bounded by the buffer. */
#ifndef HD_VARINT_H
#define HD_VARINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HD_VARINT_MAX_BYTES 11

/* Reads LEN bytes at P from position POS on. */
struct hd_varint {
	const uint8_t *p;
	size_t len, pos;
};

static inline struct hd_varint vi_at(const uint8_t *p, size_t len, size_t pos)
{
	return (struct hd_varint){.p = p, .len = len, .pos = pos <= len ? pos : len};
}

/* Each reader returns false, the position unspecified, when the buffer ends
 * inside the value or the value does not fit the type asked for. */

/* An unsigned value, wrapped to 64 bits as the writer's Java longs are. */
bool vi_uv(struct hd_varint *r, uint64_t *v);
/* A signed value. */
bool vi_sv(struct hd_varint *r, int64_t *v);
/* A Java int written as unsigned (putUV of an int: negative ints are
 * sign-extended to 64 bits first, so -1 takes 11 bytes). */
bool vi_uv_int(struct hd_varint *r, int32_t *v);
/* A Java int written as signed. */
bool vi_sv_int(struct hd_varint *r, int32_t *v);
/* One plain byte. */
bool vi_u1(struct hd_varint *r, uint8_t *v);
/* Skips N plain bytes. */
bool vi_skip(struct hd_varint *r, uint64_t n);

#endif
