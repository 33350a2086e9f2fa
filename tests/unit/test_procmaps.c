/* /proc/PID/maps parsing (agent/procmaps.h): crafted text with every kind
 * of line the kernel writes and some it never does, lookups at the
 * mappings' edges, then a helper process whose mapping the test made. */
#include "../../agent/procmaps.h"
#include "../../common/hd_error.h"
#include "tracee.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static const char MAPS[] =
	"55d0c0000000-55d0c0001000 r--p 00000000 fe:01 1311 /usr/bin/pkl\n"
	"55d0c0001000-55d0c0400000 r-xp 00001000 fe:01 1311 /usr/bin/pkl\n"
	"this line is not a mapping\n"
	"7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
	"7f0000100000-7f0000200000 rw-s 00000000 00:05 77 /memfd:heap (deleted)\n"
	"7f00000f0000-7f0000300000 r--p 00000000 00:00 0\n" /* overlaps: skipped */
	"7f0000400000-7f0000400000 r--p 00000000 00:00 0\n" /* empty: skipped */
	"7f1000000000-7f1000021000 r-xp 00028000 08:02 9 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]"; /* no final newline */

Test(procmaps, parses_what_the_kernel_writes)
{
	struct hd_maps m;
	cr_assert(maps_parse(MAPS, strlen(MAPS), &m) == 0);
	cr_assert_eq(m.n, 7);
	cr_assert_eq(m.v[0].start, 0x55d0c0000000ull);
	cr_assert_eq(m.v[0].end, 0x55d0c0001000ull);
	cr_assert(m.v[0].r && !m.v[0].w && !m.v[0].x);
	cr_assert_str_eq(m.v[0].name, "pkl");
	cr_assert_eq(m.v[1].offset, 0x1000);
	cr_assert(m.v[1].x);
	cr_assert_eq(m.v[1].dev, makedev(0xfe, 1));
	cr_assert_eq(m.v[1].ino, 1311);
	cr_assert_str_eq(m.v[2].name, "", "anonymous");
	cr_assert(m.v[2].w);
	cr_assert_str_eq(m.v[3].name, "memfd:heap (deleted)");
	cr_assert_str_eq(m.v[4].name, "libc.so.6");
	cr_assert_eq(m.v[4].offset, 0x28000);
	cr_assert_str_eq(m.v[5].name, "[stack]");
	cr_assert_str_eq(m.v[6].name, "[vsyscall]");
	cr_assert(!m.v[6].r && m.v[6].x);
	maps_free(&m);
	cr_assert_eq(m.n, 0);
	cr_assert_null(m.v);
}

Test(procmaps, a_long_name_is_cut_and_a_long_line_parsed)
{
	char text[6000];
	int n = snprintf(text, sizeof text, "1000-2000 r--p 00000000 00:00 0 /");
	memset(text + n, 'a', 5000);
	strcpy(text + n + 5000, "\n3000-4000 r--p 00000000 00:00 0 /x/short\n");
	struct hd_maps m;
	cr_assert(maps_parse(text, strlen(text), &m) == 0);
	cr_assert_eq(m.n, 2);
	cr_assert_eq(strlen(m.v[0].name), sizeof m.v[0].name - 1);
	cr_assert_str_eq(m.v[1].name, "short");
	maps_free(&m);
}

Test(procmaps, find_at_the_edges)
{
	struct hd_maps m;
	cr_assert(maps_parse(MAPS, strlen(MAPS), &m) == 0);
	cr_assert_eq(maps_find(&m, 0x55d0c0000000ull), &m.v[0]);
	cr_assert_eq(maps_find(&m, 0x55d0c0000fffull), &m.v[0]);
	cr_assert_eq(maps_find(&m, 0x55d0c0001000ull), &m.v[1], "end is exclusive");
	cr_assert_null(maps_find(&m, 0x55d0c0400000ull));
	cr_assert_null(maps_find(&m, 0x1000));
	cr_assert_null(maps_find(&m, 0x7f0000250000ull), "inside the skipped overlap only");
	cr_assert_eq(maps_find(&m, 0xffffffffff600000ull), &m.v[6]);
	cr_assert_null(maps_find(&m, UINT64_MAX));
	maps_free(&m);
	struct hd_maps empty;
	cr_assert(maps_parse("", 0, &empty) == 0);
	cr_assert_eq(empty.n, 0);
	cr_assert_null(maps_find(&empty, 0x1000));
}

/* Maps one read-only page and one executable one, says where, and waits. */
static void mapper_main(const void *ctx, int in, int out)
{
	(void)ctx;
	uint8_t *p = mmap(NULL, 2 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + 4096, 4096, PROT_READ | PROT_EXEC) != 0)
		_exit(2);
	tracee_announce_and_wait(in, out, (uint64_t)(uintptr_t)p);
}

Test(procmaps, reads_a_helper_process)
{
	struct tracee h = tracee_spawn(mapper_main, NULL);
	uint64_t at = tracee_announced(&h);
	struct hd_maps m;
	cr_assert(maps_read(h.pid, &m) == 0, "%s", hd_error_message());
	const struct hd_mapping *ro = maps_find(&m, at), *rx = maps_find(&m, at + 4096);
	cr_assert(ro && rx && ro != rx);
	cr_assert_eq(ro->start, at);
	cr_assert(ro->r && !ro->w && !ro->x);
	cr_assert(rx->r && !rx->w && rx->x);
	cr_assert_eq(rx->start, at + 4096);
	for (size_t i = 1; i < m.n; i++)
		cr_assert(m.v[i].start >= m.v[i - 1].end, "ascending, not overlapping");
	maps_free(&m);
	cr_assert_str_eq(tracee_finish(&h, "x"), "");
}

Test(procmaps, a_missing_process_is_noent)
{
	struct hd_maps m;
	cr_assert(maps_read(0x7ffffff0, &m) != 0);
	cr_assert_eq(hd_error_class(), HD_E_NOENT);
	cr_assert_eq(m.n, 0);
}
