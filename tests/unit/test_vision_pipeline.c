/* Unit tests of the vision pipeline objects (src/vision/pipeline.c, draw.c)
 * on the bundled digits model: sessions on several threads sharing one
 * pipeline give the same results as one thread, misuse is refused with a
 * message, every allocation failing is reported (never a crash or a leak),
 * the JSON of each result type, and drawing. */
#include <math.h>
#include <pthread.h>
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

#define MODEL "../../models/digits.onnx"

/* A 64x48 RGB picture with a bright vertical bar (a rough "1"). */
static lens_image make_image(void) {
    lens_image img;
    lens_image_alloc(64, 48, LENS_PIXEL_RGB, &img);
    for (int y = 6; y < 42; y++)
        for (int x = 28; x < 36; x++) memset(img.data + y * img.stride + x * 3, 250, 3);
    return img;
}

typedef struct worker {
    const lens_pipeline *p;
    const lens_image *img;
    int32_t index[20];
    float score[20];
    lens_status st;
} worker;

static void *work(void *arg) {
    worker *w = arg;
    lens_vision_session *s;
    lens_session_options so = {1, 0};
    w->st = lens_vision_session_create(w->p, &so, &s);
    if (w->st != LENS_OK) return NULL;
    for (int r = 0; r < 20 && w->st == LENS_OK; r++) {
        lens_classification c;
        w->st = lens_classify(s, w->img, &c);
        if (w->st == LENS_OK) {
            w->index[r] = c.top[0].index;
            w->score[r] = c.top[0].score;
        }
        lens_classification_free(&c);
    }
    lens_vision_session_free(s);
    return NULL;
}

static void test_threads(lens_model *m) {
    lens_vision_options o = {0};
    o.task = LENS_TASK_CLASSIFY;
    lens_pipeline *p;
    CHECK(lens_pipeline_create(m, &o, &p) == LENS_OK, "pipeline: %s", lens_last_error());
    if (!p) return;
    const lens_vision_config *cfg = lens_pipeline_config(p);
    CHECK(cfg->preprocess.width == 8 && cfg->preprocess.channels == LENS_CHANNELS_GRAY && cfg->input_rank == 4,
          "digits: 8x8 gray (its metadata)");
    lens_decode_options d = {0};
    lens_pipeline_decode_options(p, &d);
    CHECK(d.target_width == 8 && d.target_height == 8, "decode options get the model size");
    lens_image img = make_image();
    worker w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].p = p;
        w[i].img = &img;
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        CHECK(w[i].st == LENS_OK, "thread %d: %s", i, lens_status_string(w[i].st));
        for (int r = 0; r < 20; r++)
            CHECK(w[i].index[r] == w[0].index[0] && w[i].score[r] == w[0].score[0],
                  "thread %d run %d: same result as every other run", i, r);
    }
    /* Misuse: another task on this pipeline, NULL arguments. */
    lens_vision_session *s;
    CHECK(lens_vision_session_create(p, NULL, &s) == LENS_OK, "session");
    lens_detections det;
    CHECK(lens_detect(s, &img, &det) == LENS_STATUS_INVALID_ARGUMENT && strstr(lens_last_error(), "classify") &&
              det.count == 0,
          "detect on a classify pipeline refused: %s", lens_last_error());
    lens_image empty;
    memset(&empty, 0, sizeof empty);
    lens_classification c;
    CHECK(lens_classify(s, &empty, &c) == LENS_STATUS_INVALID_ARGUMENT, "empty image refused");
    CHECK(lens_classify(s, NULL, &c) == LENS_STATUS_INVALID_ARGUMENT, "NULL image refused");
    lens_vision_timing tm;
    lens_vision_session_timing(s, &tm);
    CHECK(tm.runs == 0, "failed calls are not counted as runs");
    CHECK(lens_classify(s, &img, &c) == LENS_OK && c.count == 5 && c.n_classes == 10, "classify: top 5 of 10");
    lens_vision_session_timing(s, &tm);
    CHECK(tm.runs == 1 && tm.infer_ms >= 0 && tm.preprocess_ms >= 0 && tm.postprocess_ms >= 0, "timing recorded");
    char *json = NULL;
    static const char prefix[] = "{\"image\": \"a \\\"b\\\".png\", \"top\": [{\"index\": ";
    CHECK(lens_classification_json(&c, "a \"b\".png", &json) == LENS_OK && json &&
              !strncmp(json, prefix, strlen(prefix)) && json[strlen(json) - 1] == '}',
          "classification JSON: %s", json ? json : "(null)");
    free(json);
    lens_classification_free(&c);
    lens_classification_free(&c); /* zeroed: safe twice */
    lens_vision_session_free(s);
    lens_image_release(&img);
    lens_pipeline_free(p);
    CHECK(lens_pipeline_create(NULL, &o, &p) == LENS_STATUS_INVALID_ARGUMENT && !p, "NULL model refused");
    /* As a detector: its output [N, 10] has a dynamic batch, so the layout
     * is checked on the first image and fails there, naming the output. */
    o.task = LENS_TASK_DETECT;
    CHECK(lens_pipeline_create(m, &o, &p) == LENS_OK, "digits as a detector: made");
    img = make_image();
    if (p && lens_vision_session_create(p, NULL, &s) == LENS_OK) {
        CHECK(lens_detect(s, &img, &det) == LENS_STATUS_UNSUPPORTED && strstr(lens_last_error(), "no known layout") &&
                  strstr(lens_last_error(), "[1, 10]"),
              "digits as a detector: its [1, 10] output is no detection layout: %s", lens_last_error());
        lens_vision_session_free(s);
    }
    lens_image_release(&img);
    lens_pipeline_free(p);
}

static void test_alloc_failures(lens_model *m) {
    lens_image img = make_image();
    lens_vision_options o = {0};
    o.task = LENS_TASK_CLASSIFY;
    const char *labels[10] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
    o.labels = labels;
    o.n_labels = 10;
    int failures_seen = 0;
    for (uint64_t k = 1; k < 400; k++) {
        lens_alloc_fail_after(k);
        lens_pipeline *p = NULL;
        lens_vision_session *s = NULL;
        lens_classification c;
        memset(&c, 0, sizeof c);
        lens_status st = lens_pipeline_create(m, &o, &p);
        if (st == LENS_OK) st = lens_vision_session_create(p, NULL, &s);
        if (st == LENS_OK) st = lens_classify(s, &img, &c);
        char *json = NULL;
        if (st == LENS_OK) st = lens_classification_json(&c, "x", &json);
        lens_alloc_fail_after(0);
        if (st != LENS_OK) {
            failures_seen++;
            CHECK(lens_last_error()[0] != '\0', "allocation %llu failing leaves a message", (unsigned long long)k);
        } else {
            CHECK(c.count == 5 && !strcmp(c.top[0].label, labels[c.top[0].index]), "result after %llu allocations",
                  (unsigned long long)k);
        }
        free(json);
        lens_classification_free(&c);
        lens_vision_session_free(s);
        lens_pipeline_free(p);
        if (st == LENS_OK) break; /* every allocation up to the last one has failed once */
    }
    CHECK(failures_seen > 5, "allocation failures were injected (%d)", failures_seen);
    lens_image_release(&img);
}

static void test_results_json_and_drawing(void) {
    /* Hand-made detections: JSON text exactly. */
    lens_detection items[2] = {{{1.5f, 2, 30, 40.25f}, 0.875f, 3, "cat"}, {{0, 0, 5, 5}, 0.5f, 0, "a\"b"}};
    lens_detections d = {2, items, 64, 48};
    char *json = NULL;
    CHECK(lens_detections_json(&d, NULL, &json) == LENS_OK && json &&
              !strcmp(json, "{\"width\": 64, \"height\": 48, \"detections\": [{\"box\": [1.50, 2.00, 30.00, 40.25], "
                            "\"score\": 0.875, \"class\": 3, \"label\": \"cat\"}, {\"box\": [0.00, 0.00, 5.00, 5.00], "
                            "\"score\": 0.5, \"class\": 0, \"label\": \"a\\\"b\"}]}"),
          "detections JSON: %s", json ? json : "(null)");
    free(json);
    uint8_t mask[4 * 2] = {0, 1, 1, 255, 0, 0, 1, 255};
    lens_segment_class cls[2] = {{0, 3, "bg"}, {1, 3, "road"}};
    lens_segmentation seg = {4, 2, mask, 2, cls, 2};
    CHECK(lens_segmentation_json(&seg, "s.png", &json) == LENS_OK && json &&
              !strcmp(json, "{\"image\": \"s.png\", \"width\": 4, \"height\": 2, \"classes\": [{\"index\": 0, "
                            "\"label\": \"bg\", \"pixels\": 3}, {\"index\": 1, \"label\": \"road\", \"pixels\": 3}], "
                            "\"outside_pixels\": 2}"),
          "segmentation JSON: %s", json ? json : "(null)");
    free(json);

    /* Drawing: boxes change pixels inside the image only, text is clipped. */
    lens_image img;
    CHECK(lens_image_alloc(64, 48, LENS_PIXEL_BGR, &img) == LENS_OK, "alloc");
    CHECK(lens_draw_detections(&img, &d) == LENS_OK, "draw detections: %s", lens_last_error());
    uint8_t col[3];
    lens_vision_class_color(3, col);
    const uint8_t *px = img.data + 20 * img.stride + 2 * 3; /* left edge of box 0 at x=1.5 -> 2, row 20 */
    CHECK(px[0] == col[2] && px[1] == col[1] && px[2] == col[0], "box edge drawn in the class colour (BGR order)");
    const uint8_t *in = img.data + 20 * img.stride + 15 * 3;
    CHECK(in[0] == 0 && in[1] == 0 && in[2] == 0, "inside of the box untouched");
    static const uint8_t white[3] = {255, 255, 255};
    CHECK(lens_draw_text(&img, 60, 45, "clipped text", white, NULL, 3) == LENS_OK, "text past the edge is clipped");
    CHECK(lens_draw_text(&img, 0, 0, "x", white, NULL, 0) == LENS_STATUS_INVALID_ARGUMENT, "scale 0 refused");
    lens_image over;
    CHECK(lens_draw_segmentation(&img, &seg, 0.5f, &over) == LENS_OK && over.width == 64 &&
              over.format == LENS_PIXEL_RGB,
          "overlay: %s", lens_last_error());
    lens_image_release(&over);
    CHECK(lens_draw_segmentation(&img, &seg, 2.0f, &over) == LENS_STATUS_INVALID_ARGUMENT, "alpha 2 refused");
    lens_image mk;
    CHECK(lens_segmentation_mask(&seg, &mk) == LENS_OK && mk.data == mask && mk.format == LENS_PIXEL_GRAY &&
              mk.stride == 4 && !mk.owned,
          "mask view borrows the mask");
    lens_image_release(&img);
    lens_image bad;
    memset(&bad, 0, sizeof bad);
    CHECK(lens_draw_detections(&bad, &d) == LENS_STATUS_INVALID_ARGUMENT, "drawing on an empty image refused");
    /* Every glyph has at least one pixel, except the space. */
    for (char ch = 33; ch < 127; ch++) {
        const uint8_t *g = vision_font_glyph(ch);
        CHECK(g[0] | g[1] | g[2] | g[3] | g[4], "glyph '%c' is blank", ch);
    }
    CHECK(vision_font_glyph('\x01') == vision_font_glyph('?'), "unprintable drawn as '?'");
}

int main(void) {
    lens_model *m = NULL;
    if (lens_model_open(MODEL, NULL, &m) != LENS_OK) {
        fprintf(stderr, "cannot open %s: %s\n", MODEL, lens_last_error());
        return 1;
    }
    test_threads(m);
    test_alloc_failures(m);
    test_results_json_and_drawing();
    lens_model_free(m);
    if (g_failures) {
        fprintf(stderr, "%d check(s) failed\n", g_failures);
        return 1;
    }
    printf("all vision pipeline checks passed\n");
    return 0;
}
