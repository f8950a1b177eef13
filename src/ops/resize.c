/* Resize (ONNX 10, 11, 13, 18) and Upsample (7, 9).
 *
 * Each resized axis gets a table: for every output index, the input indices
 * of its taps (1 nearest, 2 linear, 4 cubic; clamped to the input, which is
 * the ONNX reference's edge padding) and their weights. Coordinates follow
 * the reference implementation (onnx/backend/test/case/node/resize.py),
 * including its use of scale * input_length (not the rounded output length)
 * as "length_resized" in align_corners and tf_crop_and_resize.
 *
 * General path: nearest is one gather over all axes (any dtype, exact);
 * linear and cubic are separable, one pass per resized axis, in float.
 * Fast path (float, 4-D, only H and W resized): nearest gathers rows with
 * the tables and copies repeated rows; bilinear blends four taps per pixel.
 * Both parallelise over N*C planes. */
#include <math.h>

#include "kernels/resize.h"
#include "ops/op.h"

typedef enum rz_mode { RZ_NEAREST, RZ_LINEAR, RZ_CUBIC } rz_mode;
typedef enum rz_coord {
    RZ_HALF_PIXEL, RZ_PYTORCH_HALF_PIXEL, RZ_ALIGN_CORNERS, RZ_ASYMMETRIC, RZ_TF_HALF_PIXEL_FOR_NN,
    RZ_TF_CROP_AND_RESIZE
} rz_coord;
typedef enum rz_nearest {
    RZ_ROUND_PREFER_FLOOR, RZ_ROUND_PREFER_CEIL, RZ_FLOOR, RZ_CEIL,
    RZ_SIMPLE /* Resize-10 / Upsample: floor, or ceil when down-sampling (as ONNX Runtime) */
} rz_nearest;

typedef struct rz_params {
    int32_t nd;
    int64_t in[LENS_MAX_DIMS], out[LENS_MAX_DIMS];
    double scale[LENS_MAX_DIMS];
    double roi_s[LENS_MAX_DIMS], roi_e[LENS_MAX_DIMS];
    rz_mode mode;
    rz_coord coord;
    rz_nearest nearest;
    double cubic_a;
    bool exclude_outside;
    bool down; /* some axis is down-sampled (RZ_SIMPLE) */
} rz_params;

typedef struct rz_axis {
    int32_t taps;
    int64_t *idx;  /* out * taps */
    float *w;      /* out * taps */
    uint8_t *oob;  /* out: coordinate outside the input (tf_crop_and_resize) */
    bool identity;
    bool any_oob;
} rz_axis;

static double rz_source(const rz_params *p, int32_t a, int64_t o, bool *oob) {
    double x = (double)o, s = p->scale[a], in = (double)p->in[a];
    double len = s * in; /* the reference's output_width */
    *oob = false;
    switch (p->coord) {
    case RZ_HALF_PIXEL: return (x + 0.5) / s - 0.5;
    case RZ_PYTORCH_HALF_PIXEL: return len == 1.0 ? -0.5 : (x + 0.5) / s - 0.5;
    case RZ_ALIGN_CORNERS: return len == 1.0 ? 0.0 : x * (in - 1) / (len - 1);
    case RZ_ASYMMETRIC: return x / s;
    case RZ_TF_HALF_PIXEL_FOR_NN: return (x + 0.5) / s;
    case RZ_TF_CROP_AND_RESIZE: {
        double r0 = p->roi_s[a], r1 = p->roi_e[a], v;
        if (len == 1.0) v = (r1 - r0) * (in - 1) / 2;
        else v = x * (r1 - r0) * (in - 1) / (len - 1);
        v += r0 * (in - 1);
        if (v < 0 || v > in - 1) *oob = true;
        return v;
    }
    }
    return 0;
}

static int64_t clampi(int64_t v, int64_t n) { return v < 0 ? 0 : v >= n ? n - 1 : v; }

static void cubic_coeffs(double r, double A, double c[4]) {
    c[0] = ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A;
    c[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
    c[2] = ((A + 2) * (1 - r) - (A + 3)) * (1 - r) * (1 - r) + 1;
    c[3] = ((A * ((1 - r) + 1) - 5 * A) * ((1 - r) + 1) + 8 * A) * ((1 - r) + 1) - 4 * A;
}

/* Fill the table of axis a. Memory for idx/w/oob is provided by the caller. */
static void rz_build_axis(const rz_params *p, int32_t a, rz_axis *ax) {
    int64_t in = p->in[a], out = p->out[a];
    int32_t taps = ax->taps;
    ax->identity = in == out;
    ax->any_oob = false;
    for (int64_t o = 0; o < out; o++) {
        bool oob;
        double x = rz_source(p, a, o, &oob);
        int64_t *id = ax->idx + o * taps;
        float *w = ax->w + o * taps;
        ax->oob[o] = oob;
        if (oob) {
            ax->any_oob = true;
            ax->identity = false;
            for (int32_t t = 0; t < taps; t++) { id[t] = 0; w[t] = 0; }
            continue;
        }
        /* Keep x in a range where floor/ceil are exact and cannot overflow. */
        if (x < -1e9) x = -1e9;
        if (x > 1e15) x = 1e15;
        double fl = floor(x);
        if (p->mode == RZ_NEAREST) {
            int64_t i;
            double fr = x - fl;
            if (fr == 0) i = (int64_t)fl;
            else switch (p->nearest) {
            case RZ_ROUND_PREFER_FLOOR: i = (int64_t)fl + (fr > 0.5); break;
            case RZ_ROUND_PREFER_CEIL: i = (int64_t)fl + (fr >= 0.5); break;
            case RZ_FLOOR: i = (int64_t)fl; break;
            case RZ_CEIL: i = (int64_t)fl + 1; break;
            default: i = p->down ? (int64_t)fl + 1 : (int64_t)fl; break;
            }
            id[0] = clampi(i, in);
            w[0] = 1;
            if (id[0] != o) ax->identity = false;
            continue;
        }
        /* The reference takes the neighbours left of x, ratio in (0, 1]. */
        int64_t base = (int64_t)ceil(x) - 1;
        double r = x - (double)base;
        if (p->mode == RZ_LINEAR) {
            id[0] = clampi(base, in);
            id[1] = clampi(base + 1, in);
            w[0] = (float)(1 - r);
            w[1] = (float)r;
            if (!(r == 1.0 && base + 1 == o)) ax->identity = false;
            continue;
        }
        double c[4], sum = 0;
        cubic_coeffs(r, p->cubic_a, c);
        for (int32_t t = 0; t < 4; t++) {
            int64_t i = base - 1 + t;
            if (p->exclude_outside && (i < 0 || i >= in)) c[t] = 0;
            sum += c[t];
            id[t] = clampi(i, in);
        }
        for (int32_t t = 0; t < 4; t++) {
            double v = p->exclude_outside ? (sum != 0 ? c[t] / sum : 0) : c[t];
            w[t] = (float)v;
            if (v != (t == 2 && base + 1 == o ? 1.0 : 0.0)) ax->identity = false;
        }
    }
}

static int32_t rz_taps(rz_mode m) { return m == RZ_NEAREST ? 1 : m == RZ_LINEAR ? 2 : 4; }

static size_t align64(size_t v) { return (v + 63) & ~(size_t)63; }

/* ---- general nearest: one gather over all axes, any element size ----------- */

typedef struct rz_gather_ctx {
    const rz_params *p;
    const rz_axis *ax;
    const char *x;
    char *y;
    size_t es;
    const void *extrap;
    int64_t rows; /* product of out dims but the last */
} rz_gather_ctx;

static void rz_gather_task(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const rz_gather_ctx *c = vctx;
    const rz_params *p = c->p;
    int32_t nd = p->nd, last = nd - 1;
    int64_t istr[LENS_MAX_DIMS];
    lens_contiguous_strides(nd, p->in, istr);
    int64_t W = p->out[last];
    for (int64_t r = b; r < e; r++) {
        int64_t rem = r, off = 0;
        bool oob = false;
        for (int32_t d = last - 1; d >= 0; d--) {
            int64_t o = rem % p->out[d];
            rem /= p->out[d];
            oob |= c->ax[d].oob[o] != 0;
            off += c->ax[d].idx[o] * istr[d];
        }
        char *yr = c->y + (size_t)(r * W) * c->es;
        const char *xr = c->x + (size_t)off * c->es;
        const rz_axis *la = &c->ax[last];
        for (int64_t o = 0; o < W; o++) {
            const void *src = oob || la->oob[o] ? c->extrap : xr + (size_t)la->idx[o] * c->es;
            memcpy(yr + (size_t)o * c->es, src, c->es);
        }
    }
}

/* ---- general separable pass: [outer, L_in, inner] -> [outer, L_out, inner] */

typedef struct rz_pass_ctx {
    const float *x;
    float *y;
    const rz_axis *ax;
    int64_t lin, lout, inner;
    float extrap;
} rz_pass_ctx;

static void rz_pass_task(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const rz_pass_ctx *c = vctx;
    int32_t taps = c->ax->taps;
    for (int64_t t = b; t < e; t++) {
        int64_t o = t % c->lout, ou = t / c->lout;
        float *y = c->y + t * c->inner;
        if (c->ax->oob[o]) {
            for (int64_t j = 0; j < c->inner; j++) y[j] = c->extrap;
            continue;
        }
        const float *x = c->x + ou * c->lin * c->inner;
        const int64_t *id = c->ax->idx + o * taps;
        const float *w = c->ax->w + o * taps;
        if (c->inner == 1) {
            float s = 0;
            for (int32_t k = 0; k < taps; k++) s += w[k] * x[id[k]];
            y[0] = s;
            continue;
        }
        for (int64_t j = 0; j < c->inner; j++) y[j] = 0;
        for (int32_t k = 0; k < taps; k++) {
            const float *xr = x + id[k] * c->inner;
            float wk = w[k];
            if (wk == 0) continue;
            for (int64_t j = 0; j < c->inner; j++) y[j] += wk * xr[j];
        }
    }
}

/* ---- fast 2-D NCHW paths ------------------------------------------------- */

/* Only H and W resized, float, no extrapolation: the kernels of
 * kernels/resize.h on int32 column tables (x0/x1 and weights a0/a1 in
 * separate arrays for vector loads). Tasks are (plane, block of output
 * rows); each keeps the horizontally interpolated input rows it last used
 * (two per thread) so that an upsampling interpolates each input row about
 * once per block. Every output value is computed the same way whatever the
 * blocking, so results do not depend on the thread count. */
typedef struct rz_fast_ctx {
    const rz_params *p;
    const lens_f32_resize_variant *kv;
    const rz_axis *ay;
    const int32_t *x0, *x1; /* output column -> input column taps */
    const float *a0, *a1;   /* their weights (bilinear) */
    const float *x;
    float *y;
    float *rows;            /* per thread: 2 * row_floats (bilinear) */
    size_t row_floats;
    int64_t blocks, block_rows; /* row blocks per plane */
} rz_fast_ctx;

static void rz_fast_nearest(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const rz_fast_ctx *c = vctx;
    int64_t H = c->p->in[2], W = c->p->in[3], OH = c->p->out[2], OW = c->p->out[3];
    const int64_t *iy = c->ay->idx;
    for (int64_t t = b; t < e; t++) {
        int64_t pl = t / c->blocks, r0 = t % c->blocks * c->block_rows;
        int64_t r1 = LENS_MIN(OH, r0 + c->block_rows);
        const float *x = c->x + pl * H * W;
        float *y = c->y + pl * OH * OW;
        for (int64_t oy = r0; oy < r1; oy++) {
            float *yr = y + oy * OW;
            if (oy > r0 && iy[oy] == iy[oy - 1]) {
                memcpy(yr, yr - OW, (size_t)OW * sizeof(float));
                continue;
            }
            c->kv->gather(x + iy[oy] * W, c->x0, (size_t)OW, yr);
        }
    }
}

static void rz_fast_bilinear(void *vctx, int64_t b, int64_t e, int32_t thread) {
    const rz_fast_ctx *c = vctx;
    int64_t H = c->p->in[2], W = c->p->in[3], OH = c->p->out[2], OW = c->p->out[3];
    const int64_t *iy = c->ay->idx;
    const float *wy = c->ay->w;
    float *h[2] = {c->rows + (size_t)thread * 2 * c->row_floats, NULL};
    h[1] = h[0] + c->row_floats;
    for (int64_t t = b; t < e; t++) {
        int64_t pl = t / c->blocks, r0 = t % c->blocks * c->block_rows;
        int64_t r1 = LENS_MIN(OH, r0 + c->block_rows);
        const float *x = c->x + pl * H * W;
        float *y = c->y + pl * OH * OW;
        int64_t tag[2] = {-1, -1}; /* input row held by h[i] */
        for (int64_t oy = r0; oy < r1; oy++) {
            int64_t want[2] = {iy[2 * oy], iy[2 * oy + 1]};
            int slot[2];
            for (int k = 0; k < 2; k++) {
                if (tag[0] == want[k]) slot[k] = 0;
                else if (tag[1] == want[k]) slot[k] = 1;
                else {
                    /* Evict the row the other tap does not need. */
                    int s = k == 1 ? 1 - slot[0] : (tag[0] == want[1] ? 1 : 0);
                    c->kv->hlinear(x + want[k] * W, c->x0, c->x1, c->a0, c->a1, (size_t)OW, h[s]);
                    tag[s] = want[k];
                    slot[k] = s;
                }
            }
            c->kv->vlinear(h[slot[0]], h[slot[1]], wy[2 * oy], wy[2 * oy + 1], (size_t)OW,
                           y + oy * OW);
        }
    }
}

/* Extra scratch of the fast path for `threads` threads: four column tables
 * and the row cache. */
static size_t rz_fast_bytes(const rz_params *p, int32_t threads) {
    if (p->nd != 4) return 0;
    size_t ow = (size_t)p->out[3];
    return 4 * align64(ow * 4) + (size_t)(threads < 1 ? 1 : threads) * 2 * align64(ow * 4);
}

/* ---- driver --------------------------------------------------------------- */

/* Scratch needed by rz_compute for element size es. */
static size_t rz_scratch_bytes(const rz_params *p, int32_t threads) {
    int32_t taps = rz_taps(p->mode);
    size_t bytes = rz_fast_bytes(p, threads);
    for (int32_t a = 0; a < p->nd; a++) {
        size_t o = (size_t)p->out[a];
        bytes += align64(o * taps * sizeof(int64_t)) + align64(o * taps * sizeof(float)) + align64(o);
    }
    if (p->mode != RZ_NEAREST) {
        /* Two ping-pong buffers as large as the largest intermediate. */
        int64_t cur[LENS_MAX_DIMS], mx = 0, n;
        memcpy(cur, p->in, sizeof cur);
        for (int32_t a = 0; a < p->nd; a++) {
            cur[a] = p->out[a];
            lens_shape_numel(p->nd, cur, &n);
            mx = LENS_MAX(mx, n);
        }
        bytes += 2 * align64((size_t)mx * sizeof(float));
    }
    return bytes;
}

/* Resize x into y. Nearest: any element size es; linear/cubic: float. The
 * extrapolation value is given as bytes of the element type. */
static void rz_compute(const rz_params *p, const void *x, void *y, size_t es, const void *extrap,
                       char *scratch, lens_threadpool *pool, bool allow_fast) {
    rz_axis ax[LENS_MAX_DIMS];
    int32_t taps = rz_taps(p->mode);
    char *fast_scratch = scratch;
    char *s = scratch + rz_fast_bytes(p, lens_threadpool_size(pool));
    int32_t nd = p->nd;
    for (int32_t a = 0; a < nd; a++) {
        size_t o = (size_t)p->out[a];
        ax[a].taps = taps;
        ax[a].idx = (int64_t *)s;
        s += align64(o * taps * sizeof(int64_t));
        ax[a].w = (float *)s;
        s += align64(o * taps * sizeof(float));
        ax[a].oob = (uint8_t *)s;
        s += align64(o);
        rz_build_axis(p, a, &ax[a]);
    }
    int64_t onumel;
    lens_shape_numel(nd, p->out, &onumel);
    if (onumel == 0) return;

    bool fast2d = allow_fast && nd == 4 && es == sizeof(float) && ax[0].identity && ax[1].identity &&
                  !ax[2].any_oob && !ax[3].any_oob && p->mode != RZ_CUBIC &&
                  p->in[3] <= INT32_MAX;
    if (fast2d) {
        int32_t threads = lens_threadpool_size(pool);
        size_t ow = (size_t)p->out[3], tb = align64(ow * 4);
        int32_t *x0 = (int32_t *)fast_scratch, *x1 = (int32_t *)(fast_scratch + tb);
        float *a0 = (float *)(fast_scratch + 2 * tb), *a1 = (float *)(fast_scratch + 3 * tb);
        const rz_axis *axx = &ax[3];
        for (size_t o = 0; o < ow; o++) {
            x0[o] = (int32_t)axx->idx[o * taps];
            a0[o] = axx->w[o * taps];
            if (taps == 2) x1[o] = (int32_t)axx->idx[o * 2 + 1], a1[o] = axx->w[o * 2 + 1];
        }
        int64_t planes = p->out[0] * p->out[1], OH = p->out[2];
        /* Enough tasks for every thread; whole planes when there are many. */
        int64_t blocks = planes >= 4 * threads ? 1 : LENS_MIN(OH, (4 * threads + planes - 1) / planes);
        rz_fast_ctx c = {p, lens_f32_resize_best(), &ax[2], x0, x1, a0, a1, x, y,
                         (float *)(fast_scratch + 4 * tb), tb / 4, blocks, (OH + blocks - 1) / blocks};
        c.blocks = (OH + c.block_rows - 1) / c.block_rows;
        lens_parallel_for(pool, planes * c.blocks, 1,
                          p->mode == RZ_NEAREST ? rz_fast_nearest : rz_fast_bilinear, &c);
        return;
    }
    if (p->mode == RZ_NEAREST) {
        rz_gather_ctx c = {p, ax, x, y, es, extrap, onumel / p->out[nd - 1]};
        lens_parallel_for(pool, c.rows, LENS_MAX(1, 4096 / p->out[nd - 1]), rz_gather_task, &c);
        return;
    }
    /* Separable passes over the axes that change anything. */
    int32_t todo[LENS_MAX_DIMS], nt = 0;
    for (int32_t a = 0; a < nd; a++)
        if (!ax[a].identity) todo[nt++] = a;
    if (nt == 0) {
        memcpy(y, x, (size_t)onumel * sizeof(float));
        return;
    }
    float *buf[2] = {(float *)s, NULL};
    {
        int64_t cur[LENS_MAX_DIMS], mx = 0, n;
        memcpy(cur, p->in, sizeof cur);
        for (int32_t a = 0; a < nd; a++) {
            cur[a] = p->out[a];
            lens_shape_numel(nd, cur, &n);
            mx = LENS_MAX(mx, n);
        }
        buf[1] = (float *)(s + align64((size_t)mx * sizeof(float)));
    }
    float ev;
    memcpy(&ev, extrap, sizeof ev);
    int64_t cur[LENS_MAX_DIMS];
    memcpy(cur, p->in, sizeof cur);
    const float *src = x;
    for (int32_t t = 0; t < nt; t++) {
        int32_t a = todo[t];
        int64_t outer = 1, inner = 1;
        for (int32_t d = 0; d < a; d++) outer *= cur[d];
        for (int32_t d = a + 1; d < nd; d++) inner *= cur[d];
        float *dst = t == nt - 1 ? (float *)y : buf[t & 1];
        rz_pass_ctx c = {src, dst, &ax[a], p->in[a], p->out[a], inner, ev};
        lens_parallel_for(pool, outer * p->out[a], LENS_MAX(1, 4096 / (inner * taps)), rz_pass_task, &c);
        cur[a] = p->out[a];
        src = dst;
    }
}

/* For the unit tests: resize a float tensor. mode 0/1/2 = nearest/linear/
 * cubic; coord and nearest as the rz_coord / rz_nearest enums; roi holds
 * 2*nd values (starts then ends) or is NULL. allow_fast = false forces the
 * general path. */
lens_status lens_resize_f32(const float *x, float *y, int32_t nd, const int64_t *in, const int64_t *out,
                            const double *scales, int mode, int coord, int nearest, double cubic_a,
                            bool exclude_outside, float extrap, const float *roi, lens_threadpool *pool,
                            bool allow_fast) {
    rz_params p = {0};
    p.nd = nd;
    for (int32_t a = 0; a < nd; a++) {
        p.in[a] = in[a];
        p.out[a] = out[a];
        p.scale[a] = scales[a];
        p.roi_s[a] = roi ? roi[a] : 0;
        p.roi_e[a] = roi ? roi[a + nd] : 1;
        if (scales[a] < 1) p.down = true;
    }
    p.mode = (rz_mode)mode;
    p.coord = (rz_coord)coord;
    p.nearest = (rz_nearest)nearest;
    p.cubic_a = cubic_a;
    p.exclude_outside = exclude_outside;
    char *scratch = lens_aligned_alloc(rz_scratch_bytes(&p, lens_threadpool_size(pool)) + 64);
    if (!scratch) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "resize scratch");
    rz_compute(&p, x, y, sizeof(float), &extrap, scratch, pool, allow_fast);
    lens_aligned_free(scratch);
    return LENS_OK;
}

/* ---- operator front ends ---------------------------------------------------- */

static bool is_float_type(lens_dtype t) {
    return t == LENS_DTYPE_FLOAT || t == LENS_DTYPE_DOUBLE || t == LENS_DTYPE_FLOAT16 ||
           t == LENS_DTYPE_BFLOAT16;
}

/* Scale or size values beyond this are rejected before any arithmetic. */
#define RZ_MAX_EXTENT ((double)(1LL << 40))

static lens_status rz_out_from_scale(rz_params *p, int32_t a, double s) {
    if (!isfinite(s) || s <= 0)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "scale %g on axis %d must be finite and positive", s, a);
    double o = floor(s * (double)p->in[a]);
    if (o > RZ_MAX_EXTENT || s > RZ_MAX_EXTENT)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "scale %g on axis %d gives an absurd output size", s, a);
    p->scale[a] = s;
    p->out[a] = (int64_t)o;
    return LENS_OK;
}

/* The common tail: allocate Y, stage dtypes, compute. */
static lens_status rz_execute(lens_exec *ex, const lens_tensor *x, rz_params *p, double extrap_value) {
    for (int32_t a = 0; a < p->nd; a++)
        if (p->scale[a] < 1) p->down = true;
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, p->nd, p->out, &y));
    int64_t numel = lens_tensor_numel(x), onumel = lens_tensor_numel(y);
    if (onumel == 0) return LENS_OK;
    if (numel == 0) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "cannot resize an empty tensor to a non-empty one");
    size_t es = lens_dtype_size(x->dtype);
    bool convert = p->mode != RZ_NEAREST && x->dtype != LENS_DTYPE_FLOAT;
    size_t base = align64(rz_scratch_bytes(p, lens_threadpool_size(lens_exec_pool(ex))));
    size_t xb = convert ? align64((size_t)numel * sizeof(float)) : 0;
    size_t yb = convert ? align64((size_t)onumel * sizeof(float)) : 0;
    char *sc = lens_exec_scratch(ex, base + xb + yb);
    if (!sc) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "no scratch memory for Resize");
    uint64_t ebytes = 0;
    lens_tensor et = {convert ? LENS_DTYPE_FLOAT : x->dtype, 1, {1}, &ebytes};
    lens_tensor_set_f64(&et, 0, extrap_value);
    if (!convert) {
        rz_compute(p, x->data, y->data, es, &ebytes, sc, lens_exec_pool(ex), true);
        return LENS_OK;
    }
    float *xf = (float *)(sc + base), *yf = (float *)(sc + base + xb);
    LENS_TRY(lens_convert(x->data, x->dtype, xf, LENS_DTYPE_FLOAT, numel));
    rz_compute(p, xf, yf, sizeof(float), &ebytes, sc, lens_exec_pool(ex), true);
    /* Integer outputs round to nearest rather than truncate: linear and
     * cubic produce in-between values. */
    if (!is_float_type(y->dtype))
        for (int64_t i = 0; i < onumel; i++) yf[i] = nearbyintf(yf[i]);
    return lens_convert(yf, LENS_DTYPE_FLOAT, y->data, y->dtype, onumel);
}

static lens_status rz_read_mode(const lens_node *node, rz_params *p) {
    const char *m = lens_node_attr_string(node, "mode", "nearest");
    if (!strcmp(m, "nearest")) p->mode = RZ_NEAREST;
    else if (!strcmp(m, "linear") || !strcmp(m, "bilinear")) p->mode = RZ_LINEAR;
    else if (!strcmp(m, "cubic") && node->opset >= 11 && strcmp(node->op_type, "Upsample"))
        p->mode = RZ_CUBIC;
    else return lens_error(LENS_STATUS_INVALID_MODEL, "unknown mode '%s'", m);
    return LENS_OK;
}

static lens_status check_x(const lens_tensor *x) {
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input X");
    if (lens_dtype_size(x->dtype) == 0 || x->dtype == LENS_DTYPE_BOOL)
        return lens_error(LENS_STATUS_UNSUPPORTED, "unsupported dtype %s", lens_dtype_name(x->dtype));
    if (x->ndim < 1) return lens_error(LENS_STATUS_INVALID_MODEL, "X must have rank >= 1");
    return LENS_OK;
}

/* Upsample-7 (scales attribute), Upsample-9 and Resize-10 (scales input):
 * asymmetric coordinates. */
static lens_status run_resize_old(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    LENS_TRY(check_x(x));
    rz_params p = {0};
    p.nd = x->ndim;
    memcpy(p.in, x->dims, sizeof p.in);
    LENS_TRY(rz_read_mode(node, &p));
    p.coord = RZ_ASYMMETRIC;
    p.nearest = RZ_SIMPLE;
    bool is_upsample = !strcmp(node->op_type, "Upsample");
    if (is_upsample && node->opset < 9) {
        int64_t n = 0;
        const float *sc = lens_node_attr_floats(node, "scales", &n);
        if (!sc || n != x->ndim)
            return lens_error(LENS_STATUS_INVALID_MODEL, "scales must have %d values", x->ndim);
        for (int32_t a = 0; a < p.nd; a++) LENS_TRY(rz_out_from_scale(&p, a, sc[a]));
    } else {
        const lens_tensor *s = lens_exec_input(ex, 1);
        if (!s || !is_float_type(s->dtype) || lens_tensor_numel(s) != x->ndim)
            return lens_error(LENS_STATUS_INVALID_MODEL, "scales must be a float tensor of %d values", x->ndim);
        for (int32_t a = 0; a < p.nd; a++) LENS_TRY(rz_out_from_scale(&p, a, lens_tensor_get_f64(s, a)));
    }
    if (is_upsample)
        for (int32_t a = 0; a < p.nd; a++)
            if (p.scale[a] < 1)
                return lens_error(LENS_STATUS_INVALID_MODEL, "Upsample scales must be >= 1");
    return rz_execute(ex, x, &p, 0.0);
}

/* Resize-11, 13, 18. */
static lens_status run_resize(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    LENS_TRY(check_x(x));
    const lens_tensor *roi = lens_exec_input(ex, 1), *scales = lens_exec_input(ex, 2);
    const lens_tensor *sizes = lens_exec_input(ex, 3);
    rz_params p = {0};
    p.nd = x->ndim;
    memcpy(p.in, x->dims, sizeof p.in);
    memcpy(p.out, x->dims, sizeof p.out);
    for (int32_t a = 0; a < p.nd; a++) {
        p.scale[a] = 1.0;
        p.roi_s[a] = 0;
        p.roi_e[a] = 1;
    }
    LENS_TRY(rz_read_mode(node, &p));
    const char *ct = lens_node_attr_string(node, "coordinate_transformation_mode", "half_pixel");
    if (!strcmp(ct, "half_pixel")) p.coord = RZ_HALF_PIXEL;
    else if (!strcmp(ct, "pytorch_half_pixel")) p.coord = RZ_PYTORCH_HALF_PIXEL;
    else if (!strcmp(ct, "align_corners")) p.coord = RZ_ALIGN_CORNERS;
    else if (!strcmp(ct, "asymmetric")) p.coord = RZ_ASYMMETRIC;
    else if (!strcmp(ct, "tf_crop_and_resize")) p.coord = RZ_TF_CROP_AND_RESIZE;
    else if (!strcmp(ct, "tf_half_pixel_for_nn") && node->opset < 13) p.coord = RZ_TF_HALF_PIXEL_FOR_NN;
    else return lens_error(LENS_STATUS_INVALID_MODEL, "unknown coordinate_transformation_mode '%s'", ct);
    const char *nm = lens_node_attr_string(node, "nearest_mode", "round_prefer_floor");
    if (!strcmp(nm, "round_prefer_floor")) p.nearest = RZ_ROUND_PREFER_FLOOR;
    else if (!strcmp(nm, "round_prefer_ceil")) p.nearest = RZ_ROUND_PREFER_CEIL;
    else if (!strcmp(nm, "floor")) p.nearest = RZ_FLOOR;
    else if (!strcmp(nm, "ceil")) p.nearest = RZ_CEIL;
    else return lens_error(LENS_STATUS_INVALID_MODEL, "unknown nearest_mode '%s'", nm);
    p.cubic_a = lens_node_attr_float(node, "cubic_coeff_a", -0.75f);
    p.exclude_outside = lens_node_attr_int(node, "exclude_outside", 0) != 0;
    double extrap = lens_node_attr_float(node, "extrapolation_value", 0.0f);
    if (!isfinite(p.cubic_a)) return lens_error(LENS_STATUS_INVALID_MODEL, "cubic_coeff_a must be finite");

    /* Resize-18: `axes` selects the axes that scales/sizes/roi describe. */
    int32_t axes[LENS_MAX_DIMS], na = p.nd;
    for (int32_t a = 0; a < p.nd; a++) axes[a] = a;
    const char *policy = "stretch";
    if (node->opset >= 18) {
        if (lens_node_attr_int(node, "antialias", 0) != 0)
            return lens_error(LENS_STATUS_UNSUPPORTED, "Resize antialias is not supported");
        int64_t n = 0;
        const int64_t *av = lens_node_attr_ints(node, "axes", &n);
        if (av) {
            if (n > p.nd) return lens_error(LENS_STATUS_INVALID_MODEL, "too many axes");
            bool seen[LENS_MAX_DIMS] = {false};
            for (int64_t i = 0; i < n; i++) {
                LENS_TRY(lens_normalize_axis(av[i], p.nd, "axes", &axes[i]));
                if (seen[axes[i]]) return lens_error(LENS_STATUS_INVALID_MODEL, "repeated axis in axes");
                seen[axes[i]] = true;
            }
            na = (int32_t)n;
        }
        policy = lens_node_attr_string(node, "keep_aspect_ratio_policy", "stretch");
        if (strcmp(policy, "stretch") && strcmp(policy, "not_larger") && strcmp(policy, "not_smaller"))
            return lens_error(LENS_STATUS_INVALID_MODEL, "unknown keep_aspect_ratio_policy '%s'", policy);
    }

    if (p.coord == RZ_TF_CROP_AND_RESIZE) {
        if (!roi || !is_float_type(roi->dtype) || lens_tensor_numel(roi) != 2 * na)
            return lens_error(LENS_STATUS_INVALID_MODEL, "tf_crop_and_resize needs a roi of %d values", 2 * na);
        for (int32_t i = 0; i < na; i++) {
            p.roi_s[axes[i]] = lens_tensor_get_f64(roi, i);
            p.roi_e[axes[i]] = lens_tensor_get_f64(roi, i + na);
            if (!isfinite(p.roi_s[axes[i]]) || !isfinite(p.roi_e[axes[i]]))
                return lens_error(LENS_STATUS_INVALID_ARGUMENT, "roi values must be finite");
        }
    }
    bool have_scales = scales && lens_tensor_numel(scales) > 0;
    bool have_sizes = sizes && lens_tensor_numel(sizes) > 0;
    if (have_scales == have_sizes)
        return lens_error(LENS_STATUS_INVALID_MODEL, "exactly one of scales and sizes must be given");
    if (have_scales) {
        if (!is_float_type(scales->dtype) || lens_tensor_numel(scales) != na)
            return lens_error(LENS_STATUS_INVALID_MODEL, "scales must be a float tensor of %d values", na);
        for (int32_t i = 0; i < na; i++) LENS_TRY(rz_out_from_scale(&p, axes[i], lens_tensor_get_f64(scales, i)));
    } else {
        if (sizes->dtype != LENS_DTYPE_INT64 || lens_tensor_numel(sizes) != na)
            return lens_error(LENS_STATUS_INVALID_MODEL, "sizes must be an int64 tensor of %d values", na);
        const int64_t *sv = sizes->data;
        for (int32_t i = 0; i < na; i++)
            if (sv[i] < 0 || (double)sv[i] > RZ_MAX_EXTENT)
                return lens_error(LENS_STATUS_INVALID_ARGUMENT, "size %lld on axis %d is out of range",
                                  (long long)sv[i], axes[i]);
        if (strcmp(policy, "stretch")) {
            /* One scale for all listed axes keeps the aspect ratio (ONNX 18). */
            bool larger = !strcmp(policy, "not_smaller");
            double s = larger ? 0 : INFINITY;
            for (int32_t i = 0; i < na; i++) {
                if (p.in[axes[i]] == 0) continue;
                double r = (double)sv[i] / (double)p.in[axes[i]];
                s = larger ? LENS_MAX(s, r) : LENS_MIN(s, r);
            }
            if (!isfinite(s) || s <= 0) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "bad sizes");
            for (int32_t i = 0; i < na; i++) {
                int32_t a = axes[i];
                double o = floor(s * (double)p.in[a] + 0.5);
                if (!(o <= RZ_MAX_EXTENT)) /* one axis's ratio applied to a longer axis */
                    return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "sizes give axis %d an absurd output size", a);
                p.scale[a] = s;
                p.out[a] = (int64_t)o;
            }
        } else {
            for (int32_t i = 0; i < na; i++) {
                int32_t a = axes[i];
                p.out[a] = sv[i];
                p.scale[a] = p.in[a] > 0 ? (double)sv[i] / (double)p.in[a] : 1.0;
                if (p.scale[a] <= 0 && p.in[a] > 0 && sv[i] > 0)
                    return lens_error(LENS_STATUS_INVALID_ARGUMENT, "bad size on axis %d", a);
            }
        }
    }
    for (int32_t a = 0; a < p.nd; a++)
        if (p.out[a] > 0 && !(p.scale[a] > 0))
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "cannot resize axis %d of size 0 to %lld", a,
                              (long long)p.out[a]);
    return rz_execute(ex, x, &p, extrap);
}

#define RZ_VALUES ((1u << 1) | (1u << 2) | (1u << 3))
static const lens_op ops[] = {
    {"", "Upsample", 7, 0, 0, NULL, run_resize_old, NULL},
    {"", "Upsample", 9, 1u << 1, 0, NULL, run_resize_old, NULL},
    {"", "Resize", 10, 1u << 1, 0, NULL, run_resize_old, NULL},
    {"", "Resize", 11, RZ_VALUES, 0, NULL, run_resize, NULL},
    {"", "Resize", 13, RZ_VALUES, 0, NULL, run_resize, NULL},
    {"", "Resize", 18, RZ_VALUES, 0, NULL, run_resize, NULL},
};
LENS_OP_TABLE(resize, ops);
