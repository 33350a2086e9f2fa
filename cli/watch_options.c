/* `hdump watch`'s command line. */
#include "watch.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void watch_usage(FILE *f)
{
	fputs(
		"Usage: hdump watch [options] -p PID [-p PID...]\n"
		"       hdump watch [options] --cgroup DIR\n"
		"       hdump watch [options] -- CMD [ARGS...]\n"
		"\n"
		"Watches native images and dumps one when a trigger fires.  Prints one JSON\n"
		"object per line on stdout per event (started, trigger, dump, error, gone, exit).\n"
		"\n"
		"Targets:\n"
		"  -p, --pid PID          a running process (repeatable, up to 64)\n"
		"      --cgroup DIR       every native image in the cgroup directory DIR\n"
		"                         (its cgroup.procs), new ones picked up\n"
		"  -- CMD [ARGS...]       start CMD and watch it; the watcher exits when it\n"
		"                         ends, its status in the exit event\n"
		"Triggers (THRESHOLD: N% or a size such as 512M, 2G; DURATION: 500ms, 30s, 5m, 1h, 1d):\n"
		"      --heap THRESHOLD   Java heap in use >= THRESHOLD (N%: of the maximum heap)\n"
		"      --memory THRESHOLD memory cgroup usage >= THRESHOLD (N%: of its limit);\n"
		"                         also when its memory.events high/max counters grow\n"
		"      --rss THRESHOLD    resident set >= THRESHOLD (N%: of the cgroup limit,\n"
		"                         else of physical memory)\n"
		"      --pressure [full:]STALL/WINDOW  memory pressure (PSI) of its v2 cgroup\n"
		"                         (else the system's): tasks stalled STALL within WINDOW\n"
		"                         (500ms to 10s), e.g. 150ms/1s\n"
		"      --every DURATION   a periodic dump\n"
		"      --trigger-file PATH  a dump of every target when PATH appears (removed)\n"
		"      --on-exit          dump a target that calls exit, then let it exit\n"
		"      --on-signal        dump a target about to die of a fatal signal\n"
		"  SIGUSR1 to the watcher dumps every target now.\n"
		"Safety:\n"
		"      --dir DIR          where dumps go (default .), named\n"
		"                         <name>-<pid>-<UTC yyyymmddThhmmss.mmmZ>-<trigger>.hprof\n"
		"      --max-dumps N      exit (0) after N dumps (default: no limit)\n"
		"      --min-interval DURATION  at most one dump per target per DURATION (default 1m)\n"
		"      --keep N           keep the N newest dumps this watcher wrote (default: all)\n"
		"      --interval DURATION  how often thresholds are sampled (default 1s)\n"
		"      --snapshot=MODE    auto (default): fork when the memory limits leave room\n"
		"                         for it, else stop; or stop, fork, copy\n"
		"      --retries N        retries of a heap caught mid-change (default 20)\n"
		"      --threads N, --jdk DIR  as for hdump -p\n"
		"  -z, --gzip             write the dumps gzip-compressed (.hprof.gz)\n"
		"      --gzip-level N     compression level 1 (default) to 9; implies -z\n"
		"  -h, --help             this text\n",
	      f);
}

static bool fail_usage(FILE *err, int *exit_code, const char *msg, const char *arg)
{
	fprintf(err, "hdump watch: %s%s%s%s\n", msg, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
	*exit_code = hdump_exit_code(HDUMP_E_USAGE);
	return false;
}

static int parse_count(const char *s, long max, long *v)
{
	char *end;
	long x = strtol(s, &end, 10);
	if (!*s || *end || x < 0 || x > max)
		return -1;
	*v = x;
	return 0;
}

bool watch_options_parse(int argc, char **argv, struct watch_config *c, FILE *out, FILE *err,
			 int *exit_code)
{
	enum { O_CGROUP = 256, O_HEAP, O_MEMORY, O_RSS, O_EVERY, O_TRIGGER_FILE, O_ON_EXIT,
	       O_ON_SIGNAL, O_DIR, O_MAX_DUMPS, O_MIN_INTERVAL, O_KEEP, O_INTERVAL, O_SNAPSHOT,
	       O_RETRIES, O_THREADS, O_JDK, O_PRESSURE, O_GZIP_LEVEL };
	static const struct option longopts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"cgroup", required_argument, NULL, O_CGROUP},
		{"heap", required_argument, NULL, O_HEAP},
		{"memory", required_argument, NULL, O_MEMORY},
		{"rss", required_argument, NULL, O_RSS},
		{"pressure", required_argument, NULL, O_PRESSURE},
		{"every", required_argument, NULL, O_EVERY},
		{"trigger-file", required_argument, NULL, O_TRIGGER_FILE},
		{"on-exit", no_argument, NULL, O_ON_EXIT},
		{"on-signal", no_argument, NULL, O_ON_SIGNAL},
		{"dir", required_argument, NULL, O_DIR},
		{"max-dumps", required_argument, NULL, O_MAX_DUMPS},
		{"min-interval", required_argument, NULL, O_MIN_INTERVAL},
		{"keep", required_argument, NULL, O_KEEP},
		{"interval", required_argument, NULL, O_INTERVAL},
		{"snapshot", required_argument, NULL, O_SNAPSHOT},
		{"retries", required_argument, NULL, O_RETRIES},
		{"threads", required_argument, NULL, O_THREADS},
		{"jdk", required_argument, NULL, O_JDK},
		{"gzip", no_argument, NULL, 'z'},
		{"gzip-level", required_argument, NULL, O_GZIP_LEVEL},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	*c = (struct watch_config){.min_interval_ms = 60000, .interval_ms = 1000, .dir = ".",
				   .snapshot_auto = true};
	hdump_options_init(&c->dump);
	/* A process near its memory limit collects often: a dump that meets a
	 * collection is let go and retried, up to about 12 s in all. */
	c->dump.retries = 20;
	optind = 0;
	int opt;
	long v;
	/* "+": options end at the first non-option (CMD after "--") */
	while ((opt = getopt_long(argc, argv, "+p:zh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (parse_count(optarg, INT_MAX, &v) != 0 || v == 0)
				return fail_usage(err, exit_code, "-p takes a process id, not", optarg);
			if (c->npids == WATCH_MAX_PIDS)
				return fail_usage(err, exit_code, "too many -p (at most 64)", NULL);
			c->pids[c->npids++] = (pid_t)v;
			break;
		case O_CGROUP:
			c->cgroup = optarg;
			break;
		case O_HEAP:
		case O_MEMORY:
		case O_RSS: {
			struct watch_threshold *t = opt == O_HEAP ? &c->heap : opt == O_MEMORY ? &c->memory : &c->rss;
			if (watch_parse_threshold(optarg, t) != 0)
				return fail_usage(err, exit_code,
						  "a threshold is N% (1-100) or a size (digits and K, M, G or T), not",
						  optarg);
			break;
		}
		case O_EVERY:
		case O_MIN_INTERVAL:
		case O_INTERVAL: {
			uint64_t *ms = opt == O_EVERY ? &c->every_ms : opt == O_MIN_INTERVAL ? &c->min_interval_ms : &c->interval_ms;
			if (watch_parse_duration(optarg, opt == O_MIN_INTERVAL, ms) != 0)
				return fail_usage(err, exit_code,
						  "a duration is digits with ms, s, m, h or d (at most 366d), not",
						  optarg);
			break;
		}
		case O_PRESSURE:
			if (watch_parse_pressure(optarg, &c->pressure) != 0)
				return fail_usage(err, exit_code,
						  "--pressure takes [full:]STALL/WINDOW, WINDOW from 500ms to 10s, not",
						  optarg);
			break;
		case O_TRIGGER_FILE:
			c->trigger_file = optarg;
			break;
		case O_ON_EXIT:
			c->on_exit = true;
			break;
		case O_ON_SIGNAL:
			c->on_signal = true;
			break;
		case O_DIR:
			c->dir = optarg;
			break;
		case O_MAX_DUMPS:
		case O_KEEP:
			if (parse_count(optarg, 1000000, &v) != 0 || v == 0)
				return fail_usage(err, exit_code, "--max-dumps and --keep take a number from 1, not", optarg);
			*(opt == O_KEEP ? &c->keep : &c->max_dumps) = (unsigned)v;
			break;
		case O_SNAPSHOT:
			c->snapshot_auto = strcmp(optarg, "auto") == 0;
			if (strcmp(optarg, "stop") == 0)
				c->dump.snapshot = HDUMP_SNAPSHOT_STOP;
			else if (strcmp(optarg, "fork") == 0)
				c->dump.snapshot = HDUMP_SNAPSHOT_FORK;
			else if (strcmp(optarg, "copy") == 0)
				c->dump.snapshot = HDUMP_SNAPSHOT_COPY;
			else if (!c->snapshot_auto)
				return fail_usage(err, exit_code, "--snapshot takes auto, stop, fork or copy, not", optarg);
			break;
		case O_RETRIES:
			if (parse_count(optarg, 100, &v) != 0)
				return fail_usage(err, exit_code, "--retries takes 0 to 100, not", optarg);
			c->dump.retries = (unsigned)v;
			break;
		case O_THREADS:
			if (parse_count(optarg, 8, &v) != 0 || v == 0)
				return fail_usage(err, exit_code, "--threads takes 1 to 8, not", optarg);
			c->dump.threads = (unsigned)v;
			break;
		case O_JDK:
			c->jdk = optarg;
			break;
		case 'z':
			c->gzip = true;
			break;
		case O_GZIP_LEVEL:
			if (parse_count(optarg, 9, &v) != 0 || v == 0)
				return fail_usage(err, exit_code, "--gzip-level takes 1 to 9, not", optarg);
			c->gzip = true;
			c->gzip_level = (int)v;
			break;
		case 'h':
			watch_usage(out);
			*exit_code = 0;
			return false;
		default:
			fprintf(err, "Try 'hdump watch --help'.\n");
			*exit_code = hdump_exit_code(HDUMP_E_USAGE);
			return false;
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--") != 0)
			return fail_usage(err, exit_code, "unexpected argument (a command goes after --):",
					  argv[optind]);
		c->command = argv + optind;
	}
	int kinds = (c->npids > 0) + (c->cgroup != NULL) + (c->command != NULL);
	if (kinds != 1)
		return fail_usage(err, exit_code, "give exactly one of -p PID..., --cgroup DIR or -- CMD", NULL);
	return true;
}
