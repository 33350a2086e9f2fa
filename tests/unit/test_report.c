/* What the command line prints besides the dump (cli/report.c): the class
 * histogram, the JSON and -v summaries, the -v lines from the library's
 * events, warnings and the isolate list — exact text, target-chosen text
 * escaped.  The histogram is the synthetic executable's (make_synth_image),
 * dumped census-only through include/hdump.h. */
#include "../../cli/report.h"
#include "capture.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void expect_text(char *got, const char *want)
{
	cr_assert_str_eq(got, want);
	free(got);
}

static const struct hdump_result RESULT = {
	.objects = 1234, .bytes = 56789, .fillers = 3, .chunks = 7, .classes = 42,
	.hprof_bytes = 99999, .seconds = 1.2345, .attempts = 2,
	.field_instances = 1000, .named_instances = 925, .named_by = {10, 20, 30, 40, 50},
	.stack_threads = 4, .stack_frames = 77, .stack_undecoded = 1,
	.statics_classes = 5, .statics_written = 11, .statics_unattributed_slots = 13,
	.statics_unattributed_bytes = 17, .discovery_cache = HDUMP_DCACHE_HIT,
};

/* ---- JSON and summary ----------------------------------------------------- */

/* report_json's line for PATH (the caller frees it). */
static char *json_of(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_not_null(out);
	report_json(out, path, &RESULT);
	fclose(out);
	return text;
}

Test(report, json_line)
{
	expect_text(json_of("out.hprof"),
		    "{\"file\":\"out.hprof\",\"objects\":1234,\"heap_bytes\":56789,\"fillers\":3,"
		    "\"chunks\":7,\"classes\":42,\"hprof_bytes\":99999,\"seconds\":1.234,"
		    "\"naming\":{\"instances\":1000,\"instances_all_named\":925,\"by_source\":{"
		    "\"layout\":10,\"reflection\":20,\"substrate\":30,\"truffle\":40,"
		    "\"predicted\":50}},"
		    "\"statics\":{\"in_classes\":5,\"written\":11,\"unattributed_slots\":13,"
		    "\"unattributed_bytes\":17},\"stack_threads\":4,\"stack_frames\":77,\"stack_undecoded\":1,"
		    "\"discovery_cache\":\"hit\",\"gzip\":false,\"file_bytes\":99999}\n");
	expect_text(json_of(""),
		    "{\"file\":\"\",\"objects\":1234,\"heap_bytes\":56789,\"fillers\":3,"
		    "\"chunks\":7,\"classes\":42,\"hprof_bytes\":99999,\"seconds\":1.234,"
		    "\"naming\":{\"instances\":1000,\"instances_all_named\":925,\"by_source\":{"
		    "\"layout\":10,\"reflection\":20,\"substrate\":30,\"truffle\":40,"
		    "\"predicted\":50}},"
		    "\"statics\":{\"in_classes\":5,\"written\":11,\"unattributed_slots\":13,"
		    "\"unattributed_bytes\":17},\"stack_threads\":4,\"stack_frames\":77,\"stack_undecoded\":1,"
		    "\"discovery_cache\":\"hit\",\"gzip\":false,\"file_bytes\":99999}\n");
}

/* With gzip, what reached the file is not the HPROF's size. */
Test(report, json_line_of_a_gzip_file)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_not_null(out);
	report_json_file(out, "out.hprof.gz", &RESULT, &(struct report_file){true, 4321});
	fclose(out);
	cr_assert_not_null(strstr(text, ",\"hprof_bytes\":99999,"), "%s", text);
	cr_assert_not_null(strstr(text, ",\"gzip\":true,\"file_bytes\":4321}\n"), "%s", text);
	free(text);
}

/* A process's dump says which snapshot it took and why (the reason is
 * hostile text: it may quote the target's names). */
Test(report, json_snapshot)
{
	struct hdump_result r = RESULT;
	r.snapshot = HDUMP_SNAPSHOT_STOP;
	snprintf(r.snapshot_reason, sizeof r.snapshot_reason, "default, no fork: \"x\"");
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_not_null(out);
	report_json(out, "o", &r);
	fclose(out);
	cr_assert_not_null(strstr(text, ",\"stack_undecoded\":1,\"snapshot\":\"stop\","
				  "\"snapshot_reason\":\"default, no fork: \\\"x\\\"\","), "%s", text);
	free(text);
}

/* A file name is the user's bytes: quotes, backslashes and control bytes
 * must not break the JSON line ops tooling parses. */
Test(report, json_path_escaped)
{
	char *text = json_of("a\"b\\c\nd\x01.hprof");
	cr_assert_not_null(strstr(text, "{\"file\":\"a\\\"b\\\\c\\u000ad\\u0001.hprof\",\"objects\""),
			   "%s", text);
	free(text);
}

#define NAMING                                                                             \
	"hdump: field names: 925 of 1000 instances (92.5 %) have only real names; with names " \
	"from layout 10, reflection 20, substrate 30, truffle 40, predicted 50\n"
#define STATICS "hdump: static fields: 11 in 5 classes; 13 Object[] slots and 17 byte[] bytes " \
	"unattributed\n"

Test(report, verbose_summary)
{
	struct capture c;
	capture_begin(&c, stderr);
	report_summary("out.hprof", &RESULT);
	report_summary("", &RESULT);
	expect_text(capture_end(&c),
		    NAMING STATICS "hdump: 1234 objects (56789 bytes, 3 fillers skipped) in 7 chunks, "
		    "42 classes; wrote 99999 bytes to out.hprof in 1.23 s\n"
		    NAMING STATICS "hdump: 1234 objects (56789 bytes, 3 fillers skipped) in 7 chunks, "
		    "42 classes; wrote 99999 bytes in 1.23 s\n");
}

/* ---- Events --------------------------------------------------------------- */

static void send_all(const struct report_events *want)
{
	const struct hdump_event ev[] = {
		{.kind = HDUMP_EVENT_PHASE_BEGIN, .phase = HDUMP_PHASE_CENSUS, .attempt = 1},
		{.kind = HDUMP_EVENT_VERBOSE, .text = "chunk size 1048576"},
		{.kind = HDUMP_EVENT_PAUSED, .snapshot = HDUMP_SNAPSHOT_STOP},
		{.kind = HDUMP_EVENT_RETRY, .attempt = 1, .text = "heap\x1b[2J changed"},
		{.kind = HDUMP_EVENT_RESUMED, .snapshot = HDUMP_SNAPSHOT_STOP, .pause_ms = 12},
		{.kind = HDUMP_EVENT_RESUMED, .snapshot = HDUMP_SNAPSHOT_FORK, .pause_ms = 3,
		 .fork_child = 4321},
		{.kind = HDUMP_EVENT_RESUMED, .snapshot = HDUMP_SNAPSHOT_COPY, .pause_ms = 40,
		 .copied_bytes = 5ull << 20 | 12345},
		{.kind = HDUMP_EVENT_WARNING, .text = "odd\nthing"},
		{.kind = HDUMP_EVENT_PHASE_END, .phase = HDUMP_PHASE_CENSUS, .attempt = 1},
	};
	for (size_t i = 0; i < sizeof ev / sizeof *ev; i++)
		report_event((void *)want, &ev[i]);
}

/* All of send_all's events, printed as WANT says. */
static void expect_events(struct report_events want, const char *text)
{
	struct capture c;
	capture_begin(&c, stderr);
	send_all(&want);
	expect_text(capture_end(&c), text);
}

Test(report, events_verbose_and_pauses)
{
	expect_events((struct report_events){.verbose = true, .pauses = true},
		      "hdump: chunk size 1048576\n"
		      "hdump: attempt 1: heap\\x1b[2J changed; retrying\n"
		      "hdump: target stopped for 12 ms\n"
		      "hdump: target stopped for 3 ms (fork 4321)\n"
		      "hdump: target stopped for 40 ms (copied 5 MB)\n"
		      "hdump: warning: odd\\x0athing\n");
}

Test(report, events_verbose_without_pauses)
{
	expect_events((struct report_events){.verbose = true, .pauses = false},
		      "hdump: chunk size 1048576\n"
		      "hdump: attempt 1: heap\\x1b[2J changed; retrying\n"
		      "hdump: warning: odd\\x0athing\n");
}

Test(report, events_quiet_keeps_warnings)
{
	expect_events((struct report_events){0}, "hdump: warning: odd\\x0athing\n");
}

/* ---- The executable's version, the isolate list ---------------------------- */

Test(report, executable)
{
	struct hdump_target_info info = {.kind = HDUMP_TARGET_EXECUTABLE,
					 .vm_version = "GraalVM CE 25\x07", .image_heap_size = 4096};
	struct capture c;
	capture_begin(&c, stderr);
	report_executable("img", &info);
	info.vm_version = "";
	report_executable("img", &info);
	expect_text(capture_end(&c), "hdump: img: GraalVM CE 25\\x07, image heap of 4096 bytes\n"
				     "hdump: img: unknown VM version, image heap of 4096 bytes\n");
}

Test(report, isolates)
{
	struct hdump_thread threads[] = {{101, "main"}, {102, "evil\x1b]0;x"}, {-1, NULL}};
	struct hdump_isolate v[] = {
		{.heap_base = 0x7f0000000000, .image_start = 0x7f0000100000, .threads = threads,
		 .nthreads = 3, .runtime_chunks = 5, .chosen = true},
		{.heap_base = 0x7e0000000000, .image_start = 0x7e0000100000, .nthreads = 0,
		 .runtime_chunks = 0},
	};
	struct capture c;
	capture_begin(&c, stdout);
	report_isolates(v, 2);
	expect_text(capture_end(&c),
		    "isolate 0: heap base 0x7f0000000000, image heap 0x7f0000100000, 3 threads, "
		    "5 runtime chunks (default)\n"
		    "  thread 101 main\n"
		    "  thread 102 evil\\x1b]0;x\n"
		    "  thread -1 (no OS thread)\n"
		    "isolate 1: heap base 0x7e0000000000, image heap 0x7e0000100000, 0 threads, "
		    "0 runtime chunks\n");
}

/* ---- The histogram ---------------------------------------------------------- */

static hdump_target *dumped_synth_image(struct hdump_result *r)
{
	const char *path = getenv("HDUMP_SYNTH_IMAGE");
	cr_assert_not_null(path, "HDUMP_SYNTH_IMAGE is not set (run through meson test)");
	hdump_target *t = hdump_open_executable(path);
	cr_assert_not_null(t, "%s", hdump_error().message);
	cr_assert_eq(hdump_discover(t), 0, "%s", hdump_error().message);
	struct hdump_options o;
	hdump_options_init(&o);
	o.hprof = false;
	cr_assert_eq(hdump_dump(t, &o, NULL, r), 0, "%s", hdump_error().message);
	return t;
}

Test(report, histogram)
{
	struct hdump_result r;
	hdump_target *t = dumped_synth_image(&r);
	const struct hdump_histogram_row *rows;
	size_t n = hdump_histogram(t, &rows);
	cr_assert_gt(n, 2);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_not_null(out);
	cr_assert_eq(report_histogram(out, t, &r), 0);
	fclose(out);
	/* jmap -histo's layout: two header lines, one numbered row per class,
	 * the totals. */
	char *line = strtok(text, "\n");
	cr_assert_str_eq(line, " num     #instances         #bytes  class name");
	cr_assert_str_eq(strtok(NULL, "\n"), "----------------------------------------------");
	for (size_t i = 0; i < n; i++) {
		char want[512];
		snprintf(want, sizeof want, "%4zu: %14" PRIu64 " %14" PRIu64 "  %s", i + 1,
			 rows[i].count, rows[i].bytes, rows[i].name);
		cr_assert_str_eq(strtok(NULL, "\n"), want);
	}
	char total[128];
	snprintf(total, sizeof total, "Total %14" PRIu64 " %14" PRIu64, r.objects, r.bytes);
	cr_assert_str_eq(strtok(NULL, "\n"), total);
	cr_assert_null(strtok(NULL, "\n"));
	free(text);
	hdump_close(t);
}

Test(report, histogram_to_a_full_stream_fails)
{
	struct hdump_result r;
	hdump_target *t = dumped_synth_image(&r);
	FILE *out = fopen("/dev/full", "w");
	cr_assert_not_null(out);
	cr_assert_eq(report_histogram(out, t, &r), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_OUTPUT);
	cr_assert_str_eq(hdump_error().message, "cannot print the histogram");
	fclose(out);
	hdump_close(t);
}

/* ---- --stacks ------------------------------------------------------------- */

/* jstack's form, the line when known, else the bci; names from the target
 * escaped (a method name is the image's bytes). */
Test(report, stacks_like_jstack)
{
	const struct hdump_frame frames[] = {
		{"java.lang.Object", "wait\x1b[2J", 108, 3},
		{"org.pkl.cli.Main", "main", -1, 12},
		{"?", "?", -1, -1},
	};
	const struct hdump_stack v[] = {
		{1234, "pkl", frames, 3, 5, 1, "entry point"},
		{-1, NULL, NULL, 0, 0, 0, "no Java frame to start at"},
	};
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_not_null(out);
	cr_assert_eq(report_stacks(out, v, 2), 0);
	fclose(out);
	expect_text(text, "\"pkl\" tid=1234\n"
			  "\tat java.lang.Object.wait\\x1b[2J(line 108)\n"
			  "\tat org.pkl.cli.Main.main(bci 12)\n"
			  "\tat ?.?(Unknown Source)\n"
			  "\t(5 machine frames, 1 without frame info; walk ended: entry point)\n\n"
			  "\"?\" tid=-1\n"
			  "\t(0 machine frames, 0 without frame info; walk ended: no Java frame to start at)\n\n");
}
