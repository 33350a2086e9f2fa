/* The watchdog's loop: targets, triggers sampled every interval, and each
 * dump taken within the safety limits. */
#include "watch.h"

#include "output.h"
#include "watch_events.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A dump needs at most this many bytes per byte of heap in use, image heap
 * included (HPROF's record and id overhead over the objects' own bytes:
 * 1.3 on the pkl REPL; README), plus a margin for the class and string
 * records. */
#define DUMP_SIZE_FACTOR_NUM 3
#define DUMP_SIZE_FACTOR_DEN 2
#define DUMP_SIZE_MARGIN (16u << 20)
#define MAX_TARGETS 256
#define MAX_IGNORED 4096
#define MAX_WRITTEN 100000
/* How long a started command may take to become a native image that opens. */
#define COMMAND_OPEN_MS 30000

struct watched {
	pid_t pid;
	hdump_target *t;
	hdump_trap *trap;
	char name[72];
	bool gone;
	unsigned dumps;
	uint64_t last_dump_ms;
	bool dumped;
	uint64_t next_every_ms;
	bool heap_armed, memory_armed, rss_armed; /* re-armed below the threshold */
	int64_t events_high, events_max;
	uint64_t heap_used;      /* last sample, for the expected dump size */
	int psi_fd;              /* --pressure: its trigger's file, -1: none */
	bool psi_fired;
	char psi_detail[700];    /* the trigger event's detail: file and trigger */
	/* --memory: what the kernel signals when the cgroup's usage crosses the
	 * threshold (v1: an eventfd registered in cgroup.event_control) or its
	 * memory.events changes (v2: POLLPRI on the file), so that a sample is
	 * taken at once rather than at the next interval; -1: none. */
	int mem_fd;
	int mem_version;
};

struct watch {
	const struct watch_config *c;
	struct watched v[MAX_TARGETS];
	size_t n;
	struct ignored {           /* --cgroup members that are no native image, */
		pid_t pid;         /* each with a hash of its executable's path: */
		uint64_t exe;      /* after an exec it is tried again */
		uint64_t since_ms; /* first failure with this executable */
	} ignored[MAX_IGNORED];
	size_t nignored;
	unsigned dumps;
	char **written;            /* for --keep, oldest first */
	size_t nwritten, cap_written;
	pid_t child;               /* -- CMD */
	int child_status;
	bool child_done;
	uint64_t child_started_ms;
	bool child_open_reported;
};

static volatile sig_atomic_t usr1_flag, chld_flag;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_flag = 1;
}

static void on_chld(int sig)
{
	(void)sig;
	chld_flag = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- Events ------------------------------------------------------------- */

static void emit(struct watch_json *j)
{
	/* A reader that went away must not stop the watchdog: events are best effort. */
	(void)wj_end(j, stdout);
}

static void emit_error(const struct watched *w, const char *trigger, enum hdump_error_class cls,
		       const char *message)
{
	struct watch_json j;
	wj_begin(&j, "error");
	if (w) {
		wj_i64(&j, "pid", w->pid);
		wj_str(&j, "name", w->name);
	}
	if (trigger)
		wj_str(&j, "trigger", trigger);
	wj_i64(&j, "code", hdump_exit_code(cls));
	wj_str(&j, "message", message);
	emit(&j);
}

static void emit_last_error(const struct watched *w, const char *trigger)
{
	struct hdump_error e = hdump_error();
	emit_error(w, trigger, e.cls, e.message);
}

static int emit_exit(const char *reason, int code, const struct watch *x)
{
	struct watch_json j;
	wj_begin(&j, "exit");
	wj_str(&j, "reason", reason);
	wj_i64(&j, "code", code);
	wj_u64(&j, "dumps", x->dumps);
	if (x->child && x->child_done) {
		if (WIFEXITED(x->child_status))
			wj_i64(&j, "command_exit_code", WEXITSTATUS(x->child_status));
		else if (WIFSIGNALED(x->child_status))
			wj_i64(&j, "command_signal", WTERMSIG(x->child_status));
	}
	emit(&j);
	return code;
}

/* ---- Targets ------------------------------------------------------------ */

static void target_name(pid_t pid, char *out, size_t size)
{
	char path[64], exe[4096];
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, exe, sizeof exe - 1);
	if (n <= 0) {
		snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
		FILE *f = fopen(path, "re");
		n = f && fgets(exe, sizeof exe, f) ? (ssize_t)strcspn(exe, "\n") : 0;
		if (f)
			fclose(f);
	}
	exe[n > 0 ? n : 0] = '\0';
	const char *base = strrchr(exe, '/');
	watch_safe_name(base ? base + 1 : exe, out, size);
}

static bool threshold_set(const struct watch_config *c)
{
	return c->heap.set || c->memory.set || c->rss.set;
}

/* --pressure: a PSI trigger on the memory.pressure of W's own v2 cgroup
 * (there on a hybrid system too, whose memory controller is on v1), else
 * on the system's (/proc/pressure/memory: no cgroup2 mounted); the kernel
 * then signals POLLPRI on the file when tasks stall that long.  A failure
 * is an error event; the other triggers go on. */
static void open_pressure(struct watched *w, const struct watch_pressure *p)
{
	struct hdump_memory_usage m;
	char path[600];
	if (hdump_memory_usage(w->pid, &m) == 0 && m.pressure[0])
		snprintf(path, sizeof path, "%s", m.pressure);
	else
		snprintf(path, sizeof path, "/proc/pressure/memory");
	char trigger[96];
	int len = snprintf(trigger, sizeof trigger, "%s %llu %llu", p->full ? "full" : "some",
			   (unsigned long long)p->stall_us, (unsigned long long)p->window_us);
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	/* the trigger is the write, terminating NUL included */
	if (fd < 0 || write(fd, trigger, (size_t)len + 1) != len + 1) {
		char msg[800];
		int e = errno;
		snprintf(msg, sizeof msg, "cannot set a pressure trigger in %s: %s%s", path, strerror(e),
			 e == EINVAL && p->window_us % 2000000 ?
				 " (without CAP_SYS_RESOURCE the window must be a multiple of 2s)" : "");
		errno = e;
		emit_error(w, "pressure", errno == EACCES || errno == EPERM ? HDUMP_E_PERM : HDUMP_E_USAGE,
			   msg);
		if (fd >= 0)
			close(fd);
		return;
	}
	w->psi_fd = fd;
	snprintf(w->psi_detail, sizeof w->psi_detail, "%s: %s", path, trigger);
}

/* --memory: the kernel's own notification, where there is one (see struct
 * watched).  Without it the interval's samples still apply. */
static void open_memory_notify(struct watched *w, const struct watch_threshold *t)
{
	struct hdump_memory_usage m;
	if (hdump_memory_usage(w->pid, &m) != 0 || !m.cgroup_version)
		return;
	char path[600];
	if (m.cgroup_version == 2) {
		snprintf(path, sizeof path, "%s/memory.events", m.cgroup);
		w->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
		w->mem_version = 2;
		return;
	}
	uint64_t limit = watch_threshold_bytes(t, m.cgroup_limit > 0 ? (uint64_t)m.cgroup_limit : 0);
	if (!limit)
		return;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	snprintf(path, sizeof path, "%s/memory.usage_in_bytes", m.cgroup);
	int ufd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof path, "%s/cgroup.event_control", m.cgroup);
	int cfd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok = efd >= 0 && ufd >= 0 && cfd >= 0 &&
		  dprintf(cfd, "%d %d %llu", efd, ufd, (unsigned long long)limit) > 0;
	if (ufd >= 0)
		close(ufd);
	if (cfd >= 0)
		close(cfd);
	if (!ok) {
		if (efd >= 0)
			close(efd);
		return;
	}
	w->mem_fd = efd;
	w->mem_version = 1;
}

/* Takes the notification that woke the watcher, so that the next one can
 * come: the eventfd's count, or memory.events read again. */
static void consume_memory_notify(struct watched *w)
{
	char buf[512];
	if (w->mem_version == 1) {
		uint64_t count;
		if (read(w->mem_fd, &count, sizeof count) < 0 && errno != EAGAIN) {
			close(w->mem_fd);
			w->mem_fd = -1;
		}
	} else if (pread(w->mem_fd, buf, sizeof buf, 0) < 0) {
		close(w->mem_fd);
		w->mem_fd = -1;
	}
}

/* Opens and discovers PID; adds it.  -1 with the error recorded. */
static int add_target(struct watch *x, pid_t pid)
{
	const struct watch_config *c = x->c;
	if (x->n == MAX_TARGETS)
		return hdump_fail(HDUMP_E_USAGE, "more than %d targets", MAX_TARGETS);
	/* With --on-exit/--on-signal the trap traces the process from the start
	 * and owns its target (the contract of hdump_trap_*); else the target
	 * is opened for each dump's attach. */
	hdump_trap *trap = NULL;
	hdump_target *t;
	if (c->on_exit || c->on_signal) {
		/* The shutdown is --on-exit's too: GraalVM 25 frees its heap
		 * after the hooks, before it calls exit. */
		unsigned what = (c->on_exit ? HDUMP_TRAP_EXIT | HDUMP_TRAP_SHUTDOWN : 0) |
				(c->on_signal ? HDUMP_TRAP_FATAL_SIGNAL : 0);
		trap = hdump_trap_open(pid, what);
		t = trap ? hdump_trap_target(trap) : NULL;
	} else {
		t = hdump_open_process(pid);
	}
	if (!t || hdump_set_jdk(t, c->jdk) != 0 || hdump_discover(t) != 0) {
		if (trap)
			hdump_trap_close(trap);
		else
			hdump_close(t);
		return -1;
	}
	struct watched *w = &x->v[x->n];
	*w = (struct watched){.pid = pid, .t = t, .trap = trap, .heap_armed = true,
			      .memory_armed = true, .rss_armed = true, .events_high = -1,
			      .events_max = -1, .psi_fd = -1, .mem_fd = -1};
	target_name(pid, w->name, sizeof w->name);
	if (c->every_ms)
		w->next_every_ms = now_ms() + c->every_ms;
	x->n++;
	if (c->pressure.set)
		open_pressure(w, &c->pressure);
	if (c->memory.set)
		open_memory_notify(w, &c->memory);
	struct watch_json j;
	wj_begin(&j, "started");
	wj_i64(&j, "pid", pid);
	wj_str(&j, "name", w->name);
	struct hdump_target_info info;
	hdump_target_info(t, &info);
	wj_str(&j, "vm_version", info.vm_version);
	struct hdump_heap_usage hu;
	if (hdump_heap_usage(t, &hu) == 0) {
		w->heap_used = hu.used;
		wj_u64(&j, "heap_used", hu.used);
		wj_u64(&j, "heap_max", hu.max);
		wj_str(&j, "heap_max_source", hdump_max_heap_source_name(hu.max_source));
		wj_str(&j, "heap_max_rule", hdump_max_heap_source_name(hu.max_rule));
	} else if (c->heap.set) {
		struct hdump_error e = hdump_error();
		emit_error(w, "heap", e.cls, e.message);
	}
	struct hdump_memory_usage m;
	if (hdump_memory_usage(pid, &m) == 0 && m.cgroup_version) {
		wj_str(&j, "cgroup", m.cgroup);
		wj_i64(&j, "cgroup_version", m.cgroup_version);
		wj_i64(&j, "cgroup_current", m.cgroup_current);
		wj_i64(&j, "cgroup_limit", m.cgroup_limit);
	}
	emit(&j);
	return 0;
}

static void drop_target(struct watched *w)
{
	if (w->psi_fd >= 0)
		close(w->psi_fd);
	if (w->mem_fd >= 0)
		close(w->mem_fd);
	w->psi_fd = w->mem_fd = -1;
	if (w->trap)
		hdump_trap_close(w->trap); /* and the target it owns */
	else
		hdump_close(w->t);
	w->trap = NULL;
	w->t = NULL;
	w->gone = true;
}

static void mark_gone(struct watched *w)
{
	if (w->gone)
		return;
	struct watch_json j;
	wj_begin(&j, "gone");
	wj_i64(&j, "pid", w->pid);
	wj_str(&j, "name", w->name);
	emit(&j);
	drop_target(w);
}

/* Is PID still a process we can watch (not gone, not a zombie)? */
static bool alive(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool ok = fgets(line, sizeof line, f) != NULL;
	fclose(f);
	const char *paren = ok ? strrchr(line, ')') : NULL;
	return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

/* ---- Dumps -------------------------------------------------------------- */

struct dump_events {
	uint64_t pause_ms;
	enum hdump_snapshot snapshot;
};

static void on_dump_event(void *ctx, const struct hdump_event *ev)
{
	struct dump_events *d = ctx;
	if (ev->kind == HDUMP_EVENT_RESUMED) {
		d->pause_ms += ev->pause_ms;
		d->snapshot = ev->snapshot;
	}
}

/* Expected dump size from the heap in use (or the resident anonymous
 * memory when the heap cannot be read), and the free space of the output
 * file system: refuses (DISK_FULL) when it does not fit. */
static int check_space(const struct watch *x, struct watched *w, uint64_t *expected)
{
	uint64_t heap = w->heap_used;
	struct hdump_heap_usage hu;
	if (hdump_heap_usage(w->t, &hu) == 0)
		heap = w->heap_used = hu.used;
	struct hdump_memory_usage m;
	if (!heap && hdump_memory_usage(w->pid, &m) == 0 && m.rss_anon > 0)
		heap = (uint64_t)m.rss_anon;
	struct hdump_target_info info;
	hdump_target_info(w->t, &info);
	heap += info.image_heap_size; /* every dump holds the image heap too */
	*expected = heap / DUMP_SIZE_FACTOR_DEN * DUMP_SIZE_FACTOR_NUM + DUMP_SIZE_MARGIN;
	struct statvfs sv;
	if (statvfs(x->c->dir, &sv) != 0)
		return hdump_fail_errno(HDUMP_E_OUTPUT, errno, "cannot examine %s", x->c->dir);
	uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (avail < *expected)
		return hdump_fail(HDUMP_E_DISK_FULL,
				  "refusing to dump: %s has %llu MiB free, the dump may need %llu MiB",
				  x->c->dir, (unsigned long long)(avail >> 20),
				  (unsigned long long)(*expected >> 20));
	return 0;
}

/* auto: a fork snapshot pauses the target least, but while its child lives
 * each page the target writes is copied and charged to the target's cgroup;
 * it is chosen only when the cgroup has room for all of the target's
 * private memory with a quarter to spare, else stop (which costs the
 * target's cgroup nothing).  The library checks the same again (and the
 * system's memory) and refuses a fork that does not fit. */
static enum hdump_snapshot choose_snapshot(const struct watch_config *c, pid_t pid)
{
#if defined(__x86_64__)
	if (!c->snapshot_auto)
		return c->dump.snapshot;
	struct hdump_memory_usage m;
	if (hdump_memory_usage(pid, &m) != 0 || m.rss_anon < 0)
		return HDUMP_SNAPSHOT_STOP;
	if (m.cgroup_limit >= 0 &&
	    (m.cgroup_current < 0 ||
	     m.cgroup_limit - m.cgroup_current < m.rss_anon + m.rss_anon / 4))
		return HDUMP_SNAPSHOT_STOP;
	return HDUMP_SNAPSHOT_FORK;
#else
	(void)pid;
	return c->snapshot_auto ? HDUMP_SNAPSHOT_STOP : c->dump.snapshot;
#endif
}

static const char *snapshot_name(enum hdump_snapshot s)
{
	return s == HDUMP_SNAPSHOT_FORK ? "fork" : s == HDUMP_SNAPSHOT_COPY ? "copy" : "stop";
}

/* Deletes the oldest dumps this watcher wrote beyond --keep. */
static void retain(struct watch *x)
{
	size_t excess = watch_retention_excess(x->written, x->nwritten, x->c->keep);
	for (size_t i = 0; i < excess; i++) {
		if (unlink(x->written[i]) != 0 && errno != ENOENT) {
			char msg[600];
			snprintf(msg, sizeof msg, "cannot remove old dump %s: %s", x->written[i],
				 strerror(errno));
			emit_error(NULL, NULL, HDUMP_E_OUTPUT, msg);
		} else {
			struct watch_json j;
			wj_begin(&j, "removed");
			wj_str(&j, "path", x->written[i]);
			emit(&j);
		}
		free(x->written[i]);
	}
	memmove(x->written, x->written + excess, (x->nwritten - excess) * sizeof *x->written);
	x->nwritten -= excess;
}

static int remember(struct watch *x, const char *path)
{
	if (x->nwritten == x->cap_written) {
		size_t cap = x->cap_written ? 2 * x->cap_written : 16;
		if (cap > MAX_WRITTEN)
			return -1;
		char **v = realloc(x->written, cap * sizeof *v);
		if (!v)
			return -1;
		x->written = v;
		x->cap_written = cap;
	}
	char *copy = strdup(path);
	if (!copy)
		return -1;
	x->written[x->nwritten++] = copy;
	return 0;
}

/* One dump of T (W's target, held by its trap or not) into DIR. */
static int dump_into(struct watch *x, struct watched *w, hdump_target *t, enum watch_trigger trig,
		     enum hdump_snapshot snapshot)
{
	const struct watch_config *c = x->c;
	struct timespec utc;
	clock_gettime(CLOCK_REALTIME, &utc);
	char base[256], path[4096 + 256];
	if (watch_dump_name(base, sizeof base, w->name, (int)w->pid, &utc, trig) != 0)
		return hdump_fail(HDUMP_E_OUTPUT, "dump name too long");
	snprintf(path, sizeof path, "%s/%s%s", c->dir, base, c->gzip ? ".gz" : "");
	struct hd_output out;
	if (output_open(&out, path, false) != 0)
		return -1;
	if (c->gzip && output_set_gzip(&out, c->dump.threads, c->gzip_level) != 0) {
		output_abort(&out);
		return -1;
	}
	struct hdump_options o = c->dump;
	o.snapshot = snapshot;
	o.hprof = true;
	struct dump_events de = {.snapshot = snapshot};
	hdump_set_events(t, on_dump_event, &de);
	struct hdump_sink sink = output_sink(&out);
	struct hdump_result r;
	uint64_t start = now_ms();
	int rc = hdump_dump(t, &o, &sink, &r);
	hdump_set_events(t, NULL, NULL);
	if (rc == 0)
		rc = output_commit(&out);
	uint64_t file_bytes = out.bytes_out;
	output_abort(&out);
	if (rc != 0)
		return -1;
	x->dumps++;
	w->dumps++;
	struct watch_json j;
	wj_begin(&j, "dump");
	wj_i64(&j, "pid", w->pid);
	wj_str(&j, "name", w->name);
	wj_str(&j, "trigger", watch_trigger_name(trig));
	wj_str(&j, "path", path);
	wj_u64(&j, "size", file_bytes);
	wj_u64(&j, "hprof_bytes", r.hprof_bytes);
	wj_u64(&j, "objects", r.objects);
	wj_u64(&j, "bytes", r.bytes);
	wj_str(&j, "snapshot", snapshot_name(snapshot));
	wj_u64(&j, "pause_ms", de.pause_ms);
	wj_u64(&j, "duration_ms", now_ms() - start);
	wj_u64(&j, "attempts", r.attempts);
	emit(&j);
	if (remember(x, path) != 0)
		emit_error(w, NULL, HDUMP_E_INTERNAL, "out of memory: dump not kept for --keep");
	retain(x);
	return 0;
}

/* A trigger fired for W: reported, then dumped unless a limit says no. */
static void fire(struct watch *x, struct watched *w, enum watch_trigger trig, const char *detail,
		 hdump_target *held)
{
	const struct watch_config *c = x->c;
	uint64_t now = now_ms();
	bool last_chance = held != NULL; /* the process ends after this */
	bool suppressed = !last_chance && w->dumped && now - w->last_dump_ms < c->min_interval_ms;
	struct watch_json j;
	wj_begin(&j, "trigger");
	wj_i64(&j, "pid", w->pid);
	wj_str(&j, "name", w->name);
	wj_str(&j, "trigger", watch_trigger_name(trig));
	if (detail)
		wj_str(&j, "detail", detail);
	wj_bool(&j, "suppressed", suppressed);
	emit(&j);
	if (suppressed)
		return;
	if (w->trap && !held) {
		/* The trap's target can be dumped only while the trap holds it. */
		emit_error(w, watch_trigger_name(trig), HDUMP_E_USAGE,
			   "a target traced for --on-exit/--on-signal is dumped only at its end");
		return;
	}
	/* An attempt counts for --min-interval, failed or not: a target whose
	 * dump fails is not stopped again at every interval. */
	w->dumped = true;
	w->last_dump_ms = now;
	uint64_t expected;
	if (check_space(x, w, &expected) != 0) {
		emit_last_error(w, watch_trigger_name(trig));
		return;
	}
	enum hdump_snapshot snapshot = held ? HDUMP_SNAPSHOT_STOP : choose_snapshot(c, w->pid);
	int rc = dump_into(x, w, held ? held : w->t, trig, snapshot);
	if (rc != 0 && c->snapshot_auto && snapshot == HDUMP_SNAPSHOT_FORK &&
	    hdump_error().cls == HDUMP_E_SNAPSHOT)
		rc = dump_into(x, w, w->t, trig, HDUMP_SNAPSHOT_STOP);
	if (rc == 0)
		return;
	enum hdump_error_class cls = hdump_error().cls;
	emit_last_error(w, watch_trigger_name(trig));
	if (cls == HDUMP_E_TARGET_GONE || cls == HDUMP_E_NOENT)
		mark_gone(w);
}

/* ---- Sampling ------------------------------------------------------------ */

/* A level trigger fires when VALUE crosses LIMIT upward, then waits until
 * the value is below the limit again. */
static bool crossed(bool *armed, uint64_t value, uint64_t limit)
{
	if (!limit)
		return false;
	if (value < limit) {
		*armed = true;
		return false;
	}
	bool fire_now = *armed;
	*armed = false;
	return fire_now;
}

static void sample(struct watch *x, struct watched *w)
{
	const struct watch_config *c = x->c;
	char detail[800];
	if (c->heap.set) {
		struct hdump_heap_usage hu;
		if (hdump_heap_usage(w->t, &hu) != 0) {
			if (hdump_error().cls == HDUMP_E_INTERRUPTED)
				return;
		} else {
			w->heap_used = hu.used;
			uint64_t limit = watch_threshold_bytes(&c->heap, hu.max);
			if (crossed(&w->heap_armed, hu.used, limit)) {
				snprintf(detail, sizeof detail, "heap used %llu >= %llu (max %llu, %s, %s)",
					 (unsigned long long)hu.used, (unsigned long long)limit,
					 (unsigned long long)hu.max, hdump_max_heap_source_name(hu.max_source),
					 hdump_max_heap_source_name(hu.max_rule));
				fire(x, w, WATCH_T_HEAP, detail, NULL);
			}
		}
	}
	if (w->gone || (!c->memory.set && !c->rss.set))
		return;
	struct hdump_memory_usage m;
	if (hdump_memory_usage(w->pid, &m) != 0)
		return;
	if (c->memory.set && m.cgroup_version) {
		uint64_t limit = watch_threshold_bytes(&c->memory,
						       m.cgroup_limit > 0 ? (uint64_t)m.cgroup_limit : 0);
		bool events = (w->events_max >= 0 && m.events_max > w->events_max) ||
			      (w->events_high >= 0 && m.events_high > w->events_high);
		w->events_max = m.events_max;
		w->events_high = m.events_high;
		bool over = m.cgroup_current >= 0 &&
			    crossed(&w->memory_armed, (uint64_t)m.cgroup_current, limit);
		if (over || events) {
			snprintf(detail, sizeof detail, "cgroup %s: %lld of %lld bytes%s", m.cgroup,
				 (long long)m.cgroup_current, (long long)m.cgroup_limit,
				 events ? "; memory.events high/max grew" : "");
			fire(x, w, WATCH_T_MEMORY, detail, NULL);
		}
	}
	if (!w->gone && c->rss.set && m.rss >= 0) {
		uint64_t base = m.cgroup_limit > 0 ? (uint64_t)m.cgroup_limit :
			        m.mem_total > 0 ? (uint64_t)m.mem_total : 0;
		uint64_t limit = watch_threshold_bytes(&c->rss, base);
		if (crossed(&w->rss_armed, (uint64_t)m.rss, limit)) {
			snprintf(detail, sizeof detail, "rss %lld >= %llu", (long long)m.rss,
				 (unsigned long long)limit);
			fire(x, w, WATCH_T_RSS, detail, NULL);
		}
	}
}

/* The trap's news for W: a held exit or fatal signal is dumped, then let go. */
static void poll_trap(struct watch *x, struct watched *w)
{
	struct hdump_trap_event ev;
	if (hdump_trap_poll(w->trap, &ev) != 0) {
		emit_last_error(w, NULL);
		return;
	}
	if (ev.kind == HDUMP_TRAP_GONE) {
		/* The trap reaped our own child (-- CMD): its status is here. */
		if (w->pid == x->child && !x->child_done && ev.status != -1) {
			x->child_done = true;
			x->child_status = ev.status;
		}
		mark_gone(w);
		return;
	}
	if (ev.kind != HDUMP_TRAP_EXITING && ev.kind != HDUMP_TRAP_SIGNALLED &&
	    ev.kind != HDUMP_TRAP_SHUTTING_DOWN)
		return;
	enum watch_trigger trig = ev.kind == HDUMP_TRAP_SIGNALLED ? WATCH_T_FATAL : WATCH_T_EXIT;
	char detail[64];
	if (ev.kind == HDUMP_TRAP_SHUTTING_DOWN)
		snprintf(detail, sizeof detail, "shutdown (main returned)");
	else
		snprintf(detail, sizeof detail,
			 ev.kind == HDUMP_TRAP_EXITING ? "exit status %d" : "signal %d",
			 ev.kind == HDUMP_TRAP_EXITING ? ev.status : ev.signo);
	if (!x->c->max_dumps || x->dumps < x->c->max_dumps)
		fire(x, w, trig, detail, w->t);
	if (w->gone) /* a dump that found it gone closed the trap, releasing it */
		return;
	if (hdump_trap_release(w->trap) != 0)
		emit_last_error(w, watch_trigger_name(trig));
	mark_gone(w);
}

/* A hash of PID's executable's path (0: none), which an exec changes. */
static uint64_t exe_hash(pid_t pid)
{
	char path[64], exe[4096];
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, exe, sizeof exe);
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (ssize_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)exe[i]) * 0x100000001b3ull;
	return n > 0 ? h : 0;
}

/* --cgroup: new members are opened; those that are no native image (or
 * cannot be opened) are tried at each interval for COMMAND_OPEN_MS (a
 * runtime maps its isolate a moment after its exec), then no more until
 * they exec again (a wrapper shell that execs the image). */
static void scan_cgroup(struct watch *x)
{
	pid_t *pids;
	size_t n;
	if (hdump_cgroup_pids(x->c->cgroup, &pids, &n) != 0) {
		emit_last_error(NULL, NULL);
		return;
	}
	for (size_t i = 0; i < n && !hdump_interrupted(); i++) {
		bool known = false;
		for (size_t k = 0; k < x->n && !known; k++)
			known = x->v[k].pid == pids[i] && !x->v[k].gone;
		uint64_t exe = exe_hash(pids[i]);
		for (size_t k = 0; k < x->nignored && !known; k++)
			known = x->ignored[k].pid == pids[i] && x->ignored[k].exe == exe &&
				now_ms() - x->ignored[k].since_ms >= COMMAND_OPEN_MS;
		if (known || pids[i] == getpid())
			continue;
		if (add_target(x, pids[i]) != 0) {
			enum hdump_error_class cls = hdump_error().cls;
			if (cls == HDUMP_E_NOENT || cls == HDUMP_E_TARGET_GONE)
				continue; /* a member that ended since the list was read */
			size_t k = 0;
			while (k < x->nignored && x->ignored[k].pid != pids[i])
				k++;
			bool fresh = k == x->nignored || x->ignored[k].exe != exe;
			if (fresh && k < MAX_IGNORED)
				x->ignored[k] = (struct ignored){pids[i], exe, now_ms()};
			if (k == x->nignored && k < MAX_IGNORED)
				x->nignored++;
			/* told once per executable, and not for what is no native image */
			if (fresh && cls != HDUMP_E_NOT_NATIVE_IMAGE && cls != HDUMP_E_INTERRUPTED) {
				struct watched tmp = {.pid = pids[i]};
				target_name(pids[i], tmp.name, sizeof tmp.name);
				emit_last_error(&tmp, NULL);
			}
		}
	}
	free(pids);
}

/* -- CMD: started with a pipe that closes at its exec (or carries the
 * exec's errno). */
static int start_command(struct watch *x)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return hdump_fail_errno(HDUMP_E_INTERNAL, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return hdump_fail_errno(HDUMP_E_INTERNAL, errno, "fork");
	}
	if (pid == 0) {
		close(p[0]);
		signal(SIGPIPE, SIG_DFL);
		execvp(x->c->command[0], x->c->command);
		int e = errno;
		ssize_t ignored = write(p[1], &e, sizeof e);
		(void)ignored;
		_exit(127);
	}
	close(p[1]);
	int e = 0;
	ssize_t n;
	do
		n = read(p[0], &e, sizeof e);
	while (n < 0 && errno == EINTR);
	close(p[0]);
	x->child = pid;
	x->child_started_ms = now_ms();
	if (n == (ssize_t)sizeof e) {
		waitpid(pid, &x->child_status, 0);
		x->child_done = true;
		return hdump_fail_errno(e == ENOENT ? HDUMP_E_NOENT : HDUMP_E_PERM, e, "cannot run %s",
					x->c->command[0]);
	}
	return 0;
}

/* The command's native image is opened once it can be (its runtime may map
 * its isolate a moment after the exec). */
static void open_command(struct watch *x)
{
	if (x->n || x->child_done)
		return;
	if (add_target(x, x->child) == 0)
		return;
	if (!x->child_open_reported && now_ms() - x->child_started_ms > COMMAND_OPEN_MS) {
		struct watched tmp = {.pid = x->child};
		target_name(x->child, tmp.name, sizeof tmp.name);
		emit_last_error(&tmp, NULL);
		x->child_open_reported = true;
	}
}

static void reap_command(struct watch *x)
{
	if (!x->child || x->child_done)
		return;
	/* While the trap traces it, its wait statuses (its stops too) are the
	 * trap's: it reaps the child and hands the status over (poll_trap). */
	for (size_t i = 0; i < x->n; i++)
		if (x->v[i].pid == x->child && x->v[i].trap)
			return;
	int status;
	if (waitpid(x->child, &status, WNOHANG) == x->child &&
	    (WIFEXITED(status) || WIFSIGNALED(status))) {
		x->child_status = status;
		x->child_done = true;
		for (size_t i = 0; i < x->n; i++)
			if (x->v[i].pid == x->child)
				mark_gone(&x->v[i]);
	}
}

static bool trigger_file_fired(struct watch *x)
{
	const char *f = x->c->trigger_file;
	if (!f || access(f, F_OK) != 0)
		return false;
	/* Fired only once it is removed, or it would fire at every interval. */
	if (unlink(f) != 0) {
		char msg[600];
		snprintf(msg, sizeof msg, "cannot remove trigger file %s: %s", f, strerror(errno));
		emit_error(NULL, "file", HDUMP_E_OUTPUT, msg);
		return false;
	}
	return true;
}

static bool all_gone(const struct watch *x)
{
	for (size_t i = 0; i < x->n; i++)
		if (!x->v[i].gone)
			return false;
	return true;
}

static bool max_reached(const struct watch *x)
{
	return x->c->max_dumps && x->dumps >= x->c->max_dumps;
}

/* Sleeps until the next sample, a signal or a pressure trigger, without
 * losing a signal that arrives just before the sleep: they are blocked
 * while the flags are looked at, and unblocked atomically by ppoll. */
static void wait_interval(struct watch *x)
{
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (!usr1_flag && !chld_flag && !hdump_interrupted()) {
		struct pollfd fds[2 * MAX_TARGETS];
		struct watched *of[2 * MAX_TARGETS];
		nfds_t n = 0;
		for (size_t i = 0; i < x->n; i++) {
			struct watched *w = &x->v[i];
			if (!w->gone && w->psi_fd >= 0) {
				fds[n] = (struct pollfd){.fd = w->psi_fd, .events = POLLPRI};
				of[n++] = w;
			}
			if (!w->gone && w->mem_fd >= 0) {
				/* an eventfd is readable; a cgroup v2 file signals POLLPRI */
				fds[n] = (struct pollfd){.fd = w->mem_fd,
							 .events = w->mem_version == 1 ? POLLIN : POLLPRI};
				of[n++] = w;
			}
		}
		struct timespec ts = {(time_t)(x->c->interval_ms / 1000),
				      (long)(x->c->interval_ms % 1000) * 1000000};
		if (ppoll(fds, n, &ts, &old) > 0)
			for (nfds_t i = 0; i < n; i++) {
				struct watched *w = of[i];
				if (!fds[i].revents)
					continue;
				if (fds[i].fd == w->mem_fd) {
					consume_memory_notify(w);
				} else if (fds[i].revents & POLLPRI) {
					w->psi_fired = true;
				} else { /* POLLERR without POLLPRI: the cgroup went away */
					close(w->psi_fd);
					w->psi_fd = -1;
				}
			}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static void close_all(struct watch *x)
{
	for (size_t i = 0; i < x->n; i++)
		if (!x->v[i].gone)
			drop_target(&x->v[i]);
	for (size_t i = 0; i < x->nwritten; i++)
		free(x->written[i]);
	free(x->written);
}

static int loop(struct watch *x)
{
	const struct watch_config *c = x->c;
	for (;;) {
		if (hdump_interrupted())
			return emit_exit("signal", 0, x);
		if (max_reached(x))
			return emit_exit("max-dumps", 0, x);
		reap_command(x);
		if (c->command && x->child_done)
			return emit_exit("command-exited", 0, x);
		if (c->command)
			open_command(x);
		if (c->cgroup)
			scan_cgroup(x);
		else if (!c->command && all_gone(x))
			return emit_exit("targets-gone", 0, x);
		bool usr1 = usr1_flag, file = trigger_file_fired(x);
		usr1_flag = 0;
		chld_flag = 0;
		uint64_t now = now_ms();
		for (size_t i = 0; i < x->n && !hdump_interrupted() && !max_reached(x); i++) {
			struct watched *w = &x->v[i];
			if (w->gone)
				continue;
			if (w->trap) {
				poll_trap(x, w);
				if (w->gone)
					continue;
			}
			if (!alive(w->pid) && (!c->command || w->pid != x->child)) {
				mark_gone(w);
				continue;
			}
			if (usr1)
				fire(x, w, WATCH_T_SIGNAL, NULL, NULL);
			if (file && !w->gone && !max_reached(x))
				fire(x, w, WATCH_T_FILE, c->trigger_file, NULL);
			if (c->every_ms && !w->gone && !max_reached(x) && now >= w->next_every_ms) {
				w->next_every_ms = now + c->every_ms;
				fire(x, w, WATCH_T_EVERY, NULL, NULL);
			}
			if (!w->gone && !max_reached(x) && threshold_set(c))
				sample(x, w);
			if (w->psi_fired && !w->gone && !max_reached(x))
				fire(x, w, WATCH_T_PRESSURE, w->psi_detail, NULL);
			w->psi_fired = false;
		}
		if (!hdump_interrupted() && !max_reached(x))
			wait_interval(x);
	}
}

int watch_run(const struct watch_config *c)
{
	static struct watch x; /* large: the target table */
	memset(&x, 0, sizeof x);
	x.c = c;
	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);
	int rc = 0;
	if (c->command)
		rc = start_command(&x);
	for (size_t i = 0; rc == 0 && i < c->npids; i++)
		rc = add_target(&x, c->pids[i]);
	int code;
	if (rc != 0 && hdump_error().cls == HDUMP_E_INTERRUPTED) {
		code = emit_exit("signal", 0, &x);
	} else if (rc != 0) {
		struct hdump_error e = hdump_error();
		char esc[HDUMP_ESCAPED_MESSAGE];
		fprintf(stderr, "hdump watch: %s\n", hdump_escape(e.message, esc, sizeof esc));
		emit_error(NULL, NULL, e.cls, e.message);
		code = emit_exit("error", hdump_exit_code(e.cls), &x);
	} else {
		code = loop(&x);
	}
	close_all(&x);
	return code;
}

int watch_main(int argc, char **argv)
{
	struct watch_config c;
	int exit_code;
	if (!watch_options_parse(argc, argv, &c, stdout, stderr, &exit_code))
		return exit_code;
	hdump_install_signal_handlers();
	return watch_run(&c);
}
