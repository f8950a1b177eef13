/* lens: run PyTorch-exported ONNX vision models from C.
 * Umbrella header: include this one. See engine.h for the inference API,
 * image.h for decoding and preprocessing, vision.h for the task pipelines. */
#ifndef LENS_LENS_H
#define LENS_LENS_H
#include "lens/engine.h"
#include "lens/vision.h" /* includes lens/image.h */
#endif
