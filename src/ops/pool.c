/* Pooling: MaxPool, AveragePool, LpPool, their Global forms, MaxRoiPool and
 * MaxUnpool.
 *
 * Layout is NC[D]HW. Every windowed pool runs one (n, c) plane per task. The
 * general kernel handles any number of spatial dimensions, dilations and
 * padding; 2-D float MaxPool without Indices runs the MaxPool kernel family
 * (kernels/maxpool.h: SIMD over output columns), AveragePool a kernel with
 * window ranges clipped once per output column. MaxPool skips NaN inputs
 * in every kernel (see kernels/maxpool.h): one rule whichever path runs. Computation is in float: float16, bfloat16, double and
 * the 8-bit integer types of MaxPool-12 are converted (exact for MaxPool on
 * integers). */
#include <math.h>

#include "kernels/maxpool.h"
#include "ops/op.h"
#include "ops/window.h"

#define POOL_MAX_SP (LENS_MAX_DIMS - 2)

typedef enum pool_kind { PK_MAX, PK_AVG, PK_LP } pool_kind;

typedef struct pool_geom {
    int32_t nsp;          /* spatial dimensions */
    int64_t nc;           /* N * C planes */
    int64_t in[POOL_MAX_SP], out[POOL_MAX_SP], k[POOL_MAX_SP], s[POOL_MAX_SP], d[POOL_MAX_SP];
    int64_t pb[POOL_MAX_SP], pe[POOL_MAX_SP];
    int64_t in_plane, out_plane;
    pool_kind kind;
    bool count_include_pad;
    bool col_major;       /* MaxPool storage_order = 1 for Indices */
    float p;              /* LpPool */
} pool_geom;

typedef struct pool_ctx {
    const pool_geom *g;
    const float *x;
    float *y;
    int64_t *ind; /* MaxPool Indices, or NULL */
} pool_ctx;

/* ---- general N-d kernel ---------------------------------------------------- */

static void pool_plane_general(const pool_geom *g, const float *x, float *y, int64_t *ind,
                               int64_t plane) {
    int32_t n = g->nsp;
    int64_t istr[POOL_MAX_SP], cstr[POOL_MAX_SP], o[POOL_MAX_SP] = {0};
    lens_contiguous_strides(n, g->in, istr);
    /* Column-major strides of the plane, for storage_order = 1. */
    for (int32_t i = 0; i < n; i++) cstr[i] = i == 0 ? 1 : cstr[i - 1] * g->in[i - 1];
    for (int64_t oi = 0; oi < g->out_plane; oi++) {
        int64_t st[POOL_MAX_SP], kk[POOL_MAX_SP] = {0};
        int64_t win = 1, padwin = 1;
        for (int32_t i = 0; i < n; i++) {
            st[i] = o[i] * g->s[i] - g->pb[i];
            win *= g->k[i];
            /* count_include_pad counts the explicit padding but not the
             * overhang that ceil_mode adds past it (as PyTorch does). */
            int64_t lo = st[i], cnt = 0;
            for (int64_t t = 0; t < g->k[i]; t++) {
                int64_t pos = lo + t * g->d[i];
                cnt += pos >= -g->pb[i] && pos < g->in[i] + g->pe[i];
            }
            padwin *= cnt;
        }
        double acc = g->kind == PK_MAX ? -INFINITY : 0.0;
        int64_t best = -1, count = 0;
        for (int64_t w = 0; w < win; w++) {
            bool ok = true;
            int64_t off = 0, coff = 0;
            for (int32_t i = 0; i < n; i++) {
                int64_t pos = st[i] + kk[i] * g->d[i];
                if (pos < 0 || pos >= g->in[i]) { ok = false; break; }
                off += pos * istr[i];
                coff += pos * cstr[i];
            }
            if (ok) {
                float v = x[off];
                count++;
                if (g->kind == PK_MAX) {
                    /* v > acc skips NaN, as kernels/maxpool.h does; the
                     * first value (even -inf) sets the index. */
                    if (v > acc || (best < 0 && !isnan(v))) { acc = v; best = g->col_major ? coff : off; }
                } else if (g->kind == PK_AVG) {
                    acc += v;
                } else {
                    acc += pow(fabs((double)v), (double)g->p);
                }
            }
            for (int32_t i = n - 1; i >= 0; i--) {
                if (++kk[i] < g->k[i]) break;
                kk[i] = 0;
            }
        }
        if (g->kind == PK_AVG) {
            int64_t div = g->count_include_pad ? padwin : count;
            acc = div > 0 ? acc / (double)div : 0.0;
        } else if (g->kind == PK_LP) {
            acc = pow(acc, 1.0 / (double)g->p);
        }
        y[oi] = (float)acc;
        if (ind) ind[oi] = best < 0 ? 0 : plane * g->in_plane + best;
        for (int32_t i = n - 1; i >= 0; i--) {
            if (++o[i] < g->out[i]) break;
            o[i] = 0;
        }
    }
}

/* ---- 2-D float fast kernel (no dilation, MaxPool without Indices or
 * AveragePool) --------------------------------------------------------------- */

static void pool_plane_2d(const pool_geom *g, const float *x, float *y) {
    int64_t H = g->in[0], W = g->in[1], OH = g->out[0], OW = g->out[1];
    int64_t kh = g->k[0], kw = g->k[1], sh = g->s[0], sw = g->s[1];
    bool is_max = g->kind == PK_MAX;
    for (int64_t oy = 0; oy < OH; oy++) {
        int64_t y0 = oy * sh - g->pb[0], y1 = y0 + kh;
        int64_t py1 = LENS_MIN(y1, H + g->pe[0]);
        int64_t cy = LENS_MIN(py1, y1) - y0; /* rows of the window inside input + padding */
        int64_t ys = LENS_MAX(y0, 0), ye = LENS_MIN(y1, H);
        float *yr = y + oy * OW;
        for (int64_t ox = 0; ox < OW; ox++) {
            int64_t x0 = ox * sw - g->pb[1], x1 = x0 + kw;
            int64_t xs = LENS_MAX(x0, 0), xe = LENS_MIN(x1, W);
            float r;
            if (is_max) {
                float m = -INFINITY;
                if (ye - ys == kh && xe - xs == kw && kw == 2 && kh == 2) {
                    const float *p = x + ys * W + xs;
                    float a = p[0] > p[1] ? p[0] : p[1], b = p[W] > p[W + 1] ? p[W] : p[W + 1];
                    m = a > b ? a : b;
                } else if (ye - ys == kh && xe - xs == kw && kw == 3 && kh == 3) {
                    const float *p = x + ys * W + xs;
                    for (int t = 0; t < 3; t++, p += W) {
                        float a = p[0] > p[1] ? p[0] : p[1];
                        a = a > p[2] ? a : p[2];
                        m = a > m ? a : m;
                    }
                } else {
                    for (int64_t yy = ys; yy < ye; yy++)
                        for (int64_t xx = xs; xx < xe; xx++) {
                            float v = x[yy * W + xx];
                            m = v > m ? v : m;
                        }
                }
                r = m;
            } else {
                float s = 0;
                for (int64_t yy = ys; yy < ye; yy++)
                    for (int64_t xx = xs; xx < xe; xx++) s += x[yy * W + xx];
                int64_t div;
                if (g->count_include_pad) {
                    int64_t cx = LENS_MIN(x1, W + g->pe[1]) - x0;
                    div = cy * cx;
                } else {
                    div = (ye - ys) * (xe - xs);
                }
                r = div > 0 ? s / (float)div : 0.0f;
            }
            yr[ox] = r;
        }
    }
}

static bool pool_fast_ok(const pool_geom *g, bool with_indices) {
    return g->nsp == 2 && !with_indices && g->d[0] == 1 && g->d[1] == 1 &&
           (g->kind == PK_MAX || g->kind == PK_AVG);
}

typedef struct pool_task {
    const pool_geom *g;
    const float *x;
    float *y;
    int64_t *ind;
    bool fast;
    const lens_f32_maxpool_variant *mv; /* 2-D MaxPool without Indices, or NULL */
    lens_maxpool_geom mg;
} pool_task;

static void pool_task_fn(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const pool_task *t = vctx;
    for (int64_t pl = b; pl < e; pl++) {
        const float *x = t->x + pl * t->g->in_plane;
        float *y = t->y + pl * t->g->out_plane;
        if (t->mv) t->mv->fn(&t->mg, x, y);
        else if (t->fast) pool_plane_2d(t->g, x, y);
        else pool_plane_general(t->g, x, y, t->ind ? t->ind + pl * t->g->out_plane : NULL, pl);
    }
}

static void pool_compute(const pool_geom *g, const float *x, float *y, int64_t *ind,
                         lens_threadpool *pool, bool allow_fast) {
    pool_task t = {g, x, y, ind, allow_fast && pool_fast_ok(g, ind != NULL), NULL, {0}};
    if (t.fast && g->kind == PK_MAX) {
        t.mv = lens_f32_maxpool_best();
        t.mg = (lens_maxpool_geom){(size_t)g->in[0], (size_t)g->in[1], (size_t)g->out[0],
                                   (size_t)g->out[1], (size_t)g->k[0], (size_t)g->k[1],
                                   (size_t)g->s[0], (size_t)g->s[1], (size_t)g->pb[0],
                                   (size_t)g->pb[1]};
    }
    int64_t per = g->out_plane; /* work per plane, saturating: only sets the grain */
    for (int32_t i = 0; i < g->nsp; i++)
        if (lens_mul_ovf_i64(per, g->k[i], &per)) per = INT64_MAX / 2;
    lens_parallel_for(pool, g->nc, LENS_MAX(1, 16384 / LENS_MAX(per, 1)), pool_task_fn, &t);
}

/* Run a float pooling on raw buffers, for the unit tests: kind 0 max, 1
 * average, 2 Lp. Arrays have nsp entries. allow_fast = false forces the
 * general kernel. */
void lens_pool_f32(int kind, int32_t nsp, int64_t nc, const int64_t *in, const int64_t *out,
                   const int64_t *k, const int64_t *s, const int64_t *pb, const int64_t *pe,
                   bool count_include_pad, const float *x, float *y, lens_threadpool *pool,
                   bool allow_fast) {
    pool_geom g = {0};
    g.nsp = nsp;
    g.nc = nc;
    g.in_plane = g.out_plane = 1;
    for (int32_t i = 0; i < nsp; i++) {
        g.in[i] = in[i]; g.out[i] = out[i]; g.k[i] = k[i]; g.s[i] = s[i]; g.d[i] = 1;
        g.pb[i] = pb[i]; g.pe[i] = pe[i];
        g.in_plane *= in[i];
        g.out_plane *= out[i];
    }
    g.kind = (pool_kind)kind;
    g.count_include_pad = count_include_pad;
    g.p = 2;
    pool_compute(&g, x, y, NULL, pool, allow_fast);
}

/* ---- attributes and output shape ------------------------------------------ */

static lens_status check_pool_input(const lens_tensor *x, bool allow_int8) {
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input");
    lens_dtype dt = x->dtype;
    bool ok = dt == LENS_DTYPE_FLOAT || dt == LENS_DTYPE_DOUBLE || dt == LENS_DTYPE_FLOAT16 ||
              dt == LENS_DTYPE_BFLOAT16 || (allow_int8 && (dt == LENS_DTYPE_INT8 || dt == LENS_DTYPE_UINT8));
    if (!ok) return lens_error(LENS_STATUS_UNSUPPORTED, "unsupported dtype %s", lens_dtype_name(dt));
    if (x->ndim < 3 || x->ndim > LENS_MAX_DIMS)
        return lens_error(LENS_STATUS_INVALID_MODEL, "input must be N x C x spatial (rank 3..%d), got rank %d",
                          LENS_MAX_DIMS, x->ndim);
    return LENS_OK;
}

/* Fill g from the node's attributes and the input shape (ONNX MaxPool,
 * AveragePool, LpPool: kernel_shape, strides, pads, dilations, auto_pad,
 * ceil_mode). */
static lens_status pool_geometry(const lens_node *node, const lens_tensor *x, pool_geom *g) {
    int32_t n = x->ndim - 2;
    memset(g, 0, sizeof *g);
    g->nsp = n;
    if (lens_mul_ovf_i64(x->dims[0], x->dims[1], &g->nc))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "input too large");
    int64_t nk = 0, ns = 0, np = 0, nd = 0;
    const int64_t *k = lens_node_attr_ints(node, "kernel_shape", &nk);
    const int64_t *s = lens_node_attr_ints(node, "strides", &ns);
    const int64_t *p = lens_node_attr_ints(node, "pads", &np);
    const int64_t *d = lens_node_attr_ints(node, "dilations", &nd);
    if (!k || nk != n)
        return lens_error(LENS_STATUS_INVALID_MODEL, "kernel_shape must have %d values, got %lld", n, (long long)nk);
    if (s && ns != n) return lens_error(LENS_STATUS_INVALID_MODEL, "strides must have %d values", n);
    if (p && np != 2 * n) return lens_error(LENS_STATUS_INVALID_MODEL, "pads must have %d values", 2 * n);
    if (d && nd != n) return lens_error(LENS_STATUS_INVALID_MODEL, "dilations must have %d values", n);
    const char *ap = lens_node_attr_string(node, "auto_pad", "NOTSET");
    bool ceil_mode = lens_node_attr_int(node, "ceil_mode", 0) != 0;
    int autopad = lens_autopad_parse(ap);
    if (autopad < 0) return lens_error(LENS_STATUS_INVALID_MODEL, "unknown auto_pad '%s'", ap);
    g->in_plane = g->out_plane = 1;
    int64_t window = 1;
    for (int32_t i = 0; i < n; i++) {
        int64_t in = x->dims[i + 2];
        g->in[i] = in;
        g->k[i] = k[i];
        g->s[i] = s ? s[i] : 1;
        g->d[i] = d ? d[i] : 1;
        g->pb[i] = p ? p[i] : 0;
        g->pe[i] = p ? p[i + n] : 0;
        if (g->k[i] < 1 || g->k[i] > (1 << 20) || g->s[i] < 1 || g->s[i] > (1 << 20) || g->d[i] < 1 ||
            g->d[i] > (1 << 20) || g->pb[i] < 0 || g->pe[i] < 0 || g->pb[i] > (1 << 20) || g->pe[i] > (1 << 20))
            return lens_error(LENS_STATUS_INVALID_MODEL,
                              "bad pooling attributes on axis %d: kernel %lld, stride %lld, dilation %lld, pads %lld/%lld",
                              i, (long long)g->k[i], (long long)g->s[i], (long long)g->d[i],
                              (long long)g->pb[i], (long long)g->pe[i]);
        int64_t out = lens_window_out(in, g->k[i], g->s[i], g->d[i], autopad, ceil_mode, &g->pb[i], &g->pe[i]);
        if (out < 0)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "kernel extent %lld exceeds padded input %lld on axis %d",
                              (long long)((g->k[i] - 1) * g->d[i] + 1), (long long)(in + g->pb[i] + g->pe[i]), i);
        if (lens_mul_ovf_i64(window, g->k[i], &window) || window > ((int64_t)1 << 31))
            return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "pooling window too large");
        if (in < 1 || out < 1)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "empty pooling output on axis %d", i);
        g->out[i] = out;
        if (lens_mul_ovf_i64(g->in_plane, in, &g->in_plane) || lens_mul_ovf_i64(g->out_plane, out, &g->out_plane))
            return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "pooling shape too large");
    }
    return LENS_OK;
}

/* Get the input as float (converted into scratch if needed) and room for a
 * float result. */
static lens_status stage_f32(lens_exec *ex, const lens_tensor *x, int64_t out_numel, const float **xf,
                             float **yf, float *direct_out) {
    int64_t numel = lens_tensor_numel(x);
    if (x->dtype == LENS_DTYPE_FLOAT) {
        *xf = x->data;
        *yf = direct_out;
        return LENS_OK;
    }
    size_t a = ((size_t)numel * sizeof(float) + 63) & ~(size_t)63;
    size_t bytes;
    if (lens_add_ovf_size(a, (size_t)out_numel * sizeof(float), &bytes))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "pooling buffers too large");
    char *sc = lens_exec_scratch(ex, bytes);
    if (!sc) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "no scratch memory for pooling");
    LENS_TRY(lens_convert(x->data, x->dtype, sc, LENS_DTYPE_FLOAT, numel));
    *xf = (const float *)sc;
    *yf = (float *)(sc + a);
    return LENS_OK;
}

static lens_status run_pool(const lens_node *node, lens_exec *ex, pool_kind kind) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    LENS_TRY(check_pool_input(x, kind == PK_MAX));
    pool_geom g;
    LENS_TRY(pool_geometry(node, x, &g));
    g.kind = kind;
    g.count_include_pad = lens_node_attr_int(node, "count_include_pad", 0) != 0;
    g.col_major = lens_node_attr_int(node, "storage_order", 0) != 0;
    if (kind == PK_LP) {
        /* LpPool-1 has a float p; from version 2 it is an int. */
        const lens_attr *pa = lens_node_attr(node, "p");
        g.p = !pa ? 2.0f : pa->type == LENS_ATTR_FLOAT ? pa->f : (float)pa->i;
        if (!(g.p > 0) || !isfinite(g.p)) return lens_error(LENS_STATUS_INVALID_MODEL, "p must be positive");
    }
    int64_t odims[LENS_MAX_DIMS] = {x->dims[0], x->dims[1]};
    for (int32_t i = 0; i < g.nsp; i++) odims[i + 2] = g.out[i];
    lens_tensor *y, *yi = NULL;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, x->ndim, odims, &y));
    bool want_ind = kind == PK_MAX && lens_exec_n_outputs(ex) > 1 && lens_exec_output_used(ex, 1);
    if (kind == PK_MAX && lens_exec_n_outputs(ex) > 1)
        LENS_TRY(lens_exec_output(ex, 1, LENS_DTYPE_INT64, x->ndim, odims, &yi));
    int64_t onumel = lens_tensor_numel(y);
    if (onumel == 0) return LENS_OK;
    const float *xf;
    float *yf;
    LENS_TRY(stage_f32(ex, x, onumel, &xf, &yf, y->data));
    pool_compute(&g, xf, yf, want_ind ? yi->data : NULL, lens_exec_pool(ex), true);
    if (yf != y->data) LENS_TRY(lens_convert(yf, LENS_DTYPE_FLOAT, y->data, y->dtype, onumel));
    return LENS_OK;
}

static lens_status run_maxpool(const lens_node *node, lens_exec *ex) {
    if (lens_node_attr_int(node, "storage_order", 0) & ~(int64_t)1)
        return lens_error(LENS_STATUS_INVALID_MODEL, "storage_order must be 0 or 1");
    return run_pool(node, ex, PK_MAX);
}
static lens_status run_avgpool(const lens_node *node, lens_exec *ex) { return run_pool(node, ex, PK_AVG); }
static lens_status run_lppool(const lens_node *node, lens_exec *ex) { return run_pool(node, ex, PK_LP); }

/* ---- global pools ------------------------------------------------------- */

typedef struct gpool_ctx {
    const float *x;
    float *y;
    int64_t plane;
    pool_kind kind;
    float p;
} gpool_ctx;

static void gpool_task(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const gpool_ctx *c = vctx;
    for (int64_t pl = b; pl < e; pl++) {
        const float *x = c->x + pl * c->plane;
        int64_t n = c->plane, i = 0;
        float acc[8];
        if (c->kind == PK_MAX) {
            for (int j = 0; j < 8; j++) acc[j] = -INFINITY;
            for (; i + 8 <= n; i += 8)
                for (int j = 0; j < 8; j++) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
            float m = -INFINITY;
            for (; i < n; i++) m = x[i] > m ? x[i] : m;
            for (int j = 0; j < 8; j++) m = acc[j] > m ? acc[j] : m;
            c->y[pl] = m;
        } else if (c->kind == PK_AVG) {
            /* Eight partial sums: vectorisable and more accurate than one. */
            for (int j = 0; j < 8; j++) acc[j] = 0;
            for (; i + 8 <= n; i += 8)
                for (int j = 0; j < 8; j++) acc[j] += x[i + j];
            float s = 0;
            for (; i < n; i++) s += x[i];
            for (int j = 0; j < 8; j++) s += acc[j];
            c->y[pl] = s / (float)n;
        } else {
            double s = 0;
            for (; i < n; i++) s += pow(fabs((double)x[i]), (double)c->p);
            c->y[pl] = (float)pow(s, 1.0 / (double)c->p);
        }
    }
}

static lens_status run_global(const lens_node *node, lens_exec *ex, pool_kind kind) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    LENS_TRY(check_pool_input(x, false));
    int64_t odims[LENS_MAX_DIMS], plane = 1;
    for (int32_t i = 0; i < x->ndim; i++) {
        odims[i] = i < 2 ? x->dims[i] : 1;
        if (i >= 2) plane *= x->dims[i];
    }
    if (plane == 0) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "global pooling of an empty plane");
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, x->ndim, odims, &y));
    int64_t nc = x->dims[0] * x->dims[1];
    if (nc == 0) return LENS_OK;
    float p = 2.0f;
    if (kind == PK_LP) {
        const lens_attr *pa = lens_node_attr(node, "p");
        p = !pa ? 2.0f : pa->type == LENS_ATTR_FLOAT ? pa->f : (float)pa->i;
        if (!(p > 0) || !isfinite(p)) return lens_error(LENS_STATUS_INVALID_MODEL, "p must be positive");
    }
    const float *xf;
    float *yf;
    LENS_TRY(stage_f32(ex, x, nc, &xf, &yf, y->data));
    gpool_ctx c = {xf, yf, plane, kind, p};
    lens_parallel_for(lens_exec_pool(ex), nc, LENS_MAX(1, 16384 / plane), gpool_task, &c);
    if (yf != y->data) LENS_TRY(lens_convert(yf, LENS_DTYPE_FLOAT, y->data, y->dtype, nc));
    return LENS_OK;
}

static lens_status run_gavg(const lens_node *node, lens_exec *ex) { return run_global(node, ex, PK_AVG); }
static lens_status run_gmax(const lens_node *node, lens_exec *ex) { return run_global(node, ex, PK_MAX); }
static lens_status run_glp(const lens_node *node, lens_exec *ex) { return run_global(node, ex, PK_LP); }

/* ---- MaxRoiPool (ONNX 1): Caffe's ROI pooling ------------------------------ */

static lens_status run_maxroipool(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0), *rois = lens_exec_input(ex, 1);
    LENS_TRY(check_pool_input(x, false));
    if (x->ndim != 4) return lens_error(LENS_STATUS_INVALID_MODEL, "X must be 4-D");
    if (!rois || rois->ndim != 2 || rois->dims[1] != 5 || rois->dtype != x->dtype)
        return lens_error(LENS_STATUS_INVALID_MODEL, "rois must be [num_rois, 5] of X's type");
    int64_t np = 0;
    const int64_t *ps = lens_node_attr_ints(node, "pooled_shape", &np);
    if (!ps || np != 2 || ps[0] < 1 || ps[1] < 1 || ps[0] > (1 << 16) || ps[1] > (1 << 16))
        return lens_error(LENS_STATUS_INVALID_MODEL, "pooled_shape must be two positive values");
    float scale = lens_node_attr_float(node, "spatial_scale", 1.0f);
    if (!isfinite(scale)) return lens_error(LENS_STATUS_INVALID_MODEL, "spatial_scale must be finite");
    int64_t R = rois->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    int64_t PH = ps[0], PW = ps[1];
    int64_t odims[4] = {R, C, PH, PW};
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, 4, odims, &y));
    int64_t idx = 0;
    for (int64_t r = 0; r < R; r++) {
        double b = lens_tensor_get_f64(rois, r * 5);
        if (!(b >= 0 && b < (double)x->dims[0]))
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "roi %lld has batch index %g out of range",
                              (long long)r, b);
        int64_t bi = (int64_t)b;
        double c4[4];
        for (int j = 0; j < 4; j++) {
            c4[j] = lens_tensor_get_f64(rois, r * 5 + 1 + j) * scale;
            if (!isfinite(c4[j]) || fabs(c4[j]) > 1e9)
                return lens_error(LENS_STATUS_INVALID_ARGUMENT, "roi %lld has a bad coordinate", (long long)r);
        }
        int64_t x1 = (int64_t)round(c4[0]), y1 = (int64_t)round(c4[1]);
        int64_t x2 = (int64_t)round(c4[2]), y2 = (int64_t)round(c4[3]);
        int64_t rw = LENS_MAX(x2 - x1 + 1, 1), rh = LENS_MAX(y2 - y1 + 1, 1);
        double bw = (double)rw / (double)PW, bh = (double)rh / (double)PH;
        for (int64_t c = 0; c < C; c++) {
            int64_t base = (bi * C + c) * H * W;
            for (int64_t ph = 0; ph < PH; ph++) {
                int64_t hs = LENS_MIN(LENS_MAX((int64_t)floor((double)ph * bh) + y1, 0), H);
                int64_t he = LENS_MIN(LENS_MAX((int64_t)ceil((double)(ph + 1) * bh) + y1, 0), H);
                for (int64_t pw = 0; pw < PW; pw++) {
                    int64_t ws = LENS_MIN(LENS_MAX((int64_t)floor((double)pw * bw) + x1, 0), W);
                    int64_t we = LENS_MIN(LENS_MAX((int64_t)ceil((double)(pw + 1) * bw) + x1, 0), W);
                    double m = 0;
                    bool any = false;
                    for (int64_t hh = hs; hh < he; hh++)
                        for (int64_t ww = ws; ww < we; ww++) {
                            double v = lens_tensor_get_f64(x, base + hh * W + ww);
                            if (!any || v > m) m = v;
                            any = true;
                        }
                    lens_tensor_set_f64(y, idx++, any ? m : 0.0);
                }
            }
        }
    }
    return LENS_OK;
}

/* ---- MaxUnpool (ONNX 9, 11) --------------------------------------------- */

static lens_status run_maxunpool(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0), *ind = lens_exec_input(ex, 1);
    const lens_tensor *oshape = lens_exec_input(ex, 2);
    LENS_TRY(check_pool_input(x, false));
    if (!ind || ind->dtype != LENS_DTYPE_INT64 || !lens_shape_equal(ind->ndim, ind->dims, x->ndim, x->dims))
        return lens_error(LENS_STATUS_INVALID_MODEL, "I must be int64 with the shape of X");
    int32_t n = x->ndim - 2;
    int64_t nk = 0, ns = 0, np = 0;
    const int64_t *k = lens_node_attr_ints(node, "kernel_shape", &nk);
    const int64_t *s = lens_node_attr_ints(node, "strides", &ns);
    const int64_t *p = lens_node_attr_ints(node, "pads", &np);
    if (!k || nk != n || (s && ns != n) || (p && np != 2 * n))
        return lens_error(LENS_STATUS_INVALID_MODEL, "kernel_shape/strides/pads do not match rank %d", x->ndim);
    /* The default output: the input of the MaxPool these indices came from. */
    int64_t ddims[LENS_MAX_DIMS] = {x->dims[0], x->dims[1]};
    for (int32_t i = 0; i < n; i++) {
        int64_t st = s ? s[i] : 1, pb = p ? p[i] : 0, pe = p ? p[i + n] : 0;
        if (k[i] < 1 || k[i] > (1 << 20) || st < 1 || st > (1 << 20) || pb < 0 || pe < 0 || pb > (1 << 20) ||
            pe > (1 << 20))
            return lens_error(LENS_STATUS_INVALID_MODEL, "bad kernel, stride or pads on axis %d", i);
        int64_t v;
        if (lens_mul_ovf_i64(x->dims[i + 2] - 1, st, &v) || lens_add_ovf_i64(v, k[i] - pb - pe, &v) || v < 1)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "bad unpooled size on axis %d", i);
        ddims[i + 2] = v;
    }
    int64_t odims[LENS_MAX_DIMS];
    memcpy(odims, ddims, sizeof odims);
    if (oshape) {
        if (lens_tensor_numel(oshape) != x->ndim || (oshape->dtype != LENS_DTYPE_INT64))
            return lens_error(LENS_STATUS_INVALID_MODEL, "output_shape must hold %d int64 values", x->ndim);
        for (int32_t i = 0; i < x->ndim; i++) {
            odims[i] = ((const int64_t *)oshape->data)[i];
            if (odims[i] < 0) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "negative output_shape");
        }
        if (odims[0] != x->dims[0] || odims[1] != x->dims[1])
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "output_shape must keep N and C");
    }
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, x->ndim, odims, &y));
    size_t es = lens_dtype_size(x->dtype);
    int64_t onumel = lens_tensor_numel(y), dnumel, numel = lens_tensor_numel(x);
    if (!lens_shape_numel(x->ndim, ddims, &dnumel))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "unpooled shape too large");
    memset(y->data, 0, (size_t)onumel * es);
    int64_t dstr[LENS_MAX_DIMS], ostr[LENS_MAX_DIMS];
    lens_contiguous_strides(x->ndim, ddims, dstr);
    lens_contiguous_strides(x->ndim, odims, ostr);
    const int64_t *iv = ind->data;
    for (int64_t i = 0; i < numel; i++) {
        int64_t v = iv[i];
        if (v < 0 || v >= dnumel)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "index %lld out of range [0, %lld)", (long long)v,
                              (long long)dnumel);
        /* Indices address the default (unpadded) output; an explicit
         * output_shape adds room at the end of each axis, as the ONNX
         * reference does, so coordinates are kept rather than the flat index. */
        int64_t off = 0;
        bool in = true;
        for (int32_t d = 0; d < x->ndim; d++) {
            int64_t c = v / dstr[d];
            v -= c * dstr[d];
            if (c >= odims[d]) in = false;
            off += c * ostr[d];
        }
        if (in) memcpy((char *)y->data + (size_t)off * es, (const char *)x->data + (size_t)i * es, es);
    }
    return LENS_OK;
}

static const lens_op ops[] = {
    {"", "MaxPool", 1, 0, 0, NULL, run_maxpool, NULL},
    {"", "MaxPool", 8, 0, 0, NULL, run_maxpool, NULL},
    {"", "MaxPool", 10, 0, 0, NULL, run_maxpool, NULL},
    {"", "MaxPool", 11, 0, 0, NULL, run_maxpool, NULL},
    {"", "MaxPool", 12, 0, 0, NULL, run_maxpool, NULL},
    {"", "AveragePool", 1, 0, 0, NULL, run_avgpool, NULL},
    {"", "AveragePool", 7, 0, 0, NULL, run_avgpool, NULL},
    {"", "AveragePool", 10, 0, 0, NULL, run_avgpool, NULL},
    {"", "AveragePool", 11, 0, 0, NULL, run_avgpool, NULL},
    {"", "LpPool", 1, 0, 0, NULL, run_lppool, NULL},
    {"", "LpPool", 2, 0, 0, NULL, run_lppool, NULL},
    {"", "LpPool", 11, 0, 0, NULL, run_lppool, NULL},
    {"", "LpPool", 18, 0, 0, NULL, run_lppool, NULL},
    {"", "GlobalAveragePool", 1, 0, 0, NULL, run_gavg, NULL},
    {"", "GlobalMaxPool", 1, 0, 0, NULL, run_gmax, NULL},
    {"", "GlobalLpPool", 1, 0, 0, NULL, run_glp, NULL},
    {"", "GlobalLpPool", 2, 0, 0, NULL, run_glp, NULL},
    {"", "MaxRoiPool", 1, 0, 0, NULL, run_maxroipool, NULL},
    {"", "MaxUnpool", 9, 1u << 2, 0, NULL, run_maxunpool, NULL},
    {"", "MaxUnpool", 11, 1u << 2, 0, NULL, run_maxunpool, NULL},
};
LENS_OP_TABLE(pool, ops);
