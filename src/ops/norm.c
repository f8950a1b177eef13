/* Normalisation: BatchNormalization (inference), InstanceNormalization,
 * LayerNormalization, GroupNormalization, LpNormalization,
 * MeanVarianceNormalization and LRN.
 *
 * All compute in float (float16, bfloat16 and double inputs are converted;
 * statistics accumulate in double). Per-plane work runs in parallel. */
#include <math.h>

#include "kernels/norm.h"
#include "ops/op.h"

static bool is_float_type(lens_dtype t) {
    return t == LENS_DTYPE_FLOAT || t == LENS_DTYPE_DOUBLE || t == LENS_DTYPE_FLOAT16 ||
           t == LENS_DTYPE_BFLOAT16;
}

static size_t align64(size_t v) { return (v + 63) & ~(size_t)63; }

/* Stage X as float and find room for a float Y (and `extra` more floats of
 * scratch). Y is written straight into the output when it is float. */
typedef struct staged {
    const float *x;
    float *y;
    float *extra;
    int64_t numel;
} staged;

static lens_status stage(lens_exec *ex, const lens_tensor *x, lens_tensor *y, int64_t extra, staged *s) {
    s->numel = lens_tensor_numel(x);
    bool conv = x->dtype != LENS_DTYPE_FLOAT;
    size_t xb = conv ? align64((size_t)s->numel * sizeof(float)) : 0;
    size_t yb = conv ? align64((size_t)s->numel * sizeof(float)) : 0;
    size_t eb = align64((size_t)extra * sizeof(float));
    s->x = x->data;
    s->y = y->data;
    s->extra = NULL;
    if (xb + yb + eb == 0) return LENS_OK;
    char *sc = lens_exec_scratch(ex, xb + yb + eb);
    if (!sc) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "no scratch memory");
    if (conv) {
        LENS_TRY(lens_convert(x->data, x->dtype, sc, LENS_DTYPE_FLOAT, s->numel));
        s->x = (const float *)sc;
        s->y = (float *)(sc + xb);
    }
    s->extra = extra ? (float *)(sc + xb + yb) : NULL;
    return LENS_OK;
}

static lens_status unstage(const staged *s, lens_tensor *y) {
    if (s->y == y->data) return LENS_OK;
    return lens_convert(s->y, LENS_DTYPE_FLOAT, y->data, y->dtype, s->numel);
}

static lens_status check_x(const lens_tensor *x, int32_t min_rank) {
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input X");
    if (!is_float_type(x->dtype))
        return lens_error(LENS_STATUS_UNSUPPORTED, "unsupported dtype %s", lens_dtype_name(x->dtype));
    if (x->ndim < min_rank) return lens_error(LENS_STATUS_INVALID_MODEL, "X must have rank >= %d", min_rank);
    return LENS_OK;
}

/* A per-channel parameter vector of `n` values, read as double. */
static lens_status param_vec(const lens_tensor *t, const char *what, int64_t n) {
    if (!t) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input %s", what);
    if (!is_float_type(t->dtype))
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s must be floating point", what);
    if (lens_tensor_numel(t) != n)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "%s must have %lld values, has %lld", what, (long long)n,
                          (long long)lens_tensor_numel(t));
    return LENS_OK;
}

static void mean_var(const float *x, int64_t n, double *mean, double *var) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    double m = n ? s / (double)n : 0;
    double v = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = x[i] - m;
        v += d * d;
    }
    *mean = m;
    *var = n ? v / (double)n : 0;
}

/* ---- per-plane affine: y = x * a[ch] + b[ch] ---------------------------- */

typedef struct affine_ctx {
    const float *x;
    float *y;
    const float *a, *b; /* per plane-channel; indexed by plane % c (or per element) */
    int64_t c, plane;
    bool per_element;   /* BatchNormalization spatial = 0: a, b have C * plane values */
} affine_ctx;

static void affine_task(void *vctx, int64_t beg, int64_t end, int32_t thread) {
    const affine_ctx *c = vctx;
    for (int64_t p = beg; p < end; p++) {
        int64_t ch = p % c->c;
        const float *x = c->x + p * c->plane;
        float *y = c->y + p * c->plane;
        if (c->per_element) {
            const float *a = c->a + ch * c->plane, *b = c->b + ch * c->plane;
            for (int64_t i = 0; i < c->plane; i++) y[i] = x[i] * a[i] + b[i];
        } else {
            float a = c->a[ch], b = c->b[ch];
            for (int64_t i = 0; i < c->plane; i++) y[i] = x[i] * a + b;
        }
    }
}

/* ---- BatchNormalization (1, 6, 7, 9, 14, 15): inference form ---------------- */

static lens_status run_batchnorm(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    LENS_TRY(check_x(x, 2));
    bool training = false;
    if (node->opset >= 14) training = lens_node_attr_int(node, "training_mode", 0) != 0;
    else
        for (int32_t i = 1; i < node->n_outputs; i++) training |= node->outputs[i] >= 0;
    if (training)
        return lens_error(LENS_STATUS_UNSUPPORTED, "BatchNormalization in training mode is not supported");
    int64_t C = x->dims[1], plane = 1;
    for (int32_t i = 2; i < x->ndim; i++) plane *= x->dims[i];
    /* spatial = 0 (versions before 9): statistics per element of C x D1..Dn. */
    bool per_element = node->opset < 9 && lens_node_attr_int(node, "spatial", 1) == 0;
    int64_t np = per_element ? C * plane : C;
    static const char *names[4] = {"scale", "B", "mean", "var"};
    const lens_tensor *pt[4];
    for (int32_t i = 0; i < 4; i++) {
        pt[i] = lens_exec_input(ex, i + 1);
        LENS_TRY(param_vec(pt[i], names[i], np));
    }
    double eps = lens_node_attr_float(node, "epsilon", 1e-5f);
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, x->ndim, x->dims, &y));
    staged s;
    LENS_TRY(stage(ex, x, y, 2 * np, &s));
    if (s.numel == 0) return LENS_OK;
    float *a = s.extra, *b = s.extra + np;
    for (int64_t i = 0; i < np; i++) {
        double var = lens_tensor_get_f64(pt[3], i);
        double k = lens_tensor_get_f64(pt[0], i) / sqrt(var + eps);
        a[i] = (float)k;
        b[i] = (float)(lens_tensor_get_f64(pt[1], i) - lens_tensor_get_f64(pt[2], i) * k);
    }
    affine_ctx c = {s.x, s.y, a, b, C, plane, per_element};
    lens_parallel_for(lens_exec_pool(ex), x->dims[0] * C, LENS_MAX(1, 16384 / LENS_MAX(plane, 1)), affine_task, &c);
    return unstage(&s, y);
}

/* ---- InstanceNormalization (1, 6) and GroupNormalization (18) ------------------ */

typedef struct group_ctx {
    const float *x;
    float *y;
    const lens_tensor *scale, *bias;
    int64_t groups, cpg, plane; /* groups per sample, channels per group, spatial size */
    bool per_channel;            /* scale/bias indexed by channel (else by group) */
    double eps;
} group_ctx;

static void group_task(void *vctx, int64_t beg, int64_t end, int32_t thread) {
    const group_ctx *c = vctx;
    int64_t gsz = c->cpg * c->plane;
    for (int64_t p = beg; p < end; p++) {
        int64_t g = p % c->groups;
        const float *x = c->x + p * gsz;
        float *y = c->y + p * gsz;
        double m, v;
        mean_var(x, gsz, &m, &v);
        double inv = 1.0 / sqrt(v + c->eps);
        for (int64_t k = 0; k < c->cpg; k++) {
            int64_t pi = c->per_channel ? g * c->cpg + k : g;
            double sc = lens_tensor_get_f64(c->scale, pi) * inv;
            float a = (float)sc, b = (float)(lens_tensor_get_f64(c->bias, pi) - m * sc);
            const float *xs = x + k * c->plane;
            float *ys = y + k * c->plane;
            for (int64_t i = 0; i < c->plane; i++) ys[i] = xs[i] * a + b;
        }
    }
}

static lens_status run_group_common(const lens_node *node, lens_exec *ex, bool instance) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    LENS_TRY(check_x(x, instance ? 3 : 2));
    int64_t C = x->dims[1], plane = 1;
    for (int32_t i = 2; i < x->ndim; i++) plane *= x->dims[i];
    int64_t G = C;
    if (!instance) {
        G = lens_node_attr_int(node, "num_groups", 0);
        if (G < 1 || C % G != 0)
            return lens_error(LENS_STATUS_INVALID_MODEL, "num_groups %lld must divide the %lld channels",
                              (long long)G, (long long)C);
    }
    const lens_tensor *scale = lens_exec_input(ex, 1), *bias = lens_exec_input(ex, 2);
    /* GroupNormalization-18 has one scale per group; later versions one per
     * channel: accept either. */
    bool per_channel = true;
    if (!instance && scale && lens_tensor_numel(scale) == G && G != C) per_channel = false;
    LENS_TRY(param_vec(scale, "scale", per_channel ? C : G));
    LENS_TRY(param_vec(bias, "B", per_channel ? C : G));
    double eps = lens_node_attr_float(node, "epsilon", 1e-5f);
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, x->ndim, x->dims, &y));
    staged s;
    LENS_TRY(stage(ex, x, y, 0, &s));
    if (s.numel == 0) return LENS_OK;
    group_ctx c = {s.x, s.y, scale, bias, G, C / G, plane, per_channel, eps};
    lens_parallel_for(lens_exec_pool(ex), x->dims[0] * G, 1, group_task, &c);
    return unstage(&s, y);
}

static lens_status run_instancenorm(const lens_node *node, lens_exec *ex) { return run_group_common(node, ex, true); }
static lens_status run_groupnorm(const lens_node *node, lens_exec *ex) { return run_group_common(node, ex, false); }

/* ---- LayerNormalization (17) -------------------------------------------------- */

typedef struct layer_ctx {
    const float *x;
    float *y;
    const float *scale, *bias;   /* expanded to the normalised size (bias may be NULL) */
    float *mean, *inv;           /* optional outputs (float) */
    int64_t d;
    double eps;
} layer_ctx;

static void layer_task(void *vctx, int64_t beg, int64_t end, int32_t thread) {
    const layer_ctx *c = vctx;
    lens_f32_layernorm_row_fn row = lens_f32_layernorm_row_best();
    for (int64_t r = beg; r < end; r++) {
        float m, inv;
        row(c->x + r * c->d, c->y + r * c->d, (size_t)c->d, c->scale, c->bias, c->eps, &m, &inv);
        if (c->mean) c->mean[r] = m;
        if (c->inv) c->inv[r] = inv;
    }
}

/* Expand a parameter that broadcasts (unidirectionally) to the normalised
 * shape into `out` (d floats). */
static lens_status expand_param(const lens_tensor *t, const char *what, int32_t nn, const int64_t *ndims,
                                int64_t d, float *out) {
    if (!is_float_type(t->dtype)) return lens_error(LENS_STATUS_INVALID_MODEL, "%s must be floating point", what);
    if (t->ndim > nn) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "%s has too many dimensions", what);
    for (int32_t i = 0; i < t->ndim; i++) {
        int64_t td = t->dims[t->ndim - 1 - i], xd = ndims[nn - 1 - i];
        if (td != 1 && td != xd)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "%s does not broadcast to the normalised shape", what);
    }
    int64_t str[LENS_MAX_DIMS];
    lens_broadcast_strides(t->ndim, t->dims, nn, str);
    for (int64_t i = 0; i < d; i++) {
        int64_t rem = i, off = 0;
        for (int32_t k = nn - 1; k >= 0; k--) {
            off += (rem % ndims[k]) * str[k];
            rem /= ndims[k];
        }
        out[i] = (float)lens_tensor_get_f64(t, off);
    }
    return LENS_OK;
}

static lens_status run_layernorm(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    LENS_TRY(check_x(x, 1));
    int32_t axis;
    LENS_TRY(lens_normalize_axis(lens_node_attr_int(node, "axis", -1), x->ndim, "axis", &axis));
    int64_t stash = lens_node_attr_int(node, "stash_type", 1);
    if (stash != 1 && stash != LENS_DTYPE_DOUBLE)
        return lens_error(LENS_STATUS_UNSUPPORTED, "stash_type %lld is not supported", (long long)stash);
    double eps = lens_node_attr_float(node, "epsilon", 1e-5f);
    int64_t rows = 1, d = 1;
    for (int32_t i = 0; i < x->ndim; i++) {
        if (i < axis) rows *= x->dims[i];
        else d *= x->dims[i];
    }
    const lens_tensor *scale = lens_exec_input(ex, 1), *bias = lens_exec_input(ex, 2);
    if (!scale) return lens_error(LENS_STATUS_INVALID_MODEL, "missing Scale");
    lens_tensor *y, *mo = NULL, *io = NULL;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, x->ndim, x->dims, &y));
    int64_t sdims[LENS_MAX_DIMS];
    for (int32_t i = 0; i < x->ndim; i++) sdims[i] = i < axis ? x->dims[i] : 1;
    /* Mean and InvStdDev have the stash type (float here, or double). */
    lens_dtype st = stash == 1 ? LENS_DTYPE_FLOAT : LENS_DTYPE_DOUBLE;
    if (lens_exec_n_outputs(ex) > 1) LENS_TRY(lens_exec_output(ex, 1, st, x->ndim, sdims, &mo));
    if (lens_exec_n_outputs(ex) > 2) LENS_TRY(lens_exec_output(ex, 2, st, x->ndim, sdims, &io));
    staged s;
    LENS_TRY(stage(ex, x, y, 2 * d + 2 * rows, &s));
    if (s.numel == 0) return LENS_OK;
    float *sc = s.extra, *bi = bias ? s.extra + d : NULL;
    float *mean = s.extra + 2 * d, *inv = mean + rows;
    LENS_TRY(expand_param(scale, "Scale", x->ndim - axis, x->dims + axis, d, sc));
    if (bias) LENS_TRY(expand_param(bias, "B", x->ndim - axis, x->dims + axis, d, bi));
    layer_ctx c = {s.x, s.y, sc, bi, mean, inv, d, eps};
    lens_parallel_for(lens_exec_pool(ex), rows, LENS_MAX(1, 8192 / LENS_MAX(d, 1)), layer_task, &c);
    if (mo) LENS_TRY(lens_convert(mean, LENS_DTYPE_FLOAT, mo->data, st, rows));
    if (io) LENS_TRY(lens_convert(inv, LENS_DTYPE_FLOAT, io->data, st, rows));
    return unstage(&s, y);
}

/* ---- LpNormalization (1) --------------------------------------------------- */

static lens_status run_lpnorm(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    LENS_TRY(check_x(x, 1));
    int32_t axis;
    LENS_TRY(lens_normalize_axis(lens_node_attr_int(node, "axis", -1), x->ndim, "axis", &axis));
    int64_t p = lens_node_attr_int(node, "p", 2);
    if (p != 1 && p != 2) return lens_error(LENS_STATUS_INVALID_MODEL, "p must be 1 or 2, got %lld", (long long)p);
    int64_t outer = 1, d = x->dims[axis], inner = 1;
    for (int32_t i = 0; i < x->ndim; i++) {
        if (i < axis) outer *= x->dims[i];
        if (i > axis) inner *= x->dims[i];
    }
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, x->ndim, x->dims, &y));
    staged s;
    LENS_TRY(stage(ex, x, y, 0, &s));
    if (s.numel == 0) return LENS_OK;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            const float *xv = s.x + o * d * inner + j;
            float *yv = s.y + o * d * inner + j;
            double n = 0;
            for (int64_t i = 0; i < d; i++) n += p == 1 ? fabs((double)xv[i * inner]) : (double)xv[i * inner] * xv[i * inner];
            if (p == 2) n = sqrt(n);
            /* A zero vector stays zero rather than becoming NaN. */
            float inv = n > 0 ? (float)(1.0 / n) : 0.0f;
            for (int64_t i = 0; i < d; i++) yv[i * inner] = xv[i * inner] * inv;
        }
    return unstage(&s, y);
}

/* ---- MeanVarianceNormalization (9, 13) --------------------------------------- */

static lens_status run_mvn(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    LENS_TRY(check_x(x, 1));
    int64_t na = 0;
    const int64_t *av = lens_node_attr_ints(node, "axes", &na);
    static const int64_t def_axes[3] = {0, 2, 3};
    if (!av) {
        av = def_axes;
        na = 3;
    }
    bool red[LENS_MAX_DIMS] = {false};
    for (int64_t i = 0; i < na; i++) {
        int32_t a;
        LENS_TRY(lens_normalize_axis(av[i], x->ndim, "axes", &a));
        red[a] = true;
    }
    /* Statistics are indexed by the kept coordinates. */
    int64_t kdims[LENS_MAX_DIMS], kstr[LENS_MAX_DIMS], nk = 1;
    for (int32_t i = 0; i < x->ndim; i++) {
        kdims[i] = red[i] ? 1 : x->dims[i];
        nk *= kdims[i];
    }
    lens_contiguous_strides(x->ndim, kdims, kstr);
    for (int32_t i = 0; i < x->ndim; i++)
        if (red[i]) kstr[i] = 0;
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, x->ndim, x->dims, &y));
    /* sums and sums of squares in double: 4 floats each. */
    staged s;
    LENS_TRY(stage(ex, x, y, 4 * nk, &s));
    if (s.numel == 0) return LENS_OK;
    double *sum = (double *)s.extra, *sq = sum + nk;
    for (int64_t k = 0; k < nk; k++) sum[k] = sq[k] = 0;
    int64_t cnt = s.numel / nk;
    for (int pass = 0; pass < 2; pass++) {
        int64_t idx[LENS_MAX_DIMS] = {0}, koff = 0;
        for (int64_t e = 0; e < s.numel; e++) {
            double v = s.x[e];
            if (pass == 0) {
                sum[koff] += v;
                sq[koff] += v * v;
            } else {
                /* ONNX function: (X - E[X]) / (sqrt(E[X^2] - E[X]^2) + 1e-9). */
                double m = sum[koff] / (double)cnt;
                double var = sq[koff] / (double)cnt - m * m;
                s.y[e] = (float)((v - m) / (sqrt(var > 0 ? var : 0) + 1e-9));
            }
            for (int32_t d = x->ndim - 1; d >= 0; d--) {
                koff += kstr[d];
                if (++idx[d] < x->dims[d]) break;
                koff -= kstr[d] * x->dims[d];
                idx[d] = 0;
            }
        }
    }
    return unstage(&s, y);
}

/* ---- LRN (1, 13): across channels ------------------------------------------- */

static lens_status run_lrn(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    LENS_TRY(check_x(x, 2));
    int64_t size = lens_node_attr_int(node, "size", 0);
    if (size < 1 || size > (1 << 20)) return lens_error(LENS_STATUS_INVALID_MODEL, "size must be positive");
    double alpha = lens_node_attr_float(node, "alpha", 1e-4f), beta = lens_node_attr_float(node, "beta", 0.75f);
    double bias = lens_node_attr_float(node, "bias", 1.0f);
    int64_t N = x->dims[0], C = x->dims[1], plane = 1;
    for (int32_t i = 2; i < x->ndim; i++) plane *= x->dims[i];
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, x->ndim, x->dims, &y));
    staged s;
    LENS_TRY(stage(ex, x, y, 0, &s));
    if (s.numel == 0) return LENS_OK;
    int64_t lo = (size - 1) / 2, hi = size - 1 - lo; /* floor / ceil of (size-1)/2 */
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            int64_t c0 = LENS_MAX(0, c - lo), c1 = LENS_MIN(C - 1, c + hi);
            const float *xb = s.x + n * C * plane;
            float *yc = s.y + (n * C + c) * plane;
            for (int64_t i = 0; i < plane; i++) {
                double sq = 0;
                for (int64_t k = c0; k <= c1; k++) {
                    double v = xb[k * plane + i];
                    sq += v * v;
                }
                yc[i] = (float)(xb[c * plane + i] / pow(bias + alpha / (double)size * sq, beta));
            }
        }
    return unstage(&s, y);
}

static const lens_op ops[] = {
    {"", "BatchNormalization", 1, 0, 0, NULL, run_batchnorm, NULL},
    {"", "BatchNormalization", 6, 0, 0, NULL, run_batchnorm, NULL},
    {"", "BatchNormalization", 7, 0, 0, NULL, run_batchnorm, NULL},
    {"", "BatchNormalization", 9, 0, 0, NULL, run_batchnorm, NULL},
    {"", "BatchNormalization", 14, 0, 0, NULL, run_batchnorm, NULL},
    {"", "BatchNormalization", 15, 0, 0, NULL, run_batchnorm, NULL},
    {"", "InstanceNormalization", 1, 0, 0, NULL, run_instancenorm, NULL},
    {"", "InstanceNormalization", 6, 0, 0, NULL, run_instancenorm, NULL},
    {"", "LayerNormalization", 17, 0, 0, NULL, run_layernorm, NULL},
    {"", "GroupNormalization", 18, 0, 0, NULL, run_groupnorm, NULL},
    {"", "LpNormalization", 1, 0, 0, NULL, run_lpnorm, NULL},
    {"", "MeanVarianceNormalization", 9, 0, 0, NULL, run_mvn, NULL},
    {"", "MeanVarianceNormalization", 13, 0, 0, NULL, run_mvn, NULL},
    {"", "LRN", 1, 0, 0, NULL, run_lrn, NULL},
    {"", "LRN", 13, 0, 0, NULL, run_lrn, NULL},
};
LENS_OP_TABLE(norm, ops);
