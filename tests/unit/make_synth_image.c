/* Writes a synthetic native-image executable for test_api: an ELF file
 * whose .data holds a VM version and whose .svm_heap holds the synthetic
 * image heap of the CE 25 preset (synthheap.h), and its ground truth in a
 * text file beside it, so that the test needs nothing but include/hdump.h.
 *   make_synth_image IMAGE.elf IMAGE.expect */
#include "synthheap.h"

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VM_VERSION "GraalVM CE 25+37.1 (synthetic)"

static const char NAMES[] = "\0.data\0.svm_heap\0.shstrtab";
enum { N_DATA = 1, N_HEAP = 7, N_SHSTRTAB = 17 };
static const char DATA[] = "junk\0com.oracle.svm.core.VM=" VM_VERSION;

static Elf64_Shdr section(uint32_t name, uint32_t type, uint64_t flags, uint64_t off, uint64_t size)
{
	return (Elf64_Shdr){.sh_name = name, .sh_type = type, .sh_flags = flags,
			    .sh_offset = off, .sh_size = size, .sh_addralign = 1};
}

static int write_at(FILE *f, long off, const void *p, size_t n)
{
	return fseek(f, off, SEEK_SET) == 0 && fwrite(p, 1, n, f) == n ? 0 : -1;
}

static int write_elf(const char *path, const struct sh_heap *h)
{
	uint64_t names_off = sizeof(Elf64_Ehdr);
	uint64_t data_off = names_off + sizeof NAMES;
	uint64_t heap_off = (data_off + sizeof DATA + 7) & ~7ull;
	uint64_t shoff = (heap_off + h->size + 7) & ~7ull;
	Elf64_Shdr sh[] = {
		section(0, SHT_NULL, 0, 0, 0),
		section(N_SHSTRTAB, SHT_STRTAB, 0, names_off, sizeof NAMES),
		section(N_DATA, SHT_PROGBITS, SHF_WRITE | SHF_ALLOC, data_off, sizeof DATA),
		section(N_HEAP, SHT_PROGBITS, SHF_WRITE | SHF_ALLOC, heap_off, h->size),
	};
	Elf64_Ehdr eh = {
		.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		.e_shoff = shoff, .e_ehsize = sizeof eh, .e_shentsize = sizeof(Elf64_Shdr),
		.e_shnum = sizeof sh / sizeof sh[0], .e_shstrndx = 1,
	};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	int rc = write_at(f, 0, &eh, sizeof eh) | write_at(f, (long)names_off, NAMES, sizeof NAMES) |
		 write_at(f, (long)data_off, DATA, sizeof DATA) |
		 write_at(f, (long)heap_off, h->data, h->size) |
		 write_at(f, (long)shoff, sh, sizeof sh);
	return fclose(f) != 0 ? -1 : rc;
}

static bool is_filler(const struct sh_class *c)
{
	return strcmp(c->name, "com.oracle.svm.core.heap.FillerObject") == 0;
}

/* "key value" lines, then "class COUNT NAME" for each class with instances. */
static int write_expect(const char *path, const struct sh_heap *h)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	uint64_t first;
	memcpy(&first, h->data, 8);
	fprintf(f, "vm_version %s\n", VM_VERSION);
	fprintf(f, "heap_size %llu\n", (unsigned long long)h->size);
	fprintf(f, "first_word %llu\n", (unsigned long long)first);
	fprintf(f, "objects %llu\n", (unsigned long long)h->objects);
	fprintf(f, "bytes %llu\n", (unsigned long long)h->bytes);
	fprintf(f, "fillers %llu\n", (unsigned long long)h->fillers);
	fprintf(f, "chunks %zu\n", h->naligned + h->nunaligned);
	for (size_t i = 0; i < h->nclasses; i++)
		if (h->classes[i].count && !is_filler(&h->classes[i]))
			fprintf(f, "class %llu %s\n", (unsigned long long)h->classes[i].count,
				h->classes[i].name);
	return fclose(f);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s IMAGE.elf IMAGE.expect\n", argv[0]);
		return 2;
	}
	struct sh_heap h;
	if (sh_build(&sh_ce_25, &h) != 0)
		return 1;
	int rc = write_elf(argv[1], &h) | write_expect(argv[2], &h);
	if (rc != 0)
		perror(argv[1]);
	sh_free(&h);
	return rc ? 1 : 0;
}
