/* What hdump prints besides the dump: -v lines from the library's events,
 * the isolate list, the class histogram, the JSON and verbose summaries.
 * Target-chosen text is always printed escaped. */
#ifndef HD_CLI_REPORT_H
#define HD_CLI_REPORT_H

#include "../include/hdump.h"

#include <stdbool.h>
#include <stdio.h>

/* What report_event prints besides warnings (always printed). */
struct report_events {
	bool verbose; /* -v: discovery text, retries */
	bool pauses;  /* -v and dumping: how long the target was held */
	bool quiet;   /* -q: no warnings either */
};

/* hdump_event_fn; CTX is a struct report_events. */
void report_event(void *ctx, const struct hdump_event *ev);

/* "hdump: warning: TEXT", always. */
void report_warning(const char *text);

/* "hdump: FILE: VERSION, image heap of N bytes" (-v, --exe). */
void report_executable(const char *path, const struct hdump_target_info *info);

void report_isolates(const struct hdump_isolate *v, size_t n);

/* jmap -histo's table.  -1 with HDUMP_E_OUTPUT when OUT could not take it. */
int report_histogram(FILE *out, const hdump_target *t, const struct hdump_result *r);

/* One JSON line to OUT (--json); PATH "" when no file was written. */
void report_json(FILE *out, const char *path, const struct hdump_result *r);

/* What reached the output file: gzip-compressed or not, and its bytes. */
struct report_file {
	bool gzip;
	uint64_t bytes;
};
/* report_json with "gzip" and "file_bytes" (F->bytes: compressed with gzip,
 * else the HPROF bytes). */
void report_json_file(FILE *out, const char *path, const struct hdump_result *r,
		      const struct report_file *f);
/* The -v summary line. */
void report_summary(const char *path, const struct hdump_result *r);

/* --stacks: prints V[0..N) to OUT like jstack ("at class.method(line N)":
 * the image keeps lines, not source file names).  Returns 0, or -1
 * (HDUMP_E_OUTPUT) when OUT fails. */
int report_stacks(FILE *out, const struct hdump_stack *v, size_t n);

#endif
