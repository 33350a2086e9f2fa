#include "options.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hdump -p PID [options]      dump a running native image\n"
		"       hdump --exe FILE [options]  dump an executable's image heap\n"
		"       hdump --core CORE [--exe FILE] [options]  dump a core file\n"
		"       hdump watch [options] ...   dump when a trigger fires (hdump watch --help)\n"
		"\n"
		"Writes an HPROF 1.0.2 heap dump that VisualVM and Eclipse MAT open.  The\n"
		"target needs no special build and no debug info; it keeps running.\n"
		"\n"
		"Options:\n"
		"  -p, --pid PID       attach to process PID (ptrace; needs the rights of a debugger)\n"
		"      --exe FILE      read the image heap (the objects the executable starts\n"
		"                      with) from FILE, no process involved\n"
		"      --core CORE     dump the process saved in the core file CORE; --exe FILE\n"
		"                      names its executable (default: the file the core says\n"
		"                      the process ran)\n"
		"      --partial       with --core: leave out the heap chunks the core lacks\n"
		"                      (counted in -v and --json) instead of failing\n"
		"  -o, --output FILE   write the dump to FILE ('-' streams it to stdout); default\n"
		"                      hdump-<pid or exe>-<time>.hprof in the current directory.\n"
		"                      The file is created with mode 0600 and appears under its\n"
		"                      name only when complete\n"
		"  -f, --force         replace an existing output file\n"
		"      --sync          make the file durable before exiting: fsync it and its\n"
		"                      directory (0.05-1 s more here).  Without it the file\n"
		"                      is complete (a full disk fails the dump), but the\n"
		"                      kernel may still be writing it to the device: a\n"
		"                      power loss may still take it\n"
		"      --histo         print a class histogram (instances, bytes, class) to\n"
		"                      stdout; without -o no dump file is written\n"
		"      --json          print a one-line JSON summary of the dump to stdout\n"
		"      --isolate N     dump isolate N instead of the application's.  By default\n"
		"                      hdump dumps the isolate the process's first thread is\n"
		"                      attached to or, if it is attached to none, the isolate\n"
		"                      with the most attached threads (Truffle's compiler\n"
		"                      isolate has few)\n"
		"      --list-isolates list the process's isolates and their threads, and exit\n"
		"      --stacks, --threads-only\n"
		"                      print each thread's Java frames (like jstack), decoded\n"
		"                      from the image's code info, and exit without a dump\n"
		"      --snapshot=MODE the default is fork where the target allows it (its\n"
		"                      memory and seccomp filters), else stop; -v and --json\n"
		"                      say which was taken and why.\n"
		"                      stop: the target stays stopped while its heap is\n"
		"                      walked and written; hdump needs little memory.\n"
		"                      copy: the heap is copied out at memory speed and the\n"
		"                      target resumed before anything is written: a much\n"
		"                      shorter pause, but hdump holds a copy of the whole heap\n"
		"                      in use (as much memory as the target's heap)\n"
		"                      fork: the target is held only while one fork is injected\n"
		"                      into it (milliseconds); its frozen child is dumped, then\n"
		"                      killed and reaped.  hdump needs little memory, but each\n"
		"                      page the target writes meanwhile is copied (up to its\n"
		"                      private memory); refused (exit 15) when a cgroup limit\n"
		"                      or the system's available memory could not absorb that\n"
		"                      or its seccomp filters do not allow it\n"
		"      --retries N     when the heap is caught mid-change (an allocation or GC\n"
		"                      in progress), resume the target briefly and retry up to\n"
		"                      N times (default 5)\n"
		"      --threads N     write with N threads (default: one per CPU, at most 8)\n"
		"      --jdk DIR       name fields from the class files of the JDK in DIR (the\n"
		"                      image's Java version) where only the layout places them;\n"
		"                      default: a JDK installed here, if one fits\n"
		"      --cache-dir DIR keep the discovery cache in DIR (default:\n"
		"                      $HDUMP_CACHE_DIR, else $XDG_CACHE_HOME/hdump/discovery,\n"
		"                      else ~/.cache/hdump/discovery)\n"
		"      --no-cache      neither read nor write the discovery cache\n"
		"  -z, --gzip          compress the dump with gzip (on --threads threads); also\n"
		"                      when the output's name ends in .gz\n"
		"      --gzip-level N  gzip compression level, 1 (fastest) to 9 (smallest);\n"
		"                      default 1; implies --gzip\n"
		"  -q, --quiet         no progress display and no warnings on stderr (errors\n"
		"                      still); the display shows only when stderr is a terminal\n"
		"  -v, --verbose       say what was discovered and how long it took (stderr)\n"
		"  -h, --help          this text\n"
		"      --version       print the version\n"
		"\n"
		"Exit codes:\n");
	for (int c = HDUMP_OK; c < HDUMP_ERROR_CLASS_COUNT; c++) {
		const char *desc = hdump_error_description((enum hdump_error_class)c);
		if (desc)
			fprintf(f, "  %3d  %s\n", hdump_exit_code((enum hdump_error_class)c), desc);
	}
}

static int parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static bool bad_usage(int *exit_code)
{
	*exit_code = hdump_exit_code(HDUMP_E_USAGE);
	return false;
}

bool options_parse(int argc, char **argv, struct cli_options *opt, FILE *out, FILE *err,
		   int *exit_code)
{
	enum { OPT_EXE = 256, OPT_HISTO, OPT_VERSION, OPT_JSON, OPT_ISOLATE, OPT_LIST_ISOLATES,
	       OPT_RETRIES, OPT_SNAPSHOT, OPT_THREADS, OPT_JDK, OPT_STACKS,
	       OPT_GZIP_LEVEL, OPT_CORE, OPT_PARTIAL, OPT_CACHE_DIR, OPT_NO_CACHE, OPT_SYNC };
	static const struct option longopts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"exe", required_argument, NULL, OPT_EXE},
		{"output", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{"sync", no_argument, NULL, OPT_SYNC},
		{"histo", no_argument, NULL, OPT_HISTO},
		{"json", no_argument, NULL, OPT_JSON},
		{"isolate", required_argument, NULL, OPT_ISOLATE},
		{"list-isolates", no_argument, NULL, OPT_LIST_ISOLATES},
		{"stacks", no_argument, NULL, OPT_STACKS},
		{"threads-only", no_argument, NULL, OPT_STACKS},
		{"retries", required_argument, NULL, OPT_RETRIES},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"jdk", required_argument, NULL, OPT_JDK},
		{"snapshot", required_argument, NULL, OPT_SNAPSHOT},
		{"gzip", no_argument, NULL, 'z'},
		{"gzip-level", required_argument, NULL, OPT_GZIP_LEVEL},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{"core", required_argument, NULL, OPT_CORE},
		{"partial", no_argument, NULL, OPT_PARTIAL},
		{"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
		{"no-cache", no_argument, NULL, OPT_NO_CACHE},
		{NULL, 0, NULL, 0},
	};
	*opt = (struct cli_options){0};
	hdump_options_init(&opt->dump);
	/* From the first argument, however often it is called (glibc). */
	optind = 0;
	int c;
	long v;
	while ((c = getopt_long(argc, argv, "p:o:fvhzq", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_int(optarg, 1, INT_MAX, &v) != 0) {
				fprintf(err, "hdump: --pid takes a process id, not '%s'\n", optarg);
				return bad_usage(exit_code);
			}
			opt->pid = (pid_t)v;
			break;
		case OPT_EXE:
			opt->exe = optarg;
			break;
		case 'o':
			opt->output = optarg;
			break;
		case 'f':
			opt->force = true;
			break;
		case OPT_SYNC:
			opt->sync = true;
			break;
		case OPT_HISTO:
			opt->histo = true;
			break;
		case OPT_JSON:
			opt->json = true;
			break;
		case OPT_ISOLATE:
			if (parse_int(optarg, 0, 1000, &v) != 0) {
				fprintf(err, "hdump: --isolate takes an isolate number (see --list-isolates)\n");
				return bad_usage(exit_code);
			}
			opt->dump.isolate = (int)v;
			break;
		case OPT_SNAPSHOT:
			if (strcmp(optarg, "stop") == 0) {
				opt->dump.snapshot = HDUMP_SNAPSHOT_STOP;
			} else if (strcmp(optarg, "copy") == 0) {
				opt->dump.snapshot = HDUMP_SNAPSHOT_COPY;
			} else if (strcmp(optarg, "fork") == 0) {
				opt->dump.snapshot = HDUMP_SNAPSHOT_FORK;
			} else {
				fprintf(err, "hdump: --snapshot takes 'stop', 'copy' or 'fork'\n");
				return bad_usage(exit_code);
			}
			break;
		case OPT_LIST_ISOLATES:
			opt->list_isolates = true;
			break;
		case OPT_STACKS:
			opt->stacks = true;
			break;
		case OPT_THREADS:
			if (parse_int(optarg, 1, 8, &v) != 0) {
				fprintf(err, "hdump: --threads takes a number from 1 to 8\n");
				return bad_usage(exit_code);
			}
			opt->dump.threads = (unsigned)v;
			break;
		case OPT_RETRIES:
			if (parse_int(optarg, 0, 100, &v) != 0) {
				fprintf(err, "hdump: --retries takes a number from 0 to 100\n");
				return bad_usage(exit_code);
			}
			opt->dump.retries = (unsigned)v;
			break;
		case OPT_JDK:
			opt->jdk = optarg;
			break;
		case 'z':
			opt->gzip = true;
			break;
		case OPT_GZIP_LEVEL:
			if (parse_int(optarg, 1, 9, &v) != 0) {
				fprintf(err, "hdump: --gzip-level takes a number from 1 to 9\n");
				return bad_usage(exit_code);
			}
			opt->gzip = true;
			opt->gzip_level = (int)v;
			break;
		case 'q':
			opt->quiet = true;
			break;
		case 'v':
			opt->verbose = true;
			break;
		case OPT_CORE:
			opt->core = optarg;
			break;
		case OPT_PARTIAL:
			opt->dump.partial = true;
			break;
		case OPT_CACHE_DIR:
			opt->cache_dir = optarg;
			break;
		case OPT_NO_CACHE:
			opt->no_cache = true;
			break;
		case 'h':
			usage(out);
			*exit_code = 0;
			return false;
		case OPT_VERSION:
			fprintf(out, "hdump %s\n", HDUMP_VERSION);
			*exit_code = 0;
			return false;
		default:
			fprintf(err, "Try 'hdump --help'.\n");
			return bad_usage(exit_code);
		}
	}
	if (opt->core && (optind < argc || opt->pid)) {
		fprintf(err, "hdump: --core takes no -p PID (see --help)\n");
		return bad_usage(exit_code);
	}
	if (opt->dump.partial && !opt->core) {
		fprintf(err, "hdump: --partial needs --core\n");
		return bad_usage(exit_code);
	}
	if (opt->core)
		return true;
	if (optind < argc || (!opt->pid == !opt->exe)) {
		fprintf(err, "hdump: give exactly one of -p PID or --exe FILE (see --help)\n");
		return bad_usage(exit_code);
	}
	if (opt->stacks && opt->exe) {
		fprintf(err, "hdump: --stacks needs a process (-p PID): an executable has no threads\n");
		return bad_usage(exit_code);
	}
	return true;
}
