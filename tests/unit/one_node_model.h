/* Test helper: build a one-node ONNX model in memory (a minimal protobuf
 * writer) and run it through the whole engine: reader, optimiser, operator
 * init, session planning and run. For operator unit tests that want to check
 * hand-computed values and error statuses without fixture files.
 *
 * Every node input with a name is a graph input (no initializers), so
 * nothing is folded at load and the operator's run() is what is tested. */
#ifndef LENS_TESTS_ONE_NODE_MODEL_H
#define LENS_TESTS_ONE_NODE_MODEL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "lens/engine.h"

typedef struct onm_buf {
    uint8_t *p;
    size_t n, cap;
} onm_buf;

static inline void onm_raw(onm_buf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort(); /* test harness only */
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}
static inline void onm_varint(onm_buf *b, uint64_t v) {
    uint8_t t[10];
    size_t n = 0;
    do {
        t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    onm_raw(b, t, n);
}
static inline void onm_int(onm_buf *b, int field, int64_t v) {
    onm_varint(b, (uint64_t)field << 3);
    onm_varint(b, (uint64_t)v);
}
static inline void onm_bytes(onm_buf *b, int field, const void *d, size_t n) {
    onm_varint(b, (uint64_t)field << 3 | 2);
    onm_varint(b, n);
    onm_raw(b, d, n);
}
static inline void onm_str(onm_buf *b, int field, const char *s) { onm_bytes(b, field, s, strlen(s)); }
static inline void onm_msg(onm_buf *b, int field, onm_buf *sub) { /* appends and frees sub */
    onm_bytes(b, field, sub->p, sub->n);
    free(sub->p);
    *sub = (onm_buf){0};
}

/* One node input; name NULL: omitted (""). */
typedef struct onm_input {
    const char *name;
    lens_dtype dtype;
    int32_t ndim;
    int64_t dims[4];
    const void *data;
} onm_input;

/* One attribute: INT (i), STRING (s) or INTS (ints[n]); name NULL: none. */
typedef struct onm_attr {
    const char *name;
    int type; /* 2 INT, 3 STRING, 7 INTS */
    int64_t i;
    const char *s;
    const int64_t *ints;
    int64_t n;
} onm_attr;

typedef struct onm_spec {
    const char *op;
    int64_t opset;
    int32_t n_in;
    onm_input in[10];
    onm_attr attr[4];
    int32_t n_out;          /* node outputs out[0..n_out) */
    const char *out[4];
    lens_dtype out_dtype[4];
    uint32_t out_hidden;    /* bit i: output i is not a graph output (nobody reads it) */
} onm_spec;

/* Append attribute `at` (AttributeProto, field 5) to the NodeProto `node`. */
static inline void onm_attr_write(onm_buf *node, const onm_attr *at) {
    onm_buf ab = {0};
    onm_str(&ab, 1, at->name);
    if (at->type == 2) onm_int(&ab, 3, at->i);
    else if (at->type == 3) onm_str(&ab, 4, at->s);
    else
        for (int64_t k = 0; k < at->n; k++) onm_int(&ab, 8, at->ints[k]);
    onm_int(&ab, 20, at->type);
    onm_msg(node, 5, &ab);
}

static inline void onm_value_info(onm_buf *g, int field, const char *name, lens_dtype dt, int32_t ndim,
                           const int64_t *dims) {
    onm_buf vi = {0}, ty = {0}, tt = {0}, sh = {0};
    onm_str(&vi, 1, name);
    onm_int(&tt, 1, dt);
    if (ndim >= 0) {
        for (int32_t i = 0; i < ndim; i++) {
            onm_buf dim = {0};
            onm_int(&dim, 1, dims[i]);
            onm_msg(&sh, 1, &dim);
        }
        onm_msg(&tt, 2, &sh);
    }
    onm_msg(&ty, 1, &tt);
    onm_msg(&vi, 2, &ty);
    onm_msg(g, field, &vi);
}

static inline onm_buf onm_build(const onm_spec *s) {
    onm_buf model = {0}, opset = {0}, graph = {0}, node = {0};
    onm_int(&model, 1, 8); /* ir_version */
    onm_str(&opset, 1, "");
    onm_int(&opset, 2, s->opset);
    onm_msg(&model, 8, &opset);
    for (int32_t i = 0; i < s->n_in; i++) onm_str(&node, 1, s->in[i].name ? s->in[i].name : "");
    for (int32_t i = 0; i < s->n_out; i++) onm_str(&node, 2, s->out[i]);
    onm_str(&node, 4, s->op);
    for (int a = 0; a < 4 && s->attr[a].name; a++) {
        onm_attr_write(&node, &s->attr[a]);
    }
    onm_msg(&graph, 1, &node);
    onm_str(&graph, 2, "one_node");
    for (int32_t i = 0; i < s->n_in; i++)
        if (s->in[i].name)
            onm_value_info(&graph, 11, s->in[i].name, s->in[i].dtype, s->in[i].ndim, s->in[i].dims);
    for (int32_t i = 0; i < s->n_out; i++)
        if (!(s->out_hidden >> i & 1)) onm_value_info(&graph, 12, s->out[i], s->out_dtype[i], -1, NULL);
    onm_msg(&model, 7, &graph);
    return model;
}

#define ONM_MAX_VALUES 256

typedef struct onm_result {
    lens_status open, run;
    int32_t n_out;
    int32_t ndim[4];
    int64_t dims[4][LENS_MAX_DIMS];
    int64_t numel[4];
    lens_dtype dtype[4];
    double v[4][ONM_MAX_VALUES]; /* the first values of each graph output, as double */
} onm_result;

static inline double onm_get(const lens_tensor *t, int64_t i) {
    switch (t->dtype) {
    case LENS_DTYPE_FLOAT: return ((const float *)t->data)[i];
    case LENS_DTYPE_DOUBLE: return ((const double *)t->data)[i];
    case LENS_DTYPE_FLOAT16: return lens_f16_to_f32(((const uint16_t *)t->data)[i]);
    case LENS_DTYPE_UINT8: return ((const uint8_t *)t->data)[i];
    case LENS_DTYPE_INT8: return ((const int8_t *)t->data)[i];
    case LENS_DTYPE_INT32: return ((const int32_t *)t->data)[i];
    case LENS_DTYPE_INT64: return (double)((const int64_t *)t->data)[i];
    default: return NAN;
    }
}

/* Opens the model and runs it twice (the second run uses the memory plan);
 * graph outputs land in the result in order. */
static inline onm_result onm_run(const onm_spec *s) {
    onm_result r;
    memset(&r, 0, sizeof r);
    onm_buf m = onm_build(s);
    lens_model *model = NULL;
    r.open = lens_model_open_memory(m.p, m.n, NULL, &model);
    if (r.open != LENS_OK) {
        free(m.p);
        return r;
    }
    lens_session *sess = NULL;
    if (lens_session_create(model, NULL, &sess) != LENS_OK) {
        r.open = LENS_STATUS_INTERNAL;
        lens_model_free(model);
        free(m.p);
        return r;
    }
    lens_tensor in[10];
    size_t n = 0;
    for (int32_t i = 0; i < s->n_in; i++) {
        if (!s->in[i].name) continue;
        lens_tensor t = {s->in[i].dtype, s->in[i].ndim, {0}, (void *)s->in[i].data};
        memcpy(t.dims, s->in[i].dims, sizeof s->in[i].dims);
        in[n++] = t;
    }
    for (int rep = 0; rep < 2; rep++) {
        r.run = lens_session_run(sess, n, in);
        if (r.run != LENS_OK) break;
        size_t n_out = lens_model_output_count(model);
        r.n_out = (int32_t)(n_out < 4 ? n_out : 4);
        for (int32_t o = 0; o < r.n_out; o++) {
            lens_tensor y;
            if (lens_session_output(sess, (size_t)o, &y) != LENS_OK) {
                r.run = LENS_STATUS_INTERNAL;
                break;
            }
            r.ndim[o] = y.ndim;
            r.dtype[o] = y.dtype;
            memcpy(r.dims[o], y.dims, sizeof r.dims[o]);
            r.numel[o] = lens_tensor_numel(&y);
            for (int64_t i = 0; i < r.numel[o] && i < ONM_MAX_VALUES; i++) r.v[o][i] = onm_get(&y, i);
        }
    }
    lens_session_free(sess);
    lens_model_free(model);
    free(m.p);
    return r;
}

static int onm_failures;

#define ONM_CHECK(cond, ...)                                                               \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            onm_failures++;                                                                \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                           \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, "\n");                                                         \
        }                                                                                  \
    } while (0)

static inline bool onm_close(double got, double want, double tol) {
    if (isnan(want)) return isnan(got);
    return fabs(got - want) <= tol * (1.0 + fabs(want));
}

/* Checks graph output `out` of a successful run: shape and values within
 * tol (relative to 1 + |want|; NaN must match NaN). */
static inline void onm_expect(const char *what, const onm_result *r, int out, int32_t ndim,
                       const int64_t *dims, const double *want, int64_t n, double tol) {
    ONM_CHECK(r->open == LENS_OK && r->run == LENS_OK, "%s: open %d run %d: %s", what, r->open,
              r->run, lens_last_error());
    if (r->open != LENS_OK || r->run != LENS_OK) return;
    ONM_CHECK(out < r->n_out, "%s: no output %d", what, out);
    if (out >= r->n_out) return;
    ONM_CHECK(r->ndim[out] == ndim, "%s: output %d has rank %d, want %d", what, out, r->ndim[out], ndim);
    for (int32_t i = 0; i < ndim && i < r->ndim[out]; i++)
        ONM_CHECK(r->dims[out][i] == dims[i], "%s: output %d dim %d is %lld, want %lld", what, out, i,
                  (long long)r->dims[out][i], (long long)dims[i]);
    ONM_CHECK(r->numel[out] == n, "%s: output %d has %lld elements, want %lld", what, out,
              (long long)r->numel[out], (long long)n);
    for (int64_t i = 0; i < n && i < r->numel[out] && i < ONM_MAX_VALUES; i++)
        ONM_CHECK(onm_close(r->v[out][i], want[i], tol), "%s: output %d [%lld] = %.9g, want %.9g",
                  what, out, (long long)i, r->v[out][i], want[i]);
}

#endif
