#include "output.h"

#include "dio.h"
#include "gzsink.h"

#include "../include/hdump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

static char *temp_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
	const char *base = path + dir_len;
	size_t n = strlen(path) + 64;
	char *tmp = malloc(n);
	if (tmp)
		snprintf(tmp, n, "%.*s.%s.hdump-%d.tmp", (int)dir_len, path, base, (int)getpid());
	return tmp;
}

/* What a name that must not be replaced is, for the message. */
static const char *kind_of(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISLNK(mode))
		return "a symbolic link (never followed)";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISFIFO(mode))
		return "a FIFO";
	return "not a regular file";
}

/* A character device or FIFO is written in place, as standard output is.
 * O_NOFOLLOW and the fstat refuse whatever was swapped in since the lstat. */
static int open_stream(struct hd_output *o, const char *path)
{
	int fd;
	do
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR && !hdump_interrupted());
	if (fd < 0 && errno == EINTR)
		return hdump_fail(HDUMP_E_INTERRUPTED, "interrupted while opening %s", path);
	if (fd < 0)
		return hdump_fail_errno(dio_error_class(errno), errno, "cannot open %s", path);
	struct stat st;
	if (fstat(fd, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
		close(fd);
		return hdump_fail(HDUMP_E_OUTPUT, "%s changed while it was being opened", path);
	}
	o->path = strdup(path);
	if (!o->path) {
		close(fd);
		return hdump_fail(HDUMP_E_INTERNAL, "out of memory");
	}
	o->fd = fd;
	o->is_stream = true;
	return 0;
}

#ifndef XFS_SUPER_MAGIC
#define XFS_SUPER_MAGIC 0x58465342
#endif

/* Whether a full disk fails the write() itself on FD's file system: ext4
 * and XFS (delayed allocation reserves the blocks as the cache takes the
 * bytes), btrfs (reserves data space), tmpfs; overlayfs writes its upper
 * layer's file, on one of those in practice.  Elsewhere (NFS, FUSE and the
 * rest) the error may come only when the cache is written back. */
static bool full_disk_fails_the_write(int fd)
{
	struct statfs fs;
	if (fstatfs(fd, &fs) != 0)
		return false;
	switch ((unsigned long)fs.f_type) {
	case EXT4_SUPER_MAGIC: /* also ext2 and ext3's */
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
	case TMPFS_MAGIC:
	case OVERLAYFS_SUPER_MAGIC:
		return true;
	default:
		return false;
	}
}

int output_open(struct hd_output *o, const char *path, bool force)
{
	memset(o, 0, sizeof *o);
	o->fd = -1;
	o->force = force;
	if (strcmp(path, "-") == 0) {
		o->is_stream = true;
		o->fd = STDOUT_FILENO;
		return 0;
	}
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))
			return open_stream(o, path);
		if (!S_ISREG(st.st_mode))
			return hdump_fail(HDUMP_E_OUTPUT, "%s is %s; hdump replaces only regular files", path,
				       kind_of(st.st_mode));
		if (!force)
			return hdump_fail(HDUMP_E_OUTPUT_EXISTS, "%s: file exists (use --force to replace it)",
				       path);
	}
	o->path = strdup(path);
	o->tmp_path = temp_name(path);
	if (!o->path || !o->tmp_path) {
		output_abort(o);
		return hdump_fail(HDUMP_E_INTERNAL, "out of memory");
	}
	o->fd = open(o->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (o->fd < 0) {
		int e = errno;
		free(o->tmp_path);
		o->tmp_path = NULL;
		output_abort(o);
		return hdump_fail_errno(dio_error_class(e), e, "cannot create %s", path);
	}
	o->wait_for_device = !full_disk_fails_the_write(o->fd);
	o->dio = dio_new(o->fd, o->path,
			 (struct dio_options){.cache_budget = dio_cache_budget(),
					      .write_back_early = o->wait_for_device});
	if (!o->dio) {
		output_abort(o);
		return -1;
	}
	return 0;
}

/* What reaches the file: the dump's bytes, or gzip's. */
static int file_write(void *ctx, const void *buf, size_t len)
{
	struct hd_output *o = ctx;
	if (o->dio) {
		if (dio_write(o->dio, buf, len) != 0)
			return -1;
		o->bytes_out += len;
		return 0;
	}
	const char *p = buf;
	while (len) {
		/* A stream's reader may stall: a signal to hdump ends the wait. */
		if (hdump_interrupted())
			return hdump_fail(HDUMP_E_INTERRUPTED, "interrupted by signal %d",
				       hdump_interrupted());
		ssize_t n = write(o->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			return hdump_fail_errno(dio_error_class(e), e, "writing %s",
					     o->path ? o->path : "standard output");
		}
		p += n;
		len -= (size_t)n;
		o->bytes_out += (uint64_t)n;
	}
	return 0;
}

static int file_rewind(void *ctx, uint64_t written)
{
	struct hd_output *o = ctx;
	if (o->is_stream)
		return written ? hdump_fail(HDUMP_E_OUTPUT, "cannot retry a dump already streamed to %s",
					 o->path ? o->path : "standard output")
			       : 0;
	if (dio_rewind(o->dio) != 0)
		return -1;
	o->bytes_out = 0;
	return 0;
}

int output_write(void *ctx, const void *buf, size_t len)
{
	struct hd_output *o = ctx;
	if ((o->gz ? gzsink_write(o->gz, buf, len) : file_write(o, buf, len)) != 0)
		return -1;
	o->bytes_in += len;
	return 0;
}

int output_rewind(void *ctx, uint64_t written)
{
	struct hd_output *o = ctx;
	if ((o->gz ? gzsink_rewind(o->gz, written) : file_rewind(o, written)) != 0)
		return -1;
	o->bytes_in = 0;
	return 0;
}

struct hdump_sink output_sink(struct hd_output *o)
{
	return (struct hdump_sink){output_write, o->is_stream ? NULL : output_rewind, o};
}

int output_set_gzip(struct hd_output *o, unsigned threads, int level)
{
	if (o->gz || o->bytes_out)
		return hdump_fail(HDUMP_E_USAGE, "gzip must be chosen before the output is written");
	o->gz = gzsink_new(&(struct hdump_sink){file_write, file_rewind, o}, threads, level);
	return o->gz ? 0 : -1;
}

bool output_name_wants_gzip(const char *path)
{
	size_t n = strlen(path);
	return n >= 3 && strcmp(path + n - 3, ".gz") == 0;
}

/* Where a full disk may show only at write-back (wait_for_device): hands
 * what went through the page cache to the device and waits for those
 * writes, so that a full disk is this dump's error, not a silent loss after
 * hdump exited 0.  Unlike fsync it leaves the device's own cache alone:
 * flushing that (0.2-0.6 s here) is what only --sync pays. */
static int write_out_cached(const struct hd_output *o)
{
	if (sync_file_range(o->fd, 0, 0,
			    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				    SYNC_FILE_RANGE_WAIT_AFTER) == 0)
		return 0;
	int e = errno;
	/* A file system without it has nothing to report: the rename makes
	 * the file whole for every reader all the same. */
	if (e != EIO && e != ENOSPC && e != EDQUOT)
		return 0;
	return hdump_fail_errno(dio_error_class(e), e, "writing %s", o->path);
}

/* The directory the file is renamed in, opened before the rename (an
 * unreadable one fails while the file is still a temporary), synced after
 * it: the new name is what a crash must not lose. */
static int open_parent(const struct hd_output *o)
{
	const char *slash = strrchr(o->path, '/');
	char *dir = slash ? strndup(o->path, slash == o->path ? 1 : (size_t)(slash - o->path))
			  : strdup(".");
	if (!dir)
		return hdump_fail(HDUMP_E_INTERNAL, "out of memory");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int e = errno;
	free(dir);
	if (fd < 0)
		return hdump_fail_errno(HDUMP_E_OUTPUT, e, "cannot open the directory of %s to sync it",
				     o->path);
	return fd;
}

static int file_commit(struct hd_output *o)
{
	if (o->dio && dio_flush(o->dio) != 0)
		return -1;
	dio_free(o->dio);
	o->dio = NULL;
	if (o->is_stream) {
		/* Written in place: nothing to hand over nor to name. */
	} else if (o->sync && fsync(o->fd) != 0) {
		int e = errno;
		return hdump_fail_errno(dio_error_class(e), e, "writing %s", o->path);
	} else if (!o->sync && o->wait_for_device && write_out_cached(o) != 0) {
		return -1;
	}
	if (close(o->fd) != 0) {
		int e = errno;
		o->fd = -1;
		return hdump_fail_errno(dio_error_class(e), e, "writing %s", o->path);
	}
	o->fd = -1;
	return 0;
}

/* Gives the temporary file its final name; then, with --sync, makes the
 * name durable.  DIR_FD: the parent's (open_parent), -1 without --sync. */
static int file_rename(struct hd_output *o, int dir_fd)
{
	int rc;
	struct stat st;
	if (o->force && lstat(o->path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* Swapped in during the dump: still not ours to replace. */
		return hdump_fail(HDUMP_E_OUTPUT, "%s became %s during the dump; not replaced", o->path,
			       kind_of(st.st_mode));
	} else if (o->force) {
		rc = rename(o->tmp_path, o->path);
	} else {
		/* No-replace rename: a file that appeared meanwhile is not clobbered. */
		rc = renameat2(AT_FDCWD, o->tmp_path, AT_FDCWD, o->path, RENAME_NOREPLACE);
		if (rc != 0 && errno == EEXIST)
			return hdump_fail(HDUMP_E_OUTPUT_EXISTS, "%s: file appeared during the dump", o->path);
	}
	if (rc != 0)
		return hdump_fail_errno(HDUMP_E_OUTPUT, errno, "cannot rename to %s", o->path);
	free(o->tmp_path);
	o->tmp_path = NULL;
	/* The file is complete under its name by now; only its durability is
	 * in doubt, and the message says so. */
	if (dir_fd >= 0 && fsync(dir_fd) != 0)
		return hdump_fail_errno(dio_error_class(errno), errno,
				     "%s is written, but syncing its directory failed", o->path);
	free(o->path);
	o->path = NULL;
	return 0;
}

int output_commit(struct hd_output *o)
{
	if (o->gz && gzsink_finish(o->gz) != 0)
		return -1;
	if (o->is_stream && !o->path)
		return 0;
	int dir_fd = o->sync && !o->is_stream ? open_parent(o) : -1;
	if (o->sync && !o->is_stream && dir_fd < 0)
		return -1;
	int rc = file_commit(o);
	if (rc == 0 && !o->is_stream)
		rc = file_rename(o, dir_fd);
	if (dir_fd >= 0)
		close(dir_fd);
	return rc;
}

void output_abort(struct hd_output *o)
{
	gzsink_free(o->gz); /* its threads stop before the file goes */
	o->gz = NULL;
	dio_free(o->dio);
	o->dio = NULL;
	if (o->fd >= 0 && o->fd != STDOUT_FILENO)
		close(o->fd);
	o->fd = -1;
	if (o->tmp_path)
		unlink(o->tmp_path);
	free(o->tmp_path);
	free(o->path);
	o->tmp_path = o->path = NULL;
}
