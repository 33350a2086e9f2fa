/* Strings the target chose (class names, thread names), printed so that no
 * byte of them reaches a terminal as a control: C0 and C1 controls, DEL,
 * bytes that are not valid UTF-8 and the backslash itself are written as
 * \xNN; printable ASCII and valid UTF-8 go through unchanged. */
#ifndef HD_ESCAPE_H
#define HD_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* Room for any recorded error message (hd_error.h), escaped. */
#define HD_ESCAPED_MESSAGE (4 * 512)

/* Writes S to F, escaped. */
void hd_fputs_escaped(const char *s, FILE *f);

/* Writes S escaped into BUF of SIZE bytes (cut, always terminated; a cut
 * never splits an escape).  Returns BUF. */
char *hd_escape(const char *s, char *buf, size_t size);

#endif
