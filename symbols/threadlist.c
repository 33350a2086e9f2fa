#include "threadlist.h"

#include "addrmap.h"
#include "../common/interrupt.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096u

static bool rd64(hd_memview *mv, uint64_t a, uint64_t *v) { return mv_try_read(mv, a, v, 8) == 0; }

static const struct hd_task *match_task(const struct hd_target *t, uint64_t handle, uint64_t id)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct hd_task *task = &t->tasks[i];
		if ((task->have_regs && (task->fs_base == handle || task->fs_base == id)) ||
		    (uint64_t)task->tid == id)
			return task;
	}
	return NULL;
}

/* What links an IsolateThread into its isolate's list. */
struct node {
	uint64_t next;
	const struct hd_task *task; /* its OS thread among the stopped ones, or NULL */
};

/* Reads the node at P: its isolate word (first, so that a word that is not
 * a node of HEAP_BASE's isolate costs one read), its link and its OS
 * thread's identifiers.  False (nothing recorded) when it is not a node of
 * that isolate. */
static bool read_node(hd_memview *mv, const struct hd_threadlocals *tl, const struct hd_target *t,
		      uint64_t heap_base, uint64_t p, struct node *out)
{
	uint64_t iso, handle = 0, id = 0;
	if (!rd64(mv, p + (unsigned)tl->isolate, &iso) || iso != heap_base ||
	    !rd64(mv, p + (unsigned)tl->next, &out->next))
		return false;
	/* Either identifier may be missing: the other then matches. */
	if (!rd64(mv, p + (unsigned)tl->os_thread_handle, &handle))
		handle = 0;
	if (tl->os_thread_id >= 0 && !rd64(mv, p + (unsigned)tl->os_thread_id, &id))
		id = 0;
	out->task = match_task(t, handle, id);
	return true;
}

/* The search for the thread list's head: every list node is evaluated
 * once (how many nodes and live threads follow it), whichever candidate
 * word leads to it, so the work grows with the nodes, not with the
 * candidates times the list length.  Only nodes that carry this isolate's
 * word are remembered, and every candidate that is not remembered yet
 * costs a read: both are bounded, so a writable image heap full of
 * pointer-like words costs a bounded number of reads and no memory. */
#define HEAD_STEPS_BUDGET (1u << 14) /* nodes reached through links, in all */
#define NODE_VISITING UINT64_MAX     /* on the path being evaluated: a cycle */
#define NODE_BAD (UINT64_MAX - 1)    /* not a proper list of this isolate */

struct head_search {
	hd_memview *mv;
	const struct hd_threadlocals *tl;
	uint64_t heap_base;
	const struct hd_target *t;
	struct addr_map nodes; /* node of this isolate -> 1 + (length << 16 | live
				  threads), a mark, or 0: not judged */
	unsigned steps, candidates;
};

static uint64_t node_result(uint64_t len, uint64_t live) { return 1 + (len << 16 | live); }

/* How many live threads the list starting at P holds, in *LIVE; 0 if it is
 * not a proper list of this isolate's threads (freed IsolateThreads keep
 * their isolate word, and their stale links can form cycles).  Returns 0,
 * or -1 (error recorded): out of memory or over a budget. */
static int live_chain_length(struct head_search *s, uint64_t p, uint64_t *live)
{
	struct {
		uint64_t node;
		bool live;
	} path[THREADLIST_MAX + 1];
	size_t n = 0;
	uint64_t base = node_result(0, 0), q = p;
	while (q) {
		uint64_t known = addr_get(&s->nodes, q);
		struct node node;
		if (known) {
			base = known == NODE_VISITING ? NODE_BAD : known;
			break;
		}
		if (n == THREADLIST_MAX) {
			/* Too long from here; a later node may still head a
			 * proper list, so the path stays unjudged (0). */
			base = 0;
			break;
		}
		if (n > 0 && ++s->steps > HEAD_STEPS_BUDGET)
			return hd_fail(HD_E_INCONSISTENT,
				       "thread lists of more than %u IsolateThreads in all: not a live isolate",
				       HEAD_STEPS_BUDGET);
		if (n == 0 && ++s->candidates > ISOLATE_HEAD_CANDIDATES_MAX)
			return hd_fail(HD_E_INCONSISTENT,
				       "more than %u words of the image heap point at writable memory "
				       "that may hold the thread list: not a live isolate",
				       ISOLATE_HEAD_CANDIDATES_MAX);
		if (!read_node(s->mv, s->tl, s->t, s->heap_base, q, &node)) {
			base = NODE_BAD; /* not remembered: the budgets bound its cost */
			break;
		}
		if (addr_put(&s->nodes, q, NODE_VISITING) != 0)
			return -1;
		path[n].node = q;
		path[n++].live = node.task != NULL;
		q = node.next;
	}
	/* Every node on the path gets its result, from the end back. */
	while (n--) {
		if (base && base != NODE_BAD) {
			uint64_t len = ((base - 1) >> 16) + 1, lv = ((base - 1) & 0xffff) + path[n].live;
			base = len > THREADLIST_MAX ? NODE_BAD : node_result(len, lv);
		}
		if (addr_put(&s->nodes, path[n].node, base) != 0)
			return -1;
	}
	*live = !base || base == NODE_BAD ? 0 : (base - 1) & 0xffff;
	return 0;
}

/* The readable and writable ranges of a process, adjacent mappings merged,
 * ascending: where a thread list can be.  Most pointer-like words of an
 * image heap are code addresses or offsets below the first such range, or
 * garbage above the last, and are turned away by two comparisons. */
struct rw_ranges {
	struct rw_range {
		uint64_t from, to;
	} *v;
	size_t n;
	size_t last; /* the range the last word fell in: the next often does too */
};

static int rw_ranges_build(struct rw_ranges *rw, const struct hd_maps *maps)
{
	*rw = (struct rw_ranges){.v = malloc((maps->n ? maps->n : 1) * sizeof *rw->v)};
	if (!rw->v)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < maps->n; i++) {
		const struct hd_mapping *m = &maps->v[i];
		if (!m->r || !m->w)
			continue;
		if (rw->n && rw->v[rw->n - 1].to == m->start)
			rw->v[rw->n - 1].to = m->end;
		else
			rw->v[rw->n++] = (struct rw_range){m->start, m->end};
	}
	return 0;
}

static bool rw_ranges_hold(struct rw_ranges *rw, uint64_t p)
{
	if (!rw->n || p < rw->v[0].from || p >= rw->v[rw->n - 1].to)
		return false;
	if (p >= rw->v[rw->last].from && p < rw->v[rw->last].to)
		return true;
	size_t lo = 0, hi = rw->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p < rw->v[mid].from) {
			hi = mid;
		} else if (p >= rw->v[mid].to) {
			lo = mid + 1;
		} else {
			rw->last = mid;
			return true;
		}
	}
	return false;
}

/* The best candidate so far: the word with the most live threads behind
 * it, where it lies, and whether another word had as many. */
struct head_best {
	uint64_t head, live, word;
	bool tie;
};

#define SCAN_PIECE (1u << 20)

/* Judges every candidate word of the writable memory in [LO, HI) (within
 * the image heap) into *BEST; BUF holds SCAN_PIECE bytes.  Returns 0, or
 * -1 (error recorded). */
static int scan_candidates(struct head_search *s, const struct hd_maps *maps,
			   struct rw_ranges *rw, const struct hd_layout *L, uint64_t lo, uint64_t hi,
			   uint8_t *buf, struct head_best *best)
{
	/* From the lowest writable byte (above the zero page) to the highest: one
	 * unsigned comparison turns away most words, small numbers, code
	 * addresses and garbage alike. */
	uint64_t span_from = rw->n && rw->v[0].from > PAGE ? rw->v[0].from : PAGE;
	uint64_t span = rw->n && rw->v[rw->n - 1].to > span_from ? rw->v[rw->n - 1].to - span_from : 0;
	lo &= ~7ull;
	for (size_t i = 0; i < maps->n; i++) {
		const struct hd_mapping *m = &maps->v[i];
		if (!m->w || !m->r || m->end <= lo || m->start >= hi)
			continue;
		uint64_t end = m->end < hi ? m->end : hi;
		for (uint64_t a = m->start > lo ? m->start : lo; a < end; a += SCAN_PIECE) {
			size_t len = (size_t)(end - a < SCAN_PIECE ? end - a : SCAN_PIECE);
			if (mv_try_read(s->mv, a, buf, len) != 0)
				continue;
			if (hd_interrupted())
				return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d",
					       hd_interrupted_signal());
			for (size_t k = 0; k + 8 <= len; k += 8) {
				uint64_t p = ld_u64(buf + k), n;
				if (p - span_from >= span || (p & 7) || p - L->image_start < L->image_size ||
				    !rw_ranges_hold(rw, p))
					continue;
				if (live_chain_length(s, p, &n) != 0)
					return -1;
				if (n > best->live)
					*best = (struct head_best){p, n, a + k, false};
				else if (n && n == best->live)
					best->tie = true;
			}
		}
	}
	return 0;
}

/* The head as the word at TL->head_word says: true with *HEAD set (0: the
 * word is null, no thread is attached) when it holds; false when the
 * search must run (unknown, unreadable, or no proper list with a live
 * thread behind it), or on an error (*RC -1). */
static bool known_head(struct head_search *s, const struct hd_layout *L,
		       const struct hd_threadlocals *tl, uint64_t *head, int *rc)
{
	uint64_t p, live = 0;
	if (!tl->head_word || tl->head_word % 8 || L->image_size < 8 ||
	    tl->head_word > L->image_size - 8 ||
	    !rd64(s->mv, L->image_start + tl->head_word, &p))
		return false;
	if (p && (*rc = live_chain_length(s, p, &live)) != 0)
		return false;
	if (p && !live)
		return false;
	*head = p;
	return true;
}

/* The search for the head: VMThreads.head is a word in the writable
 * image heap.  Any word there that points at an IsolateThread of this heap
 * is a candidate; the head is the one with the most live threads behind it.
 * A static word lives among the primitive statics array's elements (TL's
 * head area): when a list is found there, the true head is among those
 * candidates and no word elsewhere can have more live threads behind it,
 * so the rest of the writable image heap (tens of MB) is not read.
 * Returns 0 with *BEST (head 0: none found), or -1. */
static int search_head(struct head_search *s, const struct hd_maps *maps,
		       const struct hd_layout *L, const struct hd_threadlocals *tl,
		       struct head_best *best)
{
	struct rw_ranges rw;
	if (rw_ranges_build(&rw, maps) != 0)
		return -1;
	uint8_t *buf = malloc(SCAN_PIECE);
	int rc = buf ? 0 : hd_fail(HD_E_INTERNAL, "out of memory");
	if (rc == 0 && tl->head_from < tl->head_to && tl->head_to <= L->image_size)
		rc = scan_candidates(s, maps, &rw, L, L->image_start + tl->head_from,
				     L->image_start + tl->head_to, buf, best);
	if (rc == 0 && !best->head)
		rc = scan_candidates(s, maps, &rw, L, L->image_start,
				     L->image_start + L->image_size, buf, best);
	free(rw.v);
	free(buf);
	return rc;
}

/* The head of the thread list: the word TL->head_word names, else the
 * search's.  Returns 0 and *HEAD (0: none found) and *LEARNED (as
 * threadlist_read_learning), or -1. */
static int find_thread_head(hd_memview *mv, const struct hd_maps *maps, const struct hd_layout *L,
			    const struct hd_threadlocals *tl, const struct hd_target *t,
			    uint64_t *head, uint64_t *learned)
{
	struct head_search s = {.mv = mv, .tl = tl, .heap_base = L->heap_base, .t = t};
	struct head_best best = {0};
	int rc = 0;
	*learned = 0;
	if (!known_head(&s, L, tl, &best.head, &rc) && rc == 0) {
		rc = search_head(&s, maps, L, tl, &best);
		if (rc == 0 && best.head && !best.tie)
			*learned = best.word - L->image_start;
	}
	addr_map_free(&s.nodes);
	uint64_t found = best.head;
	/* Without a static head, a thread stopped in Java code has its
	 * IsolateThread in r15 (and the heap base in r14). */
	for (size_t i = 0; rc == 0 && !found && i < t->n; i++) {
		const struct hd_task *task = &t->tasks[i];
		uint64_t iso;
		if (task->have_regs && task->r14 == L->heap_base &&
		    rd64(mv, task->r15 + (unsigned)tl->isolate, &iso) && iso == L->heap_base)
			found = task->r15;
	}
	*head = found;
	return rc;
}

/* Reads what a dump needs of the IsolateThread at TH->addr: its TLAB, its
 * java.lang.Thread and the bounds of its stack. */
static int read_thread(hd_memview *mv, const struct hd_readable *r, const struct hd_layout *L,
		       const struct hd_threadlocals *tl, struct hd_ithread *th)
{
	uint8_t tlab[HD_TLAB_SIZE];
	if (mv_read(mv, th->addr + (unsigned)tl->tlab, tlab, sizeof tlab) != 0)
		return -1;
	th->tlab = (struct hd_tlab){ld_u64(tlab), ld_u64(tlab + 8), ld_u64(tlab + 16),
				    ld_u64(tlab + 24)};
	if (tl->current_thread >= 0) {
		uint8_t raw[8] = {0};
		if (mv_read(mv, th->addr + (unsigned)tl->current_thread, raw, L->ref_size) != 0)
			return -1;
		th->thread_obj = lay_ref(L, raw);
	}
	if (tl->stack_base >= 0 && !rd64(mv, th->addr + (unsigned)tl->stack_base, &th->stack_hi))
		th->stack_hi = 0;
	/* The stack: from the stopped thread's rsp up to StackBase, within
	 * the run of adjacent readable mappings that holds rsp (a copy or
	 * scan is no bigger). */
	uint64_t readable = th->task ? readable_end(r, th->task->rsp) : 0;
	if (readable) {
		th->stack_lo = th->task->rsp;
		if (th->stack_hi <= th->stack_lo || th->stack_hi > readable)
			th->stack_hi = readable;
	} else {
		th->stack_hi = 0;
	}
	return 0;
}

int threadlist_read(hd_memview *mv, const struct hd_readable *r, const struct hd_layout *L,
		    const struct hd_threadlocals *tl, const struct hd_target *t,
		    struct hd_ithread **threads, size_t *n)
{
	uint64_t learned;
	return threadlist_read_learning(mv, r, L, tl, t, &learned, threads, n);
}

int threadlist_read_learning(hd_memview *mv, const struct hd_readable *r,
			     const struct hd_layout *L, const struct hd_threadlocals *tl,
			     const struct hd_target *t, uint64_t *learned,
			     struct hd_ithread **threads, size_t *n)
{
	*threads = NULL;
	*n = 0;
	uint64_t p = 0;
	if (find_thread_head(mv, r->maps, L, tl, t, &p, learned) != 0)
		return -1;
	struct hd_ithread *v = calloc(THREADLIST_MAX, sizeof *v);
	if (!v)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	*threads = v;
	while (p) {
		struct node node;
		if (!read_node(mv, tl, t, L->heap_base, p, &node))
			return hd_fail(HD_E_INCONSISTENT,
				       "thread list entry 0x%" PRIx64 " is no IsolateThread of this isolate",
				       p);
		if (*n == THREADLIST_MAX)
			return hd_fail(HD_E_INCONSISTENT, "thread list does not end");
		struct hd_ithread *th = &v[(*n)++];
		*th = (struct hd_ithread){.addr = p, .task = node.task};
		if (read_thread(mv, r, L, tl, th) != 0)
			return -1;
		p = node.next;
	}
	return 0;
}
