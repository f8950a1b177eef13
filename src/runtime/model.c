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

/* ---- releasing constants that only packed forms read --------------------- */

/* Every data pointer held by a value's constant or an attribute tensor of g
 * and its subgraphs: counted (list NULL) or stored at list[*n...]. */
static void collect_refs(const lens_graph *g, void **list, size_t *n) {
    for (int32_t v = 0; v < g->n_values; v++) {
        const lens_tensor *t = g->values[v].constant;
        if (t && t->data) {
            if (list) list[*n] = t->data;
            (*n)++;
        }
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const lens_node *nd = &g->nodes[i];
        for (int32_t a = 0; a < nd->n_attrs; a++) {
            const lens_attr *at = &nd->attrs[a];
            if (at->type == LENS_ATTR_TENSOR && at->t && at->t->data) {
                if (list) list[*n] = at->t->data;
                (*n)++;
            }
            if (at->type == LENS_ATTR_TENSORS && at->tensors)
                for (int64_t k = 0; k < at->n; k++)
                    if (at->tensors[k].data) {
                        if (list) list[*n] = at->tensors[k].data;
                        (*n)++;
                    }
            if (at->type == LENS_ATTR_GRAPH && at->g) collect_refs(at->g, list, n);
            if (at->type == LENS_ATTR_GRAPHS)
                for (int64_t k = 0; k < at->n; k++)
                    if (at->graphs[k]) collect_refs(at->graphs[k], list, n);
        }
    }
}

static int cmp_ptr(const void *a, const void *b) {
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return (x > y) - (x < y);
}

/* How many times p occurs in the sorted list. */
static size_t count_sorted(void *const *list, size_t n, const void *p) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)list[mid] < (uintptr_t)p) lo = mid + 1;
        else hi = mid;
    }
    size_t c = 0;
    while (lo + c < n && list[lo + c] == p) c++;
    return c;
}

/* Weights are held once: the data of each constant of the main graph that
 * is read only through input slots its operators' init marked packed
 * (lens_node.packed_inputs, ops/op.h) is given back as soon as the last
 * of those operators has packed it, during init_ops, so that the raw
 * copies never pile up beside the packed ones. A constant is released only
 * when
 *   - every input slot of every live node that reads it is marked packed
 *     (a constant nobody reads, such as the W a BatchNorm was folded away
 *     from, goes before the first init),
 *   - it is not a graph output nor a graph input, not an implicit input of
 *     a node's subgraphs (nested subgraphs reach it through that node),
 *   - its data is held by no other value and no attribute, and
 *   - its data is a releasable piece of the arena (a copy made at parse or
 *     by the optimiser: freed) or lies in the model's bytes (read in place:
 *     nothing to free; with lens's own mapping its whole pages are dropped
 *     at once, the rest when load ends).
 * Constants of subgraphs are left alone. The value keeps dtype and dims;
 * constant->data becomes NULL and value->released is set, so a stray read
 * fails at once instead of reading freed memory. Constant folding has run
 * already (lens_graph_optimize); after load, constants are read only by
 * operators' run(). */
typedef struct releaser {
    lens_model *m;
    const uint8_t *bytes; /* the model's bytes, for tensors read in place */
    size_t size;
    bool own_map;         /* bytes are lens's own mapping: pages may be dropped */
    size_t page;
    size_t *readers;      /* per value: input slots of live nodes whose init has not run */
    uint8_t *keep;        /* per value: never released */
} releaser;

static void release_value(releaser *r, int32_t v) {
    lens_value *val = &r->m->graph->values[v];
    lens_tensor *t = val->constant;
    uintptr_t p = (uintptr_t)t->data, lo = (uintptr_t)r->bytes;
    size_t nbytes = 0;
    if (r->bytes && p >= lo && p - lo < r->size) {
        /* In place: drop the pages that hold only this tensor. */
        if (r->own_map && lens_tensor_nbytes(t, &nbytes) && nbytes <= r->size - (p - lo)) {
            uintptr_t first = (p + r->page - 1) / r->page * r->page, end = (p + nbytes) / r->page * r->page;
            if (end > first) (void)madvise((void *)first, end - first, MADV_DONTNEED);
        }
    } else {
        lens_arena_release(&r->m->arena, t->data);
    }
    t->data = NULL;
    val->released = true;
    r->keep[v] = 1; /* once */
}

/* Decide, for every value of the main graph, whether it may be released
 * and how many reads stand before that; release the unread ones now. */
static lens_status releaser_init(releaser *r, lens_model *m, const uint8_t *bytes, size_t size, bool own_map) {
    memset(r, 0, sizeof *r);
    r->m = m, r->bytes = bytes, r->size = size, r->own_map = own_map;
    long pg = sysconf(_SC_PAGESIZE);
    r->page = pg > 0 ? (size_t)pg : 4096;
    lens_graph *g = m->graph;
    size_t nv = (size_t)(g->n_values ? g->n_values : 1), n_refs = 0, n_pieces = m->arena.n_pieces;
    collect_refs(g, NULL, &n_refs);
    void **refs = lens_malloc(sizeof(void *) * (n_refs ? n_refs : 1));
    void **pieces = lens_malloc(sizeof(void *) * (n_pieces ? n_pieces : 1));
    r->readers = lens_calloc(nv, sizeof *r->readers);
    r->keep = lens_calloc(nv, 1);
    lens_status st = LENS_OK;
    if (!refs || !pieces || !r->readers || !r->keep) {
        st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory preparing to release packed weights");
        goto done;
    }
    size_t k = 0;
    collect_refs(g, refs, &k);
    qsort(refs, n_refs, sizeof *refs, cmp_ptr);
    lens_arena_list_pieces(&m->arena, pieces);
    qsort(pieces, n_pieces, sizeof *pieces, cmp_ptr);
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const lens_node *nd = &g->nodes[i];
        if (nd->dead) continue;
        for (int32_t j = 0; j < nd->n_inputs; j++)
            if (nd->inputs[j] >= 0) r->readers[nd->inputs[j]]++;
        for (int32_t j = 0; j < nd->n_implicit; j++)
            if (nd->implicit[j] >= 0) r->keep[nd->implicit[j]] = 1;
    }
    for (int32_t v = 0; v < g->n_values; v++) {
        const lens_value *val = &g->values[v];
        const lens_tensor *t = val->constant;
        if (!t || !t->data || val->is_output || val->is_input || val->released ||
            count_sorted(refs, n_refs, t->data) != 1) {
            r->keep[v] = 1;
            continue;
        }
        uintptr_t p = (uintptr_t)t->data, lo = (uintptr_t)bytes;
        bool in_place = bytes && p >= lo && p - lo < size;
        if (!in_place && count_sorted(pieces, n_pieces, t->data) != 1) r->keep[v] = 1;
    }
    for (int32_t v = 0; v < g->n_values; v++)
        if (!r->keep[v] && r->readers[v] == 0) release_value(r, v);
done:
    lens_free(refs);
    lens_free(pieces);
    return st;
}

/* Node nd of the main graph has run its init: count its reads down. */
static void releaser_node_done(releaser *r, const lens_node *nd) {
    for (int32_t j = 0; j < nd->n_inputs; j++) {
        int32_t v = nd->inputs[j];
        if (v < 0) continue;
        if (!(j < 32 && (nd->packed_inputs >> j & 1))) r->keep[v] = 1;
        if (--r->readers[v] == 0 && !r->keep[v]) release_value(r, v);
    }
}

static void releaser_free(releaser *r) {
    lens_free(r->readers);
    lens_free(r->keep);
    r->readers = NULL;
    r->keep = NULL;
}

/* Run every operator's init (subgraphs first); r: the main graph's
 * releaser, NULL for subgraphs. */
static lens_status init_ops(lens_graph *g, releaser *r) {
    for (int32_t i = 0; i < g->n_nodes; i++) {
        lens_node *n = &g->nodes[i];
        for (int32_t a = 0; a < n->n_attrs; a++) {
            const lens_attr *at = &n->attrs[a];
            if (at->type == LENS_ATTR_GRAPH && at->g) LENS_TRY(init_ops(at->g, NULL));
            if (at->type == LENS_ATTR_GRAPHS)
                for (int64_t k = 0; k < at->n; k++)
                    if (at->graphs[k]) LENS_TRY(init_ops(at->graphs[k], NULL));
        }
        if (n->op->init && !n->state) {
            lens_status st = n->op->init(g, n);
            if (st != LENS_OK) {
                lens_error_prefix("node '%s' (%s): ", n->name, n->op_type);
                return st;
            }
        }
        if (r && !n->dead) releaser_node_done(r, n);
    }
    return LENS_OK;
}

void lens_model_weight_stats(const lens_model *m, lens_weight_stats *out) {
    memset(out, 0, sizeof *out);
    if (!m || !m->graph) return;
    const lens_graph *g = m->graph;
    out->copied_bytes = m->arena.piece_bytes;
    for (int32_t v = 0; v < g->n_values; v++) {
        const lens_value *val = &g->values[v];
        size_t b = 0;
        if (!val->constant || !lens_tensor_nbytes(val->constant, &b)) continue;
        if (val->released) out->released_bytes += b;
        else out->constant_bytes += b;
    }
    for (int32_t i = 0; i < g->n_nodes; i++) out->packed_bytes += g->nodes[i].state_bytes;
}

void lens_model_layout_stats(const lens_model *m, lens_layout_stats *out) {
    memset(out, 0, sizeof *out);
    if (!m || !m->graph) return;
    const lens_graph *g = m->graph;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const lens_node *n = &g->nodes[i];
        if (n->dead) continue;
        out->nodes++;
        size_t len = strlen(n->op_type);
        if (!strcmp(n->domain, "lens") && len >= 4 && !strcmp(n->op_type + len - 4, "Nhwc")) out->nhwc_nodes++;
        if (!n->domain[0] && !strcmp(n->op_type, "Transpose")) out->transposes++;
    }
    for (size_t k = 0; k < m->n_hist; k++)
        if (!strcmp(m->hist_ops[k], "Transpose")) out->transposes_loaded += (size_t)m->hist_counts[k];
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
    LENS_TRY(own_map ? lens_onnx_parse_mapped(data, size, dir, &m->limits, &m->arena, &m->onnx)
                     : lens_onnx_parse(data, size, dir, &m->limits, &m->arena, &m->onnx));
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
    releaser rel;
    lens_status rs = releaser_init(&rel, m, data, size, own_map);
    if (rs == LENS_OK) rs = init_ops(m->graph, &rel);
    releaser_free(&rel);
    LENS_TRY(rs);
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
