/* Classification post-processing and helpers every decoder shares: reading
 * tensor elements of any numeric type, labels, output descriptions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "vision/vision_internal.h"

bool vision_dtype_is_float(lens_dtype d) {
    return d == LENS_DTYPE_FLOAT || d == LENS_DTYPE_FLOAT16 || d == LENS_DTYPE_DOUBLE || d == LENS_DTYPE_BFLOAT16;
}

bool vision_dtype_is_int(lens_dtype d) {
    return d == LENS_DTYPE_INT64 || d == LENS_DTYPE_INT32 || d == LENS_DTYPE_INT16 || d == LENS_DTYPE_INT8 ||
           d == LENS_DTYPE_UINT8 || d == LENS_DTYPE_UINT16 || d == LENS_DTYPE_UINT32 || d == LENS_DTYPE_UINT64;
}

bool vision_tensor_is_comparable(const lens_tensor *t) {
    return vision_dtype_is_float(t->dtype) || vision_dtype_is_int(t->dtype) || t->dtype == LENS_DTYPE_BOOL;
}

float vision_tensor_get(const lens_tensor *t, int64_t i) {
    const void *p = t->data;
    switch (t->dtype) {
    case LENS_DTYPE_FLOAT: return ((const float *)p)[i];
    case LENS_DTYPE_DOUBLE: return (float)((const double *)p)[i];
    case LENS_DTYPE_FLOAT16: return lens_f16_to_f32(((const uint16_t *)p)[i]);
    case LENS_DTYPE_BFLOAT16: return lens_bf16_to_f32(((const uint16_t *)p)[i]);
    case LENS_DTYPE_INT64: return (float)((const int64_t *)p)[i];
    case LENS_DTYPE_INT32: return (float)((const int32_t *)p)[i];
    case LENS_DTYPE_INT16: return (float)((const int16_t *)p)[i];
    case LENS_DTYPE_INT8: return (float)((const int8_t *)p)[i];
    case LENS_DTYPE_UINT8: return (float)((const uint8_t *)p)[i];
    case LENS_DTYPE_UINT16: return (float)((const uint16_t *)p)[i];
    case LENS_DTYPE_UINT32: return (float)((const uint32_t *)p)[i];
    case LENS_DTYPE_UINT64: return (float)((const uint64_t *)p)[i];
    case LENS_DTYPE_BOOL: return ((const uint8_t *)p)[i] ? 1.0f : 0.0f;
    default: return NAN;
    }
}

const char *vision_label(const lens_vision_config *cfg, int64_t i, char *buf, size_t size) {
    if (i >= 0 && (uint64_t)i < cfg->n_labels && cfg->labels[i]) return cfg->labels[i];
    snprintf(buf, size, "class_%lld", (long long)i);
    return buf;
}

const char *vision_labels_from(const lens_vision_config *cfg) {
    if (cfg->origin_key[LENS_FIELD_LABELS]) return cfg->origin_key[LENS_FIELD_LABELS];
    return cfg->origin[LENS_FIELD_LABELS] == LENS_ORIGIN_OPTION ? "given as an option"
                                                                : lens_origin_name(cfg->origin[LENS_FIELD_LABELS]);
}

const char *vision_output_str(const vision_outputs *o, size_t i, char *buf, size_t size) {
    const lens_tensor *t = &o->t[i];
    const char *name = o->names && o->names[i] ? o->names[i] : "";
    size_t u = (size_t)snprintf(buf, size, "output %zu '%s' %s [", i, name, lens_dtype_name(t->dtype));
    for (int32_t k = 0; k < t->ndim && u < size; k++)
        u += (size_t)snprintf(buf + u, size - u, "%s%lld", k ? ", " : "", (long long)t->dims[k]);
    if (u < size) snprintf(buf + u, size - u, "]");
    return buf;
}

bool vision_looks_like_logits(const float *v, int64_t n) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!(v[i] >= 0.0f && v[i] <= 1.0f)) return true; /* NaN counts as not a probability */
        sum += v[i];
    }
    return fabs(sum - 1.0) > 0.01;
}

lens_status vision_classify_plan(const lens_vision_config *cfg, const vision_outputs *o, int64_t *n_classes) {
    char b[256];
    if (o->n < 1) return lens_error(LENS_STATUS_UNSUPPORTED, "classify: the model has no outputs");
    const lens_tensor *t = &o->t[0];
    /* [C], [1, C], [1, C, 1, 1]: exactly one dimension may exceed 1. */
    int64_t c = 1;
    int big = 0;
    for (int32_t k = 0; k < t->ndim; k++)
        if (t->dims[k] != 1) {
            c = t->dims[k];
            big++;
        }
    if (!vision_dtype_is_float(t->dtype) || big > 1 || t->ndim < 1 || c < 1)
        return lens_error(LENS_STATUS_UNSUPPORTED,
                          "classify: %s matches no known layout (expected float scores [1, C])",
                          vision_output_str(o, 0, b, sizeof b));
    if (cfg->n_labels && (int64_t)cfg->n_labels != c)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%zu labels (%s) but the model scores %lld classes (%s)",
                          cfg->n_labels, vision_labels_from(cfg), (long long)c, vision_output_str(o, 0, b, sizeof b));
    *n_classes = c;
    return LENS_OK;
}

typedef struct scored {
    float s;
    int32_t i;
} scored;

static int cmp_scored(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->s > y->s) return -1;
    if (x->s < y->s) return 1;
    return (x->i > y->i) - (x->i < y->i);
}

lens_status vision_classify(const lens_vision_config *cfg, const vision_outputs *o, lens_classification *out) {
    memset(out, 0, sizeof *out);
    int64_t c;
    LENS_TRY(vision_classify_plan(cfg, o, &c));
    if (c > INT32_MAX) return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "classify: %lld classes", (long long)c);
    float *v = lens_malloc((size_t)c * sizeof *v);
    scored *s = lens_malloc((size_t)c * sizeof *s);
    if (!v || !s) {
        lens_free(v);
        lens_free(s);
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "classify: out of memory");
    }
    for (int64_t i = 0; i < c; i++) v[i] = vision_tensor_get(&o->t[0], i);
    bool softmax = cfg->softmax > 0 || (cfg->softmax == 0 && vision_looks_like_logits(v, c));
    if (softmax) {
        float mx = -INFINITY;
        for (int64_t i = 0; i < c; i++)
            if (v[i] > mx) mx = v[i];
        double sum = 0;
        for (int64_t i = 0; i < c; i++) {
            v[i] = isnan(v[i]) ? 0.0f : expf(v[i] - mx);
            sum += v[i];
        }
        for (int64_t i = 0; i < c; i++) v[i] = sum > 0 ? (float)(v[i] / sum) : 0.0f;
    }
    for (int64_t i = 0; i < c; i++) {
        s[i].s = isnan(v[i]) ? -INFINITY : v[i];
        s[i].i = (int32_t)i;
    }
    qsort(s, (size_t)c, sizeof *s, cmp_scored);
    size_t k = (size_t)LENS_MIN((int64_t)cfg->top_k, c);
    /* One block: the entries, then their label strings. */
    size_t bytes = k * sizeof(lens_class_score);
    char nb[32];
    for (size_t i = 0; i < k; i++) bytes += strlen(vision_label(cfg, s[i].i, nb, sizeof nb)) + 1;
    lens_class_score *top = lens_malloc(bytes);
    if (!top) {
        lens_free(v);
        lens_free(s);
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "classify: out of memory");
    }
    char *str = (char *)(top + k);
    for (size_t i = 0; i < k; i++) {
        const char *l = vision_label(cfg, s[i].i, nb, sizeof nb);
        size_t n = strlen(l) + 1;
        memcpy(str, l, n);
        top[i].index = s[i].i;
        top[i].score = v[s[i].i];
        top[i].label = str;
        str += n;
    }
    lens_free(v);
    lens_free(s);
    out->count = k;
    out->top = top;
    out->n_classes = (int32_t)c;
    out->softmax_applied = softmax;
    return LENS_OK;
}

void lens_classification_free(lens_classification *result) {
    if (!result) return;
    lens_free(result->top);
    memset(result, 0, sizeof *result);
}
