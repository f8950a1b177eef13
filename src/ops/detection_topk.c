/* TopK (opset 1: k attribute; 10: k input; 11: largest, sorted).
 *
 * Each slice along the axis keeps its k best elements in a binary heap whose
 * root is the worst kept one (O(n log k)), then drains the heap back to
 * front, so results come out best first. The order is total: equal values
 * rank by index, lower first (what the ONNX reference and ONNX Runtime
 * return), and NaN ranks above every number, so the result never depends on
 * the heap's history. */
#include <math.h>

#include "ops/detection.h"

/* gt(a, b): a ranks above b as a value (NaN above all numbers). */
#define TOPK_GT_FLOAT(a, b) ((isnan(a) && !isnan(b)) || (a) > (b))
#define TOPK_GT_INT(a, b) ((a) > (b))

#define TOPK_DEFINE(NAME, T, GT)                                                                   \
    /* better(i, j): element i ranks before element j in the output. */                            \
    static inline bool NAME##_better(const T *x, int64_t s, bool largest, int64_t i, int64_t j) {  \
        T a = x[i * s], b = x[j * s];                                                              \
        if (largest ? GT(a, b) : GT(b, a)) return true;                                            \
        if (largest ? GT(b, a) : GT(a, b)) return false;                                           \
        return i < j;                                                                              \
    }                                                                                              \
    static void NAME##_sift(const T *x, int64_t s, bool largest, int64_t *h, int64_t size,         \
                            int64_t at) {                                                          \
        for (;;) {                                                                                 \
            int64_t l = 2 * at + 1, w = at;                                                        \
            if (l < size && NAME##_better(x, s, largest, h[w], h[l])) w = l;                       \
            if (l + 1 < size && NAME##_better(x, s, largest, h[w], h[l + 1])) w = l + 1;           \
            if (w == at) return;                                                                   \
            int64_t t = h[w];                                                                      \
            h[w] = h[at];                                                                          \
            h[at] = t;                                                                             \
            at = w;                                                                                \
        }                                                                                          \
    }                                                                                              \
    static void NAME(const T *x, int64_t n, int64_t s, int64_t k, bool largest, T *ov,             \
                     int64_t *oi, int64_t os, int64_t *h) {                                        \
        if (k <= 0) return;                                                                        \
        int64_t size = 0;                                                                          \
        for (int64_t i = 0; i < n; i++) {                                                          \
            if (size < k) {                                                                        \
                /* sift up: the worst kept element rises to the root */                            \
                int64_t at = size++;                                                               \
                h[at] = i;                                                                         \
                while (at > 0) {                                                                   \
                    int64_t p = (at - 1) / 2;                                                      \
                    if (!NAME##_better(x, s, largest, h[p], h[at])) break;                         \
                    int64_t t = h[p];                                                              \
                    h[p] = h[at];                                                                  \
                    h[at] = t;                                                                     \
                    at = p;                                                                        \
                }                                                                                  \
            } else if (NAME##_better(x, s, largest, i, h[0])) {                                    \
                h[0] = i;                                                                          \
                NAME##_sift(x, s, largest, h, size, 0);                                            \
            }                                                                                      \
        }                                                                                          \
        while (size > 0) {                                                                         \
            int64_t worst = h[0];                                                                  \
            size--;                                                                                \
            oi[size * os] = worst;                                                                 \
            ov[size * os] = x[worst * s];                                                          \
            h[0] = h[size];                                                                        \
            NAME##_sift(x, s, largest, h, size, 0);                                                \
        }                                                                                          \
    }

TOPK_DEFINE(topk_f32, float, TOPK_GT_FLOAT)
TOPK_DEFINE(topk_f64, double, TOPK_GT_FLOAT)
TOPK_DEFINE(topk_i32, int32_t, TOPK_GT_INT)
TOPK_DEFINE(topk_i64, int64_t, TOPK_GT_INT)
TOPK_DEFINE(topk_u8, uint8_t, TOPK_GT_INT)
TOPK_DEFINE(topk_i8, int8_t, TOPK_GT_INT)
TOPK_DEFINE(topk_u16, uint16_t, TOPK_GT_INT)
TOPK_DEFINE(topk_i16, int16_t, TOPK_GT_INT)
TOPK_DEFINE(topk_u32, uint32_t, TOPK_GT_INT)
TOPK_DEFINE(topk_u64, uint64_t, TOPK_GT_INT)

void lens_topk_f32(const float *x, int64_t n, int64_t stride, int64_t k, bool largest, float *out_v,
                   int64_t *out_i, int64_t ostride, int64_t *work) {
    topk_f32(x, n, stride, k, largest, out_v, out_i, ostride, work);
}

typedef struct topk_job {
    const void *x;
    void *v;
    int64_t *i;
    int64_t n, k, inner;
    lens_dtype dtype;
    bool largest;
    int64_t *heaps; /* k per thread */
} topk_job;

static void topk_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    topk_job *j = ctx;
    int64_t *h = j->heaps + (int64_t)thread * j->k;
    for (int64_t sl = begin; sl < end; sl++) {
        int64_t o = sl / j->inner, in = sl % j->inner;
        int64_t xoff = o * j->n * j->inner + in, yoff = o * j->k * j->inner + in;
        int64_t *oi = j->i + yoff;
#define TOPK_CASE(DT, NAME, T)                                                                     \
    case DT:                                                                                       \
        NAME((const T *)j->x + xoff, j->n, j->inner, j->k, j->largest, (T *)j->v + yoff, oi,       \
             j->inner, h);                                                                         \
        break;
        switch (j->dtype) {
            TOPK_CASE(LENS_DTYPE_FLOAT, topk_f32, float)
            TOPK_CASE(LENS_DTYPE_DOUBLE, topk_f64, double)
            TOPK_CASE(LENS_DTYPE_INT32, topk_i32, int32_t)
            TOPK_CASE(LENS_DTYPE_INT64, topk_i64, int64_t)
            TOPK_CASE(LENS_DTYPE_UINT8, topk_u8, uint8_t)
            TOPK_CASE(LENS_DTYPE_INT8, topk_i8, int8_t)
            TOPK_CASE(LENS_DTYPE_UINT16, topk_u16, uint16_t)
            TOPK_CASE(LENS_DTYPE_INT16, topk_i16, int16_t)
            TOPK_CASE(LENS_DTYPE_UINT32, topk_u32, uint32_t)
            TOPK_CASE(LENS_DTYPE_UINT64, topk_u64, uint64_t)
        default: break;
        }
#undef TOPK_CASE
    }
}

lens_status lens_op_topk_run(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "TopK needs an input");
    switch (x->dtype) {
    case LENS_DTYPE_FLOAT: case LENS_DTYPE_DOUBLE: case LENS_DTYPE_INT32: case LENS_DTYPE_INT64:
    case LENS_DTYPE_UINT8: case LENS_DTYPE_INT8: case LENS_DTYPE_UINT16: case LENS_DTYPE_INT16:
    case LENS_DTYPE_UINT32: case LENS_DTYPE_UINT64: break;
    default:
        return lens_error(LENS_STATUS_UNSUPPORTED, "TopK on %s is not supported",
                          lens_dtype_name(x->dtype));
    }
    if (x->ndim < 1) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "TopK input must have rank >= 1");
    int32_t axis;
    LENS_TRY(lens_normalize_axis(lens_node_attr_int(node, "axis", -1), x->ndim, "TopK axis", &axis));
    int64_t k;
    if (node->opset < 10) {
        /* TopK-1: k is an attribute. */
        k = lens_node_attr_int(node, "k", -1);
    } else {
        /* TopK-10: k is a 1-D int64 tensor of one element. */
        const lens_tensor *tk = lens_exec_input(ex, 1);
        if (!tk || lens_tensor_numel(tk) != 1 ||
            (tk->dtype != LENS_DTYPE_INT64 && tk->dtype != LENS_DTYPE_INT32))
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "K must be an int64 tensor of one element");
        k = lens_tensor_get_i64(tk, 0);
    }
    int64_t n = x->dims[axis];
    if (k < 0 || k > n)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "k = %lld outside [0, %lld] (axis %d)",
                          (long long)k, (long long)n, axis);
    /* TopK-11: largest picks the direction; sorted=0 lets the order be
     * anything, and sorted order is one such order. */
    bool largest = node->opset < 11 || lens_node_attr_int(node, "largest", 1) != 0;

    int64_t dims[LENS_MAX_DIMS];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    dims[axis] = k;
    lens_tensor *v, *idx;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, x->ndim, dims, &v));
    LENS_TRY(lens_exec_output(ex, 1, LENS_DTYPE_INT64, x->ndim, dims, &idx));
    int64_t outer = 1, inner = 1;
    for (int32_t d = 0; d < axis; d++) outer *= x->dims[d];
    for (int32_t d = axis + 1; d < x->ndim; d++) inner *= x->dims[d];
    if (k == 0 || outer == 0 || inner == 0) return LENS_OK;

    lens_threadpool *pool = lens_exec_pool(ex);
    size_t heap_bytes;
    if (lens_mul_ovf_size((size_t)k * sizeof(int64_t), (size_t)lens_threadpool_size(pool), &heap_bytes))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "TopK work memory overflows");
    int64_t *heaps = lens_exec_scratch(ex, heap_bytes);
    if (!heaps) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "TopK work memory");
    topk_job j = {x->data, v->data, idx->data, n, k, inner, x->dtype, largest, heaps};
    int64_t grain = LENS_MAX((int64_t)1, 4096 / LENS_MAX(n, 1));
    lens_parallel_for(pool, outer * inner, grain, topk_task, &j);
    return LENS_OK;
}
