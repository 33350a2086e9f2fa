/* hdump watch's output for ops tooling: one JSON object per line on stdout
 * per event, built key by key (doc/watch-events.schema.json).  Every line
 * starts with "event" and "time" (UTC, RFC 3339 with milliseconds).
 * Strings a target chose are escaped first (hdump_escape), then written as
 * JSON strings, so a line is always valid UTF-8 JSON. */
#ifndef HD_CLI_WATCH_EVENTS_H
#define HD_CLI_WATCH_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct watch_json {
	char buf[4096];
	size_t n;
	bool overflow; /* a value did not fit: the line ends there, still valid */
};

void wj_begin(struct watch_json *j, const char *event);
void wj_str(struct watch_json *j, const char *key, const char *value);
void wj_u64(struct watch_json *j, const char *key, uint64_t value);
void wj_i64(struct watch_json *j, const char *key, int64_t value);
void wj_bool(struct watch_json *j, const char *key, bool value);
/* Writes the line to OUT and flushes it.  -1 when OUT cannot take it. */
int wj_end(struct watch_json *j, FILE *out);

#endif
