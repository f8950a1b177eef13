/* Conv (ONNX opset 1 and 11) and ConvTranspose (opset 1 and 11), float32.
 * Geometry follows the ONNX Conv-11 / ConvTranspose-11 specifications
 * (auto_pad, pads, strides, dilations, group, kernel_shape; output_padding
 * and output_shape for the transpose). The compute is in conv_f32.c.
 *
 * Fused epilogue (set by the optimiser): node->fused_act and an optional
 * 4th input (index 3) of the output's shape added before the activation. */
#include "ops/conv_dilated.h"
#include "ops/conv_f32.h"
#include "ops/conv_winograd.h"
#include "ops/elementwise.h"
#include "ops/op.h"
#include "ops/window.h"

typedef struct conv_state {
    const lens_f32_gemm_variant *v;
    float *packed; /* GEMM-path weights packed at load, or NULL */
    float *wino;   /* or, instead, Winograd-transformed weights (conv_winograd.h) */
    bool dilated;  /* packed tap-major for conv_dilated.c instead */
} conv_state;

/* Geometry of Conv or ConvTranspose from attributes and shapes. For Conv,
 * W is M x C/group x k; for ConvTranspose, C x M/group x k. */
static lens_status conv_geometry(const lens_node *node, const lens_tensor *x, const lens_tensor *w,
                                 bool transpose, lens_conv_params *p) {
    memset(p, 0, sizeof *p);
    if (x->dtype != LENS_DTYPE_FLOAT || w->dtype != LENS_DTYPE_FLOAT)
        return lens_error(LENS_STATUS_UNSUPPORTED, "only float32 is supported (X is %s, W is %s)",
                          lens_dtype_name(x->dtype), lens_dtype_name(w->dtype));
    if (x->ndim < 3 || x->ndim > 5)
        return lens_error(LENS_STATUS_UNSUPPORTED, "X must have rank 3 to 5, got %d", x->ndim);
    if (w->ndim != x->ndim)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "W has rank %d, X has rank %d", w->ndim,
                          x->ndim);
    int32_t nsp = x->ndim - 2;
    p->nsp = nsp;
    p->N = x->dims[0];
    p->C = x->dims[1];
    p->group = lens_node_attr_int(node, "group", 1);
    if (p->group < 1) return lens_error(LENS_STATUS_INVALID_MODEL, "group must be >= 1");
    if (p->C % p->group)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "group %lld does not divide %lld channels",
                          (long long)p->group, (long long)p->C);
    if (!transpose) {
        p->M = w->dims[0];
        if (w->dims[1] * p->group != p->C)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                              "W has %lld input channels per group, X has %lld channels in %lld groups",
                              (long long)w->dims[1], (long long)p->C, (long long)p->group);
        if (p->M % p->group)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "group %lld does not divide %lld filters",
                              (long long)p->group, (long long)p->M);
    } else {
        if (w->dims[0] != p->C)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "W has %lld input channels, X has %lld",
                              (long long)w->dims[0], (long long)p->C);
        if (lens_mul_ovf_i64(w->dims[1], p->group, &p->M))
            return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "output channels overflow");
    }
    if (p->M < 1) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "W has no filters");
    int64_t n;
    const int64_t *ks = lens_node_attr_ints(node, "kernel_shape", &n);
    if (ks && n != nsp)
        return lens_error(LENS_STATUS_INVALID_MODEL, "kernel_shape has %lld values for %d spatial dims",
                          (long long)n, nsp);
    for (int32_t i = 0; i < nsp; i++) {
        p->in[i] = x->dims[2 + i];
        p->k[i] = w->dims[2 + i];
        if (ks && ks[i] != p->k[i])
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "kernel_shape[%d] = %lld but W has %lld",
                              i, (long long)ks[i], (long long)p->k[i]);
        if (p->k[i] < 1 || p->in[i] < 1)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "empty kernel or input dimension %d", i);
    }
    const int64_t *st = lens_node_attr_ints(node, "strides", &n);
    if (st && n != nsp) return lens_error(LENS_STATUS_INVALID_MODEL, "strides has %lld values", (long long)n);
    const int64_t *di = lens_node_attr_ints(node, "dilations", &n);
    if (di && n != nsp) return lens_error(LENS_STATUS_INVALID_MODEL, "dilations has %lld values", (long long)n);
    const int64_t *pa = lens_node_attr_ints(node, "pads", &n);
    if (pa && n != 2 * nsp) return lens_error(LENS_STATUS_INVALID_MODEL, "pads has %lld values", (long long)n);
    const int64_t *op = lens_node_attr_ints(node, "output_padding", &n);
    if (op && n != nsp) return lens_error(LENS_STATUS_INVALID_MODEL, "output_padding has %lld values", (long long)n);
    const int64_t *os = lens_node_attr_ints(node, "output_shape", &n);
    /* output_shape may list the spatial dims only or the full shape. */
    if (os && n != nsp && n != nsp + 2)
        return lens_error(LENS_STATUS_INVALID_MODEL, "output_shape has %lld values", (long long)n);
    if (os && n == nsp + 2) os += 2;
    const char *ap = lens_node_attr_string(node, "auto_pad", "NOTSET");
    int autopad = lens_autopad_parse(ap);
    if (autopad < 0) return lens_error(LENS_STATUS_INVALID_MODEL, "unknown auto_pad '%s'", ap);
    bool same_upper = autopad == LENS_AUTOPAD_SAME_UPPER, same_lower = autopad == LENS_AUTOPAD_SAME_LOWER;
    bool valid = autopad == LENS_AUTOPAD_VALID;
    for (int32_t i = 0; i < nsp; i++) {
        int64_t s = st ? st[i] : 1, d = di ? di[i] : 1;
        if (s < 1 || d < 1 || s > (1 << 20) || d > (1 << 20))
            return lens_error(LENS_STATUS_INVALID_MODEL, "strides and dilations must be >= 1");
        int64_t pb = pa ? pa[i] : 0, pe = pa ? pa[nsp + i] : 0;
        if (pb < 0 || pe < 0 || pb > (1 << 24) || pe > (1 << 24))
            return lens_error(LENS_STATUS_INVALID_MODEL, "pads must be non-negative");
        p->stride[i] = s, p->dil[i] = d;
        int64_t ext = (p->k[i] - 1) * d + 1; /* dilated kernel extent */
        int64_t out;
        if (!transpose) {
            out = lens_window_out(p->in[i], p->k[i], s, d, autopad, false, &pb, &pe);
            if (out < 0)
                return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                                  "kernel extent %lld exceeds padded input %lld in dimension %d",
                                  (long long)ext, (long long)(p->in[i] + pb + pe), i);
        } else {
            int64_t opad = op ? op[i] : 0;
            if (opad < 0 || opad >= LENS_MAX(s, d))
                return lens_error(LENS_STATUS_INVALID_MODEL, "output_padding must be < stride or dilation");
            int64_t full = s * (p->in[i] - 1) + opad + ext;
            if (os || same_upper || same_lower) {
                /* ConvTranspose-11: total padding from the requested shape. */
                int64_t target = os ? os[i] : p->in[i] * s;
                int64_t total = full - target;
                /* A shape beyond the full output (as output_padding would give)
                 * leaves the extra trailing positions with the bias only. */
                if (total < 0) total = 0;
                if (target > (int64_t)1 << 40)
                    return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "output_shape too large");
                pb = same_upper ? total / 2 : total - total / 2;
                pe = total - pb;
                out = target;
            } else {
                if (valid) pb = pe = 0;
                out = full - pb - pe;
            }
        }
        if (out < 1)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "output dimension %d would be %lld", i,
                              (long long)out);
        p->pad[i] = pb;
        p->out[i] = out;
    }
    p->act = (lens_act_params){node->fused_act, node->fused_alpha, node->fused_beta};
    return LENS_OK;
}

static lens_status conv_init(lens_graph *g, lens_node *node) {
    const lens_tensor *w = lens_node_const_input(g, node, 1);
    if (!w || w->dtype != LENS_DTYPE_FLOAT || w->ndim < 3 || w->ndim > 5) return LENS_OK;
    int64_t group = lens_node_attr_int(node, "group", 1);
    if (group < 1 || w->dims[0] % group) return LENS_OK; /* run() reports it */
    lens_conv_params p = {0};
    p.nsp = w->ndim - 2;
    p.M = w->dims[0];
    p.group = group;
    if (lens_mul_ovf_i64(w->dims[1], group, &p.C)) return LENS_OK;
    for (int32_t i = 0; i < p.nsp; i++) p.k[i] = w->dims[2 + i];
    for (int32_t i = 0; i < p.nsp; i++) {
        p.in[i] = p.out[i] = p.stride[i] = p.dil[i] = 1;
        if (p.k[i] < 1) return LENS_OK;
    }
    if (lens_conv_is_depthwise(&p) || p.M < 1 || p.C < 1) return LENS_OK;
    conv_state *s = lens_calloc(1, sizeof *s);
    if (!s) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory for Conv state");
    s->v = lens_f32_gemm_best();
    int64_t n;
    const int64_t *st = lens_node_attr_ints(node, "strides", &n);
    for (int32_t i = 0; st && n == p.nsp && i < p.nsp; i++) p.stride[i] = st[i];
    const int64_t *di = lens_node_attr_ints(node, "dilations", &n);
    for (int32_t i = 0; di && n == p.nsp && i < p.nsp; i++) p.dil[i] = di[i];
    /* One packed form per node, never two: 3x3 stride-1 layers that pass
     * the Winograd rule keep only their transformed weights (run() checks
     * the strides again with the shapes); large dilations get tap-major
     * packing for the tap-skipping path; the rest the normal packing. */
    bool wino = lens_conv_wino_applies(&p, s->v);
    s->dilated = !wino && lens_conv_dilated_wanted(&p);
    size_t gs, f = wino        ? lens_conv_wino_packed_floats(&p, s->v)
                   : s->dilated ? lens_conv_dilated_packed_floats(&p, s->v)
                                : lens_conv_packed_floats(&p, s->v, &gs);
    size_t bytes;
    float *dst;
    if (!f || lens_mul_ovf_size(f, sizeof(float), &bytes) || !(dst = lens_aligned_alloc(bytes))) {
        lens_free(s);
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory packing Conv weights");
    }
    if (wino) {
        lens_conv_wino_pack_weights(&p, s->v, w->data, dst);
        s->wino = dst;
    } else if (s->dilated) {
        lens_conv_dilated_pack(&p, s->v, w->data, dst);
        s->packed = dst;
    } else {
        lens_conv_pack_weights(&p, s->v, w->data, dst);
        s->packed = dst;
    }
    node->state = s;
    node->state_bytes = bytes;
    /* Every path of conv_run with a state reads only the packed form (a
     * Winograd run out of the kernels' range is an error, not a fallback
     * to W): the model may release W's data. */
    lens_node_mark_packed(node, 1);
    return LENS_OK;
}

static void conv_fini(lens_node *node) {
    conv_state *s = node->state;
    if (!s) return;
    lens_aligned_free(s->packed);
    lens_aligned_free(s->wino);
    lens_free(s);
    node->state = NULL;
}

static lens_status check_bias(const lens_tensor *b, int64_t m) {
    if (!b) return LENS_OK;
    if (b->dtype != LENS_DTYPE_FLOAT || b->ndim != 1 || b->dims[0] != m)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "B must be a float vector of %lld values",
                          (long long)m);
    return LENS_OK;
}

static lens_status alloc_scratch(lens_exec *ex, size_t floats, float **out) {
    size_t bytes;
    if (lens_mul_ovf_size(floats ? floats : 1, sizeof(float), &bytes))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "scratch size overflows");
    *out = lens_exec_scratch(ex, bytes);
    if (!*out) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory for %zu bytes of scratch", bytes);
    return LENS_OK;
}

static lens_status conv_run(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0), *w = lens_exec_input(ex, 1);
    const lens_tensor *b = lens_exec_input(ex, 2), *res = lens_exec_input(ex, 3);
    if (!x || !w) return lens_error(LENS_STATUS_INVALID_MODEL, "Conv needs X and W");
    lens_conv_params p;
    LENS_TRY(conv_geometry(node, x, w, false, &p));
    LENS_TRY(check_bias(b, p.M));
    int64_t dims[LENS_MAX_DIMS];
    dims[0] = p.N, dims[1] = p.M;
    for (int32_t i = 0; i < p.nsp; i++) dims[2 + i] = p.out[i];
    /* The optimiser fuses Add(Conv, r) without knowing r's shape: when r only
     * broadcasts to the output (an SE block's [N, M, 1, 1], say), run the
     * convolution plain and add r afterwards, then the fused activation. */
    bool late_add = false;
    if (res && res->dtype != LENS_DTYPE_FLOAT)
        return lens_error(LENS_STATUS_INVALID_MODEL, "fused residual is %s, Conv output is float",
                          lens_dtype_name(res->dtype));
    if (res && !lens_shape_equal(res->ndim, res->dims, x->ndim, dims)) {
        late_add = true; /* lens_f32_add_broadcast checks that res broadcasts */
        p.act.act = LENS_ACT_NONE;
    }
    const conv_state *s = node->state;
    const lens_f32_gemm_variant *v = s ? s->v : lens_f32_gemm_best();
    /* Winograd weights are all this node holds (W itself may have been
     * released after load), so a map beyond the Winograd kernels' int32
     * coordinates cannot fall back to the GEMM path: refuse it. Such maps
     * are far beyond the default tensor limits. */
    if (s && s->wino && !lens_conv_wino_runs(&p, v))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED,
                          "a 3x3 Conv packed for Winograd cannot run on an input of %lld x %lld with pads %lld, "
                          "%lld (the Winograd kernels' coordinates are int32)",
                          (long long)p.in[0], (long long)p.in[1], (long long)p.pad[0], (long long)p.pad[1]);
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, LENS_DTYPE_FLOAT, x->ndim, dims, &y));
    lens_threadpool *pool = lens_exec_pool(ex);
    float *scratch;
    if (s && s->wino) {
        size_t wf = lens_conv_wino_scratch_floats(&p, v, lens_threadpool_size(pool));
        if (!wf && p.N) return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "Conv scratch size overflows");
        LENS_TRY(alloc_scratch(ex, wf, &scratch));
        lens_conv_wino_f32(&p, v, lens_f32_wino_best(), pool, x->data, s->wino, b ? b->data : NULL,
                           res && !late_add ? res->data : NULL, y->data, scratch);
    } else if (s && s->dilated) {
        /* conv_init checked 2-D and group 1 on the weights, and
         * conv_geometry that they match X. */
        size_t df = lens_conv_dilated_scratch_floats(&p, v, lens_threadpool_size(pool));
        if (!df) return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "Conv scratch size overflows");
        LENS_TRY(alloc_scratch(ex, df, &scratch));
        lens_conv_dilated_f32(&p, v, pool, x->data, s->packed, b ? b->data : NULL,
                              res && !late_add ? res->data : NULL, y->data, scratch);
    } else {
        /* Without packed weights (W not constant at load, or depthwise),
         * lens_conv_f32 packs W into scratch or reads it in place. */
        bool packed = s && s->packed;
        size_t sf = lens_conv_scratch_floats(&p, v, lens_threadpool_size(pool), packed);
        if (!sf && !lens_conv_is_depthwise(&p) && p.N && p.M)
            return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "Conv scratch size overflows");
        LENS_TRY(alloc_scratch(ex, sf, &scratch));
        lens_conv_f32(&p, v, lens_f32_dwconv_best(), pool, x->data, w->data,
                      packed ? s->packed : NULL, b ? b->data : NULL,
                      res && !late_add ? res->data : NULL, y->data, scratch);
    }
    if (late_add) {
        LENS_TRY(lens_f32_add_broadcast(ex, y, res));
        lens_act_params act = {node->fused_act, node->fused_alpha, node->fused_beta};
        if (act.act != LENS_ACT_NONE) lens_f32_act_best()(&act, y->data, (size_t)lens_tensor_numel(y));
    }
    return LENS_OK;
}

static lens_status convtranspose_run(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0), *w = lens_exec_input(ex, 1);
    const lens_tensor *b = lens_exec_input(ex, 2);
    if (!x || !w) return lens_error(LENS_STATUS_INVALID_MODEL, "ConvTranspose needs X and W");
    lens_conv_params p;
    LENS_TRY(conv_geometry(node, x, w, true, &p));
    LENS_TRY(check_bias(b, p.M));
    int64_t dims[LENS_MAX_DIMS];
    dims[0] = p.N, dims[1] = p.M;
    for (int32_t i = 0; i < p.nsp; i++) dims[2 + i] = p.out[i];
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, LENS_DTYPE_FLOAT, x->ndim, dims, &y));
    const lens_f32_gemm_variant *v = lens_f32_gemm_best();
    lens_threadpool *pool = lens_exec_pool(ex);
    size_t sf = lens_convtranspose_scratch_floats(&p, v, lens_threadpool_size(pool));
    if (!sf) return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "ConvTranspose scratch size overflows");
    float *scratch;
    LENS_TRY(alloc_scratch(ex, sf, &scratch));
    lens_convtranspose_f32(&p, v, pool, x->data, w->data, b ? b->data : NULL, y->data, scratch);
    return LENS_OK;
}

static const lens_op ops[] = {
    {"", "Conv", 1, 0, 0, conv_init, conv_run, conv_fini},
    {"", "Conv", 11, 0, 0, conv_init, conv_run, conv_fini},
    {"", "ConvTranspose", 1, 0, 0, NULL, convtranspose_run, NULL},
    {"", "ConvTranspose", 11, 0, 0, NULL, convtranspose_run, NULL},
};
LENS_OP_TABLE(conv, ops);
