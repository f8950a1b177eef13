/* Unit tests of the quantized integer operators (ops/quant.c) through the
 * whole engine, against values computed by hand: per-row and per-column zero
 * points and scales, batch broadcasting, 1-D operands, int32 wrap-around of
 * the accumulation, strided/padded/grouped integer convolutions, bias,
 * rounding half to even and saturation in the requantizing operators,
 * DynamicQuantizeLinear's NaN and degenerate ranges; and the errors that
 * malformed parameters must give instead of reading out of bounds. */
#include "one_node_model.h"

#define CHECK ONM_CHECK

#define U8 LENS_DTYPE_UINT8
#define I8 LENS_DTYPE_INT8
#define I32 LENS_DTYPE_INT32
#define F32 LENS_DTYPE_FLOAT

static onm_spec node(const char *op, int64_t opset, lens_dtype out_dtype) {
    onm_spec s;
    memset(&s, 0, sizeof s);
    s.op = op;
    s.opset = opset;
    s.n_out = 1;
    s.out[0] = "y";
    s.out_dtype[0] = out_dtype;
    return s;
}

/* ---- MatMulInteger -------------------------------------------------------- */

static void test_matmulinteger(void) {
    /* A int8 [2, 3] with per-row zero points {1, -1}; B uint8 [3, 2] with
     * per-column zero points {2, 0}:
     *   A - za = [[0, 1, 2], [3, 2, 1]];  B - zb = [[-1, 1], [0, 2], [1, 3]]
     *   y = [[0 + 0 + 2, 0 + 2 + 6], [-3 + 0 + 1, 3 + 4 + 3]] = [[2, 8], [-2, 10]] */
    static const int8_t a[6] = {1, 2, 3, 2, 1, 0};
    static const int8_t az[2] = {1, -1};
    static const uint8_t b[6] = {1, 1, 2, 2, 3, 3};
    static const uint8_t bz[2] = {2, 0};
    onm_spec s = node("MatMulInteger", 10, I32);
    s.n_in = 4;
    s.in[0] = (onm_input){"A", I8, 2, {2, 3}, a};
    s.in[1] = (onm_input){"B", U8, 2, {3, 2}, b};
    s.in[2] = (onm_input){"a_zero_point", I8, 1, {2}, az};
    s.in[3] = (onm_input){"b_zero_point", U8, 1, {2}, bz};
    onm_result r = onm_run(&s);
    onm_expect("matmulinteger per row/column", &r, 0, 2, (const int64_t[]){2, 2},
               (const double[]){2, 8, -2, 10}, 4, 0);

    /* The same zero points as [2, 1] and [1, 2] tensors. */
    s.in[2].ndim = 2;
    s.in[2].dims[1] = 1;
    s.in[3].ndim = 2;
    s.in[3].dims[0] = 1;
    s.in[3].dims[1] = 2;
    r = onm_run(&s);
    onm_expect("matmulinteger N-d zero points", &r, 0, 2, (const int64_t[]){2, 2},
               (const double[]){2, 8, -2, 10}, 4, 0);

    /* A zero point along K is not per row: an error, not a guess. */
    s.in[2] = (onm_input){"a_zero_point", I8, 1, {3}, (const int8_t[]){0, 0, 0}};
    r = onm_run(&s);
    CHECK(r.open == LENS_OK && r.run == LENS_STATUS_SHAPE_MISMATCH, "a_zero_point [3] for M = 2: %d",
          r.run);
    s.in[2] = (onm_input){"a_zero_point", U8, 1, {2}, az};
    r = onm_run(&s);
    CHECK(r.run == LENS_STATUS_INVALID_MODEL, "uint8 zero point of int8 A: %d", r.run);

    /* Batch broadcast: A [2, 1, 2] times B [2, 1] -> [2, 1, 1]. */
    static const uint8_t a3[4] = {1, 2, 3, 4}, b3[2] = {10, 1};
    onm_spec s2 = node("MatMulInteger", 10, I32);
    s2.n_in = 2;
    s2.in[0] = (onm_input){"A", U8, 3, {2, 1, 2}, a3};
    s2.in[1] = (onm_input){"B", U8, 2, {2, 1}, b3};
    r = onm_run(&s2);
    onm_expect("matmulinteger batch", &r, 0, 3, (const int64_t[]){2, 1, 1}, (const double[]){12, 34},
               2, 0);
    /* 1-D times 1-D: a scalar. */
    s2.in[0] = (onm_input){"A", U8, 1, {2}, a3};
    s2.in[1] = (onm_input){"B", U8, 1, {2}, b3};
    r = onm_run(&s2);
    onm_expect("matmulinteger 1-D", &r, 0, 0, NULL, (const double[]){12}, 1, 0);
    /* K mismatch. */
    s2.in[1] = (onm_input){"B", U8, 2, {3, 1}, (const uint8_t[]){1, 2, 3}};
    r = onm_run(&s2);
    CHECK(r.run == LENS_STATUS_SHAPE_MISMATCH, "[2] x [3, 1]: %d", r.run);
    s2.in[0] = (onm_input){"A", F32, 1, {3}, (const float[]){1, 2, 3}};
    r = onm_run(&s2);
    CHECK(r.run == LENS_STATUS_UNSUPPORTED, "float A: %d", r.run);

    /* The int32 accumulation wraps: K = 33100 products of 255 * 255 sum to
     * 2152327500 = 2^32 - 2142639796. */
    enum { K = 33100 };
    uint8_t *big = malloc(K);
    memset(big, 255, K);
    onm_spec s3 = node("MatMulInteger", 10, I32);
    s3.n_in = 2;
    s3.in[0] = (onm_input){"A", U8, 2, {1, K}, big};
    s3.in[1] = (onm_input){"B", U8, 2, {K, 1}, big};
    r = onm_run(&s3);
    onm_expect("matmulinteger int32 wrap", &r, 0, 2, (const int64_t[]){1, 1},
               (const double[]){-2142639796.0}, 1, 0);
    free(big);
}

/* ---- QLinearMatMul -------------------------------------------------------- */

static onm_spec qlinear_mm(const void *a, lens_dtype adt, const int64_t *adims, const void *b,
                           const int64_t *bdims, const float *as, const void *az, const float *bs,
                           const void *bz, int32_t bn, const float *ys, const void *yz, lens_dtype ydt) {
    onm_spec s = node("QLinearMatMul", 10, ydt);
    s.n_in = 8;
    s.in[0] = (onm_input){"a", adt, 2, {adims[0], adims[1]}, a};
    s.in[1] = (onm_input){"a_scale", F32, 0, {0}, as};
    s.in[2] = (onm_input){"a_zero_point", adt, 0, {0}, az};
    s.in[3] = (onm_input){"b", U8, 2, {bdims[0], bdims[1]}, b};
    s.in[4] = (onm_input){"b_scale", F32, 1, {bn}, bs};
    s.in[5] = (onm_input){"b_zero_point", U8, 1, {bn}, bz};
    s.in[6] = (onm_input){"y_scale", F32, 0, {0}, ys};
    s.in[7] = (onm_input){"y_zero_point", ydt, 0, {0}, yz};
    return s;
}

static void test_qlinearmatmul(void) {
    /* a = [10, 20], scale 0.5, zero point 10 -> [0, 5]; b per column: scales
     * {1, 2}, zero points 0 -> [[1, 4], [3, 8]]; a.b = [15, 40].
     * y_scale 0.5, y_zero_point 100 (uint8): [130, 180]. */
    static const uint8_t a[2] = {10, 20}, b[4] = {1, 2, 3, 4}, az = 10, bz[2] = {0, 0}, yz = 100;
    static const float as = 0.5f, bs[2] = {1, 2}, ys = 0.5f;
    onm_spec s = qlinear_mm(a, U8, (const int64_t[]){1, 2}, b, (const int64_t[]){2, 2}, &as, &az,
                            bs, bz, 2, &ys, &yz, U8);
    onm_result r = onm_run(&s);
    onm_expect("qlinearmatmul per column", &r, 0, 2, (const int64_t[]){1, 2},
               (const double[]){130, 180}, 2, 0);
    /* int8 output, y_scale 0.1, zero point -100: 150 - 100 = 50, 400 - 100 saturates to 127. */
    static const int8_t yz8 = -100;
    static const float ys2 = 0.1f;
    s = qlinear_mm(a, U8, (const int64_t[]){1, 2}, b, (const int64_t[]){2, 2}, &as, &az, bs, bz, 2,
                   &ys2, &yz8, I8);
    r = onm_run(&s);
    onm_expect("qlinearmatmul saturate", &r, 0, 2, (const int64_t[]){1, 2},
               (const double[]){50, 127}, 2, 0);

    /* Rounding half to even: 5 / 2 = 2.5 -> 2, 7 / 2 = 3.5 -> 4. */
    static const uint8_t a2[2] = {5, 7}, b2[1] = {1}, zero = 0;
    static const float one = 1, two = 2;
    s = qlinear_mm(a2, U8, (const int64_t[]){2, 1}, b2, (const int64_t[]){1, 1}, &one, &zero, &one,
                   &zero, 1, &two, &zero, U8);
    r = onm_run(&s);
    onm_expect("qlinearmatmul half even", &r, 0, 2, (const int64_t[]){2, 1}, (const double[]){2, 4},
               2, 0);

    /* y_scale must be one value. */
    static const float ys_two[2] = {1, 1};
    s = qlinear_mm(a, U8, (const int64_t[]){1, 2}, b, (const int64_t[]){2, 2}, &as, &az, bs, bz, 2,
                   ys_two, &yz, U8);
    s.in[6].ndim = 1;
    s.in[6].dims[0] = 2;
    r = onm_run(&s);
    CHECK(r.open == LENS_OK && r.run == LENS_STATUS_SHAPE_MISMATCH, "y_scale [2]: %d", r.run);
    /* b_scale and b_zero_point must agree in shape. */
    s = qlinear_mm(a, U8, (const int64_t[]){1, 2}, b, (const int64_t[]){2, 2}, &as, &az, bs, bz, 2,
                   &ys, &yz, U8);
    s.in[5].dims[0] = 1;
    r = onm_run(&s);
    CHECK(r.run == LENS_STATUS_SHAPE_MISMATCH, "b_scale [2], b_zero_point [1]: %d", r.run);
    /* An omitted required input. */
    s = qlinear_mm(a, U8, (const int64_t[]){1, 2}, b, (const int64_t[]){2, 2}, &as, &az, bs, bz, 2,
                   &ys, &yz, U8);
    s.in[2].name = NULL;
    r = onm_run(&s);
    CHECK(r.open != LENS_OK || r.run == LENS_STATUS_INVALID_MODEL, "omitted a_zero_point: %d %d",
          r.open, r.run);
}

/* ---- ConvInteger and QLinearConv ----------------------------------------- */

static void test_convinteger(void) {
    /* x = 1..9 (3 x 3), x_zero_point 1 -> [[0, 1, 2], [3, 4, 5], [6, 7, 8]];
     * filter 0: all 2, zero point 1 (ones); filter 1: all 3, zero point 3
     * (zeros). strides 2, pads {0, 0, 1, 1}: 2 x 2 windows
     *   (0,0): 0+1+3+4 = 8, (0,2): 2+5 = 7, (2,0): 6+7 = 13, (2,2): 8. */
    static const uint8_t x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, xz = 1;
    static const uint8_t w[8] = {2, 2, 2, 2, 3, 3, 3, 3}, wz[2] = {1, 3};
    static const int64_t strides[2] = {2, 2}, pads[4] = {0, 0, 1, 1};
    onm_spec s = node("ConvInteger", 10, I32);
    s.n_in = 4;
    s.in[0] = (onm_input){"x", U8, 4, {1, 1, 3, 3}, x};
    s.in[1] = (onm_input){"w", U8, 4, {2, 1, 2, 2}, w};
    s.in[2] = (onm_input){"x_zero_point", U8, 0, {0}, &xz};
    s.in[3] = (onm_input){"w_zero_point", U8, 1, {2}, wz};
    s.attr[0] = (onm_attr){"strides", 7, 0, NULL, strides, 2};
    s.attr[1] = (onm_attr){"pads", 7, 0, NULL, pads, 4};
    onm_result r = onm_run(&s);
    onm_expect("convinteger per channel", &r, 0, 4, (const int64_t[]){1, 2, 2, 2},
               (const double[]){8, 7, 13, 8, 0, 0, 0, 0}, 8, 0);
    /* w_zero_point of the wrong length. */
    s.in[3].dims[0] = 1;
    r = onm_run(&s);
    CHECK(r.run == LENS_OK, "w_zero_point [1] is per tensor: %d %s", r.run, lens_last_error());
    static const uint8_t wz3[3] = {0, 0, 0};
    s.in[3] = (onm_input){"w_zero_point", U8, 1, {3}, wz3};
    r = onm_run(&s);
    CHECK(r.run == LENS_STATUS_SHAPE_MISMATCH, "w_zero_point [3] for 2 filters: %d", r.run);

    /* 1-D, int8, two groups: ch0 = {1, 2, 3, 4} with filter {1, 1};
     * ch1 = {-1, -2, -3, -4} with filter {2, -1}. */
    static const int8_t x1[8] = {1, 2, 3, 4, -1, -2, -3, -4}, w1[4] = {1, 1, 2, -1};
    onm_spec s1 = node("ConvInteger", 10, I32);
    s1.n_in = 2;
    s1.in[0] = (onm_input){"x", I8, 3, {1, 2, 4}, x1};
    s1.in[1] = (onm_input){"w", I8, 3, {2, 1, 2}, w1};
    s1.attr[0] = (onm_attr){"group", 2, 2, NULL, NULL, 0};
    r = onm_run(&s1);
    onm_expect("convinteger 1-D groups", &r, 0, 3, (const int64_t[]){1, 2, 3},
               (const double[]){3, 5, 7, 0, -1, -2}, 6, 0);
    /* Rank mismatch and a kernel larger than the input. */
    s1.in[1].ndim = 4;
    s1.in[1].dims[3] = 1;
    r = onm_run(&s1);
    CHECK(r.run == LENS_STATUS_SHAPE_MISMATCH, "w rank 4, x rank 3: %d", r.run);
    static const int8_t w9[10] = {0};
    s1.in[1] = (onm_input){"w", I8, 3, {2, 1, 5}, w9};
    r = onm_run(&s1);
    CHECK(r.run == LENS_STATUS_SHAPE_MISMATCH, "kernel 5 over input 4: %d", r.run);
}

static void test_qlinearconv(void) {
    /* x = {3, 5}, scale 1, zero point 1 -> {2, 4}; filters {1} and {-1}
     * with scales {1, 0.5}; bias {10, -2}; y_scale 2, zero point 10:
     *   f0: (2 + 10, 4 + 10) * 1 / 2 = 6, 7           -> 16, 17
     *   f1: (-2 - 2, -4 - 2) * 0.5 / 2 = -1, -1.5 (-2) -> 9, 8 */
    static const uint8_t x[2] = {3, 5}, xz = 1, yz = 10;
    static const int8_t w[2] = {1, -1}, wz[2] = {0, 0};
    static const float xs = 1, ws[2] = {1, 0.5f}, ys = 2;
    static const int32_t bias[2] = {10, -2};
    onm_spec s = node("QLinearConv", 10, U8);
    s.n_in = 9;
    s.in[0] = (onm_input){"x", U8, 4, {1, 1, 1, 2}, x};
    s.in[1] = (onm_input){"x_scale", F32, 0, {0}, &xs};
    s.in[2] = (onm_input){"x_zero_point", U8, 0, {0}, &xz};
    s.in[3] = (onm_input){"w", I8, 4, {2, 1, 1, 1}, w};
    s.in[4] = (onm_input){"w_scale", F32, 1, {2}, ws};
    s.in[5] = (onm_input){"w_zero_point", I8, 1, {2}, wz};
    s.in[6] = (onm_input){"y_scale", F32, 0, {0}, &ys};
    s.in[7] = (onm_input){"y_zero_point", U8, 0, {0}, &yz};
    s.in[8] = (onm_input){"B", I32, 1, {2}, bias};
    onm_result r = onm_run(&s);
    onm_expect("qlinearconv bias per channel", &r, 0, 4, (const int64_t[]){1, 2, 1, 2},
               (const double[]){16, 17, 9, 8}, 4, 0);
    /* Without the bias: f0 {1, 2}; f1 {-0.5 -> 0, -1} -> 11, 12, 10, 9. */
    s.n_in = 8;
    r = onm_run(&s);
    onm_expect("qlinearconv no bias", &r, 0, 4, (const int64_t[]){1, 2, 1, 2},
               (const double[]){11, 12, 10, 9}, 4, 0);
    /* A bias of the wrong length, an x_scale that is not one value. */
    s.n_in = 9;
    s.in[8].dims[0] = 1;
    r = onm_run(&s);
    CHECK(r.run == LENS_STATUS_SHAPE_MISMATCH, "bias [1] for 2 filters: %d", r.run);
    s.in[8].dims[0] = 2;
    s.in[1] = (onm_input){"x_scale", F32, 1, {2}, ws};
    r = onm_run(&s);
    CHECK(r.run == LENS_STATUS_SHAPE_MISMATCH, "x_scale [2]: %d", r.run);
}

/* ---- DynamicQuantizeLinear ------------------------------------------------ */

static onm_spec dql(const float *x, int64_t n) {
    onm_spec s = node("DynamicQuantizeLinear", 11, U8);
    s.n_in = 1;
    s.in[0] = (onm_input){"x", F32, 1, {n}, x};
    s.n_out = 3;
    s.out[1] = "y_scale";
    s.out[2] = "y_zero_point";
    s.out_dtype[1] = F32;
    s.out_dtype[2] = U8;
    return s;
}

static void test_dynamicquantize(void) {
    /* x = {NaN, 3, -1}: range [-1, 3], scale 4 / 255 = 0.0156862745;
     * zero point round(63.75) = 64; 3 -> 191.25 -> 191 + 64 = 255;
     * -1 -> -64 + 64 = 0; NaN -> the zero point. */
    static const float x[3] = {NAN, 3, -1};
    onm_spec s = dql(x, 3);
    onm_result r = onm_run(&s);
    onm_expect("dql y", &r, 0, 1, (const int64_t[]){3}, (const double[]){64, 255, 0}, 3, 0);
    onm_expect("dql scale", &r, 1, 0, NULL, (const double[]){4.0 / 255.0}, 1, 1e-7);
    onm_expect("dql zero point", &r, 2, 0, NULL, (const double[]){64}, 1, 0);
    /* All zeros: no range; scale 0, everything 0. */
    static const float z[2] = {0, 0};
    s = dql(z, 2);
    r = onm_run(&s);
    onm_expect("dql zeros y", &r, 0, 1, (const int64_t[]){2}, (const double[]){0, 0}, 2, 0);
    onm_expect("dql zeros scale", &r, 1, 0, NULL, (const double[]){0}, 1, 0);
    /* Only positive values: the range still includes 0 (zero point 0). */
    static const float p[2] = {2.55f, 1.0f};
    s = dql(p, 2);
    r = onm_run(&s);
    onm_expect("dql positive y", &r, 0, 1, (const int64_t[]){2}, (const double[]){255, 100}, 2, 0);
    onm_expect("dql positive zero point", &r, 2, 0, NULL, (const double[]){0}, 1, 0);
    /* An infinite value has no finite scale: defined, not undefined behaviour. */
    static const float inf[2] = {INFINITY, 1};
    s = dql(inf, 2);
    r = onm_run(&s);
    onm_expect("dql infinity y", &r, 0, 1, (const int64_t[]){2}, (const double[]){0, 0}, 2, 0);
    /* Empty input. */
    s = dql(x, 0);
    r = onm_run(&s);
    onm_expect("dql empty", &r, 0, 1, (const int64_t[]){0}, NULL, 0, 0);
    /* Double input is not in the operator's type list. */
    static const double d[1] = {1};
    s = dql(x, 1);
    s.in[0].dtype = LENS_DTYPE_DOUBLE;
    s.in[0].data = d;
    r = onm_run(&s);
    CHECK(r.run == LENS_STATUS_UNSUPPORTED, "double input: %d", r.run);
}

int main(void) {
    test_matmulinteger();
    test_qlinearmatmul();
    test_convinteger();
    test_qlinearconv();
    test_dynamicquantize();
    if (onm_failures) {
        fprintf(stderr, "%d check(s) failed\n", onm_failures);
        return 1;
    }
    printf("test_quant: all checks passed\n");
    return 0;
}
