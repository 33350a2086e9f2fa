/* Field names placed by Native Image's own layout algorithm
 * (HD_SRC_PREDICTED): the instance fields a JDK class file declares —
 * filtered by the image's name list where it has one — are laid out from
 * java.lang.Object down, the way the image builder does, and a name is
 * believed only where every layout that reproduces what the image says
 * (instance size, the whole reference map, the identity-hash offset, the
 * other sources' facts) puts it at the same offset.  Runs after every other
 * source: their facts are checks here. */
#ifndef HD_FIELDPREDICT_H
#define HD_FIELDPREDICT_H

#include "fieldfacts.h"

/* An hd_field_source_fn.  The JDK is IN->jdk_dir, else the installed JDK
 * of the image's Java version (its VM version string says which), else
 * the installed JDK whose class files reproduce the most classes.  Class
 * files of another version than the image's name no field that shares its
 * kind with another (their order may have changed), nor one another
 * installed JDK places otherwise.  A class the JDK does not have is placed
 * from its name list when no two names can be of one kind.  A class with
 * no name list whose every field the image's own class files place (and
 * whose instances hold zeros wherever no field lies) gets those names as
 * its list: its other bytes are padding. */
HD_MUST_CHECK int fieldpredict_facts(struct hd_field_facts *ff, const struct hd_names_input *in);

#endif
