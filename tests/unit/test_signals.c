/* The signals that ask a dump to stop, through the public API
 * (lib/signals.c): none before, then the one received. */
#include "../../include/hdump.h"

#include <criterion/criterion.h>
#include <signal.h>

Test(signals, the_signal_received_is_named)
{
	hdump_install_signal_handlers();
	cr_assert_eq(hdump_interrupted(), 0);
	cr_assert_eq(raise(SIGTERM), 0);
	cr_assert_eq(hdump_interrupted(), SIGTERM, "the handler only sets the flag");
}

Test(signals, each_of_the_four_is_handled)
{
	hdump_install_signal_handlers();
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		cr_assert_eq(raise(sigs[i]), 0, "signal %d killed the test", sigs[i]);
		cr_assert_eq(hdump_interrupted(), sigs[i]);
	}
}
