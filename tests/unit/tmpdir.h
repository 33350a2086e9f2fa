/* A directory of a test suite's own under /tmp: made by the suite's .init,
 * removed with all it holds by its .fini (Criterion runs each test in a
 * process of its own, so each test gets a fresh one). */
#ifndef HD_TEST_TMPDIR_H
#define HD_TEST_TMPDIR_H

#include <stddef.h>

/* Makes /tmp/PREFIX.XXXXXX into DIR (SIZE bytes); fails the test if it cannot. */
void tmpdir_make(char *dir, size_t size, const char *prefix);

/* Removes DIR and everything below it; fails the test if it cannot. */
void tmpdir_remove(const char *dir);

#endif
