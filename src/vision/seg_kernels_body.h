/* Loop bodies of the seg kernel family, included by seg_kernels.c (portable
 * build) and seg_kernels_avx2.c (-mavx2 -O3): one source, two builds. Define
 * SEG_SUFFIX(name) and SEG_LINKAGE (static or empty) before including. */

SEG_LINKAGE void SEG_SUFFIX(argmax_step)(const float *restrict x, float *restrict best, int32_t *restrict idx,
                                         int32_t k, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i], b = best[i];
        int m = v > b; /* false for NaN: first maximum wins, NaN never does */
        best[i] = m ? v : b;
        idx[i] = m ? k : idx[i];
    }
}
