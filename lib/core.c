#include "core.h"

#include "../common/readat.h"
#include "../symbols/elffile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The executable's first page as the process mapped it, if the core has it
 * (the kernel dumps ELF header pages: coredump_filter bit 4, on by
 * default), is the file's first page: a different file is refused. */
static int check_header_page(struct hd_core *c, const char *exe, uint64_t exe_size)
{
	const struct hd_corefile *cf = &c->cf;
	for (size_t i = 0; i < cf->nsegs; i++) {
		const struct core_segment *s = &cf->segs[i];
		if (s->file < 0 || s->file_offset != 0 || !s->present ||
		    strcmp(cf->files[s->file].name, c->exe_name_in_core) != 0)
			continue;
		uint8_t in_core[4096], in_file[4096];
		size_t n = s->present < sizeof in_core ? (size_t)s->present : sizeof in_core;
		if (n > exe_size)
			return hd_fail(HD_E_USAGE, "%s is not the executable of this core (it is "
				       "shorter than the core's copy of its first page)", exe);
		if (hd_read_at(cf->fd, "core", s->offset, in_core, n) != 0 ||
		    hd_read_at(c->exe_fd, exe, 0, in_file, n) != 0)
			return -1;
		if (memcmp(in_core, in_file, n) != 0)
			return hd_fail(HD_E_USAGE, "%s is not the executable of this core (its ELF "
				       "header differs from the one the process mapped at 0x%" PRIx64
				       "); give --exe the executable the process ran", exe, s->vaddr);
		c->header_checked = true;
		return 0;
	}
	return 0;
}

/* Every mapping the core says came from the executable lies inside it. */
static int check_extent(const struct hd_core *c, const char *exe, uint64_t exe_size)
{
	const struct hd_corefile *cf = &c->cf;
	for (size_t k = 0; k < cf->nfiles; k++)
		if (strcmp(cf->files[k].name, c->exe_name_in_core) == 0 &&
		    cf->files[k].offset >= exe_size)
			return hd_fail(HD_E_USAGE, "%s is not the executable of this core (the "
				       "process mapped it at offset 0x%" PRIx64 ", past its end)",
				       exe, cf->files[k].offset);
	return 0;
}

/* The GNU build-id note in the PT_NOTE segment PH of F into ID (at most
 * SIZE bytes); its length, 0 when there is none. */
static size_t build_id_in(const struct hd_elffile *f, const GElf_Phdr *ph, uint8_t *id,
			  size_t size)
{
	if (ph->p_type != PT_NOTE || ph->p_filesz > (1u << 20) ||
	    !elffile_inside(f, ph->p_offset, ph->p_filesz))
		return 0;
	Elf_Data *d = elf_getdata_rawchunk(f->elf, (int64_t)ph->p_offset, ph->p_filesz, ELF_T_NHDR);
	GElf_Nhdr nh;
	size_t at = 0, name_at, desc_at, next;
	while (d && (next = gelf_getnote(d, at, &nh, &name_at, &desc_at)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp((const char *)d->d_buf + name_at, "GNU", 4) == 0 && nh.n_descsz <= size) {
			memcpy(id, (const uint8_t *)d->d_buf + desc_at, nh.n_descsz);
			return nh.n_descsz;
		}
		at = next;
	}
	return 0;
}

/* The build-id the process had in memory (libdwfl found it in the core)
 * must be the file's. */
static int check_build_id(const struct hd_core *c, const uint8_t *id, size_t len)
{
	const struct hd_corefile *cf = &c->cf;
	if (!cf->build_id_len || (len == cf->build_id_len && memcmp(id, cf->build_id, len) == 0))
		return 0;
	char want[2 * sizeof cf->build_id + 1] = "";
	for (size_t i = 0; i < cf->build_id_len; i++)
		snprintf(want + 2 * i, 3, "%02x", cf->build_id[i]);
	return hd_fail(HD_E_USAGE, "%s is not the executable of this core (the process's "
		       "build-id is %s, the file's %s)", c->exe, want, len ? "another" : "none");
}

/* The executable's PT_LOAD segments and load bias (the core's AT_ENTRY less
 * the file's entry point), for telling the loader's mappings of it from an
 * isolate's; and its build-id, checked against the core's.  A file libelf
 * cannot read, or a core without AT_ENTRY, leaves the bias unknown: the
 * mappings are then taken as the core marks them. */
static int read_load_plan(struct hd_core *c)
{
	struct hd_elffile f;
	const struct hd_elffile_want want = {EM_NONE, 1u << 16, HD_E_NOT_ELF};
	struct hd_error_state before;
	hd_error_save(&before);
	if (elffile_open(&f, c->exe_fd, c->exe, &want) != 0) {
		if (hd_error_is_fatal())
			return -1;
		hd_error_restore(&before);
		return 0;
	}
	size_t n = 0, id_len = 0;
	uint8_t id[sizeof c->cf.build_id];
	if (elf_getphdrnum(f.elf, &n) != 0 || n > (1u << 16))
		n = 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(f.elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_LOAD && c->nloads < CORE_EXE_LOADS)
			c->loads[c->nloads++] = (struct core_load){ph.p_vaddr, ph.p_offset, ph.p_filesz};
		if (!id_len)
			id_len = build_id_in(&f, &ph, id, sizeof id);
	}
	c->bias_known = c->cf.entry != 0 && f.eh.e_entry != 0;
	c->load_bias = c->cf.entry - f.eh.e_entry;
	elffile_close(&f);
	return check_build_id(c, id, id_len);
}

int core_open(struct hd_core *c, const char *core, const char *exe)
{
	memset(c, 0, sizeof *c);
	c->exe_fd = -1;
	if (corefile_open(core, &c->cf) != 0)
		return -1;
	const char *named = corefile_executable(&c->cf);
	if (!named && !exe)
		return hd_fail(HD_E_NOENT, "%s: the core names no executable (no NT_FILE entry "
			       "holds its entry point): give --exe", core);
	c->exe_name_in_core = named ? named : "";
	if (!(c->exe = strdup(exe ? exe : named)))
		return hd_fail(HD_E_INTERNAL, "out of memory");
	c->exe_fd = open(c->exe, O_RDONLY | O_CLOEXEC);
	if (c->exe_fd < 0)
		return hd_fail_errno(errno == EACCES ? HD_E_PERM : HD_E_NOENT, errno,
				     "%s%s", c->exe, exe ? "" : " (the core's executable; give --exe)");
	struct stat st;
	if (fstat(c->exe_fd, &st) != 0 || !S_ISREG(st.st_mode))
		return hd_fail(HD_E_NOT_ELF, "%s: not a regular file", c->exe);
	c->exe_dev = st.st_dev;
	c->exe_ino = st.st_ino;
	uint64_t size = (uint64_t)st.st_size;
	if (check_header_page(c, c->exe, size) != 0 || check_extent(c, c->exe, size) != 0 ||
	    read_load_plan(c) != 0)
		return -1;
	return corememory_build(&c->mem, &c->cf, c->exe_name_in_core, c->exe_fd, size);
}

void core_free(struct hd_core *c)
{
	corememory_free(&c->mem);
	corefile_close(&c->cf);
	if (c->exe_fd >= 0)
		close(c->exe_fd);
	free(c->exe);
	memset(c, 0, sizeof *c);
	c->exe_fd = -1;
}

static void basename_into(char *dst, size_t size, const char *path)
{
	const char *slash = strrchr(path, '/');
	snprintf(dst, size, "%s", slash ? slash + 1 : path);
}

/* Whether MP, a mapping of the executable, is where the loader put that
 * part of the file. */
static bool loader_placed(const struct hd_core *c, const struct hd_mapping *mp)
{
	for (size_t i = 0; i < c->nloads; i++) {
		const struct core_load *l = &c->loads[i];
		if (mp->offset >= l->offset && mp->offset - l->offset < l->filesz)
			return mp->start == c->load_bias + l->vaddr + (mp->offset - l->offset);
	}
	return false;
}

/* Whether the first and last page of [LO, HI) read as zeros in the core. */
static bool zeros_at_ends(const struct hd_core *c, uint64_t lo, uint64_t hi)
{
	uint8_t page[4096];
	uint64_t len = hi - lo < sizeof page ? hi - lo : sizeof page;
	for (int end = 0; end < 2; end++) {
		uint64_t at = end ? hi - len : lo;
		if (mv_try_read(c->mem.view, at, page, (size_t)len) != 0)
			return false;
		for (size_t k = 0; k < len; k++)
			if (page[k])
				return false;
	}
	return true;
}

/* gcore writes every mapping as readable, the inaccessible ones as zeros;
 * the kernel keeps them inaccessible.  An isolate's copy of the image heap
 * sits right above its heap's protected null region, so an anonymous
 * mapping that ends where a copy of the executable (not the loader's
 * mapping) begins, and reads as zeros, is reported inaccessible as it was
 * in the process: the isolates are then found, and checked, as in a live
 * process. */
static void mark_null_regions(const struct hd_core *c, struct hd_maps *m)
{
	if (c->cf.marks_inaccessible || !c->bias_known)
		return;
	for (size_t i = 1; i < m->n; i++) {
		const struct hd_mapping *copy = &m->v[i];
		struct hd_mapping *below = &m->v[i - 1];
		if (copy->dev != c->exe_dev || copy->ino != c->exe_ino || loader_placed(c, copy) ||
		    below->end != copy->start || below->ino != 0 || !below->r)
			continue;
		if (zeros_at_ends(c, below->start, below->end))
			below->r = false;
	}
}

static int core_read_maps(void *ctx, pid_t pid, struct hd_maps *m)
{
	(void)pid;
	const struct hd_core *c = ctx;
	const struct hd_corefile *cf = &c->cf;
	m->v = calloc(cf->nsegs ? cf->nsegs : 1, sizeof *m->v);
	if (!m->v)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	m->n = cf->nsegs;
	for (size_t i = 0; i < cf->nsegs; i++) {
		const struct core_segment *s = &cf->segs[i];
		struct hd_mapping *mp = &m->v[i];
		*mp = (struct hd_mapping){.start = s->vaddr, .end = s->vaddr + s->memsz,
					  .offset = s->file_offset, .r = s->r, .w = s->w, .x = s->x};
		if (s->file < 0)
			continue;
		const char *name = cf->files[s->file].name;
		basename_into(mp->name, sizeof mp->name, name);
		if (strcmp(name, c->exe_name_in_core) == 0) {
			mp->dev = c->exe_dev;
			mp->ino = c->exe_ino;
		} else { /* another file: an identity no file here has */
			mp->dev = (dev_t)-1;
			mp->ino = (ino_t)s->file + 1;
		}
	}
	mark_null_regions(c, m);
	return 0;
}

static int core_open_image(void *ctx, pid_t pid, struct hd_elfimage *img)
{
	(void)pid;
	const struct hd_core *c = ctx;
	return elfimage_open(c->exe, img);
}

static hd_memview *core_open_memory(void *ctx, pid_t pid)
{
	(void)pid;
	const struct hd_core *c = ctx;
	return mv_clone(c->mem.view);
}

/* The threads as the core saved them. */
static int core_stop(void *ctx, struct hd_target *t, pid_t pid)
{
	struct hd_core *c = ctx;
	const struct hd_corefile *cf = &c->cf;
	memset(t, 0, sizeof *t);
	t->pid = pid;
	t->tasks = malloc(cf->ntasks * sizeof *t->tasks);
	if (!t->tasks)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	memcpy(t->tasks, cf->tasks, cf->ntasks * sizeof *t->tasks);
	for (size_t i = 0; i < cf->ntasks; i++)
		snprintf(t->tasks[i].comm, sizeof t->tasks[i].comm, "%s", cf->comm);
	t->n = t->cap = cf->ntasks;
	t->lacks_memory = c->partial;
	c->missing_chunks = c->missing_chunk_bytes = 0;
	return 0;
}

static void core_release(void *ctx, struct hd_target *t)
{
	(void)ctx;
	(void)t;
}

static int core_fork_allowed(void *ctx, pid_t pid)
{
	(void)ctx;
	(void)pid;
	return hd_fail(HD_E_USAGE, "a core file is dumped as it is: --snapshot=fork needs a process");
}

static int core_fork(void *ctx, struct hd_target *t, hd_memview *mv, const struct hd_maps *maps,
		     pid_t *child)
{
	(void)t;
	(void)mv;
	(void)maps;
	(void)child;
	return core_fork_allowed(ctx, 0);
}

static int core_discard_fork(void *ctx)
{
	(void)ctx;
	return 0;
}

static int core_chunk_missing(void *ctx, const struct hd_chunk *chunk)
{
	struct hd_core *c = ctx;
	uint64_t end = chunk->top > chunk->addr ? chunk->top : chunk->addr + 1;
	const struct core_gap *g = corememory_gap(&c->mem, chunk->addr, end);
	if (!g)
		return 0;
	char what[400];
	corememory_describe(g, &c->cf, what, sizeof what);
	if (!c->partial)
		return hd_fail(HD_E_LAYOUT, "the core lacks heap chunk 0x%" PRIx64 "-0x%" PRIx64
			       ": %s; --partial dumps what is there", chunk->addr, end, what);
	c->missing_chunks++;
	/* a chunk whose header the core lacks has no known size */
	c->missing_chunk_bytes += chunk->top > chunk->addr ? chunk->top - chunk->addr : 0;
	return 1;
}

const struct hd_process_ops hd_core_ops = {
	.read_maps = core_read_maps,
	.open_image = core_open_image,
	.open_memory = core_open_memory,
	.stop = core_stop,
	.release = core_release,
	.fork_allowed = core_fork_allowed,
	.fork = core_fork,
	.discard_fork = core_discard_fork,
	.chunk_missing = core_chunk_missing,
};

/* The gap a failure most likely met: the one holding an address the
 * message names (a view's "cannot read N bytes at 0xADDR" names a range),
 * else the first where heap state can lie: a cut file, anonymous memory or
 * the executable's written pages (pages of other files the core leaves out
 * by default, and no heap lies there). */
static const struct core_gap *gap_behind(const struct hd_core *c, const char *msg)
{
	for (const char *p = strstr(msg, "0x"); p; p = strstr(p + 2, "0x")) {
		uint64_t addr = strtoull(p, NULL, 16), len = 1;
		const char *read = strstr(msg, "cannot read ");
		unsigned long long n;
		if (read && sscanf(read, "cannot read %llu bytes at", &n) == 1 && n > 0 &&
		    strstr(read, " at 0x") + 4 == p)
			len = n;
		const struct core_gap *g = corememory_gap(&c->mem, addr,
							  addr + len > addr ? addr + len : UINT64_MAX);
		if (g)
			return g;
	}
	for (size_t i = 0; i < c->mem.ngaps; i++)
		if (c->mem.gaps[i].why != GAP_FILE && c->mem.gaps[i].why != GAP_PAST_FILE)
			return &c->mem.gaps[i];
	return NULL;
}

void core_explain(const struct hd_core *c)
{
	char msg[512];
	snprintf(msg, sizeof msg, "%s", hd_error_message());
	const struct core_gap *g = gap_behind(c, msg);
	if (!g || hd_error_is_fatal() || strstr(msg, "the core lacks"))
		return; /* nothing missing, or said already */
	char what[400];
	corememory_describe(g, &c->cf, what, sizeof what);
	hd_fail(hd_error_class(), "%s: the core lacks %s%s", msg, what,
		c->mem.ngaps > 1 ? " (and more)" : "");
}

void core_explain_open(const struct hd_core *c)
{
	if (hd_error_class() != HD_E_NOT_NATIVE_IMAGE)
		return;
	char msg[512];
	snprintf(msg, sizeof msg, "%s", hd_error_message());
	/* An isolate's image heap is told from the loader's copy by the
	 * inaccessible reservation below it (mark_null_regions). */
	if (!c->cf.marks_inaccessible)
		hd_fail(HD_E_NOT_NATIVE_IMAGE, "%s; this core marks no mapping inaccessible (gdb's "
			"gcore writes them as readable memory) and no mapping of %s lies above "
			"one that reads as zeros, as an isolate's image heap does", msg, c->exe);
	else if (!c->header_checked)
		hd_fail(HD_E_NOT_NATIVE_IMAGE, "%s; the core holds no copy of %s's first page to "
			"check it by (coredump_filter bit 4 was off): is it the executable the "
			"process ran?", msg, c->exe);
}
