/* The public entry points (include/hdump.h) for targets, discovery, dumps
 * and isolates; lib/exe.c and lib/live.c do the work. */
#include "target.h"

#include "../common/hd_error.h"
#include "../symbols/jdkclasses.h"

#include <stdlib.h>
#include <string.h>

static hdump_target *target_new(enum hdump_target_kind kind)
{
	hdump_target *t = calloc(1, sizeof *t);
	if (!t)
		hd_fail(HD_E_INTERNAL, "out of memory");
	else
		t->kind = kind;
	return t;
}

hdump_target *target_open_process(const struct hd_process_ops *ops, void *ctx, pid_t pid)
{
	hdump_target *t = target_new(HDUMP_TARGET_PROCESS);
	if (t && live_open(&t->live, ops, ctx, pid, &t->img) != 0) {
		hdump_close(t);
		return NULL;
	}
	return t;
}

hdump_target *hdump_open_process(pid_t pid)
{
	struct hd_real_process *real = hd_real_process_new();
	if (!real)
		return NULL;
	hdump_target *t = target_open_process(&hd_real_process_ops, real, pid);
	if (!t) {
		hd_real_process_free(real);
		return NULL;
	}
	t->real = real;
	return t;
}

/* A process, or a core file read as one: both dump through lib/live.c. */
static bool is_live(const hdump_target *t)
{
	return t->kind == HDUMP_TARGET_PROCESS || t->kind == HDUMP_TARGET_CORE;
}

hdump_target *hdump_open_core(const char *core, const char *exe)
{
	struct hd_core *c = calloc(1, sizeof *c);
	if (!c) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		return NULL;
	}
	hdump_target *t = NULL;
	if (core_open(c, core, exe) == 0 && !(t = target_open_process(&hd_core_ops, c, c->cf.pid)))
		core_explain_open(c);
	if (!t) {
		core_free(c);
		free(c);
		return NULL;
	}
	t->kind = HDUMP_TARGET_CORE;
	t->core = c;
	return t;
}

/* A core never changes: what failed once fails again, so no retries; and
 * its missing chunks are left out only when asked. */
static int core_dump(hdump_target *t, const struct hdump_options *o,
		     const struct hdump_sink *sink, struct hdump_result *r)
{
	struct hdump_options once = *o;
	once.retries = 0;
	if (once.snapshot == HDUMP_SNAPSHOT_AUTO) /* nothing runs: no pause to shorten */
		once.snapshot = HDUMP_SNAPSHOT_STOP;
	t->core->partial = o->partial;
	t->live.missing_refs = 0;
	int rc = live_dump(&t->live, &once, sink, &t->ev, r, &t->histo);
	if (rc != 0) {
		core_explain(t->core);
		return -1;
	}
	r->core = true;
	r->core_missing_chunks = t->core->missing_chunks;
	r->core_missing_chunk_bytes = t->core->missing_chunk_bytes;
	r->core_missing_bytes = corememory_missing_bytes(&t->core->mem);
	r->core_missing_refs = t->live.missing_refs;
	return 0;
}

hdump_target *hdump_open_executable(const char *path)
{
	hdump_target *t = target_new(HDUMP_TARGET_EXECUTABLE);
	if (t && exe_open(&t->exe, path, &t->img) != 0) {
		hdump_close(t);
		return NULL;
	}
	return t;
}

void hdump_close(hdump_target *t)
{
	if (!t)
		return;
	if (is_live(t)) {
		live_cache_write(&t->live, &t->ev);
		live_close(&t->live);
	} else {
		exe_cache_write(&t->exe, &t->ev);
		exe_close(&t->exe);
	}
	hd_real_process_free(t->real);
	if (t->core) {
		core_free(t->core);
		free(t->core);
	}
	histogram_free(&t->histo);
	heapusage_free(t->heapusage);
	free(t->jdk_dir);
	dcache_use_free(&t->cache);
	elfimage_close(&t->img);
	free(t);
}

void hdump_target_info(const hdump_target *t, struct hdump_target_info *info)
{
	bool live = is_live(t);
	*info = (struct hdump_target_info){
		.kind = t->kind,
		.vm_version = t->img.vm_version,
		.image_heap_size = t->img.heap_size,
		.image_heap_start = live ? t->live.starts[0] : OFFLINE_IMAGE_START,
		.isolates = live ? t->live.nisolates : 1,
	};
}

int hdump_read(hdump_target *t, uint64_t addr, void *buf, size_t len)
{
	hd_memview *mv = is_live(t) ? t->live.proc : t->exe.mv;
	if (!mv)
		return hd_fail(HD_E_USAGE, "the process's memory is opened by hdump_discover");
	return mv_read(mv, addr, buf, len);
}

void hdump_set_events(hdump_target *t, hdump_event_fn fn, void *ctx)
{
	t->ev = (struct hd_events){fn, ctx};
}

int hdump_set_jdk(hdump_target *t, const char *dir)
{
	char *copy = NULL;
	/* named by the user: a typo is told, not a dump without its names */
	if (dir && jdk_check_dir(dir) != 0)
		return -1;
	if (dir && !(copy = strdup(dir)))
		return hd_fail(HD_E_INTERNAL, "out of memory");
	free(t->jdk_dir);
	t->jdk_dir = copy;
	return 0;
}

int hdump_set_discovery_cache(hdump_target *t, const char *dir)
{
	char *copy = NULL;
	if (dir && !(copy = strdup(dir)))
		return hd_fail(HD_E_INTERNAL, "out of memory");
	free(t->cache.dir);
	t->cache.dir = copy;
	return 0;
}

int hdump_discovery_cache_default(char *buf, size_t size)
{
	return dcache_default_dir(buf, size);
}

const char *hdump_discovery_cache_name(enum hdump_discovery_cache c)
{
	static const char *const names[] = {"off", "hit", "miss", "stale"};
	return (unsigned)c < sizeof names / sizeof *names ? names[c] : "off";
}

int hdump_discover(hdump_target *t)
{
	if (t->discovered)
		return 0;
	events_phase(&t->ev, HDUMP_EVENT_PHASE_BEGIN, HDUMP_PHASE_DISCOVER, 1);
	t->live.cache = t->exe.cache = &t->cache;
	int rc = is_live(t) ? live_discover(&t->live, &t->ev, t->jdk_dir)
						 : exe_discover(&t->exe, &t->ev, t->jdk_dir);
	events_phase(&t->ev, HDUMP_EVENT_PHASE_END, HDUMP_PHASE_DISCOVER, 1);
	t->discovered = rc == 0;
	return rc;
}

void hdump_options_init(struct hdump_options *o)
{
	*o = (struct hdump_options){.snapshot = HDUMP_SNAPSHOT_AUTO, .retries = 5,
				    .isolate = HDUMP_APPLICATION_ISOLATE, .hprof = true};
}

static int check_discovered(const hdump_target *t)
{
	return t->discovered ? 0 : hd_fail(HD_E_USAGE, "the target is not discovered yet");
}

int hdump_dump(hdump_target *t, const struct hdump_options *o, const struct hdump_sink *sink,
	       struct hdump_result *r)
{
	if (check_discovered(t) != 0)
		return -1;
	if (o->hprof && (!sink || !sink->write))
		return hd_fail(HD_E_USAGE, "an HPROF dump needs a sink");
	histogram_free(&t->histo);
	struct hdump_result ignored;
	if (!r)
		r = &ignored;
	int rc = t->kind == HDUMP_TARGET_CORE      ? core_dump(t, o, sink, r)
		 : t->kind == HDUMP_TARGET_PROCESS ? live_dump(&t->live, o, sink, &t->ev, r, &t->histo)
						   : exe_dump(&t->exe, o, sink, &t->ev, r, &t->histo);
	r->discovery_cache = t->cache.state;
	return rc;
}

size_t hdump_histogram(const hdump_target *t, const struct hdump_histogram_row **rows)
{
	*rows = t->histo.rows;
	return t->histo.n;
}

int hdump_list_isolates(hdump_target *t, const struct hdump_options *o,
			const struct hdump_isolate **v, size_t *n)
{
	if (check_discovered(t) != 0)
		return -1;
	if (!is_live(t))
		return hd_fail(HD_E_USAGE, "only a process has isolates to list");
	struct hdump_options once = *o;
	if (t->kind == HDUMP_TARGET_CORE)
		once.retries = 0; /* a core never changes */
	if (live_list(&t->live, &once, &t->ev) != 0) {
		if (t->core)
			core_explain(t->core);
		return -1;
	}
	*v = t->live.listed;
	*n = t->live.nisolates;
	return 0;
}

int hdump_stacks(hdump_target *t, const struct hdump_options *o, const struct hdump_stack **v,
		 size_t *nthreads)
{
	if (check_discovered(t) != 0)
		return -1;
	if (!is_live(t))
		return hd_fail(HD_E_USAGE, "only a process has thread stacks");
	struct hdump_options once = *o;
	if (t->kind == HDUMP_TARGET_CORE)
		once.retries = 0; /* a core never changes */
	t->live.want_stacks = true;
	int rc = live_list(&t->live, &once, &t->ev);
	t->live.want_stacks = false;
	if (rc != 0) {
		if (t->core)
			core_explain(t->core);
		return -1;
	}
	*v = t->live.stacks.api;
	*nthreads = t->live.stacks.n;
	return 0;
}
