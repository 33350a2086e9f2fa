/* The request to stop: SIGINT, SIGTERM, SIGHUP and SIGQUIT only set a flag
 * that every long loop polls, so every path still releases the target and
 * removes a partial output before hdump exits. */
#ifndef HD_INTERRUPT_H
#define HD_INTERRUPT_H

#include <stdbool.h>

void hd_install_signal_handlers(void);
bool hd_interrupted(void);
int hd_interrupted_signal(void);

#endif
