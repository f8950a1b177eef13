/* A fixed-size thread pool for data-parallel loops inside one run.
 * The calling thread takes part in the work, so a pool of size N has N-1
 * worker threads. One parallel loop at a time per pool (a pool belongs to
 * one session); nested calls from inside a task run serially. */
#ifndef LENS_RUNTIME_THREADPOOL_H
#define LENS_RUNTIME_THREADPOOL_H

#include <stdint.h>

#include "lens/engine.h"

typedef struct lens_threadpool lens_threadpool;

/* threads >= 1. *out owned by the caller: free with lens_threadpool_free. */
lens_status lens_threadpool_create(int32_t threads, lens_threadpool **out);
void lens_threadpool_free(lens_threadpool *pool);
/* Number of threads (workers + caller); 1 for NULL. */
int32_t lens_threadpool_size(const lens_threadpool *pool);

/* fn(ctx, begin, end, thread): process [begin, end); `thread` in
 * [0, size) is stable for the call and lets a task index per-thread scratch. */
typedef void (*lens_range_fn)(void *ctx, int64_t begin, int64_t end, int32_t thread);

/* Split [0, n) into chunks of at least `grain` items (>= 1) and run them on
 * all threads; returns when all are done. pool may be NULL (serial). */
void lens_parallel_for(lens_threadpool *pool, int64_t n, int64_t grain, lens_range_fn fn,
                       void *ctx);

#endif
