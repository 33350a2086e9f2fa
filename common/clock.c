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

void hd_sleep_us(uint64_t us)
{
	struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
	nanosleep(&ts, NULL);
}

void hd_sleep_ms(unsigned ms) { hd_sleep_us((uint64_t)ms * 1000u); }
