/* hdump_heap_usage: the Java heap an isolate uses, read from its own chunk
 * lists while it runs, and its maximum heap size. */
#include "heapusage.h"

#include "target.h"
#include "../common/procfs.h"
#include "../symbols/addrmap.h"
#include "../symbols/chunks.h"
#include "../symbols/threadlist.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE 4096u
#define MAX_ROOTS 64        /* Space/HeapAllocation objects per isolate */
#define MAX_ROOT_SIZE 512   /* bytes of one such object read per sample */
#define MAX_SLOTS 16        /* word slots of one such object */
#define ATTEMPTS 5
#define MAX_CMDLINE (256u << 10)
#define MAX_TASKS 4096u
/* musl's struct pthread, what fs points at on x86-64: self first, then the
 * dtv, prev and next of the ring of every live thread, sysinfo, the stack
 * canary (fs:0x28), and the kernel thread id. */
#define MUSL_TCB_PREV_NEXT 16u
#define MUSL_TCB_TID 48u
#define MUSL_TCB_SIZE 56u
#define TCB_SEARCH_MAPPING_MAX (1u << 20) /* the main thread's sits in a small one */
#define TCB_SEARCH_BYTES_MAX (64u << 20)
/* The serial GC's collection policy (an image-heap singleton) keeps the
 * sizes it computed at startup from the runtime options, the command line
 * and the physical memory in a SizeParameters object it replaces when they
 * change (GraalVM 22.3 to 25): maxHeapSize, maxYoungSize, initialHeapSize,
 * initialEdenSize, initialSurvivorSize and (23.1 on) minHeapSize, each a
 * multiple of the aligned chunk size, the maximum heap the largest. */
#define POLICY_CLASS "com.oracle.svm.core.genscavenge.AbstractCollectionPolicy"
#define SIZES_CLASS POLICY_CLASS "$SizeParameters"
#define MAX_POLICY_SIZE 1024
#define MAX_POLICY_REFS 32
#define MAX_SIZES_SIZE 256
#define SIZES_WORDS_MIN 5
#define MAX_SUPER_DEPTH 64
#define MAX_HEAP_LIMIT (1ull << 47) /* x86-64's user address space */

struct root {
	uint64_t addr;
	unsigned size;
	unsigned nslots;
	uint16_t slot[MAX_SLOTS];
};

#define HEAD_PAGES 4 /* pages of the writable image heap holding the head's value */

/* The collection policy object and its reference slots (one of them
 * holds the current SizeParameters); addr 0: none found. */
struct policy {
	uint64_t addr;
	unsigned size;
	unsigned nrefs;
	uint16_t ref[MAX_POLICY_REFS];
};

struct iso_roots {
	struct root v[MAX_ROOTS];
	unsigned n;
	struct policy policy;
	uint64_t policy_max; /* the last maximum read from the policy, 0: none yet */
	/* Where the thread list's head (a static word) was found, once a full
	 * search found one: later searches look only there. */
	uint64_t head_page[HEAD_PAGES];
	unsigned nhead_pages;
	bool head_pages_shared; /* another isolate's, rebased: its copy of the same
				   static word, trusted even when it leads nowhere */
};

struct heapusage {
	struct iso_roots iso[MAX_ISOLATES];
	uint64_t main_tcb; /* the main thread's control block, 0: not found (yet) */
	bool tcb_searched;
};

void heapusage_free(struct heapusage *hu)
{
	free(hu);
}

struct find_roots_ctx {
	struct iso_roots *r;
	const struct hd_classes *classes;
	const struct hd_layout *L;
};

/* Is CLS AbstractCollectionPolicy or one of its subclasses? */
static bool is_policy_class(const struct hd_classes *classes, const struct hd_class *cls)
{
	for (unsigned depth = 0; cls && depth < MAX_SUPER_DEPTH; depth++) {
		if (strcmp(cls->name, POLICY_CLASS) == 0)
			return true;
		cls = cls->jsuper >= 0 && (size_t)cls->jsuper < classes->n ? &classes->v[cls->jsuper] : NULL;
	}
	return false;
}

/* Records the first collection policy object with its reference slots. */
static void find_policy(struct find_roots_ctx *x, const struct hd_object *o)
{
	const struct hd_class *cls = o->hubinfo.cls;
	struct policy *p = &x->r->policy;
	if (p->addr || o->size > MAX_POLICY_SIZE || !is_policy_class(x->classes, cls))
		return;
	*p = (struct policy){.addr = o->addr, .size = (unsigned)o->size};
	for (size_t i = 0; i < cls->nfields && p->nrefs < MAX_POLICY_REFS; i++) {
		const struct hd_field *f = &cls->fields[i];
		if (f->type == HD_T_OBJECT && f->slot == HD_SLOT_NONE && f->offset + x->L->ref_size <= o->size)
			p->ref[p->nrefs++] = (uint16_t)f->offset;
	}
}

/* Records an image-heap object of the collector's Space or HeapAllocation
 * classes with its word (non-reference, 8-byte aligned) slots, which is
 * where they keep chunk pointers, and the collection policy. */
static int find_root_cb(void *ctx, const struct hd_object *o)
{
	struct find_roots_ctx *x = ctx;
	struct iso_roots *r = x->r;
	const struct hd_class *cls = o->hubinfo.cls;
	find_policy(x, o);
	if (!chunks_is_root_class(cls) || r->n >= MAX_ROOTS || o->size > MAX_ROOT_SIZE)
		return 0;
	struct root *root = &r->v[r->n];
	*root = (struct root){.addr = o->addr, .size = (unsigned)o->size};
	for (size_t i = 0; i < cls->nfields && root->nslots < MAX_SLOTS; i++) {
		const struct hd_field *f = &cls->fields[i];
		if (f->type != HD_T_OBJECT && f->offset % 8 == 0 && f->offset + 8 <= o->size)
			root->slot[root->nslots++] = (uint16_t)f->offset;
	}
	if (root->nslots)
		r->n++;
	return 0;
}

static int find_roots(struct live_isolate *iso, hd_memview *mv, struct iso_roots *r)
{
	struct hd_walker w;
	if (hw_init(&w, &iso->L, mv, classes_lookup, &iso->classes) != 0)
		return -1;
	struct find_roots_ctx x = {.r = r, .classes = &iso->classes, .L = &iso->L};
	int rc = hw_image_objects(&w, find_root_cb, &x);
	hw_fini(&w);
	return rc;
}

/* What one call reads of the process before its chunk lists: its mappings
 * and its running threads. */
struct sample {
	struct hd_maps maps;
	struct hd_readable r;
	struct hd_target running;
};

static bool read_tcb(hd_memview *mv, uint64_t p, uint64_t *next, int32_t *tid)
{
	uint8_t raw[MUSL_TCB_SIZE];
	if (!p || (p & 7) || mv_try_read(mv, p, raw, sizeof raw) != 0 || ld_u64(raw) != p)
		return false;
	*next = ld_u64(raw + MUSL_TCB_PREV_NEXT + 8);
	memcpy(tid, raw + MUSL_TCB_TID, 4);
	return true;
}

/* The main thread's control block: a word that points at itself with the
 * process id where musl keeps the thread id, in a small writable mapping
 * (static musl places it in the executable's data or early heap).  Bounded
 * by TCB_SEARCH_BYTES_MAX; 0 if none (glibc, whose blocks are laid out
 * otherwise). */
static uint64_t find_main_tcb(const struct live *lv, const struct hd_maps *maps)
{
	const struct hd_layout *L = &lv->iso[0].L;
	uint8_t *buf = malloc(TCB_SEARCH_MAPPING_MAX);
	uint64_t found = 0, budget = TCB_SEARCH_BYTES_MAX;
	for (size_t i = 0; buf && !found && i < maps->n; i++) {
		const struct hd_mapping *m = &maps->v[i];
		uint64_t len = m->end - m->start;
		if (!m->r || !m->w || len > TCB_SEARCH_MAPPING_MAX || len > budget ||
		    (m->start < L->image_start + L->image_size && m->end > L->image_start) ||
		    mv_try_read(lv->proc, m->start, buf, (size_t)len) != 0)
			continue;
		budget -= len;
		for (uint64_t k = 0; k + MUSL_TCB_SIZE <= len; k += 8) {
			int32_t tid;
			memcpy(&tid, buf + k + MUSL_TCB_TID, 4);
			if (ld_u64(buf + k) == m->start + k && tid == lv->pid) {
				found = m->start + k;
				break;
			}
		}
	}
	free(buf);
	return found;
}

/* PID's threads by kernel id, from /proc. */
static int proc_tasks(pid_t pid, struct hd_target *t)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return hd_fail(HD_E_TARGET_GONE, "process %d is gone", (int)pid);
	struct dirent *e;
	while ((e = readdir(d)) && t->n < t->cap) {
		char *end;
		long tid = strtol(e->d_name, &end, 10);
		if (e->d_name[0] != '.' && !*end && tid > 0)
			t->tasks[t->n++] = (struct hd_task){.tid = (pid_t)tid};
	}
	closedir(d);
	return 0;
}

/* The running threads as the thread-list search matches them: by kernel id
 * (OSThreadIdTL from GraalVM 23.1) and, following musl's ring of control
 * blocks from the main thread's, by pthread_t (22.3's OSThreadIdTL and
 * every version's OSThreadHandleTL), which x86-64 keeps as fs_base. */
static int running_threads(struct live *lv, struct heapusage *hu, const struct hd_maps *maps,
			   struct hd_target *t)
{
	if (proc_tasks(lv->pid, t) != 0)
		return -1;
	uint64_t next;
	int32_t tid;
	if (!read_tcb(lv->proc, hu->main_tcb, &next, &tid) || tid != lv->pid) {
		hu->main_tcb = hu->tcb_searched ? 0 : find_main_tcb(lv, maps);
		hu->tcb_searched = true;
	}
	uint64_t p = hu->main_tcb;
	for (size_t steps = 0; p && steps < t->n && read_tcb(lv->proc, p, &next, &tid); steps++) {
		struct hd_task *task = NULL;
		for (size_t i = 0; i < t->n && !task; i++)
			if (t->tasks[i].tid == tid)
				task = &t->tasks[i];
		if (!task || task->have_regs)
			break; /* not a live thread, or the ring closed */
		task->fs_base = p;
		task->have_regs = true; /* only fs_base: r14 0 is no heap base */
		p = next;
	}
	return 0;
}

static void sample_free(struct sample *smp)
{
	readable_fini(&smp->r);
	maps_free(&smp->maps);
	free(smp->running.tasks);
}

static int sample_read(struct live *lv, struct heapusage *hu, struct sample *smp)
{
	memset(smp, 0, sizeof *smp);
	smp->running = (struct hd_target){.pid = lv->pid, .cap = MAX_TASKS};
	smp->running.tasks = calloc(MAX_TASKS, sizeof *smp->running.tasks);
	if (!smp->running.tasks)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	if (lv->ops->read_maps(lv->ops_ctx, lv->pid, &smp->maps) != 0)
		return -1;
	if (readable_init(&smp->r, &smp->maps) != 0)
		return -1;
	if (lv->ops->running_threads)
		return lv->ops->running_threads(lv->ops_ctx, lv->pid, &smp->running);
	return running_threads(lv, hu, &smp->maps, &smp->running);
}

struct tally {
	const struct hd_layout *L;
	hd_memview *mv;
	struct addr_map seen;
	uint64_t steps;
	uint64_t used, aligned, unaligned;
};

/* Follows the chain at C, counting each chunk not seen yet.  A header that
 * does not hold together is a list caught changing: HD_E_TORN. */
static int follow(struct tally *x, uint64_t c)
{
	const struct hd_layout *L = x->L;
	uint64_t image_end = L->image_start + L->image_size;
	uint8_t raw[128];
	if (L->ch_struct_end > sizeof raw)
		return hd_fail(HD_E_LAYOUT, "chunk header too large");
	while (c) {
		if (++x->steps > CHUNKS_MAX)
			return hd_fail(HD_E_TORN, "more than %u heap chunks", CHUNKS_MAX);
		if ((c & (PAGE - 1)) || (c >= L->image_start && c < image_end))
			return hd_fail(HD_E_TORN, "a chunk list leads off the heap");
		if (addr_get(&x->seen, c))
			return 0;
		if (mv_read(x->mv, c, raw, L->ch_struct_end) != 0)
			return -1;
		struct lay_chunk_header h = lay_chunk_header(L, raw);
		if (!(c & (L->chunk_size - 1)) && lay_chunk_is_aligned(L, &h)) {
			x->used += L->chunk_size;
			x->aligned++;
		} else if (lay_unaligned_header_ok(L, &h) && h.end < (1LL << 40)) {
			x->used += (uint64_t)h.end;
			x->unaligned++;
		} else {
			return hd_fail(HD_E_TORN, "a chunk list changed while it was read");
		}
		if (addr_put(&x->seen, c, 1) != 0)
			return -1;
		c = h.next ? c + (uint64_t)h.next : 0;
	}
	return 0;
}

/* Is V worth following: page-aligned, outside the image heap, with a
 * header that reads (a stale slot may point at unmapped memory)? */
static bool chunk_start(struct tally *x, uint64_t v)
{
	const struct hd_layout *L = x->L;
	uint8_t raw[128];
	if (!v || (v & (PAGE - 1)) || (v >= L->image_start && v < L->image_start + L->image_size) ||
	    L->ch_struct_end > sizeof raw || mv_try_read(x->mv, v, raw, L->ch_struct_end) != 0)
		return false;
	struct lay_chunk_header h = lay_chunk_header(L, raw);
	return (!(v & (L->chunk_size - 1)) && lay_chunk_is_aligned(L, &h)) ||
	       (lay_unaligned_header_ok(L, &h) && h.end < (1LL << 40));
}

/* The chunks each thread of the isolate allocated into and no list holds
 * yet (GraalVM 22.3 to 24: its TLAB's chain of aligned eden chunks; every
 * version: its unaligned chunks), found the way the dump's scan finds them
 * (symbols/threadlist.h) in the running process: a thread list that does
 * not hold together is HD_E_INCONSISTENT, read again like a torn list. */
static bool overlaps_image(const struct hd_layout *L, const struct hd_mapping *m)
{
	return m->start < L->image_start + L->image_size && m->end > L->image_start;
}

/* The pages of the writable image heap that hold the word HEAD (up to
 * HEAD_PAGES): the head search needs to look nowhere else. */
static void find_head_pages(const struct live *lv, const struct hd_layout *L,
			    const struct hd_maps *maps, uint64_t head, struct iso_roots *r)
{
	uint8_t page[PAGE];
	r->nhead_pages = 0;
	for (size_t i = 0; i < maps->n && r->nhead_pages < HEAD_PAGES; i++) {
		const struct hd_mapping *m = &maps->v[i];
		if (!m->w || !m->r || !overlaps_image(L, m))
			continue;
		uint64_t end = m->end < L->image_start + L->image_size ? m->end : L->image_start + L->image_size;
		for (uint64_t a = m->start; a < end && r->nhead_pages < HEAD_PAGES; a += PAGE) {
			if (mv_try_read(lv->proc, a, page, PAGE) != 0)
				continue;
			for (size_t k = 0; k < PAGE; k += 8)
				if (ld_u64(page + k) == head) {
					r->head_page[r->nhead_pages++] = a;
					break;
				}
		}
	}
}

/* MAPS with the writable image heap cut down to R's head pages, into OUT
 * (its v malloc'd). */
static int narrow_maps(const struct hd_layout *L, const struct hd_maps *maps, const struct iso_roots *r,
		       struct hd_maps *out)
{
	out->n = 0;
	out->v = malloc((maps->n + HEAD_PAGES) * sizeof *out->v);
	if (!out->v)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < maps->n; i++) {
		const struct hd_mapping *m = &maps->v[i];
		if (!m->w || !overlaps_image(L, m)) {
			out->v[out->n++] = *m;
			continue;
		}
		for (unsigned k = 0; k < r->nhead_pages; k++)
			if (r->head_page[k] >= m->start && r->head_page[k] + PAGE <= m->end) {
				out->v[out->n] = *m;
				out->v[out->n].start = r->head_page[k];
				out->v[out->n++].end = r->head_page[k] + PAGE;
			}
	}
	return 0;
}

/* The thread list, searched only in R's head pages when they are known
 * and still lead to it, else in the whole writable image heap (then the
 * head pages are learnt). */
static int read_threads(const struct live *lv, const struct hd_layout *L, const struct sample *smp,
			struct iso_roots *r, struct hd_ithread **threads, size_t *n)
{
	if (r->nhead_pages) {
		struct hd_maps narrow;
		struct hd_readable nr;
		if (narrow_maps(L, &smp->maps, r, &narrow) != 0)
			return -1;
		int rc = readable_init(&nr, &narrow);
		if (rc == 0) {
			rc = threadlist_read(lv->proc, &nr, L, &lv->tl, &smp->running, threads, n);
			readable_fini(&nr);
		}
		free(narrow.v);
		if (rc != 0 || *n || r->head_pages_shared)
			return rc;
		free(*threads);
		*threads = NULL;
	}
	int rc = threadlist_read(lv->proc, &smp->r, L, &lv->tl, &smp->running, threads, n);
	if (rc == 0 && *n)
		find_head_pages(lv, L, &smp->maps, (*threads)[0].addr, r);
	return rc;
}

static int count_tlab_chains(const struct live *lv, const struct hd_layout *L,
			     const struct sample *smp, struct iso_roots *r, struct tally *x)
{
	struct hd_ithread *threads = NULL;
	size_t n = 0;
	int rc = read_threads(lv, L, smp, r, &threads, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct hd_tlab *tlab = &threads[i].tlab;
		/* A CE 25 TLAB starts inside a shared chunk a Space lists: no
		 * chunk header there. */
		if (!(tlab->start & (L->chunk_size - 1)) && chunk_start(x, tlab->start))
			rc = follow(x, tlab->start);
		if (rc == 0 && chunk_start(x, tlab->unaligned))
			rc = follow(x, tlab->unaligned);
	}
	free(threads);
	return rc;
}

static int measure_once(const struct live *lv, const struct hd_layout *L, struct iso_roots *r,
			const struct sample *smp, struct tally *x)
{
	hd_memview *mv = lv->proc;
	*x = (struct tally){.L = L, .mv = mv};
	int rc = 0;
	for (unsigned i = 0; rc == 0 && i < r->n; i++) {
		uint8_t obj[MAX_ROOT_SIZE];
		const struct root *root = &r->v[i];
		if ((rc = mv_read(mv, root->addr, obj, root->size)) != 0)
			break;
		for (unsigned s = 0; rc == 0 && s < root->nslots; s++) {
			uint64_t v;
			memcpy(&v, obj + root->slot[s], 8);
			if (chunk_start(x, v))
				rc = follow(x, v);
		}
	}
	if (rc == 0)
		rc = count_tlab_chains(lv, L, smp, r, x);
	addr_map_free(&x->seen);
	return rc;
}

/* A Java size option's value: digits with an optional k, m, g or t. */
static uint64_t java_size(const char *s)
{
	if (!isdigit((unsigned char)*s))
		return 0;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;
	switch (tolower((unsigned char)*end)) {
	case 'k': shift = 10; end++; break;
	case 'm': shift = 20; end++; break;
	case 'g': shift = 30; end++; break;
	case 't': shift = 40; end++; break;
	}
	if (errno || *end || v > (UINT64_MAX >> shift))
		return 0;
	return (uint64_t)v << shift;
}

/* -Xmx / -XX:MaxHeapSize= on the process's command line; the last wins, as
 * the runtime's own argument parser has it. */
static void max_from_cmdline(pid_t pid, struct hdump_heap_usage *u)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char *buf = malloc(MAX_CMDLINE + 1);
	ssize_t n = buf ? read(fd, buf, MAX_CMDLINE) : -1;
	close(fd);
	for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(buf + i) + 1) {
		buf[n] = '\0';
		const char *arg = buf + i;
		uint64_t v;
		if (strncmp(arg, "-Xmx", 4) == 0 && (v = java_size(arg + 4))) {
			u->max = v;
			u->max_source = HDUMP_MAX_HEAP_XMX;
		} else if (strncmp(arg, "-XX:MaxHeapSize=", 16) == 0 && (v = java_size(arg + 16))) {
			u->max = v;
			u->max_source = HDUMP_MAX_HEAP_MAX_HEAP_SIZE;
		}
	}
	free(buf);
}

/* GraalVM's default (every version's serial GC): MaximumHeapSizePercent,
 * 80, of the physical memory, which its container support takes as the
 * memory cgroup's limit when that is lower. */
static void max_by_default(pid_t pid, struct hdump_heap_usage *u)
{
	struct hdump_memory_usage m;
	if (hdump_memory_usage(pid, &m) != 0 || m.mem_total <= 0)
		return;
	uint64_t physical = (uint64_t)m.mem_total;
	u->max_source = HDUMP_MAX_HEAP_DEFAULT_PHYSICAL;
	if (m.cgroup_limit > 0 && (uint64_t)m.cgroup_limit < physical) {
		physical = (uint64_t)m.cgroup_limit;
		u->max_source = HDUMP_MAX_HEAP_DEFAULT_CGROUP;
	}
	u->max = physical / 100 * 80;
}

const char *hdump_max_heap_source_name(enum hdump_max_heap_source s)
{
	switch (s) {
	case HDUMP_MAX_HEAP_XMX: return "-Xmx";
	case HDUMP_MAX_HEAP_MAX_HEAP_SIZE: return "-XX:MaxHeapSize";
	case HDUMP_MAX_HEAP_DEFAULT_PHYSICAL: return "default-physical";
	case HDUMP_MAX_HEAP_DEFAULT_CGROUP: return "default-cgroup";
	case HDUMP_MAX_HEAP_ISOLATE: return "isolate";
	case HDUMP_MAX_HEAP_IMAGE_OPTION: return "image-option";
	case HDUMP_MAX_HEAP_UNKNOWN: break;
	}
	return "unknown";
}

/* Is the 8-byte slot at OFF of CLS's instances a word: all its bytes
 * primitive Java fields (no header, reference, hash or monitor)? */
static bool word_slot(const struct hd_layout *L, const struct hd_class *cls, uint32_t off)
{
	uint32_t covered = 0;
	for (size_t i = 0; i < cls->nfields; i++) {
		const struct hd_field *f = &cls->fields[i];
		uint32_t size = f->type == HD_T_OBJECT ? L->ref_size : hd_type_size(f->type);
		if (f->offset >= off + 8 || f->offset + size <= off)
			continue;
		if (f->type == HD_T_OBJECT || f->slot != HD_SLOT_NONE || f->offset < off ||
		    f->offset + size > off + 8)
			return false;
		covered += size;
	}
	return covered == 8;
}

/* The maximum heap size a SizeParameters object O holds: its largest word
 * (an 8-byte aligned slot of primitive fields), if it has at least
 * SIZES_WORDS_MIN, each a multiple of the chunk size, the largest above
 * every other and within the address space; else 0. */
static uint64_t sizes_max(const struct hd_layout *L, hd_memview *mv, const struct hd_object *o)
{
	const struct hd_class *cls = o->hubinfo.cls;
	uint8_t raw[MAX_SIZES_SIZE];
	if (!cls || strcmp(cls->name, SIZES_CLASS) != 0 || o->size > sizeof raw ||
	    mv_try_read(mv, o->addr, raw, (size_t)o->size) != 0)
		return 0;
	uint64_t max = 0, second = 0;
	unsigned words = 0;
	for (uint32_t off = 0; off + 8 <= o->size; off += 8) {
		if (!word_slot(L, cls, off))
			continue;
		uint64_t v = ld_u64(raw + off);
		if (v % L->chunk_size)
			return 0;
		words++;
		if (v > max) {
			second = max;
			max = v;
		} else if (v > second || v == max) {
			second = v;
		}
	}
	return words >= SIZES_WORDS_MIN && max > second && max <= MAX_HEAP_LIMIT ? max : 0;
}

/* The isolate's own maximum heap size: the one its collection policy P
 * computed, read while the isolate runs (the policy's SizeParameters is
 * immutable, replaced whole); 0 when it is not found or does not hold
 * together (a collection may have moved it under the read). */
static uint64_t isolate_max(const struct live_isolate *iso, hd_memview *mv, const struct policy *p)
{
	const struct hd_layout *L = &iso->L;
	uint8_t obj[MAX_POLICY_SIZE];
	struct hd_walker w;
	if (!p->addr || mv_try_read(mv, p->addr, obj, p->size) != 0)
		return 0;
	if (hw_init(&w, L, mv, classes_lookup, (void *)&iso->classes) != 0) {
		hd_error_clear();
		return 0;
	}
	uint64_t max = 0;
	for (unsigned i = 0; !max && i < p->nrefs; i++) {
		uint64_t a = lay_ref(L, obj + p->ref[i]);
		struct hd_object o;
		if (a && !(a & 7) && hw_decode_at(&w, a, MAX_SIZES_SIZE, &o) == 0)
			max = sizes_max(L, mv, &o);
	}
	hw_fini(&w);
	hd_error_clear(); /* a slot that led nowhere is no error of the sample */
	return max;
}

/* U's maximum: the isolate's own (OWN, 0: not found) where it is known,
 * else the command line's, else the default rule's; with the rule that
 * reproduces the isolate's value (the policy aligns it down to a chunk). */
static void resolve_max(pid_t pid, uint64_t own, uint64_t chunk, struct hdump_heap_usage *u)
{
	max_from_cmdline(pid, u);
	if (!u->max)
		max_by_default(pid, u);
	u->max_rule = u->max_source;
	if (!own)
		return;
	if (u->max && u->max - u->max % chunk != own)
		u->max_rule = HDUMP_MAX_HEAP_IMAGE_OPTION;
	u->max = own;
	u->max_source = HDUMP_MAX_HEAP_ISOLATE;
}

/* Every isolate maps its own copy of the same image heap, so the head
 * pages one isolate's search found serve the others, rebased (an isolate
 * with no thread attached, e.g. a compiler isolate, is then not searched
 * in full at every sample). */
static void share_head_pages(const struct live *lv, struct heapusage *hu)
{
	size_t from = 0;
	while (from < lv->nisolates && (!hu->iso[from].nhead_pages || hu->iso[from].head_pages_shared))
		from++;
	for (size_t i = 0; from < lv->nisolates && i < lv->nisolates; i++) {
		struct iso_roots *r = &hu->iso[i];
		if (r->nhead_pages)
			continue;
		uint64_t delta = lv->iso[i].L.image_start - lv->iso[from].L.image_start;
		for (unsigned k = 0; k < hu->iso[from].nhead_pages; k++)
			r->head_page[k] = hu->iso[from].head_page[k] + delta;
		r->nhead_pages = hu->iso[from].nhead_pages;
		r->head_pages_shared = true;
	}
}

int hdump_heap_usage(hdump_target *t, struct hdump_heap_usage *u)
{
	memset(u, 0, sizeof *u);
	struct live *lv = &t->live;
	if (t->kind != HDUMP_TARGET_PROCESS || !t->discovered || !lv->proc)
		return hd_fail(HD_E_USAGE, "heap usage needs a discovered process");
	if (!t->heapusage) {
		struct heapusage *hu = calloc(1, sizeof *hu);
		if (!hu)
			return hd_fail(HD_E_INTERNAL, "out of memory");
		unsigned roots = 0;
		for (size_t i = 0; i < lv->nisolates; i++) {
			if (find_roots(&lv->iso[i], lv->proc, &hu->iso[i]) != 0) {
				free(hu);
				return -1;
			}
			roots += hu->iso[i].n;
		}
		if (!roots) {
			free(hu);
			return hd_fail(HD_E_LAYOUT, "no Space object in the image heap: "
						    "the heap's accounting cannot be read");
		}
		t->heapusage = hu;
	}
	struct sample smp;
	if (sample_read(lv, t->heapusage, &smp) != 0) {
		sample_free(&smp);
		return -1;
	}
	share_head_pages(lv, t->heapusage);
	for (size_t i = 0; i < lv->nisolates; i++) {
		struct tally x;
		int rc = -1;
		for (unsigned a = 1; a <= ATTEMPTS && rc != 0; a++) {
			if (hdump_interrupted()) {
				sample_free(&smp);
				return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d",
					       hdump_interrupted());
			}
			u->attempts++;
			rc = measure_once(lv, &lv->iso[i].L, &t->heapusage->iso[i], &smp, &x);
			if (rc != 0 && hd_error_class() != HD_E_TORN &&
			    hd_error_class() != HD_E_INCONSISTENT) {
				sample_free(&smp);
				return -1;
			}
		}
		if (rc != 0) {
			sample_free(&smp);
			return hd_fail(HD_E_INCONSISTENT, "the heap's chunk lists changed under "
							  "%d reads", ATTEMPTS);
		}
		if (i == 0 || x.used > u->used) {
			u->used = x.used;
			u->aligned_chunks = x.aligned;
			u->unaligned_chunks = x.unaligned;
			u->isolate = (int)i;
		}
	}
	sample_free(&smp);
	/* A read caught in a collection that moves the sizes gives the last
	 * value read rather than flip to a rule for one sample. */
	const struct live_isolate *iso = &lv->iso[u->isolate];
	struct iso_roots *r = &t->heapusage->iso[u->isolate];
	uint64_t own = isolate_max(iso, lv->proc, &r->policy);
	if (own)
		r->policy_max = own;
	resolve_max(lv->pid, r->policy_max, iso->L.chunk_size, u);
	return 0;
}
