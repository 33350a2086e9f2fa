/* The heap writer (hprof/heapwrite.c) on synthetic image heaps
 * (synthdump.h), read back with the independent parser (hprofparse.h):
 * every thread count writes the same bytes; fields and array elements carry
 * HPROF's type codes; the first dangling reference reported is the first in
 * chunk order whatever the thread count; a pending SIGINT and a failing
 * sink stop it with their error.  What each record holds is checked against
 * the generator's ground truth in test_discover.c. */
#include "../../common/hd_error.h"
#include "../../common/interrupt.h"
#include "../../hprof/heapwrite.h"
#include "hprofparse.h"
#include "synthdump.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
	struct hprof_membuf m;
	unsigned calls, fail_at; /* fail_at: 1-based call that fails, 0: none */
};

static int test_sink(void *ctx, const void *buf, size_t len)
{
	struct sink *s = ctx;
	if (s->fail_at && ++s->calls >= s->fail_at)
		return hd_fail(HD_E_DISK_FULL, "test sink: no space left (call %u)", s->calls);
	return hprof_membuf_sink(&s->m, buf, len);
}

/* Dumps D with THREADS threads into S (segments of at most LIMIT bytes, 0:
 * the default); returns heap_write_hprof's result. */
static int dump(struct sd_heap *d, unsigned threads, size_t limit, struct sink *s)
{
	struct hd_dump_input in = sd_input(d, threads);
	struct hd_census c;
	cr_assert_eq(heap_census(&in, &c), 0, "%s", hd_error_message());
	hd_hprof *w = hprof_open(test_sink, s, 1, limit);
	cr_assert_not_null(w);
	hd_error_clear();
	int rc = heap_write_hprof(&in, &c, w);
	hprof_free(w);
	census_free(&c);
	return rc;
}

/* Calls FN for every sub-record of F's segments. */
static void each_sub(const struct hp_file *f, void (*fn)(const uint8_t *s, void *ctx), void *ctx)
{
	for (size_t i = 0; i < f->nrecs; i++) {
		const struct hp_record *r = &f->recs[i];
		if (r->tag != HPROF_HEAP_DUMP_SEGMENT)
			continue;
		for (size_t pos = 0; pos < r->len;) {
			size_t len = hp_sub_len(r->body + pos, r->len - pos);
			cr_assert_gt(len, 0, "bad sub-record 0x%x", r->body[pos]);
			fn(r->body + pos, ctx);
			pos += len;
		}
	}
}

static void count_object(const uint8_t *s, void *ctx)
{
	if (s[0] >= HPROF_INSTANCE_DUMP && s[0] <= HPROF_PRIM_ARRAY_DUMP)
		++*(uint64_t *)ctx;
}

/* Twelve passes over the heap's chunks make dozens of jobs, more than any
 * thread count here, so that jobs finish out of order. */
#define REPEAT 12

static void same_bytes_for_every_thread_count(const struct sh_params *p, size_t limit)
{
	struct sd_heap d;
	sd_open(&d, p, REPEAT);
	struct sink one = {0};
	cr_assert_eq(dump(&d, 1, limit, &one), 0, "%s: %s", p->name, hd_error_message());
	struct hp_file f;
	char err[128];
	cr_assert_eq(hp_parse(one.m.p, one.m.len, &f, err, sizeof err), 0, "%s: %s", p->name, err);
	uint64_t objects = 0;
	each_sub(&f, count_object, &objects);
	cr_assert_eq(objects, REPEAT * d.h.objects, "%s", p->name);
	hp_free(&f);
	static const unsigned threads[] = {2, 3, 4, 8};
	for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++)
		for (int run = 0; run < 4; run++) {
			struct sink many = {0};
			cr_assert_eq(dump(&d, threads[t], limit, &many), 0, "%s", hd_error_message());
			cr_assert_eq(many.m.len, one.m.len, "%s: %u threads: %zu bytes, one thread %zu",
				     p->name, threads[t], many.m.len, one.m.len);
			cr_assert_arr_eq(many.m.p, one.m.p, one.m.len, "%s: %u threads, run %d",
					 p->name, threads[t], run);
			free(many.m.p);
		}
	free(one.m.p);
	sd_close(&d);
}

Test(heapwrite, every_thread_count_writes_the_same_bytes)
{
	same_bytes_for_every_thread_count(&sh_ce_25, 0);
	same_bytes_for_every_thread_count(&sh_oracle_21, 4096);
}

/* ---- Type codes --------------------------------------------------------- */

struct types {
	const struct hp_file *f;
	uint64_t string_class, byte_array_class, int_array_class;
	int value, hash, coder;    /* String's field types as written, -1: not seen */
	bool elements[256];        /* element types of the primitive arrays seen */
};

static const char *utf8(const struct hp_file *f, uint64_t id)
{
	static char name[64];
	for (size_t i = 0; i < f->nrecs; i++) {
		const struct hp_record *r = &f->recs[i];
		if (r->tag == HPROF_UTF8 && hp_u8(r->body) == id && r->len - 8 < sizeof name) {
			memcpy(name, r->body + 8, r->len - 8);
			name[r->len - 8] = '\0';
			return name;
		}
	}
	return "";
}

static void record_types(const uint8_t *s, void *ctx)
{
	struct types *t = ctx;
	if (s[0] == HPROF_CLASS_DUMP && hp_u8(s + 1) == t->string_class) {
		const uint8_t *p = s + 1 + 8 + 4 + 6 * 8 + 4;
		cr_assert_eq(hp_u2(p), 0);     /* constant pool */
		cr_assert_eq(hp_u2(p + 2), 0); /* statics */
		unsigned n = hp_u2(p + 4);
		p += 6;
		for (unsigned i = 0; i < n; i++, p += 9) {
			const char *name = utf8(t->f, hp_u8(p));
			int *slot = strcmp(name, "value") == 0  ? &t->value
				    : strcmp(name, "hash") == 0 ? &t->hash
				    : strcmp(name, "coder") == 0 ? &t->coder
								 : NULL;
			if (slot)
				*slot = p[8];
		}
	}
	if (s[0] == HPROF_PRIM_ARRAY_DUMP) {
		/* id, trace, length, element type: the class is by type only */
		t->elements[s[1 + 8 + 4 + 4]] = true;
	}
}

Test(heapwrite, fields_and_elements_carry_hprof_type_codes)
{
	struct sd_heap d;
	sd_open(&d, &sh_ce_22_3, 1);
	struct sink s = {0};
	cr_assert_eq(dump(&d, 2, 0, &s), 0, "%s", hd_error_message());
	struct hp_file f;
	char err[128];
	cr_assert_eq(hp_parse(s.m.p, s.m.len, &f, err, sizeof err), 0, "%s", err);
	struct types t = {.f = &f, .string_class = hd_class_id(sh_class(&d.h, "java.lang.String")->hub),
			  .value = -1, .hash = -1, .coder = -1};
	each_sub(&f, record_types, &t);
	/* HPROF 1.0.2: 2 object, 5 char, 8 byte, 10 int. */
	cr_assert_eq(t.value, 2);
	cr_assert_eq(t.hash, 10);
	cr_assert_eq(t.coder, 8);
	for (int type = 0; type < 256; type++)
		cr_assert_eq(t.elements[type], type == 8 || type == 10 || (type == 5 && d.h.p.char_array),
			     "arrays of type %d", type);
	hp_free(&f);
	free(s.m.p);
	sd_close(&d);
}

/* ---- Errors ------------------------------------------------------------- */

/* Two Strings whose value points inside themselves: the error counts every
 * pass's and names the first String's, in chunk order, for every thread
 * count.  An executable's image heap never changes: the error is final. */
Test(heapwrite, the_first_dangling_reference_is_the_first_in_chunk_order)
{
	struct sd_heap d;
	sd_open(&d, &sh_oracle_21, 3);
	const struct sh_class *str = sh_class(&d.h, "java.lang.String");
	cr_assert_geq(str->count, 2);
	uint64_t first = sh_nth(&d.h, "java.lang.String", 0)->addr;
	uint64_t last = sh_nth(&d.h, "java.lang.String", str->count - 1)->addr;
	unsigned value = sh_field(&d.h, "java.lang.String", "value");
	sh_put_ref(&d.h, first + value, first + 8);
	sh_put_ref(&d.h, last + value, last + 8);
	char want[160];
	snprintf(want, sizeof want,
		 "6 references do not land on an object start (first: 0x%" PRIx64
		 " in object 0x%" PRIx64 ")",
		 first + 8, first);
	for (unsigned threads = 1; threads <= 4; threads++)
		for (int run = 0; run < 3; run++) {
			struct sink s = {0};
			cr_assert_eq(dump(&d, threads, 0, &s), -1);
			cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", hd_error_message());
			cr_assert_str_eq(hd_error_message(), want, "%u threads", threads);
			free(s.m.p);
		}
	sd_close(&d);
}

/* The same dangling reference read from a live process (or a copy of one):
 * a concurrent mutation explains it, so it is retried, not final. */
Test(heapwrite, a_dangling_reference_in_a_live_heap_is_retryable)
{
	struct sd_heap d;
	sd_open(&d, &sh_ce_25, 1);
	uint64_t first = sh_nth(&d.h, "java.lang.String", 0)->addr;
	sh_put_ref(&d.h, first + sh_field(&d.h, "java.lang.String", "value"), first + 8);
	struct sink fixed = {0};
	cr_assert_eq(dump(&d, 2, 0, &fixed), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", hd_error_message());
	free(fixed.m.p);
	mv_reads_may_tear(d.mv);
	struct sink live = {0};
	cr_assert_eq(dump(&d, 2, 0, &live), -1);
	cr_assert_eq(hd_error_class(), HD_E_INCONSISTENT, "%s", hd_error_message());
	cr_assert_not_null(strstr(hd_error_message(), "do not land on an object start"), "%s",
			   hd_error_message());
	free(live.m.p);
	sd_close(&d);
}

Test(heapwrite, a_pending_sigint_stops_it)
{
	struct sd_heap d;
	sd_open(&d, &sh_ce_25, REPEAT);
	struct hd_dump_input in = sd_input(&d, 4);
	struct hd_census c;
	cr_assert_eq(heap_census(&in, &c), 0, "%s", hd_error_message());
	hd_install_signal_handlers();
	cr_assert_eq(raise(SIGINT), 0);
	struct sink s = {0};
	hd_hprof *w = hprof_open(test_sink, &s, 1, 0);
	cr_assert_not_null(w);
	cr_assert_eq(heap_write_hprof(&in, &c, w), -1);
	cr_assert_eq(hd_error_class(), HD_E_INTERRUPTED, "%s", hd_error_message());
	hprof_free(w);
	census_free(&c);
	free(s.m.p);
	sd_close(&d);
}

/* The sink fails at its N-th call, for every N the dump makes: the sink's
 * error is the one reported, whichever thread count. */
Test(heapwrite, a_failing_sink_is_reported)
{
	struct sd_heap d;
	sd_open(&d, &sh_ce_25, REPEAT);
	struct sink probe = {0};
	probe.fail_at = UINT32_MAX;
	cr_assert_eq(dump(&d, 1, 4096, &probe), 0, "%s", hd_error_message());
	unsigned calls = probe.calls;
	cr_assert_gt(calls, 2);
	free(probe.m.p);
	for (unsigned threads = 1; threads <= 4; threads += 3)
		for (unsigned n = 1; n <= calls; n += 1 + calls / 16) {
			struct sink s = {.fail_at = n};
			cr_assert_eq(dump(&d, threads, 4096, &s), -1, "call %u", n);
			cr_assert_eq(hd_error_class(), HD_E_DISK_FULL, "call %u: %s", n,
				     hd_error_message());
			free(s.m.p);
		}
	sd_close(&d);
}
