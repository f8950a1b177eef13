/* Shared helpers of the fuzz targets: tight limits (so the fuzzer explores
 * parsing and shape logic instead of spending its time allocating
 * gigabytes) and a reader that touches every byte of a returned buffer, so
 * that AddressSanitizer sees a buffer that is smaller than its shape says. */
#ifndef LENS_FUZZ_COMMON_H
#define LENS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lens/lens.h"

/* Limits for fuzzing: small enough that one input costs at most a few MiB
 * and a few milliseconds, large enough for the seed models. */
static inline void fuzz_limits(lens_limits *l) {
    memset(l, 0, sizeof *l);
    l->max_file_bytes = 1u << 20;
    l->max_tensor_elements = 1u << 16;
    l->max_tensor_bytes = 1u << 18;
    l->max_plan_bytes = 1u << 23;
    l->max_nodes = 512;
    l->max_graph_depth = 4;
}

/* Sum of every byte of a tensor's data: reads numel * element size bytes,
 * so a short buffer is an ASan report. The sum goes to a volatile sink so
 * the reads are not optimised away. */
static volatile uint64_t fuzz_sink;
static inline void fuzz_touch_tensor(const lens_tensor *t) {
    int64_t n = lens_tensor_numel(t);
    size_t es = lens_dtype_size(t->dtype);
    if (n <= 0 || !es || !t->data) return;
    const uint8_t *p = (const uint8_t *)t->data;
    uint64_t s = 0;
    for (size_t i = 0; i < (size_t)n * es; i++) s += p[i];
    fuzz_sink += s;
}

static inline void fuzz_touch_string(const char *s) {
    if (s) fuzz_sink += strlen(s);
}

#endif
