/* The sliding-window output rule shared by every operator that has one
 * (Conv, MaxPool, AveragePool, LpPool and their channels-last twins) and by
 * the static shape inference (graph/shape_infer.c), so the layout pass's
 * estimates and the operators' results cannot disagree. */
#ifndef LENS_OPS_WINDOW_H
#define LENS_OPS_WINDOW_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/common.h"

typedef enum lens_autopad {
    LENS_AUTOPAD_NOTSET = 0,
    LENS_AUTOPAD_SAME_UPPER,
    LENS_AUTOPAD_SAME_LOWER,
    LENS_AUTOPAD_VALID
} lens_autopad;

/* The auto_pad attribute's value, or -1 when it is none of ONNX's ("" counts
 * as NOTSET). */
static inline int lens_autopad_parse(const char *ap) {
    if (!ap[0] || !strcmp(ap, "NOTSET")) return LENS_AUTOPAD_NOTSET;
    if (!strcmp(ap, "SAME_UPPER")) return LENS_AUTOPAD_SAME_UPPER;
    if (!strcmp(ap, "SAME_LOWER")) return LENS_AUTOPAD_SAME_LOWER;
    if (!strcmp(ap, "VALID")) return LENS_AUTOPAD_VALID;
    return -1;
}

/* Output length of one axis: input `in`, kernel `k`, stride `s`, dilation
 * `d`, pads *pb / *pe (replaced by the resolved pads under SAME_* and VALID).
 * ceil_mode (pools) rounds up, then drops a last window that would start in
 * the end padding (PyTorch's rule, which its exports assume). Returns -1
 * when the dilated kernel does not fit the padded input. The caller keeps
 * in, k, s, d, pads within 1..2^40 (pads from 0), so nothing overflows. */
static inline int64_t lens_window_out(int64_t in, int64_t k, int64_t s, int64_t d, int autopad, bool ceil_mode,
                                      int64_t *pb, int64_t *pe) {
    int64_t ext = (k - 1) * d + 1;
    if (autopad == LENS_AUTOPAD_SAME_UPPER || autopad == LENS_AUTOPAD_SAME_LOWER) {
        int64_t out = (in + s - 1) / s;
        int64_t total = LENS_MAX(0, (out - 1) * s + ext - in);
        *pb = autopad == LENS_AUTOPAD_SAME_UPPER ? total / 2 : total - total / 2;
        *pe = total - *pb;
        return out;
    }
    if (autopad == LENS_AUTOPAD_VALID) *pb = *pe = 0;
    int64_t span = in + *pb + *pe - ext;
    if (span < 0) return -1;
    int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (out - 1) * s >= in + *pb) out--;
    return out;
}

#endif
