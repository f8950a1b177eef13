/* Sessions and the executor.
 *
 * A run walks the (topologically sorted) nodes; each operator computes its
 * output shapes from its actual inputs and asks for output buffers. Memory:
 *   - The first run for a set of input shapes ("planning run") allocates
 *     every intermediate on the heap, frees each as soon as its last
 *     consumer has run, and records every value's size.
 *   - After it, values are packed into one arena by liveness (greedy
 *     best-fit, largest first): two values share bytes only if their
 *     lifetimes do not overlap. Later runs with the same input shapes use
 *     the arena and allocate nothing.
 *   - A data-dependent output (NonZero, NMS...) larger than its slot falls
 *     back to the heap for that run and triggers a re-plan.
 *   - Shape subgraphs (Shape/Size and whatever depends only on them and on
 *     constants) are "plan constants": computed once per input shapes,
 *     kept, and skipped on later runs.
 * Subgraphs (If/Loop/Scan bodies) run in the heap mode. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/tensor.h"
#include "runtime/runtime.h"

typedef struct lens_env lens_env;
struct lens_env {
    const lens_graph *g;
    lens_env *parent;
    lens_tensor *vals;   /* one view per value */
    uint8_t *owned;      /* 1: vals[v].data is heap memory this env frees */
    size_t *heap_bytes;  /* bytes of each owned buffer */
    size_t *heap_live;   /* the session's count of owned bytes (all envs) */
    int32_t *remaining;  /* consumers still to run (heap mode) */
};

typedef struct lens_plan {
    bool valid;
    int32_t n_in;
    lens_tensor in_shapes[64]; /* dims of the inputs the plan was made for (data unused) */
    size_t *size;        /* observed bytes per value (max over runs) */
    size_t *offset;      /* arena offset per value (SIZE_MAX: not in arena) */
    int32_t *first, *last; /* liveness: producing node, last consuming node */
    uint8_t *pconst_node; /* node's outputs are plan constants */
    uint8_t *pconst_val;
    uint8_t *shape_static;
    unsigned char *arena;
    size_t arena_size;
    bool dirty;          /* a value outgrew its slot: re-plan after this run */
} lens_plan;

typedef struct scratch_block {
    struct scratch_block *next;
    size_t size, used;
    unsigned char *data;
} scratch_block;

struct lens_session {
    const lens_model *model;
    lens_threadpool *pool;
    int32_t threads;
    lens_env env;        /* main graph */
    lens_plan plan;
    scratch_block *scratch; /* head = primary block */
    size_t scratch_peak;
    /* Bytes of value buffers on the heap (planning runs, subgraphs,
     * values that outgrew their slot): held to limits.max_plan_bytes, as
     * the arena is, so that memory stays bounded before a plan exists. */
    size_t heap_live;
    bool profile;
    double *prof_ms;     /* per node of the main graph */
    int64_t prof_runs;
    bool has_output;
};

struct lens_exec {
    lens_session *s;
    lens_env *env;
    const lens_node *node;
    int32_t node_index;
    bool planned;        /* main graph run using the plan */
    uint8_t requested[64];
    lens_env *sub;       /* env of the last subgraph run by this node */
    lens_tensor *sub_out;
    lens_tensor dummy_out[8]; /* omitted outputs */
    void *dummy_data[8];
};

/* ---------------------------------------------------------------------- */

static void env_free(lens_env *e);

static lens_status env_init(lens_env *e, const lens_graph *g, lens_env *parent, size_t *heap_live) {
    memset(e, 0, sizeof *e);
    e->g = g;
    e->parent = parent;
    e->heap_live = heap_live;
    size_t n = (size_t)(g->n_values ? g->n_values : 1);
    e->vals = lens_calloc(n, sizeof(lens_tensor));
    e->owned = lens_calloc(n, 1);
    e->heap_bytes = lens_calloc(n, sizeof(size_t));
    e->remaining = lens_calloc(n, sizeof(int32_t));
    if (!e->vals || !e->owned || !e->heap_bytes || !e->remaining) {
        env_free(e); /* nothing half-built is left for the caller to free */
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory creating execution state");
    }
    for (int32_t v = 0; v < g->n_values; v++)
        if (g->values[v].constant) e->vals[v] = *g->values[v].constant;
    return LENS_OK;
}

/* Free value v's heap buffer (if it owns one). */
static void env_drop(lens_env *e, int32_t v) {
    if (!e->owned[v]) return;
    lens_aligned_free(e->vals[v].data);
    e->vals[v].data = NULL;
    e->owned[v] = 0;
    *e->heap_live -= e->heap_bytes[v];
    e->heap_bytes[v] = 0;
}

static void env_release_values(lens_env *e) {
    if (!e->vals || !e->owned || !e->heap_bytes) return;
    for (int32_t v = 0; v < e->g->n_values; v++) {
        env_drop(e, v);
        if (!e->g->values[v].constant) e->vals[v].data = NULL;
    }
}

static void env_free(lens_env *e) {
    env_release_values(e);
    lens_free(e->vals);
    lens_free(e->owned);
    lens_free(e->heap_bytes);
    lens_free(e->remaining);
    memset(e, 0, sizeof *e);
}

/* The view of value v as seen from env e (outer names resolve upwards). */
static lens_tensor *env_value(lens_env *e, int32_t v) {
    while (e->g->values[v].outer >= 0 && !e->g->values[v].constant && e->parent) {
        v = e->g->values[v].outer;
        e = e->parent;
    }
    return &e->vals[v];
}

/* ---------------------------------------------------------------------- */

static void *scratch_get(lens_session *s, size_t bytes) {
    bytes = (bytes + 63) & ~(size_t)63;
    for (scratch_block *b = s->scratch; b; b = b->next)
        if (b->size - b->used >= bytes) {
            void *p = b->data + b->used;
            b->used += bytes;
            return p;
        }
    scratch_block *b = lens_malloc(sizeof *b);
    if (!b) return NULL;
    b->data = lens_aligned_alloc(bytes);
    if (!b->data) {
        lens_free(b);
        return NULL;
    }
    b->size = bytes;
    b->used = bytes;
    /* Append: the head stays the primary block. */
    b->next = NULL;
    scratch_block **pp = &s->scratch;
    while (*pp) pp = &(*pp)->next;
    *pp = b;
    return b->data;
}

static void scratch_reset(lens_session *s) {
    size_t total = 0;
    for (scratch_block *b = s->scratch; b; b = b->next) total += b->used, b->used = 0;
    if (total > s->scratch_peak) s->scratch_peak = total;
}

/* Merge blocks into one of the peak size, so steady state has one block. */
static void scratch_consolidate(lens_session *s) {
    if (!s->scratch || !s->scratch->next) {
        if (s->scratch || !s->scratch_peak) return;
    }
    size_t want = s->scratch_peak;
    if (s->scratch && !s->scratch->next && s->scratch->size >= want) return;
    for (scratch_block *b = s->scratch; b;) {
        scratch_block *n = b->next;
        lens_aligned_free(b->data);
        lens_free(b);
        b = n;
    }
    s->scratch = NULL;
    if (!want) return;
    scratch_block *b = lens_malloc(sizeof *b);
    if (!b) return;
    b->data = lens_aligned_alloc(want);
    if (!b->data) {
        lens_free(b);
        return;
    }
    b->size = want;
    b->used = 0;
    b->next = NULL;
    s->scratch = b;
}

/* ---------------------------------------------------------------------- */

const lens_tensor *lens_exec_input(lens_exec *ex, int32_t i) {
    const lens_node *n = ex->node;
    if (i < 0 || i >= n->n_inputs || n->inputs[i] < 0) return NULL;
    return env_value(ex->env, n->inputs[i]);
}

int32_t lens_exec_n_inputs(const lens_exec *ex) { return ex->node->n_inputs; }
int32_t lens_exec_n_outputs(const lens_exec *ex) { return ex->node->n_outputs; }

bool lens_exec_output_used(const lens_exec *ex, int32_t i) {
    const lens_node *n = ex->node;
    if (i < 0 || i >= n->n_outputs || n->outputs[i] < 0) return false;
    return ex->env->g->values[n->outputs[i]].n_consumers > 0;
}

void *lens_exec_scratch(lens_exec *ex, size_t bytes) {
    /* A node's temporary is held to the tensor limit like its outputs (the
     * size comes from shapes, which come from the file). */
    if (bytes > ex->s->model->limits.max_tensor_bytes || bytes > SIZE_MAX - 64) {
        lens_error(LENS_STATUS_LIMIT_EXCEEDED, "a scratch buffer of %zu bytes exceeds the tensor size limit of %llu",
                   bytes, (unsigned long long)ex->s->model->limits.max_tensor_bytes);
        return NULL;
    }
    void *p = scratch_get(ex->s, bytes);
    if (!p) lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory: %zu bytes of scratch", bytes);
    return p;
}

lens_threadpool *lens_exec_pool(lens_exec *ex) { return ex->s->pool; }

lens_status lens_exec_output(lens_exec *ex, int32_t i, lens_dtype dtype, int32_t ndim, const int64_t *dims,
                             lens_tensor **out) {
    const lens_node *n = ex->node;
    const lens_limits *lim = &ex->s->model->limits;
    *out = NULL;
    if (i < 0 || i >= n->n_outputs)
        return lens_error(LENS_STATUS_INTERNAL, "output %d requested but the node has %d", i, n->n_outputs);
    if (ndim < 0 || ndim > LENS_MAX_DIMS)
        return lens_error(LENS_STATUS_UNSUPPORTED, "output %d has rank %d (lens supports up to %d)", i, ndim,
                          LENS_MAX_DIMS);
    size_t esize = lens_dtype_size(dtype);
    if (!esize) return lens_error(LENS_STATUS_UNSUPPORTED, "output %d has unsupported type %s", i, lens_dtype_name(dtype));
    int64_t numel, extent;
    if (!lens_shape_numel(ndim, dims, &numel) || !lens_shape_extent(ndim, dims, &extent)) {
        char b[160];
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "output %d shape %s is invalid or overflows", i,
                          lens_shape_str(ndim, dims, b, sizeof b));
    }
    size_t bytes;
    /* The element limit bounds the non-zero dims even of an empty tensor
     * (see lens_shape_extent). */
    if ((uint64_t)extent > lim->max_tensor_elements || lens_mul_ovf_size((size_t)numel, esize, &bytes) ||
        bytes > lim->max_tensor_bytes) {
        char b[160];
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "output %d shape %s exceeds the tensor size limit", i,
                          lens_shape_str(ndim, dims, b, sizeof b));
    }
    if (i < 64) {
        if (ex->requested[i]) return lens_error(LENS_STATUS_INTERNAL, "output %d requested twice", i);
        ex->requested[i] = 1;
    }
    lens_tensor *t;
    int32_t v = n->outputs[i];
    if (v < 0) {
        /* Omitted optional output: give throw-away memory. */
        if (i >= 8) return lens_error(LENS_STATUS_UNSUPPORTED, "too many omitted outputs");
        t = &ex->dummy_out[i];
        void *p = scratch_get(ex->s, bytes ? bytes : 1);
        if (!p) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory (%zu bytes)", bytes);
        t->data = p;
    } else {
        lens_env *e = ex->env;
        lens_session *s = ex->s;
        t = &e->vals[v];
        env_drop(e, v); /* stale heap buffer from an earlier run */
        t->data = NULL;
        bool use_arena = false;
        if (ex->planned) {
            lens_plan *p = &s->plan;
            if (p->valid && p->offset[v] != SIZE_MAX && bytes <= p->size[v]) {
                use_arena = true;
            } else {
                if (bytes > p->size[v]) p->size[v] = bytes;
                if (p->valid && !p->pconst_node[ex->node_index]) p->dirty = true;
            }
        }
        if (use_arena) {
            t->data = s->plan.arena + s->plan.offset[v];
        } else {
            if (bytes > lim->max_plan_bytes || *e->heap_live > lim->max_plan_bytes - bytes)
                return lens_error(LENS_STATUS_LIMIT_EXCEEDED,
                                  "'%s' needs %zu bytes with %zu already in use, over the memory plan limit of %llu",
                                  e->g->values[v].name, bytes, *e->heap_live,
                                  (unsigned long long)lim->max_plan_bytes);
            t->data = lens_aligned_alloc(bytes ? bytes : 1);
            if (!t->data)
                return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory allocating %zu bytes for '%s'", bytes,
                                  e->g->values[v].name);
            e->owned[v] = 1;
            e->heap_bytes[v] = bytes;
            *e->heap_live += bytes;
        }
    }
    t->dtype = dtype;
    t->ndim = ndim;
    for (int32_t k = 0; k < ndim; k++) t->dims[k] = dims[k];
    *out = t;
    return LENS_OK;
}

/* ---------------------------------------------------------------------- */

static lens_status run_graph(lens_session *s, lens_env *e, bool planned);

lens_status lens_exec_subgraph(lens_exec *ex, const lens_graph *g, int32_t n_inputs, const lens_tensor *inputs,
                               const lens_tensor **outputs) {
    if (n_inputs != g->n_inputs)
        return lens_error(LENS_STATUS_INVALID_MODEL, "subgraph '%s' takes %d inputs, %d given", g->name,
                          g->n_inputs, n_inputs);
    if (ex->sub) {
        env_free(ex->sub);
    } else {
        ex->sub = lens_calloc(1, sizeof(lens_env));
        if (!ex->sub) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory running subgraph");
    }
    lens_free(ex->sub_out);
    ex->sub_out = NULL;
    LENS_TRY(env_init(ex->sub, g, ex->env, ex->env->heap_live));
    for (int32_t i = 0; i < n_inputs; i++) {
        int32_t v = g->inputs[i];
        const lens_value *val = &g->values[v];
        if (val->dtype != LENS_DTYPE_UNDEFINED && val->dtype != inputs[i].dtype)
            return lens_error(LENS_STATUS_RUNTIME_ERROR, "subgraph input '%s' expects %s, got %s", val->name,
                              lens_dtype_name(val->dtype), lens_dtype_name(inputs[i].dtype));
        ex->sub->vals[v] = inputs[i];
    }
    LENS_TRY(run_graph(ex->s, ex->sub, false));
    ex->sub_out = lens_calloc((size_t)(g->n_outputs ? g->n_outputs : 1), sizeof(lens_tensor));
    if (!ex->sub_out) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory running subgraph");
    for (int32_t i = 0; i < g->n_outputs; i++) {
        ex->sub_out[i] = *env_value(ex->sub, g->outputs[i]);
        if (!ex->sub_out[i].data && lens_tensor_numel(&ex->sub_out[i]) != 0)
            return lens_error(LENS_STATUS_RUNTIME_ERROR, "subgraph output '%s' was not computed",
                              g->values[g->outputs[i]].name);
    }
    *outputs = ex->sub_out;
    return LENS_OK;
}

/* Profile clock: with one thread, the thread's CPU time, so that other
 * processes on a busy machine do not inflate the per-node times; with more,
 * wall time (the other threads' work would not be counted otherwise). */
static double prof_ms(const lens_session *s) {
    struct timespec ts;
    clock_gettime(s->threads == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static lens_status run_node(lens_session *s, lens_env *e, int32_t i, bool planned) {
    const lens_graph *g = e->g;
    const lens_node *n = &g->nodes[i];
    lens_exec ex;
    memset(&ex, 0, sizeof ex);
    ex.s = s;
    ex.env = e;
    ex.node = n;
    ex.node_index = i;
    ex.planned = planned;
    for (int32_t k = 0; k < n->n_inputs; k++) {
        if (n->inputs[k] < 0) continue;
        const lens_tensor *t = env_value(e, n->inputs[k]);
        /* A constant released after load (its data NULL) is fine for an
         * input the node reads only in packed form (ops/op.h). */
        bool packed = k < 32 && (n->packed_inputs >> k & 1);
        if (!t->data && lens_tensor_numel(t) != 0 && !packed)
            return lens_error(LENS_STATUS_INTERNAL, "node '%s' (%s): input '%s' was not computed", n->name,
                              n->op_type, g->values[n->inputs[k]].name);
    }
    double t0 = s->profile && planned ? prof_ms(s) : 0;
    lens_status st = n->op->run(n, &ex);
    scratch_reset(s);
    if (ex.sub) {
        env_free(ex.sub);
        lens_free(ex.sub);
    }
    lens_free(ex.sub_out);
    if (st == LENS_OK) {
        for (int32_t k = 0; k < n->n_outputs && k < 64; k++)
            if (n->outputs[k] >= 0 && !ex.requested[k]) {
                st = lens_error(LENS_STATUS_INTERNAL, "output %d was not produced", k);
                break;
            }
    }
    if (st != LENS_OK) {
        lens_error_prefix("node '%s' (%s): ", n->name, n->op_type);
        return st;
    }
    if (s->profile && planned) s->prof_ms[i] += prof_ms(s) - t0;
    return LENS_OK;
}

/* Heap mode bookkeeping: free a value once its last consumer ran. */
static void release_inputs(lens_env *e, const lens_node *n, const uint8_t *keep) {
    for (int32_t k = 0; k < n->n_inputs + n->n_implicit; k++) {
        int32_t v = k < n->n_inputs ? n->inputs[k] : n->implicit[k - n->n_inputs];
        if (v < 0) continue;
        if (--e->remaining[v] == 0 && e->owned[v] && !e->g->values[v].is_output && !(keep && keep[v]))
            env_drop(e, v);
    }
}

static lens_status run_graph(lens_session *s, lens_env *e, bool planned) {
    const lens_graph *g = e->g;
    lens_plan *p = &s->plan;
    for (int32_t v = 0; v < g->n_values; v++) e->remaining[v] = g->values[v].n_consumers;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        if (planned && p->valid && p->pconst_node[i]) continue;
        LENS_TRY(run_node(s, e, i, planned));
        release_inputs(e, &g->nodes[i], planned ? p->pconst_val : NULL);
    }
    return LENS_OK;
}

/* ---------------------------------------------------------------------- */

static lens_status plan_alloc(lens_session *s) {
    const lens_graph *g = s->model->graph;
    lens_plan *p = &s->plan;
    size_t nv = (size_t)(g->n_values ? g->n_values : 1), nn = (size_t)(g->n_nodes ? g->n_nodes : 1);
    p->size = lens_calloc(nv, sizeof(size_t));
    p->offset = lens_calloc(nv, sizeof(size_t));
    p->first = lens_calloc(nv, sizeof(int32_t));
    p->last = lens_calloc(nv, sizeof(int32_t));
    p->pconst_val = lens_calloc(nv, 1);
    p->shape_static = lens_calloc(nv, 1);
    p->pconst_node = lens_calloc(nn, 1);
    if (!p->size || !p->offset || !p->first || !p->last || !p->pconst_val || !p->shape_static || !p->pconst_node)
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory creating session");
    return LENS_OK;
}

/* Which nodes compute plan constants (see the file comment). */
static void plan_mark_constants(lens_session *s) {
    const lens_graph *g = s->model->graph;
    lens_plan *p = &s->plan;
    for (int32_t v = 0; v < g->n_values; v++) {
        const lens_value *val = &g->values[v];
        p->pconst_val[v] = val->constant != NULL;
        p->shape_static[v] = val->constant != NULL || val->is_input;
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const lens_node *n = &g->nodes[i];
        const lens_op *op = n->op;
        bool all_static = true, all_const = n->n_inputs > 0, values_const = true;
        for (int32_t k = 0; k < n->n_inputs; k++) {
            int32_t v = n->inputs[k];
            if (v < 0) continue;
            all_static &= p->shape_static[v];
            all_const &= p->pconst_val[v];
            if (k < 32 && (op->value_inputs >> k & 1)) values_const &= p->pconst_val[v];
        }
        if (n->n_implicit) all_const = false;
        bool dyn = op->flags & (LENS_OPF_DATA_DEPENDENT | LENS_OPF_CONTROL_FLOW);
        bool out_static = all_static && values_const && !dyn;
        bool is_shape = !strcmp(n->domain, "") && (!strcmp(n->op_type, "Shape") || !strcmp(n->op_type, "Size"));
        bool pconst = (is_shape && n->inputs[0] >= 0 && p->shape_static[n->inputs[0]]) ||
                      (all_const && !(op->flags & (LENS_OPF_NONDETERMINISTIC | LENS_OPF_CONTROL_FLOW)));
        p->pconst_node[i] = pconst;
        for (int32_t k = 0; k < n->n_outputs; k++) {
            int32_t v = n->outputs[k];
            if (v < 0) continue;
            p->shape_static[v] = out_static || pconst;
            p->pconst_val[v] = pconst;
        }
    }
}

/* Greedy arena assignment by liveness. */
/* qsort comparators of plan_build. The sizes array is passed through a
 * thread-local because qsort has no context argument (sessions may plan on
 * several threads at once). */
static _Thread_local const size_t *g_plan_sizes;

static int cmp_size_desc(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    size_t sx = g_plan_sizes[x], sy = g_plan_sizes[y];
    if (sx != sy) return sx > sy ? -1 : 1;
    return (x > y) - (x < y);
}

/* [offset, end) pairs by offset, then end: a total order, so the result
 * does not depend on qsort's algorithm. */
static int cmp_interval(const void *a, const void *b) {
    const size_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

static lens_status plan_build(lens_session *s) {
    const lens_graph *g = s->model->graph;
    lens_plan *p = &s->plan;
    int32_t nv = g->n_values;
    for (int32_t v = 0; v < nv; v++) {
        p->first[v] = g->values[v].producer;
        p->last[v] = -1;
        p->offset[v] = SIZE_MAX;
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const lens_node *n = &g->nodes[i];
        for (int32_t k = 0; k < n->n_inputs + n->n_implicit; k++) {
            int32_t v = k < n->n_inputs ? n->inputs[k] : n->implicit[k - n->n_inputs];
            if (v >= 0 && i > p->last[v]) p->last[v] = i;
        }
    }
    for (int32_t k = 0; k < g->n_outputs; k++) p->last[g->outputs[k]] = g->n_nodes;
    /* candidates: produced by a non-constant node */
    int32_t *order = lens_malloc(sizeof(int32_t) * (size_t)(nv ? nv : 1));
    if (!order) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory planning");
    int32_t cnt = 0;
    for (int32_t v = 0; v < nv; v++) {
        int32_t pr = g->values[v].producer;
        if (pr < 0 || p->pconst_node[pr] || g->values[v].constant) continue;
        if (p->last[v] < 0) p->last[v] = pr; /* produced, never read */
        order[cnt++] = v;
    }
    /* sort by size desc, ties by value index (the order a stable sort of
     * the ascending list gives) */
    g_plan_sizes = p->size;
    qsort(order, (size_t)cnt, sizeof *order, cmp_size_desc);
    size_t total = 0;
    /* placed list, for overlap checks */
    int32_t *placed = lens_malloc(sizeof(int32_t) * (size_t)(cnt ? cnt : 1));
    size_t *ivs = lens_malloc(sizeof(size_t) * 2 * (size_t)(cnt ? cnt : 1));
    if (!placed || !ivs) {
        lens_free(order), lens_free(placed), lens_free(ivs);
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory planning");
    }
    int32_t np = 0;
    for (int32_t a = 0; a < cnt; a++) {
        int32_t v = order[a];
        size_t sz = (p->size[v] + 63) & ~(size_t)63;
        /* collect [offset, end) of placed values alive at the same time,
         * then sort by offset: O(m log m), where inserting each in order
         * was O(m^2) per value and made planning cubic on graphs with
         * thousands of values alive at once (a fan-out of 4000 branches
         * took 24 s) */
        int32_t m = 0;
        for (int32_t b = 0; b < np; b++) {
            int32_t u = placed[b];
            if (p->last[u] < p->first[v] || p->last[v] < p->first[u]) continue;
            size_t off = p->offset[u], end = off + ((p->size[u] + 63) & ~(size_t)63);
            ivs[2 * m] = off;
            ivs[2 * m + 1] = end;
            m++;
        }
        qsort(ivs, (size_t)m, 2 * sizeof *ivs, cmp_interval);
        /* best fit gap */
        size_t best = SIZE_MAX, best_gap = SIZE_MAX, cur = 0;
        for (int32_t c = 0; c < m; c++) {
            if (ivs[2 * c] > cur) {
                size_t gap = ivs[2 * c] - cur;
                if (gap >= sz && gap < best_gap) best = cur, best_gap = gap;
            }
            if (ivs[2 * c + 1] > cur) cur = ivs[2 * c + 1];
        }
        if (best == SIZE_MAX) best = cur;
        p->offset[v] = best;
        if (best + sz > total) total = best + sz;
        placed[np++] = v;
    }
    lens_free(order);
    lens_free(placed);
    lens_free(ivs);
    if (total > s->model->limits.max_plan_bytes)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "memory plan needs %zu bytes, over the limit of %llu", total,
                          (unsigned long long)s->model->limits.max_plan_bytes);
    /* Always an arena, even for a plan of empty tensors: their views point
     * at it (arena + 0), never at NULL. */
    if (!p->arena || total > p->arena_size || total < p->arena_size / 2) {
        lens_aligned_free(p->arena);
        p->arena = lens_aligned_alloc(total ? total : 64);
        if (!p->arena) {
            p->arena_size = 0;
            return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory: the memory plan needs %zu bytes", total);
        }
        p->arena_size = total;
    }
    p->valid = true;
    p->dirty = false;
    return LENS_OK;
}

static bool plan_matches(const lens_plan *p, size_t n, const lens_tensor *in) {
    if (!p->valid || (size_t)p->n_in != n) return false;
    for (size_t i = 0; i < n; i++)
        if (in[i].dtype != p->in_shapes[i].dtype ||
            !lens_shape_equal(in[i].ndim, in[i].dims, p->in_shapes[i].ndim, p->in_shapes[i].dims))
            return false;
    return true;
}

/* ---------------------------------------------------------------------- */

lens_status lens_session_create(const lens_model *model, const lens_session_options *opt, lens_session **out) {
    if (!out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_session_create: out is NULL");
    *out = NULL;
    if (!model) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_session_create: model is NULL");
    lens_session *s = lens_calloc(1, sizeof *s);
    if (!s) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory creating session");
    s->model = model;
    int32_t threads = opt && opt->threads > 0 ? opt->threads : lens_cpu_count();
    if (opt && opt->threads < 0) {
        lens_free(s);
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "thread count %d is negative", opt->threads);
    }
    s->threads = threads;
    s->profile = opt && opt->profile;
    lens_status st = lens_threadpool_create(threads, &s->pool);
    if (st == LENS_OK) st = env_init(&s->env, model->graph, NULL, &s->heap_live);
    if (st == LENS_OK) st = plan_alloc(s);
    if (st == LENS_OK && s->profile) {
        s->prof_ms = lens_calloc((size_t)(model->graph->n_nodes ? model->graph->n_nodes : 1), sizeof(double));
        if (!s->prof_ms) st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory creating session");
    }
    if (st != LENS_OK) {
        lens_session_free(s);
        return st;
    }
    plan_mark_constants(s);
    *out = s;
    return LENS_OK;
}

void lens_session_free(lens_session *s) {
    if (!s) return;
    env_free(&s->env);
    lens_plan *p = &s->plan;
    lens_free(p->size);
    lens_free(p->offset);
    lens_free(p->first);
    lens_free(p->last);
    lens_free(p->pconst_node);
    lens_free(p->pconst_val);
    lens_free(p->shape_static);
    lens_aligned_free(p->arena);
    for (scratch_block *b = s->scratch; b;) {
        scratch_block *n = b->next;
        lens_aligned_free(b->data);
        lens_free(b);
        b = n;
    }
    lens_threadpool_free(s->pool);
    lens_free(s->prof_ms);
    lens_free(s);
}

int32_t lens_session_threads(const lens_session *s) { return s ? s->threads : 0; }

static lens_status check_inputs(const lens_model *m, size_t n, const lens_tensor *in) {
    if (n != m->n_inputs)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "the model takes %zu input(s), %zu given", m->n_inputs, n);
    if (n > 64) return lens_error(LENS_STATUS_UNSUPPORTED, "more than 64 graph inputs");
    for (size_t i = 0; i < n; i++) {
        const lens_value_info *vi = &m->inputs[i];
        const lens_tensor *t = &in[i];
        char want[192], got[192];
        if (vi->dtype != LENS_DTYPE_UNDEFINED && t->dtype != vi->dtype)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "input '%s': expected dtype %s, got %s", vi->name,
                              lens_dtype_name(vi->dtype), lens_dtype_name(t->dtype));
        if (lens_dtype_size(t->dtype) == 0)
            return lens_error(LENS_STATUS_UNSUPPORTED, "input '%s': dtype %s is not supported", vi->name,
                              lens_dtype_name(t->dtype));
        if (t->ndim < 0 || t->ndim > LENS_MAX_DIMS)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "input '%s': rank %d is invalid", vi->name, t->ndim);
        bool ok = vi->ndim < 0 || vi->ndim == t->ndim;
        for (int32_t k = 0; ok && k < t->ndim && vi->ndim >= 0; k++)
            if (vi->dims[k] >= 0 && vi->dims[k] != t->dims[k]) ok = false;
        for (int32_t k = 0; k < t->ndim; k++)
            if (t->dims[k] < 0) ok = false;
        if (!ok) {
            /* expected shape with symbolic names */
            size_t u = 0;
            u += (size_t)snprintf(want + u, sizeof want - u, "[");
            for (int32_t k = 0; k < vi->ndim && u < sizeof want; k++) {
                if (vi->dims[k] >= 0) u += (size_t)snprintf(want + u, sizeof want - u, "%s%lld", k ? ", " : "", (long long)vi->dims[k]);
                else u += (size_t)snprintf(want + u, sizeof want - u, "%s%s", k ? ", " : "", vi->dim_names[k] ? vi->dim_names[k] : "?");
            }
            if (u < sizeof want) snprintf(want + u, sizeof want - u, "]");
            return lens_error(LENS_STATUS_SHAPE_MISMATCH, "input '%s': expected shape %s, got %s", vi->name,
                              vi->ndim < 0 ? "(any)" : want, lens_shape_str(t->ndim, t->dims, got, sizeof got));
        }
        int64_t numel, extent;
        size_t bytes;
        if (!lens_shape_numel(t->ndim, t->dims, &numel) || !lens_shape_extent(t->ndim, t->dims, &extent) ||
            (uint64_t)extent > m->limits.max_tensor_elements ||
            lens_mul_ovf_size((size_t)numel, lens_dtype_size(t->dtype), &bytes) ||
            bytes > m->limits.max_tensor_bytes)
            return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "input '%s': shape %s is too large", vi->name,
                              lens_shape_str(t->ndim, t->dims, got, sizeof got));
        if (!t->data && numel)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "input '%s': data is NULL", vi->name);
    }
    return LENS_OK;
}

lens_status lens_session_run(lens_session *s, size_t n_inputs, const lens_tensor *inputs) {
    if (!s || (n_inputs && !inputs)) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_session_run: NULL argument");
    const lens_model *m = s->model;
    const lens_graph *g = m->graph;
    LENS_TRY(check_inputs(m, n_inputs, inputs));
    s->has_output = false;
    lens_plan *p = &s->plan;
    lens_env *e = &s->env;
    bool reuse = plan_matches(p, n_inputs, inputs);
    if (!reuse) {
        /* new input shapes: drop plan constants and plan */
        env_release_values(e);
        p->valid = false;
        memset(p->size, 0, sizeof(size_t) * (size_t)g->n_values);
        p->n_in = (int32_t)n_inputs;
        for (size_t i = 0; i < n_inputs; i++) {
            p->in_shapes[i] = inputs[i];
            p->in_shapes[i].data = NULL;
        }
    } else {
        /* heap buffers of non-constant values left from a re-planning run */
        for (int32_t v = 0; v < g->n_values; v++) {
            int32_t pr = g->values[v].producer;
            if (e->owned[v] && pr >= 0 && !p->pconst_node[pr]) env_drop(e, v);
        }
    }
    for (size_t i = 0; i < n_inputs; i++) e->vals[g->inputs[i]] = inputs[i];
    lens_status st = run_graph(s, e, true);
    if (st == LENS_OK && s->profile && p->valid) s->prof_runs++;
    if (st != LENS_OK) {
        p->valid = false;
        env_release_values(e);
        return st;
    }
    if (!p->valid || p->dirty) {
        /* Outputs of this run live in heap buffers (owned) until the next
         * run; the plan applies from the next run on. */
        p->valid = false;
        st = plan_build(s);
        if (st != LENS_OK) return st;
    }
    scratch_consolidate(s);
    s->has_output = true;
    return LENS_OK;
}

lens_status lens_session_output(const lens_session *s, size_t index, lens_tensor *out) {
    if (!s || !out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_session_output: NULL argument");
    const lens_graph *g = s->model->graph;
    if (index >= (size_t)g->n_outputs)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "output index %zu out of range (the model has %d)", index,
                          g->n_outputs);
    if (!s->has_output) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "no successful run yet");
    *out = *env_value((lens_env *)&s->env, g->outputs[index]);
    return LENS_OK;
}

lens_status lens_session_profile(const lens_session *s, char *buf, size_t size) {
    if (!s || !buf || !size) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_session_profile: bad arguments");
    if (!s->profile) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "profiling is off for this session");
    const lens_graph *g = s->model->graph;
    /* aggregate by op type */
    typedef struct { const char *op; double ms; int64_t nodes; } row;
    row *rows = lens_calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof(row));
    if (!rows) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    int32_t nr = 0;
    double total = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const char *op = g->nodes[i].op_type;
        int32_t r = 0;
        while (r < nr && strcmp(rows[r].op, op)) r++;
        if (r == nr) rows[nr++].op = op;
        rows[r].ms += s->prof_ms[i];
        rows[r].nodes++;
        total += s->prof_ms[i];
    }
    for (int32_t a = 1; a < nr; a++) {
        row x = rows[a];
        int32_t b = a - 1;
        while (b >= 0 && rows[b].ms < x.ms) rows[b + 1] = rows[b], b--;
        rows[b + 1] = x;
    }
    int64_t runs = s->prof_runs ? s->prof_runs : 1;
    size_t u = (size_t)snprintf(buf, size, "%-24s %6s %10s %7s\n", "operator", "nodes", "ms/run", "share");
    for (int32_t r = 0; r < nr && u < size; r++)
        u += (size_t)snprintf(buf + u, size - u, "%-24s %6lld %10.3f %6.1f%%\n", rows[r].op, (long long)rows[r].nodes,
                              rows[r].ms / runs, total > 0 ? 100.0 * rows[r].ms / total : 0.0);
    if (u < size) u += (size_t)snprintf(buf + u, size - u, "%-24s %6d %10.3f %6.1f%%  (%lld profiled runs)\n", "total", g->n_nodes,
                                        total / runs, 100.0, (long long)s->prof_runs);
    /* The slowest nodes, with their output shape: what to optimise next. */
    enum { TOP = 30 };
    int32_t top[TOP], nt = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        if (nt == TOP && s->prof_ms[top[TOP - 1]] >= s->prof_ms[i]) continue;
        int32_t k = nt < TOP ? nt++ : TOP - 1;
        while (k > 0 && s->prof_ms[top[k - 1]] < s->prof_ms[i]) top[k] = top[k - 1], k--;
        top[k] = i;
    }
    if (u < size && nt) u += (size_t)snprintf(buf + u, size - u, "\nslowest nodes            ms/run  output shape\n");
    for (int32_t r = 0; r < nt && u < size; r++) {
        const lens_node *n = &g->nodes[top[r]];
        char shape[96] = "?";
        if (n->n_outputs > 0 && n->outputs[0] >= 0) {
            const lens_tensor *t = env_value((lens_env *)&s->env, n->outputs[0]);
            size_t q = 0;
            for (int32_t d = 0; t && d < t->ndim && q + 24 < sizeof shape; d++)
                q += (size_t)snprintf(shape + q, sizeof shape - q, d ? "x%lld" : "%lld", (long long)t->dims[d]);
        }
        u += (size_t)snprintf(buf + u, size - u, "%-16.16s %-8.8s %8.3f  %s  %s\n", n->op_type,
                              n->fused_act ? "+act" : "", s->prof_ms[top[r]] / runs, shape,
                              n->name ? n->name : "");
    }
    lens_free(rows);
    return LENS_OK;
}

/* ---------------------------------------------------------------------- */

lens_status lens_exec_node_once(lens_graph *g, lens_node *n, lens_tensor *outs) {
    /* A throw-away single-threaded session over the enclosing graph. */
    lens_model fake;
    memset(&fake, 0, sizeof fake);
    lens_limits_resolve(NULL, &fake.limits);
    if (g->limits) fake.limits = *g->limits;
    fake.graph = g;
    lens_session s;
    memset(&s, 0, sizeof s);
    s.model = &fake;
    s.threads = 1;
    lens_env e;
    LENS_TRY(env_init(&e, g, NULL, &s.heap_live));
    int32_t idx = (int32_t)(n - g->nodes);
    lens_status st = run_node(&s, &e, idx, false);
    if (st == LENS_OK) {
        for (int32_t k = 0; k < n->n_outputs; k++) {
            int32_t v = n->outputs[k];
            if (v < 0) continue;
            outs[k] = e.vals[v];
            if (!e.owned[v]) { /* must not happen in heap mode, but be safe */
                st = lens_error(LENS_STATUS_INTERNAL, "folded output not owned");
                break;
            }
            e.owned[v] = 0; /* ownership moves to the caller */
            s.heap_live -= e.heap_bytes[v];
            e.heap_bytes[v] = 0;
        }
    }
    env_free(&e);
    for (scratch_block *b = s.scratch; b;) {
        scratch_block *nb = b->next;
        lens_aligned_free(b->data);
        lens_free(b);
        b = nb;
    }
    return st;
}
