/* TEMPORARY (deleted at the merge of the trap branch): the hdump_trap_* API
 * as agreed in /work/wt-status/contract-trap.md, for building hdump watch's
 * --on-exit/--on-signal before that API exists in include/hdump.h. */
#ifndef HD_CLI_TRAP_API_STUB_H
#define HD_CLI_TRAP_API_STUB_H

#include "../include/hdump.h"

#ifndef HDUMP_TRAP_API
typedef struct hdump_trap hdump_trap;

enum hdump_trap_what { HDUMP_TRAP_EXIT = 1, HDUMP_TRAP_FATAL_SIGNAL = 2 };

HDUMP_MUST_CHECK hdump_trap *hdump_trap_open(pid_t pid, unsigned what);

enum hdump_trap_event_kind {
	HDUMP_TRAP_NONE,
	HDUMP_TRAP_EXITING,
	HDUMP_TRAP_SIGNALLED,
	HDUMP_TRAP_GONE,
};
struct hdump_trap_event { enum hdump_trap_event_kind kind; int status; int signo; };

HDUMP_MUST_CHECK int hdump_trap_poll(hdump_trap *tr, struct hdump_trap_event *ev);
HDUMP_MUST_CHECK hdump_target *hdump_trap_target(hdump_trap *tr);
HDUMP_MUST_CHECK int hdump_trap_release(hdump_trap *tr);
void hdump_trap_close(hdump_trap *tr);
#endif

#endif
