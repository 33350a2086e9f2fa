/* Real field names for a class table: the image-object index is built, every
 * source of names (fieldfacts.h) adds its facts in turn, and the class table
 * is re-derived with them (classes_apply_facts), keeping only the facts that
 * fit.  The facts and the object index are kept for later readers (static
 * fields). */
#ifndef HD_FIELDNAMES_H
#define HD_FIELDNAMES_H

#include "classes.h"
#include "fieldfacts.h"
#include "imageobjs.h"
#include "layout.h"
#include "../agent/memview.h"
#include "../common/hd_error.h"

#include <stdint.h>
#include <stdio.h>

struct hd_naming {
	struct hd_field_facts facts;
	struct hd_imageobjs objs;
	struct hd_naming_stats stats;
};

/* Builds the image-object index of T's image heap in MV, runs every source
 * into NM's facts (with JDK_DIR for class files, NULL: an installed JDK)
 * and re-derives T's fields with them.  T must outlive NM.  A source never
 * fails the naming; errors: HD_E_LAYOUT (the image heap does not walk),
 * HD_E_INTERRUPTED, HD_E_INTERNAL.  NM is to be freed with fieldnames_free
 * also on failure.  IMG (or NULL), when MV's image heap is its mapping, has
 * its pages let go behind the index's walk and after each source. */
HD_MUST_CHECK int fieldnames_apply(struct hd_naming *nm, struct hd_classes *t, hd_memview *mv,
				   const struct hd_layout *L, const char *jdk_dir, FILE *log,
				   const struct hd_elfimage *img);

/* The same naming for another copy of the image heap that lies DELTA bytes
 * further (a live process maps one per isolate): FROM's facts moved by
 * DELTA, T re-derived.  No object index is built for the copy (NM's is
 * empty): what the first copy's index found lies DELTA further.  Errors
 * and freeing as fieldnames_apply's. */
HD_MUST_CHECK int fieldnames_apply_moved(struct hd_naming *nm, const struct hd_naming *from,
					 uint64_t delta, struct hd_classes *t, hd_memview *mv,
					 const struct hd_layout *L);

void fieldnames_free(struct hd_naming *nm);

#endif
