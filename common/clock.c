#include "clock.h"

#include <time.h>

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t hd_monotonic_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

uint64_t hd_wall_ms(void) { return clock_ms(CLOCK_REALTIME); }

void hd_sleep_ms(unsigned ms)
{
	struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
	nanosleep(&ts, NULL);
}
