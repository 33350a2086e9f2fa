/* Writes the synthetic image heaps of tests/unit/synthheap (every preset,
 * and variants) into a directory, as seeds for the heap fuzz target.
 *   fuzz_make_seeds DIR */
#include "../unit/synthheap.h"

#include <stdio.h>
#include <stdlib.h>

static int write_seed(const char *dir, const char *tag, const struct sh_params *p)
{
	struct sh_heap h;
	if (sh_build(p, &h) != 0)
		return -1;
	char path[4096];
	snprintf(path, sizeof path, "%s/synth-%s", dir, tag);
	FILE *f = fopen(path, "wb");
	int rc = f && fwrite(h.data, 1, h.size, f) == h.size ? 0 : -1;
	if (f && fclose(f) != 0)
		rc = -1;
	if (rc != 0)
		perror(path);
	sh_free(&h);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	const struct {
		const char *tag;
		const struct sh_params *p;
	} presets[] = {{"ce22", &sh_ce_22_3}, {"oracle21", &sh_oracle_21}, {"ce25", &sh_ce_25}};
	int rc = 0;
	for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
		char tag[64];
		struct sh_params p = *presets[i].p;
		rc |= write_seed(argv[1], presets[i].tag, &p);
		p.string_pads = 16;
		snprintf(tag, sizeof tag, "%s-pads", presets[i].tag);
		rc |= write_seed(argv[1], tag, &p);
		p = *presets[i].p;
		p.unaligned_chunks = 0;
		snprintf(tag, sizeof tag, "%s-aligned-only", presets[i].tag);
		rc |= write_seed(argv[1], tag, &p);
	}
	return rc ? 1 : 0;
}
