/* The public face of common/escape.h (include/hdump.h): target-chosen
 * text made safe to print. */
#include "../include/hdump.h"

#include "../common/escape.h"

char *hdump_escape(const char *s, char *buf, size_t size)
{
	return hd_escape(s, buf, size);
}

void hdump_fputs_escaped(const char *s, FILE *f)
{
	hd_fputs_escaped(s, f);
}

_Static_assert(HDUMP_ESCAPED_MESSAGE == HD_ESCAPED_MESSAGE, "room for an escaped message");
