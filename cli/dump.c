#include "../common/clock.h"
#include "../common/escape.h"
#include "../common/hd_error.h"
#include "output.h"
#include "run.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* The dump's date, for the HPROF header: wall time, unlike durations. */
static uint64_t wall_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

struct histo_row {
	const struct hd_class *cls;
	uint64_t count, bytes;
};

static int by_bytes(const void *a, const void *b)
{
	const struct histo_row *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->cls->name, y->cls->name);
}

/* jmap -histo's table: one row per class with instances, largest first. */
static int print_histogram(FILE *out, const struct hd_classes *t, const struct hd_census *c)
{
	struct histo_row *rows = malloc((t->n ? t->n : 1) * sizeof *rows);
	if (!rows)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	size_t n = 0;
	for (size_t k = 0; k < t->n; k++)
		if (c->count[k])
			rows[n++] = (struct histo_row){&t->v[k], c->count[k], c->size[k]};
	qsort(rows, n, sizeof *rows, by_bytes);
	fprintf(out, " num     #instances         #bytes  class name\n");
	fprintf(out, "----------------------------------------------\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%4zu: %14" PRIu64 " %14" PRIu64 "  ", i + 1, rows[i].count,
			rows[i].bytes);
		hd_fputs_escaped(rows[i].cls->name, out);
		fputc('\n', out);
	}
	fprintf(out, "Total %14" PRIu64 " %14" PRIu64 "\n", c->objects, c->bytes);
	free(rows);
	fflush(out);
	return ferror(out) ? hd_fail(HD_E_OUTPUT, "cannot print the histogram") : 0;
}

static char *default_name(const char *hint)
{
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
	size_t n = strlen(hint) + strlen(stamp) + 32;
	char *name = malloc(n);
	if (name)
		snprintf(name, n, "hdump-%s-%s.hprof", hint, stamp);
	return name;
}

int session_begin(struct dump_session *s, const struct hd_options *opt, const char *name_hint)
{
	memset(s, 0, sizeof *s);
	s->opt = opt;
	s->out.fd = -1;
	s->t0_ms = hd_monotonic_ms();
	s->write_file = opt->output || !opt->histo;
	if (!s->write_file)
		return 0;
	s->path = opt->output ? strdup(opt->output) : default_name(name_hint);
	if (!s->path)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	return output_open(&s->out, s->path, opt->force);
}

int session_attempt(struct dump_session *s, const struct hd_dump_input *in)
{
	census_free(&s->census);
	if (s->written && output_rewind(&s->out, s->written) != 0)
		return -1;
	s->written = 0;
	if (heap_census(in, &s->census) != 0)
		return -1;
	if (!s->write_file)
		return 0;
	hd_hprof *w = hprof_open(output_write, &s->out, wall_ms(), 0);
	if (!w)
		return -1;
	int rc = heap_write_hprof(in, &s->census, w);
	s->written = hprof_bytes_written(w);
	hprof_free(w);
	return rc;
}

static void report(const struct dump_session *s, const struct hd_dump_input *in)
{
	const struct hd_options *opt = s->opt;
	const struct hd_census *c = &s->census;
	bool to_stdout = s->write_file && strcmp(s->path, "-") == 0;
	double secs = (double)(hd_monotonic_ms() - s->t0_ms) / 1000.0;
	const char *path = s->write_file ? s->path : "";
	if (opt->json)
		fprintf(to_stdout ? stderr : stdout,
			"{\"file\":\"%s\",\"objects\":%" PRIu64 ",\"heap_bytes\":%" PRIu64
			",\"fillers\":%" PRIu64 ",\"chunks\":%" PRIu64 ",\"classes\":%zu"
			",\"hprof_bytes\":%" PRIu64 ",\"seconds\":%.3f}\n",
			path, c->objects, c->bytes, c->fillers, c->chunks, in->classes->n, s->written,
			secs);
	if (opt->verbose)
		fprintf(stderr,
			"hdump: %" PRIu64 " objects (%" PRIu64 " bytes, %" PRIu64
			" fillers skipped) in %" PRIu64 " chunks, %zu classes; wrote %" PRIu64
			" bytes%s%s in %.2f s\n",
			c->objects, c->bytes, c->fillers, c->chunks, in->classes->n, s->written,
			s->write_file ? " to " : "", path, secs);
}

int session_end(struct dump_session *s, const struct hd_dump_input *in, int rc)
{
	if (rc == 0 && s->opt->histo) {
		bool to_stdout = s->write_file && strcmp(s->path, "-") == 0;
		rc = print_histogram(to_stdout ? stderr : stdout, in->classes, &s->census);
		if (rc != 0 && s->write_file) {
			/* A reader that stopped early (| head) must not cost the dump. */
			char esc[HD_ESCAPED_MESSAGE];
			fprintf(stderr, "hdump: warning: %s\n", hd_escape(hd_error_message(), esc, sizeof esc));
			rc = 0;
		}
	}
	if (rc == 0 && s->write_file)
		rc = output_commit(&s->out);
	if (rc == 0 && (s->opt->verbose || s->opt->json))
		report(s, in);
	output_abort(&s->out); /* after a commit this only frees */
	census_free(&s->census);
	free(s->path);
	s->path = NULL;
	return rc;
}
