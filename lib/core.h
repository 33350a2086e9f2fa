/* A core file as a process (process.h's ops): maps from its segments and
 * file note, the image from its executable (checked to be the one the
 * process ran), memory through symbols/coremem.h, threads and registers
 * from its notes; stopping and releasing do nothing, forking is refused.
 * A core never changes, so nothing it lacks is worth a retry: the chunks
 * it lacks fail the dump with what is missing and why, or, when partial,
 * are left out and counted. */
#ifndef HD_LIB_CORE_H
#define HD_LIB_CORE_H

#include "process.h"
#include "../symbols/corefile.h"
#include "../symbols/coremem.h"

/* An executable has a handful of PT_LOAD segments; more are not looked at. */
#define CORE_EXE_LOADS 16

struct hd_core {
	struct hd_corefile cf;
	struct hd_corememory mem;
	char *exe;          /* the executable's path */
	int exe_fd;
	dev_t exe_dev;      /* its identity, given to its mappings */
	ino_t exe_ino;
	const char *exe_name_in_core; /* its NT_FILE name, "" when unknown */
	bool header_checked; /* the core's copy of its first page matched */
	/* Where the loader put the executable's PT_LOAD segments (their
	 * addresses less LOAD_BIAS): a mapping of the file elsewhere is a copy
	 * an isolate made of its image heap. */
	struct core_load { uint64_t vaddr, offset, filesz; } loads[CORE_EXE_LOADS];
	size_t nloads;
	uint64_t load_bias;
	bool bias_known;    /* the core's AT_ENTRY and the file's e_entry */
	bool partial;       /* leave missing chunks out instead of failing */
	uint64_t missing_chunks, missing_chunk_bytes; /* left out by the last scan */
};

extern const struct hd_process_ops hd_core_ops;

/* Opens CORE and its executable: EXE, or the module libdwfl reports at the
 * core's entry point (the file NT_FILE maps there).  Errors: those of
 * corefile_open, HD_E_NOENT (no executable named or found: give --exe),
 * HD_E_USAGE (EXE is not the executable the process ran: its ELF header
 * page, its extent or its build-id differ), HD_E_INTERNAL.  core_free in
 * every case. */
HD_MUST_CHECK int core_open(struct hd_core *c, const char *core, const char *exe);
void core_free(struct hd_core *c);

/* After a failure: when the recorded message names an address the core
 * lacks, says which range is missing and why. */
void core_explain(const struct hd_core *c);

/* After the isolates were not found: says when the core cannot show them
 * (a core that marks no mapping inaccessible, as gcore's, where no copy of
 * the executable lies above zeros), or when the executable could not be
 * checked against it. */
void core_explain_open(const struct hd_core *c);

#endif
