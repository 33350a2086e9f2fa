/* Writes Graal's variable-length integers (UnsafeArrayTypeWriter putUV /
 * putSV), for crafting metadata in tests: the reader's mirror. */
#ifndef HD_TEST_VARINTW_H
#define HD_TEST_VARINTW_H

#include <stddef.h>
#include <stdint.h>

struct varintw {
	uint8_t buf[4096];
	size_t n;
};

void vw_uv(struct varintw *w, uint64_t v);
void vw_sv(struct varintw *w, int64_t v);
/* putUV of a Java int: sign-extended first, as the writer's long is. */
void vw_uv_int(struct varintw *w, int32_t v);
void vw_u1(struct varintw *w, uint8_t v);

#endif
