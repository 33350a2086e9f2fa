#include "hprof.h"

#include "../common/grow.h"
#include "../common/hd_error.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SEGMENT (1u << 20)

/* Top-level records and segment headers are gathered here, so that a
 * stream is not written a few bytes at a time; segments go to the sink
 * from their own buffer.  Small: it counts in the memory budget. */
#define STAGE_SIZE (16u << 10)

struct hd_hprof {
	hprof_sink_fn sink;
	void *ctx;
	uint8_t *seg;          /* body of the open heap-dump segment */
	size_t seg_len, seg_limit;
	/* A records writer holds its sub-records in SEG (grown as needed, no
	 * segment headers) and their lengths in LENS, until hprof_repack. */
	bool records;
	size_t seg_cap;
	uint32_t *lens;
	size_t nlens, lens_cap;
	/* A sub-record written in parts (hprof_sub_pause, hprof_sub_resume):
	 * a records writer's first HEAD_LEN bytes end one begun elsewhere
	 * (RESUMED; IN_HEAD while they are put), and its last sub-record may
	 * stop short of its length (PAUSED). */
	bool resumed, in_head, paused;
	size_t head_len;
	bool direct;           /* a sub-record too big for a segment streams through stage */
	bool in_sub;
	uint64_t sub_left;     /* bytes the open sub-record still owes */
	uint8_t stage[STAGE_SIZE];
	size_t stage_len;
	uint64_t written;
	bool failed;
	unsigned id_size;      /* a file's: 4 or 8 */
};

static int sink(hd_hprof *w, const void *p, size_t n)
{
	if (w->failed)
		return -1;
	if (n && w->sink(w->ctx, p, n) != 0) {
		w->failed = true;
		return -1;
	}
	w->written += n;
	return 0;
}

static int stage_flush(hd_hprof *w)
{
	int rc = sink(w, w->stage, w->stage_len);
	w->stage_len = 0;
	return rc;
}

static int stage_put(hd_hprof *w, const void *p, size_t n)
{
	if (w->stage_len + n > sizeof w->stage) {
		if (stage_flush(w) != 0)
			return -1;
		if (n > sizeof w->stage)
			return sink(w, p, n);
	}
	memcpy(w->stage + w->stage_len, p, n);
	w->stage_len += n;
	return 0;
}

static int record_header(hd_hprof *w, uint8_t tag, uint64_t len)
{
	if (len > UINT32_MAX)
		return hd_fail(HD_E_INTERNAL, "HPROF record of %llu bytes", (unsigned long long)len);
	uint8_t h[9] = {tag};
	hprof_put_u4(h + 1, 0);
	hprof_put_u4(h + 5, (uint32_t)len);
	return stage_put(w, h, sizeof h);
}

/* A whole segment, its LEN bytes at P. */
static int segment_put(hd_hprof *w, const uint8_t *p, size_t len)
{
	if (record_header(w, HPROF_HEAP_DUMP_SEGMENT, len) != 0 || stage_flush(w) != 0)
		return -1;
	return sink(w, p, len);
}

static int segment_flush(hd_hprof *w)
{
	if (w->seg_len == 0)
		return 0;
	if (segment_put(w, w->seg, w->seg_len) != 0)
		return -1;
	w->seg_len = 0;
	return 0;
}

static hd_hprof *new_writer(hprof_sink_fn sinkfn, void *ctx, size_t segment_limit)
{
	/* Lines of its own: a slot's writer takes an object per reserve
	 * beside the slots other threads write. */
	hd_hprof *w = hd_calloc_lines(1, sizeof *w);
	if (!w)
		return NULL;
	w->sink = sinkfn;
	w->ctx = ctx;
	w->seg_limit = w->seg_cap = segment_limit;
	w->seg = malloc(segment_limit);
	if (!w->seg) {
		free(w);
		hd_fail(HD_E_INTERNAL, "out of memory");
		return NULL;
	}
	return w;
}

hd_hprof *hprof_open(hprof_sink_fn sinkfn, void *ctx, unsigned id_size, uint64_t timestamp_ms,
		     size_t segment_limit)
{
	if (id_size != 4 && id_size != 8) {
		hd_fail(HD_E_INTERNAL, "HPROF ids of %u bytes", id_size);
		return NULL;
	}
	hd_hprof *w = new_writer(sinkfn, ctx, segment_limit ? segment_limit : DEFAULT_SEGMENT);
	if (!w)
		return NULL;
	w->id_size = id_size;
	static const char magic[] = "JAVA PROFILE 1.0.2";
	uint8_t h[sizeof magic + 12];
	memcpy(h, magic, sizeof magic); /* includes the NUL */
	hprof_put_u4(h + sizeof magic, id_size);
	hprof_put_u8(h + sizeof magic + 4, timestamp_ms);
	if (stage_put(w, h, sizeof h) != 0) {
		hprof_free(w);
		return NULL;
	}
	return w;
}

unsigned hprof_id_size(const hd_hprof *w) { return w->id_size; }

hd_hprof *hprof_open_records(void)
{
	hd_hprof *w = new_writer(NULL, NULL, 1u << 16);
	if (w)
		w->records = true;
	return w;
}

int hprof_flush(hd_hprof *w)
{
	if (w->records)
		return hd_fail(HD_E_INTERNAL, "HPROF flush of a records writer");
	if (w->in_sub)
		return hd_fail(HD_E_INTERNAL, "HPROF flush inside a sub-record");
	if (segment_flush(w) != 0)
		return -1;
	return stage_flush(w);
}

/* Moves the first HEAD_LEN bytes of RECORDS, the end of the sub-record W
 * holds open, into it; ends it unless RECORDS paused it there. */
static int repack_head(hd_hprof *w, const hd_hprof *records)
{
	if (!w->in_sub)
		return hd_fail(HD_E_INTERNAL, "HPROF repack of a part of no open sub-record");
	if (hprof_bytes(w, records->seg, records->head_len) != 0)
		return -1;
	return records->paused && !records->nlens ? 0 : hprof_sub_end(w);
}

int hprof_repack(hd_hprof *w, hd_hprof *records)
{
	if (w->records || !records->records || records->in_sub)
		return hd_fail(HD_E_INTERNAL, "HPROF repack of other than a records writer's records");
	if (w->failed)
		return -1;
	if (records->resumed ? repack_head(w, records) != 0
			     : w->in_sub && hd_fail(HD_E_INTERNAL, "HPROF repack inside a sub-record"))
		return -1;
	const uint8_t *p = records->seg + records->head_len;
	const uint32_t *len = records->lens;
	/* A paused last sub-record is begun here, and left open. */
	bool tail = records->paused && records->nlens;
	size_t complete = records->nlens - tail;
	for (size_t i = 0; i < complete;) {
		/* The sub-records that fit in the open segment: what
		 * hprof_sub_begin and hprof_bytes would do for each. */
		size_t room = w->seg_limit - w->seg_len, run = 0, j = i;
		while (j < complete && len[j] <= room - run)
			run += len[j++];
		if (run) {
			/* A segment they fill alone (it is empty, and the next
			 * sub-record does not fit or none follows: the segment is
			 * closed after the last) goes to the sink from RECORDS,
			 * without a copy. */
			if (!w->seg_len && (j < complete || !tail || len[complete] > room - run)) {
				if (segment_put(w, p, run) != 0)
					return -1;
			} else {
				memcpy(w->seg + w->seg_len, p, run);
				w->seg_len += run;
			}
			p += run;
			i = j;
			continue;
		}
		if (hprof_sub_begin(w, len[i]) != 0 || hprof_bytes(w, p, len[i]) != 0 ||
		    hprof_sub_end(w) != 0)
			return -1;
		p += len[i++];
	}
	if (tail ? hprof_sub_begin(w, len[complete]) != 0 ||
			   hprof_bytes(w, p, (size_t)(records->seg + records->seg_len - p)) != 0
		 : !w->in_sub && segment_flush(w) != 0)
		return -1;
	records->seg_len = 0;
	records->nlens = 0;
	records->head_len = 0;
	records->resumed = records->paused = false;
	return 0;
}

void hprof_free(hd_hprof *w)
{
	if (!w)
		return;
	free(w->seg);
	free(w->lens);
	free(w);
}

uint64_t hprof_bytes_written(const hd_hprof *w)
{
	return w->records ? w->seg_len : w->written + w->stage_len;
}

uint64_t hprof_bytes_put(const hd_hprof *w)
{
	return w->records ? w->seg_len : w->written + w->stage_len + w->seg_len;
}

static int top_level(hd_hprof *w, uint8_t tag, uint64_t len)
{
	if (w->failed)
		return -1; /* the sink's error stays the one reported */
	if (w->in_sub || w->records)
		return hd_fail(HD_E_INTERNAL, "HPROF record inside a sub-record or records writer");
	if (segment_flush(w) != 0)
		return -1;
	return record_header(w, tag, len);
}

/* The id V in W's size at P; returns the end. */
static uint8_t *put_id(const hd_hprof *w, uint8_t *p, uint64_t v)
{
	return hprof_put_id(p, w->id_size, v);
}

int hprof_utf8(hd_hprof *w, uint64_t id, const char *s)
{
	size_t n = strlen(s);
	uint8_t idb[8];
	if (top_level(w, HPROF_UTF8, w->id_size + n) != 0 ||
	    stage_put(w, idb, (size_t)(put_id(w, idb, id) - idb)) != 0)
		return -1;
	return stage_put(w, s, n);
}

int hprof_load_class(hd_hprof *w, uint32_t serial, uint64_t class_id, uint32_t trace,
		     uint64_t name_id)
{
	uint8_t b[24], *p = b;
	hprof_put_u4(p, serial);
	p = put_id(w, p + 4, class_id);
	hprof_put_u4(p, trace);
	p = put_id(w, p + 4, name_id);
	if (top_level(w, HPROF_LOAD_CLASS, (uint64_t)(p - b)) != 0)
		return -1;
	return stage_put(w, b, (size_t)(p - b));
}

int hprof_frame(hd_hprof *w, uint64_t id, uint64_t method_id, uint64_t sig_id,
		uint64_t source_id, uint32_t class_serial, int32_t line)
{
	uint8_t b[40], *p = b;
	p = put_id(w, p, id);
	p = put_id(w, p, method_id);
	p = put_id(w, p, sig_id);
	p = put_id(w, p, source_id);
	hprof_put_u4(p, class_serial);
	hprof_put_u4(p + 4, (uint32_t)line);
	p += 8;
	if (top_level(w, HPROF_FRAME, (uint64_t)(p - b)) != 0)
		return -1;
	return stage_put(w, b, (size_t)(p - b));
}

int hprof_trace(hd_hprof *w, uint32_t serial, uint32_t thread_serial,
		const uint64_t *frame_ids, uint32_t nframes)
{
	uint8_t b[12];
	hprof_put_u4(b, serial);
	hprof_put_u4(b + 4, thread_serial);
	hprof_put_u4(b + 8, nframes);
	if (top_level(w, HPROF_TRACE, sizeof b + (uint64_t)nframes * w->id_size) != 0 ||
	    stage_put(w, b, sizeof b) != 0)
		return -1;
	for (uint32_t i = 0; i < nframes; i++) {
		uint8_t id[8];
		if (stage_put(w, id, (size_t)(put_id(w, id, frame_ids[i]) - id)) != 0)
			return -1;
	}
	return 0;
}

/* Grows the buffer *P of *CAP bytes, LEN of them used, to hold MORE more. */
static int reserve(uint8_t **p, size_t *cap, size_t len, uint64_t more)
{
	if (more <= *cap - len)
		return 0;
	if (more > (SIZE_MAX >> 2) - len)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	size_t c = *cap ? *cap : 1u << 16;
	while (c - len < more)
		c *= 2;
	uint8_t *np = realloc(*p, c);
	if (!np)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	*p = np;
	*cap = c;
	return 0;
}

/* Counts a sub-record of LEN bytes in a records writer; its room is made
 * as its bytes come (a part of it may be all this writer holds). */
static int records_begin(hd_hprof *w, uint64_t len)
{
	if (w->nlens == w->lens_cap &&
	    hd_grow(&w->lens, &w->lens_cap, w->nlens, sizeof *w->lens, 1024) != 0)
		return -1;
	w->lens[w->nlens++] = (uint32_t)len;
	w->in_sub = true;
	w->sub_left = len;
	return 0;
}

int hprof_sub_begin(hd_hprof *w, uint64_t len)
{
	if (w->failed)
		return -1;
	if (w->in_sub || w->paused || len == 0 || len > HPROF_MAX_SUBRECORD)
		return hd_fail(HD_E_INTERNAL, "bad HPROF sub-record of %llu bytes",
			       (unsigned long long)len);
	if (w->records)
		return records_begin(w, len);
	if (w->seg_len + len > w->seg_limit && segment_flush(w) != 0)
		return -1;
	if (len > w->seg_limit) {
		/* A segment of its own, streamed: its length is known up front. */
		if (record_header(w, HPROF_HEAP_DUMP_SEGMENT, len) != 0)
			return -1;
		w->direct = true;
	}
	w->in_sub = true;
	w->sub_left = len;
	return 0;
}

/* The open sub-record's bytes stop here (a resumed one's head too). */
static void leave_sub(hd_hprof *w)
{
	if (w->in_head) {
		w->in_head = false;
		w->head_len = w->seg_len;
	}
	w->in_sub = false;
	w->direct = false;
}

int hprof_sub_end(hd_hprof *w)
{
	if (!w->in_sub || w->sub_left != 0)
		return hd_fail(HD_E_INTERNAL, "HPROF sub-record is %llu bytes short",
			       (unsigned long long)w->sub_left);
	leave_sub(w);
	return 0;
}

int hprof_sub_pause(hd_hprof *w)
{
	if (!w->in_sub || !w->sub_left)
		return hd_fail(HD_E_INTERNAL, "HPROF pause outside a sub-record");
	if (!w->records)
		return 0; /* the sub-record stays open: its next part comes next */
	leave_sub(w);
	w->paused = true;
	return 0;
}

int hprof_sub_resume(hd_hprof *w, uint64_t left)
{
	if (!w->records) {
		if (!w->in_sub || w->sub_left != left)
			return hd_fail(HD_E_INTERNAL, "HPROF resume of no sub-record owing %llu bytes",
				       (unsigned long long)left);
		return 0;
	}
	if (w->in_sub || w->seg_len || w->nlens || w->resumed || !left || left > HPROF_MAX_SUBRECORD)
		return hd_fail(HD_E_INTERNAL, "HPROF resume in a records writer not empty");
	w->resumed = w->in_head = w->in_sub = true;
	w->sub_left = left;
	return 0;
}

int hprof_bytes(hd_hprof *w, const void *p, size_t len)
{
	if (w->failed)
		return -1;
	if (!w->in_sub || len > w->sub_left)
		return hd_fail(HD_E_INTERNAL, "HPROF sub-record overflow");
	if (w->records && reserve(&w->seg, &w->seg_cap, w->seg_len, len) != 0)
		return -1;
	w->sub_left -= len;
	if (w->direct)
		return stage_put(w, p, len);
	memcpy(w->seg + w->seg_len, p, len);
	w->seg_len += len;
	return 0;
}

/* hprof_sub_reserve when the sub-record does not simply fit: checked,
 * grown or flushed for.  Out of line, so that the fast path saves no
 * registers. */
static __attribute__((noinline)) uint8_t *sub_reserve_slow(hd_hprof *w, size_t len)
{
	if (len > HPROF_RESERVE_MAX || (!w->records && len > w->seg_limit)) {
		hd_fail(HD_E_INTERNAL, "HPROF sub-record of %zu bytes reserved", len);
		return NULL;
	}
	if (hprof_sub_begin(w, len) != 0 ||
	    (w->records && reserve(&w->seg, &w->seg_cap, w->seg_len, len) != 0))
		return NULL;
	uint8_t *p = w->seg + w->seg_len;
	w->seg_len += len;
	w->sub_left = 0;
	w->in_sub = false;
	return p;
}

uint8_t *hprof_sub_reserve(hd_hprof *w, size_t len)
{
	/* The path of nearly every object: room where it goes, nothing to
	 * check, grow or flush first. */
	if (len && len <= HPROF_RESERVE_MAX && !w->in_sub && !w->failed &&
	    (w->records ? len <= w->seg_cap - w->seg_len && w->nlens < w->lens_cap
			: len <= w->seg_limit - w->seg_len)) {
		uint8_t *p = w->seg + w->seg_len;
		w->seg_len += len;
		if (w->records)
			w->lens[w->nlens++] = (uint32_t)len;
		return p;
	}
	return sub_reserve_slow(w, len);
}

int hprof_u1(hd_hprof *w, uint8_t v) { return hprof_bytes(w, &v, 1); }

int hprof_u2(hd_hprof *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return hprof_bytes(w, b, 2);
}

int hprof_u4(hd_hprof *w, uint32_t v)
{
	uint8_t b[4];
	hprof_put_u4(b, v);
	return hprof_bytes(w, b, 4);
}

int hprof_u8(hd_hprof *w, uint64_t v)
{
	uint8_t b[8];
	hprof_put_u8(b, v);
	return hprof_bytes(w, b, 8);
}

int hprof_swapped(hd_hprof *w, const void *p, size_t len, unsigned elem_size)
{
	if (elem_size <= 1)
		return hprof_bytes(w, p, len);
	const uint8_t *src = p;
	uint8_t tmp[4096];
	size_t chunk = sizeof tmp - sizeof tmp % elem_size;
	while (len) {
		size_t n = len < chunk ? len : chunk;
		n -= n % elem_size;
		if (n == 0)
			return hd_fail(HD_E_INTERNAL, "partial HPROF element");
		for (size_t i = 0; i < n; i += elem_size)
			for (unsigned k = 0; k < elem_size; k++)
				tmp[i + k] = src[i + elem_size - 1 - k];
		if (hprof_bytes(w, tmp, n) != 0)
			return -1;
		src += n;
		len -= n;
	}
	return 0;
}

int hprof_finish(hd_hprof *w)
{
	if (top_level(w, HPROF_HEAP_DUMP_END, 0) != 0)
		return -1;
	return stage_flush(w);
}

