/* Micro-benchmark of the convolution kernels: GFLOP/s of representative
 * ResNet / MobileNet layers, per GEMM variant, at 1 and 2 threads.
 * Build: see bench/kernels/README (links the static library). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <time.h>

#include "ops/conv_f32.h"
#include "ops/op.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void bench(const char *name, lens_threadpool *pool, int64_t C, int64_t M, int64_t g,
                  int64_t H, int64_t k, int64_t s) {
    lens_conv_params p = {0};
    p.nsp = 2, p.N = 1, p.C = C, p.M = M, p.group = g;
    for (int i = 0; i < 2; i++) {
        p.in[i] = H, p.k[i] = k, p.stride[i] = s, p.dil[i] = 1, p.pad[i] = k / 2;
        p.out[i] = (H + 2 * (k / 2) - k) / s + 1;
    }
    p.act.act = LENS_ACT_RELU;
    const lens_f32_gemm_variant *v = lens_f32_gemm_best();
    const lens_f32_dwconv_variant *dv = lens_f32_dwconv_best();
    size_t xs = C * H * H, ws = M * (C / g) * k * k, ys = M * p.out[0] * p.out[1];
    float *x = lens_aligned_alloc(xs * 4), *w = lens_aligned_alloc(ws * 4);
    float *y = lens_aligned_alloc(ys * 4), *b = lens_aligned_alloc(M * 4);
    for (size_t i = 0; i < xs; i++) x[i] = (float)(i % 13) * 0.1f;
    for (size_t i = 0; i < ws; i++) w[i] = (float)(i % 7) * 0.01f;
    for (int64_t i = 0; i < M; i++) b[i] = 0.5f;
    size_t gs, pf = lens_conv_packed_floats(&p, v, &gs);
    float *wp = lens_aligned_alloc(pf * 4 + 64);
    lens_conv_pack_weights(&p, v, w, wp);
    float *sc = lens_aligned_alloc(lens_conv_scratch_floats(&p, v, lens_threadpool_size(pool), 1) * 4 + 64);
    double flops = 2.0 * ys * (C / g) * k * k;
    int iters = 0;
    double t0 = now(), best = 1e9;
    while (now() - t0 < 1.0 || iters < 10) {
        double t1 = now();
        lens_conv_f32(&p, v, dv, pool, x, w, wp, b, NULL, y, sc);
        double dt = now() - t1;
        if (dt < best) best = dt;
        iters++;
    }
    printf("%-28s threads=%d %-22s %8.3f ms  %7.1f GFLOP/s\n", name, lens_threadpool_size(pool),
           lens_conv_is_depthwise(&p) ? dv->name : v->name, best * 1e3, flops / best * 1e-9);
    lens_aligned_free(x), lens_aligned_free(w), lens_aligned_free(y), lens_aligned_free(b);
    lens_aligned_free(wp), lens_aligned_free(sc);
}

int main(void) {
    for (int t = 1; t <= 2; t++) {
        lens_threadpool *pool;
        if (lens_threadpool_create(t, &pool) != LENS_OK) return 1;
        bench("3x3 64->64 56x56", pool, 64, 64, 1, 56, 3, 1);
        bench("1x1 256->64 56x56", pool, 256, 64, 1, 56, 1, 1);
        bench("3x3 512->512 7x7", pool, 512, 512, 1, 7, 3, 1);
        bench("3x3 128->128 28x28", pool, 128, 128, 1, 28, 3, 1);
        bench("7x7/2 3->64 224x224", pool, 3, 64, 1, 224, 7, 2);
        bench("dw 3x3 96 112x112", pool, 96, 96, 96, 112, 3, 1);
        bench("dw 3x3/2 96 112x112", pool, 96, 96, 96, 112, 3, 2);
        lens_threadpool_free(pool);
    }
    return 0;
}
