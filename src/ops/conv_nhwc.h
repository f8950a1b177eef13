/* Channels-last (NHWC) operators of the internal "lens" domain, since
 * version 1, that the layout pass (graph/layout.c) puts where a region of
 * the graph runs channels-last. Compute is the nhwc kernel family
 * (kernels/conv_nhwc.h).
 *
 *   lens.ConvNhwc(X [N,H,W,C], W [M,C/group,KH,KW] constant, B [M]?,
 *                 R [N,OH,OW,M]?) -> Y [N,OH,OW,M]
 *       ONNX Conv-11's attributes (kernel_shape, strides, pads, dilations,
 *       group, auto_pad; auto_pad resolved at run time), 2-D only, group 1
 *       (an indirect GEMM) or group == C == M (depthwise). R is a residual
 *       of Y's exact shape added before the activation the optimiser fused
 *       (node->fused_act, fused_alpha, fused_beta, as on Conv). W is packed
 *       once at load into node->state, the only packed copy; the op never
 *       reads W again and marks it packed (lens_node_mark_packed), so the
 *       model releases W's data after load: the weights are held once.
 *   lens.MaxPoolNhwc(X [N,H,W,C]) -> Y [N,OH,OW,C]
 *       ONNX MaxPool-12's attributes (kernel_shape, strides, pads,
 *       dilations, ceil_mode, auto_pad; storage_order is irrelevant without
 *       the Indices output, which this op has not). NaN inputs are skipped
 *       as by the NCHW MaxPool (kernels/maxpool.h).
 *   lens.AveragePoolNhwc(X) -> Y: AveragePool-11's (kernel_shape, strides,
 *       pads, ceil_mode, count_include_pad, auto_pad).
 *   lens.GlobalAveragePoolNhwc(X [N,H,W,C]) -> Y [N,1,1,C].
 *
 * Every one validates its attributes and shapes as an ONNX op does: a
 * model file may name the "lens" domain itself. */
#ifndef LENS_OPS_CONV_NHWC_H
#define LENS_OPS_CONV_NHWC_H

#include "graph/ir.h"

/* Whether ConvNhwc can take ONNX Conv node `conv` of graph `g` (both
 * borrowed for the call): float32 4-D X, constant float32 4-D W, a 2-D
 * kernel, group 1 or depthwise (group == C == M, one input channel per
 * filter), at most LENS_NHWC_ZERO_FLOATS input channels, valid attributes,
 * and a fused residual (input 3), if any, whose known shape is the output's
 * (an NCHW [N,M,OH,OW]: the pass transposes it). False, too, on a CPU
 * where the nhwc family has only its scalar reference (neither AVX2+FMA
 * nor AVX-512: the NCHW kernels are many times faster there). Pure:
 * changes nothing. */
bool lens_conv_nhwc_eligible(const lens_graph *g, const lens_node *conv);

/* Eligible, and not a layer the NCHW Conv runs much faster. Measured at 1
 * thread (tests/unit/test_conv_nhwc.c's LENS_NHWC_BENCH mode and whole
 * models with the layout pass): dense 3x3 stride-1 convs that take
 * Winograd there (ops/conv_winograd.h) run about 2x faster as Winograd
 * than as this op's direct indirect GEMM (resnet18's 3x3 64->64 at 56x56:
 * 0.67 against 1.40 ms), and large-dilation convs that the NCHW path runs
 * tap by tap skipping padding (ops/conv_dilated.h) stay 10-20% faster
 * there (deeplabv3's ASPP d=12: 31 against 36 ms). A hint for the layout
 * pass, which also weighs the transposes at a region's edges. */
bool lens_conv_nhwc_preferred(const lens_graph *g, const lens_node *conv);

/* Whether MaxPoolNhwc / AveragePoolNhwc / GlobalAveragePoolNhwc can take
 * ONNX node `pool` (MaxPool without a used Indices output, AveragePool
 * without dilations, GlobalAveragePool): float32 4-D input of at most
 * LENS_NHWC_ZERO_FLOATS channels, 2-D window, valid attributes; false
 * where the family has only its reference (as above). Pure. */
bool lens_pool_nhwc_eligible(const lens_graph *g, const lens_node *pool);

#endif
