/* Cast, CastLike and Clip. */
#include <float.h>
#include <math.h>

#include "ops/eltwise_impl.h"

/* ---- Cast-1/6/9/13, CastLike-15 ------------------------------------------ */

/* Cast-1 names the target type with a string. */
static bool dtype_from_name(const char *s, lens_dtype *out) {
    static const struct { const char *name; lens_dtype dt; } names[] = {
        {"FLOAT", LENS_DTYPE_FLOAT},     {"UINT8", LENS_DTYPE_UINT8},
        {"INT8", LENS_DTYPE_INT8},       {"UINT16", LENS_DTYPE_UINT16},
        {"INT16", LENS_DTYPE_INT16},     {"INT32", LENS_DTYPE_INT32},
        {"INT64", LENS_DTYPE_INT64},     {"STRING", LENS_DTYPE_STRING},
        {"BOOL", LENS_DTYPE_BOOL},       {"FLOAT16", LENS_DTYPE_FLOAT16},
        {"DOUBLE", LENS_DTYPE_DOUBLE},   {"UINT32", LENS_DTYPE_UINT32},
        {"UINT64", LENS_DTYPE_UINT64},   {"BFLOAT16", LENS_DTYPE_BFLOAT16},
    };
    for (size_t i = 0; i < LENS_ARRAY_LEN(names); i++)
        if (!strcmp(s, names[i].name)) {
            *out = names[i].dt;
            return true;
        }
    return false;
}

/* Exact double -> float16, round to nearest even. Going through float would
 * round twice; instead take the float route's answer and move to whichever
 * neighbour is nearer to the double (ties to the even code). */
static uint16_t f64_to_f16(double d) {
    uint16_t h = lens_f32_to_f16((float)d);
    if (!isfinite(d) || (h & 0x7c00) == 0x7c00) return h;
    double best = lens_f16_to_f32(h);
    double err = fabs(best - d);
    for (int step = -1; step <= 1; step += 2) {
        uint16_t c = (uint16_t)(h + step);
        if ((c & 0x7fff) == 0x7c00 || ((c ^ h) & 0x8000)) continue; /* inf or sign flip */
        double e = fabs((double)lens_f16_to_f32(c) - d);
        if (e < err || (e == err && !(c & 1))) {
            err = e;
            h = c;
        }
    }
    return h;
}

typedef struct cast_job {
    const char *src;
    lens_dtype sdt, ddt;
    char *dst;
    lens_status status;
} cast_job;

static void cast_range(void *vctx, int64_t begin, int64_t end, int32_t thread) {
    cast_job *j = vctx;
    const char *s = j->src + (size_t)begin * lens_dtype_size(j->sdt);
    char *d = j->dst + (size_t)begin * lens_dtype_size(j->ddt);
    if (j->sdt == LENS_DTYPE_DOUBLE && j->ddt == LENS_DTYPE_FLOAT16) {
        for (int64_t i = 0; i < end - begin; i++)
            ((uint16_t *)d)[i] = f64_to_f16(((const double *)s)[i]);
        return;
    }
    /* lens_convert only fails on dtypes checked before the loop. */
    (void)lens_convert(s, j->sdt, d, j->ddt, end - begin);
}

static lens_status cast_to(const lens_node *node, lens_exec *ex, lens_dtype to) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "input 0 is missing");
    if (lens_dtype_size(x->dtype) == 0 || lens_dtype_size(to) == 0)
        return lens_error(LENS_STATUS_UNSUPPORTED, "%s from %s to %s is not supported",
                          node->op_type, lens_dtype_name(x->dtype), lens_dtype_name(to));
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, to, x->ndim, x->dims, &y));
    int64_t n = lens_tensor_numel(x);
    cast_job j = {x->data, x->dtype, to, y->data, LENS_OK};
    if (n < 65536)
        cast_range(&j, 0, n, 0);
    else
        lens_parallel_for(lens_exec_pool(ex), n, 16384, cast_range, &j);
    return LENS_OK;
}

/* Cast: float to integer truncates toward zero; NaN and out-of-range values
 * are clamped (ONNX leaves them undefined); float16/bfloat16 round to
 * nearest even. Strings are not supported. */
LENS_ELTW_RUN(cast) {
    const lens_attr *a = lens_node_attr(node, "to");
    if (!a) return lens_error(LENS_STATUS_INVALID_MODEL, "attribute 'to' is missing");
    lens_dtype to;
    if (a->type == LENS_ATTR_STRING) {
        if (!dtype_from_name(a->s, &to))
            return lens_error(LENS_STATUS_INVALID_MODEL, "unknown type '%s' in 'to'", a->s);
    } else {
        if (a->i <= 0 || a->i > LENS_DTYPE_BFLOAT16)
            return lens_error(LENS_STATUS_UNSUPPORTED, "Cast to type %lld is not supported",
                              (long long)a->i);
        to = (lens_dtype)a->i;
    }
    return cast_to(node, ex, to);
}

LENS_ELTW_RUN(castlike) {
    const lens_tensor *like = lens_exec_input(ex, 1);
    if (!like) return lens_error(LENS_STATUS_INVALID_MODEL, "target_type input is missing");
    return cast_to(node, ex, like->dtype);
}

/* ---- Clip ------------------------------------------------------------------ */

typedef struct clip_ctx {
    const lens_eltw_f32 *k;
    float flo, fhi;
    double dlo, dhi;
    int64_t ilo, ihi; /* the bounds' bits as the input type, through int64 */
    bool has_lo, has_hi;
} clip_ctx;

#define ROW_ARGS const void *vctx, const char *const *in, const int64_t *inc, char *out, int64_t n

static void clip_f32(ROW_ARGS) {
    const clip_ctx *c = vctx;
    c->k->clip((const float *)in[0], (float *)out, (size_t)n, c->flo, c->fhi);
}
static void clip_f64(ROW_ARGS) {
    const clip_ctx *c = vctx;
    const double *x = (const double *)in[0];
    double *y = (double *)out;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i] < c->dlo ? c->dlo : x[i];
        y[i] = v > c->dhi ? c->dhi : v;
    }
}
#define DEF_CLIP_INT(T)                                                                    \
    static void clip_##T(ROW_ARGS) {                                                       \
        const clip_ctx *c = vctx;                                                          \
        const T *x = (const T *)in[0];                                                     \
        T *y = (T *)out, lo = (T)c->ilo, hi = (T)c->ihi;                                   \
        for (int64_t i = 0; i < n; i++) {                                                  \
            T v = c->has_lo && x[i] < lo ? lo : x[i];                                      \
            y[i] = c->has_hi && v > hi ? hi : v;                                           \
        }                                                                                  \
    }
DEF_CLIP_INT(int8_t) DEF_CLIP_INT(int16_t) DEF_CLIP_INT(int32_t) DEF_CLIP_INT(int64_t)
DEF_CLIP_INT(uint8_t) DEF_CLIP_INT(uint16_t) DEF_CLIP_INT(uint32_t) DEF_CLIP_INT(uint64_t)

static lens_status clip_apply(const lens_node *node, lens_exec *ex, clip_ctx *c) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "input 0 is missing");
    lens_eltw_row_fn fn;
    switch (x->dtype) {
    case LENS_DTYPE_FLOAT: case LENS_DTYPE_FLOAT16: case LENS_DTYPE_BFLOAT16: fn = clip_f32; break;
    case LENS_DTYPE_DOUBLE: fn = clip_f64; break;
    case LENS_DTYPE_INT8: fn = clip_int8_t; break;
    case LENS_DTYPE_INT16: fn = clip_int16_t; break;
    case LENS_DTYPE_INT32: fn = clip_int32_t; break;
    case LENS_DTYPE_INT64: fn = clip_int64_t; break;
    case LENS_DTYPE_UINT8: fn = clip_uint8_t; break;
    case LENS_DTYPE_UINT16: fn = clip_uint16_t; break;
    case LENS_DTYPE_UINT32: fn = clip_uint32_t; break;
    case LENS_DTYPE_UINT64: fn = clip_uint64_t; break;
    default:
        return lens_error(LENS_STATUS_UNSUPPORTED, "Clip does not support input type %s",
                          lens_dtype_name(x->dtype));
    }
    c->k = lens_eltw_f32_best();
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, x->ndim, x->dims, &y));
    return lens_eltw_apply(ex, 1, &x, y, fn, c, true);
}

/* Clip-1/6: bounds are float attributes (defaults: the float range). */
LENS_ELTW_RUN(clip_1) {
    clip_ctx c = {0};
    c.flo = lens_node_attr_float(node, "min", -FLT_MAX);
    c.fhi = lens_node_attr_float(node, "max", FLT_MAX);
    c.dlo = c.flo;
    c.dhi = c.fhi;
    const lens_tensor *x = lens_exec_input(ex, 0);
    if (x && !lens_eltw_is_float(x->dtype))
        return lens_error(LENS_STATUS_UNSUPPORTED, "Clip-%lld needs a float input, got %s",
                          (long long)node->opset, lens_dtype_name(x->dtype));
    return clip_apply(node, ex, &c);
}

/* Clip-11/12/13: bounds are optional scalar inputs of the input's type; an
 * omitted bound does not clip. min > max gives max everywhere (Clip-13). */
LENS_ELTW_RUN(clip_11) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "input 0 is missing");
    clip_ctx c = {0};
    c.flo = -INFINITY;
    c.fhi = INFINITY;
    c.dlo = -INFINITY;
    c.dhi = INFINITY;
    for (int32_t i = 1; i <= 2; i++) {
        const lens_tensor *b = lens_exec_input(ex, i);
        if (!b) continue;
        const char *what = i == 1 ? "min" : "max";
        if (b->dtype != x->dtype)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s is %s but the input is %s", what,
                              lens_dtype_name(b->dtype), lens_dtype_name(x->dtype));
        if (lens_tensor_numel(b) != 1)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "%s must be a scalar, has %lld elements",
                              what, (long long)lens_tensor_numel(b));
        double d = lens_tensor_get_f64(b, 0);
        int64_t iv = lens_eltw_is_int(b->dtype) ? lens_tensor_get_i64(b, 0) : 0;
        if (i == 1) {
            c.has_lo = true;
            c.dlo = d;
            c.flo = (float)d;
            c.ilo = iv;
        } else {
            c.has_hi = true;
            c.dhi = d;
            c.fhi = (float)d;
            c.ihi = iv;
        }
    }
    return clip_apply(node, ex, &c);
}
