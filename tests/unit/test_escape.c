/* Target-chosen strings on a terminal (common/escape.h): controls, DEL,
 * invalid UTF-8 and backslashes escaped; text and valid UTF-8 unchanged. */
#include "../../common/escape.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static void expect_escaped(const char *in, const char *want)
{
	char buf[256];
	cr_assert_str_eq(hd_escape(in, buf, sizeof buf), want);
	/* The stream form writes the same bytes. */
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	cr_assert_not_null(f);
	hd_fputs_escaped(in, f);
	fclose(f);
	cr_assert_str_eq(mem, want);
	free(mem);
}

Test(escape, plain_names_pass_unchanged)
{
	expect_escaped("java.lang.String", "java.lang.String");
	expect_escaped("[Lcom.example.Foo$Bar;", "[Lcom.example.Foo$Bar;");
	expect_escaped("", "");
}

Test(escape, terminal_controls_are_escaped)
{
	expect_escaped("evil\x1b]0;owned\x07name", "evil\\x1b]0;owned\\x07name");
	expect_escaped("line\nbreak\rcr\ttab", "line\\x0abreak\\x0dcr\\x09tab");
	expect_escaped("del\x7f", "del\\x7f");
	expect_escaped("back\\slash", "back\\x5cslash");
}

Test(escape, utf8_passes_but_c1_controls_and_invalid_bytes_do_not)
{
	expect_escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	expect_escaped("csi\xc2\x9b" "2J", "csi\\xc2\\x9b2J");  /* U+009B, a C1 control */
	expect_escaped("raw\x9b" "2J", "raw\\x9b2J");           /* 8-bit CSI */
	expect_escaped("overlong\xc0\xaf", "overlong\\xc0\\xaf");
	expect_escaped("surrogate\xed\xa0\x80", "surrogate\\xed\\xa0\\x80");
	expect_escaped("cut\xe2\x82", "cut\\xe2\\x82");
}

Test(escape, a_short_buffer_cuts_between_pieces)
{
	char buf[8];
	cr_assert_str_eq(hd_escape("abcd\x1b" "ef", buf, sizeof buf), "abcd");
	cr_assert_str_eq(hd_escape("abcdefghij", buf, sizeof buf), "abcdefg");
	char one[1] = {'x'};
	cr_assert_str_eq(hd_escape("abc", one, sizeof one), "");
}
