/* The vision pipeline object (settings resolved once, immutable) and its
 * per-thread sessions (engine session + input buffer): preprocess, run,
 * decode, with per-stage timing. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vision/vision_internal.h"

struct lens_pipeline {
    const lens_model *model;
    lens_vision_config cfg;
    vision_config_store store;
    size_t n_out;
    const char **out_names;
};

struct lens_vision_session {
    const lens_pipeline *p;
    lens_session *s;
    void *input;
    size_t input_bytes;
    lens_tensor in;
    lens_tensor *outs;
    lens_vision_timing timing;
};

lens_status vision_check_outputs(const lens_vision_config *cfg, const vision_outputs *o) {
    switch (cfg->task) {
    case LENS_TASK_CLASSIFY: {
        int64_t c;
        return vision_classify_plan(cfg, o, &c);
    }
    case LENS_TASK_DETECT: {
        vision_det_plan p;
        return vision_detect_plan(cfg, o, &p);
    }
    case LENS_TASK_SEGMENT: {
        vision_seg_plan p;
        return vision_segment_plan(cfg, o, &p);
    }
    default: return lens_error(LENS_STATUS_INVALID_ARGUMENT, "no task");
    }
}

lens_status lens_pipeline_create(const lens_model *model, const lens_vision_options *options, lens_pipeline **out) {
    if (!out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_pipeline_create: out is NULL");
    *out = NULL;
    if (!model) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_pipeline_create: model is NULL");
    size_t n_meta = lens_model_metadata_count(model);
    size_t n_in = lens_model_input_count(model), n_out = lens_model_output_count(model);
    const char **keys = lens_calloc(n_meta + 1, sizeof *keys);
    const char **values = lens_calloc(n_meta + 1, sizeof *values);
    lens_value_info *ins = lens_calloc(n_in + 1, sizeof *ins);
    lens_value_info *outs = lens_calloc(n_out + 1, sizeof *outs);
    lens_pipeline *p = lens_calloc(1, sizeof *p);
    lens_tensor *shapes = lens_calloc(n_out + 1, sizeof *shapes);
    const char **names = lens_calloc(n_out + 1, sizeof *names);
    lens_status st = LENS_OK;
    if (!keys || !values || !ins || !outs || !p || !shapes || !names) {
        st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_meta; i++) lens_model_metadata_at(model, i, &keys[i], &values[i]);
    for (size_t i = 0; i < n_in; i++) lens_model_input_info(model, i, &ins[i]);
    for (size_t i = 0; i < n_out; i++) {
        lens_model_output_info(model, i, &outs[i]);
        names[i] = outs[i].name;
    }
    vision_model_desc desc = {n_meta, keys, values, n_in, n_out, ins, outs};
    st = vision_config_resolve(&desc, options, &p->cfg, &p->store);
    if (st != LENS_OK) goto done;
    /* With static output shapes, a layout lens cannot read or labels of the
     * wrong count are found now rather than on the first image. */
    bool all_static = n_out > 0;
    for (size_t i = 0; i < n_out && all_static; i++) {
        if (outs[i].ndim < 0) all_static = false;
        shapes[i].dtype = outs[i].dtype;
        shapes[i].ndim = outs[i].ndim;
        for (int32_t k = 0; k < outs[i].ndim; k++) {
            if (outs[i].dims[k] < 0) all_static = false;
            shapes[i].dims[k] = outs[i].dims[k];
        }
    }
    if (all_static) {
        vision_outputs o = {n_out, shapes, names};
        st = vision_check_outputs(&p->cfg, &o);
        if (st != LENS_OK) goto done;
    }
    p->model = model;
    p->n_out = n_out;
    p->out_names = names;
    names = NULL;
    *out = p;
    p = NULL;
done:
    lens_free(keys);
    lens_free(values);
    lens_free(ins);
    lens_free(outs);
    lens_free(shapes);
    lens_free(names);
    lens_pipeline_free(p);
    return st;
}

void lens_pipeline_free(lens_pipeline *p) {
    if (!p) return;
    vision_config_store_free(&p->store);
    lens_free(p->out_names);
    lens_free(p);
}

const lens_vision_config *lens_pipeline_config(const lens_pipeline *p) { return p ? &p->cfg : NULL; }

void lens_pipeline_decode_options(const lens_pipeline *p, lens_decode_options *options) {
    if (!p || !options) return;
    options->target_width = p->cfg.preprocess.width;
    options->target_height = p->cfg.preprocess.height;
}

lens_status lens_vision_session_create(const lens_pipeline *p, const lens_session_options *options,
                                       lens_vision_session **out) {
    if (!out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_vision_session_create: out is NULL");
    *out = NULL;
    if (!p) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_vision_session_create: pipeline is NULL");
    lens_vision_session *s = lens_calloc(1, sizeof *s);
    if (!s) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    s->p = p;
    const lens_preprocess *pp = &p->cfg.preprocess;
    s->input_bytes = lens_preprocess_tensor_bytes(pp);
    if (s->input_bytes == 0) {
        lens_free(s);
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "the preprocessing settings are invalid (%dx%d)",
                          (int)pp->width, (int)pp->height);
    }
    s->input = lens_aligned_alloc(s->input_bytes);
    s->outs = lens_calloc(p->n_out + 1, sizeof *s->outs);
    if (!s->input || !s->outs) {
        lens_vision_session_free(s);
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory for the input tensor");
    }
    lens_status st = lens_session_create(p->model, options, &s->s);
    if (st != LENS_OK) {
        lens_vision_session_free(s);
        return st;
    }
    int64_t c = pp->channels == LENS_CHANNELS_GRAY ? 1 : 3;
    lens_tensor *in = &s->in;
    in->dtype = pp->dtype;
    in->data = s->input;
    int32_t k = 0;
    if (p->cfg.input_rank == 4) in->dims[k++] = 1;
    if (pp->layout == LENS_LAYOUT_NCHW) {
        in->dims[k++] = c;
        in->dims[k++] = pp->height;
        in->dims[k++] = pp->width;
    } else {
        in->dims[k++] = pp->height;
        in->dims[k++] = pp->width;
        in->dims[k++] = c;
    }
    in->ndim = k;
    *out = s;
    return LENS_OK;
}

void lens_vision_session_free(lens_vision_session *s) {
    if (!s) return;
    lens_session_free(s->s);
    lens_aligned_free(s->input);
    lens_free(s->outs);
    lens_free(s);
}

void lens_vision_session_timing(const lens_vision_session *s, lens_vision_timing *out) {
    if (!out) return;
    if (!s) memset(out, 0, sizeof *out);
    else *out = s->timing;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Preprocess and run; outputs in s->outs. */
static lens_status run_model(lens_vision_session *s, lens_task task, const lens_image *img, lens_transform *tf,
                             vision_outputs *o) {
    if (!s) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "session is NULL");
    if (s->p->cfg.task != task)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "the pipeline was made for task %s, not %s",
                          lens_task_name(s->p->cfg.task), lens_task_name(task));
    if (!img || !img->data || img->width < 1 || img->height < 1)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "empty image");
    double t0 = now_ms();
    LENS_TRY(lens_preprocess_image(img, &s->p->cfg.preprocess, s->input, s->input_bytes, tf));
    double t1 = now_ms();
    LENS_TRY(lens_session_run(s->s, 1, &s->in));
    for (size_t i = 0; i < s->p->n_out; i++) LENS_TRY(lens_session_output(s->s, i, &s->outs[i]));
    double t2 = now_ms();
    s->timing.preprocess_ms += t1 - t0;
    s->timing.infer_ms += t2 - t1;
    s->timing.runs++;
    o->n = s->p->n_out;
    o->t = s->outs;
    o->names = s->p->out_names;
    return LENS_OK;
}

lens_status lens_classify(lens_vision_session *s, const lens_image *img, lens_classification *out) {
    if (!out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_classify: out is NULL");
    memset(out, 0, sizeof *out);
    lens_transform tf;
    vision_outputs o;
    LENS_TRY(run_model(s, LENS_TASK_CLASSIFY, img, &tf, &o));
    double t0 = now_ms();
    lens_status st = vision_classify(&s->p->cfg, &o, out);
    s->timing.postprocess_ms += now_ms() - t0;
    return st;
}

lens_status lens_detect(lens_vision_session *s, const lens_image *img, lens_detections *out) {
    if (!out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_detect: out is NULL");
    memset(out, 0, sizeof *out);
    lens_transform tf;
    vision_outputs o;
    LENS_TRY(run_model(s, LENS_TASK_DETECT, img, &tf, &o));
    double t0 = now_ms();
    lens_status st = vision_detect(&s->p->cfg, &o, &tf, out);
    s->timing.postprocess_ms += now_ms() - t0;
    return st;
}

lens_status vision_session_segment(lens_vision_session *s, const lens_image *img, bool want_mask,
                                   lens_segmentation *out) {
    if (!out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_segment: out is NULL");
    memset(out, 0, sizeof *out);
    lens_transform tf;
    vision_outputs o;
    LENS_TRY(run_model(s, LENS_TASK_SEGMENT, img, &tf, &o));
    double t0 = now_ms();
    lens_status st = vision_segment_ex(&s->p->cfg, &o, &tf, want_mask, out);
    s->timing.postprocess_ms += now_ms() - t0;
    return st;
}

lens_status lens_segment(lens_vision_session *s, const lens_image *img, lens_segmentation *out) {
    return vision_session_segment(s, img, true, out);
}

static lens_status outputs_of(const lens_pipeline *p, size_t n, const lens_tensor *t, vision_outputs *o) {
    if (!p) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "pipeline is NULL");
    if (n && !t) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "outputs is NULL");
    o->n = n;
    o->t = t;
    o->names = n == p->n_out ? p->out_names : NULL;
    return LENS_OK;
}

lens_status lens_classify_outputs(const lens_pipeline *p, size_t n, const lens_tensor *outputs,
                                  lens_classification *out) {
    if (!out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "out is NULL");
    memset(out, 0, sizeof *out);
    vision_outputs o;
    LENS_TRY(outputs_of(p, n, outputs, &o));
    return vision_classify(&p->cfg, &o, out);
}

lens_status lens_detect_outputs(const lens_pipeline *p, size_t n, const lens_tensor *outputs,
                                const lens_transform *tf, lens_detections *out) {
    if (!out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "out is NULL");
    memset(out, 0, sizeof *out);
    vision_outputs o;
    LENS_TRY(outputs_of(p, n, outputs, &o));
    return vision_detect(&p->cfg, &o, tf, out);
}

lens_status lens_segment_outputs(const lens_pipeline *p, size_t n, const lens_tensor *outputs,
                                 const lens_transform *tf, lens_segmentation *out) {
    if (!out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "out is NULL");
    memset(out, 0, sizeof *out);
    vision_outputs o;
    LENS_TRY(outputs_of(p, n, outputs, &o));
    return vision_segment(&p->cfg, &o, tf, out);
}

/* ---- JSON ------------------------------------------------------------------- */

static void json_image(vbuf *b, const char *image) {
    if (!image) return;
    vbuf_put(b, "\"image\": ");
    vbuf_json_string(b, image);
    vbuf_put(b, ", ");
}

lens_status lens_classification_json(const lens_classification *r, const char *image, char **json) {
    if (!r || !json) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_classification_json: NULL argument");
    vbuf b = {0};
    vbuf_put(&b, "{");
    json_image(&b, image);
    vbuf_put(&b, "\"top\": [");
    for (size_t i = 0; i < r->count; i++) {
        vbuf_printf(&b, "%s{\"index\": %d, \"label\": ", i ? ", " : "", (int)r->top[i].index);
        vbuf_json_string(&b, r->top[i].label);
        vbuf_put(&b, ", \"score\": ");
        vbuf_json_number(&b, r->top[i].score);
        vbuf_put(&b, "}");
    }
    vbuf_put(&b, "]}");
    return vbuf_finish(&b, json);
}

lens_status lens_detections_json(const lens_detections *r, const char *image, char **json) {
    if (!r || !json) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_detections_json: NULL argument");
    vbuf b = {0};
    vbuf_put(&b, "{");
    json_image(&b, image);
    vbuf_printf(&b, "\"width\": %d, \"height\": %d, \"detections\": [", (int)r->image_width, (int)r->image_height);
    for (size_t i = 0; i < r->count; i++) {
        const lens_detection *d = &r->items[i];
        vbuf_printf(&b, "%s{\"box\": [%.2f, %.2f, %.2f, %.2f], \"score\": ", i ? ", " : "", (double)d->box.x1,
                    (double)d->box.y1, (double)d->box.x2, (double)d->box.y2);
        vbuf_json_number(&b, d->score);
        vbuf_printf(&b, ", \"class\": %d, \"label\": ", (int)d->class_index);
        vbuf_json_string(&b, d->label);
        vbuf_put(&b, "}");
    }
    vbuf_put(&b, "]}");
    return vbuf_finish(&b, json);
}

lens_status lens_segmentation_json(const lens_segmentation *r, const char *image, char **json) {
    if (!r || !json) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_segmentation_json: NULL argument");
    vbuf b = {0};
    vbuf_put(&b, "{");
    json_image(&b, image);
    vbuf_printf(&b, "\"width\": %d, \"height\": %d, \"classes\": [", (int)r->width, (int)r->height);
    bool first = true;
    for (int32_t i = 0; i < r->n_classes; i++) {
        if (r->classes[i].pixels == 0) continue;
        vbuf_printf(&b, "%s{\"index\": %d, \"label\": ", first ? "" : ", ", (int)r->classes[i].index);
        vbuf_json_string(&b, r->classes[i].label);
        vbuf_printf(&b, ", \"pixels\": %lld}", (long long)r->classes[i].pixels);
        first = false;
    }
    vbuf_printf(&b, "], \"outside_pixels\": %lld}", (long long)r->outside_pixels);
    return vbuf_finish(&b, json);
}
