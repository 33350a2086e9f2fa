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

static const char *synth_image(void)
{
	const char *path = getenv("HDUMP_SYNTH_IMAGE");
	cr_assert_not_null(path, "HDUMP_SYNTH_IMAGE is not set (run through meson test)");
	return path;
}

/* One discovery of the executable at PATH with U; its class count. */
static size_t discover_at(const char *path, struct dcache_use *u, struct said *s)
{
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

/* One discovery of the synthetic executable with U; its class count. */
static size_t discover_with(struct dcache_use *u, struct said *s)
{
	return discover_at(synth_image(), u, s);
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

/* A copy of the synthetic executable in the cache's directory, its mtime
 * set back an hour: a write now changes its identity whatever the clock
 * tick (its ctime alone might stay within one). */
static void copy_synth(char *path, size_t size)
{
	snprintf(path, size, "%s/image", dir);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "cp '%s' '%s' && touch -d '1 hour ago' '%s'", synth_image(), path,
		 path);
	cr_assert_eq(system(cmd), 0);
}

/* What dcache_use_done would record once the file is seconds old. */
static void record_identity(const struct dcache_use *u)
{
	cr_assert(u->ident_known);
	cr_assert_eq(dcache_index_add(u->dir, &u->ident, INT64_MAX / 2), 0, "%s",
		     hd_error_message());
}

/* A copy of the synthetic executable, discovered once with a cache in
 * DIR: a miss, the entry written. */
struct copied {
	char image[128];
	struct said s;
	struct dcache_use u;
	size_t fresh; /* its class count */
};

static void discover_copy(struct copied *c)
{
	copy_synth(c->image, sizeof c->image);
	c->s = (struct said){0};
	c->u = use_of(dir);
	c->fresh = discover_at(c->image, &c->u, &c->s);
	cr_assert_eq(c->u.state, HDUMP_DCACHE_MISS, "%s", c->s.last);
}

Test(dcacheuse, a_known_identity_is_not_hashed)
{
	struct copied c;
	discover_copy(&c);
	cr_assert_not(c.u.by_ident);
	record_identity(&c.u);
	uint64_t hash = c.u.key.heap_hash;
	cr_assert_eq(discover_at(c.image, &c.u, &c.s), c.fresh);
	cr_assert_eq(c.u.state, HDUMP_DCACHE_HIT, "%s", c.s.last);
	cr_assert(c.u.by_ident, "hashed: %s", c.s.last);
	cr_assert_eq(c.u.key.heap_hash, hash);
	cr_assert_not_null(strstr(c.s.last, "known by its identity"), "%s", c.s.last);
	dcache_use_free(&c.u);
}

Test(dcacheuse, a_file_rewritten_in_place_is_hashed_again)
{
	struct copied c;
	discover_copy(&c);
	record_identity(&c.u);
	struct stat before, after;
	cr_assert_eq(stat(c.image, &before), 0);
	/* the same size, the same inode, one byte 4000 from the end changed */
	char cmd[512];
	snprintf(cmd, sizeof cmd, "printf '\\125' | dd of='%s' bs=1 seek=$(($(stat -c %%s '%s') - "
		 "4000)) conv=notrunc status=none", c.image, c.image);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(stat(c.image, &after), 0);
	cr_assert_eq(after.st_ino, before.st_ino);
	cr_assert_eq(after.st_size, before.st_size);
	discover_at(c.image, &c.u, &c.s);
	cr_assert_not(c.u.by_ident, "the old identity's hash used: %s", c.s.last);
	dcache_use_free(&c.u);
}

Test(dcacheuse, an_identity_naming_the_wrong_hash_is_corrected)
{
	struct copied c;
	discover_copy(&c);
	uint64_t hash = c.u.key.heap_hash;
	/* the index says the file's bytes hash to what they do not */
	struct hd_dcache_ident wrong = c.u.ident;
	wrong.heap_hash = hash ^ 1;
	cr_assert_eq(dcache_index_add(dir, &wrong, INT64_MAX / 2), 0, "%s", hd_error_message());
	cr_assert_eq(discover_at(c.image, &c.u, &c.s), c.fresh);
	cr_assert_eq(c.u.state, HDUMP_DCACHE_MISS, "%s", c.s.last);
	cr_assert_eq(c.u.key.heap_hash, hash, "an entry to be written under the wrong hash");
	/* the index corrected as the file is seconds old; the entry written
	 * under the wrong hash is never read by the right one */
	record_identity(&c.u);
	cr_assert_eq(discover_at(c.image, &c.u, &c.s), c.fresh);
	cr_assert_eq(c.u.state, HDUMP_DCACHE_HIT, "%s", c.s.last);
	cr_assert(c.u.by_ident);
	cr_assert_eq(c.u.key.heap_hash, hash);
	dcache_use_free(&c.u);
}
