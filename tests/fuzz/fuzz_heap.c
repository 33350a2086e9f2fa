/* Fuzz target: the input is an image heap, as an executable's .svm_heap
 * would hold it.  Discovery, the class table, the census and the HPROF
 * writer run on it (tests/fuzz/pipeline.c). */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The heap is read in place as 8-byte words: give it the alignment a
	 * section read into malloc'd memory has. */
	uint8_t *heap = malloc(size ? size : 1);
	if (!heap)
		return 0;
	memcpy(heap, data, size);
	fuzz_pipeline(heap, size);
	free(heap);
	return 0;
}

#ifdef HD_LIBFUZZER
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed);

/* Half of the mutations are libFuzzer's own; the other half change whole
 * aligned words, as heap corruption that matters does: a header, a length
 * or a reference made small, extreme, off by a word, or a copy of another
 * word of the heap (most often a valid header or reference elsewhere). */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed)
{
	srand(seed);
	if (size < 64 || rand() % 2)
		return LLVMFuzzerMutate(data, size, max_size);
	size_t words = size / 8;
	for (int n = 1 + rand() % 4; n > 0; n--) {
		size_t at = 8 * ((size_t)rand() % words);
		unsigned width = rand() % 2 ? 8 : 4;
		uint64_t v = 0;
		memcpy(&v, data + at, width);
		switch (rand() % 5) {
		case 0:
			memcpy(&v, data + 8 * ((size_t)rand() % words), 8);
			break;
		case 1: {
			static const uint64_t small[] = {0, 1, 3, 4, 8, 0x7fffffff, 0x80000000, UINT64_MAX};
			v = small[rand() % 8];
			break;
		}
		case 2:
			v += rand() % 2 ? 8 : (uint64_t)-8;
			break;
		case 3:
			v ^= 1ull << (rand() % (8 * width));
			break;
		default:
			v = ((uint64_t)rand() << 32) ^ (uint64_t)rand();
			break;
		}
		memcpy(data + at, &v, width);
	}
	return size;
}
#endif
