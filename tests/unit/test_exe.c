/* An executable's image heap dumped with no process (lib/exe.c), on the
 * synthetic executable tests/unit/meson.build writes with
 * make_synth_image (the CE 25 preset of synthheap.h, rebuilt here for its
 * ground truth): the heap placed at OFFLINE_IMAGE_START, discovery's log
 * on the events, one attempt's results and histogram, and a corrupt heap
 * refused with the layout class. */
#include "../../common/hd_error.h"
#include "../../lib/exe.h"
#include "synthheap.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *image_path(void)
{
	const char *p = getenv("HDUMP_SYNTH_IMAGE");
	cr_assert_not_null(p, "HDUMP_SYNTH_IMAGE is not set (run through meson test)");
	return p;
}

struct lines {
	size_t n;
	char text[64][512];
};

static void keep_verbose(void *ctx, const struct hdump_event *ev)
{
	struct lines *l = ctx;
	cr_assert_eq(ev->kind, HDUMP_EVENT_VERBOSE, "only discovery's log: kind %d", ev->kind);
	if (l->n < 64)
		snprintf(l->text[l->n++], sizeof l->text[0], "%s", ev->text);
}

static int no_write(void *ctx, const void *buf, size_t len)
{
	(void)buf;
	*(size_t *)ctx += len;
	return 0;
}

Test(exe, image_heap_placed_and_discovered)
{
	struct sh_heap truth;
	cr_assert_eq(sh_build(&sh_ce_25, &truth), 0);
	struct hd_elfimage img;
	struct exe x;
	cr_assert_eq(exe_open(&x, image_path(), &img), 0, "%s", hd_error_message());
	cr_assert_eq(img.heap_size, truth.size);
	/* The file's heap, byte for byte, at the chosen address. */
	uint8_t *bytes = malloc(truth.size);
	cr_assert_not_null(bytes);
	cr_assert_eq(mv_read(x.mv, OFFLINE_IMAGE_START, bytes, truth.size), 0, "%s",
		     hd_error_message());
	cr_assert_eq(memcmp(bytes, truth.data, truth.size), 0);
	uint8_t past;
	cr_assert_neq(mv_read(x.mv, OFFLINE_IMAGE_START + truth.size, &past, 1), 0);

	struct lines log = {0};
	struct hd_events ev = {keep_verbose, &log};
	cr_assert_eq(exe_discover(&x, &ev, NULL), 0, "%s", hd_error_message());
	cr_assert_eq(x.L.ref_size, truth.expect.ref_size);
	cr_assert_eq(x.L.hdr_size, truth.expect.hdr_size);
	cr_assert_eq(x.L.image_start, OFFLINE_IMAGE_START);
	cr_assert_eq(x.L.image_size, truth.size);
	cr_assert_gt(x.classes.n, 0);
	cr_assert_gt(log.n, 0, "discovery says what it found, line by line");
	for (size_t i = 0; i < log.n; i++) {
		cr_assert_null(strchr(log.text[i], '\n'));
		cr_assert_neq(strncmp(log.text[i], "hdump: ", 7), 0, "prefix dropped: %s",
			      log.text[i]);
	}
	exe_close(&x);
	elfimage_close(&img);
	free(bytes);
	sh_free(&truth);
}

Test(exe, dumped_once_with_the_ground_truth)
{
	struct sh_heap truth;
	cr_assert_eq(sh_build(&sh_ce_25, &truth), 0);
	struct hd_elfimage img;
	struct exe x;
	cr_assert_eq(exe_open(&x, image_path(), &img), 0, "%s", hd_error_message());
	struct hd_events quiet = {0};
	cr_assert_eq(exe_discover(&x, &quiet, NULL), 0, "%s", hd_error_message());
	struct hdump_options o;
	hdump_options_init(&o);
	o.threads = 2;
	size_t written = 0;
	struct hdump_sink sink = {no_write, NULL, &written};
	struct hdump_result r;
	struct histogram h = {0};
	cr_assert_eq(exe_dump(&x, &o, &sink, &quiet, &r, &h), 0, "%s", hd_error_message());
	cr_assert_eq(r.objects, truth.objects);
	cr_assert_eq(r.bytes, truth.bytes);
	cr_assert_eq(r.fillers, truth.fillers);
	cr_assert_eq(r.chunks, truth.naligned + truth.nunaligned);
	cr_assert_eq(r.attempts, 1);
	cr_assert_gt(written, 0);
	cr_assert_eq(r.hprof_bytes, written);
	/* The statics Object[] (symbols/statics.h): the 3-element one nothing
	 * references; no source names its slots here. */
	cr_assert_eq(r.statics_unattributed_slots, 3);
	cr_assert_eq(r.statics_written, 0);
	/* Every class with instances has its generated count. */
	size_t with_instances = 0;
	for (size_t k = 0; k < truth.nclasses; k++)
		if (truth.classes[k].count &&
		    strcmp(truth.classes[k].name, "com.oracle.svm.core.heap.FillerObject") != 0)
			with_instances++;
	cr_assert_eq(h.n, with_instances);
	for (size_t i = 0; i < h.n; i++)
		cr_assert_eq(h.rows[i].count, sh_class(&truth, h.rows[i].name)->count, "%s",
			     h.rows[i].name);
	histogram_free(&h);
	exe_close(&x);
	elfimage_close(&img);
	sh_free(&truth);
}

/* A copy of the synthetic executable with its first chunk's header words
 * overwritten, as tests/e2e/exe_errors.sh's "corrupted chunk header". */
static void corrupt_copy(char *path, size_t size)
{
	struct hd_elfimage img;
	struct exe x;
	cr_assert_eq(exe_open(&x, image_path(), &img), 0, "%s", hd_error_message());
	uint64_t heap_offset = img.heap_offset;
	exe_close(&x);
	elfimage_close(&img);
	snprintf(path, size, "/tmp/hdump-test-exe-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	FILE *in = fopen(image_path(), "rb");
	cr_assert_not_null(in);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		cr_assert_eq(write(fd, buf, n), (ssize_t)n);
	fclose(in);
	uint64_t junk[8];
	for (size_t i = 0; i < 8; i++)
		junk[i] = 0x3713371337133713ull;
	cr_assert_eq(pwrite(fd, junk, sizeof junk, (off_t)heap_offset), (ssize_t)sizeof junk);
	close(fd);
}

Test(exe, a_corrupt_heap_is_a_layout_error)
{
	char path[64];
	corrupt_copy(path, sizeof path);
	struct hd_elfimage img;
	struct exe x;
	cr_assert_eq(exe_open(&x, path, &img), 0, "%s", hd_error_message());
	struct hd_events quiet = {0};
	hd_error_clear();
	cr_assert_eq(exe_discover(&x, &quiet, NULL), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%d: %s", hd_error_class(),
		     hd_error_message());
	exe_close(&x);
	elfimage_close(&img);
	unlink(path);
}

Test(exe, not_an_executable)
{
	char path[] = "/tmp/hdump-test-exe-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "text, not ELF\n", 14), 14);
	close(fd);
	struct hd_elfimage img;
	struct exe x;
	cr_assert_eq(exe_open(&x, path, &img), -1);
	cr_assert_eq(hd_error_class(), HD_E_NOT_ELF, "%s", hd_error_message());
	exe_close(&x); /* in every case, as exe.h says */
	cr_assert_null(x.mv);
	unlink(path);
	cr_assert_eq(exe_open(&x, "/nonexistent/hdump-test", &img), -1);
	cr_assert_eq(hd_error_class(), HD_E_NOENT, "%s", hd_error_message());
	exe_close(&x);
}
