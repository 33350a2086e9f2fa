/* What a command-line test's code prints on stdout or stderr, captured
 * through a temporary file at the descriptor level (stdio and direct
 * writes alike). */
#ifndef HD_TEST_CAPTURE_H
#define HD_TEST_CAPTURE_H

#include <stdio.h>

struct capture {
	FILE *stream;
	int saved, fd;
	FILE *file;
};

/* From now on STREAM (stdout or stderr) goes into C; the test fails if it
 * cannot. */
void capture_begin(struct capture *c, FILE *stream);
/* Restores the stream; returns what was printed (malloc'd). */
char *capture_end(struct capture *c);

#endif
