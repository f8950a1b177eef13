/* lens run MODEL --input [NAME=]FILE ... --output-dir DIR [--threads N]
 * Runs a model once on tensors from files and writes output i to
 * DIR/output_<i>.npy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/npy.h"

static int run_main(int argc, char **argv);

const cli_command cli_cmd_run = {
    "run",
    "Run a model on tensors from .npy or .pb files; write the outputs as .npy",
    "Usage: lens run MODEL --input [NAME=]FILE ... --output-dir DIR [--threads N]\n"
    "\n"
    "Runs MODEL (an ONNX file) once. Each --input gives one model input: a NumPy\n"
    ".npy file or a serialized ONNX TensorProto (.pb), matched to the model input\n"
    "NAME. A model with a single input accepts a plain --input FILE.\n"
    "Graph output i is written to DIR/output_<i>.npy (DIR is created), and a line\n"
    "'NAME SHAPE DTYPE' per output is printed on stdout. bfloat16 outputs are\n"
    "written as float32.\n"
    "\n"
    "Options:\n"
    "  -i, --input [NAME=]FILE  an input tensor (repeat for each model input)\n"
    "  -o, --output-dir DIR     where to write output_<i>.npy\n"
    "  -t, --threads N          threads for the run (default: all available cores)\n"
    "  -h, --help               show this help\n"
    "\n"
    "Exit status: 0 success, 1 the run failed, 2 usage or setup error (bad flags,\n"
    "a model or input that cannot be loaded, missing or unknown input names).\n",
    run_main,
};

typedef struct input_arg {
    const char *name; /* NULL: not named */
    const char *file;
} input_arg;

static int opt_alias(int argc, char **argv, int *i, const char *lng, const char *shrt, const char **v) {
    int r = cli_opt(&cli_cmd_run, argc, argv, i, lng, v);
    if (r) return r;
    return cli_opt(&cli_cmd_run, argc, argv, i, shrt, v);
}

static void list_inputs(const lens_model *m) {
    size_t n = lens_model_input_count(m);
    fprintf(stderr, "model inputs:");
    for (size_t k = 0; k < n; k++) {
        lens_value_info vi;
        char dims[256];
        if (lens_model_input_info(m, k, &vi) != LENS_OK) continue;
        fprintf(stderr, "%s %s %s %s", k ? "," : "", vi.name, cli_dims_str(&vi, dims, sizeof dims),
                lens_dtype_name(vi.dtype));
    }
    fprintf(stderr, "%s\n", n ? "" : " (none)");
}

static int run_main(int argc, char **argv) {
    const char *model_path = NULL, *out_dir = NULL;
    long threads = 0;
    input_arg *ins = calloc((size_t)argc, sizeof *ins);
    size_t n_ins = 0;
    if (!ins) {
        cli_error("run", "out of memory");
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_USAGE;
    lens_model *model = NULL;
    lens_session *session = NULL;
    lens_tensor *tensors = NULL;
    size_t n_model_in = 0;

    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if (cli_is_help(argv[i])) {
            fputs(cli_cmd_run.usage, stdout);
            rc = CLI_EXIT_OK;
            goto done;
        }
        if ((r = opt_alias(argc, argv, &i, "--input", "-i", &v))) {
            if (r < 0) goto done;
            const char *eq = strchr(v, '=');
            if (eq) {
                /* NAME=FILE; an existing file whose own name has '=' wins. */
                FILE *probe = fopen(v, "rb");
                if (probe) {
                    fclose(probe);
                    eq = NULL;
                }
            }
            if (eq) {
                char *name = strndup(v, (size_t)(eq - v));
                if (!name) {
                    cli_error("run", "out of memory");
                    goto done;
                }
                ins[n_ins].name = name;
                ins[n_ins].file = eq + 1;
            } else {
                ins[n_ins].file = v;
            }
            n_ins++;
        } else if ((r = opt_alias(argc, argv, &i, "--output-dir", "-o", &v))) {
            if (r < 0) goto done;
            out_dir = v;
        } else if ((r = opt_alias(argc, argv, &i, "--threads", "-t", &v))) {
            if (r < 0) goto done;
            if (!cli_parse_int(v, 0, 4096, &threads)) {
                rc = cli_usage_error(&cli_cmd_run, "--threads wants an integer in 0..4096, not '%s'", v);
                goto done;
            }
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            rc = cli_usage_error(&cli_cmd_run, "unknown option '%s'", argv[i]);
            goto done;
        } else if (!model_path) {
            model_path = argv[i];
        } else {
            rc = cli_usage_error(&cli_cmd_run, "unexpected argument '%s' (one MODEL only)", argv[i]);
            goto done;
        }
    }
    if (!model_path) {
        rc = cli_usage_error(&cli_cmd_run, "missing MODEL");
        goto done;
    }
    if (!out_dir) {
        rc = cli_usage_error(&cli_cmd_run, "missing --output-dir DIR");
        goto done;
    }
    if (cli_open_model("run", model_path, &model) != LENS_OK) goto done;

    /* Match inputs to the model's by name. */
    n_model_in = lens_model_input_count(model);
    tensors = calloc(n_model_in ? n_model_in : 1, sizeof *tensors);
    const char **files = calloc(n_model_in ? n_model_in : 1, sizeof *files);
    if (!tensors || !files) {
        free(files);
        cli_error("run", "out of memory");
        goto done;
    }
    bool bad = false;
    for (size_t k = 0; k < n_ins; k++) {
        int64_t idx;
        if (ins[k].name) {
            idx = lens_model_input_index(model, ins[k].name);
            if (idx < 0) {
                cli_error("run", "unknown input name '%s'", ins[k].name);
                bad = true;
                continue;
            }
        } else if (n_model_in == 1 && n_ins == 1) {
            idx = 0;
        } else {
            cli_error("run", "--input %s has no NAME=; the model has %zu inputs, so each needs a name",
                      ins[k].file, n_model_in);
            bad = true;
            continue;
        }
        if (files[idx]) {
            lens_value_info vi;
            lens_model_input_info(model, (size_t)idx, &vi);
            cli_error("run", "input '%s' given twice", vi.name);
            bad = true;
            continue;
        }
        files[idx] = ins[k].file;
    }
    if (!bad) {
        for (size_t k = 0; k < n_model_in; k++) {
            if (files[k]) continue;
            lens_value_info vi;
            lens_model_input_info(model, k, &vi);
            cli_error("run", "missing input '%s' (give --input %s=FILE)", vi.name, vi.name);
            bad = true;
        }
    }
    if (bad) {
        free(files);
        list_inputs(model);
        goto done;
    }
    for (size_t k = 0; k < n_model_in; k++) {
        if (cli_load_tensor(files[k], &tensors[k]) != LENS_OK) {
            cli_error("run", "%s", lens_last_error());
            free(files);
            goto done;
        }
    }
    free(files);

    if (!cli_mkdir_p(out_dir)) {
        cli_error("run", "cannot create output directory '%s': %s", out_dir, strerror(errno));
        goto done;
    }
    lens_session_options so = {.threads = (int32_t)threads};
    if (lens_session_create(model, &so, &session) != LENS_OK) {
        cli_error("run", "%s", lens_last_error());
        goto done;
    }
    if (lens_session_run(session, n_model_in, tensors) != LENS_OK) {
        cli_error("run", "%s", lens_last_error());
        rc = CLI_EXIT_FAILED;
        goto done;
    }
    rc = CLI_EXIT_OK;
    size_t n_out = lens_model_output_count(model);
    for (size_t k = 0; k < n_out; k++) {
        lens_tensor t;
        lens_value_info vi;
        char path[4096], shape[256];
        if (lens_session_output(session, k, &t) != LENS_OK || lens_model_output_info(model, k, &vi) != LENS_OK) {
            cli_error("run", "output %zu: %s", k, lens_last_error());
            rc = CLI_EXIT_FAILED;
            continue;
        }
        snprintf(path, sizeof path, "%s/output_%zu.npy", out_dir, k);
        if (lens_npy_write(path, &t) != LENS_OK) {
            cli_error("run", "%s", lens_last_error());
            rc = CLI_EXIT_FAILED;
            continue;
        }
        printf("%s %s %s\n", vi.name, cli_shape_str(t.ndim, t.dims, shape, sizeof shape), lens_dtype_name(t.dtype));
    }

done:
    if (tensors)
        for (size_t k = 0; k < n_model_in; k++) cli_tensor_free(&tensors[k]);
    free(tensors);
    for (size_t k = 0; k < n_ins; k++) free((char *)ins[k].name);
    free(ins);
    lens_session_free(session);
    lens_model_free(model);
    return rc;
}
