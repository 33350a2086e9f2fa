/* The public API (include/hdump.h) used as a second client would use it,
 * with nothing else of hdump's: a synthetic native-image executable
 * (written at build time by make_synth_image, its ground truth beside it)
 * opened, discovered and dumped into memory; results, histogram, events,
 * the memory view, and the error paths. */
#include "../../include/hdump.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- The ground truth --------------------------------------------------- */

#define MAX_CLASSES 256

struct expect {
	char vm_version[128];
	uint64_t heap_size, first_word, objects, bytes, fillers, chunks;
	struct {
		uint64_t count;
		char name[128];
		bool seen;
	} classes[MAX_CLASSES];
	size_t nclasses;
};

static const char *image_path(void)
{
	const char *p = getenv("HDUMP_SYNTH_IMAGE");
	cr_assert_not_null(p, "HDUMP_SYNTH_IMAGE is not set (run through meson test)");
	return p;
}

static void read_expect(struct expect *e)
{
	const char *p = getenv("HDUMP_SYNTH_EXPECT");
	cr_assert_not_null(p, "HDUMP_SYNTH_EXPECT is not set (run through meson test)");
	FILE *f = fopen(p, "r");
	cr_assert_not_null(f, "%s", p);
	memset(e, 0, sizeof *e);
	char line[512];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *value = strchr(line, ' ');
		cr_assert_not_null(value, "%s", line);
		*value++ = '\0';
		if (strcmp(line, "vm_version") == 0) {
			snprintf(e->vm_version, sizeof e->vm_version, "%s", value);
		} else if (strcmp(line, "class") == 0) {
			cr_assert_lt(e->nclasses, MAX_CLASSES);
			char *name = strchr(value, ' ');
			cr_assert_not_null(name);
			*name++ = '\0';
			e->classes[e->nclasses].count = strtoull(value, NULL, 10);
			snprintf(e->classes[e->nclasses++].name, 128, "%s", name);
		} else {
			uint64_t v = strtoull(value, NULL, 10);
			if (strcmp(line, "heap_size") == 0)
				e->heap_size = v;
			else if (strcmp(line, "first_word") == 0)
				e->first_word = v;
			else if (strcmp(line, "objects") == 0)
				e->objects = v;
			else if (strcmp(line, "bytes") == 0)
				e->bytes = v;
			else if (strcmp(line, "fillers") == 0)
				e->fillers = v;
			else if (strcmp(line, "chunks") == 0)
				e->chunks = v;
		}
	}
	fclose(f);
	cr_assert_gt(e->objects, 0);
	cr_assert_gt(e->nclasses, 0);
}

/* ---- A sink in memory, and events counted --------------------------------- */

struct memsink {
	uint8_t *buf;
	size_t len, cap;
	size_t fail_after; /* 0: never fails */
};

static int mem_write(void *ctx, const void *buf, size_t len)
{
	struct memsink *m = ctx;
	if (m->fail_after && m->len + len > m->fail_after)
		return hdump_fail(HDUMP_E_DISK_FULL, "the memory sink is full");
	if (m->len + len > m->cap) {
		m->cap = 2 * (m->len + len);
		m->buf = realloc(m->buf, m->cap);
		cr_assert_not_null(m->buf);
	}
	memcpy(m->buf + m->len, buf, len);
	m->len += len;
	return 0;
}

struct seen {
	unsigned verbose, begun, ended;
	bool layout_line;
};

static void on_event(void *ctx, const struct hdump_event *ev)
{
	struct seen *s = ctx;
	if (ev->kind == HDUMP_EVENT_VERBOSE) {
		s->verbose++;
		s->layout_line |= strncmp(ev->text, "layout: ", 8) == 0;
	}
	s->begun += ev->kind == HDUMP_EVENT_PHASE_BEGIN;
	s->ended += ev->kind == HDUMP_EVENT_PHASE_END;
}

static hdump_target *open_discovered(struct seen *seen)
{
	hdump_target *t = hdump_open_executable(image_path());
	cr_assert_not_null(t, "%s", hdump_error().message);
	hdump_set_events(t, on_event, seen);
	cr_assert_eq(hdump_discover(t), 0, "%s", hdump_error().message);
	return t;
}

/* ---- The executable, dumped ----------------------------------------------- */

Test(api, executable_opened)
{
	struct expect e;
	read_expect(&e);
	hdump_target *t = hdump_open_executable(image_path());
	cr_assert_not_null(t, "%s", hdump_error().message);
	struct hdump_target_info info;
	hdump_target_info(t, &info);
	cr_assert_eq(info.kind, HDUMP_TARGET_EXECUTABLE);
	cr_assert_str_eq(info.vm_version, e.vm_version);
	cr_assert_eq(info.image_heap_size, e.heap_size);
	cr_assert_eq(info.isolates, 1);
	uint64_t word = 0;
	cr_assert_eq(hdump_read(t, info.image_heap_start, &word, 8), 0, "%s", hdump_error().message);
	cr_assert_eq(word, e.first_word);
	cr_assert_eq(hdump_read(t, info.image_heap_start + info.image_heap_size - 4, &word, 8), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_LAYOUT, "%s", hdump_error().message);
	hdump_close(t);
}

static void check_results(const struct expect *e, const struct hdump_result *r)
{
	cr_assert_eq(r->objects, e->objects, "%" PRIu64 " objects, want %" PRIu64, r->objects,
		     e->objects);
	cr_assert_eq(r->bytes, e->bytes);
	cr_assert_eq(r->fillers, e->fillers);
	cr_assert_eq(r->chunks, e->chunks);
	cr_assert_eq(r->attempts, 1);
	cr_assert_geq(r->classes, e->nclasses);
}

/* Every class with instances, with the generator's count, once. */
static void check_histogram(struct expect *e, const hdump_target *t, const struct hdump_result *r)
{
	const struct hdump_histogram_row *rows;
	size_t n = hdump_histogram(t, &rows);
	cr_assert_eq(n, e->nclasses, "%zu rows, want %zu", n, e->nclasses);
	uint64_t count = 0, bytes = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < e->nclasses && strcmp(e->classes[k].name, rows[i].name) != 0)
			k++;
		cr_assert_lt(k, e->nclasses, "unexpected class %s", rows[i].name);
		cr_assert_not(e->classes[k].seen, "%s twice", rows[i].name);
		e->classes[k].seen = true;
		cr_assert_eq(rows[i].count, e->classes[k].count, "%s", rows[i].name);
		cr_assert(i == 0 || rows[i - 1].bytes >= rows[i].bytes, "row %zu out of order", i);
		count += rows[i].count;
		bytes += rows[i].bytes;
	}
	cr_assert_eq(count, r->objects);
	cr_assert_eq(bytes, r->bytes);
}

Test(api, executable_dumped_into_memory)
{
	struct expect e;
	read_expect(&e);
	struct seen seen = {0};
	hdump_target *t = open_discovered(&seen);
	cr_assert(seen.layout_line, "no verbose line from discovery");
	struct hdump_options o;
	hdump_options_init(&o);
	struct memsink m = {0};
	struct hdump_sink sink = {mem_write, NULL, &m};
	struct hdump_result r;
	cr_assert_eq(hdump_dump(t, &o, &sink, &r), 0, "%s", hdump_error().message);
	check_results(&e, &r);
	cr_assert_eq(r.hprof_bytes, m.len);
	cr_assert_gt(m.len, e.bytes / 2);
	cr_assert_eq(memcmp(m.buf, "JAVA PROFILE 1.0.2", 19), 0);
	check_histogram(&e, t, &r);
	cr_assert_eq(seen.begun, seen.ended);
	cr_assert_eq(seen.begun, 3, "discover, census, write: %u phases", seen.begun);
	free(m.buf);
	hdump_close(t);
}

/* The census alone: the same results, nothing written. */
Test(api, census_only)
{
	struct expect e;
	read_expect(&e);
	struct seen seen = {0};
	hdump_target *t = open_discovered(&seen);
	struct hdump_options o;
	hdump_options_init(&o);
	o.hprof = false;
	struct hdump_result r;
	cr_assert_eq(hdump_dump(t, &o, NULL, &r), 0, "%s", hdump_error().message);
	check_results(&e, &r);
	cr_assert_eq(r.hprof_bytes, 0);
	check_histogram(&e, t, &r);
	hdump_close(t);
}

/* A sink that fails: its error is the dump's, and no histogram stands. */
Test(api, sink_error)
{
	struct seen seen = {0};
	hdump_target *t = open_discovered(&seen);
	struct hdump_options o;
	hdump_options_init(&o);
	struct memsink m = {.fail_after = 4096};
	struct hdump_sink sink = {mem_write, NULL, &m};
	cr_assert_eq(hdump_dump(t, &o, &sink, NULL), -1);
	struct hdump_error err = hdump_error();
	cr_assert_eq(err.cls, HDUMP_E_DISK_FULL, "%s", err.message);
	cr_assert_str_eq(err.message, "the memory sink is full");
	cr_assert_eq(hdump_exit_code(err.cls), 10);
	const struct hdump_histogram_row *rows;
	cr_assert_eq(hdump_histogram(t, &rows), 0);
	free(m.buf);
	hdump_close(t);
}

/* ---- Errors ------------------------------------------------------------------ */

Test(api, not_elf)
{
	char path[] = "/tmp/hdump-api-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	const char text[] = "this is no executable, only text\n";
	cr_assert_eq(write(fd, text, sizeof text), (ssize_t)sizeof text);
	close(fd);
	cr_assert_null(hdump_open_executable(path));
	struct hdump_error e = hdump_error();
	unlink(path);
	cr_assert_eq(e.cls, HDUMP_E_NOT_ELF, "%d: %s", e.cls, e.message);
	cr_assert_not_null(strstr(e.message, path), "%s", e.message);
	cr_assert_eq(hdump_exit_code(e.cls), 5);
}

Test(api, missing_file)
{
	cr_assert_null(hdump_open_executable("/nonexistent/hdump-api-test"));
	cr_assert_eq(hdump_error().cls, HDUMP_E_NOENT, "%s", hdump_error().message);
	cr_assert_eq(hdump_exit_code(HDUMP_E_NOENT), 3);
}

/* Asked in the wrong order, or of the wrong kind of target: usage errors. */
Test(api, misuse)
{
	hdump_target *t = hdump_open_executable(image_path());
	cr_assert_not_null(t, "%s", hdump_error().message);
	struct hdump_options o;
	hdump_options_init(&o);
	struct memsink m = {0};
	struct hdump_sink sink = {mem_write, NULL, &m};
	cr_assert_eq(hdump_dump(t, &o, &sink, NULL), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_USAGE, "%s", hdump_error().message);
	cr_assert_eq(hdump_discover(t), 0, "%s", hdump_error().message);
	const struct hdump_isolate *v;
	size_t n;
	cr_assert_eq(hdump_list_isolates(t, &o, &v, &n), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_USAGE, "%s", hdump_error().message);
	cr_assert_eq(m.len, 0);
	hdump_close(t);
}

/* A JDK named by the user that cannot be one is refused at once, as a
 * usage error saying why, and leaves the target as it was. */
Test(api, named_jdk_must_be_one)
{
	hdump_target *t = hdump_open_executable(image_path());
	cr_assert_not_null(t, "%s", hdump_error().message);
	cr_assert_eq(hdump_set_jdk(t, "/nonexistent/hdump-api-jdk"), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_USAGE, "%s", hdump_error().message);
	cr_assert_not_null(strstr(hdump_error().message, "/nonexistent/hdump-api-jdk: not a JDK"),
			   "%s", hdump_error().message);
	char dir[] = "/tmp/hdump-api-jdk.XXXXXX", modules[64];
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(hdump_set_jdk(t, dir), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_USAGE, "%s", hdump_error().message);
	cr_assert_not_null(strstr(hdump_error().message, "no lib/modules"), "%s",
			   hdump_error().message);
	/* what lib/modules holds is read at discovery, by the name sources */
	snprintf(modules, sizeof modules, "%s/lib", dir);
	cr_assert_eq(mkdir(modules, 0700), 0);
	snprintf(modules, sizeof modules, "%s/lib/modules", dir);
	FILE *f = fopen(modules, "w");
	cr_assert_not_null(f);
	fclose(f);
	cr_assert_eq(hdump_set_jdk(t, dir), 0, "%s", hdump_error().message);
	cr_assert_eq(hdump_set_jdk(t, NULL), 0);
	unlink(modules);
	snprintf(modules, sizeof modules, "%s/lib", dir);
	rmdir(modules);
	rmdir(dir);
	hdump_close(t);
}

/* The table --help prints: every code from 0 to 15 once, each public
 * class with its own line (the internal torn class is not one of them). */
Test(api, exit_codes)
{
	unsigned seen = 0;
	for (int c = HDUMP_OK; c < HDUMP_ERROR_CLASS_COUNT; c++) {
		const char *desc = hdump_error_description((enum hdump_error_class)c);
		int code = hdump_exit_code((enum hdump_error_class)c);
		cr_assert_not_null(desc, "class %d has no description", c);
		cr_assert_lt(code, 16);
		cr_assert_eq(seen & (1u << code), 0, "code %d twice", code);
		seen |= 1u << code;
	}
	cr_assert_eq(seen, 0xffffu);
	cr_assert_str_eq(hdump_error_description(HDUMP_OK), "success");
	cr_assert_null(hdump_error_description(HDUMP_ERROR_CLASS_COUNT));
	cr_assert_eq(hdump_exit_code(HDUMP_ERROR_CLASS_COUNT), 1, "an unknown class is a bug");
}

/* Hostile text: control bytes never come through. */
Test(api, escape)
{
	char buf[64];
	cr_assert_str_eq(hdump_escape("a\033[2Jb\\", buf, sizeof buf), "a\\x1b[2Jb\\x5c");
}
