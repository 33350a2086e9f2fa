#include "syscall_wrappers.h"

#include "symtab.h"

#include "../common/hd_error.h"
#include "../common/interrupt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Calls with no argument and no libc state, which glibc and musl compile
 * to `[endbr64] mov $nr, %eax; syscall` (glibc from its syscall
 * templates).  A libc that wraps them differently offers no site. */
static const char *const WRAPPERS[] = {
	"getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "sched_yield", "sync",
};
#define PROLOGUE_MIN 7 /* mov $nr, %eax (5) + syscall (2) */
/* Distinct libc files read: a process maps one (two for a musl-in-glibc
 * oddity); the target can name any number of mappings "libc.so". */
#define LIBRARIES_MAX 4

static bool is_libc_name(const char *name)
{
	return strncmp(name, "libc.so", 7) == 0 || strncmp(name, "libc-", 5) == 0 ||
	       strncmp(name, "ld-musl-", 8) == 0 || strncmp(name, "libc.musl-", 10) == 0;
}

/* Where offset OFF of LIB's file is mapped executable, if it is. */
static bool mapped_at(const struct hd_maps *maps, const struct hd_mapping *lib, uint64_t off,
		      uint64_t *addr)
{
	for (size_t i = 0; i < maps->n; i++) {
		const struct hd_mapping *m = &maps->v[i];
		if (m->dev == lib->dev && m->ino == lib->ino && m->x && off >= m->offset &&
		    off - m->offset < m->end - m->start) {
			*addr = m->start + (off - m->offset);
			return true;
		}
	}
	return false;
}

/* Adds LIB's wrappers to OUT.  A libc that cannot be opened or read only
 * offers no site; running out of memory or a signal fails. */
static int add_library(pid_t pid, const struct hd_maps *maps, const struct hd_mapping *lib,
		       struct inject_entries *out)
{
	char path[96];
	snprintf(path, sizeof path, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, lib->start,
		 lib->end);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		out->unreadable = errno;
		return 0;
	}
	struct hd_error_state before;
	hd_error_save(&before);
	hd_symtab *st = symtab_open(fd, path);
	close(fd);
	if (!st) {
		if (hd_error_is_fatal())
			return -1;
		hd_error_restore(&before); /* a damaged libc only offers no site */
		return 0;
	}
	for (size_t i = 0; i < sizeof WRAPPERS / sizeof *WRAPPERS && out->n < INJECT_MAX_ENTRIES; i++) {
		struct hd_symbol sym;
		uint64_t addr;
		if (!symtab_find_function(st, WRAPPERS[i], &sym) || !sym.in_file ||
		    (sym.size && sym.size < PROLOGUE_MIN) ||
		    !mapped_at(maps, lib, sym.file_offset, &addr))
			continue;
		bool seen = false;
		for (size_t k = 0; k < out->n; k++)
			seen |= out->addr[k] == addr; /* aliases share an entry */
		if (!seen)
			out->addr[out->n++] = addr;
	}
	symtab_close(st);
	return 0;
}

int syscall_wrappers_find(pid_t pid, const struct hd_maps *maps, struct inject_entries *out)
{
	memset(out, 0, sizeof *out);
	struct {
		dev_t dev;
		ino_t ino;
	} seen[LIBRARIES_MAX];
	size_t nseen = 0;
	for (size_t i = 0; i < maps->n && nseen < LIBRARIES_MAX; i++) {
		const struct hd_mapping *m = &maps->v[i];
		if (!m->x || !is_libc_name(m->name))
			continue;
		bool known = false;
		for (size_t k = 0; k < nseen && !known; k++)
			known = seen[k].dev == m->dev && seen[k].ino == m->ino;
		if (known)
			continue;
		seen[nseen].dev = m->dev;
		seen[nseen].ino = m->ino;
		nseen++;
		if (hd_interrupted())
			return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d",
				       hd_interrupted_signal());
		if (add_library(pid, maps, m, out) != 0)
			return -1;
	}
	return 0;
}
