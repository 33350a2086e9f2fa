/* Synthetic live targets: see synthlive.h.
 *
 * The runtime heap is laid out chunk by chunk: each chunk gets a run of
 * objects from one pattern (instances and arrays in turn, in every
 * identity-hash state, referencing earlier objects and the image heap),
 * then its header; Spaces, HeapAllocation, TLABs and thread locals are
 * filled in once every address is known. */
#include "synthlive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096u
#define KiB 1024u
#define MiB (1024u * KiB)
#define GiB (1024ull * MiB)

#define ALIGNED_CHUNKS 6 /* eden 2, old 1, TLAB-owned or shared 2, one spare */
#define THREAD_AREA 0x55d000000000ull
#define THREAD_STRIDE 0x100u
#define STACK_AREA 0x7ffc00000000ull
#define STACK_SIZE (16 * KiB)
#define FS_BASE 0x7f3a00100000ull
#define FIRST_TID 4100
#define GARBAGE 0xa5

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

struct builder {
	struct sl_live *t;
	uint64_t rng;
	uint64_t recent[8];   /* runtime objects to reference */
	size_t nrecent;
	size_t nobjs_cap;
	size_t pattern;       /* position in the object pattern */
	unsigned gc_bits;     /* header bits of what is being allocated */
	bool unaligned;
	bool failed;
};

static uint32_t random_hash(struct builder *b)
{
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return (uint32_t)((b->rng * 0x2545f4914f6cdd1dull) >> 33) | 1u;
}

/* ---- Memory and mappings ------------------------------------------------ */

static struct hd_mapping *add_mapping(struct sl_live *t, uint64_t start, uint64_t end, const char *rwx)
{
	struct hd_mapping *v = realloc(t->maps.v, (t->maps.n + 1) * sizeof *v);
	if (!v)
		abort();
	t->maps.v = v;
	size_t i = t->maps.n++;
	while (i > 0 && v[i - 1].start > start) {
		v[i] = v[i - 1];
		i--;
	}
	v[i] = (struct hd_mapping){.start = start, .end = end, .r = rwx[0] == 'r',
				   .w = rwx[1] == 'w', .x = rwx[2] == 'x'};
	return &v[i];
}

static struct hd_mapping *add_file_mapping(struct sl_live *t, uint64_t start, uint64_t end,
					   const char *rwx, uint64_t offset)
{
	struct hd_mapping *m = add_mapping(t, start, end, rwx);
	m->dev = t->img.dev;
	m->ino = t->img.ino;
	m->offset = offset;
	snprintf(m->name, sizeof m->name, "synthetic-image");
	return m;
}

/* A buffer behind [ADDR, ADDR+LEN) in the process's memory. */
static uint8_t *add_region(struct sl_live *t, uint64_t addr, size_t len)
{
	if (t->nregions == t->cap_regions) {
		size_t cap = t->cap_regions ? 2 * t->cap_regions : 16;
		struct sl_region *v = realloc(t->regions, cap * sizeof *v);
		if (!v)
			abort();
		t->regions = v;
		t->cap_regions = cap;
	}
	uint8_t *data = calloc(1, len);
	if (!data || mv_add_local(t->proc, addr, data, len) != 0)
		abort();
	t->regions[t->nregions++] = (struct sl_region){addr, data, len};
	return data;
}

uint8_t *sl_map(struct sl_live *t, uint64_t addr, size_t len)
{
	add_mapping(t, addr, addr + align_up(len, PAGE), "rw-");
	return add_region(t, addr, (size_t)align_up(len, PAGE));
}

uint8_t *sl_ptr(struct sl_live *t, uint64_t addr)
{
	for (size_t i = 0; i < t->nregions; i++)
		if (addr >= t->regions[i].addr && addr - t->regions[i].addr < t->regions[i].len)
			return t->regions[i].data + (addr - t->regions[i].addr);
	fprintf(stderr, "synthlive: 0x%llx is not mapped\n", (unsigned long long)addr);
	abort();
}

static void put_ref(struct builder *b, uint64_t at, uint64_t target)
{
	struct sl_live *t = b->t;
	put_le(sl_ptr(t, at), sh_encode_ref(&t->h, target), t->h.p.ref_size);
	t->refs += target != 0;
}

/* ---- Runtime objects ---------------------------------------------------- */

static uint64_t image_object(struct sl_live *t, const char *cls, size_t n)
{
	return sh_nth(&t->h, cls, n)->addr;
}

/* Allocates an object of class NAME at *CUR, below LIMIT.  Returns its
 * address, 0 when it does not fit. */
static uint64_t alloc(struct builder *b, uint64_t *cur, uint64_t limit, const char *name,
		      uint32_t len, enum sh_hash_state s)
{
	struct sl_live *t = b->t;
	const struct sh_class *c = sh_class(&t->h, name);
	uint64_t size = sh_runtime_size(&t->h, c, len, s);
	if (*cur + size > limit)
		return 0;
	uint64_t addr = *cur;
	sh_runtime_init(&t->h, sl_ptr(t, addr), c, len, s, b->gc_bits | (b->unaligned ? 1u : 0u),
			random_hash(b));
	*cur += size;
	if (t->nobjs == b->nobjs_cap) {
		b->nobjs_cap = b->nobjs_cap ? 2 * b->nobjs_cap : 1024;
		t->objs = realloc(t->objs, b->nobjs_cap * sizeof *t->objs);
		if (!t->objs)
			abort();
	}
	t->objs[t->nobjs++] = (struct sh_object){addr, size, (size_t)(c - t->h.classes)};
	if (strcmp(name, "com.oracle.svm.core.heap.FillerObject") != 0) {
		t->objects++;
		t->bytes += size;
		t->hash_states[c->kind != 'i'][s]++;
		b->recent[b->nrecent++ % 8] = addr;
	}
	return addr;
}

static uint64_t recent(struct builder *b, size_t back)
{
	return b->nrecent > back ? b->recent[(b->nrecent - 1 - back) % 8] : 0;
}

static void set_field(struct builder *b, uint64_t obj, const char *cls, const char *field,
		      uint64_t target)
{
	put_ref(b, obj + sh_field(&b->t->h, cls, field), target);
}

static uint64_t new_string(struct builder *b, uint64_t *cur, uint64_t limit, const char *text,
			   enum sh_hash_state s)
{
	struct sh_heap *h = &b->t->h;
	uint32_t n = (uint32_t)strlen(text);
	uint64_t value = alloc(b, cur, limit, "[B", n, s);
	if (!value)
		return 0;
	memcpy(sl_ptr(b->t, value + h->p.array_base), text, n);
	uint64_t str = alloc(b, cur, limit, "java.lang.String", 0, (enum sh_hash_state)((s + 1) % 3));
	if (!str)
		return 0;
	set_field(b, str, "java.lang.String", "value", value);
	return str;
}

/* One object of the pattern: instances and arrays take the hash states in
 * turn.  Returns 0 when it does not fit. */
static uint64_t pattern_object(struct builder *b, uint64_t *cur, uint64_t limit)
{
	struct sl_live *t = b->t;
	struct sh_heap *h = &t->h;
	size_t k = b->pattern;
	enum sh_hash_state s = (enum sh_hash_state)(k / 9 % 3);
	uint64_t o = 0;
	switch (k % 9) {
	case 0:
		if ((o = alloc(b, cur, limit, "java.lang.Integer", 0, s)))
			put_le(sl_ptr(t, o + sh_field(h, "java.lang.Integer", "value")), k * 1000003u, 4);
		break;
	case 1:
		if ((o = alloc(b, cur, limit, "[I", (uint32_t)(k % 7), s)))
			for (uint32_t i = 0; i < k % 7; i++)
				put_le(sl_ptr(t, o + h->p.array_base + 4 * i), i * 0x01000193u, 4);
		break;
	case 2:
		o = new_string(b, cur, limit, k % 2 ? "runtime" : "live!", s);
		break;
	case 3:
		if ((o = alloc(b, cur, limit, "[Ljava.lang.Object;", 4, s))) {
			put_ref(b, o + h->p.array_base, recent(b, 1));
			put_ref(b, o + h->p.array_base + h->p.ref_size,
				image_object(t, "java.lang.Integer", k % 7));
			put_ref(b, o + h->p.array_base + 3 * h->p.ref_size, recent(b, 3));
		}
		break;
	case 4:
		if ((o = alloc(b, cur, limit, "java.util.HashMap$Node", 0, s))) {
			set_field(b, o, "java.util.HashMap$Node", "key", image_object(t, "java.lang.String", 1));
			set_field(b, o, "java.util.HashMap$Node", "value", recent(b, 1));
		}
		break;
	case 5:
		if ((o = alloc(b, cur, limit, "hdump.test.FillsGap", 0, s)))
			set_field(b, o, "hdump.test.FillsGap", "r", recent(b, 2));
		break;
	case 6:
		o = alloc(b, cur, limit, "java.lang.Object", 0, s);
		break;
	case 7:
		if ((o = alloc(b, cur, limit, "[B", (uint32_t)(k % 13), s)))
			memset(sl_ptr(t, o + h->p.array_base), (int)k, k % 13);
		break;
	default:
		o = alloc(b, cur, limit, h->p.char_array ? "[C" : "[I", (uint32_t)(k % 5), s);
		break;
	}
	b->pattern++;
	return o;
}

static void fill(struct builder *b, uint64_t *cur, uint64_t limit, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!pattern_object(b, cur, limit)) {
			fprintf(stderr, "synthlive: chunk full\n");
			b->failed = true;
			return;
		}
}

/* ---- Chunks ------------------------------------------------------------- */

struct achunk {
	uint64_t addr, cur;
};

static uint64_t limit_of(const struct sl_live *t, const struct achunk *c)
{
	return c->addr + t->h.p.chunk_size;
}

static void chunk_header(struct builder *b, uint64_t c, uint64_t end, uint64_t top, uint64_t next)
{
	const struct sh_params *p = &b->t->h.p;
	uint8_t *hdr = sl_ptr(b->t, c);
	put_le(hdr + p->ch_end, end, 8);
	put_le(hdr + p->ch_top, top, 8);
	put_le(hdr + p->ch_next, next ? next - c : 0, 8);
	if (p->ch_salt >= 0)
		put_le(hdr + p->ch_salt, random_hash(b), 8);
}

static void link_aligned(struct builder *b, const struct achunk *c, const struct achunk *next,
			 bool tlab_owned)
{
	struct sl_live *t = b->t;
	/* A TLAB-owned chunk's top "is null": chunk + top wraps to 0. */
	uint64_t top = tlab_owned ? -c->addr : c->cur - c->addr;
	chunk_header(b, c->addr, t->h.p.chunk_size, top, next ? next->addr : 0);
	uint8_t *hdr = sl_ptr(t, c->addr);
	uint64_t h8 = align_up(t->h.p.ch_struct_size, 8);
	uint64_t tables = t->h.expect.aligned_obj_start - h8;
	memset(hdr + h8, 1, tables / 2);
	memset(hdr + h8 + tables / 2, 127, tables / 2);
}

/* An unaligned chunk at C holding one array of NAME, LEN elements. */
static uint64_t unaligned_chunk(struct builder *b, uint64_t c, const char *name, uint32_t len,
				enum sh_hash_state s, uint64_t *obj)
{
	struct sl_live *t = b->t;
	const struct sh_params *p = &t->h.p;
	uint64_t size = sh_runtime_size(&t->h, sh_class(&t->h, name), len, s);
	uint64_t header_end = align_up(p->ch_unaligned_struct_size, 8);
	uint64_t cards = p->unaligned == SH_UNALIGNED_FIXED ? 0 : align_up((size + 511) / 512, 8);
	uint64_t start = header_end + cards + 8;
	uint64_t len_bytes = align_up(start + size, PAGE);
	/* Two mappings the kernel left unmerged: the object spans both. */
	add_mapping(t, c, c + PAGE, "rw-");
	add_mapping(t, c + PAGE, c + len_bytes, "rw-");
	uint8_t *data = add_region(t, c, (size_t)len_bytes);
	memset(data + header_end, 1, start - header_end);
	if (p->unaligned == SH_UNALIGNED_VARIABLE)
		put_le(data + start - 8, start, 8);
	uint64_t cur = c + start;
	b->unaligned = true;
	*obj = alloc(b, &cur, c + len_bytes, name, len, s);
	b->unaligned = false;
	chunk_header(b, c, start + size, start + size, 0);
	return c;
}

/* ---- The whole target --------------------------------------------------- */

static void image_copy(struct sl_live *t, uint64_t *image_map_end)
{
	struct sh_heap *h = &t->h;
	uint64_t len = align_up(h->size, PAGE);
	*image_map_end = h->start + len;
	add_mapping(t, t->heap_base, h->start, "---");
	add_file_mapping(t, h->start, h->writable, "r--", t->img.heap_offset);
	add_file_mapping(t, h->writable, *image_map_end, "rw-",
			 t->img.heap_offset + (h->writable - h->start));
	memcpy(add_region(t, h->start, (size_t)len), h->data, h->size);
	/* The executable as the loader mapped it: text, then .svm_heap. */
	add_file_mapping(t, 0x400000, 0x800000, "r-x", 0);
	add_file_mapping(t, 0x800000, 0x800000 + len, "r--", t->img.heap_offset);
}

static void space_chunks(struct builder *b, size_t space, uint64_t first_aligned,
			 uint64_t last_aligned, uint64_t unaligned)
{
	struct sl_live *t = b->t;
	static const char cls[] = "com.oracle.svm.core.genscavenge.Space";
	uint64_t sp = image_object(t, cls, space);
	put_le(sl_ptr(t, sp + sh_field(&t->h, cls, "firstAlignedHeapChunk")), first_aligned, 8);
	put_le(sl_ptr(t, sp + sh_field(&t->h, cls, "lastAlignedHeapChunk")), last_aligned, 8);
	put_le(sl_ptr(t, sp + sh_field(&t->h, cls, "firstUnalignedHeapChunk")), unaligned, 8);
	put_le(sl_ptr(t, sp + sh_field(&t->h, cls, "lastUnalignedHeapChunk")), unaligned, 8);
}

/* TLAB minimum filler: what symbols/chunks.c computes from the filler array. */
static uint64_t tlab_reserve(const struct sl_live *t)
{
	const struct sh_class *ints = sh_class(&t->h, "[I");
	uint64_t min = align_up(le_base(ints->enc), 8);
	return min > 8 ? min : 0;
}

/* A live TLAB of SIZE bytes carved from chunk C at its top, N objects
 * allocated in it: [top, end + reserve) stays unformatted. */
static void carve_tlab(struct builder *b, struct achunk *c, uint64_t size, unsigned n,
		       uint64_t tlab[4])
{
	uint64_t start = c->cur, end = start + size, reserve = tlab_reserve(b->t);
	fill(b, &c->cur, end, n);
	memset(sl_ptr(b->t, c->cur), GARBAGE, end + reserve - c->cur);
	tlab[0] = start;
	tlab[1] = end;
	tlab[2] = c->cur;
	c->cur = end + reserve;
}

static void add_chunk(struct sl_live *t, uint64_t c)
{
	uint64_t *v = realloc(t->chunks, (t->nchunks + 1) * sizeof *v);
	if (!v)
		abort();
	t->chunks = v;
	t->chunks[t->nchunks++] = c;
}

static void threads(struct builder *b, uint64_t tlabs[SL_THREADS][4], uint64_t thread_objs[SL_THREADS])
{
	struct sl_live *t = b->t;
	const struct hd_threadlocals *tl = &t->h.tl;
	add_mapping(t, THREAD_AREA, THREAD_AREA + 64 * KiB, "rw-");
	add_region(t, THREAD_AREA, 64 * KiB);
	t->target.pid = FIRST_TID;
	t->target.n = t->target.cap = SL_THREADS + 1;
	t->target.tasks = calloc(t->target.n, sizeof *t->target.tasks);
	if (!t->target.tasks)
		abort();
	bool pthread_ids = t->h.p.idhash == SH_IDHASH_HEADER; /* 22.3: OSThreadIdTL is a pthread_t */
	for (size_t i = 0; i <= SL_THREADS; i++) {
		struct hd_task *task = &t->target.tasks[i];
		uint64_t stack = STACK_AREA + i * MiB;
		*task = (struct hd_task){.tid = FIRST_TID + (pid_t)i, .state = TASK_STOPPED,
					 .have_regs = true, .fs_base = FS_BASE + i * 0x10000,
					 .rsp = stack + STACK_SIZE - 0x400};
		snprintf(task->comm, sizeof task->comm, i == SL_THREADS ? "native" : "java-%zu", i);
		add_mapping(t, stack, stack + STACK_SIZE, "rw-");
		uint8_t *s = add_region(t, stack, STACK_SIZE);
		if (i == SL_THREADS)
			continue; /* an OS thread that is no Java thread */
		struct sl_thread *th = &t->threads[i];
		th->addr = THREAD_AREA + 0x40 + i * THREAD_STRIDE;
		th->tid = task->tid;
		th->thread_obj = thread_objs[i];
		th->stack_lo = task->rsp;
		th->stack_hi = stack + STACK_SIZE;
		if (i == 0) { /* stopped in Java code */
			task->r14 = t->heap_base;
			task->r15 = th->addr;
		}
		/* Stack words: an absolute and a heap-relative reference. */
		put_le(s + STACK_SIZE - 0x100, th->thread_obj, 8);
		put_le(s + STACK_SIZE - 0xf8, thread_objs[(i + 1) % SL_THREADS] - t->heap_base, 8);
		uint8_t *p = sl_ptr(t, th->addr);
		put_le(p + tl->isolate, t->heap_base, 8);
		put_le(p + tl->next, i + 1 < SL_THREADS ? th->addr + THREAD_STRIDE : 0, 8);
		put_le(p + tl->os_thread_handle, task->fs_base, 8);
		put_le(p + tl->os_thread_id, pthread_ids ? task->fs_base : (uint64_t)task->tid, 8);
		put_le(p + tl->stack_base, th->stack_hi, 8);
		for (int k = 0; k < 4; k++)
			put_le(p + tl->tlab + 8 * k, tlabs[i][k], 8);
		put_le(p + tl->current_thread, sh_encode_ref(&t->h, th->thread_obj), t->h.p.ref_size);
	}
	/* A freed IsolateThread keeps its isolate word and its stale link. */
	uint64_t stale = THREAD_AREA + 0x40 + SL_THREADS * THREAD_STRIDE;
	uint8_t *p = sl_ptr(t, stale);
	put_le(p + tl->isolate, t->heap_base, 8);
	put_le(p + tl->next, t->threads[1].addr, 8);
	put_le(p + tl->os_thread_handle, 0x7f3adead0000ull, 8);
	put_le(p + tl->os_thread_id, 999, 8);
	/* VMThreads.head, and a stale copy of the freed one next to it. */
	put_le(sl_ptr(t, t->h.thread_head), t->threads[0].addr, 8);
	put_le(sl_ptr(t, t->h.thread_head + 8), stale, 8);
}

static int cmp_obj(const void *a, const void *b)
{
	const struct sh_object *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

static void build(struct builder *b)
{
	struct sl_live *t = b->t;
	struct sh_heap *h = &t->h;
	const struct sh_params *p = &h->p;
	uint64_t cs = p->chunk_size, image_map_end;
	t->heap_base = p->heap_base;
	t->image_start = h->start;
	t->img.dev = 0x801;
	t->img.ino = 424242;
	t->img.heap_offset = 0x200000;
	t->img.heap_size = h->size;
	image_copy(t, &image_map_end);

	/* Runtime chunks: CE 22.3 maps each anywhere (here below the heap
	 * base, references wrapping around); the contiguous layouts keep
	 * them in the range reserved from the heap base. */
	bool contiguous = p->idhash != SH_IDHASH_HEADER;
	uint64_t rt = contiguous ? t->heap_base + 64 * MiB : t->heap_base - 512 * MiB;
	uint64_t far = contiguous ? t->heap_base + 8 * GiB : t->heap_base - 4 * GiB;
	for (size_t i = 0; i < ALIGNED_CHUNKS; i++)
		add_mapping(t, rt + i * cs, rt + (i + 1) * cs, "rw-");
	add_region(t, rt, (size_t)(ALIGNED_CHUNKS * cs));
	struct achunk a[ALIGNED_CHUNKS];
	for (size_t i = 0; i < ALIGNED_CHUNKS; i++)
		a[i] = (struct achunk){rt + i * cs, rt + i * cs + h->expect.aligned_obj_start};

	/* Eden: the threads' objects first. */
	uint64_t thread_objs[SL_THREADS];
	for (size_t i = 0; i < SL_THREADS; i++) {
		char name[16];
		snprintf(name, sizeof name, "worker-%zu", i);
		uint64_t n = new_string(b, &a[0].cur, limit_of(t, &a[0]), name, SH_HASH_NONE);
		thread_objs[i] = alloc(b, &a[0].cur, limit_of(t, &a[0]), "java.lang.Thread", 0,
				       (enum sh_hash_state)(i % 3));
		set_field(b, thread_objs[i], "java.lang.Thread", "name", n);
	}
	fill(b, &a[0].cur, limit_of(t, &a[0]), 40);
	fill(b, &a[1].cur, limit_of(t, &a[1]), 30);
	alloc(b, &a[1].cur, limit_of(t, &a[1]), "com.oracle.svm.core.heap.FillerObject", 0, SH_HASH_NONE);
	fill(b, &a[1].cur, limit_of(t, &a[1]), 27);
	b->gc_bits = 2; /* old objects are card-marked */
	fill(b, &a[2].cur, limit_of(t, &a[2]), 45);
	b->gc_bits = 0;

	uint64_t big;
	t->adjacent_unaligned = unaligned_chunk(b, image_map_end, "[B", 3000, SH_HASH_NONE, &big);
	t->far_unaligned = unaligned_chunk(b, far, "[Ljava.lang.Object;", 700, SH_HASH_FROM_ADDRESS, &big);
	put_ref(b, big + p->array_base, recent(b, 4));
	put_ref(b, big + p->array_base + 699 * p->ref_size, image_object(t, "java.util.HashMap", 0));
	/* Thread 1's list of two unaligned chunks. */
	uint64_t u1 = unaligned_chunk(b, far + MiB, "[I", 1500, SH_HASH_IN_FIELD, &big);
	uint64_t u2 = unaligned_chunk(b, far + 2 * MiB, "[Ljava.lang.Object;", 300, SH_HASH_NONE, &big);
	put_ref(b, big + p->array_base + 7 * p->ref_size, recent(b, 1));
	put_le(sl_ptr(t, u1 + p->ch_next), u2 - u1, 8);

	uint64_t tlabs[SL_THREADS][4] = {{0}};
	fill(b, &a[4].cur, limit_of(t, &a[4]), 12);
	if (!t->shared_tlabs) {
		/* Thread 0 owns chunk 3 whole, chunk 4 (filled) behind it;
		 * thread 1 owns chunk 5, still empty. */
		fill(b, &a[3].cur, limit_of(t, &a[3]), 18);
		link_aligned(b, &a[3], &a[4], true);
		link_aligned(b, &a[4], NULL, false);
		link_aligned(b, &a[5], NULL, true);
		uint64_t t0[4] = {a[3].addr, a[3].addr + cs, a[3].cur, t->adjacent_unaligned};
		uint64_t t1[4] = {a[5].addr, a[5].addr + cs, a[5].cur, u1};
		memcpy(tlabs[0], t0, sizeof t0);
		memcpy(tlabs[1], t1, sizeof t1);
		t->tlab_chunk = a[3].addr;
		add_chunk(t, a[5].addr);
	} else {
		/* Chunk 3 is shared: objects, thread 0's TLAB, thread 2's
		 * still empty one, objects, and thread 1's TLAB ending at the
		 * chunk's top. */
		fill(b, &a[3].cur, limit_of(t, &a[3]), 7);
		carve_tlab(b, &a[3], 2 * KiB, 6, tlabs[0]);
		tlabs[0][3] = t->adjacent_unaligned;
		carve_tlab(b, &a[3], 512, 0, tlabs[2]);
		fill(b, &a[3].cur, limit_of(t, &a[3]), 9);
		carve_tlab(b, &a[3], 1 * KiB, 2, tlabs[1]);
		tlabs[1][3] = u1;
		link_aligned(b, &a[3], &a[4], false);
		link_aligned(b, &a[4], NULL, false);
		static const char cls[] = "com.oracle.svm.core.genscavenge.HeapAllocation";
		put_le(sl_ptr(t, image_object(t, cls, 0) + sh_field(h, cls, "currentChunk")), a[3].addr, 8);
	}
	link_aligned(b, &a[0], &a[1], false);
	link_aligned(b, &a[1], NULL, false);
	link_aligned(b, &a[2], NULL, false);
	space_chunks(b, 0, a[0].addr, a[1].addr, t->far_unaligned);
	space_chunks(b, 2, a[2].addr, a[2].addr, 0);
	for (size_t i = 0; i < 5; i++)
		add_chunk(t, a[i].addr);
	add_chunk(t, t->adjacent_unaligned);
	add_chunk(t, t->far_unaligned);
	add_chunk(t, u1);
	add_chunk(t, u2);
	threads(b, tlabs, thread_objs);
}

int sl_build(const struct sh_params *p, struct sl_live *t)
{
	memset(t, 0, sizeof *t);
	struct sh_params q = *p;
	q.vm_classes = true;
	if (sh_build(&q, &t->h) != 0)
		return -1;
	t->shared_tlabs = p->companion; /* the 25 line */
	t->proc = mv_new_local();
	if (!t->proc)
		return -1;
	struct builder b = {.t = t, .rng = p->seed * 0x9e3779b97f4a7c15ull + 7};
	build(&b);
	if (b.failed) {
		sl_free(t);
		return -1;
	}
	/* The ground truth: the image heap's objects and the runtime ones. */
	t->objects += t->h.objects;
	t->bytes += t->h.bytes;
	t->refs += t->h.refs;
	t->objs = realloc(t->objs, (t->nobjs + t->h.nobjs) * sizeof *t->objs);
	if (!t->objs)
		abort();
	memcpy(t->objs + t->nobjs, t->h.objs, t->h.nobjs * sizeof *t->objs);
	t->nobjs += t->h.nobjs;
	qsort(t->objs, t->nobjs, sizeof *t->objs, cmp_obj);
	return 0;
}

void sl_free(struct sl_live *t)
{
	mv_free(t->proc);
	for (size_t i = 0; i < t->nregions; i++)
		free(t->regions[i].data);
	free(t->regions);
	free(t->maps.v);
	free(t->target.tasks);
	free(t->objs);
	free(t->chunks);
	sh_free(&t->h);
	memset(t, 0, sizeof *t);
}
