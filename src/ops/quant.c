/* Quantized integer operators: MatMulInteger-10, QLinearMatMul-10,
 * ConvInteger-10, QLinearConv-10 and DynamicQuantizeLinear-11.
 * (QuantizeLinear and DequantizeLinear are in misc.c.)
 *
 * All of them compute (q - zero_point) products exactly in integers: the
 * sums in int64, wrapped to int32 where the output is int32 (ONNX lets the
 * accumulation overflow only in 32 bits). The QLinear operators then
 * requantize each sum as saturate(round(sum * a_scale * b_scale / y_scale) +
 * y_zero_point), the scale product in double, rounding half to even.
 *
 * These are portable reference loops without SIMD or packing: quantized
 * models are not lens's target, and the operators are here for
 * completeness. */
#include <math.h>

#include "ops/op.h"

static bool is_q8(lens_dtype dt) { return dt == LENS_DTYPE_UINT8 || dt == LENS_DTYPE_INT8; }

static inline int32_t q8_at(const void *p, lens_dtype dt, int64_t i) {
    return dt == LENS_DTYPE_UINT8 ? (int32_t)((const uint8_t *)p)[i] : (int32_t)((const int8_t *)p)[i];
}

/* saturate(round_half_even(v) + zp) into uint8 or int8; NaN gives zp. */
static void q8_store(void *p, lens_dtype dt, int64_t i, double v, int32_t zp) {
    double lo = dt == LENS_DTYPE_UINT8 ? 0.0 : -128.0, hi = dt == LENS_DTYPE_UINT8 ? 255.0 : 127.0;
    double q = isnan(v) ? (double)zp : nearbyint(v) + zp;
    q = q < lo ? lo : q > hi ? hi : q;
    if (dt == LENS_DTYPE_UINT8) ((uint8_t *)p)[i] = (uint8_t)q;
    else ((int8_t *)p)[i] = (int8_t)q;
}

static lens_status need_q8(const lens_tensor *t, const char *name) {
    if (!is_q8(t->dtype))
        return lens_error(LENS_STATUS_UNSUPPORTED, "%s has type %s (uint8 or int8)", name,
                          lens_dtype_name(t->dtype));
    return LENS_OK;
}

/* A scalar parameter (one element, any rank): its value as double. */
static lens_status scalar_param(const lens_tensor *t, const char *name, lens_dtype want, double *v) {
    if (t->dtype != want)
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s has type %s, expected %s", name,
                          lens_dtype_name(t->dtype), lens_dtype_name(want));
    if (lens_tensor_numel(t) != 1)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "%s must hold one value (per tensor)", name);
    *v = lens_tensor_get_f64(t, 0);
    return LENS_OK;
}

/* ---- matrix products ------------------------------------------------------ */

/* numpy.matmul shapes: A [..., M, K] times B [..., K, N], batch dims
 * broadcast; a 1-D A is [1, K] and a 1-D B is [K, 1], their unit dims
 * dropped from the output. */
typedef struct mm_geom {
    int32_t nb;                 /* batch rank of the output */
    int64_t bdims[LENS_MAX_DIMS];
    int64_t batches, M, K, N;
    int32_t and_, bnd;          /* ranks of A and B after 1-D promotion */
    int64_t adims[LENS_MAX_DIMS], bdims_in[LENS_MAX_DIMS];
    int64_t astr[LENS_MAX_DIMS], bstr[LENS_MAX_DIMS]; /* per output batch dim, in elements */
    int32_t ynd;
    int64_t ydims[LENS_MAX_DIMS];
} mm_geom;

static lens_status mm_geometry(const lens_tensor *a, const lens_tensor *b, mm_geom *g) {
    char sa[128], sb[128];
    memset(g, 0, sizeof *g);
    if (a->ndim < 1 || b->ndim < 1)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "matrix product of a scalar");
    g->and_ = a->ndim == 1 ? 2 : a->ndim;
    g->bnd = b->ndim == 1 ? 2 : b->ndim;
    if (a->ndim == 1) { g->adims[0] = 1; g->adims[1] = a->dims[0]; }
    else memcpy(g->adims, a->dims, sizeof(int64_t) * (size_t)a->ndim);
    if (b->ndim == 1) { g->bdims_in[0] = b->dims[0]; g->bdims_in[1] = 1; }
    else memcpy(g->bdims_in, b->dims, sizeof(int64_t) * (size_t)b->ndim);
    g->M = g->adims[g->and_ - 2];
    g->K = g->adims[g->and_ - 1];
    g->N = g->bdims_in[g->bnd - 1];
    if (g->bdims_in[g->bnd - 2] != g->K)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "cannot multiply %s by %s",
                          lens_shape_str(a->ndim, a->dims, sa, sizeof sa),
                          lens_shape_str(b->ndim, b->dims, sb, sizeof sb));
    LENS_TRY(lens_broadcast_shape(g->and_ - 2, g->adims, g->bnd - 2, g->bdims_in, &g->nb, g->bdims));
    int64_t as[LENS_MAX_DIMS], bs[LENS_MAX_DIMS];
    lens_broadcast_strides(g->and_ - 2, g->adims, g->nb, as);
    lens_broadcast_strides(g->bnd - 2, g->bdims_in, g->nb, bs);
    g->batches = 1;
    for (int32_t d = 0; d < g->nb; d++) {
        g->batches *= g->bdims[d];
        g->astr[d] = as[d] * g->M * g->K;
        g->bstr[d] = bs[d] * g->K * g->N;
    }
    g->ynd = 0;
    for (int32_t d = 0; d < g->nb; d++) g->ydims[g->ynd++] = g->bdims[d];
    if (a->ndim > 1) g->ydims[g->ynd++] = g->M;
    if (b->ndim > 1) g->ydims[g->ynd++] = g->N;
    return LENS_OK;
}

/* A scale or zero point of A (per row: varies along M only) or of B (per
 * column: along N only), seen through strides: offset = batch part + row
 * (or column) index * `step`. Absent: `data` NULL (zero point 0). */
typedef struct mm_param {
    const lens_tensor *t;
    int64_t bstr[LENS_MAX_DIMS]; /* per output batch dim */
    int64_t step;
} mm_param;

/* `of_b`: a parameter of B (per column) rather than of A (per row). The
 * operand's promoted shape is in g. Accepted: one value; a 1-D tensor of M
 * (A) or N (B) values; or a tensor broadcastable to the operand's shape
 * with a unit contraction dimension ([..., M, 1] for A, [..., 1, N] for B). */
static lens_status mm_param_view(const lens_tensor *t, const char *name, bool of_b,
                                 const mm_geom *g, mm_param *p) {
    memset(p, 0, sizeof *p);
    p->t = t;
    if (!t || lens_tensor_numel(t) == 1) return LENS_OK;
    int32_t xnd = of_b ? g->bnd : g->and_;
    const int64_t *xd = of_b ? g->bdims_in : g->adims;
    int64_t pd[LENS_MAX_DIMS];
    int32_t pnd = t->ndim;
    memcpy(pd, t->dims, sizeof(int64_t) * (size_t)t->ndim);
    if (pnd == 1 && !of_b) { /* [M] per row is [M, 1] */
        pd[1] = 1;
        pnd = 2;
    }
    bool ok = pnd <= xnd;
    for (int32_t i = 0; ok && i < pnd; i++) {
        int64_t want = xd[xnd - pnd + i];
        ok = pd[i] == 1 || pd[i] == want;
    }
    /* The contraction axis (K) must be a unit one. */
    if (ok && pnd >= (of_b ? 2 : 1)) ok = pd[pnd - (of_b ? 2 : 1)] == 1;
    if (!ok) {
        char sp[128], sx[128];
        return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                          "%s %s is not per tensor or per %s of %s", name,
                          lens_shape_str(t->ndim, t->dims, sp, sizeof sp), of_b ? "column" : "row",
                          lens_shape_str(xnd, xd, sx, sizeof sx));
    }
    int64_t st[LENS_MAX_DIMS];
    lens_broadcast_strides(pnd, pd, xnd, st);
    p->step = st[xnd - (of_b ? 1 : 2)];
    /* The operand's batch dims sit right-aligned in the output's batch dims. */
    int32_t xb = xnd - 2, off = g->nb - xb;
    for (int32_t d = 0; d < xb; d++) p->bstr[off + d] = st[d];
    return LENS_OK;
}

typedef struct mm_job {
    mm_geom g;
    const lens_tensor *a, *b;
    mm_param az, bz, as, bs; /* zero points; scales (QLinearMatMul only) */
    double ys;
    int32_t yz;
    lens_tensor *y;
    bool qlinear;
} mm_job;

static lens_status mm_compute(lens_exec *ex, mm_job *j) {
    const mm_geom *g = &j->g;
    int64_t M = g->M, K = g->K, N = g->N;
    size_t bytes;
    if (lens_mul_ovf_size((size_t)N + 1, 2 * sizeof(int64_t), &bytes))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "matrix too wide");
    int64_t *acc = lens_exec_scratch(ex, bytes);
    if (!acc) return LENS_STATUS_OUT_OF_MEMORY; /* message set by lens_exec_scratch */
    int64_t *zb = acc + N;
    int64_t idx[LENS_MAX_DIMS] = {0};
    for (int64_t bi = 0; bi < g->batches; bi++) {
        int64_t ao = 0, bo = 0, azo = 0, bzo = 0, aso = 0, bso = 0;
        for (int32_t d = 0; d < g->nb; d++) {
            ao += idx[d] * g->astr[d];
            bo += idx[d] * g->bstr[d];
            azo += idx[d] * j->az.bstr[d];
            bzo += idx[d] * j->bz.bstr[d];
            aso += idx[d] * j->as.bstr[d];
            bso += idx[d] * j->bs.bstr[d];
        }
        for (int64_t c = 0; c < N; c++)
            zb[c] = j->bz.t ? q8_at(j->bz.t->data, j->bz.t->dtype, bzo + c * j->bz.step) : 0;
        for (int64_t r = 0; r < M; r++) {
            int32_t za = j->az.t ? q8_at(j->az.t->data, j->az.t->dtype, azo + r * j->az.step) : 0;
            for (int64_t c = 0; c < N; c++) acc[c] = 0;
            for (int64_t k = 0; k < K; k++) {
                int64_t av = q8_at(j->a->data, j->a->dtype, ao + r * K + k) - za;
                if (!av) continue;
                int64_t brow = bo + k * N;
                for (int64_t c = 0; c < N; c++)
                    acc[c] += av * (q8_at(j->b->data, j->b->dtype, brow + c) - zb[c]);
            }
            int64_t yo = (bi * M + r) * N;
            if (!j->qlinear) {
                int32_t *y = j->y->data;
                for (int64_t c = 0; c < N; c++) y[yo + c] = (int32_t)(uint32_t)(uint64_t)acc[c];
                continue;
            }
            double sa = ((const float *)j->as.t->data)[aso + r * j->as.step];
            for (int64_t c = 0; c < N; c++) {
                double sb = ((const float *)j->bs.t->data)[bso + c * j->bs.step];
                q8_store(j->y->data, j->y->dtype, yo + c, (double)acc[c] * (sa * sb / j->ys), j->yz);
            }
        }
        for (int32_t d = g->nb - 1; d >= 0; d--) {
            if (++idx[d] < g->bdims[d]) break;
            idx[d] = 0;
        }
    }
    return LENS_OK;
}

/* Zero points take their operand's type. */
static lens_status check_zp(const lens_tensor *zp, const lens_tensor *x, const char *name) {
    if (zp && zp->dtype != x->dtype)
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s has type %s, its input %s",
                          name, lens_dtype_name(zp->dtype), lens_dtype_name(x->dtype));
    return LENS_OK;
}

/* MatMulInteger-10: int32 (A - a_zero_point) x (B - b_zero_point). */
static lens_status matmulinteger_run(const lens_node *node, lens_exec *ex) {
    mm_job j;
    memset(&j, 0, sizeof j);
    j.a = lens_exec_input(ex, 0);
    j.b = lens_exec_input(ex, 1);
    const lens_tensor *az = lens_exec_input(ex, 2), *bz = lens_exec_input(ex, 3);
    if (!j.a || !j.b) return lens_error(LENS_STATUS_INVALID_MODEL, "needs A and B");
    LENS_TRY(need_q8(j.a, "A"));
    LENS_TRY(need_q8(j.b, "B"));
    LENS_TRY(check_zp(az, j.a, "a_zero_point"));
    LENS_TRY(check_zp(bz, j.b, "b_zero_point"));
    LENS_TRY(mm_geometry(j.a, j.b, &j.g));
    LENS_TRY(mm_param_view(az, "a_zero_point", false, &j.g, &j.az));
    LENS_TRY(mm_param_view(bz, "b_zero_point", true, &j.g, &j.bz));
    LENS_TRY(lens_exec_output(ex, 0, LENS_DTYPE_INT32, j.g.ynd, j.g.ydims, &j.y));
    if (lens_tensor_numel(j.y) == 0) return LENS_OK;
    return mm_compute(ex, &j);
}

static lens_status check_scale(const lens_tensor *s, const lens_tensor *zp, const char *sname,
                               const char *zname) {
    if (s->dtype != LENS_DTYPE_FLOAT)
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s has type %s (float)", sname,
                          lens_dtype_name(s->dtype));
    if (zp && !lens_shape_equal(s->ndim, s->dims, zp->ndim, zp->dims) &&
        !(lens_tensor_numel(s) == 1 && lens_tensor_numel(zp) == 1))
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "%s and %s differ in shape", sname, zname);
    return LENS_OK;
}

/* QLinearMatMul-10: inputs a, a_scale, a_zero_point, b, b_scale,
 * b_zero_point, y_scale, y_zero_point (all required); y takes
 * y_zero_point's type. */
static lens_status qlinearmatmul_run(const lens_node *node, lens_exec *ex) {
    mm_job j;
    memset(&j, 0, sizeof j);
    const lens_tensor *in[8];
    static const char *names[8] = {"a", "a_scale", "a_zero_point", "b",
                                   "b_scale", "b_zero_point", "y_scale", "y_zero_point"};
    for (int i = 0; i < 8; i++)
        if (!(in[i] = lens_exec_input(ex, i)))
            return lens_error(LENS_STATUS_INVALID_MODEL, "input %s is missing", names[i]);
    j.a = in[0];
    j.b = in[3];
    LENS_TRY(need_q8(j.a, "a"));
    LENS_TRY(need_q8(j.b, "b"));
    LENS_TRY(need_q8(in[7], "y_zero_point"));
    LENS_TRY(check_zp(in[2], j.a, "a_zero_point"));
    LENS_TRY(check_zp(in[5], j.b, "b_zero_point"));
    LENS_TRY(check_scale(in[1], in[2], "a_scale", "a_zero_point"));
    LENS_TRY(check_scale(in[4], in[5], "b_scale", "b_zero_point"));
    LENS_TRY(mm_geometry(j.a, j.b, &j.g));
    LENS_TRY(mm_param_view(in[2], "a_zero_point", false, &j.g, &j.az));
    LENS_TRY(mm_param_view(in[1], "a_scale", false, &j.g, &j.as));
    LENS_TRY(mm_param_view(in[5], "b_zero_point", true, &j.g, &j.bz));
    LENS_TRY(mm_param_view(in[4], "b_scale", true, &j.g, &j.bs));
    double yz;
    LENS_TRY(scalar_param(in[6], "y_scale", LENS_DTYPE_FLOAT, &j.ys));
    LENS_TRY(scalar_param(in[7], "y_zero_point", in[7]->dtype, &yz));
    j.yz = (int32_t)yz;
    j.qlinear = true;
    LENS_TRY(lens_exec_output(ex, 0, in[7]->dtype, j.g.ynd, j.g.ydims, &j.y));
    if (lens_tensor_numel(j.y) == 0) return LENS_OK;
    return mm_compute(ex, &j);
}

/* ---- convolutions ----------------------------------------------------------- */

/* Conv-style geometry (ONNX Conv-11 attributes; ConvInteger and QLinearConv
 * share them). Up to 3 spatial dims; missing ones are unit dims. */
typedef struct qconv_geom {
    int32_t nsp;
    int64_t N, C, M, group;
    int64_t in[3], out[3], k[3], stride[3], dil[3], pad[3];
} qconv_geom;

static lens_status qconv_geometry(const lens_node *node, const lens_tensor *x, const lens_tensor *w,
                                  qconv_geom *p) {
    memset(p, 0, sizeof *p);
    if (x->ndim < 3 || x->ndim > 5)
        return lens_error(LENS_STATUS_UNSUPPORTED, "x must have rank 3 to 5, got %d", x->ndim);
    if (w->ndim != x->ndim)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "w has rank %d, x has rank %d", w->ndim, x->ndim);
    int32_t nsp = x->ndim - 2;
    p->nsp = nsp;
    p->N = x->dims[0];
    p->C = x->dims[1];
    p->M = w->dims[0];
    p->group = lens_node_attr_int(node, "group", 1);
    if (p->group < 1 || p->C % p->group || p->M % p->group || p->M < 1)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                          "group %lld must divide %lld channels and %lld filters",
                          (long long)p->group, (long long)p->C, (long long)p->M);
    if (w->dims[1] * p->group != p->C)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                          "w has %lld input channels per group, x has %lld channels in %lld groups",
                          (long long)w->dims[1], (long long)p->C, (long long)p->group);
    int64_t n;
    const int64_t *ks = lens_node_attr_ints(node, "kernel_shape", &n);
    if (ks && n != nsp) return lens_error(LENS_STATUS_INVALID_MODEL, "kernel_shape has %lld values", (long long)n);
    const int64_t *st = lens_node_attr_ints(node, "strides", &n);
    if (st && n != nsp) return lens_error(LENS_STATUS_INVALID_MODEL, "strides has %lld values", (long long)n);
    const int64_t *di = lens_node_attr_ints(node, "dilations", &n);
    if (di && n != nsp) return lens_error(LENS_STATUS_INVALID_MODEL, "dilations has %lld values", (long long)n);
    const int64_t *pa = lens_node_attr_ints(node, "pads", &n);
    if (pa && n != 2 * nsp) return lens_error(LENS_STATUS_INVALID_MODEL, "pads has %lld values", (long long)n);
    const char *ap = lens_node_attr_string(node, "auto_pad", "NOTSET");
    bool same_upper = !strcmp(ap, "SAME_UPPER"), same_lower = !strcmp(ap, "SAME_LOWER");
    bool valid = !strcmp(ap, "VALID");
    if (!same_upper && !same_lower && !valid && strcmp(ap, "NOTSET"))
        return lens_error(LENS_STATUS_INVALID_MODEL, "unknown auto_pad '%s'", ap);
    for (int32_t i = 0; i < 3; i++) {
        p->in[i] = p->out[i] = p->k[i] = p->stride[i] = p->dil[i] = 1;
        p->pad[i] = 0;
    }
    for (int32_t i = 0; i < nsp; i++) {
        p->in[i] = x->dims[2 + i];
        p->k[i] = w->dims[2 + i];
        if (ks && ks[i] != p->k[i])
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "kernel_shape[%d] = %lld but w has %lld", i,
                              (long long)ks[i], (long long)p->k[i]);
        if (p->k[i] < 1 || p->in[i] < 1)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "empty kernel or input dimension %d", i);
        int64_t s = st ? st[i] : 1, d = di ? di[i] : 1;
        if (s < 1 || d < 1 || s > (1 << 20) || d > (1 << 20))
            return lens_error(LENS_STATUS_INVALID_MODEL, "strides and dilations must be in [1, 2^20]");
        int64_t pb = pa ? pa[i] : 0, pe = pa ? pa[nsp + i] : 0;
        if (pb < 0 || pe < 0 || pb > (1 << 24) || pe > (1 << 24))
            return lens_error(LENS_STATUS_INVALID_MODEL, "pads must be in [0, 2^24]");
        int64_t ext = (p->k[i] - 1) * d + 1;
        if (valid) {
            pb = pe = 0;
        } else if (same_upper || same_lower) {
            int64_t out = (p->in[i] + s - 1) / s;
            int64_t total = LENS_MAX(0, (out - 1) * s + ext - p->in[i]);
            pb = same_upper ? total / 2 : total - total / 2;
            pe = total - pb;
        }
        int64_t span = p->in[i] + pb + pe - ext;
        if (span < 0)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                              "kernel extent %lld exceeds padded input %lld in dimension %d",
                              (long long)ext, (long long)(p->in[i] + pb + pe), i);
        p->stride[i] = s;
        p->dil[i] = d;
        p->pad[i] = pb;
        p->out[i] = span / s + 1;
    }
    return LENS_OK;
}

/* A per-tensor or per-output-channel (1-D of M) parameter: index step 0 or 1. */
static lens_status per_channel(const lens_tensor *t, const char *name, int64_t m, int64_t *step) {
    *step = 0;
    if (!t || lens_tensor_numel(t) == 1) return LENS_OK;
    if (t->ndim != 1 || t->dims[0] != m)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "%s must hold one value or %lld (per output channel)",
                          name, (long long)m);
    *step = 1;
    return LENS_OK;
}

typedef struct qconv_job {
    qconv_geom g;
    const lens_tensor *x, *w, *wz, *bias, *ws;
    int32_t xz, yz;
    int64_t wz_step, ws_step;
    double xs, ys;
    lens_tensor *y;
    bool qlinear;
} qconv_job;

/* Direct convolution: each output value sums (x - xz) * (w - wz) over its
 * group's channels and the kernel window; padding contributes nothing (it
 * stands for x == x_zero_point). */
static void qconv_compute(const qconv_job *j) {
    const qconv_geom *g = &j->g;
    int64_t cg = g->C / g->group, mg = g->M / g->group;
    int64_t in_sp = g->in[0] * g->in[1] * g->in[2], out_sp = g->out[0] * g->out[1] * g->out[2];
    int64_t k_sp = g->k[0] * g->k[1] * g->k[2];
    lens_dtype xdt = j->x->dtype, wdt = j->w->dtype;
    for (int64_t n = 0; n < g->N; n++)
        for (int64_t m = 0; m < g->M; m++) {
            int64_t c0 = (m / mg) * cg;
            int32_t wz = j->wz ? q8_at(j->wz->data, j->wz->dtype, m * j->wz_step) : 0;
            int64_t yo = (n * g->M + m) * out_sp;
            for (int64_t o0 = 0; o0 < g->out[0]; o0++)
                for (int64_t o1 = 0; o1 < g->out[1]; o1++)
                    for (int64_t o2 = 0; o2 < g->out[2]; o2++) {
                        int64_t acc = 0;
                        for (int64_t c = 0; c < cg; c++) {
                            int64_t xbase = (n * g->C + c0 + c) * in_sp;
                            int64_t wbase = (m * cg + c) * k_sp;
                            for (int64_t k0 = 0; k0 < g->k[0]; k0++) {
                                int64_t i0 = o0 * g->stride[0] - g->pad[0] + k0 * g->dil[0];
                                if (i0 < 0 || i0 >= g->in[0]) continue;
                                for (int64_t k1 = 0; k1 < g->k[1]; k1++) {
                                    int64_t i1 = o1 * g->stride[1] - g->pad[1] + k1 * g->dil[1];
                                    if (i1 < 0 || i1 >= g->in[1]) continue;
                                    for (int64_t k2 = 0; k2 < g->k[2]; k2++) {
                                        int64_t i2 = o2 * g->stride[2] - g->pad[2] + k2 * g->dil[2];
                                        if (i2 < 0 || i2 >= g->in[2]) continue;
                                        int64_t xi = xbase + (i0 * g->in[1] + i1) * g->in[2] + i2;
                                        int64_t wi = wbase + (k0 * g->k[1] + k1) * g->k[2] + k2;
                                        acc += (int64_t)(q8_at(j->x->data, xdt, xi) - j->xz) *
                                               (q8_at(j->w->data, wdt, wi) - wz);
                                    }
                                }
                            }
                        }
                        int64_t yi = yo + (o0 * g->out[1] + o1) * g->out[2] + o2;
                        if (!j->qlinear) {
                            ((int32_t *)j->y->data)[yi] = (int32_t)(uint32_t)(uint64_t)acc;
                            continue;
                        }
                        if (j->bias) acc += ((const int32_t *)j->bias->data)[m];
                        double ws = ((const float *)j->ws->data)[m * j->ws_step];
                        q8_store(j->y->data, j->y->dtype, yi, (double)acc * (j->xs * ws / j->ys), j->yz);
                    }
        }
}

static lens_status qconv_output(lens_exec *ex, qconv_job *j, lens_dtype dt) {
    int64_t dims[LENS_MAX_DIMS] = {j->g.N, j->g.M};
    for (int32_t i = 0; i < j->g.nsp; i++) dims[2 + i] = j->g.out[i];
    return lens_exec_output(ex, 0, dt, j->g.nsp + 2, dims, &j->y);
}

/* ConvInteger-10: inputs x, w, x_zero_point (per tensor), w_zero_point (per
 * tensor or per output channel); int32 output. */
static lens_status convinteger_run(const lens_node *node, lens_exec *ex) {
    qconv_job j;
    memset(&j, 0, sizeof j);
    j.x = lens_exec_input(ex, 0);
    j.w = lens_exec_input(ex, 1);
    const lens_tensor *xz = lens_exec_input(ex, 2);
    j.wz = lens_exec_input(ex, 3);
    if (!j.x || !j.w) return lens_error(LENS_STATUS_INVALID_MODEL, "needs x and w");
    LENS_TRY(need_q8(j.x, "x"));
    LENS_TRY(need_q8(j.w, "w"));
    LENS_TRY(check_zp(j.wz, j.w, "w_zero_point"));
    if (xz) {
        double v;
        LENS_TRY(scalar_param(xz, "x_zero_point", j.x->dtype, &v));
        j.xz = (int32_t)v;
    }
    LENS_TRY(qconv_geometry(node, j.x, j.w, &j.g));
    LENS_TRY(per_channel(j.wz, "w_zero_point", j.g.M, &j.wz_step));
    LENS_TRY(qconv_output(ex, &j, LENS_DTYPE_INT32));
    qconv_compute(&j);
    return LENS_OK;
}

/* QLinearConv-10: inputs x, x_scale, x_zero_point, w, w_scale,
 * w_zero_point, y_scale, y_zero_point, optional B (int32, scale
 * x_scale * w_scale, zero point 0). */
static lens_status qlinearconv_run(const lens_node *node, lens_exec *ex) {
    qconv_job j;
    memset(&j, 0, sizeof j);
    const lens_tensor *in[8];
    static const char *names[8] = {"x", "x_scale", "x_zero_point", "w",
                                   "w_scale", "w_zero_point", "y_scale", "y_zero_point"};
    for (int i = 0; i < 8; i++)
        if (!(in[i] = lens_exec_input(ex, i)))
            return lens_error(LENS_STATUS_INVALID_MODEL, "input %s is missing", names[i]);
    j.x = in[0];
    j.w = in[3];
    j.ws = in[4];
    j.wz = in[5];
    j.bias = lens_exec_input(ex, 8);
    LENS_TRY(need_q8(j.x, "x"));
    LENS_TRY(need_q8(j.w, "w"));
    LENS_TRY(need_q8(in[7], "y_zero_point"));
    LENS_TRY(check_zp(j.wz, j.w, "w_zero_point"));
    double v;
    LENS_TRY(scalar_param(in[1], "x_scale", LENS_DTYPE_FLOAT, &j.xs));
    LENS_TRY(scalar_param(in[2], "x_zero_point", j.x->dtype, &v));
    j.xz = (int32_t)v;
    LENS_TRY(scalar_param(in[6], "y_scale", LENS_DTYPE_FLOAT, &j.ys));
    LENS_TRY(scalar_param(in[7], "y_zero_point", in[7]->dtype, &v));
    j.yz = (int32_t)v;
    if (j.ws->dtype != LENS_DTYPE_FLOAT)
        return lens_error(LENS_STATUS_INVALID_MODEL, "w_scale has type %s (float)",
                          lens_dtype_name(j.ws->dtype));
    LENS_TRY(qconv_geometry(node, j.x, j.w, &j.g));
    LENS_TRY(per_channel(j.wz, "w_zero_point", j.g.M, &j.wz_step));
    LENS_TRY(per_channel(j.ws, "w_scale", j.g.M, &j.ws_step));
    if (j.bias && (j.bias->dtype != LENS_DTYPE_INT32 || j.bias->ndim != 1 || j.bias->dims[0] != j.g.M))
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "B must be int32 [%lld]", (long long)j.g.M);
    j.qlinear = true;
    LENS_TRY(qconv_output(ex, &j, in[7]->dtype));
    qconv_compute(&j);
    return LENS_OK;
}

/* ---- DynamicQuantizeLinear ------------------------------------------------ */

/* DynamicQuantizeLinear-11 (uint8): the range [min(0, min x), max(0, max x)]
 * maps onto [0, 255]: y_scale = (max - min) / 255, y_zero_point =
 * saturate(round(-min / y_scale)), y = saturate(round(x / y_scale) +
 * y_zero_point), rounding half to even. The arithmetic follows the ONNX
 * reference: the range in float, the division by 255 in double rounded to
 * float, the rest in float. NaNs are left out of the range (and quantize to
 * the zero point); an all-zero input (scale 0) gives y = 0, zero point 0. */
static lens_status dynamicquantize_run(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "needs x");
    if (x->dtype != LENS_DTYPE_FLOAT)
        return lens_error(LENS_STATUS_UNSUPPORTED, "x has type %s (float)", lens_dtype_name(x->dtype));
    lens_tensor *y, *ys, *yz;
    LENS_TRY(lens_exec_output(ex, 0, LENS_DTYPE_UINT8, x->ndim, x->dims, &y));
    LENS_TRY(lens_exec_output(ex, 1, LENS_DTYPE_FLOAT, 0, NULL, &ys));
    LENS_TRY(lens_exec_output(ex, 2, LENS_DTYPE_UINT8, 0, NULL, &yz));
    const float *xv = x->data;
    int64_t n = lens_tensor_numel(x);
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        if (xv[i] < lo) lo = xv[i];
        if (xv[i] > hi) hi = xv[i];
    }
    float scale = (float)((double)(hi - lo) / 255.0);
    uint8_t *q = y->data;
    if (!(scale > 0.0f) || isinf(scale)) {
        /* All zeros (or an infinite range, which has no finite scale). */
        for (int64_t i = 0; i < n; i++) q[i] = 0;
        *(float *)ys->data = scale;
        *(uint8_t *)yz->data = 0;
        return LENS_OK;
    }
    float zf = nearbyintf((0.0f - lo) / scale);
    zf = zf < 0.0f ? 0.0f : zf > 255.0f ? 255.0f : zf;
    int32_t zp = (int32_t)zf;
    for (int64_t i = 0; i < n; i++) {
        float v = xv[i] / scale;
        q8_store(q, LENS_DTYPE_UINT8, i, isnan(v) ? NAN : (double)nearbyintf(v), zp);
    }
    *(float *)ys->data = scale;
    *(uint8_t *)yz->data = (uint8_t)zp;
    return LENS_OK;
}

static const lens_op ops[] = {
    {"", "MatMulInteger", 10, 0, 0, NULL, matmulinteger_run, NULL},
    {"", "QLinearMatMul", 10, 0, 0, NULL, qlinearmatmul_run, NULL},
    {"", "ConvInteger", 10, 0, 0, NULL, convinteger_run, NULL},
    {"", "QLinearConv", 10, 0, 0, NULL, qlinearconv_run, NULL},
    {"", "DynamicQuantizeLinear", 11, 0, 0, NULL, dynamicquantize_run, NULL},
};

LENS_OP_TABLE(quant, ops);
