/* Unit tests of the elementwise family: every float32 kernel variant the
 * CPU can run against libm (in double) over a dense sweep, random values and
 * the special values; the binary kernels' stride patterns at sizes around
 * the vector widths; and the broadcasting walker against a naive index
 * computation. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/common.h"
#include "core/tensor.h"
#include "ops/elementwise.h"
#include "ops/eltwise_impl.h"
#include "runtime/threadpool.h"

static int g_failures;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            g_failures++;                                                                  \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, "\n");                                                         \
        }                                                                                  \
    } while (0)

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static double rnd(void) { /* [0, 1) */
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (double)(g_rng >> 11) / 9007199254740992.0;
}

/* ---- math kernels against libm ------------------------------------------ */

static double ref_exp(double x) { return exp(x); }
static double ref_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static double ref_silu(double x) { return x / (1.0 + exp(-x)); }
static double ref_tanh(double x) { return tanh(x); }
static double ref_erf(double x) { return erf(x); }
static double ref_gelu(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }
static double ref_hardswish(double x) { return x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5)); }

typedef struct math_case {
    const char *name;
    void (*fn)(const float *, float *, size_t);
    double (*ref)(double);
    double rtol, atol;
} math_case;

static size_t make_inputs(float *x, size_t cap) {
    size_t n = 0;
    /* Dense sweep of the interesting range. */
    for (double v = -110.0; v <= 110.0 && n < cap; v += 0.0137) x[n++] = (float)v;
    /* Small magnitudes (erf, tanh near 0 are relative-error tests). */
    for (double v = 1e-30; v < 1.0 && n + 2 < cap; v *= 1.37) {
        x[n++] = (float)v;
        x[n++] = (float)-v;
    }
    /* Random values across magnitudes. */
    for (int i = 0; i < 20000 && n < cap; i++) {
        double m = pow(10.0, rnd() * 6.0 - 3.0);
        x[n++] = (float)((rnd() < 0.5 ? -1 : 1) * m);
    }
    const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, FLT_MAX_EXP, 88.72f, 88.73f,
                             -87.33f, -103.9f, -104.5f, 0.625f, -0.625f, 4.0f, -4.0f, 9.0f,
                             1e-7f, -1e-7f, 3.0f, -3.0f, 1e30f, -1e30f};
    for (size_t i = 0; i < LENS_ARRAY_LEN(special) && n < cap; i++) x[n++] = special[i];
    return n;
}

static void check_math(const char *variant, const math_case *c, const float *x, size_t n,
                       float *y) {
    c->fn(x, y, n);
    double worst = 0;
    float worst_x = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double r = c->ref((double)x[i]);
        double got = y[i];
        if (isnan(r)) {
            if (!isnan(got) && bad++ < 5)
                fprintf(stderr, "  %s %s(%g): want NaN, got %g\n", variant, c->name, x[i], got);
            continue;
        }
        if (isinf(r) || fabs(r) > FLT_MAX) {
            if (!(isinf(got) && (got > 0) == (r > 0)) && bad++ < 5)
                fprintf(stderr, "  %s %s(%g): want %g, got %g\n", variant, c->name, x[i], r, got);
            continue;
        }
        double err = fabs(got - r);
        double lim = c->atol + c->rtol * fabs(r);
        if (err > lim && bad++ < 5)
            fprintf(stderr, "  %s %s(%.9g): want %.9g, got %.9g\n", variant, c->name, x[i], r, got);
        double rel = err / (c->atol + fabs(r));
        if (rel > worst) {
            worst = rel;
            worst_x = x[i];
        }
    }
    CHECK(bad == 0, "%s %s: %d values out of tolerance", variant, c->name, bad);
    printf("  %-7s %-10s worst relative error %.2e (at x = %g)\n", variant, c->name, worst, worst_x);
}

static void test_math(void) {
    enum { CAP = 60000 };
    float *x = malloc(CAP * sizeof(float)), *y = malloc(CAP * sizeof(float));
    size_t n = make_inputs(x, CAP);
    const lens_eltw_f32 *variants[3] = {&lens_eltw_f32_ref, NULL, NULL};
    const char *names[3] = {"ref", "avx2", "avx512"};
#if defined(__x86_64__) || defined(__i386__)
    const lens_cpu *cpu = lens_cpu_features();
    if (cpu->avx2 && cpu->fma) variants[1] = &lens_eltw_f32_avx2;
    if (cpu->avx512f && cpu->avx512bw && cpu->avx512dq && cpu->avx512vl && cpu->avx2 && cpu->fma)
        variants[2] = &lens_eltw_f32_avx512;
#endif
    for (int v = 0; v < 3; v++) {
        const lens_eltw_f32 *k = variants[v];
        if (!k) {
            printf("  %s: not supported by this CPU, skipped\n", names[v]);
            continue;
        }
        const math_case cases[] = {
            {"exp", k->exp, ref_exp, 2e-7, 1e-38},
            {"sigmoid", k->sigmoid, ref_sigmoid, 5e-7, 1e-38},
            {"silu", k->silu, ref_silu, 5e-7, 1e-30},
            {"tanh", k->tanh, ref_tanh, 5e-7, 1e-38},
            {"erf", k->erf, ref_erf, 1e-6, 1e-38},
            /* Gelu's left tail and HardSwish near -3 cancel in float32
             * (1 + erf, x/6 + 1/2): only an absolute bound is meaningful. */
            {"gelu", k->gelu, ref_gelu, 1e-6, 1e-6},
            {"hardswish", k->hardswish, ref_hardswish, 2e-7, 1e-7},
        };
        for (size_t i = 0; i < LENS_ARRAY_LEN(cases); i++) check_math(names[v], &cases[i], x, n, y);
        /* In place must give the same as out of place. */
        float a[37], b[37];
        for (int i = 0; i < 37; i++) a[i] = b[i] = (float)(i - 18) * 0.7f;
        k->sigmoid(a, a, 37);
        float c[37];
        k->sigmoid(b, c, 37);
        CHECK(!memcmp(a, c, sizeof a), "%s sigmoid in place differs", names[v]);
        /* Parameterised kernels. */
        for (int i = 0; i < 37; i++) a[i] = (float)(i - 18) * 0.37f;
        k->clip(a, b, 37, -1.0f, 2.0f);
        k->leakyrelu(a, c, 37, 0.1f);
        for (int i = 0; i < 37; i++) {
            CHECK(b[i] == fminf(fmaxf(a[i], -1.0f), 2.0f), "%s clip", names[v]);
            CHECK(c[i] == (a[i] < 0 ? 0.1f * a[i] : a[i]), "%s leakyrelu", names[v]);
        }
        k->hardsigmoid(a, b, 37, 0.2f, 0.5f);
        k->relu(a, c, 37);
        for (int i = 0; i < 37; i++) {
            CHECK(fabsf(b[i] - fmaxf(0.0f, fminf(1.0f, 0.2f * a[i] + 0.5f))) < 1e-7f,
                  "%s hardsigmoid", names[v]);
            CHECK(c[i] == (a[i] < 0 ? 0.0f : a[i]), "%s relu", names[v]);
        }
        /* Binary kernels: all stride patterns, sizes across vector widths. */
        for (size_t m = 0; m <= 67; m++) {
            float p[67], q[67], r[67];
            for (size_t i = 0; i < m; i++) {
                p[i] = (float)(rnd() * 10 - 5);
                q[i] = (float)(rnd() * 10 + 0.5);
            }
            for (int pat = 0; pat < 4; pat++) {
                size_t sa = pat & 1, sb = (pat >> 1) & 1;
                k->add(p, sa, q, sb, r, m);
                for (size_t i = 0; i < m; i++)
                    CHECK(r[i] == p[i * sa] + q[i * sb], "%s add m=%zu pat=%d", names[v], m, pat);
                k->div(p, sa, q, sb, r, m);
                for (size_t i = 0; i < m; i++)
                    CHECK(r[i] == p[i * sa] / q[i * sb], "%s div m=%zu pat=%d", names[v], m, pat);
                k->max(p, sa, q, sb, r, m);
                for (size_t i = 0; i < m; i++)
                    CHECK(r[i] == fmaxf(p[i * sa], q[i * sb]), "%s max", names[v]);
            }
        }
        float nan_in[2] = {NAN, 1.0f}, one[2] = {1.0f, NAN}, out[2];
        k->max(nan_in, 1, one, 1, out, 2);
        CHECK(isnan(out[0]) && isnan(out[1]), "%s max must propagate NaN", names[v]);
    }
    /* The public helpers dispatch to one of the above. */
    float a[5] = {-2, -1, 0, 1, 2}, b[5];
    lens_f32_sigmoid(a, b, 5);
    CHECK(fabsf(b[2] - 0.5f) < 1e-7f && fabsf(b[4] - 0.880797078f) < 1e-6f, "lens_f32_sigmoid");
    lens_f32_tanh(a, b, 5);
    CHECK(fabsf(b[3] - 0.761594156f) < 1e-6f, "lens_f32_tanh");
    lens_f32_exp(a, b, 5);
    CHECK(fabsf(b[3] - 2.718281828f) < 1e-6f, "lens_f32_exp");
    free(x);
    free(y);
}

/* ---- broadcasting walker ---------------------------------------------------- */

static void add_row(const void *ctx, const char *const *in, const int64_t *inc, char *out,
                    int64_t n) {
    const float *a = (const float *)in[0], *b = (const float *)in[1];
    float *y = (float *)out;
    for (int64_t i = 0; i < n; i++) y[i] = a[i * inc[0]] + 10.0f * b[i * inc[1]];
}

static void where_row(const void *ctx, const char *const *in, const int64_t *inc, char *out,
                      int64_t n) {
    const uint8_t *c = (const uint8_t *)in[0];
    const float *a = (const float *)in[1], *b = (const float *)in[2];
    float *y = (float *)out;
    for (int64_t i = 0; i < n; i++) y[i] = c[i * inc[0]] ? a[i * inc[1]] : b[i * inc[2]];
}

/* Flat index into a broadcast input for output multi-index idx. */
static int64_t src_index(const lens_tensor *t, int32_t ndim, const int64_t *idx) {
    int64_t off = 0;
    for (int32_t d = 0; d < t->ndim; d++) {
        int64_t i = idx[ndim - t->ndim + d];
        off = off * t->dims[d] + (t->dims[d] == 1 ? 0 : i);
    }
    return off;
}

static void fill(lens_tensor *t, lens_dtype dt, int32_t ndim, const int64_t *dims) {
    t->dtype = dt;
    t->ndim = ndim;
    memcpy(t->dims, dims, sizeof(int64_t) * (size_t)ndim);
    int64_t n = lens_tensor_numel(t);
    t->data = malloc((size_t)(n ? n : 1) * lens_dtype_size(dt));
    for (int64_t i = 0; i < n; i++) {
        if (dt == LENS_DTYPE_BOOL) ((uint8_t *)t->data)[i] = rnd() < 0.5;
        else lens_tensor_set_f64(t, i, floor(rnd() * 64) / 4 - 8);
    }
}

static lens_threadpool *g_pool; /* NULL: serial */

static void test_broadcast_case(int32_t na, const int64_t *da, int32_t nb, const int64_t *db,
                                lens_dtype dt) {
    lens_tensor a, b, y;
    fill(&a, dt, na, da);
    fill(&b, dt, nb, db);
    const lens_tensor *ins[2] = {&a, &b};
    int32_t nd;
    int64_t dims[LENS_MAX_DIMS];
    CHECK(lens_eltw_broadcast(2, ins, &nd, dims) == LENS_OK, "broadcast shape");
    y.dtype = dt;
    y.ndim = nd;
    memcpy(y.dims, dims, sizeof dims);
    int64_t n = lens_tensor_numel(&y);
    y.data = malloc((size_t)(n ? n : 1) * lens_dtype_size(dt));
    CHECK(lens_eltw_apply_pool(g_pool, 2, ins, &y, add_row, NULL, true) == LENS_OK, "apply");
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t idx[LENS_MAX_DIMS], rem = i;
        for (int32_t d = nd - 1; d >= 0; d--) {
            idx[d] = rem % dims[d];
            rem /= dims[d];
        }
        double want = (float)(lens_tensor_get_f64(&a, src_index(&a, nd, idx)) +
                              10.0f * (float)lens_tensor_get_f64(&b, src_index(&b, nd, idx)));
        /* A half output is the float32 result rounded once. */
        uint16_t h;
        lens_tensor one = {dt, 1, {1}, &h};
        if (dt != LENS_DTYPE_FLOAT) {
            lens_tensor_set_f64(&one, 0, want);
            want = lens_tensor_get_f64(&one, 0);
        }
        if (lens_tensor_get_f64(&y, i) != want) bad++;
    }
    char sa[64], sb[64];
    CHECK(bad == 0, "broadcast %s + %s (%s, %s): %d wrong", g_pool ? "threaded" : "serial", lens_shape_str(na, da, sa, sizeof sa),
          lens_shape_str(nb, db, sb, sizeof sb), lens_dtype_name(dt), bad);
    free(a.data);
    free(b.data);
    free(y.data);
}

static void test_broadcast(void) {
    const int64_t s2345[] = {2, 3, 4, 5}, s1311[] = {1, 3, 1, 1}, s5[] = {5}, s2141[] = {2, 1, 4, 1},
                  s1315[] = {1, 3, 1, 5}, s1[] = {1}, s31[] = {3, 1}, s13[] = {1, 3},
                  s0[] = {0, 3}, big[] = {3, 300, 301}, big2[] = {300, 1}, s111[] = {1, 1, 1};
    for (int k = 0; k < 3; k++) {
        lens_dtype dt = k == 0 ? LENS_DTYPE_FLOAT : k == 1 ? LENS_DTYPE_FLOAT16 : LENS_DTYPE_BFLOAT16;
        test_broadcast_case(4, s2345, 4, s2345, dt);
        test_broadcast_case(4, s2345, 4, s1311, dt); /* per-channel bias */
        test_broadcast_case(4, s1311, 4, s2345, dt);
        test_broadcast_case(4, s2345, 1, s5, dt);
        test_broadcast_case(4, s2141, 4, s1315, dt); /* both sides broadcast */
        test_broadcast_case(4, s2345, 0, s1, dt);    /* scalar */
        test_broadcast_case(0, s1, 4, s2345, dt);
        test_broadcast_case(0, s1, 0, s1, dt);
        test_broadcast_case(2, s31, 2, s13, dt);
        test_broadcast_case(2, s0, 2, s13, dt); /* empty */
        test_broadcast_case(3, s111, 1, s1, dt);
    }
    /* Large enough for the threaded path: ranges start mid-row. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            if (lens_threadpool_create(4, &g_pool) != LENS_OK) break;
        }
        test_broadcast_case(3, big, 2, big2, LENS_DTYPE_FLOAT);
        test_broadcast_case(3, big, 3, big, LENS_DTYPE_FLOAT);
        test_broadcast_case(3, big, 2, big2, LENS_DTYPE_FLOAT16);
    }
    lens_threadpool_free(g_pool);
    g_pool = NULL;

    /* Incompatible shapes fail with a message. */
    lens_tensor a = {LENS_DTYPE_FLOAT, 2, {2, 3}, NULL}, b = {LENS_DTYPE_FLOAT, 1, {4}, NULL};
    const lens_tensor *ins[2] = {&a, &b};
    int32_t nd;
    int64_t dims[LENS_MAX_DIMS];
    CHECK(lens_eltw_broadcast(2, ins, &nd, dims) == LENS_STATUS_SHAPE_MISMATCH, "bad broadcast");

    /* Three-way (Where). */
    const int64_t dc[] = {2, 1, 4}, dx[] = {3, 1}, dz[] = {4};
    lens_tensor c, x, z, y;
    fill(&c, LENS_DTYPE_BOOL, 3, dc);
    fill(&x, LENS_DTYPE_FLOAT, 2, dx);
    fill(&z, LENS_DTYPE_FLOAT, 1, dz);
    const lens_tensor *w[3] = {&c, &x, &z};
    CHECK(lens_eltw_broadcast(3, w, &nd, dims) == LENS_OK && nd == 3 && dims[0] == 2 &&
              dims[1] == 3 && dims[2] == 4,
          "where shape");
    y.dtype = LENS_DTYPE_FLOAT;
    y.ndim = 3;
    memcpy(y.dims, dims, sizeof dims);
    float out[24];
    y.data = out;
    CHECK(lens_eltw_apply_pool(NULL, 3, w, &y, where_row, NULL, false) == LENS_OK, "where apply");
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) {
                float want = ((uint8_t *)c.data)[i * 4 + k] ? ((float *)x.data)[j]
                                                             : ((float *)z.data)[k];
                CHECK(out[(i * 3 + j) * 4 + k] == want, "where [%d,%d,%d]", i, j, k);
            }
    free(c.data);
    free(x.data);
    free(z.data);
}

int main(void) {
    test_math();
    test_broadcast();
    if (g_failures) {
        fprintf(stderr, "test_elementwise: %d failure(s)\n", g_failures);
        return 1;
    }
    printf("test_elementwise: ok\n");
    return 0;
}
