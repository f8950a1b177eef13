/* The broadcasting walker behind every elementwise operator: plans the
 * loop nest once per call (collapsing dimensions), then walks flat output
 * ranges, handing contiguous or scalar-broadcast rows to a row kernel. */
#include "ops/eltwise_impl.h"

/* Below this many output elements a single thread does the work: waking the
 * pool costs more than it saves. */
#define LENS_ELTW_PARALLEL_MIN 65536
#define LENS_ELTW_GRAIN 16384
/* Elements converted at a time when widening float16/bfloat16. */
#define LENS_ELTW_HALF_BLOCK 256

typedef struct eltw_plan {
    int32_t n_in, ndim;
    int64_t dims[LENS_MAX_DIMS];
    int64_t strides[LENS_ELTW_MAX_IN][LENS_MAX_DIMS]; /* in elements */
    size_t in_size[LENS_ELTW_MAX_IN], out_size;
    const char *in[LENS_ELTW_MAX_IN];
    char *out;
    lens_eltw_row_fn fn;
    const void *ctx;
} eltw_plan;

/* Context of the float16/bfloat16 wrapper around a float32 row kernel. */
typedef struct eltw_half {
    lens_eltw_row_fn fn;
    const void *ctx;
    int32_t n_in;
    lens_dtype in_dt[LENS_ELTW_MAX_IN], out_dt;
} eltw_half;

static void half_to_f32(const char *src, lens_dtype dt, float *dst, int64_t n) {
    const uint16_t *s = (const uint16_t *)src;
    if (dt == LENS_DTYPE_FLOAT16)
        for (int64_t i = 0; i < n; i++) dst[i] = lens_f16_to_f32(s[i]);
    else
        for (int64_t i = 0; i < n; i++) dst[i] = lens_bf16_to_f32(s[i]);
}

static void half_row(const void *vctx, const char *const *in, const int64_t *inc, char *out,
                     int64_t n) {
    const eltw_half *h = vctx;
    float buf[LENS_ELTW_MAX_IN][LENS_ELTW_HALF_BLOCK];
    float obuf[LENS_ELTW_HALF_BLOCK];
    size_t osize = lens_dtype_size(h->out_dt);
    for (int64_t done = 0; done < n; done += LENS_ELTW_HALF_BLOCK) {
        int64_t m = LENS_MIN(n - done, LENS_ELTW_HALF_BLOCK);
        const char *p[LENS_ELTW_MAX_IN];
        for (int32_t k = 0; k < h->n_in; k++) {
            size_t es = lens_dtype_size(h->in_dt[k]);
            const char *src = in[k] + (size_t)(done * inc[k]) * es;
            if (lens_eltw_is_half(h->in_dt[k])) {
                half_to_f32(src, h->in_dt[k], buf[k], inc[k] ? m : 1);
                p[k] = (const char *)buf[k];
            } else {
                p[k] = src;
            }
        }
        char *o = out + (size_t)done * osize;
        if (lens_eltw_is_half(h->out_dt)) {
            h->fn(h->ctx, p, inc, (char *)obuf, m);
            uint16_t *d = (uint16_t *)o;
            if (h->out_dt == LENS_DTYPE_FLOAT16)
                for (int64_t i = 0; i < m; i++) d[i] = lens_f32_to_f16(obuf[i]);
            else
                for (int64_t i = 0; i < m; i++) d[i] = lens_f32_to_bf16(obuf[i]);
        } else {
            h->fn(h->ctx, p, inc, o, m);
        }
    }
}

/* Walk output elements [begin, end). */
static void plan_range(void *vctx, int64_t begin, int64_t end, int32_t thread) {
    const eltw_plan *pl = vctx;
    int32_t nd = pl->ndim, last = nd - 1;
    int64_t idx[LENS_MAX_DIMS], off[LENS_ELTW_MAX_IN] = {0, 0, 0};
    int64_t rem = begin;
    for (int32_t d = last; d >= 0; d--) {
        idx[d] = rem % pl->dims[d];
        rem /= pl->dims[d];
    }
    for (int32_t k = 0; k < pl->n_in; k++)
        for (int32_t d = 0; d < nd; d++) off[k] += idx[d] * pl->strides[k][d];
    int64_t inc[LENS_ELTW_MAX_IN] = {0, 0, 0};
    for (int32_t k = 0; k < pl->n_in; k++) inc[k] = pl->strides[k][last];
    int64_t pos = begin;
    while (pos < end) {
        int64_t cnt = LENS_MIN(pl->dims[last] - idx[last], end - pos);
        const char *p[LENS_ELTW_MAX_IN];
        for (int32_t k = 0; k < pl->n_in; k++) p[k] = pl->in[k] + (size_t)off[k] * pl->in_size[k];
        pl->fn(pl->ctx, p, inc, pl->out + (size_t)pos * pl->out_size, cnt);
        pos += cnt;
        if (pos >= end) break;
        idx[last] += cnt;
        for (int32_t k = 0; k < pl->n_in; k++) off[k] += cnt * pl->strides[k][last];
        for (int32_t d = last; d > 0 && idx[d] == pl->dims[d]; d--) {
            for (int32_t k = 0; k < pl->n_in; k++)
                off[k] += pl->strides[k][d - 1] - pl->dims[d] * pl->strides[k][d];
            idx[d] = 0;
            idx[d - 1]++;
        }
    }
}

lens_status lens_eltw_broadcast(int32_t n, const lens_tensor *const *t, int32_t *ndim,
                                int64_t *dims) {
    int32_t nd = t[0]->ndim;
    int64_t cur[LENS_MAX_DIMS];
    if (nd > LENS_MAX_DIMS) return lens_error(LENS_STATUS_UNSUPPORTED, "rank %d too large", nd);
    memcpy(cur, t[0]->dims, sizeof(int64_t) * (size_t)nd);
    for (int32_t k = 1; k < n; k++) {
        int64_t next[LENS_MAX_DIMS];
        int32_t nn;
        LENS_TRY(lens_broadcast_shape(nd, cur, t[k]->ndim, t[k]->dims, &nn, next));
        nd = nn;
        memcpy(cur, next, sizeof(int64_t) * (size_t)nd);
    }
    *ndim = nd;
    memcpy(dims, cur, sizeof(int64_t) * (size_t)nd);
    return LENS_OK;
}

lens_status lens_eltw_apply(lens_exec *ex, int32_t n_in, const lens_tensor *const *in,
                            lens_tensor *out, lens_eltw_row_fn fn, const void *ctx,
                            bool f32_compute) {
    return lens_eltw_apply_pool(ex ? lens_exec_pool(ex) : NULL, n_in, in, out, fn, ctx,
                                f32_compute);
}

lens_status lens_eltw_apply_pool(lens_threadpool *pool, int32_t n_in, const lens_tensor *const *in,
                                 lens_tensor *out, lens_eltw_row_fn fn, const void *ctx,
                                 bool f32_compute) {
    if (n_in < 1 || n_in > LENS_ELTW_MAX_IN)
        return lens_error(LENS_STATUS_INTERNAL, "elementwise apply with %d inputs", n_in);
    int64_t numel;
    if (!lens_shape_numel(out->ndim, out->dims, &numel))
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "bad output shape");
    if (numel == 0) return LENS_OK;

    eltw_plan pl;
    memset(&pl, 0, sizeof pl);
    pl.n_in = n_in;
    /* Full-rank strides of every input against the output shape, dropping
     * output dimensions of size 1 (they contribute nothing to the walk). */
    int64_t st[LENS_ELTW_MAX_IN][LENS_MAX_DIMS];
    for (int32_t k = 0; k < n_in; k++) {
        if (in[k]->ndim > out->ndim)
            return lens_error(LENS_STATUS_INTERNAL, "input rank above output rank");
        lens_broadcast_strides(in[k]->ndim, in[k]->dims, out->ndim, st[k]);
    }
    int32_t nd = 0;
    for (int32_t d = 0; d < out->ndim; d++) {
        if (out->dims[d] == 1) continue;
        /* Merge into the previous kept dimension when every input walks the
         * pair as one run (both broadcast, or both contiguous). */
        bool merge = nd > 0;
        for (int32_t k = 0; k < n_in && merge; k++)
            if (pl.strides[k][nd - 1] != st[k][d] * out->dims[d]) merge = false;
        if (merge) {
            pl.dims[nd - 1] *= out->dims[d];
            for (int32_t k = 0; k < n_in; k++) pl.strides[k][nd - 1] = st[k][d];
        } else {
            pl.dims[nd] = out->dims[d];
            for (int32_t k = 0; k < n_in; k++) pl.strides[k][nd] = st[k][d];
            nd++;
        }
    }
    if (nd == 0) { /* a single element */
        pl.dims[0] = 1;
        for (int32_t k = 0; k < n_in; k++) pl.strides[k][0] = 1;
        nd = 1;
    }
    pl.ndim = nd;
    for (int32_t k = 0; k < n_in; k++) {
        pl.in[k] = in[k]->data;
        pl.in_size[k] = lens_dtype_size(in[k]->dtype);
    }
    pl.out = out->data;
    pl.out_size = lens_dtype_size(out->dtype);

    eltw_half half;
    bool any_half = f32_compute && lens_eltw_is_half(out->dtype);
    for (int32_t k = 0; k < n_in; k++)
        if (f32_compute && lens_eltw_is_half(in[k]->dtype)) any_half = true;
    if (any_half) {
        half.fn = fn;
        half.ctx = ctx;
        half.n_in = n_in;
        for (int32_t k = 0; k < n_in; k++) half.in_dt[k] = in[k]->dtype;
        half.out_dt = out->dtype;
        pl.fn = half_row;
        pl.ctx = &half;
    } else {
        pl.fn = fn;
        pl.ctx = ctx;
    }

    if (numel < LENS_ELTW_PARALLEL_MIN)
        plan_range(&pl, 0, numel, 0);
    else
        lens_parallel_for(pool, numel, LENS_ELTW_GRAIN, plan_range, &pl);
    return LENS_OK;
}
