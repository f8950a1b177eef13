/* The vision commands of the lens tool (classify, detect, segment, verify)
 * and what they share with `lens info`. */
#ifndef LENS_CLI_VISION_CLI_H
#define LENS_CLI_VISION_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "cli/cli.h"
#include "lens/vision.h"

extern const cli_command cli_cmd_classify, cli_cmd_detect, cli_cmd_segment, cli_cmd_verify;

/* Class names from a text file, one per line (trailing blank lines and \r
 * ignored; an empty line before a label is an error). *labels is a malloc'd
 * array of malloc'd strings: free each and the array. */
lens_status cli_read_labels(const char *path, char ***labels, size_t *count);

/* What the vision pipeline reads from a model's metadata and shapes, for
 * `lens info`: text lines (indented) or, with json, the value of a
 * "vision" member. All arguments borrowed. */
void cli_vision_info(FILE *f, bool json, size_t n_meta, const char *const *keys, const char *const *values,
                     size_t n_in, const lens_value_info *ins, size_t n_out, const lens_value_info *outs);

#endif
