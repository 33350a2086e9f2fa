/* hdump watch's small languages (cli/watch_parse.h): thresholds, durations,
 * dump names and which files the retention may delete. */
#include "../../cli/watch_parse.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static struct watch_threshold thr(const char *s)
{
	struct watch_threshold t;
	cr_assert_eq(watch_parse_threshold(s, &t), 0, "%s", s);
	return t;
}

Test(watch_parse, thresholds)
{
	struct watch_threshold t = thr("80%");
	cr_assert(t.set && t.percent && t.pct == 80);
	cr_assert_eq(watch_threshold_bytes(&t, 1000), 800);
	cr_assert_eq(watch_threshold_bytes(&t, 0), 0, "unknown maximum: never");
	cr_assert_eq(watch_threshold_bytes(&t, UINT64_MAX), UINT64_MAX / 100 * 80 + UINT64_MAX % 100 * 80 / 100);
	cr_assert_eq(thr("100%").pct, 100);
	cr_assert_eq(thr("512M").bytes, 512ull << 20);
	cr_assert_eq(thr("512MiB").bytes, 512ull << 20);
	cr_assert_eq(thr("512mb").bytes, 512ull << 20);
	cr_assert_eq(thr("2G").bytes, 2ull << 30);
	cr_assert_eq(thr("3k").bytes, 3072);
	cr_assert_eq(thr("1T").bytes, 1ull << 40);
	cr_assert_eq(thr("1048576").bytes, 1048576);
	cr_assert_eq(thr("77B").bytes, 77);
	t = thr("64M");
	cr_assert_eq(watch_threshold_bytes(&t, 0), 64ull << 20);
	const char *bad[] = {"", "%", "0", "0%", "101%", "50.5%", "-1M", "1X", "M", "12 M", "1MM",
			     "18446744073709551616", "16777216T", "80%%", " 1", "1e9"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		cr_assert_eq(watch_parse_threshold(bad[i], &t), -1, "'%s'", bad[i]);
}

Test(watch_parse, durations)
{
	uint64_t ms;
	cr_assert_eq(watch_parse_duration("500ms", false, &ms), 0);
	cr_assert_eq(ms, 500);
	cr_assert_eq(watch_parse_duration("30", false, &ms), 0);
	cr_assert_eq(ms, 30000);
	cr_assert_eq(watch_parse_duration("30s", false, &ms), 0);
	cr_assert_eq(ms, 30000);
	cr_assert_eq(watch_parse_duration("5m", false, &ms), 0);
	cr_assert_eq(ms, 300000);
	cr_assert_eq(watch_parse_duration("1h", false, &ms), 0);
	cr_assert_eq(ms, 3600000);
	cr_assert_eq(watch_parse_duration("366d", false, &ms), 0);
	cr_assert_eq(ms, 366ull * 86400000);
	cr_assert_eq(watch_parse_duration("0", true, &ms), 0);
	cr_assert_eq(ms, 0);
	const char *bad[] = {"", "0", "0s", "367d", "1x", "h", "1.5h", "-1s", "1 s", "99999999999999999999",
			     "1hh", "1S"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		cr_assert_eq(watch_parse_duration(bad[i], false, &ms), -1, "'%s'", bad[i]);
}

Test(watch_parse, safe_names)
{
	char out[80];
	watch_safe_name("pkl", out, sizeof out);
	cr_assert_str_eq(out, "pkl");
	watch_safe_name("a b/c\x01\xff", out, sizeof out);
	cr_assert_str_eq(out, "a_b_c__");
	watch_safe_name("", out, sizeof out);
	cr_assert_str_eq(out, "target");
	watch_safe_name("..", out, sizeof out);
	cr_assert_str_eq(out, "target");
	char longname[200];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	watch_safe_name(longname, out, sizeof out);
	cr_assert_eq(strlen(out), 64);
}

Test(watch_parse, dump_names_round_trip)
{
	struct timespec ts = {.tv_sec = 1764617760, .tv_nsec = 123456789}; /* 2025-12-01T19:36:00Z */
	char name[256];
	cr_assert_eq(watch_dump_name(name, sizeof name, "pkl", 4242, &ts, WATCH_T_HEAP), 0);
	cr_assert_str_eq(name, "pkl-4242-20251201T193600.123Z-heap.hprof");
	cr_assert(watch_is_dump_name(name));
	char gz[300];
	snprintf(gz, sizeof gz, "%s.gz", name);
	cr_assert(watch_is_dump_name(gz));
	for (int t = 0; t < WATCH_T_COUNT; t++) {
		cr_assert_eq(watch_dump_name(name, sizeof name, "my-app.bin", 1, &ts, (enum watch_trigger)t), 0);
		cr_assert(watch_is_dump_name(name), "%s", name);
	}
	char tiny[10];
	cr_assert_eq(watch_dump_name(tiny, sizeof tiny, "pkl", 4242, &ts, WATCH_T_HEAP), -1);
	const char *not_ours[] = {
		"pkl-4242-20251201T193600.123Z-heap.hprof.tmp",
		".pkl-4242-20251201T193600.123Z-heap.hprof.hdump-1.tmp",
		"pkl-4242-20251201T193600.123Z-bogus.hprof",
		"pkl-20251201T193600.123Z-heap.hprof",
		"-4242-20251201T193600.123Z-heap.hprof",
		"pkl-4242-20251201T1936.123Z-heap.hprof",
		"pkl-4242-2025120xT193600.123Z-heap.hprof",
		"important.hprof",
		"heap.hprof",
		"",
	};
	for (size_t i = 0; i < sizeof not_ours / sizeof *not_ours; i++)
		cr_assert(!watch_is_dump_name(not_ours[i]), "'%s'", not_ours[i]);
}

Test(watch_parse, retention_deletes_only_the_oldest_of_ours)
{
	char *w[] = {
		"/d/pkl-1-20251201T193600.001Z-heap.hprof",
		"/d/pkl-1-20251201T193601.001Z-every.hprof",
		"/d/pkl-1-20251201T193602.001Z-every.hprof",
		"/d/pkl-1-20251201T193603.001Z-file.hprof",
	};
	cr_assert_eq(watch_retention_excess(w, 4, 0), 0, "keep all");
	cr_assert_eq(watch_retention_excess(w, 4, 4), 0);
	cr_assert_eq(watch_retention_excess(w, 4, 9), 0);
	cr_assert_eq(watch_retention_excess(w, 4, 2), 2);
	cr_assert_eq(watch_retention_excess(w, 4, 1), 3);
	char *mixed[] = {
		"/d/pkl-1-20251201T193600.001Z-heap.hprof",
		"/d/notes.txt",
		"/d/pkl-1-20251201T193602.001Z-every.hprof",
	};
	cr_assert_eq(watch_retention_excess(mixed, 3, 1), 1, "stops before a name not of ours");
}

Test(watch_parse, pressure)
{
	struct watch_pressure p;
	cr_assert_eq(watch_parse_pressure("150ms/1s", &p), 0);
	cr_assert(p.set && !p.full);
	cr_assert_eq(p.stall_us, 150000);
	cr_assert_eq(p.window_us, 1000000);
	cr_assert_eq(watch_parse_pressure("full:2s/10s", &p), 0);
	cr_assert(p.full);
	cr_assert_eq(p.stall_us, 2000000);
	cr_assert_eq(watch_parse_pressure("500ms/500ms", &p), 0);
	const char *bad[] = {"", "150ms", "/1s", "150ms/", "0ms/1s", "2s/1s", "100ms/499ms",
			     "1s/11s", "some:1s/2s", "full:", "1s/2s/3s", "123456789012345678901234567890123/1s"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		cr_assert_eq(watch_parse_pressure(bad[i], &p), -1, "'%s'", bad[i]);
}
