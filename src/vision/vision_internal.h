/* Internal interfaces of the vision pipeline (src/vision/), shared by its
 * files, the CLI and the unit tests. Every function returns a lens_status
 * with a message (lens_error) unless said otherwise. */
#ifndef LENS_VISION_INTERNAL_H
#define LENS_VISION_INTERNAL_H

#include <stdio.h>

#include "core/common.h"
#include "lens/vision.h"

/* ---- JSON (json.c) --------------------------------------------------------
 * A small DOM parser for hostile input: depth, size and count bounded,
 * strings decoded (escapes, \u with surrogate pairs) to UTF-8. */
typedef enum vjson_type { VJSON_NULL, VJSON_BOOL, VJSON_NUMBER, VJSON_STRING, VJSON_ARRAY, VJSON_OBJECT } vjson_type;

typedef struct vjson {
    vjson_type type;
    bool boolean;
    double number;
    char *string;          /* STRING: NUL-terminated UTF-8 (embedded NULs refused) */
    size_t count;          /* ARRAY / OBJECT: items */
    struct vjson *items;   /* ARRAY / OBJECT values */
    char **keys;           /* OBJECT keys */
} vjson;

#define VJSON_MAX_DEPTH 32
#define VJSON_MAX_BYTES (64u << 20)

/* Parse `text` (len bytes, borrowed) into *out; free with vjson_free.
 * `what` names the text in error messages. */
lens_status vjson_parse(const char *text, size_t len, const char *what, vjson *out);
void vjson_free(vjson *v);
/* Member of an object, or NULL. */
const vjson *vjson_get(const vjson *obj, const char *key);

/* A growing string buffer for writing JSON. On allocation failure `failed`
 * is set and later writes do nothing. */
typedef struct vbuf {
    char *data;
    size_t len, cap;
    bool failed;
} vbuf;
void vbuf_put(vbuf *b, const char *s);
void vbuf_printf(vbuf *b, const char *fmt, ...) LENS_PRINTF(2, 3);
void vbuf_json_string(vbuf *b, const char *s);
/* A float as JSON (non-finite values become null). */
void vbuf_json_number(vbuf *b, double v);
/* Hand over the text (*out, malloc'd) or fail with OUT_OF_MEMORY. */
lens_status vbuf_finish(vbuf *b, char **out);

/* ---- metadata -> config (metadata.c) --------------------------------------- */

/* What config resolution reads of a model. All borrowed. */
typedef struct vision_model_desc {
    size_t n_meta;
    const char *const *meta_keys;
    const char *const *meta_values;
    size_t n_inputs, n_outputs;
    const lens_value_info *inputs;
    const lens_value_info *outputs;
} vision_model_desc;

/* Storage behind a lens_vision_config: labels and warnings. */
typedef struct vision_config_store {
    char **labels;
    size_t n_labels;
    char **warnings;
    size_t n_warnings;
    char *labels_source; /* copy of lens_vision_options.labels_source */
} vision_config_store;

#define VISION_MAX_LABELS 100000
#define VISION_MAX_LABEL_BYTES 4096

/* Resolve *cfg from desc and options (NULL = none). Labels and warnings are
 * allocated into *store (free with vision_config_store_free, even on
 * failure); cfg's pointers point into it. */
lens_status vision_config_resolve(const vision_model_desc *desc, const lens_vision_options *options,
                                  lens_vision_config *cfg, vision_config_store *store);
void vision_config_store_free(vision_config_store *store);
/* As vision_config_resolve without options, leaving the task AUTO when the
 * metadata gives none (for lens info). On failure cfg still describes what
 * was resolved before the error. */
lens_status vision_config_describe(const vision_model_desc *desc, lens_vision_config *cfg,
                                   vision_config_store *store);

/* Parsers of metadata values (exposed for tests). Each returns false on
 * anything malformed; lists allocate into *out and *n (free each string and the
 * array with lens_free, also done on failure). */
bool vision_parse_float(const char *s, float *out);
bool vision_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
/* "a,b,c" or one value (repeated); n_out is 3. */
bool vision_parse_floats3(const char *s, float out[3]);
/* JSON array of strings. */
lens_status vision_parse_labels_json(const char *s, const char *what, char ***out, size_t *n);
/* Python dict literal {0: 'a', 1: "b"} with keys 0..n-1 in any order. */
lens_status vision_parse_labels_pydict(const char *s, const char *what, char ***out, size_t *n);
/* Space-separated names (OpenVINO labels). */
lens_status vision_parse_labels_spaces(const char *s, const char *what, char ***out, size_t *n);
void vision_labels_free(char **labels, size_t n);

/* ---- post-processing (post.c, classify.c, detect.c, segment.c) ------------
 * Each takes the model's outputs in order (borrowed) and, where known,
 * their names (NULL, or one per output, used to find boxes/scores/labels). */
typedef struct vision_outputs {
    size_t n;
    const lens_tensor *t;
    const char *const *names; /* may be NULL */
} vision_outputs;

typedef struct vision_candidate {
    float x1, y1, x2, y2; /* model-input pixels */
    float score;
    int32_t cls;
    uint32_t order;       /* position in the outputs: ties keep it */
} vision_candidate;

/* How detection outputs are read, found from their shapes alone. */
typedef struct vision_det_plan {
    lens_output_layout layout;
    int boxes, scores, labels;    /* output indices (-1: none) */
    int64_t n;                    /* candidate boxes */
    int64_t attrs;                /* YOLO: values per box */
    int64_t n_classes;            /* -1: labels come from a labels output */
    bool channel_first;           /* YOLOv8: [1, 4+C, N] */
    bool scores_per_class;        /* BOXES_SCORES: scores [N, C] */
    bool nms;                     /* false: the model ran NMS itself (labels output, ssd) */
    lens_box_format box;
    bool normalized;
} vision_det_plan;

lens_status vision_detect_plan(const lens_vision_config *cfg, const vision_outputs *o, vision_det_plan *plan);
/* Decode all candidates above cfg->conf in model-input pixels into a
 * lens_malloc'd array (*cands, *count; caller lens_frees). */
lens_status vision_decode_detections(const lens_vision_config *cfg, const vision_outputs *o,
                                     vision_candidate **cands, size_t *count);
/* Greedy NMS in place: sorts by score (desc; ties by order), keeps at most
 * max_det, suppressing boxes with IoU > iou against a kept box of the same
 * class (any class when agnostic). Returns the number kept (at the front). */
size_t vision_nms(vision_candidate *c, size_t n, float iou, bool agnostic, size_t max_det);
float vision_iou(const vision_candidate *a, const vision_candidate *b);
/* Map a model-input box to the source picture through tf, clipped. */
void vision_map_box(const lens_transform *tf, const vision_candidate *c, lens_box *out);

/* Classification: the output read and its class count. */
lens_status vision_classify_plan(const lens_vision_config *cfg, const vision_outputs *o, int64_t *n_classes);
/* Segmentation: output dims and classes (2 for a one-channel output). */
typedef struct vision_seg_plan {
    int64_t channels, height, width;
    int32_t n_classes;
    bool sigmoid;     /* one channel: foreground where x > threshold */
    float threshold;  /* 0 for logits, 0.5 for probabilities */
} vision_seg_plan;
lens_status vision_segment_plan(const lens_vision_config *cfg, const vision_outputs *o, vision_seg_plan *plan);

/* Check outputs (shapes only; data may be NULL) against the task: a known
 * layout and labels that match the class count. */
lens_status vision_check_outputs(const lens_vision_config *cfg, const vision_outputs *o);

/* A label for class i: the configured name or "class_<i>" in buf. */
const char *vision_label(const lens_vision_config *cfg, int64_t i, char *buf, size_t size);
/* Where the labels came from, for messages ("lens.labels", the labels file). */
const char *vision_labels_from(const lens_vision_config *cfg);
/* "'name' [1, 84, 8400]" of output i, for messages. */
const char *vision_output_str(const vision_outputs *o, size_t i, char *buf, size_t size);

/* Element i of a numeric tensor as float. */
float vision_tensor_get(const lens_tensor *t, int64_t i);
bool vision_dtype_is_float(lens_dtype d);
bool vision_dtype_is_int(lens_dtype d);
/* Float, integer or bool: readable with vision_tensor_get. */
bool vision_tensor_is_comparable(const lens_tensor *t);

/* Do these scores look like logits (outside [0,1] or not summing to ~1)? */
bool vision_looks_like_logits(const float *v, int64_t n);

lens_status vision_classify(const lens_vision_config *cfg, const vision_outputs *o, lens_classification *out);
lens_status vision_detect(const lens_vision_config *cfg, const vision_outputs *o, const lens_transform *tf,
                          lens_detections *out);
lens_status vision_segment(const lens_vision_config *cfg, const vision_outputs *o, const lens_transform *tf,
                           lens_segmentation *out);
/* vision_segment with the mask optional: with want_mask false, out->mask is
 * NULL and only the counts are made (no picture-sized buffer is written),
 * for callers that print the counts and draw nothing. */
lens_status vision_segment_ex(const lens_vision_config *cfg, const vision_outputs *o, const lens_transform *tf,
                              bool want_mask, lens_segmentation *out);
/* lens_segment with the mask optional as above (the CLI without -o). The
 * session and image are borrowed for the call; free *out with
 * lens_segmentation_free. */
lens_status vision_session_segment(lens_vision_session *s, const lens_image *img, bool want_mask,
                                   lens_segmentation *out);

/* ---- font (font.c) --------------------------------------------------------- */
#define VISION_FONT_W 5
#define VISION_FONT_H 7
/* Five column bytes (bit 0 = top row) of the glyph for c; '?' for
 * characters outside printable ASCII. */
const uint8_t *vision_font_glyph(char c);

#endif
