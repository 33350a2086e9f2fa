/* The progress line (cli/progress.c): what it says in each phase, that it
 * never claims 100 % on an estimate, and that the drawing thread draws the
 * events' numbers and erases its line when stopped. */
#include "../../cli/progress.h"

#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

Test(progress, a_phase_without_bytes_shows_its_time)
{
	char line[160];
	progress_format(line, sizeof line, HDUMP_PHASE_CENSUS, 2500, 0, 0);
	cr_assert_str_eq(line, "hdump: census  2.5 s");
	progress_format(line, sizeof line, -1, 0, 0, 0);
	cr_assert_str_eq(line, "hdump: starting  0.0 s");
}

Test(progress, writing_shows_percentage_bytes_rate_and_eta)
{
	char line[160];
	/* 25 MiB of 100 in 5 s: 5 MiB/s, 75 MiB to go in 15 s. */
	progress_format(line, sizeof line, HDUMP_PHASE_WRITE, 5000, 25u << 20, 100u << 20);
	cr_assert_str_eq(line, "hdump: writing  25%  25.0 of ~100.0 MiB  5.0 MiB/s  ETA 15 s");
}

Test(progress, an_estimate_passed_is_99_percent_without_eta)
{
	char line[160];
	progress_format(line, sizeof line, HDUMP_PHASE_WRITE, 1000, 120u << 20, 100u << 20);
	cr_assert_str_eq(line, "hdump: writing  99%  120.0 of ~100.0 MiB  120.0 MiB/s");
}

Test(progress, a_short_buffer_is_cut_not_overrun)
{
	char line[12];
	memset(line, 'x', sizeof line);
	progress_format(line, sizeof line, HDUMP_PHASE_WRITE, 5000, 25u << 20, 100u << 20);
	cr_assert_eq(strlen(line), sizeof line - 1);
}

static size_t file_size(FILE *f)
{
	fflush(f);
	long n = ftell(f);
	return n > 0 ? (size_t)n : 0;
}

Test(progress, draws_the_events_and_erases_the_line_when_stopped, .timeout = 60)
{
	progress_event(NULL, &(struct hdump_event){.kind = HDUMP_EVENT_PROGRESS}); /* no display */
	char *text = NULL;
	size_t len = 0;
	FILE *tty = open_memstream(&text, &len);
	cr_assert_not_null(tty);
	struct progress *p = progress_start(tty);
	cr_assert_not_null(p);
	progress_event(p, &(struct hdump_event){.kind = HDUMP_EVENT_PHASE_BEGIN,
						.phase = HDUMP_PHASE_WRITE});
	progress_event(p, &(struct hdump_event){.kind = HDUMP_EVENT_PROGRESS,
						.phase = HDUMP_PHASE_WRITE, .done = 3u << 20,
						.total = 12u << 20});
	/* The state to wait for: a line drawn (the thread draws every 250 ms
	 * once 300 ms have passed). */
	time_t deadline = time(NULL) + 30;
	size_t drawn = 0;
	while (!drawn && time(NULL) < deadline) {
		progress_suspend(p);
		drawn = file_size(tty);
		progress_resume(p);
		if (!drawn)
			nanosleep(&(struct timespec){0, 10000000}, NULL); /* a poll period */
	}
	cr_assert_gt(drawn, 0, "a line within 30 s");
	progress_stop(p);
	fclose(tty);
	cr_assert_not_null(strstr(text, "\rhdump: writing  25%  3.0 of ~12.0 MiB"), "%s", text);
	cr_assert_eq(text[len - 1], '\r', "erased at the end");
	cr_assert_null(strchr(text, '\n'), "one line, redrawn in place");
	free(text);
}
