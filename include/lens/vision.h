/* lens vision API: classification, detection and segmentation pipelines.
 *
 * Overview
 *   lens_pipeline        what a vision model needs, resolved once from the
 *                        model's metadata (docs/METADATA.md), its input and
 *                        output shapes and your overrides (lens_vision_options,
 *                        which always win). Immutable: share it between threads.
 *   lens_vision_session  one thread's state: an engine session plus the input
 *                        tensor buffer. One per concurrently running thread.
 *   results              plain structs (lens_classification, lens_detections,
 *                        lens_segmentation) owned by the caller, each freed
 *                        with its own _free function. Coordinates and masks are
 *                        in the pixels of the original picture
 *                        (lens_image.source_width x source_height).
 *
 * Classify (error handling shortened; see image.h for decoding):
 *
 *     lens_model *model;
 *     lens_model_open("resnet18.onnx", NULL, &model);
 *     lens_vision_options opt = {0};
 *     opt.task = LENS_TASK_CLASSIFY;
 *     lens_pipeline *p;
 *     if (lens_pipeline_create(model, &opt, &p) != LENS_OK) {
 *         fprintf(stderr, "%s\n", lens_last_error());
 *         return 1;
 *     }
 *     lens_vision_session *s;
 *     lens_vision_session_create(p, NULL, &s);
 *     lens_decode_options dopt = {0};
 *     lens_pipeline_decode_options(p, &dopt);      // lets JPEG decode scaled
 *     lens_image img;
 *     lens_image_decode_file("cat.jpg", &dopt, &img);
 *     lens_classification c;
 *     lens_classify(s, &img, &c);
 *     for (size_t i = 0; i < c.count; i++)
 *         printf("%s %.3f\n", c.top[i].label, c.top[i].score);
 *     lens_classification_free(&c);
 *     lens_image_release(&img);
 *     lens_vision_session_free(s);
 *     lens_pipeline_free(p);
 *     lens_model_free(model);
 *
 * Detect, drawing the boxes and printing JSON:
 *
 *     opt.task = LENS_TASK_DETECT;
 *     opt.has_conf = true; opt.conf = 0.4f;       // overrides lens.post.conf
 *     ... lens_pipeline_create, lens_vision_session_create, decode as above ...
 *     lens_detections d;
 *     lens_detect(s, &img, &d);
 *     for (size_t i = 0; i < d.count; i++)
 *         printf("%s %.2f at %.0f,%.0f\n", d.items[i].label, d.items[i].score,
 *                d.items[i].box.x1, d.items[i].box.y1);
 *     char *json;
 *     lens_detections_json(&d, "street.jpg", &json);   // one JSON Lines object
 *     puts(json);
 *     free(json);
 *     lens_draw_detections(&img, &d);                   // in place
 *     lens_image_write_file("street.boxes.png", &img, 0);
 *     lens_detections_free(&d);
 *
 * Segment, writing the class-index PNG and a colour overlay:
 *
 *     opt.task = LENS_TASK_SEGMENT;
 *     ...
 *     lens_segmentation seg;
 *     lens_segment(s, &img, &seg);
 *     lens_image mask, overlay;
 *     lens_segmentation_mask(&seg, &mask);              // borrows seg.mask
 *     lens_image_write_file("road.mask.png", &mask, 0);
 *     lens_draw_segmentation(&img, &seg, 0.5f, &overlay);
 *     lens_image_write_file("road.overlay.png", &overlay, 0);
 *     lens_image_release(&overlay);
 *     lens_segmentation_free(&seg);
 *
 * Errors: every fallible call returns a lens_status; lens_last_error()
 * names what was wrong (the metadata key, the output and its shape, the
 * labels count...). Metadata is treated as hostile input: malformed lens.*
 * keys fail lens_pipeline_create; malformed keys of other exporters are
 * ignored and listed in lens_vision_config.warnings.
 */
#ifndef LENS_VISION_H
#define LENS_VISION_H

#include <stdbool.h>

#include "lens/engine.h"
#include "lens/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lens_task {
    LENS_TASK_AUTO = 0, /* from the metadata; an error if it says nothing */
    LENS_TASK_CLASSIFY = 1,
    LENS_TASK_DETECT = 2,
    LENS_TASK_SEGMENT = 3,
} lens_task;

/* How the model's outputs are read (lens.output.layout). */
typedef enum lens_output_layout {
    LENS_OUTPUT_AUTO = 0,          /* detected from the output shapes */
    LENS_OUTPUT_LOGITS = 1,        /* classify [1,C]; segment [1,C,H,W] (argmax) */
    LENS_OUTPUT_PROBS = 2,         /* as LOGITS, values already probabilities */
    LENS_OUTPUT_YOLOV5 = 3,        /* detect [1,N,5+C]: box, objectness, class scores */
    LENS_OUTPUT_YOLOV8 = 4,        /* detect [1,4+C,N] or [1,N,4+C]: box, class scores */
    LENS_OUTPUT_BOXES_SCORES = 5,  /* detect: boxes [N,4], scores [N] or [N,C], labels [N] */
    LENS_OUTPUT_SSD = 6,           /* detect [1,1,N,7] or [N,7]: id, label, score, x1,y1,x2,y2 */
    LENS_OUTPUT_SIGMOID = 7,       /* segment [1,1,H,W]: foreground where sigmoid(x) > 0.5 */
} lens_output_layout;

typedef enum lens_box_format {
    LENS_BOX_AUTO = 0, /* per layout: cxcywh for YOLO, xyxy otherwise */
    LENS_BOX_XYXY = 1,
    LENS_BOX_CXCYWH = 2,
} lens_box_format;

/* Overrides, applied over what the model's metadata says. A zeroed struct
 * (or NULL) overrides nothing. Preprocessing fields count only where their
 * has_ flag is set; other fields where they are non-zero. */
typedef struct lens_vision_options {
    lens_task task;
    bool has_size;     int32_t width, height;   /* model input size */
    bool has_resize;   lens_resize_mode resize;
    bool has_channels; lens_channel_order channels;
    bool has_scale;    float scale;
    bool has_mean;     float mean[3];           /* model channel order */
    bool has_std;      float std[3];
    bool has_layout;   lens_layout layout;
    lens_output_layout output_layout;
    lens_box_format box_format;
    int32_t normalized;        /* 1: boxes in 0..1 of the input; -1: pixels; 0: metadata */
    int32_t softmax;           /* classify: 1 always, -1 never, 0 when outputs look like logits */
    bool has_conf;     float conf;              /* detection confidence threshold */
    bool has_iou;      float iou;               /* NMS IoU threshold */
    int32_t max_det;           /* detections kept per image; 0 = metadata */
    int32_t top_k;             /* classes reported by classify; 0 = metadata */
    bool agnostic;             /* NMS across classes */
    /* Class names in index order, copied by lens_pipeline_create (borrowed
     * for the call). labels_source names where they came from ("labels
     * file 'x.txt'") for error messages; may be NULL. */
    const char *const *labels;
    size_t n_labels;
    const char *labels_source;
} lens_vision_options;

/* Where a resolved setting came from. */
typedef enum lens_origin {
    LENS_ORIGIN_DEFAULT = 0,     /* lens's default */
    LENS_ORIGIN_MODEL = 1,       /* the model's input or output shapes and types */
    LENS_ORIGIN_LENS = 2,        /* a lens.* metadata key */
    LENS_ORIGIN_ULTRALYTICS = 3, /* Ultralytics metadata (task, names, imgsz) */
    LENS_ORIGIN_OPENVINO = 4,    /* OpenVINO model_api metadata */
    LENS_ORIGIN_OPTION = 5,      /* lens_vision_options (CLI flags) */
} lens_origin;

/* The settings lens_vision_config records an origin for. */
typedef enum lens_vision_field {
    LENS_FIELD_TASK, LENS_FIELD_SIZE, LENS_FIELD_RESIZE, LENS_FIELD_RESIZE_SHORT, LENS_FIELD_INTERP,
    LENS_FIELD_PAD, LENS_FIELD_CHANNELS, LENS_FIELD_SCALE, LENS_FIELD_MEAN, LENS_FIELD_STD,
    LENS_FIELD_LAYOUT, LENS_FIELD_DTYPE, LENS_FIELD_LABELS, LENS_FIELD_OUTPUT_LAYOUT, LENS_FIELD_BOX,
    LENS_FIELD_NORMALIZED, LENS_FIELD_CONF, LENS_FIELD_IOU, LENS_FIELD_MAX_DET, LENS_FIELD_TOP_K,
    LENS_FIELD_COUNT
} lens_vision_field;

/* A pipeline's resolved settings. Everything is owned by the pipeline and
 * valid while it lives. */
typedef struct lens_vision_config {
    lens_task task;
    lens_preprocess preprocess;       /* size, resize, colour, normalisation, layout, dtype */
    size_t input_index;               /* the model input that takes the image */
    int32_t input_rank;               /* 4 ([1,C,H,W] / [1,H,W,C]) or 3 (no batch axis) */
    lens_output_layout output_layout; /* AUTO: decided from the actual output shapes each run */
    lens_box_format box_format;       /* AUTO: per layout */
    bool normalized;
    int32_t softmax;                  /* as in lens_vision_options */
    float conf, iou;
    int32_t max_det, top_k;
    bool agnostic;
    size_t n_labels;                  /* 0: classes are named class_<i> */
    const char *const *labels;
    lens_origin origin[LENS_FIELD_COUNT];
    /* The metadata key read (labels given as an option: their
     * labels_source), or NULL. */
    const char *origin_key[LENS_FIELD_COUNT];
    size_t n_warnings;                /* metadata that was present but ignored, and why */
    const char *const *warnings;
} lens_vision_config;

typedef struct lens_pipeline lens_pipeline;
typedef struct lens_vision_session lens_vision_session;

/* Resolves the settings for `model` (borrowed; must outlive the pipeline)
 * from its metadata, its shapes and `options` (may be NULL; borrowed for the
 * call). On success *out owns the pipeline: free with lens_pipeline_free.
 * Errors: INVALID_MODEL (malformed lens.* metadata, naming the key; a
 * lens.format newer than this reader), INVALID_ARGUMENT (a bad option value,
 * labels that do not match the model's class count), UNSUPPORTED (no image
 * input, a task lens cannot tell, an output layout it cannot read). */
LENS_API lens_status lens_pipeline_create(const lens_model *model, const lens_vision_options *options,
                                          lens_pipeline **out);
LENS_API void lens_pipeline_free(lens_pipeline *pipeline); /* NULL allowed */

/* The resolved settings (owned by the pipeline). */
LENS_API const lens_vision_config *lens_pipeline_config(const lens_pipeline *pipeline);

/* Sets options->target_width/target_height to the model input size, so
 * that JPEG decoding can scale in the DCT domain. Other fields untouched. */
LENS_API void lens_pipeline_decode_options(const lens_pipeline *pipeline, lens_decode_options *options);

/* Names for printing. Never NULL. */
LENS_API const char *lens_task_name(lens_task task);
LENS_API const char *lens_output_layout_name(lens_output_layout layout);
LENS_API const char *lens_origin_name(lens_origin origin);
LENS_API const char *lens_vision_field_name(lens_vision_field field);

/* Per-thread state. `pipeline` is borrowed and must outlive the session;
 * `options` may be NULL (threads = all cores). Free with
 * lens_vision_session_free. */
LENS_API lens_status lens_vision_session_create(const lens_pipeline *pipeline,
                                                const lens_session_options *options,
                                                lens_vision_session **out);
LENS_API void lens_vision_session_free(lens_vision_session *session); /* NULL allowed */

/* Time spent by a session's runs so far, per stage, in milliseconds. */
typedef struct lens_vision_timing {
    double preprocess_ms, infer_ms, postprocess_ms;
    int64_t runs;
} lens_vision_timing;
LENS_API void lens_vision_session_timing(const lens_vision_session *session, lens_vision_timing *out);

/* ---- results ----------------------------------------------------------- */

/* Label strings in results are owned by the result and freed with it.
 * Classes without a name are labelled "class_<i>". */
typedef struct lens_class_score {
    int32_t index;
    float score;
    const char *label;
} lens_class_score;

typedef struct lens_classification {
    size_t count;            /* entries in top, best first (ties: lower index first) */
    lens_class_score *top;
    int32_t n_classes;       /* classes the model scored */
    bool softmax_applied;    /* the outputs were read as logits */
} lens_classification;

typedef struct lens_box {
    float x1, y1, x2, y2;    /* source pixels, clipped to [0, width] x [0, height] */
} lens_box;

typedef struct lens_detection {
    lens_box box;
    float score;
    int32_t class_index;
    const char *label;
} lens_detection;

typedef struct lens_detections {
    size_t count;            /* best score first */
    lens_detection *items;
    int32_t image_width, image_height; /* the source picture */
} lens_detections;

/* Mask value of pixels the model did not see (cut off by a centre crop). */
#define LENS_SEGMENT_OUTSIDE 255

typedef struct lens_segment_class {
    int32_t index;
    int64_t pixels;          /* pixels of the mask with this class */
    const char *label;
} lens_segment_class;

typedef struct lens_segmentation {
    int32_t width, height;   /* the source picture */
    uint8_t *mask;           /* width * height class indices, row-major */
    int32_t n_classes;       /* at most 255 (index 255 is LENS_SEGMENT_OUTSIDE) */
    lens_segment_class *classes; /* n_classes entries, by index */
    int64_t outside_pixels;  /* pixels set to LENS_SEGMENT_OUTSIDE */
} lens_segmentation;

/* Free a result's memory and zero it. NULL and zeroed results allowed. */
LENS_API void lens_classification_free(lens_classification *result);
LENS_API void lens_detections_free(lens_detections *result);
LENS_API void lens_segmentation_free(lens_segmentation *result);

/* ---- running ------------------------------------------------------------ */

/* Preprocess `img` (borrowed for the call), run the model and decode its
 * outputs into *out (caller's; free with the matching _free). The task must
 * match the pipeline's. On failure *out is zeroed. Errors name the output
 * and its shape when it matches no known layout. */
LENS_API lens_status lens_classify(lens_vision_session *session, const lens_image *img,
                                   lens_classification *out);
LENS_API lens_status lens_detect(lens_vision_session *session, const lens_image *img, lens_detections *out);
LENS_API lens_status lens_segment(lens_vision_session *session, const lens_image *img, lens_segmentation *out);

/* Decode outputs you computed yourself (lens_session_run): `outputs` are the
 * model's outputs in order (borrowed for the call), `tf` the mapping that
 * lens_preprocess_image returned (borrowed). Same results as above. */
LENS_API lens_status lens_classify_outputs(const lens_pipeline *pipeline, size_t n_outputs,
                                           const lens_tensor *outputs, lens_classification *out);
LENS_API lens_status lens_detect_outputs(const lens_pipeline *pipeline, size_t n_outputs,
                                         const lens_tensor *outputs, const lens_transform *tf,
                                         lens_detections *out);
LENS_API lens_status lens_segment_outputs(const lens_pipeline *pipeline, size_t n_outputs,
                                          const lens_tensor *outputs, const lens_transform *tf,
                                          lens_segmentation *out);

/* ---- JSON --------------------------------------------------------------- */

/* One JSON object (no newline) as `lens classify|detect|segment --json`
 * prints it (docs/VISION.md). `image` (may be NULL: the key is left out) is
 * borrowed. *json is malloc'd: the caller frees it with free(). */
LENS_API lens_status lens_classification_json(const lens_classification *result, const char *image, char **json);
LENS_API lens_status lens_detections_json(const lens_detections *result, const char *image, char **json);
LENS_API lens_status lens_segmentation_json(const lens_segmentation *result, const char *image, char **json);

/* ---- drawing ------------------------------------------------------------ */

/* Colour of class `index` (a fixed palette; index 0 of a segmentation is
 * drawn as is, see lens_draw_segmentation). */
LENS_API void lens_vision_class_color(int32_t index, uint8_t rgb[3]);

/* Draw each detection's box and "label score" on `img` in place (any
 * format but UNKNOWN). Boxes are in source pixels and are scaled to the
 * image's own size when it was decoded smaller. */
LENS_API lens_status lens_draw_detections(lens_image *img, const lens_detections *detections);

/* Text in the built-in 5x7 font (printable ASCII; others drawn as '?'),
 * top-left at (x, y), each font pixel drawn as scale x scale (>= 1), on a
 * filled background box when `background` is not NULL. Clipped to the image. */
LENS_API lens_status lens_draw_text(lens_image *img, int32_t x, int32_t y, const char *text, const uint8_t rgb[3],
                                    const uint8_t *background, int32_t scale);

/* A new RGB image (*out, owned: lens_image_release) of `img` (borrowed) with
 * the segmentation blended over it (alpha = weight of the class colour, 0..1;
 * background class 0 and pixels the model did not see are left as they
 * are) and a legend of the classes present. */
LENS_API lens_status lens_draw_segmentation(const lens_image *img, const lens_segmentation *seg, float alpha,
                                            lens_image *out);

/* A GRAY image view of seg->mask (borrowed: valid while seg lives), for
 * writing the class-index PNG. */
LENS_API lens_status lens_segmentation_mask(const lens_segmentation *seg, lens_image *out);

#ifdef __cplusplus
}
#endif
#endif
