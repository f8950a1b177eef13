/* Placeholder: operators of the 'resize' family are added here. */
#include "ops/op.h"

static const lens_op ops[] = {{"", "__none_resize", 1 << 30, 0, 0, NULL, NULL, NULL}};
LENS_OP_TABLE(resize, ops);
