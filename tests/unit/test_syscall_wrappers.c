/* libc's system call wrappers located in a process (symbols/
 * syscall_wrappers.h): in this very process, getpid's address is among
 * them; maps without a libc yield none; a libc whose file cannot be opened
 * says why. */
#include "../../agent/procmaps.h"
#include "../../common/hd_error.h"
#include "../../symbols/syscall_wrappers.h"

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

Test(syscall_wrappers, getpid_of_this_process_is_found)
{
	struct hd_maps maps;
	cr_assert(maps_read(getpid(), &maps) == 0, "%s", hd_error_message());
	struct inject_entries e;
	syscall_wrappers_find(getpid(), &maps, &e);
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
	syscall_wrappers_find(getpid(), &maps, &e);
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
	syscall_wrappers_find(getpid(), &maps, &e);
	cr_assert_eq(e.n, 0);
	cr_assert_eq(e.unreadable, ENOENT, "%s", strerror(e.unreadable));
	maps_free(&maps);
}
