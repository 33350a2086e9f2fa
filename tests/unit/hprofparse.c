#include "hprofparse.h"
#include "../../hprof/hprofids.h"

#include "../../common/hd_error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char MAGIC[] = "JAVA PROFILE 1.0.2"; /* followed by its NUL */

uint16_t hp_u2(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

uint32_t hp_u4(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t hp_u8(const uint8_t *p) { return (uint64_t)hp_u4(p) << 32 | hp_u4(p + 4); }
uint64_t hp_id(const uint8_t *p) { return hp_u8(p) * HPROF_ID_INVERSE; }
uint64_t hp_raw_id(const uint8_t *p, unsigned id_size) { return id_size == 4 ? hp_u4(p) : hp_u8(p); }

unsigned hp_type_size(uint8_t t, unsigned id_size)
{
	switch (t) {
	case 2: return id_size;
	case 4: case 8: return 1;
	case 5: case 9: return 2;
	case 6: case 10: return 4;
	case 7: case 11: return 8;
	}
	return 0;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int hp_parse(const uint8_t *buf, size_t len, struct hp_file *f, char *err, size_t errlen)
{
	memset(f, 0, sizeof *f);
	if (len < sizeof MAGIC + 12 || memcmp(buf, MAGIC, sizeof MAGIC) != 0)
		return fail(err, errlen, "no HPROF 1.0.2 header");
	f->id_size = hp_u4(buf + sizeof MAGIC);
	f->timestamp = hp_u8(buf + sizeof MAGIC + 4);
	size_t cap = 0;
	for (size_t pos = sizeof MAGIC + 12; pos < len;) {
		if (len - pos < 9) {
			hp_free(f);
			return fail(err, errlen, "record header cut off at %zu", pos);
		}
		struct hp_record r = {buf[pos], hp_u4(buf + pos + 1), hp_u4(buf + pos + 5), buf + pos + 9};
		if (r.len > len - pos - 9) {
			hp_free(f);
			return fail(err, errlen, "record at %zu (tag 0x%x) overruns the file", pos, r.tag);
		}
		if (f->nrecs == cap) {
			cap = cap ? cap * 2 : 64;
			struct hp_record *v = realloc(f->recs, cap * sizeof *v);
			if (!v) {
				hp_free(f);
				return fail(err, errlen, "out of memory");
			}
			f->recs = v;
		}
		f->recs[f->nrecs++] = r;
		pos += 9 + (size_t)r.len;
	}
	return 0;
}

void hp_free(struct hp_file *f)
{
	free(f->recs);
	memset(f, 0, sizeof *f);
}

/* Skips COUNT (u2) entries of (prefix bytes, u1 type, value). */
static bool skip_typed(const uint8_t *p, size_t avail, size_t *pos, unsigned prefix, bool with_value,
		       unsigned id_size)
{
	if (avail - *pos < 2)
		return false;
	unsigned n = hp_u2(p + *pos);
	*pos += 2;
	for (unsigned i = 0; i < n; i++) {
		if (avail - *pos < prefix + 1u)
			return false;
		unsigned size = hp_type_size(p[*pos + prefix], id_size);
		if (!size)
			return false;
		*pos += prefix + 1u;
		if (with_value) {
			if (avail - *pos < size)
				return false;
			*pos += size;
		}
	}
	return true;
}

size_t hp_sub_len(const uint8_t *p, size_t avail, unsigned id_size)
{
	const size_t ID = id_size;
	size_t need;
	if (avail < 1)
		return 0;
	switch (p[0]) {
	case 0xff: case 0x05: case 0x07: /* unknown, sticky class, monitor used */
		need = 1 + ID;
		break;
	case 0x01: /* JNI global: object, global ref */
		need = 1 + 2 * ID;
		break;
	case 0x02: case 0x03: case 0x08: /* JNI local, Java frame, thread object */
		need = 1 + ID + 8;
		break;
	case 0x04: case 0x06: /* native stack, thread block */
		need = 1 + ID + 4;
		break;
	case 0x20: { /* class dump */
		size_t pos = 1 + ID + 4 + 6 * ID + 4;
		if (avail < pos || !skip_typed(p, avail, &pos, 2, true, id_size) ||
		    !skip_typed(p, avail, &pos, id_size, true, id_size) ||
		    !skip_typed(p, avail, &pos, id_size, false, id_size))
			return 0;
		need = pos;
		break;
	}
	case 0x21: /* instance: id, trace, class, u4 bytes, values */
		if (avail < 1 + ID + 4 + ID + 4)
			return 0;
		need = 1 + ID + 4 + ID + 4 + (size_t)hp_u4(p + 1 + ID + 4 + ID);
		break;
	case 0x22: /* object array: id, trace, u4 n, class, n ids */
		if (avail < 1 + ID + 4 + 4)
			return 0;
		need = 1 + ID + 4 + 4 + ID + (size_t)hp_u4(p + 1 + ID + 4) * ID;
		break;
	case 0x23: { /* primitive array: id, trace, u4 n, u1 type, n values */
		if (avail < 1 + ID + 4 + 4 + 1)
			return 0;
		uint8_t type = p[1 + ID + 4 + 4];
		unsigned size = hp_type_size(type, id_size);
		if (!size || type == 2) /* object elements belong in 0x22 */
			return 0;
		need = 1 + ID + 4 + 4 + 1 + (size_t)hp_u4(p + 1 + ID + 4) * size;
		break;
	}
	default:
		return 0;
	}
	return need <= avail ? need : 0;
}

int hprof_membuf_sink(void *ctx, const void *buf, size_t len)
{
	struct hprof_membuf *m = ctx;
	if (len > m->cap - m->len) {
		if (len > (SIZE_MAX >> 2) - m->len)
			return hd_fail(HD_E_INTERNAL, "out of memory");
		size_t cap = m->cap ? m->cap : 1u << 16;
		while (cap - m->len < len)
			cap *= 2;
		uint8_t *p = realloc(m->p, cap);
		if (!p)
			return hd_fail(HD_E_INTERNAL, "out of memory");
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	return 0;
}
