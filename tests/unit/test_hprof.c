/* The HPROF writer (hprof/hprof.h) against a memory sink.  Every check reads
 * the produced bytes back with the independent parser in hprofparse.c:
 * byte-exact top-level records, heap-dump sub-records packed into segments
 * that never exceed the limit and are never empty, oversized sub-records in
 * exactly-sized segments of their own, big-endian element swapping, HEAP
 * DUMP END last, a failing sink and API misuse; records writers and
 * repacking; HPROF's basic-type codes. */
#include "../../common/hd_error.h"
#include "../../hprof/hprof.h"
#include "hprofparse.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* ---- A memory sink that can be told to fail ----------------------------- */

struct membuf {
	uint8_t *b;
	size_t len, cap;
	unsigned calls;
	unsigned fail_at_call; /* 1-based; 0: never fail */
};

static int mem_sink(void *ctx, const void *buf, size_t len)
{
	struct membuf *m = ctx;
	m->calls++;
	if (m->fail_at_call && m->calls >= m->fail_at_call)
		return hd_fail(HD_E_DISK_FULL, "test sink: no space left on device");
	if (m->len + len > m->cap) {
		size_t cap = m->cap ? m->cap : 4096;
		while (cap < m->len + len)
			cap *= 2;
		uint8_t *nb = realloc(m->b, cap);
		cr_assert_not_null(nb);
		m->b = nb;
		m->cap = cap;
	}
	memcpy(m->b + m->len, buf, len);
	m->len += len;
	return 0;
}

static hd_hprof *open_mem(struct membuf *m, uint64_t ts, size_t limit)
{
	memset(m, 0, sizeof *m);
	hd_error_clear();
	hd_hprof *w = hprof_open(mem_sink, m, 8, ts, limit);
	cr_assert_not_null(w, "hprof_open: %s", hd_error_message());
	return w;
}

static void be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* Parses M, checks the header and that HEAP DUMP END is last and alone. */
static void parse_ok(const struct membuf *m, struct hp_file *f)
{
	char err[128];
	cr_assert_eq(hp_parse(m->b, m->len, f, err, sizeof err), 0, "%s", err);
	cr_assert_eq(f->id_size, 8);
	cr_assert_gt(f->nrecs, 0);
	const struct hp_record *last = &f->recs[f->nrecs - 1];
	cr_assert_eq(last->tag, HPROF_HEAP_DUMP_END);
	cr_assert_eq(last->len, 0);
	for (size_t i = 0; i + 1 < f->nrecs; i++)
		cr_assert_neq(f->recs[i].tag, HPROF_HEAP_DUMP_END, "HEAP DUMP END at record %zu", i);
}

/* ---- Header and top-level records --------------------------------------- */

Test(hprof, header_and_end_are_byte_exact)
{
	struct membuf m;
	hd_hprof *w = open_mem(&m, 0x0102030405060708ull, 0);
	cr_assert_eq(hprof_finish(w), 0);
	static const uint8_t want[] = {
		'J', 'A', 'V', 'A', ' ', 'P', 'R', 'O', 'F', 'I', 'L', 'E', ' ', '1', '.', '0', '.', '2', 0,
		0, 0, 0, 8,                                     /* identifier size */
		1, 2, 3, 4, 5, 6, 7, 8,                         /* timestamp, ms */
		HPROF_HEAP_DUMP_END, 0, 0, 0, 0, 0, 0, 0, 0,    /* time 0, length 0 */
	};
	cr_assert_eq(m.len, sizeof want);
	cr_assert_arr_eq(m.b, want, sizeof want);
	cr_assert_eq(hprof_bytes_written(w), sizeof want);
	hprof_free(w);
	free(m.b);
}

/* The top-level records with ids of ID bytes: written as given, a 4-byte
 * id's upper half dropped, the records' lengths counting ID per id. */
static void top_level_records(unsigned id)
{
	struct membuf m;
	memset(&m, 0, sizeof m);
	hd_hprof *w = hprof_open(mem_sink, &m, id, 0, 0);
	cr_assert_not_null(w, "hprof_open: %s", hd_error_message());
	cr_assert_eq(hprof_id_size(w), id);
	cr_assert_eq(hprof_utf8(w, 0x1122334455667788ull, "java/lang/String"), 0);
	cr_assert_eq(hprof_utf8(w, 9, ""), 0);
	cr_assert_eq(hprof_load_class(w, 7, 0xaabbccddeeff0011ull, 1, 0x1122334455667788ull), 0);
	static const uint64_t frames[] = {0x10, 0xfedcba9876543210ull};
	cr_assert_eq(hprof_trace(w, 3, 2, frames, 2), 0);
	cr_assert_eq(hprof_trace(w, 4, 0, NULL, 0), 0);
	cr_assert_eq(hprof_frame(w, 0x21, 0x22, 0x23, 0x24, 5, -1), 0);
	cr_assert_eq(hprof_finish(w), 0);

	uint8_t want[512];
	size_t n = 0;
#define REC(tag, len) (want[n] = (tag), be(want + n + 1, 0, 4), be(want + n + 5, (len), 4), n += 9)
#define PUT(v, size) (be(want + n, (v), (size)), n += (size))
	REC(HPROF_UTF8, id + 16);
	PUT(0x1122334455667788ull, id);
	memcpy(want + n, "java/lang/String", 16), n += 16;
	REC(HPROF_UTF8, id);
	PUT(9, id);
	REC(HPROF_LOAD_CLASS, 8 + 2 * id);
	PUT(7, 4), PUT(0xaabbccddeeff0011ull, id), PUT(1, 4), PUT(0x1122334455667788ull, id);
	REC(HPROF_TRACE, 12 + 2 * id);
	PUT(3, 4), PUT(2, 4), PUT(2, 4), PUT(0x10, id), PUT(0xfedcba9876543210ull, id);
	REC(HPROF_TRACE, 12);
	PUT(4, 4), PUT(0, 4), PUT(0, 4);
	REC(HPROF_FRAME, 4 * id + 8);
	PUT(0x21, id), PUT(0x22, id), PUT(0x23, id), PUT(0x24, id), PUT(5, 4), PUT(0xffffffff, 4);
	REC(HPROF_HEAP_DUMP_END, 0);
#undef REC
#undef PUT
	const size_t header = 19 + 4 + 8;
	cr_assert_eq(m.len, header + n);
	cr_assert_eq(hp_u4(m.b + 19), id, "the header's identifier size");
	cr_assert_arr_eq(m.b + header, want, n);
	struct hp_file f;
	char err[128];
	cr_assert_eq(hp_parse(m.b, m.len, &f, err, sizeof err), 0, "%s", err);
	cr_assert_eq(f.id_size, id);
	cr_assert_eq(f.nrecs, 7);
	hp_free(&f);
	hprof_free(w);
	free(m.b);
}

Test(hprof, utf8_load_class_trace_frame_are_byte_exact_with_8_byte_ids)
{
	top_level_records(8);
}

Test(hprof, utf8_load_class_trace_frame_are_byte_exact_with_4_byte_ids)
{
	top_level_records(4);
}

Test(hprof, other_id_sizes_are_refused)
{
	struct membuf m = {0};
	for (unsigned id = 0; id < 16; id++)
		if (id != 4 && id != 8) {
			cr_assert_null(hprof_open(mem_sink, &m, id, 0, 0), "%u-byte ids", id);
			cr_assert_eq(hd_error_class(), HD_E_INTERNAL);
		}
	cr_assert_eq(m.len, 0);
}

/* ---- Heap-dump segments ------------------------------------------------- */

/* Writes one primitive-array sub-record of exactly LEN bytes (LEN >= 18):
 * a real record shape, so the parser can find the boundaries again.  Its
 * bytes are appended to EXPECT. */
static void put_prim_array(hd_hprof *w, size_t len, uint64_t id, struct membuf *expect)
{
	uint8_t b[1 + 8 + 4 + 4 + 1];
	size_t n = len - sizeof b;
	b[0] = HPROF_PRIM_ARRAY_DUMP;
	be(b + 1, id, 8);
	be(b + 9, 1, 4);
	be(b + 13, n, 4);
	b[17] = 8; /* byte elements */
	cr_assert_eq(hprof_sub_begin(w, len), 0, "%s", hd_error_message());
	cr_assert_eq(hprof_bytes(w, b, sizeof b), 0);
	mem_sink(expect, b, sizeof b);
	for (size_t i = 0; i < n; i++) {
		uint8_t v = (uint8_t)(id + i);
		cr_assert_eq(hprof_u1(w, v), 0);
		mem_sink(expect, &v, 1);
	}
	cr_assert_eq(hprof_sub_end(w), 0, "%s", hd_error_message());
}

/* ROOT UNKNOWN: the smallest sub-record, 9 bytes. */
static void put_root(hd_hprof *w, uint64_t id, struct membuf *expect)
{
	uint8_t b[9] = {HPROF_ROOT_UNKNOWN};
	be(b + 1, id, 8);
	cr_assert_eq(hprof_sub_begin(w, 9), 0);
	cr_assert_eq(hprof_u1(w, HPROF_ROOT_UNKNOWN), 0);
	cr_assert_eq(hprof_u8(w, id), 0);
	cr_assert_eq(hprof_sub_end(w), 0);
	mem_sink(expect, b, sizeof b);
}

/* The writer's packing rule, as a model: a sub-record joins the open
 * segment if it fits, else the segment is closed first; one larger than
 * the limit gets a segment of its own; top-level records close it. */
struct model {
	size_t limit, open;
	size_t seg[4096];
	size_t nseg;
};

static void model_sub(struct model *md, size_t len)
{
	if (md->open + len > md->limit && md->open) {
		md->seg[md->nseg++] = md->open;
		md->open = 0;
	}
	if (len > md->limit)
		md->seg[md->nseg++] = len;
	else
		md->open += len;
}

static void model_close(struct model *md)
{
	if (md->open)
		md->seg[md->nseg++] = md->open;
	md->open = 0;
}

/* Checks the segments of M against the model and their bodies against
 * EXPECT: every segment non-empty, within the limit unless it holds a
 * single oversized sub-record, and made of whole sub-records. */
static void check_segments(const struct membuf *m, const struct model *md, const struct membuf *expect)
{
	struct hp_file f;
	parse_ok(m, &f);
	size_t nseg = 0, body = 0;
	for (size_t i = 0; i < f.nrecs; i++) {
		const struct hp_record *r = &f.recs[i];
		if (r->tag != HPROF_HEAP_DUMP_SEGMENT)
			continue;
		cr_assert_gt(r->len, 0, "empty segment at record %zu", i);
		cr_assert_lt(nseg, md->nseg, "more segments than the model");
		cr_assert_eq(r->len, md->seg[nseg], "segment %zu: %u bytes, model %zu", nseg, r->len,
			     md->seg[nseg]);
		size_t subs = 0;
		for (size_t pos = 0; pos < r->len; subs++) {
			size_t len = hp_sub_len(r->body + pos, r->len - pos, 8);
			cr_assert_gt(len, 0, "segment %zu: sub-record at %zu is cut or unknown", nseg, pos);
			pos += len;
		}
		if (r->len > md->limit)
			cr_assert_eq(subs, 1, "oversized segment %zu holds %zu sub-records", nseg, subs);
		cr_assert_leq(body + r->len, expect->len);
		cr_assert_arr_eq(r->body, expect->b + body, r->len, "segment %zu content", nseg);
		body += r->len;
		nseg++;
	}
	cr_assert_eq(nseg, md->nseg, "%zu segments, model %zu", nseg, md->nseg);
	cr_assert_eq(body, expect->len);
	hp_free(&f);
}

Test(hprof, segments_pack_whole_subrecords_within_the_limit)
{
	const size_t limit = 100;
	struct membuf m, expect = {0};
	struct model md = {.limit = limit};
	hd_hprof *w = open_mem(&m, 42, limit);
	/* Exactly the limit, one over, far over, tiny ones, and a top-level
	 * record in between, which must close the open segment. */
	static const size_t sizes[] = {9, 18, 30, 45, 100, 9, 101, 250, 18, 82, 9, 9, 60, 41};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		if (sizes[i] == 9)
			put_root(w, 0x100 + i, &expect);
		else
			put_prim_array(w, sizes[i], 0x100 + i, &expect);
		model_sub(&md, sizes[i]);
		if (i == 9) {
			cr_assert_eq(hprof_utf8(w, 1, "between segments"), 0);
			model_close(&md);
		}
	}
	cr_assert_eq(hprof_finish(w), 0);
	model_close(&md);
	check_segments(&m, &md, &expect);
	cr_assert_eq(hprof_bytes_written(w), m.len);
	hprof_free(w);
	free(m.b);
	free(expect.b);
}

Test(hprof, segments_random_sizes_match_the_packing_model)
{
	const size_t limit = 256;
	struct membuf m, expect = {0};
	struct model md = {.limit = limit};
	hd_hprof *w = open_mem(&m, 1, limit);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 600; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t len = 18 + x % 300; /* about one in six is oversized */
		put_prim_array(w, len, (uint64_t)i, &expect);
		model_sub(&md, len);
	}
	cr_assert_eq(hprof_finish(w), 0);
	model_close(&md);
	cr_assert_gt(md.nseg, 100);
	check_segments(&m, &md, &expect);
	hprof_free(w);
	free(m.b);
	free(expect.b);
}

Test(hprof, default_limit_is_one_mebibyte)
{
	struct membuf m, expect = {0};
	struct model md = {.limit = 1u << 20};
	hd_hprof *w = open_mem(&m, 1, 0);
	for (int i = 0; i < 2600; i++) {
		put_prim_array(w, 1000, (uint64_t)i, &expect);
		model_sub(&md, 1000);
	}
	cr_assert_eq(hprof_finish(w), 0);
	model_close(&md);
	cr_assert_eq(md.nseg, 3);
	check_segments(&m, &md, &expect);
	hprof_free(w);
	free(m.b);
	free(expect.b);
}

/* A sub-record larger than the limit, and larger than the writer's staging
 * buffer, streams into one exactly-sized segment; the writer goes back to
 * packing afterwards. */
Test(hprof, huge_subrecord_gets_its_own_exact_segment)
{
	const size_t limit = 4096, big = 600 * 1024 + 5;
	struct membuf m, expect = {0};
	struct model md = {.limit = limit};
	hd_hprof *w = open_mem(&m, 1, limit);
	put_root(w, 1, &expect);
	model_sub(&md, 9);

	uint8_t head[18] = {HPROF_PRIM_ARRAY_DUMP};
	be(head + 1, 0xb16, 8);
	be(head + 9, 1, 4);
	be(head + 13, big - sizeof head, 4);
	head[17] = 8;
	uint8_t *data = malloc(big - sizeof head);
	cr_assert_not_null(data);
	for (size_t i = 0; i < big - sizeof head; i++)
		data[i] = (uint8_t)(i * 31 + 7);
	cr_assert_eq(hprof_sub_begin(w, big), 0);
	cr_assert_eq(hprof_bytes(w, head, sizeof head), 0);
	/* Pieces of odd sizes, one of them larger than the staging buffer. */
	static const size_t pieces[] = {1, 7, 4096, 300 * 1024, 65536};
	size_t done = 0;
	for (size_t i = 0; done < big - sizeof head; i = (i + 1) % 5) {
		size_t n = pieces[i] < big - sizeof head - done ? pieces[i] : big - sizeof head - done;
		cr_assert_eq(hprof_bytes(w, data + done, n), 0);
		done += n;
	}
	cr_assert_eq(hprof_sub_end(w), 0);
	mem_sink(&expect, head, sizeof head);
	mem_sink(&expect, data, big - sizeof head);
	model_sub(&md, big);
	free(data);

	put_root(w, 2, &expect);
	put_prim_array(w, 100, 3, &expect);
	model_sub(&md, 9);
	model_sub(&md, 100);
	cr_assert_eq(hprof_finish(w), 0);
	model_close(&md);
	cr_assert_eq(md.nseg, 3);
	check_segments(&m, &md, &expect);
	hprof_free(w);
	free(m.b);
	free(expect.b);
}

/* ---- Element swapping --------------------------------------------------- */

/* The body of the single segment in M (whose file holds one). */
static const uint8_t *only_segment(const struct membuf *m, size_t *len, struct hp_file *f)
{
	parse_ok(m, f);
	const uint8_t *body = NULL;
	for (size_t i = 0; i < f->nrecs; i++) {
		if (f->recs[i].tag == HPROF_HEAP_DUMP_SEGMENT) {
			cr_assert_null(body, "more than one segment");
			body = f->recs[i].body;
			*len = f->recs[i].len;
		}
	}
	cr_assert_not_null(body);
	return body;
}

Test(hprof, swapped_writes_each_element_big_endian)
{
	struct membuf m;
	hd_hprof *w = open_mem(&m, 1, 1u << 20);
	const uint16_t u16[] = {0x0102, 0xa1b2};
	const uint32_t u32[] = {0x01020304, 0xdeadbeef};
	const uint64_t u64[] = {0x0102030405060708ull};
	const uint8_t u8[] = {9, 8, 7};
	/* More elements than the writer's 4 KiB swap buffer holds. */
	enum { NLONG = 1500 };
	uint64_t *longs = malloc(NLONG * sizeof *longs);
	cr_assert_not_null(longs);
	for (size_t i = 0; i < NLONG; i++)
		longs[i] = 0x1111111111111111ull * (i % 15) + i;
	size_t total = sizeof u16 + sizeof u32 + sizeof u64 + sizeof u8 + NLONG * 8;
	cr_assert_eq(hprof_sub_begin(w, total), 0);
	cr_assert_eq(hprof_swapped(w, u16, sizeof u16, 2), 0);
	cr_assert_eq(hprof_swapped(w, u32, sizeof u32, 4), 0);
	cr_assert_eq(hprof_swapped(w, u64, sizeof u64, 8), 0);
	cr_assert_eq(hprof_swapped(w, u8, sizeof u8, 1), 0);
	cr_assert_eq(hprof_swapped(w, longs, NLONG * 8, 8), 0);
	cr_assert_eq(hprof_sub_end(w), 0);
	cr_assert_eq(hprof_finish(w), 0);

	struct hp_file f;
	size_t len;
	const uint8_t *b = only_segment(&m, &len, &f);
	static const uint8_t want[] = {0x01, 0x02, 0xa1, 0xb2, 0x01, 0x02, 0x03, 0x04, 0xde, 0xad,
				       0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 8, 7};
	cr_assert_eq(len, total);
	cr_assert_arr_eq(b, want, sizeof want);
	for (size_t i = 0; i < NLONG; i++)
		cr_assert_eq(hp_u8(b + sizeof want + 8 * i), longs[i], "long %zu", i);
	hp_free(&f);
	free(longs);
	hprof_free(w);
	free(m.b);
}

Test(hprof, swapped_rejects_a_partial_element)
{
	struct membuf m;
	hd_hprof *w = open_mem(&m, 1, 0);
	const uint8_t six[6] = {1, 2, 3, 4, 5, 6};
	cr_assert_eq(hprof_sub_begin(w, 6), 0);
	cr_assert_eq(hprof_swapped(w, six, sizeof six, 4), -1);
	cr_assert_eq(hd_error_class(), HD_E_INTERNAL);
	hprof_free(w);
	free(m.b);
}

/* ---- Failures ----------------------------------------------------------- */

/* The sink fails on its first call, which comes when the first segment is
 * flushed: the failure is reported with the sink's class, later output
 * fails without calling the sink again, and the class is kept. */
Test(hprof, failing_sink_is_reported_and_never_called_again)
{
	struct membuf m, expect = {0};
	hd_hprof *w = open_mem(&m, 1, 64);
	m.fail_at_call = 1;
	cr_assert_eq(hprof_utf8(w, 1, "staged"), 0); /* nothing reached the sink yet */
	put_prim_array(w, 40, 1, &expect);
	cr_assert_eq(m.calls, 0);
	cr_assert_eq(hprof_sub_begin(w, 40), -1, "40 + 40 > 64 closes the segment: the sink fails");
	cr_assert_eq(m.calls, 1);
	cr_assert_eq(hd_error_class(), HD_E_DISK_FULL);
	cr_assert_eq(hprof_utf8(w, 2, "after"), -1);
	cr_assert_eq(hprof_finish(w), -1);
	cr_assert_eq(hd_error_class(), HD_E_DISK_FULL, "error became %d: %s", hd_error_class(),
		     hd_error_message());
	cr_assert_eq(m.calls, 1, "the sink was called again after failing");
	cr_assert_eq(m.len, 0);
	hprof_free(w);
	free(expect.b);
}

/* The sink fails in the middle of a sub-record streamed past its staging
 * buffer: the hprof_bytes call that needed the sink reports it. */
Test(hprof, failing_sink_inside_a_streamed_subrecord)
{
	struct membuf m;
	hd_hprof *w = open_mem(&m, 1, 1024);
	m.fail_at_call = 2;
	static uint8_t chunk[64 * 1024];
	enum { PIECES = 16 };
	cr_assert_eq(hprof_sub_begin(w, PIECES * sizeof chunk), 0);
	int rc = 0, writes = 0;
	while (writes < PIECES && rc == 0) {
		rc = hprof_bytes(w, chunk, sizeof chunk);
		writes++;
	}
	cr_assert_eq(rc, -1, "no hprof_bytes call reported the failing sink");
	cr_assert_eq(hd_error_class(), HD_E_DISK_FULL);
	cr_assert_lt(writes, PIECES, "the failure surfaced only at the end");
	cr_assert_eq(m.calls, 2);
	hprof_free(w);
	free(m.b);
}

/* After the sink has failed, even calls that would only buffer fail: the
 * caller learns of lost output at once, not at the next flush. */
Test(hprof, failing_sink_makes_every_later_call_fail)
{
	struct membuf m, expect = {0};
	hd_hprof *w = open_mem(&m, 1, 64);
	m.fail_at_call = 1;
	put_prim_array(w, 40, 1, &expect);
	cr_assert_eq(hprof_sub_begin(w, 40), -1);
	cr_assert_eq(hprof_sub_begin(w, 9), -1, "a 9-byte sub-record still fits the segment");
	cr_assert_null(hprof_sub_reserve(w, 9), "reserved room in a failed writer");
	cr_assert_eq(hprof_u1(w, HPROF_ROOT_UNKNOWN), -1);
	cr_assert_eq(hprof_u8(w, 1), -1);
	cr_assert_eq(hd_error_class(), HD_E_DISK_FULL);
	hprof_free(w);
	free(expect.b);
	free(m.b);
}

/* ---- Misuse ------------------------------------------------------------- */

static void expect_internal(int rc, const char *what)
{
	cr_assert_eq(rc, -1, "%s was accepted", what);
	cr_assert_eq(hd_error_class(), HD_E_INTERNAL, "%s: error class %d", what, hd_error_class());
	hd_error_clear();
}

Test(hprof, subrecord_length_mismatch_is_an_error)
{
	struct membuf m;
	hd_hprof *w = open_mem(&m, 1, 0);
	cr_assert_eq(hprof_sub_begin(w, 9), 0);
	cr_assert_eq(hprof_u1(w, HPROF_ROOT_UNKNOWN), 0);
	expect_internal(hprof_sub_end(w), "ending a sub-record 8 bytes short");
	expect_internal(hprof_bytes(w, "0123456789", 10), "8 bytes owed, 10 written");
	cr_assert_eq(hprof_u8(w, 5), 0); /* the exact remainder is still accepted */
	cr_assert_eq(hprof_sub_end(w), 0);
	expect_internal(hprof_sub_end(w), "ending a sub-record twice");
	expect_internal(hprof_u4(w, 1), "bytes outside a sub-record");
	hprof_free(w);
	free(m.b);
}

Test(hprof, bad_subrecord_begins_are_errors)
{
	struct membuf m;
	hd_hprof *w = open_mem(&m, 1, 0);
	expect_internal(hprof_sub_begin(w, 0), "an empty sub-record");
	expect_internal(hprof_sub_begin(w, (uint64_t)HPROF_MAX_SUBRECORD + 1), "an oversized sub-record");
	cr_assert_eq(hprof_sub_begin(w, 9), 0);
	expect_internal(hprof_sub_begin(w, 9), "a nested sub-record");
	expect_internal(hprof_utf8(w, 1, "x"), "a top-level record inside a sub-record");
	expect_internal(hprof_finish(w), "finishing inside a sub-record");
	hprof_free(w);
	free(m.b);
}

/* ---- Records writers and repacking -------------------------------------- */

static size_t random_len(uint64_t *x)
{
	*x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
	return 18 + *x % 300;
}

/* Sub-records held by records writers (one reused, batches of every size,
 * oversized ones included) and moved with hprof_repack come out exactly as
 * if written directly and the segment closed after each batch, with the
 * segment limit at several places. */
static void repack_equals_writing_directly(size_t limit)
{
	struct membuf direct, packed, scratch = {0};
	hd_hprof *a = open_mem(&direct, 5, limit);
	memset(&packed, 0, sizeof packed);
	hd_hprof *b = hprof_open(mem_sink, &packed, 8, 5, limit);
	hd_hprof *r = hprof_open_records();
	cr_assert(b && r);
	uint64_t x = 0x13198a2e03707344ull;
	for (int batch = 0; batch < 60; batch++) {
		size_t n = (size_t)(x % 20), held = 0; /* empty batches too */
		for (size_t i = 0; i < n; i++) {
			size_t len = random_len(&x);
			put_prim_array(a, len, (uint64_t)batch << 8 | i, &scratch);
			put_prim_array(r, len, (uint64_t)batch << 8 | i, &scratch);
			held += len;
		}
		cr_assert_eq(hprof_bytes_written(r), held);
		cr_assert_eq(hprof_repack(b, r), 0, "%s", hd_error_message());
		cr_assert_eq(hprof_bytes_written(r), 0);
		cr_assert_eq(hprof_flush(a), 0);
		cr_assert_eq(hprof_bytes_put(b), hprof_bytes_written(b), "the segment is closed");
		if (batch % 10 == 9) { /* a top-level record closes the segment in both */
			cr_assert_eq(hprof_utf8(a, (uint64_t)batch, "between"), 0);
			cr_assert_eq(hprof_utf8(b, (uint64_t)batch, "between"), 0);
		}
	}
	cr_assert_eq(hprof_finish(a), 0);
	cr_assert_eq(hprof_finish(b), 0);
	cr_assert_eq(packed.len, direct.len, "limit %zu", limit);
	cr_assert_arr_eq(packed.b, direct.b, direct.len, "limit %zu", limit);
	hprof_free(a);
	hprof_free(b);
	hprof_free(r);
	free(direct.b);
	free(packed.b);
	free(scratch.b);
}

Test(hprof, repack_equals_writing_directly)
{
	static const size_t limits[] = {18, 100, 256, 1000, 0};
	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
		repack_equals_writing_directly(limits[i]);
}

/* A sub-record reserved and filled in place is packed exactly as one
 * written with begin, bytes and end: into a file's segments (across their
 * limits) and into a records writer repacked. */
static void fill(uint8_t *p, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i);
}

Test(hprof, reserved_subrecords_pack_as_written_ones)
{
	static const size_t limits[] = {100, 1000, 0};
	for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
		struct membuf written, reserved = {0}, repacked = {0};
		hd_hprof *a = open_mem(&written, 3, limits[l]);
		hd_hprof *b = hprof_open(mem_sink, &reserved, 8, 3, limits[l]);
		hd_hprof *c = hprof_open(mem_sink, &repacked, 8, 3, limits[l]);
		hd_hprof *r = hprof_open_records();
		cr_assert(b && c && r);
		uint64_t x = 0x2545f4914f6cdd1dull;
		uint8_t buf[HPROF_RESERVE_MAX];
		for (int i = 0; i < 500; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			size_t len = 1 + (size_t)(x >> 33) % (limits[l] ? limits[l] : 3000);
			fill(buf, len, (uint64_t)i);
			cr_assert_eq(hprof_sub_begin(a, len), 0);
			cr_assert_eq(hprof_bytes(a, buf, len), 0);
			cr_assert_eq(hprof_sub_end(a), 0);
			uint8_t *p = hprof_sub_reserve(b, len), *q = hprof_sub_reserve(r, len);
			cr_assert(p && q, "%zu bytes: %s", len, hd_error_message());
			fill(p, len, (uint64_t)i);
			fill(q, len, (uint64_t)i);
			if (i % 50 == 49) {
				/* the batch's segment closed after it, as a repack does */
				cr_assert_eq(hprof_flush(a), 0);
				cr_assert_eq(hprof_flush(b), 0);
				cr_assert_eq(hprof_repack(c, r), 0, "%s", hd_error_message());
			}
		}
		cr_assert_eq(hprof_repack(c, r), 0);
		cr_assert_eq(hprof_finish(a), 0);
		cr_assert_eq(hprof_finish(b), 0);
		cr_assert_eq(hprof_finish(c), 0);
		cr_assert_eq(reserved.len, written.len);
		cr_assert_arr_eq(reserved.b, written.b, written.len, "limit %zu", limits[l]);
		cr_assert_eq(repacked.len, written.len);
		cr_assert_arr_eq(repacked.b, written.b, written.len, "limit %zu", limits[l]);
		hprof_free(a);
		hprof_free(b);
		hprof_free(c);
		hprof_free(r);
		free(written.b);
		free(reserved.b);
		free(repacked.b);
	}
}

/* Thousands of small reserved sub-records in a records writer (its table
 * of lengths grown past its first sizes) repack exactly as written ones;
 * hprof_bytes_put counts the open segment, hprof_bytes_written does not,
 * and a repack closes the segment after the records. */
Test(hprof, many_small_reserved_records_repack_as_written_ones)
{
	struct membuf written, repacked = {0};
	hd_hprof *a = open_mem(&written, 3, 4096);
	hd_hprof *c = hprof_open(mem_sink, &repacked, 8, 3, 4096);
	hd_hprof *r = hprof_open_records();
	cr_assert(c && r);
	uint8_t buf[32];
	uint64_t put = 0;
	for (int i = 0; i < 5000; i++) {
		size_t len = 1 + (size_t)i % sizeof buf;
		fill(buf, len, (uint64_t)i);
		cr_assert_eq(hprof_sub_begin(a, len), 0);
		cr_assert_eq(hprof_bytes(a, buf, len), 0);
		cr_assert_eq(hprof_sub_end(a), 0);
		uint8_t *q = hprof_sub_reserve(r, len);
		cr_assert_not_null(q, "record %d: %s", i, hd_error_message());
		fill(q, len, (uint64_t)i);
		put += len;
		cr_assert_eq(hprof_bytes_put(r), put);
	}
	uint64_t before = hprof_bytes_put(c);
	cr_assert_eq(hprof_repack(c, r), 0, "%s", hd_error_message());
	cr_assert_gt(hprof_bytes_put(a), hprof_bytes_written(a), "the open segment is counted");
	cr_assert_eq(hprof_bytes_put(c), hprof_bytes_written(c), "the segment is closed");
	/* the records, and the 9-byte headers of the segments closed meanwhile */
	cr_assert_geq(hprof_bytes_put(c) - before, put);
	cr_assert_eq((hprof_bytes_put(c) - before - put) % 9, 0);
	cr_assert_eq(hprof_finish(a), 0);
	cr_assert_eq(hprof_finish(c), 0);
	cr_assert_eq(repacked.len, written.len);
	cr_assert_arr_eq(repacked.b, written.b, written.len);
	hprof_free(a);
	hprof_free(c);
	hprof_free(r);
	free(written.b);
	free(repacked.b);
}

/* Larger than HPROF_RESERVE_MAX, or than a file's segment, is refused. */
Test(hprof, reserving_more_than_fits_is_refused)
{
	struct membuf m;
	hd_hprof *w = open_mem(&m, 1, 100);
	cr_assert_null(hprof_sub_reserve(w, 101));
	cr_assert_eq(hd_error_class(), HD_E_INTERNAL);
	cr_assert_null(hprof_sub_reserve(w, HPROF_RESERVE_MAX + 1));
	cr_assert_not_null(hprof_sub_reserve(w, 100));
	hprof_free(w);
	free(m.b);
}

/* A records writer holds sub-records only: no top-level record, no flush,
 * no finish; repack moves from a records writer, into a file's writer,
 * between sub-records only. */
Test(hprof, records_writers_are_used_only_as_such)
{
	struct membuf m, scratch = {0};
	hd_hprof *w = open_mem(&m, 1, 0);
	hd_hprof *r = hprof_open_records();
	cr_assert_not_null(r);
	expect_internal(hprof_utf8(r, 1, "x"), "a top-level record");
	expect_internal(hprof_trace(r, 1, 0, NULL, 0), "a trace");
	expect_internal(hprof_flush(r), "a flush");
	expect_internal(hprof_finish(r), "a finish");
	expect_internal(hprof_repack(w, w), "a file's writer as the source");
	expect_internal(hprof_repack(r, r), "a records writer as the destination");
	put_prim_array(r, 40, 7, &scratch);
	uint8_t two[20] = {HPROF_PRIM_ARRAY_DUMP};
	be(two + 1, 8, 8);
	be(two + 9, 1, 4);
	be(two + 13, 2, 4);
	two[17] = 8; /* two byte elements */
	cr_assert_eq(hprof_sub_begin(r, sizeof two), 0);
	expect_internal(hprof_repack(w, r), "a sub-record in progress");
	cr_assert_eq(hprof_bytes(r, two, sizeof two), 0);
	cr_assert_eq(hprof_sub_end(r), 0);
	cr_assert_eq(hprof_repack(w, r), 0, "%s", hd_error_message());
	cr_assert_eq(hprof_finish(w), 0);
	struct hp_file f;
	parse_ok(&m, &f);
	cr_assert_eq(f.nrecs, 2); /* one segment, HEAP DUMP END */
	cr_assert_eq(f.recs[0].len, 60);
	hp_free(&f);
	hprof_free(w);
	hprof_free(r);
	free(m.b);
	free(scratch.b);
}

/* ---- Sub-records written in parts -------------------------------------- */

/* A byte array record of LEN bytes, in parts: its head and bytes
 * [0, CUTS[0]) of its elements, then [CUTS[i-1], CUTS[i]) ... to the end;
 * each part in a records writer of its own (a small record before the
 * first part and after the last), repacked in order, comes out exactly as
 * the record written whole. */
static void parts_equal_writing_whole(size_t limit, size_t len, const size_t *cuts, size_t ncuts)
{
	struct membuf whole, parts, scratch = {0};
	hd_hprof *a = open_mem(&whole, 9, limit);
	memset(&parts, 0, sizeof parts);
	hd_hprof *b = hprof_open(mem_sink, &parts, 8, 9, limit);
	cr_assert_not_null(b);
	put_root(a, 1, &scratch);
	put_prim_array(a, len, 2, &scratch);
	put_root(a, 3, &scratch);
	const uint8_t *bytes = scratch.b + 9; /* the array's record, as written whole */
	size_t from = 0;
	for (size_t i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? 18 + cuts[i] : len;
		hd_hprof *r = hprof_open_records();
		cr_assert_not_null(r);
		if (i == 0) {
			put_root(r, 1, &scratch);
			cr_assert_eq(hprof_sub_begin(r, len), 0);
		} else {
			cr_assert_eq(hprof_sub_resume(r, len - from), 0, "%s", hd_error_message());
		}
		cr_assert_eq(hprof_bytes(r, bytes + from, to - from), 0, "%s", hd_error_message());
		if (i < ncuts) {
			cr_assert_eq(hprof_sub_pause(r), 0);
			expect_internal(hprof_sub_begin(r, 9), "a record after a pause");
		} else {
			cr_assert_eq(hprof_sub_end(r), 0);
			put_root(r, 3, &scratch);
		}
		cr_assert_eq(hprof_repack(b, r), 0, "part %zu: %s", i, hd_error_message());
		if (i < ncuts)
			expect_internal(hprof_utf8(b, 1, "x"), "a top-level record between parts");
		hprof_free(r);
		from = to;
	}
	cr_assert_eq(hprof_finish(a), 0);
	cr_assert_eq(hprof_finish(b), 0, "%s", hd_error_message());
	cr_assert_eq(parts.len, whole.len, "limit %zu, length %zu", limit, len);
	cr_assert_arr_eq(parts.b, whole.b, whole.len, "limit %zu, length %zu", limit, len);
	hprof_free(a);
	hprof_free(b);
	free(whole.b);
	free(parts.b);
	free(scratch.b);
}

Test(hprof, a_subrecord_in_parts_repacks_as_written_whole)
{
	static const size_t one[] = {100}, three[] = {0, 1, 700}, four[] = {50, 51, 300, 981};
	static const size_t limits[] = {100, 1000, 0};
	for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
		parts_equal_writing_whole(limits[l], 1000, one, 1);
		parts_equal_writing_whole(limits[l], 1000, three, 3);
		parts_equal_writing_whole(limits[l], 1000, four, 4);
		parts_equal_writing_whole(limits[l], 5000, three, 3); /* a segment of its own */
	}
}

Test(hprof, parts_out_of_place_are_refused)
{
	struct membuf m, scratch = {0};
	hd_hprof *w = open_mem(&m, 1, 0);
	hd_hprof *r = hprof_open_records();
	cr_assert_not_null(r);
	expect_internal(hprof_sub_pause(r), "a pause outside a sub-record");
	put_root(r, 1, &scratch);
	expect_internal(hprof_sub_resume(r, 10), "a resume in a records writer holding records");
	cr_assert_eq(hprof_repack(w, r), 0);
	cr_assert_eq(hprof_sub_resume(r, 10), 0);
	cr_assert_eq(hprof_bytes(r, "abc", 3), 0);
	cr_assert_eq(hprof_sub_pause(r), 0);
	expect_internal(hprof_repack(w, r), "a part of no open sub-record");
	hd_hprof *begun = hprof_open_records();
	cr_assert_not_null(begun);
	cr_assert_eq(hprof_sub_begin(begun, 20), 0);
	cr_assert_eq(hprof_bytes(begun, "0123456789", 10), 0);
	cr_assert_eq(hprof_sub_pause(begun), 0);
	cr_assert_eq(hprof_repack(w, begun), 0, "%s", hd_error_message());
	hd_hprof *whole = hprof_open_records();
	cr_assert_not_null(whole);
	put_root(whole, 2, &scratch);
	expect_internal(hprof_repack(w, whole), "whole records inside an open sub-record");
	/* In place, on the file's writer: the resume checks what is owed. */
	expect_internal(hprof_sub_resume(w, 9), "a resume owing other than 10 bytes");
	cr_assert_eq(hprof_sub_resume(w, 10), 0);
	hprof_free(r);
	hprof_free(begun);
	hprof_free(whole);
	hprof_free(w);
	free(m.b);
	free(scratch.b);
}

/* ---- Basic types -------------------------------------------------------- */

/* HPROF 1.0.2's basic-type codes, from the format's specification. */
Test(hprof, java_types_map_to_hprof_codes)
{
	static const struct {
		enum hd_type java;
		uint8_t hprof;
	} want[] = {
		{HD_T_OBJECT, 2}, {HD_T_BOOLEAN, 4}, {HD_T_CHAR, 5},   {HD_T_FLOAT, 6}, {HD_T_DOUBLE, 7},
		{HD_T_BYTE, 8},   {HD_T_SHORT, 9},   {HD_T_INT, 10}, {HD_T_LONG, 11},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		cr_assert_eq(hprof_type_of(want[i].java), want[i].hprof, "type %d", want[i].java);
	static const int none[] = {0, 1, 3, 12, 255, -1};
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
		cr_assert_eq(hprof_type_of((enum hd_type)none[i]), 0, "%d", none[i]);
}
