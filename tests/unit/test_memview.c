/* Memory views (agent/memview.h): a local view over buffers (reads inside
 * and across its regions, the error class of a miss, with and without
 * mv_reads_may_tear), a process view of a helper (reads across mappings,
 * a hole torn out of them, the process gone), clones, and the read
 * counter. */
#include "../../agent/memview.h"
#include "../../common/hd_error.h"
#include "tracee.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static uint8_t A[64], B[64];

static hd_memview *two_regions(void)
{
	for (int i = 0; i < 64; i++) {
		A[i] = (uint8_t)i;
		B[i] = (uint8_t)(0x80 + i);
	}
	hd_memview *mv = mv_new_local();
	cr_assert(mv);
	/* Adjacent in the view, apart in memory. */
	cr_assert(mv_add_local(mv, 0x1000, A, sizeof A) == 0);
	cr_assert(mv_add_local(mv, 0x1040, B, sizeof B) == 0);
	return mv;
}

Test(memview, local_reads_inside_regions)
{
	hd_memview *mv = two_regions();
	uint8_t out[16];
	cr_assert(mv_read(mv, 0x1008, out, 8) == 0);
	cr_assert_arr_eq(out, A + 8, 8);
	cr_assert(mv_read(mv, 0x1078, out, 8) == 0, "the last bytes of the second");
	cr_assert_arr_eq(out, B + 56, 8);
	cr_assert_eq(mv_local_ptr(mv, 0x1040, 64), B, "no copy needed");
	mv_free(mv);
}

/* A read is all or nothing, and one local read comes from one region. */
Test(memview, a_miss_in_a_fixed_view_is_a_layout_error)
{
	hd_memview *mv = two_regions();
	uint8_t out[16];
	memset(out, 0xee, sizeof out);
	static const struct {
		uint64_t addr;
		size_t len;
	} misses[] = {{0x1038, 16}, {0x0ff8, 16}, {0x1078, 9}, {0x5000, 1}, {UINT64_MAX - 3, 8}};
	for (size_t i = 0; i < sizeof misses / sizeof *misses; i++) {
		hd_error_clear();
		cr_assert(mv_read(mv, misses[i].addr, out, misses[i].len) != 0, "miss %zu", i);
		cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "miss %zu", i);
		cr_assert_eq(out[0], 0xee, "miss %zu wrote", i);
	}
	mv_free(mv);
}

Test(memview, a_miss_in_a_copy_of_live_memory_is_torn)
{
	hd_memview *mv = two_regions();
	mv_reads_may_tear(mv);
	uint8_t out[8];
	cr_assert(mv_read(mv, 0x5000, out, sizeof out) != 0);
	cr_assert_eq(hd_error_class(), HD_E_TORN, "%s", hd_error_message());
	hd_memview *c = mv_clone(mv);
	cr_assert(c);
	cr_assert(mv_read(c, 0x5000, out, sizeof out) != 0);
	cr_assert_eq(hd_error_class(), HD_E_TORN, "a clone keeps it");
	cr_assert(mv_read(c, 0x1000, out, sizeof out) == 0, "a clone reads the same regions");
	cr_assert_arr_eq(out, A, sizeof out);
	mv_free(c);
	mv_free(mv);
}

Test(memview, probing_records_nothing)
{
	hd_memview *mv = two_regions();
	uint8_t out[8];
	hd_error_clear();
	errno = 0;
	cr_assert(mv_try_read(mv, 0x5000, out, 8) != 0);
	cr_assert_eq(errno, EFAULT);
	cr_assert_eq(hd_error_class(), HD_OK);
	cr_assert(mv_try_read(mv, 0x5000, out, 0) == 0, "an empty read is always possible");
	mv_free(mv);
}

Test(memview, counts_reads_and_bytes)
{
	hd_memview *mv = two_regions();
	uint8_t out[16];
	struct mv_stats s = mv_stats(mv);
	cr_assert(s.reads == 0 && s.bytes == 0);
	cr_assert(mv_read(mv, 0x1000, out, 16) == 0);
	cr_assert(mv_try_read(mv, 0x1040, out, 4) == 0);
	cr_assert(mv_try_read(mv, 0x9000, out, 8) != 0, "misses count too");
	s = mv_stats(mv);
	cr_assert_eq(s.reads, 3);
	cr_assert_eq(s.bytes, 28);
	hd_memview *c = mv_clone(mv);
	cr_assert(c);
	cr_assert_eq(mv_stats(c).reads, 0, "a clone counts its own");
	mv_free(c);
	mv_free(mv);
}

/* Three pages, the middle one unmapped: reports where, then waits. */
static void holed_main(const void *ctx, int in, int out)
{
	(void)ctx;
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, (size_t)(4 * page), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(2);
	memset(p, 0x11, (size_t)page);
	memset(p + page, 0x22, (size_t)page);
	memset(p + 3 * page, 0x44, (size_t)page);
	/* Two mappings meet at p + page: different rights keep them apart. */
	if (mprotect(p, (size_t)page, PROT_READ) != 0 || munmap(p + 2 * page, (size_t)page) != 0)
		_exit(2);
	tracee_announce_and_wait(in, out, (uint64_t)(uintptr_t)p);
}

static void process_view(bool pinning)
{
	long page = sysconf(_SC_PAGESIZE);
	struct tracee h = tracee_spawn(holed_main, NULL);
	uint64_t at = tracee_announced(&h);
	hd_memview *mv = mv_new_process(h.pid);
	cr_assert(mv);
	if (!pinning)
		mv_read_without_pinning(mv);
	uint8_t out[16];
	cr_assert(mv_read(mv, at + (uint64_t)page - 8, out, 16) == 0, "%s", hd_error_message());
	cr_assert(out[0] == 0x11 && out[7] == 0x11 && out[8] == 0x22 && out[15] == 0x22,
		  "across two mappings");
	memset(out, 0xee, sizeof out);
	hd_error_clear();
	cr_assert(mv_read(mv, at + 2 * (uint64_t)page - 8, out, 16) != 0, "into the hole");
	cr_assert_eq(hd_error_class(), HD_E_TORN, "%s", hd_error_message());
	cr_assert(mv_read(mv, at + 3 * (uint64_t)page, out, 8) == 0, "past the hole");
	cr_assert_eq(out[0], 0x44);
	cr_assert(mv_read(mv, 16, out, 8) != 0, "page zero");
	cr_assert_eq(hd_error_class(), HD_E_TORN);
	tracee_kill(&h);
	if (pinning) {
		/* Reaped: process_vm_readv finds no such process. */
		cr_assert(mv_read(mv, at, out, 8) != 0);
		cr_assert_eq(hd_error_class(), HD_E_TARGET_GONE, "%s", hd_error_message());
	}
	mv_free(mv);
}

Test(memview, a_process_read_across_mappings_and_into_a_hole)
{
	process_view(true);
}

Test(memview, the_same_through_proc_pid_mem)
{
	process_view(false);
}

/* /proc/PID/mem copies a read a page-sized step at a time from its start:
 * an unaligned read's head is read alone, so that no step takes two pages. */
Test(memview, proc_pid_mem_reads_whole_pages_after_the_head)
{
	long page = sysconf(_SC_PAGESIZE);
	struct tracee h = tracee_spawn(holed_main, NULL);
	uint64_t at = tracee_announced(&h);
	hd_memview *mv = mv_new_process(h.pid);
	cr_assert(mv);
	mv_read_without_pinning(mv);
	size_t len = 2 * (size_t)page - 16;
	uint8_t *out = malloc(len);
	cr_assert(out);
	cr_assert(mv_read(mv, at + 8, out, len) == 0, "%s", hd_error_message());
	cr_assert(out[0] == 0x11 && out[page - 9] == 0x11 && out[page - 8] == 0x22 &&
		  out[len - 1] == 0x22);
	cr_assert_eq(mv_stats(mv).syscalls, 2, "the head to the page boundary, then the rest");
	cr_assert(mv_read(mv, at, out, len) == 0, "%s", hd_error_message());
	cr_assert_eq(mv_stats(mv).syscalls, 3, "an aligned read in one");
	cr_assert(mv_read(mv, at + 8, out, 16) == 0, "%s", hd_error_message());
	cr_assert_eq(mv_stats(mv).syscalls, 4, "inside one page, in one");
	free(out);
	tracee_kill(&h);
	mv_free(mv);
}
