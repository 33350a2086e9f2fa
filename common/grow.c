#include "grow.h"

#include "hd_error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *hd_calloc_lines(size_t n, size_t size)
{
	if (size && n > (SIZE_MAX - HD_LINE) / size) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		return NULL;
	}
	size_t bytes = (n * size + HD_LINE - 1) / HD_LINE * HD_LINE;
	void *p = aligned_alloc(HD_LINE, bytes ? bytes : HD_LINE);
	if (!p) {
		hd_fail(HD_E_INTERNAL, "out of memory");
		return NULL;
	}
	return memset(p, 0, bytes);
}

int hd_grow(void *vec, size_t *cap, size_t n, size_t size, size_t first)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : first;
	if (c < *cap || c > SIZE_MAX / size)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	void *old;
	memcpy(&old, vec, sizeof old);
	void *nv = realloc(old, c * size);
	if (!nv)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	memcpy(vec, &nv, sizeof nv);
	*cap = c;
	return 0;
}
