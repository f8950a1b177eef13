/* lens info MODEL [--json]: what a model file holds and whether lens can
 * run it. A model with operators lens cannot run does not open through the
 * public API; its description then comes straight from the ONNX reader, so
 * that everything else is still shown. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/vision_cli.h"
#include "graph/ir.h"
#include "onnx/onnx.h"
#include "runtime/runtime.h"

static int info_main(int argc, char **argv);

const cli_command cli_cmd_info = {
    "info",
    "Describe a model: inputs, outputs, opsets, metadata, operators",
    "Usage: lens info MODEL [--json]\n"
    "\n"
    "Prints MODEL's inputs and outputs (dtype and dimensions, symbolic names\n"
    "shown as in [batch, 3, 224, 224]), IR version, opset imports, producer,\n"
    "metadata_props, a histogram of its operators and the operators lens cannot\n"
    "run. The vision section shows what classify/detect/segment read from the\n"
    "metadata and shapes (docs/METADATA.md): each setting, where it came from\n"
    "(default, model, lens, ultralytics, openvino) and the key, the labels, how\n"
    "the outputs would be read, and metadata that was ignored and why.\n"
    "\n"
    "Options:\n"
    "  --json      print one JSON object instead of text\n"
    "  -h, --help  show this help\n"
    "\n"
    "Exit status: 0 lens can run the model, 2 it cannot (unsupported operators,\n"
    "listed) or the file cannot be read, or a usage error.\n",
    info_main,
};

/* Everything shown, from whichever source worked. Strings are borrowed
 * from the model (or the reader's arena). */
typedef struct info_desc {
    const char *producer;
    int64_t ir_version;
    size_t n_opsets;
    const char **opset_domains;
    int64_t *opset_versions;
    size_t n_meta;
    const char **meta_keys, **meta_values;
    size_t n_in, n_out;
    lens_value_info *ins, *outs;
    size_t n_ops;
    const char **ops;
    int64_t *op_counts;
    int64_t n_nodes;
} info_desc;

static void desc_free(info_desc *d) {
    free(d->opset_domains);
    free(d->opset_versions);
    free(d->meta_keys);
    free(d->meta_values);
    free(d->ins);
    free(d->outs);
    free(d->ops);
    free(d->op_counts);
    memset(d, 0, sizeof *d);
}

static bool desc_alloc(info_desc *d) {
    d->opset_domains = calloc(d->n_opsets + 1, sizeof *d->opset_domains);
    d->opset_versions = calloc(d->n_opsets + 1, sizeof *d->opset_versions);
    d->meta_keys = calloc(d->n_meta + 1, sizeof *d->meta_keys);
    d->meta_values = calloc(d->n_meta + 1, sizeof *d->meta_values);
    d->ins = calloc(d->n_in + 1, sizeof *d->ins);
    d->outs = calloc(d->n_out + 1, sizeof *d->outs);
    d->ops = calloc(d->n_ops + 1, sizeof *d->ops);
    d->op_counts = calloc(d->n_ops + 1, sizeof *d->op_counts);
    return d->opset_domains && d->opset_versions && d->meta_keys && d->meta_values && d->ins && d->outs && d->ops &&
           d->op_counts;
}

static bool desc_from_model(const lens_model *m, info_desc *d) {
    d->producer = lens_model_producer(m);
    d->ir_version = lens_model_ir_version(m);
    d->n_opsets = lens_model_opset_count(m);
    d->n_meta = lens_model_metadata_count(m);
    d->n_in = lens_model_input_count(m);
    d->n_out = lens_model_output_count(m);
    d->n_ops = lens_model_op_count(m);
    if (!desc_alloc(d)) return false;
    for (size_t i = 0; i < d->n_opsets; i++) lens_model_opset_at(m, i, &d->opset_domains[i], &d->opset_versions[i]);
    for (size_t i = 0; i < d->n_meta; i++) lens_model_metadata_at(m, i, &d->meta_keys[i], &d->meta_values[i]);
    for (size_t i = 0; i < d->n_in; i++) lens_model_input_info(m, i, &d->ins[i]);
    for (size_t i = 0; i < d->n_out; i++) lens_model_output_info(m, i, &d->outs[i]);
    for (size_t i = 0; i < d->n_ops; i++) {
        lens_model_op_at(m, i, &d->ops[i], &d->op_counts[i]);
        d->n_nodes += d->op_counts[i];
    }
    return true;
}

static void value_info_from(const lens_value *v, lens_value_info *vi) {
    memset(vi, 0, sizeof *vi);
    vi->name = v->name;
    vi->dtype = v->dtype;
    vi->ndim = v->ndim > LENS_MAX_DIMS ? -1 : v->ndim;
    for (int32_t k = 0; k < vi->ndim; k++) {
        vi->dims[k] = v->dims[k];
        vi->dim_names[k] = v->dim_names ? v->dim_names[k] : NULL;
    }
}

/* The model as the reader sees it, without resolving operators. */
typedef struct raw_model {
    unsigned char *bytes;
    lens_arena arena;
    lens_onnx_model onnx;
} raw_model;

static void raw_free(raw_model *r) {
    lens_graph_free(r->onnx.graph);
    lens_arena_free(&r->arena);
    free(r->bytes);
}

static lens_status raw_parse(const char *path, raw_model *r, info_desc *d) {
    memset(r, 0, sizeof *r);
    FILE *f = fopen(path, "rb");
    if (!f) return lens_error(LENS_STATUS_IO_ERROR, "cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    size_t n = 0;
    if (fstat(fileno(f), &sb) == 0) n = (size_t)sb.st_size;
    r->bytes = malloc(n ? n : 1);
    if (!r->bytes || (n && fread(r->bytes, 1, n, f) != n)) {
        fclose(f);
        return lens_error(LENS_STATUS_IO_ERROR, "cannot read '%s'", path);
    }
    fclose(f);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *(slash == dir ? slash + 1 : slash) = '\0';
    else snprintf(dir, sizeof dir, ".");
    lens_limits lim;
    lens_limits_resolve(NULL, &lim);
    LENS_TRY(lens_onnx_parse(r->bytes, n, dir, &lim, &r->arena, &r->onnx));
    const lens_onnx_model *o = &r->onnx;
    const lens_graph *g = o->graph;
    d->producer = o->producer_name;
    d->ir_version = o->ir_version;
    d->n_opsets = o->n_opsets;
    d->n_meta = o->n_meta;
    d->n_in = (size_t)g->n_inputs;
    d->n_out = (size_t)g->n_outputs;
    d->n_ops = (size_t)g->n_nodes; /* upper bound; shrunk below */
    if (!desc_alloc(d)) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < d->n_opsets; i++) {
        d->opset_domains[i] = o->opset_domains[i];
        d->opset_versions[i] = o->opset_versions[i];
    }
    for (size_t i = 0; i < d->n_meta; i++) {
        d->meta_keys[i] = o->meta_keys[i];
        d->meta_values[i] = o->meta_values[i];
    }
    for (size_t i = 0; i < d->n_in; i++) value_info_from(&g->values[g->inputs[i]], &d->ins[i]);
    for (size_t i = 0; i < d->n_out; i++) value_info_from(&g->values[g->outputs[i]], &d->outs[i]);
    d->n_ops = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const char *op = g->nodes[i].op_type;
        size_t k = 0;
        while (k < d->n_ops && strcmp(d->ops[k], op)) k++;
        if (k == d->n_ops) d->ops[d->n_ops++] = op;
        d->op_counts[k]++;
        d->n_nodes++;
    }
    return LENS_OK;
}

static void json_shape(const lens_value_info *vi) {
    if (vi->ndim < 0) {
        fputs("null", stdout);
        return;
    }
    putchar('[');
    for (int32_t k = 0; k < vi->ndim; k++) {
        if (k) fputs(", ", stdout);
        if (vi->dims[k] >= 0) printf("%lld", (long long)vi->dims[k]);
        else if (vi->dim_names[k] && vi->dim_names[k][0]) cli_json_string(stdout, vi->dim_names[k]);
        else fputs("null", stdout);
    }
    putchar(']');
}

static void json_values(const char *key, const lens_value_info *v, size_t n) {
    printf("  \"%s\": [", key);
    for (size_t i = 0; i < n; i++) {
        printf("%s\n    {\"name\": ", i ? "," : "");
        cli_json_string(stdout, v[i].name);
        printf(", \"dtype\": \"%s\", \"shape\": ", lens_dtype_name(v[i].dtype));
        json_shape(&v[i]);
        putchar('}');
    }
    printf("%s],\n", n ? "\n  " : "");
}

static void print_json(const char *path, const info_desc *d, char **missing, size_t n_missing) {
    fputs("{\n  \"model\": ", stdout);
    cli_json_string(stdout, path);
    fputs(",\n  \"producer\": ", stdout);
    cli_json_string(stdout, d->producer);
    printf(",\n  \"ir_version\": %lld,\n  \"opsets\": [", (long long)d->ir_version);
    for (size_t i = 0; i < d->n_opsets; i++) {
        printf("%s{\"domain\": ", i ? ", " : "");
        cli_json_string(stdout, d->opset_domains[i] && d->opset_domains[i][0] ? d->opset_domains[i] : "ai.onnx");
        printf(", \"version\": %lld}", (long long)d->opset_versions[i]);
    }
    fputs("],\n", stdout);
    json_values("inputs", d->ins, d->n_in);
    json_values("outputs", d->outs, d->n_out);
    fputs("  \"metadata\": {", stdout);
    for (size_t i = 0; i < d->n_meta; i++) {
        fputs(i ? ", " : "", stdout);
        cli_json_string(stdout, d->meta_keys[i]);
        fputs(": ", stdout);
        cli_json_string(stdout, d->meta_values[i]);
    }
    printf("},\n  \"nodes\": %lld,\n  \"operators\": {", (long long)d->n_nodes);
    for (size_t i = 0; i < d->n_ops; i++) {
        fputs(i ? ", " : "", stdout);
        cli_json_string(stdout, d->ops[i]);
        printf(": %lld", (long long)d->op_counts[i]);
    }
    fputs("},\n  \"unsupported_operators\": [", stdout);
    for (size_t i = 0; i < n_missing; i++) {
        fputs(i ? ", " : "", stdout);
        cli_json_string(stdout, missing[i]);
    }
    fputs("],\n  \"vision\": ", stdout);
    cli_vision_info(stdout, true, d->n_meta, d->meta_keys, d->meta_values, d->n_in, d->ins, d->n_out, d->outs);
    printf(",\n  \"runnable\": %s\n}\n", n_missing ? "false" : "true");
}

static void text_values(const char *title, const lens_value_info *v, size_t n) {
    printf("%s:%s\n", title, n ? "" : " (none)");
    for (size_t i = 0; i < n; i++) {
        char dims[512];
        printf("  %-24s %-8s %s\n", v[i].name, lens_dtype_name(v[i].dtype), cli_dims_str(&v[i], dims, sizeof dims));
    }
}

static void print_text(const char *path, const info_desc *d, char **missing, size_t n_missing) {
    printf("model:       %s\n", path);
    printf("producer:    %s\n", d->producer && d->producer[0] ? d->producer : "(none)");
    printf("ir_version:  %lld\n", (long long)d->ir_version);
    printf("opsets:     ");
    for (size_t i = 0; i < d->n_opsets; i++)
        printf("%s %s %lld", i ? "," : "", d->opset_domains[i] && d->opset_domains[i][0] ? d->opset_domains[i] : "ai.onnx",
               (long long)d->opset_versions[i]);
    printf("%s\n", d->n_opsets ? "" : " (none)");
    text_values("inputs", d->ins, d->n_in);
    text_values("outputs", d->outs, d->n_out);
    printf("metadata:%s\n", d->n_meta ? "" : " (none)");
    for (size_t i = 0; i < d->n_meta; i++) printf("  %s: %s\n", d->meta_keys[i], d->meta_values[i]);
    printf("operators:   %lld nodes, %zu types\n", (long long)d->n_nodes, d->n_ops);
    for (size_t i = 0; i < d->n_ops; i++) printf("  %-24s %lld\n", d->ops[i], (long long)d->op_counts[i]);
    if (n_missing) {
        printf("unsupported: %zu operator(s) lens cannot run\n", n_missing);
        for (size_t i = 0; i < n_missing; i++) printf("  %s\n", missing[i]);
    } else {
        printf("unsupported: none\n");
    }
    cli_vision_info(stdout, false, d->n_meta, d->meta_keys, d->meta_values, d->n_in, d->ins, d->n_out, d->outs);
}

static int info_main(int argc, char **argv) {
    const char *path = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(cli_cmd_info.usage, stdout);
            return CLI_EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error(&cli_cmd_info, "unknown option '%s'", argv[i]);
        } else if (!path) {
            path = argv[i];
        } else {
            return cli_usage_error(&cli_cmd_info, "unexpected argument '%s' (one MODEL only)", argv[i]);
        }
    }
    if (!path) return cli_usage_error(&cli_cmd_info, "missing MODEL");

    char **missing = NULL;
    size_t n_missing = 0;
    if (lens_model_check_ops(path, &missing, &n_missing) != LENS_OK) {
        cli_error("info", "%s", lens_last_error());
        return CLI_EXIT_USAGE;
    }
    info_desc d;
    memset(&d, 0, sizeof d);
    lens_model *model = NULL;
    raw_model raw;
    memset(&raw, 0, sizeof raw);
    bool have_raw = false;
    int rc = CLI_EXIT_OK;
    bool described = false;
    if (lens_model_open(path, cli_model_options(), &model) == LENS_OK) {
        described = desc_from_model(model, &d);
        if (!described) cli_error("info", "out of memory");
    } else if (n_missing) {
        /* Expected: the model does not open because of those operators. */
        have_raw = true;
        desc_free(&d);
        if (raw_parse(path, &raw, &d) == LENS_OK) described = true;
        else cli_error("info", "%s", lens_last_error());
    } else {
        cli_error("info", "%s", lens_last_error());
    }
    if (described) {
        if (json) print_json(path, &d, missing, n_missing);
        else print_text(path, &d, missing, n_missing);
        if (n_missing) {
            cli_error("info", "lens cannot run %zu operator(s) of this model (listed above)", n_missing);
            rc = CLI_EXIT_USAGE;
        }
    } else {
        rc = CLI_EXIT_USAGE;
    }
    desc_free(&d);
    if (have_raw) raw_free(&raw);
    lens_model_free(model);
    for (size_t i = 0; i < n_missing; i++) free(missing[i]);
    free(missing);
    return rc;
}
