/* The fields JDK classes declare, read from a JDK's class files.  The
 * interface helper "jdkfiles" implements (its branch replaces this file);
 * fieldpredict.c is written against exactly this. */
#ifndef HD_JDKCLASSES_H
#define HD_JDKCLASSES_H

#include "../common/hd_error.h"

#include <stdbool.h>
#include <stddef.h>

struct hd_jfield {
	char *name;
	char desc;      /* the JVM descriptor's first character: B C D F I J S Z L [ */
	bool is_static;
};

struct hd_jclass {
	char *name;     /* dotted: "java.util.HashMap$Node" */
	char *super;    /* dotted, NULL for java.lang.Object */
	struct hd_jfield *fields;
	size_t nfields; /* in declaration order */
};

struct hd_jdk;

/* DIR NULL: an installed JDK, preferably of major version MAJOR. */
HD_MUST_CHECK int jdk_open(struct hd_jdk **out, const char *dir, unsigned major);
unsigned jdk_major(const struct hd_jdk *j);
/* NULL, with no error recorded, when the JDK has no class NAME. */
const struct hd_jclass *jdk_class(struct hd_jdk *j, const char *name);
void jdk_close(struct hd_jdk *j);

#endif
