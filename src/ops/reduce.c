/* Reductions: ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare
 * and ArgMax/ArgMin. Softmax, LogSoftmax and Hardmax live in
 * reduce_softmax.c and are registered here.
 *
 * Every reduction is brought to the shape [outer, R, inner] (R = product of
 * the reduced dimensions): directly when the reduced axes form one block
 * once size-1 dimensions are ignored, otherwise after a transpose that moves
 * the reduced axes last. float32 (and float16/bfloat16 through float) runs
 * in float; double and the integer types run in double (exact for integers
 * up to 2^53). */
#include <math.h>

#include "ops/op.h"

typedef enum reduce_kind {
    RK_SUM, RK_MEAN, RK_MAX, RK_MIN, RK_PROD, RK_L1, RK_L2, RK_LOGSUM, RK_LOGSUMEXP, RK_SUMSQ
} reduce_kind;

typedef struct reduce_ctx {
    const void *in;
    void *out;
    int64_t outer, r, inner;
    reduce_kind kind;
} reduce_ctx;

/* Inner blocks are processed in chunks that fit stack accumulators. */
#define RED_CHUNK 256

/* One kernel per working type. rows: reduce in[o][0..R) into out[o] for
 * o in [b, e) (inner == 1). cols: tasks over outer * chunk blocks, each
 * reducing in[o][0..R)[j..j+n) into out[o][j..j+n). */
#define DEFINE_REDUCE(T, SFX, EXP, LOG, SQRT, FABS)                                              \
    static T reduce_one_##SFX(const T *x, int64_t r, int64_t stride, reduce_kind k) {           \
        T acc[8];                                                                                \
        T init = k == RK_PROD ? (T)1 : k == RK_MAX ? (T)-INFINITY : k == RK_MIN ? (T)INFINITY : (T)0; \
        for (int i = 0; i < 8; i++) acc[i] = init;                                               \
        T mx = (T)-INFINITY;                                                                     \
        if (k == RK_LOGSUMEXP) {                                                                 \
            /* Shift by the maximum so that exp cannot overflow. */                              \
            for (int64_t i = 0; i < r; i++) mx = x[i * stride] > mx ? x[i * stride] : mx;        \
            if (mx == (T)-INFINITY || isnan(mx)) return r ? mx : (T)-INFINITY;                   \
        }                                                                                        \
        int64_t i = 0;                                                                           \
        if (stride == 1) {                                                                       \
            /* Eight independent accumulators so the compiler can vectorise. */                  \
            for (; i + 8 <= r; i += 8) {                                                         \
                const T *p = x + i;                                                              \
                switch (k) {                                                                     \
                case RK_SUM: case RK_MEAN: case RK_LOGSUM:                                       \
                    for (int j = 0; j < 8; j++) acc[j] += p[j];                                  \
                    break;                                                                       \
                case RK_SUMSQ: case RK_L2:                                                       \
                    for (int j = 0; j < 8; j++) acc[j] += p[j] * p[j];                           \
                    break;                                                                       \
                case RK_L1:                                                                      \
                    for (int j = 0; j < 8; j++) acc[j] += FABS(p[j]);                            \
                    break;                                                                       \
                case RK_PROD:                                                                    \
                    for (int j = 0; j < 8; j++) acc[j] *= p[j];                                  \
                    break;                                                                       \
                case RK_MAX:                                                                     \
                    for (int j = 0; j < 8; j++) acc[j] = p[j] > acc[j] ? p[j] : acc[j];          \
                    break;                                                                       \
                case RK_MIN:                                                                     \
                    for (int j = 0; j < 8; j++) acc[j] = p[j] < acc[j] ? p[j] : acc[j];          \
                    break;                                                                       \
                case RK_LOGSUMEXP:                                                               \
                    for (int j = 0; j < 8; j++) acc[j] += EXP(p[j] - mx);                        \
                    break;                                                                       \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
        for (; i < r; i++) {                                                                     \
            T v = x[i * stride];                                                                 \
            switch (k) {                                                                         \
            case RK_SUM: case RK_MEAN: case RK_LOGSUM: acc[0] += v; break;                       \
            case RK_SUMSQ: case RK_L2: acc[0] += v * v; break;                                   \
            case RK_L1: acc[0] += FABS(v); break;                                                \
            case RK_PROD: acc[0] *= v; break;                                                    \
            case RK_MAX: acc[0] = v > acc[0] ? v : acc[0]; break;                                \
            case RK_MIN: acc[0] = v < acc[0] ? v : acc[0]; break;                                \
            case RK_LOGSUMEXP: acc[0] += EXP(v - mx); break;                                     \
            }                                                                                    \
        }                                                                                        \
        T s = acc[0];                                                                            \
        for (int j = 1; j < 8; j++) {                                                            \
            if (k == RK_PROD) s *= acc[j];                                                       \
            else if (k == RK_MAX) s = acc[j] > s ? acc[j] : s;                                   \
            else if (k == RK_MIN) s = acc[j] < s ? acc[j] : s;                                   \
            else s += acc[j];                                                                    \
        }                                                                                        \
        switch (k) {                                                                             \
        case RK_MEAN: return s / (T)r;                                                           \
        case RK_L2: return SQRT(s);                                                              \
        case RK_LOGSUM: return LOG(s);                                                           \
        case RK_LOGSUMEXP: return mx + LOG(s);                                                   \
        default: return s;                                                                       \
        }                                                                                        \
    }                                                                                            \
    static void reduce_rows_##SFX(void *vctx, int64_t b, int64_t e, int32_t thread) {           \
        const reduce_ctx *c = vctx;                                                              \
        const T *in = c->in;                                                                     \
        T *out = c->out;                                                                         \
        for (int64_t o = b; o < e; o++) out[o] = reduce_one_##SFX(in + o * c->r, c->r, 1, c->kind); \
    }                                                                                            \
    static void reduce_cols_##SFX(void *vctx, int64_t b, int64_t e, int32_t thread) {           \
        const reduce_ctx *c = vctx;                                                              \
        int64_t nblk = (c->inner + RED_CHUNK - 1) / RED_CHUNK;                                   \
        reduce_kind k = c->kind;                                                                 \
        T acc[RED_CHUNK], mx[RED_CHUNK];                                                         \
        for (int64_t t = b; t < e; t++) {                                                        \
            int64_t o = t / nblk, j0 = (t % nblk) * RED_CHUNK;                                   \
            int64_t n = LENS_MIN(RED_CHUNK, c->inner - j0);                                      \
            const T *in = (const T *)c->in + o * c->r * c->inner + j0;                           \
            T *out = (T *)c->out + o * c->inner + j0;                                            \
            T init = k == RK_PROD ? (T)1 : k == RK_MAX ? (T)-INFINITY : k == RK_MIN ? (T)INFINITY : (T)0; \
            for (int64_t j = 0; j < n; j++) acc[j] = init;                                       \
            if (k == RK_LOGSUMEXP) {                                                             \
                for (int64_t j = 0; j < n; j++) mx[j] = (T)-INFINITY;                            \
                for (int64_t i = 0; i < c->r; i++)                                               \
                    for (int64_t j = 0; j < n; j++) {                                            \
                        T v = in[i * c->inner + j];                                              \
                        mx[j] = v > mx[j] ? v : mx[j];                                           \
                    }                                                                            \
                for (int64_t j = 0; j < n; j++)                                                  \
                    if (mx[j] == (T)-INFINITY) mx[j] = 0; /* sum of exp(-inf) is 0: log gives -inf */ \
            }                                                                                    \
            for (int64_t i = 0; i < c->r; i++) {                                                 \
                const T *p = in + i * c->inner;                                                  \
                switch (k) {                                                                     \
                case RK_SUM: case RK_MEAN: case RK_LOGSUM:                                       \
                    for (int64_t j = 0; j < n; j++) acc[j] += p[j];                              \
                    break;                                                                       \
                case RK_SUMSQ: case RK_L2:                                                       \
                    for (int64_t j = 0; j < n; j++) acc[j] += p[j] * p[j];                       \
                    break;                                                                       \
                case RK_L1:                                                                      \
                    for (int64_t j = 0; j < n; j++) acc[j] += FABS(p[j]);                        \
                    break;                                                                       \
                case RK_PROD:                                                                    \
                    for (int64_t j = 0; j < n; j++) acc[j] *= p[j];                              \
                    break;                                                                       \
                case RK_MAX:                                                                     \
                    for (int64_t j = 0; j < n; j++) acc[j] = p[j] > acc[j] ? p[j] : acc[j];      \
                    break;                                                                       \
                case RK_MIN:                                                                     \
                    for (int64_t j = 0; j < n; j++) acc[j] = p[j] < acc[j] ? p[j] : acc[j];      \
                    break;                                                                       \
                case RK_LOGSUMEXP:                                                               \
                    for (int64_t j = 0; j < n; j++) acc[j] += EXP(p[j] - mx[j]);                 \
                    break;                                                                       \
                }                                                                                \
            }                                                                                    \
            for (int64_t j = 0; j < n; j++) {                                                    \
                T s = acc[j];                                                                    \
                switch (k) {                                                                     \
                case RK_MEAN: s = s / (T)c->r; break;                                            \
                case RK_L2: s = SQRT(s); break;                                                  \
                case RK_LOGSUM: s = LOG(s); break;                                               \
                case RK_LOGSUMEXP: s = mx[j] + LOG(s); break;                                    \
                default: break;                                                                  \
                }                                                                                \
                out[j] = s;                                                                      \
            }                                                                                    \
        }                                                                                        \
    }

DEFINE_REDUCE(float, f32, expf, logf, sqrtf, fabsf)
DEFINE_REDUCE(double, f64, exp, log, sqrt, fabs)

/* Reduce [outer, r, inner] of floats or doubles. Exposed for the unit tests. */
void lens_reduce_3d(lens_threadpool *pool, bool dbl, int kind, const void *in, void *out,
                    int64_t outer, int64_t r, int64_t inner) {
    reduce_ctx c = {in, out, outer, r, inner, (reduce_kind)kind};
    int64_t work = r > 0 ? r : 1;
    if (inner == 1) {
        lens_parallel_for(pool, outer, LENS_MAX(1, 16384 / work), dbl ? reduce_rows_f64 : reduce_rows_f32, &c);
    } else {
        int64_t nblk = (inner + RED_CHUNK - 1) / RED_CHUNK;
        lens_parallel_for(pool, outer * nblk, LENS_MAX(1, 16384 / (work * LENS_MIN(inner, RED_CHUNK))),
                          dbl ? reduce_cols_f64 : reduce_cols_f32, &c);
    }
}

/* ---- shared helpers for reductions and ArgMax/ArgMin ----------------------- */

static bool dtype_is_numeric(lens_dtype t) {
    switch (t) {
    case LENS_DTYPE_FLOAT: case LENS_DTYPE_DOUBLE: case LENS_DTYPE_FLOAT16: case LENS_DTYPE_BFLOAT16:
    case LENS_DTYPE_INT8: case LENS_DTYPE_UINT8: case LENS_DTYPE_INT16: case LENS_DTYPE_UINT16:
    case LENS_DTYPE_INT32: case LENS_DTYPE_UINT32: case LENS_DTYPE_INT64: case LENS_DTYPE_UINT64:
        return true;
    default:
        return false;
    }
}

/* Working type: float for float32/16 and bfloat16, double otherwise. */
static lens_dtype work_dtype(lens_dtype t) {
    return (t == LENS_DTYPE_FLOAT || t == LENS_DTYPE_FLOAT16 || t == LENS_DTYPE_BFLOAT16)
               ? LENS_DTYPE_FLOAT : LENS_DTYPE_DOUBLE;
}

/* Copy `in` (dims, element size es) into `out` with axes permuted so that
 * out's axis i is in's axis perm[i]. */
static void transpose_any(const void *in, void *out, size_t es, int32_t nd, const int64_t *dims,
                          const int32_t *perm) {
    int64_t istr[LENS_MAX_DIMS], odims[LENS_MAX_DIMS], ostr_in[LENS_MAX_DIMS], idx[LENS_MAX_DIMS];
    lens_contiguous_strides(nd, dims, istr);
    int64_t total = 1;
    for (int32_t i = 0; i < nd; i++) {
        odims[i] = dims[perm[i]];
        ostr_in[i] = istr[perm[i]];
        idx[i] = 0;
        total *= odims[i];
    }
    const char *src = in;
    char *dst = out;
    int64_t off = 0;
    for (int64_t k = 0; k < total; k++) {
        memcpy(dst + (size_t)k * es, src + (size_t)off * es, es);
        for (int32_t d = nd - 1; d >= 0; d--) {
            if (++idx[d] < odims[d]) {
                off += ostr_in[d];
                break;
            }
            off -= ostr_in[d] * (odims[d] - 1);
            idx[d] = 0;
        }
    }
}

/* Read the axes of a reduction: from the `axes` attribute, or from input 1
 * when `from_input`. *n = 0 when none are given. */
static lens_status read_axes(const lens_node *node, lens_exec *ex, bool from_input, int64_t *axes,
                             int32_t *n) {
    *n = 0;
    if (from_input) {
        const lens_tensor *a = lens_exec_input(ex, 1);
        if (!a) return LENS_OK;
        if (a->dtype != LENS_DTYPE_INT64)
            return lens_error(LENS_STATUS_INVALID_MODEL, "axes must be int64, got %s", lens_dtype_name(a->dtype));
        if (a->ndim > 1) return lens_error(LENS_STATUS_INVALID_MODEL, "axes must be 1-D");
        int64_t cnt = lens_tensor_numel(a);
        if (cnt > LENS_MAX_DIMS) return lens_error(LENS_STATUS_INVALID_MODEL, "too many axes (%lld)", (long long)cnt);
        for (int64_t i = 0; i < cnt; i++) axes[i] = ((const int64_t *)a->data)[i];
        *n = (int32_t)cnt;
        return LENS_OK;
    }
    int64_t cnt = 0;
    const int64_t *v = lens_node_attr_ints(node, "axes", &cnt);
    if (cnt > LENS_MAX_DIMS) return lens_error(LENS_STATUS_INVALID_MODEL, "too many axes (%lld)", (long long)cnt);
    for (int64_t i = 0; i < cnt; i++) axes[i] = v[i];
    *n = (int32_t)cnt;
    return LENS_OK;
}

static lens_status run_reduce(const lens_node *node, lens_exec *ex, reduce_kind kind) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input");
    if (!dtype_is_numeric(x->dtype))
        return lens_error(LENS_STATUS_UNSUPPORTED, "unsupported dtype %s", lens_dtype_name(x->dtype));
    int32_t nd = x->ndim;
    /* ONNX: ReduceSum takes axes as an input from opset 13, the others from
     * opset 18; noop_with_empty_axes exists from the same versions. */
    bool axes_input = kind == RK_SUM ? node->opset >= 13 : node->opset >= 18;
    int64_t axes[LENS_MAX_DIMS];
    int32_t naxes;
    LENS_TRY(read_axes(node, ex, axes_input, axes, &naxes));
    bool keep = lens_node_attr_int(node, "keepdims", 1) != 0;
    bool noop = axes_input && lens_node_attr_int(node, "noop_with_empty_axes", 0) != 0;

    bool red[LENS_MAX_DIMS] = {false};
    if (naxes == 0) {
        if (!noop)
            for (int32_t i = 0; i < nd; i++) red[i] = true;
    } else {
        for (int32_t i = 0; i < naxes; i++) {
            int32_t a;
            LENS_TRY(lens_normalize_axis(axes[i], nd, "axes", &a));
            if (red[a]) return lens_error(LENS_STATUS_INVALID_MODEL, "axis %d repeated in axes", a);
            red[a] = true;
        }
    }
    int64_t odims[LENS_MAX_DIMS];
    int32_t ond = 0;
    for (int32_t i = 0; i < nd; i++) {
        if (!red[i]) odims[ond++] = x->dims[i];
        else if (keep) odims[ond++] = 1;
    }
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, ond, odims, &y));
    int64_t numel = lens_tensor_numel(x), onumel = lens_tensor_numel(y);
    if (onumel == 0) return LENS_OK;

    /* Collapse into runs of kept / reduced dimensions, ignoring size-1 ones. */
    int64_t rdims[LENS_MAX_DIMS];
    bool rred[LENS_MAX_DIMS];
    int32_t nr = 0;
    for (int32_t i = 0; i < nd; i++) {
        if (x->dims[i] == 1) continue;
        if (nr > 0 && rred[nr - 1] == red[i]) {
            rdims[nr - 1] *= x->dims[i];
        } else {
            rdims[nr] = x->dims[i];
            rred[nr++] = red[i];
        }
    }
    int32_t nblocks = 0;
    for (int32_t i = 0; i < nr; i++) nblocks += rred[i];
    bool need_transpose = nblocks > 1;
    int64_t outer = 1, r = 1, inner = 1;
    if (!need_transpose) {
        bool seen = false;
        for (int32_t i = 0; i < nr; i++) {
            if (rred[i]) { r = rdims[i]; seen = true; }
            else if (seen) inner *= rdims[i];
            else outer *= rdims[i];
        }
    } else {
        for (int32_t i = 0; i < nr; i++) {
            if (rred[i]) r *= rdims[i];
            else outer *= rdims[i];
        }
    }
    if (numel == 0) r = 0; /* reducing an empty set: identity of the reduction */

    lens_dtype wt = work_dtype(x->dtype);
    size_t ws = lens_dtype_size(wt);
    bool conv = x->dtype != wt;
    size_t in_bytes = conv ? (size_t)numel * ws : 0;
    size_t tr_bytes = need_transpose ? (size_t)numel * ws : 0;
    size_t out_bytes = conv ? (size_t)onumel * ws : 0;
    in_bytes = (in_bytes + 63) & ~(size_t)63;
    tr_bytes = (tr_bytes + 63) & ~(size_t)63;
    char *scratch = NULL;
    if (in_bytes + tr_bytes + out_bytes) {
        scratch = lens_exec_scratch(ex, in_bytes + tr_bytes + out_bytes);
        if (!scratch) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "no scratch memory for the reduction");
    }
    const void *src = x->data;
    if (conv) {
        LENS_TRY(lens_convert(x->data, x->dtype, scratch, wt, numel));
        src = scratch;
    }
    if (need_transpose) {
        int32_t perm[LENS_MAX_DIMS], k = 0;
        for (int32_t i = 0; i < nr; i++)
            if (!rred[i]) perm[k++] = i;
        for (int32_t i = 0; i < nr; i++)
            if (rred[i]) perm[k++] = i;
        transpose_any(src, scratch + in_bytes, ws, nr, rdims, perm);
        src = scratch + in_bytes;
    }
    void *dst = conv ? (void *)(scratch + in_bytes + tr_bytes) : y->data;
    lens_reduce_3d(lens_exec_pool(ex), wt == LENS_DTYPE_DOUBLE, kind, src, dst, outer, r, inner);
    if (conv) LENS_TRY(lens_convert(dst, wt, y->data, y->dtype, onumel));
    return LENS_OK;
}

#define REDUCE_RUN(NAME, KIND)                                                     \
    static lens_status run_##NAME(const lens_node *node, lens_exec *ex) {          \
        return run_reduce(node, ex, KIND);                                         \
    }
REDUCE_RUN(sum, RK_SUM)
REDUCE_RUN(mean, RK_MEAN)
REDUCE_RUN(max, RK_MAX)
REDUCE_RUN(min, RK_MIN)
REDUCE_RUN(prod, RK_PROD)
REDUCE_RUN(l1, RK_L1)
REDUCE_RUN(l2, RK_L2)
REDUCE_RUN(logsum, RK_LOGSUM)
REDUCE_RUN(logsumexp, RK_LOGSUMEXP)
REDUCE_RUN(sumsq, RK_SUMSQ)

/* ---- ArgMax / ArgMin (ONNX 1, 11, 12: select_last_index, 13) -------------- */

static lens_status run_arg(const lens_node *node, lens_exec *ex, bool is_max) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input");
    if (!dtype_is_numeric(x->dtype))
        return lens_error(LENS_STATUS_UNSUPPORTED, "unsupported dtype %s", lens_dtype_name(x->dtype));
    int32_t nd = x->ndim, axis;
    if (nd < 1) return lens_error(LENS_STATUS_INVALID_MODEL, "input must have rank >= 1");
    LENS_TRY(lens_normalize_axis(lens_node_attr_int(node, "axis", 0), nd, "axis", &axis));
    bool keep = lens_node_attr_int(node, "keepdims", 1) != 0;
    bool last = node->opset >= 12 && lens_node_attr_int(node, "select_last_index", 0) != 0;
    int64_t odims[LENS_MAX_DIMS];
    int32_t ond = 0;
    int64_t outer = 1, inner = 1, r = x->dims[axis];
    for (int32_t i = 0; i < nd; i++) {
        if (i < axis) outer *= x->dims[i];
        if (i > axis) inner *= x->dims[i];
        if (i != axis) odims[ond++] = x->dims[i];
        else if (keep) odims[ond++] = 1;
    }
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, LENS_DTYPE_INT64, ond, odims, &y));
    if (outer * inner == 0) return LENS_OK;
    if (r == 0) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "cannot take the arg%s of an empty axis",
                                  is_max ? "max" : "min");
    int64_t *out = y->data;
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t j = 0; j < inner; j++) {
            int64_t base = o * r * inner + j, best = 0;
            if (x->dtype == LENS_DTYPE_FLOAT) {
                const float *p = (const float *)x->data + base;
                float bv = p[0];
                for (int64_t i = 1; i < r; i++) {
                    float v = p[i * inner];
                    bool better = is_max ? (last ? v >= bv : v > bv) : (last ? v <= bv : v < bv);
                    if (better) { bv = v; best = i; }
                }
            } else {
                double bv = lens_tensor_get_f64(x, base);
                for (int64_t i = 1; i < r; i++) {
                    double v = lens_tensor_get_f64(x, base + i * inner);
                    bool better = is_max ? (last ? v >= bv : v > bv) : (last ? v <= bv : v < bv);
                    if (better) { bv = v; best = i; }
                }
            }
            out[o * inner + j] = best;
        }
    }
    return LENS_OK;
}

static lens_status run_argmax(const lens_node *node, lens_exec *ex) { return run_arg(node, ex, true); }
static lens_status run_argmin(const lens_node *node, lens_exec *ex) { return run_arg(node, ex, false); }

/* Softmax family (reduce_softmax.c). */
lens_status lens_op_softmax_run(const lens_node *node, lens_exec *ex);
lens_status lens_op_logsoftmax_run(const lens_node *node, lens_exec *ex);
lens_status lens_op_hardmax_run(const lens_node *node, lens_exec *ex);

#define AXES_IN (1u << 1)
/* One entry per semantic version. Axes moved to an input at 13 (ReduceSum)
 * and 18 (the others): from then, input 1 decides the output shape. */
#define REDUCE_VERSIONS(OP, FN)                                                     \
    {"", OP, 1, 0, 0, NULL, FN, NULL}, {"", OP, 11, 0, 0, NULL, FN, NULL},          \
    {"", OP, 13, 0, 0, NULL, FN, NULL}, {"", OP, 18, AXES_IN, 0, NULL, FN, NULL}

static const lens_op ops[] = {
    {"", "ReduceSum", 1, 0, 0, NULL, run_sum, NULL},
    {"", "ReduceSum", 11, 0, 0, NULL, run_sum, NULL},
    {"", "ReduceSum", 13, AXES_IN, 0, NULL, run_sum, NULL},
    REDUCE_VERSIONS("ReduceMean", run_mean),
    REDUCE_VERSIONS("ReduceMax", run_max),
    {"", "ReduceMax", 12, 0, 0, NULL, run_max, NULL},
    REDUCE_VERSIONS("ReduceMin", run_min),
    {"", "ReduceMin", 12, 0, 0, NULL, run_min, NULL},
    REDUCE_VERSIONS("ReduceProd", run_prod),
    REDUCE_VERSIONS("ReduceL1", run_l1),
    REDUCE_VERSIONS("ReduceL2", run_l2),
    REDUCE_VERSIONS("ReduceLogSum", run_logsum),
    REDUCE_VERSIONS("ReduceLogSumExp", run_logsumexp),
    REDUCE_VERSIONS("ReduceSumSquare", run_sumsq),
    {"", "ArgMax", 1, 0, 0, NULL, run_argmax, NULL},
    {"", "ArgMax", 11, 0, 0, NULL, run_argmax, NULL},
    {"", "ArgMax", 12, 0, 0, NULL, run_argmax, NULL},
    {"", "ArgMax", 13, 0, 0, NULL, run_argmax, NULL},
    {"", "ArgMin", 1, 0, 0, NULL, run_argmin, NULL},
    {"", "ArgMin", 11, 0, 0, NULL, run_argmin, NULL},
    {"", "ArgMin", 12, 0, 0, NULL, run_argmin, NULL},
    {"", "ArgMin", 13, 0, 0, NULL, run_argmin, NULL},
    {"", "Softmax", 1, 0, 0, NULL, lens_op_softmax_run, NULL},
    {"", "Softmax", 11, 0, 0, NULL, lens_op_softmax_run, NULL},
    {"", "Softmax", 13, 0, 0, NULL, lens_op_softmax_run, NULL},
    {"", "LogSoftmax", 1, 0, 0, NULL, lens_op_logsoftmax_run, NULL},
    {"", "LogSoftmax", 11, 0, 0, NULL, lens_op_logsoftmax_run, NULL},
    {"", "LogSoftmax", 13, 0, 0, NULL, lens_op_logsoftmax_run, NULL},
    {"", "Hardmax", 1, 0, 0, NULL, lens_op_hardmax_run, NULL},
    {"", "Hardmax", 11, 0, 0, NULL, lens_op_hardmax_run, NULL},
    {"", "Hardmax", 13, 0, 0, NULL, lens_op_hardmax_run, NULL},
};
LENS_OP_TABLE(reduce, ops);
