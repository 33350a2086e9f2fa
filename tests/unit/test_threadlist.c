/* The IsolateThread list (symbols/threadlist.c) of synthetic live targets
 * (synthlive.h), read with the generator's layout and thread locals: every
 * thread with its OS thread, TLAB, Thread object and stack, and what the
 * list's head search does when there is none. */
#include "../../common/hd_error.h"
#include "../../symbols/threadlist.h"
#include "synthlive.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static const struct sh_params *const PRESETS[] = {&sh_ce_22_3, &sh_oracle_21, &sh_ce_25};
#define NPRESETS (sizeof PRESETS / sizeof PRESETS[0])

struct fixture {
	struct sl_live t;
	struct hd_readable r;
	struct hd_ithread *threads;
	size_t n;
};

static void setup(struct fixture *f, const struct sh_params *p)
{
	memset(f, 0, sizeof *f);
	cr_assert_eq(sl_build(p, &f->t), 0, "%s: the generator failed", p->name);
	cr_assert_eq(readable_init(&f->r, &f->t.maps), 0);
}

static int read_list(struct fixture *f)
{
	free(f->threads);
	hd_error_clear();
	return threadlist_read(f->t.proc, &f->r, &f->t.h.expect, &f->t.h.tl, &f->t.target,
			       &f->threads, &f->n);
}

static void teardown(struct fixture *f)
{
	free(f->threads);
	readable_fini(&f->r);
	sl_free(&f->t);
}

Test(threadlist, threads_as_generated)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture f;
		setup(&f, PRESETS[i]);
		cr_assert_eq(read_list(&f), 0, "%s: %s", PRESETS[i]->name, hd_error_message());
		cr_assert_eq(f.n, SL_THREADS, "%s: %zu threads", PRESETS[i]->name, f.n);
		for (size_t k = 0; k < SL_THREADS; k++) {
			const struct hd_ithread *got = &f.threads[k];
			const struct sl_thread *want = &f.t.threads[k];
			cr_assert_eq(got->addr, want->addr, "%s: thread %zu", PRESETS[i]->name, k);
			cr_assert_not_null(got->task, "%s: thread %zu has no task", PRESETS[i]->name, k);
			cr_assert_eq(got->task->tid, want->tid, "%s: thread %zu", PRESETS[i]->name, k);
			cr_assert_eq(got->thread_obj, want->thread_obj, "%s", PRESETS[i]->name);
			cr_assert_eq(got->stack_lo, want->stack_lo, "%s", PRESETS[i]->name);
			cr_assert_eq(got->stack_hi, want->stack_hi, "%s", PRESETS[i]->name);
			/* The TLAB's words by name: a live top inside [start, end]. */
			const struct hd_tlab *tlab = &got->tlab;
			if (tlab->top) {
				cr_assert_leq(tlab->start, tlab->top, "%s: thread %zu", PRESETS[i]->name, k);
				cr_assert_leq(tlab->top, tlab->end, "%s: thread %zu", PRESETS[i]->name, k);
			}
		}
		if (!f.t.shared_tlabs)
			cr_assert_eq(f.threads[0].tlab.start, f.t.tlab_chunk,
				     "%s: a whole-chunk TLAB starts at its chunk", PRESETS[i]->name);
		teardown(&f);
	}
}

/* A StackBase past the stack's mapping: the stack ends where readable
 * memory does, not where the target says. */
Test(threadlist, stack_ends_with_readable_memory)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture f;
		setup(&f, PRESETS[i]);
		uint64_t at = f.t.threads[1].addr + (unsigned)f.t.h.tl.stack_base;
		uint64_t forged = f.t.threads[1].stack_hi + (1ull << 30);
		memcpy(sl_ptr(&f.t, at), &forged, 8);
		cr_assert_eq(read_list(&f), 0, "%s: %s", PRESETS[i]->name, hd_error_message());
		cr_assert_eq(f.threads[1].stack_hi, readable_end(&f.r, f.t.threads[1].stack_lo));
		cr_assert_lt(f.threads[1].stack_hi, forged);
		teardown(&f);
	}
}

/* An isolate with no thread attached (a compiler isolate between
 * compilations): no IsolateThread carries its heap base, and no stopped
 * thread has it in r14.  That is no error: the list is empty. */
Test(threadlist, isolate_without_threads)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture f;
		setup(&f, PRESETS[i]);
		for (size_t k = 0; k < SL_THREADS; k++)
			memset(sl_ptr(&f.t, f.t.threads[k].addr + (unsigned)f.t.h.tl.isolate), 0, 8);
		for (size_t k = 0; k < f.t.target.n; k++)
			f.t.target.tasks[k].r14 = 0;
		cr_assert_eq(read_list(&f), 0, "%s: %s", PRESETS[i]->name, hd_error_message());
		cr_assert_eq(f.n, 0, "%s: %zu threads", PRESETS[i]->name, f.n);
		teardown(&f);
	}
}

/* Without a head word in the image heap, a thread stopped in Java code
 * leads to the list: its IsolateThread in r15, its heap base in r14. */
Test(threadlist, head_from_a_thread_in_java_code)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture f;
		setup(&f, PRESETS[i]);
		/* The head word, and the word beside it that leads to a freed
		 * IsolateThread whose stale link joins the list. */
		memset(sl_ptr(&f.t, f.t.h.thread_head), 0, 16);
		for (size_t k = 0; k < f.t.target.n; k++) {
			struct hd_task *task = &f.t.target.tasks[k];
			task->r14 = f.t.heap_base;
			task->r15 = f.t.threads[0].addr;
		}
		cr_assert_eq(read_list(&f), 0, "%s: %s", PRESETS[i]->name, hd_error_message());
		cr_assert_eq(f.n, SL_THREADS, "%s", PRESETS[i]->name);
		cr_assert_eq(f.threads[0].addr, f.t.threads[0].addr, "%s", PRESETS[i]->name);
		teardown(&f);
	}
}

/* The IsolateThreads in two adjacent writable mappings (as /proc/PID/maps
 * shows mappings the kernel did not merge): the head's search, which
 * merges them into one range, finds the list across the split. */
Test(threadlist, list_across_adjacent_writable_mappings)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture f;
		setup(&f, PRESETS[i]);
		uint64_t split = f.t.threads[1].addr;
		for (size_t k = 0; k < f.t.maps.n; k++) {
			struct hd_mapping *m = &f.t.maps.v[k];
			if (m->start <= split && split < m->end) {
				struct hd_mapping *v = realloc(f.t.maps.v, (f.t.maps.n + 1) * sizeof *v);
				cr_assert_not_null(v);
				f.t.maps.v = v;
				m = &v[k];
				memmove(m + 1, m, (f.t.maps.n - k) * sizeof *m);
				f.t.maps.n++;
				m->end = split;
				m[1].start = split;
				break;
			}
		}
		cr_assert_eq(read_list(&f), 0, "%s: %s", PRESETS[i]->name, hd_error_message());
		cr_assert_eq(f.n, SL_THREADS, "%s: %zu threads", PRESETS[i]->name, f.n);
		for (size_t k = 0; k < SL_THREADS; k++)
			cr_assert_eq(f.threads[k].addr, f.t.threads[k].addr, "%s: thread %zu",
				     PRESETS[i]->name, k);
		teardown(&f);
	}
}

/* Reads a clean search of F's thread list costs. */
static uint64_t list_reads(struct fixture *f)
{
	uint64_t before = mv_stats(f->t.proc).reads;
	cr_assert_eq(read_list(f), 0, "%s: %s", f->t.h.p.name, hd_error_message());
	cr_assert_eq(f->n, SL_THREADS, "%s: %zu threads", f->t.h.p.name, f->n);
	return mv_stats(f->t.proc).reads - before;
}

/* With the statics array that holds VMThreads.head named as the place to
 * look first, the head is found there and the rest of the writable image
 * heap is not read; named wrongly (a range without the head), the whole
 * writable image heap is searched as before. */
Test(threadlist, head_looked_for_first_among_the_statics)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture f;
		setup(&f, PRESETS[i]);
		uint64_t everywhere = list_reads(&f);
		uint64_t elements = f.t.h.thread_head - 8 - f.t.image_start;
		f.t.h.tl.head_from = elements;
		f.t.h.tl.head_to = elements + 64;
		uint64_t statics_only = list_reads(&f);
		cr_assert_lt(statics_only, everywhere, "%s: %llu reads, %llu without the area",
			     PRESETS[i]->name, (unsigned long long)statics_only,
			     (unsigned long long)everywhere);
		f.t.h.tl.head_from = elements + 24; /* past the head and the stale word beside it */
		cr_assert_geq(list_reads(&f), everywhere, "%s: the area, then everywhere",
			      PRESETS[i]->name);
		teardown(&f);
	}
}

/* F's list read with LEARNED: the generated threads, in order.  Returns
 * the bytes read. */
static uint64_t learn_list(struct fixture *f, uint64_t *learned)
{
	free(f->threads);
	hd_error_clear();
	uint64_t before = mv_stats(f->t.proc).bytes;
	cr_assert_eq(threadlist_read_learning(f->t.proc, &f->r, &f->t.h.expect, &f->t.h.tl,
					      &f->t.target, learned, &f->threads, &f->n),
		     0, "%s: %s", f->t.h.p.name, hd_error_message());
	cr_assert_eq(f->n, SL_THREADS, "%s: %zu threads", f->t.h.p.name, f->n);
	for (size_t k = 0; k < SL_THREADS; k++)
		cr_assert_eq(f->threads[k].addr, f->t.threads[k].addr, "%s: thread %zu",
			     f->t.h.p.name, k);
	return mv_stats(f->t.proc).bytes - before;
}

/* A search learns where VMThreads.head lies (the stale word beside it
 * leads to fewer live threads); with that word known, a scan reads it and
 * the list, not the writable image heap; a known word that leads to no
 * list is searched past, and learned again; a search that finds two words
 * with every live thread behind them learns nothing. */
Test(threadlist, head_word_learned_then_read_alone)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture f;
		setup(&f, PRESETS[i]);
		uint64_t want = f.t.h.thread_head - f.t.image_start, learned;
		uint64_t searched = learn_list(&f, &learned);
		cr_assert_eq(learned, want, "%s: learned +0x%llx, VMThreads.head is at +0x%llx",
			     PRESETS[i]->name, (unsigned long long)learned, (unsigned long long)want);
		f.t.h.tl.head_word = learned;
		uint64_t known = learn_list(&f, &learned);
		cr_assert_eq(learned, 0, "%s: nothing learned without a search", PRESETS[i]->name);
		cr_assert_lt(known, searched / 4, "%s: %llu bytes read with the word known, %llu searching",
			     PRESETS[i]->name, (unsigned long long)known,
			     (unsigned long long)searched);
		/* the Class hub's header word: no IsolateThread */
		f.t.h.tl.head_word = f.t.h.expect.class_hub - f.t.image_start;
		cr_assert_geq(learn_list(&f, &learned), searched, "%s", PRESETS[i]->name);
		cr_assert_eq(learned, want, "%s", PRESETS[i]->name);
		/* two words leading to every live thread: which is VMThreads.head
		 * is not known, and nothing is learned */
		f.t.h.tl.head_word = 0;
		memcpy(sl_ptr(&f.t, f.t.h.thread_head + 8), sl_ptr(&f.t, f.t.h.thread_head), 8);
		learn_list(&f, &learned);
		cr_assert_eq(learned, 0, "%s: learned from a tie", PRESETS[i]->name);
		teardown(&f);
	}
}

/* VMThreads.head known and null: no search runs (the writable image heap
 * is not read), and no thread is found but through one stopped in Java
 * code, as when a search finds none. */
Test(threadlist, null_head_word_is_not_searched_past)
{
	for (size_t i = 0; i < NPRESETS; i++) {
		struct fixture f;
		setup(&f, PRESETS[i]);
		uint64_t learned, searched = learn_list(&f, &learned);
		memset(sl_ptr(&f.t, f.t.h.thread_head), 0, 8);
		struct hd_target none = {0}; /* no thread's registers to fall back on */
		f.t.h.tl.head_word = learned;
		free(f.threads);
		uint64_t before = mv_stats(f.t.proc).bytes;
		cr_assert_eq(threadlist_read_learning(f.t.proc, &f.r, &f.t.h.expect, &f.t.h.tl,
						      &none, &learned, &f.threads, &f.n),
			     0, "%s", hd_error_message());
		cr_assert_lt(mv_stats(f.t.proc).bytes - before, searched / 4, "%s",
			     PRESETS[i]->name);
		cr_assert_eq(learned, 0);
		cr_assert_eq(f.n, 0, "%s: %zu threads", PRESETS[i]->name, f.n);
		teardown(&f);
	}
}
