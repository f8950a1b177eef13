/* Winograd F(4,3) against the direct (indirect-B GEMM) path on 3x3 stride-1
 * layers, 1 thread, thread CPU time (best of >= 0.3 s): the channel and map
 * crossover behind conv_winograd.c's rule. The weights stay in cache here,
 * unlike in a model, which flatters Winograd's 4x larger weights on wide
 * layers: judge those on whole models (lens bench --profile).
 * Build like bench_conv.c (bench/kernels/README.md), adding
 * $O/ops/conv_winograd.c.o. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ops/conv_winograd.h"
#include "ops/op.h"

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double best_of(const lens_conv_params *p, const lens_f32_gemm_variant *v, const float *x,
                      const float *w, const float *b, float *y, bool wino) {
    float *wp, *sc;
    if (wino) {
        wp = lens_aligned_alloc(lens_conv_wino_packed_floats(p, v) * 4);
        lens_conv_wino_pack_weights(p, v, w, wp);
        sc = lens_aligned_alloc(lens_conv_wino_scratch_floats(p, v, 1) * 4 + 64);
    } else {
        size_t gs;
        wp = lens_aligned_alloc(lens_conv_packed_floats(p, v, &gs) * 4 + 64);
        lens_conv_pack_weights(p, v, w, wp);
        sc = lens_aligned_alloc(lens_conv_scratch_floats(p, v, 1, true) * 4 + 64);
    }
    double t0 = cpu_now(), best = 1e9;
    for (int it = 0; cpu_now() - t0 < 0.3 || it < 5; it++) {
        double t1 = cpu_now();
        if (wino)
            lens_conv_wino_f32(p, v, lens_f32_wino_best(), NULL, x, wp, b, NULL, y, sc);
        else
            lens_conv_f32(p, v, lens_f32_dwconv_best(), NULL, x, w, wp, b, NULL, y, sc);
        double dt = cpu_now() - t1;
        if (dt < best) best = dt;
    }
    lens_aligned_free(wp), lens_aligned_free(sc);
    return best;
}

int main(void) {
    const int64_t chans[] = {8, 12, 16, 24, 32, 64, 128, 256, 512};
    const int64_t maps[] = {7, 14, 20, 28, 40, 56, 80, 160};
    const lens_f32_gemm_variant *v = lens_f32_gemm_best();
    printf("C=M  map   direct ms  winograd ms  speed-up\n");
    for (size_t ci = 0; ci < sizeof chans / sizeof *chans; ci++)
        for (size_t mi = 0; mi < sizeof maps / sizeof *maps; mi++) {
            int64_t C = chans[ci], H = maps[mi];
            if (C * C * H * H > (int64_t)256 * 256 * 56 * 56) continue;
            lens_conv_params p = {0};
            p.nsp = 2, p.N = 1, p.C = C, p.M = C, p.group = 1;
            for (int i = 0; i < 2; i++)
                p.in[i] = p.out[i] = H, p.k[i] = 3, p.stride[i] = 1, p.dil[i] = 1, p.pad[i] = 1;
            p.act.act = LENS_ACT_RELU;
            size_t xs = (size_t)(C * H * H), ws = (size_t)(C * C * 9);
            float *x = lens_aligned_alloc(xs * 4), *w = lens_aligned_alloc(ws * 4);
            float *y = lens_aligned_alloc(xs * 4), *b = lens_aligned_alloc((size_t)C * 4);
            for (size_t i = 0; i < xs; i++) x[i] = (float)(i % 13) * 0.1f;
            for (size_t i = 0; i < ws; i++) w[i] = (float)(i % 7) * 0.01f;
            for (int64_t i = 0; i < C; i++) b[i] = 0.5f;
            double d = best_of(&p, v, x, w, b, y, false), wn = best_of(&p, v, x, w, b, y, true);
            printf("%4lld %4lld %10.3f %12.3f %9.2f\n", (long long)C, (long long)H, d * 1e3, wn * 1e3,
                   d / wn);
            fflush(stdout);
            lens_aligned_free(x), lens_aligned_free(w), lens_aligned_free(y), lens_aligned_free(b);
        }
    return 0;
}
