/* Placeholder: operators of the 'control' family are added here. */
#include "ops/op.h"

static const lens_op ops[] = {{"", "__none_control", 1 << 30, 0, 0, NULL, NULL, NULL}};
LENS_OP_TABLE(control, ops);
