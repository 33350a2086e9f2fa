/* The code-info decoders (symbols/codeinfo.h) on crafted tables: entry
 * lookup (frame sizes carried over, exact call sites, entry points), the
 * three frame-info forms with shared frames and successors, reference
 * maps; and hostile tables: indexes past their table, varints that run off
 * the end, frame chains that cycle, maps that never end. */
#include "codecraft.h"
#include "synthheap.h"
#include "../../common/hd_error.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static struct hd_codeinfo ci;

static void setup(void) { craft_codeinfo(&ci); }
static void teardown(void) { codeinfo_free(&ci); }

TestSuite(codeinfo, .init = setup, .fini = teardown);

Test(codeinfo, lookup_carries_the_frame_size_to_call_sites)
{
	struct hd_code_entry e;
	cr_assert(codeinfo_lookup(&ci, CRAFT_CALL_A, &e));
	cr_assert(e.exact);
	cr_assert_eq(e.frame_size, 32);
	cr_assert_not(e.entry_point);
	cr_assert_eq(e.refmap, 2);
	int64_t call_a = e.frame_info;
	cr_assert(codeinfo_lookup(&ci, CRAFT_CODE + 0x55, &e)); /* between entries */
	cr_assert_not(e.exact);
	cr_assert_eq(e.frame_size, 32);
	cr_assert_eq(e.frame_info, call_a, "the call before it names the method");
	cr_assert_eq(e.refmap, CODEINFO_NO_REFMAP);
	cr_assert(codeinfo_lookup(&ci, CRAFT_CODE + 0x110, &e)); /* B, before its call */
	cr_assert_eq(e.frame_info, -1, "A's frames do not name B");
	cr_assert(codeinfo_lookup(&ci, CRAFT_CALL_B, &e));
	cr_assert(e.exact && e.entry_point);
	cr_assert_eq(e.frame_size, 48);
	cr_assert_eq(e.refmap, CODEINFO_EMPTY_REFMAP);
	cr_assert_not(codeinfo_lookup(&ci, CRAFT_CODE - 1, &e));
	cr_assert_not(codeinfo_lookup(&ci, CRAFT_CODE + 0x200, &e));
}

static void expect_frame(const struct hd_java_frame *f, uint64_t cls, uint64_t name, int line)
{
	cr_assert_eq(f->class_off, cls);
	cr_assert_eq(f->name_off, name);
	cr_assert_eq(f->line, line);
}

Test(codeinfo, inlined_frames_deepest_first)
{
	struct hd_code_entry e;
	struct hd_java_frame f[CODEINFO_MAX_INLINE];
	size_t n;
	cr_assert(codeinfo_lookup(&ci, CRAFT_CALL_A, &e));
	cr_assert(codeinfo_frames(&ci, &e, f, &n));
	cr_assert_eq(n, 2);
	expect_frame(&f[0], 0x200, 0x2000, 7);
	expect_frame(&f[1], 0x100, 0x1000, 3);
}

static int collect(void *ctx, int32_t off, bool compressed)
{
	int32_t *v = ctx;
	cr_assert(compressed);
	v[v[0]++ + 1] = off;
	return 0;
}

Test(codeinfo, reference_map_slots)
{
	int32_t v[8] = {0};
	cr_assert(codeinfo_refmap(&ci, 2, collect, v));
	cr_assert_eq(v[0], 2);
	cr_assert_eq(v[1], 8);
	cr_assert_eq(v[2], 12); /* compressed slots are 4 bytes here */
	cr_assert(codeinfo_refmap(&ci, CODEINFO_EMPTY_REFMAP, collect, v));
	cr_assert_eq(v[0], 2);
	cr_assert_not(codeinfo_refmap(&ci, CODEINFO_NO_REFMAP, collect, v));
}

/* Replaces the frame info with P[0..N) and decodes it at 0. */
static bool frames_of(const uint8_t *p, size_t n, struct hd_java_frame *f, size_t *nf)
{
	free(ci.frames.p);
	ci.frames.p = malloc(n);
	cr_assert_not_null(ci.frames.p);
	memcpy(ci.frames.p, p, n);
	ci.frames.n = n;
	struct hd_code_entry e = {.frame_info = 0};
	return codeinfo_frames(&ci, &e, f, nf);
}

/* P[0..N) decodes to one frame: CLS.NAME at LINE, BCI. */
static void expect_one(const uint8_t *p, size_t n, uint64_t cls, uint64_t name, int line, int bci)
{
	struct hd_java_frame f[CODEINFO_MAX_INLINE];
	size_t nf;
	cr_assert(frames_of(p, n, f, &nf));
	cr_assert_eq(nf, 1);
	expect_frame(&f[0], cls, name, line);
	cr_assert_eq(f[0].bci, bci);
}

/* P[0..N) decodes to the chain WANT[0..NWANT): classes, names, lines, bcis. */
static void expect_chain(const uint8_t *p, size_t n, const struct hd_java_frame *want, size_t nwant)
{
	struct hd_java_frame f[CODEINFO_MAX_INLINE];
	size_t nf;
	cr_assert(frames_of(p, n, f, &nf));
	cr_assert_eq(nf, nwant);
	for (size_t i = 0; i < nf; i++) {
		expect_frame(&f[i], want[i].class_off, want[i].name_off, want[i].line);
		cr_assert_eq(f[i].bci, want[i].bci, "frame %zu", i);
	}
}

Test(codeinfo, shared_frames_and_successors)
{
	/* 0: a pointer to the shared frame at S, whose name index is negated:
	 * its successor (the caller) is at C. */
	uint8_t p[32];
	size_t n = 0;
	put_sv(p, &n, -(8 + 2));         /* shared frame at byte 8 */
	while (n < 8)
		p[n++] = 0;
	put_sv(p, &n, 1);                /* 8: class 1 */
	put_sv(p, &n, -(1 + 1));         /* name 1, a successor follows */
	put_sv(p, &n, 5 + 2);            /* line 5, not the end */
	put_sv(p, &n, 16);               /* successor at 16 */
	while (n < 16)
		p[n++] = 0;
	put_sv(p, &n, 0), put_sv(p, &n, 0), put_sv(p, &n, -(4 + 2)); /* 16: A.a line 4, end */
	struct hd_java_frame f[CODEINFO_MAX_INLINE];
	size_t nf;
	cr_assert(frames_of(p, n, f, &nf));
	cr_assert_eq(nf, 2);
	expect_frame(&f[0], 0x200, 0x2000, 5);
	expect_frame(&f[1], 0x100, 0x1000, 4);
}

Test(codeinfo, method_table_form)
{
	/* 24.1 on: a method id into a table of (u2 class, u2 name) entries;
	 * lines +3, a bci after them. */
	uint8_t mt[] = {1, 0, 0, 0, 0, 0, 1, 0}; /* method 0: B.a; method 1: A.b */
	ci.methods = (struct hd_bytes){malloc(sizeof mt), sizeof mt};
	memcpy(ci.methods.p, mt, sizeof mt);
	ci.format = HD_FI_METHOD_TABLE;
	ci.method_entry = 4;
	ci.short_class = ci.short_name = true;
	uint8_t p[16];
	size_t n = 0;
	put_sv(p, &n, 1), put_sv(p, &n, -(12 + 3)), put_sv(p, &n, (6 + 4) << 2);
	expect_one(p, n, 0x100, 0x2000, 12, 6);
	struct hd_java_frame f[CODEINFO_MAX_INLINE];
	size_t nf;
	n = 0;
	put_sv(p, &n, 2), put_sv(p, &n, -(12 + 3)), put_sv(p, &n, 0); /* no method 2 */
	cr_assert_not(frames_of(p, n, f, &nf));
	cr_assert_eq(nf, 0);
}

Test(codeinfo, inline_names_with_bci_form)
{
	/* 23.1 and 24.0: class and name indexes as in 22.3, lines +3, then an
	 * encoded bci ((bci + 4) << 2 | flags) and a method id, then the
	 * successor's index when the name index is negated. */
	ci.format = HD_FI_INLINE_NAMES_BCI;
	uint8_t p[32];
	size_t n = 0;
	put_sv(p, &n, 1), put_sv(p, &n, -(1 + 1)), put_sv(p, &n, 5 + 3); /* B.b line 5 */
	put_uv(p, &n, (6 + 4) << 2), put_sv(p, &n, 77);                 /* bci 6 */
	put_sv(p, &n, 16);                                               /* successor at 16 */
	while (n < 16)
		p[n++] = 0;
	put_sv(p, &n, 0), put_sv(p, &n, 0), put_sv(p, &n, -(4 + 3));    /* A.a line 4, end */
	put_uv(p, &n, (2 + 4) << 2 | 2), put_sv(p, &n, 5);               /* bci 2, during call */
	expect_chain(p, n, (struct hd_java_frame[]){{0x200, 0x2000, 5, 6}, {0x100, 0x1000, 4, 2}}, 2);
	/* a method's default frame info: no line (-1 + 3, the slice's end), bci 0 */
	n = 0;
	put_sv(p, &n, 0), put_sv(p, &n, 1), put_sv(p, &n, -(-1 + 3)), put_uv(p, &n, 4 << 2),
		put_sv(p, &n, 0);
	expect_one(p, n, 0x100, 0x2000, -1, 0);
	/* read as 22.3's form, the line is off by one and the bci unknown */
	ci.format = HD_FI_INLINE_NAMES;
	expect_one(p, n, 0x100, 0x2000, 0, -1);
}

Test(codeinfo, inline_names_with_bci_hostile)
{
	ci.format = HD_FI_INLINE_NAMES_BCI;
	struct hd_java_frame f[CODEINFO_MAX_INLINE];
	size_t nf = 99;
	uint8_t p[32];
	size_t n = 0;
	put_sv(p, &n, 0), put_sv(p, &n, 0), put_sv(p, &n, -5), put_uv(p, &n, 1ull << 40),
		put_sv(p, &n, 0); /* a bci no int holds */
	cr_assert_not(frames_of(p, n, f, &nf));
	cr_assert_eq(nf, 0);
	n = 0;
	put_sv(p, &n, 0), put_sv(p, &n, 0), put_sv(p, &n, -5), put_uv(p, &n, 3),
		put_sv(p, &n, 0); /* the end marker as a frame's bci */
	cr_assert_not(frames_of(p, n, f, &nf));
	n = 0;
	put_sv(p, &n, 0), put_sv(p, &n, 0), put_sv(p, &n, -5), put_uv(p, &n, 16); /* no method id */
	cr_assert_not(frames_of(p, n, f, &nf));
	n = 0;
	put_sv(p, &n, -1), put_uv(p, &n, 3); /* an uncompressed chain without a frame */
	cr_assert_not(frames_of(p, n, f, &nf));
}

/* An uncompressed chain's first frame's values after its bci: locks,
 * locals, stack, deopt target, values (a stack slot with data, an illegal
 * one without), no virtual objects. */
static void put_first_locals(uint8_t *p, size_t *n)
{
	put_uv(p, n, 0), put_uv(p, n, 2), put_uv(p, n, 0), put_sv(p, n, 0);
	put_uv(p, n, 2);
	p[(*n)++] = 1, put_sv(p, n, -16);
	p[(*n)++] = 0;
	put_uv(p, n, 0);
}

Test(codeinfo, uncompressed_frames_with_bci_form)
{
	/* 23.1's values-carrying frames: an unsigned encoded bci (3 ends the
	 * chain), always locals, then class, name, line, method id. */
	ci.format = HD_FI_INLINE_NAMES_BCI;
	uint8_t p[64];
	size_t n = 0;
	put_sv(p, &n, -1);
	put_uv(p, &n, (5 + 4) << 2);
	put_first_locals(p, &n);
	put_sv(p, &n, 1), put_sv(p, &n, 0), put_sv(p, &n, 21), put_uv(p, &n, 77);
	put_uv(p, &n, (9 + 4) << 2);      /* the caller: no virtual objects */
	put_uv(p, &n, 0), put_uv(p, &n, 0), put_uv(p, &n, 0), put_sv(p, &n, 0), put_uv(p, &n, 0);
	put_sv(p, &n, 0), put_sv(p, &n, 1), put_sv(p, &n, 30), put_uv(p, &n, 3);
	put_uv(p, &n, 3);
	expect_chain(p, n, (struct hd_java_frame[]){{0x200, 0x1000, 21, 5}, {0x100, 0x2000, 30, 9}}, 2);
	struct hd_java_frame f[CODEINFO_MAX_INLINE];
	size_t nf;
	n -= 1; /* without its end marker the chain runs off the table */
	cr_assert_not(frames_of(p, n, f, &nf));
}

Test(codeinfo, uncompressed_frames_skip_their_values)
{
	/* -1 marks values-carrying frames: bci, locks/locals/stack, deopt
	 * target, values (a stack slot with data, an illegal one without), then
	 * (first frame) virtual objects, then class, name, line, method id; -1
	 * ends the chain. */
	uint8_t p[48];
	size_t n = 0;
	put_sv(p, &n, -1);
	put_sv(p, &n, 5 << 2);
	put_first_locals(p, &n);
	put_sv(p, &n, 1), put_sv(p, &n, 0), put_sv(p, &n, 21), put_uv(p, &n, 77);
	put_sv(p, &n, -1);
	expect_one(p, n, 0x200, 0x1000, 21, 5);
}

Test(codeinfo, index_past_its_table)
{
	ci.index.n = 4; /* the second granule's index entry is gone */
	struct hd_code_entry e;
	cr_assert_not(codeinfo_lookup(&ci, CRAFT_CALL_B, &e));
	cr_assert(codeinfo_lookup(&ci, CRAFT_CALL_A, &e));
	ci.index.p[0] = 0xff; /* an entry offset past the entries */
	cr_assert_not(codeinfo_lookup(&ci, CRAFT_CALL_A, &e));
}

Test(codeinfo, frame_info_index_past_its_table)
{
	struct hd_java_frame f[CODEINFO_MAX_INLINE];
	size_t nf;
	struct hd_code_entry e = {.frame_info = (int64_t)ci.frames.n};
	cr_assert_not(codeinfo_frames(&ci, &e, f, &nf));
	e.frame_info = -5;
	cr_assert_not(codeinfo_frames(&ci, &e, f, &nf));
}

Test(codeinfo, varint_running_off_the_end)
{
	uint8_t p[] = {0, 0, 0xff, 0xff, 0xff}; /* a line whose bytes all continue */
	struct hd_java_frame f[CODEINFO_MAX_INLINE];
	size_t nf;
	cr_assert_not(frames_of(p, sizeof p, f, &nf));
	uint8_t wide[16];
	size_t n = 0;
	put_sv(wide, &n, 0), put_sv(wide, &n, (int64_t)1 << 40), put_sv(wide, &n, -5);
	cr_assert_not(frames_of(wide, n, f, &nf)); /* an index no int holds */
}

Test(codeinfo, cyclic_successors_are_bounded)
{
	/* a frame whose successor is itself, never ending the slice */
	uint8_t p[16];
	size_t n = 0;
	put_sv(p, &n, 0), put_sv(p, &n, -1), put_sv(p, &n, 3 + 2), put_sv(p, &n, 0);
	struct hd_java_frame f[CODEINFO_MAX_INLINE];
	size_t nf = 99;
	cr_assert_not(frames_of(p, n, f, &nf));
	cr_assert_eq(nf, 0);
	/* a shared-frame pointer to itself */
	n = 0;
	put_sv(p, &n, -(0 + 2));
	cr_assert_not(frames_of(p, n, f, &nf));
}

static int count_slots(void *ctx, int32_t off, bool compressed)
{
	(void)off;
	(void)compressed;
	++*(size_t *)ctx;
	return 0;
}

Test(codeinfo, endless_reference_map_is_bounded)
{
	/* pairs of (gap 8, one slot) with no end: the offset bound stops it */
	size_t len = 1 << 20;
	uint8_t *p = malloc(len);
	cr_assert_not_null(p);
	for (size_t i = 0; i + 2 <= len; i += 2)
		p[i] = 16, p[i + 1] = 2; /* sv 8, sv 1 */
	free(ci.refmaps.p);
	ci.refmaps = (struct hd_bytes){p, len};
	size_t slots = 0;
	cr_assert_not(codeinfo_refmap(&ci, 2, count_slots, &slots)); /* 0 is the empty map */
	cr_assert_leq(slots, CODEINFO_MAX_SLOT_OFF / 8 + 1);
}

/* A map at index 1 of BYTES (a pad byte first: 0 is the empty map), into
 * CI: rejected, without arithmetic overflow (UBSan halts on one). */
static void assert_refmap_rejected(const uint8_t *bytes, size_t len)
{
	uint8_t *p = malloc(len);
	cr_assert_not_null(p);
	memcpy(p, bytes, len);
	free(ci.refmaps.p);
	ci.refmaps = (struct hd_bytes){p, len};
	size_t slots = 0;
	cr_assert_not(codeinfo_refmap(&ci, 1, count_slots, &slots));
	cr_assert_eq(slots, 0);
}

Test(codeinfo, reference_map_count_of_int64_min_is_bad_data)
{
	/* gap 0, count zig-zag 2^64-1 = INT64_MIN (negating it overflowed) */
	static const uint8_t m[] = {9, 0, 255, 252, 252, 252, 252, 252, 252, 252, 252, 252, 12, 0, 0};
	assert_refmap_rejected(m, sizeof m);
}

Test(codeinfo, reference_map_count_of_int64_max_is_bad_data)
{
	/* gap 0 count 1, then gap 0 count INT64_MAX (the slot sum overflowed):
	 * nor is the first run's slot reported, the map being bad as a whole */
	static const uint8_t m[] = {9, 0, 2, 0, 254, 252, 252, 252, 252, 252, 252, 252, 252, 252, 12, 0, 0};
	assert_refmap_rejected(m, sizeof m);
}

/* An image heap with no ImageCodeInfo (or none that decodes): a layout
 * error the caller turns into conservative stacks, nothing kept. */
Test(codeinfo, image_without_code_info)
{
	struct sh_heap h;
	cr_assert_eq(sh_build(&sh_ce_25, &h), 0);
	hd_memview *mv = sh_view(&h);
	uint64_t *hubs = sh_hubs(&h);
	struct hd_classes t;
	cr_assert_eq(classes_build(&t, mv, &h.expect, hubs, h.nclasses), 0, "%s", hd_error_message());
	struct hd_imageobjs io;
	cr_assert_eq(imageobjs_build(&io, mv, &h.expect, &t), 0, "%s", hd_error_message());
	struct hd_codeinfo found;
	cr_assert_eq(codeinfo_discover(&found, mv, &h.expect, &io, NULL), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	cr_assert_null(found.index.p);
	codeinfo_free(&found);
	imageobjs_free(&io);
	classes_free(&t);
	free(hubs);
	mv_free(mv);
	sh_free(&h);
}
