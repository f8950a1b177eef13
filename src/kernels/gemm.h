/* Single-precision GEMM family: C = A·B with a fused epilogue, on packed
 * panels and register-blocked micro-kernels (BLIS-style).
 *
 * Layouts (MR, NR: the variant's register tile):
 *   packed A  for each K block [k0, k0+kc) (kc = LENS_GEMM_KC except the
 *             last), for each panel of MR rows: kc x MR floats, k-major,
 *             rows past M zero. Block (k0, panel i) starts at
 *             k0 * Mpad + i * MR * kc, Mpad = M rounded up to MR.
 *   packed B  the same with NR columns per panel: kc x NR floats per panel,
 *             block (k0, panel j) at k0 * Npad + j * NR * kc.
 * Zero padding lets micro-kernels always compute a full MR x NR tile and
 * mask only the stores.
 *
 * Epilogue (applied once, after the last K block): per-row bias (a conv's
 * output channel), a residual of C's shape, then an activation. */
#ifndef LENS_KERNELS_GEMM_H
#define LENS_KERNELS_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "core/common.h"
#include "kernels/act.h"
#include "runtime/threadpool.h"

/* K block: a packed A micro-panel (kc x MR) stays in L1 while B streams
 * from L2. */
#define LENS_GEMM_KC 256

enum {
    LENS_GEMM_ACCUMULATE = 1u, /* C += A·B (otherwise C = A·B) */
    LENS_GEMM_EPILOGUE = 2u,   /* apply bias/residual/activation after this block */
};

/* One tile: c (mr x nr valid of the MR x NR computed) at row stride ldc.
 * bias: mr entries or NULL; res: residual tile at row stride ldr or NULL;
 * both only read when flags has LENS_GEMM_EPILOGUE. */
typedef void (*lens_f32_gemm_ukernel_fn)(size_t kc, const float *a, const float *b, float *c,
                                         size_t ldc, size_t mr, size_t nr, uint32_t flags,
                                         const float *bias, const float *res, size_t ldr,
                                         const lens_act_params *act);

/* The same tile with an unpacked, indirect B: row k of the tile is the nr
 * floats at b + koff[k] (unit column stride), read with masked loads so
 * nothing past column nr is touched. Convolution uses it to read its input
 * in place: koff[k] is the offset of (channel, ky, kx), so neither im2col
 * nor B packing is needed (see ops/conv_f32.c). */
typedef void (*lens_f32_gemm_ib_ukernel_fn)(size_t kc, const float *a, const float *b,
                                            const size_t *koff, float *c, size_t ldc, size_t mr,
                                            size_t nr, uint32_t flags, const float *bias,
                                            const float *res, size_t ldr,
                                            const lens_act_params *act);

/* A tile one column wide (nr == 1; matrix-vector with A the matrix, e.g. a
 * convolution on a 1x1 feature map): c[i * ldc] for i < mr. B column:
 * b[koff[k]] when koff is given (indirect B), else b[k * bstride] (a packed
 * panel: bstride = NR). a is the packed MR-row panel as for ukernel. */
typedef void (*lens_f32_gemm_col_ukernel_fn)(size_t kc, const float *a, const float *b,
                                             const size_t *koff, size_t bstride, float *c,
                                             size_t ldc, size_t mr, uint32_t flags,
                                             const float *bias, const float *res, size_t ldr,
                                             const lens_act_params *act);

typedef struct lens_f32_gemm_variant {
    const char *name;  /* "f32_gemm_8x48__avx512" */
    size_t mr, nr;
    lens_f32_gemm_ukernel_fn ukernel;
    bool (*supported)(const lens_cpu *cpu);
    lens_f32_gemm_ib_ukernel_fn ukernel_ib; /* NULL: B is always packed */
    /* Single-row tiles (mr == 1, e.g. a batch-1 classifier head), same
     * arguments as ukernel: only row 0 of the packed A panel is read, so
     * none of the work of the MR-1 zero rows is done. NULL: ukernel. */
    lens_f32_gemm_ukernel_fn ukernel_row;
    /* Single-column tiles (nr == 1). NULL: ukernel / ukernel_ib. */
    lens_f32_gemm_col_ukernel_fn ukernel_col;
} lens_f32_gemm_variant;

void lens_f32_gemm_4x16__ref(size_t, const float *, const float *, float *, size_t, size_t, size_t,
                             uint32_t, const float *, const float *, size_t,
                             const lens_act_params *);
void lens_f32_gemm_6x16__avx2(size_t, const float *, const float *, float *, size_t, size_t,
                              size_t, uint32_t, const float *, const float *, size_t,
                              const lens_act_params *);
void lens_f32_gemm_8x48__avx512(size_t, const float *, const float *, float *, size_t, size_t,
                                size_t, uint32_t, const float *, const float *, size_t,
                                const lens_act_params *);
void lens_f32_gemm_1x16__ref(size_t, const float *, const float *, float *, size_t, size_t, size_t,
                             uint32_t, const float *, const float *, size_t,
                             const lens_act_params *);
void lens_f32_gemm_4x1__ref(size_t, const float *, const float *, const size_t *, size_t, float *,
                            size_t, size_t, uint32_t, const float *, const float *, size_t,
                            const lens_act_params *);
void lens_f32_gemm_1x48__avx512(size_t, const float *, const float *, float *, size_t, size_t,
                                size_t, uint32_t, const float *, const float *, size_t,
                                const lens_act_params *);
void lens_f32_gemm_8x1__avx512(size_t, const float *, const float *, const size_t *, size_t,
                               float *, size_t, size_t, uint32_t, const float *, const float *,
                               size_t, const lens_act_params *);
void lens_f32_gemm_ib_4x16__ref(size_t, const float *, const float *, const size_t *, float *,
                                size_t, size_t, size_t, uint32_t, const float *, const float *,
                                size_t, const lens_act_params *);
void lens_f32_gemm_ib_8x48__avx512(size_t, const float *, const float *, const size_t *, float *,
                                   size_t, size_t, size_t, uint32_t, const float *, const float *,
                                   size_t, const lens_act_params *);

/* All variants (best last) and the one chosen for this CPU (once). */
const lens_f32_gemm_variant *lens_f32_gemm_variants(size_t *count);
const lens_f32_gemm_variant *lens_f32_gemm_best(void);

/* ---- packing -------------------------------------------------------------
 * A source matrix given by strides (row stride rs, column stride cs, in
 * elements), so a transpose costs nothing. */
typedef struct lens_f32_matrix {
    const float *data;
    size_t rs, cs;
    float scale; /* multiplied in while packing (Gemm alpha); 1 otherwise */
} lens_f32_matrix;

static inline size_t lens_round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

/* Floats of a fully packed operand: rows (M for A, N for B) rounded up to
 * the tile, times K. false on overflow. */
bool lens_f32_gemm_packed_size(size_t rows, size_t tile, size_t k, size_t *floats);

/* Pack rows [x0, x0+xc) and K range [k0, k0+kc) of a matrix seen as
 * rows x K (A: M x K; B transposed view: N x K) into panels of `tile` rows:
 * ceil(xc/tile) panels of kc x tile floats. */
void lens_f32_pack_panels(const lens_f32_matrix *m, size_t rows, size_t k0, size_t kc, size_t x0,
                          size_t xc, size_t tile, float *dst);
/* Pack a whole operand in the layout above (dst: lens_f32_gemm_packed_size). */
void lens_f32_pack_full(const lens_f32_matrix *m, size_t rows, size_t k, size_t tile, float *dst);

/* A producer of packed panels for the driver: either a whole packed operand
 * or a callback that packs [x0, x0+xc) x [k0, k0+kc) into dst (used by
 * convolution to do im2col straight into the panel layout). */
typedef void (*lens_f32_pack_fn)(const void *ctx, size_t k0, size_t kc, size_t x0, size_t xc,
                                 size_t tile, float *dst);
typedef struct lens_f32_gemm_operand {
    const float *packed;      /* whole operand pre-packed, or NULL */
    const lens_f32_matrix *m; /* strided source packed on the fly, or NULL */
    lens_f32_pack_fn pack;    /* or a callback (ctx) */
    const void *ctx;
    /* B only, with a variant that has ukernel_ib: B[k][n] = base[koff[k] + n],
     * read in place (koff: K entries). */
    const float *base;
    const size_t *koff;
} lens_f32_gemm_operand;

typedef struct lens_f32_gemm_args {
    size_t M, N, K;
    lens_f32_gemm_operand a, b;
    float *c;
    size_t ldc;
    bool accumulate;        /* C += A·B: C holds e.g. beta*C already */
    const float *bias;      /* M entries or NULL */
    const float *residual;  /* M x N at row stride ldr, or NULL */
    size_t ldr;
    lens_act_params act;
} lens_f32_gemm_args;

/* Tiling of one GEMM call over threads. */
typedef struct lens_f32_gemm_plan {
    size_t mc, nc;       /* tile sizes (multiples of MR / NR, or whole) */
    size_t mt, nt;       /* tiles in M and N */
    size_t thread_floats; /* per-thread scratch floats */
} lens_f32_gemm_plan;

/* Plan a call: tasks = batch * mt * nt spread over `threads`. */
void lens_f32_gemm_plan_make(const lens_f32_gemm_variant *v, size_t M, size_t N, size_t K,
                             size_t batch, int32_t threads, bool pack_a, bool pack_b,
                             lens_f32_gemm_plan *plan);

/* Compute one tile task (m tile `mi`, n tile `ni`) of args with the plan.
 * scratch: plan.thread_floats floats for this thread. */
void lens_f32_gemm_tile(const lens_f32_gemm_variant *v, const lens_f32_gemm_plan *plan,
                        const lens_f32_gemm_args *args, size_t mi, size_t ni, float *scratch);

/* Whole GEMM over the pool. scratch: threads * plan.thread_floats floats,
 * where the plan is made by this function the same way; ask its size with
 * lens_f32_gemm_scratch_floats. */
size_t lens_f32_gemm_scratch_floats(const lens_f32_gemm_variant *v, const lens_f32_gemm_args *args,
                                    int32_t threads);
void lens_f32_gemm(const lens_f32_gemm_variant *v, lens_threadpool *pool,
                   const lens_f32_gemm_args *args, float *scratch);

#endif
