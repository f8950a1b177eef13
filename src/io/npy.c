/* NumPy .npy reader and writer (format described in npy.h and in
 * numpy/lib/format.py). The header is parsed by a strict little parser of
 * the one dict shape numpy writes, bounded everywhere. */
#include "io/npy.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "core/tensor.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lens reads .npy data in place and requires a little-endian host"
#endif

static const uint8_t NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

typedef struct npy_header {
    lens_dtype dtype;
    int32_t ndim;
    int64_t dims[LENS_MAX_DIMS];
    size_t nbytes; /* numel * itemsize, overflow-checked */
} npy_header;

/* ---- preamble ------------------------------------------------------------ */

/* From the first bytes of a file: the header length and where it starts.
 * `avail` is how many bytes `p` holds (at least 10 are needed, 12 for 2.0+). */
static lens_status parse_preamble(const uint8_t *p, size_t avail, const char *what, size_t *hoff,
                                  size_t *hlen) {
    if (avail < 10 || memcmp(p, NPY_MAGIC, sizeof NPY_MAGIC) != 0)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: not a .npy file (bad magic)", what);
    uint8_t major = p[6], minor = p[7];
    if (major == 1) {
        *hlen = (size_t)p[8] | (size_t)p[9] << 8;
        *hoff = 10;
    } else if (major == 2 || major == 3) {
        if (avail < 12) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: truncated .npy header", what);
        *hlen = (size_t)p[8] | (size_t)p[9] << 8 | (size_t)p[10] << 16 | (size_t)p[11] << 24;
        *hoff = 12;
    } else {
        return lens_error(LENS_STATUS_UNSUPPORTED, "%s: .npy format version %u.%u is not supported (1.0, 2.0, 3.0 are)",
                          what, major, minor);
    }
    if (minor != 0)
        return lens_error(LENS_STATUS_UNSUPPORTED, "%s: .npy format version %u.%u is not supported (1.0, 2.0, 3.0 are)",
                          what, major, minor);
    if (*hlen == 0 || *hlen > LENS_NPY_MAX_HEADER)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: .npy header length %zu is out of range (1..%u)", what,
                          *hlen, LENS_NPY_MAX_HEADER);
    return LENS_OK;
}

/* ---- header dict --------------------------------------------------------- */

typedef struct cursor {
    const char *p, *end;
    const char *what;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static lens_status bad(const cursor *c, const char *expected) {
    if (c->p >= c->end)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: malformed .npy header: expected %s, found its end",
                          c->what, expected);
    unsigned ch = (unsigned char)*c->p;
    if (ch >= 0x20 && ch < 0x7f)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: malformed .npy header: expected %s, found '%c'", c->what,
                          expected, (char)ch);
    return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: malformed .npy header: expected %s, found byte 0x%02x",
                      c->what, expected, ch);
}

static bool eat(cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A quoted Python string without escapes (none of the keys or dtypes numpy
 * writes need them) into buf. */
static lens_status parse_string(cursor *c, char *buf, size_t size) {
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return bad(c, "a quoted string");
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || *c->p == '\n' || *c->p == '\0') return bad(c, "a plain string character");
        if (n + 1 >= size)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: malformed .npy header: string longer than %zu bytes",
                              c->what, size - 1);
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end) return bad(c, "a closing quote");
    c->p++;
    buf[n] = '\0';
    return LENS_OK;
}

static lens_status parse_bool(cursor *c, bool *out) {
    skip_ws(c);
    size_t left = (size_t)(c->end - c->p);
    if (left >= 4 && !memcmp(c->p, "True", 4)) {
        c->p += 4;
        *out = true;
    } else if (left >= 5 && !memcmp(c->p, "False", 5)) {
        c->p += 5;
        *out = false;
    } else {
        return bad(c, "True or False");
    }
    return LENS_OK;
}

/* (d0, d1, ...) with an optional trailing comma; () is a scalar. */
static lens_status parse_shape(cursor *c, npy_header *h) {
    if (!eat(c, '(')) return bad(c, "'(' starting the shape");
    h->ndim = 0;
    for (;;) {
        if (eat(c, ')')) break;
        skip_ws(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9') return bad(c, "a dimension (non-negative integer)");
        int64_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (lens_mul_ovf_i64(v, 10, &v) || lens_add_ovf_i64(v, *c->p - '0', &v))
                return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: .npy shape has a dimension that overflows int64",
                                  c->what);
            c->p++;
        }
        if (c->p < c->end && *c->p == 'L') c->p++; /* Python 2 longs, as old numpy wrote them */
        if (h->ndim == LENS_MAX_DIMS)
            return lens_error(LENS_STATUS_UNSUPPORTED, "%s: .npy array has more than %d dimensions", c->what,
                              LENS_MAX_DIMS);
        h->dims[h->ndim++] = v;
        if (eat(c, ',')) continue;
        if (eat(c, ')')) break;
        return bad(c, "',' or ')' in the shape");
    }
    return LENS_OK;
}

static lens_status parse_descr(const char *what, const char *d, lens_dtype *out) {
    char order = d[0];
    if (order != '<' && order != '>' && order != '|' && order != '=')
        return lens_error(LENS_STATUS_UNSUPPORTED, "%s: .npy dtype '%s' is not supported", what, d);
    static const struct {
        const char *code;
        lens_dtype dt;
    } map[] = {
        {"f2", LENS_DTYPE_FLOAT16}, {"f4", LENS_DTYPE_FLOAT}, {"f8", LENS_DTYPE_DOUBLE},
        {"i1", LENS_DTYPE_INT8},    {"i2", LENS_DTYPE_INT16}, {"i4", LENS_DTYPE_INT32},
        {"i8", LENS_DTYPE_INT64},   {"u1", LENS_DTYPE_UINT8}, {"u2", LENS_DTYPE_UINT16},
        {"u4", LENS_DTYPE_UINT32},  {"u8", LENS_DTYPE_UINT64}, {"b1", LENS_DTYPE_BOOL},
    };
    for (size_t i = 0; i < LENS_ARRAY_LEN(map); i++) {
        if (strcmp(d + 1, map[i].code) != 0) continue;
        if (order == '>' && lens_dtype_size(map[i].dt) > 1)
            return lens_error(LENS_STATUS_UNSUPPORTED, "%s: .npy dtype '%s' is big-endian; lens reads little-endian "
                              "arrays only (numpy: a.astype(a.dtype.newbyteorder('<')))", what, d);
        *out = map[i].dt;
        return LENS_OK;
    }
    return lens_error(LENS_STATUS_UNSUPPORTED,
                      "%s: .npy dtype '%s' is not supported (f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1 are)", what, d);
}

static lens_status parse_header(const char *text, size_t len, const char *what, npy_header *h) {
    cursor c = {text, text + len, what};
    bool have_descr = false, have_order = false, have_shape = false, fortran = false;
    char descr[32];
    memset(h, 0, sizeof *h);
    if (!eat(&c, '{')) return bad(&c, "'{' starting the header dict");
    for (;;) {
        if (eat(&c, '}')) break;
        char key[32];
        LENS_TRY(parse_string(&c, key, sizeof key));
        if (!eat(&c, ':')) return bad(&c, "':' after a key");
        if (!strcmp(key, "descr") && !have_descr) {
            LENS_TRY(parse_string(&c, descr, sizeof descr));
            have_descr = true;
        } else if (!strcmp(key, "fortran_order") && !have_order) {
            LENS_TRY(parse_bool(&c, &fortran));
            have_order = true;
        } else if (!strcmp(key, "shape") && !have_shape) {
            LENS_TRY(parse_shape(&c, h));
            have_shape = true;
        } else {
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: malformed .npy header: unexpected or repeated key '%s'",
                              what, key);
        }
        if (eat(&c, ',')) continue;
        if (eat(&c, '}')) break;
        return bad(&c, "',' or '}' in the header dict");
    }
    skip_ws(&c);
    if (c.p != c.end) return bad(&c, "only padding after the header dict");
    if (!have_descr || !have_order || !have_shape)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: .npy header lacks '%s'", what,
                          !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    LENS_TRY(parse_descr(what, descr, &h->dtype));
    int64_t numel;
    if (!lens_shape_numel(h->ndim, h->dims, &numel))
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: .npy shape's element count overflows", what);
    /* Fortran and C order lay out the same bytes when at most one
     * dimension exceeds 1 (vectors, 1xN, Nx1): only refuse real matrices. */
    int32_t big_dims = 0;
    for (int32_t i = 0; i < h->ndim; i++) big_dims += h->dims[i] > 1;
    if (fortran && big_dims > 1)
        return lens_error(LENS_STATUS_UNSUPPORTED,
                          "%s: .npy array is in Fortran order; lens reads C-order arrays only "
                          "(numpy: np.save(path, np.ascontiguousarray(a)))", what);
    if (numel < 0 || lens_mul_ovf_size((size_t)numel, lens_dtype_size(h->dtype), &h->nbytes))
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: .npy data size overflows", what);
    return LENS_OK;
}

/* ---- reading ------------------------------------------------------------- */

static lens_status fill_out(const npy_header *h, void *data, lens_tensor *out) {
    out->dtype = h->dtype;
    out->ndim = h->ndim;
    memcpy(out->dims, h->dims, sizeof h->dims);
    out->data = data;
    return LENS_OK;
}

static lens_status size_mismatch(const char *what, const npy_header *h, size_t have) {
    char shape[160];
    lens_shape_str(h->ndim, h->dims, shape, sizeof shape);
    return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: .npy data is %zu bytes, but shape %s of %s needs %zu", what,
                      have, shape, lens_dtype_name(h->dtype), h->nbytes);
}

lens_status lens_npy_read_memory(const void *data, size_t size, lens_tensor *out) {
    if (!out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_npy_read_memory: out is NULL");
    memset(out, 0, sizeof *out);
    if (!data && size) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_npy_read_memory: data is NULL");
    const uint8_t *p = data;
    const char *what = "npy data";
    size_t hoff, hlen;
    LENS_TRY(parse_preamble(p, size, what, &hoff, &hlen));
    if (hlen > size - hoff) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: truncated .npy header", what);
    npy_header h;
    LENS_TRY(parse_header((const char *)p + hoff, hlen, what, &h));
    size_t have = size - hoff - hlen;
    if (have != h.nbytes) return size_mismatch(what, &h, have);
    void *buf = lens_aligned_alloc(h.nbytes ? h.nbytes : 1);
    if (!buf) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: out of memory for %zu bytes", what, h.nbytes);
    if (h.nbytes) memcpy(buf, p + hoff + hlen, h.nbytes);
    return fill_out(&h, buf, out);
}

lens_status lens_npy_read(const char *path, lens_tensor *out) {
    if (!out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_npy_read: out is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_npy_read: path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f) return lens_error(LENS_STATUS_IO_ERROR, "cannot open '%s': %s", path, strerror(errno));
    lens_status st = LENS_OK;
    char *header = NULL;
    void *buf = NULL;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = lens_error(LENS_STATUS_IO_ERROR, "'%s' is not a regular file", path);
        goto done;
    }
    size_t fsize = (size_t)sb.st_size;
    uint8_t pre[12];
    size_t npre = fread(pre, 1, sizeof pre, f);
    size_t hoff, hlen;
    st = parse_preamble(pre, npre, path, &hoff, &hlen);
    if (st != LENS_OK) goto done;
    if (hlen > fsize - hoff) {
        st = lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: truncated .npy header", path);
        goto done;
    }
    header = lens_malloc(hlen);
    if (!header) {
        st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory reading '%s'", path);
        goto done;
    }
    if (fseek(f, (long)hoff, SEEK_SET) != 0 || fread(header, 1, hlen, f) != hlen) {
        st = lens_error(LENS_STATUS_IO_ERROR, "cannot read the header of '%s'", path);
        goto done;
    }
    npy_header h;
    st = parse_header(header, hlen, path, &h);
    if (st != LENS_OK) goto done;
    size_t have = fsize - hoff - hlen;
    if (have != h.nbytes) {
        st = size_mismatch(path, &h, have);
        goto done;
    }
    buf = lens_aligned_alloc(h.nbytes ? h.nbytes : 1);
    if (!buf) {
        st = lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: out of memory for %zu bytes", path, h.nbytes);
        goto done;
    }
    if (h.nbytes && fread(buf, 1, h.nbytes, f) != h.nbytes) {
        st = lens_error(LENS_STATUS_IO_ERROR, "cannot read the data of '%s'", path);
        goto done;
    }
    fill_out(&h, buf, out);
    buf = NULL;
done:
    lens_aligned_free(buf);
    lens_free(header);
    fclose(f);
    return st;
}

/* ---- writing ------------------------------------------------------------- */

static const char *descr_for(lens_dtype dt) {
    switch (dt) {
    case LENS_DTYPE_FLOAT16: return "<f2";
    case LENS_DTYPE_FLOAT: case LENS_DTYPE_BFLOAT16: return "<f4";
    case LENS_DTYPE_DOUBLE: return "<f8";
    case LENS_DTYPE_INT8: return "|i1";
    case LENS_DTYPE_INT16: return "<i2";
    case LENS_DTYPE_INT32: return "<i4";
    case LENS_DTYPE_INT64: return "<i8";
    case LENS_DTYPE_UINT8: return "|u1";
    case LENS_DTYPE_UINT16: return "<u2";
    case LENS_DTYPE_UINT32: return "<u4";
    case LENS_DTYPE_UINT64: return "<u8";
    case LENS_DTYPE_BOOL: return "|b1";
    default: return NULL;
    }
}

static lens_status write_all(FILE *f, const void *p, size_t n, const char *path) {
    if (n && fwrite(p, 1, n, f) != n) return lens_error(LENS_STATUS_IO_ERROR, "cannot write '%s': %s", path, strerror(errno));
    return LENS_OK;
}

static lens_status write_body(FILE *f, const lens_tensor *t, int64_t numel, size_t nbytes, const char *path) {
    if (t->dtype != LENS_DTYPE_BFLOAT16) return write_all(f, t->data, nbytes, path);
    float chunk[1024];
    const uint16_t *src = t->data;
    for (int64_t i = 0; i < numel; i += 1024) {
        int64_t n = LENS_MIN(numel - i, (int64_t)1024);
        for (int64_t k = 0; k < n; k++) chunk[k] = lens_bf16_to_f32(src[i + k]);
        LENS_TRY(write_all(f, chunk, (size_t)n * sizeof(float), path));
    }
    return LENS_OK;
}

lens_status lens_npy_write(const char *path, const lens_tensor *t) {
    if (!path || !t) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_npy_write: NULL argument");
    const char *descr = descr_for(t->dtype);
    if (!descr)
        return lens_error(LENS_STATUS_UNSUPPORTED, "%s: cannot write a %s tensor as .npy", path,
                          lens_dtype_name(t->dtype));
    if (t->ndim < 0 || t->ndim > LENS_MAX_DIMS)
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: tensor rank %d is out of range", path, t->ndim);
    for (int32_t i = 0; i < t->ndim; i++)
        if (t->dims[i] < 0)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: tensor dimension %d is negative", path, i);
    int64_t numel;
    size_t nbytes;
    if (!lens_shape_numel(t->ndim, t->dims, &numel) || numel < 0 ||
        lens_mul_ovf_size((size_t)numel, lens_dtype_size(t->dtype), &nbytes))
        return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: tensor size overflows", path);
    if (nbytes && !t->data) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: tensor data is NULL", path);
    if (t->dtype == LENS_DTYPE_BFLOAT16) nbytes = (size_t)numel * sizeof(float);

    /* 10-byte preamble + dict + padding + '\n', a multiple of 64 as numpy
     * writes it (so the data is aligned when the file is mapped). */
    char dict[64 + LENS_MAX_DIMS * 24];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int32_t i = 0; i < t->ndim; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", t->ndim == 1 ? "," : "");
    size_t total = ((size_t)n + 10 + 1 + 63) / 64 * 64;
    uint8_t pre[10 + sizeof dict + 64];
    memcpy(pre, NPY_MAGIC, 6);
    pre[6] = 1;
    pre[7] = 0;
    size_t hlen = total - 10;
    pre[8] = (uint8_t)(hlen & 0xff);
    pre[9] = (uint8_t)(hlen >> 8);
    memcpy(pre + 10, dict, (size_t)n);
    memset(pre + 10 + n, ' ', total - 10 - (size_t)n - 1);
    pre[total - 1] = '\n';

    FILE *f = fopen(path, "wb");
    if (!f) return lens_error(LENS_STATUS_IO_ERROR, "cannot create '%s': %s", path, strerror(errno));
    lens_status st = write_all(f, pre, total, path);
    if (st == LENS_OK) st = write_body(f, t, numel, nbytes, path);
    if (fclose(f) != 0 && st == LENS_OK)
        st = lens_error(LENS_STATUS_IO_ERROR, "cannot write '%s': %s", path, strerror(errno));
    if (st != LENS_OK) remove(path);
    return st;
}
