#include "run.h"

#include "output.h"
#include "progress.h"
#include "report.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *default_name(const char *hint, bool gz)
{
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
	size_t n = strlen(hint) + strlen(stamp) + 32;
	char *name = malloc(n);
	if (name)
		snprintf(name, n, "hdump-%s-%s.hprof%s", hint, stamp, gz ? ".gz" : "");
	return name;
}

/* The output's name: -o's, or hdump-<exe or pid>-<time>.hprof[.gz]. */
static char *output_name(const struct cli_options *opt)
{
	if (opt->output)
		return strdup(opt->output);
	char hint[32];
	const char *file = opt->core ? opt->core : opt->exe;
	if (!file) {
		snprintf(hint, sizeof hint, "%d", (int)opt->pid);
		return default_name(hint, opt->gzip);
	}
	char *copy = strdup(file);
	char *name = copy ? default_name(basename(copy), opt->gzip) : NULL;
	free(copy);
	return name;
}

/* What the library's events feed: the -v/warning text and the progress
 * line, erased before text is printed over it. */
struct cli_events {
	struct report_events report;
	struct progress *progress;
};

static void on_event(void *ctx, const struct hdump_event *ev)
{
	struct cli_events *c = ctx;
	bool prints = ev->kind == HDUMP_EVENT_WARNING || ev->kind == HDUMP_EVENT_VERBOSE ||
		      ev->kind == HDUMP_EVENT_RETRY || ev->kind == HDUMP_EVENT_RESUMED;
	if (prints)
		progress_suspend(c->progress);
	report_event(&c->report, ev);
	if (prints)
		progress_resume(c->progress);
	progress_event(c->progress, ev);
}

/* The output is opened before the dump starts (an existing file fails
 * before the target is stopped), committed after the histogram. */
static int dump(hdump_target *t, const struct cli_options *opt, struct cli_events *ev)
{
	bool write_file = opt->output || !opt->histo;
	struct hd_output out = {.fd = -1};
	char *path = NULL;
	if (write_file) {
		path = output_name(opt);
		if (!path)
			return hdump_fail(HDUMP_E_INTERNAL, "out of memory");
		if (output_open(&out, path, opt->force) != 0) {
			free(path);
			return -1;
		}
		out.sync = opt->sync;
		if ((opt->gzip || output_name_wants_gzip(path)) &&
		    output_set_gzip(&out, opt->dump.threads, opt->gzip_level) != 0) {
			output_abort(&out);
			free(path);
			return -1;
		}
	}
	struct hdump_options o = opt->dump;
	o.hprof = write_file;
	struct hdump_sink sink = output_sink(&out);
	struct hdump_result r;
	int rc = hdump_dump(t, &o, write_file ? &sink : NULL, &r);
	/* The line goes before anything else is printed. */
	progress_stop(ev->progress);
	ev->progress = NULL;
	bool to_stdout = write_file && strcmp(path, "-") == 0;
	FILE *text = to_stdout ? stderr : stdout;
	if (rc == 0 && opt->histo && report_histogram(text, t, &r) != 0) {
		if (!write_file)
			rc = -1;
		else if (!opt->quiet) /* a reader that stopped early (| head) must not cost the dump */
			report_warning(hdump_error().message);
	}
	if (rc == 0 && write_file)
		rc = output_commit(&out);
	if (rc == 0 && opt->json)
		report_json_file(text, write_file ? path : "", &r,
				 &(struct report_file){out.gz != NULL, out.bytes_out});
	if (rc == 0 && opt->verbose)
		report_summary(write_file ? path : "", &r);
	output_abort(&out); /* after a commit this only frees */
	free(path);
	return rc;
}

static int list(hdump_target *t, const struct cli_options *opt)
{
	const struct hdump_isolate *v;
	size_t n;
	if (hdump_list_isolates(t, &opt->dump, &v, &n) != 0)
		return -1;
	report_isolates(v, n);
	return 0;
}

static int stacks(hdump_target *t, const struct cli_options *opt)
{
	const struct hdump_stack *v;
	size_t n;
	if (hdump_stacks(t, &opt->dump, &v, &n) != 0)
		return -1;
	return report_stacks(stdout, v, n);
}

/* The target the options name: a core file, an executable or a process. */
static hdump_target *open_target(const struct cli_options *opt)
{
	if (opt->core)
		return hdump_open_core(opt->core, opt->exe);
	return opt->exe ? hdump_open_executable(opt->exe) : hdump_open_process(opt->pid);
}

/* The discovery cache: --cache-dir, else the default directory; none with
 * --no-cache, or when no default can be named (said under -v). */
static int set_cache(hdump_target *t, const struct cli_options *opt)
{
	char dir[4096];
	if (opt->no_cache)
		return 0;
	if (opt->cache_dir)
		return hdump_set_discovery_cache(t, opt->cache_dir);
	if (hdump_discovery_cache_default(dir, sizeof dir) != 0) {
		if (opt->verbose)
			fprintf(stderr, "hdump: discovery cache: off: %s\n", hdump_error().message);
		return 0;
	}
	return hdump_set_discovery_cache(t, dir);
}

int run(const struct cli_options *opt)
{
	hdump_target *t = open_target(opt);
	if (!t)
		return -1;
	/* with --core, --exe names the core's executable: it is no target */
	const char *exe = opt->core ? NULL : opt->exe;
	bool listing = (opt->list_isolates || opt->stacks) && !exe;
	/* a core is never stopped: no pause to report */
	struct cli_events ev = {.report = {opt->verbose, opt->verbose && !listing && !opt->core,
					   opt->quiet}};
	if (!listing && !opt->quiet && isatty(STDERR_FILENO))
		ev.progress = progress_start(stderr);
	hdump_set_events(t, on_event, &ev);
	if (exe && opt->verbose) {
		struct hdump_target_info info;
		hdump_target_info(t, &info);
		report_executable(exe, &info);
	}
	int rc = hdump_set_jdk(t, opt->jdk);
	if (rc == 0)
		rc = set_cache(t, opt);
	if (rc == 0)
		rc = hdump_discover(t);
	if (rc == 0)
		rc = opt->stacks && !exe ? stacks(t, opt) : listing ? list(t, opt) : dump(t, opt, &ev);
	progress_stop(ev.progress);
	hdump_close(t);
	return rc;
}
