/* Faults the end-to-end tests inject to reach paths no real target takes on
 * demand (the target dying while held, a signal while it is held, memory
 * read without process_vm_readv).  The hook is NULL in the installed hdump,
 * which has no code that reads HDUMP_FAULT; only the test build
 * hdump-faults links common/fault_env.c, which installs one. */
#ifndef HD_FAULT_H
#define HD_FAULT_H

#include <stdbool.h>
#include <sys/types.h>

enum hd_fault_point {
	HD_FAULT_TARGET_HELD,  /* the target PID is held: its isolates scanned (stop,
				  copy), or its fork taken (fork) */
	HD_FAULT_OPEN_MEMORY,  /* PID's memory is opened: true reads it without pinning */
};

/* Acts on the fault planned at POINT, if any; true when there was one. */
extern bool (*hd_fault_hook)(enum hd_fault_point point, pid_t pid);

static inline bool hd_fault(enum hd_fault_point point, pid_t pid)
{
	return hd_fault_hook && hd_fault_hook(point, pid);
}

#endif
