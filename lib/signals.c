/* The public face of common/interrupt.h (include/hdump.h): the signals
 * that ask a dump to stop. */
#include "../include/hdump.h"

#include "../common/interrupt.h"

void hdump_install_signal_handlers(void)
{
	hd_install_signal_handlers();
}

int hdump_interrupted(void)
{
	return hd_interrupted() ? hd_interrupted_signal() : 0;
}
