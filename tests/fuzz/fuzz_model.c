/* Fuzz target: model bytes -> lens_model_open_memory -> describe -> session
 * -> two runs on a small generated input -> read every output.
 *
 * The limits are tight (fuzz_common.h) and inputs whose shape the model
 * leaves open get small dimensions, so that the fuzzer spends its time in
 * the reader, the optimiser and the operators' shape logic rather than in
 * allocating. Two runs: the first is the planning run (heap mode), the
 * second uses the memory plan. */
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input values: small integers (valid as indices, axes and counts for most
 * operators) for integer types, a few signed fractions for floats. */
static void fill(lens_tensor *t, int64_t numel, uint32_t seed) {
    uint32_t x = seed * 2654435761u + 12345u;
    for (int64_t i = 0; i < numel; i++) {
        x = x * 1103515245u + 12345u;
        int32_t r = (int32_t)((x >> 16) % 7) - 2; /* -2..4 */
        switch (t->dtype) {
        case LENS_DTYPE_FLOAT: ((float *)t->data)[i] = (float)r * 0.75f; break;
        case LENS_DTYPE_DOUBLE: ((double *)t->data)[i] = r * 0.75; break;
        case LENS_DTYPE_FLOAT16: ((uint16_t *)t->data)[i] = (uint16_t)(0x3c00 + (uint16_t)(r & 3)); break;
        case LENS_DTYPE_BFLOAT16: ((uint16_t *)t->data)[i] = (uint16_t)(0x3f80 + (uint16_t)(r & 3)); break;
        case LENS_DTYPE_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)(r & 1); break;
        case LENS_DTYPE_INT8: ((int8_t *)t->data)[i] = (int8_t)r; break;
        case LENS_DTYPE_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)(r + 2); break;
        case LENS_DTYPE_INT16: ((int16_t *)t->data)[i] = (int16_t)r; break;
        case LENS_DTYPE_UINT16: ((uint16_t *)t->data)[i] = (uint16_t)(r + 2); break;
        case LENS_DTYPE_INT32: ((int32_t *)t->data)[i] = r; break;
        case LENS_DTYPE_UINT32: ((uint32_t *)t->data)[i] = (uint32_t)(r + 2); break;
        case LENS_DTYPE_INT64: ((int64_t *)t->data)[i] = r; break;
        case LENS_DTYPE_UINT64: ((uint64_t *)t->data)[i] = (uint64_t)(r + 2); break;
        default: break;
        }
    }
}

static void describe(const lens_model *m) {
    size_t n = lens_model_metadata_count(m);
    for (size_t i = 0; i < n; i++) {
        const char *k = NULL, *v = NULL;
        if (lens_model_metadata_at(m, i, &k, &v) == LENS_OK) {
            fuzz_touch_string(k);
            fuzz_touch_string(v);
            fuzz_touch_string(lens_model_metadata_get(m, k));
        }
    }
    for (size_t i = 0; i < lens_model_opset_count(m); i++) {
        const char *d = NULL;
        int64_t ver;
        if (lens_model_opset_at(m, i, &d, &ver) == LENS_OK) fuzz_touch_string(d);
    }
    for (size_t i = 0; i < lens_model_op_count(m); i++) {
        const char *op = NULL;
        int64_t cnt;
        if (lens_model_op_at(m, i, &op, &cnt) == LENS_OK) fuzz_touch_string(op);
    }
    fuzz_touch_string(lens_model_producer(m));
    for (size_t i = 0; i < lens_model_output_count(m); i++) {
        lens_value_info vi;
        if (lens_model_output_info(m, i, &vi) == LENS_OK) fuzz_touch_string(vi.name);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lens_model_options mo;
    memset(&mo, 0, sizeof mo);
    fuzz_limits(&mo.limits);
    lens_model *m = NULL;
    if (lens_model_open_memory(data, size, &mo, &m) != LENS_OK) {
        fuzz_touch_string(lens_last_error());
        return 0;
    }
    describe(m);
    lens_session_options so = {.threads = 1};
    lens_session *s = NULL;
    size_t n_in = lens_model_input_count(m);
    lens_tensor *in = NULL;
    if (n_in > 16 || lens_session_create(m, &so, &s) != LENS_OK) goto done;
    in = calloc(n_in ? n_in : 1, sizeof *in);
    if (!in) goto done;
    for (size_t i = 0; i < n_in; i++) {
        lens_value_info vi;
        if (lens_model_input_info(m, i, &vi) != LENS_OK) goto done;
        lens_tensor *t = &in[i];
        t->dtype = vi.dtype != LENS_DTYPE_UNDEFINED ? vi.dtype : LENS_DTYPE_FLOAT;
        t->ndim = vi.ndim >= 0 ? vi.ndim : 1;
        int64_t numel = 1;
        for (int32_t k = 0; k < t->ndim; k++) {
            t->dims[k] = vi.dims[k] >= 0 ? vi.dims[k] : 2;
            if (t->dims[k] > 4096) goto done;
            numel *= t->dims[k];
            if (numel > 4096) goto done; /* too big to be worth running */
        }
        size_t es = lens_dtype_size(t->dtype);
        if (!es) goto done;
        t->data = malloc((size_t)numel * es + 1);
        if (!t->data) goto done;
        fill(t, numel, (uint32_t)i);
    }
    for (int run = 0; run < 2; run++) {
        if (lens_session_run(s, n_in, in) != LENS_OK) {
            fuzz_touch_string(lens_last_error());
            break;
        }
        for (size_t o = 0; o < lens_model_output_count(m); o++) {
            lens_tensor out;
            if (lens_session_output(s, o, &out) != LENS_OK) __builtin_trap();
            if (out.ndim < 0 || out.ndim > LENS_MAX_DIMS) __builtin_trap();
            fuzz_touch_tensor(&out);
        }
    }
done:
    if (in)
        for (size_t i = 0; i < n_in; i++) free(in[i].data);
    free(in);
    lens_session_free(s);
    lens_model_free(m);
    return 0;
}
