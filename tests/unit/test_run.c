/* The command behind the options (cli/run.c), on the synthetic executable
 * make_synth_image writes, in a fresh directory per test: where the dump
 * goes (-o, the default name, -o -, none with --histo alone), its mode,
 * what is printed where, and what is left behind on an error. */
#include "../../cli/run.h"
#include "capture.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

/* Each test in a directory of its own, emptied and removed afterwards. */
static void enter(void)
{
	snprintf(dir, sizeof dir, "/tmp/hdump-test-run-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(chdir(dir), 0);
}

static void leave(void)
{
	DIR *d = opendir(dir);
	for (struct dirent *e; d && (e = readdir(d));)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	cr_assert_eq(chdir("/"), 0);
	rmdir(dir);
}

TestSuite(run, .init = enter, .fini = leave);

/* The files in the test's directory, sorted, one per line. */
static char *listing(void)
{
	struct dirent **v;
	int n = scandir(".", &v, NULL, alphasort);
	cr_assert_geq(n, 0);
	char *text = calloc(1, 4096);
	cr_assert_not_null(text);
	for (int i = 0; i < n; i++) {
		/* Hidden files too: a temporary one left behind is a failure. */
		if (strcmp(v[i]->d_name, ".") != 0 && strcmp(v[i]->d_name, "..") != 0) {
			strncat(text, v[i]->d_name, 4096 - strlen(text) - 2);
			strcat(text, "\n");
		}
		free(v[i]);
	}
	free(v);
	return text;
}

static void expect_files(const char *want)
{
	char *got = listing();
	cr_assert_str_eq(got, want);
	free(got);
}

static struct cli_options exe_options(void)
{
	struct cli_options opt = {.exe = getenv("HDUMP_SYNTH_IMAGE")};
	cr_assert_not_null(opt.exe, "HDUMP_SYNTH_IMAGE is not set (run through meson test)");
	hdump_options_init(&opt.dump);
	opt.dump.threads = 1;
	return opt;
}

static bool is_hprof(const char *path, off_t *size)
{
	int fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "%s", path);
	char magic[19] = "";
	bool ok = read(fd, magic, 19) == 19 && memcmp(magic, "JAVA PROFILE 1.0.2", 19) == 0;
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	*size = st.st_size;
	close(fd);
	return ok;
}

/* The JSON line's "hprof_bytes". */
static uint64_t json_hprof_bytes(const char *json)
{
	const char *p = strstr(json, "\"hprof_bytes\":");
	cr_assert_not_null(p, "%s", json);
	return strtoull(p + 14, NULL, 10);
}

Test(run, output_file_created_0600)
{
	struct cli_options opt = exe_options();
	opt.output = "out.hprof";
	opt.json = true;
	mode_t old = umask(0);
	struct capture out;
	capture_begin(&out, stdout);
	int rc = run(&opt);
	char *json = capture_end(&out);
	umask(old);
	cr_assert_eq(rc, 0, "%s", hdump_error().message);
	expect_files("out.hprof\n");
	struct stat st;
	cr_assert_eq(stat("out.hprof", &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o even with umask 0", st.st_mode & 07777);
	off_t size;
	cr_assert(is_hprof("out.hprof", &size));
	cr_assert_eq(strncmp(json, "{\"file\":\"out.hprof\",", 20), 0, "%s", json);
	cr_assert_eq(json_hprof_bytes(json), (uint64_t)size, "the JSON names what was written");
	free(json);
}

Test(run, histogram_alone_writes_no_file)
{
	struct cli_options opt = exe_options();
	opt.histo = true;
	struct capture out;
	capture_begin(&out, stdout);
	int rc = run(&opt);
	char *text = capture_end(&out);
	cr_assert_eq(rc, 0, "%s", hdump_error().message);
	expect_files("");
	cr_assert_eq(strncmp(text, " num     #instances", 19), 0, "%s", text);
	cr_assert_not_null(strstr(text, "\nTotal "));
	free(text);
}

Test(run, histogram_and_file)
{
	struct cli_options opt = exe_options();
	opt.histo = true;
	opt.output = "both.hprof";
	struct capture out;
	capture_begin(&out, stdout);
	int rc = run(&opt);
	char *text = capture_end(&out);
	cr_assert_eq(rc, 0, "%s", hdump_error().message);
	expect_files("both.hprof\n");
	cr_assert_eq(strncmp(text, " num     #instances", 19), 0, "%s", text);
	free(text);
}

Test(run, default_name)
{
	struct cli_options opt = exe_options();
	cr_assert_eq(run(&opt), 0, "%s", hdump_error().message);
	char *files = listing();
	/* hdump-<the executable's base name>-YYYYmmdd-HHMMSS.hprof */
	const char *base = strrchr(opt.exe, '/') ? strrchr(opt.exe, '/') + 1 : opt.exe;
	char prefix[256];
	snprintf(prefix, sizeof prefix, "hdump-%s-", base);
	cr_assert_eq(strncmp(files, prefix, strlen(prefix)), 0, "%s", files);
	const char *stamp = files + strlen(prefix);
	cr_assert_eq(strlen(stamp), strlen("20260101-120000.hprof\n"), "%s", files);
	cr_assert_eq(stamp[8], '-');
	cr_assert_str_eq(stamp + 15, ".hprof\n");
	free(files);
}

Test(run, stdout_stream_and_text_to_stderr)
{
	struct cli_options opt = exe_options();
	opt.output = "-";
	opt.histo = true;
	opt.json = true;
	struct capture out, err;
	capture_begin(&out, stdout);
	capture_begin(&err, stderr);
	int rc = run(&opt);
	char *errtext = capture_end(&err);
	char *dump = capture_end(&out);
	cr_assert_eq(rc, 0, "%s", hdump_error().message);
	expect_files("");
	cr_assert_eq(memcmp(dump, "JAVA PROFILE 1.0.2", 19), 0, "the dump on stdout");
	cr_assert_eq(strncmp(errtext, " num     #instances", 19), 0, "the histogram on stderr");
	cr_assert_not_null(strstr(errtext, "\n{\"file\":\"-\","), "and the JSON: %s", errtext);
	free(dump);
	free(errtext);
}

Test(run, existing_file_kept_unless_forced)
{
	FILE *f = fopen("existing.hprof", "w");
	cr_assert_not_null(f);
	fputs("keep", f);
	fclose(f);
	struct cli_options opt = exe_options();
	opt.output = "existing.hprof";
	cr_assert_eq(run(&opt), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_OUTPUT_EXISTS, "%s", hdump_error().message);
	expect_files("existing.hprof\n");
	off_t size;
	cr_assert_not(is_hprof("existing.hprof", &size));
	cr_assert_eq(size, 4, "untouched");
	opt.force = true;
	cr_assert_eq(run(&opt), 0, "%s", hdump_error().message);
	expect_files("existing.hprof\n");
	cr_assert(is_hprof("existing.hprof", &size));
}

Test(run, missing_executable_leaves_nothing)
{
	struct cli_options opt = exe_options();
	opt.exe = "./no-such-file";
	opt.output = "out.hprof";
	cr_assert_eq(run(&opt), -1);
	cr_assert_eq(hdump_error().cls, HDUMP_E_NOENT, "%s", hdump_error().message);
	expect_files("");
}

Test(run, verbose_says_what_was_done)
{
	struct cli_options opt = exe_options();
	opt.output = "v.hprof";
	opt.verbose = true;
	struct capture err;
	capture_begin(&err, stderr);
	int rc = run(&opt);
	char *text = capture_end(&err);
	cr_assert_eq(rc, 0, "%s", hdump_error().message);
	char first[512];
	snprintf(first, sizeof first, "hdump: %s: GraalVM CE 25+37.1 (synthetic), image heap of ",
		 opt.exe);
	cr_assert_eq(strncmp(text, first, strlen(first)), 0, "%s", text);
	cr_assert_gt(strlen(text), strlen(first));
	/* Discovery's lines, then the summary last. */
	const char *last = text + strlen(text) - 1;
	while (last > text && last[-1] != '\n')
		last--;
	cr_assert_eq(strncmp(last, "hdump: ", 7), 0, "%s", last);
	cr_assert_not_null(strstr(last, " bytes to v.hprof in "), "%s", last);
	size_t lines = 0;
	for (const char *p = text; (p = strchr(p, '\n')); p++)
		lines++;
	cr_assert_geq(lines, 3, "discovery's lines between: %s", text);
	free(text);
}
