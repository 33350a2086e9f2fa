/* An ELF core file (a kernel core, gcore's, systemd-coredump's), parsed:
 * its PT_LOAD segments, the files it says were mapped (NT_FILE), its
 * threads and their registers (NT_PRSTATUS), the process's name
 * (NT_PRPSINFO) and entry point (NT_AUXV).
 *
 * Read with libelf (symbols/elffile.h: header checked first), and its
 * modules with libdwfl (dwfl_core_file_report).  Threads and registers
 * come from the NT_PRSTATUS notes, not dwfl_getthreads: hdump needs fs_base
 * and the raw user_regs_struct of each thread, which libdwfl hands out only
 * through its unwinder as DWARF registers.  Memory is read from the
 * segments with libelf's offsets (symbols/coremem.h): libdwfl has no public
 * call that reads a core's memory.  The file
 * is hostile: every count is bounded by the file's real size and by fixed
 * limits, every note's fields by its descriptor's size, and segments that
 * overlap or wrap the address space refuse the core. */
#ifndef HD_COREFILE_H
#define HD_COREFILE_H

#include "../agent/attach.h"
#include "../common/hd_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Limits no real core reaches (a process has at most vm.max_map_count
 * mappings, 65530 by default, and each segment costs hdump a mapping of
 * its own; threads are bounded by the kernel's threads-max, but one dump
 * needs far fewer). */
#define CORE_MAX_SEGMENTS (1u << 17)
#define CORE_MAX_FILES (1u << 17)
#define CORE_MAX_THREADS (1u << 16)
#define CORE_MAX_NOTES (64u << 20)
#define CORE_MAX_SECTIONS (1u << 17)

struct core_segment {
	uint64_t vaddr, memsz;  /* the mapping */
	uint64_t offset, filesz;/* its bytes in the core, as the header claims */
	uint64_t present;       /* of FILESZ, the bytes the file really holds */
	bool r, w, x;
	int file;               /* index in files, -1: anonymous */
	uint64_t file_offset;   /* of VADDR in that file */
	bool from_note;         /* no PT_LOAD: a mapping only NT_FILE names (gcore
				   leaves unmodified file mappings out of its
				   headers; the kernel lists every mapping) */
};

/* One NT_FILE entry: a mapping of a file. */
struct core_filemap {
	uint64_t start, end, offset; /* offset in bytes */
	const char *name;            /* into names: NUL-terminated */
};

struct hd_corefile {
	int fd;
	uint64_t size;         /* of the file: what lies past it is missing */
	struct core_segment *segs; /* ascending, not overlapping */
	size_t nsegs, segs_cap;
	struct core_filemap *files;
	size_t nfiles;
	char *names;           /* the NT_FILE note's names */
	struct hd_task *tasks; /* one per NT_PRSTATUS, registers filled on x86-64 */
	size_t ntasks, tasks_cap;
	pid_t pid;             /* the process (NT_PRPSINFO, else the first thread) */
	char comm[17];         /* its name, "" when absent */
	uint64_t entry;        /* AT_ENTRY, 0 when absent */
	bool x86_64;           /* whether the registers could be read */
	bool marks_inaccessible; /* some segment is not readable: a kernel core
				    (gcore writes every mapping as readable) */
	/* The module libdwfl reports at the entry point (dwfl_core_file_report:
	 * the ELF images the core's memory holds, named by NT_FILE), and its
	 * build-id as the process had it in memory; NULL and 0 when none. */
	char *module;
	uint8_t build_id[64];
	size_t build_id_len;
};

/* Opens PATH as a core.  Errors: HD_E_NOENT, HD_E_PERM, HD_E_NOT_ELF (not
 * ELF, not a core, or a header or note table that does not parse),
 * HD_E_LAYOUT (segments that overlap or wrap, counts past the limits),
 * HD_E_INTERNAL.  corefile_close in every case. */
HD_MUST_CHECK int corefile_open(const char *path, struct hd_corefile *cf);
void corefile_close(struct hd_corefile *cf);

/* The executable: the module libdwfl found at the entry point, else the
 * file NT_FILE maps there; NULL when neither is known. */
const char *corefile_executable(const struct hd_corefile *cf);

#endif
