/* Unit tests of the signal operators (ops/signal.c) through the whole
 * engine, against values computed by hand: window edge sizes and types,
 * DFT truncation, padding, inverse and onesided, and the errors of malformed
 * sizes and attributes. */
#include "one_node_model.h"

#define CHECK ONM_CHECK
#define I64 LENS_DTYPE_INT64
#define F32 LENS_DTYPE_FLOAT

static onm_result window(const char *op, int64_t size, int64_t periodic, int64_t out_dtype) {
    onm_spec s;
    memset(&s, 0, sizeof s);
    s.op = op;
    s.opset = 17;
    s.n_in = 1;
    s.in[0] = (onm_input){"size", I64, 0, {0}, &size};
    s.attr[0] = (onm_attr){"periodic", 2, periodic, NULL, NULL, 0};
    s.attr[1] = (onm_attr){"output_datatype", 2, out_dtype, NULL, NULL, 0};
    s.n_out = 1;
    s.out[0] = "y";
    s.out_dtype[0] = (lens_dtype)out_dtype;
    return onm_run(&s);
}

static void test_windows(void) {
    onm_result r = window("HannWindow", 4, 1, LENS_DTYPE_DOUBLE);
    onm_expect("hann periodic 4", &r, 0, 1, (const int64_t[]){4}, (const double[]){0, 0.5, 1, 0.5}, 4, 1e-15);
    r = window("HannWindow", 1, 0, F32);
    onm_expect("hann symmetric 1", &r, 0, 1, (const int64_t[]){1}, (const double[]){1}, 1, 0);
    r = window("BlackmanWindow", 3, 0, LENS_DTYPE_DOUBLE);
    onm_expect("blackman symmetric 3", &r, 0, 1, (const int64_t[]){3}, (const double[]){0, 1, 0}, 3, 1e-15);
    r = window("HammingWindow", 2, 1, F32);
    onm_expect("hamming periodic 2", &r, 0, 1, (const int64_t[]){2},
               (const double[]){4.0 / 46.0, 1.0}, 2, 1e-7);
    r = window("HammingWindow", 0, 1, F32);
    onm_expect("hamming empty", &r, 0, 1, (const int64_t[]){0}, NULL, 0, 0);
    r = window("HannWindow", -3, 1, F32);
    CHECK(r.open == LENS_OK && r.run == LENS_STATUS_INVALID_ARGUMENT, "size -3: %d", r.run);
    r = window("HannWindow", 4, 1, LENS_DTYPE_STRING);
    CHECK(r.open == LENS_STATUS_INVALID_MODEL, "string output_datatype: %d", r.open);
    r = window("HannWindow", 4, 2, F32);
    CHECK(r.open == LENS_STATUS_INVALID_MODEL, "periodic 2: %d", r.open);
}

static onm_spec dft(const float *x, int64_t len, int64_t comps, const int64_t *n) {
    onm_spec s;
    memset(&s, 0, sizeof s);
    s.op = "DFT";
    s.opset = 17;
    s.n_in = n ? 2 : 1;
    s.in[0] = (onm_input){"x", F32, 3, {1, len, comps}, x};
    if (n) s.in[1] = (onm_input){"dft_length", I64, 0, {0}, n};
    s.n_out = 1;
    s.out[0] = "y";
    s.out_dtype[0] = F32;
    return s;
}

static void test_dft(void) {
    static const float impulse[4] = {1, 0, 0, 0};
    onm_spec s = dft(impulse, 4, 1, NULL);
    onm_result r = onm_run(&s);
    onm_expect("dft impulse", &r, 0, 3, (const int64_t[]){1, 4, 2},
               (const double[]){1, 0, 1, 0, 1, 0, 1, 0}, 8, 1e-7);
    /* dft_length 2 keeps {1, 2}: {3, -1}; dft_length 4 pads {1, 2, 3, 0}:
     * {6, -2 - 2i, 2, -2 + 2i}. */
    static const float x3[3] = {1, 2, 3};
    static const int64_t two = 2, four = 4;
    s = dft(x3, 3, 1, &two);
    r = onm_run(&s);
    onm_expect("dft truncate", &r, 0, 3, (const int64_t[]){1, 2, 2}, (const double[]){3, 0, -1, 0}, 4, 1e-6);
    s = dft(x3, 3, 1, &four);
    r = onm_run(&s);
    onm_expect("dft pad", &r, 0, 3, (const int64_t[]){1, 4, 2},
               (const double[]){6, 0, -2, -2, 2, 0, -2, 2}, 8, 1e-6);
    s.attr[0] = (onm_attr){"onesided", 2, 1, NULL, NULL, 0};
    r = onm_run(&s);
    onm_expect("dft onesided", &r, 0, 3, (const int64_t[]){1, 3, 2},
               (const double[]){6, 0, -2, -2, 2, 0}, 6, 1e-6);
    /* Inverse of {4, 0, 0, 0} (complex) is {1, 1, 1, 1}. */
    static const float c4[8] = {4, 0, 0, 0, 0, 0, 0, 0};
    s = dft(c4, 4, 2, NULL);
    s.attr[0] = (onm_attr){"inverse", 2, 1, NULL, NULL, 0};
    r = onm_run(&s);
    onm_expect("dft inverse", &r, 0, 3, (const int64_t[]){1, 4, 2},
               (const double[]){1, 0, 1, 0, 1, 0, 1, 0}, 8, 1e-7);
    /* Errors: onesided on a complex input, a zero length, a bad axis. */
    s.attr[0] = (onm_attr){"onesided", 2, 1, NULL, NULL, 0};
    r = onm_run(&s);
    CHECK(r.run == LENS_STATUS_UNSUPPORTED, "onesided complex: %d", r.run);
    static const int64_t zero = 0;
    s = dft(x3, 3, 1, &zero);
    r = onm_run(&s);
    CHECK(r.run == LENS_STATUS_INVALID_ARGUMENT, "dft_length 0: %d", r.run);
    s = dft(x3, 3, 1, NULL);
    s.attr[0] = (onm_attr){"axis", 2, 2, NULL, NULL, 0};
    r = onm_run(&s);
    CHECK(r.run == LENS_STATUS_INVALID_MODEL, "axis 2 of rank 3: %d", r.run);
}

static void test_stft_mel(void) {
    /* Frames {1, 2} and {3, 4} (step 2, length 2), onesided: {3, -1}, {7, -1}. */
    static const float x[4] = {1, 2, 3, 4};
    static const int64_t step = 2, len = 2;
    onm_spec s;
    memset(&s, 0, sizeof s);
    s.op = "STFT";
    s.opset = 17;
    s.n_in = 4;
    s.in[0] = (onm_input){"signal", F32, 3, {1, 4, 1}, x};
    s.in[1] = (onm_input){"frame_step", I64, 0, {0}, &step};
    s.in[2] = (onm_input){NULL, F32, 0, {0}, NULL};
    s.in[3] = (onm_input){"frame_length", I64, 0, {0}, &len};
    s.n_out = 1;
    s.out[0] = "y";
    s.out_dtype[0] = F32;
    onm_result r = onm_run(&s);
    onm_expect("stft", &r, 0, 4, (const int64_t[]){1, 2, 2, 2},
               (const double[]){3, 0, -1, 0, 7, 0, -1, 0}, 8, 1e-6);
    s.n_in = 2; /* neither frame_length nor window */
    r = onm_run(&s);
    CHECK(r.run == LENS_STATUS_INVALID_MODEL, "stft without a frame length: %d", r.run);

    /* MelWeightMatrix with lower >= upper edge. */
    static const int64_t nmel = 2, dftlen = 8, rate = 100;
    static const float lo = 50, hi = 10;
    onm_spec m;
    memset(&m, 0, sizeof m);
    m.op = "MelWeightMatrix";
    m.opset = 17;
    m.n_in = 5;
    m.in[0] = (onm_input){"num_mel_bins", I64, 0, {0}, &nmel};
    m.in[1] = (onm_input){"dft_length", I64, 0, {0}, &dftlen};
    m.in[2] = (onm_input){"sample_rate", I64, 0, {0}, &rate};
    m.in[3] = (onm_input){"lower_edge_hertz", F32, 0, {0}, &lo};
    m.in[4] = (onm_input){"upper_edge_hertz", F32, 0, {0}, &hi};
    m.n_out = 1;
    m.out[0] = "y";
    m.out_dtype[0] = F32;
    r = onm_run(&m);
    CHECK(r.run == LENS_STATUS_INVALID_ARGUMENT, "mel lower > upper: %d", r.run);
}

int main(void) {
    test_windows();
    test_dft();
    test_stft_mel();
    if (onm_failures) {
        fprintf(stderr, "%d check(s) failed\n", onm_failures);
        return 1;
    }
    printf("test_signal: all checks passed\n");
    return 0;
}
