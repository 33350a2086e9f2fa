#include "hd_error.h"

#include <stdio.h>
#include <string.h>

static const int exit_codes[] = {
#define HD_ERR_ROW(name, code, desc) [name] = code,
	HD_ERRORS(HD_ERR_ROW)
#undef HD_ERR_ROW
};

/* Per thread: the parallel writer's workers each fail on their own. */
static _Thread_local enum hd_error_class last_class;
static _Thread_local char last_message[512];

static int record(enum hd_error_class cls, int errnum, const char *fmt, va_list ap)
{
	last_class = cls;
	int n = vsnprintf(last_message, sizeof last_message, fmt, ap);
	if (errnum && n >= 0 && (size_t)n < sizeof last_message)
		snprintf(last_message + n, sizeof last_message - (size_t)n, ": %s",
			 strerror(errnum));
	return -1;
}

int hd_fail(enum hd_error_class cls, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(cls, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int hd_fail_errno(enum hd_error_class cls, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(cls, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

void hd_error_context(const char *fmt, ...)
{
	char joined[sizeof last_message];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(joined, sizeof joined, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof joined - 2)
		return;
	joined[n++] = ':';
	joined[n++] = ' ';
	size_t rest = strnlen(last_message, sizeof last_message - 1);
	if (rest > sizeof joined - 1 - (size_t)n)
		rest = sizeof joined - 1 - (size_t)n;
	memcpy(joined + n, last_message, rest);
	joined[(size_t)n + rest] = '\0';
	memcpy(last_message, joined, sizeof last_message);
}

enum hd_error_class hd_error_class(void) { return last_class; }

bool hd_error_is_fatal(void) { return last_class == HD_E_INTERRUPTED || last_class == HD_E_INTERNAL; }
const char *hd_error_message(void) { return last_message; }

void hd_error_save(struct hd_error_state *st)
{
	st->cls = last_class;
	memcpy(st->message, last_message, sizeof st->message);
}

void hd_error_restore(const struct hd_error_state *st)
{
	last_class = st->cls;
	memcpy(last_message, st->message, sizeof last_message);
}

void hd_error_clear(void)
{
	last_class = HD_OK;
	last_message[0] = '\0';
}

int hd_error_exit_code(enum hd_error_class cls)
{
	if ((unsigned)cls >= HD_ERROR_CLASS_COUNT)
		return exit_codes[HD_E_INTERNAL];
	return exit_codes[cls];
}
