/* Data-dependent selections: NonZero, Compress, Unique. Their output
 * shapes come from input values, so the runtime cannot plan them ahead
 * (LENS_OPF_DATA_DEPENDENT in gather.c's table). */
#include "ops/shape_internal.h"

/* Truth of element i as numpy sees it: -0.0 is false, NaN is true. */
static bool elem_nonzero(const lens_tensor *t, int64_t i) {
    switch (t->dtype) {
    case LENS_DTYPE_FLOAT: return ((const float *)t->data)[i] != 0.0f;
    case LENS_DTYPE_DOUBLE: return ((const double *)t->data)[i] != 0.0;
    case LENS_DTYPE_FLOAT16:
    case LENS_DTYPE_BFLOAT16: return (((const uint16_t *)t->data)[i] & 0x7fff) != 0;
    case LENS_DTYPE_INT64: case LENS_DTYPE_UINT64: return ((const uint64_t *)t->data)[i] != 0;
    case LENS_DTYPE_INT32: case LENS_DTYPE_UINT32: return ((const uint32_t *)t->data)[i] != 0;
    case LENS_DTYPE_INT16: case LENS_DTYPE_UINT16: return ((const uint16_t *)t->data)[i] != 0;
    default: return ((const uint8_t *)t->data)[i] != 0;
    }
}

/* NonZero-9/13: int64 [rank, nnz], indices in row-major order. A scalar is
 * treated as shape [1] (numpy's behaviour). */
lens_status lens_run_nonzero(const lens_node *node, lens_exec *ex) {
    (void)node;
    const lens_tensor *x = lens_exec_input(ex, 0);
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input 'X'");
    size_t es;
    LENS_TRY(lens_shape_esize(x, "NonZero input", &es));
    int32_t r = x->ndim ? x->ndim : 1;
    int64_t dims1[1] = {1};
    const int64_t *xd = x->ndim ? x->dims : dims1;
    int64_t n = lens_tensor_numel(x), nnz = 0;
    for (int64_t i = 0; i < n; i++) nnz += elem_nonzero(x, i);
    int64_t od[2] = {r, nnz};
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, LENS_DTYPE_INT64, 2, od, &y));
    if (nnz == 0) return LENS_OK;
    int64_t *out = y->data, pos[LENS_MAX_DIMS] = {0}, k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (elem_nonzero(x, i)) {
            for (int32_t a = 0; a < r; a++) out[a * nnz + k] = pos[a];
            k++;
        }
        for (int32_t a = r - 1; a >= 0; a--) {
            if (++pos[a] < xd[a]) break;
            pos[a] = 0;
        }
    }
    return LENS_OK;
}

/* Compress-9 (11 allows negative axis): keep the slices along 'axis' (or
 * the elements of the flattened input) whose condition entry is true. A
 * shorter condition drops the slices past its end (spec); a longer one may
 * only hold false there. */
lens_status lens_run_compress(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0), *tc = lens_exec_input(ex, 1);
    if (!x || !tc) return lens_error(LENS_STATUS_INVALID_MODEL, "Compress needs input and condition");
    size_t es;
    LENS_TRY(lens_shape_esize(x, "Compress input", &es));
    if (tc->ndim != 1 || lens_dtype_size(tc->dtype) == 0)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Compress input 'condition' must be 1-D");
    const lens_attr *aa = lens_node_attr(node, "axis");
    int32_t axis = -1;
    int64_t outer = 1, inner = 1, d = lens_tensor_numel(x);
    if (aa) {
        if (x->ndim == 0) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Compress of a scalar");
        LENS_TRY(lens_normalize_axis(aa->i, x->ndim, "Compress axis", &axis));
        d = x->dims[axis];
        for (int32_t a = 0; a < axis; a++) outer *= x->dims[a];
        for (int32_t a = axis + 1; a < x->ndim; a++) inner *= x->dims[a];
    }
    int64_t len = tc->dims[0], kept = 0;
    for (int64_t j = 0; j < len; j++) {
        if (!elem_nonzero(tc, j)) continue;
        if (j >= d)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                              "Compress input 'condition'[%lld] is true past the axis size %lld",
                              (long long)j, (long long)d);
        kept++;
    }
    int64_t dims[LENS_MAX_DIMS];
    int32_t nd;
    if (axis >= 0) {
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = kept;
        nd = x->ndim;
    } else {
        dims[0] = kept;
        nd = 1;
    }
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, nd, dims, &y));
    if (kept * outer * inner == 0) return LENS_OK;
    size_t row = (size_t)inner * es;
    char *dst = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < LENS_MIN(len, d); j++)
            if (elem_nonzero(tc, j)) {
                memcpy(dst, (const char *)x->data + (size_t)(o * d + j) * row, row);
                dst += row;
            }
    return LENS_OK;
}

/* ---- Unique-11 ----------------------------------------------------------
 * Unique elements (no axis: of the flattened input) or unique slices along
 * 'axis', compared lexicographically. Outputs: Y, indices (first
 * occurrence), inverse_indices, counts, all int64 but Y. sorted=1 orders Y
 * ascending, sorted=0 by first occurrence. */
typedef struct uniq_ctx {
    const char *x;
    lens_dtype dt;
    size_t es;
    int64_t outer, d, inner;
} uniq_ctx;

/* Total order; NaNs equal each other and sort last (numpy equal_nan). */
#define CMP_FLOAT(a, b)                                                                    \
    ((a) != (a) ? ((b) != (b) ? 0 : 1) : (b) != (b) ? -1 : (a) < (b) ? -1 : (a) > (b) ? 1 : 0)
#define CMP(a, b) ((a) < (b) ? -1 : (a) > (b) ? 1 : 0)

static int cmp_elem(lens_dtype dt, const char *pa, const char *pb) {
    switch (dt) {
#define C(DT, type, how)                                                                   \
    case DT: {                                                                             \
        type a, b;                                                                         \
        memcpy(&a, pa, sizeof a);                                                          \
        memcpy(&b, pb, sizeof b);                                                          \
        return how(a, b);                                                                  \
    }
        C(LENS_DTYPE_FLOAT, float, CMP_FLOAT)
        C(LENS_DTYPE_DOUBLE, double, CMP_FLOAT)
        C(LENS_DTYPE_INT8, int8_t, CMP)
        C(LENS_DTYPE_INT16, int16_t, CMP)
        C(LENS_DTYPE_INT32, int32_t, CMP)
        C(LENS_DTYPE_INT64, int64_t, CMP)
        C(LENS_DTYPE_UINT8, uint8_t, CMP)
        C(LENS_DTYPE_BOOL, uint8_t, CMP)
        C(LENS_DTYPE_UINT16, uint16_t, CMP)
        C(LENS_DTYPE_UINT32, uint32_t, CMP)
        C(LENS_DTYPE_UINT64, uint64_t, CMP)
#undef C
    case LENS_DTYPE_FLOAT16: {
        uint16_t a, b;
        memcpy(&a, pa, 2);
        memcpy(&b, pb, 2);
        float fa = lens_f16_to_f32(a), fb = lens_f16_to_f32(b);
        return CMP_FLOAT(fa, fb);
    }
    default: { /* bfloat16 */
        uint16_t a, b;
        memcpy(&a, pa, 2);
        memcpy(&b, pb, 2);
        float fa = lens_bf16_to_f32(a), fb = lens_bf16_to_f32(b);
        return CMP_FLOAT(fa, fb);
    }
    }
}

static int cmp_slices(const uniq_ctx *c, int64_t ja, int64_t jb) {
    int64_t es = (int64_t)c->es;
    for (int64_t o = 0; o < c->outer; o++) {
        const char *a = c->x + ((o * c->d + ja) * c->inner) * es;
        const char *b = c->x + ((o * c->d + jb) * c->inner) * es;
        for (int64_t i = 0; i < c->inner; i++) {
            int r = cmp_elem(c->dt, a + i * es, b + i * es);
            if (r) return r;
        }
    }
    return 0;
}

/* Stable bottom-up merge sort of idx[0..n) (tmp: n entries), so that the
 * first of equal slices is the earliest one. */
static void merge_sort(const uniq_ctx *c, int64_t *idx, int64_t *tmp, int64_t n) {
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = LENS_MIN(lo + w, n), hi = LENS_MIN(lo + 2 * w, n);
            int64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = cmp_slices(c, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
            while (i < mid) tmp[k++] = idx[i++];
            while (j < hi) tmp[k++] = idx[j++];
        }
        memcpy(idx, tmp, (size_t)n * sizeof *idx);
    }
}

lens_status lens_run_unique(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input 'X'");
    size_t es;
    LENS_TRY(lens_shape_esize(x, "Unique input", &es));
    bool sorted = lens_node_attr_int(node, "sorted", 1) != 0;
    const lens_attr *aa = lens_node_attr(node, "axis");
    uniq_ctx c = {x->data, x->dtype, es, 1, lens_tensor_numel(x), 1};
    int32_t axis = -1;
    if (aa) {
        if (x->ndim == 0) return lens_error(LENS_STATUS_SHAPE_MISMATCH, "Unique of a scalar with an axis");
        LENS_TRY(lens_normalize_axis(aa->i, x->ndim, "Unique axis", &axis));
        c.d = x->dims[axis];
        for (int32_t a = 0; a < axis; a++) c.outer *= x->dims[a];
        for (int32_t a = axis + 1; a < x->ndim; a++) c.inner *= x->dims[a];
    }
    int64_t n = c.d;
    /* perm, tmp, group of each slice, first occurrence, count, output order */
    int64_t *mem = lens_exec_scratch(ex, (size_t)LENS_MAX(n, (int64_t)1) * 6 * sizeof(int64_t));
    if (!mem) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "Unique: out of memory");
    int64_t *perm = mem, *tmp = mem + n, *grp = mem + 2 * n, *first = mem + 3 * n,
            *count = mem + 4 * n, *order = mem + 5 * n;
    int64_t ng = 0;
    if (n > 0 && c.outer * c.inner == 0) {
        /* Empty slices are all equal. */
        ng = 1;
        first[0] = 0;
        count[0] = n;
        for (int64_t j = 0; j < n; j++) grp[j] = 0;
    } else {
        for (int64_t j = 0; j < n; j++) perm[j] = j;
        merge_sort(&c, perm, tmp, n);
        for (int64_t k = 0; k < n; k++) {
            if (k == 0 || cmp_slices(&c, perm[k - 1], perm[k]) != 0) {
                first[ng] = perm[k];
                count[ng] = 0;
                ng++;
            }
            grp[perm[k]] = ng - 1;
            count[ng - 1]++;
        }
    }
    /* order[g]: position of sorted group g in the output. */
    if (sorted) {
        for (int64_t g = 0; g < ng; g++) order[g] = g;
    } else {
        int64_t next = 0;
        for (int64_t j = 0; j < n; j++)
            if (first[grp[j]] == j) order[grp[j]] = next++;
    }
    int64_t dims[LENS_MAX_DIMS];
    int32_t nd = 1;
    if (axis >= 0) {
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = ng;
        nd = x->ndim;
    } else {
        dims[0] = ng;
    }
    int32_t nout = lens_exec_n_outputs(ex);
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, nd, dims, &y));
    size_t row = (size_t)c.inner * es;
    if (row)
        for (int64_t o = 0; o < c.outer; o++)
            for (int64_t g = 0; g < ng; g++)
                memcpy((char *)y->data + (size_t)(o * ng + order[g]) * row,
                       c.x + (size_t)(o * c.d + first[g]) * row, row);
    if (nout > 1) {
        lens_tensor *t;
        LENS_TRY(lens_exec_output(ex, 1, LENS_DTYPE_INT64, 1, &ng, &t));
        for (int64_t g = 0; g < ng; g++) ((int64_t *)t->data)[order[g]] = first[g];
    }
    if (nout > 2) {
        lens_tensor *t;
        LENS_TRY(lens_exec_output(ex, 2, LENS_DTYPE_INT64, 1, &n, &t));
        for (int64_t j = 0; j < n; j++) ((int64_t *)t->data)[j] = order[grp[j]];
    }
    if (nout > 3) {
        lens_tensor *t;
        LENS_TRY(lens_exec_output(ex, 3, LENS_DTYPE_INT64, 1, &ng, &t));
        for (int64_t g = 0; g < ng; g++) ((int64_t *)t->data)[order[g]] = count[g];
    }
    return LENS_OK;
}
