/* The operator interface. One file per operator family under src/ops/;
 * each family registers its operators in a table (see registry.c).
 *
 * Life of an operator on a node:
 *   init  at model load, once: validate attributes and anything static,
 *         pre-pack constant weights into node->state. May read constant
 *         inputs with lens_node_const_input. Must not keep pointers into
 *         non-constant data, nor into the data of an input it marks packed.
 *         When it has packed constant input i and run() will never read
 *         that input's data again, it calls lens_node_mark_packed(node, i)
 *         (and records the packed bytes in node->state_bytes). Optional.
 *   run   at every session run: read inputs, compute output shapes, ask the
 *         runtime for output buffers (lens_exec_output), compute. Must be
 *         thread-safe with respect to the node (state is read-only here):
 *         several sessions run the same model at once.
 *   fini  at model free: release node->state. Optional.
 *
 * Weights are held once (lens_node_mark_packed). While the operators of
 * the main graph are initialised in order, runtime/model.c gives back the
 * data of each constant as soon as the last node reading it has run its
 * init, if every input slot that reads it is marked packed and it is no
 * graph input or output, no implicit input of a subgraph and shares its
 * data with no other value or attribute: a copy made at parse time (or by
 * the optimiser) is freed, one read in place in the file has its pages
 * dropped. The value keeps its dtype and dims; its data becomes NULL, so
 * lens_exec_input(ex, i) of a marked input may return a view with data ==
 * NULL (the runtime accepts that only for marked slots). Mark only when
 * EVERY path of run() reads the packed form: a fallback that would read
 * W->data must be decided at init (pack for it) or become an error.
 *
 * For a new operator with packed weights (e.g. lens.ConvNhwc): in its
 * init, right after node->state holds the packed W (and node->state_bytes
 * its size), call lens_node_mark_packed(node, <W's input index>), as
 * conv_init does; check that no run path reads W's data. If a graph pass
 * makes a new constant W for it (a re-laid-out copy), allocate that data
 * with lens_arena_alloc_releasable when it has LENS_ARENA_PIECE_MIN bytes
 * or more (graph/ir.h; fold_batchnorm in graph/optimize.c does so): bump
 * arena memory cannot be given back, so the copy would stay beside the
 * packed form. The W the pass replaced is freed too once nothing reads it.
 *
 * Errors from run/init: return lens_error(status, "...") with a message that
 * says what is wrong; the runtime prefixes the node's name and op type.
 * Follow the ONNX specification of the version in node->opset; cite it
 * where behaviour depends on the version. */
#ifndef LENS_OPS_OP_H
#define LENS_OPS_OP_H

#include "core/common.h"
#include "core/tensor.h"
#include "graph/ir.h"
#include "runtime/threadpool.h"

typedef struct lens_exec lens_exec;

/* Flags of an operator entry. */
enum {
    /* Output shapes depend on input *values* beyond those in value_inputs
     * (NonZero, NonMaxSuppression, If, Loop, Unique, Compress...). */
    LENS_OPF_DATA_DEPENDENT = 1u << 0,
    /* Results differ between runs (RandomNormal...): never folded. */
    LENS_OPF_NONDETERMINISTIC = 1u << 1,
    /* Runs subgraphs (If, Loop, Scan). */
    LENS_OPF_CONTROL_FLOW = 1u << 2,
};

typedef struct lens_op {
    const char *domain;   /* "" = ai.onnx */
    const char *op_type;
    int32_t since_version;   /* first opset version this entry implements */
    uint32_t value_inputs;   /* bit i: input i's VALUES determine output shapes (Reshape: 1<<1) */
    uint32_t flags;          /* LENS_OPF_* */
    lens_status (*init)(lens_graph *g, lens_node *node);
    lens_status (*run)(const lens_node *node, lens_exec *ex);
    void (*fini)(lens_node *node);
} lens_op;

/* ---- what init() may call ----------------------------------------------- */

/* Declare that run() never reads the data of input `i` (a constant whose
 * packed form node->state now holds). Inputs 0..31 only; others are
 * ignored (their constants are then simply kept). Call it last in init,
 * once the state is complete. */
static inline void lens_node_mark_packed(lens_node *node, int32_t i) {
    if (i >= 0 && i < 32) node->packed_inputs |= 1u << i;
}

/* ---- what run() may call ------------------------------------------------ */

/* Input i of the running node: NULL if the input is omitted (optional) or
 * i >= number of inputs. The view and its data are borrowed for the call. */
const lens_tensor *lens_exec_input(lens_exec *ex, int32_t i);
int32_t lens_exec_n_inputs(const lens_exec *ex);
int32_t lens_exec_n_outputs(const lens_exec *ex);
/* Whether output i is consumed (optional outputs may be omitted: then it is
 * still fine to request them; the runtime gives scratch space). */
bool lens_exec_output_used(const lens_exec *ex, int32_t i);

/* Allocate output i with the given dtype and shape. *out points to the
 * runtime's view; its data is uninitialised and 64-byte aligned. Each output
 * must be requested exactly once per run (an op may request an output it
 * then leaves unwritten only if that output is unused). Shape arithmetic is
 * checked here against the limits. */
lens_status lens_exec_output(lens_exec *ex, int32_t i, lens_dtype dtype, int32_t ndim,
                             const int64_t *dims, lens_tensor **out);

/* Temporary memory for the duration of this node's run (64-byte aligned).
 * Reused by the next node: do not keep it. May return NULL (OOM): check. */
void *lens_exec_scratch(lens_exec *ex, size_t bytes);

/* The thread pool of the running session (never NULL; may have 1 thread). */
lens_threadpool *lens_exec_pool(lens_exec *ex);

/* Run subgraph `g` (an attribute of the running node) with the given
 * inputs (borrowed; count must equal g->n_inputs). On success, *outputs is
 * an array of g->n_outputs tensor views whose data stays valid until the
 * running node returns (or until lens_exec_subgraph is called again from the
 * same node, which invalidates the previous results). Outer-scope names
 * resolve to the values visible at the node. */
lens_status lens_exec_subgraph(lens_exec *ex, const lens_graph *g, int32_t n_inputs,
                               const lens_tensor *inputs, const lens_tensor **outputs);

/* ---- registry ------------------------------------------------------------ */

/* Best entry for (domain, op_type) at `opset`: the one with the largest
 * since_version <= opset. NULL if none. */
const lens_op *lens_op_find(const char *domain, const char *op_type, int64_t opset);

/* Family tables: each src/ops/<family>.c defines one. */
typedef struct lens_op_table {
    const lens_op *ops;
    size_t count;
} lens_op_table;

#define LENS_OP_FAMILY(name) const lens_op_table lens_ops_##name
#define LENS_OP_TABLE(name, array)                                                          \
    const lens_op_table lens_ops_##name = {array, sizeof(array) / sizeof((array)[0])}

/* Activations the optimiser may fuse into an op's epilogue. */
typedef enum lens_act {
    LENS_ACT_NONE = 0,
    LENS_ACT_RELU,
    LENS_ACT_CLIP,        /* min(max(x, alpha), beta): Relu6 is CLIP 0..6 */
    LENS_ACT_SIGMOID,
    LENS_ACT_HARDSIGMOID, /* max(0, min(1, alpha*x + beta)) */
    LENS_ACT_HARDSWISH,   /* x * max(0, min(1, x/6 + 1/2)) */
    LENS_ACT_SILU,        /* x * sigmoid(x) */
    LENS_ACT_LEAKYRELU,   /* alpha */
    LENS_ACT_TANH,
    LENS_ACT_GELU         /* erf form */
} lens_act;

/* Apply a fused activation to n floats in place (portable reference). */
void lens_act_apply_ref(lens_act act, float alpha, float beta, float *x, size_t n);

#endif
