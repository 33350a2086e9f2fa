/* The command line (cli/options.c): every option into struct cli_options,
 * every bad value's one-line message and exit code, --help and --version. */
#include "../../cli/options.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parsed {
	bool run;
	int exit_code;
	struct cli_options opt;
	char out[8192], err[512];
};

/* Parses the NULL-terminated arguments after "hdump", capturing OUT and ERR. */
static void parse(struct parsed *p, ...)
{
	char *argv[32] = {"hdump"};
	int argc = 1;
	va_list ap;
	va_start(ap, p);
	for (char *a; (a = va_arg(ap, char *));) {
		cr_assert_lt(argc, 31);
		argv[argc++] = a;
	}
	va_end(ap);
	memset(p, 0, sizeof *p);
	p->exit_code = -99;
	FILE *out = fmemopen(p->out, sizeof p->out - 1, "w");
	FILE *err = fmemopen(p->err, sizeof p->err - 1, "w");
	cr_assert(out && err);
	p->run = options_parse(argc, argv, &p->opt, out, err, &p->exit_code);
	fclose(out);
	fclose(err);
}

static void expect_usage_error(struct parsed *p, const char *message)
{
	cr_assert_not(p->run);
	cr_assert_eq(p->exit_code, 2);
	cr_assert_str_eq(p->err, message);
}

Test(options, defaults_with_exe)
{
	struct parsed p;
	parse(&p, "--exe", "img", NULL);
	cr_assert(p.run);
	cr_assert_str_eq(p.opt.exe, "img");
	cr_assert_eq(p.opt.pid, 0);
	cr_assert_null(p.opt.output);
	cr_assert_not(p.opt.force || p.opt.histo || p.opt.json || p.opt.verbose ||
		      p.opt.list_isolates || p.opt.sync);
	struct hdump_options d;
	hdump_options_init(&d);
	cr_assert_eq(memcmp(&p.opt.dump, &d, sizeof d), 0, "the library's defaults");
	cr_assert_str_empty(p.err);
}

Test(options, every_option)
{
	struct parsed p;
	parse(&p, "-p", "1234", "-o", "out.hprof", "-f", "--histo", "--json", "--isolate", "3",
	      "--list-isolates", "--retries", "7", "--threads", "2", "--snapshot=fork", "-v",
	      "--jdk", "/opt/jdk-21", "--sync", NULL);
	cr_assert(p.run, "%s", p.err);
	cr_assert_eq(p.opt.pid, 1234);
	cr_assert_null(p.opt.exe);
	cr_assert_str_eq(p.opt.output, "out.hprof");
	cr_assert(p.opt.force && p.opt.histo && p.opt.json && p.opt.list_isolates &&
		  p.opt.verbose && p.opt.sync);
	cr_assert_eq(p.opt.dump.isolate, 3);
	cr_assert_eq(p.opt.dump.retries, 7);
	cr_assert_eq(p.opt.dump.threads, 2);
	cr_assert_eq(p.opt.dump.snapshot, HDUMP_SNAPSHOT_FORK);
	cr_assert_str_eq(p.opt.jdk, "/opt/jdk-21");
}

Test(options, long_names)
{
	struct parsed p;
	parse(&p, "--pid", "99", "--output", "-", "--force", "--verbose", "--snapshot", "copy",
	      NULL);
	cr_assert(p.run, "%s", p.err);
	cr_assert_eq(p.opt.pid, 99);
	cr_assert_str_eq(p.opt.output, "-");
	cr_assert(p.opt.force && p.opt.verbose);
	cr_assert_eq(p.opt.dump.snapshot, HDUMP_SNAPSHOT_COPY);
	parse(&p, "--exe", "img", "--snapshot=copy", "--snapshot=stop", NULL);
	cr_assert(p.run);
	cr_assert_eq(p.opt.dump.snapshot, HDUMP_SNAPSHOT_STOP, "the last one counts");
}

Test(options, bounds_accepted)
{
	struct parsed p;
	parse(&p, "--exe", "img", "--threads", "1", "--retries", "0", "--isolate", "0", NULL);
	cr_assert(p.run, "%s", p.err);
	cr_assert_eq(p.opt.dump.threads, 1);
	cr_assert_eq(p.opt.dump.retries, 0);
	cr_assert_eq(p.opt.dump.isolate, 0);
	parse(&p, "--exe", "img", "--threads", "8", "--retries", "100", "--isolate", "1000", NULL);
	cr_assert(p.run, "%s", p.err);
	cr_assert_eq(p.opt.dump.threads, 8);
	cr_assert_eq(p.opt.dump.retries, 100);
	cr_assert_eq(p.opt.dump.isolate, 1000);
	parse(&p, "-p", "2147483647", NULL);
	cr_assert(p.run, "%s", p.err);
	cr_assert_eq(p.opt.pid, 2147483647);
}

Test(options, bad_pid)
{
	struct parsed p;
	const char *bad[] = {"0", "-5", "12x", "", "2147483648", "abc"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		parse(&p, "-p", bad[i], NULL);
		char want[128];
		snprintf(want, sizeof want, "hdump: --pid takes a process id, not '%s'\n", bad[i]);
		expect_usage_error(&p, want);
	}
}

Test(options, bad_numbers)
{
	static const struct {
		const char *option, *value, *message;
	} bad[] = {
		{"--threads", "0", "hdump: --threads takes a number from 1 to 8\n"},
		{"--threads", "9", "hdump: --threads takes a number from 1 to 8\n"},
		{"--retries", "101", "hdump: --retries takes a number from 0 to 100\n"},
		{"--retries", "-1", "hdump: --retries takes a number from 0 to 100\n"},
		{"--isolate", "1001", "hdump: --isolate takes an isolate number (see --list-isolates)\n"},
		{"--isolate", "one", "hdump: --isolate takes an isolate number (see --list-isolates)\n"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct parsed p;
		parse(&p, "--exe", "img", (char *)bad[i].option, (char *)bad[i].value, NULL);
		expect_usage_error(&p, bad[i].message);
	}
}

Test(options, bad_snapshot)
{
	struct parsed p;
	parse(&p, "--exe", "img", "--snapshot=later", NULL);
	expect_usage_error(&p, "hdump: --snapshot takes 'stop', 'copy' or 'fork'\n");
}

Test(options, exactly_one_target)
{
	const char *msg = "hdump: give exactly one of -p PID or --exe FILE (see --help)\n";
	struct parsed p;
	parse(&p, NULL);
	expect_usage_error(&p, msg);
	parse(&p, "-p", "1", "--exe", "img", NULL);
	expect_usage_error(&p, msg);
	parse(&p, "--exe", "img", "stray", NULL);
	expect_usage_error(&p, msg);
}

Test(options, unknown_option)
{
	struct parsed p;
	parse(&p, "--exe", "img", "--bogus", NULL);
	expect_usage_error(&p, "Try 'hdump --help'.\n");
	parse(&p, "--exe", NULL);
	expect_usage_error(&p, "Try 'hdump --help'.\n");
}

Test(options, help_lists_options_and_exit_codes)
{
	struct parsed p;
	parse(&p, "--exe", "img", "-h", NULL);
	cr_assert_not(p.run);
	cr_assert_eq(p.exit_code, 0);
	cr_assert_str_empty(p.err);
	cr_assert(strncmp(p.out, "Usage: hdump -p PID [options]", 29) == 0, "%s", p.out);
	const char *options[] = {"--pid", "--exe", "--output", "--force", "--histo", "--json",
				 "--isolate", "--list-isolates", "--snapshot", "--retries",
				 "--threads", "--verbose", "--help", "--version", "--sync"};
	for (size_t i = 0; i < sizeof options / sizeof *options; i++)
		cr_assert_not_null(strstr(p.out, options[i]), "%s", options[i]);
	/* One line per exit code, as hdump's error classes map them. */
	for (int c = HDUMP_OK; c < HDUMP_ERROR_CLASS_COUNT; c++) {
		const char *desc = hdump_error_description((enum hdump_error_class)c);
		if (!desc)
			continue;
		char line[256];
		snprintf(line, sizeof line, "\n  %3d  %s\n", hdump_exit_code((enum hdump_error_class)c),
			 desc);
		cr_assert_not_null(strstr(p.out, line), "%s", line);
	}
}

Test(options, version)
{
	struct parsed p;
	parse(&p, "--version", NULL);
	cr_assert_not(p.run);
	cr_assert_eq(p.exit_code, 0);
	cr_assert_str_eq(p.out, "hdump " HDUMP_VERSION "\n");
}

Test(options, parsed_again_from_the_start)
{
	struct parsed p;
	parse(&p, "--exe", "a", "--histo", NULL);
	cr_assert(p.run);
	parse(&p, "--exe", "b", NULL);
	cr_assert(p.run);
	cr_assert_str_eq(p.opt.exe, "b");
	cr_assert_not(p.opt.histo, "nothing kept from the first parse");
}

/* ---- --core (issue 12) ---- */

Test(options, core_with_or_without_its_executable)
{
	struct parsed p;
	parse(&p, "--core", "core.123", NULL);
	cr_assert(p.run, "%s", p.err);
	cr_assert_str_eq(p.opt.core, "core.123");
	cr_assert_null(p.opt.exe);
	cr_assert_not(p.opt.dump.partial);
	parse(&p, "--core", "core.123", "--exe", "bin/app", "--partial", "-o", "x.hprof", NULL);
	cr_assert(p.run, "%s", p.err);
	cr_assert_str_eq(p.opt.exe, "bin/app");
	cr_assert(p.opt.dump.partial);
}

Test(options, core_refuses_a_pid_and_partial_needs_a_core)
{
	struct parsed p;
	parse(&p, "--core", "core.123", "-p", "42", NULL);
	expect_usage_error(&p, "hdump: --core takes no -p PID (see --help)\n");
	parse(&p, "--exe", "img", "--partial", NULL);
	expect_usage_error(&p, "hdump: --partial needs --core\n");
}

Test(options, discovery_cache_dir_or_none)
{
	struct parsed p;
	parse(&p, "--exe", "img", NULL);
	cr_assert(p.run);
	cr_assert_null(p.opt.cache_dir, "the default directory");
	cr_assert_not(p.opt.no_cache);
	parse(&p, "-p", "42", "--cache-dir", "/var/cache/hd", NULL);
	cr_assert(p.run);
	cr_assert_str_eq(p.opt.cache_dir, "/var/cache/hd");
	parse(&p, "--exe", "img", "--no-cache", NULL);
	cr_assert(p.run);
	cr_assert(p.opt.no_cache);
	parse(&p, "--exe", "img", "--cache-dir", NULL);
	cr_assert_not(p.run, "--cache-dir needs its DIR");
}
