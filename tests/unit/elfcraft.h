/* The header of a crafted 64-bit little-endian x86-64 ELF file, for tests
 * that spoil it: the caller places the section and program headers. */
#ifndef HD_TEST_ELFCRAFT_H
#define HD_TEST_ELFCRAFT_H

#include <elf.h>
#include <string.h>

static inline Elf64_Ehdr elfcraft_header(uint16_t type)
{
	Elf64_Ehdr eh;
	memset(&eh, 0, sizeof eh);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = type;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_ehsize = sizeof eh;
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_shentsize = sizeof(Elf64_Shdr);
	return eh;
}

#endif
