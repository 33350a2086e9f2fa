/* Exact reads at an offset (common/readat.c): the bytes asked for, a file
 * that ends before them, a descriptor that cannot be read, a stop
 * request. */
#include "../../common/readat.h"
#include "../../common/interrupt.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int temp_file(size_t len)
{
	char path[] = "/tmp/hd-readat-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	for (size_t i = 0; i < len; i++) {
		uint8_t b = (uint8_t)(i * 7);
		cr_assert_eq(write(fd, &b, 1), 1);
	}
	return fd;
}

Test(readat, reads_the_bytes_asked_for)
{
	int fd = temp_file(300);
	uint8_t buf[100];
	cr_assert_eq(hd_read_at(fd, "f", 150, buf, sizeof buf), 0);
	for (size_t i = 0; i < sizeof buf; i++)
		cr_assert_eq(buf[i], (uint8_t)((150 + i) * 7));
	cr_assert_eq(hd_read_at(fd, "f", 300, buf, 0), 0, "nothing to read at the end");
	close(fd);
}

Test(readat, a_file_that_ends_first_is_a_layout_error)
{
	int fd = temp_file(300);
	uint8_t buf[100];
	cr_assert_eq(hd_read_at(fd, "the-file", 250, buf, sizeof buf), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	cr_assert(strstr(hd_error_message(), "the-file: the file shrank"), "%s",
		  hd_error_message());
	close(fd);
}

Test(readat, an_unreadable_descriptor_is_noent)
{
	uint8_t buf[4];
	cr_assert_eq(hd_read_at(-1, "gone", 0, buf, sizeof buf), -1);
	cr_assert_eq(hd_error_class(), HD_E_NOENT);
	cr_assert(strstr(hd_error_message(), "gone: read"), "%s", hd_error_message());
}

Test(readat, a_stop_request_ends_the_read)
{
	int fd = temp_file(16);
	pid_t pid = fork(); /* the flag is process-wide: a child of its own */
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		hd_install_signal_handlers();
		raise(SIGTERM);
		uint8_t buf[8];
		_exit(hd_read_at(fd, "f", 0, buf, sizeof buf) == -1 &&
			      hd_error_class() == HD_E_INTERRUPTED ? 0 : 1);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
	close(fd);
}
