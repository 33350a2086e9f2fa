/* Events to the client's callback (include/hdump.h): phases, retries,
 * pauses, and discovery's verbose text. */
#ifndef HD_LIB_EVENTS_H
#define HD_LIB_EVENTS_H

#include "../include/hdump.h"

#include <stdio.h>

struct hd_events {
	hdump_event_fn fn; /* NULL: nobody listens */
	void *ctx;
};

void events_emit(const struct hd_events *e, const struct hdump_event *ev);
void events_phase(const struct hd_events *e, enum hdump_event_kind kind, enum hdump_phase phase,
		  unsigned attempt);
void events_text(const struct hd_events *e, enum hdump_event_kind kind, const char *text);

/* A stream whose every line becomes a VERBOSE event (a leading "hdump: "
 * dropped), for the discovery log; NULL when nobody listens or it cannot be
 * made (then there is no log: not an error).  Close with fclose. */
FILE *events_verbose_stream(const struct hd_events *e);

#endif
