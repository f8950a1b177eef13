/* Shared pieces of the shape and data-movement operators (shape*.c,
 * gather.c): the strided copy kernel every layout op is built on, readers
 * for the small integer tensors that carry shapes, axes and indices, and the
 * run() entry points the two family tables list. */
#ifndef LENS_OPS_SHAPE_INTERNAL_H
#define LENS_OPS_SHAPE_INTERNAL_H

#include "ops/op.h"

/* The copy kernel works on up to twice the public rank: Tile and the
 * space/depth rearrangements describe their output as interleaved axes. */
#define LENS_COPY_MAX_DIMS (2 * LENS_MAX_DIMS)

/* Copy a strided view into another: for every index vector x over `dims`,
 * dst[x . dstrides] = src[x . sstrides] (strides in elements, may be zero or
 * negative on the source side). dstrides NULL means dst is contiguous.
 * esize is 1, 2, 4 or 8. Merges axes that are contiguous in both views,
 * copies rows with memcpy where the inner axis is contiguous in both, uses
 * a blocked 2-D transpose where the source's unit-stride axis is not the
 * destination's, and splits the work over `pool` (may be NULL) when large. */
void lens_copy_view(void *dst, const int64_t *dstrides, const void *src, const int64_t *sstrides,
                    size_t esize, int32_t ndim, const int64_t *dims, lens_threadpool *pool);

/* Transpose a dense tensor: out axis i is input axis perm[i]. dst is dense
 * in the output order. */
void lens_transpose(void *dst, const void *src, size_t esize, int32_t ndim, const int64_t *dims,
                    const int32_t *perm, lens_threadpool *pool);

/* Element size of t's dtype for data movement; error naming `what` for
 * strings and types without a fixed size. */
lens_status lens_shape_esize(const lens_tensor *t, const char *what, size_t *out);

/* Whether a dtype is an integer type (bool excluded). */
bool lens_dtype_is_int(lens_dtype dt);

/* Read a 1-D (or scalar) integer tensor of at most max_n elements into out;
 * *n receives the count. Errors name `what`. */
lens_status lens_read_ints(const lens_tensor *t, const char *what, int64_t max_n, int64_t *out,
                           int32_t *n);
/* Read the single element of an integer tensor (scalar or shape [1]). */
lens_status lens_read_int_scalar(const lens_tensor *t, const char *what, int64_t *out);

/* Fail with UNSUPPORTED if a produced rank exceeds LENS_MAX_DIMS. */
lens_status lens_check_rank(int64_t rank, const char *what);

/* Fill n elements of esize bytes at dst with the element at value. */
void lens_fill_elems(void *dst, const void *value, size_t esize, int64_t n);

/* ---- run() entry points ---------------------------------------------- */
/* shape.c */
lens_status lens_run_reshape(const lens_node *node, lens_exec *ex);
lens_status lens_run_flatten(const lens_node *node, lens_exec *ex);
lens_status lens_run_squeeze(const lens_node *node, lens_exec *ex);
lens_status lens_run_unsqueeze(const lens_node *node, lens_exec *ex);
lens_status lens_run_identity(const lens_node *node, lens_exec *ex);
lens_status lens_run_dropout(const lens_node *node, lens_exec *ex);
lens_status lens_run_shape(const lens_node *node, lens_exec *ex);
lens_status lens_run_size(const lens_node *node, lens_exec *ex);
lens_status lens_run_constant_of_shape(const lens_node *node, lens_exec *ex);
lens_status lens_run_eye_like(const lens_node *node, lens_exec *ex);
/* shape_layout.c */
lens_status lens_run_transpose(const lens_node *node, lens_exec *ex);
lens_status lens_run_depth_to_space(const lens_node *node, lens_exec *ex);
lens_status lens_run_space_to_depth(const lens_node *node, lens_exec *ex);
lens_status lens_run_concat(const lens_node *node, lens_exec *ex);
lens_status lens_run_split(const lens_node *node, lens_exec *ex);
lens_status lens_run_slice(const lens_node *node, lens_exec *ex);
lens_status lens_run_expand(const lens_node *node, lens_exec *ex);
lens_status lens_run_tile(const lens_node *node, lens_exec *ex);
/* shape_pad.c */
lens_status lens_run_pad(const lens_node *node, lens_exec *ex);
/* shape_misc.c */
lens_status lens_run_range(const lens_node *node, lens_exec *ex);
lens_status lens_run_trilu(const lens_node *node, lens_exec *ex);
lens_status lens_run_cumsum(const lens_node *node, lens_exec *ex);
lens_status lens_run_reverse_sequence(const lens_node *node, lens_exec *ex);
/* shape_select.c */
lens_status lens_run_nonzero(const lens_node *node, lens_exec *ex);
lens_status lens_run_compress(const lens_node *node, lens_exec *ex);
lens_status lens_run_unique(const lens_node *node, lens_exec *ex);

#endif
