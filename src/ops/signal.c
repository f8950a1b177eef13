/* Signal-processing operators: the window generators HannWindow,
 * HammingWindow and BlackmanWindow (opset 17).
 *
 * A window of `size` points is w[k] = sum_j a_j cos(2 pi j k / N), k in
 * [0, size), with N = size for a periodic window (periodic = 1, the default:
 * the first `size` points of a symmetric window of size + 1) and N = size - 1
 * for a symmetric one. A symmetric window of one point has N = 0 and is
 * defined here as [1], as numpy.hanning(1) and torch.hann_window(1,
 * periodic=False) give. Values are computed in double and converted to
 * output_datatype (default float) like Cast does. */
#include <math.h>

#include "ops/op.h"

typedef enum window_kind { WIN_HANN, WIN_HAMMING, WIN_BLACKMAN } window_kind;

static bool window_dtype_ok(int64_t dt) {
    switch (dt) {
    case LENS_DTYPE_UINT8: case LENS_DTYPE_UINT16: case LENS_DTYPE_UINT32: case LENS_DTYPE_UINT64:
    case LENS_DTYPE_INT8: case LENS_DTYPE_INT16: case LENS_DTYPE_INT32: case LENS_DTYPE_INT64:
    case LENS_DTYPE_FLOAT16: case LENS_DTYPE_FLOAT: case LENS_DTYPE_DOUBLE: case LENS_DTYPE_BFLOAT16:
        return true;
    default:
        return false;
    }
}

static lens_status window_attrs(const lens_node *node, lens_dtype *dt, bool *periodic) {
    int64_t odt = lens_node_attr_int(node, "output_datatype", LENS_DTYPE_FLOAT);
    if (!window_dtype_ok(odt))
        return lens_error(LENS_STATUS_INVALID_MODEL,
                          "output_datatype %lld is not a numeric TensorProto data type", (long long)odt);
    int64_t p = lens_node_attr_int(node, "periodic", 1);
    if (p != 0 && p != 1)
        return lens_error(LENS_STATUS_INVALID_MODEL, "periodic must be 0 or 1, got %lld", (long long)p);
    *dt = (lens_dtype)odt;
    *periodic = p == 1;
    return LENS_OK;
}

static lens_status window_init(lens_graph *g, lens_node *node) {
    lens_dtype dt = LENS_DTYPE_FLOAT;
    bool periodic = true;
    return window_attrs(node, &dt, &periodic);
}

static double window_value(window_kind kind, int64_t k, int64_t n) {
    if (n == 0) return 1.0;
    double a = 2.0 * M_PI * (double)k / (double)n;
    switch (kind) {
    case WIN_HANN: return 0.5 - 0.5 * cos(a);
    case WIN_HAMMING: return 25.0 / 46.0 - 21.0 / 46.0 * cos(a);
    case WIN_BLACKMAN: return 0.42 - 0.5 * cos(a) + 0.08 * cos(2.0 * a);
    }
    return 0.0;
}

static lens_status window_run(const lens_node *node, lens_exec *ex, window_kind kind) {
    const lens_tensor *sz = lens_exec_input(ex, 0);
    if (!sz) return lens_error(LENS_STATUS_INVALID_MODEL, "needs the size input");
    if (sz->dtype != LENS_DTYPE_INT32 && sz->dtype != LENS_DTYPE_INT64)
        return lens_error(LENS_STATUS_INVALID_MODEL, "size has type %s (int32 or int64)",
                          lens_dtype_name(sz->dtype));
    if (sz->ndim > 1 || lens_tensor_numel(sz) != 1)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "size must be a scalar");
    int64_t size = lens_tensor_get_i64(sz, 0);
    if (size < 0) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "size is negative (%lld)", (long long)size);
    lens_dtype dt = LENS_DTYPE_FLOAT;
    bool periodic = true;
    LENS_TRY(window_attrs(node, &dt, &periodic));
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, dt, 1, &size, &y));
    int64_t n = periodic ? size : size - 1;
    /* Convert through a small block so that no scratch memory is needed. */
    enum { BLOCK = 256 };
    double buf[BLOCK];
    size_t es = lens_dtype_size(dt);
    for (int64_t k0 = 0; k0 < size; k0 += BLOCK) {
        int64_t m = LENS_MIN((int64_t)BLOCK, size - k0);
        for (int64_t k = 0; k < m; k++) buf[k] = window_value(kind, k0 + k, n);
        LENS_TRY(lens_convert(buf, LENS_DTYPE_DOUBLE, (char *)y->data + (size_t)k0 * es, dt, m));
    }
    return LENS_OK;
}

static lens_status hann_run(const lens_node *node, lens_exec *ex) { return window_run(node, ex, WIN_HANN); }
static lens_status hamming_run(const lens_node *node, lens_exec *ex) { return window_run(node, ex, WIN_HAMMING); }
static lens_status blackman_run(const lens_node *node, lens_exec *ex) { return window_run(node, ex, WIN_BLACKMAN); }

/* The size input's value is the output's shape. */
#define SIZE_IN (1u << 0)
static const lens_op ops[] = {
    {"", "HannWindow", 17, SIZE_IN, 0, window_init, hann_run, NULL},
    {"", "HammingWindow", 17, SIZE_IN, 0, window_init, hamming_run, NULL},
    {"", "BlackmanWindow", 17, SIZE_IN, 0, window_init, blackman_run, NULL},
};

LENS_OP_TABLE(signal, ops);
