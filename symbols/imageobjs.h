/* The image heap's objects by class, for the readers of metadata the image
 * keeps in its own heap (field names, code info, static fields): one walk
 * records every object's address and class, then a class's instances are
 * listed without walking again, and any reference can be checked to land
 * on an object start before it is followed. */
#ifndef HD_IMAGEOBJS_H
#define HD_IMAGEOBJS_H

#include "classes.h"
#include "elfimage.h"
#include "layout.h"
#include "../agent/memview.h"
#include "../common/hd_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hd_imageobjs {
	const struct hd_classes *classes;
	uint64_t *addr;     /* every object (fillers too), ascending */
	uint32_t *cls;      /* its class: index into classes->v */
	uint32_t *length;   /* array-like objects: element count */
	size_t n;
	uint32_t *by_class; /* object indexes grouped by class, ascending within */
	size_t *first;      /* class k's group: by_class[first[k] .. first[k+1]) */
	/* imageobjs_find's direct table: the objects starting in block b of
	 * IMAGEOBJS_BLOCK bytes from BASE are addr[block[b] .. block[b+1]). */
	uint64_t base;
	uint32_t *block;
	size_t nblocks;
};

#define IMAGEOBJS_BLOCK 512u

/* Walks the image heap of MV (L's image_start, image_size) once, with the
 * class table T (which must outlive IO).  Errors: what the walk reports
 * (HD_E_LAYOUT for image data that does not decode), HD_E_INTERRUPTED,
 * HD_E_INTERNAL.  IO is to be freed with imageobjs_free also on failure. */
HD_MUST_CHECK int imageobjs_build(struct hd_imageobjs *io, hd_memview *mv,
				  const struct hd_layout *L, const struct hd_classes *t);

/* The same, letting the pages of IMG's image heap go behind the walk
 * (elfimage_release_range) when MV's image heap is IMG's mapping: the
 * walk then holds a window of the image, not all of it.  IMG may be NULL. */
HD_MUST_CHECK int imageobjs_build_releasing(struct hd_imageobjs *io, hd_memview *mv,
					    const struct hd_layout *L, const struct hd_classes *t,
					    const struct hd_elfimage *img);
void imageobjs_free(struct hd_imageobjs *io);

/* The instances of class C exactly (not of its subclasses): *N object
 * indexes into IO's arrays, ascending by address. */
const uint32_t *imageobjs_of(const struct hd_imageobjs *io, const struct hd_class *c, size_t *n);

/* The instances of the class named NAME; none when the image has no such
 * class. */
const uint32_t *imageobjs_named(const struct hd_imageobjs *io, const char *name, size_t *n);

/* Index of the object starting at ADDR, or -1 when no object starts there. */
long imageobjs_find(const struct hd_imageobjs *io, uint64_t addr);

/* The class of the object starting at ADDR, NULL when no object starts
 * there (a reference read from image data must pass this before it is
 * followed). */
const struct hd_class *imageobjs_class_at(const struct hd_imageobjs *io, uint64_t addr);

/* The references held by the object array starting at ADDR, as read (0
 * for null; any other must still pass imageobjs_class_at before it is
 * followed), read through MV: *N of them into *REFS (malloc'd, to free).
 * Errors: HD_E_LAYOUT when no object array starts at ADDR or it has more
 * than MAX elements, the read's error, HD_E_INTERNAL. */
HD_MUST_CHECK int imageobjs_array_refs(const struct hd_imageobjs *io, hd_memview *mv,
				       const struct hd_layout *L, uint64_t addr, uint32_t max,
				       uint64_t **refs, uint32_t *n);

#endif
