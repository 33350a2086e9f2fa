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
