#include "report.h"

#include <errno.h>
#include <inttypes.h>

static void print_message(const char *prefix, const char *text)
{
	char esc[HDUMP_ESCAPED_MESSAGE];
	fprintf(stderr, "hdump: %s%s\n", prefix, hdump_escape(text, esc, sizeof esc));
}

void report_warning(const char *text)
{
	print_message("warning: ", text);
}

void report_event(void *ctx, const struct hdump_event *ev)
{
	const struct report_events *want = ctx;
	bool verbose = want->verbose;
	switch (ev->kind) {
	case HDUMP_EVENT_WARNING:
		if (!want->quiet)
			report_warning(ev->text);
		return;
	case HDUMP_EVENT_VERBOSE:
		if (verbose)
			print_message("", ev->text);
		return;
	case HDUMP_EVENT_RETRY:
		if (verbose) {
			char esc[HDUMP_ESCAPED_MESSAGE];
			fprintf(stderr, "hdump: attempt %u: %s; retrying\n", ev->attempt,
				hdump_escape(ev->text, esc, sizeof esc));
		}
		return;
	case HDUMP_EVENT_RESUMED:
		if (!want->pauses)
			return;
		fprintf(stderr, "hdump: target stopped for %" PRIu64 " ms", ev->pause_ms);
		if (ev->snapshot == HDUMP_SNAPSHOT_FORK)
			fprintf(stderr, " (fork %d)", (int)ev->fork_child);
		else if (ev->snapshot == HDUMP_SNAPSHOT_COPY)
			fprintf(stderr, " (copied %" PRIu64 " MB)", ev->copied_bytes >> 20);
		fputc('\n', stderr);
		return;
	case HDUMP_EVENT_PHASE_BEGIN:
	case HDUMP_EVENT_PHASE_END:
	case HDUMP_EVENT_PAUSED:
	case HDUMP_EVENT_PROGRESS: /* cli/progress.c draws it */
		return;
	}
}

void report_executable(const char *path, const struct hdump_target_info *info)
{
	char version[4 * 160]; /* room for a version string escaped (elfimage keeps < 160 bytes) */
	fprintf(stderr, "hdump: %s: %s, image heap of %" PRIu64 " bytes\n", path,
		info->vm_version[0] ? hdump_escape(info->vm_version, version, sizeof version)
				    : "unknown VM version",
		info->image_heap_size);
}

void report_isolates(const struct hdump_isolate *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		printf("isolate %zu: heap base 0x%" PRIx64 ", image heap 0x%" PRIx64 ", %zu threads, "
		       "%zu runtime chunks%s\n",
		       i, v[i].heap_base, v[i].image_start, v[i].nthreads, v[i].runtime_chunks,
		       v[i].chosen ? " (default)" : "");
		for (size_t k = 0; k < v[i].nthreads; k++) {
			const struct hdump_thread *t = &v[i].threads[k];
			char comm[4 * 20]; /* a comm (< 20 bytes), escaped */
			printf("  thread %d %s\n", (int)t->tid,
			       t->name ? hdump_escape(t->name, comm, sizeof comm) : "(no OS thread)");
		}
	}
}

int report_histogram(FILE *out, const hdump_target *t, const struct hdump_result *r)
{
	const struct hdump_histogram_row *rows;
	size_t n = hdump_histogram(t, &rows);
	fprintf(out, " num     #instances         #bytes  class name\n");
	fprintf(out, "----------------------------------------------\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%4zu: %14" PRIu64 " %14" PRIu64 "  ", i + 1, rows[i].count,
			rows[i].bytes);
		hdump_fputs_escaped(rows[i].name, out);
		fputc('\n', out);
	}
	fprintf(out, "Total %14" PRIu64 " %14" PRIu64 "\n", r->objects, r->bytes);
	fflush(out);
	return ferror(out) ? hdump_fail(HDUMP_E_OUTPUT, "cannot print the histogram") : 0;
}

/* S as the body of a JSON string: quote, backslash and control bytes
 * escaped; other bytes pass (a path is bytes, JSON readers take UTF-8). */
static void json_string_body(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
}

void report_json(FILE *out, const char *path, const struct hdump_result *r)
{
	report_json_file(out, path, r, &(struct report_file){false, r->hprof_bytes});
}

void report_json_file(FILE *out, const char *path, const struct hdump_result *r,
		      const struct report_file *f)
{
	fputs("{\"file\":\"", out);
	json_string_body(out, path);
	fprintf(out,
		"\",\"objects\":%" PRIu64 ",\"heap_bytes\":%" PRIu64
		",\"fillers\":%" PRIu64 ",\"chunks\":%" PRIu64 ",\"classes\":%" PRIu64
		",\"hprof_bytes\":%" PRIu64 ",\"seconds\":%.3f",
		r->objects, r->bytes, r->fillers, r->chunks, r->classes, r->hprof_bytes,
		r->seconds);
	fprintf(out, ",\"naming\":{\"instances\":%" PRIu64 ",\"instances_all_named\":%" PRIu64
		",\"by_source\":{", r->field_instances, r->named_instances);
	for (unsigned i = 0; i < HDUMP_NAME_SOURCES; i++)
		fprintf(out, "%s\"%s\":%" PRIu64, i ? "," : "", hdump_name_source(i), r->named_by[i]);
	fputs("}}", out);
	fprintf(out, ",\"statics\":{\"in_classes\":%" PRIu64 ",\"written\":%" PRIu64
		",\"unattributed_slots\":%" PRIu64 ",\"unattributed_bytes\":%" PRIu64 "}",
		r->statics_classes, r->statics_written, r->statics_unattributed_slots,
		r->statics_unattributed_bytes);
	if (r->core) /* a core file: what it lacked (README, "Core files") */
		fprintf(out, ",\"core\":{\"missing_chunks\":%" PRIu64 ",\"missing_chunk_bytes\":%" PRIu64
			",\"missing_bytes\":%" PRIu64 ",\"missing_refs\":%" PRIu64 "}",
			r->core_missing_chunks, r->core_missing_chunk_bytes, r->core_missing_bytes,
			r->core_missing_refs);
	/* thread stacks */
	fprintf(out, ",\"stack_threads\":%" PRIu64 ",\"stack_frames\":%" PRIu64
		",\"stack_undecoded\":%" PRIu64,
		r->stack_threads, r->stack_frames, r->stack_undecoded);
	/* the snapshot a process's dump took, and why */
	if (r->snapshot_reason[0]) {
		static const char *const names[] = {"stop", "copy", "fork", "auto"};
		fprintf(out, ",\"snapshot\":\"%s\",\"snapshot_reason\":\"",
			(unsigned)r->snapshot < 4 ? names[r->snapshot] : "?");
		json_string_body(out, r->snapshot_reason);
		fputc('"', out);
	}
	/* what the discovery cache did (README, "Discovery cache") */
	fprintf(out, ",\"discovery_cache\":\"%s\"", hdump_discovery_cache_name(r->discovery_cache));
	/* the output file: gzip, and what reached it */
	fprintf(out, ",\"gzip\":%s,\"file_bytes\":%" PRIu64 "}\n", f->gzip ? "true" : "false",
		f->bytes);
}

void report_summary(const char *path, const struct hdump_result *r)
{
	fprintf(stderr, "hdump: field names: %" PRIu64 " of %" PRIu64 " instances (%.1f %%) have "
		"only real names; with names from", r->named_instances, r->field_instances,
		r->field_instances ? 100.0 * (double)r->named_instances / (double)r->field_instances
				   : 0.0);
	for (unsigned i = 0; i < HDUMP_NAME_SOURCES; i++)
		fprintf(stderr, "%s %s %" PRIu64, i ? "," : "", hdump_name_source(i), r->named_by[i]);
	fprintf(stderr,
		"\nhdump: static fields: %" PRIu64 " in %" PRIu64 " classes; %" PRIu64
		" Object[] slots and %" PRIu64 " byte[] bytes unattributed\n",
		r->statics_written, r->statics_classes, r->statics_unattributed_slots,
		r->statics_unattributed_bytes);
	fprintf(stderr,
		"hdump: %" PRIu64 " objects (%" PRIu64 " bytes, %" PRIu64
		" fillers skipped) in %" PRIu64 " chunks, %" PRIu64 " classes; wrote %" PRIu64
		" bytes%s%s in %.2f s\n",
		r->objects, r->bytes, r->fillers, r->chunks, r->classes, r->hprof_bytes,
		path[0] ? " to " : "", path, r->seconds);
	if (r->core)
		fprintf(stderr, "hdump: core: %" PRIu64 " heap chunks (%" PRIu64 " bytes) left out: "
			"the core lacks them; it lacks %" PRIu64 " bytes of memory in all; %" PRIu64
			" references into them written as null\n",
			r->core_missing_chunks, r->core_missing_chunk_bytes, r->core_missing_bytes,
			r->core_missing_refs);
}

/* ---- --stacks: each thread's Java frames, as jstack prints them ---- */

/* "at class.method(line N)": the image keeps lines, not source file names. */
static void print_frame(FILE *out, const struct hdump_frame *f)
{
	fputs("\tat ", out);
	hdump_fputs_escaped(f->class_name, out);
	fputc('.', out);
	hdump_fputs_escaped(f->method, out);
	if (f->line > 0)
		fprintf(out, "(line %d)\n", f->line);
	else if (f->bci >= 0)
		fprintf(out, "(bci %d)\n", f->bci);
	else
		fputs("(Unknown Source)\n", out);
}

int report_stacks(FILE *out, const struct hdump_stack *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct hdump_stack *s = &v[i];
		fputc('"', out);
		hdump_fputs_escaped(s->name ? s->name : "?", out);
		fprintf(out, "\" tid=%d\n", (int)s->tid);
		for (size_t k = 0; k < s->nframes; k++)
			print_frame(out, &s->frames[k]);
		fprintf(out, "\t(%zu machine frames, %zu without frame info; walk ended: %s)\n\n",
			s->physical_frames, s->undecoded_frames, s->end);
	}
	if (fflush(out) != 0 || ferror(out))
		return hdump_fail_errno(HDUMP_E_OUTPUT, errno, "cannot print the stacks");
	return 0;
}
