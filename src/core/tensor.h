/* Tensor helpers used by the ops and the runtime. */
#ifndef LENS_CORE_TENSOR_H
#define LENS_CORE_TENSOR_H

#include "core/common.h"

/* numel with overflow check: false if a dimension is negative or the
 * product of the non-zero dimensions overflows int64 (so that no partial
 * product of the dims of an accepted shape, empty or not, can overflow). */
bool lens_shape_numel(int32_t ndim, const int64_t *dims, int64_t *out);
/* Product of the non-zero dimensions (1 for a scalar); false if a
 * dimension is negative or it overflows int64. Limits on element counts
 * apply to it, so an empty tensor cannot carry absurd dimensions. */
bool lens_shape_extent(int32_t ndim, const int64_t *dims, int64_t *out);
/* Bytes of a tensor (numel * dtype size), overflow-checked. */
bool lens_tensor_nbytes(const lens_tensor *t, size_t *out);
bool lens_shape_equal(int32_t na, const int64_t *a, int32_t nb, const int64_t *b);

/* Numpy-style multidirectional broadcast of two shapes into out (ndim in
 * *nout). Returns LENS_STATUS_SHAPE_MISMATCH with a message if incompatible. */
lens_status lens_broadcast_shape(int32_t na, const int64_t *a, int32_t nb, const int64_t *b,
                                 int32_t *nout, int64_t *out);

/* Row-major strides in elements; for broadcasting, the strides of `src`
 * (ndim_src <= ndim) aligned to the right of an ndim shape, 0 where src's
 * dimension is 1 (or missing). */
void lens_broadcast_strides(int32_t ndim_src, const int64_t *src_dims, int32_t ndim,
                            int64_t *strides);
void lens_contiguous_strides(int32_t ndim, const int64_t *dims, int64_t *strides);

/* Normalise an axis in [-rank, rank) to [0, rank). Fails with a message
 * naming `what` if out of range. */
lens_status lens_normalize_axis(int64_t axis, int32_t rank, const char *what, int32_t *out);

/* Read element i of an integer tensor (any int type, or bool) as int64 /
 * of any numeric tensor as double / float. */
int64_t lens_tensor_get_i64(const lens_tensor *t, int64_t i);
double lens_tensor_get_f64(const lens_tensor *t, int64_t i);
/* Store a double into element i converting to t's dtype (saturating casts
 * are not applied: follows C conversion, as ONNX Cast does). */
void lens_tensor_set_f64(lens_tensor *t, int64_t i, double v);

/* Convert `n` elements from src (dtype sdt) to dst (dtype ddt). Handles all
 * numeric types, bool, float16 and bfloat16. */
lens_status lens_convert(const void *src, lens_dtype sdt, void *dst, lens_dtype ddt, int64_t n);

/* "[1, 3, 224, 224]" into buf; returns buf. */
const char *lens_shape_str(int32_t ndim, const int64_t *dims, char *buf, size_t size);

#endif
