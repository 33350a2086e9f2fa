#include "capture.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <unistd.h>

void capture_begin(struct capture *c, FILE *stream)
{
	c->stream = stream;
	fflush(stream);
	c->file = tmpfile();
	cr_assert_not_null(c->file);
	c->fd = fileno(stream);
	c->saved = dup(c->fd);
	cr_assert_geq(c->saved, 0);
	cr_assert_geq(dup2(fileno(c->file), c->fd), 0);
}

char *capture_end(struct capture *c)
{
	fflush(c->stream);
	cr_assert_geq(dup2(c->saved, c->fd), 0);
	close(c->saved);
	long n = lseek(fileno(c->file), 0, SEEK_END);
	cr_assert_geq(n, 0);
	char *text = calloc(1, (size_t)n + 1);
	cr_assert_not_null(text);
	cr_assert_eq(pread(fileno(c->file), text, (size_t)n, 0), n);
	fclose(c->file);
	return text;
}
