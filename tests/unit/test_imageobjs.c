/* The image-object index (symbols/imageobjs.c) on synthetic image heaps:
 * every generated object is listed once, under its own class, in address
 * order, and nothing else is; lookups by address accept object starts only;
 * an object array's references are read as they are. */
#include "../../common/hd_error.h"
#include "../../common/interrupt.h"
#include "../../symbols/classes.h"
#include "../../symbols/imageobjs.h"
#include "synthheap.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void check_index(const struct sh_params *p)
{
	struct sh_heap h;
	cr_assert_eq(sh_build(p, &h), 0);
	hd_memview *mv = sh_view(&h);
	uint64_t *hubs = sh_hubs(&h);
	struct hd_classes t;
	cr_assert_eq(classes_build(&t, mv, &h.expect, hubs, h.nclasses), 0, "%s", hd_error_message());
	struct hd_imageobjs io;
	cr_assert_eq(imageobjs_build(&io, mv, &h.expect, &t), 0, "%s: %s", p->name,
		     hd_error_message());
	cr_assert_eq(io.n, h.nobjs, "%s: %zu objects, generated %zu", p->name, io.n, h.nobjs);
	for (size_t i = 0; i < h.nobjs; i++) {
		const struct sh_object *o = &h.objs[i];
		const struct sh_class *want = &h.classes[o->cls];
		cr_assert_eq(imageobjs_find(&io, o->addr), (long)i, "%s: object %zu", p->name, i);
		const struct hd_class *c = imageobjs_class_at(&io, o->addr);
		cr_assert_not_null(c);
		cr_assert_eq(c->hub, want->hub, "%s: %s at %#llx", p->name, want->name,
			     (unsigned long long)o->addr);
		cr_assert_null(imageobjs_class_at(&io, o->addr + 4), "inside an object");
	}
	/* Outside the image heap, on either side of its block table. */
	uint64_t start = h.expect.image_start, end = start + h.expect.image_size;
	cr_assert_eq(imageobjs_find(&io, start - 8), -1);
	cr_assert_eq(imageobjs_find(&io, 0), -1);
	cr_assert_eq(imageobjs_find(&io, end), -1);
	cr_assert_eq(imageobjs_find(&io, end + 4 * IMAGEOBJS_BLOCK), -1);
	cr_assert_eq(imageobjs_find(&io, UINT64_MAX - 7), -1);
	/* Each class lists exactly its generated instances, ascending. */
	for (size_t k = 0; k < h.nclasses; k++) {
		const struct sh_class *want = &h.classes[k];
		size_t n;
		const uint32_t *v = imageobjs_named(&io, want->name, &n);
		cr_assert_eq(n, want->count, "%s: %s has %zu instances, generated %llu", p->name,
			     want->name, n, (unsigned long long)want->count);
		for (size_t i = 0; i < n; i++) {
			cr_assert_eq(io.classes->v[io.cls[v[i]]].hub, want->hub);
			if (i)
				cr_assert_gt(io.addr[v[i]], io.addr[v[i - 1]]);
		}
		if (n)
			cr_assert_eq(io.addr[v[0]], want->first, "%s: first %s", p->name, want->name);
	}
	size_t n = 1;
	cr_assert_null(imageobjs_named(&io, "no.such.Class", &n));
	cr_assert_eq(n, 0);
	imageobjs_free(&io);
	classes_free(&t);
	free(hubs);
	mv_free(mv);
	sh_free(&h);
}

Test(imageobjs, ce_22_3) { check_index(&sh_ce_22_3); }
Test(imageobjs, oracle_21) { check_index(&sh_oracle_21); }
Test(imageobjs, ce_25) { check_index(&sh_ce_25); }

/* A damaged chunk is refused as image data, not half-listed. */
Test(imageobjs, damaged_heap_is_refused)
{
	struct sh_heap h;
	cr_assert_eq(sh_build(&sh_ce_25, &h), 0);
	hd_memview *mv = sh_view(&h);
	uint64_t *hubs = sh_hubs(&h);
	struct hd_classes t;
	cr_assert_eq(classes_build(&t, mv, &h.expect, hubs, h.nclasses), 0);
	/* The header of the last object now names no hub. */
	sh_put_header(&h, h.objs[h.nobjs - 1].addr, h.start + 8);
	struct hd_imageobjs io;
	hd_error_clear();
	cr_assert_eq(imageobjs_build(&io, mv, &h.expect, &t), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", hd_error_message());
	imageobjs_free(&io);
	classes_free(&t);
	free(hubs);
	mv_free(mv);
	sh_free(&h);
}

/* An object array's references, as read: the generated Object[] of ten
 * [Integer, "hello", Integer, HashMap, null...]; no array where an
 * instance starts, and none longer than asked for. */
Test(imageobjs, object_array_references)
{
	struct sh_heap h;
	cr_assert_eq(sh_build(&sh_oracle_21, &h), 0); /* compressed references */
	hd_memview *mv = sh_view(&h);
	uint64_t *hubs = sh_hubs(&h);
	struct hd_classes t;
	cr_assert_eq(classes_build(&t, mv, &h.expect, hubs, h.nclasses), 0);
	struct hd_imageobjs io;
	cr_assert_eq(imageobjs_build(&io, mv, &h.expect, &t), 0, "%s", hd_error_message());
	uint64_t arr = sh_nth(&h, "[Ljava.lang.Object;", 0)->addr, *refs;
	uint32_t n;
	cr_assert_eq(imageobjs_array_refs(&io, mv, &h.expect, arr, 10, &refs, &n), 0, "%s",
		     hd_error_message());
	cr_assert_eq(n, 10);
	cr_assert_eq(refs[0], sh_nth(&h, "java.lang.Integer", 2)->addr);
	cr_assert_eq(refs[3], sh_nth(&h, "java.util.HashMap", 0)->addr);
	for (uint32_t k = 4; k < n; k++)
		cr_assert_eq(refs[k], 0);
	free(refs);

	cr_assert_eq(imageobjs_array_refs(&io, mv, &h.expect, arr, 9, &refs, &n), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	cr_assert_null(refs);
	uint64_t map = sh_nth(&h, "java.util.HashMap", 0)->addr;
	cr_assert_eq(imageobjs_array_refs(&io, mv, &h.expect, map, 10, &refs, &n), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	cr_assert_eq(imageobjs_array_refs(&io, mv, &h.expect, arr + 4, 10, &refs, &n), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT);
	imageobjs_free(&io);
	classes_free(&t);
	free(hubs);
	mv_free(mv);
	sh_free(&h);
}

/* A pending SIGINT ends the walk (hw_image_objects polls between chunks). */
Test(imageobjs, pending_sigint_ends_the_walk)
{
	struct sh_heap h;
	cr_assert_eq(sh_build(&sh_ce_22_3, &h), 0);
	hd_memview *mv = sh_view(&h);
	uint64_t *hubs = sh_hubs(&h);
	struct hd_classes t;
	cr_assert_eq(classes_build(&t, mv, &h.expect, hubs, h.nclasses), 0);
	struct hd_imageobjs io;
	hd_install_signal_handlers();
	cr_assert_eq(raise(SIGINT), 0);
	hd_error_clear();
	cr_assert_eq(imageobjs_build(&io, mv, &h.expect, &t), -1);
	cr_assert_eq(hd_error_class(), HD_E_INTERRUPTED, "%s", hd_error_message());
	imageobjs_free(&io);
	classes_free(&t);
	free(hubs);
	mv_free(mv);
	sh_free(&h);
}
