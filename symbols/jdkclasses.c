#include "jdkclasses.h"

#include "jimage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The largest JDK class file is under 1 MB. */
#define MAX_CLASS_FILE (16u << 20)
/* Longest dotted class name looked up. */
#define MAX_CLASS_NAME 1024u
/* How much of the release file is read: it is a few hundred bytes. */
#define MAX_RELEASE 16384u
/* Entries of /usr/lib/jvm considered. */
#define MAX_INSTALLED 256u

#define JVM_DIR "/usr/lib/jvm"

enum cp_tag {
	CP_UTF8 = 1,
	CP_INTEGER = 3,
	CP_FLOAT,
	CP_LONG,
	CP_DOUBLE,
	CP_CLASS,
	CP_STRING,
	CP_FIELDREF,
	CP_METHODREF,
	CP_INTERFACE_METHODREF,
	CP_NAME_AND_TYPE,
	CP_METHOD_HANDLE = 15,
	CP_METHOD_TYPE,
	CP_DYNAMIC,
	CP_INVOKE_DYNAMIC,
	CP_MODULE,
	CP_PACKAGE,
};

#define ACC_STATIC 0x0008u

struct hd_jdk {
	char *dir;
	char *modules;       /* DIR/lib/modules, for messages */
	unsigned major;
	struct hd_jimage *im;
	void *cache;         /* tsearch tree of struct hd_jclass *, by name */
};

/* ---- the class file ---- */

/* A cursor over the class file: a read past its end yields zeros and
 * marks it short, checked once per structure. */
struct cursor {
	const uint8_t *buf;
	size_t len, pos;
	bool short_read;
};

static bool has(struct cursor *c, size_t n)
{
	if (c->short_read || n > c->len - c->pos) {
		c->short_read = true;
		return false;
	}
	return true;
}

static uint32_t take_be(struct cursor *c, unsigned n)
{
	if (!has(c, n))
		return 0;
	uint32_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | c->buf[c->pos++];
	return v;
}

static uint16_t u2(struct cursor *c)
{
	return (uint16_t)take_be(c, 2);
}

static void skip(struct cursor *c, size_t n)
{
	if (has(c, n))
		c->pos += n;
}

/* Where each constant-pool entry's tag byte is; 0 for index 0 and the slot
 * after a long or double, which no reference may name. */
struct cpool {
	const uint8_t *buf;
	uint32_t *at;
	uint16_t count;
};

/* The payload size of each fixed-size tag (Utf8 has its own length). */
static int fixed_size(uint8_t tag)
{
	switch (tag) {
	case CP_INTEGER: case CP_FLOAT: case CP_FIELDREF: case CP_METHODREF:
	case CP_INTERFACE_METHODREF: case CP_NAME_AND_TYPE: case CP_DYNAMIC:
	case CP_INVOKE_DYNAMIC:
		return 4;
	case CP_LONG: case CP_DOUBLE:
		return 8;
	case CP_CLASS: case CP_STRING: case CP_METHOD_TYPE: case CP_MODULE: case CP_PACKAGE:
		return 2;
	case CP_METHOD_HANDLE:
		return 3;
	default:
		return -1;
	}
}

static int bad(const char *what)
{
	return hd_fail(HD_E_LAYOUT, "class file: %s", what);
}

static int read_cpool(struct cursor *c, struct cpool *cp)
{
	cp->buf = c->buf;
	cp->count = u2(c);
	if (c->short_read || cp->count == 0)
		return bad("no constant pool");
	cp->at = calloc(cp->count, sizeof *cp->at);
	if (!cp->at)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (uint32_t i = 1; i < cp->count; i++) {
		uint32_t at = (uint32_t)c->pos;
		uint8_t tag = (uint8_t)take_be(c, 1);
		if (tag == CP_UTF8) {
			skip(c, u2(c));
		} else {
			int size = fixed_size(tag);
			if (size < 0 && !c->short_read)
				return hd_fail(HD_E_LAYOUT, "class file: constant %u has tag %u",
					       i, tag);
			skip(c, (size_t)(size < 0 ? 0 : size));
		}
		if (c->short_read)
			return bad("truncated in the constant pool");
		cp->at[i] = at;
		if (tag == CP_LONG || tag == CP_DOUBLE)
			i++; /* takes two slots; the second stays unnamed */
	}
	return 0;
}

/* The Utf8 constant INDEX, or NULL (index out of range, or another tag). */
static const uint8_t *cp_utf8(const struct cpool *cp, uint16_t index, uint16_t *len)
{
	if (index == 0 || index >= cp->count || cp->at[index] == 0 ||
	    cp->buf[cp->at[index]] != CP_UTF8)
		return NULL;
	const uint8_t *p = cp->buf + cp->at[index];
	*len = (uint16_t)(p[1] << 8 | p[2]);
	return p + 3;
}

/* The name of the Class constant INDEX, or NULL. */
static const uint8_t *cp_class_name(const struct cpool *cp, uint16_t index, uint16_t *len)
{
	if (index == 0 || index >= cp->count || cp->at[index] == 0 ||
	    cp->buf[cp->at[index]] != CP_CLASS)
		return NULL;
	const uint8_t *p = cp->buf + cp->at[index];
	return cp_utf8(cp, (uint16_t)(p[1] << 8 | p[2]), len);
}

/* Whether S[0..LEN) is modified UTF-8: no NUL byte (C strings end there),
 * sequences of one to three bytes. */
static bool is_mutf8(const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint8_t b = s[i];
		size_t n = b == 0 ? 0 : b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 :
			   (b & 0xf0) == 0xe0 ? 3 : 0;
		if (n == 0 || n > len - i)
			return false;
		for (size_t k = 1; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += n;
	}
	return true;
}

/* An unqualified name (JVMS 4.2.2): not empty, none of . ; [ / */
static bool is_unqualified(const uint8_t *s, size_t len)
{
	if (len == 0 || !is_mutf8(s, len))
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '.' || s[i] == ';' || s[i] == '[' || s[i] == '/')
			return false;
	return true;
}

/* A binary class name in internal form: unqualified names joined by '/'. */
static bool is_internal_name(const uint8_t *s, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i <= len; i++)
		if (i == len || s[i] == '/') {
			if (!is_unqualified(s + start, i - start))
				return false;
			start = i + 1;
		}
	return true;
}

/* A field descriptor (JVMS 4.3.2), all of S[0..LEN). */
static bool is_field_descriptor(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len && s[i] == '[')
		i++;
	if (i > 255 || i == len)
		return false;
	if (s[i] == 'L')
		return len - i >= 3 && s[len - 1] == ';' &&
		       is_internal_name(s + i + 1, len - i - 2);
	return i + 1 == len && memchr("BCDFIJSZ", s[i], 8);
}

struct field_ref {
	uint16_t flags;
	const uint8_t *name, *desc;
	uint16_t name_len;
};

/* Skips COUNT attributes. */
static void skip_attributes(struct cursor *c)
{
	for (uint16_t n = u2(c), i = 0; i < n && !c->short_read; i++) {
		skip(c, 2);
		skip(c, take_be(c, 4));
	}
}

/* Reads the fields (into F, FIELDS_COUNT of them) or methods (F NULL):
 * access, name and descriptor, attributes. */
static int read_members(struct cursor *c, const struct cpool *cp, struct field_ref *f,
			uint16_t count)
{
	for (uint16_t i = 0; i < count; i++) {
		uint16_t flags = u2(c), name_index = u2(c), desc_index = u2(c);
		skip_attributes(c);
		if (c->short_read)
			return bad(f ? "truncated in the fields" : "truncated in the methods");
		uint16_t name_len, desc_len;
		const uint8_t *name = cp_utf8(cp, name_index, &name_len);
		const uint8_t *desc = cp_utf8(cp, desc_index, &desc_len);
		if (!name || !desc)
			return bad(f ? "a field's name or descriptor is not a Utf8 constant"
				     : "a method's name or descriptor is not a Utf8 constant");
		if (!f)
			continue;
		if (!is_unqualified(name, name_len))
			return bad("a field name is not a valid name");
		if (!is_field_descriptor(desc, desc_len))
			return bad("a field descriptor is not valid");
		f[i] = (struct field_ref){.flags = flags, .name = name, .desc = desc,
					  .name_len = name_len};
	}
	return 0;
}

/* NAME[0..LEN) with '/' turned into '.', at *P, which moves past its NUL. */
static char *put_dotted(char **p, const uint8_t *name, size_t len)
{
	char *s = *p;
	for (size_t i = 0; i < len; i++)
		s[i] = name[i] == '/' ? '.' : (char)name[i];
	s[len] = '\0';
	*p += len + 1;
	return s;
}

/* The class as one block: the struct, its fields, then the strings. */
static int build_class(const uint8_t *name, uint16_t name_len, const uint8_t *super,
		       uint16_t super_len, const struct field_ref *f, uint16_t n,
		       struct hd_jclass **out)
{
	size_t size = sizeof(struct hd_jclass) + n * sizeof(struct hd_jfield) + name_len + 1u +
		      (super ? super_len + 1u : 0);
	for (uint16_t i = 0; i < n; i++)
		size += f[i].name_len + 1u;
	struct hd_jclass *cls = malloc(size);
	if (!cls)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	cls->fields = (struct hd_jfield *)(cls + 1);
	cls->nfields = n;
	char *p = (char *)(cls->fields + n);
	cls->name = put_dotted(&p, name, name_len);
	cls->super = super ? put_dotted(&p, super, super_len) : NULL;
	for (uint16_t i = 0; i < n; i++)
		cls->fields[i] = (struct hd_jfield){
			.name = put_dotted(&p, f[i].name, f[i].name_len),
			.desc = (char)f[i].desc[0],
			.is_static = f[i].flags & ACC_STATIC,
		};
	*out = cls;
	return 0;
}

/* After the constant pool: the class, its super, interfaces, fields,
 * methods and attributes, up to the file's exact end. */
static int read_body(struct cursor *c, const struct cpool *cp, struct hd_jclass **out)
{
	skip(c, 2); /* access flags */
	uint16_t this_index = u2(c), super_index = u2(c);
	uint16_t ninterfaces = u2(c);
	for (uint16_t i = 0; i < ninterfaces && !c->short_read; i++) {
		uint16_t len;
		if (!cp_class_name(cp, u2(c), &len) && !c->short_read)
			return bad("an interface is not a Class constant");
	}
	uint16_t nfields = u2(c);
	if (c->short_read)
		return bad("truncated before the fields");
	uint16_t name_len, super_len = 0;
	const uint8_t *name = cp_class_name(cp, this_index, &name_len);
	if (!name || !is_internal_name(name, name_len))
		return bad("this_class is not a valid Class constant");
	bool is_object = name_len == 16 && memcmp(name, "java/lang/Object", 16) == 0;
	const uint8_t *super = NULL;
	if (super_index != 0 || !is_object) {
		super = cp_class_name(cp, super_index, &super_len);
		if (!super || !is_internal_name(super, super_len) || is_object)
			return bad("super_class is not a valid Class constant");
	}
	/* Each field takes 8 bytes at least: a count the rest of the file
	 * cannot hold is refused before it is allocated. */
	if (nfields > (c->len - c->pos) / 8)
		return bad("more fields than the file has room for");
	struct field_ref *f = calloc(nfields ? nfields : 1, sizeof *f);
	if (!f)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	int rc = read_members(c, cp, f, nfields);
	if (rc == 0)
		rc = read_members(c, cp, NULL, u2(c));
	if (rc == 0) {
		skip_attributes(c);
		if (c->short_read)
			rc = bad("truncated in the class attributes");
		else if (c->pos != c->len)
			rc = bad("bytes past the class attributes");
	}
	if (rc == 0)
		rc = build_class(name, name_len, super, super_len, f, nfields, out);
	free(f);
	return rc;
}

int jdk_parse_class(const uint8_t *buf, size_t len, struct hd_jclass **out)
{
	*out = NULL;
	struct cursor c = {.buf = buf, .len = len};
	uint32_t magic = take_be(&c, 4);
	skip(&c, 4); /* minor, major version */
	if (c.short_read || magic != 0xCAFEBABEu)
		return bad("no magic");
	struct cpool cp = {0};
	int rc = read_cpool(&c, &cp);
	if (rc == 0)
		rc = read_body(&c, &cp, out);
	free(cp.at);
	return rc;
}

/* ---- the JDK ---- */

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct hd_jclass *)a)->name, ((const struct hd_jclass *)b)->name);
}

/* Whether NAME can be the dotted name of a class in a named package:
 * dot-separated parts, none empty, none with a character a file name in
 * the image cannot have.  The split: PKG_LEN bytes of package. */
static bool split_class_name(const char *name, size_t *pkg_len)
{
	size_t len = strnlen(name, MAX_CLASS_NAME);
	if (len == 0 || len == MAX_CLASS_NAME || name[0] == '.' || name[len - 1] == '.')
		return false;
	if (strstr(name, "..") || strpbrk(name, "/;[\\"))
		return false;
	const char *dot = strrchr(name, '.');
	if (!dot)
		return false; /* the unnamed package: no JDK class is there */
	*pkg_len = (size_t)(dot - name);
	return true;
}

/* Finds NAME: 0 with *OUT, or *OUT NULL when the JDK has no such class. */
static int lookup(struct hd_jdk *j, const char *name, const struct hd_jclass **out)
{
	*out = NULL;
	size_t pkg_len;
	if (!split_class_name(name, &pkg_len))
		return 0;
	struct hd_jclass key = {.name = (char *)name};
	void *hit = tfind(&key, &j->cache, by_name);
	if (hit) {
		*out = *(struct hd_jclass **)hit;
		return 0;
	}
	char pkg[MAX_CLASS_NAME];
	memcpy(pkg, name, pkg_len);
	pkg[pkg_len] = '\0';
	const char *module;
	if (jimage_package_module(j->im, pkg, &module) != 0)
		return -1;
	if (!module)
		return 0;
	char path[2 * MAX_CLASS_NAME + 16];
	if ((size_t)snprintf(path, sizeof path, "/%s/%s.class", module, name) >= sizeof path)
		return 0;
	/* The package's dots and the one after it become slashes. */
	char *dir = path + 1 + strlen(module) + 1;
	for (size_t i = 0; i <= pkg_len; i++)
		if (dir[i] == '.')
			dir[i] = '/';
	uint8_t *data;
	size_t len;
	if (jimage_read(j->im, path, MAX_CLASS_FILE, &data, &len) != 0)
		return -1;
	if (!data)
		return 0;
	struct hd_jclass *cls;
	int rc = jdk_parse_class(data, len, &cls);
	free(data);
	if (rc != 0) {
		hd_error_context("%s: %s", j->modules, path);
		return -1;
	}
	if (strcmp(cls->name, name) != 0) {
		rc = hd_fail(HD_E_LAYOUT, "%s: %s holds class %s", j->modules, path, cls->name);
		free(cls);
		return rc;
	}
	if (!tsearch(cls, &j->cache, by_name)) {
		free(cls);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	*out = cls;
	return 0;
}

const struct hd_jclass *jdk_class(struct hd_jdk *j, const char *name)
{
	const struct hd_jclass *cls;
	return lookup(j, name, &cls) == 0 ? cls : NULL;
}

unsigned jdk_major(const struct hd_jdk *j)
{
	return j->major;
}

const char *jdk_dir(const struct hd_jdk *j)
{
	return j->dir;
}

void jdk_close(struct hd_jdk *j)
{
	if (!j)
		return;
	tdestroy(j->cache, free);
	jimage_close(j->im);
	free(j->modules);
	free(j->dir);
	free(j);
}

/* The major version in DIR/release's JAVA_VERSION="...", 0 if none. */
static unsigned release_major(const char *dir)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof path, "%s/release", dir) >= sizeof path)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	char text[MAX_RELEASE + 1];
	struct stat st;
	ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, text, MAX_RELEASE) : -1;
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	static const char key[] = "JAVA_VERSION=\"";
	const char *v = text;
	if (strncmp(v, key, sizeof key - 1) != 0 && (v = strstr(text, "\nJAVA_VERSION=\"")))
		v++;
	if (!v)
		return 0;
	v += sizeof key - 1;
	if (strncmp(v, "1.", 2) == 0)
		v += 2; /* 1.8.0_392: JDK 8 */
	unsigned major = 0;
	for (; *v >= '0' && *v <= '9' && major < 1000; v++)
		major = major * 10 + (unsigned)(*v - '0');
	return major < 1000 ? major : 0;
}

static bool exists(const char *dir, const char *rel)
{
	char path[PATH_MAX];
	return (size_t)snprintf(path, sizeof path, "%s/%s", dir, rel) < sizeof path &&
	       access(path, F_OK) == 0;
}

/* DIR, whose status is ST, is laid out as a JDK 9 or later. */
static int check_layout(const char *dir, const struct stat *st)
{
	if (!S_ISDIR(st->st_mode))
		return hd_fail(HD_E_USAGE, "%s: not a JDK (not a directory)", dir);
	if (!exists(dir, "lib/modules")) {
		if (exists(dir, "jre/lib/rt.jar") || exists(dir, "lib/rt.jar"))
			return hd_fail(HD_E_USAGE, "%s: a JDK 8 (rt.jar); hdump reads JDK 9 or "
				       "later (lib/modules)", dir);
		return hd_fail(HD_E_USAGE, "%s: not a JDK (no lib/modules)", dir);
	}
	return 0;
}

int jdk_check_dir(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) != 0)
		return hd_fail_errno(HD_E_USAGE, errno, "%s: not a JDK", dir);
	return check_layout(dir, &st);
}

static int open_dir(struct hd_jdk **out, const char *dir)
{
	struct stat st;
	if (stat(dir, &st) != 0)
		return hd_fail_errno(errno == EACCES ? HD_E_PERM : HD_E_NOENT, errno, "%s", dir);
	if (check_layout(dir, &st) != 0)
		return -1;
	struct hd_jdk *j = calloc(1, sizeof *j);
	if (!j)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	if (!(j->dir = strdup(dir)) || asprintf(&j->modules, "%s/lib/modules", dir) < 0) {
		j->modules = NULL;
		jdk_close(j);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	j->major = release_major(dir);
	const struct hd_jclass *object;
	if (jimage_open(&j->im, j->modules) != 0 || lookup(j, "java.lang.Object", &object) != 0) {
		jdk_close(j);
		return -1;
	}
	if (!object) {
		int rc = hd_fail(HD_E_USAGE, "%s: holds no java.lang.Object: not a JDK's",
				 j->modules);
		jdk_close(j);
		return rc;
	}
	*out = j;
	return 0;
}

/* The installed JDKs, in the order they are tried: $JAVA_HOME,
 * default-java, then /usr/lib/jvm's entries by name.  Returns how many. */
static size_t installed(char **cand, size_t max)
{
	size_t n = 0;
	const char *home = getenv("JAVA_HOME");
	if (home && *home && n < max)
		cand[n++] = strdup(home);
	if (n < max)
		cand[n++] = strdup(JVM_DIR "/default-java");
	struct dirent **ent;
	int nent = scandir(JVM_DIR, &ent, NULL, alphasort);
	for (int i = 0; i < nent; i++) {
		if (ent[i]->d_name[0] != '.' && n < max &&
		    strcmp(ent[i]->d_name, "default-java") != 0 &&
		    asprintf(&cand[n], JVM_DIR "/%s", ent[i]->d_name) >= 0)
			n++;
		free(ent[i]);
	}
	if (nent > 0)
		free(ent);
	return n;
}

int jdk_open(struct hd_jdk **out, const char *dir, unsigned major)
{
	*out = NULL;
	if (dir)
		return open_dir(out, dir);
	char *cand[MAX_INSTALLED + 2];
	size_t n = installed(cand, MAX_INSTALLED + 2);
	int rc = -1;
	bool stop = false;
	/* The first failure of a directory that has lib/modules says more
	 * than "none found". */
	struct hd_error_state broken = {.cls = HD_OK};
	/* First those of the major version wanted, then any. */
	for (int pass = major ? 0 : 1; pass < 2 && rc != 0 && !stop; pass++)
		for (size_t i = 0; i < n && rc != 0 && !stop; i++) {
			if (!cand[i])
				continue;
			bool wanted = release_major(cand[i]) == major;
			if (pass == 0 ? !wanted : major && wanted)
				continue;
			rc = open_dir(out, cand[i]);
			if (rc == 0)
				break;
			stop = hd_error_is_fatal();
			if (broken.cls == HD_OK && exists(cand[i], "lib/modules"))
				hd_error_save(&broken);
		}
	for (size_t i = 0; i < n; i++)
		free(cand[i]);
	if (rc == 0 || stop)
		return rc;
	if (broken.cls != HD_OK) {
		hd_error_restore(&broken);
		return -1;
	}
	return hd_fail(HD_E_NOENT, "no JDK 9 or later found ($JAVA_HOME, %s)", JVM_DIR);
}
