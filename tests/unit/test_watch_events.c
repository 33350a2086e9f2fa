/* hdump watch's JSON lines (cli/watch_events.h): every line one valid
 * object, hostile strings escaped, an overlong value cut without breaking
 * the line. */
#include "../../cli/watch_events.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *line_of(struct watch_json *j)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	cr_assert(f);
	cr_assert_eq(wj_end(j, f), 0);
	fclose(f);
	return buf;
}

Test(watch_events, keys_in_order_and_types)
{
	struct watch_json j;
	wj_begin(&j, "dump");
	wj_i64(&j, "pid", 42);
	wj_u64(&j, "size", UINT64_MAX);
	wj_bool(&j, "suppressed", false);
	wj_str(&j, "path", "/tmp/a.hprof");
	char *s = line_of(&j);
	cr_assert_eq(strncmp(s, "{\"event\":\"dump\",\"time\":\"", 24), 0, "%s", s);
	cr_assert(strstr(s, "Z\",\"pid\":42,\"size\":18446744073709551615,\"suppressed\":false,"
			    "\"path\":\"/tmp/a.hprof\"}\n"), "%s", s);
	free(s);
}

Test(watch_events, hostile_strings_escaped)
{
	struct watch_json j;
	wj_begin(&j, "error");
	wj_str(&j, "message", "a\"b\\c\n\x01\xff");
	char *s = line_of(&j);
	/* quote escaped; backslash, control bytes and invalid UTF-8 as \xNN,
	 * whose backslash is escaped for JSON */
	cr_assert(strstr(s, "\"message\":\"a\\\"b\\\\x5cc\\\\x0a\\\\x01\\\\xff\"}"), "%s", s);
	for (const char *p = s; *p; p++)
		cr_assert(p[0] != '\n' || p[1] == '\0', "one line");
	free(s);
}

Test(watch_events, overlong_value_cut_line_stays_valid)
{
	struct watch_json j;
	wj_begin(&j, "error");
	wj_i64(&j, "code", 9);
	char big[3000];
	memset(big, 'q', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	wj_str(&j, "a", big);
	wj_str(&j, "b", big); /* does not fit: left out */
	wj_i64(&j, "after", 1); /* nothing after an overflow */
	cr_assert(j.overflow);
	char *s = line_of(&j);
	size_t n = strlen(s);
	cr_assert_str_eq(s + n - 3, "\"}\n", "%s", s + n - 10);
	cr_assert_null(strstr(s, "\"b\":"));
	cr_assert_null(strstr(s, "\"after\""));
	free(s);
}
