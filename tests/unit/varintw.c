#include "varintw.h"

#include <stdlib.h>

void vw_u1(struct varintw *w, uint8_t v)
{
	if (w->n >= sizeof w->buf)
		abort(); /* a test that crafts more has a bug */
	w->buf[w->n++] = v;
}

void vw_uv(struct varintw *w, uint64_t v)
{
	unsigned i = 1;
	for (; v >= 192 && i < 11; i++) {
		v -= 192;
		vw_u1(w, (uint8_t)(192 + (v & 63)));
		v >>= 6;
	}
	vw_u1(w, (uint8_t)v);
}

void vw_sv(struct varintw *w, int64_t v)
{
	vw_uv(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void vw_uv_int(struct varintw *w, int32_t v)
{
	vw_uv(w, (uint64_t)(int64_t)v);
}
