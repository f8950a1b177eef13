/* Model metadata -> pipeline settings (docs/METADATA.md).
 *
 * Precedence, lowest first: lens's defaults, the model's input shape and
 * type, other exporters' keys (Ultralytics, OpenVINO model_api), lens.*
 * keys, then lens_vision_options. Every setting records where it came from
 * (lens info shows it).
 *
 * Metadata is hostile input. A malformed lens.* key fails with the key and
 * value in the message: the exporter that wrote it is ours, and a silently
 * wrong preprocessing spec gives silently wrong answers. Malformed keys of
 * other exporters are skipped with a warning instead, since lens does not
 * control what they write. Every list is bounded (VISION_MAX_LABELS names of
 * at most VISION_MAX_LABEL_BYTES). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "vision/vision_internal.h"

/* ---- value parsers ------------------------------------------------------- */

static const char *skip_space(const char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    return s;
}

bool vision_parse_float(const char *s, float *out) {
    if (!s) return false;
    s = skip_space(s);
    if (!*s) return false;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE) return false;
    if (*skip_space(end)) return false;
    if (!isfinite(v) || fabs(v) > 3.0e38) return false;
    *out = (float)v;
    return true;
}

bool vision_parse_int(const char *s, int64_t min, int64_t max, int64_t *out) {
    if (!s) return false;
    s = skip_space(s);
    if (!*s) return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno == ERANGE || *skip_space(end)) return false;
    if (v < min || v > max) return false;
    *out = (int64_t)v;
    return true;
}

/* Up to `max` floats separated by commas and/or spaces, optionally in [ ]. */
static int parse_float_list(const char *s, float *out, int max) {
    if (!s) return -1;
    s = skip_space(s);
    bool bracket = *s == '[';
    if (bracket) s++;
    int n = 0;
    for (;;) {
        s = skip_space(s);
        if (bracket && *s == ']') {
            s++;
            break;
        }
        if (!*s) break;
        if (n == max) return -1;
        errno = 0;
        char *end;
        double v = strtod(s, &end);
        if (end == s || errno == ERANGE || !isfinite(v) || fabs(v) > 3.0e38) return -1;
        out[n++] = (float)v;
        s = skip_space(end);
        if (*s == ',') s++;
        else if (*s && !(bracket && *s == ']') && !isspace((unsigned char)end[0])) return -1;
    }
    if (*skip_space(s)) return -1;
    return n;
}

bool vision_parse_floats3(const char *s, float out[3]) {
    float v[3];
    int n = parse_float_list(s, v, 3);
    if (n == 1) {
        out[0] = out[1] = out[2] = v[0];
        return true;
    }
    if (n == 3) {
        memcpy(out, v, sizeof v);
        return true;
    }
    return false;
}

void vision_labels_free(char **labels, size_t n) {
    if (!labels) return;
    for (size_t i = 0; i < n; i++) lens_free(labels[i]);
    lens_free(labels);
}

/* A growing list of names. */
typedef struct name_list {
    char **v;
    size_t n, cap;
} name_list;

static lens_status names_push(name_list *l, const char *what, char *s) {
    if (!s) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: out of memory", what);
    if (l->n >= VISION_MAX_LABELS) {
        lens_free(s);
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "%s: more than %d labels", what, VISION_MAX_LABELS);
    }
    if (strlen(s) > VISION_MAX_LABEL_BYTES) {
        lens_free(s);
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "%s: label %zu is longer than %d bytes", what, l->n,
                          VISION_MAX_LABEL_BYTES);
    }
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        char **nv = lens_realloc(l->v, nc * sizeof *nv);
        if (!nv) {
            lens_free(s);
            return lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: out of memory", what);
        }
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = s;
    return LENS_OK;
}

lens_status vision_parse_labels_json(const char *s, const char *what, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    vjson j;
    LENS_TRY(vjson_parse(s, strlen(s), what, &j));
    lens_status st = LENS_OK;
    name_list l = {0};
    if (j.type != VJSON_ARRAY) {
        st = lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: expected a JSON array of strings", what);
    } else {
        for (size_t i = 0; i < j.count && st == LENS_OK; i++) {
            if (j.items[i].type != VJSON_STRING)
                st = lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: item %zu is not a string", what, i);
            else
                st = names_push(&l, what, lens_strdup(j.items[i].string));
        }
    }
    vjson_free(&j);
    if (st != LENS_OK) {
        vision_labels_free(l.v, l.n);
        return st;
    }
    *out = l.v;
    *n = l.n;
    return LENS_OK;
}

/* A Python string literal at *p ('...' or "..."), escapes decoded. */
static lens_status py_string(const char **pp, const char *what, char **out) {
    const char *p = *pp;
    char q = *p++;
    size_t cap = 32, n = 0;
    char *o = lens_malloc(cap);
    if (!o) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: out of memory", what);
    for (;;) {
        if (!*p) {
            lens_free(o);
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: unterminated string", what);
        }
        if (*p == q) {
            p++;
            break;
        }
        if (n + 5 >= cap) {
            if (cap > VISION_MAX_LABEL_BYTES * 2) {
                lens_free(o);
                return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "%s: a label is longer than %d bytes", what,
                                  VISION_MAX_LABEL_BYTES);
            }
            cap *= 2;
            char *no = lens_realloc(o, cap);
            if (!no) {
                lens_free(o);
                return lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: out of memory", what);
            }
            o = no;
        }
        if (*p != '\\') {
            o[n++] = *p++;
            continue;
        }
        p++;
        char e = *p ? *p++ : '\0';
        uint32_t cp = 0;
        int hex = 0;
        switch (e) {
        case '\\': o[n++] = '\\'; break;
        case '\'': o[n++] = '\''; break;
        case '"': o[n++] = '"'; break;
        case 'n': o[n++] = '\n'; break;
        case 't': o[n++] = '\t'; break;
        case 'r': o[n++] = '\r'; break;
        case 'x': hex = 2; break;
        case 'u': hex = 4; break;
        case 'U': hex = 8; break;
        case '\0':
            lens_free(o);
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: unterminated string", what);
        default: /* Python keeps unknown escapes as they are */
            o[n++] = '\\';
            o[n++] = e;
        }
        for (int i = 0; i < hex; i++) {
            char c = *p;
            int h = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                                      : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
            if (h < 0) {
                lens_free(o);
                return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: bad \\%c escape", what, e);
            }
            cp = cp * 16 + (uint32_t)h;
            p++;
        }
        if (hex) {
            if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                lens_free(o);
                return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: bad character escape", what);
            }
            if (cp < 0x80) {
                o[n++] = (char)cp;
            } else if (cp < 0x800) {
                o[n++] = (char)(0xC0 | (cp >> 6));
                o[n++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                o[n++] = (char)(0xE0 | (cp >> 12));
                o[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                o[n++] = (char)(0x80 | (cp & 0x3F));
            } else {
                o[n++] = (char)(0xF0 | (cp >> 18));
                o[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                o[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                o[n++] = (char)(0x80 | (cp & 0x3F));
            }
        }
    }
    o[n] = '\0';
    *pp = p;
    *out = o;
    return LENS_OK;
}

lens_status vision_parse_labels_pydict(const char *s, const char *what, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    name_list l = {0};
    int64_t *keys = NULL;
    size_t kcap = 0;
    lens_status st = LENS_OK;
    const char *p = skip_space(s);
    if (*p != '{') {
        st = lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: expected a dict literal {0: 'name', ...}", what);
        goto done;
    }
    p = skip_space(p + 1);
    while (*p != '}') {
        int64_t key;
        errno = 0;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno == ERANGE || v < 0 || v >= VISION_MAX_LABELS) {
            st = lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: expected a class index at byte %zu", what,
                            (size_t)(p - s));
            goto done;
        }
        key = v;
        p = skip_space(end);
        if (*p != ':') {
            st = lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: expected ':' at byte %zu", what, (size_t)(p - s));
            goto done;
        }
        p = skip_space(p + 1);
        if (*p != '\'' && *p != '"') {
            st = lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: expected a quoted name at byte %zu", what,
                            (size_t)(p - s));
            goto done;
        }
        char *name = NULL;
        if ((st = py_string(&p, what, &name)) != LENS_OK) goto done;
        if ((st = names_push(&l, what, name)) != LENS_OK) goto done;
        if (l.n > kcap) {
            kcap = l.cap;
            int64_t *nk = lens_realloc(keys, kcap * sizeof *nk);
            if (!nk) {
                st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: out of memory", what);
                goto done;
            }
            keys = nk;
        }
        keys[l.n - 1] = key;
        p = skip_space(p);
        if (*p == ',') p = skip_space(p + 1);
        else if (*p != '}') {
            st = lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: expected ',' or '}' at byte %zu", what,
                            (size_t)(p - s));
            goto done;
        }
    }
    if (*skip_space(p + 1)) {
        st = lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: text after the dict", what);
        goto done;
    }
    /* Keys must be exactly 0..n-1: place each name at its index. */
    {
        char **ordered = lens_calloc(l.n ? l.n : 1, sizeof *ordered);
        if (!ordered) {
            st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: out of memory", what);
            goto done;
        }
        for (size_t i = 0; i < l.n; i++) {
            if (keys[i] >= (int64_t)l.n || ordered[keys[i]]) {
                st = lens_error(LENS_STATUS_INVALID_ARGUMENT,
                                "%s: class indices must be 0..%zu, each once (found %lld)", what,
                                l.n ? l.n - 1 : 0, (long long)keys[i]);
                lens_free(ordered);
                goto done;
            }
            ordered[keys[i]] = l.v[i];
        }
        lens_free(l.v);
        l.v = ordered;
    }
done:
    lens_free(keys);
    if (st != LENS_OK) {
        vision_labels_free(l.v, l.n);
        return st;
    }
    *out = l.v;
    *n = l.n;
    return LENS_OK;
}

lens_status vision_parse_labels_spaces(const char *s, const char *what, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    name_list l = {0};
    const char *p = s;
    for (;;) {
        p = skip_space(p);
        if (!*p) break;
        const char *e = p;
        while (*e && *e != ' ' && *e != '\t' && *e != '\n' && *e != '\r') e++;
        lens_status st = names_push(&l, what, lens_strndup(p, (size_t)(e - p)));
        if (st != LENS_OK) {
            vision_labels_free(l.v, l.n);
            return st;
        }
        p = e;
    }
    *out = l.v;
    *n = l.n;
    return LENS_OK;
}

/* ---- resolution ------------------------------------------------------------ */

typedef struct resolver {
    const vision_model_desc *d;
    lens_vision_config *cfg;
    vision_config_store *store;
    int64_t fixed_w, fixed_h; /* the input's static size (0: dynamic) */
} resolver;

static const char *meta(const resolver *r, const char *key) {
    for (size_t i = 0; i < r->d->n_meta; i++)
        if (r->d->meta_keys[i] && !strcmp(r->d->meta_keys[i], key)) return r->d->meta_values[i];
    return NULL;
}

static void set_origin(resolver *r, lens_vision_field f, lens_origin o, const char *key) {
    r->cfg->origin[f] = o;
    r->cfg->origin_key[f] = key;
}

static void warn(resolver *r, const char *fmt, ...) LENS_PRINTF(2, 3);
static void warn(resolver *r, const char *fmt, ...) {
    vision_config_store *s = r->store;
    if (s->n_warnings >= 64) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **nw = lens_realloc(s->warnings, (s->n_warnings + 1) * sizeof *nw);
    if (!nw) return;
    s->warnings = nw;
    char *w = lens_strdup(buf);
    if (w) s->warnings[s->n_warnings++] = w;
}

/* A value for an error message: at most 60 bytes, printable. */
static const char *shown(const char *v, char *buf, size_t size) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p && n + 4 < size; p++, n++)
        buf[n] = (*p >= 0x20 && *p < 0x7f) ? (char)*p : '?';
    if (n + 4 >= size && v[n]) memcpy(buf + n, "...", 3), n += 3;
    buf[n] = '\0';
    return buf;
}

static lens_status bad_key(const char *key, const char *value, const char *expected) {
    char b[64];
    return lens_error(LENS_STATUS_INVALID_MODEL, "metadata %s = '%s': expected %s", key, shown(value, b, sizeof b),
                      expected);
}

static void set_labels(resolver *r, char **labels, size_t n, lens_origin o, const char *key) {
    vision_labels_free(r->store->labels, r->store->n_labels);
    r->store->labels = labels;
    r->store->n_labels = n;
    set_origin(r, LENS_FIELD_LABELS, o, key);
}

static bool parse_task(const char *v, lens_task *t) {
    if (!strcmp(v, "classify")) *t = LENS_TASK_CLASSIFY;
    else if (!strcmp(v, "detect")) *t = LENS_TASK_DETECT;
    else if (!strcmp(v, "segment")) *t = LENS_TASK_SEGMENT;
    else return false;
    return true;
}

static bool parse_resize(const char *v, lens_resize_mode *m) {
    if (!strcmp(v, "stretch")) *m = LENS_RESIZE_STRETCH;
    else if (!strcmp(v, "letterbox")) *m = LENS_RESIZE_LETTERBOX;
    else if (!strcmp(v, "crop")) *m = LENS_RESIZE_CROP;
    else return false;
    return true;
}

static bool parse_layout_name(const char *v, lens_output_layout *l) {
    static const struct {
        const char *name;
        lens_output_layout l;
    } names[] = {{"logits", LENS_OUTPUT_LOGITS}, {"probs", LENS_OUTPUT_PROBS},
                 {"yolov5", LENS_OUTPUT_YOLOV5}, {"yolov8", LENS_OUTPUT_YOLOV8},
                 {"boxes_scores", LENS_OUTPUT_BOXES_SCORES}, {"ssd", LENS_OUTPUT_SSD},
                 {"sigmoid", LENS_OUTPUT_SIGMOID}};
    for (size_t i = 0; i < LENS_ARRAY_LEN(names); i++)
        if (!strcmp(v, names[i].name)) {
            *l = names[i].l;
            return true;
        }
    return false;
}

/* Defaults, then what the model's input shape and type say. */
static lens_status from_model(resolver *r) {
    const vision_model_desc *d = r->d;
    lens_vision_config *c = r->cfg;
    /* docs/METADATA.md's defaults, written out (not lens_preprocess_default)
     * so that this table is the one documented. */
    lens_preprocess *pp = &c->preprocess;
    memset(pp, 0, sizeof *pp);
    pp->resize = LENS_RESIZE_STRETCH;
    pp->interp = LENS_INTERP_BILINEAR;
    pp->pad_value = 114;
    pp->channels = LENS_CHANNELS_RGB;
    pp->scale = 1.0f / 255.0f;
    pp->std[0] = pp->std[1] = pp->std[2] = 1.0f;
    pp->layout = LENS_LAYOUT_NCHW;
    pp->dtype = LENS_DTYPE_FLOAT;
    c->conf = 0.25f;
    c->iou = 0.45f;
    c->max_det = 100;
    c->top_k = 5;
    if (d->n_inputs != 1) {
        return lens_error(LENS_STATUS_UNSUPPORTED,
                          "the model has %zu inputs; the vision pipeline feeds one image input", d->n_inputs);
    }
    const lens_value_info *in = &d->inputs[0];
    c->input_index = 0;
    if (in->ndim != 3 && in->ndim != 4)
        return lens_error(LENS_STATUS_UNSUPPORTED,
                          "input '%s' has rank %d; an image input is [1,C,H,W], [1,H,W,C] or [C,H,W]", in->name,
                          (int)in->ndim);
    c->input_rank = in->ndim;
    if (in->dtype == LENS_DTYPE_UINT8) {
        c->preprocess.dtype = LENS_DTYPE_UINT8;
        set_origin(r, LENS_FIELD_DTYPE, LENS_ORIGIN_MODEL, NULL);
    } else if (in->dtype != LENS_DTYPE_FLOAT) {
        return lens_error(LENS_STATUS_UNSUPPORTED, "input '%s' is %s; the vision pipeline feeds float or uint8",
                          in->name, lens_dtype_name(in->dtype));
    } else {
        set_origin(r, LENS_FIELD_DTYPE, LENS_ORIGIN_MODEL, NULL);
    }
    const int64_t *s = in->dims + (in->ndim == 4 ? 1 : 0); /* C,H,W or H,W,C */
    bool chw_c = s[0] == 1 || s[0] == 3, hwc_c = s[2] == 1 || s[2] == 3;
    bool nhwc = hwc_c && !chw_c;
    c->preprocess.layout = nhwc ? LENS_LAYOUT_NHWC : LENS_LAYOUT_NCHW;
    if (chw_c || hwc_c) set_origin(r, LENS_FIELD_LAYOUT, LENS_ORIGIN_MODEL, NULL);
    int64_t ch = nhwc ? s[2] : s[0], h = nhwc ? s[0] : s[1], w = nhwc ? s[1] : s[2];
    if (ch == 1) {
        c->preprocess.channels = LENS_CHANNELS_GRAY;
        set_origin(r, LENS_FIELD_CHANNELS, LENS_ORIGIN_MODEL, NULL);
    }
    r->fixed_w = w > 0 ? w : 0;
    r->fixed_h = h > 0 ? h : 0;
    if (h > 0 && w > 0 && h <= 16384 && w <= 16384) {
        c->preprocess.width = (int32_t)w;
        c->preprocess.height = (int32_t)h;
        set_origin(r, LENS_FIELD_SIZE, LENS_ORIGIN_MODEL, NULL);
    } else {
        c->preprocess.width = c->preprocess.height = 0; /* must come from metadata or options */
    }
    return LENS_OK;
}

static void from_ultralytics(resolver *r) {
    lens_vision_config *c = r->cfg;
    const char *names = meta(r, "names"), *imgsz = meta(r, "imgsz"), *task = meta(r, "task");
    if (!names && !imgsz) return; /* not an Ultralytics export */
    const lens_origin U = LENS_ORIGIN_ULTRALYTICS;
    if (task) {
        lens_task t;
        if (parse_task(task, &t)) {
            c->task = t;
            set_origin(r, LENS_FIELD_TASK, U, "task");
        } else {
            char b[64];
            warn(r, "Ultralytics task '%s' is not classify, detect or segment: ignored", shown(task, b, sizeof b));
        }
    }
    if (names) {
        char **l;
        size_t n;
        if (vision_parse_labels_pydict(names, "metadata names", &l, &n) == LENS_OK) set_labels(r, l, n, U, "names");
        else warn(r, "%s: ignored", lens_last_error());
    }
    if (imgsz) {
        float v[2];
        int n = parse_float_list(imgsz, v, 2);
        if (n == 1) v[1] = v[0];
        if ((n == 1 || n == 2) && v[0] >= 1 && v[1] >= 1 && v[0] <= 16384 && v[1] <= 16384 &&
            v[0] == floorf(v[0]) && v[1] == floorf(v[1])) {
            c->preprocess.height = (int32_t)v[0];
            c->preprocess.width = (int32_t)v[1];
            set_origin(r, LENS_FIELD_SIZE, U, "imgsz");
        } else {
            char b[64];
            warn(r, "Ultralytics imgsz '%s' is not [H, W]: ignored", shown(imgsz, b, sizeof b));
        }
    }
    if (c->task == LENS_TASK_DETECT || c->task == LENS_TASK_SEGMENT) {
        /* Ultralytics' own predictor: LetterBox(pad 114), RGB, /255. */
        c->preprocess.resize = LENS_RESIZE_LETTERBOX;
        c->preprocess.pad_value = 114;
        set_origin(r, LENS_FIELD_RESIZE, U, "task");
        set_origin(r, LENS_FIELD_PAD, U, "task");
    }
}

/* OpenVINO model_api writes model_info.<name>; some tools write <name>. */
static const char *ov_meta(const resolver *r, const char *name, const char **key) {
    for (size_t i = 0; i < r->d->n_meta; i++) {
        const char *k = r->d->meta_keys[i];
        if (!k) continue;
        if ((!strncmp(k, "model_info.", 11) && !strcmp(k + 11, name)) || !strcmp(k, name)) {
            *key = k;
            return r->d->meta_values[i];
        }
    }
    return NULL;
}

static bool parse_bool_word(const char *v, bool *out) {
    static const char *yes[] = {"true", "True", "TRUE", "yes", "YES", "Yes", "1"};
    static const char *no[] = {"false", "False", "FALSE", "no", "NO", "No", "0"};
    for (size_t i = 0; i < LENS_ARRAY_LEN(yes); i++)
        if (!strcmp(v, yes[i])) return (*out = true);
    for (size_t i = 0; i < LENS_ARRAY_LEN(no); i++)
        if (!strcmp(v, no[i])) return !(*out = false);
    return false;
}

static void from_openvino(resolver *r) {
    lens_vision_config *c = r->cfg;
    const lens_origin O = LENS_ORIGIN_OPENVINO;
    const char *key = NULL, *v;
    const char *model_type = ov_meta(r, "model_type", &key);
    if (!model_type) return; /* plain "labels" etc. alone are too generic to trust */
    char b[64];
    {
        char lower[64];
        size_t n = 0;
        for (const char *p = model_type; *p && n + 1 < sizeof lower; p++)
            lower[n++] = (char)tolower((unsigned char)*p);
        lower[n] = '\0';
        if (strstr(lower, "classif")) {
            c->task = LENS_TASK_CLASSIFY;
        } else if (strstr(lower, "segment")) {
            c->task = LENS_TASK_SEGMENT;
        } else if (strstr(lower, "ssd")) {
            /* DetectionOutput: [1, 1, N, 7], boxes in 0..1 of the input. */
            c->task = LENS_TASK_DETECT;
            c->output_layout = LENS_OUTPUT_SSD;
            c->normalized = true;
            set_origin(r, LENS_FIELD_OUTPUT_LAYOUT, O, key);
            set_origin(r, LENS_FIELD_NORMALIZED, O, key);
        } else if (strstr(lower, "yolo") || strstr(lower, "detect")) {
            c->task = LENS_TASK_DETECT;
        } else {
            warn(r, "OpenVINO model_type '%s' is not one lens knows: ignored", shown(model_type, b, sizeof b));
        }
        if (c->task != LENS_TASK_AUTO) set_origin(r, LENS_FIELD_TASK, O, key);
    }
    if ((v = ov_meta(r, "labels", &key))) {
        char **l;
        size_t n;
        if (vision_parse_labels_spaces(v, key, &l, &n) == LENS_OK && n > 0) set_labels(r, l, n, O, key);
        else warn(r, "OpenVINO %s could not be read: ignored", key);
    }
    float f3[3];
    if ((v = ov_meta(r, "mean_values", &key))) {
        if (vision_parse_floats3(v, f3)) {
            memcpy(c->preprocess.mean, f3, sizeof f3);
            c->preprocess.scale = 1.0f; /* model_api values are in pixel units */
            set_origin(r, LENS_FIELD_MEAN, O, key);
            set_origin(r, LENS_FIELD_SCALE, O, key);
        } else {
            warn(r, "OpenVINO %s '%s' is not 1 or 3 numbers: ignored", key, shown(v, b, sizeof b));
        }
    }
    if ((v = ov_meta(r, "scale_values", &key))) {
        if (vision_parse_floats3(v, f3) && f3[0] != 0 && f3[1] != 0 && f3[2] != 0) {
            memcpy(c->preprocess.std, f3, sizeof f3);
            c->preprocess.scale = 1.0f;
            set_origin(r, LENS_FIELD_STD, O, key);
            set_origin(r, LENS_FIELD_SCALE, O, key);
        } else {
            warn(r, "OpenVINO %s '%s' is not 1 or 3 non-zero numbers: ignored", key, shown(v, b, sizeof b));
        }
    }
    if ((v = ov_meta(r, "reverse_input_channels", &key))) {
        bool rev;
        /* model_api feeds OpenCV's BGR frames; reversing means the model wants RGB. */
        if (parse_bool_word(v, &rev)) {
            if (c->preprocess.channels != LENS_CHANNELS_GRAY) {
                c->preprocess.channels = rev ? LENS_CHANNELS_RGB : LENS_CHANNELS_BGR;
                set_origin(r, LENS_FIELD_CHANNELS, O, key);
            }
        } else {
            warn(r, "OpenVINO %s '%s' is not a boolean: ignored", key, shown(v, b, sizeof b));
        }
    }
    if ((v = ov_meta(r, "resize_type", &key))) {
        if (!strcmp(v, "standard")) {
            c->preprocess.resize = LENS_RESIZE_STRETCH;
            set_origin(r, LENS_FIELD_RESIZE, O, key);
        } else if (!strcmp(v, "fit_to_window_letterbox") || !strcmp(v, "fit_to_window")) {
            c->preprocess.resize = LENS_RESIZE_LETTERBOX;
            set_origin(r, LENS_FIELD_RESIZE, O, key);
            if (!strcmp(v, "fit_to_window"))
                warn(r, "OpenVINO resize_type fit_to_window pads at the bottom right; lens centres the image");
        } else {
            warn(r, "OpenVINO %s '%s' is not one lens knows: ignored", key, shown(v, b, sizeof b));
        }
    }
    int64_t iv;
    if ((v = ov_meta(r, "pad_value", &key))) {
        if (vision_parse_int(v, 0, 255, &iv)) {
            c->preprocess.pad_value = (int32_t)iv;
            set_origin(r, LENS_FIELD_PAD, O, key);
        } else {
            warn(r, "OpenVINO %s '%s' is not 0..255: ignored", key, shown(v, b, sizeof b));
        }
    }
    float f;
    if ((v = ov_meta(r, "confidence_threshold", &key))) {
        if (vision_parse_float(v, &f) && f >= 0 && f <= 1) {
            c->conf = f;
            set_origin(r, LENS_FIELD_CONF, O, key);
        } else {
            warn(r, "OpenVINO %s '%s' is not 0..1: ignored", key, shown(v, b, sizeof b));
        }
    }
    if ((v = ov_meta(r, "iou_threshold", &key))) {
        if (vision_parse_float(v, &f) && f >= 0 && f <= 1) {
            c->iou = f;
            set_origin(r, LENS_FIELD_IOU, O, key);
        } else {
            warn(r, "OpenVINO %s '%s' is not 0..1: ignored", key, shown(v, b, sizeof b));
        }
    }
}

static lens_status from_lens_keys(resolver *r) {
    lens_vision_config *c = r->cfg;
    lens_preprocess *pp = &c->preprocess;
    const lens_origin L = LENS_ORIGIN_LENS;
    const char *v;
    int64_t iv;
    float f;
    if ((v = meta(r, "lens.format"))) {
        /* "1" or "1.x": a reader refuses a higher major version. */
        char *end;
        errno = 0;
        long major = strtol(v, &end, 10);
        if (end == v || errno || major < 1 || (*end && *end != '.')) return bad_key("lens.format", v, "1");
        if (major > 1)
            return lens_error(LENS_STATUS_INVALID_MODEL,
                              "metadata lens.format = %ld: this lens reads format 1; upgrade lens", major);
    }
    if ((v = meta(r, "lens.task"))) {
        if (!parse_task(v, &c->task)) return bad_key("lens.task", v, "classify, detect or segment");
        set_origin(r, LENS_FIELD_TASK, L, "lens.task");
    }
    if ((v = meta(r, "lens.labels"))) {
        char **l;
        size_t n;
        lens_status st = vision_parse_labels_json(v, "metadata lens.labels", &l, &n);
        if (st != LENS_OK) return st == LENS_STATUS_INVALID_ARGUMENT ? LENS_STATUS_INVALID_MODEL : st;
        set_labels(r, l, n, L, "lens.labels");
    }
    if ((v = meta(r, "lens.input.size"))) {
        float s[2];
        if (parse_float_list(v, s, 2) != 2 || s[0] < 1 || s[1] < 1 || s[0] > 16384 || s[1] > 16384 ||
            s[0] != floorf(s[0]) || s[1] != floorf(s[1]))
            return bad_key("lens.input.size", v, "W,H (1..16384)");
        pp->width = (int32_t)s[0];
        pp->height = (int32_t)s[1];
        set_origin(r, LENS_FIELD_SIZE, L, "lens.input.size");
    }
    if ((v = meta(r, "lens.input.resize"))) {
        if (!parse_resize(v, &pp->resize)) return bad_key("lens.input.resize", v, "stretch, letterbox or crop");
        set_origin(r, LENS_FIELD_RESIZE, L, "lens.input.resize");
    }
    if ((v = meta(r, "lens.input.resize_short"))) {
        if (!vision_parse_int(v, 1, 65536, &iv)) return bad_key("lens.input.resize_short", v, "an integer 1..65536");
        pp->resize_short = (int32_t)iv;
        set_origin(r, LENS_FIELD_RESIZE_SHORT, L, "lens.input.resize_short");
    }
    if ((v = meta(r, "lens.input.interp"))) {
        if (!strcmp(v, "bilinear")) pp->interp = LENS_INTERP_BILINEAR;
        else if (!strcmp(v, "area")) pp->interp = LENS_INTERP_AREA;
        else return bad_key("lens.input.interp", v, "bilinear or area");
        set_origin(r, LENS_FIELD_INTERP, L, "lens.input.interp");
    }
    if ((v = meta(r, "lens.input.pad"))) {
        if (!vision_parse_int(v, 0, 255, &iv)) return bad_key("lens.input.pad", v, "an integer 0..255");
        pp->pad_value = (int32_t)iv;
        set_origin(r, LENS_FIELD_PAD, L, "lens.input.pad");
    }
    if ((v = meta(r, "lens.input.channels"))) {
        if (!strcmp(v, "rgb")) pp->channels = LENS_CHANNELS_RGB;
        else if (!strcmp(v, "bgr")) pp->channels = LENS_CHANNELS_BGR;
        else if (!strcmp(v, "gray")) pp->channels = LENS_CHANNELS_GRAY;
        else return bad_key("lens.input.channels", v, "rgb, bgr or gray");
        set_origin(r, LENS_FIELD_CHANNELS, L, "lens.input.channels");
    }
    if ((v = meta(r, "lens.input.scale"))) {
        if (!vision_parse_float(v, &f) || f == 0) return bad_key("lens.input.scale", v, "a non-zero number");
        pp->scale = f;
        set_origin(r, LENS_FIELD_SCALE, L, "lens.input.scale");
    }
    if ((v = meta(r, "lens.input.mean"))) {
        if (!vision_parse_floats3(v, pp->mean)) return bad_key("lens.input.mean", v, "1 or 3 numbers a,b,c");
        set_origin(r, LENS_FIELD_MEAN, L, "lens.input.mean");
    }
    if ((v = meta(r, "lens.input.std"))) {
        float s3[3];
        if (!vision_parse_floats3(v, s3) || s3[0] == 0 || s3[1] == 0 || s3[2] == 0)
            return bad_key("lens.input.std", v, "1 or 3 non-zero numbers a,b,c");
        memcpy(pp->std, s3, sizeof s3);
        set_origin(r, LENS_FIELD_STD, L, "lens.input.std");
    }
    if ((v = meta(r, "lens.input.layout"))) {
        if (!strcmp(v, "nchw")) pp->layout = LENS_LAYOUT_NCHW;
        else if (!strcmp(v, "nhwc")) pp->layout = LENS_LAYOUT_NHWC;
        else return bad_key("lens.input.layout", v, "nchw or nhwc");
        set_origin(r, LENS_FIELD_LAYOUT, L, "lens.input.layout");
    }
    if ((v = meta(r, "lens.input.dtype"))) {
        if (!strcmp(v, "float32")) pp->dtype = LENS_DTYPE_FLOAT;
        else if (!strcmp(v, "uint8")) pp->dtype = LENS_DTYPE_UINT8;
        else return bad_key("lens.input.dtype", v, "float32 or uint8");
        set_origin(r, LENS_FIELD_DTYPE, L, "lens.input.dtype");
    }
    if ((v = meta(r, "lens.output.layout"))) {
        if (!parse_layout_name(v, &c->output_layout))
            return bad_key("lens.output.layout", v, "logits, probs, yolov5, yolov8, boxes_scores, ssd or sigmoid");
        set_origin(r, LENS_FIELD_OUTPUT_LAYOUT, L, "lens.output.layout");
    }
    if ((v = meta(r, "lens.output.box"))) {
        if (!strcmp(v, "xyxy")) c->box_format = LENS_BOX_XYXY;
        else if (!strcmp(v, "cxcywh")) c->box_format = LENS_BOX_CXCYWH;
        else return bad_key("lens.output.box", v, "xyxy or cxcywh");
        set_origin(r, LENS_FIELD_BOX, L, "lens.output.box");
    }
    if ((v = meta(r, "lens.output.normalized"))) {
        if (!strcmp(v, "0")) c->normalized = false;
        else if (!strcmp(v, "1")) c->normalized = true;
        else return bad_key("lens.output.normalized", v, "0 or 1");
        set_origin(r, LENS_FIELD_NORMALIZED, L, "lens.output.normalized");
    }
    if ((v = meta(r, "lens.post.conf"))) {
        if (!vision_parse_float(v, &f) || f < 0 || f > 1) return bad_key("lens.post.conf", v, "a number 0..1");
        c->conf = f;
        set_origin(r, LENS_FIELD_CONF, L, "lens.post.conf");
    }
    if ((v = meta(r, "lens.post.iou"))) {
        if (!vision_parse_float(v, &f) || f < 0 || f > 1) return bad_key("lens.post.iou", v, "a number 0..1");
        c->iou = f;
        set_origin(r, LENS_FIELD_IOU, L, "lens.post.iou");
    }
    if ((v = meta(r, "lens.post.max_det"))) {
        if (!vision_parse_int(v, 1, 100000, &iv)) return bad_key("lens.post.max_det", v, "an integer 1..100000");
        c->max_det = (int32_t)iv;
        set_origin(r, LENS_FIELD_MAX_DET, L, "lens.post.max_det");
    }
    if ((v = meta(r, "lens.post.top_k"))) {
        if (!vision_parse_int(v, 1, 100000, &iv)) return bad_key("lens.post.top_k", v, "an integer 1..100000");
        c->top_k = (int32_t)iv;
        set_origin(r, LENS_FIELD_TOP_K, L, "lens.post.top_k");
    }
    return LENS_OK;
}

static lens_status from_options(resolver *r, const lens_vision_options *o) {
    lens_vision_config *c = r->cfg;
    lens_preprocess *pp = &c->preprocess;
    const lens_origin P = LENS_ORIGIN_OPTION;
    if (o->task != LENS_TASK_AUTO) {
        if (o->task < LENS_TASK_CLASSIFY || o->task > LENS_TASK_SEGMENT)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "options: unknown task %d", (int)o->task);
        if (c->task != LENS_TASK_AUTO && c->task != o->task)
            warn(r, "the model's metadata says task %s; running it as %s as asked", lens_task_name(c->task),
                 lens_task_name(o->task));
        c->task = o->task;
        set_origin(r, LENS_FIELD_TASK, P, NULL);
    }
    if (o->has_size) {
        if (o->width < 1 || o->height < 1 || o->width > 16384 || o->height > 16384)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "options: input size %dx%d is not within 1..16384",
                              (int)o->width, (int)o->height);
        pp->width = o->width;
        pp->height = o->height;
        set_origin(r, LENS_FIELD_SIZE, P, NULL);
    }
    if (o->has_resize) {
        if (o->resize != LENS_RESIZE_STRETCH && o->resize != LENS_RESIZE_LETTERBOX && o->resize != LENS_RESIZE_CROP)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "options: unknown resize mode %d", (int)o->resize);
        pp->resize = o->resize;
        set_origin(r, LENS_FIELD_RESIZE, P, NULL);
    }
    if (o->has_channels) {
        if (o->channels != LENS_CHANNELS_RGB && o->channels != LENS_CHANNELS_BGR && o->channels != LENS_CHANNELS_GRAY)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "options: unknown channel order %d", (int)o->channels);
        pp->channels = o->channels;
        set_origin(r, LENS_FIELD_CHANNELS, P, NULL);
    }
    if (o->has_scale) {
        if (!isfinite(o->scale) || o->scale == 0)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "options: scale must be a non-zero number");
        pp->scale = o->scale;
        set_origin(r, LENS_FIELD_SCALE, P, NULL);
    }
    if (o->has_mean) {
        for (int i = 0; i < 3; i++)
            if (!isfinite(o->mean[i])) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "options: mean must be finite");
        memcpy(pp->mean, o->mean, sizeof pp->mean);
        set_origin(r, LENS_FIELD_MEAN, P, NULL);
    }
    if (o->has_std) {
        for (int i = 0; i < 3; i++)
            if (!isfinite(o->std[i]) || o->std[i] == 0)
                return lens_error(LENS_STATUS_INVALID_ARGUMENT, "options: std must be finite and non-zero");
        memcpy(pp->std, o->std, sizeof pp->std);
        set_origin(r, LENS_FIELD_STD, P, NULL);
    }
    if (o->has_layout) {
        if (o->layout != LENS_LAYOUT_NCHW && o->layout != LENS_LAYOUT_NHWC)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "options: unknown layout %d", (int)o->layout);
        pp->layout = o->layout;
        set_origin(r, LENS_FIELD_LAYOUT, P, NULL);
    }
    if (o->output_layout != LENS_OUTPUT_AUTO) {
        if (o->output_layout < LENS_OUTPUT_LOGITS || o->output_layout > LENS_OUTPUT_SIGMOID)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "options: unknown output layout %d",
                              (int)o->output_layout);
        c->output_layout = o->output_layout;
        set_origin(r, LENS_FIELD_OUTPUT_LAYOUT, P, NULL);
    }
    if (o->box_format != LENS_BOX_AUTO) {
        if (o->box_format != LENS_BOX_XYXY && o->box_format != LENS_BOX_CXCYWH)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "options: unknown box format %d", (int)o->box_format);
        c->box_format = o->box_format;
        set_origin(r, LENS_FIELD_BOX, P, NULL);
    }
    if (o->normalized) {
        c->normalized = o->normalized > 0;
        set_origin(r, LENS_FIELD_NORMALIZED, P, NULL);
    }
    if (o->softmax) c->softmax = o->softmax > 0 ? 1 : -1;
    if (o->has_conf) {
        if (!(o->conf >= 0 && o->conf <= 1))
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "options: confidence threshold %g is not within 0..1",
                              (double)o->conf);
        c->conf = o->conf;
        set_origin(r, LENS_FIELD_CONF, P, NULL);
    }
    if (o->has_iou) {
        if (!(o->iou >= 0 && o->iou <= 1))
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "options: IoU threshold %g is not within 0..1",
                              (double)o->iou);
        c->iou = o->iou;
        set_origin(r, LENS_FIELD_IOU, P, NULL);
    }
    if (o->max_det) {
        if (o->max_det < 1 || o->max_det > 100000)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "options: max detections %d is not within 1..100000",
                              (int)o->max_det);
        c->max_det = o->max_det;
        set_origin(r, LENS_FIELD_MAX_DET, P, NULL);
    }
    if (o->top_k) {
        if (o->top_k < 1 || o->top_k > 100000)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "options: top-k %d is not within 1..100000",
                              (int)o->top_k);
        c->top_k = o->top_k;
        set_origin(r, LENS_FIELD_TOP_K, P, NULL);
    }
    c->agnostic = o->agnostic;
    if (o->labels || o->n_labels) {
        const char *what = o->labels_source ? o->labels_source : "labels";
        if (!o->labels || o->n_labels == 0)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: no labels", what);
        if (o->n_labels > VISION_MAX_LABELS)
            return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "%s: %zu labels, more than %d", what, o->n_labels,
                              VISION_MAX_LABELS);
        char **l = lens_calloc(o->n_labels, sizeof *l);
        if (!l) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
        for (size_t i = 0; i < o->n_labels; i++) {
            if (!o->labels[i] || strlen(o->labels[i]) > VISION_MAX_LABEL_BYTES) {
                vision_labels_free(l, o->n_labels);
                return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: label %zu is missing or longer than %d bytes",
                                  what, i, VISION_MAX_LABEL_BYTES);
            }
            if (!(l[i] = lens_strdup(o->labels[i]))) {
                vision_labels_free(l, o->n_labels);
                return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
            }
        }
        set_labels(r, l, o->n_labels, P, NULL);
        if (o->labels_source) {
            r->store->labels_source = lens_strdup(o->labels_source);
            r->cfg->origin_key[LENS_FIELD_LABELS] = r->store->labels_source;
        }
    }
    return LENS_OK;
}

static lens_status resolve(const vision_model_desc *desc, const lens_vision_options *options, lens_vision_config *cfg,
                           vision_config_store *store, bool need_task) {
    memset(cfg, 0, sizeof *cfg);
    memset(store, 0, sizeof *store);
    resolver r = {desc, cfg, store, 0, 0};
    lens_status st = from_model(&r);
    if (st == LENS_OK) {
        from_ultralytics(&r);
        from_openvino(&r);
        st = from_lens_keys(&r);
    }
    if (st == LENS_OK && options) st = from_options(&r, options);
    cfg->labels = (const char *const *)store->labels;
    cfg->n_labels = store->n_labels;
    cfg->warnings = (const char *const *)store->warnings;
    cfg->n_warnings = store->n_warnings;
    if (st != LENS_OK) return st;

    if (cfg->task == LENS_TASK_AUTO && need_task)
        return lens_error(LENS_STATUS_UNSUPPORTED,
                          "the model's metadata does not say its task (lens.task): run it as classify, detect or "
                          "segment");
    if (cfg->preprocess.width < 1 || cfg->preprocess.height < 1)
        return lens_error(LENS_STATUS_UNSUPPORTED,
                          "input '%s' has no fixed size and the metadata gives none: set lens.input.size or --size",
                          desc->inputs[0].name);
    /* A fixed input size is what the model takes, whatever else says otherwise. */
    {
        const lens_value_info *in = &desc->inputs[0];
        int64_t h = r.fixed_h, w = r.fixed_w;
        if ((h > 0 && h != cfg->preprocess.height) || (w > 0 && w != cfg->preprocess.width)) {
            lens_vision_field f = LENS_FIELD_SIZE;
            return lens_error(cfg->origin[f] == LENS_ORIGIN_OPTION ? LENS_STATUS_INVALID_ARGUMENT
                                                                   : LENS_STATUS_INVALID_MODEL,
                              "input '%s' takes %lldx%lld images but the size from %s%s%s is %dx%d", in->name,
                              (long long)w, (long long)h, lens_origin_name(cfg->origin[f]),
                              cfg->origin_key[f] ? " " : "", cfg->origin_key[f] ? cfg->origin_key[f] : "",
                              (int)cfg->preprocess.width, (int)cfg->preprocess.height);
        }
    }
    /* Layouts that contradict the task. */
    lens_output_layout ol = cfg->output_layout;
    bool ok = ol == LENS_OUTPUT_AUTO || cfg->task == LENS_TASK_AUTO ||
              (cfg->task == LENS_TASK_CLASSIFY && (ol == LENS_OUTPUT_LOGITS || ol == LENS_OUTPUT_PROBS)) ||
              (cfg->task == LENS_TASK_DETECT && ol >= LENS_OUTPUT_YOLOV5 && ol <= LENS_OUTPUT_SSD) ||
              (cfg->task == LENS_TASK_SEGMENT &&
               (ol == LENS_OUTPUT_LOGITS || ol == LENS_OUTPUT_PROBS || ol == LENS_OUTPUT_SIGMOID));
    if (!ok) {
        if (cfg->origin[LENS_FIELD_OUTPUT_LAYOUT] == LENS_ORIGIN_OPTION)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "output layout %s does not fit task %s",
                              lens_output_layout_name(ol), lens_task_name(cfg->task));
        /* From metadata for another task (the user asked for this one): detect it instead. */
        warn(&r, "output layout %s does not fit task %s: detected from the output shapes instead",
             lens_output_layout_name(ol), lens_task_name(cfg->task));
        cfg->output_layout = LENS_OUTPUT_AUTO;
        set_origin(&r, LENS_FIELD_OUTPUT_LAYOUT, LENS_ORIGIN_DEFAULT, NULL);
    }
    if (cfg->output_layout == LENS_OUTPUT_PROBS && cfg->softmax == 0) cfg->softmax = -1;
    cfg->warnings = (const char *const *)store->warnings;
    cfg->n_warnings = store->n_warnings;
    if (cfg->output_layout == LENS_OUTPUT_LOGITS && cfg->task == LENS_TASK_CLASSIFY && cfg->softmax == 0)
        cfg->softmax = 1;
    return LENS_OK;
}

lens_status vision_config_resolve(const vision_model_desc *desc, const lens_vision_options *options,
                                  lens_vision_config *cfg, vision_config_store *store) {
    return resolve(desc, options, cfg, store, true);
}

lens_status vision_config_describe(const vision_model_desc *desc, lens_vision_config *cfg,
                                   vision_config_store *store) {
    return resolve(desc, NULL, cfg, store, false);
}

void vision_config_store_free(vision_config_store *store) {
    if (!store) return;
    vision_labels_free(store->labels, store->n_labels);
    for (size_t i = 0; i < store->n_warnings; i++) lens_free(store->warnings[i]);
    lens_free(store->warnings);
    lens_free(store->labels_source);
    memset(store, 0, sizeof *store);
}

/* ---- names -------------------------------------------------------------------- */

const char *lens_task_name(lens_task task) {
    switch (task) {
    case LENS_TASK_CLASSIFY: return "classify";
    case LENS_TASK_DETECT: return "detect";
    case LENS_TASK_SEGMENT: return "segment";
    default: return "auto";
    }
}

const char *lens_output_layout_name(lens_output_layout layout) {
    switch (layout) {
    case LENS_OUTPUT_LOGITS: return "logits";
    case LENS_OUTPUT_PROBS: return "probs";
    case LENS_OUTPUT_YOLOV5: return "yolov5";
    case LENS_OUTPUT_YOLOV8: return "yolov8";
    case LENS_OUTPUT_BOXES_SCORES: return "boxes_scores";
    case LENS_OUTPUT_SSD: return "ssd";
    case LENS_OUTPUT_SIGMOID: return "sigmoid";
    default: return "auto";
    }
}

const char *lens_origin_name(lens_origin origin) {
    switch (origin) {
    case LENS_ORIGIN_MODEL: return "model";
    case LENS_ORIGIN_LENS: return "lens";
    case LENS_ORIGIN_ULTRALYTICS: return "ultralytics";
    case LENS_ORIGIN_OPENVINO: return "openvino";
    case LENS_ORIGIN_OPTION: return "option";
    default: return "default";
    }
}

const char *lens_vision_field_name(lens_vision_field field) {
    static const char *names[LENS_FIELD_COUNT] = {
        "task", "size", "resize", "resize_short", "interp", "pad", "channels", "scale", "mean", "std",
        "layout", "dtype", "labels", "output_layout", "box", "normalized", "conf", "iou", "max_det", "top_k"};
    return (unsigned)field < LENS_FIELD_COUNT ? names[field] : "unknown";
}
