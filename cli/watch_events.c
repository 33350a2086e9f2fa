#include "watch_events.h"

#include "../include/hdump.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

/* Room kept for the closing brace and newline. */
#define TAIL 3

static void put(struct watch_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct watch_json *j, const char *fmt, ...)
{
	if (j->overflow)
		return;
	size_t room = sizeof j->buf - TAIL - j->n;
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(j->buf + j->n, room, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= room) {
		j->overflow = true;
		j->buf[j->n] = '\0';
		return;
	}
	j->n += (size_t)len;
}

/* The key and a JSON string: S escaped by hdump_escape (control bytes,
 * invalid UTF-8 and backslashes become \xNN) is valid UTF-8 with no control
 * byte, so only '"' and '\' remain to escape. */
static void put_string(struct watch_json *j, const char *key, const char *s)
{
	char esc[HDUMP_ESCAPED_MESSAGE], out[2 * HDUMP_ESCAPED_MESSAGE + 3];
	hdump_escape(s ? s : "", esc, sizeof esc);
	size_t n = 0;
	out[n++] = '"';
	for (const char *p = esc; *p; p++) {
		if (*p == '"' || *p == '\\')
			out[n++] = '\\';
		out[n++] = *p;
	}
	out[n++] = '"';
	out[n] = '\0';
	put(j, ",\"%s\":%s", key, out);
}

void wj_begin(struct watch_json *j, const char *event)
{
	j->n = 0;
	j->overflow = false;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	time_t sec = ts.tv_sec;
	gmtime_r(&sec, &tm);
	char stamp[32];
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	put(j, "{\"event\":\"%s\",\"time\":\"%s.%03ldZ\"", event, stamp, ts.tv_nsec / 1000000);
}

void wj_str(struct watch_json *j, const char *key, const char *value)
{
	put_string(j, key, value);
}

void wj_u64(struct watch_json *j, const char *key, uint64_t value)
{
	put(j, ",\"%s\":%" PRIu64, key, value);
}

void wj_i64(struct watch_json *j, const char *key, int64_t value)
{
	put(j, ",\"%s\":%" PRId64, key, value);
}

void wj_bool(struct watch_json *j, const char *key, bool value)
{
	put(j, ",\"%s\":%s", key, value ? "true" : "false");
}

int wj_end(struct watch_json *j, FILE *out)
{
	memcpy(j->buf + j->n, "}\n", 3);
	j->n += 2;
	if (fwrite(j->buf, 1, j->n, out) != j->n || fflush(out) != 0)
		return -1;
	return 0;
}
