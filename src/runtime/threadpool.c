/* Thread pool: workers spin briefly for new work (layers are often well
 * under a millisecond, so sleeping between them would cost more than the
 * work), then block on a condition variable. Work is claimed in chunks from
 * an atomic counter, which balances uneven chunks without a queue. */
#include "runtime/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "core/common.h"

struct lens_threadpool {
    int32_t size;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* current job */
    lens_range_fn fn;
    void *ctx;
    int64_t n, chunk;
    atomic_int_fast64_t next;
    /* Workers join a job before touching it: (job << 32) | open flag | count.
     * When the caller has run out of chunks it closes the job and waits only
     * for the workers that joined; one that was not scheduled in time (more
     * threads than free cores on a busy machine) finds the job closed and
     * skips it, instead of making every layer wait for a time slice. */
    _Atomic uint64_t join;
    atomic_uint generation;   /* bumped per job */
    atomic_bool stop;
    atomic_bool busy;         /* a loop is running: nested calls go serial */
};

#define JOIN_OPEN 0x80000000u

typedef struct worker_arg {
    lens_threadpool *pool;
    int32_t index;
} worker_arg;

static void run_chunks(lens_threadpool *p, int32_t thread) {
    for (;;) {
        int64_t b = atomic_fetch_add_explicit(&p->next, p->chunk, memory_order_relaxed);
        if (b >= p->n) break;
        int64_t e = b + p->chunk < p->n ? b + p->chunk : p->n;
        p->fn(p->ctx, b, e, thread);
    }
}

static void *worker_main(void *arg) {
    worker_arg *wa = arg;
    lens_threadpool *p = wa->pool;
    int32_t index = wa->index;
    lens_free(wa);
    /* Jobs posted before this thread first looks must not be missed: the
     * pool starts at generation 0, so that is what every worker has seen. */
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen &&
               !atomic_load(&p->stop)) {
            if (++spins < 20000) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
                continue;
            }
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load(&p->generation)) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
            break;
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = g;
        uint64_t j = atomic_load_explicit(&p->join, memory_order_acquire);
        for (;;) {
            if ((j >> 32) != (g & 0xffffffffu) || !(j & JOIN_OPEN)) break;
            if (atomic_compare_exchange_weak_explicit(&p->join, &j, j + 1, memory_order_acq_rel,
                                                      memory_order_acquire)) {
                run_chunks(p, index);
                atomic_fetch_sub_explicit(&p->join, 1, memory_order_acq_rel);
                break;
            }
        }
    }
}

lens_status lens_threadpool_create(int32_t threads, lens_threadpool **out) {
    *out = NULL;
    if (threads < 1) threads = 1;
    if (threads > 256) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "too many threads (%d)", threads);
    lens_threadpool *p = lens_calloc(1, sizeof *p);
    if (!p) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory creating thread pool");
    p->size = threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->next, 0);
    atomic_init(&p->join, 0);
    atomic_init(&p->generation, 0);
    atomic_init(&p->stop, false);
    atomic_init(&p->busy, false);
    if (threads > 1) {
        p->threads = lens_calloc((size_t)threads - 1, sizeof(pthread_t));
        if (!p->threads) {
            lens_threadpool_free(p);
            return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory creating thread pool");
        }
        for (int32_t i = 0; i < threads - 1; i++) {
            worker_arg *wa = lens_malloc(sizeof *wa);
            if (!wa) {
                p->size = i + 1;
                lens_threadpool_free(p);
                return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory creating thread pool");
            }
            wa->pool = p;
            wa->index = i + 1;
            if (pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
                lens_free(wa);
                p->size = i + 1;
                lens_threadpool_free(p);
                return lens_error(LENS_STATUS_INTERNAL, "cannot start thread %d", i + 1);
            }
        }
    }
    *out = p;
    return LENS_OK;
}

void lens_threadpool_free(lens_threadpool *p) {
    if (!p) return;
    if (p->threads) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->stop, true);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        for (int32_t i = 0; i < p->size - 1; i++) pthread_join(p->threads[i], NULL);
        lens_free(p->threads);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    lens_free(p);
}

int32_t lens_threadpool_size(const lens_threadpool *p) { return p ? p->size : 1; }

void lens_parallel_for(lens_threadpool *p, int64_t n, int64_t grain, lens_range_fn fn, void *ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    bool expected = false;
    if (!p || p->size == 1 || n <= grain ||
        !atomic_compare_exchange_strong(&p->busy, &expected, true)) {
        fn(ctx, 0, n, 0);
        return;
    }
    /* About 4 chunks per thread balances uneven work without much claiming. */
    int64_t chunk = (n + (int64_t)p->size * 4 - 1) / ((int64_t)p->size * 4);
    if (chunk < grain) chunk = grain;
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->chunk = chunk;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    unsigned g = atomic_load_explicit(&p->generation, memory_order_relaxed) + 1;
    atomic_store_explicit(&p->join, (uint64_t)(g & 0xffffffffu) << 32 | JOIN_OPEN,
                          memory_order_release);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    run_chunks(p, 0);
    /* All chunks are claimed: no late joiner would find work. */
    atomic_fetch_and_explicit(&p->join, ~(uint64_t)JOIN_OPEN, memory_order_acq_rel);
    int spins = 0;
    while ((atomic_load_explicit(&p->join, memory_order_acquire) & (JOIN_OPEN - 1)) > 0) {
        /* With more threads than free cores a worker may be descheduled:
         * stop burning its core after a while. */
        if (++spins > 20000) sched_yield();
#if defined(__x86_64__) || defined(__i386__)
        else __builtin_ia32_pause();
#endif
    }
    atomic_store(&p->busy, false);
}
