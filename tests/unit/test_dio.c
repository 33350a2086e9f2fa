/* The dump file's writer (cli/dio.c): the exact bytes given, in pieces of
 * any size, through the cache up to its budget and with O_DIRECT past it
 * where the file system takes it (the unaligned tail through the cache); a
 * rewind starts the file over; asked to, write-back is started behind the
 * writer. */
#include "../../cli/dio.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

static char dir[] = "/tmp/hdump-dio-XXXXXX";
static char path[256];

static int new_file(void)
{
	strcpy(dir, "/tmp/hdump-dio-XXXXXX"); /* mkdtemp filled in the last one */
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/out", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "%s", strerror(errno));
	return fd;
}

static void remove_file(int fd)
{
	close(fd);
	unlink(path);
	rmdir(dir);
}

/* Whether this file system takes O_DIRECT, asked apart from dio. */
static bool takes_o_direct(void)
{
	char probe[300];
	snprintf(probe, sizeof probe, "%s/probe", dir);
	int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_DIRECT, 0600);
	int e = errno;
	if (fd >= 0)
		close(fd);
	unlink(probe);
	cr_assert(fd >= 0 || e == EINVAL, "%s", strerror(e));
	return fd >= 0;
}

static uint8_t byte_at(uint64_t i, unsigned seed)
{
	return (uint8_t)(i * 131 + i / 4093 + seed);
}

static void put(hd_dio *d, uint64_t *at, size_t len, unsigned seed)
{
	uint8_t *b = malloc(len ? len : 1);
	cr_assert_not_null(b);
	for (size_t i = 0; i < len; i++)
		b[i] = byte_at(*at + i, seed);
	cr_assert_eq(dio_write(d, b, len), 0, "%s", hdump_error().message);
	*at += len;
	free(b);
}

static void expect_file(uint64_t size, unsigned seed)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f);
	uint64_t i = 0;
	for (int c; (c = fgetc(f)) != EOF; i++)
		if ((uint8_t)c != byte_at(i, seed))
			cr_assert_fail("byte %llu differs", (unsigned long long)i);
	fclose(f);
	cr_assert_eq(i, size, "%llu bytes, %llu given", (unsigned long long)i,
		     (unsigned long long)size);
}

/* Pieces across block and alignment edges, a tail of 123 bytes: all with
 * O_DIRECT, all through the cache, and the cache for the first two blocks. */
Test(dio, pieces_of_any_size_make_the_exact_file, .timeout = 60)
{
	static const uint64_t budgets[] = {0, UINT64_MAX, 2 * DIO_BLOCK};
	for (size_t b = 0; b < sizeof budgets / sizeof *budgets; b++) {
		int fd = new_file();
		hd_dio *d = dio_new(fd, path, (struct dio_options){.cache_budget = budgets[b]});
		cr_assert_not_null(d);
		cr_assert_eq(dio_direct_taken(d), budgets[b] != UINT64_MAX && takes_o_direct());
		static const size_t sizes[] = {1,         4095,  4097,          DIO_BLOCK - 9,
					       9,         DIO_BLOCK, 3 * DIO_BLOCK + 5, 0,
					       DIO_ALIGN, 77};
		uint64_t at = 0;
		for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
			put(d, &at, sizes[i], 1);
		put(d, &at, DIO_ALIGN - at % DIO_ALIGN + 123, 1);
		cr_assert_eq(at % DIO_ALIGN, 123);
		cr_assert_eq(dio_flush(d), 0, "%s", hdump_error().message);
		dio_free(d);
		expect_file(at, 1);
		remove_file(fd);
	}
}

/* A retried dump: what the first attempt wrote is gone, O_DIRECT is back
 * after the first attempt's tail went through the cache. */
Test(dio, a_rewind_starts_the_file_over, .timeout = 60)
{
	int fd = new_file();
	bool direct = takes_o_direct();
	hd_dio *d = dio_new(fd, path, (struct dio_options){.cache_budget = 0});
	cr_assert_not_null(d);
	uint64_t at = 0;
	put(d, &at, 2 * DIO_BLOCK + 1000, 1);
	cr_assert_eq(dio_flush(d), 0, "%s", hdump_error().message);
	put(d, &at, 5000, 1);
	cr_assert_eq(dio_rewind(d), 0, "%s", hdump_error().message);
	cr_assert_eq(dio_direct_taken(d), direct);
	at = 0;
	put(d, &at, DIO_BLOCK + 3, 2);
	cr_assert_eq(dio_flush(d), 0, "%s", hdump_error().message);
	dio_free(d);
	expect_file(at, 2);
	remove_file(fd);
}

/* cachestat(2) (Linux 6.5): a file's pages in the page cache, and how many
 * of them are dirty (not yet handed to the device).  No libc wrapper yet. */
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif
struct cachestat_range {
	uint64_t off, len;
};
struct cachestat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

/* The pages of FD in the page cache, in bytes, and how many of them are
 * dirty; skips the test where cachestat is not there. */
static void cached_bytes(int fd, uint64_t *cached, uint64_t *dirty)
{
	struct cachestat_range whole = {0, 0}; /* len 0: to the end of the file */
	struct cachestat cs;
	if (syscall(__NR_cachestat, fd, &whole, &cs, 0) != 0)
		cr_skip("cachestat: %s", strerror(errno));
	*cached = cs.nr_cache * (uint64_t)sysconf(_SC_PAGESIZE);
	*dirty = cs.nr_dirty * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Past the budget the file goes around the cache: of 8 MiB and a tail,
 * with a budget of 2 MiB, the cache holds the first 2 MiB and the tail. */
Test(dio, past_its_budget_the_file_goes_around_the_cache, .timeout = 60)
{
	int fd = new_file();
	struct statfs fs;
	cr_assert_eq(fstatfs(fd, &fs), 0);
	if (fs.f_type == TMPFS_MAGIC || !takes_o_direct())
		cr_skip("%s keeps every file in memory, or takes no O_DIRECT", dir);
	hd_dio *d = dio_new(fd, path, (struct dio_options){.cache_budget = 2 * DIO_BLOCK});
	cr_assert_not_null(d);
	uint64_t at = 0;
	put(d, &at, 8 * DIO_BLOCK + 100, 4);
	cr_assert_eq(dio_flush(d), 0, "%s", hdump_error().message);
	uint64_t cached, dirty;
	cached_bytes(fd, &cached, &dirty);
	/* (The kernel may have written back and dropped cached pages, never
	 * cached the direct ones.) */
	cr_assert_leq(cached, 2 * DIO_BLOCK + (uint64_t)sysconf(_SC_PAGESIZE), "%llu bytes cached",
		      (unsigned long long)cached);
	dio_free(d);
	expect_file(at, 4);
	remove_file(fd);
}

/* Asked to, through the cache the device writes the file while it is
 * made: what dio_write got is handed to it every DIO_WRITEBACK_STEP bytes,
 * not left dirty for the final wait (the kernel would start before its
 * background dirty limit, a tenth of memory, only after 30 s). */
Test(dio, through_the_cache_the_file_is_written_back_as_it_grows, .timeout = 60)
{
	int fd = new_file();
	struct statfs fs;
	cr_assert_eq(fstatfs(fd, &fs), 0);
	if (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC)
		cr_skip("%s is in memory: no write-back to see", dir);
	hd_dio *d = dio_new(fd, path,
			    (struct dio_options){.cache_budget = UINT64_MAX, .write_back_early = true});
	cr_assert_not_null(d);
	cr_assert_not(dio_direct_taken(d));
	uint64_t at = 0;
	for (int i = 0; i < 64; i++)
		put(d, &at, 1 << 20, 3);
	/* Only what the thread has written is on the file: wait for it. */
	cr_assert_eq(dio_flush(d), 0, "%s", hdump_error().message);
	uint64_t cached, dirty;
	cached_bytes(fd, &cached, &dirty);
	cr_assert_leq(dirty, DIO_WRITEBACK_STEP, "%llu of 64 MiB still dirty",
		      (unsigned long long)dirty);
	dio_free(d);
	remove_file(fd);
}

/* The budget is half of what the kernel lets be dirty: some of the memory
 * this machine has, never more than half of it. */
Test(dio, the_cache_budget_is_part_of_the_memory)
{
	FILE *f = fopen("/proc/meminfo", "r");
	cr_assert_not_null(f);
	unsigned long long total_kib = 0;
	cr_assert_eq(fscanf(f, "MemTotal: %llu kB", &total_kib), 1);
	fclose(f);
	uint64_t budget = dio_cache_budget();
	cr_assert_gt(budget, 0);
	cr_assert_leq(budget, total_kib * 1024 / 2, "%llu of %llu KiB",
		      (unsigned long long)budget / 1024, total_kib);
}
