/* Placeholder: operators of the 'conv' family are added here. */
#include "ops/op.h"

static const lens_op ops[] = {{"", "__none_conv", 1 << 30, 0, 0, NULL, NULL, NULL}};
LENS_OP_TABLE(conv, ops);
