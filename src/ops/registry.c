/* Operator lookup across the family tables. */
#include <string.h>

#include "ops/op.h"

extern const lens_op_table lens_ops_elementwise, lens_ops_shape, lens_ops_gather, lens_ops_reduce,
    lens_ops_norm, lens_ops_pool, lens_ops_resize, lens_ops_conv, lens_ops_gemm, lens_ops_control,
    lens_ops_detection, lens_ops_misc, lens_ops_loss, lens_ops_signal, lens_ops_quant, lens_ops_conv_nhwc;

static const lens_op_table *const g_tables[] = {
    &lens_ops_elementwise, &lens_ops_shape, &lens_ops_gather,  &lens_ops_reduce,
    &lens_ops_norm,        &lens_ops_pool,  &lens_ops_resize,  &lens_ops_conv,
    &lens_ops_gemm,        &lens_ops_control, &lens_ops_detection, &lens_ops_misc,
    &lens_ops_loss,        &lens_ops_signal, &lens_ops_quant, &lens_ops_conv_nhwc,
};

const lens_op *lens_op_find(const char *domain, const char *op_type, int64_t opset) {
    const lens_op *best = NULL;
    if (!domain) domain = "";
    for (size_t t = 0; t < LENS_ARRAY_LEN(g_tables); t++) {
        const lens_op_table *tab = g_tables[t];
        for (size_t i = 0; i < tab->count; i++) {
            const lens_op *op = &tab->ops[i];
            if (strcmp(op->op_type, op_type) || strcmp(op->domain, domain)) continue;
            if (op->since_version > opset) continue;
            if (!best || op->since_version > best->since_version) best = op;
        }
    }
    return best;
}
