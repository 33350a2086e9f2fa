/* The entry points of include/hdump.h's "Trapping a process's end": the
 * trace itself is agent/exittrap.c; here, the process seam (lib/process.h)
 * over a process held at its trap, whose stop reads the threads the trap
 * holds instead of seizing them, and whose release keeps them held. */
#include "target.h"

#include "../agent/exittrap.h"
#include "../common/hd_error.h"

#include <stdlib.h>
#include <string.h>

struct hdump_trap {
	struct hd_exittrap x;
	hdump_target *target;
	struct hd_real_process *real; /* the seam's real operations (maps, memory, image) */
	bool opened;                  /* x is tracing (until released) */
};

static int trap_read_maps(void *ctx, pid_t pid, struct hd_maps *m)
{
	hdump_trap *tr = ctx;
	return hd_real_process_ops.read_maps(tr->real, pid, m);
}

static int trap_open_image(void *ctx, pid_t pid, struct hd_elfimage *img)
{
	hdump_trap *tr = ctx;
	return hd_real_process_ops.open_image(tr->real, pid, img);
}

static hd_memview *trap_open_memory(void *ctx, pid_t pid)
{
	hdump_trap *tr = ctx;
	return hd_real_process_ops.open_memory(tr->real, pid);
}

/* A process may tear its isolates down before it exits (GraalVM 25 does
 * when main returns: the image-heap copies and the heap's address space
 * are unmapped before exit_group): then there is nothing to dump, and
 * retrying would not change it.  Checked on the held process. */
static int check_isolates_mapped(hdump_trap *tr, pid_t pid)
{
	struct hd_maps maps;
	if (maps_read(pid, &maps) != 0)
		return -1;
	const struct live *lv = &tr->target->live;
	size_t gone = 0;
	for (size_t i = 0; i < lv->nisolates; i++)
		gone += maps_find(&maps, lv->starts[i]) == NULL;
	maps_free(&maps);
	if (gone)
		return hd_fail(HD_E_TARGET_GONE, "process %d tore down its isolate before it exited "
			       "(as GraalVM 25 does when main returns): no heap left to dump",
			       (int)pid);
	return 0;
}

/* Every thread held (the trap stops the others now), copied into T as
 * threads the dump does not own: its release and target_free leave them
 * to the trap. */
static int trap_stop(void *ctx, struct hd_target *t, pid_t pid)
{
	hdump_trap *tr = ctx;
	memset(t, 0, sizeof *t);
	t->pid = pid;
	if (!tr->opened)
		return hd_fail(HD_E_USAGE, "the trap on process %d was released", (int)pid);
	if (exittrap_hold_all(&tr->x) != 0 || check_isolates_mapped(tr, pid) != 0)
		return -1;
	const struct hd_target *held = &tr->x.t;
	if (!(t->tasks = calloc(held->n ? held->n : 1, sizeof *t->tasks)))
		return hd_fail(HD_E_INTERNAL, "out of memory");
	t->cap = held->n;
	for (size_t i = 0; i < held->n; i++)
		if (held->tasks[i].state == TASK_STOPPED) {
			t->tasks[t->n] = held->tasks[i];
			t->tasks[t->n++].state = TASK_DETACHED;
		}
	return 0;
}

static void trap_release(void *ctx, struct hd_target *t)
{
	(void)ctx;
	(void)t; /* held until hdump_trap_release */
}

static int trap_fork_allowed(void *ctx, pid_t pid)
{
	(void)ctx;
	return hd_fail(HD_E_SNAPSHOT, "process %d is held at its end: a fork snapshot is not taken "
		       "(use the stop or copy snapshot)", (int)pid);
}

static int trap_fork(void *ctx, struct hd_target *t, hd_memview *mv, const struct hd_maps *maps,
		     pid_t *child)
{
	(void)t, (void)mv, (void)maps, (void)child;
	hdump_trap *tr = ctx;
	return trap_fork_allowed(ctx, tr->x.t.pid);
}

static int trap_discard_fork(void *ctx)
{
	(void)ctx;
	return 0; /* never forked */
}

static const struct hd_process_ops trap_process_ops = {
	.read_maps = trap_read_maps,
	.open_image = trap_open_image,
	.open_memory = trap_open_memory,
	.stop = trap_stop,
	.release = trap_release,
	.fork_allowed = trap_fork_allowed,
	.fork = trap_fork,
	.discard_fork = trap_discard_fork,
};

hdump_trap *hdump_trap_open(pid_t pid, unsigned what)
{
	if (!what || (what & ~(unsigned)(HDUMP_TRAP_EXIT | HDUMP_TRAP_FATAL_SIGNAL))) {
		hd_fail(HD_E_USAGE, "hdump_trap_open: nothing to trap (0x%x)", what);
		return NULL;
	}
	hdump_trap *tr = calloc(1, sizeof *tr);
	if (!tr) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		return NULL;
	}
	/* A process that is no native image is refused before it is traced. */
	if (!(tr->real = hd_real_process_new()) ||
	    !(tr->target = target_open_process(&trap_process_ops, tr, pid)))
		goto fail;
	tr->target->real = tr->real; /* hdump_close frees it */
	unsigned agent_what = (what & HDUMP_TRAP_EXIT ? EXITTRAP_EXIT : 0) |
			      (what & HDUMP_TRAP_FATAL_SIGNAL ? EXITTRAP_SIGNAL : 0);
	if (exittrap_open(&tr->x, pid, agent_what) != 0)
		goto fail;
	tr->opened = true;
	return tr;
fail:
	if (!tr->target)
		hd_real_process_free(tr->real);
	hdump_close(tr->target);
	free(tr);
	return NULL;
}

int hdump_trap_poll(hdump_trap *tr, struct hdump_trap_event *ev)
{
	*ev = (struct hdump_trap_event){HDUMP_TRAP_NONE, 0, 0};
	if (!tr->opened)
		return hd_fail(HD_E_USAGE, "the trap was released");
	struct exittrap_event e;
	exittrap_poll(&tr->x, &e);
	static const enum hdump_trap_event_kind kinds[] = {
		[EXITTRAP_NONE] = HDUMP_TRAP_NONE, [EXITTRAP_EXITING] = HDUMP_TRAP_EXITING,
		[EXITTRAP_SIGNALLED] = HDUMP_TRAP_SIGNALLED, [EXITTRAP_GONE] = HDUMP_TRAP_GONE,
	};
	*ev = (struct hdump_trap_event){kinds[e.kind], e.status, e.signo};
	return 0;
}

hdump_target *hdump_trap_target(hdump_trap *tr)
{
	return tr->target;
}

int hdump_trap_release(hdump_trap *tr)
{
	if (!tr->opened || !tr->x.holding)
		return hd_fail(HD_E_USAGE, "hdump_trap_release: the process is not held at a trap");
	exittrap_detach(&tr->x);
	tr->opened = false;
	return 0;
}

void hdump_trap_close(hdump_trap *tr)
{
	if (!tr)
		return;
	exittrap_detach(&tr->x);
	hdump_close(tr->target);
	free(tr);
}

uint64_t hdump_trap_stops(const hdump_trap *tr)
{
	return tr->x.stops;
}
