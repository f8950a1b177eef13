/* Protocol Buffers wire-format primitives (see pb.h). */
#include "onnx/pb.h"

enum { VARINT_OK, VARINT_TRUNCATED, VARINT_TOO_LONG, VARINT_OVERFLOW };

/* At most 10 bytes: 9 x 7 bits plus one final bit. Longer encodings and a
 * tenth byte above 1 would not fit 64 bits; protobuf never writes them. */
static int decode_varint(const uint8_t *p, size_t avail, uint64_t *out, size_t *used) {
    uint64_t v = 0;
    for (size_t i = 0; i < 10; i++) {
        if (i >= avail) return VARINT_TRUNCATED;
        uint8_t b = p[i];
        if (i == 9) {
            if (b & 0x80) return VARINT_TOO_LONG;
            if (b > 1) return VARINT_OVERFLOW;
        }
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            *used = i + 1;
            return VARINT_OK;
        }
    }
    return VARINT_TOO_LONG;
}

static lens_status varint_error(const lens_pb *r, int e, size_t at, const char *what, uint32_t num) {
    const char *why = e == VARINT_TRUNCATED ? "is truncated"
                      : e == VARINT_TOO_LONG ? "is longer than 10 bytes"
                                             : "overflows 64 bits";
    if (num)
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s: varint of field %u at offset %zu %s", r->msg, num,
                          at, why);
    return lens_error(LENS_STATUS_INVALID_MODEL, "%s: %s varint at offset %zu %s", r->msg, what, at, why);
}

void lens_pb_init(lens_pb *r, const uint8_t *base, size_t size, const char *msg) {
    r->base = base;
    r->pos = 0;
    r->end = size;
    r->msg = msg;
    r->depth = 0;
}

lens_status lens_pb_next(lens_pb *r, lens_pb_field *f) {
    size_t at = r->pos, used;
    uint64_t tag;
    int e = decode_varint(r->base + r->pos, r->end - r->pos, &tag, &used);
    if (e) return varint_error(r, e, at, "field tag", 0);
    r->pos += used;
    uint64_t num = tag >> 3;
    uint32_t wt = (uint32_t)(tag & 7);
    /* Field numbers are 1 .. 2^29 - 1. */
    if (num == 0 || num > 0x1fffffffu)
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s: invalid field number %llu at offset %zu", r->msg,
                          (unsigned long long)num, at);
    memset(f, 0, sizeof *f);
    f->num = (uint32_t)num;
    f->wt = wt;
    f->at = at;
    size_t remain = r->end - r->pos;
    switch (wt) {
    case LENS_PB_VARINT:
        e = decode_varint(r->base + r->pos, remain, &f->u, &used);
        if (e) return varint_error(r, e, r->pos, "field", f->num);
        r->pos += used;
        return LENS_OK;
    case LENS_PB_I64:
        if (remain < 8) goto truncated_fixed;
        f->u = lens_pb_le64(r->base + r->pos);
        r->pos += 8;
        return LENS_OK;
    case LENS_PB_I32:
        if (remain < 4) goto truncated_fixed;
        f->u = lens_pb_le32(r->base + r->pos);
        r->pos += 4;
        return LENS_OK;
    case LENS_PB_LEN: {
        uint64_t len;
        size_t lat = r->pos;
        e = decode_varint(r->base + r->pos, remain, &len, &used);
        if (e) return varint_error(r, e, lat, "length", f->num);
        r->pos += used;
        remain -= used;
        if (len > remain)
            return lens_error(LENS_STATUS_INVALID_MODEL,
                              "truncated file: field %u of %s needs %llu bytes at offset %zu, %zu remain",
                              f->num, r->msg, (unsigned long long)len, r->pos, remain);
        f->off = r->pos;
        f->len = (size_t)len;
        r->pos += (size_t)len;
        return LENS_OK;
    }
    case 3:
    case 4:
        return lens_error(LENS_STATUS_INVALID_MODEL,
                          "%s: field %u at offset %zu is a group (wire type %u), which ONNX never uses",
                          r->msg, f->num, at, wt);
    default:
        return lens_error(LENS_STATUS_INVALID_MODEL, "%s: field %u at offset %zu has invalid wire type %u",
                          r->msg, f->num, at, wt);
    }
truncated_fixed:
    return lens_error(LENS_STATUS_INVALID_MODEL,
                      "truncated file: field %u of %s needs %d bytes at offset %zu, %zu remain", f->num, r->msg,
                      wt == LENS_PB_I64 ? 8 : 4, r->pos, remain);
}

lens_status lens_pb_sub(const lens_pb *r, const lens_pb_field *f, const char *msg, lens_pb *sub) {
    if (f->wt != LENS_PB_LEN)
        return lens_error(LENS_STATUS_INVALID_MODEL,
                          "%s: field %u at offset %zu has wire type %u, expected 2 (embedded %s)", r->msg,
                          f->num, f->at, f->wt, msg);
    if (r->depth + 1 > LENS_PB_MAX_DEPTH)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "%s at offset %zu is nested more than %d messages deep",
                          msg, f->off, LENS_PB_MAX_DEPTH);
    sub->base = r->base;
    sub->pos = f->off;
    sub->end = f->off + f->len;
    sub->msg = msg;
    sub->depth = r->depth + 1;
    return LENS_OK;
}

lens_status lens_pb_want(const lens_pb *r, const lens_pb_field *f, uint32_t wt, const char *fname) {
    if (f->wt == wt) return LENS_OK;
    return lens_error(LENS_STATUS_INVALID_MODEL, "%s.%s (field %u) at offset %zu has wire type %u, expected %u",
                      r->msg, fname, f->num, f->at, f->wt, wt);
}

lens_status lens_pb_rep_init(const lens_pb *r, const lens_pb_field *f, uint32_t elem_wt, const char *fname,
                             lens_pb_rep *it, size_t *count) {
    memset(it, 0, sizeof *it);
    it->elem_wt = elem_wt;
    if (f->wt == elem_wt) {
        it->single = true;
        it->u = f->u;
        *count = 1;
        return LENS_OK;
    }
    if (f->wt != LENS_PB_LEN)
        return lens_error(LENS_STATUS_INVALID_MODEL,
                          "%s.%s (field %u) at offset %zu has wire type %u, expected %u or 2", r->msg, fname,
                          f->num, f->at, f->wt, elem_wt);
    it->p = r->base + f->off;
    it->left = f->len;
    if (elem_wt == LENS_PB_I32 || elem_wt == LENS_PB_I64) {
        size_t w = elem_wt == LENS_PB_I32 ? 4 : 8;
        if (f->len % w)
            return lens_error(LENS_STATUS_INVALID_MODEL,
                              "%s.%s (field %u) at offset %zu: packed length %zu is not a multiple of %zu",
                              r->msg, fname, f->num, f->at, f->len, w);
        *count = f->len / w;
        return LENS_OK;
    }
    /* Packed varints: validate every element now so iteration cannot fail. */
    size_t n = 0, pos = 0;
    while (pos < f->len) {
        uint64_t v;
        size_t used;
        int e = decode_varint(it->p + pos, f->len - pos, &v, &used);
        if (e) return varint_error(r, e, f->off + pos, "packed", f->num);
        pos += used;
        n++;
    }
    *count = n;
    return LENS_OK;
}

bool lens_pb_rep_next(lens_pb_rep *it, uint64_t *v) {
    if (it->done) return false;
    if (it->single) {
        it->done = true;
        *v = it->u;
        return true;
    }
    if (!it->left) return false;
    if (it->elem_wt == LENS_PB_I32) {
        if (it->left < 4) return false;
        *v = lens_pb_le32(it->p);
        it->p += 4;
        it->left -= 4;
        return true;
    }
    if (it->elem_wt == LENS_PB_I64) {
        if (it->left < 8) return false;
        *v = lens_pb_le64(it->p);
        it->p += 8;
        it->left -= 8;
        return true;
    }
    size_t used;
    if (decode_varint(it->p, it->left, v, &used)) {
        it->done = true;
        return false;
    }
    it->p += used;
    it->left -= used;
    return true;
}
