/* The gzip sink (cli/gzsink.c): what it writes is one gzip member that
 * zlib's inflate reads back byte for byte, with the right CRC and size,
 * the same bytes for any number of threads; errors of the sink below reach
 * the writer; a rewind starts a new member. */
#include "../../cli/gzsink.h"
#include "../../include/hdump.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* An in-memory sink that fails with FAIL_CLASS once LIMIT bytes went in. */
struct mem {
	unsigned char *v;
	size_t n, cap;
	size_t limit;
	enum hdump_error_class fail_class;
	unsigned rewinds;
	uint64_t rewound_at;
};

static int mem_write(void *ctx, const void *buf, size_t len)
{
	struct mem *m = ctx;
	if (m->limit && m->n + len > m->limit)
		return hdump_fail(m->fail_class, "sink full");
	if (m->n + len > m->cap) {
		m->cap = (m->n + len) * 2;
		m->v = realloc(m->v, m->cap);
		cr_assert_not_null(m->v);
	}
	memcpy(m->v + m->n, buf, len);
	m->n += len;
	return 0;
}

static int mem_rewind(void *ctx, uint64_t written)
{
	struct mem *m = ctx;
	m->rewinds++;
	m->rewound_at = written;
	m->n = 0;
	return 0;
}

/* Compressible and not trivial: runs of a small alphabet with noise, like
 * a heap's ids and zeros. */
static unsigned char *make_input(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n ? n : 1);
	cr_assert_not_null(p);
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (x >> 16) % 7 == 0 ? (unsigned char)(x >> 24) : (unsigned char)(i / 64 % 5);
	}
	return p;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Inflates M as gzip and checks it is exactly one member holding IN[0..N). */
static void check_gzip(const struct mem *m, const unsigned char *in, size_t n)
{
	cr_assert_geq(m->n, 18u, "header and trailer at least");
	cr_assert_eq(m->v[0], 0x1f);
	cr_assert_eq(m->v[1], 0x8b);
	cr_assert_eq(m->v[2], 8, "deflate");
	z_stream z = {0};
	cr_assert_eq(inflateInit2(&z, 16 + 15), Z_OK);
	unsigned char *out = malloc(n + 1);
	cr_assert_not_null(out);
	z.next_in = m->v;
	z.avail_in = (uInt)m->n;
	z.next_out = out;
	z.avail_out = (uInt)n + 1;
	int rc = inflate(&z, Z_FINISH);
	cr_assert_eq(rc, Z_STREAM_END, "inflate: %d %s", rc, z.msg ? z.msg : "");
	cr_assert_eq(z.avail_in, 0u, "one member, nothing after it");
	cr_assert_eq(z.total_out, n);
	cr_assert(n == 0 || memcmp(out, in, n) == 0, "the bytes that went in");
	inflateEnd(&z);
	cr_assert_eq(le32(m->v + m->n - 8), (uint32_t)crc32(0, in, (uInt)n));
	cr_assert_eq(le32(m->v + m->n - 4), (uint32_t)n);
	free(out);
}

/* Writes IN[0..N) into a new sink over M in pieces of up to PIECE bytes
 * (varying), then finishes. */
static void compress_into(struct mem *m, unsigned threads, int level, const unsigned char *in,
			  size_t n, size_t piece)
{
	hd_gzsink *g = gzsink_new(&(struct hdump_sink){mem_write, mem_rewind, m}, threads, level);
	cr_assert_not_null(g, "%s", hdump_error().message);
	for (size_t off = 0, k = 0; off < n; k++) {
		size_t len = piece - k % (piece / 2 + 1);
		if (len > n - off)
			len = n - off;
		cr_assert_eq(gzsink_write(g, in + off, len), 0, "%s", hdump_error().message);
		off += len;
	}
	cr_assert_eq(gzsink_finish(g), 0, "%s", hdump_error().message);
	uint64_t cin, cout;
	gzsink_counts(g, &cin, &cout);
	cr_assert_eq(cin, n);
	cr_assert_eq(cout, m->n);
	gzsink_free(g);
}

Test(gzsink, round_trip_on_one_and_several_threads)
{
	size_t n = (2u << 20) + 12345; /* many blocks, the last partial */
	unsigned char *in = make_input(n, 1);
	struct mem one = {0}, four = {0};
	compress_into(&one, 1, 0, in, n, 70000);
	compress_into(&four, 4, 0, in, n, 3000);
	check_gzip(&one, in, n);
	check_gzip(&four, in, n);
	cr_assert_eq(one.n, four.n, "the same bytes for any thread count");
	cr_assert(memcmp(one.v, four.v, one.n) == 0, "the same bytes for any thread count");
	cr_assert_lt(one.n, n / 2, "it compresses");
	free(in);
	free(one.v);
	free(four.v);
}

Test(gzsink, one_huge_write_and_block_multiples)
{
	size_t n = 4u << 20; /* a multiple of the block size: the last block is empty */
	unsigned char *in = make_input(n, 2);
	struct mem m = {0};
	compress_into(&m, 3, 1, in, n, n);
	check_gzip(&m, in, n);
	free(m.v);
	struct mem small = {0};
	compress_into(&small, 2, 1, in, 1, 1);
	check_gzip(&small, in, 1);
	free(small.v);
	free(in);
}

Test(gzsink, nothing_written_is_an_empty_member)
{
	for (unsigned threads = 1; threads <= 2; threads++) {
		struct mem m = {0};
		hd_gzsink *g = gzsink_new(&(struct hdump_sink){mem_write, mem_rewind, &m}, threads, 0);
		cr_assert_not_null(g);
		cr_assert_eq(gzsink_write(g, "", 0), 0);
		cr_assert_eq(gzsink_finish(g), 0);
		gzsink_free(g);
		check_gzip(&m, (const unsigned char *)"", 0);
		free(m.v);
	}
}

/* The inner sink's error, with its class, is the writer's: while blocks
 * are written out, and in the trailer. */
static void check_failure(unsigned threads, size_t limit)
{
	size_t n = 1u << 20;
	unsigned char *in = make_input(n, 3);
	struct mem m = {.limit = limit, .fail_class = HDUMP_E_DISK_FULL};
	hd_gzsink *g = gzsink_new(&(struct hdump_sink){mem_write, mem_rewind, &m}, threads, 0);
	cr_assert_not_null(g);
	int rc = 0;
	for (size_t off = 0; rc == 0 && off < n; off += 65536)
		rc = gzsink_write(g, in + off, 65536);
	if (rc == 0)
		rc = gzsink_finish(g);
	cr_assert_eq(rc, -1, "the sink below was full after %zu bytes", limit);
	cr_assert_eq(hdump_error().cls, HDUMP_E_DISK_FULL);
	cr_assert_str_eq(hdump_error().message, "sink full");
	gzsink_free(g); /* with blocks still in flight */
	free(m.v);
	free(in);
}

Test(gzsink, errors_of_the_sink_below_propagate)
{
	check_failure(1, 5);        /* the header */
	check_failure(1, 100000);   /* a block */
	check_failure(4, 100000);
	check_failure(4, 5);
}

Test(gzsink, the_trailer_failing_fails_the_finish)
{
	unsigned char *in = make_input(1000, 4);
	struct mem probe = {0};
	compress_into(&probe, 1, 0, in, 1000, 1000);
	struct mem m = {.limit = probe.n - 1, .fail_class = HDUMP_E_OUTPUT};
	hd_gzsink *g = gzsink_new(&(struct hdump_sink){mem_write, mem_rewind, &m}, 2, 0);
	cr_assert_not_null(g);
	cr_assert_eq(gzsink_write(g, in, 1000), 0);
	cr_assert_eq(gzsink_finish(g), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_OUTPUT);
	gzsink_free(g);
	free(probe.v);
	free(m.v);
	free(in);
}

Test(gzsink, a_rewind_starts_a_new_member)
{
	size_t n = 1u << 20;
	unsigned char *a = make_input(n, 5), *b = make_input(n / 3, 6);
	for (unsigned threads = 1; threads <= 3; threads += 2) {
		struct mem m = {0};
		hd_gzsink *g = gzsink_new(&(struct hdump_sink){mem_write, mem_rewind, &m}, threads, 0);
		cr_assert_not_null(g);
		cr_assert_eq(gzsink_write(g, a, n), 0);
		size_t before = m.n;
		cr_assert_eq(gzsink_rewind(g, n), 0);
		cr_assert_eq(m.rewinds, 1u);
		cr_assert_eq(m.rewound_at, before, "the inner sink is told what it got");
		cr_assert_eq(gzsink_write(g, b, n / 3), 0);
		cr_assert_eq(gzsink_finish(g), 0);
		gzsink_free(g);
		check_gzip(&m, b, n / 3);
		free(m.v);
	}
	free(a);
	free(b);
}

Test(gzsink, a_level_out_of_range_is_refused)
{
	struct mem m = {0};
	cr_assert_null(gzsink_new(&(struct hdump_sink){mem_write, mem_rewind, &m}, 1, 10));
	cr_assert_eq(hdump_error().cls, HDUMP_E_USAGE);
	cr_assert_null(gzsink_new(&(struct hdump_sink){mem_write, mem_rewind, &m}, 1, -1));
}
