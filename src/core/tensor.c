/* Tensor helpers: sizes, broadcasting, element access and conversion. */
#include "core/tensor.h"

#include <math.h>
#include <stdio.h>

size_t lens_dtype_size(lens_dtype t) {
    switch (t) {
    case LENS_DTYPE_FLOAT: case LENS_DTYPE_INT32: case LENS_DTYPE_UINT32: return 4;
    case LENS_DTYPE_UINT8: case LENS_DTYPE_INT8: case LENS_DTYPE_BOOL: return 1;
    case LENS_DTYPE_UINT16: case LENS_DTYPE_INT16: case LENS_DTYPE_FLOAT16:
    case LENS_DTYPE_BFLOAT16: return 2;
    case LENS_DTYPE_INT64: case LENS_DTYPE_DOUBLE: case LENS_DTYPE_UINT64: return 8;
    default: return 0;
    }
}

const char *lens_dtype_name(lens_dtype t) {
    static const char *names[] = {"undefined", "float", "uint8", "int8", "uint16", "int16",
                                  "int32", "int64", "string", "bool", "float16", "double",
                                  "uint32", "uint64", "complex64", "complex128", "bfloat16"};
    if ((unsigned)t < LENS_ARRAY_LEN(names)) return names[t];
    return "undefined";
}

int64_t lens_tensor_numel(const lens_tensor *t) {
    /* Called on caller-built views too: never overflow (a zero dimension
     * anywhere makes 0 even when the others multiply past int64). */
    if (t->ndim < 0 || t->ndim > LENS_MAX_DIMS) return -1;
    for (int32_t i = 0; i < t->ndim; i++)
        if (t->dims[i] == 0) return 0;
    int64_t n;
    if (!lens_shape_numel(t->ndim, t->dims, &n)) return -1;
    return n;
}

bool lens_shape_extent(int32_t ndim, const int64_t *dims, int64_t *out) {
    int64_t n = 1;
    for (int32_t i = 0; i < ndim; i++) {
        if (dims[i] < 0) return false;
        if (dims[i] && lens_mul_ovf_i64(n, dims[i], &n)) return false;
    }
    *out = n;
    return true;
}

bool lens_shape_numel(int32_t ndim, const int64_t *dims, int64_t *out) {
    int64_t ext;
    if (!lens_shape_extent(ndim, dims, &ext)) return false;
    for (int32_t i = 0; i < ndim; i++)
        if (dims[i] == 0) ext = 0;
    *out = ext;
    return true;
}

bool lens_tensor_nbytes(const lens_tensor *t, size_t *out) {
    int64_t n;
    if (!lens_shape_numel(t->ndim, t->dims, &n)) return false;
    return !lens_mul_ovf_size((size_t)n, lens_dtype_size(t->dtype), out);
}

bool lens_shape_equal(int32_t na, const int64_t *a, int32_t nb, const int64_t *b) {
    if (na != nb) return false;
    for (int32_t i = 0; i < na; i++)
        if (a[i] != b[i]) return false;
    return true;
}

const char *lens_shape_str(int32_t ndim, const int64_t *dims, char *buf, size_t size) {
    size_t used = 0;
    used += (size_t)snprintf(buf + used, size - used, "[");
    for (int32_t i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ", %lld" : "%lld", (long long)dims[i]);
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}

lens_status lens_broadcast_shape(int32_t na, const int64_t *a, int32_t nb, const int64_t *b,
                                 int32_t *nout, int64_t *out) {
    int32_t n = na > nb ? na : nb;
    if (n > LENS_MAX_DIMS) return lens_error(LENS_STATUS_UNSUPPORTED, "rank %d exceeds %d", n, LENS_MAX_DIMS);
    for (int32_t i = 0; i < n; i++) {
        int64_t da = i < n - na ? 1 : a[i - (n - na)];
        int64_t db = i < n - nb ? 1 : b[i - (n - nb)];
        if (da == db || db == 1) out[i] = da;
        else if (da == 1) out[i] = db;
        else {
            char sa[128], sb[128];
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "cannot broadcast %s with %s",
                              lens_shape_str(na, a, sa, sizeof sa), lens_shape_str(nb, b, sb, sizeof sb));
        }
    }
    *nout = n;
    return LENS_OK;
}

void lens_contiguous_strides(int32_t ndim, const int64_t *dims, int64_t *strides) {
    int64_t s = 1;
    for (int32_t i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

void lens_broadcast_strides(int32_t ndim_src, const int64_t *src_dims, int32_t ndim, int64_t *strides) {
    int64_t s = 1;
    for (int32_t i = ndim - 1; i >= 0; i--) {
        int32_t j = i - (ndim - ndim_src);
        if (j < 0) {
            strides[i] = 0;
        } else {
            strides[i] = src_dims[j] == 1 ? 0 : s;
            s *= src_dims[j];
        }
    }
}

lens_status lens_normalize_axis(int64_t axis, int32_t rank, const char *what, int32_t *out) {
    if (axis < -(int64_t)rank || axis >= rank)
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s %lld out of range for rank %d",
                          what ? what : "axis", (long long)axis, rank);
    *out = (int32_t)(axis < 0 ? axis + rank : axis);
    return LENS_OK;
}

int64_t lens_tensor_get_i64(const lens_tensor *t, int64_t i) {
    const void *d = t->data;
    switch (t->dtype) {
    case LENS_DTYPE_INT64: return ((const int64_t *)d)[i];
    case LENS_DTYPE_INT32: return ((const int32_t *)d)[i];
    case LENS_DTYPE_INT16: return ((const int16_t *)d)[i];
    case LENS_DTYPE_INT8: return ((const int8_t *)d)[i];
    case LENS_DTYPE_UINT64: return (int64_t)((const uint64_t *)d)[i];
    case LENS_DTYPE_UINT32: return ((const uint32_t *)d)[i];
    case LENS_DTYPE_UINT16: return ((const uint16_t *)d)[i];
    case LENS_DTYPE_UINT8: case LENS_DTYPE_BOOL: return ((const uint8_t *)d)[i];
    default: {
        double v = lens_tensor_get_f64(t, i);
        if (!(v >= -9.2e18 && v <= 9.2e18)) return 0;
        return (int64_t)v;
    }
    }
}

double lens_tensor_get_f64(const lens_tensor *t, int64_t i) {
    const void *d = t->data;
    switch (t->dtype) {
    case LENS_DTYPE_FLOAT: return ((const float *)d)[i];
    case LENS_DTYPE_DOUBLE: return ((const double *)d)[i];
    case LENS_DTYPE_FLOAT16: return lens_f16_to_f32(((const uint16_t *)d)[i]);
    case LENS_DTYPE_BFLOAT16: return lens_bf16_to_f32(((const uint16_t *)d)[i]);
    case LENS_DTYPE_INT64: return (double)((const int64_t *)d)[i];
    case LENS_DTYPE_UINT64: return (double)((const uint64_t *)d)[i];
    default: return (double)lens_tensor_get_i64(t, i);
    }
}

void lens_tensor_set_f64(lens_tensor *t, int64_t i, double v) {
    void *d = t->data;
    switch (t->dtype) {
    case LENS_DTYPE_FLOAT: ((float *)d)[i] = (float)v; break;
    case LENS_DTYPE_DOUBLE: ((double *)d)[i] = v; break;
    case LENS_DTYPE_FLOAT16: ((uint16_t *)d)[i] = lens_f32_to_f16((float)v); break;
    case LENS_DTYPE_BFLOAT16: ((uint16_t *)d)[i] = lens_f32_to_bf16((float)v); break;
    case LENS_DTYPE_INT64: ((int64_t *)d)[i] = (int64_t)v; break;
    case LENS_DTYPE_INT32: ((int32_t *)d)[i] = (int32_t)(int64_t)v; break;
    case LENS_DTYPE_INT16: ((int16_t *)d)[i] = (int16_t)(int64_t)v; break;
    case LENS_DTYPE_INT8: ((int8_t *)d)[i] = (int8_t)(int64_t)v; break;
    case LENS_DTYPE_UINT64: ((uint64_t *)d)[i] = (uint64_t)v; break;
    case LENS_DTYPE_UINT32: ((uint32_t *)d)[i] = (uint32_t)(int64_t)v; break;
    case LENS_DTYPE_UINT16: ((uint16_t *)d)[i] = (uint16_t)(int64_t)v; break;
    case LENS_DTYPE_UINT8: ((uint8_t *)d)[i] = (uint8_t)(int64_t)v; break;
    case LENS_DTYPE_BOOL: ((uint8_t *)d)[i] = v != 0; break;
    default: break;
    }
}

/* Conversion goes through double except between 64-bit integer types, where
 * double would lose precision. */
lens_status lens_convert(const void *src, lens_dtype sdt, void *dst, lens_dtype ddt, int64_t n) {
    if (lens_dtype_size(sdt) == 0 || lens_dtype_size(ddt) == 0)
        return lens_error(LENS_STATUS_UNSUPPORTED, "cannot convert %s to %s", lens_dtype_name(sdt),
                          lens_dtype_name(ddt));
    if (sdt == ddt) {
        memcpy(dst, src, (size_t)n * lens_dtype_size(sdt));
        return LENS_OK;
    }
    lens_tensor s = {sdt, 1, {n}, (void *)src};
    lens_tensor d = {ddt, 1, {n}, dst};
    if (sdt == LENS_DTYPE_FLOAT && ddt == LENS_DTYPE_FLOAT16) {
        for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = lens_f32_to_f16(((const float *)src)[i]);
        return LENS_OK;
    }
    if (sdt == LENS_DTYPE_FLOAT16 && ddt == LENS_DTYPE_FLOAT) {
        for (int64_t i = 0; i < n; i++) ((float *)dst)[i] = lens_f16_to_f32(((const uint16_t *)src)[i]);
        return LENS_OK;
    }
    bool sint = sdt != LENS_DTYPE_FLOAT && sdt != LENS_DTYPE_DOUBLE && sdt != LENS_DTYPE_FLOAT16 &&
                sdt != LENS_DTYPE_BFLOAT16;
    bool dint = ddt != LENS_DTYPE_FLOAT && ddt != LENS_DTYPE_DOUBLE && ddt != LENS_DTYPE_FLOAT16 &&
                ddt != LENS_DTYPE_BFLOAT16;
    if (ddt == LENS_DTYPE_BOOL) {
        for (int64_t i = 0; i < n; i++)
            ((uint8_t *)dst)[i] = sint ? lens_tensor_get_i64(&s, i) != 0 : lens_tensor_get_f64(&s, i) != 0;
        return LENS_OK;
    }
    if (sint && dint) {
        for (int64_t i = 0; i < n; i++) {
            int64_t v = lens_tensor_get_i64(&s, i);
            switch (ddt) {
            case LENS_DTYPE_INT64: ((int64_t *)dst)[i] = v; break;
            case LENS_DTYPE_UINT64: ((uint64_t *)dst)[i] = (uint64_t)v; break;
            case LENS_DTYPE_INT32: ((int32_t *)dst)[i] = (int32_t)v; break;
            case LENS_DTYPE_UINT32: ((uint32_t *)dst)[i] = (uint32_t)v; break;
            case LENS_DTYPE_INT16: ((int16_t *)dst)[i] = (int16_t)v; break;
            case LENS_DTYPE_UINT16: ((uint16_t *)dst)[i] = (uint16_t)v; break;
            case LENS_DTYPE_INT8: ((int8_t *)dst)[i] = (int8_t)v; break;
            case LENS_DTYPE_UINT8: ((uint8_t *)dst)[i] = (uint8_t)v; break;
            default: break;
            }
        }
        return LENS_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        double v = lens_tensor_get_f64(&s, i);
        if (dint) {
            /* Float to integer: truncate toward zero; out-of-range (and NaN)
             * values are undefined in C, so clamp them first. */
            if (isnan(v)) v = 0;
            if (ddt == LENS_DTYPE_UINT64) {
                if (v < 0) ((uint64_t *)dst)[i] = (uint64_t)(int64_t)(v < -9.2e18 ? -9.2e18 : v);
                else ((uint64_t *)dst)[i] = v >= 1.8e19 ? UINT64_MAX : (uint64_t)v;
                continue;
            }
            if (v < -9.2e18) v = -9.2e18;
            if (v > 9.2e18) v = 9.2e18;
        }
        lens_tensor_set_f64(&d, i, v);
    }
    return LENS_OK;
}
