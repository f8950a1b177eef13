/* The elementwise operator family: unary math and activations here, the
 * table of every elementwise operator at the end. Binary, variadic and
 * ternary operators live in eltwise_binary.c, Cast/CastLike/Clip in
 * eltwise_cast.c, the broadcasting walker in eltwise_apply.c and the
 * vectorised float32 kernels in eltwise_f32*.c.
 *
 * float32 goes through the vectorised kernels where they exist and libm
 * otherwise; double through libm; float16/bfloat16 are widened to float32 in
 * blocks and rounded back to nearest even. */
#include <math.h>

#include "ops/eltwise_impl.h"

#define NDT 17 /* dtype codes 0..16 */

typedef struct un_params {
    const lens_eltw_f32 *k;
    float alpha, beta, gamma;
    int64_t i0, i1;
} un_params;

typedef struct un_kern {
    lens_eltw_row_fn fn[NDT]; /* by dtype; FLOAT also serves float16/bfloat16 */
    bool out_bool;
    /* Float attributes read into alpha/beta/gamma, with their defaults. */
    const char *attr[3];
    float def[3];
} un_kern;

#define ROW_ARGS const void *vctx, const char *const *in, const int64_t *inc, char *out, int64_t n

/* Unary inputs always have the output's shape, so rows are contiguous. */
#define DEF_ROW1(name, T, TO, expr)                                                        \
    static void name(ROW_ARGS) {                                                           \
        const un_params *p = vctx;                                                         \
        (void)p;                                                                           \
        const T *x = (const T *)in[0];                                                     \
        TO *y = (TO *)out;                                                                 \
        for (int64_t i = 0; i < n; i++) {                                                  \
            T v = x[i];                                                                    \
            y[i] = (TO)(expr);                                                             \
        }                                                                                  \
    }

/* float and double from two expressions. */
#define DEF_FD(op, fexpr, dexpr)                                                           \
    DEF_ROW1(op##_f32, float, float, fexpr)                                                \
    DEF_ROW1(op##_f64, double, double, dexpr)
#define TAB_FD(op) [LENS_DTYPE_FLOAT] = op##_f32, [LENS_DTYPE_DOUBLE] = op##_f64

/* float32 through a vectorised kernel (no parameters). */
#define DEF_F32V(op)                                                                       \
    static void op##_f32(ROW_ARGS) {                                                       \
        const un_params *p = vctx;                                                         \
        p->k->op((const float *)in[0], (float *)out, (size_t)n);                           \
    }

#define SINTS(X, op, e) X(op, i8, int8_t, INT8, e) X(op, i16, int16_t, INT16, e) \
    X(op, i32, int32_t, INT32, e) X(op, i64, int64_t, INT64, e)
#define UINTS(X, op, e) X(op, u8, uint8_t, UINT8, e) X(op, u16, uint16_t, UINT16, e) \
    X(op, u32, uint32_t, UINT32, e) X(op, u64, uint64_t, UINT64, e)
#define XDEF(op, s, T, DT, e) DEF_ROW1(op##_##s, T, T, e)
#define XTAB(op, s, T, DT, e) [LENS_DTYPE_##DT] = op##_##s,

/* ---- kernels -------------------------------------------------------------- */

/* Signed negation through uint64 so that INT_MIN wraps instead of being
 * undefined. */
#define NEG_WRAP(v) (0 - (uint64_t)(v))

DEF_FD(abs, fabsf(v), fabs(v))
SINTS(XDEF, abs, v < 0 ? NEG_WRAP(v) : (uint64_t)v) UINTS(XDEF, abs, v)
DEF_FD(neg, -v, -v)
SINTS(XDEF, neg, NEG_WRAP(v))
DEF_FD(floor, floorf(v), floor(v))
DEF_FD(ceil, ceilf(v), ceil(v))
/* Round-11: half to even, which is rint under the default rounding mode. */
DEF_FD(round, nearbyintf(v), nearbyint(v))
DEF_FD(sqrt, sqrtf(v), sqrt(v))
DEF_FD(reciprocal, 1.0f / v, 1.0 / v)
DEF_F32V(exp)
DEF_ROW1(exp_f64, double, double, exp(v))
DEF_FD(log, logf(v), log(v))
DEF_FD(sin, sinf(v), sin(v))
DEF_FD(cos, cosf(v), cos(v))
DEF_FD(tan, tanf(v), tan(v))
DEF_FD(asin, asinf(v), asin(v))
DEF_FD(acos, acosf(v), acos(v))
DEF_FD(atan, atanf(v), atan(v))
DEF_FD(sinh, sinhf(v), sinh(v))
DEF_FD(cosh, coshf(v), cosh(v))
DEF_F32V(tanh)
DEF_ROW1(tanh_f64, double, double, tanh(v))
DEF_FD(asinh, asinhf(v), asinh(v))
DEF_FD(acosh, acoshf(v), acosh(v))
DEF_FD(atanh, atanhf(v), atanh(v))
DEF_F32V(erf)
DEF_ROW1(erf_f64, double, double, erf(v))
/* Sign-9: NaN stays NaN (numpy.sign). */
DEF_FD(sign, v > 0 ? 1.0f : v < 0 ? -1.0f : v, v > 0 ? 1.0 : v < 0 ? -1.0 : v)
SINTS(XDEF, sign, (v > 0) - (v < 0)) UINTS(XDEF, sign, v != 0)
DEF_ROW1(not_b8, uint8_t, uint8_t, !v)
SINTS(XDEF, bnot, ~v) UINTS(XDEF, bnot, ~v)
DEF_ROW1(isnan_f32, float, uint8_t, v != v)
DEF_ROW1(isnan_f64, double, uint8_t, v != v)
/* IsInf-10: i0 = detect_negative, i1 = detect_positive. */
DEF_ROW1(isinf_f32, float, uint8_t, isinf(v) && (v > 0 ? p->i1 : p->i0))
DEF_ROW1(isinf_f64, double, uint8_t, isinf(v) && (v > 0 ? p->i1 : p->i0))

/* Activations. */
DEF_F32V(relu)
DEF_ROW1(relu_f64, double, double, v < 0 ? 0.0 : v)
SINTS(XDEF, relu, v < 0 ? 0 : v)
static void leakyrelu_f32(ROW_ARGS) {
    const un_params *p = vctx;
    p->k->leakyrelu((const float *)in[0], (float *)out, (size_t)n, p->alpha);
}
DEF_ROW1(leakyrelu_f64, double, double, v < 0 ? p->alpha * v : v)
DEF_FD(elu, v < 0 ? p->alpha * expm1f(v) : v, v < 0 ? p->alpha * expm1(v) : v)
DEF_FD(selu, v <= 0 ? p->gamma * p->alpha * expm1f(v) : p->gamma * v,
       v <= 0 ? (double)p->gamma * p->alpha * expm1(v) : (double)p->gamma * v)
/* Celu-12: max(0, x) + min(0, alpha * (exp(x / alpha) - 1)). */
DEF_FD(celu, v > 0 ? v : p->alpha * expm1f(v / p->alpha),
       v > 0 ? v : p->alpha * expm1(v / p->alpha))
DEF_F32V(sigmoid)
DEF_ROW1(sigmoid_f64, double, double, 1.0 / (1.0 + exp(-v)))
static void hardsigmoid_f32(ROW_ARGS) {
    const un_params *p = vctx;
    p->k->hardsigmoid((const float *)in[0], (float *)out, (size_t)n, p->alpha, p->beta);
}
DEF_ROW1(hardsigmoid_f64, double, double, fmax(0.0, fmin(1.0, p->alpha * v + p->beta)))
DEF_F32V(hardswish)
DEF_ROW1(hardswish_f64, double, double, v * fmax(0.0, fmin(1.0, v / 6.0 + 0.5)))
/* Softplus: log(1 + e^x), written so e^x cannot overflow. */
DEF_FD(softplus, v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v)),
       v > 0 ? v + log1p(exp(-v)) : log1p(exp(v)))
DEF_FD(softsign, v / (1.0f + fabsf(v)), v / (1.0 + fabs(v)))
DEF_FD(thresholdedrelu, v > p->alpha ? v : 0.0f, v > p->alpha ? v : 0.0)
/* Mish-18: x * tanh(softplus(x)). */
DEF_FD(mish, v * tanhf(v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v))),
       v * tanh(v > 0 ? v + log1p(exp(-v)) : log1p(exp(v))))
/* Shrink-9 (all numeric types; integers computed in double): alpha = lambd,
 * beta = bias. */
#define SHRINK(v) ((double)(v) < -p->alpha   ? (double)(v) + p->beta                      \
                   : (double)(v) > p->alpha ? (double)(v) - p->beta                        \
                                            : 0.0)
DEF_FD(shrink, (float)SHRINK(v), SHRINK(v))
SINTS(XDEF, shrink, SHRINK(v)) UINTS(XDEF, shrink, SHRINK(v))

/* ---- descriptors ----------------------------------------------------------- */

#define FD_ONLY(op) {{TAB_FD(op)}, false, {NULL, NULL, NULL}, {0, 0, 0}}
static const un_kern k_abs = {{TAB_FD(abs), SINTS(XTAB, abs, 0) UINTS(XTAB, abs, 0)}, false,
                              {NULL, NULL, NULL}, {0, 0, 0}};
static const un_kern k_neg = {{TAB_FD(neg), SINTS(XTAB, neg, 0)}, false, {NULL, NULL, NULL},
                              {0, 0, 0}};
static const un_kern k_floor = FD_ONLY(floor), k_ceil = FD_ONLY(ceil), k_round = FD_ONLY(round),
                     k_sqrt = FD_ONLY(sqrt), k_reciprocal = FD_ONLY(reciprocal),
                     k_exp = FD_ONLY(exp), k_log = FD_ONLY(log), k_sin = FD_ONLY(sin),
                     k_cos = FD_ONLY(cos), k_tan = FD_ONLY(tan), k_asin = FD_ONLY(asin),
                     k_acos = FD_ONLY(acos), k_atan = FD_ONLY(atan), k_sinh = FD_ONLY(sinh),
                     k_cosh = FD_ONLY(cosh), k_tanh = FD_ONLY(tanh), k_asinh = FD_ONLY(asinh),
                     k_acosh = FD_ONLY(acosh), k_atanh = FD_ONLY(atanh), k_erf = FD_ONLY(erf),
                     k_sigmoid = FD_ONLY(sigmoid), k_hardswish = FD_ONLY(hardswish),
                     k_softplus = FD_ONLY(softplus), k_softsign = FD_ONLY(softsign),
                     k_mish = FD_ONLY(mish);
static const un_kern k_sign = {{TAB_FD(sign), SINTS(XTAB, sign, 0) UINTS(XTAB, sign, 0)}, false,
                               {NULL, NULL, NULL}, {0, 0, 0}};
static const un_kern k_not = {{[LENS_DTYPE_BOOL] = not_b8}, false, {NULL, NULL, NULL}, {0, 0, 0}};
static const un_kern k_bitwise_not = {{SINTS(XTAB, bnot, 0) UINTS(XTAB, bnot, 0)}, false,
                                      {NULL, NULL, NULL}, {0, 0, 0}};
static const un_kern k_isnan = {{TAB_FD(isnan)}, true, {NULL, NULL, NULL}, {0, 0, 0}};
static const un_kern k_isinf = {{TAB_FD(isinf)}, true, {NULL, NULL, NULL}, {0, 0, 0}};
static const un_kern k_relu = {{TAB_FD(relu), SINTS(XTAB, relu, 0)}, false, {NULL, NULL, NULL},
                               {0, 0, 0}};
static const un_kern k_leakyrelu = {{TAB_FD(leakyrelu)}, false, {"alpha", NULL, NULL},
                                    {0.01f, 0, 0}};
static const un_kern k_elu = {{TAB_FD(elu)}, false, {"alpha", NULL, NULL}, {1.0f, 0, 0}};
static const un_kern k_selu = {{TAB_FD(selu)}, false, {"alpha", NULL, "gamma"},
                               {1.67326319217681884765625f, 0, 1.05070102214813232421875f}};
static const un_kern k_celu = {{TAB_FD(celu)}, false, {"alpha", NULL, NULL}, {1.0f, 0, 0}};
static const un_kern k_hardsigmoid = {{TAB_FD(hardsigmoid)}, false, {"alpha", "beta", NULL},
                                      {0.2f, 0.5f, 0}};
static const un_kern k_thresholdedrelu = {{TAB_FD(thresholdedrelu)}, false, {"alpha", NULL, NULL},
                                          {1.0f, 0, 0}};
static const un_kern k_shrink = {{TAB_FD(shrink), SINTS(XTAB, shrink, 0) UINTS(XTAB, shrink, 0)},
                                 false, {"lambd", "bias", NULL}, {0.5f, 0.0f, 0}};

/* ---- driver ----------------------------------------------------------------- */

static lens_status unary_run(const lens_node *node, lens_exec *ex, const un_kern *uk,
                             un_params *p) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "input 0 is missing");
    lens_dtype c = lens_eltw_is_half(x->dtype) ? LENS_DTYPE_FLOAT : x->dtype;
    lens_eltw_row_fn fn = (unsigned)c < NDT ? uk->fn[c] : NULL;
    if (!fn)
        return lens_error(LENS_STATUS_UNSUPPORTED, "%s does not support input type %s",
                          node->op_type, lens_dtype_name(x->dtype));
    for (int32_t i = 0; i < 3; i++) {
        if (!uk->attr[i]) continue;
        float v = lens_node_attr_float(node, uk->attr[i], uk->def[i]);
        if (i == 0) p->alpha = v;
        else if (i == 1) p->beta = v;
        else p->gamma = v;
    }
    p->k = lens_eltw_f32_best();
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, uk->out_bool ? LENS_DTYPE_BOOL : x->dtype, x->ndim, x->dims,
                              &y));
    return lens_eltw_apply(ex, 1, &x, y, fn, p, true);
}

#define UNARY(name)                                                                        \
    static lens_status run_##name(const lens_node *node, lens_exec *ex) {                  \
        un_params p = {0};                                                                 \
        return unary_run(node, ex, &k_##name, &p);                                         \
    }
UNARY(abs) UNARY(neg) UNARY(floor) UNARY(ceil) UNARY(round) UNARY(sqrt) UNARY(reciprocal)
UNARY(exp) UNARY(log) UNARY(sin) UNARY(cos) UNARY(tan) UNARY(asin) UNARY(acos) UNARY(atan)
UNARY(sinh) UNARY(cosh) UNARY(tanh) UNARY(asinh) UNARY(acosh) UNARY(atanh) UNARY(erf)
UNARY(sign) UNARY(not) UNARY(bitwise_not) UNARY(isnan) UNARY(relu) UNARY(leakyrelu) UNARY(elu)
UNARY(selu) UNARY(celu) UNARY(sigmoid) UNARY(hardsigmoid) UNARY(hardswish) UNARY(softplus)
UNARY(softsign) UNARY(thresholdedrelu) UNARY(mish) UNARY(shrink)

/* IsInf-10. */
static lens_status run_isinf(const lens_node *node, lens_exec *ex) {
    un_params p = {0};
    p.i0 = lens_node_attr_int(node, "detect_negative", 1);
    p.i1 = lens_node_attr_int(node, "detect_positive", 1);
    return unary_run(node, ex, &k_isinf, &p);
}

/* Identity-like ops are not here (see the shape family). The legacy
 * opset-1 attribute consumed_inputs is ignored wherever it appears. */
#define OP(name, since, fn) {"", name, since, 0, 0, NULL, fn, NULL}
#define BIN(name, since, fn) {"", name, since, 0, 0, NULL, lens_eltw_run_##fn, NULL}

static const lens_op ops[] = {
    /* Unary math. Versions where only the type list grew share one entry. */
    OP("Abs", 1, run_abs), OP("Neg", 1, run_neg), OP("Floor", 1, run_floor),
    OP("Ceil", 1, run_ceil), OP("Round", 11, run_round), OP("Sqrt", 1, run_sqrt),
    OP("Reciprocal", 1, run_reciprocal), OP("Exp", 1, run_exp), OP("Log", 1, run_log),
    OP("Sin", 7, run_sin), OP("Cos", 7, run_cos), OP("Tan", 7, run_tan), OP("Asin", 7, run_asin),
    OP("Acos", 7, run_acos), OP("Atan", 7, run_atan), OP("Sinh", 9, run_sinh),
    OP("Cosh", 9, run_cosh), OP("Tanh", 1, run_tanh), OP("Asinh", 9, run_asinh),
    OP("Acosh", 9, run_acosh), OP("Atanh", 9, run_atanh), OP("Erf", 9, run_erf),
    OP("Sign", 9, run_sign), OP("Not", 1, run_not), OP("BitwiseNot", 18, run_bitwise_not),
    OP("IsNaN", 9, run_isnan), OP("IsInf", 10, run_isinf),
    /* Activations. */
    OP("Relu", 1, run_relu), OP("LeakyRelu", 1, run_leakyrelu), OP("Elu", 1, run_elu),
    OP("Selu", 1, run_selu), OP("Celu", 12, run_celu), OP("Sigmoid", 1, run_sigmoid),
    OP("HardSigmoid", 1, run_hardsigmoid), OP("HardSwish", 14, run_hardswish),
    OP("Softplus", 1, run_softplus), OP("Softsign", 1, run_softsign),
    OP("ThresholdedRelu", 10, run_thresholdedrelu), OP("Mish", 18, run_mish),
    OP("Shrink", 9, run_shrink),
    /* Binary arithmetic: opset 1/6 broadcast with the `broadcast`/`axis`
     * attributes, opset 7 numpy broadcasting. */
    BIN("Add", 1, add), BIN("Add", 7, add), BIN("Sub", 1, sub), BIN("Sub", 7, sub),
    BIN("Mul", 1, mul), BIN("Mul", 7, mul), BIN("Div", 1, div), BIN("Div", 7, div),
    BIN("Pow", 1, pow), BIN("Pow", 7, pow), BIN("Pow", 12, pow), BIN("Mod", 10, mod),
    BIN("BitShift", 11, bitshift), BIN("PRelu", 1, prelu), BIN("PRelu", 7, prelu),
    /* Logical, bitwise and comparisons. */
    BIN("And", 1, and), BIN("And", 7, and), BIN("Or", 1, or), BIN("Or", 7, or),
    BIN("Xor", 1, xor), BIN("Xor", 7, xor), BIN("BitwiseAnd", 18, bitwise_and),
    BIN("BitwiseOr", 18, bitwise_or), BIN("BitwiseXor", 18, bitwise_xor),
    BIN("Equal", 1, equal), BIN("Equal", 7, equal), BIN("Greater", 1, greater),
    BIN("Greater", 7, greater), BIN("Less", 1, less), BIN("Less", 7, less),
    BIN("GreaterOrEqual", 12, greater_equal), BIN("LessOrEqual", 12, less_equal),
    /* Variadic: opset 8 added broadcasting (accepted at every version). */
    BIN("Sum", 1, sum), BIN("Sum", 8, sum), BIN("Mean", 1, mean), BIN("Mean", 8, mean),
    BIN("Max", 1, max), BIN("Max", 8, max), BIN("Min", 1, min), BIN("Min", 8, min),
    BIN("Where", 9, where),
    /* Conversions and clipping. */
    BIN("Cast", 1, cast), BIN("Cast", 6, cast), BIN("CastLike", 15, castlike),
    BIN("Clip", 1, clip_1), BIN("Clip", 6, clip_1), BIN("Clip", 11, clip_11),
};
LENS_OP_TABLE(elementwise, ops);
