#include "imageobjs.h"

#include "heapwalk.h"

#include <stdlib.h>
#include <string.h>

struct collect {
	struct hd_imageobjs *io;
	size_t cap;
	struct hd_release_behind behind;
};

static int reserve(struct collect *x)
{
	struct hd_imageobjs *io = x->io;
	if (io->n < x->cap)
		return 0;
	size_t cap = x->cap ? x->cap * 2 : 4096;
	uint64_t *addr = realloc(io->addr, cap * sizeof *addr);
	if (addr)
		io->addr = addr;
	uint32_t *cls = realloc(io->cls, cap * sizeof *cls);
	if (cls)
		io->cls = cls;
	uint32_t *length = realloc(io->length, cap * sizeof *length);
	if (length)
		io->length = length;
	if (!addr || !cls || !length)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	x->cap = cap;
	return 0;
}

static int collect_object(void *ctx, const struct hd_object *o)
{
	struct collect *x = ctx;
	struct hd_imageobjs *io = x->io;
	if (reserve(x) != 0)
		return -1;
	io->addr[io->n] = o->addr;
	io->cls[io->n] = (uint32_t)((const struct hd_class *)o->hubinfo.cls - io->classes->v);
	io->length[io->n] = o->length;
	io->n++;
	elfimage_passed(&x->behind, o->addr);
	return 0;
}

/* Groups the objects by class with a counting sort: the walk visited them
 * in address order, so each group comes out ascending. */
static int group_by_class(struct hd_imageobjs *io)
{
	size_t nclasses = io->classes->n;
	io->first = calloc(nclasses + 1, sizeof *io->first);
	io->by_class = malloc((io->n ? io->n : 1) * sizeof *io->by_class);
	size_t *next = malloc((nclasses + 1) * sizeof *next);
	if (!io->first || !io->by_class || !next) {
		free(next);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	for (size_t i = 0; i < io->n; i++)
		io->first[io->cls[i] + 1]++;
	for (size_t k = 0; k < nclasses; k++)
		io->first[k + 1] += io->first[k];
	memcpy(next, io->first, (nclasses + 1) * sizeof *next);
	for (size_t i = 0; i < io->n; i++)
		io->by_class[next[io->cls[i]]++] = (uint32_t)i;
	free(next);
	return 0;
}

/* The block table: one pass over the addresses, which ascend. */
static int index_blocks(struct hd_imageobjs *io, const struct hd_layout *L)
{
	io->base = L->image_start;
	io->nblocks = (size_t)(L->image_size / IMAGEOBJS_BLOCK) + 1;
	io->block = malloc((io->nblocks + 1) * sizeof *io->block);
	if (!io->block)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	size_t i = 0;
	for (size_t b = 0; b <= io->nblocks; b++) {
		uint64_t end = io->base + (uint64_t)b * IMAGEOBJS_BLOCK;
		while (i < io->n && io->addr[i] < end)
			i++;
		io->block[b] = (uint32_t)i;
	}
	return 0;
}

int imageobjs_build(struct hd_imageobjs *io, hd_memview *mv, const struct hd_layout *L,
		    const struct hd_classes *t)
{
	return imageobjs_build_releasing(io, mv, L, t, NULL);
}

int imageobjs_build_releasing(struct hd_imageobjs *io, hd_memview *mv, const struct hd_layout *L,
			      const struct hd_classes *t, const struct hd_elfimage *img)
{
	memset(io, 0, sizeof *io);
	io->classes = t;
	struct hd_walker w;
	if (hw_init(&w, L, mv, classes_lookup, (void *)t) != 0)
		return -1;
	struct collect x = {.io = io, .behind = {.img = img, .image_start = L->image_start}};
	int rc = hw_image_objects(&w, collect_object, &x);
	hw_fini(&w);
	if (rc != 0)
		return -1;
	if (io->n > UINT32_MAX)
		return hd_fail(HD_E_LAYOUT, "more than %u objects in the image heap", UINT32_MAX);
	return group_by_class(io) != 0 ? -1 : index_blocks(io, L);
}

void imageobjs_free(struct hd_imageobjs *io)
{
	free(io->addr);
	free(io->cls);
	free(io->length);
	free(io->by_class);
	free(io->first);
	free(io->block);
	memset(io, 0, sizeof *io);
}

const uint32_t *imageobjs_of(const struct hd_imageobjs *io, const struct hd_class *c, size_t *n)
{
	*n = 0;
	if (!c || !io->first || c < io->classes->v || c >= io->classes->v + io->classes->n)
		return NULL;
	size_t k = (size_t)(c - io->classes->v);
	*n = io->first[k + 1] - io->first[k];
	return io->by_class + io->first[k];
}

const uint32_t *imageobjs_named(const struct hd_imageobjs *io, const char *name, size_t *n)
{
	return imageobjs_of(io, classes_named(io->classes, name), n);
}

long imageobjs_find(const struct hd_imageobjs *io, uint64_t addr)
{
	size_t lo = 0, hi = io->n;
	if (io->block) {
		uint64_t b = (addr - io->base) / IMAGEOBJS_BLOCK;
		if (addr < io->base || b >= io->nblocks)
			return -1;
		lo = io->block[b];
		hi = io->block[b + 1];
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (io->addr[mid] < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < io->n && io->addr[lo] == addr ? (long)lo : -1;
}

const struct hd_class *imageobjs_class_at(const struct hd_imageobjs *io, uint64_t addr)
{
	long i = imageobjs_find(io, addr);
	return i < 0 ? NULL : &io->classes->v[io->cls[i]];
}

int imageobjs_array_refs(const struct hd_imageobjs *io, hd_memview *mv, const struct hd_layout *L,
			 uint64_t addr, uint32_t max, uint64_t **refs, uint32_t *n)
{
	*refs = NULL;
	*n = 0;
	long i = imageobjs_find(io, addr);
	const struct hd_class *c = i < 0 ? NULL : &io->classes->v[io->cls[i]];
	if (!c || c->kind != HD_KIND_OBJ_ARRAY)
		return hd_fail(HD_E_LAYOUT, "no object array at 0x%llx", (unsigned long long)addr);
	uint32_t len = io->length[i];
	if (len > max)
		return hd_fail(HD_E_LAYOUT, "%s of %u elements", c->name, len);
	unsigned rs = L->ref_size;
	uint8_t *raw = malloc((size_t)len * rs + 1);
	uint64_t *v = malloc((size_t)len * sizeof *v + 1);
	if (!raw || !v) {
		free(raw);
		free(v);
		return hd_fail(HD_E_INTERNAL, "out of memory");
	}
	if (lay_read_image(mv, addr + le_base(c->enc), raw, (size_t)len * rs, c->name) != 0) {
		free(raw);
		free(v);
		return -1;
	}
	for (uint32_t k = 0; k < len; k++)
		v[k] = lay_ref(L, raw + (size_t)k * rs);
	free(raw);
	*refs = v;
	*n = len;
	return 0;
}
