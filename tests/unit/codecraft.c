#include "codecraft.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

uint8_t *put_uv(uint8_t *p, size_t *n, uint64_t v)
{
	for (unsigned i = 0; i < 10 && v >= 192; i++) {
		p[(*n)++] = (uint8_t)(192 + (v - 192) % 64);
		v = (v - 192) / 64;
	}
	p[(*n)++] = (uint8_t)v;
	return p;
}

uint8_t *put_sv(uint8_t *p, size_t *n, int64_t v)
{
	return put_uv(p, n, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static struct hd_bytes copy(const uint8_t *p, size_t n)
{
	struct hd_bytes b = {malloc(n ? n : 1), n};
	cr_assert_not_null(b.p);
	memcpy(b.p, p, n);
	return b;
}

static void put_u4(uint8_t *p, size_t *n, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[(*n)++] = (uint8_t)(v >> (8 * i));
}

void craft_codeinfo(struct hd_codeinfo *ci)
{
	memset(ci, 0, sizeof *ci);
	ci->code_start = CRAFT_CODE;
	ci->code_size = 0x200;
	ci->format = HD_FI_INLINE_NAMES;
	ci->ref_size = 4;
	/* frame info: at 0 A.a line 3 alone; at FI_CALL_A B.b line 7 then A.a
	 * line 3; at FI_CALL_B B.b line 9.  A line is +2 and negated at a slice's
	 * end (22.3). */
	uint8_t fi[64];
	size_t nfi = 0, fi_call_a, fi_call_b;
	put_sv(fi, &nfi, 0), put_sv(fi, &nfi, 0), put_sv(fi, &nfi, -(3 + 2));
	fi_call_a = nfi;
	put_sv(fi, &nfi, 1), put_sv(fi, &nfi, 1), put_sv(fi, &nfi, 7 + 2);
	put_sv(fi, &nfi, 0), put_sv(fi, &nfi, 0), put_sv(fi, &nfi, -(3 + 2));
	fi_call_b = nfi;
	put_sv(fi, &nfi, 1), put_sv(fi, &nfi, 1), put_sv(fi, &nfi, -(9 + 2));
	ci->frames = copy(fi, nfi);
	/* reference maps: 0 is the empty map; REFMAP_A: two compressed slots at 8 */
	uint8_t rm[16];
	size_t nrm = 0;
	put_sv(rm, &nrm, 0), put_sv(rm, &nrm, 0);
	size_t refmap_a = nrm;
	put_sv(rm, &nrm, 8), put_sv(rm, &nrm, -2), put_sv(rm, &nrm, 0), put_sv(rm, &nrm, 0);
	ci->refmaps = copy(rm, nrm);
	/* entries: flags (frame size 2 bits, exception 2, reference map 2,
	 * frame info 2), ip delta, then the fields present */
	uint8_t en[64];
	size_t nen = 0, g1;
	en[nen++] = 1 | 2 << 6, en[nen++] = 0x10, en[nen++] = 32 | 1;  /* A: s1 size, info */
	put_u4(en, &nen, 0);
	en[nen++] = 2 << 4 | 2 << 6, en[nen++] = 0xf0;                 /* call in A: u2 map */
	en[nen++] = (uint8_t)refmap_a, en[nen++] = 0;
	put_u4(en, &nen, (uint32_t)fi_call_a);
	g1 = nen;
	en[nen++] = 1, en[nen++] = 0x20, en[nen++] = 48 | 2 | 1;       /* B: entry point */
	en[nen++] = 1 << 4 | 2 << 6, en[nen++] = 0;                    /* call in B: empty map */
	put_u4(en, &nen, (uint32_t)fi_call_b);
	ci->entries = copy(en, nen);
	uint8_t ix[8];
	size_t nix = 0;
	put_u4(ix, &nix, 0), put_u4(ix, &nix, (uint32_t)g1);
	ci->index = copy(ix, nix);
	ci->classes = calloc(2, sizeof *ci->classes);
	ci->names = calloc(2, sizeof *ci->names);
	cr_assert(ci->classes && ci->names);
	ci->classes[0] = 0x100, ci->classes[1] = 0x200;
	ci->names[0] = 0x1000, ci->names[1] = 0x2000;
	ci->nclasses = ci->nnames = 2;
}

hd_memview *craft_stack(uint64_t *stack, size_t bytes, uint64_t at)
{
	memset(stack, 0, bytes);
	hd_memview *mv = mv_new_local();
	cr_assert_not_null(mv);
	cr_assert_eq(mv_add_local(mv, at, stack, bytes), 0);
	return mv;
}
