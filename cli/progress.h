/* The progress line on a terminal (stderr) during a dump: phase, elapsed
 * time and, while HPROF is written, percentage, bytes, rate and ETA,
 * redrawn in place four times a second by a thread of its own and erased
 * at the end.  The library's events only update counters: a callback that
 * runs while the target is stopped never waits for the terminal. */
#ifndef HD_CLI_PROGRESS_H
#define HD_CLI_PROGRESS_H

#include "../include/hdump.h"

#include <stdio.h>

struct progress;

/* Starts drawing on the terminal TTY.  NULL when
 * the thread cannot start (then there is no display: not an error). */
struct progress *progress_start(FILE *tty);

/* Takes in a library event (PHASE_BEGIN, PROGRESS); never blocks.  P may be
 * NULL. */
void progress_event(struct progress *p, const struct hdump_event *ev);

/* Erases the line and keeps it off the terminal until progress_resume,
 * for something else to be printed; the next redraw brings it back.  P may
 * be NULL. */
void progress_suspend(struct progress *p);
void progress_resume(struct progress *p);

/* Stops the thread, erases the line, frees P (NULL: nothing). */
void progress_stop(struct progress *p);

/* The line for PHASE (-1: none yet) ELAPSED_MS into it, with DONE of TOTAL
 * bytes written so far (TOTAL 0: no byte count), into BUF. */
void progress_format(char *buf, size_t size, int phase, uint64_t elapsed_ms, uint64_t done,
		     uint64_t total);

#endif
