/* Shape operators: the ones that change how a tensor is described rather
 * than where its elements go (Reshape, Flatten, Squeeze, Unsqueeze,
 * Identity, Dropout at inference), those that describe a shape (Shape,
 * Size) and those that build a tensor from one (ConstantOfShape, EyeLike).
 * Also the family table of every op in shape*.c.
 *
 * Outputs never alias inputs (the runtime owns both), so the "free" ops
 * copy their input once. */
#include "ops/shape_internal.h"

#include <stdio.h>

/* Copy x into output 0 with a new shape of the same element count. */
static lens_status copy_reshaped(lens_exec *ex, const lens_tensor *x, int32_t ndim,
                                 const int64_t *dims) {
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, ndim, dims, &y));
    size_t bytes;
    if (!lens_tensor_nbytes(x, &bytes))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "input size overflows");
    if (bytes) memcpy(y->data, x->data, bytes);
    return LENS_OK;
}

static lens_status need_input(lens_exec *ex, int32_t i, const char *what, const lens_tensor **out) {
    *out = lens_exec_input(ex, i);
    if (!*out) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input '%s'", what);
    return LENS_OK;
}

/* Reshape-1 takes the shape as an attribute, 5+ as input 1; 14 adds
 * allowzero (a 0 then means an empty dimension rather than "copy"). */
lens_status lens_run_reshape(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x;
    LENS_TRY(need_input(ex, 0, "data", &x));
    int64_t shape[LENS_MAX_DIMS];
    int32_t n = 0;
    if (node->opset >= 5) {
        const lens_tensor *s;
        LENS_TRY(need_input(ex, 1, "shape", &s));
        LENS_TRY(lens_read_ints(s, "Reshape input 'shape'", LENS_MAX_DIMS, shape, &n));
    } else {
        int64_t count;
        const int64_t *a = lens_node_attr_ints(node, "shape", &count);
        if (!a) return lens_error(LENS_STATUS_INVALID_MODEL, "Reshape-1 needs attribute 'shape'");
        LENS_TRY(lens_check_rank(count, "Reshape attribute 'shape'"));
        memcpy(shape, a, (size_t)count * sizeof *a);
        n = (int32_t)count;
    }
    bool allowzero = node->opset >= 14 && lens_node_attr_int(node, "allowzero", 0) != 0;
    int32_t infer = -1;
    int64_t known = 1;
    bool has_zero = false;
    for (int32_t i = 0; i < n; i++) {
        int64_t d = shape[i];
        if (d == -1) {
            if (infer >= 0)
                return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                                  "Reshape input 'shape' has more than one -1");
            infer = i;
            continue;
        }
        if (d < -1)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                              "Reshape input 'shape'[%d] = %lld is negative", (int)i,
                              (long long)d);
        if (d == 0) {
            has_zero = true;
            if (!allowzero) {
                if (i >= x->ndim)
                    return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                                      "Reshape input 'shape'[%d] = 0 copies a dimension the "
                                      "rank-%d input does not have",
                                      (int)i, (int)x->ndim);
                d = shape[i] = x->dims[i];
            }
        }
        if (lens_mul_ovf_i64(known, d, &known))
            return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "Reshape output size overflows");
    }
    if (allowzero && has_zero && infer >= 0)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                          "Reshape with allowzero=1 cannot have both 0 and -1 in 'shape'");
    int64_t numel = lens_tensor_numel(x);
    if (infer >= 0) {
        if (known == 0) {
            /* Only an empty input fits, and then any size would: 0 is the
             * one runtimes agree on. */
            if (numel != 0)
                return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                                  "Reshape cannot infer -1: the other dimensions multiply to 0");
            shape[infer] = 0;
        } else {
            if (numel % known)
                return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                                  "Reshape of %lld elements into a shape whose known dimensions "
                                  "multiply to %lld",
                                  (long long)numel, (long long)known);
            shape[infer] = numel / known;
        }
    } else if (known != numel) {
        char a[128], b[128];
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Reshape from %s to %s changes the size",
                          lens_shape_str(x->ndim, x->dims, a, sizeof a),
                          lens_shape_str(n, shape, b, sizeof b));
    }
    return copy_reshaped(ex, x, n, shape);
}

/* Flatten-1 allows axis in [0, rank]; 11+ also [-rank, -1]. */
lens_status lens_run_flatten(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x;
    LENS_TRY(need_input(ex, 0, "input", &x));
    int64_t axis = lens_node_attr_int(node, "axis", 1);
    if (axis < 0) axis += x->ndim;
    if (axis < 0 || axis > x->ndim)
        return lens_error(LENS_STATUS_INVALID_MODEL, "Flatten axis %lld out of range for rank %d",
                          (long long)lens_node_attr_int(node, "axis", 1), (int)x->ndim);
    int64_t dims[2] = {1, 1};
    for (int32_t i = 0; i < x->ndim; i++) dims[i < axis ? 0 : 1] *= x->dims[i];
    return copy_reshaped(ex, x, 2, dims);
}

/* Axes of Squeeze/Unsqueeze: attribute before opset 13, input 1 from 13. */
static lens_status read_axes(const lens_node *node, lens_exec *ex, const char *op, int64_t *axes,
                             int32_t *n, bool *present) {
    *n = 0;
    *present = false;
    if (node->opset >= 13) {
        const lens_tensor *t = lens_exec_input(ex, 1);
        if (!t) return LENS_OK;
        char what[64];
        snprintf(what, sizeof what, "%s input 'axes'", op);
        LENS_TRY(lens_read_ints(t, what, LENS_MAX_DIMS, axes, n));
    } else {
        int64_t count;
        const int64_t *a = lens_node_attr_ints(node, "axes", &count);
        if (!a) return LENS_OK;
        if (count > LENS_MAX_DIMS)
            return lens_error(LENS_STATUS_UNSUPPORTED, "%s: %lld axes", op, (long long)count);
        memcpy(axes, a, (size_t)count * sizeof *a);
        *n = (int32_t)count;
    }
    *present = true;
    return LENS_OK;
}

lens_status lens_run_squeeze(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x;
    LENS_TRY(need_input(ex, 0, "data", &x));
    int64_t axes[LENS_MAX_DIMS];
    int32_t n;
    bool present;
    LENS_TRY(read_axes(node, ex, "Squeeze", axes, &n, &present));
    bool drop[LENS_MAX_DIMS] = {false};
    if (!present) {
        for (int32_t i = 0; i < x->ndim; i++) drop[i] = x->dims[i] == 1;
    }
    for (int32_t k = 0; k < n; k++) {
        int32_t a;
        LENS_TRY(lens_normalize_axis(axes[k], x->ndim, "Squeeze axis", &a));
        if (x->dims[a] != 1)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                              "Squeeze axis %lld has size %lld, not 1", (long long)axes[k],
                              (long long)x->dims[a]);
        drop[a] = true;
    }
    int64_t dims[LENS_MAX_DIMS];
    int32_t nd = 0;
    for (int32_t i = 0; i < x->ndim; i++)
        if (!drop[i]) dims[nd++] = x->dims[i];
    return copy_reshaped(ex, x, nd, dims);
}

lens_status lens_run_unsqueeze(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x;
    LENS_TRY(need_input(ex, 0, "data", &x));
    int64_t axes[LENS_MAX_DIMS];
    int32_t n;
    bool present;
    LENS_TRY(read_axes(node, ex, "Unsqueeze", axes, &n, &present));
    if (!present) return lens_error(LENS_STATUS_INVALID_MODEL, "Unsqueeze needs 'axes'");
    int64_t out_rank = (int64_t)x->ndim + n;
    LENS_TRY(lens_check_rank(out_rank, "Unsqueeze"));
    bool ins[LENS_MAX_DIMS] = {false};
    for (int32_t k = 0; k < n; k++) {
        int32_t a;
        LENS_TRY(lens_normalize_axis(axes[k], (int32_t)out_rank, "Unsqueeze axis", &a));
        if (ins[a])
            return lens_error(LENS_STATUS_INVALID_MODEL, "Unsqueeze axis %lld repeated",
                              (long long)axes[k]);
        ins[a] = true;
    }
    int64_t dims[LENS_MAX_DIMS];
    for (int32_t i = 0, j = 0; i < out_rank; i++) dims[i] = ins[i] ? 1 : x->dims[j++];
    return copy_reshaped(ex, x, (int32_t)out_rank, dims);
}

lens_status lens_run_identity(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x;
    LENS_TRY(need_input(ex, 0, "input", &x));
    return copy_reshaped(ex, x, x->ndim, x->dims);
}

/* Inference-mode Dropout is the identity. The mask (output 1) is all true:
 * bool from Dropout-10, the input's type before. Dropout-12 moves ratio and
 * training_mode to inputs; training mode (random masks) is not supported.
 * Dropout-1/6's is_test is ignored: lens only does inference. */
lens_status lens_run_dropout(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x;
    LENS_TRY(need_input(ex, 0, "data", &x));
    if (node->opset >= 12) {
        const lens_tensor *tm = lens_exec_input(ex, 2);
        if (tm && lens_tensor_numel(tm) > 0 && lens_tensor_get_f64(tm, 0) != 0)
            return lens_error(LENS_STATUS_UNSUPPORTED, "Dropout with training_mode = true");
    }
    LENS_TRY(copy_reshaped(ex, x, x->ndim, x->dims));
    if (lens_exec_n_outputs(ex) > 1) {
        lens_dtype mdt = node->opset >= 10 ? LENS_DTYPE_BOOL : x->dtype;
        lens_tensor *m;
        LENS_TRY(lens_exec_output(ex, 1, mdt, x->ndim, x->dims, &m));
        if (lens_exec_output_used(ex, 1)) {
            int64_t count = lens_tensor_numel(m);
            for (int64_t i = 0; i < count; i++) lens_tensor_set_f64(m, i, 1.0);
        }
    }
    return LENS_OK;
}

/* Shape-15 adds start/end, clamped to [0, rank] after adding rank to
 * negative values. */
lens_status lens_run_shape(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x;
    LENS_TRY(need_input(ex, 0, "data", &x));
    int64_t r = x->ndim, start = 0, end = r;
    if (node->opset >= 15) {
        start = lens_node_attr_int(node, "start", 0);
        end = lens_node_attr_int(node, "end", r);
        if (start < 0) start += r;
        if (end < 0) end += r;
        start = LENS_MIN(LENS_MAX(start, (int64_t)0), r);
        end = LENS_MIN(LENS_MAX(end, (int64_t)0), r);
    }
    int64_t n = end > start ? end - start : 0;
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, LENS_DTYPE_INT64, 1, &n, &y));
    for (int64_t i = 0; i < n; i++) ((int64_t *)y->data)[i] = x->dims[start + i];
    return LENS_OK;
}

lens_status lens_run_size(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x;
    LENS_TRY(need_input(ex, 0, "data", &x));
    int64_t numel;
    if (!lens_shape_numel(x->ndim, x->dims, &numel))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "input size overflows");
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, LENS_DTYPE_INT64, 0, NULL, &y));
    *(int64_t *)y->data = numel;
    return LENS_OK;
}

/* ConstantOfShape-9: 'value' is a one-element tensor whose type is the
 * output's; float 0 when absent. */
lens_status lens_run_constant_of_shape(const lens_node *node, lens_exec *ex) {
    const lens_tensor *s;
    LENS_TRY(need_input(ex, 0, "input", &s));
    int64_t dims[LENS_MAX_DIMS];
    int32_t n;
    LENS_TRY(lens_read_ints(s, "ConstantOfShape input 'input'", LENS_MAX_DIMS, dims, &n));
    for (int32_t i = 0; i < n; i++)
        if (dims[i] < 0)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                              "ConstantOfShape input 'input'[%d] = %lld is negative", (int)i,
                              (long long)dims[i]);
    const lens_tensor *v = lens_node_attr_tensor(node, "value");
    lens_dtype dt = LENS_DTYPE_FLOAT;
    unsigned char value[8] = {0};
    size_t es = 4;
    if (v) {
        LENS_TRY(lens_shape_esize(v, "ConstantOfShape attribute 'value'", &es));
        if (lens_tensor_numel(v) != 1)
            return lens_error(LENS_STATUS_INVALID_MODEL,
                              "ConstantOfShape attribute 'value' must hold one element, has %lld",
                              (long long)lens_tensor_numel(v));
        dt = v->dtype;
        memcpy(value, v->data, es);
    }
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, dt, n, dims, &y));
    lens_fill_elems(y->data, value, es, lens_tensor_numel(y));
    return LENS_OK;
}

/* EyeLike-9: 2-D; ones where column = row + k; type from 'dtype' or the
 * input. */
lens_status lens_run_eye_like(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x;
    LENS_TRY(need_input(ex, 0, "input", &x));
    if (x->ndim != 2)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "EyeLike input must be 2-D, got rank %d",
                          (int)x->ndim);
    lens_dtype dt = (lens_dtype)lens_node_attr_int(node, "dtype", x->dtype);
    if (lens_dtype_size(dt) == 0)
        return lens_error(LENS_STATUS_UNSUPPORTED, "EyeLike dtype %d is not supported", (int)dt);
    int64_t k = lens_node_attr_int(node, "k", 0);
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, dt, 2, x->dims, &y));
    int64_t rows = x->dims[0], cols = x->dims[1];
    if (rows * cols == 0) return LENS_OK;
    memset(y->data, 0, (size_t)(rows * cols) * lens_dtype_size(dt));
    for (int64_t i = 0; i < rows; i++) {
        /* i + k can only overflow for absurd k; compare instead of adding. */
        if (k >= cols || k < -rows) break;
        int64_t j = i + k;
        if (j >= 0 && j < cols) lens_tensor_set_f64(y, i * cols + j, 1.0);
    }
    return LENS_OK;
}

/* One entry per version whose semantics changed (lookup takes the largest
 * since_version <= the model's opset). */
#define SHAPE_ARGS(a, b) (1u << (a) | 1u << (b))
static const lens_op ops[] = {
    {"", "Reshape", 1, 0, 0, NULL, lens_run_reshape, NULL},
    {"", "Reshape", 5, 1u << 1, 0, NULL, lens_run_reshape, NULL},
    {"", "Reshape", 14, 1u << 1, 0, NULL, lens_run_reshape, NULL},
    {"", "Flatten", 1, 0, 0, NULL, lens_run_flatten, NULL},
    {"", "Flatten", 11, 0, 0, NULL, lens_run_flatten, NULL},
    {"", "Squeeze", 1, 0, 0, NULL, lens_run_squeeze, NULL},
    {"", "Squeeze", 13, 1u << 1, 0, NULL, lens_run_squeeze, NULL},
    {"", "Unsqueeze", 1, 0, 0, NULL, lens_run_unsqueeze, NULL},
    {"", "Unsqueeze", 13, 1u << 1, 0, NULL, lens_run_unsqueeze, NULL},
    {"", "Identity", 1, 0, 0, NULL, lens_run_identity, NULL},
    {"", "Dropout", 1, 0, 0, NULL, lens_run_dropout, NULL},
    {"", "Dropout", 10, 0, 0, NULL, lens_run_dropout, NULL},
    {"", "Dropout", 12, 0, 0, NULL, lens_run_dropout, NULL},
    {"", "Shape", 1, 0, 0, NULL, lens_run_shape, NULL},
    {"", "Shape", 15, 0, 0, NULL, lens_run_shape, NULL},
    {"", "Size", 1, 0, 0, NULL, lens_run_size, NULL},
    {"", "ConstantOfShape", 9, 1u << 0, 0, NULL, lens_run_constant_of_shape, NULL},
    {"", "EyeLike", 9, 0, 0, NULL, lens_run_eye_like, NULL},
    {"", "Transpose", 1, 0, 0, NULL, lens_run_transpose, NULL},
    {"", "DepthToSpace", 1, 0, 0, NULL, lens_run_depth_to_space, NULL},
    {"", "DepthToSpace", 11, 0, 0, NULL, lens_run_depth_to_space, NULL},
    {"", "SpaceToDepth", 1, 0, 0, NULL, lens_run_space_to_depth, NULL},
    {"", "Concat", 1, 0, 0, NULL, lens_run_concat, NULL},
    {"", "Concat", 4, 0, 0, NULL, lens_run_concat, NULL},
    {"", "Split", 1, 1u << 1, 0, NULL, lens_run_split, NULL},
    {"", "Split", 2, 0, 0, NULL, lens_run_split, NULL},
    {"", "Split", 13, 1u << 1, 0, NULL, lens_run_split, NULL},
    {"", "Split", 18, 1u << 1, 0, NULL, lens_run_split, NULL},
    {"", "Slice", 1, 0, 0, NULL, lens_run_slice, NULL},
    {"", "Slice", 10, 0x1eu, 0, NULL, lens_run_slice, NULL},
    {"", "Expand", 8, 1u << 1, 0, NULL, lens_run_expand, NULL},
    {"", "Tile", 1, SHAPE_ARGS(1, 2), 0, NULL, lens_run_tile, NULL},
    {"", "Tile", 6, 1u << 1, 0, NULL, lens_run_tile, NULL},
    {"", "Pad", 1, 0, 0, NULL, lens_run_pad, NULL},
    {"", "Pad", 2, 0, 0, NULL, lens_run_pad, NULL},
    {"", "Pad", 11, SHAPE_ARGS(1, 2), 0, NULL, lens_run_pad, NULL},
    {"", "Pad", 18, SHAPE_ARGS(1, 2) | 1u << 3, 0, NULL, lens_run_pad, NULL},
    {"", "Pad", 19, SHAPE_ARGS(1, 2) | 1u << 3, 0, NULL, lens_run_pad, NULL},
    {"", "Range", 11, 0x7u, 0, NULL, lens_run_range, NULL},
    {"", "Trilu", 14, 0, 0, NULL, lens_run_trilu, NULL},
    {"", "CumSum", 11, 0, 0, NULL, lens_run_cumsum, NULL},
    {"", "CumSum", 14, 0, 0, NULL, lens_run_cumsum, NULL},
    {"", "ReverseSequence", 10, 0, 0, NULL, lens_run_reverse_sequence, NULL},
};
LENS_OP_TABLE(shape, ops);
