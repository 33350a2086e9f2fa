/* libhdump: heap dumps of GraalVM Native Image targets, taken from the
 * outside.  The one header a client needs (the hdump command line is one).
 *
 *   hdump_target *t = hdump_open_process(pid);   (or hdump_open_executable)
 *   hdump_set_events(t, on_event, ctx);           optional: progress, -v text
 *   hdump_discover(t);                            the heap layout, the classes
 *   hdump_dump(t, &options, &sink, &result);      census and HPROF into a sink
 *   hdump_histogram(t, &rows);                    the class histogram
 *   hdump_close(t);
 *
 * Every fallible function returns 0 (or a non-NULL pointer), or -1 (NULL)
 * with one error recorded for the calling thread: hdump_error() gives its
 * class and one-line message.  Every string a target chose (class names,
 * thread names, the VM version, messages quoting them) is hostile: print it
 * through hdump_escape().  Not thread-safe: one target per thread. */
#ifndef HDUMP_H
#define HDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define HDUMP_MUST_CHECK __attribute__((warn_unused_result))

/* ---- Errors ------------------------------------------------------------- */

/* Error classes, each with the exit code the command line gives it. */
enum hdump_error_class {
	HDUMP_OK,                 /* 0 */
	HDUMP_E_INTERNAL,         /* 1: a bug, or out of memory */
	HDUMP_E_USAGE,            /* 2: bad options, or an API call out of order */
	HDUMP_E_NOENT,            /* 3: no such file or process */
	HDUMP_E_PERM,             /* 4 */
	HDUMP_E_NOT_ELF,          /* 5 */
	HDUMP_E_NOT_NATIVE_IMAGE, /* 6 */
	HDUMP_E_LAYOUT,           /* 7: the image's data did not validate (final) */
	HDUMP_E_OUTPUT_EXISTS,    /* 8 */
	HDUMP_E_OUTPUT,           /* 9 */
	HDUMP_E_DISK_FULL,        /* 10 */
	HDUMP_E_TARGET_GONE,      /* 11 */
	HDUMP_E_TRACED,           /* 12 */
	HDUMP_E_INCONSISTENT,     /* 13: the heap did not hold still (after retries), or
				     a read of a running process met it changing */
	HDUMP_E_INTERRUPTED,      /* 14 */
	HDUMP_E_SNAPSHOT,         /* 15: a copy or fork snapshot refused or failed; target
				     unchanged; a stop snapshot needs neither */
	HDUMP_ERROR_CLASS_COUNT
};

struct hdump_error {
	enum hdump_error_class cls;
	const char *message; /* valid until the next call into the library */
};

/* The error recorded last by this thread. */
struct hdump_error hdump_error(void);

/* For a client's callbacks (a sink that cannot write): records CLS and a
 * printf-style message (hdump_fail_errno appends ": strerror(ERRNUM)").
 * Both return -1. */
int hdump_fail(enum hdump_error_class cls, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int hdump_fail_errno(enum hdump_error_class cls, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The exit code of CLS, and its description for a table of exit codes
 * (NULL for a class that has no code of its own: HDUMP_OK's is "success"). */
int hdump_exit_code(enum hdump_error_class cls);
const char *hdump_error_description(enum hdump_error_class cls);

/* ---- Target-chosen text ------------------------------------------------- */

/* Room for any error message, escaped. */
#define HDUMP_ESCAPED_MESSAGE (4 * 512)

/* S with every control byte, invalid UTF-8 byte and backslash written as
 * \xNN, into BUF of SIZE bytes (cut, never inside an escape).  Returns BUF. */
char *hdump_escape(const char *s, char *buf, size_t size);
/* Writes S to F, escaped. */
void hdump_fputs_escaped(const char *s, FILE *f);

/* ---- Signals ------------------------------------------------------------ */

/* SIGINT, SIGTERM, SIGHUP and SIGQUIT then only set a flag the library
 * polls: a dump in progress releases the target, fails with
 * HDUMP_E_INTERRUPTED and leaves the sink to the client to discard. */
void hdump_install_signal_handlers(void);
/* The signal received, or 0. */
int hdump_interrupted(void);

/* ---- Targets ------------------------------------------------------------ */

typedef struct hdump_target hdump_target;

enum hdump_target_kind {
	HDUMP_TARGET_PROCESS,    /* a running process, through ptrace */
	HDUMP_TARGET_EXECUTABLE, /* the image heap of an executable file */
	HDUMP_TARGET_CORE,       /* a core file of a process, with its executable */
};

/* A running process: its maps and executable are read, its isolates found;
 * nothing is stopped yet.  Errors: NOENT ("no such process"), PERM (with
 * what to change), NOT_NATIVE_IMAGE. */
HDUMP_MUST_CHECK hdump_target *hdump_open_process(pid_t pid);

/* An executable on disk; its image heap is read.  Errors: NOENT, PERM,
 * NOT_ELF, NOT_NATIVE_IMAGE, LAYOUT, INTERRUPTED. */
HDUMP_MUST_CHECK hdump_target *hdump_open_executable(const char *path);

/* ---- Core files ---------------------------------------------------------
 * A core file (a kernel core, gcore's, coredumpctl dump's) read as a
 * stopped process: threads and registers from its notes, memory from its
 * segments and, where the core left them out unmodified, the executable's
 * pages.  EXE: the executable the process ran; NULL: the file the core
 * says was mapped at its entry point.  Only the two files are read.
 * Errors: NOENT, PERM, NOT_ELF (not a core), LAYOUT (a damaged core),
 * USAGE (EXE is not the core's executable), NOT_NATIVE_IMAGE.  A dump
 * fails with LAYOUT naming the missing range when the core lacks memory a
 * chunk needs (unless hdump_options.partial), never retries, and refuses
 * the fork snapshot (USAGE). */
HDUMP_MUST_CHECK hdump_target *hdump_open_core(const char *core, const char *exe);

void hdump_close(hdump_target *t);

struct hdump_target_info {
	enum hdump_target_kind kind;
	const char *vm_version;   /* "GraalVM CE 25+37.1", or "" when unknown (hostile text) */
	uint64_t image_heap_size; /* bytes of the executable's image heap */
	uint64_t image_heap_start;/* where the image heap is read (the first isolate's copy) */
	size_t isolates;          /* image-heap copies a process maps; 1 for an executable */
};
void hdump_target_info(const hdump_target *t, struct hdump_target_info *info);

/* Copies LEN bytes of the target's memory at ADDR (a process: its live
 * memory, once discovered, read while it runs: nothing holds it; an
 * executable: its image heap at image_heap_start).  Errors: LAYOUT (an
 * executable: not in the image heap), INCONSISTENT (a process: not mapped,
 * or unmapped as it ran), TARGET_GONE, USAGE (a process not discovered yet). */
HDUMP_MUST_CHECK int hdump_read(hdump_target *t, uint64_t addr, void *buf, size_t len);

/* ---- Events ------------------------------------------------------------- */

enum hdump_phase {
	HDUMP_PHASE_DISCOVER, /* layout and classes, from the image heap */
	HDUMP_PHASE_SCAN,     /* a process: stop it, find its threads and chunks */
	HDUMP_PHASE_CENSUS,   /* walk every chunk */
	HDUMP_PHASE_WRITE,    /* HPROF into the sink */
};

enum hdump_event_kind {
	HDUMP_EVENT_PHASE_BEGIN,  /* phase, attempt */
	HDUMP_EVENT_PHASE_END,    /* phase, attempt (also when the phase failed) */
	HDUMP_EVENT_RETRY,        /* attempt (the one that failed, from 1), text: why */
	HDUMP_EVENT_PAUSED,       /* the target's threads are held; snapshot */
	HDUMP_EVENT_RESUMED,      /* they run again: pause_ms, snapshot, and fork_child
				     or copied_bytes for those snapshots */
	HDUMP_EVENT_VERBOSE,      /* text: one line of what discovery found */
	HDUMP_EVENT_WARNING,      /* text: a problem that does not fail the dump */
	HDUMP_EVENT_PROGRESS,     /* phase (WRITE), attempt, done and total: HPROF bytes
				     written and expected (an estimate until the phase
				     ends: done may pass it); at most ~10 a second */
};

enum hdump_snapshot {
	HDUMP_SNAPSHOT_STOP, /* walk the stopped target */
	HDUMP_SNAPSHOT_COPY, /* copy the heap out, resume, walk the copy */
	HDUMP_SNAPSHOT_FORK, /* fork it, resume, walk the frozen child */
	HDUMP_SNAPSHOT_AUTO, /* fork where the target allows it, else stop (the default) */
};

struct hdump_event {
	enum hdump_event_kind kind;
	enum hdump_phase phase;
	unsigned attempt;
	const char *text;       /* hostile text: escape it */
	enum hdump_snapshot snapshot;
	uint64_t pause_ms;
	pid_t fork_child;
	uint64_t copied_bytes;
	uint64_t done, total;   /* PROGRESS */
};

typedef void (*hdump_event_fn)(void *ctx, const struct hdump_event *ev);

/* FN(CTX) is called for each event of T from then on (NULL: none), on the
 * thread that called into the library.  EV and its text are valid during
 * the call only.  Some events come while the target is stopped (PAUSED
 * until RESUMED: the scan's phase events, and in stop mode the census and
 * write as well): return quickly, without blocking (on a full pipe, say),
 * or the target stays stopped as long. */
void hdump_set_events(hdump_target *t, hdump_event_fn fn, void *ctx);

/* ---- Discovery and dump ------------------------------------------------- */

/* The JDK whose class files name the fields only the layout algorithm can
 * place (its home directory), for the next hdump_discover; NULL (the
 * default): a JDK installed on this machine, of the image's version, if
 * any.  A JDK that does not fit names nothing.  Errors: USAGE (DIR is no
 * directory holding lib/modules, as every JDK 9 or later does), INTERNAL. */
HDUMP_MUST_CHECK int hdump_set_jdk(hdump_target *t, const char *dir);

/* What the discovery cache did for the last hdump_discover (README,
 * "Discovery cache"): no cache, its entry used, none yet (written), or
 * one that did not hold up (rewritten). */
enum hdump_discovery_cache {
	HDUMP_DCACHE_OFF,
	HDUMP_DCACHE_HIT,
	HDUMP_DCACHE_MISS,
	HDUMP_DCACHE_STALE,
};

/* The directory of the discovery cache for the next hdump_discover: its
 * entry for the target's executable is used when it holds up against the
 * image, else written from the fresh discovery.  NULL (the default): no
 * cache.  A directory that is not the user's own is refused then, with a
 * warning, never failing the discovery.  Errors: INTERNAL. */
HDUMP_MUST_CHECK int hdump_set_discovery_cache(hdump_target *t, const char *dir);

/* The default directory of the discovery cache into BUF: $HDUMP_CACHE_DIR,
 * else $XDG_CACHE_HOME/hdump/discovery, else ~/.cache/hdump/discovery.
 * Errors: USAGE (none of them can be named, or longer than SIZE). */
HDUMP_MUST_CHECK int hdump_discovery_cache_default(char *buf, size_t size);

/* "off", "hit", "miss" or "stale" */
const char *hdump_discovery_cache_name(enum hdump_discovery_cache c);

/* Discovers the heap layout and the class table from the image heap (for a
 * process, in every isolate's copy).  Errors: LAYOUT, INTERRUPTED. */
HDUMP_MUST_CHECK int hdump_discover(hdump_target *t);

/* Where the dump goes.  WRITE takes all of BUF, or records an error
 * (hdump_fail) and returns -1.  It may be called from one of the library's
 * writer threads, not the caller's, but never from two threads at once and
 * always in the file's order; the error it records reaches the caller.
 * REWIND starts the output over before a retried attempt (before the
 * target is stopped again), given the bytes written so far; NULL for a
 * sink that cannot: a dump that must retry after bytes went out then fails
 * with the sink's class (OUTPUT).  With a REWIND the heap is read once,
 * the census taken while writing; without, it is read twice, so that a heap
 * caught mid-change is met before any byte goes out. */
struct hdump_sink {
	int (*write)(void *ctx, const void *buf, size_t len);
	int (*rewind)(void *ctx, uint64_t written);
	void *ctx;
};

#define HDUMP_APPLICATION_ISOLATE (-1)

struct hdump_options {
	enum hdump_snapshot snapshot; /* a process only */
	unsigned retries;             /* attempts after the first when the heap was caught
					 mid-change (a process only) */
	int isolate;                  /* HDUMP_APPLICATION_ISOLATE, or an index */
	unsigned threads;             /* writer threads; 0: one per CPU, at most 8 */
	bool hprof;                   /* false: the census (results, histogram) only */
	uint64_t date_ms;             /* the HPROF header's date; 0: now */
	bool partial;                 /* a core: leave out the chunks it lacks (counted in
					 hdump_result.core_missing_chunks) instead of failing */
	bool ids8;                    /* 8-byte HPROF ids even where 4 would do */
};

/* auto (fork where allowed, else stop), 5 retries, the application's
 * isolate, one writer per CPU, HPROF. */
void hdump_options_init(struct hdump_options *o);

/* The sources of field names, in the order of hdump_result.named_by. */
#define HDUMP_NAME_SOURCES 5

/* Source I's name for reports: "layout" (what layout discovery proves:
 * String, boxed values, referent), "reflection", "substrate", "truffle",
 * "predicted" (the layout algorithm on name lists and class files); NULL
 * past the last. */
const char *hdump_name_source(unsigned i);

struct hdump_result {
	uint64_t objects;     /* fillers excluded */
	uint64_t bytes;
	uint64_t fillers;
	uint64_t chunks;
	uint64_t classes;     /* in the class table */
	uint64_t hprof_bytes; /* written to the sink */
	double seconds;
	unsigned attempts;
	/* Field-name coverage: instances (not arrays) of classes with fields;
	 * of them, those whose every field, inherited ones included, has a real
	 * name (not a kind@offset one); and per source, those with at least
	 * one field that source named. */
	uint64_t field_instances;
	uint64_t named_instances;
	uint64_t named_by[HDUMP_NAME_SOURCES];
	/* Thread stacks (a process): threads with at least one Java frame decoded
	 * from the code info, their Java frames, and machine frames walked that
	 * had no frame info (their roots come from a conservative scan). */
	uint64_t stack_threads, stack_frames, stack_undecoded;
	/* Static fields written in the CLASS DUMPs (see README, "Static
	 * fields"): classes with any, statics written, and the Object[] slots
	 * and byte[] bytes of the image's statics arrays no name source
	 * attributes to a class (not written). */
	uint64_t statics_classes, statics_written;
	uint64_t statics_unattributed_slots, statics_unattributed_bytes;
	/* A core (core true): the heap chunks left out because it lacks their
	 * memory (partial), their bytes, and all the bytes of memory it lacks. */
	bool core;
	uint64_t core_missing_chunks, core_missing_chunk_bytes, core_missing_bytes;
	/* references of the objects kept into the chunks left out, written as
	 * null (partial) */
	uint64_t core_missing_refs;
	/* A process: the snapshot the dump took (never AUTO) and why, e.g.
	 * "requested", or why a fork was refused; "" for an executable. */
	enum hdump_snapshot snapshot;
	char snapshot_reason[256];
	/* what the discovery cache did for this target's discovery */
	enum hdump_discovery_cache discovery_cache;
};

/* Dumps T (discovered) into SINK.  Errors: besides those of the sink,
 * USAGE (no such isolate), PERM, TRACED, TARGET_GONE, SNAPSHOT, LAYOUT,
 * INCONSISTENT (also after the last retry of a torn heap), INTERRUPTED. */
HDUMP_MUST_CHECK int hdump_dump(hdump_target *t, const struct hdump_options *o,
				const struct hdump_sink *sink, struct hdump_result *r);

/* One row per class with instances in the last successful dump, largest
 * first (bytes, then instances, then name).  Valid until the next dump or
 * hdump_close.  NAME is hostile text. */
struct hdump_histogram_row {
	const char *name;
	uint64_t count, bytes;
};
size_t hdump_histogram(const hdump_target *t, const struct hdump_histogram_row **rows);

/* ---- Isolates ----------------------------------------------------------- */

struct hdump_thread {
	pid_t tid;        /* -1: no OS thread matched */
	const char *name; /* its comm, hostile text; NULL when no OS thread */
};

struct hdump_isolate {
	uint64_t heap_base, image_start;
	size_t runtime_chunks;
	const struct hdump_thread *threads;
	size_t nthreads;
	bool chosen;      /* the one a dump with the same options would take */
};

/* Stops the process (a discovered process target) long enough to find its
 * isolates' threads and chunks, with O's retries and isolate choice.  *V is
 * valid until the next call or hdump_close.  Errors: as hdump_dump's. */
HDUMP_MUST_CHECK int hdump_list_isolates(hdump_target *t, const struct hdump_options *o,
					 const struct hdump_isolate **v, size_t *n);

/* ---- Thread stacks --------------------------------------------------------
 * Each thread's Java frames, decoded from the image's code-info tables (the
 * same a dump writes as STACK TRACEs), without writing a dump: a process is
 * held only while its stacks are walked. */

struct hdump_frame {
	const char *class_name; /* Java name, "?" when unknown */
	const char *method;     /* hostile text; "?" when unknown */
	int line;               /* -1: unknown */
	int bci;                /* -1: unknown */
};

struct hdump_stack {
	pid_t tid;                        /* -1: no OS thread matched */
	const char *name;                 /* its java.lang.Thread's name where it reads,
					     else its OS name (comm); hostile text;
					     NULL when neither */
	const struct hdump_frame *frames; /* most recent first */
	size_t nframes;
	size_t physical_frames;           /* machine frames walked */
	size_t undecoded_frames;          /* of those, frames without frame info */
	const char *end;                  /* why the walk ended */
};

/* The stacks of the isolate O chooses (O's retries apply); *V (NTHREADS of
 * them) stays valid until the next call on T.  Errors: HDUMP_E_USAGE (an
 * executable: no threads), and those of hdump_list_isolates. */
HDUMP_MUST_CHECK int hdump_stacks(hdump_target *t, const struct hdump_options *o,
				  const struct hdump_stack **v, size_t *nthreads);

/* ---- Trapping a process's end ---------------------------------------------
 * A dump of a process as it ends: hdump_trap_open traces every thread of a
 * process (PTRACE_SEIZE with PTRACE_O_TRACEEXIT and PTRACE_O_TRACECLONE;
 * nothing stops it but signal delivery and thread creation and exit, each
 * continued at once) until it calls exit/exit_group or is about to receive
 * a fatal signal it does not handle.  It is then held, with its memory
 * intact, for a dump through hdump_trap_target; hdump_trap_release lets it
 * end exactly as it would have (same exit code; the same signal, delivered
 * by the kernel to a process no longer traced, so its core dump is the one
 * it would have had).  A signal the process handles is passed on: a Native
 * Image catches SIGSEGV and SIGBUS to print a crash log and then calls
 * abort(), so the trap is at that SIGABRT.  If the tracer dies, the kernel
 * detaches and the process runs on (or ends).
 *
 *   hdump_trap *tr = hdump_trap_open(pid, HDUMP_TRAP_EXIT | HDUMP_TRAP_FATAL_SIGNAL);
 *   hdump_target *t = hdump_trap_target(tr);  hdump_discover(t);  (while it runs)
 *   on each SIGCHLD (a signalfd): hdump_trap_poll(tr, &ev);
 *   at EXITING or SIGNALLED: hdump_dump(t, ...); hdump_trap_release(tr);
 *   hdump_trap_close(tr);
 *
 * One thread (ptrace's tracer) must make every call on TR. */
#define HDUMP_TRAP_API 1

typedef struct hdump_trap hdump_trap;

enum hdump_trap_what { HDUMP_TRAP_EXIT = 1, HDUMP_TRAP_FATAL_SIGNAL = 2,
		       /* also the thread creation that starts the shutdown hooks once
			  main returned (README "Exit and crash dumps"): GraalVM 25
			  frees its heap before it exits */
		       HDUMP_TRAP_SHUTDOWN = 4 };

/* Traces PID for the ends in WHAT (a process that is not a native image is
 * refused before anything is traced).  Errors: USAGE (WHAT), NOENT, PERM
 * (with what to change), TRACED, NOT_NATIVE_IMAGE, INCONSISTENT (threads
 * keep appearing). */
HDUMP_MUST_CHECK hdump_trap *hdump_trap_open(pid_t pid, unsigned what);

enum hdump_trap_event_kind {
	HDUMP_TRAP_NONE,      /* nothing happened that ends the process */
	HDUMP_TRAP_EXITING,   /* it called exit/exit_group: status = its exit code; held */
	HDUMP_TRAP_SIGNALLED, /* signo (SIGSEGV, SIGBUS, SIGABRT, SIGILL or SIGFPE at its
				 default disposition) is about to be delivered; held */
	HDUMP_TRAP_GONE,      /* it ended untrapped (SIGKILL, another signal, a trap not
				 asked for): status = its wait status, -1 if unknown.  When
				 the tracer is also its parent, that status was reaped */
	HDUMP_TRAP_SHUTTING_DOWN, /* main returned and the VM starts a shutdown hook
				     (HDUMP_TRAP_SHUTDOWN): status -1, its exit code is
				     not known yet; held */
};
struct hdump_trap_event { enum hdump_trap_event_kind kind; int status; int signo; };

/* The tracer receives SIGCHLD at every stop of the process: a client waits
 * for it (signalfd, or sigtimedwait) and calls this, which handles every
 * pending stop without blocking (ordinary signals passed on, new threads
 * traced) and gives the trap (EXITING/SIGNALLED, again at every later call
 * until hdump_trap_release), the end (GONE) or NONE.  0, or -1 with an
 * error (USAGE: the trap was released or closed). */
HDUMP_MUST_CHECK int hdump_trap_poll(hdump_trap *tr, struct hdump_trap_event *ev);

/* The process as a target (owned by TR), available from hdump_trap_open
 * on: discover it while it runs (hdump_discover), which keeps the hold
 * short; hdump_dump (snapshot stop or copy) only while it is held, which
 * stops its other threads as well and leaves every thread held.  A dump
 * before the trap fails with USAGE; a fork snapshot with SNAPSHOT. */
HDUMP_MUST_CHECK hdump_target *hdump_trap_target(hdump_trap *tr);

/* Lets the held process end as it would have, and detaches from it.
 * 0, or -1 with USAGE when nothing is held. */
HDUMP_MUST_CHECK int hdump_trap_release(hdump_trap *tr);

/* Detaches every thread (each with the signal it was stopped with: a held
 * process ends as by hdump_trap_release) and frees TR.  Safe in every
 * state; what a SIGINT or SIGTERM to the client should lead to. */
void hdump_trap_close(hdump_trap *tr);

/* The ptrace stops of TR's process handled so far (signal deliveries,
 * thread creations and exits, group-stops; the trap's own): each a round
 * trip of a target thread to the tracer, the whole cost of being traced. */
uint64_t hdump_trap_stops(const hdump_trap *tr);

/* The thread creations TR checked for the shutdown (HDUMP_TRAP_SHUTDOWN,
 * from the first poll after hdump_discover on): the trap's one if it fired
 * there, and those that were not (each a scan of at most 256 KiB of the
 * creating thread's stack while it waits in its clone stop). */
uint64_t hdump_trap_shutdown_checks(const hdump_trap *tr);

/* ---- Watching a process's memory (hdump watch) ----------------------------
 * Read while the process runs: nothing is stopped, so what is read may be
 * caught mid-change; a read that does not hold together is retried. */

/* Where hdump_heap_usage's maximum came from. */
enum hdump_max_heap_source {
	HDUMP_MAX_HEAP_UNKNOWN,
	HDUMP_MAX_HEAP_XMX,              /* -Xmx on the process's command line */
	HDUMP_MAX_HEAP_MAX_HEAP_SIZE,    /* -XX:MaxHeapSize= on it */
	HDUMP_MAX_HEAP_DEFAULT_PHYSICAL, /* GraalVM's default: MaximumHeapSizePercent
					    (80) % of physical memory */
	HDUMP_MAX_HEAP_DEFAULT_CGROUP,   /* the same default of the memory cgroup's
					    limit, when lower (container support) */
	HDUMP_MAX_HEAP_ISOLATE,          /* the isolate's own: the maximum its
					    collection policy computed */
	HDUMP_MAX_HEAP_IMAGE_OPTION,     /* (max_rule only) the isolate's maximum is
					    none of the above rules': the image's
					    built-in runtime options (-R:MaxHeapSize,
					    -R:MaximumHeapSizePercent) or a value the
					    program set */
};

struct hdump_heap_usage {
	uint64_t used;             /* bytes of the collected heap's chunks: aligned
				      chunks whole, unaligned ones to their end */
	uint64_t aligned_chunks, unaligned_chunks;
	uint64_t max;              /* the isolate's maximum heap size, 0: unknown */
	enum hdump_max_heap_source max_source;
	int isolate;               /* the isolate measured: the one using most */
	unsigned attempts;         /* reads it took (a torn one is read again) */
	enum hdump_max_heap_source max_rule; /* with max_source ISOLATE: the rule
				      whose value, aligned down to a heap chunk,
				      is the isolate's (-Xmx … default-cgroup),
				      IMAGE_OPTION when none is, UNKNOWN when no
				      rule could be computed; else max_source */
};

/* A name for S in reports: "-Xmx", "-XX:MaxHeapSize", "default-physical",
 * "default-cgroup", "isolate", "image-option", "unknown". */
const char *hdump_max_heap_source_name(enum hdump_max_heap_source s);

/* The Java heap T's isolates use, from their own accounting: the chunk
 * lists of the collector's Space and HeapAllocation objects (found once in
 * the image heap), followed while the process runs, bounded and checked
 * (each chunk header validated; a list that changes under the read is read
 * again, up to 5 times), and the chunks each thread's TLAB chains hold
 * (GraalVM 22.3 to 24: the eden chunks it allocated since the last
 * collection), the thread list read as a dump reads it, its threads matched
 * to the running ones by kernel id or, on static musl images, by pthread_t
 * (a 22.3 image linked with glibc: not matched, its TLAB chains not
 * counted); each chunk counted once.  T must be a discovered process.  Errors: USAGE
 * (not a discovered process), LAYOUT (no Space object in the image heap),
 * INCONSISTENT (every attempt torn), TARGET_GONE, INTERRUPTED. */
HDUMP_MUST_CHECK int hdump_heap_usage(hdump_target *t, struct hdump_heap_usage *u);

/* A process's memory and its memory cgroup's (v2, or v1 where the memory
 * controller is bound to v1).  -1 (as int64_t) stands for unknown. */
struct hdump_memory_usage {
	int64_t rss;               /* VmRSS, bytes */
	int64_t rss_anon;          /* RssAnon: what a fork snapshot may have to copy */
	int64_t mem_total;         /* the machine's MemTotal */
	int64_t mem_available;     /* and its MemAvailable */
	int cgroup_version;        /* 0: in no memory cgroup hdump can read */
	char cgroup[512];          /* the cgroup (self or ancestor) with least room */
	int64_t cgroup_current, cgroup_limit; /* limit -1: none */
	int64_t events_high, events_max, events_oom, events_oom_kill; /* counters */
	/* The memory.pressure (PSI) file of the process's own v2 cgroup, on a
	 * hybrid v1/v2 system too; "" when there is none (then only the
	 * system's /proc/pressure/memory). */
	char pressure[560];
};

/* Errors: NOENT (no such process). */
HDUMP_MUST_CHECK int hdump_memory_usage(pid_t pid, struct hdump_memory_usage *m);

/* The processes of the cgroup directory DIR (absolute, e.g.
 * /sys/fs/cgroup/app.slice/x.service), not its descendants', into *PIDS
 * (malloc'd; the caller frees it).  Errors: NOENT, PERM, INTERNAL. */
HDUMP_MUST_CHECK int hdump_cgroup_pids(const char *dir, pid_t **pids, size_t *n);

#endif
