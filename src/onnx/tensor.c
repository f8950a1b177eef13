/* TensorProto decoding: dims, data type and the values from raw_data, the
 * typed repeated fields or external data (onnx.proto, TensorProto). */
#include "core/tensor.h"
#include "onnx/internal.h"

#include <stdio.h>
#include <sys/mman.h>

/* raw_data is little-endian by specification; it is used in place (or
 * memcpy'd), which is only right on a little-endian host. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lens reads ONNX raw_data in place and requires a little-endian host"
#endif

/* TensorProto field numbers. */
enum {
    TP_DIMS = 1,
    TP_DATA_TYPE = 2,
    TP_SEGMENT = 3,
    TP_FLOAT_DATA = 4,
    TP_INT32_DATA = 5,
    TP_STRING_DATA = 6,
    TP_INT64_DATA = 7,
    TP_NAME = 8,
    TP_RAW_DATA = 9,
    TP_DOUBLE_DATA = 10,
    TP_UINT64_DATA = 11,
    TP_EXTERNAL_DATA = 13,
    TP_DATA_LOCATION = 14,
};

void lens_onnx_limits_resolve(const lens_limits *in, lens_limits *out) {
    if (in)
        *out = *in;
    else
        memset(out, 0, sizeof *out);
    if (!out->max_file_bytes) out->max_file_bytes = 4ull << 30;
    if (!out->max_tensor_elements) out->max_tensor_elements = 1ull << 31;
    if (!out->max_tensor_bytes) out->max_tensor_bytes = 4ull << 30;
    if (!out->max_plan_bytes) out->max_plan_bytes = 16ull << 30;
    if (!out->max_nodes) out->max_nodes = 1000000;
    if (!out->max_graph_depth) out->max_graph_depth = 16;
}

/* Which typed field holds the values of each data type (TensorProto
 * comments): 16-bit floats travel as their bit patterns in int32_data. */
static uint32_t typed_field_for(lens_dtype dt) {
    switch (dt) {
    case LENS_DTYPE_FLOAT: return TP_FLOAT_DATA;
    case LENS_DTYPE_INT32: case LENS_DTYPE_INT16: case LENS_DTYPE_INT8: case LENS_DTYPE_UINT16:
    case LENS_DTYPE_UINT8: case LENS_DTYPE_BOOL: case LENS_DTYPE_FLOAT16: case LENS_DTYPE_BFLOAT16:
        return TP_INT32_DATA;
    case LENS_DTYPE_INT64: return TP_INT64_DATA;
    case LENS_DTYPE_DOUBLE: return TP_DOUBLE_DATA;
    case LENS_DTYPE_UINT32: case LENS_DTYPE_UINT64: return TP_UINT64_DATA;
    default: return 0;
    }
}

static const char *typed_field_name(uint32_t f) {
    switch (f) {
    case TP_FLOAT_DATA: return "float_data";
    case TP_INT32_DATA: return "int32_data";
    case TP_INT64_DATA: return "int64_data";
    case TP_DOUBLE_DATA: return "double_data";
    case TP_UINT64_DATA: return "uint64_data";
    default: return "?";
    }
}

static uint32_t typed_field_wt(uint32_t f) {
    switch (f) {
    case TP_FLOAT_DATA: return LENS_PB_I32;
    case TP_DOUBLE_DATA: return LENS_PB_I64;
    default: return LENS_PB_VARINT;
    }
}

/* Store one typed-field element (raw bits as read) as element i of dst. */
static void store_typed(lens_dtype dt, void *dst, size_t i, uint64_t v) {
    switch (dt) {
    case LENS_DTYPE_FLOAT: case LENS_DTYPE_INT32: case LENS_DTYPE_UINT32: {
        uint32_t u = (uint32_t)v;
        memcpy((uint8_t *)dst + 4 * i, &u, 4);
        break;
    }
    case LENS_DTYPE_INT16: case LENS_DTYPE_UINT16: case LENS_DTYPE_FLOAT16: case LENS_DTYPE_BFLOAT16: {
        uint16_t u = (uint16_t)v;
        memcpy((uint8_t *)dst + 2 * i, &u, 2);
        break;
    }
    case LENS_DTYPE_INT8: case LENS_DTYPE_UINT8: ((uint8_t *)dst)[i] = (uint8_t)v; break;
    case LENS_DTYPE_BOOL: ((uint8_t *)dst)[i] = v != 0; break;
    case LENS_DTYPE_INT64: case LENS_DTYPE_UINT64: case LENS_DTYPE_DOUBLE:
        memcpy((uint8_t *)dst + 8 * i, &v, 8);
        break;
    default: break;
    }
}

static bool dtype_supported(int64_t dt) {
    switch (dt) {
    case LENS_DTYPE_FLOAT: case LENS_DTYPE_UINT8: case LENS_DTYPE_INT8: case LENS_DTYPE_UINT16:
    case LENS_DTYPE_INT16: case LENS_DTYPE_INT32: case LENS_DTYPE_INT64: case LENS_DTYPE_BOOL:
    case LENS_DTYPE_FLOAT16: case LENS_DTYPE_DOUBLE: case LENS_DTYPE_UINT32: case LENS_DTYPE_UINT64:
    case LENS_DTYPE_BFLOAT16:
        return true;
    default: return false;
    }
}

static void *alloc_data(const lens_onnx_ctx *c, size_t nbytes) {
    /* Never NULL for an empty tensor: a NULL data pointer reads as "absent".
     * Large copies go into releasable pieces of the arena: the model frees
     * them once the operators that read them have packed them. */
    if (c->arena && nbytes >= LENS_ARENA_PIECE_MIN) return lens_arena_alloc_releasable(c->arena, nbytes);
    if (c->arena) return lens_arena_alloc(c->arena, nbytes ? nbytes : 1);
    return lens_aligned_alloc(nbytes ? nbytes : 64);
}

lens_status lens_onnx_decode_tensor(const lens_onnx_ctx *c, const lens_pb *msg, lens_tensor *out,
                                    const uint8_t **name_p, size_t *name_len_p) {
    lens_pb r = *msg;
    lens_pb_field f;
    uint64_t dims[LENS_MAX_DIMS];
    size_t nd = 0, n_typed[16] = {0}, n_strings = 0, n_ext = 0;
    int64_t dt = 0, location = 0;
    bool has_raw = false, has_segment = false;
    size_t raw_off = 0, raw_len = 0;
    const uint8_t *name = (const uint8_t *)"";
    size_t name_len = 0;

    memset(out, 0, sizeof *out);
    /* Pass 1: scalars, spans and element counts. The name usually comes
     * after dims and data, so checks that name the tensor wait until the
     * whole message has been seen. */
    while (lens_pb_more(&r)) {
        LENS_TRY(lens_pb_next(&r, &f));
        lens_pb_rep it;
        size_t cnt;
        uint64_t v;
        switch (f.num) {
        case TP_DIMS:
            LENS_TRY(lens_pb_rep_init(&r, &f, LENS_PB_VARINT, "dims", &it, &cnt));
            while (lens_pb_rep_next(&it, &v)) {
                if (nd < LENS_MAX_DIMS) dims[nd] = v;
                nd++;
            }
            break;
        case TP_DATA_TYPE:
            LENS_TRY(lens_pb_want(&r, &f, LENS_PB_VARINT, "data_type"));
            dt = (int64_t)f.u;
            break;
        case TP_SEGMENT: has_segment = true; break;
        case TP_FLOAT_DATA: case TP_INT32_DATA: case TP_INT64_DATA: case TP_DOUBLE_DATA: case TP_UINT64_DATA:
            LENS_TRY(lens_pb_rep_init(&r, &f, typed_field_wt(f.num), typed_field_name(f.num), &it, &cnt));
            n_typed[f.num] += cnt; /* cannot overflow: each element takes at least one byte */
            break;
        case TP_STRING_DATA: n_strings++; break;
        case TP_NAME:
            LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "name"));
            name = r.base + f.off;
            name_len = f.len;
            break;
        case TP_RAW_DATA:
            LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "raw_data"));
            has_raw = true;
            raw_off = f.off;
            raw_len = f.len;
            break;
        case TP_EXTERNAL_DATA:
            LENS_TRY(lens_pb_want(&r, &f, LENS_PB_LEN, "external_data"));
            n_ext++;
            break;
        case TP_DATA_LOCATION:
            LENS_TRY(lens_pb_want(&r, &f, LENS_PB_VARINT, "data_location"));
            location = (int64_t)f.u;
            break;
        default: break;
        }
    }

    /* Printable name for messages (names may hold anything). */
    char tn[96];
    {
        size_t k = 0;
        for (size_t i = 0; i < name_len && k + 4 < sizeof tn; i++)
            tn[k++] = (name[i] >= 0x20 && name[i] < 0x7f) ? (char)name[i] : '?';
        if (name_len > k) {
            tn[k++] = '.';
            tn[k++] = '.';
            tn[k++] = '.';
        }
        tn[k] = 0;
    }

    if (has_segment)
        return lens_error(LENS_STATUS_UNSUPPORTED, "tensor '%s': segmented tensors (TensorProto.segment) are not supported",
                          tn);
    if (!dtype_supported(dt))
        return lens_error(LENS_STATUS_UNSUPPORTED, "tensor '%s': data type %lld (%s) is not supported", tn,
                          (long long)dt,
                          dt >= 0 && dt <= LENS_DTYPE_BFLOAT16 ? lens_dtype_name((lens_dtype)dt) : "unknown");
    if (nd > LENS_MAX_DIMS)
        return lens_error(LENS_STATUS_UNSUPPORTED, "tensor '%s' has %zu dimensions; lens supports at most %d", tn,
                          nd, LENS_MAX_DIMS);
    out->dtype = (lens_dtype)dt;
    out->ndim = (int32_t)nd;
    for (size_t i = 0; i < nd; i++) {
        int64_t d = (int64_t)dims[i];
        if (d < 0)
            return lens_error(LENS_STATUS_INVALID_MODEL, "tensor '%s': dimension %zu is negative (%lld)", tn, i,
                              (long long)d);
        out->dims[i] = d;
    }
    char shp[160];
    lens_shape_str(out->ndim, out->dims, shp, sizeof shp);
    /* The element limit applies to the product of the non-zero dims: an
     * empty tensor with dims [0, 2^40, 2^40] would make every operator's
     * partial products of its dims overflow. */
    int64_t numel = 0, extent = 0;
    bool ovf = !lens_shape_extent(out->ndim, out->dims, &extent) || !lens_shape_numel(out->ndim, out->dims, &numel);
    size_t esize = lens_dtype_size(out->dtype), nbytes = 0;
    if (ovf || (uint64_t)extent > c->limits->max_tensor_elements)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "tensor '%s': dims %s have more than %llu elements", tn, shp,
                          (unsigned long long)c->limits->max_tensor_elements);
    if (lens_mul_ovf_size((size_t)numel, esize, &nbytes) || nbytes > c->limits->max_tensor_bytes)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "tensor '%s': dims %s need more than %llu bytes", tn, shp,
                          (unsigned long long)c->limits->max_tensor_bytes);

    size_t n_any_typed = 0;
    for (size_t i = 0; i < LENS_ARRAY_LEN(n_typed); i++) n_any_typed += n_typed[i];
    if (n_strings)
        return lens_error(LENS_STATUS_INVALID_MODEL, "tensor '%s' (%s) has string_data", tn,
                          lens_dtype_name(out->dtype));

    if (location != 0 && location != 1)
        return lens_error(LENS_STATUS_INVALID_MODEL, "tensor '%s': invalid data_location %lld", tn,
                          (long long)location);
    if (location == 1) {
        if (has_raw || n_any_typed)
            return lens_error(LENS_STATUS_INVALID_MODEL, "tensor '%s' has external data and also data in the file",
                              tn);
        if (c->standalone)
            return lens_error(LENS_STATUS_UNSUPPORTED,
                              "tensor '%s': external data is not supported for a standalone tensor", tn);
        if (!c->base_dir)
            return lens_error(LENS_STATUS_INVALID_ARGUMENT,
                              "tensor '%s': external data not allowed for in-memory models", tn);
        void *dst = alloc_data(c, nbytes);
        if (!dst) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "tensor '%s': out of memory (%zu bytes)", tn, nbytes);
        lens_status st = lens_onnx_read_external(c, msg, tn, nbytes, dst);
        if (st != LENS_OK) {
            if (!c->arena) lens_aligned_free(dst);
            return st;
        }
        out->data = dst;
    } else if (n_ext) {
        return lens_error(LENS_STATUS_INVALID_MODEL, "tensor '%s' has external_data entries but data_location is not EXTERNAL",
                          tn);
    } else if (has_raw) {
        if (n_any_typed)
            return lens_error(LENS_STATUS_INVALID_MODEL, "tensor '%s' has both raw_data and typed data fields", tn);
        if (raw_len != nbytes)
            return lens_error(LENS_STATUS_INVALID_MODEL, "tensor '%s': raw_data has %zu bytes, dims %s need %zu", tn,
                              raw_len, shp, nbytes);
        const uint8_t *src = r.base + raw_off;
        if (c->arena && nbytes && ((uintptr_t)src % esize) == 0) {
            /* Zero-copy: the buffer outlives the graph by contract. */
            out->data = (void *)(uintptr_t)src;
        } else {
            void *dst = alloc_data(c, nbytes);
            if (!dst)
                return lens_error(LENS_STATUS_OUT_OF_MEMORY, "tensor '%s': out of memory (%zu bytes)", tn, nbytes);
            if (nbytes) memcpy(dst, src, nbytes);
            out->data = dst;
            if (c->drop_page) {
                /* lens's own mapping: the pages that held only these bytes
                 * are not read again (lens_onnx_parse_mapped). */
                uintptr_t p = (uintptr_t)src, pg = c->drop_page;
                uintptr_t first = (p + pg - 1) / pg * pg, end = (p + nbytes) / pg * pg;
                if (end > first) (void)madvise((void *)first, end - first, MADV_DONTNEED);
            }
        }
    } else {
        uint32_t want = typed_field_for(out->dtype);
        for (uint32_t k = 0; k < LENS_ARRAY_LEN(n_typed); k++)
            if (k != want && n_typed[k])
                return lens_error(LENS_STATUS_INVALID_MODEL, "tensor '%s' (%s) stores its values in %s; expected %s",
                                  tn, lens_dtype_name(out->dtype), typed_field_name(k), typed_field_name(want));
        if ((uint64_t)n_typed[want] != (uint64_t)numel)
            return lens_error(LENS_STATUS_INVALID_MODEL, "tensor '%s': %s has %zu values, dims %s need %lld", tn,
                              typed_field_name(want), n_typed[want], shp, (long long)numel);
        void *dst = alloc_data(c, nbytes);
        if (!dst) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "tensor '%s': out of memory (%zu bytes)", tn, nbytes);
        /* Pass 2: the values (the message was validated by pass 1). */
        size_t i = 0;
        lens_pb r2 = *msg;
        while (lens_pb_more(&r2) && i < (size_t)numel) {
            if (lens_pb_next(&r2, &f) != LENS_OK) break;
            if (f.num != want) continue;
            lens_pb_rep it;
            size_t cnt;
            uint64_t v;
            if (lens_pb_rep_init(&r2, &f, typed_field_wt(want), typed_field_name(want), &it, &cnt) != LENS_OK) break;
            while (i < (size_t)numel && lens_pb_rep_next(&it, &v)) store_typed(out->dtype, dst, i++, v);
        }
        if (i != (size_t)numel) {
            if (!c->arena) lens_aligned_free(dst);
            return lens_error(LENS_STATUS_INTERNAL, "tensor '%s': decoded %zu of %lld values", tn, i,
                              (long long)numel);
        }
        out->data = dst;
    }
    if (!out->data) {
        out->data = alloc_data(c, 0);
        if (!out->data) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "tensor '%s': out of memory", tn);
    }
    if (name_p) *name_p = name;
    if (name_len_p) *name_len_p = name_len;
    return LENS_OK;
}

lens_status lens_onnx_read_tensor(const void *data, size_t size, lens_tensor *out, char **name) {
    if (!data && size) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_onnx_read_tensor: data is NULL");
    if (!out) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "lens_onnx_read_tensor: out is NULL");
    lens_limits lim;
    lens_onnx_limits_resolve(NULL, &lim);
    lens_onnx_ctx c;
    memset(&c, 0, sizeof c);
    c.standalone = true;
    c.limits = &lim;
    lens_pb r;
    lens_pb_init(&r, data ? data : (const void *)"", size, "TensorProto");
    const uint8_t *nm;
    size_t nl;
    LENS_TRY(lens_onnx_decode_tensor(&c, &r, out, &nm, &nl));
    if (name) {
        *name = lens_strndup((const char *)nm, nl);
        if (!*name) {
            lens_aligned_free(out->data);
            out->data = NULL;
            return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory copying a tensor name");
        }
    }
    return LENS_OK;
}
