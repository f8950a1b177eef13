/* Dilated 2-D convolution over regions with a constant set of valid taps:
 * see conv_dilated.h for the algorithm. */
#include "ops/conv_dilated.h"

#include "kernels/im2col_tap.h"

bool lens_conv_dilated_wanted(const lens_conv_params *p) {
    if (p->nsp != 2 || p->group != 1 || p->k[0] * p->k[1] < 2) return false;
    for (int32_t i = 0; i < 2; i++)
        if (p->dil[i] > 1 && (p->k[i] - 1) * p->dil[i] >= 16) return true;
    return false;
}

/* Floats of one tap's packed M x C operand, at a 16-float boundary. */
static size_t tap_floats(const lens_conv_params *p, const lens_f32_gemm_variant *v) {
    size_t f;
    if (!lens_f32_gemm_packed_size((size_t)p->M, v->mr, (size_t)p->C, &f)) return 0;
    if (f > SIZE_MAX - 16) return 0;
    return lens_round_up(f, 16);
}

size_t lens_conv_dilated_packed_floats(const lens_conv_params *p, const lens_f32_gemm_variant *v) {
    size_t f = tap_floats(p, v), taps, total;
    if (!f || lens_mul_ovf_size((size_t)p->k[0], (size_t)p->k[1], &taps) ||
        lens_mul_ovf_size(f, taps, &total))
        return 0;
    return total;
}

void lens_conv_dilated_pack(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                            const float *w, float *dst) {
    size_t taps = (size_t)(p->k[0] * p->k[1]), f = tap_floats(p, v);
    for (size_t t = 0; t < taps; t++) {
        /* W[m, c, ky, kx] at m*C*taps + c*taps + t: rows m, columns c. */
        lens_f32_matrix m = {w + t, (size_t)p->C * taps, taps, 1.0f};
        lens_f32_pack_full(&m, (size_t)p->M, (size_t)p->C, v->mr, dst + t * f);
    }
}

/* ---- geometry: bands and regions ----------------------------------------- */

/* Output rows [lo, hi) where tap k of dimension i reads inside the input
 * (possibly empty: lo == hi). */
static void tap_range(const lens_conv_params *p, int32_t i, int64_t k, int64_t *lo, int64_t *hi) {
    int64_t off = k * p->dil[i] - p->pad[i], s = p->stride[i], n = p->out[i];
    /* o*s + off >= 0  <=>  o >= ceil(-off / s);  o*s + off < in  <=>  o < ceil((in - off) / s). */
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = p->in[i] - off <= 0 ? 0 : (p->in[i] - off + s - 1) / s;
    a = LENS_MIN(a, n), b = LENS_MIN(b, n);
    if (b < a) b = a;
    *lo = a, *hi = b;
}

/* Band boundaries of dimension i into cut (room for 2*k+2), sorted and
 * unique, from 0 to out; returns the number of bands (points - 1). */
static size_t bands(const lens_conv_params *p, int32_t i, int64_t *cut) {
    size_t n = 0;
    cut[n++] = 0;
    cut[n++] = p->out[i];
    for (int64_t k = 0; k < p->k[i]; k++) {
        int64_t lo, hi;
        tap_range(p, i, k, &lo, &hi);
        cut[n++] = lo, cut[n++] = hi;
    }
    /* Insertion sort: at most 2k+2 points, k small in practice. */
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && cut[b - 1] > cut[b]; b--) {
            int64_t t = cut[b];
            cut[b] = cut[b - 1], cut[b - 1] = t;
        }
    size_t u = 1;
    for (size_t a = 1; a < n; a++)
        if (cut[a] != cut[u - 1]) cut[u++] = cut[a];
    return u - 1;
}

typedef struct region {
    int64_t y0, y1, x0, x1;
    int64_t chunk;      /* columns per task */
    int64_t first_task; /* index of its first task within an image */
} region;

/* Columns per task: a few micro-tile widths (B panel stays in L1/L2). */
static size_t chunk_max(const lens_f32_gemm_variant *v) {
    return v->nr * LENS_MAX((size_t)1, 256 / v->nr);
}

/* Scratch layout: region table, then per-thread (packed B block, C chunk). */
static bool layout(const lens_conv_params *p, const lens_f32_gemm_variant *v, size_t *cut_f,
                   size_t *reg_f, size_t *thread_f) {
    size_t pts, nreg, kc = LENS_MIN((size_t)LENS_GEMM_KC, (size_t)LENS_MAX(p->C, 1)), b, c;
    size_t kmax = (size_t)LENS_MAX(p->k[0], p->k[1]);
    if (kmax > SIZE_MAX / 4 - 2) return false;
    pts = 2 * kmax + 2;
    /* two cut arrays of int64 */
    if (lens_mul_ovf_size(pts, 2 * sizeof(int64_t) / sizeof(float), cut_f)) return false;
    *cut_f = lens_round_up(*cut_f, 16);
    /* At most 2k+1 bands per dimension: a long 1 x k kernel needs 3 x (2k+1)
     * regions, not pts^2. */
    size_t ky = 2 * (size_t)p->k[0] + 1, kx = 2 * (size_t)p->k[1] + 1;
    if (lens_mul_ovf_size(ky, kx, &nreg) || lens_mul_ovf_size(nreg, sizeof(region), &nreg))
        return false;
    *reg_f = lens_round_up(nreg / sizeof(float), 16);
    size_t ch = chunk_max(v);
    if (lens_mul_ovf_size(lens_round_up(ch, v->nr), kc, &b) ||
        lens_mul_ovf_size((size_t)p->M, ch, &c))
        return false;
    b = lens_round_up(b, 16), c = lens_round_up(c, 16);
    if (lens_add_ovf_size(b, c, thread_f)) return false;
    return true;
}

size_t lens_conv_dilated_scratch_floats(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                                        int32_t threads) {
    size_t cut_f, reg_f, thread_f, total, t = (size_t)(threads < 1 ? 1 : threads);
    if (!layout(p, v, &cut_f, &reg_f, &thread_f)) return 0;
    if (lens_mul_ovf_size(thread_f, t, &total) || lens_add_ovf_size(total, cut_f, &total) ||
        lens_add_ovf_size(total, reg_f, &total))
        return 0;
    return total;
}

/* ---- compute ----------------------------------------------------------------- */

typedef struct dil_job {
    const lens_conv_params *p;
    const lens_f32_gemm_variant *v;
    lens_f32_act_fn act;
    const float *x, *wpacked, *bias, *res;
    float *y, *scratch;
    const region *reg;
    size_t nreg, tasks_per_image, thread_floats, bfloats, tapf;
} dil_job;

static void dil_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    const dil_job *j = ctx;
    const lens_conv_params *p = j->p;
    const size_t M = (size_t)p->M, C = (size_t)p->C, OH = (size_t)p->out[0], OW = (size_t)p->out[1];
    const size_t os = OH * OW, KW = (size_t)p->k[1];
    float *bbuf = j->scratch + (size_t)thread * j->thread_floats;
    float *cbuf = bbuf + j->bfloats;
    for (int64_t task = begin; task < end; task++) {
        size_t n = (size_t)task / j->tasks_per_image;
        int64_t ti = task % (int64_t)j->tasks_per_image;
        /* The region holding task ti (binary search on first_task). */
        size_t lo = 0, hi = j->nreg;
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (j->reg[mid].first_task <= ti) lo = mid;
            else hi = mid;
        }
        const region *r = &j->reg[lo];
        const int64_t rw = r->x1 - r->x0, rsz = (r->y1 - r->y0) * rw;
        const int64_t q0 = (ti - r->first_task) * r->chunk;
        const size_t ncol = (size_t)LENS_MIN(r->chunk, rsz - q0);
        /* Valid taps: constant over the region (see bands()). */
        lens_im2col_tap_ctx gc = {j->x + n * C * (size_t)(p->in[0] * p->in[1]),
                                  r->y0, r->x0, r->x1 - r->x0, q0, 0, 0,
                                  p->stride[0], p->stride[1], p->in[0], p->in[1]};
        lens_f32_gemm_plan plan = {lens_round_up(M, j->v->mr), lens_round_up(ncol, j->v->nr), 1, 1,
                                   j->thread_floats};
        lens_f32_gemm_args a = {0};
        a.M = M, a.N = ncol, a.K = C;
        a.b.pack = lens_im2col_tap_pack, a.b.ctx = &gc;
        a.c = cbuf, a.ldc = ncol;
        bool any = false;
        for (int64_t ky = 0; ky < p->k[0]; ky++) {
            int64_t ylo, yhi;
            tap_range(p, 0, ky, &ylo, &yhi);
            if (!(ylo <= r->y0 && r->y1 <= yhi)) continue;
            for (int64_t kx = 0; kx < p->k[1]; kx++) {
                int64_t xlo, xhi;
                tap_range(p, 1, kx, &xlo, &xhi);
                if (!(xlo <= r->x0 && r->x1 <= xhi)) continue;
                gc.dy = ky * p->dil[0] - p->pad[0];
                gc.dx = kx * p->dil[1] - p->pad[1];
                a.a.packed = j->wpacked + ((size_t)ky * KW + (size_t)kx) * j->tapf;
                a.accumulate = any;
                lens_f32_gemm_tile(j->v, &plan, &a, 0, 0, bbuf);
                any = true;
            }
        }
        if (!any) memset(cbuf, 0, M * ncol * sizeof(float));
        /* Epilogue once: bias, residual, activation, scattered into Y rows. */
        for (size_t m = 0; m < M; m++) {
            const float *src = cbuf + m * ncol;
            const float b = j->bias ? j->bias[m] : 0.0f;
            float *ym = j->y + (n * M + m) * os;
            const float *rm = j->res ? j->res + (n * M + m) * os : NULL;
            for (size_t c = 0; c < ncol;) {
                int64_t q = q0 + (int64_t)c;
                size_t oy = (size_t)(r->y0 + q / rw), ox = (size_t)(r->x0 + q % rw);
                size_t len = LENS_MIN(ncol - c, (size_t)(r->x1 - (int64_t)ox));
                float *d = ym + oy * OW + ox;
                if (rm) {
                    const float *rr = rm + oy * OW + ox;
                    for (size_t i = 0; i < len; i++) d[i] = src[c + i] + b + rr[i];
                } else {
                    for (size_t i = 0; i < len; i++) d[i] = src[c + i] + b;
                }
                if (p->act.act) j->act(&p->act, d, len);
                c += len;
            }
        }
    }
}

void lens_conv_dilated_f32(const lens_conv_params *p, const lens_f32_gemm_variant *v,
                           lens_threadpool *pool, const float *x, const float *wpacked,
                           const float *bias, const float *residual, float *y, float *scratch) {
    if (p->N == 0 || p->M == 0 || p->out[0] * p->out[1] == 0) return;
    size_t cut_f, reg_f, thread_f;
    layout(p, v, &cut_f, &reg_f, &thread_f); /* checked by the scratch size */
    int64_t *cy = (int64_t *)scratch, *cx = cy + 2 * LENS_MAX(p->k[0], p->k[1]) + 2;
    region *reg = (region *)(scratch + cut_f);
    size_t by = bands(p, 0, cy), bx = bands(p, 1, cx), nreg = 0;
    int64_t tasks = 0;
    const size_t ch = chunk_max(v);
    for (size_t i = 0; i < by; i++)
        for (size_t k = 0; k < bx; k++) {
            region *r = &reg[nreg++];
            r->y0 = cy[i], r->y1 = cy[i + 1], r->x0 = cx[k], r->x1 = cx[k + 1];
            size_t sz = (size_t)((r->y1 - r->y0) * (r->x1 - r->x0));
            /* Even chunks of whole micro-tiles, at most ch columns. */
            size_t nch = (sz + ch - 1) / ch;
            size_t w = LENS_MIN(ch, lens_round_up((sz + nch - 1) / nch, v->nr));
            r->chunk = (int64_t)w;
            r->first_task = tasks;
            tasks += (int64_t)((sz + w - 1) / w);
        }
    dil_job j = {p, v, lens_f32_act_best(), x, wpacked, bias, residual, y, NULL, reg, nreg,
                 (size_t)tasks, thread_f, 0, tap_floats(p, v)};
    j.scratch = scratch + cut_f + reg_f;
    size_t kc = LENS_MIN((size_t)LENS_GEMM_KC, (size_t)LENS_MAX(p->C, 1));
    j.bfloats = lens_round_up(lens_round_up(ch, v->nr) * kc, 16);
    lens_parallel_for(pool, p->N * tasks, 1, dil_task, &j);
}
