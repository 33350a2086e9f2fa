/* Opening an ELF file for libelf (symbols/elffile.h) on crafted files: the
 * header and section count checked before libelf sees them (foreign
 * files, counts past the file or the caller's limit, damaged entry sizes,
 * what is no regular file), string tables checked before they are used,
 * a header rewritten before libelf reads it, reads that find the file
 * shrunk or a signal pending. */
#include "../../common/hd_error.h"
#include "../../common/interrupt.h"
#include "../../symbols/elffile.h"
#include "elfcraft.h"

#include <criterion/criterion.h>
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Header, names at NAMES_OFF, section table at SH_OFF: null, the names, a
 * data section. */
#define NAMES_OFF 0x40
#define SH_OFF 0x80
#define NSECS 3

static const char NAMES[] = "\0.shstrtab\0.data";

struct crafted {
	Elf64_Ehdr eh;
	char names[sizeof NAMES];
	Elf64_Shdr sh[NSECS];
};

/* A class no check here uses by itself, to tell the caller's apart. */
#define UNSUPPORTED HD_E_NOT_NATIVE_IMAGE

static const struct hd_elffile_want X86_64 = {EM_X86_64, 16, UNSUPPORTED};

static struct crafted good(void)
{
	struct crafted c;
	memset(&c, 0, sizeof c);
	c.eh = elfcraft_header(ET_EXEC);
	c.eh.e_shoff = SH_OFF;
	c.eh.e_shnum = NSECS;
	c.eh.e_shstrndx = 1;
	memcpy(c.names, NAMES, sizeof NAMES);
	c.sh[1] = (Elf64_Shdr){.sh_name = 1, .sh_type = SHT_STRTAB, .sh_offset = NAMES_OFF,
			       .sh_size = sizeof NAMES, .sh_addralign = 1};
	c.sh[2] = (Elf64_Shdr){.sh_name = 11, .sh_type = SHT_PROGBITS, .sh_offset = NAMES_OFF,
			       .sh_size = 8, .sh_addralign = 1};
	return c;
}

static void put(int fd, uint64_t off, const void *p, size_t n)
{
	cr_assert_eq(pwrite(fd, p, n, (off_t)off), (ssize_t)n);
}

/* C written to an unlinked temporary file, SIZE bytes long (0: just C). */
static int write_crafted(const struct crafted *c, uint64_t size)
{
	char path[] = "/tmp/hdump-elffile-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	put(fd, 0, &c->eh, sizeof c->eh);
	put(fd, NAMES_OFF, c->names, sizeof c->names);
	put(fd, SH_OFF, c->sh, sizeof c->sh);
	if (size)
		cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* Opens C as WANT says: 0, or -1 with the error recorded.  libelf reads
 * through the descriptor on demand: it is closed by finish(). */
static int open_crafted(const struct crafted *c, uint64_t size,
			const struct hd_elffile_want *want, struct hd_elffile *f)
{
	int fd = write_crafted(c, size);
	hd_error_clear();
	int rc = elffile_open(f, fd, "crafted", want);
	if (rc != 0)
		close(fd);
	return rc;
}

static void finish(struct hd_elffile *f)
{
	elffile_close(f);
	close(f->fd);
}

static void refused(const struct crafted *c, uint64_t size, const struct hd_elffile_want *want,
		    enum hd_error_class cls, const char *what)
{
	struct hd_elffile f;
	cr_assert_eq(open_crafted(c, size, want, &f), -1, "%s: accepted", what);
	cr_assert_eq(hd_error_class(), cls, "%s: class %d: %s", what, hd_error_class(),
		     hd_error_message());
	cr_assert_null(f.elf, "%s: libelf's handle left open", what);
}

Test(elffile, a_sound_file_opens_as_checked)
{
	struct crafted c = good();
	int fd = write_crafted(&c, 0);
	struct hd_elffile f;
	cr_assert_eq(elffile_open(&f, fd, "crafted", &X86_64), 0, "%s", hd_error_message());
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(f.size, (uint64_t)st.st_size);
	cr_assert(f.dev == st.st_dev && f.ino == st.st_ino);
	cr_assert_eq(f.shnum, NSECS);
	cr_assert_eq(memcmp(&f.eh, &c.eh, sizeof c.eh), 0);
	cr_assert_not_null(f.elf);
	cr_assert_eq(elffile_strtab(&f, 1, sizeof NAMES), 0, "%s", hd_error_message());
	cr_assert_str_eq(elf_strptr(f.elf, 1, 11), ".data");
	Elf_Scn *scn;
	GElf_Shdr sh;
	cr_assert_eq(elffile_section(&f, 2, &scn, &sh), 0, "%s", hd_error_message());
	cr_assert_eq(sh.sh_type, SHT_PROGBITS);
	cr_assert_eq(elffile_section(&f, 0, &scn, &sh), -1, "section 0 is no section");
	cr_assert_eq(elffile_section(&f, NSECS, &scn, &sh), -1);
	cr_assert_eq(hd_error_class(), HD_E_NOT_ELF);
	char buf[SELFMAG];
	cr_assert_eq(elffile_read(&f, 0, buf, sizeof buf), 0);
	cr_assert_eq(memcmp(buf, ELFMAG, SELFMAG), 0);
	cr_assert(elffile_inside(&f, 0, f.size));
	cr_assert_not(elffile_inside(&f, 1, f.size));
	cr_assert_not(elffile_inside(&f, f.size + 1, 0));
	elffile_close(&f);
	cr_assert_null(f.elf);
	close(fd);
}

/* The good file with extended numbering claiming COUNT sections. */
static struct crafted extended(uint64_t count)
{
	struct crafted c = good();
	c.eh.e_shnum = 0;
	c.sh[0].sh_size = count;
	return c;
}

Test(elffile, extended_numbering_counts_from_section_0)
{
	struct crafted c = extended(NSECS);
	struct hd_elffile f;
	cr_assert_eq(open_crafted(&c, 0, &X86_64, &f), 0, "%s", hd_error_message());
	cr_assert_eq(f.shnum, NSECS);
	finish(&f);
}

Test(elffile, a_file_without_sections_opens_with_none)
{
	struct crafted c = good();
	c.eh.e_shoff = 0;
	c.eh.e_shnum = 0;
	struct hd_elffile f;
	cr_assert_eq(open_crafted(&c, 0, &X86_64, &f), 0, "%s", hd_error_message());
	cr_assert_eq(f.shnum, 0);
	finish(&f);
}

Test(elffile, any_machine_when_the_caller_takes_any)
{
	struct crafted c = good();
	c.eh.e_machine = EM_AARCH64;
	refused(&c, 0, &X86_64, UNSUPPORTED, "aarch64 for an x86-64 reader");
	struct hd_elffile_want any = X86_64;
	any.machine = EM_NONE;
	struct hd_elffile f;
	cr_assert_eq(open_crafted(&c, 0, &any, &f), 0, "%s", hd_error_message());
	finish(&f);
}

/* Each header refused before libelf is given the file. */
Test(elffile, hostile_headers_are_refused)
{
	struct crafted c;
	c = good();
	c.eh.e_ident[EI_MAG2] = 'X';
	refused(&c, 0, &X86_64, HD_E_NOT_ELF, "not ELF");
	c = good();
	c.eh.e_ident[EI_CLASS] = ELFCLASS32;
	refused(&c, 0, &X86_64, UNSUPPORTED, "32-bit");
	c = good();
	c.eh.e_ident[EI_DATA] = ELFDATA2MSB;
	refused(&c, 0, &X86_64, UNSUPPORTED, "big-endian");
	c = good();
	c.eh.e_shentsize = 32;
	refused(&c, 0, &X86_64, HD_E_NOT_ELF, "section entry size 32");
	c = good();
	c.eh.e_shoff = 1ull << 40;
	refused(&c, 0, &X86_64, HD_E_LAYOUT, "section table past the end");
	c = good();
	c.eh.e_shnum = NSECS + 1;
	refused(&c, 0, &X86_64, HD_E_LAYOUT, "one section header more than the file holds");
	c = extended(1ull << 32);
	refused(&c, 1ull << 30, &X86_64, HD_E_LAYOUT, "extended, 2^32 sections in a sparse GiB");
	c = extended(0);
	refused(&c, 0, &X86_64, HD_E_LAYOUT, "extended, 0 sections");
	c = extended(1u << 20);
	refused(&c, 256u << 20, &X86_64, UNSUPPORTED, "extended, 2^20 sections past the limit");
	c = good();
	struct hd_elffile_want two = X86_64;
	two.max_sections = NSECS - 1;
	refused(&c, 0, &two, UNSUPPORTED, "one section more than the caller takes");
}

Test(elffile, what_is_no_regular_elf_file_is_refused)
{
	struct hd_elffile f;
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(elffile_open(&f, fd, "/tmp", &X86_64), -1);
	cr_assert_eq(hd_error_class(), HD_E_NOT_ELF, "%s", hd_error_message());
	close(fd);
	struct crafted c = good();
	refused(&c, sizeof c.eh - 1, &X86_64, HD_E_NOT_ELF, "shorter than a header");
}

/* Section 1 spoiled, then checked as a string table of at most 64 bytes. */
static void strtab_refused(void (*spoil)(struct crafted *), enum hd_error_class cls,
			   const char *what)
{
	struct crafted c = good();
	spoil(&c);
	struct hd_elffile f;
	cr_assert_eq(open_crafted(&c, 0, &X86_64, &f), 0, "%s: %s", what, hd_error_message());
	cr_assert_eq(elffile_strtab(&f, 1, 64), -1, "%s: accepted", what);
	cr_assert_eq(hd_error_class(), cls, "%s: class %d: %s", what, hd_error_class(),
		     hd_error_message());
	finish(&f);
}

static void unterminated(struct crafted *c) { c->names[sizeof NAMES - 1] = 'x'; }
static void not_strtab(struct crafted *c) { c->sh[1].sh_type = SHT_PROGBITS; }
static void past_end(struct crafted *c) { c->sh[1].sh_offset = 1ull << 40; }
static void too_big(struct crafted *c) { c->sh[1].sh_size = SH_OFF; }
static void compressed(struct crafted *c) { c->sh[1].sh_flags = SHF_COMPRESSED; }
static void empty(struct crafted *c) { c->sh[1].sh_size = 0; }

Test(elffile, string_tables_are_checked_before_use)
{
	strtab_refused(unterminated, HD_E_NOT_ELF, "not terminated");
	strtab_refused(not_strtab, HD_E_NOT_ELF, "no string table");
	strtab_refused(past_end, HD_E_LAYOUT, "past the end");
	strtab_refused(too_big, UNSUPPORTED, "over the limit");
	strtab_refused(compressed, HD_E_NOT_ELF, "compressed");
	strtab_refused(empty, HD_E_NOT_ELF, "empty");
}

/* The file shrinks after it was opened: a read of what it held is an
 * error, not a short buffer. */
Test(elffile, a_read_past_a_shrunk_file_fails)
{
	struct crafted c = good();
	int fd = write_crafted(&c, 0);
	struct hd_elffile f;
	cr_assert_eq(elffile_open(&f, fd, "crafted", &X86_64), 0, "%s", hd_error_message());
	cr_assert_eq(ftruncate(fd, NAMES_OFF), 0);
	char buf[16];
	cr_assert_eq(elffile_read(&f, NAMES_OFF, buf, sizeof buf), -1);
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", hd_error_message());
	cr_assert_not_null(strstr(hd_error_message(), "shrank"), "%s", hd_error_message());
	elffile_close(&f);
	close(fd);
}

Test(elffile, a_pending_signal_ends_reading)
{
	struct crafted c = good();
	int fd = write_crafted(&c, 0);
	hd_install_signal_handlers();
	cr_assert_eq(raise(SIGTERM), 0);
	struct hd_elffile f;
	cr_assert_eq(elffile_open(&f, fd, "crafted", &X86_64), -1);
	cr_assert_eq(hd_error_class(), HD_E_INTERRUPTED, "%s", hd_error_message());
	close(fd);
}

/* libelf reads through pread, and the definitions below are the ones it
 * and elffile call (elffile's is pread64 with 64-bit file offsets, as
 * meson builds): reads of offset 0 on REWRITTEN_FD after the first
 * (elffile's check) see the header rewritten, as if the file changed in
 * between. */
static int rewritten_fd = -1;
static int header_reads;

static ssize_t read_rewritten(int fd, void *buf, size_t n, off_t off)
{
	ssize_t got = syscall(SYS_pread64, fd, buf, n, off);
	if (fd == rewritten_fd && off == 0 && got >= (ssize_t)sizeof(Elf64_Ehdr) &&
	    header_reads++ > 0)
		((Elf64_Ehdr *)buf)->e_flags ^= 1;
	return got;
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	return read_rewritten(fd, buf, n, off);
}

ssize_t pread_of_libelf(int fd, void *buf, size_t n, off_t off) __asm__("pread");
ssize_t pread_of_libelf(int fd, void *buf, size_t n, off_t off)
{
	return read_rewritten(fd, buf, n, off);
}

Test(elffile, a_header_rewritten_before_libelf_reads_it_is_refused)
{
	struct crafted c = good();
	int fd = write_crafted(&c, 0);
	rewritten_fd = fd;
	struct hd_elffile f;
	cr_assert_eq(elffile_open(&f, fd, "crafted", &X86_64), -1, "accepted");
	cr_assert_eq(header_reads, 2, "libelf did not read the header through pread");
	cr_assert_eq(hd_error_class(), HD_E_LAYOUT, "%s", hd_error_message());
	cr_assert_not_null(strstr(hd_error_message(), "changed"), "%s", hd_error_message());
	rewritten_fd = -1;
	close(fd);
}
