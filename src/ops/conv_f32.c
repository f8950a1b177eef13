/* Float convolution: GEMM with im2col packed panel by panel (K x K kernels),
 * a plain GEMM over the input (1x1 stride 1), and a direct depthwise kernel.
 * Work is split over (image, group, output-channel tile, spatial tile) so
 * that all threads are busy even on the small late layers of a CNN.
 *
 * With a GEMM variant that reads B indirectly (ukernel_ib), two cases skip
 * B packing altogether (the copies cost as much as a third of the
 * multiply-adds on 64-channel layers):
 *  - 1x1 stride 1: B row k is input channel k, read in place;
 *  - 2-D, stride <= 4 (any kernel, dilation, padding): the input is copied
 *    once into zero-padded phase planes Hq x Wq (one per channel and stride
 *    phase, see padded_dims; stride 1: the padded input); computing the
 *    output at width Wq (OH x Wq, the last Wq - OW columns of each row
 *    wasted), B row (c, ky, kx) is a phase plane at a constant offset. The
 *    result goes to scratch and is compacted to OH x OW with bias, residual
 *    and activation applied on the way.
 *    Two shapes leave this layout (conv_mode, padded_rows_direct):
 *    - wide rows (>= 48 columns, no more 16-column vectors than Wq: stems,
 *      80x80 and up) run row-direct: each output row is a GEMM of OW
 *      columns stored straight into y with the epilogue fused, and each
 *      task pads only the phase-plane rows its block of output rows reads,
 *      into a per-thread buffer that stays in L2;
 *    - maps of about one tile (<= 64 outputs) whose padded width adds over
 *      an eighth (resnet's 7x7) go to im2col, which computes 48 + 1
 *      columns instead of 63. */
#include "ops/conv_f32.h"

#include "kernels/im2col.h"
#include "kernels/stride.h"

static int64_t prod3(const int64_t *d, int32_t n) {
    int64_t r = 1;
    for (int32_t i = 0; i < n; i++) r *= d[i];
    return r;
}

bool lens_conv_is_depthwise(const lens_conv_params *p) {
    return p->nsp == 2 && p->group == p->C && p->group == p->M && p->group > 1;
}

static bool is_pointwise(const lens_conv_params *p) {
    for (int32_t i = 0; i < p->nsp; i++)
        if (p->k[i] != 1 || p->stride[i] != 1 || p->pad[i] != 0) return false;
    return true;
}

size_t lens_conv_packed_floats(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                               size_t *group_stride) {
    size_t mg = (size_t)(p->M / p->group), kg = (size_t)(p->C / p->group), f, total;
    for (int32_t i = 0; i < p->nsp; i++)
        if (lens_mul_ovf_size(kg, (size_t)p->k[i], &kg)) return 0;
    if (!lens_f32_gemm_packed_size(mg, v->mr, kg, &f)) return 0;
    f = lens_round_up(f, 16);
    *group_stride = f;
    if (lens_mul_ovf_size(f, (size_t)p->group, &total)) return 0;
    return total;
}

void lens_conv_pack_weights(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                            const float *w, float *dst) {
    size_t gs;
    lens_conv_packed_floats(p, v, &gs);
    size_t mg = (size_t)(p->M / p->group);
    size_t kg = (size_t)(p->C / p->group * prod3(p->k, p->nsp));
    for (int64_t g = 0; g < p->group; g++) {
        lens_f32_matrix m = {w + (size_t)g * mg * kg, kg, 1, 1.0f};
        lens_f32_pack_full(&m, mg, kg, v->mr, dst + (size_t)g * gs);
    }
}

enum { MODE_IM2COL, MODE_POINTWISE_IB, MODE_PADDED_IB };

static int conv_mode(const lens_conv_params *p, const lens_f32_gemm_variant *v) {
    if (!v->ukernel_ib) return MODE_IM2COL;
    if (is_pointwise(p)) return MODE_POINTWISE_IB;
    if (p->nsp == 2 && p->stride[0] <= 4 && p->stride[1] <= 4) {
        /* The padded width wastes (Wq - OW) / OW of the work: a third at
         * most (3x3 on 7x7). Large dilations (DeepLab's ASPP: 3x3 dilated 36
         * on 33x33 would compute 105 columns per 33) stay on im2col. */
        int64_t extra = (p->k[1] - 1) * p->dil[1] / p->stride[1];
        /* Maps of one 48-column tile or so (resnet's 7x7) where the padded
         * width adds over an eighth: im2col's packed B computes 49 columns
         * (48 + a single-column tile) instead of 63 or 56, which pays for
         * the packing (3x3 512->512 7x7: 2.3 -> 2.2 ms in resnet18). */
        int64_t area = p->out[0] * p->out[1];
        if (area <= 64 && p->out[0] * (p->out[1] + extra) * 8 > area * 9) return MODE_IM2COL;
        if (extra * 3 <= p->out[1]) return MODE_PADDED_IB;
    }
    return MODE_IM2COL;
}

/* Phase planes of the padded-width path. With stride s, padded input row
 * r = oy*s + ky*d lies in phase r % s = (ky*d) % s at row oy + (ky*d) / s of
 * that phase: each (channel, phase) plane of Hq x Wq (Hq = OH + (KH-1)dh/sh,
 * Wq = OW + (KW-1)dw/sw) turns the strided conv into a stride-1 one, whose
 * B rows are constant offsets into it. Stride 1 has one phase: the padded
 * input itself. */
static void padded_dims(const lens_conv_params *p, size_t *hq, size_t *wq) {
    *hq = (size_t)(p->out[0] + (p->k[0] - 1) * p->dil[0] / p->stride[0]);
    *wq = (size_t)(p->out[1] + (p->k[1] - 1) * p->dil[1] / p->stride[1]);
}

/* Row-direct variant of the padded path: each output row is its own GEMM
 * of N = OW columns (B row k at a constant offset into the phase planes, C
 * the output row itself), so the epilogue (bias, residual, activation) is
 * fused into the micro-kernel's store and neither the padded-width output
 * nor the compaction pass exists. Taken on wide rows (at least one full
 * 48-column tile) whose 16-column vectors do not outnumber the padded
 * width's columns: on narrower maps a packed A panel would serve too few
 * columns per row, and the padded width (which runs the whole map as one
 * row) is faster. Measured on 1 thread: yolov8n's 3x3/2 3->16 stem at
 * 640x640 2.4 -> 1.2 ms, resnet18's 7x7/2 stem 2.1 -> 1.5 ms. */
static bool padded_rows_direct(const lens_conv_params *p) {
    size_t hq, wq;
    padded_dims(p, &hq, &wq);
    return p->out[1] >= 48 && lens_round_up((size_t)p->out[1], 16) <= wq;
}

/* The row-direct path pads its input per task, for a block of R output
 * rows at a time, into a per-thread buffer: the phase-plane rows of one
 * group that the block reads (R + (KH-1)dh/sh of them per plane) stay in
 * L2 between the copy and the GEMM, instead of a whole padded image going
 * through memory twice. R keeps that buffer near 512 KiB and, with
 * threads, gives each thread at least 3 blocks. Results do not depend on
 * R (each output is one micro-kernel sum over the same K blocks). */
#define ROWS_LOCAL_FLOATS (128u * 1024u)

static size_t rows_block(const lens_conv_params *p, int32_t threads) {
    size_t hq, wq, oh = (size_t)p->out[0];
    padded_dims(p, &hq, &wq);
    size_t extra = hq - oh;
    size_t per_row = (size_t)(p->C / p->group * p->stride[0] * p->stride[1]) * wq;
    size_t r = per_row ? ROWS_LOCAL_FLOATS / per_row : oh;
    r = r > extra ? r - extra : 1;
    if (threads > 1) {
        size_t blocks = lens_round_up((size_t)threads * 3, (size_t)(p->N * p->group)) /
                        (size_t)(p->N * p->group);
        r = LENS_MIN(r, (oh + blocks - 1) / blocks);
    }
    return LENS_MAX((size_t)1, LENS_MIN(r, oh));
}

/* Floats of one thread's block of phase-plane rows (0 on overflow), and
 * the distance between its planes. */
static size_t rows_local_floats(const lens_conv_params *p, int32_t threads, size_t *plane) {
    size_t hq, wq, f;
    padded_dims(p, &hq, &wq);
    size_t rq = rows_block(p, threads) + (hq - (size_t)p->out[0]);
    if (lens_mul_ovf_size(rq, wq, plane) ||
        lens_mul_ovf_size(*plane, (size_t)(p->C / p->group * p->stride[0] * p->stride[1]), &f))
        return 0;
    return lens_round_up(f, 16);
}

/* im2col with B packed once per run: on maps of about one tile (resnet's
 * 7x7 layers: K = 4608, N = 49) the planner splits M to give every thread
 * work, and each of those tasks would gather the same B again (6 times at
 * 2 threads, which kept those layers from scaling: 2.2 -> 1.9 ms). With
 * one image and group and a packed B of at most 2 MiB, B is packed once,
 * in parallel over K blocks, into scratch and every task reads it. The
 * packed values are the same either way, so results do not change. */
#define IM2COL_PREPACK_MAX_FLOATS ((size_t)1 << 19)

static size_t im2col_prepack_floats(const lens_conv_params *p, const lens_f32_gemm_variant *v) {
    if (conv_mode(p, v) != MODE_IM2COL || is_pointwise(p) || p->N != 1 || p->group != 1) return 0;
    size_t kg = (size_t)p->C, f;
    for (int32_t i = 0; i < p->nsp; i++)
        if (lens_mul_ovf_size(kg, (size_t)p->k[i], &kg)) return 0;
    if (!lens_f32_gemm_packed_size((size_t)prod3(p->out, p->nsp), v->nr, kg, &f) ||
        f > IM2COL_PREPACK_MAX_FLOATS)
        return 0;
    return lens_round_up(f, 16);
}

static void make_plan(const lens_conv_params *p, const lens_f32_gemm_variant *v, int32_t threads,
                      lens_f32_gemm_plan *plan) {
    size_t mg = (size_t)(p->M / p->group);
    size_t kg = (size_t)(p->C / p->group * prod3(p->k, p->nsp));
    size_t n = (size_t)prod3(p->out, p->nsp), batch = (size_t)(p->N * p->group);
    int mode = conv_mode(p, v);
    if (mode == MODE_PADDED_IB) {
        size_t hp, wp;
        padded_dims(p, &hp, &wp);
        n = (size_t)p->out[0] * wp;
        batch = (size_t)p->group; /* one image at a time */
        if (padded_rows_direct(p)) {
            n = (size_t)p->out[1];
            batch = (size_t)(p->group * p->out[0]); /* one task per output row */
        }
    }
    bool pack_b = mode == MODE_IM2COL && !im2col_prepack_floats(p, v);
    lens_f32_gemm_plan_make(v, mg, n, kg, batch, threads, false, pack_b, plan);
}

/* Extra scratch of the indirect paths: the offset table (K size_t, counted
 * in floats) and, padded, the padded input of one image and the
 * padded-width output of one image. 0 on overflow. */
static size_t ib_floats(const lens_conv_params *p, int mode) {
    size_t kg = (size_t)(p->C / p->group), t;
    for (int32_t i = 0; i < p->nsp; i++)
        if (lens_mul_ovf_size(kg, (size_t)p->k[i], &kg)) return 0;
    size_t total = lens_round_up(kg * (sizeof(size_t) / sizeof(float)), 16);
    if (mode == MODE_PADDED_IB) {
        size_t hp, wp, plane, x, yv;
        padded_dims(p, &hp, &wp);
        if (lens_mul_ovf_size(hp, wp, &plane) ||
            lens_mul_ovf_size(plane, (size_t)(p->C * p->stride[0] * p->stride[1]), &x) ||
            lens_mul_ovf_size((size_t)p->out[0] * wp, (size_t)p->M, &yv))
            return 0;
        if (padded_rows_direct(p)) x = yv = 0; /* per-thread blocks instead */
        if (lens_add_ovf_size(total, lens_round_up(x, 16), &t) ||
            lens_add_ovf_size(t, lens_round_up(yv, 16), &total))
            return 0;
    }
    return total;
}

size_t lens_conv_scratch_floats(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                                int32_t threads, bool packed) {
    size_t t = (size_t)(threads < 1 ? 1 : threads), per, total, wf = 0, gs;
    if (lens_conv_is_depthwise(p)) {
        lens_dwconv_geom g = {.H = (size_t)p->in[0], .W = (size_t)p->in[1],
                              .OH = (size_t)p->out[0], .OW = (size_t)p->out[1],
                              .KH = (size_t)p->k[0], .KW = (size_t)p->k[1],
                              .sh = (size_t)p->stride[0], .sw = (size_t)p->stride[1],
                              .dh = (size_t)p->dil[0], .dw = (size_t)p->dil[1],
                              .ph = (size_t)p->pad[0], .pw = (size_t)p->pad[1]};
        per = lens_dwconv_plane_floats(&g);
        if (!per) return 0;
        if (lens_dwconv_cblock_geom_ok(&g)) {
            size_t cb = lens_dwconv_cblock_floats(&g);
            if (!cb) return 0;
            per = LENS_MAX(per, cb);
        }
    } else {
        lens_f32_gemm_plan plan;
        make_plan(p, v, threads, &plan);
        per = lens_round_up(plan.thread_floats, 16);
        if (conv_mode(p, v) == MODE_PADDED_IB && padded_rows_direct(p)) {
            size_t lp, lf = rows_local_floats(p, threads, &lp);
            if (!lf || lens_add_ovf_size(per, lf, &per)) return 0;
        }
        if (!packed && !(wf = lens_conv_packed_floats(p, v, &gs))) return 0;
        int mode = conv_mode(p, v);
        if (mode != MODE_IM2COL) {
            size_t e = ib_floats(p, mode);
            if (!e || lens_add_ovf_size(wf, e, &wf)) return 0;
        } else if (lens_add_ovf_size(wf, im2col_prepack_floats(p, v), &wf)) {
            return 0;
        }
    }
    per = lens_round_up(per, 16);
    if (lens_mul_ovf_size(per, t, &total) || lens_add_ovf_size(total, wf, &total)) return 0;
    return total;
}

/* ---- padded-width path: input padding --------------------------------------- */

/* Phase-plane rows [q0, q0 + nq) of channels [c0, c1) of one image x into
 * dst: plane (c - c0, py, px) at ((c - c0) * sh * sw + py * sw + px) *
 * pstride, row q at (q - q0) * wp; zero where the row or column falls into
 * the padding. */
static void pad_rows(const lens_conv_params *p, const float *x, size_t c0, size_t c1, size_t q0,
                     size_t nq, size_t wp, size_t pstride, float *dst) {
    int64_t H = p->in[0], W = p->in[1], ph = p->pad[0], pw = p->pad[1];
    int64_t sh = p->stride[0], sw = p->stride[1];
    const lens_f32_strided_copy_fn copy = lens_f32_strided_copy_best();
    for (size_t c = c0; c < c1; c++) {
        const float *xc = x + c * (size_t)(H * W);
        for (int64_t py = 0; py < sh; py++)
            for (int64_t px = 0; px < sw; px++) {
                float *d = dst + ((c - c0) * (size_t)(sh * sw) + (size_t)(py * sw + px)) * pstride;
                for (size_t q = q0; q < q0 + nq; q++, d += wp) {
                    int64_t iy = (int64_t)q * sh + py - ph;
                    if (iy < 0 || iy >= H) {
                        memset(d, 0, wp * sizeof(float));
                        continue;
                    }
                    const float *row = xc + iy * W;
                    /* Columns t with 0 <= t*sw + px - pw < W. */
                    int64_t x0 = px - pw, wq = (int64_t)wp;
                    int64_t lo = x0 < 0 ? (-x0 + sw - 1) / sw : 0;
                    int64_t hi = W - x0 > 0 ? (W - x0 + sw - 1) / sw : 0;
                    if (hi > wq) hi = wq;
                    if (lo > hi) lo = hi;
                    memset(d, 0, (size_t)lo * sizeof(float));
                    if (sw == 1)
                        memcpy(d + lo, row + x0 + lo, (size_t)(hi - lo) * sizeof(float));
                    else
                        copy(row + x0 + lo * sw, (size_t)sw, (size_t)(hi - lo), d + lo);
                    memset(d + hi, 0, (size_t)(wq - hi) * sizeof(float));
                }
            }
    }
}

/* ---- GEMM path ------------------------------------------------------------ */

typedef struct conv_job {
    const lens_conv_params *p;
    const lens_f32_gemm_variant *v;
    lens_f32_gemm_plan plan;
    const float *x, *wpacked, *bias, *res;
    float *y, *scratch;
    size_t gstride, thread_floats;
    bool pointwise;
    int mode;
    const size_t *koff; /* indirect modes: B row offsets (K) */
    const float *xpad;  /* padded mode: this image's padded input (C planes) */
    float *ytmp;        /* padded mode: this image's output at padded width */
    size_t plane, npad; /* padded mode: Hp * Wp and OH * Wp */
    size_t wp;          /* padded mode: Wp */
    size_t n;           /* padded mode: the image */
    bool rows;          /* padded mode: row-direct (padded_rows_direct) */
    const float *bpacked; /* im2col mode: B packed once (im2col_prepack_floats) */
    size_t rblock, nblocks, local; /* row-direct: rows per task, tasks per (image,
                                      group), per-thread plane floats */
} conv_job;

/* The im2col packer's view of image/group input x. */
static void im2col_ctx_make(const lens_conv_params *p, const float *x, lens_im2col_ctx *ic) {
    ic->x = x;
    if (p->nsp == 1) {
        /* 1-D as a 2-D conv of height 1. */
        ic->nsp = 2;
        ic->in[0] = ic->out[0] = ic->k[0] = ic->stride[0] = ic->dil[0] = 1;
        ic->pad[0] = 0;
        ic->in[1] = p->in[0], ic->out[1] = p->out[0], ic->k[1] = p->k[0];
        ic->stride[1] = p->stride[0], ic->dil[1] = p->dil[0], ic->pad[1] = p->pad[0];
    } else {
        ic->nsp = p->nsp;
        for (int i = 0; i < 3; i++) {
            ic->in[i] = p->in[i], ic->out[i] = p->out[i], ic->k[i] = p->k[i];
            ic->stride[i] = p->stride[i], ic->dil[i] = p->dil[i], ic->pad[i] = p->pad[i];
        }
    }
}

/* One K block of the whole packed B (the layout of lens_f32_pack_full:
 * block k0 at k0 * Npad, its panels side by side). */
typedef struct prepack_job {
    lens_im2col_ctx ic;
    size_t K, N, npad, nr;
    float *dst;
} prepack_job;

static void prepack_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    (void)thread;
    const prepack_job *j = ctx;
    for (int64_t b = begin; b < end; b++) {
        size_t k0 = (size_t)b * LENS_GEMM_KC, kc = LENS_MIN((size_t)LENS_GEMM_KC, j->K - k0);
        lens_im2col_pack(&j->ic, k0, kc, 0, j->N, j->nr, j->dst + k0 * j->npad);
    }
}

static void conv_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    const conv_job *j = ctx;
    const lens_conv_params *p = j->p;
    size_t mg = (size_t)(p->M / p->group), cg = (size_t)(p->C / p->group);
    size_t in_sz = (size_t)prod3(p->in, p->nsp), out_sz = (size_t)prod3(p->out, p->nsp);
    size_t tiles = j->plan.mt * j->plan.nt;
    float *scratch = j->scratch + (size_t)thread * j->thread_floats;
    for (int64_t t = begin; t < end; t++) {
        size_t ng = (size_t)t / tiles, r = (size_t)t % tiles;
        size_t n = ng / (size_t)p->group, g = ng % (size_t)p->group;
        lens_f32_gemm_args a = {0};
        a.M = mg;
        a.K = cg * (size_t)prod3(p->k, p->nsp);
        a.a.packed = j->wpacked + g * j->gstride;
        if (j->mode == MODE_PADDED_IB && j->rows) {
            /* Task = (image, group, block of output rows): pad the block's
             * phase-plane rows into this thread's buffer, then each row
             * straight into y. */
            size_t oh = (size_t)p->out[0], ow = (size_t)p->out[1];
            size_t b = (size_t)t % j->nblocks, img = (size_t)t / j->nblocks;
            n = img / (size_t)p->group, g = img % (size_t)p->group;
            size_t oy0 = b * j->rblock, nr = LENS_MIN(j->rblock, oh - oy0);
            size_t hq, wq;
            padded_dims(p, &hq, &wq);
            float *local = scratch + j->thread_floats - j->local;
            pad_rows(p, j->x + n * (size_t)p->C * in_sz, g * cg, (g + 1) * cg, oy0,
                     nr + (hq - oh), j->wp, j->plane, local);
            a.a.packed = j->wpacked + g * j->gstride;
            a.N = ow;
            a.b.koff = j->koff;
            a.bias = j->bias ? j->bias + g * mg : NULL;
            a.ldc = a.ldr = out_sz;
            a.act = p->act;
            for (size_t oy = oy0; oy < oy0 + nr; oy++) {
                size_t yoff = (n * (size_t)p->M + g * mg) * out_sz + oy * ow;
                a.b.base = local + (oy - oy0) * j->wp;
                a.c = j->y + yoff;
                a.residual = j->res ? j->res + yoff : NULL;
                for (size_t mi = 0; mi < j->plan.mt; mi++)
                    for (size_t ni = 0; ni < j->plan.nt; ni++)
                        lens_f32_gemm_tile(j->v, &j->plan, &a, mi, ni, scratch);
            }
            continue;
        }
        if (j->mode == MODE_PADDED_IB) {
            /* Raw products at padded width; conv_compact applies the rest. */
            a.N = j->npad;
            a.b.base = j->xpad + g * cg * (size_t)(p->stride[0] * p->stride[1]) * j->plane;
            a.b.koff = j->koff;
            a.c = j->ytmp + g * mg * j->npad;
            a.ldc = j->npad;
            lens_f32_gemm_tile(j->v, &j->plan, &a, r / j->plan.nt, r % j->plan.nt, scratch);
            continue;
        }
        const float *x = j->x + (n * (size_t)p->C + g * cg) * in_sz;
        size_t yoff = (n * (size_t)p->M + g * mg) * out_sz;
        a.N = out_sz;
        lens_f32_matrix xm = {x, 1, in_sz, 1.0f};
        lens_im2col_ctx ic;
        if (j->mode == MODE_POINTWISE_IB) {
            a.b.base = x;
            a.b.koff = j->koff;
        } else if (j->pointwise) {
            a.b.m = &xm;
        } else if (j->bpacked) {
            a.b.packed = j->bpacked;
        } else {
            im2col_ctx_make(p, x, &ic);
            a.b.pack = lens_im2col_pack;
            a.b.ctx = &ic;
        }
        a.c = j->y + yoff;
        a.ldc = out_sz;
        a.bias = j->bias ? j->bias + g * mg : NULL;
        a.residual = j->res ? j->res + yoff : NULL;
        a.ldr = out_sz;
        a.act = p->act;
        lens_f32_gemm_tile(j->v, &j->plan, &a, r / j->plan.nt, r % j->plan.nt, scratch);
    }
}

/* ---- depthwise path ------------------------------------------------------- */

typedef struct dw_job {
    const lens_conv_params *p;
    const lens_f32_dwconv_variant *dv;
    lens_f32_act_fn act;
    lens_dwconv_geom geom;
    const float *x, *w, *bias, *res;
    float *y, *scratch;
    size_t thread_floats;
} dw_job;

/* Channel-block tasks: task t is image t / nb, channels [16 (t % nb), +16). */
static void dw_cblock_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    const dw_job *j = ctx;
    const lens_conv_params *p = j->p;
    size_t in_sz = (size_t)(p->in[0] * p->in[1]), out_sz = (size_t)(p->out[0] * p->out[1]);
    size_t ks = (size_t)(p->k[0] * p->k[1]), C = (size_t)p->C, nb = (C + 15) / 16;
    float *sc = j->scratch + (size_t)thread * j->thread_floats;
    for (int64_t t = begin; t < end; t++) {
        size_t n = (size_t)t / nb, c0 = (size_t)t % nb * 16, nc = LENS_MIN(16, C - c0);
        size_t plane = n * C + c0;
        j->dv->cblock(&j->geom, nc, j->x + plane * in_sz, j->w + c0 * ks,
                      j->bias ? j->bias + c0 : NULL, j->res ? j->res + plane * out_sz : NULL,
                      &p->act, j->y + plane * out_sz, sc);
    }
}

static void dw_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    const dw_job *j = ctx;
    const lens_conv_params *p = j->p;
    size_t in_sz = (size_t)(p->in[0] * p->in[1]), out_sz = (size_t)(p->out[0] * p->out[1]);
    size_t ks = (size_t)(p->k[0] * p->k[1]);
    float *xp = j->scratch + (size_t)thread * j->thread_floats;
    const bool direct = lens_f32_dwconv_direct_ok(j->dv, &j->geom);
    for (int64_t t = begin; t < end; t++) {
        size_t c = (size_t)t % (size_t)p->C;
        float *y = j->y + (size_t)t * out_sz;
        if (direct) {
            /* In place, bias/residual/activation fused: no padded copy and
             * no second pass over the output. */
            j->dv->direct(&j->geom, j->x + (size_t)t * in_sz, j->w + c * ks,
                          j->bias ? j->bias[c] : 0.0f, j->res ? j->res + (size_t)t * out_sz : NULL,
                          &p->act, y);
            continue;
        }
        lens_f32_dwconv_channel(j->dv, &j->geom, j->x + (size_t)t * in_sz, j->w + c * ks,
                                j->bias ? j->bias[c] : 0.0f, xp, y);
        if (j->res) {
            const float *r = j->res + (size_t)t * out_sz;
            for (size_t i = 0; i < out_sz; i++) y[i] += r[i];
        }
        if (p->act.act) j->act(&p->act, y, out_sz);
    }
}

/* ---- padded-width path: input padding and output compaction ------------- */

typedef struct pad_job {
    const lens_conv_params *p;
    const float *x; /* this image */
    float *xpad;
    size_t hp, wp;
} pad_job;

static void pad_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    const pad_job *j = ctx;
    const lens_conv_params *p = j->p;
    size_t planes = (size_t)(p->stride[0] * p->stride[1]), pl = j->hp * j->wp;
    for (int64_t c = begin; c < end; c++)
        pad_rows(p, j->x, (size_t)c, (size_t)c + 1, 0, j->hp, j->wp, pl,
                 j->xpad + (size_t)c * planes * pl);
}

typedef struct compact_job {
    const lens_conv_params *p;
    lens_f32_act_fn act;
    const float *ytmp, *bias, *res; /* res: this image's residual or NULL */
    float *y;                       /* this image */
    size_t wp;
} compact_job;

static void compact_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    const compact_job *j = ctx;
    const lens_conv_params *p = j->p;
    size_t OH = (size_t)p->out[0], OW = (size_t)p->out[1], os = OH * OW;
    for (int64_t m = begin; m < end; m++) {
        const float *t = j->ytmp + (size_t)m * OH * j->wp;
        float *y = j->y + (size_t)m * os;
        float b = j->bias ? j->bias[m] : 0.0f;
        for (size_t oy = 0; oy < OH; oy++)
            for (size_t ox = 0; ox < OW; ox++) y[oy * OW + ox] = t[oy * j->wp + ox] + b;
        if (j->res) {
            const float *r = j->res + (size_t)m * os;
            for (size_t i = 0; i < os; i++) y[i] += r[i];
        }
        if (p->act.act) j->act(&p->act, y, os);
    }
}

void lens_conv_f32(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                   const lens_f32_dwconv_variant *dv, lens_threadpool *pool, const float *x,
                   const float *w, const float *wpacked, const float *bias, const float *residual,
                   float *y, float *scratch) {
    int32_t threads = lens_threadpool_size(pool);
    size_t out_sz = (size_t)prod3(p->out, p->nsp);
    if (p->N == 0 || p->M == 0 || out_sz == 0) return;
    if (lens_conv_is_depthwise(p)) {
        dw_job j = {p, dv, lens_f32_act_best(), {0}, x, w, bias, residual, y, scratch, 0};
        j.geom = (lens_dwconv_geom){.H = (size_t)p->in[0], .W = (size_t)p->in[1],
                                    .OH = (size_t)p->out[0], .OW = (size_t)p->out[1],
                                    .KH = (size_t)p->k[0], .KW = (size_t)p->k[1],
                                    .sh = (size_t)p->stride[0], .sw = (size_t)p->stride[1],
                                    .dh = (size_t)p->dil[0], .dw = (size_t)p->dil[1],
                                    .ph = (size_t)p->pad[0], .pw = (size_t)p->pad[1]};
        j.thread_floats = lens_round_up(lens_dwconv_plane_floats(&j.geom), 16);
        if (lens_f32_dwconv_cblock_ok(dv, &j.geom)) {
            /* Small or strided planes: 16 channels per vector (the scratch
             * was sized for the larger of the two forms). */
            j.thread_floats = lens_round_up(
                LENS_MAX(j.thread_floats, lens_dwconv_cblock_floats(&j.geom)), 16);
            lens_parallel_for(pool, p->N * ((p->C + 15) / 16), 1, dw_cblock_task, &j);
            return;
        }
        lens_parallel_for(pool, p->N * p->C, 1, dw_task, &j);
        return;
    }
    conv_job j = {0};
    j.p = p, j.v = v, j.x = x, j.bias = bias, j.res = residual, j.y = y;
    make_plan(p, v, threads, &j.plan);
    j.thread_floats = lens_round_up(j.plan.thread_floats, 16);
    j.scratch = scratch;
    j.mode = conv_mode(p, v);
    j.rows = j.mode == MODE_PADDED_IB && padded_rows_direct(p);
    size_t local_plane = 0;
    if (j.rows) {
        /* Per-thread blocks of phase-plane rows after each thread's GEMM
         * scratch (lens_conv_scratch_floats). */
        j.rblock = rows_block(p, threads);
        j.nblocks = ((size_t)p->out[0] + j.rblock - 1) / j.rblock;
        j.local = rows_local_floats(p, threads, &local_plane);
        j.thread_floats += j.local;
    }
    /* Scratch: per-thread GEMM buffers, then the weights when they are
     * packed here, then the indirect paths' buffers (lens_conv_scratch_floats). */
    float *rest = scratch + j.thread_floats * (size_t)threads;
    size_t wf = lens_conv_packed_floats(p, v, &j.gstride);
    if (!wpacked) {
        /* Weights computed at run time: pack them into scratch first. */
        lens_conv_pack_weights(p, v, w, rest);
        wpacked = rest;
        rest += wf;
    }
    j.wpacked = wpacked;
    j.pointwise = is_pointwise(p);
    if (j.mode == MODE_IM2COL) {
        size_t bf = im2col_prepack_floats(p, v);
        if (bf) {
            prepack_job pj = {.K = (size_t)(p->C * prod3(p->k, p->nsp)), .N = out_sz,
                              .npad = lens_round_up(out_sz, v->nr), .nr = v->nr, .dst = rest};
            im2col_ctx_make(p, x, &pj.ic);
            lens_parallel_for(pool, (int64_t)((pj.K + LENS_GEMM_KC - 1) / LENS_GEMM_KC), 1,
                              prepack_task, &pj);
            j.bpacked = rest;
        }
        int64_t tasks = p->N * p->group * (int64_t)(j.plan.mt * j.plan.nt);
        lens_parallel_for(pool, tasks, 1, conv_task, &j);
        return;
    }
    size_t cg = (size_t)(p->C / p->group), ks = (size_t)prod3(p->k, p->nsp);
    size_t *koff = (size_t *)rest;
    rest += lens_round_up(cg * ks * (sizeof(size_t) / sizeof(float)), 16);
    j.koff = koff;
    if (j.mode == MODE_POINTWISE_IB) {
        size_t in_sz = (size_t)prod3(p->in, p->nsp);
        for (size_t k = 0; k < cg; k++) koff[k] = k * in_sz;
        int64_t tasks = p->N * p->group * (int64_t)(j.plan.mt * j.plan.nt);
        lens_parallel_for(pool, tasks, 1, conv_task, &j);
        return;
    }
    size_t hp, wp;
    padded_dims(p, &hp, &wp);
    j.plane = hp * wp;
    j.npad = (size_t)p->out[0] * wp;
    j.wp = wp;
    if (j.rows) j.plane = local_plane; /* the offsets below index the per-thread block */
    size_t sh = (size_t)p->stride[0], sw = (size_t)p->stride[1];
    for (size_t c = 0, k = 0; c < cg; c++)
        for (size_t ky = 0; ky < (size_t)p->k[0]; ky++)
            for (size_t kx = 0; kx < (size_t)p->k[1]; kx++, k++) {
                size_t ry = ky * (size_t)p->dil[0], rx = kx * (size_t)p->dil[1];
                size_t phase = (c * sh + ry % sh) * sw + rx % sw;
                koff[k] = phase * j.plane + ry / sh * wp + rx / sw;
            }
    if (j.rows) {
        lens_parallel_for(pool, p->N * p->group * (int64_t)j.nblocks, 1, conv_task, &j);
        return;
    }
    float *xpad = rest;
    j.xpad = xpad;
    j.ytmp = rest + lens_round_up(j.plane * (size_t)p->C * sh * sw, 16);
    pad_job pj = {p, NULL, xpad, hp, wp};
    compact_job cj = {p, lens_f32_act_best(), j.ytmp, bias, NULL, NULL, wp};
    int64_t tasks = p->group * (int64_t)(j.plan.mt * j.plan.nt);
    for (int64_t n = 0; n < p->N; n++) {
        pj.x = x + (size_t)n * (size_t)p->C * (size_t)prod3(p->in, 2);
        lens_parallel_for(pool, p->C, 1, pad_task, &pj);
        j.n = (size_t)n;
        lens_parallel_for(pool, tasks, 1, conv_task, &j);
        cj.y = y + (size_t)n * (size_t)p->M * out_sz;
        cj.res = residual ? residual + (size_t)n * (size_t)p->M * out_sz : NULL;
        lens_parallel_for(pool, p->M, 1, compact_task, &cj);
    }
}

/* ---- ConvTranspose -------------------------------------------------------- */

size_t lens_convtranspose_scratch_floats(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                                         int32_t threads) {
    /* col: (M/group * prod(k)) x prod(in) for one image and group, plus the
     * GEMM's own packing scratch. */
    size_t rows = (size_t)(p->M / p->group), cols = (size_t)prod3(p->in, p->nsp), col, total;
    for (int32_t i = 0; i < p->nsp; i++)
        if (lens_mul_ovf_size(rows, (size_t)p->k[i], &rows)) return 0;
    if (lens_mul_ovf_size(rows, cols, &col)) return 0;
    lens_f32_gemm_args a = {0};
    lens_f32_matrix dummy = {NULL, 1, 1, 1.0f};
    a.M = rows, a.N = cols, a.K = (size_t)(p->C / p->group);
    a.a.m = &dummy, a.b.m = &dummy;
    size_t gs = lens_f32_gemm_scratch_floats(v, &a, threads);
    if (lens_add_ovf_size(lens_round_up(col, 16), gs, &total)) return 0;
    return total;
}

typedef struct col2im_job {
    const lens_conv_params *p;
    const float *col, *bias;
    float *y; /* this image's output */
    size_t g;
} col2im_job;

static void col2im_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    const col2im_job *j = ctx;
    const lens_conv_params *p = j->p;
    int32_t nsp = p->nsp;
    int64_t ks = prod3(p->k, nsp), is = prod3(p->in, nsp), os = prod3(p->out, nsp);
    int64_t mg = p->M / p->group;
    for (int64_t m = begin; m < end; m++) {
        float *y = j->y + ((int64_t)j->g * mg + m) * os;
        for (int64_t kk = 0; kk < ks; kk++) {
            int64_t kidx[3] = {0, 0, 0}, rem = kk;
            for (int32_t d = nsp - 1; d >= 0; d--) kidx[d] = rem % p->k[d], rem /= p->k[d];
            const float *col = j->col + (m * ks + kk) * is;
            for (int64_t i = 0; i < is; i++) {
                int64_t iidx = i, off = 0;
                int64_t ii[3];
                for (int32_t d = nsp - 1; d >= 0; d--) ii[d] = iidx % p->in[d], iidx /= p->in[d];
                bool ok = true;
                for (int32_t d = 0; d < nsp; d++) {
                    int64_t o = ii[d] * p->stride[d] - p->pad[d] + kidx[d] * p->dil[d];
                    if (o < 0 || o >= p->out[d]) {
                        ok = false;
                        break;
                    }
                    off = off * p->out[d] + o;
                }
                if (ok) y[off] += col[i];
            }
        }
    }
}

void lens_convtranspose_f32(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                            lens_threadpool *pool, const float *x, const float *w,
                            const float *bias, float *y, float *scratch) {
    int32_t nsp = p->nsp;
    size_t ks = (size_t)prod3(p->k, nsp), is = (size_t)prod3(p->in, nsp);
    size_t os = (size_t)prod3(p->out, nsp);
    size_t mg = (size_t)(p->M / p->group), cg = (size_t)(p->C / p->group);
    size_t rows = mg * ks;
    float *col = scratch, *gs = scratch + lens_round_up(rows * is, 16);
    for (int64_t n = 0; n < p->N; n++) {
        float *yn = y + (size_t)n * (size_t)p->M * os;
        for (size_t i = 0; i < (size_t)p->M; i++)
            for (size_t o = 0; o < os; o++) yn[i * os + o] = bias ? bias[i] : 0.0f;
        for (size_t g = 0; g < (size_t)p->group; g++) {
            /* col[(m,k), i] = sum_c W[c, m, k] * X[c, i] over this group's c. */
            lens_f32_matrix am = {w + g * cg * rows, 1, rows, 1.0f};
            lens_f32_matrix bm = {x + ((size_t)n * (size_t)p->C + g * cg) * is, 1, is, 1.0f};
            lens_f32_gemm_args a = {0};
            a.M = rows, a.N = is, a.K = cg;
            a.a.m = &am, a.b.m = &bm;
            a.c = col, a.ldc = is;
            lens_f32_gemm(v, pool, &a, gs);
            col2im_job cj = {p, col, bias, yn, g};
            lens_parallel_for(pool, (int64_t)mg, 1, col2im_task, &cj);
        }
        if (p->act.act) lens_f32_act_best()(&p->act, yn, (size_t)p->M * os);
    }
}
