/* Fuzz target: detection, segmentation and classification post-processing
 * (src/vision: layout detection, box decoding, NMS, mask mapping, argmax,
 * softmax, JSON, drawing) fed arbitrary output tensors, as a hostile or
 * broken model would produce them: any shape, any dtype, NaN and infinity.
 *
 * Input: byte 0 task, byte 1 output layout, byte 2 flags, byte 3 output
 * count (1..3), bytes 4-5 source picture size; per output a rank byte, a
 * dtype byte and one byte per dimension; the rest fills the tensors' data
 * (repeated as needed). */
#include <stdlib.h>

#include "fuzz_common.h"
#include "vision/vision_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MODEL_W 32
#define MODEL_H 24

static const lens_dtype DTYPES[] = {LENS_DTYPE_FLOAT, LENS_DTYPE_FLOAT, LENS_DTYPE_FLOAT, LENS_DTYPE_INT64,
                                    LENS_DTYPE_UINT8, LENS_DTYPE_FLOAT16, LENS_DTYPE_INT32, LENS_DTYPE_DOUBLE,
                                    LENS_DTYPE_BOOL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 6) return 0;
    size_t pos = 6;
    lens_task task = (lens_task)(1 + data[0] % 3);
    int n_out = 1 + data[3] % 3;
    lens_tensor t[3];
    lens_value_info vi[3];
    memset(t, 0, sizeof t);
    memset(vi, 0, sizeof vi);
    static const char *const names[3] = {"boxes", "scores", "labels"};
    for (int i = 0; i < n_out; i++) {
        if (pos + 2 > size) return 0;
        t[i].ndim = 1 + data[pos] % 4;
        t[i].dtype = DTYPES[data[pos + 1] % (sizeof DTYPES / sizeof DTYPES[0])];
        pos += 2;
        int64_t numel = 1;
        for (int32_t k = 0; k < t[i].ndim; k++) {
            t[i].dims[k] = pos < size ? data[pos++] : 1;
            numel *= t[i].dims[k];
        }
        if (numel > (1 << 16)) return 0;
        vi[i].name = names[i];
        vi[i].dtype = t[i].dtype;
        vi[i].ndim = t[i].ndim;
        memcpy(vi[i].dims, t[i].dims, sizeof t[i].dims);
    }
    /* data: the remaining bytes, repeated */
    const uint8_t *rest = data + pos;
    size_t nrest = size - pos, r = 0;
    for (int i = 0; i < n_out; i++) {
        size_t bytes = (size_t)lens_tensor_numel(&t[i]) * lens_dtype_size(t[i].dtype);
        uint8_t *b = malloc(bytes ? bytes : 1);
        if (!b) goto done;
        for (size_t k = 0; k < bytes; k++) b[k] = nrest ? rest[r++ % nrest] : 0;
        t[i].data = b;
    }

    lens_value_info in;
    memset(&in, 0, sizeof in);
    in.name = "images";
    in.dtype = LENS_DTYPE_FLOAT;
    in.ndim = 4;
    in.dims[0] = 1, in.dims[1] = 3, in.dims[2] = MODEL_H, in.dims[3] = MODEL_W;
    lens_vision_options opt;
    memset(&opt, 0, sizeof opt);
    opt.task = task;
    opt.output_layout = (lens_output_layout)(data[1] % 8);
    opt.box_format = (lens_box_format)(data[2] % 3);
    opt.normalized = (data[2] >> 2 & 3) == 1 ? 1 : (data[2] >> 2 & 3) == 2 ? -1 : 0;
    opt.softmax = (data[2] >> 4 & 3) == 1 ? 1 : (data[2] >> 4 & 3) == 2 ? -1 : 0;
    opt.agnostic = data[2] >> 6 & 1;
    opt.has_conf = true;
    opt.conf = data[2] & 0x80 ? 0.0f : 0.2f;
    vision_model_desc d = {0, NULL, NULL, 1, (size_t)n_out, &in, vi};
    lens_vision_config cfg;
    vision_config_store store;
    memset(&store, 0, sizeof store);
    if (vision_config_resolve(&d, &opt, &cfg, &store) != LENS_OK) goto done_store;

    /* The transform lens_preprocess_image gives for a stretch of an
     * sw x sh picture to the model input. */
    int32_t sw = 1 + data[4] % 200, sh = 1 + data[5] % 200;
    lens_transform tf = {(float)MODEL_W / (float)sw, (float)MODEL_H / (float)sh, 0, 0, sw, sh};
    vision_outputs o = {(size_t)n_out, t, names};
    char *json = NULL;
    if (task == LENS_TASK_CLASSIFY) {
        lens_classification c;
        if (vision_classify(&cfg, &o, &c) == LENS_OK) {
            if (lens_classification_json(&c, "x.jpg", &json) == LENS_OK) fuzz_touch_string(json);
            lens_classification_free(&c);
        }
    } else if (task == LENS_TASK_DETECT) {
        lens_detections det;
        if (vision_detect(&cfg, &o, &tf, &det) == LENS_OK) {
            if (lens_detections_json(&det, "x.jpg", &json) == LENS_OK) fuzz_touch_string(json);
            lens_image img;
            if (lens_image_alloc(sw, sh, LENS_PIXEL_RGB, &img) == LENS_OK) {
                lens_draw_detections(&img, &det);
                lens_image_release(&img);
            }
            lens_detections_free(&det);
        }
    } else {
        lens_segmentation seg;
        if (vision_segment(&cfg, &o, &tf, &seg) == LENS_OK) {
            if (seg.width != sw || seg.height != sh) __builtin_trap();
            if (lens_segmentation_json(&seg, "x.jpg", &json) == LENS_OK) fuzz_touch_string(json);
            lens_image img, overlay;
            if (lens_image_alloc(sw, sh, LENS_PIXEL_RGB, &img) == LENS_OK) {
                if (lens_draw_segmentation(&img, &seg, 0.5f, &overlay) == LENS_OK) lens_image_release(&overlay);
                lens_image_release(&img);
            }
            lens_segmentation_free(&seg);
        }
    }
    free(json);
done_store:
    vision_config_store_free(&store);
done:
    for (int i = 0; i < n_out; i++) free(t[i].data);
    return 0;
}
