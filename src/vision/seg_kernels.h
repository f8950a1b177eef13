/* Row kernels of segmentation post-processing (the "seg" family): one step
 * of the per-pixel argmax over class planes. A portable reference and an
 * AVX2 build of the same loop (the compiler vectorises it with -mavx2 -O3);
 * the table lists both so that tests compare every variant with the
 * reference. Only comparisons and selects, so every variant gives identical
 * results (NaN in x never wins: NaN > b is false). */
#ifndef LENS_VISION_SEG_KERNELS_H
#define LENS_VISION_SEG_KERNELS_H

#include "core/common.h"

typedef struct lens_seg_kernels {
    const char *name;
    bool (*supported)(const lens_cpu *cpu);
    /* For i < n: where x[i] > best[i], best[i] = x[i] and idx[i] = k.
     * All pointers borrowed for the call; the arrays must not overlap. */
    void (*argmax_step)(const float *x, float *best, int32_t *idx, int32_t k, size_t n);
} lens_seg_kernels;

#if defined(__x86_64__)
/* The AVX2 build (seg_kernels_avx2.c); listed in the table. */
void lens_seg_argmax_step__avx2(const float *x, float *best, int32_t *idx, int32_t k, size_t n);
#endif

/* All variants, reference first; *count set to their number. */
const lens_seg_kernels *lens_seg_kernels_variants(size_t *count);
/* The best variant this CPU (capped by LENS_ISA) supports. Chosen once;
 * thread-safe. */
const lens_seg_kernels *lens_seg_kernels_best(void);

#endif
