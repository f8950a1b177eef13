/* Pad, every version:
 *   Pad-1   attributes 'paddings', 'mode', 'value'
 *   Pad-2   attributes 'pads', 'mode', 'value'
 *   Pad-11  inputs 'pads' and optional 'constant_value'
 *   Pad-18  optional input 'axes' (pads then has 2 * len(axes) entries)
 *   Pad-19  mode 'wrap'
 * Pads are [x1_begin, x2_begin, ..., x1_end, x2_end, ...] and may be
 * negative (crop). Each output coordinate along an axis maps to an input
 * coordinate, or to -1 for the constant; the maps are built once per axis,
 * so every mode shares one copy loop. */
#include "ops/shape_internal.h"

typedef enum pad_mode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } pad_mode;

typedef struct pad_ctx {
    int32_t r;
    const int64_t *odims;
    const int64_t *maps[LENS_MAX_DIMS]; /* per axis, odims[a] entries */
    int64_t istrides[LENS_MAX_DIMS];
    const char *src;
    char *dst;
    size_t es;
    const unsigned char *value;
    int64_t run0, run1; /* last axis: [run0, run1) maps to a contiguous input run */
} pad_ctx;

static void pad_task(void *vctx, int64_t begin, int64_t end, int32_t thread) {
    (void)thread;
    const pad_ctx *c = vctx;
    int32_t last = c->r - 1;
    int64_t ol = c->odims[last], es = (int64_t)c->es;
    const int64_t *lm = c->maps[last];
    int64_t idx[LENS_MAX_DIMS], rem = begin;
    for (int32_t a = last - 1; a >= 0; a--) {
        idx[a] = rem % c->odims[a];
        rem /= c->odims[a];
    }
    for (int64_t row = begin; row < end; row++) {
        char *d = c->dst + row * ol * es;
        int64_t base = 0;
        bool outside = false;
        for (int32_t a = 0; a < last; a++) {
            int64_t m = c->maps[a][idx[a]];
            if (m < 0) {
                outside = true;
                break;
            }
            base += m * c->istrides[a];
        }
        if (outside) {
            lens_fill_elems(d, c->value, c->es, ol);
        } else {
            const char *s = c->src + base * es;
            for (int64_t x = 0; x < c->run0; x++) {
                if (lm[x] < 0) memcpy(d + x * es, c->value, c->es);
                else memcpy(d + x * es, s + lm[x] * es, c->es);
            }
            if (c->run1 > c->run0)
                memcpy(d + c->run0 * es, s + lm[c->run0] * es, (size_t)((c->run1 - c->run0) * es));
            for (int64_t x = LENS_MAX(c->run1, c->run0); x < ol; x++) {
                if (lm[x] < 0) memcpy(d + x * es, c->value, c->es);
                else memcpy(d + x * es, s + lm[x] * es, c->es);
            }
        }
        for (int32_t a = last - 1; a >= 0; a--) {
            if (++idx[a] < c->odims[a]) break;
            idx[a] = 0;
        }
    }
}

static int64_t pad_map(pad_mode mode, int64_t i, int64_t d) {
    if (i >= 0 && i < d) return i;
    switch (mode) {
    case PAD_EDGE: return i < 0 ? 0 : d - 1;
    case PAD_WRAP: return ((i % d) + d) % d;
    case PAD_REFLECT: {
        /* numpy 'reflect' (the reference): period 2(d-1), edge not repeated. */
        if (d == 1) return 0;
        int64_t period = 2 * (d - 1), m = ((i % period) + period) % period;
        return m < d ? m : period - m;
    }
    default: return -1;
    }
}

lens_status lens_run_pad(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input 'data'");
    size_t es;
    LENS_TRY(lens_shape_esize(x, "Pad input 'data'", &es));
    int32_t r = x->ndim;
    const char *ms = lens_node_attr_string(node, "mode", "constant");
    pad_mode mode;
    if (!strcmp(ms, "constant")) mode = PAD_CONSTANT;
    else if (!strcmp(ms, "reflect")) mode = PAD_REFLECT;
    else if (!strcmp(ms, "edge")) mode = PAD_EDGE;
    else if (!strcmp(ms, "wrap") && node->opset >= 19) mode = PAD_WRAP;
    else return lens_error(LENS_STATUS_INVALID_MODEL, "Pad mode '%s' unknown", ms);

    /* pads per axis, begin and end */
    int64_t pb[LENS_MAX_DIMS] = {0}, pe[LENS_MAX_DIMS] = {0};
    int64_t raw[2 * LENS_MAX_DIMS];
    int32_t np = 0;
    int32_t axes[LENS_MAX_DIMS], na = r;
    for (int32_t a = 0; a < r; a++) axes[a] = a;
    if (node->opset >= 11) {
        const lens_tensor *tp = lens_exec_input(ex, 1);
        if (!tp) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input 'pads'");
        LENS_TRY(lens_read_ints(tp, "Pad input 'pads'", 2 * LENS_MAX_DIMS, raw, &np));
        const lens_tensor *ta = node->opset >= 18 ? lens_exec_input(ex, 3) : NULL;
        if (ta) {
            int64_t av[LENS_MAX_DIMS];
            bool seen[LENS_MAX_DIMS] = {false};
            LENS_TRY(lens_read_ints(ta, "Pad input 'axes'", LENS_MAX_DIMS, av, &na));
            for (int32_t k = 0; k < na; k++) {
                LENS_TRY(lens_normalize_axis(av[k], r, "Pad axis", &axes[k]));
                if (seen[axes[k]])
                    return lens_error(LENS_STATUS_INVALID_MODEL, "Pad axis %lld repeated",
                                      (long long)av[k]);
                seen[axes[k]] = true;
            }
        }
    } else {
        int64_t count;
        const int64_t *p = lens_node_attr_ints(node, node->opset >= 2 ? "pads" : "paddings", &count);
        if (!p) return lens_error(LENS_STATUS_INVALID_MODEL, "Pad needs attribute 'pads'");
        if (count > 2 * LENS_MAX_DIMS)
            return lens_error(LENS_STATUS_INVALID_MODEL, "Pad 'pads' has %lld entries",
                              (long long)count);
        memcpy(raw, p, (size_t)count * sizeof *p);
        np = (int32_t)count;
    }
    if (np != 2 * na)
        return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                          "Pad 'pads' has %d entries, expected %d for %d axes", (int)np,
                          (int)(2 * na), (int)na);
    for (int32_t k = 0; k < na; k++) {
        pb[axes[k]] = raw[k];
        pe[axes[k]] = raw[na + k];
    }

    /* The constant, in the data's type. */
    unsigned char value[8] = {0};
    const lens_tensor *tv = node->opset >= 11 ? lens_exec_input(ex, 2) : NULL;
    if (tv && lens_tensor_numel(tv) > 0) {
        if (tv->dtype != x->dtype)
            return lens_error(LENS_STATUS_SHAPE_MISMATCH,
                              "Pad input 'constant_value' is %s, data is %s",
                              lens_dtype_name(tv->dtype), lens_dtype_name(x->dtype));
        memcpy(value, tv->data, es);
    } else if (node->opset < 11) {
        float v = lens_node_attr_float(node, "value", 0.0f);
        LENS_TRY(lens_convert(&v, LENS_DTYPE_FLOAT, value, x->dtype, 1));
    }

    int64_t odims[LENS_MAX_DIMS];
    for (int32_t a = 0; a < r; a++) {
        int64_t o;
        if (lens_add_ovf_i64(x->dims[a], pb[a], &o) || lens_add_ovf_i64(o, pe[a], &o))
            return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "Pad output size overflows");
        if (o < 0)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                              "Pad pads %lld, %lld on axis %d of size %lld leave a negative size",
                              (long long)pb[a], (long long)pe[a], (int)a, (long long)x->dims[a]);
        if (mode != PAD_CONSTANT && x->dims[a] == 0 && o > 0)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                              "Pad mode '%s' cannot pad the empty axis %d", ms, (int)a);
        odims[a] = o;
    }
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, x->dtype, r, odims, &y));
    int64_t numel = lens_tensor_numel(y);
    if (numel == 0) return LENS_OK;
    if (r == 0) {
        memcpy(y->data, x->data, es);
        return LENS_OK;
    }
    int64_t total = 0;
    for (int32_t a = 0; a < r; a++) total += odims[a];
    int64_t *maps = lens_exec_scratch(ex, (size_t)total * sizeof *maps);
    if (!maps) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "Pad: out of memory");
    pad_ctx c;
    c.r = r;
    c.odims = odims;
    int64_t *m = maps;
    for (int32_t a = 0; a < r; a++) {
        for (int64_t o = 0; o < odims[a]; o++) m[o] = pad_map(mode, o - pb[a], x->dims[a]);
        c.maps[a] = m;
        m += odims[a];
    }
    lens_contiguous_strides(r, x->dims, c.istrides);
    c.src = x->data;
    c.dst = y->data;
    c.es = es;
    c.value = value;
    /* The interior of the last axis is one contiguous input run. */
    int64_t ol = odims[r - 1];
    c.run0 = LENS_MIN(LENS_MAX(pb[r - 1], (int64_t)0), ol);
    c.run1 = c.run0;
    const int64_t *lm = c.maps[r - 1];
    while (c.run1 < ol && lm[c.run1] >= 0 && lm[c.run1] == lm[c.run0] + (c.run1 - c.run0))
        c.run1++;
    int64_t rows = numel / ol;
    lens_threadpool *pool = numel >= 65536 ? lens_exec_pool(ex) : NULL;
    lens_parallel_for(pool, rows, LENS_MAX((int64_t)1, 32768 / ol), pad_task, &c);
    return LENS_OK;
}
