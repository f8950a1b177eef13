/* Fuzz target: model metadata -> vision settings (src/vision/metadata.c:
 * lens.* keys, Ultralytics and OpenVINO metadata, the JSON, Python-dict and
 * space-separated label parsers).
 *
 * Input: byte 0 picks the task option, byte 1 the input shape, byte 2 the
 * output shape; the rest is key NUL value NUL key NUL value ... (at most 64
 * pairs). Both vision_config_resolve (what lens_pipeline_create does) and
 * vision_config_describe (lens info) run on it. */
#include <stdlib.h>

#include "fuzz_common.h"
#include "vision/vision_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PAIRS 64

static const int64_t IN_SHAPES[][4] = {
    {1, 3, 224, 224}, {1, 224, 224, 3}, {1, 1, 28, 28}, {-1, 3, -1, -1}, {3, 64, 48, 0}, {1, 3, 0, 7},
};
static const int32_t IN_RANKS[] = {4, 4, 4, 4, 3, 4};
static const int64_t OUT_SHAPES[][4] = {
    {1, 10, 0, 0}, {1, 84, 8400, 0}, {1, 8400, 85, 0}, {1, 21, 224, 224}, {1, 1, 100, 7}, {100, 4, 0, 0},
    {-1, -1, 0, 0},
};
static const int32_t OUT_RANKS[] = {2, 3, 3, 4, 4, 2, 2};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    lens_value_info in, out;
    memset(&in, 0, sizeof in);
    memset(&out, 0, sizeof out);
    size_t si = data[1] % (sizeof IN_RANKS / sizeof IN_RANKS[0]);
    size_t so = data[2] % (sizeof OUT_RANKS / sizeof OUT_RANKS[0]);
    in.name = "images";
    in.dtype = data[1] & 0x80 ? LENS_DTYPE_UINT8 : LENS_DTYPE_FLOAT;
    in.ndim = IN_RANKS[si];
    memcpy(in.dims, IN_SHAPES[si], sizeof IN_SHAPES[si]);
    out.name = "output0";
    out.dtype = LENS_DTYPE_FLOAT;
    out.ndim = OUT_RANKS[so];
    memcpy(out.dims, OUT_SHAPES[so], sizeof OUT_SHAPES[so]);

    /* Split into NUL-terminated strings: a copy with a final NUL. */
    char *text = malloc(size - 3 + 1);
    if (!text) return 0;
    memcpy(text, data + 3, size - 3);
    text[size - 3] = 0;
    const char *keys[MAX_PAIRS], *values[MAX_PAIRS];
    size_t n = 0;
    const char *p = text, *end = text + (size - 3);
    while (p < end && n < MAX_PAIRS) {
        const char *k = p;
        p += strlen(p) + 1;
        if (p > end) break;
        keys[n] = k;
        values[n++] = p;
        p += strlen(p) + 1;
    }
    vision_model_desc d = {n, keys, values, 1, 1, &in, &out};

    lens_vision_options opt;
    memset(&opt, 0, sizeof opt);
    opt.task = (lens_task)(data[0] & 3);
    lens_vision_config cfg;
    vision_config_store store;
    memset(&store, 0, sizeof store);
    if (vision_config_resolve(&d, &opt, &cfg, &store) == LENS_OK) {
        for (size_t i = 0; i < cfg.n_labels; i++) fuzz_touch_string(cfg.labels[i]);
        for (size_t i = 0; i < cfg.n_warnings; i++) fuzz_touch_string(cfg.warnings[i]);
        if (lens_preprocess_tensor_bytes(&cfg.preprocess) == 0 && cfg.preprocess.width > 0) __builtin_trap();
    } else {
        fuzz_touch_string(lens_last_error());
    }
    vision_config_store_free(&store);
    memset(&store, 0, sizeof store);
    if (vision_config_describe(&d, &cfg, &store) == LENS_OK)
        for (size_t i = 0; i < cfg.n_labels; i++) fuzz_touch_string(cfg.labels[i]);
    vision_config_store_free(&store);
    free(text);
    return 0;
}
