/* Loop bodies of the pp kernel family, included by pp_kernels.c (portable
 * build) and pp_kernels_avx2.c (-mavx2 -O3): one source, two builds. Define
 * PP_SUFFIX(name) and PP_LINKAGE (static or empty) before including. Integer and lookup work only, so the
 * builds agree bit for bit (FMA contraction cannot apply). */

PP_LINKAGE void PP_SUFFIX(vblend)(const int32_t *restrict r0, const int32_t *restrict r1, int32_t b0,
                              int32_t b1, uint8_t *restrict v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int32_t t = (((r0[i] >> 4) * b0) >> 16) + (((r1[i] >> 4) * b1) >> 16);
        t = (t + 2) >> 2;
        v[i] = (uint8_t)(t < 0 ? 0 : t > 255 ? 255 : t);
    }
}

PP_LINKAGE void PP_SUFFIX(hlinear3)(const uint8_t *restrict src, const int32_t *restrict o0,
                                const int32_t *restrict o1, const int16_t *restrict w0,
                                const int16_t *restrict w1, const int map[3], int32_t *restrict dst,
                                size_t n) {
    const int m0 = map[0], m1 = map[1], m2 = map[2];
    for (size_t i = 0; i < n; i++) {
        const uint8_t *a = src + o0[i], *b = src + o1[i];
        int32_t wa = w0[i], wb = w1[i];
        dst[i * 3] = a[m0] * wa + b[m0] * wb;
        dst[i * 3 + 1] = a[m1] * wa + b[m1] * wb;
        dst[i * 3 + 2] = a[m2] * wa + b[m2] * wb;
    }
}

PP_LINKAGE void PP_SUFFIX(hlinear1)(const uint8_t *restrict src, const int32_t *restrict o0,
                                const int32_t *restrict o1, const int16_t *restrict w0,
                                const int16_t *restrict w1, int32_t *restrict dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = src[o0[i]] * w0[i] + src[o1[i]] * w1[i];
}

PP_LINKAGE void PP_SUFFIX(f32_planar3)(const uint8_t *restrict v, const float (*lut)[256], float *restrict o0,
                                   float *restrict o1, float *restrict o2, size_t n) {
    const float *restrict l0 = lut[0], *restrict l1 = lut[1], *restrict l2 = lut[2];
    for (size_t x = 0; x < n; x++) {
        o0[x] = l0[v[x * 3]];
        o1[x] = l1[v[x * 3 + 1]];
        o2[x] = l2[v[x * 3 + 2]];
    }
}

PP_LINKAGE void PP_SUFFIX(f32_planar1)(const uint8_t *restrict v, const float *restrict lut, float *restrict o,
                                   size_t n) {
    for (size_t x = 0; x < n; x++) o[x] = lut[v[x]];
}

PP_LINKAGE void PP_SUFFIX(f32_interleaved3)(const uint8_t *restrict v, const float (*lut)[256],
                                        float *restrict o, size_t n) {
    const float *restrict l0 = lut[0], *restrict l1 = lut[1], *restrict l2 = lut[2];
    for (size_t x = 0; x < n; x++) {
        o[x * 3] = l0[v[x * 3]];
        o[x * 3 + 1] = l1[v[x * 3 + 1]];
        o[x * 3 + 2] = l2[v[x * 3 + 2]];
    }
}

PP_LINKAGE void PP_SUFFIX(u8_planar3)(const uint8_t *restrict v, uint8_t *restrict o0, uint8_t *restrict o1,
                                  uint8_t *restrict o2, size_t n) {
    for (size_t x = 0; x < n; x++) {
        o0[x] = v[x * 3];
        o1[x] = v[x * 3 + 1];
        o2[x] = v[x * 3 + 2];
    }
}
