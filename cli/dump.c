#include "../common/hd_error.h"
#include "output.h"
#include "run.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static uint64_t now_ms(void)
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
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%4zu: %14" PRIu64 " %14" PRIu64 "  %s\n", i + 1, rows[i].count,
			rows[i].bytes, rows[i].cls->name);
	fprintf(out, "Total %14" PRIu64 " %14" PRIu64 "\n", c->objects, c->bytes);
	free(rows);
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

int run_dump(const struct hd_options *opt, const struct hd_dump_input *in, const char *name_hint)
{
	uint64_t t0 = now_ms();
	bool write_file = opt->output || !opt->histo;
	char *generated = NULL;
	const char *path = opt->output;
	if (write_file && !path) {
		path = generated = default_name(name_hint);
		if (!generated)
			return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	/* Open first: an existing file or a bad directory fails before any work. */
	struct hd_output out = {.fd = -1};
	if (write_file && output_open(&out, path, opt->force) != 0) {
		free(generated);
		return -1;
	}
	struct hd_census census;
	int rc = heap_census(in, &census);
	if (rc == 0 && opt->histo) {
		rc = print_histogram(out.is_stdout ? stderr : stdout, in->classes, &census);
		if (rc != 0 && write_file) {
			/* A reader that stopped early (| head) must not cost the dump. */
			fprintf(stderr, "hdump: warning: %s\n", hd_error_message());
			rc = 0;
		}
	}
	uint64_t written = 0;
	if (rc == 0 && write_file) {
		hd_hprof *w = hprof_open(output_write, &out, now_ms(), 0);
		rc = w ? heap_write_hprof(in, &census, w) : -1;
		if (w)
			written = hprof_bytes_written(w);
		hprof_free(w);
		if (rc == 0)
			rc = output_commit(&out);
	}
	output_abort(&out); /* after a commit this only frees */
	if (rc == 0 && (opt->verbose || opt->json)) {
		FILE *f = write_file && strcmp(path, "-") == 0 ? stderr : opt->json ? stdout : stderr;
		double secs = (double)(now_ms() - t0) / 1000.0;
		if (opt->json)
			fprintf(f,
				"{\"file\":\"%s\",\"objects\":%" PRIu64 ",\"heap_bytes\":%" PRIu64
				",\"fillers\":%" PRIu64 ",\"chunks\":%" PRIu64 ",\"classes\":%zu"
				",\"hprof_bytes\":%" PRIu64 ",\"seconds\":%.3f}\n",
				write_file ? path : "", census.objects, census.bytes, census.fillers,
				census.chunks, in->classes->n, written, secs);
		else
			fprintf(f,
				"hdump: %" PRIu64 " objects (%" PRIu64 " bytes, %" PRIu64
				" fillers skipped) in %" PRIu64 " chunks, %zu classes; wrote %" PRIu64
				" bytes%s%s in %.2f s\n",
				census.objects, census.bytes, census.fillers, census.chunks,
				in->classes->n, written, write_file ? " to " : "",
				write_file ? path : "", secs);
	}
	census_free(&census);
	free(generated);
	return rc;
}
