/* The public face of common/hd_error (lib/errors.c): error classes and
 * their exit codes, messages recorded by a client's callback — as a client
 * of include/hdump.h sees them.  Escaping and signals: test_escaping.c,
 * test_signals.c. */
#include "../../include/hdump.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Test(errors, exit_codes_as_documented)
{
	/* README's table of exit codes, by class. */
	static const int code[HDUMP_ERROR_CLASS_COUNT] = {
		[HDUMP_OK] = 0, [HDUMP_E_INTERNAL] = 1, [HDUMP_E_USAGE] = 2, [HDUMP_E_NOENT] = 3,
		[HDUMP_E_PERM] = 4, [HDUMP_E_NOT_ELF] = 5, [HDUMP_E_NOT_NATIVE_IMAGE] = 6,
		[HDUMP_E_LAYOUT] = 7, [HDUMP_E_OUTPUT_EXISTS] = 8, [HDUMP_E_OUTPUT] = 9,
		[HDUMP_E_DISK_FULL] = 10, [HDUMP_E_TARGET_GONE] = 11, [HDUMP_E_TRACED] = 12,
		[HDUMP_E_INCONSISTENT] = 13, [HDUMP_E_INTERRUPTED] = 14,
		[HDUMP_E_SNAPSHOT] = 15,
	};
	for (int c = 0; c < HDUMP_ERROR_CLASS_COUNT; c++)
		cr_assert_eq(hdump_exit_code((enum hdump_error_class)c), code[c], "class %d", c);
}

Test(errors, descriptions)
{
	cr_assert_str_eq(hdump_error_description(HDUMP_E_OUTPUT_EXISTS),
			 "output file exists (use --force)");
	cr_assert_str_eq(hdump_error_description(HDUMP_OK), "success");
	for (int c = 0; c < HDUMP_ERROR_CLASS_COUNT; c++)
		cr_assert_not_null(hdump_error_description((enum hdump_error_class)c));
	cr_assert_null(hdump_error_description(HDUMP_ERROR_CLASS_COUNT));
	cr_assert_null(hdump_error_description((enum hdump_error_class)-1));
}

Test(errors, fail_records_class_and_message)
{
	cr_assert_eq(hdump_fail(HDUMP_E_OUTPUT, "sink %s after %d bytes", "closed", 42), -1);
	struct hdump_error e = hdump_error();
	cr_assert_eq(e.cls, HDUMP_E_OUTPUT);
	cr_assert_str_eq(e.message, "sink closed after 42 bytes");
	cr_assert_eq(hdump_fail(HDUMP_E_DISK_FULL, "second"), -1);
	e = hdump_error();
	cr_assert_eq(e.cls, HDUMP_E_DISK_FULL, "the last error replaces the first");
	cr_assert_str_eq(e.message, "second");
}

Test(errors, fail_errno_appends_strerror)
{
	cr_assert_eq(hdump_fail_errno(HDUMP_E_OUTPUT, ENOSPC, "cannot write %s", "x"), -1);
	struct hdump_error e = hdump_error();
	cr_assert_eq(e.cls, HDUMP_E_OUTPUT);
	char want[256];
	snprintf(want, sizeof want, "cannot write x: %s", strerror(ENOSPC));
	cr_assert_str_eq(e.message, want);
}

Test(errors, message_cut_not_overrun)
{
	char long_text[2000];
	memset(long_text, 'a', sizeof long_text - 1);
	long_text[sizeof long_text - 1] = '\0';
	cr_assert_eq(hdump_fail(HDUMP_E_LAYOUT, "%s", long_text), -1);
	struct hdump_error e = hdump_error();
	cr_assert_eq(e.cls, HDUMP_E_LAYOUT);
	cr_assert_gt(strlen(e.message), 100);
	cr_assert_lt(strlen(e.message), sizeof long_text - 1);
	/* Escaped, any recorded message fits HDUMP_ESCAPED_MESSAGE. */
	memset(long_text, '\x01', sizeof long_text - 1);
	cr_assert_eq(hdump_fail(HDUMP_E_LAYOUT, "%s", long_text), -1);
	char esc[HDUMP_ESCAPED_MESSAGE];
	const char *s = hdump_escape(hdump_error().message, esc, sizeof esc);
	cr_assert_eq(strlen(s), 4 * strlen(hdump_error().message), "every byte escaped, none lost");
}
