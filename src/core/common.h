/* Internal foundation shared by every layer: errors, allocation, checked
 * arithmetic, float16 conversion. */
#ifndef LENS_CORE_COMMON_H
#define LENS_CORE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lens/engine.h"

#if defined(__GNUC__)
#define LENS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define LENS_LIKELY(x) __builtin_expect(!!(x), 1)
#define LENS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define LENS_PRINTF(a, b)
#define LENS_LIKELY(x) (x)
#define LENS_UNLIKELY(x) (x)
#endif

#define LENS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LENS_MAX(a, b) ((a) > (b) ? (a) : (b))
#define LENS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- errors ------------------------------------------------------------
 * lens_error records a message for the calling thread and returns `status`,
 * so a failure site reads: return lens_error(LENS_STATUS_X, "what %s", why);
 * Errors are recorded once where detected and propagated untouched. */
lens_status lens_error(lens_status status, const char *fmt, ...) LENS_PRINTF(2, 3);
/* Prefix the current message with context ("node 'conv1' (Conv): ..."). */
void lens_error_prefix(const char *fmt, ...) LENS_PRINTF(1, 2);
void lens_error_clear(void);

#define LENS_TRY(expr)                                                                     \
    do {                                                                                   \
        lens_status lens_try_status_ = (expr);                                             \
        if (lens_try_status_ != LENS_OK) return lens_try_status_;                          \
    } while (0)

/* ---- allocation ---------------------------------------------------------
 * Every allocation in the library goes through these, so that tests can
 * inject failures (lens_alloc_fail_after). They never abort. */
void *lens_malloc(size_t size);
void *lens_calloc(size_t n, size_t size);
void *lens_realloc(void *p, size_t size);
void lens_free(void *p);
/* 64-byte aligned; free with lens_aligned_free. */
void *lens_aligned_alloc(size_t size);
void lens_aligned_free(void *p);
char *lens_strdup(const char *s);
char *lens_strndup(const char *s, size_t n);

/* Test hook: make the n-th allocation from now fail (n >= 1); 0 disables.
 * Returns how many allocations happened since the last call. */
uint64_t lens_alloc_fail_after(uint64_t n);
/* Test hook: blocks allocated through the functions above and not yet
 * freed, process-wide. Equal before and after a balanced piece of work. */
int64_t lens_alloc_live(void);

/* ---- checked arithmetic (for anything that came from a file) ----------- */
static inline bool lens_mul_ovf_i64(int64_t a, int64_t b, int64_t *out) {
    return __builtin_mul_overflow(a, b, out);
}
static inline bool lens_add_ovf_i64(int64_t a, int64_t b, int64_t *out) {
    return __builtin_add_overflow(a, b, out);
}
static inline bool lens_mul_ovf_size(size_t a, size_t b, size_t *out) {
    return __builtin_mul_overflow(a, b, out);
}
static inline bool lens_add_ovf_size(size_t a, size_t b, size_t *out) {
    return __builtin_add_overflow(a, b, out);
}

/* ---- float16 / bfloat16 ------------------------------------------------ */
float lens_f16_to_f32(uint16_t h);
uint16_t lens_f32_to_f16(float f); /* round to nearest even */
static inline float lens_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
uint16_t lens_f32_to_bf16(float f); /* round to nearest even */

/* ---- CPU features (detected once) -------------------------------------- */
typedef struct lens_cpu {
    bool avx2, fma, avx512f, avx512bw, avx512dq, avx512vl;
} lens_cpu;
const lens_cpu *lens_cpu_features(void);
/* The predicates kernel tables use to say what a variant needs: anything,
 * AVX2+FMA, or AVX-512 (F, BW, DQ, VL) with AVX2+FMA. */
bool lens_cpu_any(const lens_cpu *cpu);
bool lens_cpu_avx2_fma(const lens_cpu *cpu);
bool lens_cpu_avx512(const lens_cpu *cpu);
/* LENS_ISA=ref|avx2|avx512 in the environment caps what is used (tests). */

/* A kernel family's variant table: defines the public
 * `const T *PREFIX_variants(size_t *count)` (all of TABLE, best last) and a
 * file-local `const T *PREFIX_pick(void)`: the last entry whose
 * `supported(cpu)` holds (entry 0, the portable reference, always does),
 * chosen once, thread-safely. The including file needs <pthread.h>. */
#define LENS_VARIANT_TABLE(prefix, T, table)                                       \
    const T *prefix##_variants(size_t *count) {                                    \
        *count = LENS_ARRAY_LEN(table);                                            \
        return table;                                                              \
    }                                                                              \
    static const T *prefix##_chosen;                                               \
    static pthread_once_t prefix##_once = PTHREAD_ONCE_INIT;                       \
    static void prefix##_choose(void) {                                            \
        const lens_cpu *cpu = lens_cpu_features();                                 \
        prefix##_chosen = &(table)[0];                                             \
        for (size_t i = 0; i < LENS_ARRAY_LEN(table); i++)                         \
            if ((table)[i].supported(cpu)) prefix##_chosen = &(table)[i];          \
    }                                                                              \
    static const T *prefix##_pick(void) {                                          \
        pthread_once(&prefix##_once, prefix##_choose);                             \
        return prefix##_chosen;                                                    \
    }

/* Number of CPUs this process may run on (>= 1). */
int lens_cpu_count(void);

#endif
