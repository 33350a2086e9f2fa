/* Growing vectors (common/grow.h): the first size, doubling, contents
 * kept, no growth while there is room, and a size overflow refused with
 * the vector kept. */
#include "../../common/grow.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

Test(grow, doubles_from_the_first_size_and_keeps_contents)
{
	uint32_t *v = NULL;
	size_t cap = 0, n = 0;
	for (uint32_t i = 0; i < 100; i++) {
		cr_assert(hd_grow(&v, &cap, n, sizeof *v, 4) == 0);
		v[n++] = i * 3;
	}
	cr_assert_eq(cap, 128, "4, 8, ..., 128");
	for (uint32_t i = 0; i < 100; i++)
		cr_assert_eq(v[i], i * 3);
	uint32_t *before = v;
	cr_assert(hd_grow(&v, &cap, n, sizeof *v, 4) == 0);
	cr_assert_eq(v, before, "room left: untouched");
	cr_assert_eq(cap, 128);
	free(v);
}

Test(grow, an_overflowing_size_is_refused_and_the_vector_kept)
{
	char *v = malloc(2);
	cr_assert(v);
	size_t cap = 2;
	cr_assert(hd_grow(&v, &cap, 2, SIZE_MAX / 3, 1) != 0);
	cr_assert_eq(hd_error_class(), HD_E_INTERNAL);
	cr_assert_eq(cap, 2);
	cr_assert_not_null(v);
	free(v);
}

/* Memory for threads' own structures starts on a line, is zeroed and ends
 * on a line: nothing after it shares its last line. */
Test(grow, thread_structures_get_lines_of_their_own)
{
	for (size_t n = 1; n < 5; n++) {
		unsigned char *p = hd_calloc_lines(n, 40);
		cr_assert_not_null(p, "%s", hd_error_message());
		cr_assert_eq((uintptr_t)p % HD_LINE, 0);
		for (size_t i = 0; i < (n * 40 + HD_LINE - 1) / HD_LINE * HD_LINE; i++)
			cr_assert_eq(p[i], 0, "byte %zu of %zu x 40", i, n);
		free(p);
	}
	cr_assert_null(hd_calloc_lines(SIZE_MAX / 8, 16));
	cr_assert_eq(hd_error_class(), HD_E_INTERNAL);
}
