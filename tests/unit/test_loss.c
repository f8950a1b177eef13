/* Unit tests of the loss operators (ops/loss.c): NegativeLogLikelihoodLoss
 * and SoftmaxCrossEntropyLoss through the whole engine, on one-node models
 * built here in memory, against values computed by hand: every reduction,
 * weights, ignore_index (negative, outside [0, C), and ignoring every sample
 * under "mean", which is 0 / 0 = NaN as in ONNX's reference and PyTorch),
 * the [N, C] and [N, C, D] layouts, the optional log_prob output, float16
 * and double; and the errors: a target outside [0, C), mismatched shapes and
 * types, an unknown reduction (rejected at load). */
#include "one_node_model.h"

#define CHECK ONM_CHECK

typedef onm_input tin;
typedef onm_result result;

typedef struct spec {
    const char *op;
    int64_t opset;
    const char *reduction; /* NULL: attribute absent */
    bool has_ii;
    int64_t ii;
    int32_t n_in;
    tin in[3];
    int32_t n_out;       /* node outputs: "loss", then "log_prob" */
    bool log_prob_graph; /* log_prob is a graph output (else only a node output) */
} spec;

static result run_spec(const spec *s) {
    onm_spec o;
    memset(&o, 0, sizeof o);
    o.op = s->op;
    o.opset = s->opset;
    o.n_in = s->n_in;
    for (int32_t i = 0; i < s->n_in; i++) o.in[i] = s->in[i];
    int a = 0;
    if (s->reduction) o.attr[a++] = (onm_attr){"reduction", 3, 0, s->reduction, NULL, 0};
    if (s->has_ii) o.attr[a++] = (onm_attr){"ignore_index", 2, s->ii, NULL, NULL, 0};
    o.n_out = s->n_out;
    o.out[0] = "loss";
    o.out[1] = "log_prob";
    o.out_dtype[0] = o.out_dtype[1] = s->in[0].dtype;
    o.out_hidden = s->log_prob_graph ? 0 : 2;
    return onm_run(&o);
}

#define expect_values onm_expect

/* ---- NegativeLogLikelihoodLoss ------------------------------------------- */

/* The specification's example: N = 2, C = 3, d1 = 2. */
static const float k_x[12] = {1, 2, 2, 2, 3, 2, /* n = 0: classes 0, 1, 2 over d1 */
                              0, 1, 2, 2, 1, 2};
static const int64_t k_t[4] = {2, 1, 0, 2};
static const float k_w[3] = {0.2f, 0.3f, 0.1f};

static spec nll_spec(const char *reduction, const int64_t *target, const float *weight) {
    spec s = {"NegativeLogLikelihoodLoss", 13, reduction, false, 0, weight ? 3 : 2, {{0}}, 1, false};
    s.in[0] = (tin){"input", LENS_DTYPE_FLOAT, 3, {2, 3, 2}, k_x};
    s.in[1] = (tin){"target", LENS_DTYPE_INT64, 2, {2, 2}, target};
    if (weight) s.in[2] = (tin){"weight", LENS_DTYPE_FLOAT, 1, {3}, weight};
    return s;
}

static void test_nll_reductions(void) {
    static const int64_t d22[2] = {2, 2};
    /* loss[n][d] = -x[n][t][d]: t = 2,1 for n = 0 (x = 3, 2), t = 0,2 for n = 1 (x = 0, 2). */
    spec s = nll_spec("none", k_t, NULL);
    result r = run_spec(&s);
    expect_values("nll none", &r, 0, 2, d22, (const double[]){-3, -2, 0, -2}, 4, 1e-7);
    s = nll_spec("sum", k_t, NULL);
    r = run_spec(&s);
    expect_values("nll sum", &r, 0, 0, NULL, (const double[]){-7}, 1, 1e-7);
    s = nll_spec(NULL, k_t, NULL); /* default: mean */
    r = run_spec(&s);
    expect_values("nll mean (default)", &r, 0, 0, NULL, (const double[]){-1.75}, 1, 1e-7);

    /* Weighted: -3*0.1, -2*0.3, -0*0.2, -2*0.1. */
    s = nll_spec("none", k_t, k_w);
    r = run_spec(&s);
    expect_values("nll none weight", &r, 0, 2, d22, (const double[]){-0.3, -0.6, 0, -0.2}, 4, 1e-6);
    s = nll_spec("sum", k_t, k_w);
    r = run_spec(&s);
    expect_values("nll sum weight", &r, 0, 0, NULL, (const double[]){-1.1}, 1, 1e-6);
    /* mean: -1.1 / (0.1 + 0.3 + 0.2 + 0.1) */
    s = nll_spec("mean", k_t, k_w);
    r = run_spec(&s);
    expect_values("nll mean weight", &r, 0, 0, NULL, (const double[]){-1.1 / 0.7}, 1, 1e-6);
}

static void test_nll_ignore_index(void) {
    static const int64_t d22[2] = {2, 2};
    /* ignore_index = 2 drops samples 0 and 3: mean over the two others. */
    spec s = nll_spec("mean", k_t, NULL);
    s.has_ii = true;
    s.ii = 2;
    result r = run_spec(&s);
    expect_values("nll mean ii", &r, 0, 0, NULL, (const double[]){(-2.0 + 0.0) / 2}, 1, 1e-7);
    s.reduction = "none";
    r = run_spec(&s);
    expect_values("nll none ii", &r, 0, 2, d22, (const double[]){0, -2, 0, 0}, 4, 1e-7);
    /* Weighted, ignoring class 0: (-0.3 - 0.6 - 0.2) / (0.1 + 0.3 + 0.1). */
    s = nll_spec("mean", k_t, k_w);
    s.has_ii = true;
    s.ii = 0;
    r = run_spec(&s);
    expect_values("nll mean weight ii", &r, 0, 0, NULL, (const double[]){-1.1 / 0.5}, 1, 1e-6);

    /* Every sample ignored (negative ignore_index, as in the ONNX tests). */
    static const int64_t all_ignored[4] = {-1, -1, -1, -1};
    s = nll_spec("mean", all_ignored, NULL);
    s.has_ii = true;
    s.ii = -1;
    r = run_spec(&s);
    expect_values("nll mean all ignored", &r, 0, 0, NULL, (const double[]){NAN}, 1, 0);
    s = nll_spec("mean", all_ignored, k_w);
    s.has_ii = true;
    s.ii = -1;
    r = run_spec(&s);
    expect_values("nll mean weight all ignored", &r, 0, 0, NULL, (const double[]){NAN}, 1, 0);
    s.reduction = "sum";
    r = run_spec(&s);
    expect_values("nll sum all ignored", &r, 0, 0, NULL, (const double[]){0}, 1, 0);
    s.reduction = "none";
    r = run_spec(&s);
    expect_values("nll none all ignored", &r, 0, 2, d22, (const double[]){0, 0, 0, 0}, 4, 0);

    /* ignore_index above C: samples with that label are skipped, the rest count. */
    static const int64_t high[4] = {10, 1, 0, 10};
    s = nll_spec("sum", high, k_w);
    s.has_ii = true;
    s.ii = 10;
    r = run_spec(&s);
    expect_values("nll sum high ii", &r, 0, 0, NULL, (const double[]){-0.6}, 1, 1e-6);
}

static void test_nll_layouts(void) {
    /* [N, C] (k = 0), int32 target, double. */
    static const double x[6] = {-0.5, -1.5, -2.5, -3.5, -4.5, -5.5};
    static const int32_t t[2] = {1, 2};
    spec s = {"NegativeLogLikelihoodLoss", 12, "none", false, 0, 2, {{0}}, 1, false};
    s.in[0] = (tin){"input", LENS_DTYPE_DOUBLE, 2, {2, 3}, x};
    s.in[1] = (tin){"target", LENS_DTYPE_INT32, 1, {2}, t};
    result r = run_spec(&s);
    expect_values("nll NC double", &r, 0, 1, (const int64_t[]){2}, (const double[]){1.5, 5.5}, 2,
                  1e-15);
    s.reduction = "mean";
    r = run_spec(&s);
    expect_values("nll NC double mean", &r, 0, 0, NULL, (const double[]){3.5}, 1, 1e-15);

    /* float16 [1, 2, 1, 2]: class planes {0.5, 1} and {2, 4}. */
    static const uint16_t h[4] = {0x3800, 0x3c00, 0x4000, 0x4400};
    static const int64_t th[2] = {1, 0};
    spec s2 = {"NegativeLogLikelihoodLoss", 13, "sum", false, 0, 2, {{0}}, 1, false};
    s2.in[0] = (tin){"input", LENS_DTYPE_FLOAT16, 4, {1, 2, 1, 2}, h};
    s2.in[1] = (tin){"target", LENS_DTYPE_INT64, 3, {1, 1, 2}, th};
    r = run_spec(&s2);
    expect_values("nll float16 sum", &r, 0, 0, NULL, (const double[]){-3.0}, 1, 1e-3);
}

static void test_nll_errors(void) {
    /* A label outside [0, C) that is not ignore_index. */
    static const int64_t bad[4] = {2, 3, 0, 2};
    spec s = nll_spec("mean", bad, NULL);
    result r = run_spec(&s);
    CHECK(r.open == LENS_OK && r.run == LENS_STATUS_INVALID_ARGUMENT, "label 3 of 3 classes: %d %d",
          r.open, r.run);
    CHECK(strstr(lens_last_error(), "outside [0, 3)") != NULL, "message: %s", lens_last_error());
    static const int64_t neg[4] = {2, -1, 0, 2};
    s = nll_spec("sum", neg, k_w);
    s.has_ii = true;
    s.ii = -100;
    r = run_spec(&s);
    CHECK(r.run == LENS_STATUS_INVALID_ARGUMENT, "label -1, ignore_index -100: %d", r.run);

    s = nll_spec("average", k_t, NULL);
    r = run_spec(&s);
    CHECK(r.open == LENS_STATUS_INVALID_MODEL, "reduction \"average\" must fail the load: %d", r.open);

    /* Target shape [2, 3] for input [2, 3, 2]. */
    static const int64_t t6[6] = {0};
    s = nll_spec("none", t6, NULL);
    s.in[1].dims[1] = 3;
    r = run_spec(&s);
    CHECK(r.run == LENS_STATUS_SHAPE_MISMATCH, "target shape mismatch: %d", r.run);
    /* Weight with the wrong length. */
    s = nll_spec("none", k_t, k_w);
    s.in[2].dims[0] = 2;
    r = run_spec(&s);
    CHECK(r.run == LENS_STATUS_SHAPE_MISMATCH, "weight of 2 for 3 classes: %d", r.run);
    /* Float target. */
    s = nll_spec("none", (const int64_t *)k_x, NULL);
    s.in[1].dtype = LENS_DTYPE_FLOAT;
    r = run_spec(&s);
    CHECK(r.open != LENS_OK || r.run != LENS_OK, "float target accepted");
    /* Rank-1 input. */
    s = nll_spec("none", k_t, NULL);
    s.in[0].ndim = 1;
    s.in[0].dims[0] = 3;
    s.in[1].ndim = 0;
    r = run_spec(&s);
    CHECK(r.run == LENS_STATUS_SHAPE_MISMATCH, "rank-1 input: %d", r.run);
}

/* ---- SoftmaxCrossEntropyLoss --------------------------------------------- */

static void test_sce(void) {
    /* scores [1, 3] = {1, 2, 3}: logsumexp = 3 + ln(1 + e^-1 + e^-2) = 3.40760596444438;
     * log_prob = {-2.40760596, -1.40760596, -0.40760596}; label 2: loss 0.40760596. */
    static const float x[3] = {1, 2, 3};
    static const int64_t t[1] = {2};
    spec s = {"SoftmaxCrossEntropyLoss", 13, NULL, false, 0, 2, {{0}}, 2, true};
    s.in[0] = (tin){"scores", LENS_DTYPE_FLOAT, 2, {1, 3}, x};
    s.in[1] = (tin){"labels", LENS_DTYPE_INT64, 1, {1}, t};
    result r = run_spec(&s);
    expect_values("sce mean", &r, 0, 0, NULL, (const double[]){0.40760596444438}, 1, 1e-6);
    expect_values("sce log_prob", &r, 1, 2, (const int64_t[]){1, 3},
                  (const double[]){-2.40760596444438, -1.40760596444438, -0.40760596444438}, 3, 1e-6);

    /* log_prob produced by the node but read by nobody, and omitted. */
    s.log_prob_graph = false;
    r = run_spec(&s);
    expect_values("sce unused log_prob", &r, 0, 0, NULL, (const double[]){0.40760596444438}, 1, 1e-6);
    s.n_out = 1;
    r = run_spec(&s);
    expect_values("sce no log_prob", &r, 0, 0, NULL, (const double[]){0.40760596444438}, 1, 1e-6);

    /* [N, C, D] = [1, 2, 2], softmax over axis 1 per d:
     *   d = 0: scores {0, 0} -> log_prob {-ln 2, -ln 2}
     *   d = 1: scores {1, 3} -> logsumexp 3 + ln(1 + e^-2) = 3.12692801104297
     * labels {0, 1}: losses {ln 2, 0.12692801104297}; weights {2, 0.5}. */
    static const double x3[4] = {0, 1, 0, 3};
    static const int64_t t3[2] = {0, 1};
    static const double w3[2] = {2, 0.5};
    spec s3 = {"SoftmaxCrossEntropyLoss", 12, "none", false, 0, 2, {{0}}, 2, true};
    s3.in[0] = (tin){"scores", LENS_DTYPE_DOUBLE, 3, {1, 2, 2}, x3};
    s3.in[1] = (tin){"labels", LENS_DTYPE_INT64, 2, {1, 2}, t3};
    r = run_spec(&s3);
    expect_values("sce 3d none", &r, 0, 2, (const int64_t[]){1, 2},
                  (const double[]){M_LN2, 0.12692801104297}, 2, 1e-12);
    expect_values("sce 3d log_prob", &r, 1, 3, (const int64_t[]){1, 2, 2},
                  (const double[]){-M_LN2, -2.12692801104297, -M_LN2, -0.12692801104297}, 4, 1e-12);
    s3.in[2] = (tin){"weights", LENS_DTYPE_DOUBLE, 1, {2}, w3};
    s3.n_in = 3;
    s3.reduction = "mean";
    r = run_spec(&s3);
    /* (2 ln 2 + 0.5 * 0.126928) / (2 + 0.5) */
    expect_values("sce 3d mean weight", &r, 0, 0, NULL,
                  (const double[]){(2 * M_LN2 + 0.5 * 0.12692801104297) / 2.5}, 1, 1e-12);
    s3.has_ii = true;
    s3.ii = 0;
    s3.reduction = "sum";
    r = run_spec(&s3);
    expect_values("sce 3d sum weight ii", &r, 0, 0, NULL, (const double[]){0.5 * 0.12692801104297},
                  1, 1e-12);

    /* Everything ignored under "mean": NaN; log_prob is still produced. */
    static const int64_t ign[1] = {-5};
    s.n_out = 2;
    s.log_prob_graph = true;
    s.in[1].data = ign;
    s.has_ii = true;
    s.ii = -5;
    r = run_spec(&s);
    expect_values("sce all ignored", &r, 0, 0, NULL, (const double[]){NAN}, 1, 0);
    expect_values("sce all ignored log_prob", &r, 1, 2, (const int64_t[]){1, 3},
                  (const double[]){-2.40760596444438, -1.40760596444438, -0.40760596444438}, 3, 1e-6);

    /* Large scores do not overflow (the maximum is subtracted first). */
    static const float big[2] = {1000, 1000};
    static const int64_t t0[1] = {0};
    spec sb = {"SoftmaxCrossEntropyLoss", 13, "sum", false, 0, 2, {{0}}, 1, false};
    sb.in[0] = (tin){"scores", LENS_DTYPE_FLOAT, 2, {1, 2}, big};
    sb.in[1] = (tin){"labels", LENS_DTYPE_INT64, 1, {1}, t0};
    r = run_spec(&sb);
    expect_values("sce large scores", &r, 0, 0, NULL, (const double[]){M_LN2}, 1, 1e-6);

    /* Label out of range. */
    static const int64_t t5[1] = {5};
    sb.in[1].data = t5;
    r = run_spec(&sb);
    CHECK(r.run == LENS_STATUS_INVALID_ARGUMENT, "sce label 5 of 2 classes: %d", r.run);
}

int main(void) {
    test_nll_reductions();
    test_nll_ignore_index();
    test_nll_layouts();
    test_nll_errors();
    test_sce();
    if (onm_failures) {
        fprintf(stderr, "%d check(s) failed\n", onm_failures);
        return 1;
    }
    printf("test_loss: all checks passed\n");
    return 0;
}
