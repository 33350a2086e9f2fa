#include "process.h"

#include "../agent/cowfork.h"
#include "../agent/eperm.h"
#include "../agent/mempolicy.h"
#include "../symbols/syscall_wrappers.h"
#include "../common/fault.h"

#include <stdio.h>
#include <stdlib.h>

struct hd_real_process {
	struct hd_cowfork cow;
	/* Where no thread sits in a system call, an injected one starts at a
	 * libc wrapper (agent/inject.h); found before the target is held,
	 * since reading libc's symbols takes time. */
	struct inject_entries libc;
};

struct hd_real_process *hd_real_process_new(void)
{
	struct hd_real_process *p = calloc(1, sizeof *p);
	if (!p)
		hd_fail(HD_E_INTERNAL, "out of memory");
	return p;
}

void hd_real_process_free(struct hd_real_process *p)
{
	free(p);
}

static int real_read_maps(void *ctx, pid_t pid, struct hd_maps *m)
{
	(void)ctx;
	if (maps_read(pid, m) == 0)
		return 0;
	if (hd_error_class() == HD_E_PERM)
		target_explain_eperm(pid);
	return -1;
}

static int real_open_image(void *ctx, pid_t pid, struct hd_elfimage *img)
{
	(void)ctx;
	char exe[64];
	snprintf(exe, sizeof exe, "/proc/%d/exe", (int)pid);
	return elfimage_open_running(exe, img);
}

static hd_memview *real_open_memory(void *ctx, pid_t pid)
{
	struct hd_real_process *p = ctx;
	hd_memview *mv = mv_new_process(pid);
	/* A fork child is read without pinning: pinning would copy the pages it
	 * shares with the target. */
	if (mv && (pid == p->cow.child || hd_fault(HD_FAULT_OPEN_MEMORY, pid)))
		mv_read_without_pinning(mv);
	return mv;
}

static int real_stop(void *ctx, struct hd_target *t, pid_t pid)
{
	(void)ctx;
	return target_stop(t, pid);
}

static void real_release(void *ctx, struct hd_target *t)
{
	(void)ctx;
	target_release(t);
}

static int real_fork_allowed(void *ctx, pid_t pid)
{
	struct hd_real_process *p = ctx;
	struct hd_maps maps;
	if (!cowfork_supported())
		return hd_fail(HD_E_SNAPSHOT, "fork snapshots need x86-64");
	if (mempolicy_check_fork(pid) != 0 || maps_read(pid, &maps) != 0)
		return -1;
	int rc = syscall_wrappers_find(pid, &maps, &p->libc);
	maps_free(&maps);
	return rc;
}

static int real_fork(void *ctx, struct hd_target *t, hd_memview *mv, const struct hd_maps *maps,
		     pid_t *child)
{
	struct hd_real_process *p = ctx;
	if (cowfork_take(&p->cow, t, mv, maps, &p->libc) != 0)
		return -1;
	*child = p->cow.child;
	return 0;
}

static int real_discard_fork(void *ctx)
{
	struct hd_real_process *p = ctx;
	return cowfork_discard(&p->cow);
}

static void real_let_go_fork(void *ctx)
{
	struct hd_real_process *p = ctx;
	cowfork_let_go(&p->cow);
}

const struct hd_process_ops hd_real_process_ops = {
	.read_maps = real_read_maps,
	.open_image = real_open_image,
	.open_memory = real_open_memory,
	.stop = real_stop,
	.release = real_release,
	.fork_allowed = real_fork_allowed,
	.fork = real_fork,
	.discard_fork = real_discard_fork,
	.let_go_fork = real_let_go_fork,
};
