#include "stackwalk.h"

#include "../common/grow.h"
#include "../common/hd_error.h"
#include "../common/interrupt.h"

#include <stdlib.h>
#include <string.h>

/* A JavaFrameAnchor is a raw structure of three words (previous anchor,
 * last Java sp, last Java ip) in an order the image builder chooses;
 * newer releases put a magic word before and after them (garbage unless
 * verification is on).  Each of the three is told by what it points at:
 * the ip into compiled code, the sp into the stack below the anchor (which
 * lives in that frame), the previous anchor into the stack above it, or 0.
 * So the three are looked for in each window of three adjacent words. */
#define ANCHOR_MAX_WORDS 5

static bool classify_anchor(const struct hd_codeinfo *ci, const uint64_t *w, uint64_t anchor,
			    uint64_t lo, uint64_t hi, uint64_t *sp, uint64_t *ip, uint64_t *prev)
{
	unsigned nsp = 0, nip = 0, nprev = 0;
	for (unsigned i = 0; i < 3; i++) {
		if (codeinfo_contains(ci, w[i])) {
			*ip = w[i];
			nip++;
		} else if (w[i] >= lo && w[i] <= anchor && w[i] % 8 == 0) {
			*sp = w[i];
			nsp++;
		} else if (!w[i] || (w[i] > anchor && w[i] < hi && w[i] % 8 == 0)) {
			*prev = w[i];
			nprev++;
		}
	}
	return nip == 1 && nsp == 1 && nprev == 1;
}

static bool read_anchor(const struct hd_codeinfo *ci, hd_memview *mv, uint64_t anchor,
			uint64_t lo, uint64_t hi, uint64_t *sp, uint64_t *ip, uint64_t *prev)
{
	uint64_t w[ANCHOR_MAX_WORDS];
	if (anchor < lo || anchor >= hi || anchor % 8 || mv_try_read(mv, anchor, w, 3 * 8) != 0)
		return false;
	for (unsigned at = 0;; at++) {
		if (classify_anchor(ci, w + at, anchor, lo, hi, sp, ip, prev))
			return true;
		if (at + 3 >= ANCHOR_MAX_WORDS ||
		    mv_try_read(mv, anchor + 8 * (at + 3), &w[at + 3], 8) != 0)
			return false;
	}
}

bool stackwalk_start(const struct hd_codeinfo *ci, hd_memview *mv, const struct hd_threadlocals *tl,
		     const struct hd_ithread *th, struct hd_walk_start *out)
{
	*out = (struct hd_walk_start){.lo = th->stack_lo, .hi = th->stack_hi};
	int32_t status = 0;
	uint64_t anchor = 0;
	if (tl->status >= 0 && mv_try_read(mv, th->addr + (unsigned)tl->status, &status, 4) != 0)
		status = 0;
	if (tl->last_anchor >= 0 &&
	    mv_try_read(mv, th->addr + (unsigned)tl->last_anchor, &anchor, 8) != 0)
		anchor = 0;
	const struct hd_task *t = th->task;
	bool in_java = status == 1 || !anchor;
	if (in_java && t && t->have_regs && codeinfo_contains(ci, t->rip)) {
		out->sp = t->rsp;
		out->ip = t->rip;
		out->anchor = anchor;
		return true;
	}
	return anchor && read_anchor(ci, mv, anchor, out->lo, out->hi, &out->sp, &out->ip,
				     &out->anchor);
}

static int add_phys(struct hd_stack *s, size_t *cap, const struct hd_phys_frame *p)
{
	if (hd_grow(&s->phys, cap, s->nphys, sizeof *s->phys, 32) != 0)
		return -1;
	s->phys[s->nphys++] = *p;
	return 0;
}

static int add_java(struct hd_stack *s, size_t *cap, const struct hd_java_frame *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (hd_grow(&s->java, cap, s->njava, sizeof *s->java, 64) != 0)
			return -1;
		s->java[s->njava++] = f[i];
	}
	return 0;
}

int stackwalk(const struct hd_codeinfo *ci, hd_memview *mv, const struct hd_walk_start *start,
	      struct hd_stack *out)
{
	memset(out, 0, sizeof *out);
	size_t pcap = 0, jcap = 0;
	uint64_t sp = start->sp, ip = start->ip, anchor = start->anchor;
	out->walked_hi = sp;
	out->end = "frame limit";
	while (out->nphys < STACKWALK_MAX_FRAMES) {
		if (hd_interrupted())
			return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d", hd_interrupted_signal());
		struct hd_code_entry e;
		if (sp < start->lo || sp >= start->hi || sp % 8) {
			out->end = "stack pointer off the stack";
			break;
		}
		if (!codeinfo_lookup(ci, ip, &e)) {
			out->end = codeinfo_contains(ci, ip) ? "no frame size" : "native code";
			break;
		}
		struct hd_java_frame fr[CODEINFO_MAX_INLINE];
		size_t n = 0;
		(void)codeinfo_frames(ci, &e, fr, &n);
		struct hd_phys_frame p = {sp, ip, e.frame_size, e.exact ? e.refmap : CODEINFO_NO_REFMAP,
					  (uint32_t)out->njava, (uint32_t)n};
		if (add_phys(out, &pcap, &p) != 0 || add_java(out, &jcap, fr, n) != 0)
			return -1;
		if (sp + e.frame_size > out->walked_hi)
			out->walked_hi = sp + e.frame_size;
		if (e.entry_point) {
			/* called from C: the Java frames go on below the anchor before */
			uint64_t next_anchor = 0;
			if (!anchor || !read_anchor(ci, mv, anchor, sp, start->hi, &sp, &ip, &next_anchor)) {
				out->end = "entry point";
				break;
			}
			anchor = next_anchor;
			continue;
		}
		uint64_t caller_sp = sp + e.frame_size;
		if (caller_sp > start->hi || caller_sp <= sp ||
		    mv_try_read(mv, caller_sp - 8, &ip, 8) != 0) {
			out->end = "frame leaves the stack";
			break;
		}
		sp = caller_sp;
	}
	if (out->walked_hi > start->hi)
		out->walked_hi = start->hi;
	return 0;
}

void stack_free(struct hd_stack *s)
{
	free(s->phys);
	free(s->java);
	memset(s, 0, sizeof *s);
}
