/* All library allocations pass through here, so that tests can fail the
 * n-th one (lens_alloc_fail_after) and count the blocks still live
 * (lens_alloc_live): a load or run that fails half-way must free
 * everything it allocated, which the allocation-failure tests check after
 * every injected failure, also in builds without LeakSanitizer.
 *
 * The counters are process-wide atomics: cheap (one atomic add per
 * allocation, and a run with a memory plan allocates nothing), correct
 * from any thread, and deterministic in single-threaded tests. */
#include <stdatomic.h>
#include <stdlib.h>

#include "core/common.h"

static atomic_uint_fast64_t g_count;
static atomic_uint_fast64_t g_fail_at; /* 0 = never */
static atomic_int_fast64_t g_live;     /* blocks allocated and not yet freed */

uint64_t lens_alloc_fail_after(uint64_t n) {
    uint64_t c = atomic_exchange(&g_count, 0);
    atomic_store(&g_fail_at, n);
    return c;
}

int64_t lens_alloc_live(void) { return (int64_t)atomic_load(&g_live); }

static bool should_fail(void) {
    uint64_t c = atomic_fetch_add(&g_count, 1) + 1;
    uint64_t f = atomic_load_explicit(&g_fail_at, memory_order_relaxed);
    return f != 0 && c == f;
}

static void *counted(void *p) {
    if (p) atomic_fetch_add_explicit(&g_live, 1, memory_order_relaxed);
    return p;
}

void *lens_malloc(size_t size) {
    if (should_fail()) return NULL;
    return counted(malloc(size ? size : 1));
}

void *lens_calloc(size_t n, size_t size) {
    if (should_fail()) return NULL;
    if (n == 0 || size == 0) n = size = 1;
    return counted(calloc(n, size));
}

void *lens_realloc(void *p, size_t size) {
    if (should_fail()) return NULL;
    void *q = realloc(p, size ? size : 1);
    if (q && !p) atomic_fetch_add_explicit(&g_live, 1, memory_order_relaxed);
    return q;
}

void lens_free(void *p) {
    if (!p) return;
    atomic_fetch_sub_explicit(&g_live, 1, memory_order_relaxed);
    free(p);
}

void *lens_aligned_alloc(size_t size) {
    if (should_fail()) return NULL;
    void *p = NULL;
    if (posix_memalign(&p, 64, size ? size : 64) != 0) return NULL;
    return counted(p);
}

void lens_aligned_free(void *p) { lens_free(p); }

char *lens_strndup(const char *s, size_t n) {
    char *d = lens_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *lens_strdup(const char *s) { return lens_strndup(s, strlen(s)); }
