/* lens_conformance: run ONNX backend test cases (model.onnx +
 * test_data_set_N/{input,output}_<i>.pb) through lens and compare.
 *
 *   lens_conformance [--verbose] [--threads N] [--test-timeout SEC] TESTDIR...
 *   lens_conformance --root DIR [--suite NAME] --list-file FILE... [--expect-count N]
 *   lens_conformance --root DIR [--suite NAME] --check-lists --list-file FILE... [--expect-count N]
 *
 * A TESTDIR holding model.onnx is one test; any other folder stands for the
 * test folders directly below it (a whole suite). List files hold test names
 * relative to --root, one per line; '#' starts a comment and only the first
 * field of a line counts (excluded.txt has "suite/test<TAB>reason").
 * --suite keeps the names under "NAME/" and scans only --root/NAME.
 * --expect-count N fails unless at least N test folders exist under the
 * scanned folder (so a missing or shrunken test-data install fails rather
 * than passing vacuously). --check-lists runs nothing: it checks that every
 * test folder found is named in one of the lists and that every listed name
 * exists.
 *
 * Comparison (as the ONNX backend tests do): dtype and shape exactly;
 * floating types |got - want| <= atol + rtol * |want| with rtol 1e-3,
 * atol 1e-5, NaN matches NaN, infinities must match exactly; integer and
 * bool types exactly.
 *
 * Output: one line per test on stdout, "PASS name" or "FAIL name: reason",
 * then a summary on stderr. Exit status 0 all passed, 1 some failed (or
 * too few tests found, or lists incomplete), 2 usage error. All tests run in
 * this one process; a failing test does not stop the others. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/common.h"
#include "core/tensor.h"
#include "lens/engine.h"
#include "onnx/onnx.h"

#define RTOL 1e-3
#define ATOL 1e-5

static int g_verbose;
static int g_threads = 1;

/* ---- small utilities ----------------------------------------------------- */

typedef struct strlist {
    char **v;
    size_t n, cap;
} strlist;

static void sl_push(strlist *l, const char *s) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v) {
            fprintf(stderr, "lens_conformance: out of memory\n");
            exit(2);
        }
    }
    l->v[l->n] = strdup(s);
    if (!l->v[l->n]) {
        fprintf(stderr, "lens_conformance: out of memory\n");
        exit(2);
    }
    l->n++;
}

static void sl_free(strlist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void sl_sort(strlist *l) {
    if (l->n) qsort(l->v, l->n, sizeof *l->v, cmp_str);
}

static bool sl_has_sorted(const strlist *l, const char *s) {
    return l->n && bsearch(&s, l->v, l->n, sizeof *l->v, cmp_str) != NULL;
}

/* snprintf for paths: long paths are cut (and then simply not found). */
static void pathf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pathf(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

static bool is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static bool is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool is_test_dir(const char *dir) {
    char p[4096];
    pathf(p, sizeof p, "%s/model.onnx", dir);
    return is_file(p);
}

/* Sorted names of the subfolders of `dir` that are test folders. */
static void list_tests(const char *dir, strlist *out) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[4096];
        pathf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (is_test_dir(p)) sl_push(out, e->d_name);
    }
    closedir(d);
    sl_sort(out);
}

static bool read_file(const char *path, unsigned char **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        fclose(f);
        return false;
    }
    size_t n = (size_t)sb.st_size;
    unsigned char *b = malloc(n ? n : 1);
    if (!b || (n && fread(b, 1, n, f) != n)) {
        free(b);
        fclose(f);
        return false;
    }
    fclose(f);
    *data = b;
    *size = n;
    return true;
}

/* A failure reason: one line, bounded. */
typedef struct reason {
    char text[1024];
} reason;

static void set_reason(reason *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_reason(reason *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->text, sizeof r->text, fmt, ap);
    va_end(ap);
    for (char *p = r->text; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
}

/* ---- comparison ---------------------------------------------------------- */

static bool is_float_type(lens_dtype dt) {
    return dt == LENS_DTYPE_FLOAT || dt == LENS_DTYPE_DOUBLE || dt == LENS_DTYPE_FLOAT16 || dt == LENS_DTYPE_BFLOAT16;
}

static bool is_int_type(lens_dtype dt) {
    switch (dt) {
    case LENS_DTYPE_INT8: case LENS_DTYPE_INT16: case LENS_DTYPE_INT32: case LENS_DTYPE_INT64:
    case LENS_DTYPE_UINT8: case LENS_DTYPE_UINT16: case LENS_DTYPE_UINT32: case LENS_DTYPE_UINT64:
    case LENS_DTYPE_BOOL:
        return true;
    default:
        return false;
    }
}

/* True if `got` matches `want`; otherwise fills r (prefix names the output). */
static bool compare(const lens_tensor *got, const lens_tensor *want, const char *prefix, reason *r) {
    char gs[256], ws[256];
    if (got->dtype != want->dtype) {
        set_reason(r, "%s: dtype %s, want %s", prefix, lens_dtype_name(got->dtype), lens_dtype_name(want->dtype));
        return false;
    }
    if (!lens_shape_equal(got->ndim, got->dims, want->ndim, want->dims)) {
        set_reason(r, "%s: shape %s, want %s", prefix, lens_shape_str(got->ndim, got->dims, gs, sizeof gs),
                   lens_shape_str(want->ndim, want->dims, ws, sizeof ws));
        return false;
    }
    int64_t n = lens_tensor_numel(want);
    if (n > 0 && (!got->data || !want->data)) {
        set_reason(r, "%s: no data", prefix);
        return false;
    }
    if (is_float_type(want->dtype)) {
        int64_t bad = 0, worst = -1;
        double worst_err = -1;
        for (int64_t i = 0; i < n; i++) {
            double g = lens_tensor_get_f64(got, i), w = lens_tensor_get_f64(want, i);
            bool ok;
            double err;
            if (isnan(w) || isnan(g)) {
                ok = isnan(w) && isnan(g);
                err = INFINITY;
            } else if (isinf(w) || isinf(g)) {
                ok = g == w;
                err = INFINITY;
            } else {
                err = fabs(g - w);
                ok = err <= ATOL + RTOL * fabs(w);
            }
            if (!ok) {
                bad++;
                if (err > worst_err) worst_err = err, worst = i;
            }
        }
        if (bad) {
            set_reason(r, "%s: max abs err %.3g at index %lld (got %.7g, want %.7g); %lld of %lld elements off",
                       prefix, worst_err, (long long)worst, lens_tensor_get_f64(got, worst),
                       lens_tensor_get_f64(want, worst), (long long)bad, (long long)n);
            return false;
        }
        return true;
    }
    if (is_int_type(want->dtype)) {
        size_t es = lens_dtype_size(want->dtype);
        int64_t bad = 0, first = -1;
        for (int64_t i = 0; i < n; i++) {
            if (memcmp((const char *)got->data + (size_t)i * es, (const char *)want->data + (size_t)i * es, es)) {
                if (!bad) first = i;
                bad++;
            }
        }
        if (bad) {
            set_reason(r, "%s: %lld of %lld elements differ, first at index %lld (got %lld, want %lld)", prefix,
                       (long long)bad, (long long)n, (long long)first, (long long)lens_tensor_get_i64(got, first),
                       (long long)lens_tensor_get_i64(want, first));
            return false;
        }
        return true;
    }
    set_reason(r, "%s: cannot compare %s tensors", prefix, lens_dtype_name(want->dtype));
    return false;
}

/* ---- one test ------------------------------------------------------------ */

static bool read_pb(const char *path, lens_tensor *t, reason *r, const char *what) {
    unsigned char *data;
    size_t size;
    memset(t, 0, sizeof *t);
    if (!read_file(path, &data, &size)) {
        set_reason(r, "%s: cannot read %s: %s", what, path, strerror(errno));
        return false;
    }
    lens_status st = lens_onnx_read_tensor(data, size, t, NULL);
    free(data);
    if (st != LENS_OK) {
        set_reason(r, "%s: reader: %s", what, lens_last_error());
        return false;
    }
    return true;
}

/* The ONNX test data of its bfloat16 cases (older onnx releases) stores
 * bfloat16 tensors as UINT16 bit patterns; read them as what the model
 * declares, as the ONNX backend test runner does. */
static void bf16_quirk(lens_tensor *t, lens_dtype declared) {
    if (t->dtype == LENS_DTYPE_UINT16 && declared == LENS_DTYPE_BFLOAT16) t->dtype = LENS_DTYPE_BFLOAT16;
}

static size_t count_pb(const char *dir, const char *stem) {
    size_t n = 0;
    for (;; n++) {
        char p[4096];
        pathf(p, sizeof p, "%s/%s_%zu.pb", dir, stem, n);
        if (!is_file(p)) return n;
    }
}

/* Sorted test_data_set_<N> folders, by N. */
static int cmp_dataset(const void *a, const void *b) {
    long x = strtol(*(char *const *)a + strlen("test_data_set_"), NULL, 10);
    long y = strtol(*(char *const *)b + strlen("test_data_set_"), NULL, 10);
    return (x > y) - (x < y);
}

static void list_datasets(const char *dir, strlist *out) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "test_data_set_", 14)) {
            char p[4096];
            pathf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (is_dir(p)) sl_push(out, e->d_name);
        }
    closedir(d);
    if (out->n) qsort(out->v, out->n, sizeof *out->v, cmp_dataset);
}

static bool run_dataset(lens_model *m, lens_session *s, const char *dsdir, const char *dsname, reason *r) {
    size_t n_in = lens_model_input_count(m), n_out = lens_model_output_count(m);
    size_t pb_in = count_pb(dsdir, "input"), pb_out = count_pb(dsdir, "output");
    if (pb_in != n_in) {
        set_reason(r, "%s: %zu input_*.pb files, the model has %zu inputs", dsname, pb_in, n_in);
        return false;
    }
    if (pb_out != n_out) {
        set_reason(r, "%s: %zu output_*.pb files, the model has %zu outputs", dsname, pb_out, n_out);
        return false;
    }
    bool ok = true;
    lens_tensor *ins = calloc(n_in + 1, sizeof *ins);
    if (!ins) {
        set_reason(r, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n_in && ok; i++) {
        char p[4096], what[64];
        pathf(p, sizeof p, "%s/input_%zu.pb", dsdir, i);
        snprintf(what, sizeof what, "%s/input_%zu.pb", dsname, i);
        ok = read_pb(p, &ins[i], r, what);
        lens_value_info vi;
        if (ok && lens_model_input_info(m, i, &vi) == LENS_OK) bf16_quirk(&ins[i], vi.dtype);
    }
    if (ok && lens_session_run(s, n_in, ins) != LENS_OK) {
        set_reason(r, "%s: run: %s", dsname, lens_last_error());
        ok = false;
    }
    for (size_t i = 0; i < n_out && ok; i++) {
        char p[4096], what[64], prefix[512];
        lens_tensor want, got;
        lens_value_info vi;
        pathf(p, sizeof p, "%s/output_%zu.pb", dsdir, i);
        snprintf(what, sizeof what, "%s/output_%zu.pb", dsname, i);
        if (!read_pb(p, &want, r, what)) {
            ok = false;
            break;
        }
        lens_model_output_info(m, i, &vi);
        bf16_quirk(&want, vi.dtype);
        if (strcmp(dsname, "test_data_set_0") == 0)
            snprintf(prefix, sizeof prefix, "output %zu '%s'", i, vi.name);
        else
            snprintf(prefix, sizeof prefix, "%s: output %zu '%s'", dsname, i, vi.name);
        if (lens_session_output(s, i, &got) != LENS_OK) {
            set_reason(r, "%s: %s", prefix, lens_last_error());
            ok = false;
        } else {
            ok = compare(&got, &want, prefix, r);
        }
        lens_aligned_free(want.data);
    }
    for (size_t i = 0; i < n_in; i++) lens_aligned_free(ins[i].data);
    free(ins);
    return ok;
}

static bool run_test(const char *dir, reason *r) {
    char p[4096];
    pathf(p, sizeof p, "%s/model.onnx", dir);
    lens_model *m = NULL;
    lens_session *s = NULL;
    strlist ds = {0};
    bool ok = false;
    if (lens_model_open(p, NULL, &m) != LENS_OK) {
        set_reason(r, "load: %s", lens_last_error());
        goto done;
    }
    lens_session_options so = {.threads = g_threads};
    if (lens_session_create(m, &so, &s) != LENS_OK) {
        set_reason(r, "session: %s", lens_last_error());
        goto done;
    }
    list_datasets(dir, &ds);
    if (!ds.n) {
        set_reason(r, "no test_data_set_* folder");
        goto done;
    }
    ok = true;
    for (size_t i = 0; i < ds.n && ok; i++) {
        pathf(p, sizeof p, "%s/%s", dir, ds.v[i]);
        ok = run_dataset(m, s, p, ds.v[i], r);
    }
done:
    sl_free(&ds);
    lens_session_free(s);
    lens_model_free(m);
    return ok;
}

/* ---- watchdog ------------------------------------------------------------ */

static volatile sig_atomic_t g_timeout_s;
static const char *volatile g_current;

static void on_alarm(int sig) {
    (void)sig;
    /* Only async-signal-safe calls: write and _exit. */
    const char *name = g_current ? g_current : "?";
    char buf[600];
    size_t n = 0;
    const char *parts[] = {"FAIL ", name, ": timed out\n"};
    for (size_t k = 0; k < 3; k++)
        for (const char *c = parts[k]; *c && n < sizeof buf; c++) buf[n++] = *c;
    ssize_t w = write(STDOUT_FILENO, buf, n);
    (void)w;
    _exit(124);
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f) {
    fputs("Usage: lens_conformance [--verbose] [--threads N] [--test-timeout SEC] TESTDIR...\n"
          "       lens_conformance --root DIR [--suite NAME] --list-file FILE... [--expect-count N]\n"
          "       lens_conformance --root DIR [--suite NAME] --check-lists --list-file FILE... [--expect-count N]\n"
          "\n"
          "Runs ONNX backend test folders (model.onnx, test_data_set_N/{input,output}_<i>.pb)\n"
          "through lens and compares outputs (rtol 1e-3, atol 1e-5; integers exactly).\n"
          "Prints 'PASS name' or 'FAIL name: reason' per test. A TESTDIR without\n"
          "model.onnx stands for the test folders below it.\n"
          "\n"
          "  --root DIR          list-file names are relative to DIR\n"
          "  --suite NAME        only list entries NAME/...; found tests counted in DIR/NAME\n"
          "  --list-file FILE    test names, one per line ('#' comments, first field only)\n"
          "  --expect-count N    fail unless at least N test folders are found\n"
          "  --check-lists       run nothing; check every test found is listed and vice versa\n"
          "  --threads N         threads per session (default 1; 0 = all cores)\n"
          "  --test-timeout SEC  abort the whole run if one test takes longer (default: off)\n"
          "  --verbose           per-test timings on stderr\n"
          "\n"
          "Exit status: 0 all passed, 1 some failed, 2 usage error.\n",
          f);
}

static bool load_list(const char *path, const char *suite, strlist *out) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "lens_conformance: cannot open list file '%s': %s\n", path, strerror(errno));
        return false;
    }
    char line[4096];
    size_t slen = suite ? strlen(suite) : 0;
    while (fgets(line, sizeof line, f)) {
        char *h = strchr(line, '#');
        if (h) *h = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        size_t n = strcspn(p, " \t\r\n");
        if (!n) continue;
        p[n] = '\0';
        if (suite && (strncmp(p, suite, slen) != 0 || p[slen] != '/')) continue;
        sl_push(out, p);
    }
    fclose(f);
    return true;
}

static long parse_long(const char *flag, const char *v, long min) {
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || x < min) {
        fprintf(stderr, "lens_conformance: %s wants an integer >= %ld\n", flag, min);
        usage(stderr);
        exit(2);
    }
    return x;
}

int main(int argc, char **argv) {
    const char *root = NULL, *suite = NULL;
    long expect = -1;
    bool check_lists = false;
    strlist lists = {0}, tests = {0}, names = {0};
    setvbuf(stdout, NULL, _IOLBF, 0);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            g_verbose = 1;
        } else if (!strcmp(a, "--check-lists")) {
            check_lists = true;
        } else if (!strcmp(a, "--threads")) {
            g_threads = (int)parse_long(a, next, 0), i++;
        } else if (!strcmp(a, "--test-timeout")) {
            g_timeout_s = (sig_atomic_t)parse_long(a, next, 0), i++;
        } else if (!strcmp(a, "--expect-count")) {
            expect = parse_long(a, next, 0), i++;
        } else if (!strcmp(a, "--root") && next) {
            root = next, i++;
        } else if (!strcmp(a, "--suite") && next) {
            suite = next, i++;
        } else if (!strcmp(a, "--list-file") && next) {
            sl_push(&lists, next), i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "lens_conformance: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        } else {
            /* A test folder, or a folder of test folders. */
            if (is_test_dir(a)) {
                sl_push(&tests, a);
                sl_push(&names, a);
            } else if (is_dir(a)) {
                strlist sub = {0};
                list_tests(a, &sub);
                if (!sub.n) fprintf(stderr, "lens_conformance: no test folders in '%s'\n", a);
                for (size_t k = 0; k < sub.n; k++) {
                    char p[4096];
                    pathf(p, sizeof p, "%s/%s", a, sub.v[k]);
                    sl_push(&tests, p);
                    sl_push(&names, p);
                }
                sl_free(&sub);
            } else {
                /* Counted as a failing test rather than a usage error: a
                 * vanished test folder must not go unnoticed. */
                sl_push(&tests, a);
                sl_push(&names, a);
            }
        }
    }
    if ((lists.n || expect >= 0 || check_lists || suite) && !root) {
        fprintf(stderr, "lens_conformance: --list-file, --suite, --expect-count and --check-lists need --root DIR\n");
        usage(stderr);
        return 2;
    }
    if (check_lists && !lists.n) {
        fprintf(stderr, "lens_conformance: --check-lists needs --list-file\n");
        return 2;
    }
    if (!lists.n && !tests.n && expect < 0) {
        usage(stderr);
        return 2;
    }

    int failures = 0;
    /* Folders found (for --expect-count and --check-lists). */
    strlist found = {0};
    if (root) {
        char scan[4096];
        pathf(scan, sizeof scan, "%s%s%s", root, suite ? "/" : "", suite ? suite : "");
        strlist sub = {0};
        if (is_test_dir(scan)) {
            sl_push(&found, suite ? suite : ".");
        } else {
            list_tests(scan, &sub);
            for (size_t k = 0; k < sub.n; k++) {
                char p[4096];
                pathf(p, sizeof p, "%s%s%s", suite ? suite : "", suite ? "/" : "", sub.v[k]);
                sl_push(&found, p);
            }
            if (!suite) {
                /* A data folder of suites: names are suite/test. */
                DIR *d = opendir(scan);
                struct dirent *e;
                while (d && (e = readdir(d))) {
                    if (e->d_name[0] == '.') continue;
                    char p[4096];
                    pathf(p, sizeof p, "%s/%s", scan, e->d_name);
                    if (!is_dir(p) || is_test_dir(p)) continue;
                    strlist tt = {0};
                    list_tests(p, &tt);
                    for (size_t k = 0; k < tt.n; k++) {
                        pathf(p, sizeof p, "%s/%s", e->d_name, tt.v[k]);
                        sl_push(&found, p);
                    }
                    sl_free(&tt);
                }
                if (d) closedir(d);
            }
        }
        sl_free(&sub);
        sl_sort(&found);
        if (expect >= 0 && (long)found.n < expect) {
            fprintf(stderr, "lens_conformance: found %zu test folders under %s, expected at least %ld%s\n", found.n,
                    scan, expect, is_dir(scan) ? "" : " (folder missing: is the ONNX test data installed?)");
            printf("FAIL %s: found %zu test folders, expected at least %ld\n", suite ? suite : root, found.n, expect);
            failures++;
        }
    }

    strlist listed = {0};
    for (size_t l = 0; l < lists.n; l++)
        if (!load_list(lists.v[l], suite, &listed)) return 2;

    if (check_lists) {
        sl_sort(&listed);
        size_t unlisted = 0, stale = 0;
        for (size_t k = 1; k < listed.n; k++)
            if (!strcmp(listed.v[k], listed.v[k - 1])) {
                printf("DUPLICATE %s: listed more than once (passing and excluded?)\n", listed.v[k]);
                stale++;
            }
        for (size_t k = 0; k < found.n; k++)
            if (!sl_has_sorted(&listed, found.v[k])) {
                printf("UNLISTED %s: in neither list (run tests/conformance/update_lists.py)\n", found.v[k]);
                unlisted++;
            }
        for (size_t k = 0; k < listed.n; k++)
            if (!sl_has_sorted(&found, listed.v[k])) {
                printf("MISSING %s: listed but no such test folder\n", listed.v[k]);
                stale++;
            }
        fprintf(stderr, "lens_conformance: %zu test folders found, %zu listed, %zu unlisted, %zu missing or duplicated\n", found.n,
                listed.n, unlisted, stale);
        failures += (int)(unlisted + stale);
        sl_free(&listed);
        sl_free(&found);
        sl_free(&lists);
        sl_free(&tests);
        sl_free(&names);
        return failures ? 1 : 0;
    }
    for (size_t k = 0; k < listed.n; k++) {
        char p[4096];
        pathf(p, sizeof p, "%s/%s", root, listed.v[k]);
        sl_push(&tests, p);
        sl_push(&names, listed.v[k]);
    }
    sl_free(&listed);
    sl_free(&found);

    if (g_timeout_s > 0) signal(SIGALRM, on_alarm);
    int passed = 0, failed = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t k = 0; k < tests.n; k++) {
        reason r;
        r.text[0] = '\0';
        struct timespec a, b;
        g_current = names.v[k];
        if (g_verbose) fprintf(stderr, "RUN  %s\n", names.v[k]);
        if (g_timeout_s > 0) alarm((unsigned)g_timeout_s);
        clock_gettime(CLOCK_MONOTONIC, &a);
        bool ok;
        if (!is_test_dir(tests.v[k])) {
            set_reason(&r, "no model.onnx in %s", tests.v[k]);
            ok = false;
        } else {
            ok = run_test(tests.v[k], &r);
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (g_timeout_s > 0) alarm(0);
        if (ok) {
            printf("PASS %s\n", names.v[k]);
            passed++;
        } else {
            printf("FAIL %s: %s\n", names.v[k], r.text);
            failed++;
        }
        if (g_verbose)
            fprintf(stderr, "     %s: %.1f ms\n", names.v[k],
                    (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    g_current = NULL;
    fprintf(stderr, "lens_conformance: %d passed, %d failed of %zu (%.1f s)\n", passed, failed, tests.n,
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    failures += failed;
    sl_free(&lists);
    sl_free(&tests);
    sl_free(&names);
    return failures ? 1 : 0;
}
