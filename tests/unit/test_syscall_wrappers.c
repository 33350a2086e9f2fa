/* libc's system call wrappers located in a process (symbols/
 * syscall_wrappers.h): in this very process, getpid's address is among
 * them; maps without a libc yield none; a libc whose file cannot be opened
 * says why; a target that maps "libc" thousands of times costs a few reads. */
#include "../../agent/procmaps.h"
#include "../../common/hd_error.h"
#include "../../common/interrupt.h"
#include "../../symbols/syscall_wrappers.h"

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <string.h>
#include <unistd.h>

Test(syscall_wrappers, getpid_of_this_process_is_found)
{
	struct hd_maps maps;
	cr_assert(maps_read(getpid(), &maps) == 0, "%s", hd_error_message());
	struct inject_entries e;
	cr_assert_eq(syscall_wrappers_find(getpid(), &maps, &e), 0, "%s", hd_error_message());
	cr_assert_eq(e.unreadable, 0, "%s", strerror(e.unreadable));
	uint64_t want = (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, "getpid");
	cr_assert(want);
	bool found = false;
	for (size_t i = 0; i < e.n; i++) {
		found |= e.addr[i] == want;
		const struct hd_mapping *m = maps_find(&maps, e.addr[i]);
		cr_assert(m && m->x && strncmp(m->name, "libc", 4) == 0, "entry 0x%llx outside libc's code",
			  (unsigned long long)e.addr[i]);
	}
	cr_assert(found, "getpid at 0x%llx not among %zu entries", (unsigned long long)want, e.n);
	maps_free(&maps);
}

static struct hd_maps parse(const char *text)
{
	struct hd_maps maps;
	cr_assert(maps_parse(text, strlen(text), &maps) == 0);
	return maps;
}

Test(syscall_wrappers, no_libc_no_entries)
{
	struct hd_maps maps = parse("00400000-00401000 r-xp 00000000 08:01 42 /usr/bin/app\n");
	struct inject_entries e;
	cr_assert_eq(syscall_wrappers_find(getpid(), &maps, &e), 0, "%s", hd_error_message());
	cr_assert_eq(e.n, 0);
	cr_assert_eq(e.unreadable, 0);
	maps_free(&maps);
}

/* A libc mapping /proc does not know: its file cannot be opened. */
Test(syscall_wrappers, an_unopenable_libc_is_reported)
{
	struct hd_maps maps =
		parse("10000-11000 r-xp 00000000 08:01 43 /usr/lib/x86_64-linux-gnu/libc.so.6\n");
	struct inject_entries e;
	cr_assert_eq(syscall_wrappers_find(getpid(), &maps, &e), 0, "%s", hd_error_message());
	cr_assert_eq(e.n, 0);
	cr_assert_eq(e.unreadable, ENOENT, "%s", strerror(e.unreadable));
	maps_free(&maps);
}

/* Opens of a /proc/PID/map_files entry, counted here: the test binary's
 * open() comes before libc's for the library linked into it. */
static unsigned map_file_opens;

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
	va_end(ap);
	if (strstr(path, "/map_files/"))
		map_file_opens++;
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

/* This process's maps text with its libc's executable mapping and COPIES - 1
 * more mappings of the same file right above it (as a target that maps its
 * libc again and again has), each copy's inode changed when DISTINCT. */
static char *libc_repeated(unsigned copies, bool distinct)
{
	FILE *f = fopen("/proc/self/maps", "r");
	cr_assert_not_null(f);
	char line[512], libc[512] = "";
	while (fgets(line, sizeof line, f))
		if (strstr(line, "r-xp") && strstr(line, "/libc.so"))
			snprintf(libc, sizeof libc, "%s", line);
	fclose(f);
	cr_assert(libc[0], "this process maps no libc.so");
	unsigned long lo, hi, off, ino;
	char dev[16], path[400];
	cr_assert_eq(sscanf(libc, "%lx-%lx r-xp %lx %15s %lu %399s", &lo, &hi, &off, dev, &ino, path), 6);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	for (unsigned i = 0; i < copies; i++)
		fprintf(out, "%lx-%lx r-xp %08lx %s %lu %s\n", lo + i * (hi - lo),
			hi + i * (hi - lo), off, dev, distinct && i ? ino + i : ino, path);
	fclose(out);
	return text;
}

/* The target names its mappings: thousands of "libc" mappings of one file
 * cost one read of its symbol table, and of many files a few. */
Test(syscall_wrappers, each_libc_file_is_read_once)
{
	char *text = libc_repeated(5000, false);
	struct hd_maps maps = parse(text);
	struct inject_entries e;
	map_file_opens = 0;
	cr_assert_eq(syscall_wrappers_find(getpid(), &maps, &e), 0, "%s", hd_error_message());
	cr_assert_eq(map_file_opens, 1);
	cr_assert_gt(e.n, 0, "the one read found no wrapper");
	maps_free(&maps);
	free(text);
}

Test(syscall_wrappers, only_a_few_distinct_libcs_are_read)
{
	char *text = libc_repeated(1000, true);
	struct hd_maps maps = parse(text);
	struct inject_entries e;
	map_file_opens = 0;
	cr_assert_eq(syscall_wrappers_find(getpid(), &maps, &e), 0, "%s", hd_error_message());
	cr_assert_gt(map_file_opens, 0);
	cr_assert_leq(map_file_opens, 4, "%u libraries read", map_file_opens);
	maps_free(&maps);
	free(text);
}

Test(syscall_wrappers, a_signal_stops_the_search)
{
	char *text = libc_repeated(1, false);
	struct hd_maps maps = parse(text);
	struct inject_entries e;
	hd_install_signal_handlers();
	raise(SIGINT);
	cr_assert_eq(syscall_wrappers_find(getpid(), &maps, &e), -1);
	cr_assert_eq(hd_error_class(), HD_E_INTERRUPTED, "%s", hd_error_message());
	maps_free(&maps);
	free(text);
}
