/* Crafted code-info tables for the tests of symbols/codeinfo.h and
 * symbols/stackwalk.h: Graal's variable-length integers, and a small image
 * of two methods whose tables say what the tests expect. */
#ifndef HD_TEST_CODECRAFT_H
#define HD_TEST_CODECRAFT_H

#include "../../symbols/codeinfo.h"

#include <stddef.h>
#include <stdint.h>

/* Appends V as Graal's UNSIGNED5 (put_uv) or sign-folded (put_sv) at
 * *N in P; returns P. */
uint8_t *put_uv(uint8_t *p, size_t *n, uint64_t v);
uint8_t *put_sv(uint8_t *p, size_t *n, int64_t v);

/* Code at CRAFT_CODE, two granules: method A at +0 (frame 32 bytes, a call
 * at +0x10 with reference map REFMAP_A: slots 8 and 16 of its frame,
 * inlined B.b line 7 into A.a line 3), method B at +0x100 (frame 48, an entry
 * point; a call at +0x120 in B.b line 9, empty reference map).  22.3's
 * frame-info form (class and name indexes per frame).  Classes are hub
 * offsets 0x100 (A) and 0x200 (B); names 0x1000 ("a") and 0x2000 ("b").
 * Free with codeinfo_free. */
#define CRAFT_CODE 0x400000ull
#define CRAFT_CALL_A (CRAFT_CODE + 0x10)
#define CRAFT_CALL_B (CRAFT_CODE + 0x120)
void craft_codeinfo(struct hd_codeinfo *ci);

/* A local view of STACK (BYTES, zeroed here) at address AT. */
hd_memview *craft_stack(uint64_t *stack, size_t bytes, uint64_t at);

#endif
