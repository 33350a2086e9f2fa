#include "corefile.h"

#include "elffile.h"
#include "../common/grow.h"
#include "../common/interrupt.h"

#include <elf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The x86-64 kernel's note layouts (struct elf_prstatus, elf_prpsinfo and
 * user_regs_struct), by offset: a core is read the same on any host. */
enum {
	PRSTATUS_SIZE = 336, PRSTATUS_PID = 32, PRSTATUS_REGS = 112,
	REG_R15 = 0, REG_R14 = 1, REG_RIP = 16, REG_RSP = 19, REG_FS_BASE = 21,
	PRPSINFO_SIZE = 136, PRPSINFO_PID = 24, PRPSINFO_FNAME = 40,
};

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

static int corrupt(const char *path, const char *what)
{
	return hd_fail(HD_E_LAYOUT, "%s: damaged core file (%s)", path, what);
}

/* NT_FILE: count, page size, COUNT (start, end, page offset) triples, then
 * COUNT NUL-terminated names. */
static int parse_files(struct hd_corefile *cf, const char *path, const uint8_t *d, size_t len)
{
	if (cf->files)
		return corrupt(path, "two NT_FILE notes");
	if (len < 16)
		return corrupt(path, "short NT_FILE note");
	uint64_t count = get64(d), page = get64(d + 8);
	if (count > CORE_MAX_FILES || count > (len - 16) / 24)
		return corrupt(path, "NT_FILE note claims more files than it holds");
	if (page == 0 || page > (1u << 30) || (page & (page - 1)))
		return corrupt(path, "NT_FILE page size");
	/* the note's bytes are libelf's, freed with it: the names are kept */
	size_t names_len = len - 16 - (size_t)count * 24;
	cf->files = calloc(count ? count : 1, sizeof *cf->files);
	cf->names = malloc(names_len ? names_len : 1);
	if (!cf->files || !cf->names)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	memcpy(cf->names, d + 16 + count * 24, names_len);
	const char *name = cf->names, *end = cf->names + names_len;
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *e = d + 16 + i * 24;
		struct core_filemap *f = &cf->files[i];
		f->start = get64(e);
		f->end = get64(e + 8);
		uint64_t pgoff = get64(e + 16);
		if (f->end <= f->start || pgoff > UINT64_MAX / page)
			return corrupt(path, "NT_FILE entry");
		f->offset = pgoff * page;
		const char *nul = name < end ? memchr(name, 0, (size_t)(end - name)) : NULL;
		if (!nul)
			return corrupt(path, "NT_FILE names run past the note");
		f->name = name;
		name = nul + 1;
	}
	cf->nfiles = (size_t)count;
	return 0;
}

static int add_thread(struct hd_corefile *cf, const char *path, const uint8_t *d, size_t len)
{
	if (len < PRSTATUS_SIZE)
		return corrupt(path, "short NT_PRSTATUS note");
	if (cf->ntasks >= CORE_MAX_THREADS)
		return corrupt(path, "more threads than hdump takes");
	if (hd_grow(&cf->tasks, &cf->tasks_cap, cf->ntasks, sizeof *cf->tasks, 16) != 0)
		return -1;
	const uint8_t *regs = d + PRSTATUS_REGS;
	cf->tasks[cf->ntasks++] = (struct hd_task){
		.tid = (pid_t)get32(d + PRSTATUS_PID),
		/* never seized: nothing to let go */
		.state = TASK_DETACHED,
		.rsp = get64(regs + 8 * REG_RSP), .rip = get64(regs + 8 * REG_RIP),
		.fs_base = get64(regs + 8 * REG_FS_BASE), .r14 = get64(regs + 8 * REG_R14),
		.r15 = get64(regs + 8 * REG_R15), .have_regs = cf->x86_64,
	};
	return 0;
}

static void parse_psinfo(struct hd_corefile *cf, const uint8_t *d, size_t len)
{
	if (len < PRPSINFO_SIZE)
		return;
	cf->pid = (pid_t)get32(d + PRPSINFO_PID);
	memcpy(cf->comm, d + PRPSINFO_FNAME, 16);
	cf->comm[16] = 0;
}

static void parse_auxv(struct hd_corefile *cf, const uint8_t *d, size_t len)
{
	for (size_t i = 0; i + 16 <= len; i += 16)
		if (get64(d + i) == AT_ENTRY)
			cf->entry = get64(d + i + 8);
}

/* The notes of one PT_NOTE segment, through libelf's note reader. */
static int parse_notes(struct hd_corefile *cf, const struct hd_elffile *f, const GElf_Phdr *ph)
{
	if (!elffile_inside(f, ph->p_offset, ph->p_filesz))
		return corrupt(f->path, "a note segment lies past the end of the file");
	if (ph->p_filesz > CORE_MAX_NOTES)
		return corrupt(f->path, "a note segment larger than hdump takes");
	Elf_Data *data = elf_getdata_rawchunk(f->elf, (int64_t)ph->p_offset, ph->p_filesz,
					      ELF_T_NHDR);
	if (!data)
		return elffile_libelf_failed(f, HD_E_LAYOUT, "unreadable notes");
	GElf_Nhdr nh;
	size_t at = 0, name_at, desc_at, next;
	while ((next = gelf_getnote(data, at, &nh, &name_at, &desc_at)) > 0) {
		const uint8_t *desc = (const uint8_t *)data->d_buf + desc_at;
		const char *name = (const char *)data->d_buf + name_at;
		bool core = nh.n_namesz == 5 && memcmp(name, "CORE", 5) == 0;
		int rc = 0;
		if (core && nh.n_type == NT_PRSTATUS)
			rc = add_thread(cf, f->path, desc, nh.n_descsz);
		else if (core && nh.n_type == NT_PRPSINFO)
			parse_psinfo(cf, desc, nh.n_descsz);
		else if (core && nh.n_type == NT_AUXV)
			parse_auxv(cf, desc, nh.n_descsz);
		else if (core && nh.n_type == NT_FILE)
			rc = parse_files(cf, f->path, desc, nh.n_descsz);
		if (rc != 0)
			return -1;
		at = next;
	}
	return 0;
}

static int by_vaddr(const void *a, const void *b)
{
	const struct core_segment *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static int add_segment(struct hd_corefile *cf, const char *path, const GElf_Phdr *ph)
{
	if (ph->p_memsz == 0)
		return 0;
	if (ph->p_vaddr + ph->p_memsz < ph->p_vaddr || ph->p_filesz > ph->p_memsz)
		return corrupt(path, "a segment wraps the address space or holds more bytes "
			       "than it maps");
	uint64_t present = 0;
	if (ph->p_offset < cf->size)
		present = ph->p_filesz < cf->size - ph->p_offset ? ph->p_filesz
								 : cf->size - ph->p_offset;
	cf->segs[cf->nsegs++] = (struct core_segment){
		.vaddr = ph->p_vaddr, .memsz = ph->p_memsz, .offset = ph->p_offset,
		.filesz = ph->p_filesz, .present = present, .r = ph->p_flags & PF_R,
		.w = ph->p_flags & PF_W, .x = ph->p_flags & PF_X, .file = -1,
	};
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const struct core_filemap *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Which file each segment maps: the NT_FILE entry that starts last at or
 * below it, if it holds the whole segment (a real note's entries do not
 * overlap; a forged one's cost a sort and a search per segment). */
static void match_files(struct hd_corefile *cf)
{
	qsort(cf->files, cf->nfiles, sizeof *cf->files, by_start);
	for (size_t i = 0; i < cf->nsegs; i++) {
		struct core_segment *s = &cf->segs[i];
		size_t lo = 0, hi = cf->nfiles;
		while (lo < hi) { /* the first entry starting above the segment */
			size_t mid = lo + (hi - lo) / 2;
			if (cf->files[mid].start <= s->vaddr)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0)
			continue;
		const struct core_filemap *m = &cf->files[lo - 1];
		if (s->vaddr < m->end && s->memsz <= m->end - s->vaddr) {
			s->file = (int)(lo - 1);
			s->file_offset = m->offset + (s->vaddr - m->start);
		}
	}
}

static int add_note_segment(struct hd_corefile *cf, const char *path, size_t k, uint64_t lo,
			    uint64_t hi)
{
	if (hd_grow(&cf->segs, &cf->segs_cap, cf->nsegs, sizeof *cf->segs, 64) != 0)
		return -1;
	if (cf->nsegs >= CORE_MAX_SEGMENTS)
		return corrupt(path, "more mappings than hdump takes");
	cf->segs[cf->nsegs++] = (struct core_segment){
		.vaddr = lo, .memsz = hi - lo, .r = true, .file = (int)k,
		.file_offset = cf->files[k].offset + (lo - cf->files[k].start), .from_note = true,
	};
	return 0;
}

/* Mappings NT_FILE names that no segment covers (a gcore core's unmodified
 * file mappings: the image heap among them) become segments without bytes,
 * readable (NT_FILE keeps no permissions; the file's bytes are what a
 * process reads there).  A real note's entries do not overlap each other,
 * so the (entry, segment) pairs met are at most entries + segments: a
 * forged note that meets more is refused. */
static int add_note_segments(struct hd_corefile *cf, const char *path)
{
	size_t n = cf->nsegs, budget = cf->nsegs + cf->nfiles;
	for (size_t k = 0; k < cf->nfiles; k++) {
		const struct core_filemap *m = &cf->files[k];
		size_t lo = 0, hi = n;
		while (lo < hi) { /* the first segment ending above the entry's start */
			size_t mid = lo + (hi - lo) / 2;
			if (cf->segs[mid].vaddr + cf->segs[mid].memsz <= m->start)
				lo = mid + 1;
			else
				hi = mid;
		}
		uint64_t at = m->start;
		for (size_t i = lo; i < n && cf->segs[i].vaddr < m->end; i++) {
			if (budget-- == 0)
				return corrupt(path, "NT_FILE entries overlap");
			/* by value: adding a segment may move cf->segs */
			uint64_t s_lo = cf->segs[i].vaddr, s_end = s_lo + cf->segs[i].memsz;
			if (s_lo > at && add_note_segment(cf, path, k, at, s_lo) != 0)
				return -1;
			at = s_end;
		}
		if (at < m->end && add_note_segment(cf, path, k, at, m->end) != 0)
			return -1;
	}
	return 0;
}

static int check_order(struct hd_corefile *cf, const char *path)
{
	qsort(cf->segs, cf->nsegs, sizeof *cf->segs, by_vaddr);
	for (size_t i = 1; i < cf->nsegs; i++)
		if (cf->segs[i].vaddr < cf->segs[i - 1].vaddr + cf->segs[i - 1].memsz)
			return corrupt(path, "segments overlap");
	return 0;
}

static int read_headers(struct hd_corefile *cf, const struct hd_elffile *f)
{
	if (f->eh.e_type != ET_CORE)
		return hd_fail(HD_E_NOT_ELF, "%s: not a core file (ELF type %u)", f->path,
			       f->eh.e_type);
	cf->x86_64 = f->eh.e_machine == EM_X86_64;
	size_t n;
	if (elf_getphdrnum(f->elf, &n) != 0)
		return elffile_libelf_failed(f, HD_E_NOT_ELF, "unreadable program headers");
	/* libelf silently takes only the headers that fit: a cut table is refused */
	if (f->eh.e_phnum != PN_XNUM)
		n = f->eh.e_phnum;
	if (n > CORE_MAX_SEGMENTS || f->eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    !elffile_inside(f, f->eh.e_phoff, (uint64_t)n * sizeof(Elf64_Phdr)))
		return corrupt(f->path, "program headers past the end of the file");
	cf->segs = calloc(n ? n : 1, sizeof *cf->segs);
	if (!cf->segs)
		return hd_fail(HD_E_INTERNAL, "out of memory");
	cf->segs_cap = n ? n : 1;
	for (size_t i = 0; i < n; i++) {
		if (hd_interrupted())
			return hd_fail(HD_E_INTERRUPTED, "interrupted by signal %d",
				       hd_interrupted_signal());
		GElf_Phdr ph;
		if (!gelf_getphdr(f->elf, (int)i, &ph))
			return elffile_libelf_failed(f, HD_E_NOT_ELF, "unreadable program header");
		int rc = ph.p_type == PT_LOAD ? add_segment(cf, f->path, &ph)
		       : ph.p_type == PT_NOTE ? parse_notes(cf, f, &ph) : 0;
		if (rc != 0)
			return -1;
	}
	if (check_order(cf, f->path) != 0)
		return -1;
	if (cf->ntasks == 0)
		return corrupt(f->path, "no thread (no NT_PRSTATUS note)");
	if (cf->pid == 0)
		cf->pid = cf->tasks[0].tid;
	for (size_t i = 0; i < cf->nsegs; i++)
		cf->marks_inaccessible |= !cf->segs[i].r;
	match_files(cf);
	if (add_note_segments(cf, f->path) != 0)
		return -1;
	return check_order(cf, f->path);
}

/* libdwfl may open the files a core names to find their ELF images; a
 * hostile core could name a FIFO or a device.  Only what the core's own
 * memory holds is used. */
static int no_file(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
		   char **file_name, Elf **elf)
{
	(void)mod, (void)userdata, (void)name, (void)base, (void)file_name, (void)elf;
	return -1;
}

static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
			const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			char **debuginfo_file_name)
{
	(void)mod, (void)userdata, (void)name, (void)base, (void)file_name;
	(void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
	return -1;
}

/* The module at the entry point as libdwfl reports the core's modules, and
 * its build-id.  Nothing found is no error: a core may hold no ELF header
 * page (coredump_filter bit 4 off), and NT_FILE still names the file. */
static int report_modules(struct hd_corefile *cf, Elf *elf)
{
	static const Dwfl_Callbacks callbacks = {.find_elf = no_file,
						 .find_debuginfo = no_debuginfo};
	if (!cf->entry)
		return 0;
	Dwfl *dwfl = dwfl_begin(&callbacks);
	if (!dwfl)
		return hd_fail(HD_E_INTERNAL, "libdwfl: %s", dwfl_errmsg(-1));
	Dwfl_Module *mod = NULL;
	if (dwfl_core_file_report(dwfl, elf, NULL) > 0 && dwfl_report_end(dwfl, NULL, NULL) == 0)
		mod = dwfl_addrmodule(dwfl, cf->entry);
	const char *name = mod ? dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL) : NULL;
	int rc = 0;
	if (name && name[0] == '/' && !(cf->module = strdup(name)))
		rc = hd_fail(HD_E_INTERNAL, "out of memory");
	const unsigned char *bits;
	GElf_Addr at;
	int len = mod ? dwfl_module_build_id(mod, &bits, &at) : 0;
	if (rc == 0 && len > 0 && (size_t)len <= sizeof cf->build_id) {
		memcpy(cf->build_id, bits, (size_t)len);
		cf->build_id_len = (size_t)len;
	}
	dwfl_end(dwfl);
	return rc;
}

int corefile_open(const char *path, struct hd_corefile *cf)
{
	memset(cf, 0, sizeof *cf);
	cf->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (cf->fd < 0)
		return hd_fail_errno(errno == EACCES ? HD_E_PERM : HD_E_NOENT, errno, "%s", path);
	struct hd_elffile f;
	/* gcore's cores have a section per segment */
	const struct hd_elffile_want want = {EM_NONE, CORE_MAX_SECTIONS, HD_E_NOT_ELF};
	if (elffile_open(&f, cf->fd, path, &want) != 0)
		return -1;
	cf->size = f.size;
	int rc = read_headers(cf, &f);
	if (rc == 0)
		rc = report_modules(cf, f.elf);
	elffile_close(&f);
	return rc;
}

void corefile_close(struct hd_corefile *cf)
{
	if (cf->fd >= 0)
		close(cf->fd);
	free(cf->segs);
	free(cf->files);
	free(cf->names);
	free(cf->tasks);
	free(cf->module);
	memset(cf, 0, sizeof *cf);
	cf->fd = -1;
}

const char *corefile_executable(const struct hd_corefile *cf)
{
	if (cf->module)
		return cf->module;
	for (size_t k = 0; cf->entry && k < cf->nfiles; k++)
		if (cf->entry >= cf->files[k].start && cf->entry < cf->files[k].end)
			return cf->files[k].name;
	return NULL;
}
