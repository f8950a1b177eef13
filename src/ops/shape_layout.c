/* Layout operators: each describes its output as a strided view of its
 * input(s) and hands it to lens_copy_view (shape_copy.c). Transpose,
 * DepthToSpace, SpaceToDepth, Concat, Split, Slice, Expand, Tile. They move
 * elements by size only, so they work for every fixed-size dtype. */
#include "ops/shape_internal.h"

static lens_status need_input(lens_exec *ex, int32_t i, const char *what, const lens_tensor **out) {
    *out = lens_exec_input(ex, i);
    if (!*out) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input '%s'", what);
    return LENS_OK;
}

/* ---- Transpose (1, 13): perm defaults to reversing the axes ------------ */
lens_status lens_run_transpose(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x;
    LENS_TRY(need_input(ex, 0, "data", &x));
    size_t es;
    LENS_TRY(lens_shape_esize(x, "Transpose input 'data'", &es));
    int32_t r = x->ndim, perm[LENS_MAX_DIMS];
    int64_t count;
    const int64_t *p = lens_node_attr_ints(node, "perm", &count);
    if (p) {
        if (count != r)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                              "Transpose 'perm' has %lld entries for a rank-%d input",
                              (long long)count, (int)r);
        bool seen[LENS_MAX_DIMS] = {false};
        for (int32_t i = 0; i < r; i++) {
            if (p[i] < 0 || p[i] >= r || seen[p[i]])
                return lens_error(LENS_STATUS_INVALID_MODEL,
                                  "Transpose 'perm'[%d] = %lld is not a permutation of 0..%d",
                                  (int)i, (long long)p[i], (int)r - 1);
            seen[p[i]] = true;
            perm[i] = (int32_t)p[i];
        }
    } else {
        for (int32_t i = 0; i < r; i++) perm[i] = r - 1 - i;
    }
    int64_t dims[LENS_MAX_DIMS];
    for (int32_t i = 0; i < r; i++) dims[i] = x->dims[perm[i]];
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, r, dims, &y));
    lens_transpose(y->data, x->data, es, r, x->dims, perm, lens_exec_pool(ex));
    return LENS_OK;
}

/* ---- DepthToSpace (1: DCR only; 11: mode DCR|CRD), SpaceToDepth (1) ---- */
static lens_status space_depth_check(const lens_tensor *x, const char *op, int64_t b) {
    if (x->ndim != 4)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "%s input must be 4-D, got rank %d", op,
                          (int)x->ndim);
    if (b <= 0 || b > (int64_t)1 << 20)
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s blocksize %lld is invalid", op,
                          (long long)b);
    return LENS_OK;
}

lens_status lens_run_depth_to_space(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x;
    LENS_TRY(need_input(ex, 0, "input", &x));
    size_t es;
    LENS_TRY(lens_shape_esize(x, "DepthToSpace input", &es));
    int64_t b = lens_node_attr_int(node, "blocksize", 0);
    LENS_TRY(space_depth_check(x, "DepthToSpace", b));
    const char *mode = node->opset >= 11 ? lens_node_attr_string(node, "mode", "DCR") : "DCR";
    bool crd = strcmp(mode, "CRD") == 0;
    if (!crd && strcmp(mode, "DCR") != 0)
        return lens_error(LENS_STATUS_INVALID_MODEL, "DepthToSpace mode '%s' unknown", mode);
    int64_t n = x->dims[0], c = x->dims[1], h = x->dims[2], w = x->dims[3];
    if (c % (b * b))
        return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                          "DepthToSpace: %lld channels not divisible by blocksize^2 = %lld",
                          (long long)c, (long long)(b * b));
    int64_t c2 = c / (b * b), od[4];
    od[0] = n;
    od[1] = c2;
    if (lens_mul_ovf_i64(h, b, &od[2]) || lens_mul_ovf_i64(w, b, &od[3]))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "DepthToSpace output size overflows");
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, 4, od, &y));
    /* Output viewed as [N, C', H, b(i), W, b(j)]. DCR reads channel
     * (i*b + j)*C' + c', CRD reads c'*b*b + i*b + j. */
    int64_t sc = h * w;
    int64_t dims[6] = {n, c2, h, b, w, b};
    int64_t ss[6] = {c * sc, crd ? b * b * sc : sc, w, crd ? b * sc : b * c2 * sc, 1,
                     crd ? sc : c2 * sc};
    lens_copy_view(y->data, NULL, x->data, ss, es, 6, dims, lens_exec_pool(ex));
    return LENS_OK;
}

lens_status lens_run_space_to_depth(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x;
    LENS_TRY(need_input(ex, 0, "input", &x));
    size_t es;
    LENS_TRY(lens_shape_esize(x, "SpaceToDepth input", &es));
    int64_t b = lens_node_attr_int(node, "blocksize", 0);
    LENS_TRY(space_depth_check(x, "SpaceToDepth", b));
    int64_t n = x->dims[0], c = x->dims[1], h = x->dims[2], w = x->dims[3];
    if (h % b || w % b)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                          "SpaceToDepth: spatial size %lldx%lld not divisible by blocksize %lld",
                          (long long)h, (long long)w, (long long)b);
    int64_t od[4] = {n, 0, h / b, w / b};
    if (lens_mul_ovf_i64(c, b * b, &od[1]))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "SpaceToDepth output size overflows");
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, 4, od, &y));
    /* Input as [N, C, H/b, b, W/b, b] transposed by [0, 3, 5, 1, 2, 4]. */
    int64_t dims[6] = {n, b, b, c, h / b, w / b};
    int64_t ss[6] = {c * h * w, w, 1, h * w, b * w, b};
    lens_copy_view(y->data, NULL, x->data, ss, es, 6, dims, lens_exec_pool(ex));
    return LENS_OK;
}

/* ---- Concat (1: axis defaults to 1; 4+: axis required; 11+: negative) --- */
lens_status lens_run_concat(const lens_node *node, lens_exec *ex) {
    int32_t n = lens_exec_n_inputs(ex);
    if (n < 1) return lens_error(LENS_STATUS_INVALID_MODEL, "Concat needs at least one input");
    const lens_tensor *x0;
    LENS_TRY(need_input(ex, 0, "inputs", &x0));
    size_t es;
    LENS_TRY(lens_shape_esize(x0, "Concat input", &es));
    if (node->opset >= 4 && !lens_node_attr(node, "axis"))
        return lens_error(LENS_STATUS_INVALID_MODEL, "Concat needs attribute 'axis'");
    int32_t r = x0->ndim, axis;
    if (r == 0) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Concat of scalars");
    LENS_TRY(lens_normalize_axis(lens_node_attr_int(node, "axis", 1), r, "Concat axis", &axis));
    int64_t dims[LENS_MAX_DIMS];
    memcpy(dims, x0->dims, sizeof dims);
    dims[axis] = 0;
    for (int32_t i = 0; i < n; i++) {
        const lens_tensor *xi = lens_exec_input(ex, i);
        if (!xi) return lens_error(LENS_STATUS_INVALID_MODEL, "Concat input %d is missing", (int)i);
        if (xi->dtype != x0->dtype)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Concat input %d is %s, input 0 is %s",
                              (int)i, lens_dtype_name(xi->dtype), lens_dtype_name(x0->dtype));
        if (xi->ndim != r)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Concat input %d has rank %d, input 0 %d",
                              (int)i, (int)xi->ndim, (int)r);
        for (int32_t a = 0; a < r; a++)
            if (a != axis && xi->dims[a] != x0->dims[a]) {
                char s0[128], s1[128];
                return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                                  "Concat input %d has shape %s, input 0 %s (axis %d)", (int)i,
                                  lens_shape_str(r, xi->dims, s1, sizeof s1),
                                  lens_shape_str(r, x0->dims, s0, sizeof s0), (int)axis);
            }
        if (lens_add_ovf_i64(dims[axis], xi->dims[axis], &dims[axis]))
            return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "Concat output size overflows");
    }
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x0->dtype, r, dims, &y));
    int64_t outer = 1, inner = 1;
    for (int32_t a = 0; a < axis; a++) outer *= dims[a];
    for (int32_t a = axis + 1; a < r; a++) inner *= dims[a];
    if (outer * inner * dims[axis] == 0) return LENS_OK;
    int64_t off = 0;
    for (int32_t i = 0; i < n; i++) {
        const lens_tensor *xi = lens_exec_input(ex, i);
        int64_t row = xi->dims[axis] * inner;
        if (row) {
            int64_t cd[2] = {outer, row}, ss[2] = {row, 1}, ds[2] = {dims[axis] * inner, 1};
            lens_copy_view((char *)y->data + (size_t)off * es, ds, xi->data, ss, es, 2, cd,
                           lens_exec_pool(ex));
        }
        off += row;
    }
    return LENS_OK;
}

/* ---- Split ------------------------------------------------------------
 * Sizes come from: the optional input 'split' (1) or attribute (1, 2, 11);
 * input 1 (13+); else equal parts, which before 18 must divide the axis
 * exactly and from 18 (num_outputs) leave a smaller last chunk. */
lens_status lens_run_split(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x;
    LENS_TRY(need_input(ex, 0, "input", &x));
    size_t es;
    LENS_TRY(lens_shape_esize(x, "Split input", &es));
    int32_t r = x->ndim, axis, nout = lens_exec_n_outputs(ex);
    if (r == 0) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Split of a scalar");
    if (nout < 1) return lens_error(LENS_STATUS_INVALID_MODEL, "Split has no outputs");
    LENS_TRY(lens_normalize_axis(lens_node_attr_int(node, "axis", 0), r, "Split axis", &axis));
    int64_t d = x->dims[axis];
    int64_t *sizes = lens_exec_scratch(ex, (size_t)nout * sizeof *sizes);
    if (!sizes) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "Split: out of memory");
    const lens_tensor *st = (node->opset >= 13 || node->opset == 1) ? lens_exec_input(ex, 1) : NULL;
    int64_t count = 0;
    const int64_t *sa = node->opset < 13 ? lens_node_attr_ints(node, "split", &count) : NULL;
    if (st || sa) {
        int64_t len = st ? lens_tensor_numel(st) : count;
        if (st && !lens_dtype_is_int(st->dtype))
            return lens_error(LENS_STATUS_INVALID_MODEL, "Split input 'split' must be integer");
        if (len != nout)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                              "Split 'split' has %lld entries for %d outputs", (long long)len,
                              (int)nout);
        int64_t sum = 0;
        for (int32_t i = 0; i < nout; i++) {
            sizes[i] = st ? lens_tensor_get_i64(st, i) : sa[i];
            if (sizes[i] < 0 || lens_add_ovf_i64(sum, sizes[i], &sum))
                return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                                  "Split 'split'[%d] = %lld is invalid", (int)i,
                                  (long long)sizes[i]);
        }
        if (sum != d)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                              "Split sizes add up to %lld, the axis has %lld", (long long)sum,
                              (long long)d);
    } else if (node->opset >= 18 && lens_node_attr(node, "num_outputs")) {
        int64_t k = lens_node_attr_int(node, "num_outputs", nout);
        if (k != nout)
            return lens_error(LENS_STATUS_INVALID_MODEL,
                              "Split num_outputs = %lld but the node has %d outputs",
                              (long long)k, (int)nout);
        int64_t chunk = (d + nout - 1) / nout;
        for (int32_t i = 0; i < nout; i++) {
            int64_t left = d - chunk * i;
            sizes[i] = LENS_MAX((int64_t)0, LENS_MIN(chunk, left));
        }
    } else {
        if (d % nout)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                              "Split: axis of %lld does not divide into %d equal parts",
                              (long long)d, (int)nout);
        for (int32_t i = 0; i < nout; i++) sizes[i] = d / nout;
    }
    int64_t outer = 1, inner = 1;
    for (int32_t a = 0; a < axis; a++) outer *= x->dims[a];
    for (int32_t a = axis + 1; a < r; a++) inner *= x->dims[a];
    int64_t off = 0;
    for (int32_t i = 0; i < nout; i++) {
        int64_t dims[LENS_MAX_DIMS];
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = sizes[i];
        lens_tensor *y;
        LENS_TRY(lens_exec_output(ex, i, x->dtype, r, dims, &y));
        int64_t row = sizes[i] * inner;
        if (row && outer) {
            int64_t cd[2] = {outer, row}, ss[2] = {d * inner, 1};
            lens_copy_view(y->data, NULL, (const char *)x->data + (size_t)off * es, ss, es, 2, cd,
                           lens_exec_pool(ex));
        }
        off += row;
    }
    return LENS_OK;
}

/* ---- Slice --------------------------------------------------------------
 * Slice-1: starts/ends/axes attributes, step 1. Slice-10+: inputs starts,
 * ends, axes, steps. Per Slice-13: negative start/end get the dimension
 * added; then start clamps to [0, d] (step > 0) or [0, d-1] (step < 0) and
 * end to [0, d] or [-1, d-1]. */
lens_status lens_run_slice(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x;
    LENS_TRY(need_input(ex, 0, "data", &x));
    size_t es;
    LENS_TRY(lens_shape_esize(x, "Slice input 'data'", &es));
    int32_t r = x->ndim, n = 0, na = 0, ne = 0, nst = 0;
    int64_t starts[LENS_MAX_DIMS], ends[LENS_MAX_DIMS], axes[LENS_MAX_DIMS], steps[LENS_MAX_DIMS];
    bool has_axes = false, has_steps = false;
    if (node->opset >= 10) {
        const lens_tensor *ts, *te;
        LENS_TRY(need_input(ex, 1, "starts", &ts));
        LENS_TRY(need_input(ex, 2, "ends", &te));
        LENS_TRY(lens_read_ints(ts, "Slice input 'starts'", LENS_MAX_DIMS, starts, &n));
        LENS_TRY(lens_read_ints(te, "Slice input 'ends'", LENS_MAX_DIMS, ends, &ne));
        const lens_tensor *ta = lens_exec_input(ex, 3), *tp = lens_exec_input(ex, 4);
        if (ta) {
            LENS_TRY(lens_read_ints(ta, "Slice input 'axes'", LENS_MAX_DIMS, axes, &na));
            has_axes = true;
        }
        if (tp) {
            LENS_TRY(lens_read_ints(tp, "Slice input 'steps'", LENS_MAX_DIMS, steps, &nst));
            has_steps = true;
        }
    } else {
        int64_t cs, ce, ca;
        const int64_t *as = lens_node_attr_ints(node, "starts", &cs);
        const int64_t *ae = lens_node_attr_ints(node, "ends", &ce);
        const int64_t *aa = lens_node_attr_ints(node, "axes", &ca);
        if (!as || !ae)
            return lens_error(LENS_STATUS_INVALID_MODEL, "Slice-1 needs 'starts' and 'ends'");
        if (cs > LENS_MAX_DIMS || ce > LENS_MAX_DIMS || (aa && ca > LENS_MAX_DIMS))
            return lens_error(LENS_STATUS_INVALID_MODEL, "Slice has more entries than axes");
        n = (int32_t)cs;
        ne = (int32_t)ce;
        memcpy(starts, as, (size_t)cs * sizeof *as);
        memcpy(ends, ae, (size_t)ce * sizeof *ae);
        if (aa) {
            na = (int32_t)ca;
            memcpy(axes, aa, (size_t)ca * sizeof *aa);
            has_axes = true;
        }
    }
    if (ne != n || (has_axes && na != n) || (has_steps && nst != n))
        return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                          "Slice starts/ends/axes/steps lengths differ (%d/%d/%d/%d)", (int)n,
                          (int)ne, has_axes ? (int)na : n, has_steps ? (int)nst : n);
    if (!has_axes && n > r)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Slice has %d starts for a rank-%d input",
                          (int)n, (int)r);
    int64_t lo[LENS_MAX_DIMS], step[LENS_MAX_DIMS], dims[LENS_MAX_DIMS];
    bool seen[LENS_MAX_DIMS] = {false};
    for (int32_t a = 0; a < r; a++) {
        lo[a] = 0;
        step[a] = 1;
        dims[a] = x->dims[a];
    }
    for (int32_t k = 0; k < n; k++) {
        int32_t a = k;
        if (has_axes) LENS_TRY(lens_normalize_axis(axes[k], r, "Slice axis", &a));
        if (seen[a])
            return lens_error(LENS_STATUS_INVALID_MODEL, "Slice axis %d repeated", (int)a);
        seen[a] = true;
        int64_t d = x->dims[a], s = starts[k], e = ends[k], p = has_steps ? steps[k] : 1;
        if (p == 0) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "Slice step %d is 0", (int)k);
        if (s < 0) s += d; /* s >= INT64_MIN and d >= 0: cannot overflow */
        if (e < 0) e += d;
        int64_t len;
        if (p > 0) {
            s = LENS_MIN(LENS_MAX(s, (int64_t)0), d);
            e = LENS_MIN(LENS_MAX(e, (int64_t)0), d);
            len = e > s ? (int64_t)(((uint64_t)(e - s) - 1) / (uint64_t)p + 1) : 0;
        } else {
            s = LENS_MIN(LENS_MAX(s, (int64_t)0), d - 1);
            e = LENS_MIN(LENS_MAX(e, (int64_t)-1), d - 1);
            /* -p would overflow for INT64_MIN: divide in unsigned. */
            uint64_t mag = (uint64_t)0 - (uint64_t)p;
            len = s > e ? (int64_t)(((uint64_t)(s - e) - 1) / mag + 1) : 0;
        }
        lo[a] = s;
        step[a] = p;
        dims[a] = len;
    }
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, r, dims, &y));
    int64_t numel = lens_tensor_numel(y);
    if (numel == 0) return LENS_OK;
    int64_t strides[LENS_MAX_DIMS], ss[LENS_MAX_DIMS], base = 0;
    lens_contiguous_strides(r, x->dims, strides);
    for (int32_t a = 0; a < r; a++) {
        base += lo[a] * strides[a];
        /* One element along an axis: its step is irrelevant and may be huge. */
        ss[a] = dims[a] > 1 ? step[a] * strides[a] : strides[a];
    }
    lens_copy_view(y->data, NULL, (const char *)x->data + base * (int64_t)es, ss, es, r, dims,
                   lens_exec_pool(ex));
    return LENS_OK;
}

/* ---- Expand (8, 13): bidirectional broadcast of the input to 'shape' ---- */
lens_status lens_run_expand(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x, *s;
    LENS_TRY(need_input(ex, 0, "input", &x));
    LENS_TRY(need_input(ex, 1, "shape", &s));
    size_t es;
    LENS_TRY(lens_shape_esize(x, "Expand input", &es));
    int64_t shape[LENS_MAX_DIMS], dims[LENS_MAX_DIMS];
    int32_t n, r;
    LENS_TRY(lens_read_ints(s, "Expand input 'shape'", LENS_MAX_DIMS, shape, &n));
    for (int32_t i = 0; i < n; i++)
        if (shape[i] < 0)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                              "Expand input 'shape'[%d] = %lld is negative", (int)i,
                              (long long)shape[i]);
    LENS_TRY(lens_broadcast_shape(x->ndim, x->dims, n, shape, &r, dims));
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, r, dims, &y));
    int64_t ss[LENS_MAX_DIMS];
    lens_broadcast_strides(x->ndim, x->dims, r, ss);
    lens_copy_view(y->data, NULL, x->data, ss, es, r, dims, lens_exec_pool(ex));
    return LENS_OK;
}

/* ---- Tile ------------------------------------------------------------
 * Tile-6+: 'repeats' has one count per axis. Tile-1: inputs 'tiles' and
 * 'axis' (scalars) repeat a single axis. The output is the view
 * [r0, d0, r1, d1, ...] with stride 0 on the repeat axes. */
lens_status lens_run_tile(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x;
    LENS_TRY(need_input(ex, 0, "input", &x));
    size_t es;
    LENS_TRY(lens_shape_esize(x, "Tile input", &es));
    int32_t r = x->ndim;
    int64_t reps[LENS_MAX_DIMS];
    for (int32_t a = 0; a < r; a++) reps[a] = 1;
    if (node->opset >= 6) {
        const lens_tensor *t;
        int32_t n;
        LENS_TRY(need_input(ex, 1, "repeats", &t));
        LENS_TRY(lens_read_ints(t, "Tile input 'repeats'", LENS_MAX_DIMS, reps, &n));
        if (n != r)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                              "Tile input 'repeats' has %d entries for a rank-%d input", (int)n,
                              (int)r);
    } else {
        const lens_tensor *tt, *ta;
        int64_t tiles, axis;
        int32_t a;
        LENS_TRY(need_input(ex, 1, "tiles", &tt));
        LENS_TRY(need_input(ex, 2, "axis", &ta));
        LENS_TRY(lens_read_int_scalar(tt, "Tile input 'tiles'", &tiles));
        LENS_TRY(lens_read_int_scalar(ta, "Tile input 'axis'", &axis));
        LENS_TRY(lens_normalize_axis(axis, r, "Tile input 'axis'", &a));
        reps[a] = tiles;
    }
    int64_t dims[LENS_MAX_DIMS], vd[LENS_COPY_MAX_DIMS], vs[LENS_COPY_MAX_DIMS],
        strides[LENS_MAX_DIMS];
    for (int32_t a = 0; a < r; a++) {
        if (reps[a] < 0)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "Tile repeats[%d] = %lld is negative",
                              (int)a, (long long)reps[a]);
        if (lens_mul_ovf_i64(x->dims[a], reps[a], &dims[a]))
            return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "Tile output size overflows");
    }
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, r, dims, &y));
    lens_contiguous_strides(r, x->dims, strides);
    for (int32_t a = 0; a < r; a++) {
        vd[2 * a] = reps[a];
        vs[2 * a] = 0;
        vd[2 * a + 1] = x->dims[a];
        vs[2 * a + 1] = strides[a];
    }
    lens_copy_view(y->data, NULL, x->data, vs, es, 2 * r, vd, lens_exec_pool(ex));
    return LENS_OK;
}
