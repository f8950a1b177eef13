/* Helpers shared by the lens commands: option parsing, tensor files,
 * printing shapes, JSON strings, directories. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/common.h"
#include "io/npy.h"
#include "onnx/onnx.h"

void cli_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lens%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_usage_error(const cli_command *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lens %s: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fputs(cmd->usage, stderr);
    return CLI_EXIT_USAGE;
}

bool cli_is_help(const char *arg) { return !strcmp(arg, "--help") || !strcmp(arg, "-h"); }

int cli_opt(const cli_command *cmd, int argc, char **argv, int *i, const char *name, const char **value) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') return 0;
    if (*i + 1 >= argc) {
        cli_usage_error(cmd, "option %s needs a value", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

bool cli_parse_int(const char *s, long min, long max, long *out) {
    if (!s || !*s) return false;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) return false;
    *out = v;
    return true;
}

bool cli_parse_shape(const char *s, int32_t *ndim, int64_t *dims) {
    int32_t n = 0;
    const char *p = s;
    if (!*p) return false;
    while (*p) {
        if (n == LENS_MAX_DIMS || *p < '0' || *p > '9') return false;
        errno = 0;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (errno || v < 0) return false;
        dims[n++] = v;
        p = end;
        if (*p == 'x' || *p == ',') {
            p++;
            if (!*p) return false;
        } else if (*p) {
            return false;
        }
    }
    *ndim = n;
    return true;
}

/* Whole file into a malloc'd buffer. */
static lens_status slurp(const char *path, unsigned char **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return lens_error(LENS_STATUS_IO_ERROR, "cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return lens_error(LENS_STATUS_IO_ERROR, "'%s' is not a regular file", path);
    }
    size_t n = (size_t)sb.st_size;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory reading '%s'", path);
    }
    if (n && fread(buf, 1, n, f) != n) {
        free(buf);
        fclose(f);
        return lens_error(LENS_STATUS_IO_ERROR, "cannot read '%s'", path);
    }
    fclose(f);
    *data = buf;
    *size = n;
    return LENS_OK;
}

lens_status cli_load_tensor(const char *path, lens_tensor *out) {
    memset(out, 0, sizeof *out);
    unsigned char head[6] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return lens_error(LENS_STATUS_IO_ERROR, "cannot open '%s': %s", path, strerror(errno));
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    if (got == sizeof head && !memcmp(head, "\x93NUMPY", 6)) return lens_npy_read(path, out);
    unsigned char *data = NULL;
    size_t size = 0;
    LENS_TRY(slurp(path, &data, &size));
    lens_status st = lens_onnx_read_tensor(data, size, out, NULL);
    free(data);
    if (st != LENS_OK) lens_error_prefix("%s (read as an ONNX TensorProto): ", path);
    return st;
}

void cli_tensor_free(lens_tensor *t) {
    if (!t) return;
    lens_aligned_free(t->data);
    t->data = NULL;
}

/* Safety limits given on the command line (zero fields: the defaults). */
static lens_model_options g_model_options;

const lens_model_options *cli_model_options(void) { return &g_model_options; }

/* "123", "64K", "16M", "4G" (powers of 1024), at least 1. */
static bool parse_size(const char *s, uint64_t max, uint64_t *out) {
    if (!s || *s < '0' || *s > '9') return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno) return false;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k') shift = 10, end++;
    else if (*end == 'M' || *end == 'm') shift = 20, end++;
    else if (*end == 'G' || *end == 'g') shift = 30, end++;
    if (*end || v == 0 || v > (max >> shift)) return false;
    *out = (uint64_t)v << shift;
    return true;
}

int cli_extract_limits(int *argc, char **argv) {
    static const struct {
        const char *name;
        int field;
    } opts[] = {{"--max-file-bytes", 0}, {"--max-tensor-elements", 1}, {"--max-tensor-bytes", 2},
                {"--max-plan-bytes", 3}, {"--max-nodes", 4},           {"--max-graph-depth", 5}};
    lens_limits *l = &g_model_options.limits;
    int w = 0;
    for (int i = 0; i < *argc; i++) {
        size_t k = 0, n = 0;
        for (; k < sizeof opts / sizeof opts[0]; k++) {
            n = strlen(opts[k].name);
            if (!strncmp(argv[i], opts[k].name, n) && (argv[i][n] == 0 || argv[i][n] == '=')) break;
        }
        if (k == sizeof opts / sizeof opts[0]) {
            argv[w++] = argv[i];
            continue;
        }
        const char *v = argv[i][n] == '=' ? argv[i] + n + 1 : (i + 1 < *argc ? argv[++i] : NULL);
        uint64_t x;
        uint64_t max = opts[k].field == 5 ? 1024 : UINT64_MAX;
        if (!parse_size(v, max, &x)) {
            fprintf(stderr, "lens: %s wants a positive size (suffix K, M or G allowed%s), not '%s'\n", opts[k].name,
                    opts[k].field == 5 ? "; at most 1024" : "", v ? v : "");
            return CLI_EXIT_USAGE;
        }
        switch (opts[k].field) {
        case 0: l->max_file_bytes = x; break;
        case 1: l->max_tensor_elements = x; break;
        case 2: l->max_tensor_bytes = x; break;
        case 3: l->max_plan_bytes = x; break;
        case 4: l->max_nodes = x; break;
        default: l->max_graph_depth = (uint32_t)x; break;
        }
    }
    argv[w] = NULL;
    *argc = w;
    return CLI_EXIT_OK;
}

lens_status cli_open_model(const char *cmd, const char *path, lens_model **out) {
    lens_status st = lens_model_open(path, cli_model_options(), out);
    if (st != LENS_OK) cli_error(cmd, "%s", lens_last_error());
    return st;
}

const char *cli_dims_str(const lens_value_info *vi, char *buf, size_t size) {
    if (vi->ndim < 0) {
        snprintf(buf, size, "?");
        return buf;
    }
    size_t u = (size_t)snprintf(buf, size, "[");
    for (int32_t i = 0; i < vi->ndim && u < size; i++) {
        const char *sep = i ? ", " : "";
        if (vi->dims[i] >= 0)
            u += (size_t)snprintf(buf + u, size - u, "%s%lld", sep, (long long)vi->dims[i]);
        else if (vi->dim_names[i] && vi->dim_names[i][0])
            u += (size_t)snprintf(buf + u, size - u, "%s%s", sep, vi->dim_names[i]);
        else
            u += (size_t)snprintf(buf + u, size - u, "%s?", sep);
    }
    if (u < size) snprintf(buf + u, size - u, "]");
    return buf;
}

const char *cli_shape_str(int32_t ndim, const int64_t *dims, char *buf, size_t size) {
    size_t u = (size_t)snprintf(buf, size, "[");
    for (int32_t i = 0; i < ndim && u < size; i++)
        u += (size_t)snprintf(buf + u, size - u, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (u < size) snprintf(buf + u, size - u, "]");
    return buf;
}

void cli_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

bool cli_mkdir_p(const char *dir) {
    char path[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path) {
        errno = ENAMETOOLONG;
        return false;
    }
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) return false;
        path[i] = c;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0) return false;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return false;
    }
    return true;
}
