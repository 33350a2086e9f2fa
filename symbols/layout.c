/* The layout's decoders that need more than a few lines or a memory view:
 * reference maps, image-heap reads and Strings. */
#include "layout.h"

#include <inttypes.h>
#include <stdlib.h>

/* Names longer than this many characters are not taken for names. */
#define MAX_STRING_CHARS (4096 * 16)
/* String's fields lie within its first bytes (real ones: 24 to 64). */
#define MAX_STRING_SPAN 512

int lay_refmap_each(const struct hd_layout *L, const uint8_t *table, uint32_t len, int32_t index,
		    unsigned limit, lay_refmap_fn fn, void *ctx)
{
	if (!table || len < 4 || index < 0 || (uint32_t)index > len - 4)
		return hd_fail(HD_E_LAYOUT, "reference map index %d out of range", index);
	int32_t n = (int32_t)ld_u32(table + index);
	if (n < 0 || (uint64_t)n * 8 > len - (uint32_t)index - 4)
		return hd_fail(HD_E_LAYOUT, "reference map at %d overruns its table", index);
	unsigned prev_end = L->hdr_size;
	for (int32_t i = 0; i < n; i++) {
		int32_t off = (int32_t)ld_u32(table + index + 4 + 8 * i);
		uint32_t cnt = ld_u32(table + index + 8 + 8 * i);
		if (off < (int32_t)prev_end || cnt == 0 || cnt > limit ||
		    (uint64_t)off + (uint64_t)cnt * L->ref_size > limit || off % (int32_t)L->ref_size)
			return hd_fail(HD_E_LAYOUT,
				       "reference map at %d: %u references at %d do not fit %u bytes",
				       index, cnt, off, limit);
		prev_end = (unsigned)off + cnt * L->ref_size;
		int rc = fn ? fn(ctx, (unsigned)off, cnt) : 0;
		if (rc != 0)
			return rc;
	}
	return 0;
}

int lay_read_image(hd_memview *mv, uint64_t addr, void *buf, size_t len, const char *what)
{
	if (mv_read(mv, addr, buf, len) != 0)
		return hd_fail(HD_E_LAYOUT, "%s at 0x%" PRIx64 " (%zu bytes) lies outside the image heap",
			       what, addr, len);
	return 0;
}

static size_t put_utf8(char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	out[0] = (char)(0xe0 | (c >> 12));
	out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[2] = (char)(0x80 | (c & 0x3f));
	return 3;
}

char *lay_read_string(hd_memview *mv, const struct hd_layout *L, uint64_t addr)
{
	if (!addr) {
		hd_fail(HD_E_LAYOUT, "null String");
		return NULL;
	}
	uint8_t fields[MAX_STRING_SPAN], a[64];
	int32_t enc;
	if (lay_string_span(L) > sizeof fields || L->array_length_off + 4 > sizeof a) {
		hd_fail(HD_E_LAYOUT, "String fields past +%u", lay_string_span(L));
		return NULL;
	}
	if (lay_read_image(mv, addr, fields, lay_string_span(L), "String") != 0)
		return NULL;
	struct lay_string str = lay_string(L, fields);
	uint64_t v = str.value;
	if (!v || lay_read_image(mv, v, a, L->array_length_off + 4, "String value") != 0 ||
	    lay_read_image(mv, lay_hub_from_header(L, lay_header(L, a)) + L->hub_enc, &enc, 4,
			   "String value hub") != 0 ||
	    !le_is_pure_array(enc) || !le_has_primitive_elems(enc) || le_shift(enc) > 1) {
		hd_fail(HD_E_LAYOUT, "String at 0x%" PRIx64 " has no byte/char value", addr);
		return NULL;
	}
	uint32_t len = (uint32_t)lay_array_length(L, a);
	uint64_t nbytes = (uint64_t)len << le_shift(enc);
	if (len > MAX_STRING_CHARS) {
		hd_fail(HD_E_LAYOUT, "String at 0x%" PRIx64 " is implausibly long", addr);
		return NULL;
	}
	uint8_t *raw = malloc(nbytes + 1);
	char *out = malloc(nbytes * 3 + 1);
	if (!raw || !out) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		goto fail;
	}
	if (lay_read_image(mv, v + le_base(enc), raw, nbytes, "String value") != 0)
		goto fail;
	size_t n = 0;
	if (le_shift(enc) == 1 || str.coder == 1)
		for (uint64_t i = 0; i + 1 < nbytes; i += 2)
			n += put_utf8(out + n, ld_u16(raw + i));
	else
		for (uint64_t i = 0; i < nbytes; i++)
			n += put_utf8(out + n, raw[i]);
	out[n] = '\0';
	free(raw);
	return out;
fail:
	free(raw);
	free(out);
	return NULL;
}
