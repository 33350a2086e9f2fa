/* The real process operations (lib/process.c: hd_real_process_ops over
 * agent/) on a helper process: its maps, its memory, its executable, held
 * and let go (it runs on), forked and the fork discarded. */
#include "../../common/hd_error.h"
#include "../../common/procfs.h"
#include "../../lib/process.h"
#include "tracee.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Written by the helper after it was forked: only its memory holds it. */
static volatile uint64_t marker;

static void marked_main(const void *ctx, int in, int out)
{
	(void)ctx;
	marker = 0x6d61726b6572ull;
	tracee_announce_and_wait(in, out, (uint64_t)(uintptr_t)&marker);
}

static long long tracer_of(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	return procfs_field(path, "TracerPid");
}

struct fixture {
	struct hd_real_process *p;
	struct tracee h;
	uint64_t at; /* the helper's marker */
};

static void begin(struct fixture *f)
{
	f->p = hd_real_process_new();
	cr_assert_not_null(f->p);
	f->h = tracee_spawn(marked_main, NULL);
	f->at = tracee_announced(&f->h);
	tracee_await_syscall(f->h.pid, SYS_read);
}

/* The helper must run on: it reads our byte and exits 0. */
static void end(struct fixture *f)
{
	cr_assert_str_eq(tracee_finish(&f->h, "x"), "");
	hd_real_process_free(f->p);
}

Test(process, maps_and_memory)
{
	struct fixture f;
	begin(&f);
	const struct hd_process_ops *ops = &hd_real_process_ops;
	struct hd_maps m;
	cr_assert_eq(ops->read_maps(f.p, f.h.pid, &m), 0, "%s", hd_error_message());
	const struct hd_mapping *where = maps_find(&m, f.at);
	cr_assert_not_null(where, "the marker's mapping is listed");
	cr_assert(where->r && where->w);
	maps_free(&m);
	hd_memview *mv = ops->open_memory(f.p, f.h.pid);
	cr_assert_not_null(mv, "%s", hd_error_message());
	uint64_t seen = 0;
	cr_assert_eq(mv_read(mv, f.at, &seen, sizeof seen), 0, "%s", hd_error_message());
	cr_assert_eq(seen, 0x6d61726b6572ull, "the helper's memory, not ours (%#llx)",
		     (unsigned long long)marker);
	mv_free(mv);
	end(&f);
}

Test(process, a_missing_process)
{
	struct hd_real_process *p = hd_real_process_new();
	cr_assert_not_null(p);
	struct hd_maps m;
	cr_assert_eq(hd_real_process_ops.read_maps(p, 0x7ffffff0, &m), -1);
	cr_assert_eq(hd_error_class(), HD_E_NOENT, "%s", hd_error_message());
	struct hd_elfimage img;
	cr_assert_eq(hd_real_process_ops.open_image(p, 0x7ffffff0, &img), -1);
	cr_assert_eq(hd_error_class(), HD_E_NOENT, "%s", hd_error_message());
	hd_real_process_free(p);
}

Test(process, its_executable_is_read)
{
	/* The helper runs this test binary: an ELF file, not a native image. */
	struct fixture f;
	begin(&f);
	struct hd_elfimage img;
	cr_assert_eq(hd_real_process_ops.open_image(f.p, f.h.pid, &img), -1);
	cr_assert_eq(hd_error_class(), HD_E_NOT_NATIVE_IMAGE, "%s", hd_error_message());
	end(&f);
}

Test(process, stopped_then_released_runs_on, .timeout = 60)
{
	struct fixture f;
	begin(&f);
	const struct hd_process_ops *ops = &hd_real_process_ops;
	cr_assert_eq(tracer_of(f.h.pid), 0);
	struct hd_target t;
	cr_assert_eq(ops->stop(f.p, &t, f.h.pid), 0, "%s", hd_error_message());
	cr_assert_eq(t.pid, f.h.pid);
	cr_assert_eq(t.n, 1);
	cr_assert_eq(tracer_of(f.h.pid), getpid(), "held by us");
	ops->release(f.p, &t);
	cr_assert_eq(tracer_of(f.h.pid), 0, "let go");
	ops->release(f.p, &t); /* idempotent */
	target_free(&t);
	end(&f);
}

Test(process, forked_and_the_fork_discarded, .timeout = 60)
{
	struct fixture f;
	begin(&f);
	const struct hd_process_ops *ops = &hd_real_process_ops;
	cr_assert_eq(ops->discard_fork(f.p), 0, "no fork yet: nothing to do");
	cr_assert_eq(ops->fork_allowed(f.p, f.h.pid), 0, "a small helper: %s", hd_error_message());
	struct hd_target t;
	cr_assert_eq(ops->stop(f.p, &t, f.h.pid), 0, "%s", hd_error_message());
	struct hd_maps m;
	cr_assert_eq(ops->read_maps(f.p, f.h.pid, &m), 0, "%s", hd_error_message());
	hd_memview *mv = ops->open_memory(f.p, f.h.pid);
	cr_assert_not_null(mv);
	pid_t child = 0;
	cr_assert_eq(ops->fork(f.p, &t, mv, &m, &child), 0, "%s", hd_error_message());
	ops->release(f.p, &t);
	cr_assert_gt(child, 0);
	cr_assert_eq(tracee_children(f.h.pid), 1);
	/* The fork child's memory is the helper's at the fork. */
	hd_memview *cv = ops->open_memory(f.p, child);
	cr_assert_not_null(cv);
	uint64_t seen = 0;
	cr_assert_eq(mv_read(cv, f.at, &seen, sizeof seen), 0, "%s", hd_error_message());
	cr_assert_eq(seen, 0x6d61726b6572ull);
	mv_free(cv);
	cr_assert_eq(ops->discard_fork(f.p), 0, "%s", hd_error_message());
	cr_assert_eq(tracee_children(f.h.pid), 0, "reaped");
	cr_assert(kill(child, 0) != 0 && errno == ESRCH, "fork %d still exists", (int)child);
	cr_assert_eq(ops->discard_fork(f.p), 0, "a second discard is a no-op");
	mv_free(mv);
	maps_free(&m);
	target_free(&t);
	end(&f);
}
