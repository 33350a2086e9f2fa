/* The test build's fault hook (hdump-faults only, never installed):
 * HDUMP_FAULT=kill-target kills the target while it is held, "stall" says
 * so on stderr and holds it until a signal (at most 2 minutes, so that a
 * test that never sends one still ends), "proc-mem" reads through
 * /proc/PID/mem as if process_vm_readv were refused. */
#include "clock.h"
#include "fault.h"
#include "interrupt.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool planned(const char *name)
{
	const char *fault = getenv("HDUMP_FAULT");
	return fault && strcmp(fault, name) == 0;
}

static bool env_fault(enum hd_fault_point point, pid_t pid)
{
	switch (point) {
	case HD_FAULT_TARGET_HELD:
		if (planned("kill-target")) {
			kill(pid, SIGKILL);
			return true;
		}
		if (planned("stall")) {
			/* The tests wait for this line, not for a guessed time. */
			fprintf(stderr, "hdump: HDUMP_FAULT=stall: holding\n");
			for (int i = 0; i < 12000 && !hd_interrupted(); i++)
				hd_sleep_ms(10);
			return true;
		}
		return false;
	case HD_FAULT_OPEN_MEMORY:
		return planned("proc-mem");
	}
	return false;
}

__attribute__((constructor)) static void install(void)
{
	hd_fault_hook = env_fault;
}
