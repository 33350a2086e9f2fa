/* hdump watch's small languages: thresholds ("80%", "512M"), durations
 * ("500ms", "30s", "1h"), the dump files' names and which of them the
 * retention (--keep) may delete. */
#ifndef HD_CLI_WATCH_PARSE_H
#define HD_CLI_WATCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* N% of a maximum, or an absolute size in bytes. */
struct watch_threshold {
	bool set;
	bool percent;
	unsigned pct;   /* 1..100 */
	uint64_t bytes; /* > 0 */
};

/* "N%" (1 to 100) or a size: digits with an optional K, M, G or T (powers
 * of 1024, also written KiB, MiB, GiB, TiB; a trailing B is allowed: "512MB"
 * is 512 MiB).  0 on success, -1 for anything else (overflow, 0, junk). */
int watch_parse_threshold(const char *s, struct watch_threshold *t);

/* The threshold in bytes against MAX (0: unknown, so a percentage has no
 * value: returns 0, meaning "never"). */
uint64_t watch_threshold_bytes(const struct watch_threshold *t, uint64_t max);

/* "digits[unit]" with unit ms, s, m, h or d (none: seconds), into *MS;
 * at most 366 days.  ALLOW_ZERO: "0" is valid.  0 or -1. */
int watch_parse_duration(const char *s, bool allow_zero, uint64_t *ms);

/* A PSI trigger: "[full:]STALL/WINDOW" (durations as above, STALL > 0,
 * STALL <= WINDOW, WINDOW from 500ms to 10s: the kernel's bounds), e.g.
 * "150ms/1s": tasks stalled on memory ("some" of them, or with "full:" all
 * at once) for 150 ms within any 1 s.  0 or -1. */
struct watch_pressure {
	bool set;
	bool full;
	uint64_t stall_us, window_us;
};
int watch_parse_pressure(const char *s, struct watch_pressure *p);

/* Triggers, as they appear in file names and events. */
#define WATCH_TRIGGERS(X) \
	X(HEAP, "heap") X(MEMORY, "memory") X(RSS, "rss") X(SIGNAL, "sigusr1") \
	X(FILE, "file") X(EVERY, "every") X(EXIT, "exit") X(FATAL, "fatal-signal") \
	X(PRESSURE, "pressure")
enum watch_trigger {
#define WATCH_TRIGGER_ENUM(e, s) WATCH_T_##e,
	WATCH_TRIGGERS(WATCH_TRIGGER_ENUM)
#undef WATCH_TRIGGER_ENUM
	WATCH_T_COUNT
};
const char *watch_trigger_name(enum watch_trigger t);

/* NAME (an executable's base name, hostile) reduced to at most 64 bytes of
 * [A-Za-z0-9._-] (others become '_'; empty or dot-leading: "target"),
 * into OUT of SIZE bytes. */
void watch_safe_name(const char *name, char *out, size_t size);

/* The dump file name <safe name>-<pid>-<UTC yyyymmddThhmmss.mmmZ>-<trigger>
 * .hprof, into OUT of SIZE bytes.  -1 if it does not fit. */
int watch_dump_name(char *out, size_t size, const char *safe_name, int pid,
		    const struct timespec *utc, enum watch_trigger t);

/* Is BASENAME a name watch_dump_name makes (optionally with ".gz")? */
bool watch_is_dump_name(const char *basename);

/* Retention: of the N paths in WRITTEN (oldest first: the order this
 * watcher wrote them), those beyond the KEEP newest that carry a dump name
 * are to be deleted: returns how many from the front (0 when KEEP is 0:
 * keep all). */
size_t watch_retention_excess(char *const *written, size_t n, unsigned keep);

#endif
