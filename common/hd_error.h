/* Error classes shared by every layer, and the exit code each maps to.
 *
 * A failing function records one error (class + one-line message) at the
 * failure site and returns -1 (NULL for pointers; a predicate may return
 * bool, but false is never a failure); the command line prints it once as
 * "hdump: <message>" and exits with the class's code.  The table below is the
 * single source of the codes: --help, the README and the tests quote it.
 *
 * Retryable (the heap may hold still on the next attempt): HD_E_TORN, a
 * read of the target that failed or met a value a concurrent mutation
 * explains, and HD_E_INCONSISTENT.  HD_E_LAYOUT is final: the image's data
 * (which never changes) did not validate.  HD_E_TORN has no code of its own
 * (no description): after the last retry it is reported as
 * HD_E_INCONSISTENT.  It is the one class the public API (include/hdump.h)
 * does not have, so it comes last: the others keep the public numbers. */
#ifndef HD_ERROR_H
#define HD_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

/* X(name, exit code, short description used by --help) */
#define HD_ERRORS(X)                                                          \
	X(HD_OK, 0, "success")                                                \
	X(HD_E_INTERNAL, 1, "internal error (a bug in hdump) or out of memory") \
	X(HD_E_USAGE, 2, "bad usage (command line or API call)")             \
	X(HD_E_NOENT, 3, "no such file or process")                           \
	X(HD_E_PERM, 4, "permission denied")                                  \
	X(HD_E_NOT_ELF, 5, "input is not an ELF executable")                  \
	X(HD_E_NOT_NATIVE_IMAGE, 6, "ELF file is not a GraalVM native image") \
	X(HD_E_LAYOUT, 7, "heap layout unsupported, corrupt or did not validate") \
	X(HD_E_OUTPUT_EXISTS, 8, "output file exists (use --force)")          \
	X(HD_E_OUTPUT, 9, "cannot write the output file")                     \
	X(HD_E_DISK_FULL, 10, "no space left on the output device")           \
	X(HD_E_TARGET_GONE, 11, "target process exited during the dump")      \
	X(HD_E_TRACED, 12, "target is already traced by another process")     \
	X(HD_E_INCONSISTENT, 13, "heap stayed inconsistent after retries")    \
	X(HD_E_INTERRUPTED, 14, "interrupted by a signal; target released")   \
	X(HD_E_SNAPSHOT, 15, "snapshot refused (memory limits, seccomp, no proven syscall site) or failed; target unchanged") \
	X(HD_E_TORN, 13, NULL)

/* On every fallible function: it returns 0, or -1 with the error recorded
 * (pointer-returning ones: NULL), and the caller must look. */
#define HD_MUST_CHECK __attribute__((warn_unused_result))

enum hd_error_class {
#define HD_ERR_ENUM(name, code, desc) name,
	HD_ERRORS(HD_ERR_ENUM)
#undef HD_ERR_ENUM
	HD_ERROR_CLASS_COUNT
};

/* Records CLS with a printf-style message, replacing any earlier error.
 * Always returns -1 so callers can write "return hd_fail(...)". */
int hd_fail(enum hd_error_class cls, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like hd_fail, appending ": strerror(ERRNUM)". */
int hd_fail_errno(enum hd_error_class cls, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes the recorded message with "CONTEXT: " to say where it happened. */
void hd_error_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

enum hd_error_class hd_error_class(void);
const char *hd_error_message(void);
void hd_error_clear(void);

/* Whether the recorded error must end the operation whatever the step that
 * failed (a signal, or a bug / out of memory): the errors a best-effort
 * step may not swallow. */
bool hd_error_is_fatal(void);

/* For clean-up that may fail on a path that has already failed: the first
 * error is the one to report. */
struct hd_error_state {
	enum hd_error_class cls;
	char message[512];
};
void hd_error_save(struct hd_error_state *st);
void hd_error_restore(const struct hd_error_state *st);

int hd_error_exit_code(enum hd_error_class cls);

#endif
