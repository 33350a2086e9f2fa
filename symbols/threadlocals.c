#include "threadlocals.h"

#include "heapwalk.h"
#include "../common/hd_error.h"

#include <stdlib.h>
#include <string.h>

#define MAX_INFOS 4096

struct collect {
	uint64_t hub;
	uint64_t v[MAX_INFOS];
	size_t n;
	struct hd_release_behind behind;
};

static int collect_cb(void *ctx, const struct hd_object *o)
{
	struct collect *c = ctx;
	elfimage_passed(&c->behind, o->addr);
	if (o->hub == c->hub && c->n < MAX_INFOS)
		c->v[c->n++] = o->addr;
	return 0;
}

/* The searches below try fields that may hold anything: a read that
 * fails rules the field out and records nothing. */
static bool try_i32(hd_memview *mv, uint64_t a, int32_t *v)
{
	return mv_try_read(mv, a, v, 4) == 0;
}

int threadlocals_discover(hd_memview *mv, const struct hd_layout *L,
			  const struct hd_classes *classes, struct hd_threadlocals *out)
{
	return threadlocals_discover_releasing(mv, L, classes, out, NULL);
}

int threadlocals_discover_releasing(hd_memview *mv, const struct hd_layout *L,
				    const struct hd_classes *classes, struct hd_threadlocals *out,
				    const struct hd_elfimage *img)
{
	const struct hd_class *info = classes_named(classes, "com.oracle.svm.core.threadlocal.VMThreadLocalInfo");
	if (!info)
		return hd_fail(HD_E_LAYOUT, "the image has no VMThreadLocalInfo table");
	struct collect *c = calloc(1, sizeof *c);
	if (!c)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	c->hub = info->hub;
	c->behind = (struct hd_release_behind){.img = img, .image_start = L->image_start};
	struct hd_walker w;
	int rc = hw_init(&w, L, mv, classes_lookup, (void *)classes);
	if (rc == 0) {
		rc = hw_image_objects(&w, collect_cb, c);
		hw_fini(&w);
	}
	char **names = calloc(c->n + 1, sizeof *names);
	int32_t *offs = calloc(c->n + 1, sizeof *offs);
	if (rc != 0 || !names || !offs) {
		if (rc == 0)
			rc = hd_fail(HD_E_INTERNAL, "out of memory");
		goto out;
	}
	/* The name: the reference field that holds a String in every entry. */
	int name_off = -1;
	for (size_t f = 0; f < info->nfields && name_off < 0; f++) {
		if (info->fields[f].type != HD_T_OBJECT)
			continue;
		bool all = c->n > 0;
		for (size_t i = 0; i < c->n && all; i++) {
			uint8_t raw[8] = {0};
			uint64_t s = 0, hub = 0, h = 0;
			all = mv_try_read(mv, c->v[i] + info->fields[f].offset, raw, L->ref_size) == 0 &&
			      (s = lay_ref(L, raw)) != 0 && mv_try_read(mv, s, &h, L->hdr_size) == 0 &&
			      (hub = lay_hub_from_header(L, h)) == L->string_hub;
		}
		if (all)
			name_off = (int)info->fields[f].offset;
	}
	/* The offset: the int field whose values are distinct, small and aligned
	 * in every entry (sizes and bounds repeat; hashes are large). */
	int offset_off = -1;
	for (size_t f = 0; f < info->nfields && offset_off < 0 && name_off >= 0; f++) {
		if (info->fields[f].type != HD_T_INT)
			continue;
		bool ok = c->n > 1;
		for (size_t i = 0; i < c->n && ok; i++) {
			ok = try_i32(mv, c->v[i] + info->fields[f].offset, &offs[i]) &&
			     offs[i] >= 0 && offs[i] < (1 << 16);
			for (size_t k = 0; k < i && ok; k++)
				ok = offs[k] != offs[i];
		}
		if (ok)
			offset_off = (int)info->fields[f].offset;
	}
	if (name_off < 0 || offset_off < 0) {
		rc = hd_fail(HD_E_LAYOUT, "cannot read the VMThreadLocalInfo table (%zu entries)", c->n);
		goto out;
	}
	struct {
		const char *name;
		int *slot;
	} wanted[] = {
		{"VMThreads.IsolateTL", &out->isolate},
		{"VMThreads.OSThreadIdTL", &out->os_thread_id},
		{"VMThreads.OSThreadHandleTL", &out->os_thread_handle},
		{"VMThreads.nextTL", &out->next},
		{"VMThreads.StackBase", &out->stack_base},
		{"ThreadLocalAllocation.regularTLAB", &out->tlab},
		{"PlatformThreads.currentThread", &out->current_thread},
		{"JavaThreads.currentThread", &out->current_thread},
		{"JavaFrameAnchors.lastAnchor", &out->last_anchor},
		{"StatusSupport.statusTL", &out->status},
		{"StatusSupport.status", &out->status},
	};
	for (size_t k = 0; k < sizeof wanted / sizeof wanted[0]; k++)
		*wanted[k].slot = -1;
	out->extent = 0;
	for (size_t i = 0; i < c->n; i++) {
		uint8_t raw[8] = {0};
		if (lay_read_image(mv, c->v[i] + (unsigned)name_off, raw, L->ref_size,
				   "thread-local name") != 0) {
			rc = -1;
			goto out;
		}
		names[i] = lay_read_string(mv, L, lay_ref(L, raw));
		if (!names[i]) {
			rc = -1;
			goto out;
		}
		for (size_t k = 0; k < sizeof wanted / sizeof wanted[0]; k++)
			if (strcmp(names[i], wanted[k].name) == 0)
				*wanted[k].slot = offs[i];
		if ((unsigned)offs[i] + 32 > out->extent)
			out->extent = (unsigned)offs[i] + 32;
	}
	if (out->isolate < 0 || out->next < 0 || out->tlab < 0 || out->os_thread_handle < 0) {
		rc = hd_fail(HD_E_LAYOUT, "the thread-local table lacks VMThreads.IsolateTL, nextTL, "
					  "OSThreadHandleTL or the TLAB");
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; names && i < c->n; i++)
		free(names[i]);
	free(names);
	free(offs);
	free(c);
	return rc;
}
