/*
 * lens engine API: open an ONNX model, create a session, run it.
 *
 * Overview
 *   lens_model    an opened, validated and optimised model. Immutable once open:
 *                 share it freely between threads.
 *   lens_session  one thread's execution state for a model (memory plan, arena,
 *                 thread pool). Use one session per concurrently running thread.
 *   lens_tensor   a plain view: dtype, shape and a data pointer it does not own.
 *
 * Worked example (error handling shortened):
 *
 *     lens_model *model;
 *     if (lens_model_open("resnet18.onnx", NULL, &model) != LENS_OK) {
 *         fprintf(stderr, "%s\n", lens_last_error());
 *         return 1;
 *     }
 *     lens_session *s;
 *     lens_session_create(model, NULL, &s);
 *     float pixels[1 * 3 * 224 * 224] = {0};
 *     lens_tensor in = {LENS_DTYPE_FLOAT, 4, {1, 3, 224, 224}, pixels};
 *     lens_session_run(s, 1, &in);
 *     lens_tensor out;
 *     lens_session_output(s, 0, &out);      // view valid until the next run
 *     ...
 *     lens_session_free(s);
 *     lens_model_free(model);
 *
 * Errors: every fallible call returns a lens_status. On failure the calling
 * thread's message (lens_last_error) says what was wrong and where.
 * The library never prints, exits or aborts on bad input.
 */
#ifndef LENS_ENGINE_H
#define LENS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define LENS_API
#else
#define LENS_API __attribute__((visibility("default")))
#endif

/* Version of these headers; lens_version() gives the library's at run time. */
#define LENS_VERSION_MAJOR 0
#define LENS_VERSION_MINOR 1
#define LENS_VERSION_PATCH 0
#define LENS_VERSION_STRING "0.1.0"
/* The library's version string ("0.1.0"); static storage, never NULL. */
LENS_API const char *lens_version(void);

typedef enum lens_status {
    LENS_OK = 0,
    LENS_STATUS_INVALID_ARGUMENT = 1, /* misuse of the API or a bad user value */
    LENS_STATUS_INVALID_MODEL = 2,    /* the model file is malformed */
    LENS_STATUS_UNSUPPORTED_OP = 3,   /* an operator (or version) lens cannot run */
    LENS_STATUS_UNSUPPORTED = 4,      /* a valid feature lens does not implement */
    LENS_STATUS_OUT_OF_MEMORY = 5,
    LENS_STATUS_IO_ERROR = 6,
    LENS_STATUS_LIMIT_EXCEEDED = 7,   /* a configured safety limit was hit */
    LENS_STATUS_SHAPE_MISMATCH = 8,   /* input or intermediate shapes disagree */
    LENS_STATUS_RUNTIME_ERROR = 9,    /* a node failed while running */
    LENS_STATUS_INTERNAL = 10
} lens_status;

/* Short constant name of a status ("invalid model", ...). Never NULL. */
LENS_API const char *lens_status_string(lens_status status);

/* The message of the last failure on the calling thread. Owned by the
 * library (thread-local); valid until the next failing call on this thread.
 * Never NULL (empty string when nothing failed). */
LENS_API const char *lens_last_error(void);

/* Element types. Values equal ONNX TensorProto.DataType. */
typedef enum lens_dtype {
    LENS_DTYPE_UNDEFINED = 0,
    LENS_DTYPE_FLOAT = 1,
    LENS_DTYPE_UINT8 = 2,
    LENS_DTYPE_INT8 = 3,
    LENS_DTYPE_UINT16 = 4,
    LENS_DTYPE_INT16 = 5,
    LENS_DTYPE_INT32 = 6,
    LENS_DTYPE_INT64 = 7,
    LENS_DTYPE_STRING = 8,
    LENS_DTYPE_BOOL = 9,
    LENS_DTYPE_FLOAT16 = 10,
    LENS_DTYPE_DOUBLE = 11,
    LENS_DTYPE_UINT32 = 12,
    LENS_DTYPE_UINT64 = 13,
    LENS_DTYPE_COMPLEX64 = 14,
    LENS_DTYPE_COMPLEX128 = 15,
    LENS_DTYPE_BFLOAT16 = 16
} lens_dtype;

/* Bytes per element; 0 for UNDEFINED, STRING and complex types. */
LENS_API size_t lens_dtype_size(lens_dtype dtype);
/* Lower-case ONNX name ("float", "int64", ...); "undefined" if unknown. */
LENS_API const char *lens_dtype_name(lens_dtype dtype);

#define LENS_MAX_DIMS 8

/* A tensor view. `data` is never owned by the view: who owns it is said by
 * the function that hands the view out. Dense, row-major (C order). */
typedef struct lens_tensor {
    lens_dtype dtype;
    int32_t ndim;
    int64_t dims[LENS_MAX_DIMS];
    void *data;
} lens_tensor;

/* Number of elements (1 for a scalar, 0 if any dimension is 0); -1 if the
 * rank or a dimension is invalid or the count overflows int64. */
LENS_API int64_t lens_tensor_numel(const lens_tensor *t);

/* Safety limits applied to everything read from a model file (and to the
 * inputs of a run). Zero in a field means "use the default". Going over
 * one fails with LENS_STATUS_LIMIT_EXCEEDED and a message naming the
 * tensor, node or value; lens_model_open fails for what is in the file, a
 * run for what the model computes. See docs/SECURITY.md. */
typedef struct lens_limits {
    uint64_t max_file_bytes;      /* model file (or memory image); default 4 GiB */
    /* Any one tensor: initializers, constants, graph inputs, every
     * operator output. The element count applies to the product of the
     * non-zero dims, so an empty tensor cannot carry absurd dims. */
    uint64_t max_tensor_elements; /* default 2^31 */
    uint64_t max_tensor_bytes;    /* also one node's scratch buffer; default 4 GiB */
    /* Memory of a session: the planned arena, and separately the values
     * held on the heap during a run (first run for new shapes, subgraphs);
     * also the total of constants folded at load. Default 16 GiB. */
    uint64_t max_plan_bytes;
    uint64_t max_nodes;           /* nodes of one graph (each subgraph too); default 1,000,000 */
    uint32_t max_graph_depth;     /* nested subgraphs (If/Loop/Scan bodies); default 16 */
} lens_limits;

typedef struct lens_model_options {
    lens_limits limits;
    /* Non-zero: skip graph optimisations (fusion, folding). For debugging
     * and for checking the optimiser itself. */
    int32_t disable_optimizations;
    /* Memory layout of the activations between layers (a lens_model_layout):
     * AUTO (0, the default) runs channels-last (NHWC) the regions of the
     * graph where lens's measurements say it is faster, NCHW keeps every
     * activation in the ONNX layout, NHWC runs channels-last wherever an
     * NHWC kernel exists. Results agree within float rounding either way.
     * The environment variable LENS_LAYOUT=auto|nchw|nhwc overrides this
     * field (for debugging and benchmarks only). Ignored when
     * disable_optimizations is set. */
    int32_t layout;
} lens_model_options;

/* Values of lens_model_options.layout. */
typedef enum lens_model_layout {
    LENS_MODEL_LAYOUT_AUTO = 0,
    LENS_MODEL_LAYOUT_NCHW = 1,
    LENS_MODEL_LAYOUT_NHWC = 2
} lens_model_layout;

typedef struct lens_model lens_model;
typedef struct lens_session lens_session;

/* Opens an ONNX model file. The file is memory-mapped and weights are used in
 * place where alignment allows. `path` is borrowed for the call; `options` may
 * be NULL (defaults). On success *out owns the model: free with
 * lens_model_free. Fails (and lists them) if any operator cannot be run. */
LENS_API lens_status lens_model_open(const char *path, const lens_model_options *options,
                                     lens_model **out);

/* Opens a model from bytes in memory. `data` is borrowed and must outlive the
 * model. External data is not allowed (no folder to resolve it against). */
LENS_API lens_status lens_model_open_memory(const void *data, size_t size,
                                            const lens_model_options *options,
                                            lens_model **out);

/* Frees a model; NULL is allowed. All its sessions must be freed first. */
LENS_API void lens_model_free(lens_model *model);

/* Description of a graph input or output. Pointers are owned by the model
 * and valid while it lives. dims[i] is -1 for a dynamic dimension, whose
 * symbolic name (if any) is dim_names[i]; ndim is -1 if the rank is unknown. */
typedef struct lens_value_info {
    const char *name;
    lens_dtype dtype;
    int32_t ndim;
    int64_t dims[LENS_MAX_DIMS];
    const char *dim_names[LENS_MAX_DIMS];
} lens_value_info;

LENS_API size_t lens_model_input_count(const lens_model *model);
LENS_API size_t lens_model_output_count(const lens_model *model);
/* Fill *out for input/output `index`. INVALID_ARGUMENT if out of range. */
LENS_API lens_status lens_model_input_info(const lens_model *model, size_t index,
                                           lens_value_info *out);
LENS_API lens_status lens_model_output_info(const lens_model *model, size_t index,
                                            lens_value_info *out);
/* Index of the input named `name`, or -1. */
LENS_API int64_t lens_model_input_index(const lens_model *model, const char *name);

/* metadata_props. Strings owned by the model. */
LENS_API size_t lens_model_metadata_count(const lens_model *model);
LENS_API lens_status lens_model_metadata_at(const lens_model *model, size_t index,
                                            const char **key, const char **value);
/* Value for `key`, or NULL if absent. */
LENS_API const char *lens_model_metadata_get(const lens_model *model, const char *key);

/* Model-level facts. Strings owned by the model; never NULL (may be ""). */
LENS_API const char *lens_model_producer(const lens_model *model);
LENS_API int64_t lens_model_ir_version(const lens_model *model);
/* Opset imports: count, then domain ("" = ai.onnx) and version of each. */
LENS_API size_t lens_model_opset_count(const lens_model *model);
LENS_API lens_status lens_model_opset_at(const lens_model *model, size_t index,
                                         const char **domain, int64_t *version);
/* Operator histogram of the graph as loaded (before optimisation), main
 * graph only. op_type owned by the model. */
LENS_API size_t lens_model_op_count(const lens_model *model);
LENS_API lens_status lens_model_op_at(const lens_model *model, size_t index,
                                      const char **op_type, int64_t *count);

/* Lists operators of the file at `path` that lens cannot run, without
 * failing on them: fills *names (a malloc'd array of malloc'd strings, the
 * caller frees each and the array with free) and *count. Other load errors
 * are returned as usual. */
LENS_API lens_status lens_model_check_ops(const char *path, char ***names, size_t *count);

typedef struct lens_session_options {
    /* Threads used by one run; 0 = the cores available to the process. */
    int32_t threads;
    /* Non-zero: record per-node timings (see lens_session_profile). */
    int32_t profile;
} lens_session_options;

/* Creates a session for `model`, which is borrowed and must outlive the
 * session. `options` may be NULL. Free with lens_session_free. */
LENS_API lens_status lens_session_create(const lens_model *model,
                                         const lens_session_options *options,
                                         lens_session **out);
LENS_API void lens_session_free(lens_session *session);

/* Runs the model. `inputs` holds one tensor per model input, in the model's
 * input order; they are borrowed for the call. Shapes and dtypes are checked
 * against the model (errors name the input and what was expected). The
 * first run for a set of input shapes plans memory; later runs with the
 * same shapes allocate nothing. */
LENS_API lens_status lens_session_run(lens_session *session, size_t n_inputs,
                                      const lens_tensor *inputs);

/* View of output `index` of the last successful run. The data is owned by
 * the session and valid until its next run or until it is freed. */
LENS_API lens_status lens_session_output(const lens_session *session, size_t index,
                                         lens_tensor *out);

/* Per-operator profile of the runs since the session was created (needs
 * options.profile). Writes a human-readable table into `buf` (NUL-terminated,
 * truncated to `size`). Returns INVALID_ARGUMENT if profiling is off. */
LENS_API lens_status lens_session_profile(const lens_session *session, char *buf, size_t size);

/* Threads the session uses. */
LENS_API int32_t lens_session_threads(const lens_session *session);

#ifdef __cplusplus
}
#endif
#endif
