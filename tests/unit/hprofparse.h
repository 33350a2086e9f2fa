/* A small, strict HPROF 1.0.2 reader for the unit tests (4- or 8-byte ids):
 * it splits a file into top-level records and a heap-dump segment into
 * sub-records, and refuses anything that does not add up exactly, so that
 * the tests can check the writer's framing independently of the writer.
 * And the writer's sink the tests read back from: a buffer in memory. */
#ifndef HD_TEST_HPROFPARSE_H
#define HD_TEST_HPROFPARSE_H

#include <stddef.h>
#include <stdint.h>

struct hp_record {
	uint8_t tag;
	uint32_t time;
	uint32_t len;
	const uint8_t *body; /* LEN bytes */
};

struct hp_file {
	uint32_t id_size;
	uint64_t timestamp;
	struct hp_record *recs;
	size_t nrecs;
};

/* An hprof_sink_fn (hprof/hprof.h) into a growing buffer in memory (the
 * caller frees P).  Out of memory is recorded as HD_E_INTERNAL. */
struct hprof_membuf {
	uint8_t *p;
	size_t len, cap;
};
int hprof_membuf_sink(void *ctx, const void *buf, size_t len);

uint16_t hp_u2(const uint8_t *p);
uint32_t hp_u4(const uint8_t *p);
uint64_t hp_u8(const uint8_t *p);
/* An 8-byte id at P, mapped back to the value the writer was given (an
 * address). */
uint64_t hp_id(const uint8_t *p);
/* The id of ID_SIZE bytes at P, as the file holds it. */
uint64_t hp_raw_id(const uint8_t *p, unsigned id_size);

/* Parses BUF (LEN bytes).  Returns 0, or -1 with a reason in ERR. */
int hp_parse(const uint8_t *buf, size_t len, struct hp_file *f, char *err, size_t errlen);
void hp_free(struct hp_file *f);

/* Length of the sub-record at P (AVAIL bytes left in its segment) of a file
 * with ID_SIZE-byte ids, or 0 if it is unknown or does not fit. */
size_t hp_sub_len(const uint8_t *p, size_t avail, unsigned id_size);

/* Size of a value of HPROF basic type T (2 = object: ID_SIZE), 0 if unknown. */
unsigned hp_type_size(uint8_t t, unsigned id_size);

#endif
