/* Opening a model: map the file, parse it, resolve operators, optimise,
 * let each operator prepare (pack weights), and describe inputs/outputs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/runtime.h"

void lens_limits_resolve(const lens_limits *in, lens_limits *out) {
    lens_limits d = {
        .max_file_bytes = 4ull << 30,
        .max_tensor_elements = 1ull << 31,
        .max_tensor_bytes = 4ull << 30,
        .max_plan_bytes = 16ull << 30,
        .max_nodes = 1000000,
        .max_graph_depth = 16,
    };
    if (in) {
        if (in->max_file_bytes) d.max_file_bytes = in->max_file_bytes;
        if (in->max_tensor_elements) d.max_tensor_elements = in->max_tensor_elements;
        if (in->max_tensor_bytes) d.max_tensor_bytes = in->max_tensor_bytes;
        if (in->max_plan_bytes) d.max_plan_bytes = in->max_plan_bytes;
        if (in->max_nodes) d.max_nodes = in->max_nodes;
        if (in->max_graph_depth) d.max_graph_depth = in->max_graph_depth;
    }
    *out = d;
}

/* Collect (domain, op_type, opset) of every node lens cannot run, in this
 * graph and its subgraphs, deduplicated, into a malloc'd list. */
typedef struct missing_list {
    char **names;
    size_t n, cap;
} missing_list;

static lens_status missing_add(missing_list *l, const lens_node *n) {
    char buf[256];
    if (n->domain[0]) snprintf(buf, sizeof buf, "%s:%s (opset %lld)", n->domain, n->op_type, (long long)n->opset);
    else snprintf(buf, sizeof buf, "%s (opset %lld)", n->op_type, (long long)n->opset);
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->names[i], buf)) return LENS_OK;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **nn = realloc(l->names, cap * sizeof *nn);
        if (!nn) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
        l->names = nn;
        l->cap = cap;
    }
    l->names[l->n] = strdup(buf);
    if (!l->names[l->n]) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    l->n++;
    return LENS_OK;
}

static lens_status resolve_ops(lens_graph *g, missing_list *miss) {
    for (int32_t i = 0; i < g->n_nodes; i++) {
        lens_node *n = &g->nodes[i];
        n->op = lens_op_find(n->domain, n->op_type, n->opset);
        if (!n->op || !n->op->run) {
            n->op = NULL;
            LENS_TRY(missing_add(miss, n));
        }
        for (int32_t a = 0; a < n->n_attrs; a++) {
            const lens_attr *at = &n->attrs[a];
            if (at->type == LENS_ATTR_GRAPH && at->g) LENS_TRY(resolve_ops(at->g, miss));
            if (at->type == LENS_ATTR_GRAPHS)
                for (int64_t k = 0; k < at->n; k++)
                    if (at->graphs[k]) LENS_TRY(resolve_ops(at->graphs[k], miss));
        }
    }
    return LENS_OK;
}

static void missing_free(missing_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof *l);
}

/* Give back the resident pages of lens's own read-only file mapping. The
 * parser copies tensors whose raw_data is not aligned out of the mapping,
 * and operators pack their constant weights at load, so after either step
 * most of the file's pages are no longer read; left resident, they count
 * once more on top of the copies (convnext_tiny: 318 MB after load for
 * 109 MB of weights). MADV_DONTNEED on a private, never-written file
 * mapping only drops pages: whatever is still read (tensors used in
 * place) faults back in from the page cache with the same bytes. Only for
 * the mapping made by lens_model_open, never for a caller's buffer. */
static void drop_file_pages(const uint8_t *map, size_t size) {
    if (map && size) (void)madvise((void *)(uintptr_t)map, size, MADV_DONTNEED);
}

static lens_status init_ops(lens_graph *g) {
    for (int32_t i = 0; i < g->n_nodes; i++) {
        lens_node *n = &g->nodes[i];
        for (int32_t a = 0; a < n->n_attrs; a++) {
            const lens_attr *at = &n->attrs[a];
            if (at->type == LENS_ATTR_GRAPH && at->g) LENS_TRY(init_ops(at->g));
            if (at->type == LENS_ATTR_GRAPHS)
                for (int64_t k = 0; k < at->n; k++)
                    if (at->graphs[k]) LENS_TRY(init_ops(at->graphs[k]));
        }
        if (n->op->init && !n->state) {
            lens_status st = n->op->init(g, n);
            if (st != LENS_OK) {
                lens_error_prefix("node '%s' (%s): ", n->name, n->op_type);
                return st;
            }
        }
    }
    return LENS_OK;
}

static lens_status build_histogram(lens_model *m) {
    const lens_graph *g = m->graph;
    m->hist_ops = lens_arena_alloc(&m->arena, sizeof(char *) * (size_t)(g->n_nodes + 1));
    m->hist_counts = lens_arena_alloc(&m->arena, sizeof(int64_t) * (size_t)(g->n_nodes + 1));
    if (!m->hist_ops || !m->hist_counts) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const char *op = g->nodes[i].op_type;
        size_t k = 0;
        while (k < m->n_hist && strcmp(m->hist_ops[k], op)) k++;
        if (k == m->n_hist) m->hist_ops[m->n_hist++] = op;
        m->hist_counts[k]++;
    }
    return LENS_OK;
}

static lens_status describe(lens_model *m, const lens_graph *g, const int32_t *idx, int32_t n, lens_value_info **out) {
    lens_value_info *vi = lens_arena_alloc(&m->arena, sizeof *vi * (size_t)(n ? n : 1));
    if (!vi) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    for (int32_t i = 0; i < n; i++) {
        const lens_value *v = &g->values[idx[i]];
        vi[i].name = v->name;
        vi[i].dtype = v->dtype;
        if (v->ndim > LENS_MAX_DIMS)
            return lens_error(LENS_STATUS_UNSUPPORTED, "graph input/output '%s' has rank %d (lens supports up to %d)",
                              v->name, v->ndim, LENS_MAX_DIMS);
        vi[i].ndim = v->ndim;
        for (int32_t k = 0; k < v->ndim; k++) {
            vi[i].dims[k] = v->dims[k];
            vi[i].dim_names[k] = v->dim_names ? v->dim_names[k] : NULL;
        }
    }
    *out = vi;
    return LENS_OK;
}

static lens_status open_bytes(lens_model *m, const uint8_t *data, size_t size, const char *dir,
                              const lens_model_options *opt, bool own_map) {
    lens_limits_resolve(opt ? &opt->limits : NULL, &m->limits);
    if (size > m->limits.max_file_bytes)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "model is %zu bytes, over the limit of %llu", size,
                          (unsigned long long)m->limits.max_file_bytes);
    LENS_TRY(lens_onnx_parse(data, size, dir, &m->limits, &m->arena, &m->onnx));
    if (own_map) drop_file_pages(data, size);
    m->graph = m->onnx.graph;
    LENS_TRY(build_histogram(m));
    missing_list miss = {0};
    lens_status st = resolve_ops(m->graph, &miss);
    if (st == LENS_OK && miss.n) {
        char buf[900];
        size_t u = 0;
        for (size_t i = 0; i < miss.n && u < sizeof buf; i++)
            u += (size_t)snprintf(buf + u, sizeof buf - u, "%s%s", i ? ", " : "", miss.names[i]);
        st = lens_error(LENS_STATUS_UNSUPPORTED_OP, "lens cannot run %zu operator(s) in this model: %s", miss.n, buf);
    }
    missing_free(&miss);
    LENS_TRY(st);
    if (!opt || !opt->disable_optimizations) {
        lens_model_layout layout = opt ? (lens_model_layout)opt->layout : LENS_MODEL_LAYOUT_AUTO;
        if (layout != LENS_MODEL_LAYOUT_AUTO && layout != LENS_MODEL_LAYOUT_NCHW && layout != LENS_MODEL_LAYOUT_NHWC)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_model_options.layout is %d (not a lens_model_layout)",
                              (int)opt->layout);
        LENS_TRY(lens_graph_optimize(m->graph, lens_layout_resolve(layout)));
    }
    LENS_TRY(init_ops(m->graph));
    if (own_map) drop_file_pages(data, size);
    const lens_graph *g = m->graph;
    m->n_inputs = (size_t)g->n_inputs;
    m->n_outputs = (size_t)g->n_outputs;
    LENS_TRY(describe(m, g, g->inputs, g->n_inputs, &m->inputs));
    LENS_TRY(describe(m, g, g->outputs, g->n_outputs, &m->outputs));
    return LENS_OK;
}

static lens_status map_file(const char *path, void **map, size_t *size, uint64_t max_bytes) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lens_error(LENS_STATUS_IO_ERROR, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return lens_error(LENS_STATUS_IO_ERROR, "'%s' is not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_bytes) {
        close(fd);
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "'%s' is %lld bytes, over the limit of %llu", path,
                          (long long)st.st_size, (unsigned long long)max_bytes);
    }
    if (st.st_size == 0) {
        close(fd);
        return lens_error(LENS_STATUS_INVALID_MODEL, "'%s' is empty", path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return lens_error(LENS_STATUS_IO_ERROR, "cannot map '%s': %s", path, strerror(errno));
    *map = p;
    *size = (size_t)st.st_size;
    return LENS_OK;
}

static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return lens_strdup(".");
    if (slash == path) return lens_strdup("/");
    return lens_strndup(path, (size_t)(slash - path));
}

lens_status lens_model_open(const char *path, const lens_model_options *opt, lens_model **out) {
    if (!out || !path) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_model_open: NULL argument");
    *out = NULL;
    lens_model *m = lens_calloc(1, sizeof *m);
    if (!m) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory opening model");
    lens_limits lim;
    lens_limits_resolve(opt ? &opt->limits : NULL, &lim);
    lens_status st = map_file(path, &m->map, &m->map_size, lim.max_file_bytes);
    char *dir = NULL;
    if (st == LENS_OK) {
        dir = dir_of(path);
        if (!dir) st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    }
    if (st == LENS_OK) st = open_bytes(m, m->map, m->map_size, dir, opt, true);
    lens_free(dir);
    if (st != LENS_OK) {
        lens_error_prefix("%s: ", path);
        lens_model_free(m);
        return st;
    }
    *out = m;
    return LENS_OK;
}

lens_status lens_model_open_memory(const void *data, size_t size, const lens_model_options *opt, lens_model **out) {
    if (!out || (!data && size)) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_model_open_memory: NULL argument");
    *out = NULL;
    lens_model *m = lens_calloc(1, sizeof *m);
    if (!m) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory opening model");
    lens_status st = open_bytes(m, data, size, NULL, opt, false);
    if (st != LENS_OK) {
        lens_model_free(m);
        return st;
    }
    *out = m;
    return LENS_OK;
}

void lens_model_free(lens_model *m) {
    if (!m) return;
    lens_graph_free(m->onnx.graph);
    lens_arena_free(&m->arena);
    if (m->map) munmap(m->map, m->map_size);
    lens_free(m);
}

lens_status lens_model_check_ops(const char *path, char ***names, size_t *count) {
    if (!path || !names || !count) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_model_check_ops: NULL argument");
    *names = NULL;
    *count = 0;
    lens_model m;
    memset(&m, 0, sizeof m);
    lens_limits_resolve(NULL, &m.limits);
    lens_status st = map_file(path, &m.map, &m.map_size, m.limits.max_file_bytes);
    char *dir = NULL;
    if (st == LENS_OK) {
        dir = dir_of(path);
        if (!dir) st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    }
    if (st == LENS_OK) st = lens_onnx_parse(m.map, m.map_size, dir, &m.limits, &m.arena, &m.onnx);
    lens_free(dir);
    missing_list miss = {0};
    if (st == LENS_OK) st = resolve_ops(m.onnx.graph, &miss);
    if (st == LENS_OK) {
        *names = miss.names;
        *count = miss.n;
    } else {
        missing_free(&miss);
    }
    lens_graph_free(m.onnx.graph);
    lens_arena_free(&m.arena);
    if (m.map) munmap(m.map, m.map_size);
    return st;
}

size_t lens_model_input_count(const lens_model *m) { return m ? m->n_inputs : 0; }
size_t lens_model_output_count(const lens_model *m) { return m ? m->n_outputs : 0; }

lens_status lens_model_input_info(const lens_model *m, size_t i, lens_value_info *out) {
    if (!m || !out || i >= m->n_inputs)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "input index %zu out of range", i);
    *out = m->inputs[i];
    return LENS_OK;
}

lens_status lens_model_output_info(const lens_model *m, size_t i, lens_value_info *out) {
    if (!m || !out || i >= m->n_outputs)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "output index %zu out of range", i);
    *out = m->outputs[i];
    return LENS_OK;
}

int64_t lens_model_input_index(const lens_model *m, const char *name) {
    if (!m || !name) return -1;
    for (size_t i = 0; i < m->n_inputs; i++)
        if (!strcmp(m->inputs[i].name, name)) return (int64_t)i;
    return -1;
}

size_t lens_model_metadata_count(const lens_model *m) { return m ? m->onnx.n_meta : 0; }

lens_status lens_model_metadata_at(const lens_model *m, size_t i, const char **key, const char **value) {
    if (!m || i >= m->onnx.n_meta) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "metadata index %zu out of range", i);
    if (key) *key = m->onnx.meta_keys[i];
    if (value) *value = m->onnx.meta_values[i];
    return LENS_OK;
}

const char *lens_model_metadata_get(const lens_model *m, const char *key) {
    if (!m || !key) return NULL;
    for (size_t i = 0; i < m->onnx.n_meta; i++)
        if (!strcmp(m->onnx.meta_keys[i], key)) return m->onnx.meta_values[i];
    return NULL;
}

const char *lens_model_producer(const lens_model *m) {
    return m && m->onnx.producer_name ? m->onnx.producer_name : "";
}

int64_t lens_model_ir_version(const lens_model *m) { return m ? m->onnx.ir_version : 0; }

size_t lens_model_opset_count(const lens_model *m) { return m ? m->onnx.n_opsets : 0; }

lens_status lens_model_opset_at(const lens_model *m, size_t i, const char **domain, int64_t *version) {
    if (!m || i >= m->onnx.n_opsets) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "opset index %zu out of range", i);
    if (domain) *domain = m->onnx.opset_domains[i];
    if (version) *version = m->onnx.opset_versions[i];
    return LENS_OK;
}

size_t lens_model_op_count(const lens_model *m) { return m ? m->n_hist : 0; }

lens_status lens_model_op_at(const lens_model *m, size_t i, const char **op_type, int64_t *count) {
    if (!m || i >= m->n_hist) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "operator index %zu out of range", i);
    if (op_type) *op_type = m->hist_ops[i];
    if (count) *count = m->hist_counts[i];
    return LENS_OK;
}
