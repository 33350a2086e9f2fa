/* The thread-local table (symbols/threadlocals.c) read from synthetic image
 * heaps that carry a running VM's VMThreadLocalInfo entries: every offset
 * the generator placed, and refusals of a table that does not read. */
#include "../../common/hd_error.h"
#include "../../symbols/classes.h"
#include "../../symbols/threadlocals.h"
#include "synthheap.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static const struct sh_params *const PRESETS[] = {&sh_ce_22_3, &sh_oracle_21, &sh_ce_25};
#define NPRESETS (sizeof PRESETS / sizeof PRESETS[0])

struct fixture {
	struct sh_params p;
	struct sh_heap h;
	hd_memview *mv;
	struct hd_classes classes;
};

/* The heap of P with a running VM's classes, and its class table. */
static void setup(struct fixture *f, const struct sh_params *p)
{
	memset(f, 0, sizeof *f);
	f->p = *p;
	f->p.vm_classes = true;
	cr_assert_eq(sh_build(&f->p, &f->h), 0, "%s: the generator failed", p->name);
	f->mv = sh_view(&f->h);
	uint64_t *hubs = sh_hubs(&f->h);
	cr_assert(f->mv && hubs);
	cr_assert_eq(classes_build(&f->classes, f->mv, &f->h.expect, hubs, f->h.nclasses), 0, "%s",
		     hd_error_message());
	free(hubs);
}

static void teardown(struct fixture *f)
{
	classes_free(&f->classes);
	mv_free(f->mv);
	sh_free(&f->h);
}

Test(threadlocals, offsets_as_generated)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture f;
		setup(&f, PRESETS[i]);
		struct hd_threadlocals tl;
		memset(&tl, 0x55, sizeof tl);
		cr_assert_eq(threadlocals_discover(f.mv, &f.h.expect, &f.classes, &tl), 0, "%s: %s",
			     PRESETS[i]->name, hd_error_message());
		const struct hd_threadlocals *want = &f.h.tl;
		cr_assert_eq(tl.isolate, want->isolate, "%s", PRESETS[i]->name);
		cr_assert_eq(tl.os_thread_id, want->os_thread_id, "%s", PRESETS[i]->name);
		cr_assert_eq(tl.os_thread_handle, want->os_thread_handle, "%s", PRESETS[i]->name);
		cr_assert_eq(tl.next, want->next, "%s", PRESETS[i]->name);
		cr_assert_eq(tl.stack_base, want->stack_base, "%s", PRESETS[i]->name);
		cr_assert_eq(tl.tlab, want->tlab, "%s", PRESETS[i]->name);
		cr_assert_eq(tl.current_thread, want->current_thread, "%s", PRESETS[i]->name);
		cr_assert_geq(tl.extent, (unsigned)want->tlab + 32, "%s: the TLAB is covered",
			      PRESETS[i]->name);
		teardown(&f);
	}
}

/* Overwrites the first occurrence of NAME's Latin-1 bytes in the heap. */
static void rename_local(struct fixture *f, const char *name, const char *to)
{
	uint8_t *p = memmem(f->h.data, f->h.size, name, strlen(name));
	cr_assert_not_null(p, "the generator wrote no %s", name);
	memcpy(p, to, strlen(to));
}

/* The list cannot be followed without its link: a table without nextTL is
 * refused, as the image's data (HD_E_LAYOUT). */
Test(threadlocals, table_without_the_list_link_is_refused)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture f;
		setup(&f, PRESETS[i]);
		rename_local(&f, "VMThreads.nextTL", "VMThreads.nextXX");
		struct hd_threadlocals tl;
		hd_error_clear();
		cr_assert_eq(threadlocals_discover(f.mv, &f.h.expect, &f.classes, &tl), -1, "%s",
			     PRESETS[i]->name);
		cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", hd_error_message());
		cr_assert_not_null(strstr(hd_error_message(), "nextTL"), "%s", hd_error_message());
		teardown(&f);
	}
}

Test(threadlocals, image_without_the_table_is_refused)
{
	struct sh_heap h;
	cr_assert_eq(sh_build(&sh_ce_25, &h), 0);
	hd_memview *mv = sh_view(&h);
	uint64_t *hubs = sh_hubs(&h);
	struct hd_classes classes;
	cr_assert_eq(classes_build(&classes, mv, &h.expect, hubs, h.nclasses), 0);
	struct hd_threadlocals tl;
	hd_error_clear();
	cr_assert_eq(threadlocals_discover(mv, &h.expect, &classes, &tl), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", hd_error_message());
	cr_assert_not_null(strstr(hd_error_message(), "VMThreadLocalInfo"), "%s", hd_error_message());
	classes_free(&classes);
	free(hubs);
	mv_free(mv);
	sh_free(&h);
}
