/* Target-chosen text through the public API (lib/escaping.c): control
 * bytes, invalid UTF-8 and backslashes come out as \xNN, a cut never
 * splits an escape, and the stream form writes the same. */
#include "../../include/hdump.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Test(escaping, control_bytes_and_backslashes)
{
	char buf[64];
	cr_assert_str_eq(hdump_escape("a\033[2Jb\\\xff", buf, sizeof buf), "a\\x1b[2Jb\\x5c\\xff");
	cr_assert_str_eq(hdump_escape("héllo", buf, sizeof buf), "héllo", "valid UTF-8 stays");
}

Test(escaping, a_cut_never_splits_an_escape)
{
	char buf[6];
	cr_assert_str_eq(hdump_escape("ab\033cd", buf, sizeof buf), "ab");
}

Test(escaping, to_a_stream)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	cr_assert_not_null(f);
	hdump_fputs_escaped("x\ny", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_str_eq(out, "x\\x0ay");
	free(out);
}
