/* Softmax, LogSoftmax and Hardmax (registered in reduce.c).
 *
 * ONNX versions 1 and 11 coerce the input to 2-D at `axis` (default 1) and
 * normalise over everything from `axis` on; version 13 normalises over the
 * single axis `axis` (default -1). Both become [outer, d, inner] here: the
 * older form is inner = 1, d = product of dims[axis:]. */
#include <math.h>

#include "ops/op.h"

typedef enum smax_kind { SM_SOFT, SM_LOG, SM_HARD } smax_kind;

typedef struct smax_ctx {
    const void *in;
    void *out;
    int64_t outer, d, inner;
    smax_kind kind;
} smax_ctx;

#define SM_CHUNK 256

#define DEFINE_SOFTMAX(T, SFX, EXP, LOG)                                                          \
    /* One row of d contiguous values. */                                                       \
    static void smax_row_##SFX(const T *x, T *y, int64_t d, smax_kind k) {                      \
        T mx = x[0];                                                                            \
        int64_t arg = 0;                                                                        \
        for (int64_t i = 1; i < d; i++)                                                         \
            if (x[i] > mx) { mx = x[i]; arg = i; }                                              \
        if (k == SM_HARD) {                                                                     \
            for (int64_t i = 0; i < d; i++) y[i] = (T)(i == arg);                               \
            return;                                                                             \
        }                                                                                       \
        T s = 0;                                                                                \
        if (k == SM_SOFT) {                                                                     \
            for (int64_t i = 0; i < d; i++) { y[i] = EXP(x[i] - mx); s += y[i]; }               \
            T inv = (T)1 / s;                                                                   \
            for (int64_t i = 0; i < d; i++) y[i] *= inv;                                        \
        } else {                                                                                \
            for (int64_t i = 0; i < d; i++) s += EXP(x[i] - mx);                                \
            T l = mx + LOG(s);                                                                  \
            for (int64_t i = 0; i < d; i++) y[i] = x[i] - l;                                    \
        }                                                                                       \
    }                                                                                           \
    static void smax_task_##SFX(void *vctx, int64_t b, int64_t e, int32_t thread) {            \
        const smax_ctx *c = vctx;                                                               \
        const T *in = c->in;                                                                    \
        T *out = c->out;                                                                        \
        if (c->inner == 1) {                                                                    \
            for (int64_t o = b; o < e; o++) smax_row_##SFX(in + o * c->d, out + o * c->d, c->d, c->kind); \
            return;                                                                             \
        }                                                                                       \
        /* Strided axis: work on blocks of SM_CHUNK columns so the loops over   */              \
        /* the columns are contiguous.                                          */              \
        int64_t nblk = (c->inner + SM_CHUNK - 1) / SM_CHUNK;                                    \
        T mx[SM_CHUNK], s[SM_CHUNK];                                                            \
        int64_t arg[SM_CHUNK];                                                                  \
        for (int64_t t = b; t < e; t++) {                                                       \
            int64_t o = t / nblk, j0 = (t % nblk) * SM_CHUNK;                                   \
            int64_t n = LENS_MIN(SM_CHUNK, c->inner - j0), inr = c->inner;                      \
            const T *x = in + o * c->d * inr + j0;                                              \
            T *y = out + o * c->d * inr + j0;                                                   \
            for (int64_t j = 0; j < n; j++) { mx[j] = x[j]; arg[j] = 0; s[j] = 0; }             \
            for (int64_t i = 1; i < c->d; i++)                                                  \
                for (int64_t j = 0; j < n; j++)                                                 \
                    if (x[i * inr + j] > mx[j]) { mx[j] = x[i * inr + j]; arg[j] = i; }         \
            if (c->kind == SM_HARD) {                                                           \
                for (int64_t i = 0; i < c->d; i++)                                              \
                    for (int64_t j = 0; j < n; j++) y[i * inr + j] = (T)(arg[j] == i);          \
                continue;                                                                       \
            }                                                                                   \
            for (int64_t i = 0; i < c->d; i++)                                                  \
                for (int64_t j = 0; j < n; j++) {                                               \
                    T v = EXP(x[i * inr + j] - mx[j]);                                          \
                    if (c->kind == SM_SOFT) y[i * inr + j] = v;                                 \
                    s[j] += v;                                                                  \
                }                                                                               \
            if (c->kind == SM_SOFT) {                                                           \
                for (int64_t j = 0; j < n; j++) s[j] = (T)1 / s[j];                             \
                for (int64_t i = 0; i < c->d; i++)                                              \
                    for (int64_t j = 0; j < n; j++) y[i * inr + j] *= s[j];                     \
            } else {                                                                            \
                for (int64_t j = 0; j < n; j++) s[j] = mx[j] + LOG(s[j]);                       \
                for (int64_t i = 0; i < c->d; i++)                                              \
                    for (int64_t j = 0; j < n; j++) y[i * inr + j] = x[i * inr + j] - s[j];     \
            }                                                                                   \
        }                                                                                       \
    }

DEFINE_SOFTMAX(float, f32, expf, logf)
DEFINE_SOFTMAX(double, f64, exp, log)

static lens_status run_smax(const lens_node *node, lens_exec *ex, smax_kind kind) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input");
    lens_dtype dt = x->dtype;
    if (dt != LENS_DTYPE_FLOAT && dt != LENS_DTYPE_DOUBLE && dt != LENS_DTYPE_FLOAT16 &&
        dt != LENS_DTYPE_BFLOAT16)
        return lens_error(LENS_STATUS_UNSUPPORTED, "unsupported dtype %s", lens_dtype_name(dt));
    int32_t nd = x->ndim, axis;
    bool v13 = node->opset >= 13;
    if (nd < 1) return lens_error(LENS_STATUS_INVALID_MODEL, "input must have rank >= 1");
    LENS_TRY(lens_normalize_axis(lens_node_attr_int(node, "axis", v13 ? -1 : 1), nd, "axis", &axis));
    int64_t outer = 1, d = 1, inner = 1;
    for (int32_t i = 0; i < nd; i++) {
        if (i < axis) outer *= x->dims[i];
        else if (i == axis || !v13) d *= x->dims[i];
        else inner *= x->dims[i];
    }
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, dt, nd, x->dims, &y));
    int64_t numel = outer * d * inner;
    if (numel == 0) return LENS_OK;
    bool conv = dt == LENS_DTYPE_FLOAT16 || dt == LENS_DTYPE_BFLOAT16;
    const void *src = x->data;
    void *dst = y->data;
    float *tmp = NULL;
    if (conv) {
        size_t bytes;
        if (lens_mul_ovf_size((size_t)numel, 2 * sizeof(float), &bytes) ||
            !(tmp = lens_exec_scratch(ex, bytes)))
            return lens_error(LENS_STATUS_OUT_OF_MEMORY, "no scratch memory for %s", node->op_type);
        LENS_TRY(lens_convert(x->data, dt, tmp, LENS_DTYPE_FLOAT, numel));
        src = tmp;
        dst = tmp + numel;
    }
    smax_ctx c = {src, dst, outer, d, inner, kind};
    int64_t n = inner == 1 ? outer : outer * ((inner + SM_CHUNK - 1) / SM_CHUNK);
    int64_t per = d * LENS_MIN(inner, SM_CHUNK);
    lens_parallel_for(lens_exec_pool(ex), n, LENS_MAX(1, 8192 / per),
                      dt == LENS_DTYPE_DOUBLE ? smax_task_f64 : smax_task_f32, &c);
    if (conv) LENS_TRY(lens_convert(dst, LENS_DTYPE_FLOAT, y->data, dt, numel));
    return LENS_OK;
}

lens_status lens_op_softmax_run(const lens_node *node, lens_exec *ex) { return run_smax(node, ex, SM_SOFT); }
lens_status lens_op_logsoftmax_run(const lens_node *node, lens_exec *ex) { return run_smax(node, ex, SM_LOG); }
lens_status lens_op_hardmax_run(const lens_node *node, lens_exec *ex) { return run_smax(node, ex, SM_HARD); }
