/* Control flow: If (opset 1/11/13/16), Loop (1/11/13/16), Scan (8/9/11/16).
 *
 * The bodies run through lens_exec_subgraph, whose results live only until
 * the next call from the same node, so every value that outlives an
 * iteration (loop-carried state, scan outputs) is copied into buffers owned
 * here. Only tensors are supported: sequence and optional values never
 * reach these operators (the reader leaves them untyped and their producers
 * are not registered), and a body output without a plain tensor type fails
 * with UNSUPPORTED. */
#include <stdio.h>

#include "ops/op.h"

/* Iterations beyond which a Loop (or Scan) fails instead of running on: a
 * Loop with neither a trip count nor a condition that turns false would
 * otherwise never end. */
#define CONTROL_MAX_ITERATIONS ((int64_t)10000000)

/* ---- owned tensors ---------------------------------------------------------- */

typedef struct owned_tensor {
    lens_tensor t;
    size_t cap; /* bytes allocated at t.data */
} owned_tensor;

static lens_status tensor_bytes(const lens_tensor *t, const char *what, size_t *out) {
    if (lens_dtype_size(t->dtype) == 0)
        return lens_error(LENS_STATUS_UNSUPPORTED, "%s has type %s: only tensors are supported", what,
                          lens_dtype_name(t->dtype));
    if (!lens_tensor_nbytes(t, out))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "%s is too large", what);
    return LENS_OK;
}

/* Copy src (which may point into dst's own old buffer only if dst is a
 * different owned_tensor) into dst, growing its buffer as needed. */
static lens_status owned_set(owned_tensor *dst, const lens_tensor *src, const char *what) {
    size_t bytes;
    LENS_TRY(tensor_bytes(src, what, &bytes));
    if (bytes > dst->cap || !dst->t.data) {
        void *p = lens_aligned_alloc(bytes ? bytes : 1);
        if (!p) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: %zu bytes", what, bytes);
        lens_aligned_free(dst->t.data);
        dst->t.data = p;
        dst->cap = bytes ? bytes : 1;
    }
    void *data = dst->t.data;
    dst->t = *src;
    dst->t.data = data;
    if (bytes) memcpy(data, src->data, bytes);
    return LENS_OK;
}

static void owned_free_all(owned_tensor *a, int32_t n) {
    if (!a) return;
    for (int32_t i = 0; i < n; i++) lens_aligned_free(a[i].t.data);
    lens_free(a);
}

/* Allocate node output i with src's type and shape and copy src into it. */
static lens_status output_copy(lens_exec *ex, int32_t i, const lens_tensor *src, const char *what) {
    size_t bytes;
    LENS_TRY(tensor_bytes(src, what, &bytes));
    lens_tensor *out;
    LENS_TRY(lens_exec_output(ex, i, src->dtype, src->ndim, src->dims, &out));
    if (bytes) memcpy(out->data, src->data, bytes);
    return LENS_OK;
}

static uint64_t control_max_bytes(const lens_graph *g) {
    uint64_t m = g->limits ? g->limits->max_tensor_bytes : 0;
    return m ? m : (uint64_t)4 << 30;
}

/* Stacked per-iteration outputs (Loop scan outputs, Scan outputs): `count`
 * slices of identical type and shape, contiguous. */
typedef struct stacked {
    lens_dtype dtype;
    int32_t ndim;
    int64_t dims[LENS_MAX_DIMS];
    size_t slice_bytes;
    uint8_t *data;
    size_t cap;
    int64_t count;
    bool started;
} stacked;

/* Check slice `t` against the first one (ONNX: all iterations of a scan
 * output have the same shape) and record its type on the first call. */
static lens_status stacked_check(stacked *s, const lens_tensor *t, int32_t k) {
    char what[48];
    snprintf(what, sizeof what, "scan output %d", k);
    if (!s->started) {
        LENS_TRY(tensor_bytes(t, what, &s->slice_bytes));
        if (t->ndim + 1 > LENS_MAX_DIMS)
            return lens_error(LENS_STATUS_UNSUPPORTED, "scan output %d has rank %d: too many dims", k,
                              t->ndim);
        s->dtype = t->dtype;
        s->ndim = t->ndim;
        memcpy(s->dims, t->dims, sizeof(int64_t) * (size_t)t->ndim);
        s->started = true;
        return LENS_OK;
    }
    if (t->dtype != s->dtype || !lens_shape_equal(t->ndim, t->dims, s->ndim, s->dims)) {
        char a[96], b[96];
        return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                          "scan output %d changes between iterations: %s %s, then %s %s", k,
                          lens_dtype_name(s->dtype), lens_shape_str(s->ndim, s->dims, a, sizeof a),
                          lens_dtype_name(t->dtype), lens_shape_str(t->ndim, t->dims, b, sizeof b));
    }
    return LENS_OK;
}

/* Append a slice (Loop: the count is not known in advance, so grow by
 * doubling, bounded by the tensor size limit). */
static lens_status stacked_append(stacked *s, const lens_tensor *t, int32_t k, uint64_t max_bytes) {
    LENS_TRY(stacked_check(s, t, k));
    size_t need;
    if (lens_mul_ovf_size(s->slice_bytes, (size_t)s->count + 1, &need) || need > max_bytes)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "scan output %d grows past %llu bytes", k,
                          (unsigned long long)max_bytes);
    if (need > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        if (cap > max_bytes) cap = need;
        uint8_t *p = lens_realloc(s->data, cap);
        if (!p) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "scan output %d: %zu bytes", k, cap);
        s->data = p;
        s->cap = cap;
    }
    if (s->slice_bytes) memcpy(s->data + s->slice_bytes * (size_t)s->count, t->data, s->slice_bytes);
    s->count++;
    return LENS_OK;
}

/* Shape of a scan output that had no iterations: the body's declared
 * per-iteration shape if fully known, else just [0]. */
static void stacked_empty_shape(const lens_graph *body, int32_t out_index, stacked *s) {
    const lens_value *v = &body->values[body->outputs[out_index]];
    s->dtype = v->dtype != LENS_DTYPE_UNDEFINED ? v->dtype : LENS_DTYPE_FLOAT;
    s->ndim = 0;
    if (v->ndim < 0 || v->ndim + 1 > LENS_MAX_DIMS) return;
    for (int32_t d = 0; d < v->ndim; d++)
        if (v->dims[d] < 0) return;
    s->ndim = v->ndim;
    memcpy(s->dims, v->dims, sizeof(int64_t) * (size_t)v->ndim);
}

/* ---- If --------------------------------------------------------------------- */

static lens_status if_run(const lens_node *node, lens_exec *ex) {
    const lens_tensor *cond = lens_exec_input(ex, 0);
    if (!cond || lens_tensor_numel(cond) != 1)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "If condition must hold one element");
    if (lens_dtype_size(cond->dtype) == 0)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "If condition has type %s",
                          lens_dtype_name(cond->dtype));
    bool take = cond->dtype == LENS_DTYPE_FLOAT || cond->dtype == LENS_DTYPE_DOUBLE
                    ? lens_tensor_get_f64(cond, 0) != 0.0
                    : lens_tensor_get_i64(cond, 0) != 0;
    const char *branch = take ? "then_branch" : "else_branch";
    const lens_graph *g = lens_node_attr_graph(node, branch);
    if (!g) return lens_error(LENS_STATUS_INVALID_MODEL, "If has no %s", branch);
    int32_t n_out = lens_exec_n_outputs(ex);
    if (g->n_outputs != n_out)
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s has %d outputs, If has %d", branch,
                          g->n_outputs, n_out);
    const lens_tensor *outs;
    LENS_TRY(lens_exec_subgraph(ex, g, 0, NULL, &outs));
    for (int32_t i = 0; i < n_out; i++) {
        char what[64];
        snprintf(what, sizeof what, "%s output %d", branch, i);
        LENS_TRY(output_copy(ex, i, &outs[i], what));
    }
    return LENS_OK;
}

/* ---- Loop ------------------------------------------------------------------- */

typedef struct loop_state {
    owned_tensor *cur, *next;
    stacked *scans;
    lens_tensor *ins;
    int32_t n_carried, n_scan;
} loop_state;

static void loop_state_free(loop_state *st) {
    owned_free_all(st->cur, st->n_carried);
    owned_free_all(st->next, st->n_carried);
    if (st->scans)
        for (int32_t k = 0; k < st->n_scan; k++) lens_free(st->scans[k].data);
    lens_free(st->scans);
    lens_free(st->ins);
}

static lens_status loop_body(const lens_node *node, lens_exec *ex, const lens_graph *body,
                             loop_state *st) {
    const lens_tensor *tm = lens_exec_input(ex, 0), *tc = lens_exec_input(ex, 1);
    /* Loop-1/11/13/16: M and cond are optional; an empty tensor is treated
     * like an omitted one (exporters emit "" for both). */
    int64_t max_trip = INT64_MAX;
    if (tm && lens_tensor_numel(tm) > 0) {
        if (lens_tensor_numel(tm) != 1)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "trip count M must hold one element");
        max_trip = lens_tensor_get_i64(tm, 0);
    }
    bool cond = true;
    if (tc && lens_tensor_numel(tc) > 0) {
        if (lens_tensor_numel(tc) != 1)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "cond must hold one element");
        cond = lens_tensor_get_i64(tc, 0) != 0;
    }
    int32_t nc = st->n_carried;
    for (int32_t i = 0; i < nc; i++) {
        const lens_tensor *v = lens_exec_input(ex, 2 + i);
        if (!v) return lens_error(LENS_STATUS_INVALID_MODEL, "loop-carried input %d is missing", i);
        LENS_TRY(owned_set(&st->cur[i], v, "loop-carried value"));
    }
    uint64_t max_bytes = control_max_bytes(body);
    int64_t iter = 0;
    uint8_t cond_in = 1;
    for (; iter < max_trip && cond; iter++) {
        if (iter >= CONTROL_MAX_ITERATIONS)
            return lens_error(LENS_STATUS_LIMIT_EXCEEDED,
                              "Loop ran %lld iterations without stopping", (long long)iter);
        int64_t iter_val = iter;
        cond_in = 1;
        st->ins[0] = (lens_tensor){LENS_DTYPE_INT64, 0, {0}, &iter_val};
        st->ins[1] = (lens_tensor){LENS_DTYPE_BOOL, 0, {0}, &cond_in};
        for (int32_t i = 0; i < nc; i++) st->ins[2 + i] = st->cur[i].t;
        const lens_tensor *outs;
        LENS_TRY(lens_exec_subgraph(ex, body, 2 + nc, st->ins, &outs));
        if (lens_tensor_numel(&outs[0]) != 1 || lens_dtype_size(outs[0].dtype) == 0)
            return lens_error(LENS_STATUS_INVALID_MODEL, "Loop body condition must hold one element");
        cond = lens_tensor_get_i64(&outs[0], 0) != 0;
        /* Copy into the other buffer set first: a body output may be the
         * very input we passed (pass-through), i.e. point into cur. */
        for (int32_t i = 0; i < nc; i++)
            LENS_TRY(owned_set(&st->next[i], &outs[1 + i], "loop-carried value"));
        owned_tensor *t = st->cur;
        st->cur = st->next;
        st->next = t;
        for (int32_t k = 0; k < st->n_scan; k++)
            LENS_TRY(stacked_append(&st->scans[k], &outs[1 + nc + k], k, max_bytes));
    }
    for (int32_t i = 0; i < nc; i++) LENS_TRY(output_copy(ex, i, &st->cur[i].t, "loop-carried value"));
    for (int32_t k = 0; k < st->n_scan; k++) {
        stacked *s = &st->scans[k];
        if (!s->started) stacked_empty_shape(body, 1 + nc + k, s);
        int64_t dims[LENS_MAX_DIMS];
        dims[0] = s->count;
        memcpy(dims + 1, s->dims, sizeof(int64_t) * (size_t)s->ndim);
        lens_tensor *out;
        LENS_TRY(lens_exec_output(ex, nc + k, s->dtype, s->ndim + 1, dims, &out));
        if (s->count && s->slice_bytes) memcpy(out->data, s->data, s->slice_bytes * (size_t)s->count);
    }
    return LENS_OK;
}

static lens_status loop_run(const lens_node *node, lens_exec *ex) {
    const lens_graph *body = lens_node_attr_graph(node, "body");
    if (!body) return lens_error(LENS_STATUS_INVALID_MODEL, "Loop has no body");
    int32_t n_in = lens_exec_n_inputs(ex), n_out = lens_exec_n_outputs(ex);
    int32_t nc = n_in - 2;
    if (nc < 0 || body->n_inputs != nc + 2 || body->n_outputs < nc + 1 ||
        n_out != body->n_outputs - 1)
        return lens_error(LENS_STATUS_INVALID_MODEL,
                          "Loop with %d inputs and %d outputs does not fit a body with %d inputs "
                          "and %d outputs",
                          n_in, n_out, body->n_inputs, body->n_outputs);
    loop_state st = {.n_carried = nc, .n_scan = n_out - nc};
    st.cur = lens_calloc((size_t)nc + 1, sizeof(owned_tensor));
    st.next = lens_calloc((size_t)nc + 1, sizeof(owned_tensor));
    st.scans = lens_calloc((size_t)st.n_scan + 1, sizeof(stacked));
    st.ins = lens_calloc((size_t)nc + 2, sizeof(lens_tensor));
    lens_status s = LENS_OK;
    if (!st.cur || !st.next || !st.scans || !st.ins)
        s = lens_error(LENS_STATUS_OUT_OF_MEMORY, "Loop state");
    else
        s = loop_body(node, ex, body, &st);
    loop_state_free(&st);
    return s;
}

/* ---- Scan ------------------------------------------------------------------- */

typedef struct scan_input {
    const lens_tensor *src;
    int32_t axis;
    bool reverse;
    int64_t outer, inner_bytes; /* around the scan axis */
    lens_tensor slice;
    uint8_t *buf; /* when the slice is not contiguous in src */
} scan_input;

typedef struct scan_state {
    owned_tensor *cur, *next;
    scan_input *sin;
    stacked *sout;
    lens_tensor *ins;
    int32_t n_state, n_sin, n_sout;
} scan_state;

static void scan_state_free(scan_state *st) {
    owned_free_all(st->cur, st->n_state);
    owned_free_all(st->next, st->n_state);
    if (st->sin)
        for (int32_t j = 0; j < st->n_sin; j++) lens_free(st->sin[j].buf);
    if (st->sout)
        for (int32_t k = 0; k < st->n_sout; k++) lens_free(st->sout[k].data);
    lens_free(st->sin);
    lens_free(st->sout);
    lens_free(st->ins);
}

/* Optional INTS attribute of `want` entries (absent: zeros). */
static lens_status scan_ints(const lens_node *node, const char *name, int32_t want,
                             const int64_t **out) {
    int64_t n;
    *out = lens_node_attr_ints(node, name, &n);
    if (*out && n != want)
        return lens_error(LENS_STATUS_INVALID_MODEL, "Scan %s has %lld entries, expected %d", name,
                          (long long)n, want);
    return LENS_OK;
}

/* Run the body over the scan: initial states `states[0..n_state)`, scan
 * inputs `sins[0..n_sin)` (scanned along in_axes, all of the same length).
 * Leaves the final states in st->cur and the per-step scan outputs stacked
 * [len, ...] in st->sout; *len_out receives the length. */
static lens_status scan_steps(lens_exec *ex, const lens_graph *body, scan_state *st,
                              const lens_tensor *const *states, const lens_tensor *const *sins,
                              const int64_t *in_axes, const int64_t *in_dirs,
                              const int64_t *out_dirs, int64_t *len_out) {
    int32_t ns = st->n_state;
    for (int32_t i = 0; i < ns; i++) LENS_TRY(owned_set(&st->cur[i], states[i], "Scan state"));
    int64_t len = -1;
    for (int32_t j = 0; j < st->n_sin; j++) {
        scan_input *si = &st->sin[j];
        si->src = sins[j];
        const lens_tensor *x = si->src;
        size_t es = lens_dtype_size(x->dtype);
        if (es == 0 || x->ndim < 1)
            return lens_error(LENS_STATUS_UNSUPPORTED, "scan input %d must be a tensor of rank >= 1", j);
        /* Scan-9 allows axes in [0, r); Scan-11 adds negative ones. */
        LENS_TRY(lens_normalize_axis(in_axes ? in_axes[j] : 0, x->ndim, "scan_input_axes",
                                     &si->axis));
        si->reverse = in_dirs && in_dirs[j] != 0;
        int64_t l = x->dims[si->axis];
        if (len >= 0 && l != len)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                              "scan input %d has %lld steps, scan input 0 has %lld", j, (long long)l,
                              (long long)len);
        len = l;
        si->outer = 1;
        int64_t inner = 1;
        for (int32_t d = 0; d < si->axis; d++) si->outer *= x->dims[d];
        for (int32_t d = si->axis + 1; d < x->ndim; d++) inner *= x->dims[d];
        si->inner_bytes = inner * (int64_t)es;
        si->slice.dtype = x->dtype;
        si->slice.ndim = x->ndim - 1;
        for (int32_t d = 0, o = 0; d < x->ndim; d++)
            if (d != si->axis) si->slice.dims[o++] = x->dims[d];
        if (si->outer > 1) {
            size_t b = (size_t)(si->outer * si->inner_bytes);
            si->buf = lens_malloc(b ? b : 1);
            if (!si->buf) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "scan input %d slice", j);
        }
    }
    if (len > CONTROL_MAX_ITERATIONS)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "Scan over %lld steps", (long long)len);
    if (len < 0) len = 0;

    for (int64_t t = 0; t < len; t++) {
        for (int32_t i = 0; i < ns; i++) st->ins[i] = st->cur[i].t;
        for (int32_t j = 0; j < st->n_sin; j++) {
            scan_input *si = &st->sin[j];
            int64_t step = si->reverse ? len - 1 - t : t;
            const uint8_t *src = si->src->data;
            if (si->outer <= 1) {
                /* the slice is contiguous in the input: no copy */
                si->slice.data = (void *)(src + step * si->inner_bytes);
            } else {
                for (int64_t o = 0; o < si->outer; o++)
                    memcpy(si->buf + o * si->inner_bytes,
                           src + (o * len + step) * si->inner_bytes, (size_t)si->inner_bytes);
                si->slice.data = si->buf;
            }
            st->ins[ns + j] = si->slice;
        }
        const lens_tensor *outs;
        LENS_TRY(lens_exec_subgraph(ex, body, ns + st->n_sin, st->ins, &outs));
        for (int32_t i = 0; i < ns; i++) LENS_TRY(owned_set(&st->next[i], &outs[i], "Scan state"));
        owned_tensor *tmp = st->cur;
        st->cur = st->next;
        st->next = tmp;
        for (int32_t k = 0; k < st->n_sout; k++) {
            stacked *s = &st->sout[k];
            const lens_tensor *o = &outs[ns + k];
            LENS_TRY(stacked_check(s, o, k));
            if (!s->data) {
                size_t bytes;
                if (lens_mul_ovf_size(s->slice_bytes, (size_t)len, &bytes) ||
                    bytes > control_max_bytes(body))
                    return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "scan output %d is too large", k);
                s->data = lens_malloc(bytes ? bytes : 1);
                if (!s->data) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "scan output %d", k);
                s->count = len;
            }
            /* scan_output_directions: 1 fills the output from the back */
            int64_t pos = out_dirs && out_dirs[k] ? len - 1 - t : t;
            if (s->slice_bytes) memcpy(s->data + s->slice_bytes * (size_t)pos, o->data, s->slice_bytes);
        }
    }

    *len_out = len;
    return LENS_OK;
}

static lens_status scan_body(const lens_node *node, lens_exec *ex, const lens_graph *body,
                             scan_state *st) {
    const int64_t *in_axes, *in_dirs, *out_axes, *out_dirs;
    LENS_TRY(scan_ints(node, "scan_input_axes", st->n_sin, &in_axes));
    LENS_TRY(scan_ints(node, "scan_input_directions", st->n_sin, &in_dirs));
    LENS_TRY(scan_ints(node, "scan_output_axes", st->n_sout, &out_axes));
    LENS_TRY(scan_ints(node, "scan_output_directions", st->n_sout, &out_dirs));
    int32_t ns = st->n_state;
    const lens_tensor *ins[64];
    if (ns + st->n_sin > 64) return lens_error(LENS_STATUS_UNSUPPORTED, "Scan with over 64 inputs");
    for (int32_t i = 0; i < ns + st->n_sin; i++) {
        ins[i] = lens_exec_input(ex, i);
        if (!ins[i]) return lens_error(LENS_STATUS_INVALID_MODEL, "Scan input %d is missing", i);
    }
    int64_t len;
    LENS_TRY(scan_steps(ex, body, st, ins, ins + ns, in_axes, in_dirs, out_dirs, &len));
    for (int32_t i = 0; i < ns; i++) LENS_TRY(output_copy(ex, i, &st->cur[i].t, "Scan state"));
    for (int32_t k = 0; k < st->n_sout; k++) {
        stacked *s = &st->sout[k];
        if (!s->started) stacked_empty_shape(body, ns + k, s);
        int32_t axis;
        LENS_TRY(lens_normalize_axis(out_axes ? out_axes[k] : 0, s->ndim + 1, "scan_output_axes",
                                     &axis));
        int64_t dims[LENS_MAX_DIMS], outer = 1, inner = 1;
        for (int32_t d = 0, e = 0; d <= s->ndim; d++) {
            if (d == axis) {
                dims[d] = len;
                continue;
            }
            dims[d] = s->dims[e];
            if (d < axis) outer *= s->dims[e];
            else inner *= s->dims[e];
            e++;
        }
        lens_tensor *out;
        LENS_TRY(lens_exec_output(ex, ns + k, s->dtype, s->ndim + 1, dims, &out));
        if (len == 0 || s->slice_bytes == 0) continue;
        /* [len, outer, inner] -> [outer, len, inner] */
        size_t ib = s->slice_bytes / (size_t)(outer ? outer : 1);
        (void)inner;
        uint8_t *dst = out->data;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t p = 0; p < len; p++)
                memcpy(dst + ((size_t)o * (size_t)len + (size_t)p) * ib,
                       s->data + (size_t)p * s->slice_bytes + (size_t)o * ib, ib);
    }
    return LENS_OK;
}

/* Scan-8: a batch axis in front of everything. Inputs are (sequence_lens
 * (optional), states [B, ...], scan inputs [B, T, ...]); the body runs per
 * batch entry over its first sequence_lens[b] steps, scanning along axis 1
 * in the given `directions`. Outputs are states [B, ...] and scan outputs
 * [B, T, ...], zero past each entry's length (as ONNX Runtime does). */
static lens_status scan8_body(const lens_node *node, lens_exec *ex, const lens_graph *body,
                              scan_state *st) {
    const int64_t *dirs;
    LENS_TRY(scan_ints(node, "directions", st->n_sin, &dirs));
    int32_t ns = st->n_state, nsin = st->n_sin, nsout = st->n_sout;
    if (ns + nsin > 64 || nsout > 64)
        return lens_error(LENS_STATUS_UNSUPPORTED, "Scan with over 64 inputs or outputs");
    const lens_tensor *src[64];
    lens_tensor views[64];
    const lens_tensor *vp[64];
    int64_t batch = -1, steps = -1;
    for (int32_t i = 0; i < ns + nsin; i++) {
        src[i] = lens_exec_input(ex, 1 + i);
        if (!src[i]) return lens_error(LENS_STATUS_INVALID_MODEL, "Scan input %d is missing", 1 + i);
        int32_t need = i < ns ? 1 : 2;
        if (src[i]->ndim < need || lens_dtype_size(src[i]->dtype) == 0)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Scan-8 input %d needs a batch axis%s",
                              1 + i, i < ns ? "" : " and a sequence axis");
        if (batch >= 0 && src[i]->dims[0] != batch)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Scan-8 inputs differ in batch size");
        batch = src[i]->dims[0];
        if (i >= ns) {
            if (steps >= 0 && src[i]->dims[1] != steps)
                return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Scan-8 scan inputs differ in length");
            steps = src[i]->dims[1];
        }
    }
    const lens_tensor *seq = lens_exec_input(ex, 0);
    if (seq && lens_tensor_numel(seq) != batch)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "sequence_lens must hold one length per batch");
    uint8_t *out_data[64] = {0};
    size_t out_batch_bytes[64] = {0};
    for (int64_t b = 0; b < batch; b++) {
        int64_t len = seq ? lens_tensor_get_i64(seq, b) : steps;
        if (len < 0 || len > steps)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "sequence_lens[%lld] = %lld outside [0, %lld]",
                              (long long)b, (long long)len, (long long)steps);
        for (int32_t i = 0; i < ns + nsin; i++) {
            const lens_tensor *x = src[i];
            size_t bb = lens_dtype_size(x->dtype);
            for (int32_t d = 1; d < x->ndim; d++) bb *= (size_t)x->dims[d];
            views[i] = *x;
            views[i].ndim = x->ndim - 1;
            memmove(views[i].dims, x->dims + 1, sizeof(int64_t) * (size_t)(x->ndim - 1));
            views[i].data = (uint8_t *)x->data + bb * (size_t)b;
            /* only the first `len` steps take part (contiguous: axis 0) */
            if (i >= ns) views[i].dims[0] = len;
            vp[i] = &views[i];
        }
        for (int32_t j = 0; j < nsin; j++) {
            lens_free(st->sin[j].buf);
            st->sin[j] = (scan_input){0};
        }
        for (int32_t k = 0; k < nsout; k++) {
            lens_free(st->sout[k].data);
            st->sout[k].data = NULL;
            st->sout[k].count = 0;
        }
        int64_t got;
        LENS_TRY(scan_steps(ex, body, st, vp, vp + ns, NULL, dirs, NULL, &got));
        if (b == 0) {
            for (int32_t i = 0; i < ns; i++) {
                lens_tensor *t = &st->cur[i].t, *out;
                int64_t dims[LENS_MAX_DIMS];
                if (t->ndim + 1 > LENS_MAX_DIMS)
                    return lens_error(LENS_STATUS_UNSUPPORTED, "Scan state rank too large");
                dims[0] = batch;
                memcpy(dims + 1, t->dims, sizeof(int64_t) * (size_t)t->ndim);
                LENS_TRY(lens_exec_output(ex, i, t->dtype, t->ndim + 1, dims, &out));
                out_data[i] = out->data;
                LENS_TRY(tensor_bytes(t, "Scan state", &out_batch_bytes[i]));
            }
            for (int32_t k = 0; k < nsout; k++) {
                stacked *s = &st->sout[k];
                if (!s->started) stacked_empty_shape(body, ns + k, s);
                if (s->ndim + 2 > LENS_MAX_DIMS)
                    return lens_error(LENS_STATUS_UNSUPPORTED, "Scan output rank too large");
                int64_t dims[LENS_MAX_DIMS];
                dims[0] = batch;
                dims[1] = steps;
                memcpy(dims + 2, s->dims, sizeof(int64_t) * (size_t)s->ndim);
                lens_tensor *out;
                LENS_TRY(lens_exec_output(ex, ns + k, s->dtype, s->ndim + 2, dims, &out));
                out_data[ns + k] = out->data;
                size_t bytes;
                if (!lens_tensor_nbytes(out, &bytes))
                    return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "Scan output too large");
                if (bytes) memset(out->data, 0, bytes);
                out_batch_bytes[ns + k] = batch ? bytes / (size_t)batch : 0;
            }
        }
        for (int32_t i = 0; i < ns; i++) {
            size_t bytes;
            LENS_TRY(tensor_bytes(&st->cur[i].t, "Scan state", &bytes));
            if (bytes != out_batch_bytes[i])
                return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Scan state %d changes shape across the batch", i);
            if (bytes) memcpy(out_data[i] + bytes * (size_t)b, st->cur[i].t.data, bytes);
        }
        for (int32_t k = 0; k < nsout; k++) {
            stacked *s = &st->sout[k];
            size_t bytes = s->slice_bytes * (size_t)got;
            if (got && bytes > out_batch_bytes[ns + k])
                return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Scan output %d changes shape across the batch", k);
            if (got && bytes) memcpy(out_data[ns + k] + out_batch_bytes[ns + k] * (size_t)b, s->data, bytes);
        }
    }
    if (batch == 0) {
        int64_t dims[LENS_MAX_DIMS] = {0};
        for (int32_t i = 0; i < ns + nsout; i++) {
            lens_tensor *out;
            const lens_value *v = &body->values[body->outputs[i]];
            LENS_TRY(lens_exec_output(ex, i, v->dtype ? v->dtype : LENS_DTYPE_FLOAT, 1, dims, &out));
        }
    }
    return LENS_OK;
}

/* Scan-8 (batch axis, optional sequence_lens first input) and
 * Scan-9/11/16. */
static lens_status scan_run(const lens_node *node, lens_exec *ex) {
    const lens_graph *body = lens_node_attr_graph(node, "body");
    if (!body) return lens_error(LENS_STATUS_INVALID_MODEL, "Scan has no body");
    int64_t m = lens_node_attr_int(node, "num_scan_inputs", -1);
    int32_t n_in = lens_exec_n_inputs(ex), n_out = lens_exec_n_outputs(ex);
    bool v8 = node->opset < 9;
    /* Scan-8's first input is sequence_lens, which the body does not see */
    if (v8) n_in--;
    if (m < 1 || m > n_in)
        return lens_error(LENS_STATUS_INVALID_MODEL, "num_scan_inputs %lld does not fit %d inputs",
                          (long long)m, n_in);
    int32_t ns = n_in - (int32_t)m;
    if (body->n_inputs != n_in || body->n_outputs != n_out || n_out < ns)
        return lens_error(LENS_STATUS_INVALID_MODEL,
                          "Scan with %d inputs and %d outputs does not fit a body with %d inputs "
                          "and %d outputs",
                          n_in, n_out, body->n_inputs, body->n_outputs);
    scan_state st = {.n_state = ns, .n_sin = (int32_t)m, .n_sout = n_out - ns};
    st.cur = lens_calloc((size_t)ns + 1, sizeof(owned_tensor));
    st.next = lens_calloc((size_t)ns + 1, sizeof(owned_tensor));
    st.sin = lens_calloc((size_t)m, sizeof(scan_input));
    st.sout = lens_calloc((size_t)st.n_sout + 1, sizeof(stacked));
    st.ins = lens_calloc((size_t)n_in + 1, sizeof(lens_tensor));
    lens_status s = LENS_OK;
    if (!st.cur || !st.next || !st.sin || !st.sout || !st.ins)
        s = lens_error(LENS_STATUS_OUT_OF_MEMORY, "Scan state");
    else
        s = v8 ? scan8_body(node, ex, body, &st) : scan_body(node, ex, body, &st);
    scan_state_free(&st);
    return s;
}

#define CF (LENS_OPF_CONTROL_FLOW | LENS_OPF_DATA_DEPENDENT)
static const lens_op ops[] = {
    {"", "If", 1, 0, CF, NULL, if_run, NULL},    {"", "If", 11, 0, CF, NULL, if_run, NULL},
    {"", "If", 13, 0, CF, NULL, if_run, NULL},   {"", "If", 16, 0, CF, NULL, if_run, NULL},
    {"", "Loop", 1, 0, CF, NULL, loop_run, NULL}, {"", "Loop", 11, 0, CF, NULL, loop_run, NULL},
    {"", "Loop", 13, 0, CF, NULL, loop_run, NULL}, {"", "Loop", 16, 0, CF, NULL, loop_run, NULL},
    {"", "Scan", 8, 0, CF, NULL, scan_run, NULL}, {"", "Scan", 9, 0, CF, NULL, scan_run, NULL},
    {"", "Scan", 11, 0, CF, NULL, scan_run, NULL},
    {"", "Scan", 16, 0, CF, NULL, scan_run, NULL},
};
LENS_OP_TABLE(control, ops);
