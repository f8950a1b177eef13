/* ONNX reader: protobuf wire format straight from bytes (typically a
 * memory-mapped file) into the graph IR. Weights are referenced in place
 * where alignment allows, otherwise copied into the model's arena. */
#ifndef LENS_ONNX_ONNX_H
#define LENS_ONNX_ONNX_H

#include "graph/ir.h"

typedef struct lens_onnx_model {
    lens_graph *graph; /* main graph, finalized (topologically sorted); owned by the caller:
                          free with lens_graph_free (memory in the arena) */
    int64_t ir_version;
    int64_t model_version;
    const char *producer_name, *producer_version, *domain, *doc_string; /* never NULL */
    size_t n_opsets;
    const char **opset_domains; /* "" for ai.onnx */
    int64_t *opset_versions;
    size_t n_meta;
    const char **meta_keys, **meta_values;
} lens_onnx_model;

/* Parse ModelProto bytes. `data` must stay valid (and unchanged) as long as
 * the graph lives: constant tensors may point into it. `base_dir` is the
 * folder external data is resolved against (NULL: external data refused).
 * Everything allocated lives in `arena` except graph arrays (freed by
 * lens_graph_free). Node opset versions are set from the opset imports;
 * Constant nodes become constant values. Every count, length, offset and
 * dimension is checked against `limits` and the bytes present. */
lens_status lens_onnx_parse(const uint8_t *data, size_t size, const char *base_dir,
                            const lens_limits *limits, lens_arena *arena, lens_onnx_model *out);

/* lens_onnx_parse for bytes that are a private, read-only file mapping the
 * caller made (never a caller's buffer): after copying a tensor out (raw_data
 * not aligned), the whole pages that held only it are given back
 * (MADV_DONTNEED; they fault back in from the file if read again), so the
 * file's pages and the copies are not resident together. */
lens_status lens_onnx_parse_mapped(const uint8_t *data, size_t size, const char *base_dir,
                                   const lens_limits *limits, lens_arena *arena, lens_onnx_model *out);

/* Parse one serialized TensorProto (as in the ONNX backend test data .pb
 * files). On success *out describes it; out->data is allocated with
 * lens_aligned_alloc and owned by the caller (lens_aligned_free). If `name`
 * is non-NULL it receives a lens_malloc'd copy of the tensor's name ("" if
 * none; caller frees with lens_free). */
lens_status lens_onnx_read_tensor(const void *data, size_t size, lens_tensor *out, char **name);

#endif
