#include "escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Length of the valid, non-control UTF-8 sequence at P (2 to 4 bytes), or 0. */
static size_t utf8_sequence(const unsigned char *p)
{
	size_t n;
	uint32_t cp;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1fu;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0fu;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07u;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	static const uint32_t shortest[5] = {0, 0, 0x80, 0x800, 0x10000};
	bool c1_control = cp <= 0x9f;
	if (cp < shortest[n] || c1_control || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Calls EMIT for each piece of S: runs of bytes that pass, and escapes. */
static void escape_pieces(const char *s, void (*emit)(const char *, size_t, void *), void *ctx)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = *p >= 0x20 && *p < 0x7f && *p != '\\' ? 1 : utf8_sequence(p);
		if (n) {
			emit((const char *)p, n, ctx);
			p += n;
			continue;
		}
		char esc[5];
		static const char hex[] = "0123456789abcdef";
		esc[0] = '\\';
		esc[1] = 'x';
		esc[2] = hex[*p >> 4];
		esc[3] = hex[*p & 15];
		esc[4] = '\0';
		emit(esc, 4, ctx);
		p++;
	}
}

static void emit_file(const char *piece, size_t n, void *ctx)
{
	fwrite(piece, 1, n, ctx);
}

void hd_fputs_escaped(const char *s, FILE *f)
{
	escape_pieces(s, emit_file, f);
}

struct buf_sink {
	char *buf;
	size_t size, len;
	bool full;
};

static void emit_buf(const char *piece, size_t n, void *ctx)
{
	struct buf_sink *b = ctx;
	if (b->full || b->len + n >= b->size) {
		b->full = true;
		return;
	}
	memcpy(b->buf + b->len, piece, n);
	b->len += n;
}

char *hd_escape(const char *s, char *buf, size_t size)
{
	if (!size)
		return buf;
	struct buf_sink b = {buf, size, 0, false};
	escape_pieces(s, emit_buf, &b);
	buf[b.len] = '\0';
	return buf;
}
