/* lens bench MODEL: time runs on generated inputs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/tensor.h"
#include "runtime/runtime.h"

static int bench_main(int argc, char **argv);

const cli_command cli_cmd_bench = {
    "bench",
    "Time a model on generated inputs",
    "Usage: lens bench MODEL [--threads N] [--runs N] [--warmup N] [--shape NAME=DIMS]...\n"
    "                  [--json] [--profile]\n"
    "\n"
    "Runs MODEL on generated inputs: dynamic dimensions are 1 unless --shape gives\n"
    "them; float inputs hold a fixed pseudo-random pattern in [-1, 1), integer and\n"
    "bool inputs zeros. After the warm-up runs, each timed run is measured with the\n"
    "monotonic clock; min, median and mean times are printed.\n"
    "\n"
    "Options:\n"
    "  -t, --threads N        threads per run (default 0: all available cores)\n"
    "  -n, --runs N           timed runs (default 10)\n"
    "  -w, --warmup N         untimed runs first (default 2)\n"
    "  --shape NAME=DIMS      the shape of input NAME, e.g. input=1x3x224x224\n"
    "  --json                 print one JSON object (min_ms, median_ms, mean_ms,\n"
    "                         max_ms, runs, warmup, threads, model, inputs)\n"
    "  --profile              also print the per-operator profile (in --json: the\n"
    "                         \"profile\" string)\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 success, 1 a run failed, 2 usage or setup error.\n",
    bench_main,
};

typedef struct shape_arg {
    char name[256];
    int32_t ndim;
    int64_t dims[LENS_MAX_DIMS];
} shape_arg;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int opt2(int argc, char **argv, int *i, const char *lng, const char *shrt, const char **v) {
    int r = cli_opt(&cli_cmd_bench, argc, argv, i, lng, v);
    if (r || !shrt) return r;
    return cli_opt(&cli_cmd_bench, argc, argv, i, shrt, v);
}

/* Fills t with the bench pattern (a fixed LCG: same data every time). */
static lens_status fill_input(lens_tensor *t) {
    int64_t n = lens_tensor_numel(t);
    size_t bytes;
    if (!lens_tensor_nbytes(t, &bytes))
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "input size overflows");
    t->data = lens_aligned_alloc(bytes ? bytes : 1);
    if (!t->data) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory for a %zu-byte input", bytes);
    memset(t->data, 0, bytes);
    bool is_float = t->dtype == LENS_DTYPE_FLOAT || t->dtype == LENS_DTYPE_DOUBLE ||
                    t->dtype == LENS_DTYPE_FLOAT16 || t->dtype == LENS_DTYPE_BFLOAT16;
    if (!is_float || n == 0) return LENS_OK;
    float *f = t->dtype == LENS_DTYPE_FLOAT ? t->data : malloc((size_t)n * sizeof *f);
    if (!f) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    uint32_t s = 12345u;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        f[i] = (float)(s >> 8) / (float)(1u << 23) - 1.0f;
    }
    lens_status st = LENS_OK;
    if ((void *)f != t->data) {
        st = lens_convert(f, LENS_DTYPE_FLOAT, t->data, t->dtype, n);
        free(f);
    }
    return st;
}

static int bench_main(int argc, char **argv) {
    const char *path = NULL;
    long threads = 0, runs = 10, warmup = 2;
    bool json = false, profile = false;
    shape_arg *shapes = calloc((size_t)argc, sizeof *shapes);
    size_t n_shapes = 0;
    if (!shapes) {
        cli_error("bench", "out of memory");
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_USAGE;
    lens_model *model = NULL;
    lens_session *session = NULL;
    lens_tensor *ins = NULL;
    size_t n_in = 0;
    double *ms = NULL;
    char *prof = NULL;

    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if (cli_is_help(argv[i])) {
            fputs(cli_cmd_bench.usage, stdout);
            rc = CLI_EXIT_OK;
            goto done;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "--profile")) {
            profile = true;
        } else if ((r = opt2(argc, argv, &i, "--threads", "-t", &v))) {
            if (r < 0) goto done;
            if (!cli_parse_int(v, 0, 4096, &threads)) {
                rc = cli_usage_error(&cli_cmd_bench, "--threads wants an integer in 0..4096, not '%s'", v);
                goto done;
            }
        } else if ((r = opt2(argc, argv, &i, "--runs", "-n", &v))) {
            if (r < 0) goto done;
            if (!cli_parse_int(v, 1, 1000000, &runs)) {
                rc = cli_usage_error(&cli_cmd_bench, "--runs wants an integer in 1..1000000, not '%s'", v);
                goto done;
            }
        } else if ((r = opt2(argc, argv, &i, "--warmup", "-w", &v))) {
            if (r < 0) goto done;
            if (!cli_parse_int(v, 0, 1000000, &warmup)) {
                rc = cli_usage_error(&cli_cmd_bench, "--warmup wants an integer in 0..1000000, not '%s'", v);
                goto done;
            }
        } else if ((r = opt2(argc, argv, &i, "--shape", NULL, &v))) {
            if (r < 0) goto done;
            const char *eq = strrchr(v, '=');
            shape_arg *s = &shapes[n_shapes];
            if (!eq || eq == v || (size_t)(eq - v) >= sizeof s->name || !cli_parse_shape(eq + 1, &s->ndim, s->dims)) {
                rc = cli_usage_error(&cli_cmd_bench, "--shape wants NAME=DIMS such as input=1x3x224x224, not '%s'", v);
                goto done;
            }
            memcpy(s->name, v, (size_t)(eq - v));
            n_shapes++;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            rc = cli_usage_error(&cli_cmd_bench, "unknown option '%s'", argv[i]);
            goto done;
        } else if (!path) {
            path = argv[i];
        } else {
            rc = cli_usage_error(&cli_cmd_bench, "unexpected argument '%s' (one MODEL only)", argv[i]);
            goto done;
        }
    }
    if (!path) {
        rc = cli_usage_error(&cli_cmd_bench, "missing MODEL");
        goto done;
    }
    if (cli_open_model("bench", path, &model) != LENS_OK) goto done;

    n_in = lens_model_input_count(model);
    ins = calloc(n_in ? n_in : 1, sizeof *ins);
    if (!ins) {
        cli_error("bench", "out of memory");
        goto done;
    }
    for (size_t k = 0; k < n_shapes; k++) {
        if (lens_model_input_index(model, shapes[k].name) < 0) {
            cli_error("bench", "--shape names '%s', which is not an input of this model", shapes[k].name);
            goto done;
        }
    }
    for (size_t k = 0; k < n_in; k++) {
        lens_value_info vi;
        lens_model_input_info(model, k, &vi);
        lens_tensor *t = &ins[k];
        t->dtype = vi.dtype;
        const shape_arg *given = NULL;
        for (size_t s = 0; s < n_shapes; s++)
            if (!strcmp(shapes[s].name, vi.name)) given = &shapes[s];
        if (given) {
            t->ndim = given->ndim;
            memcpy(t->dims, given->dims, sizeof t->dims);
        } else if (vi.ndim < 0) {
            cli_error("bench", "input '%s' has an unknown rank: give its shape with --shape %s=DIMS", vi.name,
                      vi.name);
            goto done;
        } else {
            t->ndim = vi.ndim;
            for (int32_t d = 0; d < vi.ndim; d++) t->dims[d] = vi.dims[d] < 0 ? 1 : vi.dims[d];
        }
        if (lens_dtype_size(t->dtype) == 0) {
            cli_error("bench", "input '%s' is of type %s, which bench cannot generate", vi.name,
                      lens_dtype_name(t->dtype));
            goto done;
        }
        if (fill_input(t) != LENS_OK) {
            cli_error("bench", "input '%s': %s", vi.name, lens_last_error());
            goto done;
        }
    }

    lens_session_options so = {.threads = (int32_t)threads, .profile = profile};
    if (lens_session_create(model, &so, &session) != LENS_OK) {
        cli_error("bench", "%s", lens_last_error());
        goto done;
    }
    ms = calloc((size_t)runs, sizeof *ms);
    if (!ms) {
        cli_error("bench", "out of memory");
        goto done;
    }
    for (long r = 0; r < warmup + runs; r++) {
        double t0 = now_ms();
        if (lens_session_run(session, n_in, ins) != LENS_OK) {
            cli_error("bench", "run %ld: %s", r + 1, lens_last_error());
            rc = CLI_EXIT_FAILED;
            goto done;
        }
        double t1 = now_ms();
        if (r >= warmup) ms[r - warmup] = t1 - t0;
    }
    double sum = 0;
    for (long r = 0; r < runs; r++) sum += ms[r];
    qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
    double median = runs % 2 ? ms[runs / 2] : 0.5 * (ms[runs / 2 - 1] + ms[runs / 2]);
    double mean = sum / (double)runs;
    int32_t used_threads = lens_session_threads(session);
    /* Where the weight bytes are (packed once, raw constants released). */
    lens_weight_stats ws;
    lens_model_weight_stats(model, &ws);
    lens_layout_stats ls;
    lens_model_layout_stats(model, &ls);
    if (profile) {
        size_t cap = 1 << 16;
        prof = malloc(cap);
        if (!prof || lens_session_profile(session, prof, cap) != LENS_OK) {
            cli_error("bench", "profile: %s", prof ? lens_last_error() : "out of memory");
            goto done;
        }
    }

    if (json) {
        fputs("{\"model\": ", stdout);
        cli_json_string(stdout, path);
        printf(", \"threads\": %d, \"runs\": %ld, \"warmup\": %ld, \"min_ms\": %.4f, \"median_ms\": %.4f, "
               "\"mean_ms\": %.4f, \"max_ms\": %.4f, \"inputs\": [",
               used_threads, runs, warmup, ms[0], median, mean, ms[runs - 1]);
        for (size_t k = 0; k < n_in; k++) {
            lens_value_info vi;
            lens_model_input_info(model, k, &vi);
            printf("%s{\"name\": ", k ? ", " : "");
            cli_json_string(stdout, vi.name);
            printf(", \"dtype\": \"%s\", \"shape\": [", lens_dtype_name(ins[k].dtype));
            for (int32_t d = 0; d < ins[k].ndim; d++) printf("%s%lld", d ? ", " : "", (long long)ins[k].dims[d]);
            fputs("]}", stdout);
        }
        putchar(']');
        printf(", \"weights\": {\"packed_bytes\": %zu, \"constant_bytes\": %zu, \"copied_bytes\": %zu, "
               "\"released_bytes\": %zu}",
               ws.packed_bytes, ws.constant_bytes, ws.copied_bytes, ws.released_bytes);
        printf(", \"layout\": {\"nodes\": %zu, \"nhwc_nodes\": %zu, \"transposes_loaded\": %zu, \"transposes\": %zu}",
               ls.nodes, ls.nhwc_nodes, ls.transposes_loaded, ls.transposes);
        if (prof) {
            fputs(", \"profile\": ", stdout);
            cli_json_string(stdout, prof);
        }
        fputs("}\n", stdout);
    } else {
        printf("model:    %s\n", path);
        for (size_t k = 0; k < n_in; k++) {
            lens_value_info vi;
            char shape[256];
            lens_model_input_info(model, k, &vi);
            printf("input:    %s %s %s\n", vi.name, cli_shape_str(ins[k].ndim, ins[k].dims, shape, sizeof shape),
                   lens_dtype_name(ins[k].dtype));
        }
        printf("threads:  %d\nruns:     %ld (after %ld warm-up)\n", used_threads, runs, warmup);
        printf("min:      %.3f ms\nmedian:   %.3f ms\nmean:     %.3f ms\nmax:      %.3f ms\n", ms[0], median, mean,
               ms[runs - 1]);
        printf("weights:  %.1f MB packed; constants %.1f MB held (%.1f MB of them copies), %.1f MB released\n",
               ws.packed_bytes / 1e6, ws.constant_bytes / 1e6, ws.copied_bytes / 1e6, ws.released_bytes / 1e6);
        printf("layout:   %zu of %zu nodes channels-last; Transposes: %zu in the file, %zu now\n", ls.nhwc_nodes,
               ls.nodes, ls.transposes_loaded, ls.transposes);
        if (prof) printf("\n%s", prof);
    }
    rc = CLI_EXIT_OK;

done:
    free(prof);
    free(ms);
    if (ins)
        for (size_t k = 0; k < n_in; k++) lens_aligned_free(ins[k].data);
    free(ins);
    free(shapes);
    lens_session_free(session);
    lens_model_free(model);
    return rc;
}
