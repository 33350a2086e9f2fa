/* A core's memory as a view (agent/memview.h): its dumped segments, and the
 * executable's pages the core left out because the process never wrote
 * them (a kernel core with the default coredump_filter omits unmodified
 * file-backed private pages).  What neither holds is missing, never
 * invented: a read there fails, and corememory_gap says which range is
 * missing and why (a file cut short, a coredump_filter bit). */
#ifndef HD_COREMEM_H
#define HD_COREMEM_H

#include "corefile.h"
#include "../agent/memview.h"
#include "../common/hd_error.h"

enum core_gap_why {
	GAP_TRUNCATED,     /* the header claims bytes the file does not hold */
	GAP_ANONYMOUS,     /* anonymous memory left out: coredump_filter bit 0 */
	GAP_FILE,          /* file-backed pages left out: bits 2 and 3 */
	GAP_WRITTEN_EXE,   /* the executable's private pages, written to, left out:
			      bit 0 (the file's bytes would be stale) */
	GAP_PAST_FILE,     /* a mapping of the executable past its end */
};

struct core_gap {
	uint64_t lo, hi;
	enum core_gap_why why;
	size_t seg;        /* the segment it is part of */
};

struct hd_corememory {
	hd_memview *view;      /* open_memory clones it */
	struct core_gap *gaps; /* ascending */
	size_t ngaps;
	struct core_run *runs; /* the mappings behind the view */
	size_t nruns;
	bool anonymous_dumped; /* the core holds anonymous private memory */
};

/* Builds the view of CF.  EXE_FD reads the executable (EXE_SIZE bytes),
 * whose mappings are the NT_FILE entries named EXE_NAME.  Errors:
 * HD_E_INTERNAL (memory, or the address space to map it), HD_E_LAYOUT (a
 * read of the core failed), HD_E_INTERRUPTED.  corememory_free in every
 * case. */
HD_MUST_CHECK int corememory_build(struct hd_corememory *m, const struct hd_corefile *cf,
				   const char *exe_name, int exe_fd, uint64_t exe_size);
void corememory_free(struct hd_corememory *m);

/* The first gap that overlaps [LO, HI), or NULL. */
const struct core_gap *corememory_gap(const struct hd_corememory *m, uint64_t lo, uint64_t hi);

/* Bytes of memory the core lacks (all gaps). */
uint64_t corememory_missing_bytes(const struct hd_corememory *m);

/* "0xLO-0xHI (NAME, N bytes): why" into BUF. */
void corememory_describe(const struct core_gap *g, const struct hd_corefile *cf, char *buf,
			 size_t size);

#endif
