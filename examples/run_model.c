/* Example: run any ONNX model on zero-filled inputs and print its outputs'
 * shapes, using only the installed public API (engine.h).
 *
 *   cc run_model.c $(pkg-config --cflags --libs lens) -o run_model
 *   ./run_model model.onnx
 */
#include <stdio.h>
#include <stdlib.h>

#include <lens/lens.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.onnx\n", argv[0]);
        return 2;
    }
    lens_model *model = NULL;
    if (lens_model_open(argv[1], NULL, &model) != LENS_OK) {
        fprintf(stderr, "%s\n", lens_last_error());
        return 1;
    }
    size_t n = lens_model_input_count(model);
    lens_tensor *inputs = calloc(n ? n : 1, sizeof *inputs);
    int rc = inputs ? 0 : 1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        lens_value_info info;
        if (lens_model_input_info(model, i, &info) != LENS_OK) {
            rc = 1;
            break;
        }
        inputs[i].dtype = info.dtype;
        inputs[i].ndim = info.ndim;
        size_t count = 1;
        for (int32_t d = 0; d < info.ndim; d++) {
            inputs[i].dims[d] = info.dims[d] > 0 ? info.dims[d] : 1; /* symbolic dims: 1 */
            count *= (size_t)inputs[i].dims[d];
        }
        inputs[i].data = calloc(count ? count : 1, lens_dtype_size(info.dtype));
        if (!inputs[i].data) rc = 1;
    }
    lens_session *session = NULL;
    if (rc == 0 && (lens_session_create(model, NULL, &session) != LENS_OK ||
                    lens_session_run(session, n, inputs) != LENS_OK)) {
        fprintf(stderr, "%s\n", lens_last_error());
        rc = 1;
    }
    for (size_t o = 0; rc == 0 && o < lens_model_output_count(model); o++) {
        lens_tensor out;
        if (lens_session_output(session, o, &out) != LENS_OK) {
            rc = 1;
            break;
        }
        printf("output %zu: %s [", o, lens_dtype_name(out.dtype));
        for (int32_t d = 0; d < out.ndim; d++) printf(d ? ", %lld" : "%lld", (long long)out.dims[d]);
        printf("]\n");
    }
    printf("lens %s\n", lens_version());
    lens_session_free(session);
    for (size_t i = 0; i < n && inputs; i++) free(inputs[i].data);
    free(inputs);
    lens_model_free(model);
    return rc;
}
