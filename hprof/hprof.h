/* HPROF 1.0.2 writer with 4- or 8-byte identifiers (hprofids.h makes
 * them), written conservatively for the
 * viewers: standard tags only, heap-dump sub-records packed into segments of
 * bounded size (never empty), a sub-record larger than the bound gets a
 * segment of its own, and output is streamed: a file's writer holds no
 * more than one segment.  Records writers hold the sub-records of one part
 * of the heap in memory, for a thread, until they are repacked into the
 * file's segments. */
#ifndef HD_HPROF_H
#define HD_HPROF_H

#include "../common/hd_error.h"
#include "../symbols/classes.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum hprof_tag {
	HPROF_UTF8 = 0x01,
	HPROF_LOAD_CLASS = 0x02,
	HPROF_FRAME = 0x04,
	HPROF_TRACE = 0x05,
	HPROF_HEAP_DUMP_SEGMENT = 0x1c,
	HPROF_HEAP_DUMP_END = 0x2c,
};

enum hprof_sub {
	HPROF_ROOT_UNKNOWN = 0xff,
	HPROF_ROOT_JNI_GLOBAL = 0x01,
	HPROF_ROOT_JNI_LOCAL = 0x02,
	HPROF_ROOT_JAVA_FRAME = 0x03,
	HPROF_ROOT_STICKY_CLASS = 0x05,
	HPROF_ROOT_THREAD_OBJ = 0x08,
	HPROF_CLASS_DUMP = 0x20,
	HPROF_INSTANCE_DUMP = 0x21,
	HPROF_OBJ_ARRAY_DUMP = 0x22,
	HPROF_PRIM_ARRAY_DUMP = 0x23,
};

/* HPROF's basic types: the type of a CLASS DUMP field and of a PRIMITIVE
 * ARRAY DUMP's elements. */
enum hprof_type {
	HPROF_T_OBJECT = 2,
	HPROF_T_BOOLEAN = 4,
	HPROF_T_CHAR = 5,
	HPROF_T_FLOAT = 6,
	HPROF_T_DOUBLE = 7,
	HPROF_T_BYTE = 8,
	HPROF_T_SHORT = 9,
	HPROF_T_INT = 10,
	HPROF_T_LONG = 11,
};

/* HPROF's code for the Java type T; 0 for a value that names no type.
 * Inline: every array written asks it. */
static inline uint8_t hprof_type_of(enum hd_type t)
{
	switch (t) {
	case HD_T_OBJECT: return HPROF_T_OBJECT;
	case HD_T_BOOLEAN: return HPROF_T_BOOLEAN;
	case HD_T_CHAR: return HPROF_T_CHAR;
	case HD_T_FLOAT: return HPROF_T_FLOAT;
	case HD_T_DOUBLE: return HPROF_T_DOUBLE;
	case HD_T_BYTE: return HPROF_T_BYTE;
	case HD_T_SHORT: return HPROF_T_SHORT;
	case HD_T_INT: return HPROF_T_INT;
	case HD_T_LONG: return HPROF_T_LONG;
	}
	return 0;
}

/* The largest sub-record a segment's u4 length can carry. */
#define HPROF_MAX_SUBRECORD (UINT32_MAX - 64u)

/* V big-endian at P (HPROF's byte order); each returns the end. */
static inline uint8_t *hprof_put_u4(uint8_t *p, uint32_t v)
{
	v = __builtin_bswap32(v);
	memcpy(p, &v, 4);
	return p + 4;
}
static inline uint8_t *hprof_put_u8(uint8_t *p, uint64_t v)
{
	v = __builtin_bswap64(v);
	memcpy(p, &v, 8);
	return p + 8;
}
/* The id V in a file of ID_SIZE-byte ids (4: its low half). */
static inline uint8_t *hprof_put_id(uint8_t *p, unsigned id_size, uint64_t v)
{
	return id_size == 4 ? hprof_put_u4(p, (uint32_t)v) : hprof_put_u8(p, v);
}

typedef struct hd_hprof hd_hprof;

/* Sink for the bytes: returns 0, or -1 with the error recorded (the sink
 * decides HD_E_OUTPUT vs HD_E_DISK_FULL). */
typedef int (*hprof_sink_fn)(void *ctx, const void *buf, size_t len);

/* Starts a file: writes the header with ID_SIZE (4 or 8: the size of every
 * id the top-level records take) and TIMESTAMP_MS.  SEGMENT_LIMIT bounds a
 * segment's size (0: the default, 1 MiB).  NULL on error. */
HD_MUST_CHECK hd_hprof *hprof_open(hprof_sink_fn sink, void *ctx, unsigned id_size,
				   uint64_t timestamp_ms, size_t segment_limit);

/* The id size W's file was opened with. */
unsigned hprof_id_size(const hd_hprof *w);

/* A writer of heap-dump sub-records into memory, for a thread writing part
 * of the heap: no file header, no top-level records, no flush.
 * hprof_bytes_written is what it holds.  NULL on error. */
HD_MUST_CHECK hd_hprof *hprof_open_records(void);
/* Moves every sub-record RECORDS holds into W's segments, packed exactly as
 * if they had been written to W, and closes W's segment after them (but
 * inside a sub-record); empties RECORDS.  A resumed part first goes into
 * the sub-record W holds open, a paused one is begun in W and left open for
 * the next records writer's part.  A segment that RECORDS' sub-records fill
 * alone goes to the sink straight from RECORDS' memory.  Errors: HD_E_INTERNAL
 * (RECORDS is not a records writer, or is inside a sub-record; W is inside
 * one and RECORDS resumes none, or the reverse), W's sink's. */
HD_MUST_CHECK int hprof_repack(hd_hprof *w, hd_hprof *records);
/* Closes the open segment and pushes everything to the sink. */
HD_MUST_CHECK int hprof_flush(hd_hprof *w);

/* Top-level records.  Any open heap-dump segment is closed first.  Ids
 * are written as given, in the file's id size (a 4-byte id's upper half is
 * dropped). */
HD_MUST_CHECK int hprof_utf8(hd_hprof *w, uint64_t id, const char *s);
HD_MUST_CHECK int hprof_load_class(hd_hprof *w, uint32_t serial, uint64_t class_id,
				   uint32_t trace, uint64_t name_id);
/* A STACK FRAME record: its id, the UTF8 ids of its method name, signature
 * and source file, its class's LOAD CLASS serial, and its line (> 0, or
 * HPROF's -1 unknown). */
HD_MUST_CHECK int hprof_frame(hd_hprof *w, uint64_t id, uint64_t method_id, uint64_t sig_id,
			      uint64_t source_id, uint32_t class_serial, int32_t line);
HD_MUST_CHECK int hprof_trace(hd_hprof *w, uint32_t serial, uint32_t thread_serial,
			      const uint64_t *frame_ids, uint32_t nframes);

/* A heap-dump sub-record of exactly LEN bytes (tag included) follows:
 * the puts below must add exactly LEN bytes before hprof_sub_end. */
HD_MUST_CHECK int hprof_sub_begin(hd_hprof *w, uint64_t len);
HD_MUST_CHECK int hprof_sub_end(hd_hprof *w);
/* A sub-record too large for one records writer, written in parts by
 * several, repacked in order into one writer: the first part begins it and
 * ends with hprof_sub_pause, each later one starts with hprof_sub_resume
 * (LEFT: the bytes it still owes) in an empty records writer and ends with
 * hprof_sub_pause or, with the last byte, hprof_sub_end.  A records writer
 * takes nothing after a pause until it is repacked.  On a file's writer the
 * parts are written in place: the sub-record stays open across the pause,
 * and the resume checks it owes LEFT. */
HD_MUST_CHECK int hprof_sub_pause(hd_hprof *w);
HD_MUST_CHECK int hprof_sub_resume(hd_hprof *w, uint64_t left);
/* A whole sub-record of LEN bytes (at most HPROF_RESERVE_MAX) that the
 * caller fills in place at the pointer returned, before any other call on
 * W: hprof_sub_begin, hprof_bytes and hprof_sub_end without the copy, the
 * bytes packed the same.  NULL on error. */
#define HPROF_RESERVE_MAX 4096u
HD_MUST_CHECK uint8_t *hprof_sub_reserve(hd_hprof *w, size_t len);

HD_MUST_CHECK int hprof_u1(hd_hprof *w, uint8_t v);
HD_MUST_CHECK int hprof_u2(hd_hprof *w, uint16_t v);
HD_MUST_CHECK int hprof_u4(hd_hprof *w, uint32_t v);
HD_MUST_CHECK int hprof_u8(hd_hprof *w, uint64_t v);
HD_MUST_CHECK int hprof_bytes(hd_hprof *w, const void *p, size_t len);
/* LEN bytes of little-endian elements of ELEM_SIZE bytes, written big-endian. */
HD_MUST_CHECK int hprof_swapped(hd_hprof *w, const void *p, size_t len, unsigned elem_size);

/* Closes the last segment, writes HEAP DUMP END, flushes. */
HD_MUST_CHECK int hprof_finish(hd_hprof *w);
void hprof_free(hd_hprof *w);

/* Bytes handed to the sink or staged for it: the header, top-level records
 * and closed segments, not the open segment (a records writer: the bytes of
 * the sub-records it holds). */
uint64_t hprof_bytes_written(const hd_hprof *w);
/* Every byte put so far: hprof_bytes_written and the open segment's. */
uint64_t hprof_bytes_put(const hd_hprof *w);

#endif
