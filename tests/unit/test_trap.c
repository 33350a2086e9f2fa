/* lib/trap.c: what can be checked without a native image (the e2e test
 * trap_end.sh dumps real ones): a process that is no native image is
 * refused before it is traced, calls out of order are usage errors. */
#include "../../include/hdump.h"
#include "../../common/procfs.h"
#include "tracee.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <unistd.h>

static void idle(const void *ctx, int in, int out)
{
	tracee_announce_and_wait(in, out, (uint64_t)(uintptr_t)ctx);
}

static long long tracer_of(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	return procfs_field(path, "TracerPid");
}

Test(trap, a_process_that_is_no_native_image_is_refused_untraced)
{
	struct tracee h = tracee_spawn(idle, NULL);
	cr_assert_null(hdump_trap_open(h.pid, HDUMP_TRAP_EXIT | HDUMP_TRAP_FATAL_SIGNAL));
	cr_assert_eq(hdump_error().cls, HDUMP_E_NOT_NATIVE_IMAGE, "%s", hdump_error().message);
	cr_assert_null(hdump_trap_open(h.pid, HDUMP_TRAP_SHUTDOWN));
	cr_assert_eq(hdump_error().cls, HDUMP_E_NOT_NATIVE_IMAGE, "%s", hdump_error().message);
	cr_assert_eq(tracer_of(h.pid), 0);
	tracee_kill(&h);
}

Test(trap, refusals)
{
	cr_assert_null(hdump_trap_open(getpid(), 0));
	cr_assert_eq(hdump_error().cls, HDUMP_E_USAGE);
	cr_assert_null(hdump_trap_open(getpid(), 8)); /* no such end */
	cr_assert_eq(hdump_error().cls, HDUMP_E_USAGE);
	cr_assert_null(hdump_trap_open(1 << 30, HDUMP_TRAP_EXIT));
	cr_assert_eq(hdump_error().cls, HDUMP_E_NOENT, "%s", hdump_error().message);
	hdump_trap_close(NULL);
}
