/* The test-only fault hook (common/fault.h): none unless common/fault_env.c
 * is linked (as in hdump-faults, and here), which acts on HDUMP_FAULT. */
#include "../../common/fault.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

Test(fault, installed_by_fault_env)
{
	cr_assert_not_null(hd_fault_hook);
	cr_assert_eq(unsetenv("HDUMP_FAULT"), 0);
	cr_assert_not(hd_fault(HD_FAULT_TARGET_HELD, getpid()));
	cr_assert_not(hd_fault(HD_FAULT_OPEN_MEMORY, getpid()));
}

Test(fault, proc_mem)
{
	cr_assert_eq(setenv("HDUMP_FAULT", "proc-mem", 1), 0);
	cr_assert(hd_fault(HD_FAULT_OPEN_MEMORY, getpid()));
	cr_assert_not(hd_fault(HD_FAULT_TARGET_HELD, getpid()));
}

Test(fault, kill_target)
{
	pid_t child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	cr_assert_eq(setenv("HDUMP_FAULT", "kill-target", 1), 0);
	cr_assert(hd_fault(HD_FAULT_TARGET_HELD, child));
	int status;
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %#x", status);
}

/* Without a hook nothing happens, whatever the environment says. */
Test(fault, no_hook)
{
	bool (*saved)(enum hd_fault_point, pid_t) = hd_fault_hook;
	hd_fault_hook = NULL;
	cr_assert_eq(setenv("HDUMP_FAULT", "proc-mem", 1), 0);
	cr_assert_not(hd_fault(HD_FAULT_OPEN_MEMORY, getpid()));
	hd_fault_hook = saved;
}
