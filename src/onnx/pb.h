/* Protocol Buffers wire format, read straight from bytes (no generated code,
 * no schema). Every read is bounded by the enclosing message; every error
 * names the field, the message type and the byte offset in the buffer.
 * Reference: https://protobuf.dev/programming-guides/encoding/ */
#ifndef LENS_ONNX_PB_H
#define LENS_ONNX_PB_H

#include "core/common.h"

enum {
    LENS_PB_VARINT = 0,
    LENS_PB_I64 = 1,
    LENS_PB_LEN = 2,
    LENS_PB_I32 = 5,
};

/* Nested messages deeper than this are refused: a hostile file must not be
 * able to exhaust the stack. ONNX needs about 3 levels per subgraph level. */
#define LENS_PB_MAX_DEPTH 100

/* A cursor over one message: bytes [pos, end) of `base`. Offsets are
 * relative to `base`, i.e. file offsets for a whole-file buffer. */
typedef struct lens_pb {
    const uint8_t *base;
    size_t pos, end;
    const char *msg; /* message type being read ("ModelProto"), for errors */
    int depth;
} lens_pb;

typedef struct lens_pb_field {
    uint32_t num, wt;
    uint64_t u;      /* value of VARINT / I64 / I32 fields */
    size_t off, len; /* LEN fields: payload position in base and length */
    size_t at;       /* offset of the tag */
} lens_pb_field;

void lens_pb_init(lens_pb *r, const uint8_t *base, size_t size, const char *msg);
static inline bool lens_pb_more(const lens_pb *r) { return r->pos < r->end; }
/* Read the next field (consuming its value entirely: unknown fields are
 * skipped by simply not looking at them). Groups and invalid wire types are
 * refused. */
lens_status lens_pb_next(lens_pb *r, lens_pb_field *f);
/* Cursor over the embedded message in LEN field f (checks the depth). */
lens_status lens_pb_sub(const lens_pb *r, const lens_pb_field *f, const char *msg, lens_pb *sub);
/* Fail unless f has wire type `wt`; `fname` is the field's schema name. */
lens_status lens_pb_want(const lens_pb *r, const lens_pb_field *f, uint32_t wt, const char *fname);

/* Repeated scalar fields may be written unpacked (one field per element, of
 * wire type elem_wt) or packed (one LEN field holding the elements). */
typedef struct lens_pb_rep {
    const uint8_t *p; /* packed: next element */
    size_t left;      /* packed: bytes left */
    uint32_t elem_wt;
    bool single, done;
    uint64_t u;
} lens_pb_rep;
/* Validate f as a repeated scalar of element wire type elem_wt (VARINT, I64
 * or I32), count its elements and prepare iteration. */
lens_status lens_pb_rep_init(const lens_pb *r, const lens_pb_field *f, uint32_t elem_wt,
                             const char *fname, lens_pb_rep *it, size_t *count);
/* Next element (raw bits); false at the end. */
bool lens_pb_rep_next(lens_pb_rep *it, uint64_t *v);

/* Little-endian fixed-width loads that do not depend on the host order. */
static inline uint32_t lens_pb_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t lens_pb_le64(const uint8_t *p) {
    return (uint64_t)lens_pb_le32(p) | (uint64_t)lens_pb_le32(p + 4) << 32;
}

#endif
