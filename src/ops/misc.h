/* Operators of the misc family that live in their own files; misc.c holds
 * the family table. */
#ifndef LENS_OPS_MISC_H
#define LENS_OPS_MISC_H

#include "ops/op.h"

/* misc_einsum.c: Einsum-12 */
lens_status lens_op_einsum_run(const lens_node *node, lens_exec *ex);
/* misc_random.c: RandomUniform/Normal(-Like)-1, Bernoulli-15 */
lens_status lens_op_random_uniform_run(const lens_node *node, lens_exec *ex);
lens_status lens_op_random_normal_run(const lens_node *node, lens_exec *ex);
lens_status lens_op_random_uniform_like_run(const lens_node *node, lens_exec *ex);
lens_status lens_op_random_normal_like_run(const lens_node *node, lens_exec *ex);
lens_status lens_op_bernoulli_run(const lens_node *node, lens_exec *ex);
/* misc_gridsample.c: GridSample-16 */
lens_status lens_op_gridsample_run(const lens_node *node, lens_exec *ex);

#endif
