/* Graph construction, name lookup, topological sort and attribute access. */
#include "graph/ir.h"
#include "ops/op.h"

#include <stdio.h>

static uint32_t hash_str(const char *s) {
    uint32_t h = 2166136261u;
    while (*s) h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

lens_graph *lens_graph_new(lens_arena *arena, lens_graph *parent, const lens_limits *limits) {
    lens_graph *g = lens_calloc(1, sizeof *g);
    if (!g) {
        lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory creating graph");
        return NULL;
    }
    g->arena = arena;
    g->parent = parent;
    g->depth = parent ? parent->depth + 1 : 0;
    g->limits = limits;
    g->name = "";
    return g;
}

void lens_graph_free(lens_graph *g) {
    if (!g) return;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        lens_node *n = &g->nodes[i];
        if (n->op && n->op->fini && n->state) n->op->fini(n);
        for (int32_t a = 0; a < n->n_attrs; a++) {
            if (n->attrs[a].type == LENS_ATTR_GRAPH) lens_graph_free(n->attrs[a].g);
            if (n->attrs[a].type == LENS_ATTR_GRAPHS)
                for (int64_t k = 0; k < n->attrs[a].n; k++) lens_graph_free(n->attrs[a].graphs[k]);
        }
    }
    lens_free(g->values);
    lens_free(g->nodes);
    lens_free(g->hash);
    lens_free(g);
}

int32_t lens_graph_find(const lens_graph *g, const char *name) {
    if (!g->hash_cap) return -1;
    uint32_t mask = (uint32_t)g->hash_cap - 1;
    for (uint32_t h = hash_str(name) & mask;; h = (h + 1) & mask) {
        int32_t v = g->hash[h];
        if (v < 0) return -1;
        if (!strcmp(g->values[v].name, name)) return v;
    }
}

static bool rehash(lens_graph *g, int32_t cap) {
    int32_t *h = lens_malloc((size_t)cap * sizeof(int32_t));
    if (!h) return false;
    for (int32_t i = 0; i < cap; i++) h[i] = -1;
    uint32_t mask = (uint32_t)cap - 1;
    for (int32_t v = 0; v < g->n_values; v++) {
        uint32_t k = hash_str(g->values[v].name) & mask;
        while (h[k] >= 0) k = (k + 1) & mask;
        h[k] = v;
    }
    lens_free(g->hash);
    g->hash = h;
    g->hash_cap = cap;
    return true;
}

int32_t lens_graph_value(lens_graph *g, const char *name) {
    int32_t v = lens_graph_find(g, name);
    if (v >= 0) return v;
    if (g->limits && g->limits->max_nodes && (uint64_t)g->n_values >= 4 * g->limits->max_nodes + 1024) {
        lens_error(LENS_STATUS_LIMIT_EXCEEDED, "graph has too many values (limit %llu nodes)",
                   (unsigned long long)g->limits->max_nodes);
        return -1;
    }
    if (g->n_values == g->cap_values) {
        int32_t cap = g->cap_values ? g->cap_values * 2 : 64;
        lens_value *nv = lens_realloc(g->values, (size_t)cap * sizeof *nv);
        if (!nv) goto oom;
        g->values = nv;
        g->cap_values = cap;
    }
    if ((g->n_values + 1) * 2 > g->hash_cap && !rehash(g, g->hash_cap ? g->hash_cap * 2 : 128)) goto oom;
    lens_value *val = &g->values[g->n_values];
    memset(val, 0, sizeof *val);
    val->name = lens_arena_strdup(g->arena, name);
    if (!val->name) goto oom;
    val->ndim = -1;
    val->producer = -1;
    val->outer = -1;
    v = g->n_values++;
    uint32_t mask = (uint32_t)g->hash_cap - 1;
    uint32_t k = hash_str(name) & mask;
    while (g->hash[k] >= 0) k = (k + 1) & mask;
    g->hash[k] = v;
    return v;
oom:
    lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory building graph");
    return -1;
}

int32_t lens_graph_add_node(lens_graph *g, const char *op_type, const char *domain, const char *name,
                            int32_t n_inputs, int32_t n_outputs) {
    if (g->limits && g->limits->max_nodes && (uint64_t)g->n_nodes >= g->limits->max_nodes) {
        lens_error(LENS_STATUS_LIMIT_EXCEEDED, "graph has more than %llu nodes",
                   (unsigned long long)g->limits->max_nodes);
        return -1;
    }
    if (n_inputs < 0 || n_outputs < 0 || n_inputs > 1 << 20 || n_outputs > 1 << 20) {
        lens_error(LENS_STATUS_INVALID_MODEL, "node '%s' has an absurd number of inputs/outputs", name);
        return -1;
    }
    if (g->n_nodes == g->cap_nodes) {
        int32_t cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        lens_node *nn = lens_realloc(g->nodes, (size_t)cap * sizeof *nn);
        if (!nn) goto oom;
        g->nodes = nn;
        g->cap_nodes = cap;
    }
    lens_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op_type = lens_arena_strdup(g->arena, op_type);
    n->domain = lens_arena_strdup(g->arena, (domain && strcmp(domain, "ai.onnx")) ? domain : "");
    n->name = lens_arena_strdup(g->arena, name ? name : "");
    n->inputs = lens_arena_alloc(g->arena, sizeof(int32_t) * (size_t)(n_inputs ? n_inputs : 1));
    n->outputs = lens_arena_alloc(g->arena, sizeof(int32_t) * (size_t)(n_outputs ? n_outputs : 1));
    if (!n->op_type || !n->domain || !n->name || !n->inputs || !n->outputs) goto oom;
    for (int32_t i = 0; i < n_inputs; i++) n->inputs[i] = -1;
    for (int32_t i = 0; i < n_outputs; i++) n->outputs[i] = -1;
    n->n_inputs = n_inputs;
    n->n_outputs = n_outputs;
    return g->n_nodes++;
oom:
    lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory building graph");
    return -1;
}

/* Resolve a name not defined in g against the enclosing graphs, creating
 * pass-through "outer" values in the intermediate graphs as needed. */
static int32_t resolve_outer(lens_graph *g, const char *name) {
    lens_graph *p = g->parent;
    if (!p) return -1;
    int32_t v = lens_graph_find(p, name);
    bool defined = v >= 0 && (p->values[v].producer >= 0 || p->values[v].is_input ||
                              p->values[v].constant || p->values[v].outer >= 0);
    if (defined) return v;
    int32_t up = resolve_outer(p, name);
    if (up < 0) return -1;
    v = lens_graph_value(p, name);
    if (v < 0) return -1;
    p->values[v].outer = up;
    return v;
}

void lens_graph_relink(lens_graph *g) {
    int32_t w = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead) {
            lens_node *n = &g->nodes[i];
            if (n->op && n->op->fini && n->state) n->op->fini(n);
            n->state = NULL;
            for (int32_t a = 0; a < n->n_attrs; a++) {
                if (n->attrs[a].type == LENS_ATTR_GRAPH) lens_graph_free(n->attrs[a].g);
                if (n->attrs[a].type == LENS_ATTR_GRAPHS)
                    for (int64_t k = 0; k < n->attrs[a].n; k++) lens_graph_free(n->attrs[a].graphs[k]);
                n->attrs[a].type = LENS_ATTR_UNDEFINED;
            }
            continue;
        }
        if (w != i) g->nodes[w] = g->nodes[i];
        w++;
    }
    g->n_nodes = w;
    for (int32_t v = 0; v < g->n_values; v++) {
        g->values[v].producer = -1;
        g->values[v].n_consumers = 0;
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        lens_node *n = &g->nodes[i];
        for (int32_t k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) g->values[n->inputs[k]].n_consumers++;
        for (int32_t k = 0; k < n->n_implicit; k++) g->values[n->implicit[k]].n_consumers++;
        for (int32_t k = 0; k < n->n_outputs; k++)
            if (n->outputs[k] >= 0) g->values[n->outputs[k]].producer = i;
    }
    for (int32_t k = 0; k < g->n_outputs; k++) g->values[g->outputs[k]].n_consumers++;
}

/* Names a subgraph uses from outside itself also count as uses of the
 * enclosing node (for liveness in the parent). */
lens_status lens_graph_finalize(lens_graph *g) {
    /* producers; detect double definitions */
    for (int32_t v = 0; v < g->n_values; v++) g->values[v].producer = -1;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        lens_node *n = &g->nodes[i];
        for (int32_t k = 0; k < n->n_outputs; k++) {
            int32_t o = n->outputs[k];
            if (o < 0) continue;
            lens_value *val = &g->values[o];
            if (val->producer >= 0 || val->is_input || val->constant)
                return lens_error(LENS_STATUS_INVALID_MODEL, "value '%s' is defined more than once (node '%s')",
                                  val->name, n->name);
            val->producer = i;
        }
    }
    /* undefined names: outer scope or error */
    for (int32_t v = 0; v < g->n_values; v++) {
        lens_value *val = &g->values[v];
        if (val->producer >= 0 || val->is_input || val->constant || val->outer >= 0) continue;
        int32_t up = resolve_outer(g, val->name);
        if (up < 0)
            return lens_error(LENS_STATUS_INVALID_MODEL, "value '%s' is used but never defined%s", val->name,
                              g->parent ? " (in a subgraph)" : "");
        g->values[v].outer = up;
    }
    /* subgraphs, then their outer references become implicit inputs */
    for (int32_t i = 0; i < g->n_nodes; i++) {
        lens_node *n = &g->nodes[i];
        int32_t cnt = 0;
        for (int pass = 0; pass < 2; pass++) {
            for (int32_t a = 0; a < n->n_attrs; a++) {
                lens_attr *at = &n->attrs[a];
                int64_t ng = at->type == LENS_ATTR_GRAPH ? 1 : at->type == LENS_ATTR_GRAPHS ? at->n : 0;
                for (int64_t k = 0; k < ng; k++) {
                    lens_graph *sub = at->type == LENS_ATTR_GRAPH ? at->g : at->graphs[k];
                    if (!sub) continue;
                    if (pass == 0) {
                        if (g->limits && g->limits->max_graph_depth &&
                            (uint32_t)sub->depth > g->limits->max_graph_depth)
                            return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "subgraphs nested deeper than %u",
                                              g->limits->max_graph_depth);
                        LENS_TRY(lens_graph_finalize(sub));
                    }
                    for (int32_t v = 0; v < sub->n_values; v++) {
                        if (sub->values[v].outer < 0) continue;
                        if (pass == 1) {
                            int32_t pv = sub->values[v].outer;
                            bool dup = false;
                            for (int32_t j = 0; j < cnt; j++) dup |= n->implicit[j] == pv;
                            if (!dup) n->implicit[cnt++] = pv;
                        } else {
                            cnt++;
                        }
                    }
                }
            }
            if (pass == 0) {
                if (!cnt) break;
                n->implicit = lens_arena_alloc(g->arena, sizeof(int32_t) * (size_t)cnt);
                if (!n->implicit) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
                cnt = 0;
            }
        }
        n->n_implicit = cnt;
        n = &g->nodes[i];
    }
    /* Kahn's algorithm; stable (keeps file order among ready nodes). */
    int32_t nn = g->n_nodes;
    if (nn == 0) {
        lens_graph_relink(g);
        return LENS_OK;
    }
    int32_t *indeg = lens_calloc((size_t)nn, sizeof(int32_t));
    int32_t *order = lens_malloc((size_t)nn * sizeof(int32_t));
    lens_node *sorted = lens_malloc((size_t)nn * sizeof(lens_node));
    /* consumers lists via CSR */
    int32_t *cstart = lens_calloc((size_t)g->n_values + 1, sizeof(int32_t));
    int64_t total = 0;
    for (int32_t i = 0; i < nn; i++) total += g->nodes[i].n_inputs + g->nodes[i].n_implicit;
    int32_t *clist = lens_malloc((size_t)(total ? total : 1) * sizeof(int32_t));
    lens_status st = LENS_OK;
    if (!indeg || !order || !sorted || !cstart || !clist) {
        st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory sorting graph");
        goto done;
    }
    for (int32_t i = 0; i < nn; i++) {
        lens_node *n = &g->nodes[i];
        for (int32_t k = 0; k < n->n_inputs + n->n_implicit; k++) {
            int32_t v = k < n->n_inputs ? n->inputs[k] : n->implicit[k - n->n_inputs];
            if (v >= 0 && g->values[v].producer >= 0) {
                indeg[i]++;
                cstart[v + 1]++;
            }
        }
    }
    for (int32_t v = 0; v < g->n_values; v++) cstart[v + 1] += cstart[v];
    {
        int32_t *fill = lens_calloc((size_t)g->n_values, sizeof(int32_t));
        if (!fill) {
            st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory sorting graph");
            goto done;
        }
        for (int32_t i = 0; i < nn; i++) {
            lens_node *n = &g->nodes[i];
            for (int32_t k = 0; k < n->n_inputs + n->n_implicit; k++) {
                int32_t v = k < n->n_inputs ? n->inputs[k] : n->implicit[k - n->n_inputs];
                if (v >= 0 && g->values[v].producer >= 0) clist[cstart[v] + fill[v]++] = i;
            }
        }
        lens_free(fill);
    }
    int32_t head = 0, tail = 0;
    for (int32_t i = 0; i < nn; i++)
        if (indeg[i] == 0) order[tail++] = i;
    while (head < tail) {
        int32_t i = order[head++];
        lens_node *n = &g->nodes[i];
        for (int32_t k = 0; k < n->n_outputs; k++) {
            int32_t v = n->outputs[k];
            if (v < 0) continue;
            for (int32_t c = cstart[v]; c < cstart[v + 1]; c++)
                if (--indeg[clist[c]] == 0) order[tail++] = clist[c];
        }
    }
    if (tail != nn) {
        for (int32_t i = 0; i < nn; i++)
            if (indeg[i] > 0) {
                st = lens_error(LENS_STATUS_INVALID_MODEL, "graph has a cycle (through node '%s', %s)",
                                g->nodes[i].name, g->nodes[i].op_type);
                break;
            }
        goto done;
    }
    for (int32_t i = 0; i < nn; i++) sorted[i] = g->nodes[order[i]];
    memcpy(g->nodes, sorted, (size_t)nn * sizeof(lens_node));
    lens_graph_relink(g);
done:
    lens_free(indeg);
    lens_free(order);
    lens_free(sorted);
    lens_free(cstart);
    lens_free(clist);
    return st;
}

const lens_attr *lens_node_attr(const lens_node *n, const char *name) {
    for (int32_t i = 0; i < n->n_attrs; i++)
        if (n->attrs[i].type != LENS_ATTR_UNDEFINED && !strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}

int64_t lens_node_attr_int(const lens_node *n, const char *name, int64_t def) {
    const lens_attr *a = lens_node_attr(n, name);
    return a && a->type == LENS_ATTR_INT ? a->i : def;
}

float lens_node_attr_float(const lens_node *n, const char *name, float def) {
    const lens_attr *a = lens_node_attr(n, name);
    if (!a) return def;
    if (a->type == LENS_ATTR_FLOAT) return a->f;
    if (a->type == LENS_ATTR_INT) return (float)a->i;
    return def;
}

const char *lens_node_attr_string(const lens_node *n, const char *name, const char *def) {
    const lens_attr *a = lens_node_attr(n, name);
    return a && a->type == LENS_ATTR_STRING ? a->s : def;
}

const int64_t *lens_node_attr_ints(const lens_node *n, const char *name, int64_t *count) {
    const lens_attr *a = lens_node_attr(n, name);
    if (!a || a->type != LENS_ATTR_INTS) {
        *count = 0;
        return NULL;
    }
    *count = a->n;
    return a->ints;
}

const float *lens_node_attr_floats(const lens_node *n, const char *name, int64_t *count) {
    const lens_attr *a = lens_node_attr(n, name);
    if (!a || a->type != LENS_ATTR_FLOATS) {
        *count = 0;
        return NULL;
    }
    *count = a->n;
    return a->floats;
}

const lens_tensor *lens_node_attr_tensor(const lens_node *n, const char *name) {
    const lens_attr *a = lens_node_attr(n, name);
    return a && a->type == LENS_ATTR_TENSOR ? a->t : NULL;
}

lens_graph *lens_node_attr_graph(const lens_node *n, const char *name) {
    const lens_attr *a = lens_node_attr(n, name);
    return a && a->type == LENS_ATTR_GRAPH ? a->g : NULL;
}

const lens_tensor *lens_node_const_input(const lens_graph *g, const lens_node *n, int32_t i) {
    if (i < 0 || i >= n->n_inputs || n->inputs[i] < 0) return NULL;
    const lens_value *v = &g->values[n->inputs[i]];
    while (!v->constant && v->outer >= 0 && g->parent) {
        g = g->parent;
        v = &g->values[v->outer];
    }
    return v->constant;
}
