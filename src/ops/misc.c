/* Miscellaneous operators and the family table: QuantizeLinear and
 * DequantizeLinear (opset 10/13), Det (11) here; Einsum, the random
 * generators and GridSample in misc_*.c. */
#include <math.h>

#include "ops/misc.h"

/* ---- QuantizeLinear / DequantizeLinear ------------------------------------------ */

/* Scale/zero-point layout: per tensor (one element) or, from opset 13, per
 * axis (a 1-D tensor as long as the input's `axis` dimension). Sets *inner
 * and *dim so that element i uses parameter (i / inner) % dim. */
static lens_status quant_layout(const lens_node *node, const lens_tensor *x,
                                const lens_tensor *scale, const lens_tensor *zp, int64_t *inner,
                                int64_t *dim) {
    int64_t ns = lens_tensor_numel(scale);
    *inner = 1;
    *dim = 1;
    if (scale->ndim == 0 || (ns == 1 && scale->ndim <= 1)) {
        if (ns != 1) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "scale must hold one element");
    } else {
        if (node->opset < 13 || scale->ndim != 1)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                              "scale must be a scalar%s", node->opset < 13 ? "" : " or 1-D");
        int32_t axis;
        LENS_TRY(lens_normalize_axis(lens_node_attr_int(node, "axis", 1), x->ndim, "axis", &axis));
        if (x->dims[axis] != ns)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                              "per-axis scale has %lld entries, axis %d has %lld", (long long)ns,
                              axis, (long long)x->dims[axis]);
        for (int32_t d = axis + 1; d < x->ndim; d++) *inner *= x->dims[d];
        *dim = ns;
    }
    if (zp && lens_tensor_numel(zp) != ns)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "zero point and scale differ in size");
    if (scale->dtype != LENS_DTYPE_FLOAT)
        return lens_error(LENS_STATUS_UNSUPPORTED, "scale must be float, got %s",
                          lens_dtype_name(scale->dtype));
    return LENS_OK;
}

static lens_status quantize_run(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0), *scale = lens_exec_input(ex, 1);
    const lens_tensor *zp = lens_exec_input(ex, 2);
    if (!x || !scale) return lens_error(LENS_STATUS_INVALID_MODEL, "QuantizeLinear needs x and y_scale");
    if (x->dtype != LENS_DTYPE_FLOAT && x->dtype != LENS_DTYPE_INT32)
        return lens_error(LENS_STATUS_UNSUPPORTED, "QuantizeLinear input %s", lens_dtype_name(x->dtype));
    lens_dtype odt = zp ? zp->dtype : LENS_DTYPE_UINT8;
    if (odt != LENS_DTYPE_UINT8 && odt != LENS_DTYPE_INT8)
        return lens_error(LENS_STATUS_UNSUPPORTED, "QuantizeLinear output %s (uint8 or int8)",
                          lens_dtype_name(odt));
    int64_t inner, dim;
    LENS_TRY(quant_layout(node, x, scale, zp, &inner, &dim));
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, odt, x->ndim, x->dims, &y));
    const float *s = scale->data;
    float lo = odt == LENS_DTYPE_UINT8 ? 0.0f : -128.0f, hi = odt == LENS_DTYPE_UINT8 ? 255.0f : 127.0f;
    int64_t n = lens_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) {
        int64_t a = (i / inner) % dim;
        float xv = x->dtype == LENS_DTYPE_FLOAT ? ((const float *)x->data)[i]
                                                : (float)((const int32_t *)x->data)[i];
        /* ONNX: saturate(round_half_to_even(x / y_scale) + y_zero_point) */
        float q = nearbyintf(xv / s[a]) + (zp ? (float)lens_tensor_get_i64(zp, a) : 0.0f);
        if (isnan(q)) q = zp ? (float)lens_tensor_get_i64(zp, a) : 0.0f;
        q = q < lo ? lo : q > hi ? hi : q;
        if (odt == LENS_DTYPE_UINT8) ((uint8_t *)y->data)[i] = (uint8_t)q;
        else ((int8_t *)y->data)[i] = (int8_t)q;
    }
    return LENS_OK;
}

static lens_status dequantize_run(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0), *scale = lens_exec_input(ex, 1);
    const lens_tensor *zp = lens_exec_input(ex, 2);
    if (!x || !scale)
        return lens_error(LENS_STATUS_INVALID_MODEL, "DequantizeLinear needs x and x_scale");
    if (x->dtype != LENS_DTYPE_UINT8 && x->dtype != LENS_DTYPE_INT8 && x->dtype != LENS_DTYPE_INT32)
        return lens_error(LENS_STATUS_UNSUPPORTED, "DequantizeLinear input %s",
                          lens_dtype_name(x->dtype));
    if (zp && zp->dtype != x->dtype)
        return lens_error(LENS_STATUS_INVALID_MODEL, "x_zero_point type %s differs from x (%s)",
                          lens_dtype_name(zp->dtype), lens_dtype_name(x->dtype));
    int64_t inner, dim;
    LENS_TRY(quant_layout(node, x, scale, zp, &inner, &dim));
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, LENS_DTYPE_FLOAT, x->ndim, x->dims, &y));
    const float *s = scale->data;
    float *o = y->data;
    int64_t n = lens_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) {
        int64_t a = (i / inner) % dim;
        int64_t z = zp ? lens_tensor_get_i64(zp, a) : 0;
        o[i] = (float)(lens_tensor_get_i64(x, i) - z) * s[a];
    }
    return LENS_OK;
}

/* ---- Det ---------------------------------------------------------------------- */

/* Det-11: determinant of each [M, M] matrix of the trailing two dims, by LU
 * decomposition with partial pivoting in double. */
static lens_status det_run(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "Det needs an input");
    if (x->dtype != LENS_DTYPE_FLOAT && x->dtype != LENS_DTYPE_DOUBLE &&
        x->dtype != LENS_DTYPE_FLOAT16)
        return lens_error(LENS_STATUS_UNSUPPORTED, "Det on %s", lens_dtype_name(x->dtype));
    if (x->ndim < 2 || x->dims[x->ndim - 1] != x->dims[x->ndim - 2])
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Det needs [..., M, M]");
    int64_t m = x->dims[x->ndim - 1];
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, x->ndim - 2, x->dims, &y));
    int64_t batch = lens_tensor_numel(y);
    size_t bytes;
    if (lens_mul_ovf_size((size_t)m * (size_t)m, sizeof(double), &bytes))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "Det matrix too large");
    double *a = lens_exec_scratch(ex, bytes ? bytes : 8);
    if (!a) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "Det work memory");
    for (int64_t b = 0; b < batch; b++) {
        for (int64_t i = 0; i < m * m; i++) a[i] = lens_tensor_get_f64(x, b * m * m + i);
        double det = 1.0;
        for (int64_t c = 0; c < m && det != 0.0; c++) {
            int64_t piv = c;
            for (int64_t r = c + 1; r < m; r++)
                if (fabs(a[r * m + c]) > fabs(a[piv * m + c])) piv = r;
            if (a[piv * m + c] == 0.0) {
                det = 0.0;
                break;
            }
            if (piv != c) {
                for (int64_t k = 0; k < m; k++) {
                    double t = a[c * m + k];
                    a[c * m + k] = a[piv * m + k];
                    a[piv * m + k] = t;
                }
                det = -det;
            }
            double d = a[c * m + c];
            det *= d;
            for (int64_t r = c + 1; r < m; r++) {
                double f = a[r * m + c] / d;
                if (f == 0.0) continue;
                for (int64_t k = c + 1; k < m; k++) a[r * m + k] -= f * a[c * m + k];
            }
        }
        lens_tensor_set_f64(y, b, det);
    }
    return LENS_OK;
}

#define RND LENS_OPF_NONDETERMINISTIC
static const lens_op ops[] = {
    {"", "Einsum", 12, 0, 0, NULL, lens_op_einsum_run, NULL},
    {"", "QuantizeLinear", 10, 0, 0, NULL, quantize_run, NULL},
    {"", "QuantizeLinear", 13, 0, 0, NULL, quantize_run, NULL},
    {"", "DequantizeLinear", 10, 0, 0, NULL, dequantize_run, NULL},
    {"", "DequantizeLinear", 13, 0, 0, NULL, dequantize_run, NULL},
    {"", "Det", 11, 0, 0, NULL, det_run, NULL},
    {"", "GridSample", 16, 0, 0, NULL, lens_op_gridsample_run, NULL},
    {"", "RandomUniform", 1, 0, RND, NULL, lens_op_random_uniform_run, NULL},
    {"", "RandomNormal", 1, 0, RND, NULL, lens_op_random_normal_run, NULL},
    {"", "RandomUniformLike", 1, 0, RND, NULL, lens_op_random_uniform_like_run, NULL},
    {"", "RandomNormalLike", 1, 0, RND, NULL, lens_op_random_normal_like_run, NULL},
    {"", "Bernoulli", 15, 0, RND, NULL, lens_op_bernoulli_run, NULL},
};
LENS_OP_TABLE(misc, ops);
