/* Placeholder: operators of the 'pool' family are added here. */
#include "ops/op.h"

static const lens_op ops[] = {{"", "__none_pool", 1 << 30, 0, 0, NULL, NULL, NULL}};
LENS_OP_TABLE(pool, ops);
