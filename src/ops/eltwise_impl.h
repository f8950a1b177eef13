/* Internals shared by the elementwise operator files (elementwise.c,
 * eltwise_*.c): the broadcasting walker and the run functions the table in
 * elementwise.c lists. Not for other families: they use elementwise.h. */
#ifndef LENS_OPS_ELTWISE_IMPL_H
#define LENS_OPS_ELTWISE_IMPL_H

#include "ops/elementwise.h"
#include "ops/op.h"

/* A row kernel: out[i] = f(in[0][i*inc[0]], in[1][i*inc[1]], ...) for i in
 * [0, n). in/out are byte pointers to the first element; inc[k] is 0 (a
 * broadcast operand: read element 0 throughout) or 1. `ctx` is the op's
 * parameters. out may equal in[k] exactly (in place). */
typedef void (*lens_eltw_row_fn)(const void *ctx, const char *const *in, const int64_t *inc,
                                 char *out, int64_t n);

#define LENS_ELTW_MAX_IN 3

/* Apply `fn` over the broadcast of `in` (n_in tensors, 1..3) into `out`,
 * whose shape must be the broadcast shape of the inputs (checked by the
 * caller). The walker collapses dimensions so that the innermost loop is
 * as long as possible and splits large tensors over the session's threads;
 * `ex` may be NULL (unit tests): then it runs serially.
 *
 * `f32_compute`: fn works on float32 where the tensors hold float16 or
 * bfloat16 (inputs are widened and a half output narrowed per block, rounding
 * to nearest even); other dtypes are passed through untouched. */
lens_status lens_eltw_apply(lens_exec *ex, int32_t n_in, const lens_tensor *const *in,
                            lens_tensor *out, lens_eltw_row_fn fn, const void *ctx,
                            bool f32_compute);
/* The same on an explicit pool (NULL: serial); for tests. */
lens_status lens_eltw_apply_pool(lens_threadpool *pool, int32_t n_in, const lens_tensor *const *in,
                                 lens_tensor *out, lens_eltw_row_fn fn, const void *ctx,
                                 bool f32_compute);

/* Broadcast shape of n tensors (numpy rules). */
lens_status lens_eltw_broadcast(int32_t n, const lens_tensor *const *t, int32_t *ndim,
                                int64_t *dims);

static inline bool lens_eltw_is_half(lens_dtype dt) {
    return dt == LENS_DTYPE_FLOAT16 || dt == LENS_DTYPE_BFLOAT16;
}
static inline bool lens_eltw_is_float(lens_dtype dt) {
    return dt == LENS_DTYPE_FLOAT || dt == LENS_DTYPE_DOUBLE || lens_eltw_is_half(dt);
}
static inline bool lens_eltw_is_int(lens_dtype dt) {
    switch (dt) {
    case LENS_DTYPE_INT8: case LENS_DTYPE_INT16: case LENS_DTYPE_INT32: case LENS_DTYPE_INT64:
    case LENS_DTYPE_UINT8: case LENS_DTYPE_UINT16: case LENS_DTYPE_UINT32: case LENS_DTYPE_UINT64:
        return true;
    default: return false;
    }
}

/* Run functions (one per operator semantics), listed in elementwise.c. */
#define LENS_ELTW_RUN(name) lens_status lens_eltw_run_##name(const lens_node *node, lens_exec *ex)

/* eltwise_binary.c */
LENS_ELTW_RUN(add); LENS_ELTW_RUN(sub); LENS_ELTW_RUN(mul); LENS_ELTW_RUN(div);
LENS_ELTW_RUN(pow); LENS_ELTW_RUN(mod); LENS_ELTW_RUN(bitshift);
LENS_ELTW_RUN(and); LENS_ELTW_RUN(or); LENS_ELTW_RUN(xor);
LENS_ELTW_RUN(bitwise_and); LENS_ELTW_RUN(bitwise_or); LENS_ELTW_RUN(bitwise_xor);
LENS_ELTW_RUN(equal); LENS_ELTW_RUN(greater); LENS_ELTW_RUN(greater_equal);
LENS_ELTW_RUN(less); LENS_ELTW_RUN(less_equal);
LENS_ELTW_RUN(prelu);
LENS_ELTW_RUN(sum); LENS_ELTW_RUN(mean); LENS_ELTW_RUN(max); LENS_ELTW_RUN(min);
LENS_ELTW_RUN(where);

/* eltwise_cast.c */
LENS_ELTW_RUN(cast); LENS_ELTW_RUN(castlike); LENS_ELTW_RUN(clip_1); LENS_ELTW_RUN(clip_11);

#endif
