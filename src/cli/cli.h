/* The lens command-line tool: shared helpers of the commands.
 *
 * Conventions (STYLE.md rule 12): results on stdout, diagnostics on stderr,
 * exit status CLI_EXIT_OK / CLI_EXIT_FAILED (some inputs failed) /
 * CLI_EXIT_USAGE (usage or setup error). Every command has --help. */
#ifndef LENS_CLI_CLI_H
#define LENS_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "lens/engine.h"


enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILED = 1, CLI_EXIT_USAGE = 2 };

/* One sub-command: `lens NAME ...`. run() gets argv with argv[0] = NAME. */
typedef struct cli_command {
    const char *name;
    const char *summary; /* one line for `lens --help` */
    const char *usage;   /* full --help text */
    int (*run)(int argc, char **argv);
} cli_command;

extern const cli_command cli_cmd_run, cli_cmd_info, cli_cmd_bench;

/* Diagnostics: "lens CMD: message\n" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A usage error: message, then the command's usage, on stderr. Returns
 * CLI_EXIT_USAGE so callers can `return cli_usage_error(...)`. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Option matching for "--name VALUE" and "--name=VALUE" at argv[*i].
 * Returns 1 on a match (*value set, *i advanced past a separate value),
 * 0 if argv[*i] is not this option, -1 if the value is missing (a usage
 * error has been printed). */
int cli_opt(const cli_command *cmd, int argc, char **argv, int *i, const char *name, const char **value);
/* True if argv[i] is "--help" or "-h". */
bool cli_is_help(const char *arg);

/* Integer in [min, max]; false (nothing printed) on anything else. */
bool cli_parse_int(const char *s, long min, long max, long *out);
/* "1x3x224x224" (or "1,3,224,224") into dims; false if malformed. */
bool cli_parse_shape(const char *s, int32_t *ndim, int64_t *dims);

/* Loads a tensor from a .npy file or a serialized ONNX TensorProto (.pb),
 * told apart by the NumPy magic. out->data is lens_aligned_alloc'd: free
 * with cli_tensor_free. On failure lens_last_error() says why. */
lens_status cli_load_tensor(const char *path, lens_tensor *out);
void cli_tensor_free(lens_tensor *t);

/* Safety limits (lens_limits) accepted by every command: main() takes
 * --max-file-bytes, --max-tensor-elements, --max-tensor-bytes,
 * --max-plan-bytes, --max-nodes and --max-graph-depth (VALUE or =VALUE,
 * sizes with an optional K/M/G suffix) out of argv, wherever they are,
 * before the command parses the rest. Returns CLI_EXIT_OK or, after a
 * message, CLI_EXIT_USAGE. */
int cli_extract_limits(int *argc, char **argv);
/* The options every model is opened with (the limits above). */
const lens_model_options *cli_model_options(void);

/* Opens a model with cli_model_options(), printing lens_last_error() on
 * failure ("lens CMD: ..."). */
lens_status cli_open_model(const char *cmd, const char *path, lens_model **out);

/* "[batch, 3, 224, 224]": symbolic names where the model has them, "?"
 * for other unknown dimensions, "?" alone for an unknown rank. */
const char *cli_dims_str(const lens_value_info *vi, char *buf, size_t size);
/* "[1, 3, 224, 224]" of a concrete shape. */
const char *cli_shape_str(int32_t ndim, const int64_t *dims, char *buf, size_t size);

/* A JSON string literal (quotes included) with everything escaped. */
void cli_json_string(FILE *f, const char *s);

/* mkdir -p. False with errno set on failure. */
bool cli_mkdir_p(const char *dir);

#endif
