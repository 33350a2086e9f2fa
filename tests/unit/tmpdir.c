#include "tmpdir.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

void tmpdir_make(char *dir, size_t size, const char *prefix)
{
	int n = snprintf(dir, size, "/tmp/%s.XXXXXX", prefix);
	cr_assert(n > 0 && (size_t)n < size, "temporary directory name too long");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp %s", dir);
}

void tmpdir_remove(const char *dir)
{
	char cmd[4200];
	int n = snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_assert(n > 0 && (size_t)n < sizeof cmd);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}
