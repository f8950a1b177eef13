/* The "vision" part of `lens info`: what the vision pipeline reads from the
 * model's metadata and shapes, each setting with where it came from, the
 * output layout it would use and anything in the metadata it ignored. */
#include <stdlib.h>
#include <string.h>

#include "cli/vision_cli.h"
#include "vision/vision_internal.h"

static const char *resize_name(lens_resize_mode m) {
    return m == LENS_RESIZE_LETTERBOX ? "letterbox" : m == LENS_RESIZE_CROP ? "crop" : "stretch";
}

static const char *channels_name(lens_channel_order c) {
    return c == LENS_CHANNELS_BGR ? "bgr" : c == LENS_CHANNELS_GRAY ? "gray" : "rgb";
}

/* The value of a field as text. */
static void field_value(const lens_vision_config *c, lens_vision_field f, char *b, size_t n) {
    const lens_preprocess *p = &c->preprocess;
    switch (f) {
    case LENS_FIELD_TASK: snprintf(b, n, "%s", c->task == LENS_TASK_AUTO ? "(given by the command)" : lens_task_name(c->task)); break;
    case LENS_FIELD_SIZE: snprintf(b, n, "%dx%d", (int)p->width, (int)p->height); break;
    case LENS_FIELD_RESIZE: snprintf(b, n, "%s", resize_name(p->resize)); break;
    case LENS_FIELD_RESIZE_SHORT:
        if (p->resize_short) snprintf(b, n, "%d", (int)p->resize_short);
        else snprintf(b, n, "(the crop's shorter side)");
        break;
    case LENS_FIELD_INTERP: snprintf(b, n, "%s", p->interp == LENS_INTERP_AREA ? "area" : "bilinear"); break;
    case LENS_FIELD_PAD: snprintf(b, n, "%d", (int)p->pad_value); break;
    case LENS_FIELD_CHANNELS: snprintf(b, n, "%s", channels_name(p->channels)); break;
    case LENS_FIELD_SCALE: snprintf(b, n, "%.9g", (double)p->scale); break;
    case LENS_FIELD_MEAN: snprintf(b, n, "%g,%g,%g", (double)p->mean[0], (double)p->mean[1], (double)p->mean[2]); break;
    case LENS_FIELD_STD: snprintf(b, n, "%g,%g,%g", (double)p->std[0], (double)p->std[1], (double)p->std[2]); break;
    case LENS_FIELD_LAYOUT: snprintf(b, n, "%s", p->layout == LENS_LAYOUT_NHWC ? "nhwc" : "nchw"); break;
    case LENS_FIELD_DTYPE: snprintf(b, n, "%s", p->dtype == LENS_DTYPE_UINT8 ? "uint8" : "float32"); break;
    case LENS_FIELD_LABELS: snprintf(b, n, "%zu", c->n_labels); break;
    case LENS_FIELD_OUTPUT_LAYOUT: snprintf(b, n, "%s", lens_output_layout_name(c->output_layout)); break;
    case LENS_FIELD_BOX:
        snprintf(b, n, "%s", c->box_format == LENS_BOX_XYXY ? "xyxy" : c->box_format == LENS_BOX_CXCYWH ? "cxcywh" : "auto");
        break;
    case LENS_FIELD_NORMALIZED:
        snprintf(b, n, "%s", c->normalized ? "1" : "0");
        break;
    case LENS_FIELD_CONF: snprintf(b, n, "%g", (double)c->conf); break;
    case LENS_FIELD_IOU: snprintf(b, n, "%g", (double)c->iou); break;
    case LENS_FIELD_MAX_DET: snprintf(b, n, "%d", (int)c->max_det); break;
    case LENS_FIELD_TOP_K: snprintf(b, n, "%d", (int)c->top_k); break;
    default: snprintf(b, n, "?"); break;
    }
}

/* What the outputs mean under this config, in words (layout detection). */
static void outputs_meaning(const lens_vision_config *cfg, size_t n_out, const lens_value_info *outs, char *b,
                            size_t n) {
    lens_tensor *t = calloc(n_out + 1, sizeof *t);
    const char **names = calloc(n_out + 1, sizeof *names);
    if (!t || !names) {
        snprintf(b, n, "(out of memory)");
        free(t);
        free(names);
        return;
    }
    bool is_static = n_out > 0;
    for (size_t i = 0; i < n_out; i++) {
        names[i] = outs[i].name;
        t[i].dtype = outs[i].dtype;
        t[i].ndim = outs[i].ndim < 0 ? 0 : outs[i].ndim;
        if (outs[i].ndim < 0) is_static = false;
        for (int32_t k = 0; k < t[i].ndim; k++) {
            t[i].dims[k] = outs[i].dims[k];
            if (outs[i].dims[k] < 0) is_static = false;
        }
    }
    vision_outputs o = {n_out, t, names};
    if (!is_static) {
        snprintf(b, n, "decided from the output shapes on the first image (they are not fixed in the model)");
    } else if (cfg->task == LENS_TASK_DETECT) {
        vision_det_plan p;
        if (vision_detect_plan(cfg, &o, &p) != LENS_OK) snprintf(b, n, "error: %s", lens_last_error());
        else if (p.layout == LENS_OUTPUT_BOXES_SCORES)
            snprintf(b, n, "boxes_scores: boxes = output %d, scores = output %d%s, labels = %s%s; %s", p.boxes,
                     p.scores, p.scores_per_class ? " (per class)" : "", p.labels >= 0 ? "an output" : "none",
                     p.normalized ? ", normalised" : "", p.nms ? "NMS by lens" : "NMS done by the model");
        else
            snprintf(b, n, "%s: %lld candidate boxes, %lld classes, %s boxes%s%s", lens_output_layout_name(p.layout),
                     (long long)p.n, (long long)p.n_classes, p.box == LENS_BOX_CXCYWH ? "cxcywh" : "xyxy",
                     p.normalized ? " normalised" : " in input pixels",
                     p.layout == LENS_OUTPUT_YOLOV8 ? (p.channel_first ? ", [1, 4+C, N]" : ", [1, N, 4+C]")
                     : p.layout == LENS_OUTPUT_SSD ? "; NMS done by the model" : "");
    } else if (cfg->task == LENS_TASK_CLASSIFY) {
        int64_t c;
        if (vision_classify_plan(cfg, &o, &c) != LENS_OK) snprintf(b, n, "error: %s", lens_last_error());
        else
            snprintf(b, n, "%lld class scores; softmax %s", (long long)c,
                     cfg->softmax > 0 ? "applied" : cfg->softmax < 0 ? "not applied" : "when they look like logits");
    } else if (cfg->task == LENS_TASK_SEGMENT) {
        vision_seg_plan p;
        if (vision_segment_plan(cfg, &o, &p) != LENS_OK) snprintf(b, n, "error: %s", lens_last_error());
        else if (p.sigmoid)
            snprintf(b, n, "one channel %lldx%lld: foreground where %s > %g", (long long)p.width, (long long)p.height,
                     p.threshold == 0 ? "the logit" : "the probability", (double)p.threshold);
        else
            snprintf(b, n, "%d classes at %lldx%lld: per-pixel argmax", (int)p.n_classes, (long long)p.width,
                     (long long)p.height);
    } else {
        snprintf(b, n, "depends on the task (the metadata gives none)");
    }
    free(t);
    free(names);
}

void cli_vision_info(FILE *f, bool json, size_t n_meta, const char *const *keys, const char *const *values,
                     size_t n_in, const lens_value_info *ins, size_t n_out, const lens_value_info *outs) {
    vision_model_desc d = {n_meta, keys, values, n_in, n_out, ins, outs};
    lens_vision_config cfg;
    vision_config_store store;
    lens_status st = vision_config_describe(&d, &cfg, &store);
    char err[1024] = "";
    if (st != LENS_OK) snprintf(err, sizeof err, "%s", lens_last_error());
    char meaning[1024] = "";
    if (st == LENS_OK) outputs_meaning(&cfg, n_out, outs, meaning, sizeof meaning);
    char v[512];
    if (json) {
        fputs("{", f);
        if (st != LENS_OK) {
            fputs("\"error\": ", f);
            cli_json_string(f, err);
        } else {
            fputs("\"settings\": {", f);
            for (int i = 0; i < LENS_FIELD_COUNT; i++) {
                field_value(&cfg, (lens_vision_field)i, v, sizeof v);
                fprintf(f, "%s\"%s\": {\"value\": ", i ? ", " : "", lens_vision_field_name((lens_vision_field)i));
                cli_json_string(f, v);
                fprintf(f, ", \"from\": \"%s\"", lens_origin_name(cfg.origin[i]));
                if (cfg.origin_key[i]) {
                    fputs(", \"key\": ", f);
                    cli_json_string(f, cfg.origin_key[i]);
                }
                fputs("}", f);
            }
            fputs("}, \"labels\": [", f);
            for (size_t i = 0; i < cfg.n_labels; i++) {
                fputs(i ? ", " : "", f);
                cli_json_string(f, cfg.labels[i]);
            }
            fputs("], \"outputs\": ", f);
            cli_json_string(f, meaning);
        }
        fputs(", \"warnings\": [", f);
        for (size_t i = 0; i < store.n_warnings; i++) {
            fputs(i ? ", " : "", f);
            cli_json_string(f, store.warnings[i]);
        }
        fputs("]}", f);
    } else {
        fputs("vision:\n", f);
        if (st != LENS_OK) {
            fprintf(f, "  error: %s\n", err);
        } else {
            for (int i = 0; i < LENS_FIELD_COUNT; i++) {
                if (i == LENS_FIELD_LABELS) continue;
                field_value(&cfg, (lens_vision_field)i, v, sizeof v);
                fprintf(f, "  %-14s %-28s %s%s%s\n", lens_vision_field_name((lens_vision_field)i), v,
                        lens_origin_name(cfg.origin[i]), cfg.origin_key[i] ? ": " : "",
                        cfg.origin_key[i] ? cfg.origin_key[i] : "");
            }
            fprintf(f, "  %-14s %zu%s%s%s", "labels", cfg.n_labels,
                    cfg.n_labels ? " from " : " (classes are named class_<i>)",
                    cfg.n_labels ? (cfg.origin_key[LENS_FIELD_LABELS] ? cfg.origin_key[LENS_FIELD_LABELS]
                                                                      : lens_origin_name(cfg.origin[LENS_FIELD_LABELS]))
                                 : "",
                    cfg.n_labels ? ":" : "");
            for (size_t i = 0; i < cfg.n_labels && i < 8; i++) fprintf(f, " %s%s", cfg.labels[i], i + 1 < cfg.n_labels ? "," : "");
            fprintf(f, "%s\n", cfg.n_labels > 8 ? " ..." : "");
            fprintf(f, "  %-14s %s\n", "outputs", meaning);
        }
        for (size_t i = 0; i < store.n_warnings; i++) fprintf(f, "  warning: %s\n", store.warnings[i]);
    }
    vision_config_store_free(&store);
}
