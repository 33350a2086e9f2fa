#include "dcachefile.h"

#include "../common/readat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef HDUMP_VERSION
#define HDUMP_VERSION "unknown"
#endif

static const char MAGIC[8] = {'h', 'd', 'u', 'm', 'p', 'D', 'C', '\n'};
#define VERSION_BYTES 32
#define SUFFIX ".dcache"

/* magic, format, hdump's version, key, payload length and hash */
struct header {
	char magic[8];
	uint32_t format, reserved;
	char version[VERSION_BYTES];
	struct hd_dcache_key key;
	uint64_t payload_len, payload_hash;
};

static uint64_t hash_word(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 29);
}

#define HASH_LANES 4

uint64_t dcache_hash(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *b = p;
	uint64_t lane[HASH_LANES];
	for (unsigned k = 0; k < HASH_LANES; k++)
		lane[k] = (seed ^ 0x9e3779b97f4a7c15ull ^ n) + k * 0x632be59bd9b4e019ull;
	size_t i = 0;
	/* A word at a time into independent lanes: the image heap is tens of MB,
	 * and one chain of multiplies would wait on each in turn. */
	for (; i + HASH_LANES * 8 <= n; i += HASH_LANES * 8)
		for (unsigned k = 0; k < HASH_LANES; k++) {
			uint64_t w;
			memcpy(&w, b + i + 8 * k, 8);
			lane[k] = hash_word(lane[k], w);
		}
	uint64_t h = lane[0];
	for (unsigned k = 1; k < HASH_LANES; k++)
		h = hash_word(h, lane[k]);
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, b + i, 8);
		h = hash_word(h, w);
	}
	for (; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

/* The image heap's hash, a piece at a time: a mapped image heap can then
 * drop each piece behind the hash. */
#define HASH_PIECE (4u << 20)

uint64_t dcache_heap_hash(const struct hd_elfimage *img)
{
	uint64_t h = 0;
	for (uint64_t off = 0; off < img->heap_size; off += HASH_PIECE) {
		uint64_t len = img->heap_size - off < HASH_PIECE ? img->heap_size - off : HASH_PIECE;
		h = dcache_hash(elfimage_heap(img) + off, (size_t)len, h);
		/* A mapped image heap's pages go behind the hash: on a hit nothing
		 * else reads them but the hub checks. */
		elfimage_release_range(img, off, len);
	}
	return h;
}

/* The hash of the running program's file (0 when it does not read), read
 * a piece at a time: a few MB, once per discovery. */
static uint64_t tool_hash(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	uint8_t *buf = malloc(1u << 20);
	uint64_t h = 0, off = 0;
	ssize_t n = buf ? 1 : -1;
	while (n > 0 && off < DCACHE_MAX_FILE && (n = pread(fd, buf, 1u << 20, (off_t)off)) > 0) {
		h = dcache_hash(buf, (size_t)n, h);
		off += (uint64_t)n;
	}
	free(buf);
	close(fd);
	return n == 0 ? h : 0;
}

void dcache_key(struct hd_dcache_key *k, const struct hd_elfimage *img, uint64_t heap_hash,
		const char *jdk_dir)
{
	*k = (struct hd_dcache_key){
		.heap_hash = heap_hash,
		.heap_size = img->heap_size,
		.heap_offset = img->heap_offset,
		.file_size = img->file_size,
		.jdk_hash = jdk_dir ? dcache_hash(jdk_dir, strlen(jdk_dir), 1) : 0,
		.tool_hash = tool_hash(),
	};
}

int dcache_default_dir(char *buf, size_t size)
{
	const char *env = getenv("HDUMP_CACHE_DIR");
	int n = -1;
	if (env && *env) {
		n = snprintf(buf, size, "%s", env);
	} else if ((env = getenv("XDG_CACHE_HOME")) && *env == '/') {
		n = snprintf(buf, size, "%s/hdump/discovery", env);
	} else if ((env = getenv("HOME")) && *env) {
		n = snprintf(buf, size, "%s/.cache/hdump/discovery", env);
	} else {
		return hd_fail(HD_E_USAGE, "no cache directory: neither HDUMP_CACHE_DIR, "
			       "XDG_CACHE_HOME nor HOME is set");
	}
	if (n < 0 || (size_t)n >= size)
		return hd_fail(HD_E_USAGE, "the cache directory's name is too long");
	return 0;
}

static void file_name(char *buf, size_t size, const struct hd_dcache_key *k)
{
	uint64_t rest = dcache_hash(k, sizeof *k, 2);
	snprintf(buf, size, "%016" PRIx64 "-%016" PRIx64 SUFFIX, k->heap_hash, rest);
}

static void version_field(char out[VERSION_BYTES])
{
	memset(out, 0, VERSION_BYTES);
	strncpy(out, HDUMP_VERSION, VERSION_BYTES - 1);
}

int dcache_parse(const uint8_t *buf, size_t n, const struct hd_dcache_key *k, size_t *off,
		 size_t *len)
{
	struct header h;
	char version[VERSION_BYTES];
	if (n < sizeof h)
		return hd_fail(HD_E_LAYOUT, "cache entry truncated (%zu bytes)", n);
	memcpy(&h, buf, sizeof h);
	version_field(version);
	if (memcmp(h.magic, MAGIC, sizeof MAGIC) != 0)
		return hd_fail(HD_E_LAYOUT, "not a cache entry (bad magic)");
	if (h.format != DCACHE_FORMAT || memcmp(h.version, version, VERSION_BYTES) != 0)
		return hd_fail(HD_E_LAYOUT, "cache entry of another format or hdump version");
	if (memcmp(&h.key, k, sizeof *k) != 0)
		return hd_fail(HD_E_LAYOUT, "cache entry of another executable");
	if (h.payload_len != n - sizeof h)
		return hd_fail(HD_E_LAYOUT, "cache entry of %zu bytes says %" PRIu64 " follow its "
			       "header", n, h.payload_len);
	if (dcache_hash(buf + sizeof h, (size_t)h.payload_len, 3) != h.payload_hash)
		return hd_fail(HD_E_LAYOUT, "cache entry damaged (its checksum does not match)");
	*off = sizeof h;
	*len = (size_t)h.payload_len;
	return 0;
}

/* The directory, opened, if it is the user's own and no one else may write
 * it; made (0700) when missing and CREATE. */
static int open_dir(const char *dir, bool create)
{
	if (create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		/* its parents too (~/.cache/hdump), each 0700 */
		char path[4096];
		int n = snprintf(path, sizeof path, "%s", dir);
		for (char *s = path + 1; n > 0 && (size_t)n < sizeof path && *s; s++) {
			if (*s != '/')
				continue;
			*s = 0;
			(void)mkdir(path, 0700);
			*s = '/';
		}
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return hd_fail(HD_E_OUTPUT, "cannot create the cache directory %s: %s", dir,
				       strerror(errno));
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -2 : hd_fail(HD_E_PERM, "cannot open the cache directory "
							"%s: %s", dir, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
		close(fd);
		return hd_fail(HD_E_PERM, "the cache directory %s is not used: it must be owned by "
			       "uid %u and writable by no one else", dir, (unsigned)geteuid());
	}
	return fd;
}

/* Room for an entry of N bytes, its pages made present at once: the read
 * into fresh pages otherwise takes a fault for each 4 KiB of the entry's
 * ~17 MB (pkl 0.30.2: 45 -> 27 ms here). */
static uint8_t *entry_buf(size_t n)
{
	void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void dcache_buf_free(uint8_t *buf, size_t n)
{
	if (buf)
		munmap(buf, n ? n : 1);
}

void dcache_buf_keep_only(uint8_t *buf, size_t n, const uint8_t *lo, const uint8_t *hi)
{
	long page = sysconf(_SC_PAGESIZE);
	if (!buf || page <= 0 || lo < buf || hi < lo || hi > buf + n)
		return;
	uintptr_t start = (uintptr_t)buf, end = start + n;
	uintptr_t keep_lo = (uintptr_t)lo - ((uintptr_t)lo - start) % (uintptr_t)page;
	uintptr_t keep_hi = (uintptr_t)hi + (uintptr_t)page - 1;
	keep_hi -= (keep_hi - start) % (uintptr_t)page;
	if (keep_lo > start)
		(void)madvise(buf, keep_lo - start, MADV_DONTNEED);
	if (keep_hi < end)
		(void)madvise((void *)keep_hi, end - keep_hi, MADV_DONTNEED);
}

/* NAME in DIR (open at DFD) opened for reading when it is a regular file
 * of the user's own that no one else may write, of at most MAX bytes
 * (*SIZE).  Returns the descriptor, -2 when there is none, -1 (failed)
 * otherwise. */
static int open_owned(int dfd, const char *dir, const char *name, uint64_t max, size_t *size)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? -2 : hd_fail(HD_E_PERM, "cache entry %s/%s: %s", dir, name,
						      strerror(errno));
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = hd_fail(HD_E_LAYOUT, "cache entry %s/%s is not a regular file", dir, name);
	else if (st.st_uid != geteuid() || (st.st_mode & 022))
		rc = hd_fail(HD_E_PERM, "cache entry %s/%s is not used: not the user's own, or "
			     "writable by others", dir, name);
	else if ((uint64_t)st.st_size > max)
		rc = hd_fail(HD_E_LAYOUT, "cache entry %s/%s is too large", dir, name);
	if (rc != 0) {
		close(fd);
		return -1;
	}
	*size = (size_t)st.st_size;
	return fd;
}

int dcache_read(const char *dir, const struct hd_dcache_key *k, uint8_t **buf, size_t *n,
		bool *found)
{
	*found = false;
	*buf = NULL;
	int dfd = open_dir(dir, false);
	if (dfd == -2)
		return 0;
	if (dfd < 0)
		return -1;
	char name[64];
	file_name(name, sizeof name, k);
	size_t size = 0;
	int fd = open_owned(dfd, dir, name, DCACHE_MAX_FILE, &size);
	close(dfd);
	if (fd == -2)
		return 0;
	if (fd < 0)
		return -1;
	int rc = 0;
	if (!(*buf = entry_buf(size))) {
		rc = hd_fail(HD_E_INTERNAL, "out of memory");
	} else {
		/* a file that shrank under us is as damaged as a bad checksum */
		char path[4200];
		snprintf(path, sizeof path, "cache entry %s/%s", dir, name);
		rc = hd_read_at(fd, path, 0, *buf, size);
	}
	close(fd);
	if (rc != 0) {
		dcache_buf_free(*buf, size);
		*buf = NULL;
		return -1;
	}
	*n = size;
	*found = true;
	return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

struct entry {
	time_t mtime;
	uint64_t bytes;
	char name[64];
};

static int newest_first(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	return (x->mtime < y->mtime) - (x->mtime > y->mtime);
}

/* Keeps the newest DCACHE_KEEP entries within DCACHE_KEEP_BYTES; looks at
 * no more than 4 * DCACHE_KEEP names (what else is in the directory is not
 * hdump's). */
static void prune(int dfd)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct entry v[4 * DCACHE_KEEP];
	size_t n = 0;
	struct dirent *de;
	while (n < sizeof v / sizeof *v && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct stat st;
		if (de->d_name[0] == '.' || len >= sizeof v[n].name || len < sizeof SUFFIX ||
		    strcmp(de->d_name + len - (sizeof SUFFIX - 1), SUFFIX) != 0 ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
			continue;
		v[n].mtime = st.st_mtime;
		v[n].bytes = (uint64_t)st.st_size;
		memcpy(v[n].name, de->d_name, len + 1);
		n++;
	}
	closedir(d);
	qsort(v, n, sizeof *v, newest_first);
	uint64_t bytes = 0;
	for (size_t i = 0; i < n; i++) {
		bytes += v[i].bytes;
		if (i >= DCACHE_KEEP || (i > 0 && bytes > DCACHE_KEEP_BYTES))
			(void)unlinkat(dfd, v[i].name, 0);
	}
}

/* Writes A[0..NA) then B[0..NB) as NAME in DIR (open at DFD): under a
 * temporary name (0600), then renamed, so no reader sees a half file under
 * NAME.  Not synced: a file a crash tore fails its checksum when read and
 * is a miss, and a sync cost a first dump 20-30 ms (0.5 s once under
 * load). */
static int publish(int dfd, const char *dir, const char *name, const void *a, size_t na,
		   const void *b, size_t nb)
{
	char tmp[96];
	snprintf(tmp, sizeof tmp, ".%s.%ld.tmp", name, (long)getpid());
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc = 0;
	if (fd < 0) {
		rc = hd_fail(HD_E_OUTPUT, "cannot create a cache entry in %s: %s", dir,
			     strerror(errno));
	} else if (write_all(fd, a, na) != 0 || write_all(fd, b, nb) != 0) {
		rc = hd_fail(HD_E_OUTPUT, "cannot write a cache entry in %s: %s", dir,
			     strerror(errno));
	}
	if (fd >= 0 && close(fd) != 0 && rc == 0)
		rc = hd_fail(HD_E_OUTPUT, "cannot write a cache entry in %s: %s", dir,
			     strerror(errno));
	if (rc == 0 && renameat(dfd, tmp, dfd, name) != 0)
		rc = hd_fail(HD_E_OUTPUT, "cannot name a cache entry in %s: %s", dir,
			     strerror(errno));
	if (rc != 0 && fd >= 0)
		(void)unlinkat(dfd, tmp, 0);
	return rc;
}

int dcache_write(const char *dir, const struct hd_dcache_key *k, const uint8_t *payload, size_t n)
{
	int dfd = open_dir(dir, true);
	if (dfd < 0)
		return dfd == -2 ? hd_fail(HD_E_OUTPUT, "the cache directory %s vanished", dir) : -1;
	struct header h = {.format = DCACHE_FORMAT, .key = *k, .payload_len = n,
			   .payload_hash = dcache_hash(payload, n, 3)};
	memcpy(h.magic, MAGIC, sizeof MAGIC);
	version_field(h.version);
	char name[64];
	file_name(name, sizeof name, k);
	int rc = publish(dfd, dir, name, &h, sizeof h, payload, n);
	if (rc == 0)
		prune(dfd);
	close(dfd);
	return rc;
}

/* The identity index: one small file of the newest DCACHE_INDEX_KEEP
 * identities, each record with its own check (a damaged one is only
 * ignored: the heap is hashed as if it were absent). */
static const char INDEX_MAGIC[8] = {'h', 'd', 'u', 'm', 'p', 'D', 'I', '\n'};
#define INDEX_NAME "identities"

struct index_header {
	char magic[8];
	char version[VERSION_BYTES]; /* hdump's: another's hash may differ */
	uint64_t count;
};

struct index_record {
	struct hd_dcache_ident id;
	uint64_t check;
};

bool dcache_ident(struct hd_dcache_ident *r, const struct hd_elfimage *img)
{
	*r = (struct hd_dcache_ident){img->id, img->heap_offset, img->heap_size, 0};
	return img->id_known;
}

static bool same_file(const struct hd_dcache_ident *a, const struct hd_dcache_ident *b)
{
	return memcmp(&a->file, &b->file, sizeof a->file) == 0 &&
	       a->heap_offset == b->heap_offset && a->heap_size == b->heap_size;
}

/* The index's valid records into V (at most DCACHE_INDEX_KEEP), their
 * count returned; 0 when there is no index or it does not hold up. */
static size_t index_load(int dfd, const char *dir, struct index_record *v)
{
	struct index_header h;
	size_t size = 0, n = 0;
	int fd = open_owned(dfd, dir, INDEX_NAME,
			    sizeof h + DCACHE_INDEX_KEEP * sizeof *v, &size);
	if (fd < 0) {
		hd_error_clear();
		return 0;
	}
	char version[VERSION_BYTES];
	version_field(version);
	if (size >= sizeof h && hd_read_at(fd, "cache index", 0, &h, sizeof h) == 0 &&
	    memcmp(h.magic, INDEX_MAGIC, sizeof h.magic) == 0 &&
	    memcmp(h.version, version, VERSION_BYTES) == 0 && h.count <= DCACHE_INDEX_KEEP &&
	    size == sizeof h + h.count * sizeof *v &&
	    hd_read_at(fd, "cache index", sizeof h, v, (size_t)h.count * sizeof *v) == 0) {
		for (size_t i = 0; i < h.count; i++)
			if (dcache_hash(&v[i].id, sizeof v[i].id, 4) == v[i].check)
				v[n++] = v[i];
	}
	hd_error_clear();
	close(fd);
	return n;
}

bool dcache_index_find(const char *dir, struct hd_dcache_ident *r)
{
	int dfd = open_dir(dir, false);
	if (dfd < 0) {
		hd_error_clear();
		return false;
	}
	struct index_record v[DCACHE_INDEX_KEEP];
	size_t n = index_load(dfd, dir, v);
	close(dfd);
	for (size_t i = 0; i < n; i++)
		if (same_file(&v[i].id, r)) {
			r->heap_hash = v[i].id.heap_hash;
			return true;
		}
	return false;
}

int dcache_index_add(const char *dir, const struct hd_dcache_ident *r, int64_t now)
{
	/* A write in the same clock tick as the last one may leave the ctime
	 * as it was: only a file whose last change is seconds old is known by
	 * its identity, as git treats a "racily clean" file. */
	if (r->file.ctime_s > now - DCACHE_RACY_SECONDS)
		return 0;
	int dfd = open_dir(dir, true);
	if (dfd < 0)
		return dfd == -2 ? hd_fail(HD_E_OUTPUT, "the cache directory %s vanished", dir) : -1;
	struct index_record v[DCACHE_INDEX_KEEP];
	size_t old = index_load(dfd, dir, v), kept = 0;
	/* the newest first; the same file's older identities are dropped */
	for (size_t i = 0; i < old && kept + 1 < DCACHE_INDEX_KEEP; i++)
		if (v[i].id.file.dev != r->file.dev || v[i].id.file.ino != r->file.ino)
			v[kept++] = v[i];
	memmove(v + 1, v, kept * sizeof *v);
	v[0] = (struct index_record){*r, dcache_hash(r, sizeof *r, 4)};
	size_t n = kept + 1;
	struct index_header h = {.count = n};
	memcpy(h.magic, INDEX_MAGIC, sizeof h.magic);
	version_field(h.version);
	int rc = publish(dfd, dir, INDEX_NAME, &h, sizeof h, v, n * sizeof *v);
	close(dfd);
	return rc;
}
