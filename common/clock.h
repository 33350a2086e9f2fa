/* The clocks: monotonic for every duration, deadline and pause measured, so
 * that none is bent by a change of the wall clock; the wall clock only for
 * dates written into a dump. */
#ifndef HD_CLOCK_H
#define HD_CLOCK_H

#include <stdint.h>

uint64_t hd_monotonic_ms(void);

/* Milliseconds since the epoch, for the HPROF header's date. */
uint64_t hd_wall_ms(void);

/* Sleeps MS milliseconds (US microseconds), or less when a signal arrives
 * (the caller polls hd_interrupted). */
void hd_sleep_ms(unsigned ms);
void hd_sleep_us(uint64_t us);

#endif
