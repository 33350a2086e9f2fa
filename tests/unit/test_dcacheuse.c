/* A target's use of the discovery cache (lib/dcacheuse.c), through the
 * synthetic executable's discovery (lib/exe.c): a miss writes the entry, a
 * hit reads it back into the same class table, a damaged entry is stale
 * and rewritten, a directory others may write is off with a warning, and
 * no cache at all changes nothing. */
#include "../../common/hd_error.h"
#include "../../lib/dcacheuse.h"
#include "../../lib/exe.h"

#include "tmpdir.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char dir[64];

static void make_dir(void) { tmpdir_make(dir, sizeof dir, "test_dcacheuse"); }
static void remove_dir(void) { tmpdir_remove(dir); }

TestSuite(dcacheuse, .init = make_dir, .fini = remove_dir);

struct said {
	size_t warnings;
	char last[512];
};

static void keep(void *ctx, const struct hdump_event *ev)
{
	struct said *s = ctx;
	if (ev->kind == HDUMP_EVENT_WARNING)
		s->warnings++;
	if (ev->text && strstr(ev->text, "discovery cache"))
		snprintf(s->last, sizeof s->last, "%s", ev->text);
}

/* One discovery of the synthetic executable with U; its class count. */
static size_t discover_with(struct dcache_use *u, struct said *s)
{
	const char *path = getenv("HDUMP_SYNTH_IMAGE");
	cr_assert_not_null(path, "HDUMP_SYNTH_IMAGE is not set (run through meson test)");
	struct hd_elfimage img;
	struct exe x;
	cr_assert_eq(exe_open(&x, path, &img), 0, "%s", hd_error_message());
	x.cache = u;
	struct hd_events ev = {keep, s};
	cr_assert_eq(exe_discover(&x, &ev, NULL), 0, "%s", hd_error_message());
	size_t n = x.classes.n;
	exe_cache_write(&x, &ev);
	exe_close(&x);
	elfimage_close(&img);
	return n;
}

static struct dcache_use use_of(const char *d)
{
	return (struct dcache_use){.dir = strdup(d)};
}

Test(dcacheuse, miss_then_hit_then_stale_after_damage)
{
	struct said s = {0};
	size_t fresh = discover_with(NULL, &s);
	struct dcache_use u = use_of(dir);
	cr_assert_eq(discover_with(&u, &s), fresh);
	cr_assert_eq(u.state, HDUMP_DCACHE_MISS, "%s", s.last);
	cr_assert_not_null(strstr(s.last, "entry written"), "%s", s.last);
	cr_assert_eq(discover_with(&u, &s), fresh);
	cr_assert_eq(u.state, HDUMP_DCACHE_HIT, "%s", s.last);
	/* the last byte of the payload flipped */
	char cmd[256];
	snprintf(cmd, sizeof cmd, "f=$(ls '%s'/*.dcache) && printf '\\377' | "
		 "dd of=\"$f\" bs=1 seek=$(($(stat -c %%s \"$f\") - 1)) conv=notrunc status=none",
		 dir);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(discover_with(&u, &s), fresh);
	cr_assert_eq(u.state, HDUMP_DCACHE_STALE, "%s", s.last);
	cr_assert_eq(discover_with(&u, &s), fresh);
	cr_assert_eq(u.state, HDUMP_DCACHE_HIT, "rewritten: %s", s.last);
	cr_assert_eq(s.warnings, 0);
	dcache_use_free(&u);
}

Test(dcacheuse, a_directory_others_may_write_is_off_and_said)
{
	cr_assert_eq(chmod(dir, 0777), 0);
	struct said s = {0};
	struct dcache_use u = use_of(dir);
	size_t n = discover_with(&u, &s);
	cr_assert_gt(n, 0);
	cr_assert_eq(u.state, HDUMP_DCACHE_OFF);
	cr_assert_eq(s.warnings, 1, "refused with a warning");
	cr_assert_not_null(strstr(s.last, "writable by no one else"), "%s", s.last);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", dir);
	cr_assert_eq(system(cmd), 0, "nothing written there");
	dcache_use_free(&u);
}

Test(dcacheuse, an_unwritable_directory_warns_and_discovers)
{
	struct said s = {0};
	struct dcache_use u = use_of("/proc/hdump-no-such-dir");
	cr_assert_gt(discover_with(&u, &s), 0);
	cr_assert_eq(u.state, HDUMP_DCACHE_MISS);
	cr_assert_eq(s.warnings, 1);
	cr_assert_not_null(strstr(s.last, "not written"), "%s", s.last);
	dcache_use_free(&u);
}
