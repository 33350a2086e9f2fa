#include "watch_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Leading decimal digits of S into *V; *END past them.  -1: none, or
 * more than fit in 64 bits. */
static int parse_digits(const char *s, uint64_t *v, const char **end)
{
	if (!isdigit((unsigned char)*s))
		return -1;
	uint64_t x = 0;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	*end = s;
	return 0;
}

int watch_parse_threshold(const char *s, struct watch_threshold *t)
{
	static const struct { const char *suffix; unsigned shift; } units[] = {
		{"", 0}, {"B", 0}, {"K", 10}, {"KB", 10}, {"KiB", 10}, {"M", 20}, {"MB", 20},
		{"MiB", 20}, {"G", 30}, {"GB", 30}, {"GiB", 30}, {"T", 40}, {"TB", 40}, {"TiB", 40},
	};
	*t = (struct watch_threshold){0};
	uint64_t v;
	const char *end;
	if (parse_digits(s, &v, &end) != 0 || v == 0)
		return -1;
	if (strcmp(end, "%") == 0) {
		if (v > 100)
			return -1;
		*t = (struct watch_threshold){.set = true, .percent = true, .pct = (unsigned)v};
		return 0;
	}
	for (size_t i = 0; i < sizeof units / sizeof *units; i++)
		if (strcasecmp(end, units[i].suffix) == 0) {
			if (v > (UINT64_MAX >> units[i].shift))
				return -1;
			*t = (struct watch_threshold){.set = true, .bytes = v << units[i].shift};
			return 0;
		}
	return -1;
}

uint64_t watch_threshold_bytes(const struct watch_threshold *t, uint64_t max)
{
	if (!t->percent)
		return t->bytes;
	if (!max)
		return 0;
	return max / 100 * t->pct + max % 100 * t->pct / 100;
}

int watch_parse_duration(const char *s, bool allow_zero, uint64_t *ms)
{
	static const struct { const char *unit; uint64_t ms; } units[] = {
		{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
	};
	const uint64_t max_ms = 366ull * 86400000;
	uint64_t v;
	const char *end;
	if (parse_digits(s, &v, &end) != 0 || (v == 0 && !allow_zero))
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof *units; i++)
		if (strcmp(end, units[i].unit) == 0) {
			if (v > max_ms / units[i].ms)
				return -1;
			*ms = v * units[i].ms;
			return 0;
		}
	return -1;
}

int watch_parse_pressure(const char *s, struct watch_pressure *p)
{
	*p = (struct watch_pressure){0};
	bool full = strncmp(s, "full:", 5) == 0;
	if (full)
		s += 5;
	const char *slash = strchr(s, '/');
	char stall[32];
	if (!slash || (size_t)(slash - s) >= sizeof stall)
		return -1;
	memcpy(stall, s, (size_t)(slash - s));
	stall[slash - s] = '\0';
	uint64_t stall_ms, window_ms;
	if (watch_parse_duration(stall, false, &stall_ms) != 0 ||
	    watch_parse_duration(slash + 1, false, &window_ms) != 0 || window_ms < 500 ||
	    window_ms > 10000 || stall_ms > window_ms)
		return -1;
	*p = (struct watch_pressure){.set = true, .full = full, .stall_us = stall_ms * 1000,
				     .window_us = window_ms * 1000};
	return 0;
}

const char *watch_trigger_name(enum watch_trigger t)
{
	static const char *const names[] = {
#define WATCH_TRIGGER_NAME(e, s) s,
		WATCH_TRIGGERS(WATCH_TRIGGER_NAME)
#undef WATCH_TRIGGER_NAME
	};
	return (unsigned)t < WATCH_T_COUNT ? names[t] : "unknown";
}

void watch_safe_name(const char *name, char *out, size_t size)
{
	size_t n = 0;
	for (const char *p = name; *p && n + 1 < size && n < 64; p++) {
		unsigned char c = (unsigned char)*p;
		out[n++] = isalnum(c) || c == '.' || c == '_' || c == '-' ? (char)c : '_';
	}
	out[n] = '\0';
	if ((n == 0 || out[0] == '.') && size > 6)
		snprintf(out, size, "target");
}

int watch_dump_name(char *out, size_t size, const char *safe_name, int pid,
		    const struct timespec *utc, enum watch_trigger t)
{
	struct tm tm;
	time_t sec = utc->tv_sec;
	char stamp[32];
	if (!gmtime_r(&sec, &tm) || !strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm))
		return -1;
	int len = snprintf(out, size, "%s-%d-%s.%03ldZ-%s.hprof", safe_name, pid, stamp,
			   utc->tv_nsec / 1000000, watch_trigger_name(t));
	return len < 0 || (size_t)len >= size ? -1 : 0;
}

/* Does S start with exactly N digits? */
static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

bool watch_is_dump_name(const char *base)
{
	size_t len = strlen(base);
	const char *ext = ".hprof";
	if (len > 9 && strcmp(base + len - 9, ".hprof.gz") == 0)
		len -= 3;
	if (len < 6 || strncmp(base + len - 6, ext, 6) != 0)
		return false;
	len -= 6;
	/* ...-<trigger> */
	for (int t = 0; t < WATCH_T_COUNT; t++) {
		const char *name = watch_trigger_name((enum watch_trigger)t);
		size_t tl = strlen(name);
		/* "-YYYYmmddTHHMMSS.mmmZ-" is 22 bytes, then the trigger */
		if (len < tl + 22 + 3 || strncmp(base + len - tl, name, tl) != 0)
			continue;
		const char *s = base + len - tl - 22;
		if (s[0] == '-' && digits(s + 1, 8) && s[9] == 'T' && digits(s + 10, 6) &&
		    s[16] == '.' && digits(s + 17, 3) && s[20] == 'Z' && s[21] == '-') {
			/* ...<name>-<pid> before it */
			const char *p = s;
			size_t nd = 0;
			while (p > base && isdigit((unsigned char)p[-1]) && nd < 10) {
				p--;
				nd++;
			}
			return nd > 0 && p > base + 1 && p[-1] == '-';
		}
	}
	return false;
}

size_t watch_retention_excess(char *const *written, size_t n, unsigned keep)
{
	if (keep == 0 || n <= keep)
		return 0;
	size_t excess = n - keep;
	/* only names of ours; anything else stops the deletion there */
	for (size_t i = 0; i < excess; i++) {
		const char *slash = strrchr(written[i], '/');
		if (!watch_is_dump_name(slash ? slash + 1 : written[i]))
			return i;
	}
	return excess;
}
