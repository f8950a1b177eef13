/* lens.ConvNhwc, lens.MaxPoolNhwc, lens.AveragePoolNhwc and
 * lens.GlobalAveragePoolNhwc (see ops/conv_nhwc.h): channels-last operators
 * over the nhwc kernel family.
 *
 * How a run goes: the geometry is resolved from the attributes and the
 * input shape (auto_pad at run time, as ops/conv.c and ops/pool.c do); the
 * work is split into tasks on lens_exec_pool; each task builds the
 * indirection table of its own pixels (pointers to input rows, the zero row
 * for padding) in its thread's slice of lens_exec_scratch and calls the
 * kernel. Dense conv: tasks are (block of MR-pixel tiles, NR-column panel),
 * the block sized so that its input rows stay in L2 while the panels cycle.
 * Depthwise and pools: tasks are (output row, channel block), channel
 * blocks only when there are too few rows to keep every thread busy. Each
 * thread gets one contiguous range of tasks (nhwc_grain: layers in a row
 * then share each core's pixels). Every output value is computed by one
 * kernel call whose arithmetic does not depend on the split, so results
 * are identical at any thread count. */
#include "ops/conv_nhwc.h"

#include <math.h>
#include <string.h>

#include "kernels/conv_nhwc.h"
#include "ops/conv_dilated.h"
#include "ops/conv_winograd.h"
#include "ops/op.h"
#include "ops/window.h"

/* ---- attributes and geometry ------------------------------------------- */

typedef enum nhwc_kind { NK_CONV, NK_MAXPOOL, NK_AVGPOOL } nhwc_kind;

typedef struct nhwc_attrs {
    int64_t k[2];   /* kernel_shape, 0 where absent (Conv takes W's) */
    int64_t s[2], d[2], p[4];
    int autopad;    /* lens_autopad (ops/window.h) */
    bool ceil;      /* pools */
    bool include_pad;
} nhwc_attrs;

#define NHWC_ATTR_MAX ((int64_t)1 << 20)

/* Reads and range-checks the attributes of a 2-D conv or pool (ONNX Conv-11,
 * MaxPool-12, AveragePool-11); errors name the attribute. */
static lens_status nhwc_read_attrs(const lens_node *node, nhwc_kind kind, nhwc_attrs *a) {
    memset(a, 0, sizeof *a);
    int64_t n;
    const int64_t *ks = lens_node_attr_ints(node, "kernel_shape", &n);
    if (ks && n != 2) return lens_error(LENS_STATUS_INVALID_MODEL, "kernel_shape must have 2 values, got %lld", (long long)n);
    if (!ks && kind != NK_CONV) return lens_error(LENS_STATUS_INVALID_MODEL, "kernel_shape is required");
    const int64_t *st = lens_node_attr_ints(node, "strides", &n);
    if (st && n != 2) return lens_error(LENS_STATUS_INVALID_MODEL, "strides must have 2 values, got %lld", (long long)n);
    const int64_t *di = lens_node_attr_ints(node, "dilations", &n);
    if (di && n != 2) return lens_error(LENS_STATUS_INVALID_MODEL, "dilations must have 2 values, got %lld", (long long)n);
    if (di && kind == NK_AVGPOOL) return lens_error(LENS_STATUS_UNSUPPORTED, "AveragePool with dilations");
    const int64_t *pa = lens_node_attr_ints(node, "pads", &n);
    if (pa && n != 4) return lens_error(LENS_STATUS_INVALID_MODEL, "pads must have 4 values, got %lld", (long long)n);
    for (int i = 0; i < 2; i++) {
        a->k[i] = ks ? ks[i] : 0;
        a->s[i] = st ? st[i] : 1;
        a->d[i] = di ? di[i] : 1;
        if (ks && (ks[i] < 1 || ks[i] > NHWC_ATTR_MAX))
            return lens_error(LENS_STATUS_INVALID_MODEL, "kernel_shape[%d] = %lld is out of range", i, (long long)ks[i]);
        if (a->s[i] < 1 || a->s[i] > NHWC_ATTR_MAX || a->d[i] < 1 || a->d[i] > NHWC_ATTR_MAX)
            return lens_error(LENS_STATUS_INVALID_MODEL, "strides and dilations must be in 1..2^20");
    }
    for (int i = 0; i < 4; i++) {
        a->p[i] = pa ? pa[i] : 0;
        if (a->p[i] < 0 || a->p[i] > NHWC_ATTR_MAX)
            return lens_error(LENS_STATUS_INVALID_MODEL, "pads must be in 0..2^20");
    }
    const char *ap = lens_node_attr_string(node, "auto_pad", "NOTSET");
    a->autopad = lens_autopad_parse(ap);
    if (a->autopad < 0) return lens_error(LENS_STATUS_INVALID_MODEL, "unknown auto_pad '%s'", ap);
    if (kind != NK_CONV) {
        int64_t c = lens_node_attr_int(node, "ceil_mode", 0);
        if (c != 0 && c != 1) return lens_error(LENS_STATUS_INVALID_MODEL, "ceil_mode must be 0 or 1");
        a->ceil = c;
    }
    if (kind == NK_AVGPOOL) {
        int64_t c = lens_node_attr_int(node, "count_include_pad", 0);
        if (c != 0 && c != 1) return lens_error(LENS_STATUS_INVALID_MODEL, "count_include_pad must be 0 or 1");
        a->include_pad = c;
    }
    return LENS_OK;
}

typedef lens_nhwc_geom nhwc_geom;

/* Output size on one axis: the shared window rule (ops/window.h). */
static lens_status nhwc_axis(const nhwc_attrs *a, nhwc_kind kind, int axis, int64_t in, int64_t k,
                             int64_t *pb, int64_t *pe, int64_t *out) {
    int64_t s = a->s[axis], d = kind == NK_AVGPOOL ? 1 : a->d[axis];
    *pb = a->p[axis], *pe = a->p[axis + 2];
    *out = lens_window_out(in, k, s, d, a->autopad, a->ceil, pb, pe); /* all <= 2^20: no overflow */
    if (*out < 0)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "kernel extent %lld exceeds padded input %lld on axis %d",
                          (long long)((k - 1) * d + 1), (long long)(in + *pb + *pe), axis);
    if (*out < 1) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "empty output on axis %d", axis);
    return LENS_OK;
}

/* Checks X (float32 [N,H,W,C], H and W in range) and fills the geometry
 * for a window KH x KW. */
static lens_status nhwc_geometry(const lens_tensor *x, const nhwc_attrs *a, nhwc_kind kind,
                                 int64_t KH, int64_t KW, nhwc_geom *g) {
    memset(g, 0, sizeof *g);
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input X");
    if (x->dtype != LENS_DTYPE_FLOAT)
        return lens_error(LENS_STATUS_UNSUPPORTED, "X must be float32, got %s", lens_dtype_name(x->dtype));
    if (x->ndim != 4) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "X must be [N,H,W,C], got rank %d", x->ndim);
    g->N = x->dims[0], g->H = x->dims[1], g->W = x->dims[2], g->C = x->dims[3];
    if (g->H < 1 || g->W < 1 || g->C < 1)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "X has an empty spatial or channel dimension");
    if (g->C > LENS_NHWC_ZERO_FLOATS)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "X has %lld channels, the limit is %d",
                          (long long)g->C, LENS_NHWC_ZERO_FLOATS);
    g->KH = KH, g->KW = KW;
    g->sh = a->s[0], g->sw = a->s[1];
    g->dh = kind == NK_AVGPOOL ? 1 : a->d[0], g->dw = kind == NK_AVGPOOL ? 1 : a->d[1];
    LENS_TRY(nhwc_axis(a, kind, 0, g->H, KH, &g->pt, &g->pb, &g->OH));
    LENS_TRY(nhwc_axis(a, kind, 1, g->W, KW, &g->pl, &g->pr, &g->OW));
    int64_t ks;
    if (lens_mul_ovf_i64(KH, KW, &ks) || ks > ((int64_t)1 << 24))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "window of %lld x %lld taps is too large", (long long)KH, (long long)KW);
    g->ks = (size_t)ks;
    return LENS_OK;
}

/* Per-thread scratch: threads slices of `per` pointers (+ `extra` floats
 * or size_t, both 8 bytes at most, each), each 64-byte aligned. */
static lens_status nhwc_scratch(lens_exec *ex, int32_t threads, size_t per, size_t extra, char **base,
                                size_t *stride) {
    size_t a, b, s, total;
    if (lens_mul_ovf_size(per, sizeof(float *), &a) || lens_mul_ovf_size(extra, sizeof(size_t), &b) ||
        lens_add_ovf_size(a, b, &s) || lens_add_ovf_size(s, 63, &s) ||
        lens_mul_ovf_size(s & ~(size_t)63, (size_t)threads, &total))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "scratch size overflows");
    *stride = s & ~(size_t)63;
    *base = lens_exec_scratch(ex, total ? total : 64);
    if (!*base) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory for %zu bytes of scratch", total);
    return LENS_OK;
}

/* Grain of a parallel loop over n tasks ordered by pixel: one contiguous
 * range per thread. Consecutive channels-last layers then give each
 * thread about the same pixels, whose rows the previous layer left in that
 * core's L2; with the pool's default dynamic chunks (4 per thread, claimed
 * in any order) half of every layer's input came from the other core
 * (2 threads, whole models with the layout pass: mobilenet_v2 4.08-4.24 ->
 * 3.60-3.78 ms, mobilenet_v3_large 3.64-3.74 -> 3.31-3.48,
 * efficientnet_b0 6.37-6.45 -> 5.96-5.97). A thread that arrives late
 * still finds its range unclaimed and the caller takes it. */
static int64_t nhwc_grain(int64_t n, int32_t threads) {
    return threads > 1 ? (n + threads - 1) / threads : 1;
}

/* Channel blocks for row-parallel tasks: as few as keep 4 tasks per thread
 * busy, each a multiple of 16 channels. */
static int64_t nhwc_channel_block(int64_t rows, int64_t C, int32_t threads) {
    int64_t want = 4 * (int64_t)threads;
    if (threads <= 1 || rows >= want) return C;
    int64_t nb = (want + rows - 1) / rows;
    int64_t cb = (C + nb - 1) / nb;
    cb = (cb + 15) / 16 * 16;
    return cb < C ? cb : C;
}

/* ---- ConvNhwc ------------------------------------------------------------ */

typedef struct conv_nhwc_state {
    const lens_f32_nhwc_variant *v;
    bool dw;             /* depthwise, else dense */
    int64_t M, C, KH, KW;
    float *w;            /* packed weights: lens_nhwc_pack_weights or _dw_weights */
} conv_nhwc_state;

/* Static checks shared by init and the eligibility predicate: W's shape and
 * group against the attributes. *dw set for depthwise. */
static lens_status conv_nhwc_check_w(const lens_node *node, const lens_tensor *w, const nhwc_attrs *a, bool *dw) {
    if (!w) return lens_error(LENS_STATUS_INVALID_MODEL, "W must be a constant");
    if (w->dtype != LENS_DTYPE_FLOAT)
        return lens_error(LENS_STATUS_UNSUPPORTED, "W must be float32, got %s", lens_dtype_name(w->dtype));
    if (w->ndim != 4) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "W must be [M,C/group,KH,KW], got rank %d", w->ndim);
    for (int i = 0; i < 4; i++)
        if (w->dims[i] < 1) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "W has an empty dimension %d", i);
    if (w->dims[2] > NHWC_ATTR_MAX || w->dims[3] > NHWC_ATTR_MAX)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "kernel of %lld x %lld is too large", (long long)w->dims[2],
                          (long long)w->dims[3]);
    for (int i = 0; i < 2; i++)
        if (a->k[i] && a->k[i] != w->dims[2 + i])
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "kernel_shape[%d] = %lld but W has %lld", i,
                              (long long)a->k[i], (long long)w->dims[2 + i]);
    int64_t group = lens_node_attr_int(node, "group", 1);
    int64_t M = w->dims[0];
    if (group == 1) *dw = false;
    else if (group == M && w->dims[1] == 1) *dw = true;
    else
        return lens_error(LENS_STATUS_UNSUPPORTED, "group %lld: only 1 or depthwise (group = C = M) run channels-last",
                          (long long)group);
    int64_t C = *dw ? M : w->dims[1];
    if (C > LENS_NHWC_ZERO_FLOATS)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "%lld input channels, the limit is %d", (long long)C,
                          LENS_NHWC_ZERO_FLOATS);
    return LENS_OK;
}

static lens_status conv_nhwc_init(lens_graph *g, lens_node *node) {
    if (node->n_inputs < 2 || node->n_inputs > 4 || node->inputs[0] < 0 || node->n_outputs != 1)
        return lens_error(LENS_STATUS_INVALID_MODEL, "ConvNhwc takes X, W and optional B, R, and has one output");
    nhwc_attrs a;
    LENS_TRY(nhwc_read_attrs(node, NK_CONV, &a));
    const lens_tensor *w = lens_node_const_input(g, node, 1);
    bool dw;
    LENS_TRY(conv_nhwc_check_w(node, w, &a, &dw));
    conv_nhwc_state *s = lens_calloc(1, sizeof *s);
    if (!s) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory for ConvNhwc state");
    s->v = lens_f32_nhwc_best();
    s->dw = dw;
    s->M = w->dims[0];
    s->C = dw ? s->M : w->dims[1];
    s->KH = w->dims[2], s->KW = w->dims[3];
    size_t ks = (size_t)(s->KH * s->KW), floats, bytes; /* both <= 2^20 */
    bool ovf;
    if (dw) {
        ovf = lens_mul_ovf_size(ks, lens_nhwc_dw_cpad((size_t)s->C), &floats);
    } else {
        size_t nr = s->v->nr, panels = ((size_t)s->M + nr - 1) / nr;
        ovf = lens_mul_ovf_size(panels, nr, &floats) || lens_mul_ovf_size(floats, (size_t)s->C, &floats) ||
              lens_mul_ovf_size(floats, ks, &floats);
    }
    if (ovf || lens_mul_ovf_size(floats, sizeof(float), &bytes)) {
        lens_free(s);
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "ConvNhwc weights too large");
    }
    s->w = lens_aligned_alloc(bytes);
    if (!s->w) {
        lens_free(s);
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory packing ConvNhwc weights");
    }
    if (dw) lens_nhwc_pack_dw_weights(w->data, (size_t)s->C, (size_t)s->KH, (size_t)s->KW, s->w);
    else lens_nhwc_pack_weights(w->data, (size_t)s->M, (size_t)s->C, (size_t)s->KH, (size_t)s->KW, s->v->nr, s->w);
    node->state = s;
    node->state_bytes = bytes;
    /* run() reads only the packed form, never input 1 (ops/op.h): the
     * model may give W's data back, so the weights are held once. */
    lens_node_mark_packed(node, 1);
    return LENS_OK;
}

static void conv_nhwc_fini(lens_node *node) {
    conv_nhwc_state *s = node->state;
    if (!s) return;
    lens_aligned_free(s->w);
    lens_free(s);
    node->state = NULL;
}

typedef struct conv_nhwc_ctx {
    const nhwc_geom *g;
    const conv_nhwc_state *s;
    const float *x, *bias, *res;
    float *y;
    lens_act_params act;
    char *scratch;
    size_t sstride;
    /* dense */
    int64_t P, tiles, tiles_per_chunk, chunks, panels, panels_per_group, groups;
    bool panel_inner;
    /* depthwise */
    int64_t rows, cb, ncb, lo, hi;
} conv_nhwc_ctx;

/* Dense conv, one task: tiles [t0, t1) of chunk `chunk` x panels [j0, j1)
 * of panel group `grp`. With panel_inner (weights small enough to stay in
 * L2) each tile's table is built once and every panel of the group runs on
 * it while its input rows are in L1; otherwise the chunk is a block whose
 * tables are built together and each panel passes over all of its tiles
 * (a panel of large weights stays in L2 while the block's rows stream). */
static void dense_task(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const conv_nhwc_ctx *c = vctx;
    const nhwc_geom *g = c->g;
    const lens_f32_nhwc_variant *v = c->s->v;
    const float **tab = (const float **)(void *)(c->scratch + (size_t)thread * c->sstride);
    const float *zero = lens_nhwc_zero_row();
    size_t MR = v->mr, NR = v->nr, ks = g->ks, kc = (size_t)g->C, M = (size_t)g->M;
    const lens_act_params *act = c->act.act ? &c->act : NULL;
    int64_t built = -1; /* chunk whose tables tab holds (blocks) */
    for (int64_t task = b; task < e; task++) {
        int64_t chunk = task / c->groups, grp = task % c->groups;
        int64_t t0 = chunk * c->tiles_per_chunk, t1 = LENS_MIN(c->tiles, t0 + c->tiles_per_chunk);
        int64_t j0 = grp * c->panels_per_group, j1 = LENS_MIN(c->panels, j0 + c->panels_per_group);
        int64_t pos[3];
        if (c->panel_inner) {
            lens_nhwc_pixel_pos(g, t0 * (int64_t)MR, pos);
            for (int64_t t = t0; t < t1; t++) {
                int64_t p0 = t * (int64_t)MR;
                size_t mr = (size_t)LENS_MIN((int64_t)MR, c->P - p0);
                lens_nhwc_igemm_table(g, c->x, pos, mr, MR, zero, tab);
                for (int64_t j = j0; j < j1; j++) {
                    size_t n0 = (size_t)j * NR, nc = LENS_MIN(NR, M - n0);
                    v->igemm(mr, nc, kc, ks, tab, c->s->w + (size_t)j * ks * kc * NR, c->y + (size_t)p0 * M + n0, M,
                             c->bias ? c->bias + n0 : NULL, c->res ? c->res + (size_t)p0 * M + n0 : NULL, M, act);
                }
            }
            continue;
        }
        if (built != chunk) {
            lens_nhwc_pixel_pos(g, t0 * (int64_t)MR, pos);
            for (int64_t t = t0; t < t1; t++) {
                int64_t p0 = t * (int64_t)MR;
                lens_nhwc_igemm_table(g, c->x, pos, (size_t)LENS_MIN((int64_t)MR, c->P - p0), MR, zero,
                                      tab + (size_t)(t - t0) * ks * MR);
            }
            built = chunk;
        }
        for (int64_t j = j0; j < j1; j++) {
            size_t n0 = (size_t)j * NR, nc = LENS_MIN(NR, M - n0);
            const float *wp = c->s->w + (size_t)j * ks * kc * NR;
            for (int64_t t = t0; t < t1; t++) {
                int64_t p0 = t * (int64_t)MR;
                size_t mr = (size_t)LENS_MIN((int64_t)MR, c->P - p0);
                v->igemm(mr, nc, kc, ks, tab + (size_t)(t - t0) * ks * MR, wp, c->y + (size_t)p0 * M + n0, M,
                         c->bias ? c->bias + n0 : NULL, c->res ? c->res + (size_t)p0 * M + n0 : NULL, M, act);
            }
        }
    }
}

/* One output row of a depthwise conv: the columns whose taps are all
 * inside the input horizontally run the table-free rows kernel (KH row
 * pointers for the first of them), the border columns the table kernel.
 * Which kernel a pixel gets depends only on the geometry, never on the
 * thread count. */
static void dw_task(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const conv_nhwc_ctx *c = vctx;
    const nhwc_geom *g = c->g;
    const lens_f32_nhwc_variant *v = c->s->v;
    const float **tab = (const float **)(void *)(c->scratch + (size_t)thread * c->sstride);
    const float *zero = lens_nhwc_zero_row();
    size_t ks = g->ks, C = (size_t)g->C, cpad = lens_nhwc_dw_cpad(C), OW = (size_t)g->OW;
    int64_t lo = c->lo, hi = c->hi, nb = lo + (g->OW - hi); /* border pixels */
    const float **rows = tab + (size_t)nb * ks;            /* interior: KH row pointers */
    int64_t built = -1;
    for (int64_t task = b; task < e; task++) {
        int64_t row = task / c->ncb, cbi = task % c->ncb;
        int64_t n = row / g->OH, oy = row % g->OH;
        if (built != row) {
            lens_nhwc_row_table(g, c->x, n, oy, 0, lo, zero, tab);
            lens_nhwc_row_table(g, c->x, n, oy, hi, g->OW, zero, tab + (size_t)lo * ks);
            for (int64_t ky = 0; ky < g->KH && hi > lo; ky++) {
                int64_t iy = oy * g->sh - g->pt + ky * g->dh;
                rows[ky] = iy < 0 || iy >= g->H ? NULL
                                                : c->x + ((n * g->H + iy) * g->W + lo * g->sw - g->pl) * g->C;
            }
            built = row;
        }
        size_t c0 = (size_t)(cbi * c->cb), cn = LENS_MIN((size_t)c->cb, C - c0);
        size_t yoff = (size_t)row * OW * C + c0;
        const float *bias = c->bias ? c->bias + c0 : NULL;
        const float *res = c->res ? c->res + yoff : NULL;
        const lens_act_params *act = c->act.act ? &c->act : NULL;
        if (lo > 0) v->dwconv(cn, (size_t)lo, ks, tab, c0, c->s->w + c0, cpad, bias, c->y + yoff, C, res, C, act);
        if (hi > lo)
            v->dwconv_rows(cn, (size_t)(hi - lo), (size_t)g->KH, (size_t)g->KW, rows, (size_t)(g->sw * g->C),
                           (size_t)(g->dw * g->C), c0, c->s->w + c0, cpad, bias,
                           c->y + yoff + (size_t)lo * C, C, res ? res + (size_t)lo * C : NULL, C, act);
        if (hi < g->OW)
            v->dwconv(cn, (size_t)(g->OW - hi), ks, tab + (size_t)lo * ks, c0, c->s->w + c0, cpad, bias,
                      c->y + yoff + (size_t)hi * C, C, res ? res + (size_t)hi * C : NULL, C, act);
    }
}

static lens_status conv_nhwc_run(const lens_node *node, lens_exec *ex) {
    const conv_nhwc_state *s = node->state;
    if (!s) return lens_error(LENS_STATUS_INTERNAL, "ConvNhwc was not initialised");
    const lens_tensor *x = lens_exec_input(ex, 0), *b = lens_exec_input(ex, 2), *r = lens_exec_input(ex, 3);
    nhwc_attrs a;
    LENS_TRY(nhwc_read_attrs(node, NK_CONV, &a));
    nhwc_geom g;
    LENS_TRY(nhwc_geometry(x, &a, NK_CONV, s->KH, s->KW, &g));
    if (g.C != s->C)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "X has %lld channels, W expects %lld", (long long)g.C,
                          (long long)s->C);
    g.M = s->M;
    if (b && (b->dtype != LENS_DTYPE_FLOAT || b->ndim != 1 || b->dims[0] != g.M))
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "B must be a float32 vector of %lld values", (long long)g.M);
    int64_t dims[4] = {g.N, g.OH, g.OW, g.M};
    if (r && (r->dtype != LENS_DTYPE_FLOAT || !lens_shape_equal(r->ndim, r->dims, 4, dims)))
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "residual R must be float32 [%lld,%lld,%lld,%lld]",
                          (long long)g.N, (long long)g.OH, (long long)g.OW, (long long)g.M);
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, LENS_DTYPE_FLOAT, 4, dims, &y));
    /* lens_exec_output checked N * OH * OW * M against the limits. */
    int64_t P = g.N * g.OH * g.OW;
    if (P == 0) return LENS_OK;
    lens_threadpool *pool = lens_exec_pool(ex);
    int32_t T = lens_threadpool_size(pool);
    conv_nhwc_ctx c = {.g = &g, .s = s, .x = x->data, .bias = b ? b->data : NULL, .res = r ? r->data : NULL,
                       .y = y->data, .act = {node->fused_act, node->fused_alpha, node->fused_beta}};
    c.P = P;
    if (!s->dw) {
        int64_t MR = (int64_t)s->v->mr, NR = (int64_t)s->v->nr, want = 4 * (int64_t)T;
        c.tiles = (P + MR - 1) / MR;
        c.panels = (g.M + NR - 1) / NR;
        /* packed weights: bounded at init (M, C <= 8192 channels, ks <= 2^40) */
        double wbytes = (double)c.panels * (double)NR * (double)g.C * (double)g.ks * 4.0;
        double inbytes = (double)P * (double)g.C * 4.0;
        /* Every panel per tile re-reads all the weights per tile; every
         * tile per panel re-reads the input per panel. Weights that stay in
         * L1 cost nothing to re-read (pointwise layers on large maps);
         * otherwise the order that streams fewer bytes (7x7 maps with
         * 1 MB of weights: block order, each panel read once). */
        c.panel_inner = wbytes <= 48.0 * 1024 || (double)c.tiles * wbytes <= 2.0 * (double)c.panels * inbytes;
        size_t per;
        if (c.panel_inner) {
            /* chunks of tiles, 8 per thread at least; panel groups only
             * when there are too few tiles for the threads */
            c.tiles_per_chunk = LENS_MAX(1, LENS_MIN(32, c.tiles / (8 * (int64_t)T)));
            c.chunks = (c.tiles + c.tiles_per_chunk - 1) / c.tiles_per_chunk;
            int64_t ng = c.chunks >= want ? 1 : LENS_MIN(c.panels, (want + c.chunks - 1) / c.chunks);
            c.panels_per_group = (c.panels + ng - 1) / ng;
            per = (size_t)MR * g.ks; /* MR * ks < 2^44 */
        } else {
            /* A block's input rows (about its pixels' rows, more with
             * large kernels) should stay in L2 while every panel passes
             * over them; one panel per task. */
            int64_t rowbytes = g.C * 4 * (int64_t)LENS_MIN(g.ks, (size_t)4);
            int64_t tpb = LENS_MAX(1, ((int64_t)256 << 10) / (rowbytes * MR));
            while (tpb > 1 && ((c.tiles + tpb - 1) / tpb) * c.panels < want) tpb = (tpb + 1) / 2;
            c.tiles_per_chunk = LENS_MIN(tpb, c.tiles);
            c.chunks = (c.tiles + c.tiles_per_chunk - 1) / c.tiles_per_chunk;
            c.panels_per_group = 1;
            if (lens_mul_ovf_size((size_t)c.tiles_per_chunk * (size_t)MR, g.ks, &per))
                return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "indirection table too large");
        }
        c.groups = (c.panels + c.panels_per_group - 1) / c.panels_per_group;
        LENS_TRY(nhwc_scratch(ex, T, per, 0, &c.scratch, &c.sstride));
        lens_parallel_for(pool, c.chunks * c.groups, nhwc_grain(c.chunks * c.groups, T), dense_task, &c);
    } else {
        c.rows = g.N * g.OH;
        c.cb = nhwc_channel_block(c.rows, g.C, T);
        c.ncb = (g.C + c.cb - 1) / c.cb;
        lens_nhwc_interior_cols(&g, &c.lo, &c.hi);
        size_t per;
        if (lens_mul_ovf_size((size_t)g.OW + 1, g.ks, &per))
            return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "indirection table too large");
        LENS_TRY(nhwc_scratch(ex, T, per, 0, &c.scratch, &c.sstride));
        lens_parallel_for(pool, c.rows * c.ncb, nhwc_grain(c.rows * c.ncb, T), dw_task, &c);
    }
    return LENS_OK;
}

/* ---- pools ---------------------------------------------------------------- */

typedef struct pool_nhwc_ctx {
    const nhwc_geom *g;
    const lens_f32_nhwc_variant *v;
    const float *x;
    float *y;
    nhwc_kind kind;
    bool include_pad;
    char *scratch;
    size_t sstride, per;
    int64_t cb, ncb;
} pool_nhwc_ctx;

/* Taps counted by AveragePool on one axis for the window starting at lo:
 * valid ones, or with count_include_pad those inside the explicit padding
 * (not the overhang ceil_mode adds, as ops/pool.c and PyTorch). */
static int64_t pool_count(int64_t lo, int64_t k, int64_t in, int64_t pb, int64_t pe, bool include_pad) {
    int64_t a = include_pad ? -pb : 0, b = include_pad ? in + pe : in;
    int64_t s = LENS_MAX(lo, a), e = LENS_MIN(lo + k, b);
    return e > s ? e - s : 0;
}

static void pool_task(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const pool_nhwc_ctx *c = vctx;
    const nhwc_geom *g = c->g;
    char *base = c->scratch + (size_t)thread * c->sstride;
    const float **tab = (const float **)(void *)base;
    float *scale = (float *)(void *)(base + c->per * sizeof(float *));
    const float *pad = c->kind == NK_MAXPOOL ? NULL : lens_nhwc_zero_row();
    size_t ks = g->ks, C = (size_t)g->C, OW = (size_t)g->OW;
    int64_t built = -1;
    for (int64_t task = b; task < e; task++) {
        int64_t row = task / c->ncb, cbi = task % c->ncb;
        int64_t n = row / g->OH, oy = row % g->OH;
        if (built != row) {
            lens_nhwc_row_table(g, c->x, n, oy, 0, g->OW, pad, tab);
            for (int64_t ox = 0; ox < g->OW; ox++) {
                const float **at = tab + (size_t)ox * ks;
                if (c->kind == NK_MAXPOOL) {
                    /* padding taps repeat a valid tap of the window */
                    if (at[0] && at[ks - 1]) continue; /* corners inside: all inside */
                    const float *first = NULL;
                    for (size_t t = 0; t < ks && !first; t++) first = at[t];
                    const float *fill = first ? first : lens_nhwc_neginf_row();
                    for (size_t t = 0; t < ks; t++)
                        if (!at[t]) at[t] = fill;
                } else {
                    int64_t cnt = pool_count(oy * g->sh - g->pt, g->KH, g->H, g->pt, g->pb, c->include_pad) *
                                  pool_count(ox * g->sw - g->pl, g->KW, g->W, g->pl, g->pr, c->include_pad);
                    scale[ox] = cnt > 0 ? (float)(1.0 / (double)cnt) : 0.0f;
                }
            }
            built = row;
        }
        size_t c0 = (size_t)(cbi * c->cb), cn = LENS_MIN((size_t)c->cb, C - c0);
        float *yp = c->y + (size_t)row * OW * C + c0;
        if (c->kind == NK_MAXPOOL) c->v->maxpool(cn, OW, ks, tab, c0, yp, C);
        else c->v->avgpool(cn, OW, ks, tab, c0, yp, C, scale);
    }
}

static lens_status pool_nhwc_check_node(const lens_node *node) {
    if (node->n_inputs != 1 || node->inputs[0] < 0 || node->n_outputs != 1)
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s takes one input and has one output", node->op_type);
    return LENS_OK;
}

static lens_status pool_nhwc_init(lens_graph *g, lens_node *node) {
    (void)g;
    LENS_TRY(pool_nhwc_check_node(node));
    nhwc_attrs a;
    if (!strcmp(node->op_type, "GlobalAveragePoolNhwc")) return LENS_OK;
    return nhwc_read_attrs(node, !strcmp(node->op_type, "MaxPoolNhwc") ? NK_MAXPOOL : NK_AVGPOOL, &a);
}

static lens_status pool_nhwc_run_kind(const lens_node *node, lens_exec *ex, nhwc_kind kind) {
    nhwc_attrs a;
    LENS_TRY(nhwc_read_attrs(node, kind, &a));
    nhwc_geom g;
    LENS_TRY(nhwc_geometry(lens_exec_input(ex, 0), &a, kind, a.k[0], a.k[1], &g));
    const lens_tensor *x = lens_exec_input(ex, 0);
    int64_t dims[4] = {g.N, g.OH, g.OW, g.C};
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, LENS_DTYPE_FLOAT, 4, dims, &y));
    if (g.N * g.OH * g.OW == 0) return LENS_OK;
    lens_threadpool *pool = lens_exec_pool(ex);
    int32_t T = lens_threadpool_size(pool);
    pool_nhwc_ctx c = {.g = &g, .v = lens_f32_nhwc_best(), .x = x->data, .y = y->data, .kind = kind,
                       .include_pad = a.include_pad};
    int64_t rows = g.N * g.OH;
    c.cb = nhwc_channel_block(rows, g.C, T);
    c.ncb = (g.C + c.cb - 1) / c.cb;
    if (lens_mul_ovf_size((size_t)g.OW, g.ks, &c.per))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "indirection table too large");
    LENS_TRY(nhwc_scratch(ex, T, c.per, (size_t)g.OW, &c.scratch, &c.sstride));
    lens_parallel_for(pool, rows * c.ncb, nhwc_grain(rows * c.ncb, T), pool_task, &c);
    return LENS_OK;
}

static lens_status maxpool_nhwc_run(const lens_node *node, lens_exec *ex) {
    return pool_nhwc_run_kind(node, ex, NK_MAXPOOL);
}
static lens_status avgpool_nhwc_run(const lens_node *node, lens_exec *ex) {
    return pool_nhwc_run_kind(node, ex, NK_AVGPOOL);
}

typedef struct gap_ctx {
    const nhwc_geom *g;
    const lens_f32_nhwc_variant *v;
    const float *x;
    float *y;
    char *scratch;
    size_t sstride;
    int64_t cb, ncb;
    float scale;
} gap_ctx;

static void gap_task(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const gap_ctx *c = vctx;
    const nhwc_geom *g = c->g;
    const float **tab = (const float **)(void *)(c->scratch + (size_t)thread * c->sstride);
    size_t C = (size_t)g->C, HW = (size_t)(g->H * g->W);
    int64_t built = -1;
    for (int64_t task = b; task < e; task++) {
        int64_t n = task / c->ncb, cbi = task % c->ncb;
        if (built != n) {
            for (size_t p = 0; p < HW; p++) tab[p] = c->x + ((size_t)n * HW + p) * C;
            built = n;
        }
        size_t c0 = (size_t)(cbi * c->cb), cn = LENS_MIN((size_t)c->cb, C - c0);
        c->v->avgpool(cn, 1, HW, tab, c0, c->y + (size_t)n * C + c0, C, &c->scale);
    }
}

static lens_status gap_nhwc_run(const lens_node *node, lens_exec *ex) {
    (void)node;
    const lens_tensor *x = lens_exec_input(ex, 0);
    nhwc_attrs a;
    memset(&a, 0, sizeof a);
    a.s[0] = a.s[1] = a.d[0] = a.d[1] = 1;
    nhwc_geom g;
    LENS_TRY(nhwc_geometry(x, &a, NK_AVGPOOL, 1, 1, &g));
    int64_t dims[4] = {g.N, 1, 1, g.C};
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, LENS_DTYPE_FLOAT, 4, dims, &y));
    if (g.N == 0) return LENS_OK;
    lens_threadpool *pool = lens_exec_pool(ex);
    int32_t T = lens_threadpool_size(pool);
    int64_t HW;
    if (lens_mul_ovf_i64(g.H, g.W, &HW)) return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "X too large");
    gap_ctx c = {.g = &g, .v = lens_f32_nhwc_best(), .x = x->data, .y = y->data};
    c.scale = (float)(1.0 / (double)HW);
    c.cb = nhwc_channel_block(g.N, g.C, T);
    c.ncb = (g.C + c.cb - 1) / c.cb;
    LENS_TRY(nhwc_scratch(ex, T, (size_t)HW, 0, &c.scratch, &c.sstride));
    lens_parallel_for(pool, g.N * c.ncb, 1, gap_task, &c);
    return LENS_OK;
}

/* ---- eligibility ------------------------------------------------------------ */

/* Value v of g is known to be a float32 rank-4 tensor (dtype and rank set
 * by the reader's shape information). */
static bool known_f32_4d(const lens_graph *g, int32_t v) {
    if (v < 0 || v >= g->n_values) return false;
    const lens_value *val = &g->values[v];
    if (val->constant) return val->constant->dtype == LENS_DTYPE_FLOAT && val->constant->ndim == 4;
    return val->dtype == LENS_DTYPE_FLOAT && val->ndim == 4;
}

/* The predicates run the op's own checks; a check that fails leaves its
 * message in lens_last_error, which nothing reads unless a call fails. */
/* The family has a SIMD variant on this CPU (the table lists the
 * reference first). */
static bool nhwc_simd(void) {
    size_t n;
    return lens_f32_nhwc_best() != &lens_f32_nhwc_variants(&n)[0];
}

bool lens_conv_nhwc_eligible(const lens_graph *g, const lens_node *conv) {
    if (!nhwc_simd()) return false;
    if (!g || !conv || conv->dead || conv->domain[0] || strcmp(conv->op_type, "Conv")) return false;
    if (conv->n_inputs < 2 || conv->n_inputs > 4 || conv->n_outputs != 1 || conv->outputs[0] < 0) return false;
    if (!known_f32_4d(g, conv->inputs[0])) return false;
    nhwc_attrs a;
    if (nhwc_read_attrs(conv, NK_CONV, &a) != LENS_OK) return false;
    const lens_tensor *w = lens_node_const_input(g, conv, 1);
    bool dw;
    if (conv_nhwc_check_w(conv, w, &a, &dw) != LENS_OK) return false;
    const lens_value *xv = &g->values[conv->inputs[0]];
    int64_t C = xv->dims ? xv->dims[1] : -1;
    if (C >= 0 && C != (dw ? w->dims[0] : w->dims[1])) return false;
    if (conv->n_inputs > 2 && conv->inputs[2] >= 0) {
        const lens_value *bv = &g->values[conv->inputs[2]];
        const lens_tensor *bt = bv->constant;
        if (bt ? bt->dtype != LENS_DTYPE_FLOAT || bt->ndim != 1 : bv->dtype != LENS_DTYPE_FLOAT) return false;
    }
    if (conv->n_inputs > 3 && conv->inputs[3] >= 0) {
        /* The residual must have the output's exact shape (Conv also takes
         * one that only broadcasts; ConvNhwc does not). */
        int32_t rv = conv->inputs[3];
        if (!known_f32_4d(g, rv) || g->values[rv].constant) return false;
        const lens_value *r = &g->values[rv];
        int64_t out[4] = {xv->dims[0], w->dims[0], -1, -1};
        for (int i = 0; i < 2; i++) {
            int64_t in = xv->dims[2 + i], pb, pe;
            /* a declared dim comes from the file and may be up to INT64_MAX:
             * nhwc_axis adds pads to it (no real activation is this large) */
            if (in < 1 || in > ((int64_t)1 << 40)) return false;
            if (nhwc_axis(&a, NK_CONV, i, in, w->dims[2 + i], &pb, &pe, &out[2 + i]) != LENS_OK) return false;
        }
        for (int i = 0; i < 4; i++)
            if (r->dims[i] < 0 || out[i] < 0 || r->dims[i] != out[i]) return false;
    }
    return true;
}

bool lens_conv_nhwc_preferred(const lens_graph *g, const lens_node *conv) {
    if (!lens_conv_nhwc_eligible(g, conv)) return false;
    const lens_tensor *w = lens_node_const_input(g, conv, 1);
    lens_conv_params p = {0};
    p.nsp = 2;
    p.M = w->dims[0];
    p.C = w->dims[1];
    p.group = lens_node_attr_int(conv, "group", 1);
    int64_t n;
    const int64_t *st = lens_node_attr_ints(conv, "strides", &n);
    const int64_t *di = lens_node_attr_ints(conv, "dilations", &n);
    for (int i = 0; i < 2; i++) {
        p.k[i] = w->dims[2 + i];
        p.stride[i] = st ? st[i] : 1;
        p.dil[i] = di ? di[i] : 1;
        p.in[i] = p.out[i] = 1;
    }
    return !lens_conv_wino_applies(&p, lens_f32_gemm_best()) && !lens_conv_dilated_wanted(&p);
}

bool lens_pool_nhwc_eligible(const lens_graph *g, const lens_node *pool) {
    if (!nhwc_simd()) return false;
    if (!g || !pool || pool->dead || pool->domain[0] || pool->n_inputs != 1 || pool->n_outputs < 1 ||
        pool->outputs[0] < 0)
        return false;
    if (!known_f32_4d(g, pool->inputs[0])) return false;
    const lens_value *xv = &g->values[pool->inputs[0]];
    if (xv->dims[1] < 1 || xv->dims[1] > LENS_NHWC_ZERO_FLOATS) return false;
    nhwc_attrs a;
    if (!strcmp(pool->op_type, "GlobalAveragePool")) return pool->n_outputs == 1;
    if (!strcmp(pool->op_type, "MaxPool")) {
        if (pool->n_outputs > 2) return false;
        if (pool->n_outputs == 2 && pool->outputs[1] >= 0 && g->values[pool->outputs[1]].n_consumers) return false;
        return nhwc_read_attrs(pool, NK_MAXPOOL, &a) == LENS_OK;
    }
    if (!strcmp(pool->op_type, "AveragePool"))
        return pool->n_outputs == 1 && nhwc_read_attrs(pool, NK_AVGPOOL, &a) == LENS_OK;
    return false;
}

static const lens_op ops[] = {
    {"lens", "ConvNhwc", 1, 0, 0, conv_nhwc_init, conv_nhwc_run, conv_nhwc_fini},
    {"lens", "MaxPoolNhwc", 1, 0, 0, pool_nhwc_init, maxpool_nhwc_run, NULL},
    {"lens", "AveragePoolNhwc", 1, 0, 0, pool_nhwc_init, avgpool_nhwc_run, NULL},
    {"lens", "GlobalAveragePoolNhwc", 1, 0, 0, pool_nhwc_init, gap_nhwc_run, NULL},
};
LENS_OP_TABLE(conv_nhwc, ops);
