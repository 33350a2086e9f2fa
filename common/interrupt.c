#include "interrupt.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t interrupted_by;

static void on_signal(int sig) { interrupted_by = sig; }

void hd_install_signal_handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: blocking calls return EINTR */
	sigemptyset(&sa.sa_mask);
	int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
}

bool hd_interrupted(void) { return interrupted_by != 0; }
int hd_interrupted_signal(void) { return interrupted_by; }
