/* The stand-in for the trap API (cli/trap_stub.c, until the trap branch is
 * merged): every call fails as a build without trap support, so that
 * --on-exit/--on-signal are refused, never silently ignored. */
#include "../../cli/trap_api_stub.h"

#include <criterion/criterion.h>
#include <string.h>

Test(trap_stub, refuses_as_unsupported)
{
#ifndef HDUMP_TRAP_API
	cr_assert_null(hdump_trap_open(1, HDUMP_TRAP_EXIT));
	cr_assert_eq(hdump_error().cls, HDUMP_E_USAGE);
	cr_assert_not_null(strstr(hdump_error().message, "without trap support"));
	struct hdump_trap_event ev = {.kind = HDUMP_TRAP_GONE};
	cr_assert_eq(hdump_trap_poll(NULL, &ev), -1);
	cr_assert_eq(ev.kind, HDUMP_TRAP_NONE);
	cr_assert_null(hdump_trap_target(NULL));
	cr_assert_eq(hdump_trap_release(NULL), -1);
	hdump_trap_close(NULL);
#endif
}
