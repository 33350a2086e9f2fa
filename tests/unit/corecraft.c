#include "corecraft.h"

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cc_init(struct cc_core *c)
{
	memset(c, 0, sizeof *c);
	c->type = ET_CORE;
}

void cc_note(struct cc_core *c, uint32_t type, const void *desc, size_t len)
{
	Elf64_Nhdr nh = {5, (uint32_t)len, type};
	uint8_t *p = c->notes + c->nnotes;
	memcpy(p, &nh, sizeof nh);
	memcpy(p + sizeof nh, "CORE\0\0\0", 8);
	memcpy(p + sizeof nh + 8, desc, len);
	c->nnotes += sizeof nh + 8 + (len + 3) / 4 * 4;
}

void cc_thread(struct cc_core *c, int tid, uint64_t rip, uint64_t rsp)
{
	uint8_t st[336] = {0};
	memcpy(st + 32, &tid, 4);
	memcpy(st + 112 + 16 * 8, &rip, 8);
	memcpy(st + 112 + 19 * 8, &rsp, 8);
	cc_note(c, NT_PRSTATUS, st, sizeof st);
}

void cc_entry(struct cc_core *c, uint64_t entry)
{
	uint64_t auxv[4] = {AT_ENTRY, entry, AT_NULL, 0};
	cc_note(c, NT_AUXV, auxv, sizeof auxv);
}

void cc_files(struct cc_core *c, size_t n, const uint64_t (*e)[3], const char *const *names)
{
	uint8_t d[4096];
	uint64_t head[2] = {n, 4096};
	size_t len = 0;
	memcpy(d, head, sizeof head);
	len = sizeof head;
	for (size_t i = 0; i < n; i++, len += 24)
		memcpy(d + len, e[i], 24);
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(names[i]) + 1;
		memcpy(d + len, names[i], k);
		len += k;
	}
	cc_note(c, NT_FILE, d, len);
}

void cc_seg(struct cc_core *c, struct cc_seg s)
{
	c->segs[c->nsegs++] = s;
}

void cc_seg_bytes(struct cc_core *c, struct cc_seg s, const uint8_t *bytes)
{
	c->bytes[c->nsegs] = bytes;
	cc_seg(c, s);
}

int cc_write(const struct cc_core *c, const char *path, uint64_t truncate)
{
	size_t phnum = 1 + c->nsegs;
	uint64_t notes_at = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr);
	uint64_t data_at = (notes_at + c->nnotes + 4095) / 4096 * 4096 + c->data_shift;
	uint64_t size = data_at;
	for (size_t i = 0; i < c->nsegs; i++)
		size += c->segs[i].filesz;
	uint8_t *f = calloc(1, size);
	Elf64_Ehdr eh = {.e_type = c->type, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			 .e_phoff = sizeof eh, .e_ehsize = sizeof eh,
			 .e_phentsize = sizeof(Elf64_Phdr),
			 .e_phnum = (uint16_t)(c->phnum_lie ? c->phnum_lie : phnum)};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(f, &eh, sizeof eh);
	Elf64_Phdr note = {.p_type = PT_NOTE, .p_offset = notes_at, .p_filesz = c->nnotes, .p_align = 4};
	memcpy(f + sizeof eh, &note, sizeof note);
	memcpy(f + notes_at, c->notes, c->nnotes);
	uint64_t at = data_at;
	for (size_t i = 0; i < c->nsegs; i++) {
		const struct cc_seg *s = &c->segs[i];
		Elf64_Phdr ph = {.p_type = PT_LOAD, .p_flags = s->flags, .p_offset = at,
				 .p_vaddr = s->vaddr, .p_filesz = s->filesz, .p_memsz = s->memsz,
				 .p_align = 4096};
		memcpy(f + sizeof eh + (1 + i) * sizeof ph, &ph, sizeof ph);
		if (c->bytes[i])
			memcpy(f + at, c->bytes[i], s->filesz);
		else
			memset(f + at, s->fill, s->filesz);
		at += s->filesz;
	}
	FILE *out = fopen(path, "wb");
	if (!out) {
		free(f);
		return -1;
	}
	fwrite(f, 1, truncate && truncate < size ? truncate : size, out);
	fclose(out);
	free(f);
	return 0;
}
