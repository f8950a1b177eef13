/* Thread pool: every item of every loop runs exactly once with a valid
 * thread index, also when there are more threads than cores, so that
 * workers often arrive after the caller has finished a loop (they must skip
 * it without touching the next one). */
#include <stdatomic.h>
#include <stdio.h>

#include "runtime/threadpool.h"

static int g_fail;
#define CHECK(c, ...)                                                                              \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
            g_fail = 1;                                                                            \
        }                                                                                          \
    } while (0)

typedef struct job {
    atomic_int *hits;
    int32_t size;
    atomic_int bad_thread;
} job;

static void task(void *ctx, int64_t b, int64_t e, int32_t thread) {
    job *j = ctx;
    if (thread < 0 || thread >= j->size) atomic_fetch_add(&j->bad_thread, 1);
    for (int64_t i = b; i < e; i++) atomic_fetch_add_explicit(&j->hits[i], 1, memory_order_relaxed);
}

int main(void) {
    enum { MAXN = 257 };
    static atomic_int hits[MAXN];
    for (int32_t size = 1; size <= 6; size++) {
        lens_threadpool *pool;
        if (lens_threadpool_create(size, &pool) != LENS_OK) return 1;
        CHECK(lens_threadpool_size(pool) == size, "size %d", lens_threadpool_size(pool));
        for (int loop = 0; loop < 3000; loop++) {
            int64_t n = (loop * 37) % MAXN; /* 0 .. 256, small loops most of the time */
            for (int64_t i = 0; i < MAXN; i++) atomic_store(&hits[i], 0);
            job j = {hits, size, 0};
            lens_parallel_for(pool, n, 1 + loop % 3, task, &j);
            for (int64_t i = 0; i < MAXN; i++) {
                int h = atomic_load(&hits[i]);
                if (h != (i < n ? 1 : 0)) {
                    CHECK(0, "size %d loop %d n %lld: item %lld ran %d times", size, loop,
                          (long long)n, (long long)i, h);
                    break;
                }
            }
            CHECK(atomic_load(&j.bad_thread) == 0, "thread index out of range");
            if (g_fail) break;
        }
        lens_threadpool_free(pool);
        if (g_fail) break;
    }
    lens_parallel_for(NULL, 5, 1, task, &(job){hits, 1, 0}); /* NULL pool: serial */
    printf(g_fail ? "test_threadpool: FAILED\n" : "test_threadpool: ok\n");
    return g_fail;
}
