/* Why ptrace was refused (agent/eperm.h): a process another tracer holds,
 * one of another user (seen from an unprivileged child), and the general
 * case, each with the class and the advice the message gives. */
#include "../../agent/eperm.h"
#include "../../common/hd_error.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

/* A child that blocks on a pipe until the test closes it. */
static pid_t idle_child(int *hold)
{
	int p[2];
	cr_assert(pipe(p) == 0);
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		close(p[1]);
		char c;
		while (read(p[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(p[0]);
	*hold = p[1];
	return pid;
}

Test(eperm, a_traced_process_names_its_tracer)
{
	int hold;
	pid_t pid = idle_child(&hold);
	cr_assert(ptrace(PTRACE_SEIZE, pid, 0, 0) == 0);
	cr_assert_eq(target_explain_eperm(pid), -1);
	cr_assert_eq(hd_error_class(), HD_E_TRACED, "%s", hd_error_message());
	char want[64];
	snprintf(want, sizeof want, "traced by process %d", (int)getpid());
	cr_assert(strstr(hd_error_message(), want), "%s", hd_error_message());
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(hold);
}

Test(eperm, the_general_case_names_what_to_grant)
{
	int hold;
	pid_t pid = idle_child(&hold);
	cr_assert_eq(target_explain_eperm(pid), -1);
	cr_assert_eq(hd_error_class(), HD_E_PERM, "%s", hd_error_message());
	cr_assert(strstr(hd_error_message(), "CAP_SYS_PTRACE"), "%s", hd_error_message());
	close(hold);
	waitpid(pid, NULL, 0);
}

/* An unprivileged process asks about this one (uid 0): another user's. */
Test(eperm, another_users_process_names_the_uid)
{
	if (geteuid() != 0)
		cr_skip("needs root, to become another user");
	int p[2];
	cr_assert(pipe(p) == 0);
	pid_t parent = getpid();
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		close(p[0]);
		char report[600];
		if (setresuid(65534, 65534, 65534) != 0)
			_exit(2);
		target_explain_eperm(parent);
		snprintf(report, sizeof report, "%d %s", (int)hd_error_class(), hd_error_message());
		_exit(write(p[1], report, strlen(report)) > 0 ? 0 : 3);
	}
	close(p[1]);
	char report[600] = "";
	ssize_t n = read(p[0], report, sizeof report - 1);
	report[n > 0 ? n : 0] = '\0';
	close(p[0]);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
	char want[32];
	snprintf(want, sizeof want, "%d ", (int)HD_E_PERM);
	cr_assert(strncmp(report, want, strlen(want)) == 0, "%s", report);
	cr_assert(strstr(report, "belongs to uid 0"), "%s", report);
}
