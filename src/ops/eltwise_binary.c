/* Binary, variadic and ternary elementwise operators with numpy
 * multidirectional broadcasting: arithmetic, Pow, Mod, BitShift, logical,
 * bitwise, comparisons, PRelu, Sum/Mean/Max/Min and Where.
 *
 * Integer arithmetic wraps (two's complement) instead of being undefined;
 * integer division and modulo by zero give 0 rather than trapping (ONNX
 * leaves both undefined). float16/bfloat16 are computed in float32. */
#include <math.h>

#include "ops/eltwise_impl.h"

typedef struct bin_ctx {
    const lens_eltw_f32 *k;
    lens_dtype adt, bdt; /* compute dtypes of the operands (Pow with mixed types) */
    int64_t iparam;      /* Mod: fmod; BitShift: 1 = left */
} bin_ctx;

#define NDT 17 /* dtype codes 0..16 */

typedef struct bin_kern {
    lens_eltw_row_fn fn[NDT]; /* by compute dtype; FLOAT also serves float16/bfloat16 */
    bool out_bool;
} bin_kern;

#define ROW_ARGS const void *vctx, const char *const *in, const int64_t *inc, char *out, int64_t n

#define DEF_ROW2(name, T, TO, expr)                                                        \
    static void name(ROW_ARGS) {                                                           \
        const bin_ctx *c = vctx;                                                           \
        (void)c;                                                                           \
        const T *a = (const T *)in[0], *b = (const T *)in[1];                              \
        TO *y = (TO *)out;                                                                 \
        int64_t sa = inc[0], sb = inc[1];                                                  \
        for (int64_t i = 0; i < n; i++) {                                                  \
            T u = a[i * sa], v = b[i * sb];                                                \
            y[i] = (TO)(expr);                                                             \
        }                                                                                  \
    }

/* Type lists: X(op, suffix, C type, dtype, expr). */
#define SINTS(X, op, e) X(op, i8, int8_t, INT8, e) X(op, i16, int16_t, INT16, e) \
    X(op, i32, int32_t, INT32, e) X(op, i64, int64_t, INT64, e)
#define UINTS(X, op, e) X(op, u8, uint8_t, UINT8, e) X(op, u16, uint16_t, UINT16, e) \
    X(op, u32, uint32_t, UINT32, e) X(op, u64, uint64_t, UINT64, e)
#define FLTS(X, op, e) X(op, f32, float, FLOAT, e) X(op, f64, double, DOUBLE, e)
#define DBL(X, op, e) X(op, f64, double, DOUBLE, e)
#define BOOLT(X, op, e) X(op, b8, uint8_t, BOOL, e)

#define XDEF(op, s, T, DT, e) DEF_ROW2(op##_##s, T, T, e)
#define XCMP(op, s, T, DT, e) DEF_ROW2(op##_##s, T, uint8_t, e)
#define XTAB(op, s, T, DT, e) [LENS_DTYPE_##DT] = op##_##s,

/* float32 through the vectorised kernels. */
#define DEF_F32V(op)                                                                       \
    static void op##_f32(ROW_ARGS) {                                                       \
        const bin_ctx *c = vctx;                                                           \
        c->k->op((const float *)in[0], (size_t)inc[0], (const float *)in[1], (size_t)inc[1], \
                 (float *)out, (size_t)n);                                                 \
    }

/* Wrapping integer arithmetic: go through uint64 (conversion back to a
 * signed type wraps in GCC and Clang, which is what every ONNX runtime
 * does). */
#define WRAP(op) ((uint64_t)u op (uint64_t)v)

SINTS(XDEF, add, WRAP(+)) UINTS(XDEF, add, WRAP(+)) DBL(XDEF, add, u + v) DEF_F32V(add)
SINTS(XDEF, sub, WRAP(-)) UINTS(XDEF, sub, WRAP(-)) DBL(XDEF, sub, u - v) DEF_F32V(sub)
SINTS(XDEF, mul, WRAP(*)) UINTS(XDEF, mul, WRAP(*)) DBL(XDEF, mul, u * v) DEF_F32V(mul)
/* Integer Div truncates toward zero (C semantics, as ONNX Runtime); x/0
 * gives 0 and INT_MIN/-1 wraps instead of trapping. */
SINTS(XDEF, div, v == 0 ? 0 : v == -1 ? (0 - (uint64_t)u) : (uint64_t)(u / v))
UINTS(XDEF, div, v == 0 ? 0 : u / v) DBL(XDEF, div, u / v) DEF_F32V(div)
SINTS(XDEF, max, u > v ? u : v) UINTS(XDEF, max, u > v ? u : v)
DBL(XDEF, max, (u != u || v != v) ? u + v : (u > v ? u : v)) DEF_F32V(max)
SINTS(XDEF, min, u < v ? u : v) UINTS(XDEF, min, u < v ? u : v)
DBL(XDEF, min, (u != u || v != v) ? u + v : (u < v ? u : v)) DEF_F32V(min)

#define ALLNUM(X, op, e) SINTS(X, op, e) UINTS(X, op, e) FLTS(X, op, e)

static const bin_kern k_add = {{SINTS(XTAB, add, 0) UINTS(XTAB, add, 0) FLTS(XTAB, add, 0)}, false};
static const bin_kern k_sub = {{SINTS(XTAB, sub, 0) UINTS(XTAB, sub, 0) FLTS(XTAB, sub, 0)}, false};
static const bin_kern k_mul = {{SINTS(XTAB, mul, 0) UINTS(XTAB, mul, 0) FLTS(XTAB, mul, 0)}, false};
static const bin_kern k_div = {{SINTS(XTAB, div, 0) UINTS(XTAB, div, 0) FLTS(XTAB, div, 0)}, false};
static const bin_kern k_max = {{ALLNUM(XTAB, max, 0)}, false};
static const bin_kern k_min = {{ALLNUM(XTAB, min, 0)}, false};

/* Mod-10: fmod=0 takes the sign of the divisor (Python / numpy.mod);
 * fmod=1 the sign of the dividend (C fmod). */
static inline int64_t mod_signed(int64_t u, int64_t v, int64_t fmod_) {
    if (v == 0 || v == -1) return 0;
    int64_t r = u % v;
    if (!fmod_ && r != 0 && ((r < 0) != (v < 0))) r += v;
    return r;
}
static inline double mod_float(double u, double v, int64_t fmod_) {
    double r = fmod(u, v);
    if (!fmod_ && r != 0 && ((r < 0) != (v < 0))) r += v;
    return r;
}
SINTS(XDEF, mod, mod_signed(u, v, c->iparam)) UINTS(XDEF, mod, v == 0 ? 0 : u % v)
DBL(XDEF, mod, mod_float(u, v, c->iparam))
XDEF(mod, f32, float, FLOAT, (float)mod_float(u, v, c->iparam))
static const bin_kern k_mod = {{ALLNUM(XTAB, mod, 0)}, false};

/* BitShift-11: unsigned types only; shifting by the width or more gives 0. */
#define SHIFT(bits) (v >= bits ? 0 : c->iparam ? (u << v) : (u >> v))
XDEF(shl, u8, uint8_t, UINT8, SHIFT(8)) XDEF(shl, u16, uint16_t, UINT16, SHIFT(16))
XDEF(shl, u32, uint32_t, UINT32, SHIFT(32)) XDEF(shl, u64, uint64_t, UINT64, SHIFT(64))
static const bin_kern k_bitshift = {{UINTS(XTAB, shl, 0)}, false};

/* Logical And/Or/Xor-7 on bool; Bitwise*-18 on integers. */
BOOLT(XDEF, land, (u != 0) & (v != 0)) BOOLT(XDEF, lor, (u != 0) | (v != 0))
BOOLT(XDEF, lxor, (u != 0) ^ (v != 0))
static const bin_kern k_and = {{BOOLT(XTAB, land, 0)}, false};
static const bin_kern k_or = {{BOOLT(XTAB, lor, 0)}, false};
static const bin_kern k_xor = {{BOOLT(XTAB, lxor, 0)}, false};
SINTS(XDEF, band, u & v) UINTS(XDEF, band, u & v)
SINTS(XDEF, bor, u | v) UINTS(XDEF, bor, u | v)
SINTS(XDEF, bxor, u ^ v) UINTS(XDEF, bxor, u ^ v)
static const bin_kern k_bitwise_and = {{SINTS(XTAB, band, 0) UINTS(XTAB, band, 0)}, false};
static const bin_kern k_bitwise_or = {{SINTS(XTAB, bor, 0) UINTS(XTAB, bor, 0)}, false};
static const bin_kern k_bitwise_xor = {{SINTS(XTAB, bxor, 0) UINTS(XTAB, bxor, 0)}, false};

/* Comparisons: bool output. */
ALLNUM(XCMP, eq, u == v) BOOLT(XCMP, eq, u == v)
ALLNUM(XCMP, gt, u > v) ALLNUM(XCMP, ge, u >= v)
ALLNUM(XCMP, lt, u < v) ALLNUM(XCMP, le, u <= v)
static const bin_kern k_equal = {{ALLNUM(XTAB, eq, 0) BOOLT(XTAB, eq, 0)}, true};
static const bin_kern k_greater = {{ALLNUM(XTAB, gt, 0)}, true};
static const bin_kern k_greater_equal = {{ALLNUM(XTAB, ge, 0)}, true};
static const bin_kern k_less = {{ALLNUM(XTAB, lt, 0)}, true};
static const bin_kern k_less_equal = {{ALLNUM(XTAB, le, 0)}, true};

/* PRelu: x < 0 ? slope * x : x. */
SINTS(XDEF, prelu, u < 0 ? WRAP(*) : (uint64_t)u) UINTS(XDEF, prelu, u + 0 * v) /* unsigned: never negative */
FLTS(XDEF, prelu, u < 0 ? u * v : u)
static const bin_kern k_prelu = {{ALLNUM(XTAB, prelu, 0)}, false};

/* ---- Pow --------------------------------------------------------------- */

/* Integer power by squaring, wrapping. A negative exponent gives the
 * truncated 1/u^-v: 0 except for u = +-1. */
static int64_t ipow(int64_t u, int64_t v) {
    if (v < 0) return u == 1 ? 1 : u == -1 ? ((-v) & 1 ? -1 : 1) : 0;
    uint64_t r = 1, b = (uint64_t)u;
    while (v) {
        if (v & 1) r *= b;
        b *= b;
        v >>= 1;
    }
    return (int64_t)r;
}

XDEF(pow, f32, float, FLOAT, powf(u, v))
XDEF(pow, f64, double, DOUBLE, pow(u, v))
XDEF(powsq, f32, float, FLOAT, u * u + 0 * v)

static void store_i64(char *out, lens_dtype dt, int64_t i, int64_t v) {
    switch (dt) {
    case LENS_DTYPE_INT8: ((int8_t *)out)[i] = (int8_t)v; break;
    case LENS_DTYPE_INT16: ((int16_t *)out)[i] = (int16_t)v; break;
    case LENS_DTYPE_INT32: ((int32_t *)out)[i] = (int32_t)v; break;
    case LENS_DTYPE_INT64: ((int64_t *)out)[i] = v; break;
    case LENS_DTYPE_UINT8: ((uint8_t *)out)[i] = (uint8_t)v; break;
    case LENS_DTYPE_UINT16: ((uint16_t *)out)[i] = (uint16_t)v; break;
    case LENS_DTYPE_UINT32: ((uint32_t *)out)[i] = (uint32_t)v; break;
    case LENS_DTYPE_UINT64: ((uint64_t *)out)[i] = (uint64_t)v; break;
    default: break;
    }
}

/* Pow-12/13/15 with base and exponent of different types: the result has
 * the base's type; an integer base with a float exponent computes in double
 * and truncates (numpy's power(x, y).astype(x.dtype), the ONNX reference). */
static void pow_mixed(ROW_ARGS) {
    const bin_ctx *c = vctx;
    lens_tensor ta = {c->adt, 1, {n}, (void *)in[0]}, tb = {c->bdt, 1, {n}, (void *)in[1]};
    lens_tensor ty = {c->adt, 1, {n}, out};
    bool aint = lens_eltw_is_int(c->adt), bint = lens_eltw_is_int(c->bdt);
    for (int64_t i = 0; i < n; i++) {
        if (aint && bint) {
            store_i64(out, c->adt, i, ipow(lens_tensor_get_i64(&ta, i * inc[0]),
                                           lens_tensor_get_i64(&tb, i * inc[1])));
        } else {
            double r = pow(lens_tensor_get_f64(&ta, i * inc[0]), lens_tensor_get_f64(&tb, i * inc[1]));
            if (aint) {
                /* float to integer is undefined in C out of range: clamp. */
                if (!(r == r)) r = 0;
                r = r < -9.2e18 ? -9.2e18 : r > 9.2e18 ? 9.2e18 : r;
                store_i64(out, c->adt, i, (int64_t)r);
            } else {
                lens_tensor_set_f64(&ty, i, r);
            }
        }
    }
}

/* ---- common drivers ----------------------------------------------------- */

static lens_dtype compute_dtype(lens_dtype dt) {
    return lens_eltw_is_half(dt) ? LENS_DTYPE_FLOAT : dt;
}

static lens_eltw_row_fn kern_fn(const bin_kern *bk, lens_dtype dt) {
    lens_dtype c = compute_dtype(dt);
    return (unsigned)c < NDT ? bk->fn[c] : NULL;
}

static lens_status unsupported_dtype(const lens_node *node, lens_dtype dt) {
    return lens_error(LENS_STATUS_UNSUPPORTED, "%s does not support input type %s", node->op_type,
                      lens_dtype_name(dt));
}

/* Opset < 7 (Add-6, Mul-6, Equal-1...): no numpy broadcasting; with
 * broadcast=1, B's shape is aligned with A's starting at `axis` (default:
 * the trailing dimensions). Rewrite B's view so numpy rules then apply. */
static lens_status legacy_broadcast(const lens_node *node, const lens_tensor *a,
                                    const lens_tensor *b, lens_tensor *view) {
    *view = *b;
    if (!lens_node_attr_int(node, "broadcast", 0)) {
        if (!lens_shape_equal(a->ndim, a->dims, b->ndim, b->dims) && lens_tensor_numel(b) != 1)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                              "inputs differ in shape and broadcast=0 (opset %lld)",
                              (long long)node->opset);
        return LENS_OK;
    }
    const lens_attr *ax = lens_node_attr(node, "axis");
    if (!ax || b->ndim == 0) return LENS_OK;
    int64_t axis = ax->i < 0 ? ax->i + a->ndim : ax->i;
    if (axis < 0 || axis + b->ndim > a->ndim)
        return lens_error(LENS_STATUS_INVALID_MODEL, "broadcast axis %lld out of range",
                          (long long)ax->i);
    view->ndim = a->ndim - (int32_t)axis;
    for (int32_t d = 0; d < view->ndim; d++) view->dims[d] = d < b->ndim ? b->dims[d] : 1;
    return LENS_OK;
}

static lens_status binary_run(const lens_node *node, lens_exec *ex, const bin_kern *bk,
                              bin_ctx *ctx, bool mixed_types) {
    const lens_tensor *a = lens_exec_input(ex, 0), *b = lens_exec_input(ex, 1);
    if (!a || !b) return lens_error(LENS_STATUS_INVALID_MODEL, "needs two inputs");
    if (!mixed_types && a->dtype != b->dtype)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "input types differ: %s and %s",
                          lens_dtype_name(a->dtype), lens_dtype_name(b->dtype));
    lens_eltw_row_fn fn = kern_fn(bk, a->dtype);
    if (!fn) return unsupported_dtype(node, a->dtype);
    lens_tensor bview;
    if (node->opset < 7) {
        LENS_TRY(legacy_broadcast(node, a, b, &bview));
        b = &bview;
    }
    const lens_tensor *ins[2] = {a, b};
    int32_t nd;
    int64_t dims[LENS_MAX_DIMS];
    LENS_TRY(lens_eltw_broadcast(2, ins, &nd, dims));
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, bk->out_bool ? LENS_DTYPE_BOOL : a->dtype, nd, dims, &y));
    ctx->k = lens_eltw_f32_best();
    return lens_eltw_apply(ex, 2, ins, y, fn, ctx, true);
}

lens_status lens_f32_add_broadcast(lens_exec *ex, lens_tensor *y, const lens_tensor *r) {
    if (y->dtype != LENS_DTYPE_FLOAT || r->dtype != LENS_DTYPE_FLOAT)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "float32 add of %s and %s",
                          lens_dtype_name(y->dtype), lens_dtype_name(r->dtype));
    const lens_tensor *ins[2] = {y, r};
    int32_t nd;
    int64_t dims[LENS_MAX_DIMS];
    LENS_TRY(lens_eltw_broadcast(2, ins, &nd, dims));
    if (!lens_shape_equal(nd, dims, y->ndim, y->dims)) {
        char a[96], b[96];
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "cannot add %s to %s in place",
                          lens_shape_str(r->ndim, r->dims, a, sizeof a),
                          lens_shape_str(y->ndim, y->dims, b, sizeof b));
    }
    bin_ctx c = {.k = lens_eltw_f32_best()};
    return lens_eltw_apply(ex, 2, ins, y, add_f32, &c, false);
}

#define BINARY_RUN(name, kern)                                                             \
    LENS_ELTW_RUN(name) {                                                                  \
        bin_ctx c = {0};                                                                   \
        return binary_run(node, ex, &kern, &c, false);                                     \
    }

BINARY_RUN(add, k_add)
BINARY_RUN(sub, k_sub)
BINARY_RUN(mul, k_mul)
BINARY_RUN(div, k_div)
BINARY_RUN(and, k_and)
BINARY_RUN(or, k_or)
BINARY_RUN(xor, k_xor)
BINARY_RUN(bitwise_and, k_bitwise_and)
BINARY_RUN(bitwise_or, k_bitwise_or)
BINARY_RUN(bitwise_xor, k_bitwise_xor)
BINARY_RUN(equal, k_equal)
BINARY_RUN(greater, k_greater)
BINARY_RUN(greater_equal, k_greater_equal)
BINARY_RUN(less, k_less)
BINARY_RUN(less_equal, k_less_equal)

/* Mod-10. */
LENS_ELTW_RUN(mod) {
    bin_ctx c = {0};
    c.iparam = lens_node_attr_int(node, "fmod", 0);
    if (c.iparam != 0 && c.iparam != 1)
        return lens_error(LENS_STATUS_INVALID_MODEL, "fmod must be 0 or 1, got %lld",
                          (long long)c.iparam);
    return binary_run(node, ex, &k_mod, &c, false);
}

/* BitShift-11. */
LENS_ELTW_RUN(bitshift) {
    bin_ctx c = {0};
    const char *dir = lens_node_attr_string(node, "direction", NULL);
    if (!dir || (strcmp(dir, "LEFT") && strcmp(dir, "RIGHT")))
        return lens_error(LENS_STATUS_INVALID_MODEL, "direction must be LEFT or RIGHT");
    c.iparam = !strcmp(dir, "LEFT");
    return binary_run(node, ex, &k_bitshift, &c, false);
}

/* PRelu-1/6 predate numpy broadcasting: the slope holds one value shared by
 * every element or, as in Caffe2 and PyTorch's exporter of that era
 * (nn.PReLU(num_parameters=C) exports a [C] slope at opset 6), one value per
 * channel of axis 1. View a [C] slope as [C, 1, ..., 1] so that it lines up
 * with X's axis 1; any other slope must broadcast to X unidirectionally, as
 * from version 7 (a compatible extension: such models fail in the older
 * runtimes instead of meaning something else). */
static void prelu_legacy_slope(const lens_tensor *x, const lens_tensor *s, lens_tensor *view) {
    *view = *s;
    if (lens_tensor_numel(s) == 1) {
        view->ndim = 0;
    } else if (s->ndim == 1 && x->ndim >= 2 && s->dims[0] == x->dims[1]) {
        view->ndim = x->ndim - 1;
        for (int32_t d = 1; d < view->ndim; d++) view->dims[d] = 1;
    }
}

/* PRelu-7/9/16: slope broadcasts unidirectionally to X, so the output has
 * X's shape. Versions 1/6: see prelu_legacy_slope. */
LENS_ELTW_RUN(prelu) {
    const lens_tensor *x = lens_exec_input(ex, 0), *s = lens_exec_input(ex, 1);
    if (!x || !s) return lens_error(LENS_STATUS_INVALID_MODEL, "needs X and slope");
    if (x->dtype != s->dtype)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "X is %s but slope is %s",
                          lens_dtype_name(x->dtype), lens_dtype_name(s->dtype));
    lens_eltw_row_fn fn = kern_fn(&k_prelu, x->dtype);
    if (!fn) return unsupported_dtype(node, x->dtype);
    lens_tensor sview;
    if (node->opset < 7) {
        prelu_legacy_slope(x, s, &sview);
        s = &sview;
    }
    const lens_tensor *ins[2] = {x, s};
    int32_t nd;
    int64_t dims[LENS_MAX_DIMS];
    LENS_TRY(lens_eltw_broadcast(2, ins, &nd, dims));
    if (!lens_shape_equal(nd, dims, x->ndim, x->dims)) {
        char sx[128], ss[128];
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "slope %s does not broadcast to X %s",
                          lens_shape_str(s->ndim, s->dims, ss, sizeof ss),
                          lens_shape_str(x->ndim, x->dims, sx, sizeof sx));
    }
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, x->ndim, x->dims, &y));
    bin_ctx c = {0};
    c.k = lens_eltw_f32_best();
    return lens_eltw_apply(ex, 2, ins, y, fn, &c, true);
}

/* Pow-1/7 (same float types), Pow-12+ (base and exponent types differ). */
LENS_ELTW_RUN(pow) {
    const lens_tensor *a = lens_exec_input(ex, 0), *b = lens_exec_input(ex, 1);
    if (!a || !b) return lens_error(LENS_STATUS_INVALID_MODEL, "needs two inputs");
    bool base_ok = lens_eltw_is_float(a->dtype) || a->dtype == LENS_DTYPE_INT32 ||
                   a->dtype == LENS_DTYPE_INT64;
    bool exp_ok = lens_eltw_is_float(b->dtype) || lens_eltw_is_int(b->dtype);
    if (!base_ok) return unsupported_dtype(node, a->dtype);
    if (!exp_ok) return unsupported_dtype(node, b->dtype);
    if (a->dtype != b->dtype && node->opset < 12)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                          "base %s and exponent %s differ (allowed from opset 12)",
                          lens_dtype_name(a->dtype), lens_dtype_name(b->dtype));
    bin_kern k = {{0}, false};
    lens_dtype ca = compute_dtype(a->dtype), cb = compute_dtype(b->dtype);
    if (ca == LENS_DTYPE_FLOAT && cb == LENS_DTYPE_FLOAT) {
        /* x^2 (LayerNorm's variance in exported graphs) is a multiply. */
        k.fn[ca] = pow_f32;
        if (b->dtype == LENS_DTYPE_FLOAT && lens_tensor_numel(b) == 1 &&
            ((const float *)b->data)[0] == 2.0f)
            k.fn[ca] = powsq_f32;
    } else if (ca == LENS_DTYPE_DOUBLE && cb == LENS_DTYPE_DOUBLE) {
        k.fn[ca] = pow_f64;
    } else {
        k.fn[ca] = pow_mixed;
    }
    bin_ctx c = {0};
    c.adt = ca;
    c.bdt = cb;
    return binary_run(node, ex, &k, &c, true);
}

/* ---- Sum / Mean / Max / Min (1..N inputs; broadcasting from opset 8) ---- */

static lens_status variadic_run(const lens_node *node, lens_exec *ex, const bin_kern *bk,
                                bool mean) {
    int32_t n = lens_exec_n_inputs(ex);
    if (n < 1) return lens_error(LENS_STATUS_INVALID_MODEL, "needs at least one input");
    const lens_tensor *first = lens_exec_input(ex, 0);
    if (!first) return lens_error(LENS_STATUS_INVALID_MODEL, "input 0 is missing");
    lens_dtype dt = first->dtype;
    if (!kern_fn(bk, dt) || (mean && !lens_eltw_is_float(dt))) return unsupported_dtype(node, dt);
    int32_t nd = first->ndim;
    int64_t dims[LENS_MAX_DIMS];
    memcpy(dims, first->dims, sizeof(int64_t) * (size_t)nd);
    for (int32_t i = 1; i < n; i++) {
        const lens_tensor *t = lens_exec_input(ex, i);
        if (!t) return lens_error(LENS_STATUS_INVALID_MODEL, "input %d is missing", i);
        if (t->dtype != dt)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "input %d is %s, input 0 is %s", i,
                              lens_dtype_name(t->dtype), lens_dtype_name(dt));
        int64_t next[LENS_MAX_DIMS];
        int32_t nn;
        LENS_TRY(lens_broadcast_shape(nd, dims, t->ndim, t->dims, &nn, next));
        nd = nn;
        memcpy(dims, next, sizeof(int64_t) * (size_t)nd);
    }
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, dt, nd, dims, &y));
    int64_t numel = lens_tensor_numel(y);
    if (n == 1) {
        memcpy(y->data, first->data, (size_t)numel * lens_dtype_size(dt));
        return LENS_OK;
    }
    bin_ctx c = {0};
    c.k = lens_eltw_f32_best();
    lens_eltw_row_fn fn = kern_fn(bk, dt);
    const lens_tensor *ins[2] = {first, lens_exec_input(ex, 1)};
    LENS_TRY(lens_eltw_apply(ex, 2, ins, y, fn, &c, true));
    /* Accumulate the rest in place: the output is its own first operand. */
    for (int32_t i = 2; i < n; i++) {
        ins[0] = y;
        ins[1] = lens_exec_input(ex, i);
        LENS_TRY(lens_eltw_apply(ex, 2, ins, y, fn, &c, true));
    }
    if (mean) {
        double inv = 1.0 / n;
        if (dt == LENS_DTYPE_FLOAT) {
            float *p = y->data;
            for (int64_t i = 0; i < numel; i++) p[i] = p[i] / (float)n;
        } else {
            for (int64_t i = 0; i < numel; i++)
                lens_tensor_set_f64(y, i, dt == LENS_DTYPE_DOUBLE ? lens_tensor_get_f64(y, i) / n
                                                                  : lens_tensor_get_f64(y, i) * inv);
        }
    }
    return LENS_OK;
}

LENS_ELTW_RUN(sum) { return variadic_run(node, ex, &k_add, false); }
LENS_ELTW_RUN(mean) { return variadic_run(node, ex, &k_add, true); }
LENS_ELTW_RUN(max) { return variadic_run(node, ex, &k_max, false); }
LENS_ELTW_RUN(min) { return variadic_run(node, ex, &k_min, false); }

/* ---- Where-9/16 ----------------------------------------------------------- */

#define DEF_WHERE(T)                                                                       \
    static void where_##T(ROW_ARGS) {                                                      \
        const uint8_t *cnd = (const uint8_t *)in[0];                                       \
        const T *x = (const T *)in[1], *z = (const T *)in[2];                              \
        T *y = (T *)out;                                                                   \
        int64_t sc = inc[0], sx = inc[1], sz = inc[2];                                     \
        for (int64_t i = 0; i < n; i++) y[i] = cnd[i * sc] ? x[i * sx] : z[i * sz];        \
    }
DEF_WHERE(uint8_t)
DEF_WHERE(uint16_t)
DEF_WHERE(uint32_t)
DEF_WHERE(uint64_t)

LENS_ELTW_RUN(where) {
    const lens_tensor *cnd = lens_exec_input(ex, 0), *x = lens_exec_input(ex, 1),
                      *z = lens_exec_input(ex, 2);
    if (!cnd || !x || !z) return lens_error(LENS_STATUS_INVALID_MODEL, "needs three inputs");
    if (cnd->dtype != LENS_DTYPE_BOOL)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "condition must be bool, got %s",
                          lens_dtype_name(cnd->dtype));
    if (x->dtype != z->dtype)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "X is %s but Y is %s",
                          lens_dtype_name(x->dtype), lens_dtype_name(z->dtype));
    lens_eltw_row_fn fn;
    switch (lens_dtype_size(x->dtype)) {
    case 1: fn = where_uint8_t; break;
    case 2: fn = where_uint16_t; break;
    case 4: fn = where_uint32_t; break;
    case 8: fn = where_uint64_t; break;
    default: return unsupported_dtype(node, x->dtype);
    }
    const lens_tensor *ins[3] = {cnd, x, z};
    int32_t nd;
    int64_t dims[LENS_MAX_DIMS];
    LENS_TRY(lens_eltw_broadcast(3, ins, &nd, dims));
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, nd, dims, &y));
    /* A pure selection: bytes are copied, so no float16 widening. */
    return lens_eltw_apply(ex, 3, ins, y, fn, NULL, false);
}
