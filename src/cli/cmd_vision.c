/* lens classify | detect | segment MODEL IMAGE_OR_DIR... : the vision
 * pipelines over images and folders of images. Thin: flags become
 * lens_vision_options, the library does the work, this file prints. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/vision_cli.h"
#include "vision/vision_internal.h"

static int classify_main(int argc, char **argv);
static int detect_main(int argc, char **argv);
static int segment_main(int argc, char **argv);

#define COMMON_OPTIONS                                                                                    \
    "  -o, --output DIR       write annotated images into DIR (created if needed)\n"                   \
    "  --json                 print one JSON object per image (JSON Lines) on stdout\n"                \
    "  --size WxH | N         model input size (default: metadata, then the input shape)\n"            \
    "  --resize MODE          stretch | letterbox | crop\n"                                              \
    "  --scale S              pixel multiplier (default 1/255)\n"                                        \
    "  --mean a,b,c           subtracted after scaling, in the model's channel order\n"                 \
    "  --std a,b,c            divisor after the mean: x = (pixel * S - mean) / std\n"                   \
    "  --rgb, --bgr           channel order the model expects\n"                                         \
    "  --layout nchw|nhwc     input tensor layout\n"                                                     \
    "  --labels FILE          class names, one per line (must match the model's classes)\n"           \
    "  --output-layout NAME   how to read the outputs (see docs/METADATA.md)\n"                         \
    "  --threads N            threads in all (default 0: all cores); a folder runs\n"               \
    "                         that many images at once\n"                                         \
    "  --max-pixels N         refuse larger images (default 100 megapixels)\n"                          \
    "  --no-scaled-decode     decode JPEGs at full size\n"                                              \
    "  -h, --help             show this help\n"                                                          \
    "\n"                                                                                                 \
    "Settings come from the model's metadata (lens info MODEL shows them); flags\n"                     \
    "always win. A folder runs every file in it (sorted, hidden files skipped),\n"                      \
    "with a progress bar on a terminal and per-stage timing at the end (stderr).\n"                     \
    "\n"                                                                                                 \
    "Exit status: 0 every image done, 1 some images failed (the others still get\n"                   \
    "results), 2 usage or setup error (model, labels file, output folder).\n"

const cli_command cli_cmd_classify = {
    "classify",
    "Classify images: top classes with scores",
    "Usage: lens classify MODEL IMAGE_OR_DIR... [-o DIR] [--json] [options]\n"
    "\n"
    "Prints the top classes of each image. --json prints\n"
    "{\"image\", \"top\": [{\"index\", \"label\", \"score\"}]} per image. -o writes\n"
    "DIR/<name>.png with the best class written on the image.\n"
    "\n"
    "Options:\n"
    "  --top K                classes to report (default 5)\n"
    "  --softmax auto|yes|no  apply softmax to the outputs (auto: when they are not\n"
    "                         probabilities already)\n" COMMON_OPTIONS,
    classify_main,
};

const cli_command cli_cmd_detect = {
    "detect",
    "Detect objects: boxes, classes, scores",
    "Usage: lens detect MODEL IMAGE_OR_DIR... [-o DIR] [--json] [options]\n"
    "\n"
    "Prints the objects found in each image, boxes in the image's pixels. --json\n"
    "prints {\"image\", \"width\", \"height\", \"detections\": [{\"box\": [x1, y1, x2, y2],\n"
    "\"score\", \"class\", \"label\"}]} per image. -o writes DIR/<name>.png with the\n"
    "boxes, labels and scores drawn.\n"
    "\n"
    "Options:\n"
    "  --conf T               confidence threshold (default 0.25)\n"
    "  --iou T                NMS IoU threshold (default 0.45)\n"
    "  --max-det N            detections kept per image (default 100)\n"
    "  --agnostic             NMS across classes\n" COMMON_OPTIONS,
    detect_main,
};

const cli_command cli_cmd_segment = {
    "segment",
    "Segment images: a class per pixel",
    "Usage: lens segment MODEL IMAGE_OR_DIR... [-o DIR] [--json] [options]\n"
    "\n"
    "Prints the share of each class in each image. --json prints {\"image\",\n"
    "\"width\", \"height\", \"classes\": [{\"index\", \"label\", \"pixels\"}],\n"
    "\"outside_pixels\"} per image (classes with no pixels are left out). -o writes\n"
    "DIR/<name>.mask.png (class index per pixel, 255 where the model did not see:\n"
    "cut off by a centre crop) and DIR/<name>.overlay.png (colours and a legend).\n"
    "\n"
    "Options:\n" COMMON_OPTIONS,
    segment_main,
};

/* ---- options --------------------------------------------------------------- */

static bool parse_floats3(const char *s, float out[3]) { return vision_parse_floats3(s, out); }

static bool parse_size(const char *s, int32_t *w, int32_t *h) {
    long a, b;
    const char *x = strchr(s, 'x');
    if (!x) x = strchr(s, 'X');
    if (!x) {
        if (!cli_parse_int(s, 1, 16384, &a)) return false;
        *w = *h = (int32_t)a;
        return true;
    }
    char tmp[64];
    size_t n = (size_t)(x - s);
    if (n == 0 || n >= sizeof tmp) return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (!cli_parse_int(tmp, 1, 16384, &a) || !cli_parse_int(x + 1, 1, 16384, &b)) return false;
    *w = (int32_t)a;
    *h = (int32_t)b;
    return true;
}

static bool parse_unit(const char *s, float *out) {
    float f;
    if (!vision_parse_float(s, &f) || f < 0 || f > 1) return false;
    *out = f;
    return true;
}

lens_status cli_read_labels(const char *path, char ***labels, size_t *count) {
    *labels = NULL;
    *count = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return lens_error(LENS_STATUS_IO_ERROR, "labels file '%s': %s", path, strerror(errno));
    size_t cap = 0, n = 0;
    char **l = NULL;
    char line[VISION_MAX_LABEL_BYTES + 4];
    long lineno = 0;
    lens_status st = LENS_OK;
    size_t blank_run = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            st = lens_error(LENS_STATUS_INVALID_ARGUMENT, "labels file '%s': line %ld is longer than %d bytes", path,
                            lineno, VISION_MAX_LABEL_BYTES);
            break;
        }
        if (memchr(line, '\0', len) != NULL && strlen(line) != len) {
            st = lens_error(LENS_STATUS_INVALID_ARGUMENT, "labels file '%s': NUL byte on line %ld", path, lineno);
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) {
            blank_run++; /* blank lines count only if a label follows */
            continue;
        }
        if (blank_run) {
            st = lens_error(LENS_STATUS_INVALID_ARGUMENT, "labels file '%s': line %ld is empty", path,
                            lineno - (long)blank_run);
            break;
        }
        if (n >= VISION_MAX_LABELS) {
            st = lens_error(LENS_STATUS_LIMIT_EXCEEDED, "labels file '%s': more than %d labels", path,
                            VISION_MAX_LABELS);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nl = realloc(l, cap * sizeof *nl);
            if (!nl) {
                st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
                break;
            }
            l = nl;
        }
        if (!(l[n] = strdup(line))) {
            st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
            break;
        }
        n++;
    }
    if (st == LENS_OK && ferror(f)) st = lens_error(LENS_STATUS_IO_ERROR, "labels file '%s': read error", path);
    fclose(f);
    if (st == LENS_OK && n == 0) st = lens_error(LENS_STATUS_INVALID_ARGUMENT, "labels file '%s' has no labels", path);
    if (st != LENS_OK) {
        for (size_t i = 0; i < n; i++) free(l[i]);
        free(l);
        return st;
    }
    *labels = l;
    *count = n;
    return LENS_OK;
}

/* ---- the image list --------------------------------------------------------- */

typedef struct path_list {
    char **v;
    size_t n, cap;
    bool from_dir;
} path_list;

static bool list_push(path_list *l, char *p) {
    if (!p) return false;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        char **nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) {
            free(p);
            return false;
        }
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = p;
    return true;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A directory adds its regular, non-hidden files sorted; anything else is
 * added as is (a missing file fails later, with the others still run). */
static bool add_input(path_list *l, const char *arg) {
    struct stat sb;
    if (stat(arg, &sb) != 0 || !S_ISDIR(sb.st_mode)) return list_push(l, strdup(arg));
    DIR *d = opendir(arg);
    if (!d) return list_push(l, strdup(arg));
    l->from_dir = true;
    size_t first = l->n;
    struct dirent *e;
    bool ok = true;
    while (ok && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        size_t n = strlen(arg) + strlen(e->d_name) + 2;
        char *p = malloc(n);
        if (!p) {
            ok = false;
            break;
        }
        snprintf(p, n, "%s%s%s", arg, arg[strlen(arg) - 1] == '/' ? "" : "/", e->d_name);
        if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            free(p);
            continue;
        }
        ok = list_push(l, p);
    }
    closedir(d);
    if (l->n > first) qsort(l->v + first, l->n - first, sizeof *l->v, cmp_str);
    return ok;
}

/* ---- per image ------------------------------------------------------------ */

/* A folder runs on a pool of workers (vision_worker), each with its own
 * lens_vision_session (engine session, input tensor, timings) over the one
 * shared, read-only pipeline and model; each takes the next image, decodes,
 * runs and formats it into an image_result. Results are printed strictly in
 * input order through a reorder ring of `window` slots: a worker takes
 * image i only once every image before i - window has been printed, so at
 * most `window` results wait at a time (memory stays bounded whatever the
 * folder holds). What is printed, and in what order, is exactly what one
 * worker would print: stdout text, then the image's error line on stderr,
 * then stdout is flushed, image after image. */

/* What one image printed: text for stdout (open_memstream'd, owned) and the
 * error message (owned), if any. */
typedef struct image_result {
    char *text;
    size_t text_len;
    char *err;
    bool ok;
    bool ready;
} image_result;

typedef struct run_ctx {
    const cli_command *cmd;
    lens_task task;
    const lens_pipeline *pipeline;
    lens_decode_options dopt;
    const char *out_dir;
    bool json;
    bool bar; /* a progress bar is on stderr: clear its line before a message */
    /* the inputs (borrowed) and, per input, whether its output files share a
     * name with an earlier input's: such an image waits until every earlier
     * one is printed, so the last one wins as in a serial run */
    char *const *paths;
    const bool *wait_turn;
    size_t n;
    /* shared state, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next_take, next_emit, failed;
    image_result *ring; /* window slots, image i in ring[i % window] */
    size_t window;
} run_ctx;

/* One worker: a session and what it measured. */
typedef struct vision_worker {
    run_ctx *c;
    lens_vision_session *session;
    double decode_ms;
    pthread_t thread;
    bool started;
} vision_worker;

/* "dir/cat.jpg" -> "cat" */
static void base_name(const char *path, char *buf, size_t size) {
    const char *s = strrchr(path, '/');
    s = s ? s + 1 : path;
    snprintf(buf, size, "%s", s);
    char *dot = strrchr(buf, '.');
    if (dot && dot != buf) *dot = '\0';
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Keeps this thread's lens_last_error() for printing in order. */
static void image_error(image_result *r, const char *path) {
    const char *msg = lens_last_error();
    size_t n = strlen(msg) + strlen(path) + 3;
    free(r->err);
    r->err = malloc(n);
    if (!r->err) return;
    if (strstr(msg, path)) snprintf(r->err, n, "%s", msg);
    else snprintf(r->err, n, "%s: %s", path, msg);
}

static lens_status write_out(const run_ctx *c, const char *path, const char *suffix, const lens_image *img) {
    char base[512], out[4096];
    base_name(path, base, sizeof base);
    snprintf(out, sizeof out, "%s/%s%s", c->out_dir, base, suffix);
    return lens_image_write_file(out, img, 0);
}

static void print_json_line(FILE *f, char *json) {
    fputs(json, f);
    fputc('\n', f);
    free(json);
}

static lens_status do_classify(const run_ctx *c, lens_vision_session *s, FILE *f, const char *path, lens_image *img) {
    lens_classification r;
    LENS_TRY(lens_classify(s, img, &r));
    lens_status st = LENS_OK;
    if (c->json) {
        char *j;
        st = lens_classification_json(&r, path, &j);
        if (st == LENS_OK) print_json_line(f, j);
    } else {
        fprintf(f, "%s\n", path);
        for (size_t i = 0; i < r.count; i++)
            fprintf(f, "  %8.5f  %s (%d)\n", (double)r.top[i].score, r.top[i].label, (int)r.top[i].index);
    }
    if (st == LENS_OK && c->out_dir && r.count) {
        char tag[160];
        snprintf(tag, sizeof tag, "%.100s %.3f", r.top[0].label, (double)r.top[0].score);
        static const uint8_t white[3] = {255, 255, 255}, dark[3] = {32, 32, 32};
        int32_t scale = LENS_MAX(1, LENS_MIN(img->width, img->height) / 200);
        st = lens_draw_text(img, scale * 2, scale * 2, tag, white, dark, scale);
        if (st == LENS_OK) st = write_out(c, path, ".png", img);
    }
    lens_classification_free(&r);
    return st;
}

static lens_status do_detect(const run_ctx *c, lens_vision_session *s, FILE *f, const char *path, lens_image *img) {
    lens_detections r;
    LENS_TRY(lens_detect(s, img, &r));
    lens_status st = LENS_OK;
    if (c->json) {
        char *j;
        st = lens_detections_json(&r, path, &j);
        if (st == LENS_OK) print_json_line(f, j);
    } else {
        fprintf(f, "%s: %zu detection%s (%dx%d)\n", path, r.count, r.count == 1 ? "" : "s", (int)r.image_width,
                (int)r.image_height);
        for (size_t i = 0; i < r.count; i++) {
            const lens_detection *d = &r.items[i];
            fprintf(f, "  %-20s %.3f  [%.1f, %.1f, %.1f, %.1f]\n", d->label, (double)d->score, (double)d->box.x1,
                    (double)d->box.y1, (double)d->box.x2, (double)d->box.y2);
        }
    }
    if (st == LENS_OK && c->out_dir) {
        st = lens_draw_detections(img, &r);
        if (st == LENS_OK) st = write_out(c, path, ".png", img);
    }
    lens_detections_free(&r);
    return st;
}

static lens_status do_segment(const run_ctx *c, lens_vision_session *s, FILE *f, const char *path, lens_image *img) {
    lens_segmentation r;
    LENS_TRY(vision_session_segment(s, img, c->out_dir != NULL, &r)); /* the mask only to write it */
    lens_status st = LENS_OK;
    if (c->json) {
        char *j;
        st = lens_segmentation_json(&r, path, &j);
        if (st == LENS_OK) print_json_line(f, j);
    } else {
        double total = (double)r.width * (double)r.height;
        fprintf(f, "%s: %dx%d\n", path, (int)r.width, (int)r.height);
        for (int32_t i = 0; i < r.n_classes; i++)
            if (r.classes[i].pixels)
                fprintf(f, "  %-20s %6.2f%%  (%lld px)\n", r.classes[i].label,
                        100.0 * (double)r.classes[i].pixels / total, (long long)r.classes[i].pixels);
        if (r.outside_pixels)
            fprintf(f, "  %-20s %6.2f%%  (%lld px)\n", "(not seen)", 100.0 * (double)r.outside_pixels / total,
                    (long long)r.outside_pixels);
    }
    if (st == LENS_OK && c->out_dir) {
        lens_image mask, overlay;
        st = lens_segmentation_mask(&r, &mask);
        if (st == LENS_OK) st = write_out(c, path, ".mask.png", &mask);
        if (st == LENS_OK) st = lens_draw_segmentation(img, &r, 0.5f, &overlay);
        if (st == LENS_OK) {
            st = write_out(c, path, ".overlay.png", &overlay);
            lens_image_release(&overlay);
        }
    }
    lens_segmentation_free(&r);
    return st;
}

/* Decodes, runs and formats image i into *r (not yet printed). */
static void run_one(vision_worker *w, size_t i, image_result *r) {
    const run_ctx *c = w->c;
    const char *path = c->paths[i];
    memset(r, 0, sizeof *r);
    FILE *f = open_memstream(&r->text, &r->text_len);
    if (!f) {
        lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
        image_error(r, path);
        return;
    }
    lens_image img;
    double t0 = now_ms();
    lens_status st = lens_image_decode_file(path, &c->dopt, &img);
    if (st == LENS_OK) {
        w->decode_ms += now_ms() - t0;
        switch (c->task) {
        case LENS_TASK_CLASSIFY: st = do_classify(c, w->session, f, path, &img); break;
        case LENS_TASK_DETECT: st = do_detect(c, w->session, f, path, &img); break;
        default: st = do_segment(c, w->session, f, path, &img); break;
        }
        lens_image_release(&img);
    }
    if (st != LENS_OK) image_error(r, path);
    if (fclose(f) != 0 && st == LENS_OK) { /* the text could not be kept */
        lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
        image_error(r, path);
        st = LENS_STATUS_OUT_OF_MEMORY;
    }
    r->ok = st == LENS_OK;
}

static void progress(size_t done, size_t total, const char *path) {
    int width = 30, fill = total ? (int)(width * done / total) : width;
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu %-30.30s", fill, "==============================", width - fill, "", done,
            total, name);
    fflush(stderr);
}

/* Prints every result that is next in order. Called with c->mu held. */
static void emit_ready(run_ctx *c) {
    while (c->next_emit < c->n && c->ring[c->next_emit % c->window].ready) {
        image_result *r = &c->ring[c->next_emit % c->window];
        if (c->bar) progress(c->next_emit, c->n, c->paths[c->next_emit]);
        if (r->text_len) fwrite(r->text, 1, r->text_len, stdout);
        if (!r->ok) {
            if (c->bar) fputs("\r\033[K", stderr);
            cli_error(c->cmd->name, "%s", r->err ? r->err : "out of memory");
            c->failed++;
        }
        fflush(stdout);
        free(r->text);
        free(r->err);
        memset(r, 0, sizeof *r);
        c->next_emit++;
        pthread_cond_broadcast(&c->cv);
    }
}

static void *worker_main(void *arg) {
    vision_worker *w = arg;
    run_ctx *c = w->c;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (c->next_take < c->n && c->next_take >= c->next_emit + c->window) pthread_cond_wait(&c->cv, &c->mu);
        if (c->next_take >= c->n) break;
        size_t i = c->next_take++;
        while (c->wait_turn[i] && c->next_emit < i) pthread_cond_wait(&c->cv, &c->mu);
        pthread_mutex_unlock(&c->mu);
        image_result r;
        run_one(w, i, &r);
        pthread_mutex_lock(&c->mu);
        r.ready = true;
        c->ring[i % c->window] = r;
        emit_ready(c);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Sorts by name, then by position (pointers into one array). */
static int cmp_name_ref(const void *a, const void *b) {
    char *const *x = *(char *const *const *)a, *const *y = *(char *const *const *)b;
    int d = strcmp(*x, *y);
    return d ? d : (x > y) - (x < y);
}

/* Marks the inputs whose output files would overwrite an earlier input's
 * (same base name). False on out of memory. */
static bool find_name_clashes(char *const *paths, size_t n, bool *clash) {
    char **names = calloc(n + 1, sizeof *names);
    char ***order = calloc(n + 1, sizeof *order);
    bool ok = names && order;
    for (size_t i = 0; ok && i < n; i++) {
        char base[512];
        base_name(paths[i], base, sizeof base);
        ok = (names[i] = strdup(base)) != NULL;
        order[i] = &names[i];
    }
    if (ok) {
        qsort(order, n, sizeof *order, cmp_name_ref);
        for (size_t k = 0; k < n; k++) clash[order[k] - names] = k > 0 && !strcmp(*order[k - 1], *order[k]);
    }
    for (size_t i = 0; names && i < n; i++) free(names[i]);
    free(names);
    free(order);
    return ok;
}

/* ---- main ------------------------------------------------------------------ */

static int vision_main(const cli_command *cmd, lens_task task, int argc, char **argv) {
    lens_vision_options opt;
    memset(&opt, 0, sizeof opt);
    opt.task = task;
    lens_session_options sopt = {0, 0};
    lens_decode_options dopt;
    memset(&dopt, 0, sizeof dopt);
    const char *model_path = NULL, *out_dir = NULL, *labels_path = NULL;
    bool json = false;
    path_list inputs = {0};
    int rc = CLI_EXIT_OK;
    char **labels = NULL;
    size_t n_labels = 0;
    char labels_source[4200];
    lens_model *model = NULL;
    run_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    lens_pipeline *pipeline = NULL;
    vision_worker *workers = NULL;
    size_t n_workers_alloc = 0;
    bool *wait_turn = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int r;
        long n;
        if (cli_is_help(a)) {
            fputs(cmd->usage, stdout);
            rc = CLI_EXIT_OK;
            goto done;
        }
#define OPT(name) ((r = cli_opt(cmd, argc, argv, &i, name, &v)) != 0)
#define BAD(...)                                   \
    do {                                           \
        rc = cli_usage_error(cmd, __VA_ARGS__);    \
        goto done;                                 \
    } while (0)
        if (OPT("--output") || OPT("-o")) {
            if (r < 0) BAD("missing value");
            out_dir = v;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (OPT("--size")) {
            if (r < 0 || !parse_size(v, &opt.width, &opt.height)) BAD("--size: expected WxH or N (1..16384)");
            opt.has_size = true;
        } else if (OPT("--resize")) {
            if (r < 0) BAD("missing value");
            opt.has_resize = true;
            if (!strcmp(v, "stretch")) opt.resize = LENS_RESIZE_STRETCH;
            else if (!strcmp(v, "letterbox")) opt.resize = LENS_RESIZE_LETTERBOX;
            else if (!strcmp(v, "crop")) opt.resize = LENS_RESIZE_CROP;
            else BAD("--resize: expected stretch, letterbox or crop, not '%s'", v);
        } else if (OPT("--scale")) {
            if (r < 0 || !vision_parse_float(v, &opt.scale) || opt.scale == 0) BAD("--scale: expected a non-zero number");
            opt.has_scale = true;
        } else if (OPT("--mean")) {
            if (r < 0 || !parse_floats3(v, opt.mean)) BAD("--mean: expected a,b,c or one number");
            opt.has_mean = true;
        } else if (OPT("--std")) {
            if (r < 0 || !parse_floats3(v, opt.std) || opt.std[0] == 0 || opt.std[1] == 0 || opt.std[2] == 0)
                BAD("--std: expected a,b,c or one number, none zero");
            opt.has_std = true;
        } else if (!strcmp(a, "--rgb") || !strcmp(a, "--bgr")) {
            opt.has_channels = true;
            opt.channels = a[2] == 'r' ? LENS_CHANNELS_RGB : LENS_CHANNELS_BGR;
        } else if (OPT("--layout")) {
            if (r < 0) BAD("missing value");
            opt.has_layout = true;
            if (!strcmp(v, "nchw")) opt.layout = LENS_LAYOUT_NCHW;
            else if (!strcmp(v, "nhwc")) opt.layout = LENS_LAYOUT_NHWC;
            else BAD("--layout: expected nchw or nhwc, not '%s'", v);
        } else if (OPT("--labels")) {
            if (r < 0) BAD("missing value");
            labels_path = v;
        } else if (OPT("--output-layout")) {
            if (r < 0) BAD("missing value");
            static const char *names[] = {"auto", "logits", "probs", "yolov5", "yolov8", "boxes_scores", "ssd",
                                          "sigmoid"};
            size_t k = 0;
            while (k < LENS_ARRAY_LEN(names) && strcmp(names[k], v)) k++;
            if (k == LENS_ARRAY_LEN(names)) BAD("--output-layout: unknown layout '%s'", v);
            opt.output_layout = (lens_output_layout)k;
        } else if (OPT("--threads")) {
            if (r < 0 || !cli_parse_int(v, 0, 1024, &n)) BAD("--threads: expected 0..1024");
            sopt.threads = (int32_t)n;
        } else if (OPT("--max-pixels")) {
            if (r < 0 || !cli_parse_int(v, 1, (long)1 << 40, &n)) BAD("--max-pixels: expected a positive integer");
            dopt.max_pixels = n;
        } else if (!strcmp(a, "--no-scaled-decode")) {
            dopt.no_scaled_decode = true;
        } else if (task == LENS_TASK_CLASSIFY && OPT("--top")) {
            if (r < 0 || !cli_parse_int(v, 1, 100000, &n)) BAD("--top: expected 1..100000");
            opt.top_k = (int32_t)n;
        } else if (task == LENS_TASK_CLASSIFY && OPT("--softmax")) {
            if (r < 0) BAD("missing value");
            if (!strcmp(v, "auto")) opt.softmax = 0;
            else if (!strcmp(v, "yes")) opt.softmax = 1;
            else if (!strcmp(v, "no")) opt.softmax = -1;
            else BAD("--softmax: expected auto, yes or no");
        } else if (task == LENS_TASK_DETECT && OPT("--conf")) {
            if (r < 0 || !parse_unit(v, &opt.conf)) BAD("--conf: expected a number in 0..1");
            opt.has_conf = true;
        } else if (task == LENS_TASK_DETECT && OPT("--iou")) {
            if (r < 0 || !parse_unit(v, &opt.iou)) BAD("--iou: expected a number in 0..1");
            opt.has_iou = true;
        } else if (task == LENS_TASK_DETECT && OPT("--max-det")) {
            if (r < 0 || !cli_parse_int(v, 1, 100000, &n)) BAD("--max-det: expected 1..100000");
            opt.max_det = (int32_t)n;
        } else if (task == LENS_TASK_DETECT && !strcmp(a, "--agnostic")) {
            opt.agnostic = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            BAD("unknown option '%s'", a);
        } else if (!model_path) {
            model_path = a;
        } else if (!add_input(&inputs, a)) {
            cli_error(cmd->name, "out of memory");
            rc = CLI_EXIT_USAGE;
            goto done;
        }
#undef OPT
#undef BAD
    }
    if (!model_path) {
        rc = cli_usage_error(cmd, "missing MODEL");
        goto done;
    }
    if (inputs.n == 0) {
        if (inputs.from_dir) {
            cli_error(cmd->name, "the folder given holds no files");
            rc = CLI_EXIT_USAGE;
        } else {
            rc = cli_usage_error(cmd, "missing IMAGE_OR_DIR");
        }
        goto done;
    }
    if (labels_path) {
        if (cli_read_labels(labels_path, &labels, &n_labels) != LENS_OK) {
            cli_error(cmd->name, "%s", lens_last_error());
            rc = CLI_EXIT_USAGE;
            goto done;
        }
        snprintf(labels_source, sizeof labels_source, "labels file '%s'", labels_path);
        opt.labels = (const char *const *)labels;
        opt.n_labels = n_labels;
        opt.labels_source = labels_source;
    }
    if (out_dir && !cli_mkdir_p(out_dir)) {
        cli_error(cmd->name, "cannot create output folder '%s': %s", out_dir, strerror(errno));
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (cli_open_model(cmd->name, model_path, &model) != LENS_OK) {
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    ctx.cmd = cmd;
    ctx.task = task;
    ctx.out_dir = out_dir;
    ctx.json = json;
    /* Threads: images in parallel first (one worker per thread, one
     * intra-op thread each: decode, preprocessing and post-processing are
     * serial per image, so this keeps every core busy), the rest of the
     * threads inside each run when there are fewer images than threads.
     * At most one worker per core: more would only add sessions (memory)
     * without adding throughput. */
    int32_t threads = sopt.threads > 0 ? sopt.threads : lens_cpu_count();
    size_t n_workers = LENS_MIN(LENS_MIN((size_t)threads, inputs.n), (size_t)lens_cpu_count());
    /* LENS_VISION_WORKERS=N forces N workers (the split experiments of
     * bench/e2e, and tests running more workers than cores) */
    const char *env_workers = getenv("LENS_VISION_WORKERS");
    if (env_workers && atoi(env_workers) > 0) n_workers = LENS_MIN((size_t)atoi(env_workers), inputs.n);
    if (n_workers < 1) n_workers = 1;
    lens_session_options wopt = sopt;
    wopt.threads = LENS_MAX(1, threads / (int32_t)n_workers);
    workers = calloc(n_workers, sizeof *workers);
    n_workers_alloc = n_workers;
    wait_turn = calloc(inputs.n, sizeof *wait_turn);
    ctx.window = 2 * n_workers;
    ctx.ring = calloc(ctx.window, sizeof *ctx.ring);
    if (!workers || !wait_turn || !ctx.ring || !find_name_clashes(inputs.v, inputs.n, wait_turn)) {
        cli_error(cmd->name, "out of memory");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (lens_pipeline_create(model, &opt, &pipeline) != LENS_OK ||
        lens_vision_session_create(pipeline, &wopt, &workers[0].session) != LENS_OK) {
        cli_error(cmd->name, "%s: %s", model_path, lens_last_error());
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    /* more workers only where there is memory for their sessions */
    for (size_t k = 1; k < n_workers; k++) {
        if (lens_vision_session_create(pipeline, &wopt, &workers[k].session) != LENS_OK) {
            n_workers = k;
            break;
        }
    }
    ctx.pipeline = pipeline;
    const lens_vision_config *cfg = lens_pipeline_config(pipeline);
    for (size_t i = 0; i < cfg->n_warnings; i++) cli_error(cmd->name, "warning: %s: %s", model_path, cfg->warnings[i]);
    ctx.dopt = dopt;
    lens_pipeline_decode_options(pipeline, &ctx.dopt);

    bool bar = inputs.n > 1 && isatty(2);
    ctx.bar = bar;
    ctx.paths = inputs.v;
    ctx.wait_turn = wait_turn;
    ctx.n = inputs.n;
    pthread_mutex_init(&ctx.mu, NULL);
    pthread_cond_init(&ctx.cv, NULL);
    double t0 = now_ms();
    for (size_t k = 0; k < n_workers; k++) {
        workers[k].c = &ctx;
        if (k > 0) workers[k].started = pthread_create(&workers[k].thread, NULL, worker_main, &workers[k]) == 0;
    }
    worker_main(&workers[0]); /* this thread works too */
    for (size_t k = 1; k < n_workers; k++)
        if (workers[k].started) pthread_join(workers[k].thread, NULL);
    double total_ms = now_ms() - t0;
    pthread_cond_destroy(&ctx.cv);
    pthread_mutex_destroy(&ctx.mu);
    size_t failed = ctx.failed;
    if (bar) {
        progress(inputs.n, inputs.n, "");
        fputc('\n', stderr);
    }
    if (inputs.n > 1 || inputs.from_dir) {
        lens_vision_timing tm = {0}, wt;
        double decode_ms = 0;
        for (size_t k = 0; k < n_workers; k++) {
            lens_vision_session_timing(workers[k].session, &wt);
            tm.preprocess_ms += wt.preprocess_ms;
            tm.infer_ms += wt.infer_ms;
            tm.postprocess_ms += wt.postprocess_ms;
            decode_ms += workers[k].decode_ms;
        }
        size_t ok = inputs.n - failed;
        double d = ok ? (double)ok : 1.0;
        fprintf(stderr,
                "lens %s: %zu image(s), %zu failed, %.1f ms in all; per image: decode %.2f ms, preprocess %.2f ms, "
                "infer %.2f ms, postprocess %.2f ms\n",
                cmd->name, inputs.n, failed, total_ms, decode_ms / d, tm.preprocess_ms / d, tm.infer_ms / d,
                tm.postprocess_ms / d);
    }
    if (failed) rc = CLI_EXIT_FAILED;

done:
    for (size_t k = 0; workers && k < n_workers_alloc; k++) lens_vision_session_free(workers[k].session);
    free(workers);
    free(wait_turn);
    free(ctx.ring);
    lens_pipeline_free(pipeline);
    lens_model_free(model);
    for (size_t i = 0; i < n_labels; i++) free(labels[i]);
    free(labels);
    for (size_t i = 0; i < inputs.n; i++) free(inputs.v[i]);
    free(inputs.v);
    return rc;
}

static int classify_main(int argc, char **argv) { return vision_main(&cli_cmd_classify, LENS_TASK_CLASSIFY, argc, argv); }
static int detect_main(int argc, char **argv) { return vision_main(&cli_cmd_detect, LENS_TASK_DETECT, argc, argv); }
static int segment_main(int argc, char **argv) { return vision_main(&cli_cmd_segment, LENS_TASK_SEGMENT, argc, argv); }
