/* The recorded error (common/hd_error.h): class and message, errno text,
 * context, truncation, save and restore, the exit code table, which
 * classes are fatal, and one error per thread. */
#include "../../common/hd_error.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

Test(hd_error, records_class_and_message)
{
	cr_assert_eq(hd_fail(HD_E_LAYOUT, "chunk at 0x%x", 0x40), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	cr_assert_str_eq(hd_error_message(), "chunk at 0x40");
	hd_fail_errno(HD_E_NOENT, ENOENT, "%s", "/x");
	cr_assert_str_eq(hd_error_message(), "/x: No such file or directory");
	hd_error_context("isolate %d", 2);
	cr_assert_str_eq(hd_error_message(), "isolate 2: /x: No such file or directory");
	cr_assert_eq(hd_error_class(), HD_E_NOENT, "context keeps the class");
	hd_error_clear();
	cr_assert_eq(hd_error_class(), HD_OK);
	cr_assert_str_eq(hd_error_message(), "");
}

Test(hd_error, only_signals_and_bugs_are_fatal)
{
	for (int c = HD_OK; c < HD_ERROR_CLASS_COUNT; c++) {
		hd_fail((enum hd_error_class)c, "class %d", c);
		cr_assert_eq(hd_error_is_fatal(), c == HD_E_INTERRUPTED || c == HD_E_INTERNAL,
			     "class %d", c);
	}
	hd_error_clear();
	cr_assert_not(hd_error_is_fatal());
}

Test(hd_error, long_messages_are_cut)
{
	char big[2000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	hd_fail(HD_E_INTERNAL, "%s", big);
	cr_assert_eq(strlen(hd_error_message()), 511);
	hd_error_context("where");
	cr_assert_eq(strncmp(hd_error_message(), "where: xxx", 10), 0);
	cr_assert_eq(strlen(hd_error_message()), 511);
}

Test(hd_error, save_and_restore_keep_the_first)
{
	hd_fail(HD_E_TARGET_GONE, "first");
	struct hd_error_state st;
	hd_error_save(&st);
	hd_fail(HD_E_SNAPSHOT, "second");
	hd_error_restore(&st);
	cr_assert_eq(hd_error_class(), HD_E_TARGET_GONE);
	cr_assert_str_eq(hd_error_message(), "first");
}

Test(hd_error, exit_codes)
{
	cr_assert_eq(hd_error_exit_code(HD_OK), 0);
	cr_assert_eq(hd_error_exit_code(HD_E_LAYOUT), 7);
	cr_assert_eq(hd_error_exit_code(HD_E_INCONSISTENT), 13);
	cr_assert_eq(hd_error_exit_code(HD_E_TORN), 13, "a torn read after the last retry");
	cr_assert_eq(hd_error_exit_code(HD_E_SNAPSHOT), 15);
	cr_assert_eq(hd_error_exit_code((enum hd_error_class)999), 1, "unknown: internal");
}

static void *fail_in_thread(void *arg)
{
	(void)arg;
	hd_fail(HD_E_OUTPUT, "worker");
	return (void *)(intptr_t)hd_error_class();
}

Test(hd_error, each_thread_has_its_own)
{
	hd_fail(HD_E_USAGE, "main");
	pthread_t th;
	void *cls;
	cr_assert(pthread_create(&th, NULL, fail_in_thread, NULL) == 0);
	cr_assert(pthread_join(th, &cls) == 0);
	cr_assert_eq((intptr_t)cls, HD_E_OUTPUT);
	cr_assert_eq(hd_error_class(), HD_E_USAGE);
	cr_assert_str_eq(hd_error_message(), "main");
}
