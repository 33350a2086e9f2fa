/* Copies of a process's ranges (agent/snapshot.h), taken of this very
 * process: overlapping, adjacent, empty and unordered ranges merged, the
 * copy equal to the source and independent of it, reads outside the copy
 * torn, and a copy larger than the machine refused before anything is
 * read. */
#include "../../agent/memview.h"
#include "../../agent/snapshot.h"
#include "../../common/hd_error.h"

#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint8_t source[3 * 4096];

static uint64_t at(size_t off) { return (uint64_t)(uintptr_t)source + off; }

Test(snapshot, ranges_merged_and_copy_equals_source)
{
	for (size_t i = 0; i < sizeof source; i++)
		source[i] = (uint8_t)(i * 7 + 3);
	hd_memview *proc = mv_new_process(getpid());
	cr_assert(proc);
	struct hd_range r[] = {
		{at(5000), at(6000)},  /* unordered */
		{at(0), at(1000)},
		{at(500), at(2000)},   /* overlaps the one before */
		{at(2000), at(2500)},  /* adjacent to it */
		{at(9000), at(9000)},  /* empty: dropped */
		{at(5500), at(5600)},  /* inside another */
	};
	struct hd_snapshot s;
	cr_assert(snapshot_take(&s, proc, r, sizeof r / sizeof *r) == 0, "%s", hd_error_message());
	cr_assert_eq(s.bytes, 2500 + 1000, "what the merged ranges cover");
	cr_assert_eq(r[0].from, at(0));
	cr_assert_eq(r[0].to, at(2500));
	cr_assert_eq(r[1].from, at(5000));
	cr_assert_eq(r[1].to, at(6000));
	uint8_t copy[2500];
	cr_assert(mv_read(s.view, at(0), copy, 2500) == 0, "%s", hd_error_message());
	cr_assert_arr_eq(copy, source, 2500);
	/* A copy, not a window: later writes to the source do not show. */
	uint8_t before = source[5100];
	source[5100] ^= 0xff;
	cr_assert(mv_read(s.view, at(5100), copy, 1) == 0);
	cr_assert_eq(copy[0], before);
	/* Outside the copy (the gap between the ranges): a torn read. */
	hd_error_clear();
	cr_assert(mv_read(s.view, at(3000), copy, 8) != 0);
	cr_assert_eq(hd_error_class(), HD_E_TORN, "%s", hd_error_message());
	snapshot_free(&s);
	cr_assert_null(s.view);
	mv_free(proc);
}

Test(snapshot, unreadable_range_is_torn)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, (size_t)(2 * page), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(p != MAP_FAILED);
	cr_assert(munmap(p + page, (size_t)page) == 0);
	hd_memview *proc = mv_new_process(getpid());
	cr_assert(proc);
	struct hd_range r = {(uint64_t)(uintptr_t)p, (uint64_t)(uintptr_t)p + 2 * (uint64_t)page};
	struct hd_snapshot s;
	cr_assert(snapshot_take(&s, proc, &r, 1) != 0);
	cr_assert_eq(hd_error_class(), HD_E_TORN, "%s", hd_error_message());
	cr_assert_null(s.view, "nothing kept");
	munmap(p, (size_t)page);
	mv_free(proc);
}

Test(snapshot, larger_than_the_machine_is_refused_before_reading)
{
	uint64_t ram = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
	hd_memview *proc = mv_new_process(getpid());
	cr_assert(proc);
	/* Nothing mapped there: a read would be torn, a refusal comes first. */
	struct hd_range r[] = {{0x100000000ull, 0x100000000ull + ram / 2 + 4096},
			       {0x100000000ull + ram, 0x100000000ull + ram + ram / 2 + 4096}};
	struct hd_snapshot s;
	cr_assert(snapshot_take(&s, proc, r, 2) != 0);
	cr_assert_eq(hd_error_class(), HD_E_SNAPSHOT, "%s", hd_error_message());
	cr_assert(strstr(hd_error_message(), "refusing a copy snapshot"), "%s", hd_error_message());
	cr_assert_eq(mv_stats(proc).reads, 0, "refused before reading");
	mv_free(proc);
}
