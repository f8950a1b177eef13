/* Random generators: RandomUniform-1, RandomNormal-1, RandomUniformLike-1,
 * RandomNormalLike-1, Bernoulli-15.
 *
 * ONNX leaves the generator to the implementation. lens uses splitmix64,
 * which is fast, passes BigCrush and needs eight bytes of state. With the
 * `seed` attribute every run of the node yields the same values; without it
 * each run draws a fresh seed from a process-wide counter mixed with the
 * clock, so runs differ (the ops are flagged nondeterministic and never
 * folded). */
#include <math.h>
#include <stdatomic.h>
#include <time.h>

#include "ops/misc.h"

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_uniform(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

/* Standard normal by Box-Muller (u1 kept away from 0 so log is finite). */
static double rng_normal(rng *r) {
    double u1 = 1.0 - rng_uniform(r), u2 = rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static rng rng_for(const lens_node *node) {
    static _Atomic uint64_t counter;
    rng r;
    const lens_attr *a = lens_node_attr(node, "seed");
    if (a) {
        /* the seed is a float: use its bits so that 0.5 and 0 differ */
        uint32_t bits;
        memcpy(&bits, &a->f, 4);
        r.s = 0x5EEDull ^ ((uint64_t)bits << 17);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r.s = atomic_fetch_add(&counter, 1) * 0xD1B54A32D192ED03ull ^ (uint64_t)ts.tv_nsec ^
              ((uint64_t)ts.tv_sec << 32);
    }
    rng_next(&r);
    return r;
}

static lens_status random_dtype_check(lens_dtype dt) {
    if (dt != LENS_DTYPE_FLOAT && dt != LENS_DTYPE_DOUBLE && dt != LENS_DTYPE_FLOAT16)
        return lens_error(LENS_STATUS_INVALID_MODEL, "random output type %s (float, double or float16)",
                          lens_dtype_name(dt));
    return LENS_OK;
}

/* Fill t with uniform [low, high) (normal = false) or normal(mean=a, scale=b). */
static void random_fill(const lens_node *node, lens_tensor *t, bool normal, double a, double b) {
    rng r = rng_for(node);
    int64_t n = lens_tensor_numel(t);
    if (t->dtype == LENS_DTYPE_FLOAT) {
        float *y = t->data;
        for (int64_t i = 0; i < n; i++)
            y[i] = (float)(normal ? a + b * rng_normal(&r) : a + (b - a) * rng_uniform(&r));
        return;
    }
    for (int64_t i = 0; i < n; i++)
        lens_tensor_set_f64(t, i, normal ? a + b * rng_normal(&r) : a + (b - a) * rng_uniform(&r));
}

static lens_status random_run(const lens_node *node, lens_exec *ex, bool normal, bool like) {
    int32_t ndim;
    int64_t dims[LENS_MAX_DIMS];
    lens_dtype dt;
    if (like) {
        const lens_tensor *x = lens_exec_input(ex, 0);
        if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input");
        ndim = x->ndim;
        memcpy(dims, x->dims, sizeof(int64_t) * (size_t)ndim);
        dt = (lens_dtype)lens_node_attr_int(node, "dtype", x->dtype);
    } else {
        int64_t n;
        const int64_t *shape = lens_node_attr_ints(node, "shape", &n);
        if (!shape && !lens_node_attr(node, "shape"))
            return lens_error(LENS_STATUS_INVALID_MODEL, "the shape attribute is required");
        if (n > LENS_MAX_DIMS) return lens_error(LENS_STATUS_UNSUPPORTED, "rank %lld", (long long)n);
        for (int64_t d = 0; d < n; d++) {
            if (shape[d] < 0)
                return lens_error(LENS_STATUS_INVALID_MODEL, "negative dimension in shape");
            dims[d] = shape[d];
        }
        ndim = (int32_t)n;
        dt = (lens_dtype)lens_node_attr_int(node, "dtype", LENS_DTYPE_FLOAT);
    }
    LENS_TRY(random_dtype_check(dt));
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, dt, ndim, dims, &y));
    if (normal)
        random_fill(node, y, true, lens_node_attr_float(node, "mean", 0.0f),
                    lens_node_attr_float(node, "scale", 1.0f));
    else
        random_fill(node, y, false, lens_node_attr_float(node, "low", 0.0f),
                    lens_node_attr_float(node, "high", 1.0f));
    return LENS_OK;
}

lens_status lens_op_random_uniform_run(const lens_node *node, lens_exec *ex) {
    return random_run(node, ex, false, false);
}
lens_status lens_op_random_normal_run(const lens_node *node, lens_exec *ex) {
    return random_run(node, ex, true, false);
}
lens_status lens_op_random_uniform_like_run(const lens_node *node, lens_exec *ex) {
    return random_run(node, ex, false, true);
}
lens_status lens_op_random_normal_like_run(const lens_node *node, lens_exec *ex) {
    return random_run(node, ex, true, true);
}

/* Bernoulli-15: y = 1 with probability x, else 0, in dtype (default: x's). */
lens_status lens_op_bernoulli_run(const lens_node *node, lens_exec *ex) {
    const lens_tensor *x = lens_exec_input(ex, 0);
    if (!x) return lens_error(LENS_STATUS_INVALID_MODEL, "missing input");
    if (x->dtype != LENS_DTYPE_FLOAT && x->dtype != LENS_DTYPE_DOUBLE &&
        x->dtype != LENS_DTYPE_FLOAT16)
        return lens_error(LENS_STATUS_INVALID_MODEL, "Bernoulli input must be floating point");
    lens_dtype dt = (lens_dtype)lens_node_attr_int(node, "dtype", x->dtype);
    if (lens_dtype_size(dt) == 0)
        return lens_error(LENS_STATUS_INVALID_MODEL, "Bernoulli output type %s", lens_dtype_name(dt));
    lens_tensor *y;
    LENS_TRY(lens_exec_output(ex, 0, dt, x->ndim, x->dims, &y));
    rng r = rng_for(node);
    int64_t n = lens_tensor_numel(x);
    for (int64_t i = 0; i < n; i++)
        lens_tensor_set_f64(y, i, rng_uniform(&r) < lens_tensor_get_f64(x, i) ? 1.0 : 0.0);
    return LENS_OK;
}
