/* TEMPORARY (deleted at the merge of the trap branch): the hdump_trap_* API
 * of /work/wt-status/contract-trap.md, failing as a build without it. */
#include "trap_api_stub.h"

#ifndef HDUMP_TRAP_API
hdump_trap *hdump_trap_open(pid_t pid, unsigned what)
{
	(void)pid;
	(void)what;
	hdump_fail(HDUMP_E_USAGE, "built without trap support (--on-exit, --on-signal)");
	return NULL;
}

int hdump_trap_poll(hdump_trap *tr, struct hdump_trap_event *ev)
{
	(void)tr;
	ev->kind = HDUMP_TRAP_NONE;
	return hdump_fail(HDUMP_E_USAGE, "built without trap support");
}

hdump_target *hdump_trap_target(hdump_trap *tr)
{
	(void)tr;
	hdump_fail(HDUMP_E_USAGE, "built without trap support");
	return NULL;
}

int hdump_trap_release(hdump_trap *tr)
{
	(void)tr;
	return hdump_fail(HDUMP_E_USAGE, "built without trap support");
}

void hdump_trap_close(hdump_trap *tr)
{
	(void)tr;
}
#endif
