/* The strided copy kernel behind Transpose, Slice, Expand, Tile, Concat,
 * Split and the space/depth rearrangements, plus the small readers those
 * operators share.
 *
 * Every data-movement op reduces to "copy view A into view B". The kernel
 * first simplifies the views (drops size-1 axes, merges axes that are
 * contiguous in both), which turns most real cases into a handful of long
 * rows, then picks one of three inner loops:
 *   rows    inner axis contiguous in both: memcpy (or a broadcast fill when
 *           the source stride is 0);
 *   blocked the source's unit-stride axis is another destination axis (a
 *           transpose such as NCHW<->NHWC): 2-D tiles so that both sides
 *           stay in cache;
 *   strided anything else: an element loop. */
#include "ops/shape_internal.h"

#include "kernels/pack.h"

#include <stdio.h>

/* Work below this many elements is not worth waking the pool for. */
#define COPY_PARALLEL_MIN 65536
#define COPY_TASK_ELEMS 32768
#define TILE 32

typedef struct copy_plan {
    int32_t ndim;
    int64_t dims[LENS_COPY_MAX_DIMS];
    int64_t ss[LENS_COPY_MAX_DIMS];
    int64_t ds[LENS_COPY_MAX_DIMS];
    const char *src;
    char *dst;
    size_t esize;
    /* blocked kind: axis tj (< ndim-1) has source stride 1; the tasks run
     * over every other outer axis times the blocks of tj. */
    int32_t tj;
    int64_t tj_blocks;
} copy_plan;

#define ELEM_CASES(X) X(1, uint8_t) X(2, uint16_t) X(4, uint32_t) X(8, uint64_t)

static void copy_row(const copy_plan *p, char *d, const char *s) {
    int32_t r = p->ndim - 1;
    int64_t n = p->dims[r], sst = p->ss[r], dst = p->ds[r];
    if (sst == 1 && dst == 1) {
        memcpy(d, s, (size_t)n * p->esize);
        return;
    }
    if (sst == 0 && dst == 1) {
        lens_fill_elems(d, s, p->esize, n);
        return;
    }
    switch (p->esize) {
#define X(size, type)                                                                      \
    case size: {                                                                           \
        type *dd = (type *)d;                                                              \
        const type *sp = (const type *)s;                                                  \
        for (int64_t i = 0; i < n; i++) dd[i * dst] = sp[i * sst];                         \
        break;                                                                             \
    }
        ELEM_CASES(X)
#undef X
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(d + i * dst * (int64_t)p->esize, s + i * sst * (int64_t)p->esize, p->esize);
    }
}

/* Rows [begin, end) over axes 0..ndim-2: decompose begin once, then step an
 * odometer. */
static void copy_rows_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    (void)thread;
    const copy_plan *p = ctx;
    int32_t outer = p->ndim - 1;
    int64_t idx[LENS_COPY_MAX_DIMS];
    int64_t so = 0, dof = 0, rem = begin;
    for (int32_t a = outer - 1; a >= 0; a--) {
        idx[a] = rem % p->dims[a];
        rem /= p->dims[a];
        so += idx[a] * p->ss[a];
        dof += idx[a] * p->ds[a];
    }
    int64_t es = (int64_t)p->esize;
    for (int64_t row = begin; row < end; row++) {
        copy_row(p, p->dst + dof * es, p->src + so * es);
        for (int32_t a = outer - 1; a >= 0; a--) {
            so += p->ss[a];
            dof += p->ds[a];
            if (++idx[a] < p->dims[a]) break;
            so -= p->ss[a] * p->dims[a];
            dof -= p->ds[a] * p->dims[a];
            idx[a] = 0;
        }
    }
}

/* One 2-D tile: rows along axis tj (source stride 1), columns along the
 * last axis (destination stride ds[r], normally 1). */
static void copy_tile(const copy_plan *p, char *d, const char *s, int64_t nj, int64_t ni) {
    int32_t r = p->ndim - 1, j = p->tj;
    int64_t dsj = p->ds[j], dsi = p->ds[r], ssi = p->ss[r];
    if (p->esize == 4 && dsi == 1 && dsj > 0 && ssi > 0) {
        /* 32-bit elements (float and int32 alike: a pure copy) through the
         * SIMD transpose kernel */
        lens_f32_transpose_best()((float *)d, (size_t)dsj, (const float *)s, (size_t)ssi, (size_t)nj, (size_t)ni);
        return;
    }
    switch (p->esize) {
#define X(size, type)                                                                      \
    case size: {                                                                           \
        type *dd = (type *)d;                                                              \
        const type *sp = (const type *)s;                                                  \
        for (int64_t a = 0; a < nj; a++)                                                   \
            for (int64_t b = 0; b < ni; b++) dd[a * dsj + b * dsi] = sp[a + b * ssi];      \
        break;                                                                             \
    }
        ELEM_CASES(X)
#undef X
    default: {
        int64_t es = (int64_t)p->esize;
        for (int64_t a = 0; a < nj; a++)
            for (int64_t b = 0; b < ni; b++)
                memcpy(d + (a * dsj + b * dsi) * es, s + (a + b * ssi) * es, p->esize);
    }
    }
}

static void copy_blocked_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    (void)thread;
    const copy_plan *p = ctx;
    int32_t r = p->ndim - 1, j = p->tj;
    int64_t es = (int64_t)p->esize;
    for (int64_t t = begin; t < end; t++) {
        int64_t combo = t / p->tj_blocks, blk = t % p->tj_blocks;
        int64_t so = 0, dof = 0;
        for (int32_t a = r - 1; a >= 0; a--) {
            if (a == j) continue;
            int64_t x = combo % p->dims[a];
            combo /= p->dims[a];
            so += x * p->ss[a];
            dof += x * p->ds[a];
        }
        int64_t j0 = blk * TILE;
        int64_t nj = LENS_MIN((int64_t)TILE, p->dims[j] - j0);
        so += j0 * p->ss[j];
        dof += j0 * p->ds[j];
        for (int64_t i0 = 0; i0 < p->dims[r]; i0 += TILE) {
            int64_t ni = LENS_MIN((int64_t)TILE, p->dims[r] - i0);
            copy_tile(p, p->dst + (dof + i0 * p->ds[r]) * es, p->src + (so + i0 * p->ss[r]) * es,
                      nj, ni);
        }
    }
}

void lens_copy_view(void *dst, const int64_t *dstrides, const void *src, const int64_t *sstrides,
                    size_t esize, int32_t ndim, const int64_t *dims, lens_threadpool *pool) {
    copy_plan p;
    int64_t dense[LENS_COPY_MAX_DIMS];
    int64_t numel = 1;
    for (int32_t i = 0; i < ndim; i++) numel *= dims[i];
    if (numel == 0) return;
    if (!dstrides) {
        lens_contiguous_strides(ndim, dims, dense);
        dstrides = dense;
    }
    /* Drop size-1 axes, then merge neighbours contiguous in both views
     * (works for zero and negative source strides too). */
    p.ndim = 0;
    for (int32_t i = 0; i < ndim; i++) {
        if (dims[i] == 1) continue;
        if (p.ndim > 0) {
            int32_t k = p.ndim - 1;
            if (p.ss[k] == sstrides[i] * dims[i] && p.ds[k] == dstrides[i] * dims[i]) {
                p.dims[k] *= dims[i];
                p.ss[k] = sstrides[i];
                p.ds[k] = dstrides[i];
                continue;
            }
        }
        p.dims[p.ndim] = dims[i];
        p.ss[p.ndim] = sstrides[i];
        p.ds[p.ndim] = dstrides[i];
        p.ndim++;
    }
    if (p.ndim == 0) {
        p.ndim = 1;
        p.dims[0] = 1;
        p.ss[0] = 1;
        p.ds[0] = 1;
    }
    p.src = src;
    p.dst = dst;
    p.esize = esize;
    int32_t r = p.ndim - 1;
    if (numel < COPY_PARALLEL_MIN) pool = NULL;

    /* Blocked transpose when the source's unit-stride axis is an outer
     * destination axis and the destination's inner axis is contiguous. */
    p.tj = -1;
    if (r > 0 && p.ds[r] == 1 && p.ss[r] != 1 && p.ss[r] != 0 && p.dims[r] >= 2) {
        for (int32_t a = r - 1; a >= 0; a--)
            if (p.ss[a] == 1 && p.dims[a] >= 2) {
                p.tj = a;
                break;
            }
    }
    if (p.tj >= 0) {
        p.tj_blocks = (p.dims[p.tj] + TILE - 1) / TILE;
        int64_t combos = 1;
        for (int32_t a = 0; a < r; a++)
            if (a != p.tj) combos *= p.dims[a];
        int64_t tasks = combos * p.tj_blocks;
        int64_t per_task = (int64_t)TILE * p.dims[r];
        int64_t grain = LENS_MAX((int64_t)1, COPY_TASK_ELEMS / per_task);
        lens_parallel_for(pool, tasks, grain, copy_blocked_task, &p);
        return;
    }
    int64_t rows = numel / p.dims[r];
    int64_t grain = LENS_MAX((int64_t)1, COPY_TASK_ELEMS / p.dims[r]);
    lens_parallel_for(pool, rows, grain, copy_rows_task, &p);
}

void lens_transpose(void *dst, const void *src, size_t esize, int32_t ndim, const int64_t *dims,
                    const int32_t *perm, lens_threadpool *pool) {
    int64_t in_strides[LENS_COPY_MAX_DIMS], odims[LENS_COPY_MAX_DIMS], ss[LENS_COPY_MAX_DIMS];
    lens_contiguous_strides(ndim, dims, in_strides);
    for (int32_t i = 0; i < ndim; i++) {
        odims[i] = dims[perm[i]];
        ss[i] = in_strides[perm[i]];
    }
    lens_copy_view(dst, NULL, src, ss, esize, ndim, odims, pool);
}

void lens_fill_elems(void *dst, const void *value, size_t esize, int64_t n) {
    switch (esize) {
#define X(size, type)                                                                      \
    case size: {                                                                           \
        type v;                                                                            \
        memcpy(&v, value, size);                                                           \
        type *d = dst;                                                             \
        for (int64_t i = 0; i < n; i++) d[i] = v;                                          \
        break;                                                                             \
    }
        ELEM_CASES(X)
#undef X
    default:
        for (int64_t i = 0; i < n; i++) memcpy((char *)dst + (size_t)i * esize, value, esize);
    }
}

lens_status lens_shape_esize(const lens_tensor *t, const char *what, size_t *out) {
    size_t e = lens_dtype_size(t->dtype);
    if (e == 0)
        return lens_error(LENS_STATUS_UNSUPPORTED, "%s: element type %s is not supported", what,
                          lens_dtype_name(t->dtype));
    *out = e;
    return LENS_OK;
}

bool lens_dtype_is_int(lens_dtype dt) {
    switch (dt) {
    case LENS_DTYPE_INT8: case LENS_DTYPE_INT16: case LENS_DTYPE_INT32: case LENS_DTYPE_INT64:
    case LENS_DTYPE_UINT8: case LENS_DTYPE_UINT16: case LENS_DTYPE_UINT32:
    case LENS_DTYPE_UINT64:
        return true;
    default:
        return false;
    }
}

lens_status lens_read_ints(const lens_tensor *t, const char *what, int64_t max_n, int64_t *out,
                           int32_t *n) {
    if (!lens_dtype_is_int(t->dtype))
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s must be an integer tensor, got %s", what,
                          lens_dtype_name(t->dtype));
    if (t->ndim > 1)
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s must be 1-D, got rank %d", what,
                          (int)t->ndim);
    int64_t count = lens_tensor_numel(t);
    if (count > max_n)
        return lens_error(LENS_STATUS_UNSUPPORTED, "%s has %lld elements, at most %lld supported",
                          what, (long long)count, (long long)max_n);
    for (int64_t i = 0; i < count; i++) out[i] = lens_tensor_get_i64(t, i);
    *n = (int32_t)count;
    return LENS_OK;
}

lens_status lens_read_int_scalar(const lens_tensor *t, const char *what, int64_t *out) {
    if (!lens_dtype_is_int(t->dtype))
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s must be an integer tensor, got %s", what,
                          lens_dtype_name(t->dtype));
    if (lens_tensor_numel(t) != 1)
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s must hold one element, got %lld", what,
                          (long long)lens_tensor_numel(t));
    *out = lens_tensor_get_i64(t, 0);
    return LENS_OK;
}

lens_status lens_check_rank(int64_t rank, const char *what) {
    if (rank > LENS_MAX_DIMS)
        return lens_error(LENS_STATUS_UNSUPPORTED, "%s: rank %lld exceeds the supported %d", what,
                          (long long)rank, LENS_MAX_DIMS);
    return LENS_OK;
}
