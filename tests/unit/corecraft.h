/* Small ELF core files built byte by byte for the core-file tests: PT_LOAD
 * segments with their bytes, and notes (NT_PRSTATUS, NT_AUXV, NT_FILE) that
 * may lie. */
#ifndef HD_TEST_CORECRAFT_H
#define HD_TEST_CORECRAFT_H

#include <stddef.h>
#include <stdint.h>

struct cc_seg {
	uint64_t vaddr, memsz, filesz;
	uint32_t flags;      /* PF_R | PF_W | PF_X */
	uint8_t fill;        /* the byte its dumped bytes hold */
};

struct cc_core {
	uint8_t notes[8192];
	size_t nnotes;
	struct cc_seg segs[16];
	const uint8_t *bytes[16]; /* a segment's FILESZ bytes, NULL: its fill */
	size_t nsegs;
	uint16_t type;       /* ET_CORE unless a test says otherwise */
	uint16_t phnum_lie;  /* nonzero: the header claims this many */
	uint32_t data_shift; /* bytes before the first segment's, as gcore puts
				its notes there: offsets then miss page alignment */
};

void cc_init(struct cc_core *c);
void cc_note(struct cc_core *c, uint32_t type, const void *desc, size_t len);
/* NT_PRSTATUS of thread TID with RIP, RSP */
void cc_thread(struct cc_core *c, int tid, uint64_t rip, uint64_t rsp);
void cc_entry(struct cc_core *c, uint64_t entry);
/* NT_FILE with N entries (start, end, page offset) named NAMES[i] */
void cc_files(struct cc_core *c, size_t n, const uint64_t (*e)[3], const char *const *names);
void cc_seg(struct cc_core *c, struct cc_seg s);
/* A segment holding BYTES (S.filesz of them) */
void cc_seg_bytes(struct cc_core *c, struct cc_seg s, const uint8_t *bytes);
/* Writes C to PATH, cut at TRUNCATE bytes when nonzero.  Returns 0. */
int cc_write(const struct cc_core *c, const char *path, uint64_t truncate);

#endif
