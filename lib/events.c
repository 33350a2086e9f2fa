#include "events.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

void events_emit(const struct hd_events *e, const struct hdump_event *ev)
{
	if (e->fn)
		e->fn(e->ctx, ev);
}

void events_phase(const struct hd_events *e, enum hdump_event_kind kind, enum hdump_phase phase,
		  unsigned attempt)
{
	events_emit(e, &(struct hdump_event){.kind = kind, .phase = phase, .attempt = attempt});
}

void events_text(const struct hd_events *e, enum hdump_event_kind kind, const char *text)
{
	events_emit(e, &(struct hdump_event){.kind = kind, .text = text});
}

/* Discovery writes its log with stdio; the stream collects a line, then
 * hands it on.  A line longer than the buffer is handed on in pieces; the
 * command line's "hdump: " is taken off its start only, not off a piece
 * that happens to begin with it. */
struct line_stream {
	const struct hd_events *e;
	char line[512];
	size_t n;
	bool continued; /* LINE is a later piece of a long line */
};

static void flush_piece(struct line_stream *s, bool line_ends)
{
	s->line[s->n] = '\0';
	const char *text = s->line;
	if (!s->continued && strncmp(text, "hdump: ", 7) == 0)
		text += 7;
	events_text(s->e, HDUMP_EVENT_VERBOSE, text);
	s->n = 0;
	s->continued = !line_ends;
}

static ssize_t line_write(void *cookie, const char *buf, size_t len)
{
	struct line_stream *s = cookie;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			flush_piece(s, true);
			continue;
		}
		if (s->n == sizeof s->line - 1)
			flush_piece(s, false);
		s->line[s->n++] = buf[i];
	}
	return (ssize_t)len;
}

static int line_close(void *cookie)
{
	struct line_stream *s = cookie;
	if (s->n)
		flush_piece(s, true);
	free(s);
	return 0;
}

FILE *events_verbose_stream(const struct hd_events *e)
{
	if (!e->fn)
		return NULL;
	struct line_stream *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->e = e;
	FILE *f = fopencookie(s, "w", (cookie_io_functions_t){.write = line_write, .close = line_close});
	if (!f)
		free(s);
	return f;
}
