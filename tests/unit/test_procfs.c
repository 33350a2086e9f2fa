/* /proc readers (common/procfs.h): the task enumerator on a helper with
 * several threads and on a process that is gone; the field and number
 * readers on crafted files. */
#include "../../common/hd_error.h"
#include "../../common/procfs.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXTRA_THREADS 4

static int report_fd, block_fd;

static void *report_and_block(void *arg)
{
	(void)arg;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	if (write(report_fd, &tid, sizeof tid) != sizeof tid)
		_exit(3);
	char c;
	while (read(block_fd, &c, 1) > 0)
		;
	return NULL;
}

Test(procfs, lists_every_thread_of_a_helper, .timeout = 60)
{
	int rep[2], blk[2];
	cr_assert(pipe(rep) == 0 && pipe(blk) == 0);
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		report_fd = rep[1];
		block_fd = blk[0];
		close(blk[1]);
		for (int i = 0; i < EXTRA_THREADS; i++) {
			pthread_t th;
			if (pthread_create(&th, NULL, report_and_block, NULL) != 0)
				_exit(2);
		}
		report_and_block(NULL);
		_exit(0);
	}
	close(rep[1]);
	close(blk[0]);
	pid_t want[EXTRA_THREADS + 1];
	for (int i = 0; i <= EXTRA_THREADS; i++)
		cr_assert_eq(read(rep[0], &want[i], sizeof want[i]), (ssize_t)sizeof want[i]);
	pid_t *tids;
	size_t n;
	cr_assert(procfs_tasks(pid, &tids, &n) == 0, "%s", hd_error_message());
	cr_assert_eq(n, EXTRA_THREADS + 1);
	for (int i = 0; i <= EXTRA_THREADS; i++) {
		bool found = false;
		for (size_t k = 0; k < n; k++)
			found |= tids[k] == want[i];
		cr_assert(found, "thread %d not listed", (int)want[i]);
	}
	free(tids);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(rep[0]);
	close(blk[1]);
	cr_assert(procfs_tasks(pid, &tids, &n) != 0, "a reaped process has no tasks");
	cr_assert_eq(hd_error_class(), HD_E_TARGET_GONE);
	cr_assert_null(tids);
	cr_assert_eq(n, 0);
}

static char *crafted(const char *text)
{
	static char path[] = "/tmp/hdump-procfs-XXXXXX";
	strcpy(path, "/tmp/hdump-procfs-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

Test(procfs, fields_by_whole_key)
{
	char *path = crafted("Name:\tpkl\nKey2:\t7\nRssAnon:\t    1234 kB\nKey:\t9\n");
	cr_assert_eq(procfs_field(path, "RssAnon"), 1234, "kB stay kB");
	cr_assert_eq(procfs_field(path, "Key"), 9, "not Key2's value");
	cr_assert_eq(procfs_field(path, "Missing"), -1);
	unlink(path);
	cr_assert_eq(procfs_field(path, "Key"), -1, "no file");
}

Test(procfs, single_numbers)
{
	char *path = crafted("123456\n");
	cr_assert_eq(procfs_number(path), 123456);
	unlink(path);
	path = crafted("max\n");
	cr_assert_eq(procfs_number(path), -1, "no limit");
	unlink(path);
	path = crafted("");
	cr_assert_eq(procfs_number(path), -1);
	unlink(path);
	cr_assert_eq(procfs_number(path), -1, "no file");
}
