/* The one clock for durations and deadlines: monotonic, so that a pause
 * measured or a deadline kept is not bent by a change of the wall clock. */
#ifndef HD_CLOCK_H
#define HD_CLOCK_H

#include <stdint.h>

uint64_t hd_monotonic_ms(void);

#endif
