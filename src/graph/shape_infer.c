/* Static shape inference for the layout pass.
 *
 * PyTorch exports carry no shapes for intermediate values; the layout pass
 * and the NHWC operators' eligibility checks (ops/conv_nhwc.h) need dtype,
 * rank and, where they follow from the graph inputs' declared dims, the
 * dims. This walks the main graph once in topological order and infers
 * them for the operators that vision models put between their
 * convolutions: Conv, pooling, elementwise, Concat, Split, Slice, Resize,
 * Transpose, Flatten, and the Shape -> Gather -> arithmetic -> Slice/Resize
 * chains exporters emit (small 1-D integer values are evaluated).
 *
 * Graph inputs and constants are never written. Graph outputs are (their
 * declared info is what lens_model_output_info reports: a caller that
 * keeps the model must restore it, as the layout pass does). A dim that cannot be derived is -1; a rank that
 * cannot be derived leaves the value untouched. Nothing here changes what
 * the graph computes: every operator still checks its real input shapes at
 * run time. */
#include <stdio.h>
#include <stdlib.h>

#include "ops/window.h"
#include "core/tensor.h"
#include "runtime/runtime.h"

#define SI_MAXK 8 /* longest integer vector evaluated */

typedef struct si_val {
    lens_dtype dt;
    int32_t rank;                 /* -1 unknown */
    int64_t dims[LENS_MAX_DIMS];  /* -1 unknown */
    int32_t nk;                   /* >= 0: the value is known, nk integers (rank 0 or 1) */
    int64_t k[SI_MAXK];
} si_val;

static bool is_int_dt(lens_dtype d) { return d == LENS_DTYPE_INT64 || d == LENS_DTYPE_INT32; }

/* Dims, pads, strides and the like come from the file: anything this large
 * is treated as unknown, so that no arithmetic below can overflow. */
#define SI_BIG (1ll << 40)
static bool small(int64_t v) { return v > -SI_BIG && v < SI_BIG; }

/* One spatial axis of a conv / pool; -1 when unknown or invalid. */
static int64_t window_out(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, const char *ap,
                          bool ceil_mode) {
    if (in < 0 || k < 1 || s < 1 || d < 1 || !small(in) || !small(k) || !small(s) || !small(d) || !small(pb) ||
        !small(pe) || (k - 1) > SI_BIG / d)
        return -1;
    int autopad = lens_autopad_parse(ap);
    if (autopad < 0 || in < 1 || pb < 0 || pe < 0) return -1;
    /* the operators' own rule (ops/window.h), ceil_mode's last window included */
    int64_t out = lens_window_out(in, k, s, d, autopad, ceil_mode, &pb, &pe);
    return out < 1 ? -1 : out;
}

static void si_windowed(const lens_node *n, const si_val *x, const int64_t *kernel, int64_t M, bool pool,
                        si_val *y) {
    y->rank = 4;
    y->dt = x->dt;
    y->dims[0] = x->dims[0];
    y->dims[1] = M;
    int64_t ns = 0, np = 0, nd = 0;
    const int64_t *st = lens_node_attr_ints(n, "strides", &ns), *pads = lens_node_attr_ints(n, "pads", &np),
                  *dil = lens_node_attr_ints(n, "dilations", &nd);
    const char *ap = lens_node_attr_string(n, "auto_pad", "NOTSET");
    bool ceil_mode = pool && lens_node_attr_int(n, "ceil_mode", 0);
    for (int i = 0; i < 2; i++) {
        int64_t s = st && ns == 2 ? st[i] : 1, d = dil && nd == 2 ? dil[i] : 1;
        int64_t pb = pads && np == 4 ? pads[i] : 0, pe = pads && np == 4 ? pads[i + 2] : 0;
        if ((st && ns != 2) || (pads && np != 4) || (dil && nd != 2)) {
            y->dims[2 + i] = -1;
            continue;
        }
        y->dims[2 + i] = window_out(x->dims[2 + i], kernel[i], s, d, pb, pe, ap, ceil_mode);
    }
}

static void si_broadcast(const si_val *a, const si_val *b, si_val *y) {
    if (a->rank < 0 || b->rank < 0) return;
    y->rank = a->rank > b->rank ? a->rank : b->rank;
    y->dt = a->dt ? a->dt : b->dt;
    for (int32_t i = 0; i < y->rank; i++) {
        int32_t ia = i - (y->rank - a->rank), ib = i - (y->rank - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da == 1) y->dims[i] = db;
        else if (db == 1) y->dims[i] = da;
        else if (da == db) y->dims[i] = da;
        else if (da < 0 && db > 1) y->dims[i] = db;
        else if (db < 0 && da > 1) y->dims[i] = da;
        else y->dims[i] = -1;
    }
}

/* Integer arithmetic on known vectors (numpy broadcasting of 1 element). */
static void si_arith(const char *op, const si_val *a, const si_val *b, si_val *y) {
    if (a->nk < 0 || b->nk < 0 || !is_int_dt(a->dt) || a->dt != b->dt) return;
    int32_t n = a->nk > b->nk ? a->nk : b->nk;
    if ((a->nk != n && a->nk != 1) || (b->nk != n && b->nk != 1)) return;
    for (int32_t i = 0; i < n; i++) {
        int64_t x = a->k[a->nk == 1 ? 0 : i], z = b->k[b->nk == 1 ? 0 : i], r;
        if (x < -(1ll << 40) || x > (1ll << 40) || z < -(1ll << 40) || z > (1ll << 40)) return;
        if (!strcmp(op, "Add")) r = x + z;
        else if (!strcmp(op, "Sub")) r = x - z;
        else if (!strcmp(op, "Mul")) {
            if (lens_mul_ovf_i64(x, z, &r)) return; /* 2^40 * 2^40 */
        } else {
            if (z == 0) return;
            r = x / z; /* ONNX integer Div truncates like C */
        }
        y->k[i] = r;
    }
    y->nk = n;
}

/* Slice bounds for one axis of size d; -1 when unknown. */
static int64_t slice_count(int64_t d, int64_t s, int64_t e, int64_t st, int64_t *first) {
    if (d < 0 || !small(d) || st == 0 || !small(st)) return -1;
    /* INT64_MAX / INT64_MIN mean "to the end": clamp before any sum */
    s = s < -SI_BIG ? -SI_BIG : s > SI_BIG ? SI_BIG : s;
    e = e < -SI_BIG ? -SI_BIG : e > SI_BIG ? SI_BIG : e;
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (st > 0) {
        s = s < 0 ? 0 : s > d ? d : s;
        e = e < 0 ? 0 : e > d ? d : e;
        *first = s;
        return e > s ? (e - s + st - 1) / st : 0;
    }
    s = s < 0 ? -1 : s > d - 1 ? d - 1 : s;
    e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
    *first = s;
    return s > e ? (s - e + (-st) - 1) / (-st) : 0;
}

static void si_node(const lens_graph *g, const lens_node *n, si_val *V) {
    const char *op = n->op_type;
    si_val *y = n->outputs[0] >= 0 ? &V[n->outputs[0]] : NULL;
    const si_val *x = n->n_inputs > 0 && n->inputs[0] >= 0 ? &V[n->inputs[0]] : NULL;
    if (!y || !x || n->domain[0]) return;
#define IN(i) (n->n_inputs > (i) && n->inputs[i] >= 0 ? &V[n->inputs[i]] : NULL)
    if (!strcmp(op, "Conv")) {
        /* a 4-D W makes X 4-D (Conv checks it at run time) */
        const lens_tensor *w = lens_node_const_input(g, n, 1);
        if (!w || w->ndim != 4 || (x->rank != 4 && x->rank != -1)) return;
        si_val x4 = *x;
        if (x->rank != 4)
            for (int i = 0; i < 4; i++) x4.dims[i] = -1;
        int64_t kernel[2] = {w->dims[2], w->dims[3]};
        si_windowed(n, &x4, kernel, w->dims[0], false, y);
        y->dt = w->dtype;
    } else if (!strcmp(op, "MaxPool") || !strcmp(op, "AveragePool")) {
        int64_t nk = 0;
        const int64_t *ks = lens_node_attr_ints(n, "kernel_shape", &nk);
        if (!ks || nk != 2 || x->rank != 4) return;
        si_windowed(n, x, ks, x->dims[1], true, y);
    } else if (!strcmp(op, "GlobalAveragePool") || !strcmp(op, "GlobalMaxPool")) {
        if (x->rank < 3) return;
        *y = *x;
        y->nk = -1;
        for (int32_t i = 2; i < x->rank; i++) y->dims[i] = 1;
    } else if (!strcmp(op, "Relu") || !strcmp(op, "Sigmoid") || !strcmp(op, "HardSigmoid") ||
               !strcmp(op, "HardSwish") || !strcmp(op, "Clip") || !strcmp(op, "LeakyRelu") || !strcmp(op, "Tanh") ||
               !strcmp(op, "Elu") || !strcmp(op, "Erf") || !strcmp(op, "Neg") || !strcmp(op, "Abs") ||
               !strcmp(op, "Exp") || !strcmp(op, "Sqrt") || !strcmp(op, "Softplus") || !strcmp(op, "Mish") ||
               !strcmp(op, "Identity") || !strcmp(op, "LayerNormalization") || !strcmp(op, "Softmax")) {
        *y = *x;
        if (strcmp(op, "Identity") && strcmp(op, "Neg") && strcmp(op, "Abs")) y->nk = -1;
    } else if (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div")) {
        const si_val *b = IN(1);
        if (!b) return;
        si_broadcast(x, b, y);
        si_arith(op, x, b, y);
    } else if (!strcmp(op, "Cast")) {
        *y = *x;
        y->dt = (lens_dtype)lens_node_attr_int(n, "to", 0);
        if (!is_int_dt(y->dt)) y->nk = -1;
    } else if (!strcmp(op, "Shape")) {
        if (x->rank < 0) return;
        int64_t s = lens_node_attr_int(n, "start", 0), e = lens_node_attr_int(n, "end", x->rank);
        if (n->opset < 15) s = 0, e = x->rank;
        if (s < 0) s += x->rank;
        if (e < 0) e += x->rank;
        s = s < 0 ? 0 : s > x->rank ? x->rank : s;
        e = e < 0 ? 0 : e > x->rank ? x->rank : e;
        y->dt = LENS_DTYPE_INT64;
        y->rank = 1;
        y->dims[0] = e > s ? e - s : 0;
        bool known = y->dims[0] <= SI_MAXK;
        for (int64_t i = s; i < e && known; i++) known = x->dims[i] >= 0;
        if (known) {
            y->nk = (int32_t)y->dims[0];
            for (int64_t i = s; i < e; i++) y->k[i - s] = x->dims[i];
        }
    } else if (!strcmp(op, "Gather")) {
        const si_val *ix = IN(1);
        int64_t axis = lens_node_attr_int(n, "axis", 0);
        if (!ix || x->rank < 1 || ix->rank < 0 || axis < -x->rank || axis >= x->rank) return;
        if (axis < 0) axis += x->rank;
        y->dt = x->dt;
        y->rank = x->rank - 1 + ix->rank;
        if (y->rank > LENS_MAX_DIMS) {
            y->rank = -1;
            return;
        }
        int32_t r = 0;
        for (int32_t i = 0; i < axis; i++) y->dims[r++] = x->dims[i];
        for (int32_t i = 0; i < ix->rank; i++) y->dims[r++] = ix->dims[i];
        for (int32_t i = (int32_t)axis + 1; i < x->rank; i++) y->dims[r++] = x->dims[i];
        if (x->rank == 1 && x->nk >= 0 && ix->nk >= 0) {
            for (int32_t i = 0; i < ix->nk; i++) {
                int64_t j = ix->k[i] < 0 ? ix->k[i] + x->nk : ix->k[i];
                if (j < 0 || j >= x->nk) return;
                y->k[i] = x->k[j];
            }
            y->nk = ix->nk;
        }
    } else if (!strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze")) {
        /* only the scalar <-> 1-element vector moves of shape arithmetic */
        if (x->nk != 1) return;
        bool un = !strcmp(op, "Unsqueeze");
        if (un ? x->rank != 0 : x->rank != 1) return;
        /* one axis: Unsqueeze(scalar, axes [0, 1]) is [1, 1], not [1] */
        int64_t na = 0;
        const int64_t *aa = lens_node_attr_ints(n, "axes", &na);
        const si_val *ax = IN(1);
        if (un && !(aa ? na == 1 : ax && ax->nk == 1)) return;
        *y = *x;
        y->rank = un ? 1 : 0;
        y->dims[0] = 1;
    } else if (!strcmp(op, "Concat")) {
        int64_t axis = lens_node_attr_int(n, "axis", 0);
        if (x->rank < 1 || axis < -x->rank || axis >= x->rank) return;
        if (axis < 0) axis += x->rank;
        *y = *x;
        y->nk = x->rank == 1 ? 0 : -1;
        y->dims[axis] = 0;
        for (int32_t j = 0; j < n->n_inputs; j++) {
            const si_val *a = IN(j);
            if (!a || a->rank != x->rank) {
                y->rank = -1;
                return;
            }
            for (int32_t i = 0; i < x->rank; i++)
                if (i != axis && y->dims[i] < 0) y->dims[i] = a->dims[i];
            y->dims[axis] = y->dims[axis] < 0 || a->dims[axis] < 0 || !small(y->dims[axis]) || !small(a->dims[axis])
                                ? -1
                                : y->dims[axis] + a->dims[axis];
            if (y->nk >= 0 && a->nk >= 0 && y->nk + a->nk <= SI_MAXK) {
                memcpy(y->k + y->nk, a->k, sizeof(int64_t) * (size_t)a->nk);
                y->nk += a->nk;
            } else {
                y->nk = -1;
            }
        }
    } else if (!strcmp(op, "Split")) {
        int64_t axis = lens_node_attr_int(n, "axis", 0);
        if (x->rank < 1 || axis < -x->rank || axis >= x->rank) return;
        if (axis < 0) axis += x->rank;
        const si_val *sp = IN(1);
        int64_t na = 0;
        const int64_t *sa = lens_node_attr_ints(n, "split", &na);
        for (int32_t j = 0; j < n->n_outputs; j++) {
            if (n->outputs[j] < 0) continue;
            si_val *o = &V[n->outputs[j]];
            *o = *x;
            o->nk = -1;
            int64_t d = -1;
            if (sp && sp->nk == n->n_outputs) d = sp->k[j];
            else if (!sp && sa && na == n->n_outputs) d = sa[j];
            else if (!sp && !sa && x->dims[axis] >= 0 && x->dims[axis] % n->n_outputs == 0)
                d = x->dims[axis] / n->n_outputs;
            o->dims[axis] = d;
        }
    } else if (!strcmp(op, "Slice")) {
        if (n->opset < 10 || x->rank < 1) return;
        const si_val *st = IN(1), *en = IN(2), *ax = IN(3), *sp = IN(4);
        *y = *x;
        y->nk = -1;
        bool ok = st && en && st->nk >= 1 && en->nk == st->nk && (!ax || ax->nk == st->nk) &&
                  (!sp || sp->nk == st->nk);
        if (!ok) {
            /* which axes are touched may still be known */
            if (ax && ax->nk >= 0) {
                for (int32_t i = 0; i < ax->nk; i++) {
                    int64_t a = ax->k[i] < 0 ? ax->k[i] + x->rank : ax->k[i];
                    if (a >= 0 && a < x->rank) y->dims[a] = -1;
                }
            } else {
                for (int32_t i = 0; i < x->rank; i++) y->dims[i] = -1;
            }
            return;
        }
        int64_t first = 0;
        for (int32_t i = 0; i < st->nk; i++) {
            int64_t a = ax ? ax->k[i] : i;
            if (a < 0) a += x->rank;
            if (a < 0 || a >= x->rank) {
                y->rank = -1;
                return;
            }
            y->dims[a] = slice_count(x->dims[a], st->k[i], en->k[i], sp ? sp->k[i] : 1, &first);
            if (x->rank == 1 && x->nk >= 0 && x->nk == x->dims[0] && y->dims[0] >= 0) {
                int64_t step = sp ? sp->k[i] : 1;
                y->nk = (int32_t)y->dims[0];
                for (int64_t j = 0; j < y->dims[0]; j++) y->k[j] = x->k[first + j * step];
            }
        }
    } else if (!strcmp(op, "Resize")) {
        if (x->rank < 1) return;
        *y = *x;
        y->nk = -1;
        const si_val *sz = IN(3);
        const lens_tensor *sc = n->n_inputs > 2 && n->inputs[2] >= 0 ? lens_node_const_input(g, n, 2) : NULL;
        /* Resize-18: sizes / scales in the order of `axes`, and sizes scaled
         * by one factor under keep_aspect_ratio_policy: not the dims */
        const char *keep = lens_node_attr_string(n, "keep_aspect_ratio_policy", "stretch");
        if (lens_node_attr(n, "axes") || strcmp(keep, "stretch")) sz = NULL, sc = NULL;
        for (int32_t i = 0; i < x->rank; i++) {
            if (sz && sz->nk == x->rank) y->dims[i] = sz->k[i];
            else if (sc && sc->dtype == LENS_DTYPE_FLOAT && lens_tensor_numel(sc) == x->rank && x->dims[i] >= 0) {
                double d = (double)x->dims[i] * ((const float *)sc->data)[i];
                y->dims[i] = d >= 0 && d < (double)SI_BIG ? (int64_t)d : -1;
            } else {
                y->dims[i] = -1;
            }
        }
    } else if (!strcmp(op, "Transpose")) {
        int64_t np = 0;
        const int64_t *p = lens_node_attr_ints(n, "perm", &np);
        if (x->rank < 1 || (p && np != x->rank)) return;
        y->dt = x->dt;
        y->rank = x->rank;
        for (int32_t i = 0; i < x->rank; i++) {
            int64_t a = p ? p[i] : x->rank - 1 - i;
            if (a < 0 || a >= x->rank) {
                y->rank = -1;
                return;
            }
            y->dims[i] = x->dims[a];
        }
    } else if (!strcmp(op, "MatMul")) {
        const lens_tensor *b = lens_node_const_input(g, n, 1);
        if (!b || b->ndim != 2 || x->rank < 1) return;
        *y = *x;
        y->nk = -1;
        y->dims[x->rank - 1] = b->dims[1];
    } else if (!strcmp(op, "Flatten")) {
        int64_t axis = lens_node_attr_int(n, "axis", 1);
        if (x->rank < 0 || axis < -x->rank || axis > x->rank) return;
        if (axis < 0) axis += x->rank;
        y->dt = x->dt;
        y->rank = 2;
        y->dims[0] = y->dims[1] = 1;
        for (int32_t i = 0; i < x->rank; i++) {
            int64_t *d = &y->dims[i < axis ? 0 : 1];
            *d = *d < 0 || x->dims[i] < 0 || !small(*d) || !small(x->dims[i]) ||
                         (x->dims[i] && *d > SI_BIG / x->dims[i])
                     ? -1
                     : *d * x->dims[i];
        }
    }
#undef IN
}

lens_status lens_graph_infer_shapes(lens_graph *g) {
    size_t nv = (size_t)g->n_values;
    si_val *V = lens_malloc(sizeof *V * (nv ? nv : 1));
    if (!V) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory inferring shapes");
    for (size_t v = 0; v < nv; v++) {
        const lens_value *val = &g->values[v];
        si_val *s = &V[v];
        s->nk = -1;
        s->dt = val->dtype;
        s->rank = val->ndim >= 0 && val->ndim <= LENS_MAX_DIMS ? val->ndim : -1;
        for (int32_t i = 0; i < LENS_MAX_DIMS; i++) s->dims[i] = i < s->rank && val->dims ? val->dims[i] : -1;
        const lens_tensor *t = val->constant;
        if (t) {
            s->dt = t->dtype;
            s->rank = t->ndim;
            for (int32_t i = 0; i < t->ndim; i++) s->dims[i] = t->dims[i];
            int64_t ne = lens_tensor_numel(t);
            if (is_int_dt(t->dtype) && t->ndim <= 1 && ne <= SI_MAXK) {
                s->nk = (int32_t)ne;
                for (int64_t i = 0; i < ne; i++) s->k[i] = lens_tensor_get_i64(t, i);
            }
        }
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const lens_node *n = &g->nodes[i];
        /* outputs that already carry shape information keep theirs */
        bool typed = false;
        for (int32_t k = 0; k < n->n_outputs; k++)
            if (n->outputs[k] >= 0 && V[n->outputs[k]].rank >= 0) typed = true;
        if (!typed && n->n_outputs >= 1) si_node(g, n, V);
    }
    lens_status st = LENS_OK;
    for (size_t v = 0; v < nv && st == LENS_OK; v++) {
        lens_value *val = &g->values[v];
        const si_val *s = &V[v];
        if (val->is_input || val->constant || val->outer >= 0 || s->rank < 0) continue;
        if (val->ndim >= 0 && val->ndim != s->rank) continue;
        if (val->ndim < 0) {
            val->dims = lens_arena_alloc(g->arena, sizeof(int64_t) * (size_t)(s->rank ? s->rank : 1));
            if (!val->dims) {
                st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory inferring shapes");
                break;
            }
            val->ndim = s->rank;
            for (int32_t i = 0; i < s->rank; i++) val->dims[i] = -1;
        }
        if (val->dtype == LENS_DTYPE_UNDEFINED) val->dtype = s->dt;
        for (int32_t i = 0; i < s->rank; i++)
            if (val->dims[i] < 0) val->dims[i] = s->dims[i];
    }
    lens_free(V);
    return st;
}
