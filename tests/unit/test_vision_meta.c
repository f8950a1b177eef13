/* Unit tests of metadata -> pipeline settings (src/vision/metadata.c) and
 * the JSON parser behind it: precedence (defaults < input shape < Ultralytics
 * / OpenVINO < lens.* < options), every lens key, and hostile values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "vision/vision_internal.h"

static int g_failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            g_failures++;                                                                          \
        }                                                                                          \
    } while (0)

#define NEAR(a, b) (fabs((double)(a) - (double)(b)) <= 1e-6)

static lens_value_info g_in, g_out;

/* A model with input [1,3,H,W] (or the dims given) and the metadata given as
 * key, value, key, value, ..., NULL. */
static lens_status resolve(const int64_t *in_dims, int32_t in_ndim, const lens_vision_options *opt,
                           lens_vision_config *cfg, vision_config_store *st, const char *const *kv) {
    static const char *keys[64], *values[64];
    size_t n = 0;
    for (; kv && kv[2 * n]; n++) {
        keys[n] = kv[2 * n];
        values[n] = kv[2 * n + 1];
    }
    memset(&g_in, 0, sizeof g_in);
    g_in.name = "images";
    g_in.dtype = LENS_DTYPE_FLOAT;
    g_in.ndim = in_ndim;
    for (int32_t i = 0; i < in_ndim; i++) g_in.dims[i] = in_dims[i];
    memset(&g_out, 0, sizeof g_out);
    g_out.name = "out";
    g_out.dtype = LENS_DTYPE_FLOAT;
    g_out.ndim = 2;
    g_out.dims[0] = 1;
    g_out.dims[1] = 10;
    vision_model_desc d = {n, keys, values, 1, 1, &g_in, &g_out};
    return vision_config_resolve(&d, opt, cfg, st);
}

static const int64_t NCHW224[4] = {1, 3, 224, 224};

static void test_defaults_and_shape(void) {
    lens_vision_config c;
    vision_config_store s;
    lens_vision_options o = {0};
    o.task = LENS_TASK_CLASSIFY;
    CHECK(resolve(NCHW224, 4, &o, &c, &s, NULL) == LENS_OK, "plain model: %s", lens_last_error());
    CHECK(c.preprocess.width == 224 && c.preprocess.height == 224 && c.origin[LENS_FIELD_SIZE] == LENS_ORIGIN_MODEL,
          "size from the input shape");
    CHECK(c.preprocess.layout == LENS_LAYOUT_NCHW && c.preprocess.channels == LENS_CHANNELS_RGB &&
              NEAR(c.preprocess.scale, 1.0 / 255) && c.preprocess.std[2] == 1 && c.preprocess.mean[0] == 0 &&
              c.preprocess.resize == LENS_RESIZE_STRETCH && c.preprocess.pad_value == 114,
          "documented defaults");
    CHECK(NEAR(c.conf, 0.25) && NEAR(c.iou, 0.45) && c.max_det == 100 && c.top_k == 5, "post defaults");
    CHECK(c.task == LENS_TASK_CLASSIFY && c.origin[LENS_FIELD_TASK] == LENS_ORIGIN_OPTION, "task from options");
    vision_config_store_free(&s);

    const int64_t nhwc[4] = {1, 320, 256, 1};
    CHECK(resolve(nhwc, 4, &o, &c, &s, NULL) == LENS_OK && c.preprocess.layout == LENS_LAYOUT_NHWC &&
              c.preprocess.channels == LENS_CHANNELS_GRAY && c.preprocess.width == 256 && c.preprocess.height == 320,
          "NHWC gray input [1,320,256,1]");
    vision_config_store_free(&s);
    const int64_t dyn[4] = {1, 3, -1, -1};
    CHECK(resolve(dyn, 4, &o, &c, &s, NULL) == LENS_STATUS_UNSUPPORTED && strstr(lens_last_error(), "--size"),
          "dynamic size with no metadata asks for --size: %s", lens_last_error());
    vision_config_store_free(&s);
    const char *sz[] = {"lens.input.size", "640,480", NULL};
    CHECK(resolve(dyn, 4, &o, &c, &s, sz) == LENS_OK && c.preprocess.width == 640 && c.preprocess.height == 480 &&
              c.origin[LENS_FIELD_SIZE] == LENS_ORIGIN_LENS && !strcmp(c.origin_key[LENS_FIELD_SIZE], "lens.input.size"),
          "lens.input.size W,H");
    vision_config_store_free(&s);
    const int64_t chw[3] = {3, 480, 640};
    CHECK(resolve(chw, 3, &o, &c, &s, NULL) == LENS_OK && c.input_rank == 3 && c.preprocess.width == 640,
          "rank-3 [3,H,W] input");
    vision_config_store_free(&s);
    const int64_t r2[2] = {1, 3};
    CHECK(resolve(r2, 2, &o, &c, &s, NULL) == LENS_STATUS_UNSUPPORTED && strstr(lens_last_error(), "images"),
          "rank-2 input refused naming it");
    vision_config_store_free(&s);
    CHECK(resolve(NCHW224, 4, NULL, &c, &s, NULL) == LENS_STATUS_UNSUPPORTED && strstr(lens_last_error(), "task"),
          "no task anywhere: %s", lens_last_error());
    vision_config_store_free(&s);
}

static void test_lens_keys(void) {
    lens_vision_config c;
    vision_config_store s;
    const char *kv[] = {"lens.format", "1",
                        "lens.task", "detect",
                        "lens.labels", "[\"cat\", \"d\\\"og\", \"caf\\u00e9\", \"\\ud83d\\ude00\"]",
                        "lens.input.size", "320, 256",
                        "lens.input.resize", "letterbox",
                        "lens.input.resize_short", "300",
                        "lens.input.interp", "area",
                        "lens.input.pad", "0",
                        "lens.input.channels", "bgr",
                        "lens.input.scale", "1",
                        "lens.input.mean", "103.5,116.25,123.75",
                        "lens.input.std", "57",
                        "lens.input.layout", "nhwc",
                        "lens.input.dtype", "uint8",
                        "lens.output.layout", "yolov8",
                        "lens.output.box", "xyxy",
                        "lens.output.normalized", "1",
                        "lens.post.conf", "0.5",
                        "lens.post.iou", "0.7",
                        "lens.post.max_det", "300",
                        "lens.post.top_k", "3",
                        NULL};
    const int64_t dyn[4] = {1, 3, -1, -1};
    CHECK(resolve(dyn, 4, NULL, &c, &s, kv) == LENS_OK, "every lens key: %s", lens_last_error());
    const lens_preprocess *p = &c.preprocess;
    CHECK(c.task == LENS_TASK_DETECT && c.n_labels == 4 && !strcmp(c.labels[1], "d\"og") &&
              !strcmp(c.labels[2], "caf\xc3\xa9") && !strcmp(c.labels[3], "\xf0\x9f\x98\x80"),
          "task and labels with escapes");
    CHECK(p->width == 320 && p->height == 256 && p->resize == LENS_RESIZE_LETTERBOX && p->resize_short == 300 &&
              p->interp == LENS_INTERP_AREA && p->pad_value == 0 && p->channels == LENS_CHANNELS_BGR &&
              p->scale == 1 && NEAR(p->mean[1], 116.25) && p->std[0] == 57 && p->std[2] == 57 &&
              p->layout == LENS_LAYOUT_NHWC && p->dtype == LENS_DTYPE_UINT8,
          "preprocessing keys");
    CHECK(c.output_layout == LENS_OUTPUT_YOLOV8 && c.box_format == LENS_BOX_XYXY && c.normalized &&
              NEAR(c.conf, 0.5) && NEAR(c.iou, 0.7) && c.max_det == 300 && c.top_k == 3,
          "output and post keys");
    vision_config_store_free(&s);

    /* Options win over lens keys. */
    lens_vision_options o = {0};
    o.has_conf = true;
    o.conf = 0.1f;
    o.has_resize = true;
    o.resize = LENS_RESIZE_CROP;
    o.max_det = 7;
    const char *lab[] = {"x", "y"};
    o.labels = lab;
    o.n_labels = 2;
    o.labels_source = "labels file 'l.txt'";
    CHECK(resolve(dyn, 4, &o, &c, &s, kv) == LENS_OK && NEAR(c.conf, 0.1) &&
              c.preprocess.resize == LENS_RESIZE_CROP && c.max_det == 7 && c.n_labels == 2 &&
              c.origin[LENS_FIELD_CONF] == LENS_ORIGIN_OPTION &&
              !strcmp(c.origin_key[LENS_FIELD_LABELS], "labels file 'l.txt'"),
          "options override lens keys");
    vision_config_store_free(&s);
}

static void test_hostile(void) {
    static const char *bad[][2] = {
        {"lens.format", "2"},
        {"lens.format", "x"},
        {"lens.task", "pose"},
        {"lens.labels", "[\"a\",]"},
        {"lens.labels", "[1, 2]"},
        {"lens.labels", "{\"a\": 1}"},
        {"lens.labels", "[\"unterminated]"},
        {"lens.labels", "[\"bad escape \\q\"]"},
        {"lens.labels", "[\"lone \\ud800 surrogate\"]"},
        {"lens.labels", "[\"nul \\u0000\"]"},
        {"lens.labels", "[\"a\"] trailing"},
        {"lens.labels", "[\"ctrl \x01\"]"},
        {"lens.labels", ""},
        {"lens.input.size", "640"},
        {"lens.input.size", "0,10"},
        {"lens.input.size", "99999,10"},
        {"lens.input.size", "10.5,10"},
        {"lens.input.size", "10,10,10"},
        {"lens.input.resize", "squash"},
        {"lens.input.pad", "256"},
        {"lens.input.pad", "-1"},
        {"lens.input.scale", "0"},
        {"lens.input.scale", "nan"},
        {"lens.input.scale", "1e999"},
        {"lens.input.mean", "1,2"},
        {"lens.input.mean", "1,2,3,4"},
        {"lens.input.mean", "1,,2"},
        {"lens.input.std", "1,0,1"},
        {"lens.input.std", "inf"},
        {"lens.input.layout", "chw"},
        {"lens.input.dtype", "float16"},
        {"lens.output.layout", "yolov9"},
        {"lens.output.box", "xywh"},
        {"lens.output.normalized", "yes"},
        {"lens.post.conf", "1.5"},
        {"lens.post.iou", "-0.1"},
        {"lens.post.max_det", "0"},
        {"lens.post.max_det", "99999999999999999999"},
        {"lens.post.top_k", "3x"},
    };
    lens_vision_options o = {0};
    o.task = LENS_TASK_DETECT;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *kv[] = {bad[i][0], bad[i][1], NULL};
        lens_vision_config c;
        vision_config_store s;
        lens_status st = resolve(NCHW224, 4, &o, &c, &s, kv);
        CHECK(st == LENS_STATUS_INVALID_MODEL && strstr(lens_last_error(), bad[i][0]),
              "%s = '%s' refused naming the key (status %d: %s)", bad[i][0], bad[i][1], (int)st, lens_last_error());
        vision_config_store_free(&s);
    }
    /* Deep nesting and long values are bounded, not recursed into without end. */
    char deep[4096];
    size_t n = 0;
    for (; n < 2000; n++) deep[n] = '[';
    deep[n] = '\0';
    vjson j;
    CHECK(vjson_parse(deep, n, "deep", &j) == LENS_STATUS_INVALID_ARGUMENT && strstr(lens_last_error(), "deeply"),
          "2000 nested arrays refused: %s", lens_last_error());
    /* A label over the size limit. */
    size_t big = VISION_MAX_LABEL_BYTES + 100;
    char *longlab = malloc(big + 8);
    longlab[0] = '[';
    longlab[1] = '"';
    memset(longlab + 2, 'a', big);
    memcpy(longlab + 2 + big, "\"]", 3);
    char **labels;
    size_t nl;
    CHECK(vision_parse_labels_json(longlab, "t", &labels, &nl) == LENS_STATUS_LIMIT_EXCEEDED, "long label refused");
    free(longlab);
    /* Mutations of a valid labels value never crash and either parse or fail cleanly. */
    const char *good = "[\"person\", \"bi\\\"cycle\", \"caf\\u00e9\", \"\\ud83d\\ude00\"]";
    uint64_t r = 12345;
    for (int k = 0; k < 3000; k++) {
        char m[128];
        size_t len = strlen(good);
        memcpy(m, good, len + 1);
        for (int e = 0; e < 3; e++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            size_t pos = (size_t)(r >> 33) % len;
            static const char alphabet[] = "[]{}\",:\\u0aZ \x01\xff";
            m[pos] = alphabet[(r >> 13) % (sizeof alphabet - 1)];
        }
        lens_status st = vision_parse_labels_json(m, "fuzz", &labels, &nl);
        if (st == LENS_OK) vision_labels_free(labels, nl);
        else CHECK(st == LENS_STATUS_INVALID_ARGUMENT, "fuzzed labels: status %d", (int)st);
    }
}

static void test_python_dict(void) {
    char **l;
    size_t n;
    CHECK(vision_parse_labels_pydict("{0: 'person', 1: \"bi'cycle\", 2: 'a\\'b', 3: 'caf\\xe9'}", "names", &l, &n) ==
                  LENS_OK &&
              n == 4 && !strcmp(l[0], "person") && !strcmp(l[1], "bi'cycle") && !strcmp(l[2], "a'b") &&
              !strcmp(l[3], "caf\xc3\xa9"),
          "Python dict literal with quotes and escapes: %s", lens_last_error());
    if (n == 4) vision_labels_free(l, n);
    CHECK(vision_parse_labels_pydict("{1: 'b', 0: 'a'}", "names", &l, &n) == LENS_OK && n == 2 && !strcmp(l[0], "a"),
          "keys in any order");
    if (n == 2) vision_labels_free(l, n);
    CHECK(vision_parse_labels_pydict("{}", "names", &l, &n) == LENS_OK && n == 0, "empty dict");
    vision_labels_free(l, n);
    static const char *bad[] = {"{0: 'a', 0: 'b'}", "{0: 'a', 2: 'b'}", "{-1: 'a'}", "{0: a}", "{0: 'a'",
                                "{0 'a'}", "[0, 1]", "{0: 'a',, 1: 'b'}", "{0: 'a'} x", "{99999999999: 'a'}",
                                "{0: 'a\\x4'}", "{0: 'a\\"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(vision_parse_labels_pydict(bad[i], "names", &l, &n) != LENS_OK, "bad dict refused: %s", bad[i]);
}

static void test_foreign(void) {
    lens_vision_config c;
    vision_config_store s;
    const int64_t dyn[4] = {1, 3, -1, -1};
    const char *ultra[] = {"task", "detect", "names", "{0: 'person', 1: 'car'}", "imgsz", "[480, 640]", "stride",
                           "32", NULL};
    CHECK(resolve(dyn, 4, NULL, &c, &s, ultra) == LENS_OK, "Ultralytics: %s", lens_last_error());
    CHECK(c.task == LENS_TASK_DETECT && c.origin[LENS_FIELD_TASK] == LENS_ORIGIN_ULTRALYTICS && c.n_labels == 2 &&
              !strcmp(c.labels[1], "car") && c.preprocess.height == 480 && c.preprocess.width == 640 &&
              c.preprocess.resize == LENS_RESIZE_LETTERBOX && c.preprocess.pad_value == 114,
          "Ultralytics task, names, imgsz (H, W), letterbox");
    vision_config_store_free(&s);
    /* lens keys beat Ultralytics'. */
    const char *both[] = {"task", "detect", "names", "{0: 'person'}", "imgsz", "[224, 224]", "lens.labels",
                          "[\"a\", \"b\"]", "lens.input.resize", "stretch", NULL};
    CHECK(resolve(NCHW224, 4, NULL, &c, &s, both) == LENS_OK && c.n_labels == 2 &&
              c.origin[LENS_FIELD_LABELS] == LENS_ORIGIN_LENS && c.preprocess.resize == LENS_RESIZE_STRETCH,
          "lens keys win over Ultralytics");
    vision_config_store_free(&s);
    /* Malformed foreign values are warnings, not errors. */
    const char *broken[] = {"task", "pose", "names", "{0: 'a', 0: 'b'}", "imgsz", "[abc]", NULL};
    lens_vision_options o = {0};
    o.task = LENS_TASK_DETECT;
    CHECK(resolve(NCHW224, 4, &o, &c, &s, broken) == LENS_OK && c.n_warnings == 3 && c.n_labels == 0,
          "broken Ultralytics metadata: 3 warnings (%zu)", c.n_warnings);
    vision_config_store_free(&s);
    /* OpenVINO model_api. */
    const char *ov[] = {"model_info.model_type", "Classification", "model_info.labels", "tench goldfish shark",
                        "model_info.mean_values", "123.675 116.28 103.53", "model_info.scale_values",
                        "58.395 57.12 57.375", "model_info.reverse_input_channels", "True",
                        "model_info.resize_type", "fit_to_window_letterbox", "model_info.pad_value", "0",
                        "model_info.confidence_threshold", "0.3", NULL};
    CHECK(resolve(NCHW224, 4, NULL, &c, &s, ov) == LENS_OK, "OpenVINO: %s", lens_last_error());
    CHECK(c.task == LENS_TASK_CLASSIFY && c.n_labels == 3 && !strcmp(c.labels[2], "shark") &&
              c.preprocess.scale == 1 && NEAR(c.preprocess.mean[0], 123.675f) && NEAR(c.preprocess.std[2], 57.375f) &&
              c.preprocess.channels == LENS_CHANNELS_RGB && c.preprocess.resize == LENS_RESIZE_LETTERBOX &&
              c.preprocess.pad_value == 0 && NEAR(c.conf, 0.3f) && c.origin[LENS_FIELD_MEAN] == LENS_ORIGIN_OPENVINO,
          "OpenVINO keys");
    vision_config_store_free(&s);
    const char *ov2[] = {"model_type", "SSD", "reverse_input_channels", "False", "mean_values", "1 2", NULL};
    CHECK(resolve(NCHW224, 4, NULL, &c, &s, ov2) == LENS_OK && c.task == LENS_TASK_DETECT &&
              c.output_layout == LENS_OUTPUT_SSD && c.preprocess.channels == LENS_CHANNELS_BGR && c.n_warnings == 1,
          "OpenVINO plain keys, SSD, BGR, bad mean warned");
    vision_config_store_free(&s);
    /* Options contradicting the metadata's task: a warning, and a layout of another task is dropped. */
    const char *det[] = {"lens.task", "detect", "lens.output.layout", "yolov8", NULL};
    o.task = LENS_TASK_CLASSIFY;
    CHECK(resolve(NCHW224, 4, &o, &c, &s, det) == LENS_OK && c.task == LENS_TASK_CLASSIFY &&
              c.output_layout == LENS_OUTPUT_AUTO && c.n_warnings == 2,
          "task from options wins; the detect layout is dropped with warnings");
    vision_config_store_free(&s);
    /* Bad option values. */
    lens_vision_options bo = {0};
    bo.task = LENS_TASK_DETECT;
    bo.has_conf = true;
    bo.conf = 2;
    CHECK(resolve(NCHW224, 4, &bo, &c, &s, NULL) == LENS_STATUS_INVALID_ARGUMENT, "conf 2 refused");
    vision_config_store_free(&s);
    bo.has_conf = false;
    bo.has_std = true;
    CHECK(resolve(NCHW224, 4, &bo, &c, &s, NULL) == LENS_STATUS_INVALID_ARGUMENT, "std 0 refused");
    vision_config_store_free(&s);
    /* A size that the fixed input cannot take. */
    lens_vision_options so = {0};
    so.task = LENS_TASK_DETECT;
    so.has_size = true;
    so.width = 320;
    so.height = 240;
    CHECK(resolve(NCHW224, 4, &so, &c, &s, NULL) == LENS_STATUS_INVALID_ARGUMENT &&
              strstr(lens_last_error(), "224x224") && strstr(lens_last_error(), "320x240"),
          "--size against a fixed input: %s", lens_last_error());
    vision_config_store_free(&s);
    const char *meta_size[] = {"lens.task", "detect", "lens.input.size", "640,640", NULL};
    CHECK(resolve(NCHW224, 4, NULL, &c, &s, meta_size) == LENS_STATUS_INVALID_MODEL &&
              strstr(lens_last_error(), "lens.input.size"),
          "lens.input.size against a fixed input: %s", lens_last_error());
    vision_config_store_free(&s);
}

static void test_json(void) {
    vjson j;
    const char *t = " {\"task\": \"detect\", \"n\": -1.5e2, \"ok\": true, \"z\": null, \"a\": [1, [2], {}]} ";
    CHECK(vjson_parse(t, strlen(t), "t", &j) == LENS_OK, "JSON object: %s", lens_last_error());
    const vjson *n = vjson_get(&j, "n");
    CHECK(n && n->type == VJSON_NUMBER && n->number == -150, "number");
    CHECK(vjson_get(&j, "a") && vjson_get(&j, "a")->count == 3 && vjson_get(&j, "ok")->boolean, "array, bool");
    CHECK(!vjson_get(&j, "missing"), "missing key");
    vjson_free(&j);
    static const char *bad[] = {"", "{", "{\"a\" 1}", "[1 2]", "01", "1.", "-", "NaN", "[1,]", "{\"a\":1,}",
                                "\"\\x\"", "tru", "1e999", "[1] [2]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(vjson_parse(bad[i], strlen(bad[i]), "t", &j) == LENS_STATUS_INVALID_ARGUMENT, "bad JSON refused: %s",
              bad[i]);
    vbuf b = {0};
    vbuf_json_string(&b, "q\"\\\n\x01");
    vbuf_json_number(&b, NAN);
    char *out;
    CHECK(vbuf_finish(&b, &out) == LENS_OK && !strcmp(out, "\"q\\\"\\\\\\n\\u0001\"null"), "JSON writing: %s", out);
    free(out);
}

int main(void) {
    test_defaults_and_shape();
    test_lens_keys();
    test_hostile();
    test_python_dict();
    test_foreign();
    test_json();
    if (g_failures) {
        fprintf(stderr, "%d check(s) failed\n", g_failures);
        return 1;
    }
    printf("all vision metadata checks passed\n");
    return 0;
}
