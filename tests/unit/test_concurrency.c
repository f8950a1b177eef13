/* Concurrency: one loaded model shared by 8 threads, each with its own
 * session, thousands of runs in all; every output must be bit-identical to
 * the same input run single-threaded before the threads start. Run under
 * ThreadSanitizer too (scripts/test.sh, -DLENS_TSAN=ON): no data race.
 *
 *   - digits.onnx (Conv, Gemm, ...), each thread cycling through the ten
 *     bundled digits from a different starting point;
 *   - dyn_shape.onnx with the batch size changing every run, so that every
 *     session re-plans concurrently with the others' planned runs;
 *   - 4 threads whose sessions have their own 2-thread pools;
 *   - error messages are per thread: concurrent failing opens each read
 *     their own message.
 * LENS_CONCURRENCY_RUNS (runs per thread, default 150) scales the test. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "io/npy.h"
#include "lens/lens.h"

static int failures;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
#define CHECK(c, ...)                                                                   \
    do {                                                                                \
        if (!(c)) {                                                                     \
            pthread_mutex_lock(&fail_lock);                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #c);       \
            fprintf(stderr, __VA_ARGS__);                                               \
            fprintf(stderr, " (last error: %s)\n", lens_last_error());                  \
            failures++;                                                                 \
            pthread_mutex_unlock(&fail_lock);                                           \
        }                                                                               \
    } while (0)

#define N_THREADS 8
#define N_INPUTS 10

typedef struct shared {
    const lens_model *model;
    int32_t session_threads;
    int runs;
    size_t n_inputs;
    lens_tensor inputs[N_INPUTS];
    /* reference output 0 per input, computed single-threaded */
    lens_tensor ref[N_INPUTS];
    pthread_barrier_t start;
} shared;

typedef struct worker {
    shared *sh;
    int id;
    int done;
} worker;

static bool same(const lens_tensor *a, const lens_tensor *b) {
    if (a->dtype != b->dtype || a->ndim != b->ndim) return false;
    for (int32_t k = 0; k < a->ndim; k++)
        if (a->dims[k] != b->dims[k]) return false;
    size_t bytes = (size_t)lens_tensor_numel(a) * lens_dtype_size(a->dtype);
    return !bytes || !memcmp(a->data, b->data, bytes);
}

static void copy_out(const lens_tensor *src, lens_tensor *dst) {
    size_t bytes = (size_t)lens_tensor_numel(src) * lens_dtype_size(src->dtype);
    *dst = *src;
    dst->data = malloc(bytes ? bytes : 1);
    if (dst->data && bytes) memcpy(dst->data, src->data, bytes);
}

/* Single-threaded reference: one session, each input once. */
static bool make_reference(shared *sh) {
    lens_session *s = NULL;
    lens_session_options so = {.threads = sh->session_threads};
    if (lens_session_create(sh->model, &so, &s) != LENS_OK) return false;
    bool ok = true;
    for (size_t i = 0; i < sh->n_inputs && ok; i++) {
        lens_tensor out;
        ok = lens_session_run(s, 1, &sh->inputs[i]) == LENS_OK && lens_session_output(s, 0, &out) == LENS_OK;
        if (ok) copy_out(&out, &sh->ref[i]);
    }
    lens_session_free(s);
    return ok;
}

static void *work(void *arg) {
    worker *w = arg;
    shared *sh = w->sh;
    lens_session *s = NULL;
    lens_session_options so = {.threads = sh->session_threads};
    lens_status st = lens_session_create(sh->model, &so, &s);
    CHECK(st == LENS_OK, "thread %d: session", w->id);
    pthread_barrier_wait(&sh->start);
    if (st != LENS_OK) return NULL;
    for (int r = 0; r < sh->runs; r++) {
        size_t i = (size_t)(w->id + r) % sh->n_inputs;
        st = lens_session_run(s, 1, &sh->inputs[i]);
        CHECK(st == LENS_OK, "thread %d run %d", w->id, r);
        if (st != LENS_OK) break;
        lens_tensor out;
        st = lens_session_output(s, 0, &out);
        CHECK(st == LENS_OK && same(&out, &sh->ref[i]), "thread %d run %d (input %zu): output differs", w->id, r, i);
        if (st != LENS_OK) break;
        w->done++;
    }
    lens_session_free(s);
    return NULL;
}

static void run_threads(shared *sh, int n_threads, const char *what) {
    pthread_t th[N_THREADS];
    worker w[N_THREADS];
    pthread_barrier_init(&sh->start, NULL, (unsigned)n_threads);
    for (int t = 0; t < n_threads; t++) {
        w[t] = (worker){sh, t, 0};
        if (pthread_create(&th[t], NULL, work, &w[t]) != 0) {
            fprintf(stderr, "cannot start thread %d\n", t);
            exit(1);
        }
    }
    int total = 0;
    for (int t = 0; t < n_threads; t++) {
        pthread_join(th[t], NULL);
        total += w[t].done;
    }
    pthread_barrier_destroy(&sh->start);
    printf("%s: %d threads x %d runs: %d runs, all bit-identical to the single-threaded reference\n", what,
           n_threads, sh->runs, total);
    CHECK(total == n_threads * sh->runs, "%s: %d of %d runs completed", what, total, n_threads * sh->runs);
}

static void free_shared(shared *sh) {
    for (size_t i = 0; i < sh->n_inputs; i++) {
        lens_aligned_free(sh->inputs[i].data);
        free(sh->ref[i].data);
    }
}

static void test_digits(int runs, int32_t session_threads, int n_threads) {
    shared sh;
    memset(&sh, 0, sizeof sh);
    lens_model *m = NULL;
    CHECK(lens_model_open("../../models/digits.onnx", NULL, &m) == LENS_OK, "open digits.onnx");
    if (!m) return;
    sh.model = m;
    sh.runs = runs;
    sh.session_threads = session_threads;
    for (int d = 0; d < N_INPUTS; d++) {
        char path[64];
        snprintf(path, sizeof path, "../../models/digit_%d.npy", d);
        CHECK(lens_npy_read(path, &sh.inputs[d]) == LENS_OK, "%s", path);
        if (!sh.inputs[d].data) goto out;
        sh.n_inputs++;
    }
    CHECK(make_reference(&sh), "digits reference");
    char what[64];
    snprintf(what, sizeof what, "digits.onnx (sessions of %d thread%s)", session_threads, session_threads > 1 ? "s" : "");
    run_threads(&sh, n_threads, what);
out:
    free_shared(&sh);
    lens_model_free(m);
}

/* Batch sizes 1..5 in turn: every run has new input shapes, so each
 * session drops its plan and re-plans while the others run. */
static void test_replanning(int runs) {
    shared sh;
    memset(&sh, 0, sizeof sh);
    lens_model *m = NULL;
    CHECK(lens_model_open("data/dyn_shape.onnx", NULL, &m) == LENS_OK, "open dyn_shape.onnx");
    if (!m) return;
    sh.model = m;
    sh.runs = runs;
    sh.session_threads = 1;
    for (int b = 1; b <= 5; b++) {
        lens_tensor *t = &sh.inputs[sh.n_inputs];
        *t = (lens_tensor){LENS_DTYPE_FLOAT, 2, {b, 4}, lens_aligned_alloc(sizeof(float) * 4 * (size_t)b)};
        if (!t->data) goto out;
        for (int k = 0; k < 4 * b; k++) ((float *)t->data)[k] = (float)(k * 7 % 11) - 5.0f;
        sh.n_inputs++;
    }
    CHECK(make_reference(&sh), "dyn_shape reference");
    run_threads(&sh, N_THREADS, "dyn_shape.onnx (re-planning every run)");
out:
    free_shared(&sh);
    lens_model_free(m);
}

/* lens_last_error is per thread: each thread fails in its own way. */
static void *fail_open(void *arg) {
    int id = (int)(intptr_t)arg;
    char path[64];
    snprintf(path, sizeof path, "data/no_such_model_%d.onnx", id);
    for (int r = 0; r < 50; r++) {
        lens_model *m = NULL;
        CHECK(lens_model_open(path, NULL, &m) == LENS_STATUS_IO_ERROR, "thread %d", id);
        CHECK(strstr(lens_last_error(), path) != NULL, "thread %d reads another thread's message", id);
    }
    return NULL;
}

static void test_errors_per_thread(void) {
    pthread_t th[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) pthread_create(&th[t], NULL, fail_open, (void *)(intptr_t)t);
    for (int t = 0; t < N_THREADS; t++) pthread_join(th[t], NULL);
    printf("error messages: %d threads x 50 failing opens, each read its own message\n", N_THREADS);
}

int main(void) {
    int runs = 150;
    const char *e = getenv("LENS_CONCURRENCY_RUNS");
    if (e && atoi(e) > 0) runs = atoi(e);
    test_digits(runs, 1, N_THREADS);
    test_replanning(2 * runs);
    test_digits(runs / 2, 2, N_THREADS / 2);
    test_errors_per_thread();
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
