/* Einsum-12.
 *
 * The equation is compiled into strides: every distinct label is either an
 * output label (kept) or a reduction label (summed), and each input gets one
 * stride per label -- the sum of the strides of its dimensions carrying that
 * label, which is how repeated labels ("ii", a diagonal) fall out for free.
 * Broadcast ellipsis dimensions of size 1 get stride 0. The kernel then
 * walks the output elements (in parallel) and, for each, the reduction
 * space with the last reduction label innermost: for the batched-matmul
 * form ("bij,bjk->bik") that inner loop is a plain strided dot product. */
#include "ops/misc.h"

/* Label ids: 'A'..'Z' -> 0..25, 'a'..'z' -> 26..51 (ASCII order, which is
 * the order numpy gives implicit outputs), ellipsis dimensions 52..59. */
#define EIN_LETTERS 52
#define EIN_LABELS (EIN_LETTERS + LENS_MAX_DIMS)
#define EIN_MAX_INPUTS 16

typedef struct ein_plan {
    int32_t n_in, n_out, n_red;
    int64_t out_dims[LENS_MAX_DIMS];
    int64_t red_dims[EIN_LABELS];
    int64_t out_strides[EIN_MAX_INPUTS][LENS_MAX_DIMS];
    int64_t red_strides[EIN_MAX_INPUTS][EIN_LABELS];
    const void *in[EIN_MAX_INPUTS];
    void *out;
    lens_dtype dtype;
} ein_plan;

static int ein_label(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
    return -1;
}

/* One term ("ij", "...ij", "i...j"): labels in order, -2 for the ellipsis.
 * Returns the number of entries, or -1 on a syntax error. */
static int ein_parse_term(const char *s, size_t n, int *labels) {
    int count = 0;
    bool ell = false;
    for (size_t i = 0; i < n;) {
        if (s[i] == ' ') {
            i++;
            continue;
        }
        if (s[i] == '.') {
            if (ell || i + 2 >= n || s[i + 1] != '.' || s[i + 2] != '.') return -1;
            ell = true;
            if (count >= EIN_LABELS) return -1;
            labels[count++] = -2;
            i += 3;
            continue;
        }
        int l = ein_label(s[i]);
        if (l < 0 || count >= EIN_LABELS) return -1;
        labels[count++] = l;
        i++;
    }
    return count;
}

#define EIN_DEFINE(NAME, T, ACC)                                                                   \
    static void NAME(const ein_plan *p, int64_t begin, int64_t end) {                              \
        int64_t idx[LENS_MAX_DIMS] = {0}, rem = begin;                                             \
        for (int32_t d = p->n_out - 1; d >= 0; d--) {                                              \
            idx[d] = rem % p->out_dims[d];                                                         \
            rem /= p->out_dims[d];                                                                 \
        }                                                                                          \
        int32_t nr = p->n_red, ni = p->n_in;                                                       \
        int64_t inner_n = nr ? p->red_dims[nr - 1] : 1;                                            \
        int64_t inner_s[EIN_MAX_INPUTS];                                                           \
        for (int32_t k = 0; k < ni; k++) inner_s[k] = nr ? p->red_strides[k][nr - 1] : 0;          \
        int64_t outer_red = 1;                                                                     \
        for (int32_t r = 0; r + 1 < nr; r++) outer_red *= p->red_dims[r];                          \
        for (int64_t e = begin; e < end; e++) {                                                    \
            int64_t base[EIN_MAX_INPUTS];                                                          \
            for (int32_t k = 0; k < ni; k++) {                                                     \
                int64_t o = 0;                                                                     \
                for (int32_t d = 0; d < p->n_out; d++) o += idx[d] * p->out_strides[k][d];         \
                base[k] = o;                                                                       \
            }                                                                                      \
            ACC acc = 0;                                                                           \
            int64_t ridx[EIN_LABELS] = {0};                                                        \
            for (int64_t ro = 0; ro < outer_red; ro++) {                                           \
                int64_t off[EIN_MAX_INPUTS];                                                       \
                for (int32_t k = 0; k < ni; k++) {                                                 \
                    int64_t o = base[k];                                                           \
                    for (int32_t r = 0; r + 1 < nr; r++) o += ridx[r] * p->red_strides[k][r];      \
                    off[k] = o;                                                                    \
                }                                                                                  \
                if (ni == 2) {                                                                     \
                    const T *a = (const T *)p->in[0] + off[0], *b = (const T *)p->in[1] + off[1];  \
                    int64_t sa = inner_s[0], sb = inner_s[1];                                      \
                    for (int64_t i = 0; i < inner_n; i++) acc += (ACC)a[i * sa] * (ACC)b[i * sb];  \
                } else if (ni == 1) {                                                              \
                    const T *a = (const T *)p->in[0] + off[0];                                     \
                    for (int64_t i = 0; i < inner_n; i++) acc += (ACC)a[i * inner_s[0]];           \
                } else {                                                                           \
                    for (int64_t i = 0; i < inner_n; i++) {                                        \
                        ACC prod = 1;                                                              \
                        for (int32_t k = 0; k < ni; k++)                                           \
                            prod *= (ACC)((const T *)p->in[k])[off[k] + i * inner_s[k]];           \
                        acc += prod;                                                               \
                    }                                                                              \
                }                                                                                  \
                for (int32_t r = nr - 2; r >= 0; r--) {                                            \
                    if (++ridx[r] < p->red_dims[r]) break;                                         \
                    ridx[r] = 0;                                                                   \
                }                                                                                  \
            }                                                                                      \
            ((T *)p->out)[e] = (T)acc;                                                             \
            for (int32_t d = p->n_out - 1; d >= 0; d--) {                                          \
                if (++idx[d] < p->out_dims[d]) break;                                              \
                idx[d] = 0;                                                                        \
            }                                                                                      \
        }                                                                                          \
    }

/* Floats accumulate in double: sums over long reductions stay close to the
 * correctly rounded result whatever order numpy used. */
EIN_DEFINE(ein_f32, float, double)
EIN_DEFINE(ein_f64, double, double)
EIN_DEFINE(ein_i32, int32_t, int64_t)
EIN_DEFINE(ein_i64, int64_t, int64_t)
EIN_DEFINE(ein_u32, uint32_t, uint64_t)
EIN_DEFINE(ein_u64, uint64_t, uint64_t)

static void ein_task(void *ctx, int64_t begin, int64_t end, int32_t thread) {
    const ein_plan *p = ctx;
    switch (p->dtype) {
    case LENS_DTYPE_FLOAT: ein_f32(p, begin, end); break;
    case LENS_DTYPE_DOUBLE: ein_f64(p, begin, end); break;
    case LENS_DTYPE_INT32: ein_i32(p, begin, end); break;
    case LENS_DTYPE_INT64: ein_i64(p, begin, end); break;
    case LENS_DTYPE_UINT32: ein_u32(p, begin, end); break;
    case LENS_DTYPE_UINT64: ein_u64(p, begin, end); break;
    default: break;
    }
}

lens_status lens_op_einsum_run(const lens_node *node, lens_exec *ex) {
    const char *eq = lens_node_attr_string(node, "equation", NULL);
    if (!eq) return lens_error(LENS_STATUS_INVALID_MODEL, "Einsum needs an equation");
    int32_t n_in = lens_exec_n_inputs(ex);
    if (n_in < 1 || n_in > EIN_MAX_INPUTS)
        return lens_error(LENS_STATUS_UNSUPPORTED, "Einsum with %d inputs", n_in);
    ein_plan *p = lens_exec_scratch(ex, sizeof(ein_plan));
    if (!p) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "Einsum plan");
    memset(p, 0, sizeof *p);
    p->n_in = n_in;
    const lens_tensor *in[EIN_MAX_INPUTS];
    for (int32_t k = 0; k < n_in; k++) {
        in[k] = lens_exec_input(ex, k);
        if (!in[k]) return lens_error(LENS_STATUS_INVALID_MODEL, "Einsum input %d missing", k);
        if (in[k]->dtype != in[0]->dtype)
            return lens_error(LENS_STATUS_INVALID_MODEL, "Einsum inputs differ in type");
        p->in[k] = in[k]->data;
    }
    p->dtype = in[0]->dtype;
    switch (p->dtype) {
    case LENS_DTYPE_FLOAT: case LENS_DTYPE_DOUBLE: case LENS_DTYPE_INT32: case LENS_DTYPE_INT64:
    case LENS_DTYPE_UINT32: case LENS_DTYPE_UINT64: break;
    default:
        return lens_error(LENS_STATUS_UNSUPPORTED, "Einsum on %s", lens_dtype_name(p->dtype));
    }

    const char *arrow = strstr(eq, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - eq) : strlen(eq);
    int64_t size[EIN_LABELS];
    int count[EIN_LABELS] = {0};
    for (int l = 0; l < EIN_LABELS; l++) size[l] = -1;
    int term_labels[EIN_MAX_INPUTS][EIN_LABELS];
    int term_n[EIN_MAX_INPUTS];
    int32_t ell_rank = 0;
    /* pass 1: the terms, the ellipsis rank */
    size_t pos = 0;
    for (int32_t k = 0; k < n_in; k++) {
        size_t e = pos;
        while (e < lhs_len && eq[e] != ',') e++;
        if (k == n_in - 1 ? e != lhs_len : e >= lhs_len)
            return lens_error(LENS_STATUS_INVALID_MODEL,
                              "Einsum equation '%s' does not have %d terms", eq, n_in);
        int n = ein_parse_term(eq + pos, e - pos, term_labels[k]);
        if (n < 0) return lens_error(LENS_STATUS_INVALID_MODEL, "bad Einsum equation '%s'", eq);
        int letters = 0;
        bool has_ell = false;
        for (int i = 0; i < n; i++) {
            if (term_labels[k][i] == -2) has_ell = true;
            else letters++;
        }
        int32_t ne = in[k]->ndim - letters;
        if (ne < 0 || (!has_ell && ne != 0))
            return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                              "Einsum term %d has %d labels for an input of rank %d", k, letters,
                              in[k]->ndim);
        ell_rank = LENS_MAX(ell_rank, ne);
        term_n[k] = n;
        pos = e + 1;
    }
    /* pass 2: expand ellipses into labels, sizes, per-input strides */
    int64_t strides[EIN_MAX_INPUTS][EIN_LABELS];
    memset(strides, 0, sizeof strides);
    for (int32_t k = 0; k < n_in; k++) {
        int letters = 0;
        for (int i = 0; i < term_n[k]; i++) letters += term_labels[k][i] != -2;
        int32_t ne = in[k]->ndim - letters;
        int64_t cs[LENS_MAX_DIMS];
        lens_contiguous_strides(in[k]->ndim, in[k]->dims, cs);
        int32_t d = 0;
        bool seen[EIN_LABELS] = {false};
        for (int i = 0; i < term_n[k]; i++) {
            int32_t span = term_labels[k][i] == -2 ? ne : 1;
            for (int32_t s = 0; s < span; s++, d++) {
                int l = term_labels[k][i] == -2 ? EIN_LETTERS + (ell_rank - ne) + s
                                                : term_labels[k][i];
                int64_t dim = in[k]->dims[d];
                bool ell = l >= EIN_LETTERS;
                if (size[l] < 0 || (ell && size[l] == 1)) {
                    size[l] = dim;
                } else if (dim != size[l] && !(ell && dim == 1)) {
                    return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                                      "Einsum label '%c' has sizes %lld and %lld",
                                      ell ? '.' : (l < 26 ? 'A' + l : 'a' + l - 26),
                                      (long long)size[l], (long long)dim);
                }
                /* a size-1 ellipsis dim broadcasts: stride 0 */
                if (!(ell && dim == 1)) strides[k][l] += cs[d];
                if (!seen[l]) count[l]++;
                seen[l] = true;
            }
        }
    }
    /* the output labels */
    int out_labels[EIN_LABELS];
    int32_t n_out = 0;
    bool in_out[EIN_LABELS] = {false};
    if (arrow) {
        int t[EIN_LABELS];
        const char *rhs = arrow + 2;
        int n = ein_parse_term(rhs, strlen(rhs), t);
        if (n < 0) return lens_error(LENS_STATUS_INVALID_MODEL, "bad Einsum output in '%s'", eq);
        for (int i = 0; i < n; i++) {
            int32_t span = t[i] == -2 ? ell_rank : 1;
            for (int32_t s = 0; s < span; s++) {
                int l = t[i] == -2 ? EIN_LETTERS + s : t[i];
                if (size[l] < 0 || in_out[l])
                    return lens_error(LENS_STATUS_INVALID_MODEL,
                                      "Einsum output label repeated or unknown in '%s'", eq);
                if (n_out >= LENS_MAX_DIMS)
                    return lens_error(LENS_STATUS_UNSUPPORTED, "Einsum output rank too large");
                in_out[l] = true;
                out_labels[n_out++] = l;
            }
        }
    } else {
        /* implicit output: the ellipsis dims, then every letter used once,
         * in alphabetical (ASCII) order */
        for (int32_t s = 0; s < ell_rank; s++) out_labels[n_out++] = EIN_LETTERS + s;
        for (int l = 0; l < EIN_LETTERS; l++) {
            if (count[l] != 1) continue;
            /* a letter repeated inside one term is a diagonal that is summed */
            int uses = 0;
            for (int32_t k = 0; k < n_in; k++)
                for (int i = 0; i < term_n[k]; i++) uses += term_labels[k][i] == l;
            if (uses != 1) continue;
            if (n_out >= LENS_MAX_DIMS)
                return lens_error(LENS_STATUS_UNSUPPORTED, "Einsum output rank too large");
            out_labels[n_out++] = l;
        }
        for (int32_t i = 0; i < n_out; i++) in_out[out_labels[i]] = true;
    }
    p->n_out = n_out;
    for (int32_t d = 0; d < n_out; d++) {
        p->out_dims[d] = size[out_labels[d]];
        for (int32_t k = 0; k < n_in; k++) p->out_strides[k][d] = strides[k][out_labels[d]];
    }
    for (int l = 0; l < EIN_LABELS; l++) {
        if (size[l] < 0 || in_out[l]) continue;
        p->red_dims[p->n_red] = size[l];
        for (int32_t k = 0; k < n_in; k++) p->red_strides[k][p->n_red] = strides[k][l];
        p->n_red++;
    }
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, p->dtype, n_out, p->out_dims, &y));
    p->out = y->data;
    int64_t n = lens_tensor_numel(y);
    if (n == 0) return LENS_OK;
    int64_t red = 1;
    for (int32_t r = 0; r < p->n_red; r++) {
        if (lens_mul_ovf_i64(red, p->red_dims[r], &red))
            return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "Einsum reduction too large");
    }
    if (red == 0) {
        memset(y->data, 0, (size_t)n * lens_dtype_size(p->dtype));
        return LENS_OK;
    }
    int64_t grain = LENS_MAX((int64_t)1, 32768 / LENS_MAX(red, 1));
    lens_parallel_for(lens_exec_pool(ex), n, grain, ein_task, p);
    return LENS_OK;
}
