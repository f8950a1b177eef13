/* Fuzz target: serialized ONNX TensorProto bytes (the backend test data .pb
 * files that `lens run --input` also reads) -> lens_onnx_read_tensor. */
#include "core/common.h"
#include "fuzz_common.h"
#include "onnx/onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lens_tensor t;
    char *name = NULL;
    lens_status st = lens_onnx_read_tensor(data, size, &t, &name);
    if (st != LENS_OK) {
        fuzz_touch_string(lens_last_error());
        return 0;
    }
    if (t.ndim < 0 || t.ndim > LENS_MAX_DIMS) __builtin_trap();
    fuzz_touch_tensor(&t);
    fuzz_touch_string(name);
    lens_aligned_free(t.data);
    lens_free(name);
    return 0;
}
