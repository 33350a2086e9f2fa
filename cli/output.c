#include "output.h"

#include "../common/hd_error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static enum hd_error_class class_of_errno(int e)
{
	return e == ENOSPC || e == EDQUOT ? HD_E_DISK_FULL : HD_E_OUTPUT;
}

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

int output_open(struct hd_output *o, const char *path, bool force)
{
	memset(o, 0, sizeof *o);
	o->fd = -1;
	o->force = force;
	if (strcmp(path, "-") == 0) {
		o->is_stdout = true;
		o->fd = STDOUT_FILENO;
		return 0;
	}
	struct stat st;
	if (!force && lstat(path, &st) == 0)
		return hd_fail(HD_E_OUTPUT_EXISTS, "%s: file exists (use --force to replace it)", path);
	if (force && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return hd_fail(HD_E_OUTPUT, "%s: is a directory", path);
	o->path = strdup(path);
	o->tmp_path = temp_name(path);
	if (!o->path || !o->tmp_path) {
		output_abort(o);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	o->fd = open(o->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (o->fd < 0) {
		int e = errno;
		free(o->tmp_path);
		o->tmp_path = NULL;
		output_abort(o);
		return hd_fail_errno(class_of_errno(e), e, "cannot create %s", path);
	}
	return 0;
}

int output_write(void *ctx, const void *buf, size_t len)
{
	struct hd_output *o = ctx;
	const char *p = buf;
	while (len) {
		ssize_t n = write(o->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			return hd_fail_errno(class_of_errno(e), e, "writing %s",
					     o->is_stdout ? "standard output" : o->path);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int output_rewind(struct hd_output *o, unsigned long long written)
{
	if (o->is_stdout)
		return written ? hd_fail(HD_E_INCONSISTENT,
					 "cannot retry a dump already streamed to standard output")
			       : 0;
	if (ftruncate(o->fd, 0) != 0 || lseek(o->fd, 0, SEEK_SET) != 0)
		return hd_fail_errno(HD_E_OUTPUT, errno, "cannot rewrite %s", o->path);
	return 0;
}

int output_commit(struct hd_output *o)
{
	if (o->is_stdout)
		return 0;
	if (fsync(o->fd) != 0) {
		int e = errno;
		return hd_fail_errno(class_of_errno(e), e, "writing %s", o->path);
	}
	if (close(o->fd) != 0) {
		int e = errno;
		o->fd = -1;
		return hd_fail_errno(class_of_errno(e), e, "writing %s", o->path);
	}
	o->fd = -1;
	int rc;
	if (o->force) {
		rc = rename(o->tmp_path, o->path);
	} else {
		/* No-replace rename: a file that appeared meanwhile is not clobbered. */
		rc = renameat2(AT_FDCWD, o->tmp_path, AT_FDCWD, o->path, RENAME_NOREPLACE);
		if (rc != 0 && errno == EEXIST)
			return hd_fail(HD_E_OUTPUT_EXISTS, "%s: file appeared during the dump", o->path);
	}
	if (rc != 0)
		return hd_fail_errno(HD_E_OUTPUT, errno, "cannot rename to %s", o->path);
	free(o->tmp_path);
	o->tmp_path = NULL;
	free(o->path);
	o->path = NULL;
	return 0;
}

void output_abort(struct hd_output *o)
{
	if (o->fd >= 0 && !o->is_stdout)
		close(o->fd);
	o->fd = -1;
	if (o->tmp_path)
		unlink(o->tmp_path);
	free(o->tmp_path);
	free(o->path);
	o->tmp_path = o->path = NULL;
}
