#include "stacks.h"

#include "../common/hd_error.h"
#include "../hprof/hprof.h"

#include <stdlib.h>
#include <string.h>

/* The method name String at OFF from the image start, NULL when it does
 * not read (a name source never fails the dump). */
static char *method_name(hd_memview *view, const struct hd_layout *L, uint64_t off)
{
	if (!off)
		return NULL;
	struct hd_error_state saved;
	hd_error_save(&saved);
	char *s = lay_read_string(view, L, L->image_start + off);
	hd_error_restore(&saved);
	return s;
}

const char *thread_name_keep(struct thread_name *n, const struct hd_task *t)
{
	if (!t)
		return NULL;
	memcpy(n->s, t->comm, sizeof n->s);
	n->s[sizeof n->s - 1] = '\0';
	return n->s;
}

/* The name of the java.lang.Thread at OBJ: its `name` String, as the
 * field names found it, read through VIEW.  NULL when any step fails: the
 * OS thread name stands in (a name never fails the walk). */
static char *java_thread_name(hd_memview *view, const struct hd_layout *L,
			      const struct hd_classes *classes, uint64_t obj)
{
	const struct hd_class *thread = classes_named(classes, "java.lang.Thread");
	if (!obj || !thread)
		return NULL;
	const struct hd_field *name = NULL;
	for (size_t i = 0; i < thread->nfields && !name; i++)
		if (thread->fields[i].type == HD_T_OBJECT && thread->fields[i].named_by &&
		    strcmp(classes->names.v[thread->fields[i].name], "name") == 0)
			name = &thread->fields[i];
	uint8_t raw[8] = {0};
	if (!name)
		return NULL;
	struct hd_error_state saved;
	hd_error_save(&saved);
	char *s = NULL;
	if (mv_read(view, obj + name->offset, raw, L->ref_size) == 0 && lay_ref(L, raw))
		s = lay_read_string(view, L, lay_ref(L, raw));
	hd_error_restore(&saved);
	return s;
}

static int name_frames(struct live_stacks *s, hd_memview *view, const struct hd_layout *L,
		       const struct hd_classes *classes, const struct hd_isolate *iso)
{
	s->total = 0;
	for (size_t i = 0; i < s->n; i++)
		s->total += s->walks[i].njava;
	size_t m = s->total ? s->total : 1;
	s->frames = calloc(m, sizeof *s->frames);
	s->methods = calloc(m, sizeof *s->methods);
	s->api_frames = calloc(m, sizeof *s->api_frames);
	if (!s->frames || !s->methods || !s->api_frames)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct hd_stack *w = &s->walks[i];
		const struct hd_task *t = iso->threads[i].task;
		s->traces[i] = (struct hd_trace){s->frames + k, w->njava};
		const char *os_name = thread_name_keep(&s->names[i], t);
		s->names[i].java = java_thread_name(view, L, classes, iso->threads[i].thread_obj);
		s->api[i] = (struct hdump_stack){
			.tid = t ? t->tid : -1, .name = s->names[i].java ? s->names[i].java : os_name,
			.frames = s->api_frames + k, .nframes = w->njava,
			.physical_frames = w->nphys, .end = w->end ? w->end : "no Java frame to start at",
		};
		for (size_t p = 0; p < w->nphys; p++)
			s->api[i].undecoded_frames += w->phys[p].njava == 0;
		s->undecoded_frames += s->api[i].undecoded_frames;
		s->decoded_threads += w->njava > 0;
		for (size_t j = 0; j < w->njava; j++, k++) {
			const struct hd_java_frame *f = &w->java[j];
			uint64_t hub = f->class_off ? L->image_start + f->class_off : 0;
			const struct hd_class *c = hub ? classes_find(classes, hub) : NULL;
			s->methods[k] = method_name(view, L, f->name_off);
			s->frames[k] = (struct hd_trace_frame){s->methods[k], c ? hub : 0, f->line};
			s->api_frames[k] = (struct hdump_frame){c ? c->name : "?",
								s->methods[k] ? s->methods[k] : "?",
								f->line, f->bci};
		}
	}
	return 0;
}

int stacks_walk(struct live_stacks *s, const struct hd_codeinfo *ci, hd_memview *view,
		const struct hd_layout *L, const struct hd_classes *classes,
		const struct hd_threadlocals *tl, const struct hd_isolate *iso)
{
	memset(s, 0, sizeof *s);
	s->n = iso->nthreads;
	size_t m = s->n ? s->n : 1;
	s->walks = calloc(m, sizeof *s->walks);
	s->traces = calloc(m, sizeof *s->traces);
	s->api = calloc(m, sizeof *s->api);
	s->names = calloc(m, sizeof *s->names);
	if (!s->walks || !s->traces || !s->api || !s->names)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < s->n; i++) {
		struct hd_walk_start start;
		if (ci && stackwalk_start(ci, view, tl, &iso->threads[i], &start) &&
		    stackwalk(ci, view, &start, &s->walks[i]) != 0)
			return -1;
	}
	return name_frames(s, view, L, classes, iso);
}

void stacks_free(struct live_stacks *s)
{
	for (size_t i = 0; s->walks && i < s->n; i++)
		stack_free(&s->walks[i]);
	for (size_t k = 0; s->methods && k < s->total; k++)
		free(s->methods[k]);
	free(s->walks);
	free(s->traces);
	free(s->frames);
	free(s->methods);
	free(s->api);
	for (size_t i = 0; s->names && i < s->n; i++)
		free(s->names[i].java);
	free(s->names);
	free(s->api_frames);
	memset(s, 0, sizeof *s);
}

struct slot_ctx {
	struct root_scan *rs;
	hd_memview *view;
	uint64_t sp, lo, hi;
	unsigned ref_size;
	uint32_t serial, frame;
	bool failed; /* a root could not be added (out of memory) */
};

static int slot_root(void *ctx, int32_t off, bool compressed)
{
	struct slot_ctx *x = ctx;
	uint64_t a = x->sp + (uint64_t)(int64_t)off;
	unsigned size = compressed ? x->ref_size : 8;
	if (a < x->lo || a >= x->hi || x->hi - a < size)
		return 0;
	if (root_scan_slot(x->rs, x->view, a, size, x->serial, x->frame) != 0) {
		x->failed = true;
		return -1;
	}
	return 0;
}

int stacks_roots(const struct live_stacks *s, const struct hd_codeinfo *ci, size_t i,
		 const struct hd_ithread *th, struct root_scan *rs, hd_memview *view, uint32_t serial)
{
	const struct hd_stack *w = i < s->n ? &s->walks[i] : NULL;
	if (!w || !w->nphys || !ci)
		return root_scan_range(rs, view, th->stack_lo, th->stack_hi, HPROF_ROOT_JAVA_FRAME,
				       serial);
	/* native frames below the first Java frame, as before */
	if (root_scan_range(rs, view, th->stack_lo, w->phys[0].sp, HPROF_ROOT_JAVA_FRAME, serial) != 0)
		return -1;
	for (size_t p = 0; p < w->nphys; p++) {
		const struct hd_phys_frame *f = &w->phys[p];
		/* native frames between an entry point and the anchor's frame the
		 * walk continued at, as before */
		uint64_t prev_end = p ? w->phys[p - 1].sp + w->phys[p - 1].size : f->sp;
		if (f->sp > prev_end && root_scan_range(rs, view, prev_end, f->sp,
							HPROF_ROOT_JAVA_FRAME, serial) != 0)
			return -1;
		if (!w->njava) { /* no frame of the trace to tie its roots to */
			if (root_scan_range(rs, view, f->sp, f->sp + f->size, HPROF_ROOT_JAVA_FRAME,
					    serial) != 0)
				return -1;
			continue;
		}
		/* a frame without frame info is tied to the next one that has it */
		uint32_t frame = f->first_java < w->njava ? f->first_java : (uint32_t)w->njava - 1;
		struct slot_ctx x = {rs, view, f->sp, th->stack_lo, th->stack_hi, ci->ref_size,
				     serial, frame, false};
		if (f->refmap == CODEINFO_NO_REFMAP || !codeinfo_refmap(ci, f->refmap, slot_root, &x)) {
			if (x.failed ||
			    root_scan_frame(rs, view, f->sp, f->sp + f->size, serial, frame) != 0)
				return -1;
		}
	}
	return root_scan_range(rs, view, w->walked_hi, th->stack_hi, HPROF_ROOT_JAVA_FRAME, serial);
}
