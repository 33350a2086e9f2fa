/* The dump's output (cli/output.c): only a regular file, or nothing, is
 * ever replaced; character devices and FIFOs are written in place as
 * streams; symlinks, directories, sockets and block devices are refused,
 * --force or not. */
#include "../../cli/dio.h"
#include "../../cli/output.h"
#include "../../include/hdump.h"
#include "tmpdir.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];
static char path[PATH_MAX];

static void make_dir(void)
{
	tmpdir_make(dir, sizeof dir, "test_output");
	snprintf(path, sizeof path, "%s/out", dir);
}

static void remove_dir(void) { tmpdir_remove(dir); }

TestSuite(output, .init = make_dir, .fini = remove_dir);

/* Everything in DIR but the names the test made itself: no temp file left. */
static int entries(void)
{
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof cmd, "ls -A %s | wc -l", dir);
	FILE *p = popen(cmd, "r");
	int n = -1;
	cr_assert_not_null(p);
	cr_assert_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static void write_file(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static void expect_contents(const char *p, const char *want)
{
	char got[64] = {0};
	FILE *f = fopen(p, "r");
	cr_assert_not_null(f, "%s: %s", p, strerror(errno));
	size_t n = fread(got, 1, sizeof got - 1, f);
	fclose(f);
	cr_assert_eq(n, strlen(want));
	cr_assert_str_eq(got, want);
}

static void dump_text(const char *target, bool force, const char *text)
{
	struct hd_output o;
	cr_assert_eq(output_open(&o, target, force), 0, "%s", hdump_error().message);
	cr_assert_eq(output_write(&o, text, strlen(text)), 0, "%s", hdump_error().message);
	cr_assert_eq(output_commit(&o), 0, "%s", hdump_error().message);
	output_abort(&o);
}

static void expect_refused(const char *target, bool force, enum hdump_error_class cls)
{
	struct hd_output o;
	cr_assert_eq(output_open(&o, target, force), -1, "%s opened (force %d)", target, force);
	cr_assert_eq(hdump_error().cls, cls, "%s: %s", target, hdump_error().message);
	output_abort(&o);
}

static void expect_char_device(const char *p, dev_t rdev)
{
	struct stat st;
	cr_assert_eq(lstat(p, &st), 0);
	cr_assert(S_ISCHR(st.st_mode), "%s is no longer a character device", p);
	cr_assert_eq(st.st_rdev, rdev);
}

Test(output, dev_null_is_a_stream_with_or_without_force)
{
	struct stat before;
	cr_assert_eq(stat("/dev/null", &before), 0);
	dump_text("/dev/null", false, "JAVA PROFILE 1.0.2");
	expect_char_device("/dev/null", before.st_rdev);
	/* --force on a private twin of /dev/null: a regression must not cost
	 * the machine its /dev/null. */
	if (mknod(path, S_IFCHR | 0666, before.st_rdev) != 0)
		cr_skip("mknod of a character device needs CAP_MKNOD (%s)", strerror(errno));
	dump_text(path, true, "JAVA PROFILE 1.0.2");
	expect_char_device(path, before.st_rdev);
	cr_assert_eq(entries(), 1);
}

Test(output, a_stream_cannot_start_over)
{
	struct stat null;
	cr_assert_eq(stat("/dev/null", &null), 0);
	if (mknod(path, S_IFCHR | 0666, null.st_rdev) != 0)
		cr_skip("mknod of a character device needs CAP_MKNOD (%s)", strerror(errno));
	struct hd_output o;
	cr_assert_eq(output_open(&o, path, true), 0);
	cr_assert_eq(output_rewind(&o, 0), 0);
	cr_assert_eq(output_write(&o, "x", 1), 0);
	cr_assert_eq(output_rewind(&o, 1), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_OUTPUT);
	output_abort(&o);
}

/* The library reads the heap once only into a sink that can start over: a
 * file's; a stream's sink has no rewind. */
Test(output, only_a_file_sink_can_start_over)
{
	struct hd_output o;
	cr_assert_eq(output_open(&o, "/dev/null", false), 0, "%s", hdump_error().message);
	struct hdump_sink s = output_sink(&o);
	cr_assert(s.write == output_write && s.ctx == &o);
	cr_assert_null(s.rewind, "a stream's sink has a rewind");
	output_abort(&o);
	cr_assert_eq(output_open(&o, path, false), 0, "%s", hdump_error().message);
	s = output_sink(&o);
	cr_assert(s.rewind == output_rewind && s.ctx == &o, "a file's sink cannot start over");
	output_abort(&o);
	cr_assert_eq(entries(), 0);
}

/* The timeout: a dump that does not reach the FIFO leaves its reader blocked. */
Test(output, a_fifo_gets_the_stream_and_stays_a_fifo, .timeout = 30)
{
	cr_assert_eq(mkfifo(path, 0600), 0);
	int back[2];
	cr_assert_eq(pipe(back), 0);
	pid_t reader = fork();
	cr_assert_neq(reader, -1);
	if (reader == 0) {
		/* Reads everything and sends it back through the pipe. */
		int fd = open(path, O_RDONLY);
		char buf[256];
		ssize_t n, total = 0;
		while (fd >= 0 && (n = read(fd, buf + total, sizeof buf - (size_t)total)) > 0)
			total += n;
		_exit(write(back[1], buf, (size_t)total) == total ? 0 : 1);
	}
	close(back[1]);
	dump_text(path, true, "through the fifo");
	char got[64] = {0};
	ssize_t n = read(back[0], got, sizeof got - 1);
	int status;
	cr_assert_eq(waitpid(reader, &status, 0), reader);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_eq(n, (ssize_t)strlen("through the fifo"));
	cr_assert_str_eq(got, "through the fifo");
	struct stat st;
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISFIFO(st.st_mode));
	cr_assert_eq(entries(), 1);
}

Test(output, a_symlink_is_never_followed_nor_replaced)
{
	char victim[PATH_MAX + 8];
	snprintf(victim, sizeof victim, "%s/victim", dir);
	write_file(victim, "keep");
	cr_assert_eq(symlink(victim, path), 0);
	expect_refused(path, false, HDUMP_E_OUTPUT);
	expect_refused(path, true, HDUMP_E_OUTPUT);
	expect_contents(victim, "keep");
	struct stat st;
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISLNK(st.st_mode));
	/* A link to a device is not a way around the rule either. */
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(symlink("/dev/null", path), 0);
	expect_refused(path, true, HDUMP_E_OUTPUT);
	cr_assert_eq(entries(), 2);
}

Test(output, a_regular_file_is_replaced_only_with_force)
{
	write_file(path, "keep");
	expect_refused(path, false, HDUMP_E_OUTPUT_EXISTS);
	expect_contents(path, "keep");
	dump_text(path, true, "replaced");
	expect_contents(path, "replaced");
	struct stat st;
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(entries(), 1);
}

Test(output, a_new_file_appears_complete)
{
	struct hd_output o;
	cr_assert_eq(output_open(&o, path, false), 0);
	cr_assert_eq(output_write(&o, "new", 3), 0);
	cr_assert_eq(access(path, F_OK), -1, "visible before the commit");
	cr_assert_eq(output_commit(&o), 0);
	output_abort(&o);
	expect_contents(path, "new");
	cr_assert_eq(entries(), 1);
}

Test(output, directories_sockets_and_block_devices_are_refused)
{
	cr_assert_eq(mkdir(path, 0700), 0);
	expect_refused(path, false, HDUMP_E_OUTPUT);
	expect_refused(path, true, HDUMP_E_OUTPUT);
	cr_assert_eq(rmdir(path), 0);

	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	cr_assert_lt(strlen(path), sizeof sa.sun_path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	expect_refused(path, false, HDUMP_E_OUTPUT);
	expect_refused(path, true, HDUMP_E_OUTPUT);
	struct stat st;
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	close(s);
	cr_assert_eq(unlink(path), 0);

	if (mknod(path, S_IFBLK | 0600, makedev(7, 0)) != 0)
		cr_skip("mknod of a block device needs CAP_MKNOD (%s)", strerror(errno));
	expect_refused(path, false, HDUMP_E_OUTPUT);
	expect_refused(path, true, HDUMP_E_OUTPUT);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISBLK(st.st_mode));
	cr_assert_eq(entries(), 1);
}

Test(output, a_device_swapped_in_during_the_dump_is_not_replaced)
{
	write_file(path, "old");
	struct hd_output o;
	cr_assert_eq(output_open(&o, path, true), 0);
	cr_assert_eq(output_write(&o, "new", 3), 0);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_assert_eq(output_commit(&o), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_OUTPUT, "%s", hdump_error().message);
	output_abort(&o);
	struct stat st;
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISFIFO(st.st_mode));
	cr_assert_eq(entries(), 1, "the temporary file was left");
}

/* gzip: the file appears complete under its name, gzip inside, with the
 * counts of what went in and what reached it; a retry starts the member
 * over; gzip cannot be chosen once bytes went out. */
Test(output, a_gzip_file_appears_complete_and_starts_over_on_a_rewind)
{
	snprintf(path, sizeof path, "%s/out.hprof.gz", dir);
	cr_assert(output_name_wants_gzip(path));
	cr_assert_not(output_name_wants_gzip("out.hprof"));
	cr_assert_not(output_name_wants_gzip("gz"));
	struct hd_output o;
	cr_assert_eq(output_open(&o, path, false), 0, "%s", hdump_error().message);
	cr_assert_eq(output_set_gzip(&o, 2, 0), 0, "%s", hdump_error().message);
	cr_assert_eq(output_write(&o, "torn attempt", 12), 0);
	cr_assert_eq(output_rewind(&o, 12), 0, "%s", hdump_error().message);
	const char *text = "JAVA PROFILE 1.0.2";
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(output_write(&o, text, strlen(text)), 0);
	cr_assert_eq(entries(), 1, "only the temporary file so far");
	cr_assert_eq(output_commit(&o), 0, "%s", hdump_error().message);
	cr_assert_eq(o.bytes_in, 1000 * strlen(text));
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq((uint64_t)st.st_size, o.bytes_out);
	cr_assert_lt(o.bytes_out, o.bytes_in / 10);
	output_abort(&o);
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof cmd, "gzip -dc %s | head -c 18", path);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char got[32] = {0};
	size_t n = fread(got, 1, sizeof got - 1, p);
	int status = pclose(p);
	cr_assert_eq(n, 18);
	cr_assert_str_eq(got, text, "the retry's bytes, not the torn attempt's");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(cmd, sizeof cmd, "gzip -dc %s | wc -c", path);
	p = popen(cmd, "r");
	unsigned long total = 0;
	cr_assert_eq(fscanf(p, "%lu", &total), 1);
	pclose(p);
	cr_assert_eq(total, 1000 * strlen(text));
	cr_assert_eq(entries(), 1);
}

Test(output, gzip_is_chosen_before_the_first_write)
{
	struct hd_output o;
	cr_assert_eq(output_open(&o, path, false), 0);
	cr_assert_eq(output_write(&o, "x", 1), 0);
	cr_assert_eq(output_set_gzip(&o, 1, 0), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_USAGE);
	output_abort(&o);
	cr_assert_eq(entries(), 0, "the temporary file is gone");
}

/* A file system of TYPE mounted with OPTS on DIR, in a mount namespace of
 * this test's own process (Criterion runs each test in a process). */
static void mount_private(const char *type, const char *opts)
{
	if (unshare(CLONE_NEWNS) != 0)
		cr_skip("unshare(CLONE_NEWNS): %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0, "%s", strerror(errno));
	if (mount("none", dir, type, 0, opts) != 0)
		cr_skip("mount -t %s: %s", type, strerror(errno));
}

/* A disk full in the middle of the dump: the write fails with exit 10's
 * class, and the temporary file goes. */
Test(output, a_full_disk_fails_the_dump_and_leaves_no_file, .timeout = 60)
{
	mount_private("tmpfs", "size=3m");
	struct hd_output o;
	cr_assert_eq(output_open(&o, path, false), 0, "%s", hdump_error().message);
	static char block[1 << 20];
	int rc = 0;
	for (int i = 0; i < 8 && rc == 0; i++)
		rc = output_write(&o, block, sizeof block);
	if (rc == 0)
		rc = output_commit(&o);
	cr_assert_eq(rc, -1, "8 MiB written to a 3 MiB file system");
	cr_assert_eq(hdump_error().cls, HDUMP_E_DISK_FULL, "%s", hdump_error().message);
	output_abort(&o);
	cr_assert_eq(entries(), 0, "the temporary file is gone");
	umount(dir);
}

/* ramfs has no O_DIRECT: the file is written through the cache, the same
 * bytes. */
Test(output, a_file_system_without_o_direct_gets_the_same_file, .timeout = 60)
{
	mount_private("ramfs", "");
	struct hd_output o;
	cr_assert_eq(output_open(&o, path, false), 0, "%s", hdump_error().message);
	cr_assert_not(dio_direct_taken(o.dio));
	static char block[(1 << 20) + 5];
	for (size_t i = 0; i < sizeof block; i++)
		block[i] = (char)(i * 7 + i / 4096);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(output_write(&o, block, sizeof block), 0, "%s", hdump_error().message);
	cr_assert_eq(output_commit(&o), 0, "%s", hdump_error().message);
	output_abort(&o);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f);
	static char got[sizeof block];
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(fread(got, 1, sizeof got, f), sizeof got);
		cr_assert_eq(memcmp(got, block, sizeof got), 0, "copy %d differs", i);
	}
	cr_assert_eq(fgetc(f), EOF);
	fclose(f);
	umount(dir);
}

/* What output.c syncs, seen by defining fsync and sync_file_range here:
 * the test's own definitions are the ones this executable's code calls.
 * Only the calls on names in DIR count (Criterion's own do not). */
static struct {
	int file_fsyncs, dir_fsyncs, cached_writes;
	bool named_at_file_fsync; /* the final name existed when the file was synced */
	bool named_at_dir_fsync;
} seen;
static int fail_file_fsync, fail_dir_fsync; /* an errno to fail with instead, 0: none */

/* True when FD is DIR or a name in it. */
static bool in_dir(int fd)
{
	char link[64], target[PATH_MAX];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n < 0)
		return false;
	target[n] = 0;
	size_t len = strlen(dir);
	return strncmp(target, dir, len) == 0 && (target[len] == 0 || target[len] == '/');
}

int fsync(int fd)
{
	struct stat st;
	if (in_dir(fd) && fstat(fd, &st) == 0) {
		bool named = access(path, F_OK) == 0;
		bool is_dir = S_ISDIR(st.st_mode);
		*(is_dir ? &seen.dir_fsyncs : &seen.file_fsyncs) += 1;
		*(is_dir ? &seen.named_at_dir_fsync : &seen.named_at_file_fsync) = named;
		int fail = is_dir ? fail_dir_fsync : fail_file_fsync;
		if (fail) {
			errno = fail;
			return -1;
		}
	}
	return (int)syscall(SYS_fsync, fd);
}

int sync_file_range(int fd, off_t off, off_t n, unsigned int flags)
{
	const unsigned wait_all = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				  SYNC_FILE_RANGE_WAIT_AFTER;
	if (in_dir(fd) && (flags & wait_all) == wait_all)
		seen.cached_writes++;
	return (int)syscall(SYS_sync_file_range, fd, off, n, flags);
}

/* A file of a little more than two blocks (so an unaligned tail), plain or
 * gzip, committed with or without sync.  The commit's result. */
static int commit_dump(bool sync, bool gzip)
{
	struct hd_output o;
	cr_assert_eq(output_open(&o, path, false), 0, "%s", hdump_error().message);
	o.sync = sync;
	if (gzip)
		cr_assert_eq(output_set_gzip(&o, 1, 0), 0, "%s", hdump_error().message);
	static char block[DIO_BLOCK + 5];
	memset(&seen, 0, sizeof seen);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(output_write(&o, block, sizeof block), 0, "%s", hdump_error().message);
	int rc = output_commit(&o);
	output_abort(&o);
	return rc;
}

/* By default the file is complete for every reader and nothing is
 * fsynced.  On tmpfs, as on ext4, XFS and btrfs, a full disk fails the
 * write itself: nothing waits for the device.  ramfs is none of those: the
 * cached bytes are written out, and waited for, before the rename. */
Test(output, by_default_nothing_is_fsynced_and_the_device_is_waited_for_only_where_needed,
     .timeout = 60)
{
	static const struct {
		const char *fs;
		int waits;
	} cases[] = {{"tmpfs", 0}, {"ramfs", 1}};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		mount_private(cases[c].fs, "");
		for (int gzip = 0; gzip < 2; gzip++) {
			cr_assert_eq(commit_dump(false, gzip), 0, "%s", hdump_error().message);
			cr_assert_eq(seen.file_fsyncs + seen.dir_fsyncs, 0, "%s, gzip %d: fsync",
				     cases[c].fs, gzip);
			cr_assert_eq(seen.cached_writes, cases[c].waits, "%s, gzip %d: %d waits",
				     cases[c].fs, gzip, seen.cached_writes);
			cr_assert_eq(access(path, F_OK), 0);
			cr_assert_eq(unlink(path), 0);
		}
		cr_assert_eq(umount(dir), 0, "%s", strerror(errno));
	}
}

/* --sync: the file is synced under its temporary name, then the directory
 * once the file has its final name (the rename is what must last). */
Test(output, sync_fsyncs_the_file_then_its_directory_after_the_rename)
{
	for (int gzip = 0; gzip < 2; gzip++) {
		cr_assert_eq(commit_dump(true, gzip), 0, "%s", hdump_error().message);
		cr_assert_eq(seen.file_fsyncs, 1, "gzip %d", gzip);
		cr_assert_not(seen.named_at_file_fsync, "gzip %d: file synced after the rename", gzip);
		cr_assert_eq(seen.dir_fsyncs, 1, "gzip %d: directory not synced", gzip);
		cr_assert(seen.named_at_dir_fsync, "gzip %d: directory synced before the rename", gzip);
		cr_assert_eq(unlink(path), 0);
	}
}

/* A failed fsync of the file is a write error (a full disk stays one) and
 * leaves no file; a failed fsync of the directory comes after the rename:
 * the file stays, complete, but hdump says the sync failed. */
Test(output, a_failed_sync_is_a_write_error)
{
	fail_file_fsync = ENOSPC;
	cr_assert_eq(commit_dump(true, false), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_DISK_FULL, "%s", hdump_error().message);
	cr_assert_eq(entries(), 0, "a file or temporary file was left");
	fail_file_fsync = 0;
	fail_dir_fsync = EIO;
	cr_assert_eq(commit_dump(true, false), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_OUTPUT, "%s", hdump_error().message);
	cr_assert(strstr(hdump_error().message, "directory"), "%s", hdump_error().message);
	cr_assert_eq(access(path, F_OK), 0, "the complete file was removed");
	cr_assert_eq(entries(), 1);
}
