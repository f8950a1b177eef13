/* Unit tests of the data-movement kernel behind the shape operators
 * (ops/shape_copy.c): lens_transpose and lens_copy_view against a naive
 * element-by-element reference, over every permutation up to rank 4, random
 * shapes up to rank 6, every element size, zero-sized and size-1 axes,
 * negative and zero (broadcast) source strides, strided destinations, and
 * sizes large enough to take the blocked and the parallel paths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "ops/shape_internal.h"
#include "runtime/threadpool.h"

static int g_failures = 0;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                           \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, "\n");                                                         \
            g_failures++;                                                                  \
        }                                                                                  \
    } while (0)

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

/* dst[x . ds] = src[x . ss] for every x, one element at a time. */
static void naive_copy(char *dst, const int64_t *ds, const char *src, const int64_t *ss, size_t es,
                       int32_t nd, const int64_t *dims) {
    int64_t n = 1;
    for (int32_t i = 0; i < nd; i++) n *= dims[i];
    for (int64_t k = 0; k < n; k++) {
        int64_t rem = k, so = 0, dof = 0;
        for (int32_t a = nd - 1; a >= 0; a--) {
            int64_t x = rem % dims[a];
            rem /= dims[a];
            so += x * ss[a];
            dof += x * ds[a];
        }
        memcpy(dst + dof * (int64_t)es, src + so * (int64_t)es, es);
    }
}

static void fill_random(char *p, size_t bytes) {
    for (size_t i = 0; i < bytes; i++) p[i] = (char)rnd();
}

static void check_transpose(lens_threadpool *pool, size_t es, int32_t nd, const int64_t *dims,
                            const int32_t *perm) {
    int64_t n = 1, in_strides[LENS_MAX_DIMS], odims[LENS_MAX_DIMS], ss[LENS_MAX_DIMS];
    for (int32_t i = 0; i < nd; i++) n *= dims[i];
    size_t bytes = (size_t)n * es + 1;
    char *src = malloc(bytes), *got = malloc(bytes), *want = malloc(bytes);
    fill_random(src, bytes);
    memset(got, 0x5a, bytes);
    memset(want, 0x5a, bytes);
    lens_contiguous_strides(nd, dims, in_strides);
    for (int32_t i = 0; i < nd; i++) {
        odims[i] = dims[perm[i]];
        ss[i] = in_strides[perm[i]];
    }
    int64_t ds[LENS_MAX_DIMS];
    lens_contiguous_strides(nd, odims, ds);
    naive_copy(want, ds, src, ss, es, nd, odims);
    lens_transpose(got, src, es, nd, dims, perm, pool);
    if (memcmp(got, want, bytes)) {
        char sd[128];
        fprintf(stderr, "  transpose of %s esize %zu perm", lens_shape_str(nd, dims, sd, sizeof sd), es);
        for (int32_t i = 0; i < nd; i++) fprintf(stderr, " %d", perm[i]);
        fprintf(stderr, "\n");
        CHECK(0, "transpose mismatch");
    }
    free(src);
    free(got);
    free(want);
}

static bool next_perm(int32_t *p, int32_t n) {
    int32_t i = n - 2;
    while (i >= 0 && p[i] >= p[i + 1]) i--;
    if (i < 0) return false;
    int32_t j = n - 1;
    while (p[j] <= p[i]) j--;
    int32_t t = p[i];
    p[i] = p[j];
    p[j] = t;
    for (int32_t a = i + 1, b = n - 1; a < b; a++, b--) {
        t = p[a];
        p[a] = p[b];
        p[b] = t;
    }
    return true;
}

static void test_transpose_all_perms(lens_threadpool *pool) {
    static const int64_t shapes[][4] = {
        {2, 3, 4, 5}, {1, 7, 1, 9}, {5, 1, 33, 2}, {0, 3, 4, 2}, {3, 40, 37, 1}, {65, 3, 2, 70},
    };
    static const size_t sizes[] = {1, 2, 4, 8};
    for (int32_t nd = 1; nd <= 4; nd++)
        for (size_t s = 0; s < LENS_ARRAY_LEN(shapes); s++)
            for (size_t e = 0; e < LENS_ARRAY_LEN(sizes); e++) {
                int32_t perm[4] = {0, 1, 2, 3};
                do check_transpose(pool, sizes[e], nd, shapes[s], perm);
                while (next_perm(perm, nd));
            }
}

static void test_transpose_random(lens_threadpool *pool) {
    static const size_t sizes[] = {1, 2, 4, 8};
    for (int iter = 0; iter < 300; iter++) {
        int32_t nd = 1 + (int32_t)(rnd() % 6), perm[LENS_MAX_DIMS];
        int64_t dims[LENS_MAX_DIMS], n = 1;
        for (int32_t i = 0; i < nd; i++) {
            dims[i] = 1 + (int64_t)(rnd() % 7);
            if (rnd() % 10 == 0) dims[i] = 1;
            n *= dims[i];
            perm[i] = i;
        }
        for (int32_t i = nd - 1; i > 0; i--) {
            int32_t j = (int32_t)(rnd() % (uint64_t)(i + 1)), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        check_transpose(pool, sizes[rnd() % 4], nd, dims, perm);
    }
}

/* Shapes big enough for the blocked tiles and the thread pool: 2-D
 * matrices, NCHW <-> NHWC, and a permutation keeping the inner axis. */
static void test_transpose_large(lens_threadpool *pool) {
    int64_t m2[2] = {517, 1029};
    int32_t p2[2] = {1, 0};
    check_transpose(pool, 4, 2, m2, p2);
    check_transpose(pool, 1, 2, m2, p2);
    int64_t nchw[4] = {2, 64, 56, 57};
    int32_t to_nhwc[4] = {0, 2, 3, 1};
    check_transpose(pool, 4, 4, nchw, to_nhwc);
    check_transpose(pool, 2, 4, nchw, to_nhwc);
    int64_t nhwc[4] = {2, 56, 57, 64};
    int32_t to_nchw[4] = {0, 3, 1, 2};
    check_transpose(pool, 4, 4, nhwc, to_nchw);
    check_transpose(pool, 8, 4, nhwc, to_nchw);
    int64_t rows[4] = {40, 30, 20, 64};
    int32_t keep_inner[4] = {2, 0, 1, 3};
    check_transpose(pool, 4, 4, rows, keep_inner);
}

/* Slices with negative steps, broadcasts with zero strides, and a strided
 * destination (a region of a larger tensor, as Concat writes). */
static void test_copy_view(lens_threadpool *pool) {
    for (int iter = 0; iter < 400; iter++) {
        int32_t nd = 1 + (int32_t)(rnd() % 5);
        int64_t dims[LENS_MAX_DIMS], src_dims[LENS_MAX_DIMS], ss[LENS_MAX_DIMS], base = 0;
        int64_t src_strides[LENS_MAX_DIMS];
        size_t es = (size_t)1 << (rnd() % 4);
        bool big = iter % 50 == 0;
        for (int32_t i = 0; i < nd; i++) src_dims[i] = 1 + (int64_t)(rnd() % (big ? 40 : 9));
        lens_contiguous_strides(nd, src_dims, src_strides);
        for (int32_t i = 0; i < nd; i++) {
            int64_t kind = (int64_t)(rnd() % 4), d = src_dims[i];
            if (kind == 0) { /* whole axis */
                dims[i] = d;
                ss[i] = src_strides[i];
            } else if (kind == 1) { /* reversed */
                dims[i] = d;
                ss[i] = -src_strides[i];
                base += (d - 1) * src_strides[i];
            } else if (kind == 2) { /* broadcast */
                dims[i] = 1 + (int64_t)(rnd() % 5);
                ss[i] = 0;
                base += (int64_t)(rnd() % (uint64_t)d) * src_strides[i];
            } else { /* step 2 from a start */
                int64_t st = (int64_t)(rnd() % (uint64_t)d);
                dims[i] = (d - st + 1) / 2;
                ss[i] = 2 * src_strides[i];
                base += st * src_strides[i];
            }
            if (rnd() % 15 == 0) dims[i] = 0;
        }
        int64_t sn = 1, dn = 1;
        for (int32_t i = 0; i < nd; i++) {
            sn *= src_dims[i];
            dn *= dims[i];
        }
        /* destination: contiguous, or padded by one element per row */
        bool padded = rnd() % 2;
        int64_t ds[LENS_MAX_DIMS], pdims[LENS_MAX_DIMS];
        for (int32_t i = 0; i < nd; i++) pdims[i] = dims[i] + (padded && i == nd - 1);
        lens_contiguous_strides(nd, pdims, ds);
        int64_t pn = 1;
        for (int32_t i = 0; i < nd; i++) pn *= pdims[i];
        size_t sbytes = (size_t)sn * es, dbytes = (size_t)(pn + 1) * es;
        char *src = malloc(sbytes), *got = malloc(dbytes), *want = malloc(dbytes);
        fill_random(src, sbytes);
        memset(got, 0x33, dbytes);
        memset(want, 0x33, dbytes);
        naive_copy(want, ds, src + base * (int64_t)es, ss, es, nd, dims);
        lens_copy_view(got, padded ? ds : NULL, src + base * (int64_t)es, ss, es, nd, dims, pool);
        if (memcmp(got, want, dbytes)) {
            char sd[128];
            CHECK(0, "copy_view mismatch: dims %s esize %zu padded %d elements %lld",
                  lens_shape_str(nd, dims, sd, sizeof sd), es, (int)padded, (long long)dn);
        }
        free(src);
        free(got);
        free(want);
    }
}

/* Tile's view: interleaved repeat axes with stride 0, rank up to 16. */
static void test_copy_view_tile(lens_threadpool *pool) {
    int64_t dims[8] = {2, 3, 1, 4, 3, 5, 2, 7};
    int64_t src_dims[4] = {3, 4, 5, 7}, st[4], ss[8];
    lens_contiguous_strides(4, src_dims, st);
    for (int32_t a = 0; a < 4; a++) {
        ss[2 * a] = 0;
        ss[2 * a + 1] = st[a];
    }
    int64_t n = 1, sn = 3 * 4 * 5 * 7;
    for (int a = 0; a < 8; a++) n *= dims[a];
    int32_t *src = malloc((size_t)sn * 4), *got = malloc((size_t)n * 4), *want = malloc((size_t)n * 4);
    for (int64_t i = 0; i < sn; i++) src[i] = (int32_t)i;
    int64_t ds[8];
    lens_contiguous_strides(8, dims, ds);
    naive_copy((char *)want, ds, (const char *)src, ss, 4, 8, dims);
    lens_copy_view(got, NULL, src, ss, 4, 8, dims, pool);
    CHECK(!memcmp(got, want, (size_t)n * 4), "tile view mismatch");
    free(src);
    free(got);
    free(want);
}

static void test_fill(void) {
    for (size_t es = 1; es <= 8; es *= 2) {
        unsigned char v[8] = {1, 2, 3, 4, 5, 6, 7, 8}, buf[8 * 17];
        lens_fill_elems(buf, v, es, 17);
        for (int i = 0; i < 17; i++) CHECK(!memcmp(buf + i * es, v, es), "fill esize %zu", es);
    }
}

int main(void) {
    lens_threadpool *pool = NULL;
    if (lens_threadpool_create(4, &pool) != LENS_OK) {
        fprintf(stderr, "cannot create the thread pool\n");
        return 1;
    }
    lens_threadpool *pools[2] = {NULL, pool};
    for (int p = 0; p < 2; p++) {
        test_transpose_all_perms(pools[p]);
        test_transpose_random(pools[p]);
        test_transpose_large(pools[p]);
        test_copy_view(pools[p]);
        test_copy_view_tile(pools[p]);
    }
    test_fill();
    lens_threadpool_free(pool);
    if (g_failures) {
        fprintf(stderr, "%d failures\n", g_failures);
        return 1;
    }
    printf("test_shape_ops: all passed\n");
    return 0;
}
