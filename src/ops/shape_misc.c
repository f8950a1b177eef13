/* Generators and per-axis scans: Range, Trilu, CumSum, ReverseSequence. */
#include "ops/shape_internal.h"

#include <math.h>

/* Range is bounded here before the runtime checks the output against the
 * configured limits, so that the count itself cannot overflow. */
#define RANGE_MAX_COUNT ((int64_t)1 << 40)

/* Range-11: n = max(ceil((limit - start) / delta), 0), element i is
 * start + i * delta. */
lens_status lens_run_range(const lens_node *node, lens_exec *ex) {
    const lens_tensor *ts = lens_exec_input(ex, 0), *tl = lens_exec_input(ex, 1),
                      *td = lens_exec_input(ex, 2);
    if (!ts || !tl || !td)
        return lens_error(LENS_STATUS_INVALID_MODEL, "Range needs start, limit and delta");
    lens_dtype dt = ts->dtype;
    if (tl->dtype != dt || td->dtype != dt)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Range inputs have different types");
    if (lens_tensor_numel(ts) != 1 || lens_tensor_numel(tl) != 1 || lens_tensor_numel(td) != 1)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Range inputs must be scalars");
    int64_t n;
    lens_tensor *y;
    if (lens_dtype_is_int(dt)) {
        int64_t s = lens_tensor_get_i64(ts, 0), l = lens_tensor_get_i64(tl, 0),
                d = lens_tensor_get_i64(td, 0);
        if (d == 0) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "Range input 'delta' is 0");
        __int128 diff = (__int128)l - s, q;
        q = d > 0 ? (diff + d - 1) / d : (diff + d + 1) / d; /* ceil for either sign */
        if (q < 0) q = 0;
        if (q > RANGE_MAX_COUNT)
            return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "Range of %lld..%lld step %lld is too long",
                              (long long)s, (long long)l, (long long)d);
        n = (int64_t)q;
        LENS_TRY(lens_exec_output(ex, 0, dt, 1, &n, &y));
        for (int64_t i = 0; i < n; i++) {
            int64_t v = (int64_t)((__int128)s + (__int128)i * d);
            switch (dt) {
            case LENS_DTYPE_INT64: ((int64_t *)y->data)[i] = v; break;
            case LENS_DTYPE_INT32: ((int32_t *)y->data)[i] = (int32_t)v; break;
            case LENS_DTYPE_INT16: ((int16_t *)y->data)[i] = (int16_t)v; break;
            case LENS_DTYPE_INT8: ((int8_t *)y->data)[i] = (int8_t)v; break;
            case LENS_DTYPE_UINT64: ((uint64_t *)y->data)[i] = (uint64_t)v; break;
            case LENS_DTYPE_UINT32: ((uint32_t *)y->data)[i] = (uint32_t)v; break;
            case LENS_DTYPE_UINT16: ((uint16_t *)y->data)[i] = (uint16_t)v; break;
            default: ((uint8_t *)y->data)[i] = (uint8_t)v; break;
            }
        }
        return LENS_OK;
    }
    if (dt != LENS_DTYPE_FLOAT && dt != LENS_DTYPE_DOUBLE && dt != LENS_DTYPE_FLOAT16 &&
        dt != LENS_DTYPE_BFLOAT16)
        return lens_error(LENS_STATUS_UNSUPPORTED, "Range of %s", lens_dtype_name(dt));
    double s = lens_tensor_get_f64(ts, 0), l = lens_tensor_get_f64(tl, 0),
           d = lens_tensor_get_f64(td, 0);
    if (d == 0 || !isfinite(s) || !isfinite(l) || !isfinite(d))
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "Range(%g, %g, %g) is not finite", s, l, d);
    double q = ceil((l - s) / d);
    if (!(q <= (double)RANGE_MAX_COUNT))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "Range(%g, %g, %g) is too long", s, l, d);
    n = q > 0 ? (int64_t)q : 0;
    LENS_TRY(lens_exec_output(ex, 0, dt, 1, &n, &y));
    if (dt == LENS_DTYPE_FLOAT) {
        /* In the element type, as the reference (numpy arange) does. */
        float fs = (float)s, fd = (float)d;
        for (int64_t i = 0; i < n; i++) ((float *)y->data)[i] = fs + (float)i * fd;
    } else {
        for (int64_t i = 0; i < n; i++) lens_tensor_set_f64(y, i, s + (double)i * d);
    }
    return LENS_OK;
}

/* Trilu-14: keep the upper (j - i >= k) or lower (j - i <= k) triangle of
 * each matrix in the last two axes, zero the rest. */
lens_status lens_run_trilu(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0), *tk = lens_exec_input(ex, 1);
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input 'input'");
    size_t es;
    LENS_TRY(lens_shape_esize(x, "Trilu input", &es));
    if (x->ndim < 2)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Trilu input must be at least 2-D, got %d",
                          (int)x->ndim);
    int64_t k = 0;
    if (tk) LENS_TRY(lens_read_int_scalar(tk, "Trilu input 'k'", &k));
    bool upper = lens_node_attr_int(node, "upper", 1) != 0;
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, x->ndim, x->dims, &y));
    int64_t rows = x->dims[x->ndim - 2], cols = x->dims[x->ndim - 1];
    int64_t numel = lens_tensor_numel(x);
    if (numel == 0) return LENS_OK;
    int64_t mats = numel / (rows * cols);
    /* Clamp k so that i + k cannot overflow; the result is the same. */
    int64_t lim = rows + cols;
    k = LENS_MIN(LENS_MAX(k, -lim), lim);
    const char *s = x->data;
    char *d = y->data;
    for (int64_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < rows; i++) {
            size_t off = (size_t)((m * rows + i) * cols) * es;
            /* keep columns [c0, c1) */
            int64_t c0 = upper ? LENS_MIN(LENS_MAX(i + k, (int64_t)0), cols) : 0;
            int64_t c1 = upper ? cols : LENS_MIN(LENS_MAX(i + k + 1, (int64_t)0), cols);
            if (c1 < c0) c1 = c0;
            memset(d + off, 0, (size_t)c0 * es);
            memcpy(d + off + (size_t)c0 * es, s + off + (size_t)c0 * es, (size_t)(c1 - c0) * es);
            memset(d + off + (size_t)c1 * es, 0, (size_t)(cols - c1) * es);
        }
    return LENS_OK;
}

/* CumSum-11 (14 adds float16/bfloat16): running sum along 'axis' (input
 * 1), optionally exclusive (shifted by one) and/or reversed. Computed row by
 * row: out[k] = out[k-1] + x[k] (inclusive) or x[k-1] (exclusive), in the
 * element type. Integer sums wrap (computed unsigned: no C overflow). */
#define CUMSUM_LOOP(type, acc_t, load, store)                                              \
    do {                                                                                   \
        const type *xs = x->data;                                                          \
        type *ys = y->data;                                                                \
        for (int64_t o = 0; o < outer; o++)                                                \
            for (int64_t step = 0; step < n; step++) {                                     \
                int64_t kk = reverse ? n - 1 - step : step;                                \
                int64_t prev = reverse ? kk + 1 : kk - 1;                                  \
                type *yr = ys + (o * n + kk) * inner;                                      \
                const type *src = exclusive ? (step ? xs + (o * n + prev) * inner : NULL)  \
                                            : xs + (o * n + kk) * inner;                   \
                const type *yp = step ? ys + (o * n + prev) * inner : NULL;                \
                for (int64_t j = 0; j < inner; j++) {                                      \
                    acc_t a = yp ? (acc_t)load(yp[j]) : (acc_t)0;                          \
                    if (src) a = (acc_t)(a + (acc_t)load(src[j]));                         \
                    yr[j] = store(a);                                                      \
                }                                                                          \
            }                                                                              \
    } while (0)
#define ID(v) (v)
#define AS_I32(v) ((int32_t)(v))
#define AS_I64(v) ((int64_t)(v))
#define AS_U32(v) ((uint32_t)(v))
#define AS_U64(v) ((uint64_t)(v))
#define AS_F16(v) lens_f32_to_f16(v)
#define AS_BF16(v) lens_f32_to_bf16(v)

lens_status lens_run_cumsum(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0), *ta = lens_exec_input(ex, 1);
    if (!x || !ta) return lens_error(LENS_STATUS_INVALID_MODEL, "CumSum needs x and axis");
    int64_t av;
    int32_t axis;
    LENS_TRY(lens_read_int_scalar(ta, "CumSum input 'axis'", &av));
    if (x->ndim == 0) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "CumSum of a scalar");
    LENS_TRY(lens_normalize_axis(av, x->ndim, "CumSum axis", &axis));
    bool exclusive = lens_node_attr_int(node, "exclusive", 0) != 0;
    bool reverse = lens_node_attr_int(node, "reverse", 0) != 0;
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, x->ndim, x->dims, &y));
    int64_t outer = 1, inner = 1, n = x->dims[axis];
    for (int32_t a = 0; a < axis; a++) outer *= x->dims[a];
    for (int32_t a = axis + 1; a < x->ndim; a++) inner *= x->dims[a];
    if (outer * inner * n == 0) return LENS_OK;
    switch (x->dtype) {
    case LENS_DTYPE_FLOAT: CUMSUM_LOOP(float, float, ID, ID); break;
    case LENS_DTYPE_DOUBLE: CUMSUM_LOOP(double, double, ID, ID); break;
    case LENS_DTYPE_INT32: CUMSUM_LOOP(int32_t, uint32_t, ID, AS_I32); break;
    case LENS_DTYPE_INT64: CUMSUM_LOOP(int64_t, uint64_t, ID, AS_I64); break;
    case LENS_DTYPE_UINT32: CUMSUM_LOOP(uint32_t, uint32_t, ID, AS_U32); break;
    case LENS_DTYPE_UINT64: CUMSUM_LOOP(uint64_t, uint64_t, ID, AS_U64); break;
    case LENS_DTYPE_FLOAT16: CUMSUM_LOOP(uint16_t, float, lens_f16_to_f32, AS_F16); break;
    case LENS_DTYPE_BFLOAT16: CUMSUM_LOOP(uint16_t, float, lens_bf16_to_f32, AS_BF16); break;
    default:
        return lens_error(LENS_STATUS_UNSUPPORTED, "CumSum of %s", lens_dtype_name(x->dtype));
    }
    return LENS_OK;
}

/* ReverseSequence-10: for each batch entry b, reverse the first
 * sequence_lens[b] steps along time_axis; the rest is copied. */
lens_status lens_run_reverse_sequence(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0), *tl = lens_exec_input(ex, 1);
    if (!x || !tl)
        return lens_error(LENS_STATUS_INVALID_MODEL, "ReverseSequence needs input and sequence_lens");
    size_t es;
    LENS_TRY(lens_shape_esize(x, "ReverseSequence input", &es));
    if (x->ndim < 2)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "ReverseSequence input must be at least 2-D");
    int64_t ta = lens_node_attr_int(node, "time_axis", 0), ba = lens_node_attr_int(node, "batch_axis", 1);
    if (!((ta == 0 && ba == 1) || (ta == 1 && ba == 0)))
        return lens_error(LENS_STATUS_INVALID_MODEL,
                          "ReverseSequence time_axis %lld / batch_axis %lld must be 0 and 1",
                          (long long)ta, (long long)ba);
    int64_t T = x->dims[ta], B = x->dims[ba], inner = 1;
    for (int32_t a = 2; a < x->ndim; a++) inner *= x->dims[a];
    if (!lens_dtype_is_int(tl->dtype) || tl->ndim != 1 || tl->dims[0] != B)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                          "ReverseSequence input 'sequence_lens' must be integer of shape [%lld]",
                          (long long)B);
    for (int64_t b = 0; b < B; b++) {
        int64_t len = lens_tensor_get_i64(tl, b);
        if (len < 0 || len > T)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                              "ReverseSequence input 'sequence_lens'[%lld] = %lld outside [0, %lld]",
                              (long long)b, (long long)len, (long long)T);
    }
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, x->ndim, x->dims, &y));
    if (T * B * inner == 0) return LENS_OK;
    size_t row = (size_t)inner * es;
    for (int64_t b = 0; b < B; b++) {
        int64_t len = lens_tensor_get_i64(tl, b);
        for (int64_t t = 0; t < T; t++) {
            int64_t st = t < len ? len - 1 - t : t;
            int64_t od = ta == 0 ? t * B + b : b * T + t;
            int64_t os = ta == 0 ? st * B + b : b * T + st;
            memcpy((char *)y->data + (size_t)od * row, (const char *)x->data + (size_t)os * row, row);
        }
    }
    return LENS_OK;
}
