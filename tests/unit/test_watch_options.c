/* `hdump watch`'s command line (cli/watch_options.c): targets (exactly one
 * kind), triggers, limits and their defaults, and every bad value refused
 * with the usage exit code. */
#include "../../cli/watch.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static FILE *null_out(void)
{
	FILE *f = fopen("/dev/null", "we");
	cr_assert_not_null(f);
	return f;
}

/* Parses the NULL-terminated ARGS after "watch"; true to go on. */
static bool parse(struct watch_config *c, int *code, char **args)
{
	char *argv[256] = {"watch"};
	int argc = 1;
	while (args[argc - 1])
		argv[argc] = args[argc - 1], argc++;
	FILE *out = null_out(), *err = null_out();
	bool ok = watch_options_parse(argc, argv, c, out, err, code);
	fclose(out);
	fclose(err);
	return ok;
}

#define PARSE(c, code, ...) parse(c, code, (char *[]){__VA_ARGS__, NULL})

Test(watch_options, defaults)
{
	struct watch_config c;
	int code;
	cr_assert(PARSE(&c, &code, "-p", "42"));
	cr_assert_eq(c.npids, 1);
	cr_assert_eq(c.pids[0], 42);
	cr_assert_eq(c.min_interval_ms, 60000);
	cr_assert_eq(c.interval_ms, 1000);
	cr_assert_eq(c.every_ms, 0);
	cr_assert_eq(c.max_dumps, 0);
	cr_assert_eq(c.keep, 0);
	cr_assert_str_eq(c.dir, ".");
	cr_assert(c.snapshot_auto);
	cr_assert_eq(c.dump.retries, 20);
	cr_assert(!c.heap.set && !c.memory.set && !c.rss.set);
}

Test(watch_options, everything)
{
	struct watch_config c;
	int code;
	cr_assert(PARSE(&c, &code, "-p", "1", "--pid", "2", "--heap", "80%", "--memory", "1G", "--rss",
			"512M", "--every", "1h", "--trigger-file", "/run/x", "--dir", "/d", "--max-dumps",
			"3", "--min-interval", "0", "--keep", "2", "--interval", "250ms", "--snapshot=stop",
			"--retries", "7", "--threads", "2", "--on-exit", "--on-signal", "--pressure",
			"full:200ms/2s"));
	cr_assert_eq(c.npids, 2);
	cr_assert(c.heap.percent && c.heap.pct == 80);
	cr_assert_eq(c.memory.bytes, 1ull << 30);
	cr_assert_eq(c.rss.bytes, 512ull << 20);
	cr_assert_eq(c.every_ms, 3600000);
	cr_assert_str_eq(c.trigger_file, "/run/x");
	cr_assert_str_eq(c.dir, "/d");
	cr_assert_eq(c.max_dumps, 3);
	cr_assert_eq(c.min_interval_ms, 0);
	cr_assert_eq(c.keep, 2);
	cr_assert_eq(c.interval_ms, 250);
	cr_assert(!c.snapshot_auto);
	cr_assert_eq(c.dump.snapshot, HDUMP_SNAPSHOT_STOP);
	cr_assert_eq(c.dump.retries, 7);
	cr_assert_eq(c.dump.threads, 2);
	cr_assert(c.on_exit && c.on_signal);
	cr_assert(c.pressure.set && c.pressure.full && c.pressure.stall_us == 200000);
}

Test(watch_options, command_after_double_dash)
{
	struct watch_config c;
	int code;
	cr_assert(PARSE(&c, &code, "--every", "5m", "--", "pkl", "repl", "-p", "9"));
	cr_assert_not_null(c.command);
	cr_assert_str_eq(c.command[0], "pkl");
	cr_assert_str_eq(c.command[2], "-p", "options after -- belong to the command");
	cr_assert_eq(c.npids, 0);
	cr_assert(PARSE(&c, &code, "--cgroup", "/sys/fs/cgroup/x"));
	cr_assert_str_eq(c.cgroup, "/sys/fs/cgroup/x");
}

Test(watch_options, refused)
{
	const int usage = hdump_exit_code(HDUMP_E_USAGE);
	struct watch_config c;
	int code;
	char **bad[] = {
		(char *[]){NULL},                                   /* no target */
		(char *[]){"-p", "1", "--cgroup", "/x", NULL},      /* two kinds */
		(char *[]){"-p", "1", "--", "true", NULL},
		(char *[]){"-p", "0", NULL},
		(char *[]){"-p", "x", NULL},
		(char *[]){"-p", "1", "stray", NULL},
		(char *[]){"-p", "1", "--heap", "0%", NULL},
		(char *[]){"-p", "1", "--memory", "101%", NULL},
		(char *[]){"-p", "1", "--rss", "lots", NULL},
		(char *[]){"-p", "1", "--every", "0", NULL},
		(char *[]){"-p", "1", "--interval", "1y", NULL},
		(char *[]){"-p", "1", "--max-dumps", "0", NULL},
		(char *[]){"-p", "1", "--keep", "-1", NULL},
		(char *[]){"-p", "1", "--snapshot=maybe", NULL},
		(char *[]){"-p", "1", "--threads", "9", NULL},
		(char *[]){"-p", "1", "--retries", "101", NULL},
		(char *[]){"-p", "1", "--no-such-option", NULL},
		(char *[]){"-p", "1", "--pressure", "1s/20s", NULL},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		code = -1;
		cr_assert(!parse(&c, &code, bad[i]), "case %zu accepted", i);
		cr_assert_eq(code, usage, "case %zu", i);
	}
	char *p65[200] = {0};
	for (int i = 0; i < 65; i++)
		p65[2 * i] = "-p", p65[2 * i + 1] = "7";
	cr_assert(!parse(&c, &code, p65), "more than 64 -p");
	cr_assert(!PARSE(&c, &code, "--help"));
	cr_assert_eq(code, 0);
}
