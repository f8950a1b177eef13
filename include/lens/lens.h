/* lens: run PyTorch-exported ONNX vision models from C.
 * Umbrella header: include this one. See engine.h for the inference API. */
#ifndef LENS_LENS_H
#define LENS_LENS_H
#include "lens/engine.h"
#endif
