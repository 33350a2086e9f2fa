/* The discovery cache's files (symbols/dcachefile.c): written and read
 * back; a header with another magic, format, key or length, a truncated
 * file and a payload byte flipped all refused; a directory or file others
 * may write refused; the directory made 0700; the oldest entries pruned;
 * the default directory from the environment. */
#include "../../common/hd_error.h"
#include "../../symbols/dcachefile.h"

#include "tmpdir.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void make_dir(void) { tmpdir_make(dir, sizeof dir, "test_dcachefile"); }
static void remove_dir(void) { tmpdir_remove(dir); }

TestSuite(dcachefile, .init = make_dir, .fini = remove_dir);

static const struct hd_dcache_key KEY = {0x1234, 55246848, 4096, 99999999, 0, 42};
static const uint8_t PAYLOAD[] = "layout, classes, statics: whatever dcache.c encodes";

static void read_back(const struct hd_dcache_key *k, uint8_t **buf, size_t *n)
{
	bool found = false;
	cr_assert_eq(dcache_read(dir, k, buf, n, &found), 0, "%s", hd_error_message());
	cr_assert(found);
}

Test(dcachefile, written_then_read_back)
{
	cr_assert_eq(dcache_write(dir, &KEY, PAYLOAD, sizeof PAYLOAD), 0, "%s", hd_error_message());
	uint8_t *buf;
	size_t n, off, len;
	read_back(&KEY, &buf, &n);
	cr_assert_eq(dcache_parse(buf, n, &KEY, &off, &len), 0, "%s", hd_error_message());
	cr_assert_eq(len, sizeof PAYLOAD);
	cr_assert_eq(memcmp(buf + off, PAYLOAD, len), 0);
	dcache_buf_free(buf, n);
	/* another key has no entry */
	struct hd_dcache_key other = KEY;
	other.heap_hash++;
	bool found = true;
	cr_assert_eq(dcache_read(dir, &other, &buf, &n, &found), 0);
	cr_assert_not(found);
}

static void refused(const uint8_t *buf, size_t n, const struct hd_dcache_key *k, const char *says)
{
	size_t off, len;
	cr_assert_eq(dcache_parse(buf, n, k, &off, &len), -1, "accepted: %s", says);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	cr_assert_not_null(strstr(hd_error_message(), says), "%s", hd_error_message());
}

/* An entry kept for its code info: the pages outside the kept bytes go
 * back to the system (mincore: not resident), those holding them stay,
 * whole. */
Test(dcachefile, a_kept_entry_lets_the_rest_of_its_pages_go)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t pages = 16, n = pages * (size_t)page - 100;
	uint8_t *payload = malloc(n);
	cr_assert_not_null(payload);
	for (size_t i = 0; i < n; i++)
		payload[i] = (uint8_t)(i * 7 + i / 4096);
	cr_assert_eq(dcache_write(dir, &KEY, payload, n), 0, "%s", hd_error_message());
	uint8_t *buf;
	size_t len, off, plen;
	read_back(&KEY, &buf, &len);
	cr_assert_eq(dcache_parse(buf, len, &KEY, &off, &plen), 0, "%s", hd_error_message());
	/* keep bytes from the middle of page 5 to the middle of page 7 */
	const uint8_t *lo = buf + 5 * (size_t)page + 100, *hi = buf + 7 * (size_t)page + 100;
	dcache_buf_keep_only(buf, len, lo, hi);
	size_t npages = (len + (size_t)page - 1) / (size_t)page;
	unsigned char *in = calloc(npages, 1);
	cr_assert_not_null(in);
	cr_assert_eq(mincore(buf, len, in), 0);
	for (size_t i = 0; i < npages; i++)
		cr_assert_eq(in[i] & 1, i >= 5 && i <= 7, "page %zu of %zu: resident %d", i, npages,
			     in[i] & 1);
	for (const uint8_t *q = lo; q < hi; q++)
		cr_assert_eq(*q, payload[q - buf - off], "byte %td", q - buf);
	free(in);
	free(payload);
	dcache_buf_free(buf, len);
}

Test(dcachefile, damaged_headers_and_payloads_refused)
{
	cr_assert_eq(dcache_write(dir, &KEY, PAYLOAD, sizeof PAYLOAD), 0, "%s", hd_error_message());
	uint8_t *buf;
	size_t n;
	read_back(&KEY, &buf, &n);
	size_t header = n - sizeof PAYLOAD;
	for (size_t len = 0; len < header; len++)
		refused(buf, len, &KEY, "truncated");
	refused(buf, n - 1, &KEY, "follow its header");
	buf[0] ^= 1;
	refused(buf, n, &KEY, "magic");
	buf[0] ^= 1;
	buf[8] ^= 1; /* the format number */
	refused(buf, n, &KEY, "format");
	buf[8] ^= 1;
	buf[16] ^= 1; /* hdump's version */
	refused(buf, n, &KEY, "version");
	buf[16] ^= 1;
	struct hd_dcache_key other = KEY;
	other.file_size++;
	refused(buf, n, &other, "another executable");
	for (size_t i = header; i < n; i++) {
		buf[i] ^= 0x40;
		refused(buf, n, &KEY, "checksum");
		buf[i] ^= 0x40;
	}
	uint64_t huge = UINT64_MAX;
	memcpy(buf + header - 16, &huge, 8); /* the payload's length */
	refused(buf, n, &KEY, "follow its header");
	dcache_buf_free(buf, n);
}

Test(dcachefile, others_writable_directory_or_file_refused)
{
	cr_assert_eq(dcache_write(dir, &KEY, PAYLOAD, sizeof PAYLOAD), 0, "%s", hd_error_message());
	struct stat st;
	cr_assert_eq(stat(dir, &st), 0);
	cr_assert_eq(chmod(dir, 0777), 0);
	uint8_t *buf = NULL;
	size_t n;
	bool found;
	cr_assert_eq(dcache_read(dir, &KEY, &buf, &n, &found), -1);
	cr_assert_eq(hd_error_class(), HD_E_PERM);
	cr_assert_eq(dcache_write(dir, &KEY, PAYLOAD, sizeof PAYLOAD), -1, "nor written");
	cr_assert_eq(hd_error_class(), HD_E_PERM);
	cr_assert_eq(chmod(dir, 0700), 0);
	/* the entry itself, group-writable */
	char cmd[256];
	snprintf(cmd, sizeof cmd, "chmod 0620 '%s'/*.dcache", dir);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(dcache_read(dir, &KEY, &buf, &n, &found), -1);
	cr_assert_eq(hd_error_class(), HD_E_PERM);
	cr_assert_null(buf);
}

Test(dcachefile, missing_directories_made_private_and_files_0600)
{
	char sub[128];
	snprintf(sub, sizeof sub, "%s/a/b/discovery", dir);
	cr_assert_eq(dcache_write(sub, &KEY, PAYLOAD, sizeof PAYLOAD), 0, "%s", hd_error_message());
	struct stat st;
	cr_assert_eq(stat(sub, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "test \"$(stat -c %%a '%s'/*.dcache)\" = 600 && "
		 "test -z \"$(ls -A '%s' | grep -v '\\.dcache$')\"", sub, sub);
	cr_assert_eq(system(cmd), 0, "one 0600 entry, no temporary file left");
}

Test(dcachefile, the_oldest_entries_pruned)
{
	struct hd_dcache_key k = KEY;
	for (unsigned i = 0; i < DCACHE_KEEP + 3; i++) {
		k.heap_hash = 1000 + i;
		cr_assert_eq(dcache_write(dir, &k, PAYLOAD, sizeof PAYLOAD), 0, "%s",
			     hd_error_message());
		/* mtimes a second apart, oldest first, without waiting for them */
		char name_cmd[512];
		snprintf(name_cmd, sizeof name_cmd, "cd '%s' && touch -d @%u $(ls -t | head -1)",
			 dir, 1000000 + i);
		cr_assert_eq(system(name_cmd), 0);
	}
	char cmd[256];
	snprintf(cmd, sizeof cmd, "test $(ls '%s' | wc -l) -eq %u", dir, DCACHE_KEEP);
	cr_assert_eq(system(cmd), 0, "at most DCACHE_KEEP entries");
	uint8_t *buf;
	size_t n;
	bool found;
	k.heap_hash = 1000; /* the oldest: gone */
	cr_assert_eq(dcache_read(dir, &k, &buf, &n, &found), 0);
	cr_assert_not(found);
	k.heap_hash = 1000 + DCACHE_KEEP + 2; /* the newest: kept */
	read_back(&k, &buf, &n);
	dcache_buf_free(buf, n);
}

Test(dcachefile, default_directory_from_the_environment)
{
	char buf[256];
	setenv("HDUMP_CACHE_DIR", "/x/y", 1);
	cr_assert_eq(dcache_default_dir(buf, sizeof buf), 0);
	cr_assert_str_eq(buf, "/x/y");
	unsetenv("HDUMP_CACHE_DIR");
	setenv("XDG_CACHE_HOME", "/xdg", 1);
	cr_assert_eq(dcache_default_dir(buf, sizeof buf), 0);
	cr_assert_str_eq(buf, "/xdg/hdump/discovery");
	unsetenv("XDG_CACHE_HOME");
	setenv("HOME", "/home/u", 1);
	cr_assert_eq(dcache_default_dir(buf, sizeof buf), 0);
	cr_assert_str_eq(buf, "/home/u/.cache/hdump/discovery");
	cr_assert_eq(dcache_default_dir(buf, 8), -1, "too long for the buffer");
	unsetenv("HOME");
	cr_assert_eq(dcache_default_dir(buf, sizeof buf), -1);
	cr_assert_eq(hd_error_class(), HD_E_USAGE);
}

Test(dcachefile, the_hash_sees_every_byte)
{
	uint8_t b[67] = {0};
	uint64_t h = dcache_hash(b, sizeof b, 0);
	for (size_t i = 0; i < sizeof b; i++) {
		b[i] = 1;
		cr_assert_neq(dcache_hash(b, sizeof b, 0), h, "byte %zu", i);
		b[i] = 0;
	}
	cr_assert_neq(dcache_hash(b, sizeof b - 1, 0), h, "the length counts");
}

/* The hash runs words in lanes: two different words swapped, within a
 * round of lanes, across rounds or into the tail words, change it. */
Test(dcachefile, the_hash_sees_the_order_of_words)
{
	uint8_t b[107];
	for (size_t i = 0; i < sizeof b; i++)
		b[i] = (uint8_t)(i * 37 + 11);
	uint64_t h = dcache_hash(b, sizeof b, 0);
	static const size_t pairs[][2] = {{0, 8}, {8, 24}, {0, 32}, {16, 88}, {64, 96}};
	for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
		uint8_t c[sizeof b];
		memcpy(c, b, sizeof b);
		memcpy(c + pairs[k][0], b + pairs[k][1], 8);
		memcpy(c + pairs[k][1], b + pairs[k][0], 8);
		cr_assert_neq(dcache_hash(c, sizeof c, 0), h, "words at %zu and %zu swapped",
			      pairs[k][0], pairs[k][1]);
	}
}

/* An identity as elfimage.c takes it, its file last changed long ago. */
static struct hd_dcache_ident ident_of(uint64_t ino)
{
	return (struct hd_dcache_ident){{2049, ino, 99999999, 1700000000, 5, 1700000001, 7}, 4096,
					55246848, 0xabc0 + ino};
}

static bool found_hash(const struct hd_dcache_ident *want)
{
	struct hd_dcache_ident r = *want;
	r.heap_hash = 0;
	return dcache_index_find(dir, &r) && r.heap_hash == want->heap_hash;
}

Test(dcachefile, identity_index_finds_the_same_file_only)
{
	const int64_t now = 1800000000;
	struct hd_dcache_ident a = ident_of(1), r = a;
	cr_assert_not(dcache_index_find(dir, &r), "no index yet");
	cr_assert_eq(dcache_index_add(dir, &a, now), 0, "%s", hd_error_message());
	cr_assert(found_hash(&a));
	struct stat st;
	char path[128];
	snprintf(path, sizeof path, "%s/identities", dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	/* any part of the identity changed: not found (a write, a touch, a
	 * replacement, another size, another image heap) */
	int64_t *parts[] = {&r.file.mtime_s, &r.file.mtime_ns, &r.file.ctime_s, &r.file.ctime_ns};
	for (size_t k = 0; k < 4; k++) {
		r = a;
		(*parts[k])++;
		cr_assert_not(dcache_index_find(dir, &r), "part %zu changed, still found", k);
	}
	uint64_t *uparts[] = {&r.file.dev, &r.file.ino, &r.file.size, &r.heap_offset, &r.heap_size};
	for (size_t k = 0; k < 5; k++) {
		r = a;
		(*uparts[k])++;
		cr_assert_not(dcache_index_find(dir, &r), "part %zu changed, still found", k);
	}
	/* the same file written since: its new identity replaces the old */
	struct hd_dcache_ident b = a;
	b.file.ctime_s += 10;
	b.heap_hash = 0x777;
	cr_assert_eq(dcache_index_add(dir, &b, now), 0, "%s", hd_error_message());
	cr_assert(found_hash(&b));
	r = a;
	cr_assert_not(dcache_index_find(dir, &r), "the old identity kept");
}

Test(dcachefile, identity_index_skips_a_file_changed_just_now)
{
	struct hd_dcache_ident a = ident_of(1);
	cr_assert_eq(dcache_index_add(dir, &a, a.file.ctime_s + DCACHE_RACY_SECONDS - 1), 0);
	cr_assert_not(found_hash(&a), "recorded in its last change's clock tick");
	cr_assert_eq(dcache_index_add(dir, &a, a.file.ctime_s + DCACHE_RACY_SECONDS), 0);
	cr_assert(found_hash(&a));
}

Test(dcachefile, identity_index_keeps_the_newest)
{
	for (uint64_t i = 0; i < DCACHE_INDEX_KEEP + 5; i++) {
		struct hd_dcache_ident a = ident_of(i);
		cr_assert_eq(dcache_index_add(dir, &a, 1800000000), 0, "%s", hd_error_message());
	}
	for (uint64_t i = 0; i < DCACHE_INDEX_KEEP + 5; i++) {
		struct hd_dcache_ident a = ident_of(i);
		cr_assert_eq(found_hash(&a), i >= 5, "identity %llu", (unsigned long long)i);
	}
}

Test(dcachefile, identity_index_damaged_or_open_to_others_is_ignored)
{
	struct hd_dcache_ident a = ident_of(1), b = ident_of(2);
	cr_assert_eq(dcache_index_add(dir, &a, 1800000000), 0);
	cr_assert_eq(dcache_index_add(dir, &b, 1800000000), 0);
	char path[128];
	snprintf(path, sizeof path, "%s/identities", dir);
	/* the newest record's heap hash changed: that record alone is dropped */
	FILE *f = fopen(path, "r+b");
	cr_assert_not_null(f);
	long at = 8 + 32 + 8 + (long)offsetof(struct hd_dcache_ident, heap_hash);
	cr_assert_eq(fseek(f, at, SEEK_SET), 0);
	cr_assert_eq(fputc(0x55, f), 0x55);
	fclose(f);
	cr_assert_not(found_hash(&b), "a damaged record used");
	cr_assert(found_hash(&a));
	cr_assert_eq(chmod(path, 0622), 0);
	cr_assert_not(found_hash(&a), "an index others may write used");
	cr_assert_eq(chmod(path, 0600), 0);
	cr_assert_eq(truncate(path, 100), 0);
	cr_assert_not(found_hash(&a), "a truncated index used");
}
