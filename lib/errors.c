/* The public face of common/hd_error.h (include/hdump.h): error classes,
 * messages, exit codes. */
#include "../include/hdump.h"

#include "../common/hd_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The public classes are common/hd_error.h's, in the same order; the one
 * internal class, HD_E_TORN, comes after them and never reaches a client. */
#define SAME_CLASS(pub, priv) _Static_assert((int)(pub) == (int)(priv), #pub " is " #priv)
SAME_CLASS(HDUMP_OK, HD_OK);
SAME_CLASS(HDUMP_E_INTERNAL, HD_E_INTERNAL);
SAME_CLASS(HDUMP_E_USAGE, HD_E_USAGE);
SAME_CLASS(HDUMP_E_NOENT, HD_E_NOENT);
SAME_CLASS(HDUMP_E_PERM, HD_E_PERM);
SAME_CLASS(HDUMP_E_NOT_ELF, HD_E_NOT_ELF);
SAME_CLASS(HDUMP_E_NOT_NATIVE_IMAGE, HD_E_NOT_NATIVE_IMAGE);
SAME_CLASS(HDUMP_E_LAYOUT, HD_E_LAYOUT);
SAME_CLASS(HDUMP_E_OUTPUT_EXISTS, HD_E_OUTPUT_EXISTS);
SAME_CLASS(HDUMP_E_OUTPUT, HD_E_OUTPUT);
SAME_CLASS(HDUMP_E_DISK_FULL, HD_E_DISK_FULL);
SAME_CLASS(HDUMP_E_TARGET_GONE, HD_E_TARGET_GONE);
SAME_CLASS(HDUMP_E_TRACED, HD_E_TRACED);
SAME_CLASS(HDUMP_E_INCONSISTENT, HD_E_INCONSISTENT);
SAME_CLASS(HDUMP_E_INTERRUPTED, HD_E_INTERRUPTED);
SAME_CLASS(HDUMP_E_SNAPSHOT, HD_E_SNAPSHOT);
SAME_CLASS(HDUMP_ERROR_CLASS_COUNT, HD_E_TORN);
_Static_assert(HD_E_TORN + 1 == HD_ERROR_CLASS_COUNT, "HD_E_TORN is the only internal class");

/* A client's class as the library's, an unknown one as a bug. */
static enum hd_error_class internal_class(enum hdump_error_class cls)
{
	return (unsigned)cls < HDUMP_ERROR_CLASS_COUNT ? (enum hd_error_class)cls : HD_E_INTERNAL;
}

/* A torn read is retried inside a dump; one that reaches a client (the
 * last attempt's, hdump_read of a running process) is the heap changing. */
static enum hdump_error_class public_class(enum hd_error_class cls)
{
	return cls == HD_E_TORN ? HDUMP_E_INCONSISTENT : (enum hdump_error_class)cls;
}

struct hdump_error hdump_error(void)
{
	return (struct hdump_error){public_class(hd_error_class()), hd_error_message()};
}

int hdump_fail(enum hdump_error_class cls, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return hd_fail(internal_class(cls), "%s", msg);
}

int hdump_fail_errno(enum hdump_error_class cls, int errnum, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return hd_fail_errno(internal_class(cls), errnum, "%s", msg);
}

int hdump_exit_code(enum hdump_error_class cls)
{
	return hd_error_exit_code(internal_class(cls));
}

const char *hdump_error_description(enum hdump_error_class cls)
{
	static const char *const desc[] = {
#define HD_ERR_DESC(name, code, text) [name] = text,
		HD_ERRORS(HD_ERR_DESC)
#undef HD_ERR_DESC
	};
	return (unsigned)cls < HDUMP_ERROR_CLASS_COUNT ? desc[cls] : NULL;
}
