/* Growing a malloc'd vector by doubling: the one copy of that loop; and
 * memory for what threads write side by side. */
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

/* The size of a cache line, or more: what one thread's stores must not
 * share with another thread's data. */
#define HD_LINE 64u

/* N zeroed elements of SIZE bytes (a multiple of HD_LINE for an array:
 * give the type _Alignas(HD_LINE)) from a line boundary, the whole rounded
 * up to lines, so that a thread writing it per object never shares a line
 * with another thread's data (whether two writers' structures shared one
 * was up to where malloc placed them).  free() frees it.
 * NULL with HD_E_INTERNAL recorded. */
void *hd_calloc_lines(size_t n, size_t size);

#endif
