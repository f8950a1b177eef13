/* lens verify MODEL: check lens against the reference results the exporter
 * saved beside the model (tools/lens-export --save-check writes
 * MODEL.check/: image.png, input_0.npy, output_<i>.npy, expected.json).
 *
 * 1. The engine on input_0.npy, each output against output_<i>.npy:
 *    max |lens - ref| <= abs * max(1, max |ref|) (rel_to_max) or <= abs.
 * 2. The whole pipeline on image.png against expected.json's "result" (the
 *    --json object of classify/detect/segment): same top-1 class; detections
 *    matched one-to-one by class with IoU >= 0.9; per-class pixel counts
 *    within 1% of the image. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/vision_cli.h"
#include "vision/vision_internal.h"

static int verify_main(int argc, char **argv);

const cli_command cli_cmd_verify = {
    "verify",
    "Check lens against the reference results saved with a model",
    "Usage: lens verify MODEL [--threads N]\n"
    "\n"
    "Reads MODEL.check/ beside MODEL.onnx (written by tools/lens-export\n"
    "--save-check): runs the engine on input_0.npy and compares every output with\n"
    "output_<i>.npy (max |diff| <= abs * max(1, max |ref|), abs and rel_to_max from\n"
    "expected.json's tolerance; a detector's data-dependent outputs, after NMS, are\n"
    "only reported: they are judged by the detections), then runs the whole pipeline on image.png and\n"
    "compares with expected.json's result: the same top-1 class (classify),\n"
    "detections matched one-to-one by class with IoU >= 0.9 (detect), per-class\n"
    "pixel counts within 1% of the image (segment). Prints each comparison.\n"
    "\n"
    "Options:\n"
    "  --threads N   threads per run (default 0: all cores)\n"
    "  -h, --help    show this help\n"
    "\n"
    "Exit status: 0 everything matches, 1 a mismatch, 2 an error (missing or\n"
    "malformed check files, a model lens cannot run).\n",
    verify_main,
};

static lens_status read_text(const char *path, char **out, size_t *size) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return lens_error(LENS_STATUS_IO_ERROR, "cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > (off_t)VJSON_MAX_BYTES) {
        fclose(f);
        return lens_error(LENS_STATUS_IO_ERROR, "'%s' is not a regular file of at most %u bytes", path,
                          VJSON_MAX_BYTES);
    }
    size_t n = (size_t)sb.st_size;
    char *b = malloc(n + 1);
    if (!b || (n && fread(b, 1, n, f) != n)) {
        free(b);
        fclose(f);
        return lens_error(LENS_STATUS_IO_ERROR, "cannot read '%s'", path);
    }
    fclose(f);
    b[n] = '\0';
    *out = b;
    *size = n;
    return LENS_OK;
}

static double num(const vjson *o, const char *key, double dflt) {
    const vjson *v = vjson_get(o, key);
    return v && v->type == VJSON_NUMBER ? v->number : dflt;
}

/* Compare one output; returns 1 pass, 0 mismatch, -1 error. A selecting
 * output (lenient: a detector's data-dependent output, after NMS or TopK) may
 * order tied candidates differently or keep one more or fewer at the
 * cut-off; a difference there is reported and judged by the detections. */
static int compare_output(size_t i, const char *name, const lens_tensor *got, const char *ref_path, double abs_tol,
                          bool rel, bool lenient) {
    lens_tensor ref;
    if (cli_load_tensor(ref_path, &ref) != LENS_OK) {
        cli_error("verify", "%s", lens_last_error());
        return -1;
    }
    char gs[128], rs[128];
    cli_shape_str(got->ndim, got->dims, gs, sizeof gs);
    cli_shape_str(ref.ndim, ref.dims, rs, sizeof rs);
    int64_t n = lens_tensor_numel(&ref);
    bool same_shape = got->ndim == ref.ndim && lens_tensor_numel(got) == n;
    for (int32_t k = 0; same_shape && k < got->ndim; k++) same_shape = got->dims[k] == ref.dims[k];
    if (!same_shape) {
        printf("output %zu '%s': shape %s, reference %s: %s\n", i, name, gs, rs,
               lenient ? "differs (data-dependent: judged by the detections)" : "MISMATCH");
        cli_tensor_free(&ref);
        return lenient ? 1 : 0;
    }
    if (!vision_tensor_is_comparable(got) || !vision_tensor_is_comparable(&ref)) {
        printf("output %zu '%s': dtype %s vs reference %s: not compared\n", i, name, lens_dtype_name(got->dtype),
               lens_dtype_name(ref.dtype));
        cli_tensor_free(&ref);
        return 1;
    }
    double max_diff = 0, max_ref = 0;
    bool nan_mismatch = false;
    for (int64_t k = 0; k < n; k++) {
        double a = vision_tensor_get(got, k), b = vision_tensor_get(&ref, k);
        if (isnan(a) || isnan(b)) {
            if (isnan(a) != isnan(b)) nan_mismatch = true;
            continue;
        }
        double d = fabs(a - b);
        if (d > max_diff || isnan(d)) max_diff = d;
        if (fabs(b) > max_ref) max_ref = fabs(b);
    }
    double limit = rel ? abs_tol * (max_ref > 1 ? max_ref : 1) : abs_tol;
    bool ok = max_diff <= limit && !nan_mismatch;
    printf("output %zu '%s' %s: max |diff| %.3g (limit %.3g, max |ref| %.3g)%s: %s\n", i, name, gs, max_diff, limit,
           max_ref, nan_mismatch ? ", NaN where the reference has none" : "",
           ok ? "ok" : lenient ? "differs (data-dependent: judged by the detections)" : "MISMATCH");
    cli_tensor_free(&ref);
    return ok || lenient ? 1 : 0;
}

static float box_iou(const float *a, const float *b) {
    vision_candidate x = {a[0], a[1], a[2], a[3], 0, 0, 0}, y = {b[0], b[1], b[2], b[3], 0, 0, 0};
    return vision_iou(&x, &y);
}

static bool read_box(const vjson *d, float out[4]) {
    const vjson *b = vjson_get(d, "box");
    if (!b || b->type != VJSON_ARRAY || b->count != 4) return false;
    for (int k = 0; k < 4; k++) {
        if (b->items[k].type != VJSON_NUMBER) return false;
        out[k] = (float)b->items[k].number;
    }
    return true;
}

/* Pipeline results against expected "result"; 1 pass, 0 mismatch, -1 error. */
static int compare_classify(const lens_classification *r, const vjson *exp) {
    const vjson *top = vjson_get(exp, "top");
    if (!top || top->type != VJSON_ARRAY || top->count == 0 || top->items[0].type != VJSON_OBJECT) {
        cli_error("verify", "expected.json: result.top is not a non-empty array");
        return -1;
    }
    int want = (int)num(&top->items[0], "index", -1);
    int got = r->count ? r->top[0].index : -1;
    printf("top-1 class: lens %d (%s, %.4f), reference %d: %s\n", got, r->count ? r->top[0].label : "-",
           r->count ? (double)r->top[0].score : 0.0, want, got == want ? "ok" : "MISMATCH");
    return got == want;
}

static int compare_detect(const lens_detections *r, const vjson *exp) {
    const vjson *dets = vjson_get(exp, "detections");
    if (!dets || dets->type != VJSON_ARRAY) {
        cli_error("verify", "expected.json: result.detections is not an array");
        return -1;
    }
    bool *used = calloc(r->count + 1, 1);
    if (!used) return -1;
    size_t matched = 0;
    for (size_t i = 0; i < dets->count; i++) {
        float eb[4];
        if (dets->items[i].type != VJSON_OBJECT || !read_box(&dets->items[i], eb)) {
            cli_error("verify", "expected.json: detection %zu has no box [x1, y1, x2, y2]", i);
            free(used);
            return -1;
        }
        int cls = (int)num(&dets->items[i], "class", -1);
        size_t best = SIZE_MAX;
        float best_iou = 0;
        for (size_t k = 0; k < r->count; k++) {
            if (used[k] || r->items[k].class_index != cls) continue;
            float gb[4] = {r->items[k].box.x1, r->items[k].box.y1, r->items[k].box.x2, r->items[k].box.y2};
            float iou = box_iou(eb, gb);
            if (iou > best_iou) best_iou = iou, best = k;
        }
        if (best != SIZE_MAX && best_iou >= 0.9f) {
            used[best] = true;
            matched++;
        } else {
            printf("reference detection %zu (class %d, box [%.1f, %.1f, %.1f, %.1f]): no lens detection of that class "
                   "with IoU >= 0.9 (best %.3f)\n",
                   i, cls, (double)eb[0], (double)eb[1], (double)eb[2], (double)eb[3], (double)best_iou);
        }
    }
    free(used);
    bool ok = matched == dets->count && r->count == dets->count;
    printf("detections: lens %zu, reference %zu, matched %zu: %s\n", r->count, dets->count, matched,
           ok ? "ok" : "MISMATCH");
    return ok;
}

static int compare_segment(const lens_segmentation *r, const vjson *exp) {
    const vjson *cls = vjson_get(exp, "classes");
    if (!cls || cls->type != VJSON_ARRAY) {
        cli_error("verify", "expected.json: result.classes is not an array");
        return -1;
    }
    int64_t total = (int64_t)r->width * r->height;
    double limit = 0.01 * (double)total;
    int64_t want[256] = {0};
    for (size_t i = 0; i < cls->count; i++) {
        int idx = (int)num(&cls->items[i], "index", -1);
        if (idx < 0 || idx > 255) {
            cli_error("verify", "expected.json: class %zu has no index in 0..255", i);
            return -1;
        }
        want[idx] += (int64_t)num(&cls->items[i], "pixels", 0);
    }
    bool ok = true;
    for (int c = 0; c < 255; c++) {
        int64_t got = c < r->n_classes ? r->classes[c].pixels : 0;
        if (!got && !want[c]) continue;
        double d = fabs((double)(got - want[c]));
        bool good = d <= limit;
        printf("class %d (%s): lens %lld px, reference %lld px, |diff| %.0f (limit %.0f): %s\n", c,
               c < r->n_classes ? r->classes[c].label : "?", (long long)got, (long long)want[c], d, limit,
               good ? "ok" : "MISMATCH");
        ok = ok && good;
    }
    return ok;
}

static int verify_main(int argc, char **argv) {
    const char *model_path = NULL;
    lens_session_options sopt = {0, 0};
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        long n;
        if (cli_is_help(argv[i])) {
            fputs(cli_cmd_verify.usage, stdout);
            return CLI_EXIT_OK;
        } else if ((r = cli_opt(&cli_cmd_verify, argc, argv, &i, "--threads", &v)) != 0) {
            if (r < 0) return CLI_EXIT_USAGE;
            if (!cli_parse_int(v, 0, 1024, &n)) return cli_usage_error(&cli_cmd_verify, "--threads: expected 0..1024");
            sopt.threads = (int32_t)n;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error(&cli_cmd_verify, "unknown option '%s'", argv[i]);
        } else if (!model_path) {
            model_path = argv[i];
        } else {
            return cli_usage_error(&cli_cmd_verify, "unexpected argument '%s' (one MODEL only)", argv[i]);
        }
    }
    if (!model_path) return cli_usage_error(&cli_cmd_verify, "missing MODEL");

    char dir[4096];
    size_t len = strlen(model_path);
    if (len >= 5 && !strcmp(model_path + len - 5, ".onnx")) len -= 5;
    if (len + 16 >= sizeof dir) {
        cli_error("verify", "model path too long");
        return CLI_EXIT_USAGE;
    }
    snprintf(dir, sizeof dir, "%.*s.check", (int)len, model_path);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        cli_error("verify", "no check folder '%s' (tools/lens-export --save-check writes it)", dir);
        return CLI_EXIT_USAGE;
    }
    char path[4200];
    char *text = NULL;
    size_t tsize = 0;
    snprintf(path, sizeof path, "%s/expected.json", dir);
    vjson exp;
    memset(&exp, 0, sizeof exp);
    if (read_text(path, &text, &tsize) != LENS_OK || vjson_parse(text, tsize, path, &exp) != LENS_OK) {
        cli_error("verify", "%s", lens_last_error());
        free(text);
        return CLI_EXIT_USAGE;
    }
    free(text);
    int rc = CLI_EXIT_OK;
    lens_model *model = NULL;
    lens_session *session = NULL;
    lens_pipeline *pipe = NULL;
    lens_vision_session *vs = NULL;
    lens_tensor input;
    memset(&input, 0, sizeof input);
    lens_image img;
    memset(&img, 0, sizeof img);

    const vjson *task_v = vjson_get(&exp, "task"), *result = vjson_get(&exp, "result");
    const vjson *tol = vjson_get(&exp, "tolerance");
    lens_task task = LENS_TASK_AUTO;
    if (task_v && task_v->type == VJSON_STRING) {
        if (!strcmp(task_v->string, "classify")) task = LENS_TASK_CLASSIFY;
        else if (!strcmp(task_v->string, "detect")) task = LENS_TASK_DETECT;
        else if (!strcmp(task_v->string, "segment")) task = LENS_TASK_SEGMENT;
    }
    if (exp.type != VJSON_OBJECT || task == LENS_TASK_AUTO || !result || result->type != VJSON_OBJECT) {
        cli_error("verify", "%s: expected an object with task (classify, detect or segment) and result", path);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    double abs_tol = 1e-3;
    bool rel = true;
    if (tol && tol->type == VJSON_OBJECT) {
        abs_tol = num(tol, "abs", 1e-3);
        const vjson *r = vjson_get(tol, "rel_to_max");
        if (r && r->type == VJSON_BOOL) rel = r->boolean;
    }
    if (!(abs_tol >= 0)) {
        cli_error("verify", "%s: tolerance.abs must be >= 0", path);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (cli_open_model("verify", model_path, &model) != LENS_OK) {
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    printf("model: %s\ncheck: %s (task %s, tolerance %g%s)\n", model_path, dir, lens_task_name(task), abs_tol,
           rel ? " x max(1, max |ref|)" : "");

    /* 1. The engine on the saved input. */
    snprintf(path, sizeof path, "%s/input_0.npy", dir);
    if (cli_load_tensor(path, &input) != LENS_OK || lens_session_create(model, &sopt, &session) != LENS_OK ||
        lens_session_run(session, 1, &input) != LENS_OK) {
        cli_error("verify", "%s", lens_last_error());
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    size_t n_out = lens_model_output_count(model), compared = 0;
    for (size_t i = 0; i < n_out; i++) {
        snprintf(path, sizeof path, "%s/output_%zu.npy", dir, i);
        if (stat(path, &sb) != 0) continue;
        lens_tensor got;
        lens_value_info vi;
        lens_session_output(session, i, &got);
        lens_model_output_info(model, i, &vi);
        bool dynamic = vi.ndim < 0;
        for (int32_t k = 0; k < vi.ndim; k++) dynamic = dynamic || vi.dims[k] < 0;
        int r = compare_output(i, vi.name, &got, path, abs_tol, rel, task == LENS_TASK_DETECT && dynamic);
        if (r < 0) {
            rc = CLI_EXIT_USAGE;
            goto done;
        }
        if (r == 0) rc = CLI_EXIT_FAILED;
        compared++;
    }
    if (compared == 0) {
        cli_error("verify", "%s holds no output_<i>.npy for the model's %zu output(s)", dir, n_out);
        rc = CLI_EXIT_USAGE;
        goto done;
    }

    /* 2. The whole pipeline on the saved image. */
    lens_vision_options opt;
    memset(&opt, 0, sizeof opt);
    opt.task = task;
    if (lens_pipeline_create(model, &opt, &pipe) != LENS_OK ||
        lens_vision_session_create(pipe, &sopt, &vs) != LENS_OK) {
        cli_error("verify", "%s: %s", model_path, lens_last_error());
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    int labels_count = (int)num(&exp, "labels_count", -1);
    const lens_vision_config *cfg = lens_pipeline_config(pipe);
    if (labels_count >= 0) {
        bool ok = (size_t)labels_count == cfg->n_labels;
        printf("labels: lens reads %zu, reference %d: %s\n", cfg->n_labels, labels_count, ok ? "ok" : "MISMATCH");
        if (!ok) rc = CLI_EXIT_FAILED;
    }
    snprintf(path, sizeof path, "%s/image.png", dir);
    lens_decode_options dopt;
    memset(&dopt, 0, sizeof dopt);
    lens_pipeline_decode_options(pipe, &dopt);
    if (lens_image_decode_file(path, &dopt, &img) != LENS_OK) {
        cli_error("verify", "%s", lens_last_error());
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    int r = -1;
    lens_status st = LENS_OK;
    if (task == LENS_TASK_CLASSIFY) {
        lens_classification c;
        if ((st = lens_classify(vs, &img, &c)) == LENS_OK) r = compare_classify(&c, result);
        lens_classification_free(&c);
    } else if (task == LENS_TASK_DETECT) {
        lens_detections d;
        if ((st = lens_detect(vs, &img, &d)) == LENS_OK) r = compare_detect(&d, result);
        lens_detections_free(&d);
    } else {
        lens_segmentation s;
        if ((st = lens_segment(vs, &img, &s)) == LENS_OK) r = compare_segment(&s, result);
        lens_segmentation_free(&s);
    }
    if (st != LENS_OK) cli_error("verify", "%s: %s", path, lens_last_error());
    if (r < 0) rc = CLI_EXIT_USAGE;
    else if (r == 0) rc = CLI_EXIT_FAILED;
    if (rc == CLI_EXIT_OK) printf("verify: pass\n");
    else if (rc == CLI_EXIT_FAILED) printf("verify: MISMATCH\n");

done:
    lens_image_release(&img);
    lens_vision_session_free(vs);
    lens_pipeline_free(pipe);
    lens_session_free(session);
    cli_tensor_free(&input);
    lens_model_free(model);
    vjson_free(&exp);
    return rc;
}
