/* ModelProto -> graph IR: graphs, nodes, attributes, value types and
 * initializers (field numbers from onnx.proto, IR version 8). */
#include "core/tensor.h"
#include "onnx/internal.h"

#include <unistd.h>

/* A string field as bytes in the buffer (not NUL-terminated). */
typedef struct span {
    const uint8_t *p;
    size_t n;
} span;

static const span span_empty = {(const uint8_t *)"", 0};

static span span_of(const lens_pb *r, const lens_pb_field *f) {
    span s = {r->base + f->off, f->len};
    return s;
}

/* Arena copy of a name. Names with NUL bytes are refused: they would
 * silently alias a shorter name in every lookup. */
static lens_status span_dup(const lens_onnx_ctx *c, span s, const char *what, const char **out) {
    if (memchr(s.p, 0, s.n))
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s '%.*s' contains a NUL byte", what, (int)strlen((const char *)s.p),
                          (const char *)s.p);
    char *d = lens_arena_strndup(c->arena, (const char *)s.p, s.n);
    if (!d) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory copying %s", what);
    *out = d;
    return LENS_OK;
}

/* The last well-formed LEN field `num` before any damage in the message:
 * the name of a node or attribute, for messages about its other fields. */
static span scan_name(const lens_pb *msg, uint32_t num) {
    lens_pb r = *msg;
    lens_pb_field f;
    span s = span_empty;
    while (lens_pb_more(&r) && lens_pb_next(&r, &f) == LENS_OK)
        if (f.num == num && f.wt == LENS_PB_LEN && !memchr(r.base + f.off, 0, f.len)) s = span_of(&r, &f);
    return s;
}

static lens_status want_len(const lens_pb *r, const lens_pb_field *f, const char *fname, span *out) {
    LENS_TRY(lens_pb_want(r, f, LENS_PB_LEN, fname));
    *out = span_of(r, f);
    return LENS_OK;
}

/* lens_graph_value / lens_graph_add_node report failure as -1 with the
 * message set; recover the matching status from the same conditions. */
static lens_status graph_value(lens_graph *g, const char *name, int32_t *out) {
    *out = lens_graph_value(g, name);
    if (*out >= 0) return LENS_OK;
    if (g->limits && g->limits->max_nodes && (uint64_t)g->n_values >= 4 * g->limits->max_nodes + 1024)
        return LENS_STATUS_LIMIT_EXCEEDED;
    return LENS_STATUS_OUT_OF_MEMORY;
}

static const char *norm_domain(const char *d) { return strcmp(d, "ai.onnx") ? d : ""; }

/* Version of `domain` in the model's opset imports. A domain that is not
 * imported gets version 1 (the ONNX default before IR v3 made imports
 * mandatory); operators then fail at resolution if 1 does not exist. */
static int64_t node_opset(const lens_onnx_ctx *c, const char *domain) {
    for (size_t i = 0; i < c->n_opsets; i++)
        if (!strcmp(c->opset_domains[i], domain)) return c->opset_versions[i];
    return 1;
}

static lens_status parse_graph(lens_onnx_ctx *c, lens_graph *g, const lens_pb *gr);

/* ---- tensors and types -------------------------------------------------- */

static lens_status tensor_into_arena(lens_onnx_ctx *c, const lens_pb *r, const lens_pb_field *f, lens_tensor *t,
                                     const char **name) {
    lens_pb sub;
    LENS_TRY(lens_pb_sub(r, f, "TensorProto", &sub));
    span nm;
    LENS_TRY(lens_onnx_decode_tensor(c, &sub, t, &nm.p, &nm.n));
    if (name) LENS_TRY(span_dup(c, nm, "tensor name", name));
    return LENS_OK;
}

static lens_status set_value_shape(lens_onnx_ctx *c, lens_value *v, const lens_tensor *t) {
    v->dtype = t->dtype;
    v->ndim = t->ndim;
    v->dims = lens_arena_alloc(c->arena, sizeof(int64_t) * (size_t)(t->ndim ? t->ndim : 1));
    v->dim_names = lens_arena_alloc(c->arena, sizeof(char *) * (size_t)(t->ndim ? t->ndim : 1));
    if (!v->dims || !v->dim_names) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    memcpy(v->dims, t->dims, sizeof(int64_t) * (size_t)t->ndim);
    return LENS_OK;
}

/* TypeProto of value vi. For graph inputs/outputs (`io`) a rank or element
 * type lens cannot represent is an error; for value_info it only leaves the
 * value's type unknown. */
static lens_status apply_type(lens_onnx_ctx *c, lens_graph *g, int32_t vi, const lens_pb *tr, bool io,
                              const char *what) {
    const char *vname = g->values[vi].name;
    lens_pb r = *tr, tt, shape;
    lens_pb_field f;
    bool has_tensor = false, has_shape = false;
    while (lens_pb_more(&r)) {
        LENS_TRY(lens_pb_next(&r, &f));
        if (f.num == 1) {
            LENS_TRY(lens_pb_sub(&r, &f, "TypeProto.Tensor", &tt));
            has_tensor = true;
        } else if (f.num == 4 || f.num == 5 || f.num == 8 || f.num == 9) {
            has_tensor = false; /* oneof: the last one wins */
        }
    }
    lens_value *v = &g->values[vi];
    v->dtype = LENS_DTYPE_UNDEFINED;
    v->ndim = -1;
    if (!has_tensor) return LENS_OK; /* sequence, map, optional, sparse: unknown here */
    int64_t elem = 0;
    r = tt;
    while (lens_pb_more(&r)) {
        LENS_TRY(lens_pb_next(&r, &f));
        if (f.num == 1) {
            LENS_TRY(lens_pb_want(&r, &f, LENS_PB_VARINT, "elem_type"));
            elem = (int64_t)f.u;
        } else if (f.num == 2) {
            LENS_TRY(lens_pb_sub(&r, &f, "TensorShapeProto", &shape));
            has_shape = true;
        }
    }
    if (elem < 0 || elem > LENS_DTYPE_BFLOAT16) {
        if (io)
            return lens_error(LENS_STATUS_UNSUPPORTED, "%s '%s' has element type %lld, which lens does not support",
                              what, vname, (long long)elem);
        elem = 0;
    }
    v->dtype = (lens_dtype)elem;
    if (!has_shape) return LENS_OK;
    size_t nd = 0;
    r = shape;
    while (lens_pb_more(&r)) {
        LENS_TRY(lens_pb_next(&r, &f));
        if (f.num == 1) {
            LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "dim"));
            nd++;
        }
    }
    if (nd > LENS_MAX_DIMS) {
        if (io)
            return lens_error(LENS_STATUS_UNSUPPORTED, "%s '%s' has rank %zu; lens supports at most %d", what, vname,
                              nd, LENS_MAX_DIMS);
        return LENS_OK;
    }
    int64_t *dims = lens_arena_alloc(c->arena, sizeof(int64_t) * (nd ? nd : 1));
    const char **names = lens_arena_alloc(c->arena, sizeof(char *) * (nd ? nd : 1));
    if (!dims || !names) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    size_t k = 0;
    r = shape;
    while (lens_pb_more(&r) && k < nd) {
        LENS_TRY(lens_pb_next(&r, &f));
        if (f.num != 1) continue;
        lens_pb d;
        LENS_TRY(lens_pb_sub(&r, &f, "TensorShapeProto.Dimension", &d));
        dims[k] = -1;
        while (lens_pb_more(&d)) {
            lens_pb_field df;
            LENS_TRY(lens_pb_next(&d, &df));
            if (df.num == 1) {
                LENS_TRY(lens_pb_want(&d, &df, LENS_PB_VARINT, "dim_value"));
                /* Some exporters write -1 for "unknown"; treat any negative so. */
                dims[k] = (int64_t)df.u >= 0 ? (int64_t)df.u : -1;
                names[k] = NULL;
            } else if (df.num == 2) {
                span s;
                LENS_TRY(want_len(&d, &df, "dim_param", &s));
                dims[k] = -1;
                names[k] = NULL;
                if (s.n) LENS_TRY(span_dup(c, s, "dim_param", &names[k]));
            }
        }
        k++;
    }
    v = &g->values[vi];
    v->ndim = (int32_t)nd;
    v->dims = dims;
    v->dim_names = names;
    return LENS_OK;
}

/* ValueInfoProto: name and (optional) type. */
static lens_status read_value_info(const lens_pb *r, const lens_pb_field *f, span *name, bool *has_type,
                                   lens_pb *type) {
    lens_pb vi;
    LENS_TRY(lens_pb_sub(r, f, "ValueInfoProto", &vi));
    *name = span_empty;
    *has_type = false;
    while (lens_pb_more(&vi)) {
        lens_pb_field g;
        LENS_TRY(lens_pb_next(&vi, &g));
        if (g.num == 1) LENS_TRY(want_len(&vi, &g, "name", name));
        if (g.num == 2) {
            LENS_TRY(lens_pb_sub(&vi, &g, "TypeProto", type));
            *has_type = true;
        }
    }
    return LENS_OK;
}

/* ---- attributes --------------------------------------------------------- */

enum {
    AP_NAME = 1, AP_F = 2, AP_I = 3, AP_S = 4, AP_T = 5, AP_G = 6, AP_FLOATS = 7, AP_INTS = 8,
    AP_STRINGS = 9, AP_TENSORS = 10, AP_GRAPHS = 11, AP_TP = 14, AP_TYPE_PROTOS = 15, AP_TYPE = 20,
    AP_SPARSE_TENSOR = 22, AP_SPARSE_TENSORS = 23,
};

static lens_status build_subgraph(lens_onnx_ctx *c, lens_graph *parent, const lens_pb *r, const lens_pb_field *f,
                                  lens_graph **out) {
    *out = NULL;
    if ((uint32_t)parent->depth + 1 > c->limits->max_graph_depth)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "subgraphs nested deeper than %u", c->limits->max_graph_depth);
    lens_pb sub;
    LENS_TRY(lens_pb_sub(r, f, "GraphProto", &sub));
    lens_graph *child = lens_graph_new(c->arena, parent, c->limits);
    if (!child) return LENS_STATUS_OUT_OF_MEMORY;
    lens_status st = parse_graph(c, child, &sub);
    if (st != LENS_OK) {
        lens_graph_free(child);
        return st;
    }
    *out = child;
    return LENS_OK;
}

/* Fill *a from the AttributeProto under ar. Subgraphs are built only when
 * `build_graphs` (Constant nodes have none to keep). On failure nothing
 * that needs freeing is left in *a. */
static lens_status parse_attr(lens_onnx_ctx *c, lens_graph *g, const lens_pb *ar, lens_attr *a, bool build_graphs,
                              const char **name_out) {
    lens_pb r = *ar;
    lens_pb_field f;
    span name = span_empty, s = span_empty;
    lens_pb_field ft = {0}, fg = {0};
    bool has[24] = {false};
    size_t n_floats = 0, n_ints = 0, n_strings = 0, n_tensors = 0, n_graphs = 0;
    int64_t type = -1;
    memset(a, 0, sizeof *a);
    a->name = "";
    name = scan_name(ar, AP_NAME);
    if (name.n) {
        LENS_TRY(span_dup(c, name, "attribute name", &a->name));
        *name_out = a->name;
    }
    while (lens_pb_more(&r)) {
        LENS_TRY(lens_pb_next(&r, &f));
        lens_pb_rep it;
        size_t cnt;
        if (f.num < LENS_ARRAY_LEN(has)) has[f.num] = true;
        switch (f.num) {
        case AP_NAME: LENS_TRY(want_len(&r, &f, "name", &name)); break;
        case AP_F: {
            LENS_TRY(lens_pb_want(&r, &f, LENS_PB_I32, "f"));
            uint32_t u = (uint32_t)f.u;
            memcpy(&a->f, &u, 4);
            break;
        }
        case AP_I:
            LENS_TRY(lens_pb_want(&r, &f, LENS_PB_VARINT, "i"));
            a->i = (int64_t)f.u;
            break;
        case AP_S: LENS_TRY(want_len(&r, &f, "s", &s)); break;
        case AP_T: LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "t")); ft = f; break;
        case AP_G: LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "g")); fg = f; break;
        case AP_FLOATS:
            LENS_TRY(lens_pb_rep_init(&r, &f, LENS_PB_I32, "floats", &it, &cnt));
            n_floats += cnt;
            break;
        case AP_INTS:
            LENS_TRY(lens_pb_rep_init(&r, &f, LENS_PB_VARINT, "ints", &it, &cnt));
            n_ints += cnt;
            break;
        case AP_STRINGS: LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "strings")); n_strings++; break;
        case AP_TENSORS: LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "tensors")); n_tensors++; break;
        case AP_GRAPHS: LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "graphs")); n_graphs++; break;
        case AP_TYPE:
            LENS_TRY(lens_pb_want(&r, &f, LENS_PB_VARINT, "type"));
            type = (int64_t)f.u;
            break;
        default: break;
        }
    }
    if (!name.n) return lens_error(LENS_STATUS_INVALID_MODEL, "attribute without a name");
    LENS_TRY(span_dup(c, name, "attribute name", &a->name));
    *name_out = a->name;
    if (type < 0) {
        /* Files before IR v2 have no `type`: infer it from the field present. */
        static const struct { uint8_t field, type; } infer[] = {
            {AP_F, LENS_ATTR_FLOAT},         {AP_I, LENS_ATTR_INT},
            {AP_S, LENS_ATTR_STRING},        {AP_T, LENS_ATTR_TENSOR},
            {AP_G, LENS_ATTR_GRAPH},         {AP_FLOATS, LENS_ATTR_FLOATS},
            {AP_INTS, LENS_ATTR_INTS},       {AP_STRINGS, LENS_ATTR_STRINGS},
            {AP_TENSORS, LENS_ATTR_TENSORS}, {AP_GRAPHS, LENS_ATTR_GRAPHS},
            {AP_SPARSE_TENSOR, LENS_ATTR_SPARSE_TENSOR}, {AP_SPARSE_TENSORS, LENS_ATTR_SPARSE_TENSORS},
            {AP_TP, LENS_ATTR_TYPE_PROTO},   {AP_TYPE_PROTOS, LENS_ATTR_TYPE_PROTOS},
        };
        type = LENS_ATTR_UNDEFINED;
        for (size_t k = 0; k < LENS_ARRAY_LEN(infer); k++)
            if (has[infer[k].field]) {
                type = infer[k].type;
                break;
            }
    }
    if (type > LENS_ATTR_TYPE_PROTOS)
        return lens_error(LENS_STATUS_INVALID_MODEL, "unknown attribute type %lld", (long long)type);
    a->type = (lens_attr_type)type;

    /* Pass 2 for the list kinds: the fields they come from, in file order. */
    uint32_t list_field = 0;
    size_t n = 0, esize = 0;
    switch (a->type) {
    case LENS_ATTR_STRING:
        a->s = lens_arena_strndup(c->arena, (const char *)s.p, s.n);
        if (!a->s) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
        a->s_len = s.n;
        return LENS_OK;
    case LENS_ATTR_TENSOR:
        if (!has[AP_T]) return lens_error(LENS_STATUS_INVALID_MODEL, "TENSOR attribute has no tensor");
        a->t = lens_arena_alloc(c->arena, sizeof *a->t);
        if (!a->t) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
        return tensor_into_arena(c, ar, &ft, a->t, NULL);
    case LENS_ATTR_GRAPH:
        if (!has[AP_G]) return lens_error(LENS_STATUS_INVALID_MODEL, "GRAPH attribute has no graph");
        if (!build_graphs) return LENS_OK;
        return build_subgraph(c, g, ar, &fg, &a->g);
    case LENS_ATTR_FLOATS: list_field = AP_FLOATS, n = n_floats, esize = sizeof(float); break;
    case LENS_ATTR_INTS: list_field = AP_INTS, n = n_ints, esize = sizeof(int64_t); break;
    case LENS_ATTR_STRINGS: list_field = AP_STRINGS, n = n_strings, esize = sizeof(char *); break;
    case LENS_ATTR_TENSORS: list_field = AP_TENSORS, n = n_tensors, esize = sizeof(lens_tensor); break;
    case LENS_ATTR_GRAPHS:
        if (!build_graphs) return LENS_OK;
        list_field = AP_GRAPHS, n = n_graphs, esize = sizeof(lens_graph *);
        break;
    default: return LENS_OK; /* scalars done; sparse tensors and type protos are not kept */
    }
    size_t bytes;
    if (lens_mul_ovf_size(n ? n : 1, esize, &bytes)) return lens_error(LENS_STATUS_INVALID_MODEL, "list too long");
    void *arr = lens_arena_alloc(c->arena, bytes);
    if (!arr) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory (%zu list elements)", n);
    size_t k = 0;
    lens_status st = LENS_OK;
    r = *ar;
    while (st == LENS_OK && lens_pb_more(&r) && k < n) {
        LENS_TRY(lens_pb_next(&r, &f));
        if (f.num != list_field) continue;
        lens_pb_rep it;
        size_t cnt;
        uint64_t v;
        switch (a->type) {
        case LENS_ATTR_FLOATS:
            LENS_TRY(lens_pb_rep_init(&r, &f, LENS_PB_I32, "floats", &it, &cnt));
            while (k < n && lens_pb_rep_next(&it, &v)) {
                uint32_t u = (uint32_t)v;
                memcpy((float *)arr + k++, &u, 4);
            }
            break;
        case LENS_ATTR_INTS:
            LENS_TRY(lens_pb_rep_init(&r, &f, LENS_PB_VARINT, "ints", &it, &cnt));
            while (k < n && lens_pb_rep_next(&it, &v)) ((int64_t *)arr)[k++] = (int64_t)v;
            break;
        case LENS_ATTR_STRINGS: {
            char *d = lens_arena_strndup(c->arena, (const char *)r.base + f.off, f.len);
            if (!d) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
            ((const char **)arr)[k++] = d;
            break;
        }
        case LENS_ATTR_TENSORS: st = tensor_into_arena(c, &r, &f, (lens_tensor *)arr + k, NULL); k += st == LENS_OK; break;
        case LENS_ATTR_GRAPHS: {
            lens_graph *sub = NULL;
            st = build_subgraph(c, g, &r, &f, &sub);
            if (st == LENS_OK) ((lens_graph **)arr)[k++] = sub;
            break;
        }
        default: break;
        }
    }
    if (st != LENS_OK || k != n) {
        if (a->type == LENS_ATTR_GRAPHS)
            for (size_t j = 0; j < k; j++) lens_graph_free(((lens_graph **)arr)[j]);
        a->type = LENS_ATTR_UNDEFINED;
        if (st == LENS_OK) st = lens_error(LENS_STATUS_INTERNAL, "decoded %zu of %zu list elements", k, n);
        return st;
    }
    a->n = (int64_t)n;
    switch (a->type) {
    case LENS_ATTR_FLOATS: a->floats = arr; break;
    case LENS_ATTR_INTS: a->ints = arr; break;
    case LENS_ATTR_STRINGS: a->strings = arr; break;
    case LENS_ATTR_TENSORS: a->tensors = arr; break;
    case LENS_ATTR_GRAPHS: a->graphs = arr; break;
    default: break;
    }
    return LENS_OK;
}

/* ---- nodes -------------------------------------------------------------- */

/* ONNX Constant (any version): the value becomes a constant of the graph
 * and no node is kept. */
static lens_status make_constant(lens_onnx_ctx *c, lens_graph *g, const lens_attr *attrs, size_t n_attrs,
                                 const char *out_name) {
    const lens_attr *val = NULL;
    for (size_t k = 0; k < n_attrs; k++) {
        const char *an = attrs[k].name;
        if (!strcmp(an, "value_string") || !strcmp(an, "value_strings") || !strcmp(an, "sparse_value"))
            return lens_error(LENS_STATUS_UNSUPPORTED, "Constant attribute '%s' is not supported", an);
        if (strcmp(an, "value") && strcmp(an, "value_float") && strcmp(an, "value_floats") &&
            strcmp(an, "value_int") && strcmp(an, "value_ints"))
            continue;
        if (val) return lens_error(LENS_STATUS_INVALID_MODEL, "Constant has both '%s' and '%s'", val->name, an);
        val = &attrs[k];
    }
    if (!val) return lens_error(LENS_STATUS_INVALID_MODEL, "Constant has no value attribute");
    lens_tensor *t = NULL;
    static const struct { const char *name; lens_attr_type type; } want[] = {
        {"value", LENS_ATTR_TENSOR},        {"value_float", LENS_ATTR_FLOAT}, {"value_floats", LENS_ATTR_FLOATS},
        {"value_int", LENS_ATTR_INT},       {"value_ints", LENS_ATTR_INTS},
    };
    for (size_t k = 0; k < LENS_ARRAY_LEN(want); k++)
        if (!strcmp(val->name, want[k].name) && val->type != want[k].type)
            return lens_error(LENS_STATUS_INVALID_MODEL, "Constant attribute '%s' has type %d, expected %d", val->name,
                              (int)val->type, (int)want[k].type);
    if (val->type == LENS_ATTR_TENSOR) {
        t = val->t;
    } else {
        t = lens_arena_alloc(c->arena, sizeof *t);
        if (!t) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
        if (val->type == LENS_ATTR_FLOAT || val->type == LENS_ATTR_FLOATS) {
            t->dtype = LENS_DTYPE_FLOAT;
            float *d = lens_arena_alloc(c->arena, sizeof(float) * (size_t)(val->n ? val->n : 1));
            if (!d) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
            if (val->type == LENS_ATTR_FLOAT)
                d[0] = val->f;
            else if (val->n)
                memcpy(d, val->floats, sizeof(float) * (size_t)val->n);
            t->data = d;
        } else {
            t->dtype = LENS_DTYPE_INT64;
            int64_t *d = lens_arena_alloc(c->arena, sizeof(int64_t) * (size_t)(val->n ? val->n : 1));
            if (!d) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
            if (val->type == LENS_ATTR_INT)
                d[0] = val->i;
            else if (val->n)
                memcpy(d, val->ints, sizeof(int64_t) * (size_t)val->n);
            t->data = d;
        }
        bool list = val->type == LENS_ATTR_FLOATS || val->type == LENS_ATTR_INTS;
        t->ndim = list ? 1 : 0;
        if (list) t->dims[0] = val->n;
    }
    int32_t v;
    LENS_TRY(graph_value(g, out_name, &v));
    if (g->values[v].constant || g->values[v].is_input)
        return lens_error(LENS_STATUS_INVALID_MODEL, "value '%s' is defined more than once", out_name);
    g->values[v].constant = t;
    return set_value_shape(c, &g->values[v], t);
}

enum { NP_INPUT = 1, NP_OUTPUT = 2, NP_NAME = 3, NP_OP_TYPE = 4, NP_ATTRIBUTE = 5, NP_DOMAIN = 7 };

static lens_status parse_node(lens_onnx_ctx *c, lens_graph *g, const lens_pb *nr, const char **name_out) {
    lens_pb r = *nr;
    lens_pb_field f;
    span name = span_empty, op = span_empty, dom = span_empty;
    size_t n_in = 0, n_out = 0, n_attr = 0;
    name = scan_name(nr, NP_NAME);
    if (name.n) LENS_TRY(span_dup(c, name, "node name", name_out));
    while (lens_pb_more(&r)) {
        LENS_TRY(lens_pb_next(&r, &f));
        span tmp;
        switch (f.num) {
        case NP_INPUT: LENS_TRY(want_len(&r, &f, "input", &tmp)); n_in++; break;
        case NP_OUTPUT: LENS_TRY(want_len(&r, &f, "output", &tmp)); n_out++; break;
        case NP_NAME: LENS_TRY(want_len(&r, &f, "name", &name)); break;
        case NP_OP_TYPE: LENS_TRY(want_len(&r, &f, "op_type", &op)); break;
        case NP_ATTRIBUTE: LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "attribute")); n_attr++; break;
        case NP_DOMAIN: LENS_TRY(want_len(&r, &f, "domain", &dom)); break;
        default: break;
        }
    }
    const char *nm, *op_type, *domain;
    LENS_TRY(span_dup(c, name, "node name", &nm));
    *name_out = nm;
    LENS_TRY(span_dup(c, op, "op_type", &op_type));
    LENS_TRY(span_dup(c, dom, "domain", &domain));
    domain = norm_domain(domain);
    if (!*op_type) return lens_error(LENS_STATUS_INVALID_MODEL, "node has no op_type");
    if (n_in > (1u << 20) || n_out > (1u << 20) || n_attr > (1u << 20))
        return lens_error(LENS_STATUS_INVALID_MODEL, "node has too many inputs, outputs or attributes");

    lens_attr *attrs = lens_arena_alloc(c->arena, sizeof(lens_attr) * (n_attr ? n_attr : 1));
    if (!attrs) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");

    if (!strcmp(op_type, "Constant") && !*domain) {
        size_t k = 0;
        const char *out_name = NULL;
        r = *nr;
        while (lens_pb_more(&r)) {
            LENS_TRY(lens_pb_next(&r, &f));
            if (f.num == NP_ATTRIBUTE) {
                lens_pb ar;
                const char *an = NULL;
                LENS_TRY(lens_pb_sub(&r, &f, "AttributeProto", &ar));
                lens_status st = parse_attr(c, g, &ar, &attrs[k], false, &an);
                if (st != LENS_OK) {
                    if (an) lens_error_prefix("attribute '%s': ", an);
                    return st;
                }
                k++;
            } else if (f.num == NP_OUTPUT && !out_name) {
                LENS_TRY(span_dup(c, span_of(&r, &f), "output name", &out_name));
            }
        }
        if (n_out != 1 || !out_name || !*out_name)
            return lens_error(LENS_STATUS_INVALID_MODEL, "Constant must have exactly one named output");
        if (n_in) return lens_error(LENS_STATUS_INVALID_MODEL, "Constant must have no inputs");
        return make_constant(c, g, attrs, k, out_name);
    }

    for (size_t k = 0; k < c->n_funcs; k++)
        if (!strcmp(c->func_names[k], op_type) && !strcmp(norm_domain(c->func_domains[k]), domain))
            return lens_error(LENS_STATUS_UNSUPPORTED,
                              "op '%s' (domain '%s') is a model-local function; lens does not support ONNX functions",
                              op_type, domain);

    if ((uint64_t)g->n_nodes >= c->limits->max_nodes)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "graph has more than %llu nodes",
                          (unsigned long long)c->limits->max_nodes);
    int32_t idx = lens_graph_add_node(g, op_type, domain, nm, (int32_t)n_in, (int32_t)n_out);
    if (idx < 0) return LENS_STATUS_OUT_OF_MEMORY;
    g->nodes[idx].opset = node_opset(c, domain);
    g->nodes[idx].attrs = attrs;
    size_t ki = 0, ko = 0;
    r = *nr;
    while (lens_pb_more(&r)) {
        LENS_TRY(lens_pb_next(&r, &f));
        if (f.num == NP_INPUT || f.num == NP_OUTPUT) {
            const char *vn;
            int32_t v = -1;
            LENS_TRY(span_dup(c, span_of(&r, &f), f.num == NP_INPUT ? "input name" : "output name", &vn));
            if (*vn) LENS_TRY(graph_value(g, vn, &v));
            if (f.num == NP_INPUT && ki < n_in) g->nodes[idx].inputs[ki++] = v;
            if (f.num == NP_OUTPUT && ko < n_out) g->nodes[idx].outputs[ko++] = v;
        } else if (f.num == NP_ATTRIBUTE) {
            lens_pb ar;
            const char *an = NULL;
            int32_t k = g->nodes[idx].n_attrs;
            LENS_TRY(lens_pb_sub(&r, &f, "AttributeProto", &ar));
            lens_status st = parse_attr(c, g, &ar, &attrs[k], true, &an);
            if (st == LENS_OK)
                for (int32_t j = 0; j < k; j++)
                    if (!strcmp(attrs[j].name, an)) {
                        /* Keep it counted so its subgraphs are freed with the graph. */
                        g->nodes[idx].n_attrs = k + 1;
                        st = lens_error(LENS_STATUS_INVALID_MODEL, "appears twice");
                        break;
                    }
            if (st != LENS_OK) {
                if (an) lens_error_prefix("attribute '%s': ", an);
                return st;
            }
            g->nodes[idx].n_attrs = k + 1;
        }
    }
    return LENS_OK;
}

/* ---- graphs ------------------------------------------------------------- */

enum {
    GP_NODE = 1, GP_NAME = 2, GP_INITIALIZER = 5, GP_INPUT = 11, GP_OUTPUT = 12, GP_VALUE_INFO = 13,
    GP_SPARSE_INITIALIZER = 15,
};

static lens_status parse_graph(lens_onnx_ctx *c, lens_graph *g, const lens_pb *gr) {
    lens_pb r = *gr;
    lens_pb_field f;
    span name = span_empty;
    size_t n_in = 0, n_out = 0;
    bool sparse = false;
    while (lens_pb_more(&r)) {
        LENS_TRY(lens_pb_next(&r, &f));
        switch (f.num) {
        case GP_NAME: LENS_TRY(want_len(&r, &f, "name", &name)); break;
        case GP_NODE: LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "node")); break;
        case GP_INITIALIZER: LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "initializer")); break;
        case GP_INPUT: LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "input")); n_in++; break;
        case GP_OUTPUT: LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "output")); n_out++; break;
        case GP_VALUE_INFO: LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "value_info")); break;
        case GP_SPARSE_INITIALIZER: sparse = true; break;
        default: break;
        }
    }
    LENS_TRY(span_dup(c, name, "graph name", &g->name));
    if (sparse)
        return lens_error(LENS_STATUS_UNSUPPORTED, "graph '%s': sparse initializers are not supported", g->name);
    g->inputs = lens_arena_alloc(c->arena, sizeof(int32_t) * (n_in ? n_in : 1));
    g->outputs = lens_arena_alloc(c->arena, sizeof(int32_t) * (n_out ? n_out : 1));
    if (!g->inputs || !g->outputs) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");

    /* Initializers first, so that inputs know which of them are weights;
     * then inputs, nodes, outputs; value_info last and only for values
     * that exist (stale entries for names no node produces are common). */
    static const uint32_t order[] = {GP_INITIALIZER, GP_INPUT, GP_NODE, GP_OUTPUT, GP_VALUE_INFO};
    for (size_t pass = 0; pass < LENS_ARRAY_LEN(order); pass++) {
        int32_t index = 0;
        r = *gr;
        while (lens_pb_more(&r)) {
            LENS_TRY(lens_pb_next(&r, &f));
            if (f.num != order[pass]) continue;
            int32_t v;
            if (f.num == GP_INITIALIZER) {
                lens_tensor *t = lens_arena_alloc(c->arena, sizeof *t);
                const char *tn;
                if (!t) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
                lens_status st = tensor_into_arena(c, &r, &f, t, &tn);
                if (st != LENS_OK) {
                    lens_error_prefix("initializer %d: ", index);
                    return st;
                }
                if (!*tn) return lens_error(LENS_STATUS_INVALID_MODEL, "initializer %d has no name", index);
                LENS_TRY(graph_value(g, tn, &v));
                if (g->values[v].constant)
                    return lens_error(LENS_STATUS_INVALID_MODEL, "initializer '%s' is defined twice", tn);
                g->values[v].constant = t;
                LENS_TRY(set_value_shape(c, &g->values[v], t));
            } else if (f.num == GP_NODE) {
                lens_pb nr;
                const char *nn = NULL;
                LENS_TRY(lens_pb_sub(&r, &f, "NodeProto", &nr));
                lens_status st = parse_node(c, g, &nr, &nn);
                if (st != LENS_OK) {
                    if (nn)
                        lens_error_prefix("node %d ('%s'): ", index, nn);
                    else
                        lens_error_prefix("node %d: ", index);
                    return st;
                }
            } else {
                span vn;
                bool has_type;
                lens_pb type;
                const char *what = f.num == GP_INPUT ? "graph input" : f.num == GP_OUTPUT ? "graph output" : "value_info";
                LENS_TRY(read_value_info(&r, &f, &vn, &has_type, &type));
                const char *s;
                LENS_TRY(span_dup(c, vn, what, &s));
                if (!*s) return lens_error(LENS_STATUS_INVALID_MODEL, "%s %d has no name", what, index);
                if (f.num == GP_VALUE_INFO) {
                    v = lens_graph_find(g, s);
                    if (v < 0) goto next;
                    lens_value *val = &g->values[v];
                    if (val->constant || val->is_input || val->is_output || val->ndim >= 0 ||
                        val->dtype != LENS_DTYPE_UNDEFINED)
                        goto next;
                    if (has_type) LENS_TRY(apply_type(c, g, v, &type, false, what));
                    goto next;
                }
                LENS_TRY(graph_value(g, s, &v));
                if (f.num == GP_INPUT) {
                    if (g->values[v].constant) goto next; /* an initializer listed as input (IR < 4) */
                    if (g->values[v].is_input)
                        return lens_error(LENS_STATUS_INVALID_MODEL, "graph input '%s' is listed twice", s);
                    g->values[v].is_input = true;
                    g->inputs[g->n_inputs++] = v;
                } else {
                    g->values[v].is_output = true;
                    g->outputs[g->n_outputs++] = v;
                    if (g->values[v].constant) goto next;
                }
                if (has_type) LENS_TRY(apply_type(c, g, v, &type, true, what));
            }
        next:
            index++;
        }
    }
    return LENS_OK;
}

/* ---- model -------------------------------------------------------------- */

enum {
    MP_IR_VERSION = 1, MP_PRODUCER_NAME = 2, MP_PRODUCER_VERSION = 3, MP_DOMAIN = 4, MP_MODEL_VERSION = 5,
    MP_DOC_STRING = 6, MP_GRAPH = 7, MP_OPSET_IMPORT = 8, MP_METADATA_PROPS = 14, MP_FUNCTIONS = 25,
};

/* Key/value (StringStringEntryProto) or domain/version-like pairs. */
static lens_status read_pair(const lens_pb *r, const lens_pb_field *f, const char *msg, uint32_t k_field,
                             uint32_t v_field, bool v_is_int, span *k, span *vs, int64_t *vi) {
    lens_pb e;
    LENS_TRY(lens_pb_sub(r, f, msg, &e));
    *k = span_empty;
    *vs = span_empty;
    if (vi) *vi = 0;
    while (lens_pb_more(&e)) {
        lens_pb_field g;
        LENS_TRY(lens_pb_next(&e, &g));
        if (g.num == k_field) LENS_TRY(want_len(&e, &g, "key", k));
        if (g.num == v_field && v_is_int) {
            LENS_TRY(lens_pb_want(&e, &g, LENS_PB_VARINT, "version"));
            *vi = (int64_t)g.u;
        } else if (g.num == v_field) {
            LENS_TRY(want_len(&e, &g, "value", vs));
        }
    }
    return LENS_OK;
}

static lens_status parse_model(const uint8_t *data, size_t size, const char *base_dir, const lens_limits *limits,
                               lens_arena *arena, size_t drop_page, lens_onnx_model *out);

lens_status lens_onnx_parse(const uint8_t *data, size_t size, const char *base_dir, const lens_limits *limits,
                            lens_arena *arena, lens_onnx_model *out) {
    return parse_model(data, size, base_dir, limits, arena, 0, out);
}

lens_status lens_onnx_parse_mapped(const uint8_t *data, size_t size, const char *base_dir,
                                   const lens_limits *limits, lens_arena *arena, lens_onnx_model *out) {
    long pg = sysconf(_SC_PAGESIZE);
    return parse_model(data, size, base_dir, limits, arena, pg > 0 ? (size_t)pg : 4096, out);
}

static lens_status parse_model(const uint8_t *data, size_t size, const char *base_dir, const lens_limits *limits,
                               lens_arena *arena, size_t drop_page, lens_onnx_model *out) {
    if (!out || !arena || (!data && size))
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_onnx_parse: NULL argument");
    memset(out, 0, sizeof *out);
    out->producer_name = out->producer_version = out->domain = out->doc_string = "";
    if (!data) data = (const uint8_t *)"";
    lens_limits *lim = lens_arena_alloc(arena, sizeof *lim);
    if (!lim) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    lens_onnx_limits_resolve(limits, lim);
    if (size > lim->max_file_bytes)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "model is %zu bytes, more than the limit of %llu", size,
                          (unsigned long long)lim->max_file_bytes);
    lens_onnx_ctx c;
    memset(&c, 0, sizeof c);
    c.base_dir = base_dir;
    c.limits = lim;
    c.arena = arena;
    c.drop_page = drop_page;

    lens_pb r, gr;
    lens_pb_field f;
    lens_pb_init(&r, data, size, "ModelProto");
    bool has_graph = false, has_ir = false;
    size_t n_meta = 0;
    while (lens_pb_more(&r)) {
        LENS_TRY(lens_pb_next(&r, &f));
        span s;
        switch (f.num) {
        case MP_IR_VERSION:
            LENS_TRY(lens_pb_want(&r, &f, LENS_PB_VARINT, "ir_version"));
            out->ir_version = (int64_t)f.u;
            has_ir = true;
            break;
        case MP_MODEL_VERSION:
            LENS_TRY(lens_pb_want(&r, &f, LENS_PB_VARINT, "model_version"));
            out->model_version = (int64_t)f.u;
            break;
        case MP_PRODUCER_NAME: LENS_TRY(want_len(&r, &f, "producer_name", &s)); break;
        case MP_PRODUCER_VERSION: LENS_TRY(want_len(&r, &f, "producer_version", &s)); break;
        case MP_DOMAIN: LENS_TRY(want_len(&r, &f, "domain", &s)); break;
        case MP_DOC_STRING: LENS_TRY(want_len(&r, &f, "doc_string", &s)); break;
        case MP_GRAPH:
            LENS_TRY(lens_pb_sub(&r, &f, "GraphProto", &gr));
            has_graph = true;
            break;
        case MP_OPSET_IMPORT: LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "opset_import")); c.n_opsets++; break;
        case MP_METADATA_PROPS: LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "metadata_props")); n_meta++; break;
        case MP_FUNCTIONS: LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "functions")); c.n_funcs++; break;
        default: break;
        }
    }
    if (!has_ir) return lens_error(LENS_STATUS_INVALID_MODEL, "not an ONNX model: ModelProto has no ir_version");
    if (!has_graph) return lens_error(LENS_STATUS_INVALID_MODEL, "ModelProto has no graph");
    /* opset_import is required since IR version 3. */
    if (out->ir_version >= 3 && !c.n_opsets)
        return lens_error(LENS_STATUS_INVALID_MODEL, "ModelProto (IR version %lld) has no opset_import",
                          (long long)out->ir_version);

    c.opset_domains = lens_arena_alloc(arena, sizeof(char *) * (c.n_opsets + 1));
    c.opset_versions = lens_arena_alloc(arena, sizeof(int64_t) * (c.n_opsets + 1));
    c.func_domains = lens_arena_alloc(arena, sizeof(char *) * (c.n_funcs + 1));
    c.func_names = lens_arena_alloc(arena, sizeof(char *) * (c.n_funcs + 1));
    out->meta_keys = lens_arena_alloc(arena, sizeof(char *) * (n_meta + 1));
    out->meta_values = lens_arena_alloc(arena, sizeof(char *) * (n_meta + 1));
    if (!c.opset_domains || !c.opset_versions || !c.func_domains || !c.func_names || !out->meta_keys ||
        !out->meta_values)
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    size_t ko = 0, kf = 0;
    r.pos = 0;
    while (lens_pb_more(&r)) {
        LENS_TRY(lens_pb_next(&r, &f));
        span k, v;
        int64_t ver;
        switch (f.num) {
        case MP_PRODUCER_NAME: LENS_TRY(span_dup(&c, span_of(&r, &f), "producer_name", &out->producer_name)); break;
        case MP_PRODUCER_VERSION:
            LENS_TRY(span_dup(&c, span_of(&r, &f), "producer_version", &out->producer_version));
            break;
        case MP_DOMAIN: LENS_TRY(span_dup(&c, span_of(&r, &f), "domain", &out->domain)); break;
        case MP_DOC_STRING: {
            /* Free text: keep it even with NULs (truncated there). */
            char *d = lens_arena_strndup(arena, (const char *)r.base + f.off, f.len);
            if (!d) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
            out->doc_string = d;
            break;
        }
        case MP_OPSET_IMPORT: {
            const char *d;
            LENS_TRY(read_pair(&r, &f, "OperatorSetIdProto", 1, 2, true, &k, &v, &ver));
            LENS_TRY(span_dup(&c, k, "opset domain", &d));
            d = norm_domain(d);
            for (size_t j = 0; j < ko; j++)
                if (!strcmp(c.opset_domains[j], d) && c.opset_versions[j] != ver)
                    return lens_error(LENS_STATUS_INVALID_MODEL, "opset_import lists domain '%s' twice (%lld and %lld)",
                                      d, (long long)c.opset_versions[j], (long long)ver);
            c.opset_domains[ko] = d;
            c.opset_versions[ko++] = ver;
            break;
        }
        case MP_METADATA_PROPS: {
            LENS_TRY(read_pair(&r, &f, "StringStringEntryProto", 1, 2, false, &k, &v, NULL));
            char *kd = lens_arena_strndup(arena, (const char *)k.p, k.n);
            char *vd = lens_arena_strndup(arena, (const char *)v.p, v.n);
            if (!kd || !vd) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
            out->meta_keys[out->n_meta] = kd;
            out->meta_values[out->n_meta++] = vd;
            break;
        }
        case MP_FUNCTIONS: {
            /* FunctionProto: name = 1, domain = 10. */
            LENS_TRY(read_pair(&r, &f, "FunctionProto", 1, 10, false, &k, &v, NULL));
            LENS_TRY(span_dup(&c, k, "function name", &c.func_names[kf]));
            LENS_TRY(span_dup(&c, v, "function domain", &c.func_domains[kf]));
            kf++;
            break;
        }
        default: break;
        }
    }
    c.n_opsets = ko;
    c.n_funcs = kf;

    lens_graph *g = lens_graph_new(arena, NULL, lim);
    if (!g) return LENS_STATUS_OUT_OF_MEMORY;
    lens_status st = parse_graph(&c, g, &gr);
    if (st == LENS_OK) st = lens_graph_finalize(g);
    if (st != LENS_OK) {
        lens_graph_free(g);
        return st;
    }
    out->graph = g;
    out->n_opsets = c.n_opsets;
    out->opset_domains = c.opset_domains;
    out->opset_versions = c.opset_versions;
    return LENS_OK;
}
