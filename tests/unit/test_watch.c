/* The watchdog's run (cli/watch.c) where no native image is needed: a
 * target that cannot be opened ends it with that error's code after an
 * error and an exit event; a command that cannot run likewise; a command
 * that is no native image and ends is waited for, and its status
 * reported.  Every line is one JSON object starting with its event. */
#include "../../cli/watch.h"
#include "capture.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *run(struct watch_config *c, int *code)
{
	struct capture cap;
	capture_begin(&cap, stdout);
	*code = watch_run(c);
	fflush(stdout);
	return capture_end(&cap);
}

static void config(struct watch_config *c)
{
	memset(c, 0, sizeof *c);
	c->min_interval_ms = 60000;
	c->interval_ms = 50;
	c->dir = "/tmp";
	c->snapshot_auto = true;
	hdump_options_init(&c->dump);
}

/* Each line starts with {"event":"<name>" in the order given. */
static void assert_events(const char *out, const char *const *names, size_t n)
{
	const char *p = out;
	for (size_t i = 0; i < n; i++) {
		char want[64];
		snprintf(want, sizeof want, "{\"event\":\"%s\",\"time\":\"", names[i]);
		cr_assert_eq(strncmp(p, want, strlen(want)), 0, "line %zu of:\n%s", i, out);
		p = strchr(p, '\n');
		cr_assert_not_null(p);
		p++;
	}
	cr_assert_eq(*p, '\0', "more lines than expected:\n%s", out);
}

Test(watch, a_pid_that_does_not_exist)
{
	struct watch_config c;
	config(&c);
	c.pids[c.npids++] = 999999999;
	int code;
	char *out = run(&c, &code);
	cr_assert_eq(code, hdump_exit_code(HDUMP_E_NOENT));
	assert_events(out, (const char *[]){"error", "exit"}, 2);
	cr_assert_not_null(strstr(out, "\"reason\":\"error\",\"code\":3,\"dumps\":0}"), "%s", out);
	free(out);
}

Test(watch, a_process_that_is_no_native_image)
{
	struct watch_config c;
	config(&c);
	c.pids[c.npids++] = getpid();
	int code;
	char *out = run(&c, &code);
	cr_assert_eq(code, hdump_exit_code(HDUMP_E_NOT_NATIVE_IMAGE), "%s", out);
	assert_events(out, (const char *[]){"error", "exit"}, 2);
	free(out);
}

Test(watch, a_command_that_cannot_run)
{
	struct watch_config c;
	config(&c);
	char *cmd[] = {"/nonexistent/hdump-test-command", NULL};
	c.command = cmd;
	int code;
	char *out = run(&c, &code);
	cr_assert_eq(code, hdump_exit_code(HDUMP_E_NOENT), "%s", out);
	assert_events(out, (const char *[]){"error", "exit"}, 2);
	free(out);
}

Test(watch, a_command_that_ends_is_reported)
{
	struct watch_config c;
	config(&c);
	char *cmd[] = {"/bin/sh", "-c", "exit 7", NULL};
	c.command = cmd;
	int code;
	char *out = run(&c, &code);
	cr_assert_eq(code, 0, "%s", out);
	assert_events(out, (const char *[]){"exit"}, 1);
	cr_assert_not_null(strstr(out, "\"reason\":\"command-exited\",\"code\":0,\"dumps\":0,"
				       "\"command_exit_code\":7}"), "%s", out);
	free(out);
}
