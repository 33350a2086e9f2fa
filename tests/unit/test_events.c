/* Events to the client's callback (lib/events.c): phases and texts in the
 * order emitted, nothing without a listener, and discovery's stdio log
 * handed on line by line. */
#include "../../lib/events.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEEN 16

struct seen {
	size_t n;
	struct hdump_event ev[MAX_SEEN];
	char text[MAX_SEEN][600];
};

static void record(void *ctx, const struct hdump_event *ev)
{
	struct seen *s = ctx;
	cr_assert_lt(s->n, MAX_SEEN);
	s->ev[s->n] = *ev;
	if (ev->text) {
		snprintf(s->text[s->n], sizeof s->text[0], "%s", ev->text);
		s->ev[s->n].text = s->text[s->n];
	}
	s->n++;
}

Test(events, phases_and_texts_in_order)
{
	struct seen s = {0};
	struct hd_events e = {record, &s};
	events_phase(&e, HDUMP_EVENT_PHASE_BEGIN, HDUMP_PHASE_CENSUS, 2);
	events_text(&e, HDUMP_EVENT_WARNING, "careful");
	events_phase(&e, HDUMP_EVENT_PHASE_END, HDUMP_PHASE_WRITE, 3);
	events_emit(&e, &(struct hdump_event){.kind = HDUMP_EVENT_RESUMED, .pause_ms = 12});
	cr_assert_eq(s.n, 4);
	cr_assert_eq(s.ev[0].kind, HDUMP_EVENT_PHASE_BEGIN);
	cr_assert_eq(s.ev[0].phase, HDUMP_PHASE_CENSUS);
	cr_assert_eq(s.ev[0].attempt, 2);
	cr_assert_null(s.ev[0].text);
	cr_assert_eq(s.ev[1].kind, HDUMP_EVENT_WARNING);
	cr_assert_str_eq(s.ev[1].text, "careful");
	cr_assert_eq(s.ev[2].kind, HDUMP_EVENT_PHASE_END);
	cr_assert_eq(s.ev[2].phase, HDUMP_PHASE_WRITE);
	cr_assert_eq(s.ev[2].attempt, 3);
	cr_assert_eq(s.ev[3].kind, HDUMP_EVENT_RESUMED);
	cr_assert_eq(s.ev[3].pause_ms, 12);
}

Test(events, nobody_listens)
{
	struct hd_events e = {NULL, NULL};
	events_text(&e, HDUMP_EVENT_WARNING, "dropped"); /* must not call through NULL */
	cr_assert_null(events_verbose_stream(&e), "no log when nobody listens");
}

Test(events, verbose_stream_line_by_line)
{
	struct seen s = {0};
	struct hd_events e = {record, &s};
	FILE *log = events_verbose_stream(&e);
	cr_assert_not_null(log);
	/* Discovery's log: prefixed lines, written in pieces, one unfinished. */
	fprintf(log, "hdump: chunk size %d", 1 << 20);
	fflush(log);
	cr_assert_eq(s.n, 0, "no event before the line ends");
	fprintf(log, " bytes\nheader words: 4\nhdump: ");
	fputs("refmap at 0x10\nlast, unfinished", log);
	fflush(log);
	cr_assert_eq(s.n, 3);
	cr_assert_eq(fclose(log), 0);
	cr_assert_eq(s.n, 4, "the unfinished line handed on at close");
	const char *want[] = {"chunk size 1048576 bytes", "header words: 4", "refmap at 0x10",
			      "last, unfinished"};
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(s.ev[i].kind, HDUMP_EVENT_VERBOSE);
		cr_assert_str_eq(s.ev[i].text, want[i], "line %zu", i);
	}
}

/* What TEXT, written to a verbose stream and closed, hands on. */
static void through_log(struct seen *s, const char *text)
{
	struct hd_events e = {record, s};
	FILE *log = events_verbose_stream(&e);
	cr_assert_not_null(log);
	fputs(text, log);
	cr_assert_eq(fclose(log), 0);
}

Test(events, verbose_stream_long_line_in_pieces)
{
	struct seen s = {0};
	char line[1202];
	for (size_t i = 0; i < 1200; i++)
		line[i] = (char)('a' + i % 26);
	line[1200] = '\n';
	line[1201] = '\0';
	through_log(&s, line);
	line[1200] = '\0';
	cr_assert_geq(s.n, 3, "a 1200-byte line in pieces of at most 511");
	char joined[1300] = "";
	for (size_t i = 0; i < s.n; i++) {
		cr_assert_leq(strlen(s.ev[i].text), 511);
		strcat(joined, s.ev[i].text);
	}
	cr_assert_str_eq(joined, line, "nothing lost or repeated");
}

/* A long line is handed on in pieces; "hdump: " is taken off its start
 * only, never off a later piece that begins with it. */
Test(events, the_prefix_is_stripped_from_a_lines_start_only)
{
	struct seen s = {0};
	char first[512], text[600];
	memset(first, 'x', 511 - 7);
	first[511 - 7] = '\0';
	/* 7 + 504 bytes fill the first piece; the second starts "hdump: ". */
	snprintf(text, sizeof text, "hdump: %shdump: tail\nhdump: next\n", first);
	through_log(&s, text);
	cr_assert_eq(s.n, 3);
	cr_assert_str_eq(s.ev[0].text, first);
	cr_assert_str_eq(s.ev[1].text, "hdump: tail", "a later piece lost its text");
	cr_assert_str_eq(s.ev[2].text, "next");
}

Test(events, empty_stream_says_nothing)
{
	struct seen s = {0};
	struct hd_events e = {record, &s};
	FILE *log = events_verbose_stream(&e);
	cr_assert_not_null(log);
	cr_assert_eq(fclose(log), 0);
	cr_assert_eq(s.n, 0);
}
