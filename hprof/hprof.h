/* HPROF 1.0.2 writer with 8-byte identifiers, written conservatively for the
 * viewers: standard tags only, heap-dump sub-records packed into segments of
 * bounded size (never empty), a sub-record larger than the bound gets a
 * segment of its own, and output is streamed: nothing larger than one
 * segment is held in memory. */
#ifndef HD_HPROF_H
#define HD_HPROF_H

#include <stddef.h>
#include <stdint.h>

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

#define HPROF_ID_SIZE 8u
/* The largest sub-record a segment's u4 length can carry. */
#define HPROF_MAX_SUBRECORD (UINT32_MAX - 64u)

typedef struct hd_hprof hd_hprof;

/* Sink for the bytes: returns 0, or -1 with the error recorded (the sink
 * decides HD_E_OUTPUT vs HD_E_DISK_FULL). */
typedef int (*hprof_sink_fn)(void *ctx, const void *buf, size_t len);

/* A sink into a growing buffer in memory (the caller frees P). */
struct hprof_membuf {
	uint8_t *p;
	size_t len, cap;
};
int hprof_membuf_sink(void *ctx, const void *buf, size_t len);

/* Starts a file: writes the header with TIMESTAMP_MS.  SEGMENT_LIMIT bounds
 * a segment's size (0: the default, 1 MiB). */
hd_hprof *hprof_open(hprof_sink_fn sink, void *ctx, uint64_t timestamp_ms,
		     size_t segment_limit);

/* A writer of heap-dump segments only (no file header), for one of several
 * threads writing parts of the heap: its output is handed whole to the
 * file's writer with hprof_segments. */
hd_hprof *hprof_open_fragment(hprof_sink_fn sink, void *ctx, size_t segment_limit);
/* Closes the open segment and pushes everything to the sink. */
int hprof_flush(hd_hprof *w);
/* Appends LEN bytes of complete segments (a fragment's flushed output). */
int hprof_segments(hd_hprof *w, const void *p, size_t len);

/* Top-level records.  Any open heap-dump segment is closed first. */
int hprof_utf8(hd_hprof *w, uint64_t id, const char *s);
int hprof_load_class(hd_hprof *w, uint32_t serial, uint64_t class_id, uint32_t trace,
		     uint64_t name_id);
int hprof_frame(hd_hprof *w, uint64_t frame_id, uint64_t method_name, uint64_t signature,
		uint64_t source_file, uint32_t class_serial, int32_t line);
int hprof_trace(hd_hprof *w, uint32_t serial, uint32_t thread_serial,
		const uint64_t *frame_ids, uint32_t nframes);

/* A heap-dump sub-record of exactly LEN bytes (tag included) follows:
 * the puts below must add exactly LEN bytes before hprof_sub_end. */
int hprof_sub_begin(hd_hprof *w, uint64_t len);
int hprof_sub_end(hd_hprof *w);

int hprof_u1(hd_hprof *w, uint8_t v);
int hprof_u2(hd_hprof *w, uint16_t v);
int hprof_u4(hd_hprof *w, uint32_t v);
int hprof_u8(hd_hprof *w, uint64_t v);
static inline int hprof_id(hd_hprof *w, uint64_t v) { return hprof_u8(w, v); }
int hprof_bytes(hd_hprof *w, const void *p, size_t len);
/* LEN bytes of little-endian elements of ELEM_SIZE bytes, written big-endian. */
int hprof_swapped(hd_hprof *w, const void *p, size_t len, unsigned elem_size);

/* Closes the last segment, writes HEAP DUMP END, flushes. */
int hprof_finish(hd_hprof *w);
void hprof_free(hd_hprof *w);

uint64_t hprof_bytes_written(const hd_hprof *w);

#endif
