/* Placeholder: operators of the 'norm' family are added here. */
#include "ops/op.h"

static const lens_op ops[] = {{"", "__none_norm", 1 << 30, 0, 0, NULL, NULL, NULL}};
LENS_OP_TABLE(norm, ops);
