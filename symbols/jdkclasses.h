/* The fields JDK classes declare, read from a JDK's class files: what the
 * layout predictor places when an image has no name list for a class
 * (../shared/docs/field-names.md §2).  Nothing is guessed or shipped: a
 * class the JDK on disk does not have is absent.
 *
 * The JDK is a JDK 9 or later directory: its class files come from
 * lib/modules (symbols/jimage.h), its major version from the release file.
 * A JDK 8 (jre/lib/rt.jar, a zip) is refused.  Class files are hostile
 * input like everything else: every constant-pool index, count, length and
 * descriptor is checked, and a file must end where its last attribute
 * does. */
#ifndef HD_JDKCLASSES_H
#define HD_JDKCLASSES_H

#include "../common/hd_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hd_jfield {
	char *name;
	char desc;      /* the JVM descriptor's first character: B C D F I J S Z L [ */
	bool is_static;
};

struct hd_jclass {
	char *name;     /* dotted: "java.util.HashMap$Node" */
	char *super;    /* dotted, NULL for java.lang.Object */
	struct hd_jfield *fields;
	size_t nfields; /* in declaration order, as in the class file */
};

struct hd_jdk;

/* Opens the JDK at DIR; with DIR NULL, the installed one: $JAVA_HOME, then
 * /usr/lib/jvm/default-java, then /usr/lib/jvm/<each, in name order>, the
 * first of major version MAJOR among them (0: any), else the first that
 * opens.  The JDK must hold java.lang.Object, read as a check that its
 * class files can be read.  Errors: HD_E_NOENT (DIR does not exist, or
 * no JDK is installed), HD_E_USAGE (DIR is not a JDK 9 or later: no
 * lib/modules, or one that is no jimage), HD_E_LAYOUT (a damaged
 * lib/modules or java.lang.Object, or one compressed by jlink), HD_E_PERM,
 * HD_E_INTERRUPTED, HD_E_INTERNAL; each with a one-line message naming
 * the file. */
HD_MUST_CHECK int jdk_open(struct hd_jdk **out, const char *dir, unsigned major);

/* Whether DIR, named by the user, can be a JDK 9 or later: a directory
 * with lib/modules (what is in it is read by jdk_open).  Errors:
 * HD_E_USAGE, with a one-line message naming DIR. */
HD_MUST_CHECK int jdk_check_dir(const char *dir);

/* The JDK's major version, from JAVA_VERSION in its release file ("17.0.15"
 * is 17, "1.8.0_392" is 8); 0 when the file or the line is missing. */
unsigned jdk_major(const struct hd_jdk *j);

/* The directory the JDK was opened from. */
const char *jdk_dir(const struct hd_jdk *j);

/* The class NAME (dotted; a nested class with its '$'), parsed once and
 * kept until jdk_close.  NULL, with no error recorded, when the JDK has no
 * such class (a name that cannot be a class file's, such as an array type
 * or a hidden class's "A/0x1234", is one).  NULL with an error recorded
 * when the class is there but cannot be read: HD_E_LAYOUT (a damaged
 * class file or lib/modules entry, a compressed one, a file whose class
 * is not NAME), HD_E_NOENT (a failed read), HD_E_INTERRUPTED,
 * HD_E_INTERNAL.  A caller that must tell the two apart clears the error
 * (hd_error_clear) before the call.  Not thread-safe: the cache grows. */
const struct hd_jclass *jdk_class(struct hd_jdk *j, const char *name);

void jdk_close(struct hd_jdk *j);

/* Parses the class file BUF[0..LEN) into *OUT, one malloc'd block the
 * caller frees with free().  jdk_class's parser, for what holds class
 * files outside a JDK (and for tests).  Errors: HD_E_LAYOUT (anything that
 * is not a well-formed class file as far as this reads it: magic, constant
 * pool, this/super classes, interfaces, fields with their descriptors,
 * methods and attributes, exact end), HD_E_INTERNAL. */
HD_MUST_CHECK int jdk_parse_class(const uint8_t *buf, size_t len, struct hd_jclass **out);

#endif
