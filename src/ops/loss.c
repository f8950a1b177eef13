/* Loss operators: NegativeLogLikelihoodLoss (opset 12/13) and
 * SoftmaxCrossEntropyLoss (opset 12/13, optional log_prob output).
 *
 * Both read an [N, C, d1..dk] input and an [N, d1..dk] integer target and
 * are viewed here as [N, C, D] with D = d1 * ... * dk (1 for k = 0). The
 * per-sample loss is -input[n, t, d] * weight[t] (weight 1 when absent), 0
 * where t equals ignore_index; the reductions follow the ONNX specification:
 *   none  the per-sample losses, shaped like the target
 *   sum   their sum
 *   mean  their sum divided by the sum of the applied weights W[n, d]
 *         (weight[t], or 1 without weights; 0 where ignored). This is ONNX's
 *         sum(loss) / sum(weight[target]) and, without weights, the mean over
 *         the samples that are not ignored (the reference implementation's
 *         and PyTorch's rule). When every sample is ignored the result is
 *         0 / 0 = NaN, as in both of them.
 * A target value outside [0, C) that is not ignore_index is an error: the
 * specification allows no other values, and reading the input there would
 * be out of bounds.
 *
 * Every type (float16, bfloat16, float, double) is computed in double and
 * the results are rounded once to the input's type. */
#include <math.h>
#include <string.h>

#include "ops/op.h"

typedef enum loss_reduction { LOSS_NONE, LOSS_SUM, LOSS_MEAN } loss_reduction;

static lens_status parse_reduction(const lens_node *node, loss_reduction *out) {
    const char *r = lens_node_attr_string(node, "reduction", "mean");
    if (!strcmp(r, "none")) *out = LOSS_NONE;
    else if (!strcmp(r, "sum")) *out = LOSS_SUM;
    else if (!strcmp(r, "mean")) *out = LOSS_MEAN;
    else
        return lens_error(LENS_STATUS_INVALID_MODEL,
                          "reduction must be \"none\", \"sum\" or \"mean\", got \"%s\"", r);
    return LENS_OK;
}

/* Attributes are static: reject a bad reduction when the model loads. */
static lens_status loss_init(lens_graph *g, lens_node *node) {
    loss_reduction r;
    return parse_reduction(node, &r);
}

static bool is_float_type(lens_dtype dt) {
    return dt == LENS_DTYPE_FLOAT || dt == LENS_DTYPE_DOUBLE || dt == LENS_DTYPE_FLOAT16 ||
           dt == LENS_DTYPE_BFLOAT16;
}

/* Checks the inputs' types and shapes; sets N, C and D. `xname`/`tname` are
 * the ONNX input names for the messages. */
static lens_status loss_check(const lens_tensor *x, const lens_tensor *t, const lens_tensor *w,
                              const char *xname, const char *tname, const char *wname,
                              int64_t *n, int64_t *c, int64_t *d) {
    char sx[128], st[128];
    if (!is_float_type(x->dtype))
        return lens_error(LENS_STATUS_UNSUPPORTED, "%s has type %s (float16, bfloat16, float or double)",
                          xname, lens_dtype_name(x->dtype));
    if (t->dtype != LENS_DTYPE_INT32 && t->dtype != LENS_DTYPE_INT64)
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s has type %s (int32 or int64)", tname,
                          lens_dtype_name(t->dtype));
    if (x->ndim < 2)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "%s must be [N, C, d1..dk], got %s", xname,
                          lens_shape_str(x->ndim, x->dims, sx, sizeof sx));
    bool ok = t->ndim == x->ndim - 1 && t->dims[0] == x->dims[0];
    for (int32_t i = 1; ok && i < t->ndim; i++) ok = t->dims[i] == x->dims[i + 1];
    if (!ok)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "%s %s does not match %s %s (want [N, d1..dk])",
                          tname, lens_shape_str(t->ndim, t->dims, st, sizeof st), xname,
                          lens_shape_str(x->ndim, x->dims, sx, sizeof sx));
    *n = x->dims[0];
    *c = x->dims[1];
    *d = 1;
    for (int32_t i = 2; i < x->ndim; i++) *d *= x->dims[i];
    if (w) {
        if (w->dtype != x->dtype)
            return lens_error(LENS_STATUS_INVALID_MODEL, "%s has type %s, %s has %s", wname,
                              lens_dtype_name(w->dtype), xname, lens_dtype_name(x->dtype));
        if (w->ndim != 1 || w->dims[0] != *c)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "%s must be [C] = [%lld], got %s", wname,
                              (long long)*c, lens_shape_str(w->ndim, w->dims, st, sizeof st));
    }
    return LENS_OK;
}

/* The losses over log-probabilities lp ([N, C, D], double). Writes the
 * per-sample losses into per[N * D] and the reduced value into *total
 * (unused for LOSS_NONE). */
static lens_status loss_compute(const double *lp, const lens_tensor *t, const double *w, int64_t n,
                                int64_t c, int64_t d, const lens_attr *ii, loss_reduction red,
                                double *per, double *total) {
    double sum = 0, wsum = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            int64_t k = i * d + j;
            int64_t cls = lens_tensor_get_i64(t, k);
            if (ii && cls == ii->i) {
                per[k] = 0;
                continue;
            }
            if (cls < 0 || cls >= c)
                return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                                  "target value %lld at index %lld is outside [0, %lld)%s",
                                  (long long)cls, (long long)k, (long long)c,
                                  ii ? " and is not ignore_index" : "");
            double wt = w ? w[cls] : 1.0;
            per[k] = -lp[(i * c + cls) * d + j] * wt;
            sum += per[k];
            wsum += wt;
        }
    *total = red == LOSS_SUM ? sum : red == LOSS_MEAN ? sum / wsum : 0;
    return LENS_OK;
}

/* Scratch layout: lp[numel(x)], per[N * D], w[C], and 2 * D for SCE's
 * column maxima and sums. */
typedef struct loss_work {
    double *lp, *per, *w, *tmp;
} loss_work;

static lens_status loss_scratch(lens_exec *ex, int64_t numel, int64_t nd, int64_t c, int64_t d,
                                loss_work *wk) {
    size_t total = 0;
    const int64_t parts[4] = {numel, nd, c, 2 * d};
    for (int i = 0; i < 4; i++)
        if (lens_add_ovf_size(total, (size_t)parts[i], &total))
            return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "loss work memory overflows");
    size_t bytes;
    if (lens_mul_ovf_size(total + 1, sizeof(double), &bytes))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "loss work memory overflows");
    double *p = lens_exec_scratch(ex, bytes);
    if (!p) return LENS_STATUS_OUT_OF_MEMORY; /* message set by lens_exec_scratch */
    wk->lp = p;
    wk->per = wk->lp + numel;
    wk->w = wk->per + nd;
    wk->tmp = wk->w + c;
    return LENS_OK;
}

/* Shared driver. `softmax`: SoftmaxCrossEntropyLoss (log-softmax over the
 * class axis first), else NegativeLogLikelihoodLoss (input holds
 * log-probabilities). */
static lens_status loss_run(const lens_node *node, lens_exec *ex, bool softmax) {
    const char *xname = softmax ? "scores" : "input", *tname = softmax ? "labels" : "target";
    const char *wname = softmax ? "weights" : "weight";
    const lens_tensor *x = lens_exec_input(ex, 0), *t = lens_exec_input(ex, 1);
    const lens_tensor *w = lens_exec_input(ex, 2);
    if (!x || !t) return lens_error(LENS_STATUS_INVALID_MODEL, "needs %s and %s", xname, tname);
    loss_reduction red;
    LENS_TRY(parse_reduction(node, &red));
    int64_t n = 0, c = 0, d = 0;
    LENS_TRY(loss_check(x, t, w, xname, tname, wname, &n, &c, &d));
    const lens_attr *ii = lens_node_attr(node, "ignore_index");
    if (ii && ii->type != LENS_ATTR_INT)
        return lens_error(LENS_STATUS_INVALID_MODEL, "ignore_index must be an integer attribute");
    /* Outputs first: an omitted optional output would be given scratch
     * memory, which must not be asked for after the work memory below. */
    lens_tensor *y, *lp = NULL;
    if (red == LOSS_NONE) LENS_TRY(lens_exec_output(ex, 0, x->dtype, t->ndim, t->dims, &y));
    else LENS_TRY(lens_exec_output(ex, 0, x->dtype, 0, NULL, &y));
    if (softmax && node->n_outputs > 1 && node->outputs[1] >= 0)
        LENS_TRY(lens_exec_output(ex, 1, x->dtype, x->ndim, x->dims, &lp));
    int64_t numel = lens_tensor_numel(x), nd = n * d;
    loss_work wk = {0};
    LENS_TRY(loss_scratch(ex, numel, nd, c, d, &wk));
    if (numel) LENS_TRY(lens_convert(x->data, x->dtype, wk.lp, LENS_DTYPE_DOUBLE, numel));
    if (w && c) LENS_TRY(lens_convert(w->data, w->dtype, wk.w, LENS_DTYPE_DOUBLE, c));
    if (softmax && c > 0) {
        /* log_softmax over axis 1, in place, column by column of each [C, D]
         * block so that the inner loops run over contiguous d. */
        double *mx = wk.tmp, *s = wk.tmp + d;
        for (int64_t i = 0; i < n; i++) {
            double *b = wk.lp + i * c * d;
            for (int64_t j = 0; j < d; j++) { mx[j] = b[j]; s[j] = 0; }
            for (int64_t k = 1; k < c; k++)
                for (int64_t j = 0; j < d; j++)
                    if (b[k * d + j] > mx[j]) mx[j] = b[k * d + j];
            for (int64_t k = 0; k < c; k++)
                for (int64_t j = 0; j < d; j++) s[j] += exp(b[k * d + j] - mx[j]);
            for (int64_t j = 0; j < d; j++) s[j] = mx[j] + log(s[j]);
            for (int64_t k = 0; k < c; k++)
                for (int64_t j = 0; j < d; j++) b[k * d + j] -= s[j];
        }
    }
    double total = 0;
    LENS_TRY(loss_compute(wk.lp, t, w ? wk.w : NULL, n, c, d, ii, red, wk.per, &total));
    if (red != LOSS_NONE) LENS_TRY(lens_convert(&total, LENS_DTYPE_DOUBLE, y->data, x->dtype, 1));
    else if (nd) LENS_TRY(lens_convert(wk.per, LENS_DTYPE_DOUBLE, y->data, x->dtype, nd));
    if (lp && numel) LENS_TRY(lens_convert(wk.lp, LENS_DTYPE_DOUBLE, lp->data, x->dtype, numel));
    return LENS_OK;
}

static lens_status nll_run(const lens_node *node, lens_exec *ex) { return loss_run(node, ex, false); }
static lens_status sce_run(const lens_node *node, lens_exec *ex) { return loss_run(node, ex, true); }

/* Versions 12 and 13 differ only in their type lists (13 adds bfloat16 to
 * SoftmaxCrossEntropyLoss); both accept every float type here. */
static const lens_op ops[] = {
    {"", "NegativeLogLikelihoodLoss", 12, 0, 0, loss_init, nll_run, NULL},
    {"", "NegativeLogLikelihoodLoss", 13, 0, 0, loss_init, nll_run, NULL},
    {"", "SoftmaxCrossEntropyLoss", 12, 0, 0, loss_init, sce_run, NULL},
    {"", "SoftmaxCrossEntropyLoss", 13, 0, 0, loss_init, sce_run, NULL},
};

LENS_OP_TABLE(loss, ops);
