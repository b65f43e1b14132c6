/*
 * failalloc.h - allocation-failure injection for the fuzz targets (tests/fuzz/failalloc.c).
 * Every target calls failalloc_reset() first in LLVMFuzzerTestOneInput.
 */
#ifndef FUZZ_FAILALLOC_H
#define FUZZ_FAILALLOC_H

#include <stddef.h>
#include <stdint.h>

/* Reseeds the failure sequence from the input, so a given input fails the same allocations. */
void failalloc_reset(const uint8_t *data, size_t size);

#endif
