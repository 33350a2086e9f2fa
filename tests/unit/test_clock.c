/* The clocks and the sleep (common/clock.h): monotonic never goes back,
 * the wall clock agrees with the kernel's realtime clock, and a sleep of a second or more
 * sleeps that long (a timespec with 1e9 ns or more would be refused at
 * once by nanosleep). */
#include "../../common/clock.h"

#include <criterion/criterion.h>
#include <time.h>

Test(clock, monotonic_never_goes_back)
{
	uint64_t last = hd_monotonic_ms();
	for (int i = 0; i < 10000; i++) {
		uint64_t now = hd_monotonic_ms();
		cr_assert_geq(now, last);
		last = now;
	}
}

static uint64_t realtime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Bracketed by the same clock read directly, not by time(): glibc's time()
 * reads the coarse clock, which lags by up to a tick, so a second's
 * boundary between the two made the bracket miss by a millisecond. */
Test(clock, wall_agrees_with_realtime)
{
	uint64_t before = realtime_ms();
	uint64_t wall = hd_wall_ms();
	uint64_t after = realtime_ms();
	cr_assert(wall >= before && wall <= after, "%llu not in [%llu, %llu]",
		  (unsigned long long)wall, (unsigned long long)before, (unsigned long long)after);
}

Test(clock, sleeps_of_a_second_and_more_last)
{
	uint64_t start = hd_monotonic_ms();
	hd_sleep_ms(1100);
	uint64_t slept = hd_monotonic_ms() - start;
	cr_assert_geq(slept, 1100, "slept %llu ms", (unsigned long long)slept);
	start = hd_monotonic_ms();
	hd_sleep_ms(0);
	cr_assert_lt(hd_monotonic_ms() - start, 1000);
}
