/* Signal-processing operators (opset 17): the window generators
 * HannWindow, HammingWindow and BlackmanWindow; DFT and STFT; and
 * MelWeightMatrix.
 *
 * Windows:
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

/* ---- scalars -------------------------------------------------------------- */

/* A scalar input (rank 0, or one element of rank 1) of an integer type. */
static lens_status int_scalar(const lens_tensor *t, const char *name, int64_t *v) {
    if (t->dtype != LENS_DTYPE_INT32 && t->dtype != LENS_DTYPE_INT64)
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s has type %s (int32 or int64)", name,
                          lens_dtype_name(t->dtype));
    if (t->ndim > 1 || lens_tensor_numel(t) != 1)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "%s must be a scalar", name);
    *v = lens_tensor_get_i64(t, 0);
    return LENS_OK;
}

static bool is_float_type(lens_dtype dt) {
    return dt == LENS_DTYPE_FLOAT || dt == LENS_DTYPE_DOUBLE || dt == LENS_DTYPE_FLOAT16 ||
           dt == LENS_DTYPE_BFLOAT16;
}

/* ---- DFT and STFT ------------------------------------------------------------ */

/* Plain O(n * bins) transform of one line, in double, with a twiddle table
 * tw[2 * n] = {cos, sin}(2 pi m / n) indexed by j * k mod n so that the
 * angles stay exact. x holds `len` complex values (imaginary parts 0 when
 * `im` is false) `stride` complex values apart; samples past len are zero
 * (padding), samples past n unused (truncation). Writes bins complex values
 * to y (interleaved). The inverse uses e^{+i...} and divides by n, as
 * numpy.fft.ifft does. */
static void dft_line(const double *x, int64_t stride, bool im, int64_t len, int64_t n, int64_t bins,
                     bool inverse, const double *tw, double *y) {
    int64_t m = LENS_MIN(len, n);
    int64_t cs = im ? 2 : 1;
    for (int64_t k = 0; k < bins; k++) {
        double re = 0, ii = 0;
        int64_t idx = 0; /* j * k mod n */
        for (int64_t j = 0; j < m; j++) {
            double c = tw[2 * idx], s = inverse ? tw[2 * idx + 1] : -tw[2 * idx + 1];
            double xr = x[j * stride * cs], xi = im ? x[j * stride * cs + 1] : 0.0;
            re += xr * c - xi * s;
            ii += xr * s + xi * c;
            idx += k % n;
            if (idx >= n) idx -= n;
        }
        if (inverse) {
            re /= (double)n;
            ii /= (double)n;
        }
        y[2 * k] = re;
        y[2 * k + 1] = ii;
    }
}

/* Work memory: the input as double (numel), the twiddles (2n), and one
 * output line (2 * bins). */
static lens_status dft_scratch(lens_exec *ex, int64_t numel, int64_t n, int64_t bins, double **in,
                               double **tw, double **line) {
    size_t total, bytes;
    if (lens_add_ovf_size((size_t)numel, 2 * (size_t)n + 2 * (size_t)bins + 1, &total) ||
        lens_mul_ovf_size(total, sizeof(double), &bytes))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "DFT work memory overflows");
    double *p = lens_exec_scratch(ex, bytes);
    if (!p) return LENS_STATUS_OUT_OF_MEMORY; /* message set by lens_exec_scratch */
    *in = p;
    *tw = p + numel;
    *line = *tw + 2 * n;
    for (int64_t m = 0; m < n; m++) {
        double a = 2.0 * M_PI * (double)m / (double)n;
        (*tw)[2 * m] = cos(a);
        (*tw)[2 * m + 1] = sin(a);
    }
    return LENS_OK;
}

/* Longest transform accepted: the naive transform costs n * bins per line. */
#define DFT_MAX_LENGTH ((int64_t)1 << 24)

/* DFT-17: input [batch, signal dims..., 1 (real) or 2 (complex)]; transform
 * along `axis` (default 1; negative counts from the back of the input's
 * rank, as DFT-20 spells out) to dft_length points (default: the axis
 * length; shorter truncates, longer zero-pads). onesided keeps bins
 * [0, n/2] (real input, forward only). Output: complex, [.., bins, .., 2]. */
static lens_status dft_run(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0), *lt = lens_exec_input(ex, 1);
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "needs input");
    if (!is_float_type(x->dtype))
        return lens_error(LENS_STATUS_UNSUPPORTED, "input has type %s", lens_dtype_name(x->dtype));
    int32_t r = x->ndim;
    if (r < 3 || (x->dims[r - 1] != 1 && x->dims[r - 1] != 2)) {
        char sx[128];
        return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                          "input %s must be [batch, signal dims..., 1 or 2]",
                          lens_shape_str(r, x->dims, sx, sizeof sx));
    }
    bool cplx = x->dims[r - 1] == 2;
    int64_t axis = lens_node_attr_int(node, "axis", 1);
    if (axis < 0) axis += r;
    if (axis < 0 || axis > r - 2)
        return lens_error(LENS_STATUS_INVALID_MODEL, "axis %lld is not a signal axis of rank %d",
                          (long long)lens_node_attr_int(node, "axis", 1), r);
    bool inverse = lens_node_attr_int(node, "inverse", 0) != 0;
    bool onesided = lens_node_attr_int(node, "onesided", 0) != 0;
    if (onesided && (cplx || inverse))
        return lens_error(LENS_STATUS_UNSUPPORTED, "onesided needs a real input and a forward transform");
    int64_t len = x->dims[axis], n = len;
    if (lt) {
        LENS_TRY(int_scalar(lt, "dft_length", &n));
        if (n < 1 || n > DFT_MAX_LENGTH)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "dft_length %lld is not in [1, 2^24]",
                              (long long)n);
    }
    if (n < 1) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "the signal axis is empty");
    if (n > DFT_MAX_LENGTH)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "signal length %lld exceeds 2^24", (long long)n);
    int64_t bins = onesided ? n / 2 + 1 : n;
    int64_t dims[LENS_MAX_DIMS];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)r);
    dims[axis] = bins;
    dims[r - 1] = 2;
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, r, dims, &y));
    int64_t outer = 1, inner = 1;
    for (int32_t d = 0; d < axis; d++) outer *= x->dims[d];
    for (int32_t d = (int32_t)axis + 1; d < r - 1; d++) inner *= x->dims[d];
    int64_t numel = lens_tensor_numel(x);
    if (lens_tensor_numel(y) == 0) return LENS_OK;
    double *in, *tw, *line;
    LENS_TRY(dft_scratch(ex, numel, n, bins, &in, &tw, &line));
    if (numel) LENS_TRY(lens_convert(x->data, x->dtype, in, LENS_DTYPE_DOUBLE, numel));
    int64_t cs = cplx ? 2 : 1;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            dft_line(in + (o * len * inner + i) * cs, inner, cplx, len, n, bins, inverse, tw, line);
            for (int64_t k = 0; k < bins; k++) {
                int64_t yo = ((o * bins + k) * inner + i) * 2;
                lens_tensor_set_f64(y, yo, line[2 * k]);
                lens_tensor_set_f64(y, yo + 1, line[2 * k + 1]);
            }
        }
    return LENS_OK;
}

/* STFT-17: signal [batch, length, 1 or 2]; frames of frame_length samples
 * (or the window's length; both given must agree) every frame_step samples,
 * frames = (length - frame_length) / frame_step + 1, each multiplied by the
 * real window if given and transformed; onesided (default 1, real signal
 * only) keeps bins [0, n/2]. Output [batch, frames, bins, 2]. */
static lens_status stft_run(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0), *st = lens_exec_input(ex, 1);
    const lens_tensor *win = lens_exec_input(ex, 2), *fl = lens_exec_input(ex, 3);
    if (!x || !st) return lens_error(LENS_STATUS_INVALID_MODEL, "needs signal and frame_step");
    if (!is_float_type(x->dtype))
        return lens_error(LENS_STATUS_UNSUPPORTED, "signal has type %s", lens_dtype_name(x->dtype));
    if (x->ndim != 3 || (x->dims[2] != 1 && x->dims[2] != 2)) {
        char sx[128];
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "signal %s must be [batch, length, 1 or 2]",
                          lens_shape_str(x->ndim, x->dims, sx, sizeof sx));
    }
    bool cplx = x->dims[2] == 2;
    int64_t step, n = -1;
    LENS_TRY(int_scalar(st, "frame_step", &step));
    if (step < 1) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "frame_step %lld < 1", (long long)step);
    if (fl) LENS_TRY(int_scalar(fl, "frame_length", &n));
    if (win) {
        if (win->dtype != x->dtype || win->ndim != 1)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "window must be 1-D %s",
                              lens_dtype_name(x->dtype));
        if (fl && n != win->dims[0])
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "frame_length %lld but the window has %lld",
                              (long long)n, (long long)win->dims[0]);
        n = win->dims[0];
    }
    if (n < 0) return lens_error(LENS_STATUS_INVALID_MODEL, "needs frame_length or window");
    int64_t len = x->dims[1];
    if (n < 1 || n > len || n > DFT_MAX_LENGTH)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                          "frame length %lld is not in [1, signal length %lld]", (long long)n,
                          (long long)len);
    bool onesided = lens_node_attr_int(node, "onesided", 1) != 0;
    if (onesided && cplx)
        return lens_error(LENS_STATUS_UNSUPPORTED, "onesided needs a real signal");
    int64_t frames = (len - n) / step + 1, bins = onesided ? n / 2 + 1 : n;
    int64_t dims[4] = {x->dims[0], frames, bins, 2};
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, 4, dims, &y));
    if (lens_tensor_numel(y) == 0) return LENS_OK;
    int64_t numel = lens_tensor_numel(x), cs = cplx ? 2 : 1;
    double *in, *tw, *line;
    /* One frame (2n doubles) follows the output line. */
    LENS_TRY(dft_scratch(ex, numel, n, bins + n, &in, &tw, &line));
    double *frame = line + 2 * bins;
    LENS_TRY(lens_convert(x->data, x->dtype, in, LENS_DTYPE_DOUBLE, numel));
    for (int64_t b = 0; b < x->dims[0]; b++)
        for (int64_t f = 0; f < frames; f++) {
            const double *src = in + (b * len + f * step) * cs;
            for (int64_t j = 0; j < n; j++) {
                double w = win ? lens_tensor_get_f64(win, j) : 1.0;
                frame[j * cs] = src[j * cs] * w;
                if (cplx) frame[j * cs + 1] = src[j * cs + 1] * w;
            }
            dft_line(frame, 1, cplx, n, n, bins, false, tw, line);
            for (int64_t k = 0; k < bins; k++) {
                int64_t yo = ((b * frames + f) * bins + k) * 2;
                lens_tensor_set_f64(y, yo, line[2 * k]);
                lens_tensor_set_f64(y, yo + 1, line[2 * k + 1]);
            }
        }
    return LENS_OK;
}

/* ---- MelWeightMatrix ---------------------------------------------------------- */

/* MelWeightMatrix-17, following the ONNX reference implementation (which
 * ONNX Runtime matches): num_mel_bins + 2 edges equally spaced on the mel
 * scale mel(f) = 2595 log10(1 + f / 700) between lower_edge_hertz and
 * upper_edge_hertz -- the step is the range divided by num_mel_bins + 2, as
 * the reference has it -- mapped to spectrogram bins floor((dft_length + 1) *
 * f / sample_rate); band i is the triangle from edge i through i + 1 (peak 1)
 * to i + 2. Output [dft_length / 2 + 1, num_mel_bins]. Edges above the
 * Nyquist frequency fall outside the rows and are dropped. */
static lens_status mel_run(const lens_node *node, lens_exec *ex) {
    const lens_tensor *in[5];
    static const char *names[5] = {"num_mel_bins", "dft_length", "sample_rate", "lower_edge_hertz",
                                   "upper_edge_hertz"};
    for (int i = 0; i < 5; i++)
        if (!(in[i] = lens_exec_input(ex, i)))
            return lens_error(LENS_STATUS_INVALID_MODEL, "input %s is missing", names[i]);
    int64_t nmel, dftlen, rate;
    LENS_TRY(int_scalar(in[0], names[0], &nmel));
    LENS_TRY(int_scalar(in[1], names[1], &dftlen));
    LENS_TRY(int_scalar(in[2], names[2], &rate));
    double edge[2];
    for (int i = 0; i < 2; i++) {
        const lens_tensor *t = in[3 + i];
        if (!is_float_type(t->dtype) || t->ndim > 1 || lens_tensor_numel(t) != 1)
            return lens_error(LENS_STATUS_INVALID_MODEL, "%s must be a float scalar", names[3 + i]);
        edge[i] = lens_tensor_get_f64(t, 0);
    }
    if (nmel < 1 || dftlen < 1 || rate < 1 || nmel > (1 << 20))
        return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                          "num_mel_bins, dft_length and sample_rate must be positive");
    if (!(edge[0] >= 0 && edge[0] < edge[1] && isfinite(edge[1])))
        return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                          "need 0 <= lower_edge_hertz < upper_edge_hertz, got %g and %g", edge[0],
                          edge[1]);
    lens_dtype dt = LENS_DTYPE_FLOAT;
    bool periodic_unused;
    LENS_TRY(window_attrs(node, &dt, &periodic_unused));
    int64_t rows = dftlen / 2 + 1;
    int64_t dims[2] = {rows, nmel};
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, dt, 2, dims, &y));
    int64_t total = rows * nmel;
    for (int64_t i = 0; i < total; i++) lens_tensor_set_f64(y, i, 0.0);
    double lo = 2595.0 * log10(1.0 + edge[0] / 700.0), hi = 2595.0 * log10(1.0 + edge[1] / 700.0);
    double step = (hi - lo) / (double)(nmel + 2);
    /* Bin of edge e, computed on demand (no scratch for nmel + 2 values). */
#define MEL_EDGE(e) ((int64_t)floor((double)(dftlen + 1) *                                      \
                                    (700.0 * (pow(10.0, ((double)(e) * step + lo) / 2595.0) - 1.0)) / \
                                    (double)rate))
    for (int64_t i = 0; i < nmel; i++) {
        int64_t l = MEL_EDGE(i), c = MEL_EDGE(i + 1), h = MEL_EDGE(i + 2);
        if (c == l) {
            if (c >= 0 && c < rows) lens_tensor_set_f64(y, c * nmel + i, 1.0);
        } else {
            for (int64_t j = LENS_MAX(l, 0); j <= c && j < rows; j++)
                lens_tensor_set_f64(y, j * nmel + i, (double)(j - l) / (double)(c - l));
        }
        if (h > c)
            for (int64_t j = LENS_MAX(c, 0); j < h && j < rows; j++)
                lens_tensor_set_f64(y, j * nmel + i, (double)(h - j) / (double)(h - c));
    }
#undef MEL_EDGE
    return LENS_OK;
}

/* Inputs whose values are output dimensions. */
#define SIZE_IN (1u << 0)
#define DFT_LEN_IN (1u << 1)
#define STFT_IN ((1u << 1) | (1u << 3))
#define MEL_IN ((1u << 0) | (1u << 1))
static const lens_op ops[] = {
    {"", "HannWindow", 17, SIZE_IN, 0, window_init, hann_run, NULL},
    {"", "HammingWindow", 17, SIZE_IN, 0, window_init, hamming_run, NULL},
    {"", "BlackmanWindow", 17, SIZE_IN, 0, window_init, blackman_run, NULL},
    {"", "DFT", 17, DFT_LEN_IN, 0, NULL, dft_run, NULL},
    {"", "STFT", 17, STFT_IN, 0, NULL, stft_run, NULL},
    {"", "MelWeightMatrix", 17, MEL_IN, 0, window_init, mel_run, NULL},
};

LENS_OP_TABLE(signal, ops);
