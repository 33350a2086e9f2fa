/* The entry points of include/hdump.h's "Trapping a process's end": the
 * trace itself is agent/exittrap.c; here, the process seam (lib/process.h)
 * over a process held at its trap, whose stop reads the threads the trap
 * holds instead of seizing them, and whose release keeps them held. */
#include "target.h"

#include "../agent/exittrap.h"
#include "../common/hd_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What tells a thread creation of the shutdown from any other: a return
 * address on the creating thread's stack at a call site whose Java frames
 * (inlined ones included) hold java.lang.Shutdown.shutdown, which the VM
 * runs once main returned and the last non-daemon thread ended (the
 * DestroyJavaVM path; System.exit takes Shutdown.exit instead), and which
 * starts each shutdown hook in a thread of its own.  It runs once per
 * process: a return address into it is on no other thread's stack. */
#define SHUTDOWN_CLASS "java.lang.Shutdown"
#define SHUTDOWN_METHOD "shutdown"

struct shutdown_probe {
	bool tried;                   /* prepared, or said why not, once */
	const struct hd_codeinfo *ci; /* NULL: not prepared (no shutdown trap) */
	const struct hd_layout *L;    /* the first isolate's (the tables' offsets) */
	hd_memview *mv;               /* the process, for the method names */
	uint64_t class_off;           /* java.lang.Shutdown's hub, from the image start */
	/* Return addresses judged not in it, direct-mapped by address: the
	 * code info never changes, and most thread creations come from the
	 * same few call paths, so a later one skips their frame decoding. */
	uint64_t *elsewhere;
};
#define ELSEWHERE_SLOTS 4096u

struct hdump_trap {
	struct hd_exittrap x;
	hdump_target *target;
	struct hd_real_process *real; /* the seam's real operations (maps, memory, image) */
	bool opened;                  /* x is tracing (until released) */
	struct shutdown_probe shutdown;
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

/* Whether one of FRAMES[0..N) is java.lang.Shutdown.shutdown. */
static bool frames_in_shutdown(const struct shutdown_probe *p, const struct hd_java_frame *frames,
			       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (frames[i].class_off != p->class_off || !frames[i].name_off)
			continue;
		struct hd_error_state saved;
		hd_error_save(&saved);
		char *name = lay_read_string(p->mv, p->L, p->L->image_start + frames[i].name_off);
		hd_error_restore(&saved);
		bool hit = name && strcmp(name, SHUTDOWN_METHOD) == 0;
		free(name);
		if (hit)
			return true;
	}
	return false;
}

/* Whether the call site whose return address is RA runs in
 * java.lang.Shutdown.shutdown (at any depth of inlining). */
static bool in_shutdown(void *ctx, uint64_t ra)
{
	const struct shutdown_probe *p = ctx;
	uint64_t *known = &p->elsewhere[(ra ^ ra >> 12) % ELSEWHERE_SLOTS];
	if (*known == ra)
		return false;
	struct hd_code_entry e;
	struct hd_java_frame frames[CODEINFO_MAX_INLINE];
	size_t n;
	if (codeinfo_lookup(p->ci, ra, &e) && e.exact && codeinfo_frames(p->ci, &e, frames, &n) &&
	    frames_in_shutdown(p, frames, n))
		return true;
	*known = ra;
	return false;
}

static bool probe_shutting_down(void *ctx, uint64_t sp)
{
	struct shutdown_probe *p = ctx;
	return exittrap_stack_holds(p->mv, sp, p->ci->code_start,
				    p->ci->code_start + p->ci->code_size, in_shutdown, p);
}

/* Once the target is discovered: the shutdown probe, from its code info
 * and classes.  An image where it cannot be prepared is trapped at its
 * exit only, said once (-v). */
static void prepare_shutdown_probe(hdump_trap *tr)
{
	struct shutdown_probe *p = &tr->shutdown;
	if (p->tried || !(tr->x.what & EXITTRAP_SHUTDOWN) || !tr->target->discovered)
		return;
	p->tried = true;
	const struct live *lv = &tr->target->live;
	const struct hd_class *c = lv->nisolates ? classes_named(&lv->iso[0].classes, SHUTDOWN_CLASS)
						 : NULL;
	const char *why = !lv->have_ci ? "the image's code info does not decode"
			  : !c        ? "the image has no class " SHUTDOWN_CLASS
				      : NULL;
	char line[200];
	if (why) {
		snprintf(line, sizeof line, "shutdown trap: %s; trapped at exit only", why);
		events_text(&tr->target->ev, HDUMP_EVENT_VERBOSE, line);
		return;
	}
	uint64_t *elsewhere = calloc(ELSEWHERE_SLOTS, sizeof *elsewhere);
	if (!elsewhere) {
		events_text(&tr->target->ev, HDUMP_EVENT_VERBOSE,
			    "shutdown trap: out of memory; trapped at exit only");
		return;
	}
	*p = (struct shutdown_probe){true, &lv->ci, &lv->iso[0].L, lv->proc,
				     c->hub - lv->iso[0].L.image_start, elsewhere};
	tr->x.probe = (struct exittrap_probe){probe_shutting_down, p};
	snprintf(line, sizeof line, "shutdown trap: at a thread created in %s.%s",
		 SHUTDOWN_CLASS, SHUTDOWN_METHOD);
	events_text(&tr->target->ev, HDUMP_EVENT_VERBOSE, line);
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
	if (!what ||
	    (what & ~(unsigned)(HDUMP_TRAP_EXIT | HDUMP_TRAP_FATAL_SIGNAL | HDUMP_TRAP_SHUTDOWN))) {
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
			      (what & HDUMP_TRAP_FATAL_SIGNAL ? EXITTRAP_SIGNAL : 0) |
			      (what & HDUMP_TRAP_SHUTDOWN ? EXITTRAP_SHUTDOWN : 0);
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
	prepare_shutdown_probe(tr);
	exittrap_poll(&tr->x, &e);
	static const enum hdump_trap_event_kind kinds[] = {
		[EXITTRAP_NONE] = HDUMP_TRAP_NONE, [EXITTRAP_EXITING] = HDUMP_TRAP_EXITING,
		[EXITTRAP_SIGNALLED] = HDUMP_TRAP_SIGNALLED, [EXITTRAP_GONE] = HDUMP_TRAP_GONE,
		[EXITTRAP_SHUTTING_DOWN] = HDUMP_TRAP_SHUTTING_DOWN,
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
	free(tr->shutdown.elsewhere);
	free(tr);
}

uint64_t hdump_trap_stops(const hdump_trap *tr)
{
	return tr->x.stops;
}

uint64_t hdump_trap_shutdown_checks(const hdump_trap *tr)
{
	return tr->x.probes;
}
