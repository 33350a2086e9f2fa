/* Where a target's libc starts its plain system call wrappers (getpid and
 * the like): the candidate sites agent/inject.h proves a `syscall`
 * instruction at when no thread is inside a system call.  Found here, not
 * in agent/, because it reads libc's symbol table (symbols/symtab.h). */
#ifndef HD_SYSCALL_WRAPPERS_H
#define HD_SYSCALL_WRAPPERS_H

#include "../agent/inject.h"
#include "../common/hd_error.h"
#include "../agent/procmaps.h"

#include <sys/types.h>

/* Fills OUT with the addresses in process PID (mapped as MAPS says) of the
 * functions of each libc it maps (glibc or musl, executable mappings) that
 * usually are plain wrappers.  Nothing here is trusted: inject_find_site
 * checks the code at each address.  The library is opened through
 * /proc/PID/map_files, which needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE:
 * when that fails, OUT->unreadable holds the errno.  Finding nothing is
 * not an error: OUT->n is then 0.  Each libc file is read once however
 * often the target maps it, and at most a few distinct ones: the target
 * chooses its maps.  Runs before the target is held: reading a symbol
 * table takes time.  Errors: HD_E_INTERNAL (out of memory),
 * HD_E_INTERRUPTED. */
HD_MUST_CHECK int syscall_wrappers_find(pid_t pid, const struct hd_maps *maps,
					struct inject_entries *out);

#endif
