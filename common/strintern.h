/* A set of strings, each stored once and numbered in the order first
 * added: field names, which thousands of fields and facts share. */
#ifndef HD_STRINTERN_H
#define HD_STRINTERN_H

#include "hd_error.h"

#include <stddef.h>
#include <stdint.h>

struct hd_strintern {
	char **v;          /* the strings, by number */
	size_t n, cap;
	uint32_t *slots;   /* open addressing: string -> number + 1 */
	size_t nslots;
};

/* The number of STR in S, added (copied) if new.  Errors: HD_E_INTERNAL
 * (out of memory, or more strings than a uint32_t numbers). */
HD_MUST_CHECK int strintern_add(struct hd_strintern *s, const char *str, uint32_t *idx);
void strintern_free(struct hd_strintern *s);

#endif
