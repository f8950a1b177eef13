/* The in-memory graph: what the ONNX reader builds, the optimiser rewrites
 * and the runtime executes. Owned by the model; immutable once the model is
 * open (op state included), so sessions on several threads share it. */
#ifndef LENS_GRAPH_IR_H
#define LENS_GRAPH_IR_H

#include "core/common.h"

/* ---- arena: bump allocation for everything that lives as long as the model */
typedef struct lens_arena_block lens_arena_block;
typedef struct lens_arena_piece lens_arena_piece;
typedef struct lens_arena {
    lens_arena_block *head;
    size_t used_total;
    /* Releasable pieces (lens_arena_alloc_releasable): a doubly linked list
     * of separate blocks and the bytes they hold now. */
    lens_arena_piece *pieces;
    size_t n_pieces, piece_bytes;
} lens_arena;
void *lens_arena_alloc(lens_arena *a, size_t size); /* 64-byte aligned, zeroed; NULL on OOM */
char *lens_arena_strndup(lens_arena *a, const char *s, size_t n);
char *lens_arena_strdup(lens_arena *a, const char *s);
/* Frees the bump blocks and every releasable piece still held. */
void lens_arena_free(lens_arena *a);

/* Tensor data at least this large that the model copies (unaligned raw_data,
 * typed fields, external data, tensors made by the optimiser) goes into a
 * releasable piece instead of the bump blocks, so that the model can free it
 * once the operators have packed it (runtime/model.c). Smaller tensors stay
 * in the bump blocks: a piece costs an allocation and a 64-byte header. */
#define LENS_ARENA_PIECE_MIN 4096

/* A separate 64-byte aligned block of `size` bytes owned by the arena:
 * freed by lens_arena_free unless lens_arena_release frees it first. NOT
 * zeroed (the callers overwrite every byte). NULL on OOM. */
void *lens_arena_alloc_releasable(lens_arena *a, size_t size);
/* Copy the data pointers of the pieces still held into out (room for
 * a->n_pieces), in no particular order. */
void lens_arena_list_pieces(const lens_arena *a, void **out);
/* Whether p is a piece of a still held (p may be anything; a walk of the
 * list, for checks and tests). */
bool lens_arena_is_piece(const lens_arena *a, const void *p);
/* Free the piece p of a now. p MUST be a piece of a still held (as listed
 * by lens_arena_list_pieces): its header is found from p. Any pointer into
 * it dangles afterwards: the caller clears them. */
void lens_arena_release(lens_arena *a, void *p);

typedef struct lens_graph lens_graph;

/* Attribute kinds: values equal ONNX AttributeProto.AttributeType. */
typedef enum lens_attr_type {
    LENS_ATTR_UNDEFINED = 0,
    LENS_ATTR_FLOAT = 1,
    LENS_ATTR_INT = 2,
    LENS_ATTR_STRING = 3,
    LENS_ATTR_TENSOR = 4,
    LENS_ATTR_GRAPH = 5,
    LENS_ATTR_FLOATS = 6,
    LENS_ATTR_INTS = 7,
    LENS_ATTR_STRINGS = 8,
    LENS_ATTR_TENSORS = 9,
    LENS_ATTR_GRAPHS = 10,
    LENS_ATTR_SPARSE_TENSOR = 11,
    LENS_ATTR_SPARSE_TENSORS = 12,
    LENS_ATTR_TYPE_PROTO = 13,
    LENS_ATTR_TYPE_PROTOS = 14
} lens_attr_type;

typedef struct lens_attr {
    const char *name;
    lens_attr_type type;
    float f;
    int64_t i;
    const char *s; /* NUL-terminated copy; s_len excludes the NUL (strings may hold NULs) */
    size_t s_len;
    int64_t n;               /* element count of the list kinds below */
    const float *floats;     /* FLOATS */
    const int64_t *ints;     /* INTS */
    const char **strings;    /* STRINGS */
    lens_tensor *t;          /* TENSOR (data owned by the model) */
    lens_tensor *tensors;    /* TENSORS: n of them */
    lens_graph *g;           /* GRAPH */
    lens_graph **graphs;     /* GRAPHS: n of them */
} lens_attr;

struct lens_op;

typedef struct lens_node {
    const char *name;    /* never NULL; "" if the file had none */
    const char *op_type;
    const char *domain;  /* "" for ai.onnx (also when the file says "ai.onnx") */
    int64_t opset;       /* version of `domain` the model imports */
    int32_t n_inputs, n_outputs;
    int32_t *inputs;     /* value indices; -1 for an omitted optional input */
    int32_t *outputs;    /* value indices; -1 for an omitted optional output */
    int32_t n_attrs;
    lens_attr *attrs;
    /* Values of this graph that the node's subgraphs read by name (outer
     * scope): implicit inputs, for ordering and liveness. Set by finalize. */
    int32_t n_implicit;
    int32_t *implicit;
    const struct lens_op *op; /* resolved at load */
    void *state;              /* op's private state (packed weights...), read-only after load */
    /* Fused epilogue set by the optimiser for ops that support it (see
     * graph/optimize.c): activation kind and its parameters. */
    int32_t fused_act;        /* lens_act, 0 = none */
    float fused_alpha, fused_beta;
    /* Set by the op's init (lens_node_mark_packed in ops/op.h): bit i means
     * that run() never reads the data of constant input i, only its packed
     * form in state. The model may then release that constant's data after
     * load (runtime/model.c): its view keeps dtype and dims, data NULL. */
    uint32_t packed_inputs;
    size_t state_bytes;       /* bytes of weights init packed into state (statistics) */
    bool dead;                /* removed by the optimiser */
} lens_node;

typedef struct lens_value {
    const char *name;     /* unique within its graph; "" never used */
    lens_dtype dtype;     /* UNDEFINED if unknown */
    int32_t ndim;         /* -1 if the rank is unknown */
    int64_t *dims;        /* ndim entries; -1 for unknown */
    const char **dim_names; /* ndim entries, NULL where not symbolic */
    lens_tensor *constant;  /* initializer or folded constant (data owned by the model); after
                             * load its data is NULL when `released` */
    int32_t producer;       /* node index in the graph, or -1 */
    int32_t n_consumers;    /* nodes reading it (+1 if a graph output) */
    int32_t outer;          /* >= 0: the value of the enclosing graph this name refers to */
    bool is_input, is_output;
    /* The constant's data was given back after load because every reader
     * holds a packed copy (see lens_node.packed_inputs): constant->data is
     * NULL, dtype and dims stay. */
    bool released;
} lens_value;

struct lens_graph {
    const char *name;
    lens_graph *parent; /* enclosing graph for subgraphs, else NULL */
    int32_t depth;      /* 0 for the main graph */
    int32_t n_values, cap_values;
    lens_value *values;
    int32_t n_nodes, cap_nodes;
    lens_node *nodes;   /* in topological order after lens_graph_finalize */
    int32_t n_inputs, n_outputs;
    int32_t *inputs;    /* value indices of the graph inputs that are not initializers */
    int32_t *outputs;
    /* name -> value index (open addressing) */
    int32_t *hash;
    int32_t hash_cap;
    lens_arena *arena;  /* the model's arena */
    const lens_limits *limits;
};

/* Create an empty graph whose memory comes from `arena`. */
lens_graph *lens_graph_new(lens_arena *arena, lens_graph *parent, const lens_limits *limits);
/* Frees graph arrays (not the arena). Recurses into subgraph attributes. */
void lens_graph_free(lens_graph *g);

/* Index of the value named `name` in this graph, or -1. */
int32_t lens_graph_find(const lens_graph *g, const char *name);
/* Find or create. Returns -1 (with an error set) on OOM or limits. */
int32_t lens_graph_value(lens_graph *g, const char *name);
/* Append a node with room for the given input/output counts (filled with
 * -1). Returns its index or -1 on failure. Pointers to nodes are invalidated
 * by later additions. */
int32_t lens_graph_add_node(lens_graph *g, const char *op_type, const char *domain,
                            const char *name, int32_t n_inputs, int32_t n_outputs);

/* After the reader has added everything (call it on the MAIN graph only; it
 * recurses into subgraphs): resolve names used but not defined here to
 * outer-scope values (subgraphs) or report them, record implicit inputs,
 * fill producers and consumer counts, and sort nodes topologically. Fails
 * with a message on a cycle, a value produced twice, or a name defined
 * nowhere. */
lens_status lens_graph_finalize(lens_graph *g);
/* Recompute producer/n_consumers (after the optimiser rewired things) and
 * compact away dead nodes. */
void lens_graph_relink(lens_graph *g);

/* Attribute lookup. NULL if absent. */
const lens_attr *lens_node_attr(const lens_node *n, const char *name);
int64_t lens_node_attr_int(const lens_node *n, const char *name, int64_t def);
float lens_node_attr_float(const lens_node *n, const char *name, float def);
/* String attribute or `def`. */
const char *lens_node_attr_string(const lens_node *n, const char *name, const char *def);
/* INTS attribute: returns the array and sets *count; NULL and 0 if absent. */
const int64_t *lens_node_attr_ints(const lens_node *n, const char *name, int64_t *count);
const float *lens_node_attr_floats(const lens_node *n, const char *name, int64_t *count);
const lens_tensor *lens_node_attr_tensor(const lens_node *n, const char *name);
lens_graph *lens_node_attr_graph(const lens_node *n, const char *name);

/* The constant tensor feeding input i of node n in graph g, or NULL. */
const lens_tensor *lens_node_const_input(const lens_graph *g, const lens_node *n, int32_t i);

#endif
