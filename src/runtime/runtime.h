/* Internal runtime structures: the model object and the executor. */
#ifndef LENS_RUNTIME_RUNTIME_H
#define LENS_RUNTIME_RUNTIME_H

#include "graph/ir.h"
#include "onnx/onnx.h"
#include "ops/op.h"

struct lens_model {
    lens_arena arena;
    void *map;          /* mmap of the file, or NULL for in-memory models */
    size_t map_size;
    lens_onnx_model onnx;
    lens_graph *graph;  /* == onnx.graph, after optimisation */
    lens_limits limits;
    /* op histogram of the graph as loaded */
    size_t n_hist;
    const char **hist_ops;
    int64_t *hist_counts;
    /* graph input/output descriptions, computed at open */
    lens_value_info *inputs, *outputs;
    size_t n_inputs, n_outputs;
};

/* Where a model's weight bytes are, after open (main graph). */
typedef struct lens_weight_stats {
    size_t constant_bytes; /* constants whose data the model still holds (in place or copied) */
    size_t copied_bytes;   /* of the model's own copies (releasable pieces: unaligned raw_data,
                            * typed or external data, folded tensors) still held, in bytes */
    size_t released_bytes; /* constants given back after load because only packed forms are read */
    size_t packed_bytes;   /* operators' packed weights (lens_node.state_bytes) */
} lens_weight_stats;

/* Fill *out for model m (borrowed). Small copies in the bump arena are
 * counted in constant_bytes only. */
void lens_model_weight_stats(const lens_model *m, lens_weight_stats *out);

/* How the layout pass (graph/layout.c) left model m (borrowed): live nodes
 * of the main graph, how many of them run channels-last (lens.*Nhwc), and
 * the graph's Transpose nodes as loaded and now (edges added, the file's own
 * ones composed away). */
typedef struct lens_layout_stats {
    size_t nodes, nhwc_nodes, transposes_loaded, transposes;
} lens_layout_stats;
void lens_model_layout_stats(const lens_model *m, lens_layout_stats *out);

/* Fill defaults into zero fields. */
void lens_limits_resolve(const lens_limits *in, lens_limits *out);

/* Graph optimiser (graph/optimize.c): Identity/Dropout removal, constant
 * folding, dead-node removal, Conv+BatchNorm folding, activation and
 * residual fusion, then the layout pass with `layout` (a lens_model_layout, as
 * resolved by lens_layout_resolve). Runs after operators are resolved,
 * before op init. */
lens_status lens_graph_optimize(lens_graph *g, lens_model_layout layout);

/* Layout pass (graph/layout.c): runs regions of the main graph channels-
 * last with lens.ConvNhwc / lens.*PoolNhwc, inserting one Transpose per
 * value and direction at region edges; operators of the nodes it creates
 * or retypes are resolved. NCHW: no change. On failure the graph is left
 * as it was (a status is returned). */
lens_status lens_graph_layout(lens_graph *g, lens_model_layout mode);

/* Static shape inference (graph/shape_infer.c): fills dtype, rank and the
 * dims that follow from the graph inputs' declared dims into the
 * values of the main graph that have none (never graph inputs or
 * constants; graph outputs too, which the caller restores if the model
 * is to report what the file declared). Used by the layout pass. */
lens_status lens_graph_infer_shapes(lens_graph *g);

/* `requested` unless the environment variable LENS_LAYOUT says auto, nchw
 * or nhwc (a debugging and benchmarking override; other values ignored). */
lens_model_layout lens_layout_resolve(lens_model_layout requested);

/* Run one node once on constant inputs with heap outputs: used by constant
 * folding. On success outs[i].data are lens_aligned_alloc'd (caller frees). */
lens_status lens_exec_node_once(lens_graph *g, lens_node *n, lens_tensor *outs);

#endif
