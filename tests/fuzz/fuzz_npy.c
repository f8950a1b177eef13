/* Fuzz target: .npy bytes -> lens_npy_read_memory (src/io/npy.h).
 * Every accepted file must describe a buffer as large as its shape says. */
#include "fuzz_common.h"
#include "io/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lens_tensor t;
    lens_status st = lens_npy_read_memory(data, size, &t);
    if (st != LENS_OK) {
        fuzz_touch_string(lens_last_error());
        return 0;
    }
    if (t.ndim < 0 || t.ndim > LENS_MAX_DIMS) __builtin_trap();
    fuzz_touch_tensor(&t);
    lens_aligned_free(t.data);
    return 0;
}
