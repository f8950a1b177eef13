/* External tensor data (ONNX IR: "External tensor data"): the bytes of a
 * tensor live in another file next to the model, named by a relative
 * `location`. A model file is untrusted input, so the location must stay
 * inside the model's folder: absolute paths, ".." components and symlinks
 * that lead elsewhere are refused, and offset/length are checked against the
 * file's real size before anything is read. */
#include "onnx/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A decimal number as external_data writes offsets and lengths; anything
 * else (signs, spaces, overflow) is refused. */
static bool parse_u64(const uint8_t *s, size_t n, uint64_t *out) {
    if (n == 0 || n > 20) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v)) return false;
    }
    *out = v;
    return true;
}

static bool key_is(const uint8_t *k, size_t n, const char *want) {
    return n == strlen(want) && !memcmp(k, want, n);
}

/* Whether the relative path has a ".." component. */
static bool has_dotdot(const char *p) {
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.') return true;
        if (!e) break;
        s = e + 1;
    }
    return false;
}

lens_status lens_onnx_read_external(const lens_onnx_ctx *c, const lens_pb *msg, const char *tn, size_t nbytes,
                                    void *dst) {
    const uint8_t *loc = NULL;
    size_t loc_len = 0;
    uint64_t offset = 0, length = 0;
    bool has_length = false;
    lens_pb r = *msg;
    lens_pb_field f;
    while (lens_pb_more(&r)) {
        LENS_TRY(lens_pb_next(&r, &f));
        if (f.num != 13) continue;
        lens_pb e;
        LENS_TRY(lens_pb_sub(&r, &f, "StringStringEntryProto", &e));
        const uint8_t *k = (const uint8_t *)"", *v = (const uint8_t *)"";
        size_t kl = 0, vl = 0;
        while (lens_pb_more(&e)) {
            lens_pb_field g;
            LENS_TRY(lens_pb_next(&e, &g));
            if (g.num == 1 || g.num == 2) LENS_TRY(lens_pb_want(&e, &g, LENS_PB_LEN, g.num == 1 ? "key" : "value"));
            if (g.num == 1) k = e.base + g.off, kl = g.len;
            if (g.num == 2) v = e.base + g.off, vl = g.len;
        }
        if (key_is(k, kl, "location")) {
            loc = v;
            loc_len = vl;
        } else if (key_is(k, kl, "offset")) {
            if (!parse_u64(v, vl, &offset))
                return lens_error(LENS_STATUS_INVALID_MODEL, "tensor '%s': external data offset '%.*s' is not a number",
                                  tn, (int)LENS_MIN(vl, 40), (const char *)v);
        } else if (key_is(k, kl, "length")) {
            if (!parse_u64(v, vl, &length))
                return lens_error(LENS_STATUS_INVALID_MODEL, "tensor '%s': external data length '%.*s' is not a number",
                                  tn, (int)LENS_MIN(vl, 40), (const char *)v);
            has_length = true;
        }
        /* "checksum" (SHA-1) and unknown keys are not checked. */
    }
    if (!loc || !loc_len)
        return lens_error(LENS_STATUS_INVALID_MODEL, "tensor '%s': external data without a location", tn);
    if (memchr(loc, 0, loc_len))
        return lens_error(LENS_STATUS_INVALID_MODEL, "tensor '%s': external data location contains a NUL byte", tn);
    if (loc_len >= PATH_MAX)
        return lens_error(LENS_STATUS_INVALID_MODEL, "tensor '%s': external data location is too long", tn);
    char rel[PATH_MAX];
    memcpy(rel, loc, loc_len);
    rel[loc_len] = 0;
    if (rel[0] == '/')
        return lens_error(LENS_STATUS_INVALID_MODEL,
                          "tensor '%s': external data location '%s' is an absolute path (refused)", tn, rel);
    if (has_dotdot(rel))
        return lens_error(LENS_STATUS_INVALID_MODEL,
                          "tensor '%s': external data location '%s' has a '..' component (refused)", tn, rel);
    if (has_length && length != nbytes)
        return lens_error(LENS_STATUS_INVALID_MODEL,
                          "tensor '%s': external data length %llu does not match its dims (%zu bytes)", tn,
                          (unsigned long long)length, nbytes);

    char path[PATH_MAX], real_base[PATH_MAX], real_path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", c->base_dir, rel);
    if (n < 0 || (size_t)n >= sizeof path)
        return lens_error(LENS_STATUS_INVALID_MODEL, "tensor '%s': external data path is too long", tn);
    if (!realpath(c->base_dir, real_base))
        return lens_error(LENS_STATUS_IO_ERROR, "tensor '%s': cannot resolve the model folder '%s': %s", tn,
                          c->base_dir, strerror(errno));
    if (!realpath(path, real_path))
        return lens_error(LENS_STATUS_IO_ERROR, "tensor '%s': external data file '%s': %s", tn, path,
                          strerror(errno));
    /* Symlinks are followed by realpath; the result must still be inside. */
    size_t bl = strlen(real_base);
    bool inside = !strncmp(real_path, real_base, bl) &&
                  (real_path[bl] == '/' || (bl == 1 && real_base[0] == '/' && real_path[1]));
    if (!inside)
        return lens_error(LENS_STATUS_INVALID_MODEL,
                          "tensor '%s': external data location '%s' resolves to '%s', outside the model folder '%s' (refused)",
                          tn, rel, real_path, real_base);
    int fd = open(real_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return lens_error(LENS_STATUS_IO_ERROR, "tensor '%s': cannot open external data file '%s': %s", tn, real_path,
                          strerror(errno));
    lens_status st = LENS_OK;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = lens_error(LENS_STATUS_IO_ERROR, "tensor '%s': cannot stat '%s': %s", tn, real_path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = lens_error(LENS_STATUS_INVALID_MODEL, "tensor '%s': external data '%s' is not a regular file", tn, rel);
        goto done;
    }
    uint64_t fsize = (uint64_t)sb.st_size, endpos;
    if (__builtin_add_overflow(offset, (uint64_t)nbytes, &endpos) || offset > fsize || endpos > fsize) {
        st = lens_error(LENS_STATUS_INVALID_MODEL,
                        "tensor '%s': external data offset %llu + length %zu is past the end of '%s' (%llu bytes)", tn,
                        (unsigned long long)offset, nbytes, rel, (unsigned long long)fsize);
        goto done;
    }
    if (offset > (uint64_t)INT64_MAX - nbytes) { /* off_t is signed */
        st = lens_error(LENS_STATUS_INVALID_MODEL, "tensor '%s': external data offset too large", tn);
        goto done;
    }
    size_t got = 0;
    while (got < nbytes) {
        size_t chunk = LENS_MIN(nbytes - got, (size_t)1 << 30);
        ssize_t k = pread(fd, (uint8_t *)dst + got, chunk, (off_t)(offset + got));
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            st = lens_error(LENS_STATUS_IO_ERROR, "tensor '%s': reading '%s': %s", tn, rel, strerror(errno));
            goto done;
        }
        if (k == 0) {
            st = lens_error(LENS_STATUS_IO_ERROR, "tensor '%s': '%s' ended after %zu of %zu bytes (file changed?)", tn,
                            rel, got, nbytes);
            goto done;
        }
        got += (size_t)k;
    }
done:
    close(fd);
    return st;
}
