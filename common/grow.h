/* Growing a malloc'd vector by doubling: the one copy of that loop. */
#ifndef HD_GROW_H
#define HD_GROW_H

#include "hd_error.h"

#include <stddef.h>

/* Makes room for one more element in *VEC, which holds N elements of SIZE
 * bytes in *CAP slots: when full it doubles (to FIRST slots the first
 * time).  VEC is the address of the vector's pointer.  Returns 0, or -1
 * with HD_E_INTERNAL recorded when memory runs out; *VEC is then kept.
 * Limits other than memory are the caller's to check. */
HD_MUST_CHECK int hd_grow(void *vec, size_t *cap, size_t n, size_t size, size_t first);

#endif
