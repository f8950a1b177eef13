/* Shared between the ONNX reader's files (model/graph, tensors, external
 * data). Not used outside src/onnx/. */
#ifndef LENS_ONNX_INTERNAL_H
#define LENS_ONNX_INTERNAL_H

#include "onnx/onnx.h"
#include "onnx/pb.h"

typedef struct lens_onnx_ctx {
    const char *base_dir;      /* NULL: external data refused */
    bool standalone;           /* lens_onnx_read_tensor: no model around the tensor */
    const lens_limits *limits; /* with defaults filled in */
    lens_arena *arena;         /* NULL: tensor data from lens_aligned_alloc (caller owns) */
    size_t drop_page;          /* lens_onnx_parse_mapped: page size; 0: never drop pages */
    /* opset imports and model-local functions, for the nodes */
    size_t n_opsets;
    const char **opset_domains;
    int64_t *opset_versions;
    size_t n_funcs;
    const char **func_domains, **func_names;
} lens_onnx_ctx;

/* Limits with the documented defaults in place of zeros (in may be NULL). */
void lens_onnx_limits_resolve(const lens_limits *in, lens_limits *out);

/* Decode the TensorProto under cursor r into *out. Data: zero-copy into the
 * buffer when raw_data is aligned and c->arena is set, else copied into the
 * arena (a releasable piece from LENS_ARENA_PIECE_MIN bytes on, see
 * graph/ir.h) (or lens_aligned_alloc when c->arena is NULL: caller frees even on
 * a later failure of its own; on failure here nothing is left allocated).
 * *name / *name_len receive the tensor's name as bytes in the buffer (not
 * NUL-terminated; may be empty). */
lens_status lens_onnx_decode_tensor(const lens_onnx_ctx *c, const lens_pb *r, lens_tensor *out,
                                    const uint8_t **name, size_t *name_len);

/* Read the external data of the TensorProto under cursor r (data_location =
 * EXTERNAL) into dst, which has room for exactly nbytes. `tname` names the
 * tensor in messages. */
lens_status lens_onnx_read_external(const lens_onnx_ctx *c, const lens_pb *r, const char *tname, size_t nbytes,
                                    void *dst);

#endif
