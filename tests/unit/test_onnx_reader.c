/* ONNX reader: real models, hand-built hostile protobufs, truncations and
 * byte flips, external data and its path checks. Run from tests/unit. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/tensor.h"
#include "onnx/onnx.h"

static int failures;

#define CHECK(cond, ...)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            failures++;                                                                  \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);              \
            fprintf(stderr, __VA_ARGS__);                                                \
            fprintf(stderr, "\n");                                                       \
        }                                                                                \
    } while (0)

static uint8_t *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    /* 64-byte aligned like an mmap'd file, so zero-copy paths are taken. */
    uint8_t *p = NULL;
    if (n < 0 || posix_memalign((void **)&p, 64, (size_t)n + 1) != 0) {
        fclose(f);
        return NULL;
    }
    if (fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return p;
}

/* Parse and free; returns the status (message in lens_last_error()). */
static lens_status parse_only(const uint8_t *d, size_t n, const char *base_dir) {
    lens_arena a = {0};
    lens_onnx_model m;
    lens_status st = lens_onnx_parse(d, n, base_dir, NULL, &a, &m);
    if (st == LENS_OK) lens_graph_free(m.graph);
    lens_arena_free(&a);
    return st;
}

static bool has(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

/* ---- a tiny protobuf writer for hand-built inputs ------------------------ */

typedef struct buf {
    uint8_t d[4096];
    size_t n;
} buf;

static void put_byte(buf *b, uint8_t v) {
    if (b->n < sizeof b->d) b->d[b->n++] = v;
}
static void put_varint(buf *b, uint64_t v) {
    do {
        put_byte(b, (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
        v >>= 7;
    } while (v);
}
static void put_tag(buf *b, uint32_t field, uint32_t wt) { put_varint(b, (uint64_t)field << 3 | wt); }
static void put_int(buf *b, uint32_t field, int64_t v) {
    put_tag(b, field, 0);
    put_varint(b, (uint64_t)v);
}
static void put_bytes(buf *b, uint32_t field, const void *p, size_t n) {
    put_tag(b, field, 2);
    put_varint(b, n);
    for (size_t i = 0; i < n; i++) put_byte(b, ((const uint8_t *)p)[i]);
}
static void put_str(buf *b, uint32_t field, const char *s) { put_bytes(b, field, s, strlen(s)); }
static void put_msg(buf *b, uint32_t field, const buf *m) { put_bytes(b, field, m->d, m->n); }

/* ModelProto around a graph: ir_version 8, opset 13. */
static void wrap_model(buf *model, const buf *graph) {
    buf opset = {0};
    put_str(&opset, 1, "");
    put_int(&opset, 2, 13);
    model->n = 0;
    put_int(model, 1, 8);
    put_msg(model, 7, graph);
    put_msg(model, 8, &opset);
}

/* ---- tests -------------------------------------------------------------- */

static const lens_value *value_named(const lens_graph *g, const char *name) {
    int32_t v = lens_graph_find(g, name);
    return v >= 0 ? &g->values[v] : NULL;
}

static const lens_node *node_named(const lens_graph *g, const char *name) {
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].name, name)) return &g->nodes[i];
    return NULL;
}

static void test_misc_model(void) {
    size_t n;
    uint8_t *d = slurp("data/misc.onnx", &n);
    CHECK(d, "cannot read data/misc.onnx");
    if (!d) return;
    lens_arena a = {0};
    lens_onnx_model m;
    lens_status st = lens_onnx_parse(d, n, "data", NULL, &a, &m);
    CHECK(st == LENS_OK, "misc.onnx: %s", lens_last_error());
    if (st != LENS_OK) goto out;
    lens_graph *g = m.graph;
    CHECK(!strcmp(m.producer_name, "lens-fixtures") && !strcmp(m.producer_version, "1.0"), "producer");
    CHECK(m.model_version == 7 && m.ir_version >= 3, "versions %lld %lld", (long long)m.model_version,
          (long long)m.ir_version);
    CHECK(m.n_opsets == 2 && !strcmp(m.opset_domains[0], "") && m.opset_versions[0] == 13 &&
              !strcmp(m.opset_domains[1], "com.example") && m.opset_versions[1] == 2,
          "opsets");
    CHECK(m.n_meta == 2, "n_meta %zu", m.n_meta);
    bool author = false;
    for (size_t i = 0; i < m.n_meta; i++) author |= !strcmp(m.meta_keys[i], "author") && !strcmp(m.meta_values[i], "lens");
    CHECK(author, "metadata author");
    CHECK(!strcmp(g->name, "misc"), "graph name '%s'", g->name);
    CHECK(g->n_inputs == 2 && !strcmp(g->values[g->inputs[0]].name, "X") &&
              !strcmp(g->values[g->inputs[1]].name, "cond"),
          "inputs");
    CHECK(g->n_outputs == 2, "outputs %d", g->n_outputs);
    const lens_value *x = value_named(g, "X");
    CHECK(x && x->is_input && x->dtype == LENS_DTYPE_FLOAT && x->ndim == 2 && x->dims[0] == -1 && x->dims[1] == 3 &&
              x->dim_names[0] && !strcmp(x->dim_names[0], "N") && !x->dim_names[1],
          "X type");
    const lens_value *cond = value_named(g, "cond");
    CHECK(cond && cond->dtype == LENS_DTYPE_BOOL && cond->ndim == 0, "cond type");
    const lens_value *unused = value_named(g, "unused");
    CHECK(unused && unused->is_output && unused->dtype == LENS_DTYPE_FLOAT && unused->ndim == -1, "unused type");
    const lens_value *t0 = value_named(g, "t0");
    CHECK(t0 && t0->ndim == 2 && t0->dims[1] == 3, "value_info t0");
    CHECK(!value_named(g, "stale"), "stale value_info created a value");
    /* initializers */
    const lens_value *bias = value_named(g, "bias");
    CHECK(bias && bias->constant && !bias->is_input && bias->constant->dtype == LENS_DTYPE_FLOAT &&
              bias->constant->ndim == 1 && bias->constant->dims[0] == 3 &&
              ((float *)bias->constant->data)[2] == 2.0f,
          "bias");
    const lens_value *half = value_named(g, "half");
    CHECK(half && half->constant && half->constant->dtype == LENS_DTYPE_FLOAT16 &&
              ((uint16_t *)half->constant->data)[0] == 0x3c00,
          "half");
    /* Constant nodes became constants */
    const lens_value *k = value_named(g, "k"), *cf = value_named(g, "cf"), *ci = value_named(g, "ci");
    CHECK(k && k->constant && k->constant->dtype == LENS_DTYPE_INT64 && k->constant->ndim == 2 &&
              k->constant->dims[0] == 1 && k->constant->dims[1] == 3 && ((int64_t *)k->constant->data)[2] == 3,
          "Constant value");
    CHECK(cf && cf->constant && cf->constant->dtype == LENS_DTYPE_FLOAT && cf->constant->ndim == 0 &&
              ((float *)cf->constant->data)[0] == 2.5f,
          "Constant value_float");
    CHECK(ci && ci->constant && ci->constant->ndim == 1 && ci->constant->dims[0] == 3 &&
              ((int64_t *)ci->constant->data)[2] == -6,
          "Constant value_ints");
    CHECK(g->n_nodes == 3, "nodes %d (Constant nodes must not remain)", g->n_nodes);
    for (int32_t i = 0; i < g->n_nodes; i++) CHECK(g->nodes[i].opset == 13, "opset of node %d", i);
    const lens_node *at = node_named(g, "attrs");
    if (at) {
        int64_t cnt;
        const int64_t *pads = lens_node_attr_ints(at, "pads", &cnt);
        CHECK(pads && cnt == 4 && pads[3] == 4, "pads");
        const float *sc = lens_node_attr_floats(at, "scales", &cnt);
        CHECK(sc && cnt == 2 && sc[1] == 1.5f, "scales");
        CHECK(lens_node_attr_float(at, "alpha", 0) == 0.25f, "alpha");
        CHECK(!strcmp(lens_node_attr_string(at, "mode", ""), "nearest"), "mode");
        const lens_attr *names = lens_node_attr(at, "names");
        CHECK(names && names->type == LENS_ATTR_STRINGS && names->n == 2 && !strcmp(names->strings[1], "bc"),
              "strings");
    } else {
        CHECK(0, "node 'attrs' missing");
    }
    const lens_node *iff = node_named(g, "if0");
    CHECK(iff != NULL, "If missing");
    if (iff) {
        lens_graph *tb = lens_node_attr_graph(iff, "then_branch");
        lens_graph *eb = lens_node_attr_graph(iff, "else_branch");
        CHECK(tb && eb && tb->parent == g && tb->depth == 1, "If branches");
        if (tb) {
            const lens_value *ot = value_named(tb, "t0");
            CHECK(ot && ot->outer >= 0 && !strcmp(g->values[ot->outer].name, "t0"), "outer t0");
            CHECK(tb->n_outputs == 1 && tb->n_nodes == 1 && tb->nodes[0].opset == 13, "then graph");
        }
        CHECK(iff->n_implicit >= 2, "If implicit inputs %d (t0, cf)", iff->n_implicit);
    }
    /* topological: Add before If */
    int32_t iadd = -1, iif = -1;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        if (!strcmp(g->nodes[i].name, "add0")) iadd = i;
        if (!strcmp(g->nodes[i].name, "if0")) iif = i;
    }
    CHECK(iadd >= 0 && iif > iadd, "order");
    lens_graph_free(g);
out:
    lens_arena_free(&a);
    free(d);
}

/* Top-level field boundaries of a ModelProto (test-side scanner). */
static size_t field_ends(const uint8_t *d, size_t n, size_t *ends, size_t max) {
    size_t pos = 0, k = 0;
    while (pos < n && k < max) {
        uint64_t tag = 0, len = 0;
        int sh = 0;
        while (d[pos] & 0x80) tag |= (uint64_t)(d[pos++] & 0x7f) << sh, sh += 7;
        tag |= (uint64_t)d[pos++] << sh;
        switch (tag & 7) {
        case 0: while (d[pos++] & 0x80) {} break;
        case 1: pos += 8; break;
        case 5: pos += 4; break;
        case 2:
            sh = 0;
            while (d[pos] & 0x80) len |= (uint64_t)(d[pos++] & 0x7f) << sh, sh += 7;
            len |= (uint64_t)d[pos++] << sh;
            pos += len;
            break;
        default: return k;
        }
        ends[k++] = pos;
    }
    return k;
}

static void test_truncations(const char *path) {
    size_t n;
    uint8_t *d = slurp(path, &n);
    CHECK(d, "cannot read %s", path);
    if (!d) return;
    CHECK(parse_only(d, n, "data") == LENS_OK, "%s: %s", path, lens_last_error());
    size_t ends[64];
    size_t ne = field_ends(d, n, ends, 64);
    int errors = 0, oks = 0;
    for (size_t len = 0; len < n; len++) {
        /* A fresh exact-size copy so ASan sees any read past the prefix. */
        uint8_t *p = malloc(len ? len : 1);
        memcpy(p, d, len);
        lens_status st = parse_only(p, len, "data");
        free(p);
        bool boundary = false;
        for (size_t i = 0; i < ne; i++) boundary |= ends[i] == len;
        /* Protobuf has no end marker: a prefix that ends between top-level
         * fields is itself a well-formed message, and parses if it still
         * holds the graph and the opset imports. Any other cut must fail. */
        if (!boundary) CHECK(st != LENS_OK, "%s: prefix of %zu bytes parsed", path, len);
        if (st == LENS_OK)
            oks++;
        else
            errors++;
    }
    printf("truncations of %s: %zu prefixes, %d rejected, %d accepted at field boundaries\n", path, n, errors, oks);
    free(d);
}

/* Every allocation failing in turn: an error each time, nothing leaked
 * (LeakSanitizer checks the latter in the sanitizer build). */
static void test_alloc_failures(const char *path) {
    size_t n;
    uint8_t *d = slurp(path, &n);
    CHECK(d, "cannot read %s", path);
    if (!d) return;
    lens_alloc_fail_after(0);
    CHECK(parse_only(d, n, "data") == LENS_OK, "%s: %s", path, lens_last_error());
    uint64_t total = lens_alloc_fail_after(0);
    int oom = 0;
    for (uint64_t k = 1; k <= total; k++) {
        lens_alloc_fail_after(k);
        lens_status st = parse_only(d, n, "data");
        lens_alloc_fail_after(0);
        CHECK(st != LENS_OK, "%s: allocation %llu failing went unnoticed", path, (unsigned long long)k);
        oom += st == LENS_STATUS_OUT_OF_MEMORY;
    }
    printf("allocation failures on %s: %llu allocations, each failure reported (%d as out of memory)\n", path,
           (unsigned long long)total, oom);
    free(d);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_flips(const char *path, int trials) {
    size_t n;
    uint8_t *d = slurp(path, &n);
    CHECK(d, "cannot read %s", path);
    if (!d) return;
    uint8_t *p = malloc(n);
    int ok = 0;
    for (int t = 0; t < trials; t++) {
        memcpy(p, d, n);
        int flips = 1 + (int)(rng() % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = rng() % n;
            if (rng() & 1)
                p[at] ^= (uint8_t)(1u << (rng() % 8));
            else
                p[at] = (uint8_t)rng();
        }
        ok += parse_only(p, n, "data") == LENS_OK;
    }
    printf("byte flips on %s: %d trials, %d still parsed\n", path, trials, ok);
    free(p);
    free(d);
}

static void expect_tensor_error(const buf *b, lens_status want, const char *msg_part, const char *what) {
    lens_tensor t;
    lens_status st = lens_onnx_read_tensor(b->d, b->n, &t, NULL);
    CHECK(st == want && has(lens_last_error(), msg_part), "%s: status %d, message '%s'", what, (int)st,
          lens_last_error());
    if (st == LENS_OK) lens_aligned_free(t.data);
}

static void expect_model_error(const buf *model, lens_status want, const char *msg_part, const char *what) {
    lens_status st = parse_only(model->d, model->n, NULL);
    CHECK(st == want && has(lens_last_error(), msg_part), "%s: status %d, message '%s'", what, (int)st,
          lens_last_error());
    printf("  %-28s -> %s\n", what, lens_last_error());
}

/* A node that reads X and writes Y, with an extra attribute field. */
static void make_graph_with_node(buf *graph, const buf *attr) {
    buf node = {0}, in = {0}, out = {0};
    put_str(&node, 1, "X");
    put_str(&node, 2, "Y");
    put_str(&node, 3, "n0");
    put_str(&node, 4, "Relu");
    if (attr) put_msg(&node, 5, attr);
    put_str(&in, 1, "X");
    put_str(&out, 1, "Y");
    graph->n = 0;
    put_msg(graph, 1, &node);
    put_str(graph, 2, "g");
    put_msg(graph, 11, &in);
    put_msg(graph, 12, &out);
}

/* Graph whose single If node nests `depth` more levels of If. */
static void make_nested(buf *graph, int depth) {
    buf node = {0}, attr = {0}, sub = {0}, in = {0}, out = {0};
    if (depth > 0) {
        make_nested(&sub, depth - 1);
        put_str(&attr, 1, "then_branch");
        put_msg(&attr, 6, &sub);
        put_int(&attr, 20, 5);
    }
    put_str(&node, 1, "X");
    put_str(&node, 2, "Y");
    put_str(&node, 4, depth > 0 ? "If" : "Identity");
    if (depth > 0) put_msg(&node, 5, &attr);
    put_str(&in, 1, "X");
    put_str(&out, 1, "Y");
    graph->n = 0;
    put_msg(graph, 1, &node);
    put_msg(graph, 11, &in);
    put_msg(graph, 12, &out);
}

static void test_hand_built(void) {
    printf("hand-built hostile inputs:\n");
    buf b = {0};
    float vals[6] = {1, 2, 3, 4, 5, 6};

    /* valid tensors, packed and unpacked */
    put_int(&b, 1, 2);
    put_int(&b, 1, 3);
    put_int(&b, 2, LENS_DTYPE_FLOAT);
    put_str(&b, 8, "w");
    put_bytes(&b, 4, vals, 16); /* packed float_data: 4 values */
    for (int i = 4; i < 6; i++) {
        put_tag(&b, 4, 5); /* unpacked: 2 more */
        for (int k = 0; k < 4; k++) put_byte(&b, ((uint8_t *)&vals[i])[k]);
    }
    lens_tensor t;
    char *name = NULL;
    lens_status st = lens_onnx_read_tensor(b.d, b.n, &t, &name);
    CHECK(st == LENS_OK && t.ndim == 2 && t.dims[1] == 3 && ((float *)t.data)[5] == 6.0f && !strcmp(name, "w"),
          "float_data: %s", lens_last_error());
    if (st == LENS_OK) lens_aligned_free(t.data);
    lens_free(name);

    b.n = 0; /* int8 via int32_data, negative values as 10-byte varints */
    put_int(&b, 1, 3);
    put_int(&b, 2, LENS_DTYPE_INT8);
    put_int(&b, 5, -1);
    put_int(&b, 5, 127);
    put_int(&b, 5, -128);
    st = lens_onnx_read_tensor(b.d, b.n, &t, NULL);
    CHECK(st == LENS_OK && ((int8_t *)t.data)[0] == -1 && ((int8_t *)t.data)[2] == -128, "int8: %s",
          lens_last_error());
    if (st == LENS_OK) lens_aligned_free(t.data);

    b.n = 0; /* scalar int64 */
    put_int(&b, 2, LENS_DTYPE_INT64);
    put_int(&b, 7, -5);
    st = lens_onnx_read_tensor(b.d, b.n, &t, NULL);
    CHECK(st == LENS_OK && t.ndim == 0 && ((int64_t *)t.data)[0] == -5, "scalar: %s", lens_last_error());
    if (st == LENS_OK) lens_aligned_free(t.data);

    b.n = 0; /* empty tensor without data */
    put_int(&b, 1, 0);
    put_int(&b, 1, 5);
    put_int(&b, 2, LENS_DTYPE_FLOAT);
    st = lens_onnx_read_tensor(b.d, b.n, &t, NULL);
    CHECK(st == LENS_OK && t.ndim == 2 && t.dims[0] == 0 && t.data, "empty: %s", lens_last_error());
    if (st == LENS_OK) lens_aligned_free(t.data);

    b.n = 0;
    put_int(&b, 1, -3);
    put_int(&b, 2, LENS_DTYPE_FLOAT);
    expect_tensor_error(&b, LENS_STATUS_INVALID_MODEL, "negative", "negative dim");

    b.n = 0;
    put_int(&b, 1, (int64_t)1 << 62);
    put_int(&b, 1, 8);
    put_int(&b, 2, LENS_DTYPE_FLOAT);
    expect_tensor_error(&b, LENS_STATUS_LIMIT_EXCEEDED, "elements", "dims product overflows");

    b.n = 0;
    put_int(&b, 1, (int64_t)1 << 20);
    put_int(&b, 1, (int64_t)1 << 20);
    put_int(&b, 2, LENS_DTYPE_FLOAT);
    put_bytes(&b, 9, vals, 24);
    expect_tensor_error(&b, LENS_STATUS_LIMIT_EXCEEDED, "elements", "dims over the element limit");

    b.n = 0;
    put_int(&b, 1, 2);
    put_int(&b, 1, 3);
    put_int(&b, 2, LENS_DTYPE_FLOAT);
    put_str(&b, 8, "conv1.weight");
    put_bytes(&b, 9, vals, 20);
    expect_tensor_error(&b, LENS_STATUS_INVALID_MODEL, "tensor 'conv1.weight': raw_data has 20 bytes, dims [2, 3] need 24",
                        "raw_data size");

    b.n = 0;
    put_int(&b, 1, 2);
    put_int(&b, 2, LENS_DTYPE_FLOAT);
    put_int(&b, 7, 1);
    put_int(&b, 7, 2);
    expect_tensor_error(&b, LENS_STATUS_INVALID_MODEL, "int64_data", "data in the wrong typed field");

    b.n = 0;
    put_int(&b, 1, 3);
    put_int(&b, 2, LENS_DTYPE_INT64);
    put_int(&b, 7, 1);
    expect_tensor_error(&b, LENS_STATUS_INVALID_MODEL, "has 1 values", "too few typed values");

    b.n = 0;
    for (int i = 0; i < 9; i++) put_int(&b, 1, 1);
    put_int(&b, 2, LENS_DTYPE_FLOAT);
    expect_tensor_error(&b, LENS_STATUS_UNSUPPORTED, "9 dimensions", "rank 9");

    b.n = 0;
    put_int(&b, 2, LENS_DTYPE_STRING);
    expect_tensor_error(&b, LENS_STATUS_UNSUPPORTED, "string", "string tensor");

    b.n = 0; /* an 11-byte varint */
    put_tag(&b, 1, 0);
    for (int i = 0; i < 10; i++) put_byte(&b, 0xff);
    put_byte(&b, 0x01);
    expect_tensor_error(&b, LENS_STATUS_INVALID_MODEL, "longer than 10 bytes", "11-byte varint");

    b.n = 0; /* 10-byte varint whose last byte overflows */
    put_tag(&b, 1, 0);
    for (int i = 0; i < 9; i++) put_byte(&b, 0xff);
    put_byte(&b, 0x02);
    expect_tensor_error(&b, LENS_STATUS_INVALID_MODEL, "overflows", "varint over 64 bits");

    b.n = 0;
    put_tag(&b, 3, 3);
    expect_tensor_error(&b, LENS_STATUS_INVALID_MODEL, "group", "group wire type");

    b.n = 0;
    put_tag(&b, 3, 7);
    expect_tensor_error(&b, LENS_STATUS_INVALID_MODEL, "invalid wire type", "wire type 7");

    b.n = 0;
    put_tag(&b, 0, 0);
    put_byte(&b, 0);
    expect_tensor_error(&b, LENS_STATUS_INVALID_MODEL, "field number", "field number 0");

    b.n = 0;
    put_int(&b, 1, 1);
    put_tag(&b, 2, 1); /* data_type as fixed64, 3 bytes present */
    put_byte(&b, 1);
    put_byte(&b, 0);
    put_byte(&b, 0);
    expect_tensor_error(&b, LENS_STATUS_INVALID_MODEL, "truncated", "truncated fixed64");

    b.n = 0;
    put_tag(&b, 2, 2); /* data_type as bytes */
    put_varint(&b, 1);
    put_byte(&b, 1);
    expect_tensor_error(&b, LENS_STATUS_INVALID_MODEL, "wire type 2, expected 0", "wrong wire type");

    /* models */
    buf model = {0}, graph = {0}, attr = {0};
    put_int(&model, 1, 7);
    put_tag(&model, 7, 2);
    put_varint(&model, 100);
    put_byte(&model, 0x0a);
    put_byte(&model, 0x00);
    expect_model_error(&model, LENS_STATUS_INVALID_MODEL,
                       "truncated file: field 7 of ModelProto needs 100 bytes at offset 4, 2 remain",
                       "length past the end");

    model.n = 0;
    expect_model_error(&model, LENS_STATUS_INVALID_MODEL, "no ir_version", "empty buffer");

    make_graph_with_node(&graph, NULL);
    wrap_model(&model, &graph);
    CHECK(parse_only(model.d, model.n, NULL) == LENS_OK, "minimal model: %s", lens_last_error());

    put_str(&attr, 1, "pads");
    put_tag(&attr, 8, 5);
    for (int i = 0; i < 4; i++) put_byte(&attr, 0);
    make_graph_with_node(&graph, &attr);
    wrap_model(&model, &graph);
    expect_model_error(&model, LENS_STATUS_INVALID_MODEL, "node 0 ('n0'): attribute 'pads': AttributeProto.ints",
                       "attribute wrong wire type");

    attr.n = 0;
    put_str(&attr, 1, "perm");
    put_int(&attr, 20, 99);
    make_graph_with_node(&graph, &attr);
    wrap_model(&model, &graph);
    expect_model_error(&model, LENS_STATUS_INVALID_MODEL, "unknown attribute type 99", "attribute type 99");

    { /* sparse initializer */
        buf sp = {0};
        make_graph_with_node(&graph, NULL);
        put_msg(&graph, 15, &sp);
        wrap_model(&model, &graph);
        expect_model_error(&model, LENS_STATUS_UNSUPPORTED, "sparse initializers", "sparse initializer");
    }
    { /* model-local function */
        buf fn = {0};
        make_graph_with_node(&graph, NULL);
        wrap_model(&model, &graph);
        put_str(&fn, 1, "Relu");
        put_str(&fn, 10, "");
        put_msg(&model, 25, &fn);
        expect_model_error(&model, LENS_STATUS_UNSUPPORTED, "model-local function", "model-local function");
    }
    { /* value never defined */
        buf node = {0}, out = {0};
        graph.n = 0;
        put_str(&node, 1, "nowhere");
        put_str(&node, 2, "Y");
        put_str(&node, 4, "Relu");
        put_msg(&graph, 1, &node);
        put_str(&out, 1, "Y");
        put_msg(&graph, 12, &out);
        wrap_model(&model, &graph);
        expect_model_error(&model, LENS_STATUS_INVALID_MODEL, "never defined", "undefined input");
    }
    { /* no opset_import with IR 8 */
        make_graph_with_node(&graph, NULL);
        model.n = 0;
        put_int(&model, 1, 8);
        put_msg(&model, 7, &graph);
        expect_model_error(&model, LENS_STATUS_INVALID_MODEL, "opset_import", "missing opset_import");
    }
    { /* external data in an in-memory model */
        buf w = {0}, e = {0};
        put_int(&w, 1, 1);
        put_int(&w, 2, LENS_DTYPE_FLOAT);
        put_str(&w, 8, "W");
        put_str(&e, 1, "location");
        put_str(&e, 2, "w.bin");
        put_msg(&w, 13, &e);
        put_int(&w, 14, 1);
        make_graph_with_node(&graph, NULL);
        put_msg(&graph, 5, &w);
        wrap_model(&model, &graph);
        expect_model_error(&model, LENS_STATUS_INVALID_ARGUMENT, "external data not allowed for in-memory models",
                           "external data, no base_dir");
    }
    /* nesting within and beyond the default depth (16) */
    static buf big_graph, big_model; /* too big for comfortable stack use */
    make_nested(&big_graph, 15);
    wrap_model(&big_model, &big_graph);
    CHECK(parse_only(big_model.d, big_model.n, NULL) == LENS_OK, "nested 15: %s", lens_last_error());
    make_nested(&big_graph, 17);
    wrap_model(&big_model, &big_graph);
    expect_model_error(&big_model, LENS_STATUS_LIMIT_EXCEEDED, "nested deeper", "subgraphs 17 deep");
}

static void test_external(void) {
    printf("external data:\n");
    struct {
        const char *file, *msg;
    } bad[] = {
        {"data/ext_dotdot.onnx", "'..' component"},
        {"data/ext_absolute.onnx", "absolute path"},
        {"data/ext_past_end.onnx", "past the end"},
        {"data/ext_bad_length.onnx", "does not match its dims"},
    };
    size_t n;
    uint8_t *d = slurp("data/ext_valid.onnx", &n);
    CHECK(d, "cannot read ext_valid.onnx");
    if (d) {
        lens_arena a = {0};
        lens_onnx_model m;
        lens_status st = lens_onnx_parse(d, n, "data", NULL, &a, &m);
        CHECK(st == LENS_OK, "ext_valid: %s", lens_last_error());
        if (st == LENS_OK) {
            const lens_value *w = value_named(m.graph, "W");
            CHECK(w && w->constant && w->constant->ndim == 2 && w->constant->dims[1] == 3, "W shape");
            if (w && w->constant)
                for (int i = 0; i < 6; i++)
                    CHECK(((float *)w->constant->data)[i] == (float)(i + 1), "W[%d] = %g", i,
                          ((float *)w->constant->data)[i]);
            lens_graph_free(m.graph);
        }
        lens_arena_free(&a);
        /* same bytes, no folder: refused */
        st = parse_only(d, n, NULL);
        CHECK(st != LENS_OK && has(lens_last_error(), "in-memory"), "no base_dir: %s", lens_last_error());
        free(d);
    }
    for (size_t i = 0; i < LENS_ARRAY_LEN(bad); i++) {
        d = slurp(bad[i].file, &n);
        CHECK(d, "cannot read %s", bad[i].file);
        if (!d) continue;
        lens_status st = parse_only(d, n, "data");
        CHECK(st != LENS_OK && has(lens_last_error(), bad[i].msg), "%s: status %d, '%s'", bad[i].file, (int)st,
              lens_last_error());
        printf("  %-28s -> %s\n", bad[i].file + 5, lens_last_error());
        free(d);
    }
    /* Symlinks: one leading outside the model folder is refused, one to a
     * file inside it is fine. */
    char tmpl[] = "/tmp/lens_onnx_XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir, "mkdtemp: %s", strerror(errno));
    d = slurp("data/ext_symlink.onnx", &n);
    if (dir && d) {
        char target[PATH_MAX], link[PATH_MAX + 16], inside[PATH_MAX + 16];
        CHECK(realpath("data/ext_weights.bin", target), "realpath");
        snprintf(link, sizeof link, "%s/link.bin", dir);
        CHECK(symlink(target, link) == 0, "symlink: %s", strerror(errno));
        lens_status st = parse_only(d, n, dir);
        CHECK(st != LENS_OK && has(lens_last_error(), "outside the model folder"), "outside symlink: %d '%s'", (int)st,
              lens_last_error());
        printf("  %-28s -> %s\n", "symlink outside", lens_last_error());
        unlink(link);
        /* inside: weights at offset 0 */
        snprintf(inside, sizeof inside, "%s/real.bin", dir);
        FILE *f = fopen(inside, "wb");
        float vals[6] = {1, 2, 3, 4, 5, 6};
        if (f) {
            fwrite(vals, 4, 6, f);
            fclose(f);
        }
        CHECK(symlink("real.bin", link) == 0, "symlink: %s", strerror(errno));
        st = parse_only(d, n, dir);
        CHECK(st == LENS_OK, "inside symlink: %s", lens_last_error());
        unlink(link);
        /* a folder instead of a file */
        CHECK(mkdir(link, 0700) == 0, "mkdir");
        st = parse_only(d, n, dir);
        CHECK(st != LENS_OK && has(lens_last_error(), "not a regular file"), "directory: '%s'", lens_last_error());
        rmdir(link);
        unlink(inside);
        rmdir(dir);
    }
    free(d);
}

/* ---- the ONNX backend test data ----------------------------------------- */

typedef struct corpus_stats {
    int models, ok, unsupported, invalid, other;
    int tensors, tensors_ok, mismatched;
} corpus_stats;

static void check_pb(const char *path, const lens_graph *g, bool is_input, int index, corpus_stats *s) {
    size_t n;
    uint8_t *d = slurp(path, &n);
    if (!d) return;
    s->tensors++;
    lens_tensor t;
    char *name = NULL;
    lens_status st = lens_onnx_read_tensor(d, n, &t, &name);
    if (st == LENS_OK) {
        s->tensors_ok++;
        /* Consistency with the model's declared types. */
        if (g) {
            int32_t cnt = is_input ? g->n_inputs : g->n_outputs;
            if (index < cnt) {
                const lens_value *v = &g->values[is_input ? g->inputs[index] : g->outputs[index]];
                bool bad = v->dtype != LENS_DTYPE_UNDEFINED && v->dtype != t.dtype;
                if (v->ndim >= 0) {
                    bad |= v->ndim != t.ndim;
                    for (int32_t k = 0; !bad && k < v->ndim; k++) bad |= v->dims[k] >= 0 && v->dims[k] != t.dims[k];
                }
                if (bad) {
                    s->mismatched++;
                    if (s->mismatched <= 5) printf("  type mismatch: %s vs value '%s'\n", path, v->name);
                }
            }
        }
        lens_aligned_free(t.data);
        lens_free(name);
    }
    free(d);
}

static void scan_corpus(const char *root, corpus_stats *s, bool strict) {
    DIR *dir = opendir(root);
    if (!dir) {
        printf("%s: not present, skipped\n", root);
        return;
    }
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.') continue;
        char mdir[PATH_MAX], path[PATH_MAX + 64];
        snprintf(mdir, sizeof mdir, "%s/%s", root, e->d_name);
        snprintf(path, sizeof path, "%s/model.onnx", mdir);
        size_t n;
        uint8_t *d = slurp(path, &n);
        if (!d) continue;
        s->models++;
        lens_arena a = {0};
        lens_onnx_model m;
        lens_status st = lens_onnx_parse(d, n, mdir, NULL, &a, &m);
        if (st == LENS_OK)
            s->ok++;
        else if (st == LENS_STATUS_UNSUPPORTED)
            s->unsupported++;
        else if (st == LENS_STATUS_INVALID_MODEL)
            s->invalid++;
        else
            s->other++;
        if (st != LENS_OK) printf("  %s: %s: %s\n", e->d_name, lens_status_string(st), lens_last_error());
        if (strict) CHECK(st == LENS_OK || st == LENS_STATUS_UNSUPPORTED, "%s: %s", e->d_name, lens_last_error());
        for (int set = 0; set < 8; set++)
            for (int io = 0; io < 2; io++)
                for (int i = 0; i < 16; i++) {
                    snprintf(path, sizeof path, "%s/test_data_set_%d/%s_%d.pb", mdir, set, io ? "output" : "input",
                             i);
                    if (access(path, R_OK) != 0) break;
                    check_pb(path, st == LENS_OK ? m.graph : NULL, io == 0, i, s);
                }
        if (st == LENS_OK) lens_graph_free(m.graph);
        lens_arena_free(&a);
        free(d);
    }
    closedir(dir);
}

int main(void) {
    test_misc_model();
    test_hand_built();
    test_external();
    test_truncations("data/misc.onnx");
    test_truncations("data/ext_valid.onnx");
    test_alloc_failures("data/misc.onnx");
    test_alloc_failures("data/ext_valid.onnx");
    test_flips("data/misc.onnx", 4000);
    test_flips("data/ext_valid.onnx", 1000);

    static const char *roots[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};
    for (size_t i = 0; i < LENS_ARRAY_LEN(roots); i++) {
        char root[256];
        snprintf(root, sizeof root, "/usr/share/libonnx-testdata/data/%s", roots[i]);
        corpus_stats s = {0};
        scan_corpus(root, &s, true);
        printf("%s: %d models: %d parsed, %d unsupported, %d invalid, %d other; tensors %d/%d read, %d disagree "
               "with the model's declared types\n",
               roots[i], s.models, s.ok, s.unsupported, s.invalid, s.other, s.tensors_ok, s.tensors, s.mismatched);
    }
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
