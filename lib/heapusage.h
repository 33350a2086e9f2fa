/* hdump_heap_usage's state kept by a target: where each isolate's chunk
 * lists start (its collector's Space and HeapAllocation objects in the
 * image heap, and their word slots), found once. */
#ifndef HD_LIB_HEAPUSAGE_H
#define HD_LIB_HEAPUSAGE_H

struct heapusage;

void heapusage_free(struct heapusage *hu);

#endif
