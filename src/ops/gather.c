/* Indexing operators: Gather, GatherElements, GatherND, Scatter,
 * ScatterElements, ScatterND, OneHot; and the family table, which also
 * lists the data-dependent selections of shape_select.c (NonZero, Compress,
 * Unique).
 *
 * Every index is read from a tensor the model computed, so each one is
 * checked against its axis before use; negative indices count from the end
 * (allowed by every version of these ops that lens runs). Elements move by
 * size, so any fixed-size dtype works. */
#include "ops/shape_internal.h"

#include <math.h>

#define PARALLEL_MIN_BYTES (256 * 1024)

static lens_status need_input(lens_exec *ex, int32_t i, const char *what, const lens_tensor **out) {
    *out = lens_exec_input(ex, i);
    if (!*out) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input '%s'", what);
    return LENS_OK;
}

static lens_status check_index_type(const lens_tensor *t, const char *op) {
    if (t->dtype != LENS_DTYPE_INT64 && t->dtype != LENS_DTYPE_INT32)
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s input 'indices' must be int32 or int64, got %s",
                          op, lens_dtype_name(t->dtype));
    return LENS_OK;
}

/* Index i of `t` normalised into [0, d); error naming op and value. */
static inline lens_status read_index(const lens_tensor *t, int64_t i, int64_t d, const char *op,
                                     int64_t *out) {
    int64_t v = t->dtype == LENS_DTYPE_INT64 ? ((const int64_t *)t->data)[i]
                                             : ((const int32_t *)t->data)[i];
    *out = v < 0 ? v + d : v;
    if (LENS_UNLIKELY(v < -d || v >= d))
        return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                          "%s input 'indices'[%lld] = %lld out of range [%lld, %lld]", op,
                          (long long)i, (long long)v, (long long)-d, (long long)(d - 1));
    return LENS_OK;
}

/* ---- Gather (1, 11, 13) -------------------------------------------------
 * out[o, i..., j] = data[o, indices[i...], j] for o over the axes before
 * `axis` and j over those after. */
typedef struct gather_ctx {
    const char *src;
    char *dst;
    const int64_t *idx;
    int64_t ni, d, inner;
    size_t es;
} gather_ctx;

static void gather_task(void *vctx, int64_t begin, int64_t end, int32_t thread) {
    (void)thread;
    const gather_ctx *c = vctx;
    size_t row = (size_t)c->inner * c->es;
    for (int64_t t = begin; t < end; t++) {
        int64_t o = t / c->ni, i = t % c->ni;
        const char *s = c->src + (size_t)(o * c->d + c->idx[i]) * row;
        char *d = c->dst + (size_t)t * row;
        switch (row) {
        case 1: *d = *s; break;
        case 2: memcpy(d, s, 2); break;
        case 4: memcpy(d, s, 4); break;
        case 8: memcpy(d, s, 8); break;
        default: memcpy(d, s, row);
        }
    }
}

static lens_status run_gather(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x, *ti;
    LENS_TRY(need_input(ex, 0, "data", &x));
    LENS_TRY(need_input(ex, 1, "indices", &ti));
    LENS_TRY(check_index_type(ti, "Gather"));
    size_t es;
    LENS_TRY(lens_shape_esize(x, "Gather input 'data'", &es));
    int32_t r = x->ndim, q = ti->ndim, axis;
    if (r < 1) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Gather input 'data' is a scalar");
    LENS_TRY(lens_normalize_axis(lens_node_attr_int(node, "axis", 0), r, "Gather axis", &axis));
    LENS_TRY(lens_check_rank((int64_t)r - 1 + q, "Gather output"));
    int64_t dims[LENS_MAX_DIMS];
    int32_t nd = 0;
    int64_t outer = 1, inner = 1, d = x->dims[axis], ni = lens_tensor_numel(ti);
    for (int32_t a = 0; a < axis; a++) outer *= (dims[nd++] = x->dims[a]);
    for (int32_t a = 0; a < q; a++) dims[nd++] = ti->dims[a];
    for (int32_t a = axis + 1; a < r; a++) inner *= (dims[nd++] = x->dims[a]);
    int64_t *idx = ni ? lens_exec_scratch(ex, (size_t)ni * sizeof *idx) : NULL;
    if (ni && !idx) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "Gather: out of memory");
    for (int64_t i = 0; i < ni; i++) LENS_TRY(read_index(ti, i, d, "Gather", &idx[i]));
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, nd, dims, &y));
    if (outer * ni * inner == 0) return LENS_OK;
    gather_ctx c = {x->data, y->data, idx, ni, d, inner, es};
    int64_t rows = outer * ni, bytes = rows * inner * (int64_t)es;
    lens_threadpool *pool = bytes >= PARALLEL_MIN_BYTES ? lens_exec_pool(ex) : NULL;
    int64_t grain = LENS_MAX((int64_t)1, 16384 / (inner * (int64_t)es));
    lens_parallel_for(pool, rows, grain, gather_task, &c);
    return LENS_OK;
}

/* ---- GatherElements (11, 13) -------------------------------------------
 * out[i] = data[i with i[axis] replaced by indices[i]]; indices has the
 * data's rank and, off the axis, no larger dimensions. */
static lens_status check_elements_shapes(const lens_tensor *x, const lens_tensor *ti, int32_t axis,
                                         const char *op) {
    if (ti->ndim != x->ndim)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "%s: indices rank %d differs from data rank %d",
                          op, (int)ti->ndim, (int)x->ndim);
    for (int32_t a = 0; a < x->ndim; a++)
        if (a != axis && ti->dims[a] > x->dims[a]) {
            char s0[128], s1[128];
            return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                              "%s: indices shape %s exceeds data shape %s off the axis", op,
                              lens_shape_str(ti->ndim, ti->dims, s1, sizeof s1),
                              lens_shape_str(x->ndim, x->dims, s0, sizeof s0));
        }
    return LENS_OK;
}

static lens_status run_gather_elements(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x, *ti;
    LENS_TRY(need_input(ex, 0, "data", &x));
    LENS_TRY(need_input(ex, 1, "indices", &ti));
    LENS_TRY(check_index_type(ti, "GatherElements"));
    size_t es;
    LENS_TRY(lens_shape_esize(x, "GatherElements input 'data'", &es));
    int32_t r = x->ndim, axis;
    if (r < 1) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "GatherElements of a scalar");
    LENS_TRY(lens_normalize_axis(lens_node_attr_int(node, "axis", 0), r, "GatherElements axis", &axis));
    LENS_TRY(check_elements_shapes(x, ti, axis, "GatherElements"));
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, r, ti->dims, &y));
    int64_t n = lens_tensor_numel(ti);
    if (n == 0) return LENS_OK;
    int64_t xs[LENS_MAX_DIMS], pos[LENS_MAX_DIMS] = {0}, off = 0, d = x->dims[axis];
    lens_contiguous_strides(r, x->dims, xs);
    for (int64_t i = 0; i < n; i++) {
        int64_t v;
        LENS_TRY(read_index(ti, i, d, "GatherElements", &v));
        memcpy((char *)y->data + (size_t)i * es,
               (const char *)x->data + (size_t)(off + v * xs[axis]) * es, es);
        /* odometer over the indices shape; off excludes the axis term */
        for (int32_t a = r - 1; a >= 0; a--) {
            if (a != axis) off += xs[a];
            if (++pos[a] < ti->dims[a]) break;
            if (a != axis) off -= xs[a] * pos[a];
            pos[a] = 0;
        }
    }
    return LENS_OK;
}

/* ---- GatherND (11; 12 adds batch_dims) ---------------------------------
 * indices [..., k] picks data slices data[b..., i0..ik-1, :] for each
 * tuple; the first batch_dims axes of indices and data are paired. */
static lens_status run_gather_nd(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x, *ti;
    LENS_TRY(need_input(ex, 0, "data", &x));
    LENS_TRY(need_input(ex, 1, "indices", &ti));
    LENS_TRY(check_index_type(ti, "GatherND"));
    size_t es;
    LENS_TRY(lens_shape_esize(x, "GatherND input 'data'", &es));
    int32_t r = x->ndim, q = ti->ndim;
    int64_t b = node->opset >= 12 ? lens_node_attr_int(node, "batch_dims", 0) : 0;
    if (r < 1 || q < 1)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "GatherND: data and indices need rank >= 1");
    if (b < 0 || b >= LENS_MIN(r, q))
        return lens_error(LENS_STATUS_INVALID_MODEL, "GatherND batch_dims %lld invalid for ranks %d, %d",
                          (long long)b, (int)r, (int)q);
    int64_t k = ti->dims[q - 1];
    if (k < 0 || k > r - b)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                          "GatherND: indices last dimension %lld exceeds data rank %d - batch_dims %lld",
                          (long long)k, (int)r, (long long)b);
    for (int32_t a = 0; a < b; a++)
        if (ti->dims[a] != x->dims[a])
            return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                              "GatherND: batch dimension %d is %lld in indices, %lld in data", (int)a,
                              (long long)ti->dims[a], (long long)x->dims[a]);
    LENS_TRY(lens_check_rank((int64_t)q - 1 + r - b - k, "GatherND output"));
    int64_t dims[LENS_MAX_DIMS];
    int32_t nd = 0;
    int64_t tuples = 1, slice = 1, batches = 1;
    for (int32_t a = 0; a < q - 1; a++) tuples *= (dims[nd++] = ti->dims[a]);
    for (int32_t a = 0; a < b; a++) batches *= ti->dims[a];
    for (int64_t a = b + k; a < r; a++) slice *= (dims[nd++] = x->dims[a]);
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, nd, dims, &y));
    if (tuples * slice == 0) return LENS_OK;
    int64_t xs[LENS_MAX_DIMS];
    lens_contiguous_strides(r, x->dims, xs);
    int64_t per_batch = tuples / batches, batch_stride = b ? xs[b - 1] : 0;
    size_t row = (size_t)slice * es;
    for (int64_t t = 0; t < tuples; t++) {
        int64_t off = (t / per_batch) * batch_stride;
        for (int64_t j = 0; j < k; j++) {
            int64_t v;
            LENS_TRY(read_index(ti, t * k + j, x->dims[b + j], "GatherND", &v));
            off += v * xs[b + j];
        }
        memcpy((char *)y->data + (size_t)t * row, (const char *)x->data + (size_t)off * es, row);
    }
    return LENS_OK;
}

/* ---- Scatter reductions ------------------------------------------------ */
typedef enum scatter_red { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN } scatter_red;

/* ScatterElements/ScatterND 16 add 'reduction' add|mul, 18 max|min. */
static lens_status parse_reduction(const lens_node *node, const char *op, scatter_red *out) {
    const char *s = node->opset >= 16 ? lens_node_attr_string(node, "reduction", "none") : "none";
    if (!strcmp(s, "none")) *out = RED_NONE;
    else if (!strcmp(s, "add")) *out = RED_ADD;
    else if (!strcmp(s, "mul")) *out = RED_MUL;
    else if (!strcmp(s, "max") && node->opset >= 18) *out = RED_MAX;
    else if (!strcmp(s, "min") && node->opset >= 18) *out = RED_MIN;
    else return lens_error(LENS_STATUS_INVALID_MODEL, "%s reduction '%s' unknown", op, s);
    return LENS_OK;
}

#define RED_APPLY(type, a, b)                                                              \
    switch (red) {                                                                         \
    case RED_ADD: a = (type)(a + b); break;                                                \
    case RED_MUL: a = (type)(a * b); break;                                                \
    case RED_MAX: a = a > b ? a : b; break;                                                \
    case RED_MIN: a = a < b ? a : b; break;                                                \
    default: a = b;                                                                        \
    }

/* n elements: dst[i] = dst[i] (red) src[i]. Integer add/mul wrap
 * (computed unsigned). */
static void reduce_elems(lens_dtype dt, scatter_red red, void *dst, const void *src, int64_t n) {
    size_t es = lens_dtype_size(dt);
    if (red == RED_NONE) {
        memcpy(dst, src, (size_t)n * es);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        switch (dt) {
#define INT_CASE(DT, type, utype)                                                          \
    case DT: {                                                                             \
        type *a = (type *)dst + i;                                                         \
        type b = ((const type *)src)[i];                                                   \
        if (red == RED_ADD) *a = (type)((utype)*a + (utype)b);                             \
        else if (red == RED_MUL) *a = (type)((utype)*a * (utype)b);                        \
        else if (red == RED_MAX) *a = *a > b ? *a : b;                                     \
        else *a = *a < b ? *a : b;                                                         \
        break;                                                                             \
    }
            INT_CASE(LENS_DTYPE_INT8, int8_t, uint8_t)
            INT_CASE(LENS_DTYPE_INT16, int16_t, uint16_t)
            INT_CASE(LENS_DTYPE_INT32, int32_t, uint32_t)
            INT_CASE(LENS_DTYPE_INT64, int64_t, uint64_t)
            INT_CASE(LENS_DTYPE_UINT8, uint8_t, uint8_t)
            INT_CASE(LENS_DTYPE_UINT16, uint16_t, uint16_t)
            INT_CASE(LENS_DTYPE_UINT32, uint32_t, uint32_t)
            INT_CASE(LENS_DTYPE_UINT64, uint64_t, uint64_t)
#undef INT_CASE
        case LENS_DTYPE_FLOAT: {
            float *a = (float *)dst + i, b = ((const float *)src)[i];
            RED_APPLY(float, *a, b);
            break;
        }
        case LENS_DTYPE_DOUBLE: {
            double *a = (double *)dst + i, b = ((const double *)src)[i];
            RED_APPLY(double, *a, b);
            break;
        }
        case LENS_DTYPE_BOOL: {
            uint8_t *a = (uint8_t *)dst + i, b = ((const uint8_t *)src)[i];
            if (red == RED_ADD || red == RED_MAX) *a = *a || b;
            else *a = *a && b;
            break;
        }
        default: { /* float16, bfloat16: through float */
            lens_tensor td = {dt, 1, {n}, dst}, ts = {dt, 1, {n}, (void *)src};
            double a = lens_tensor_get_f64(&td, i), b = lens_tensor_get_f64(&ts, i);
            RED_APPLY(double, a, b);
            lens_tensor_set_f64(&td, i, a);
        }
        }
    }
}

/* ---- Scatter (9, 10 = ScatterElements), ScatterElements (11, 13, 16, 18) */
static lens_status run_scatter_elements(const lens_node *node, lens_exec *ex) {
    const char *op = strcmp(node->op_type, "Scatter") ? "ScatterElements" : "Scatter";
    const lens_tensor *x, *ti, *tu;
    LENS_TRY(need_input(ex, 0, "data", &x));
    LENS_TRY(need_input(ex, 1, "indices", &ti));
    LENS_TRY(need_input(ex, 2, "updates", &tu));
    LENS_TRY(check_index_type(ti, op));
    size_t es;
    LENS_TRY(lens_shape_esize(x, op, &es));
    scatter_red red;
    LENS_TRY(parse_reduction(node, op, &red));
    int32_t r = x->ndim, axis;
    if (r < 1) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "%s of a scalar", op);
    LENS_TRY(lens_normalize_axis(lens_node_attr_int(node, "axis", 0), r, "axis", &axis));
    LENS_TRY(check_elements_shapes(x, ti, axis, op));
    if (tu->dtype != x->dtype || !lens_shape_equal(tu->ndim, tu->dims, ti->ndim, ti->dims))
        return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                          "%s: updates must match indices in shape and data in type", op);
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, r, x->dims, &y));
    int64_t numel = lens_tensor_numel(x), n = lens_tensor_numel(ti);
    if (numel) memcpy(y->data, x->data, (size_t)numel * es);
    if (n == 0) return LENS_OK;
    int64_t xs[LENS_MAX_DIMS], pos[LENS_MAX_DIMS] = {0}, off = 0, d = x->dims[axis];
    lens_contiguous_strides(r, x->dims, xs);
    for (int64_t i = 0; i < n; i++) {
        int64_t v;
        LENS_TRY(read_index(ti, i, d, op, &v));
        reduce_elems(x->dtype, red, (char *)y->data + (size_t)(off + v * xs[axis]) * es,
                     (const char *)tu->data + (size_t)i * es, 1);
        for (int32_t a = r - 1; a >= 0; a--) {
            if (a != axis) off += xs[a];
            if (++pos[a] < ti->dims[a]) break;
            if (a != axis) off -= xs[a] * pos[a];
            pos[a] = 0;
        }
    }
    return LENS_OK;
}

/* ---- ScatterND (11, 13, 16 reduction, 18 max/min) ----------------------
 * indices [..., k] address slices data[i0..ik-1, :]; updates has shape
 * indices.shape[:-1] + data.shape[k:]. */
static lens_status run_scatter_nd(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x, *ti, *tu;
    LENS_TRY(need_input(ex, 0, "data", &x));
    LENS_TRY(need_input(ex, 1, "indices", &ti));
    LENS_TRY(need_input(ex, 2, "updates", &tu));
    LENS_TRY(check_index_type(ti, "ScatterND"));
    size_t es;
    LENS_TRY(lens_shape_esize(x, "ScatterND", &es));
    scatter_red red;
    LENS_TRY(parse_reduction(node, "ScatterND", &red));
    int32_t r = x->ndim, q = ti->ndim;
    if (r < 1 || q < 1)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "ScatterND: data and indices need rank >= 1");
    int64_t k = ti->dims[q - 1];
    if (k < 0 || k > r)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                          "ScatterND: indices last dimension %lld exceeds data rank %d",
                          (long long)k, (int)r);
    /* updates shape = indices.shape[:-1] + data.shape[k:] */
    int64_t ud[2 * LENS_MAX_DIMS];
    int32_t nu = 0;
    int64_t tuples = 1, slice = 1;
    for (int32_t a = 0; a < q - 1; a++) tuples *= (ud[nu++] = ti->dims[a]);
    for (int64_t a = k; a < r; a++) slice *= (ud[nu++] = x->dims[a]);
    if (tu->dtype != x->dtype || !lens_shape_equal(tu->ndim, tu->dims, nu, ud)) {
        char s0[128], s1[128];
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "ScatterND: updates shape %s, expected %s",
                          lens_shape_str(tu->ndim, tu->dims, s0, sizeof s0),
                          lens_shape_str(nu, ud, s1, sizeof s1));
    }
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, r, x->dims, &y));
    int64_t numel = lens_tensor_numel(x);
    if (numel) memcpy(y->data, x->data, (size_t)numel * es);
    if (tuples * slice == 0) return LENS_OK;
    int64_t xs[LENS_MAX_DIMS];
    lens_contiguous_strides(r, x->dims, xs);
    for (int64_t t = 0; t < tuples; t++) {
        int64_t off = 0;
        for (int64_t j = 0; j < k; j++) {
            int64_t v;
            LENS_TRY(read_index(ti, t * k + j, x->dims[j], "ScatterND", &v));
            off += v * xs[j];
        }
        reduce_elems(x->dtype, red, (char *)y->data + (size_t)off * es,
                     (const char *)tu->data + (size_t)(t * slice) * es, slice);
    }
    return LENS_OK;
}

/* ---- OneHot (9; 11 allows negative indices) -----------------------------
 * Output inserts an axis of size depth at 'axis'; values = [off, on].
 * Indices outside [-depth, depth) give an all-off row, as the spec says. */
static lens_status run_one_hot(const lens_node *node, lens_exec *ex) {
    const lens_tensor *ti, *td, *tv;
    LENS_TRY(need_input(ex, 0, "indices", &ti));
    LENS_TRY(need_input(ex, 1, "depth", &td));
    LENS_TRY(need_input(ex, 2, "values", &tv));
    size_t es;
    LENS_TRY(lens_shape_esize(tv, "OneHot input 'values'", &es));
    if (lens_tensor_numel(tv) != 2)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "OneHot input 'values' must hold 2 elements");
    if (lens_tensor_numel(td) != 1)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "OneHot input 'depth' must be a scalar");
    if (lens_dtype_size(ti->dtype) == 0 || lens_dtype_size(td->dtype) == 0)
        return lens_error(LENS_STATUS_UNSUPPORTED, "OneHot: unsupported input type");
    double dd = lens_tensor_get_f64(td, 0);
    if (!(dd >= 1 && dd <= 9.0e15))
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "OneHot input 'depth' = %g is invalid", dd);
    int64_t depth = (int64_t)dd;
    int32_t q = ti->ndim, axis;
    LENS_TRY(lens_check_rank((int64_t)q + 1, "OneHot output"));
    LENS_TRY(lens_normalize_axis(lens_node_attr_int(node, "axis", -1), q + 1, "OneHot axis", &axis));
    int64_t dims[LENS_MAX_DIMS], outer = 1, inner = 1;
    for (int32_t a = 0, j = 0; a <= q; a++) {
        if (a == axis) {
            dims[a] = depth;
            continue;
        }
        dims[a] = ti->dims[j++];
        if (a < axis) outer *= dims[a];
        else inner *= dims[a];
    }
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, tv->dtype, q + 1, dims, &y));
    int64_t numel = lens_tensor_numel(y);
    if (numel == 0) return LENS_OK;
    const char *off_v = tv->data, *on_v = (const char *)tv->data + es;
    lens_fill_elems(y->data, off_v, es, numel);
    bool is_int = lens_dtype_is_int(ti->dtype) || ti->dtype == LENS_DTYPE_BOOL;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t e = o * inner + i, v;
            if (is_int) {
                v = lens_tensor_get_i64(ti, e);
            } else {
                double f = lens_tensor_get_f64(ti, e);
                if (!(f > -9.0e15 && f < 9.0e15)) continue;
                v = (int64_t)f;
            }
            if (v < 0) v += depth;
            if (v < 0 || v >= depth) continue;
            memcpy((char *)y->data + (size_t)((o * depth + v) * inner + i) * es, on_v, es);
        }
    return LENS_OK;
}

#define DD LENS_OPF_DATA_DEPENDENT
static const lens_op ops[] = {
    {"", "Gather", 1, 0, 0, NULL, run_gather, NULL},
    {"", "Gather", 11, 0, 0, NULL, run_gather, NULL},
    {"", "GatherElements", 11, 0, 0, NULL, run_gather_elements, NULL},
    {"", "GatherND", 11, 0, 0, NULL, run_gather_nd, NULL},
    {"", "GatherND", 12, 0, 0, NULL, run_gather_nd, NULL},
    {"", "Scatter", 9, 0, 0, NULL, run_scatter_elements, NULL},
    {"", "ScatterElements", 11, 0, 0, NULL, run_scatter_elements, NULL},
    {"", "ScatterElements", 16, 0, 0, NULL, run_scatter_elements, NULL},
    {"", "ScatterElements", 18, 0, 0, NULL, run_scatter_elements, NULL},
    {"", "ScatterND", 11, 0, 0, NULL, run_scatter_nd, NULL},
    {"", "ScatterND", 16, 0, 0, NULL, run_scatter_nd, NULL},
    {"", "ScatterND", 18, 0, 0, NULL, run_scatter_nd, NULL},
    {"", "OneHot", 9, 1u << 1, 0, NULL, run_one_hot, NULL},
    {"", "OneHot", 11, 1u << 1, 0, NULL, run_one_hot, NULL},
    {"", "NonZero", 9, 0, DD, NULL, lens_run_nonzero, NULL},
    {"", "Compress", 9, 0, DD, NULL, lens_run_compress, NULL},
    {"", "Compress", 11, 0, DD, NULL, lens_run_compress, NULL},
    {"", "Unique", 11, 0, DD, NULL, lens_run_unique, NULL},
};
LENS_OP_TABLE(gather, ops);
