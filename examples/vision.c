/* Example: the whole vision job from C with the installed library — open a
 * model, let its metadata say the task and preprocessing, run it on one
 * image and print the result as one JSON line.
 *
 *   cc vision.c $(pkg-config --cflags --libs lens) -o vision
 *   ./vision models/shapes_det.onnx models/samples/shapes_1.png
 */
#include <stdio.h>
#include <stdlib.h>

#include <lens/lens.h>

static int fail(void) {
    fprintf(stderr, "error: %s\n", lens_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.onnx IMAGE\n", argv[0]);
        return 2;
    }
    int rc = 1;
    lens_model *model = NULL;
    lens_pipeline *pipe = NULL;
    lens_vision_session *s = NULL;
    lens_image img = {0};
    char *json = NULL;
    if (lens_model_open(argv[1], NULL, &model) != LENS_OK) return fail();
    /* NULL options: the task, preprocessing and labels come from the model. */
    if (lens_pipeline_create(model, NULL, &pipe) != LENS_OK ||
        lens_vision_session_create(pipe, NULL, &s) != LENS_OK) {
        rc = fail();
        goto done;
    }
    lens_decode_options dopt = {0};
    lens_pipeline_decode_options(pipe, &dopt);
    if (lens_image_decode_file(argv[2], &dopt, &img) != LENS_OK) {
        rc = fail();
        goto done;
    }
    lens_status st = LENS_STATUS_INVALID_ARGUMENT;
    switch (lens_pipeline_config(pipe)->task) {
    case LENS_TASK_CLASSIFY: {
        lens_classification c;
        st = lens_classify(s, &img, &c);
        if (st == LENS_OK) {
            st = lens_classification_json(&c, argv[2], &json);
            lens_classification_free(&c);
        }
        break;
    }
    case LENS_TASK_DETECT: {
        lens_detections d;
        st = lens_detect(s, &img, &d);
        if (st == LENS_OK) {
            st = lens_detections_json(&d, argv[2], &json);
            lens_detections_free(&d);
        }
        break;
    }
    case LENS_TASK_SEGMENT: {
        lens_segmentation seg;
        st = lens_segment(s, &img, &seg);
        if (st == LENS_OK) {
            st = lens_segmentation_json(&seg, argv[2], &json);
            lens_segmentation_free(&seg);
        }
        break;
    }
    default:
        fprintf(stderr, "error: the model does not say its task\n");
        goto done;
    }
    if (st != LENS_OK) {
        rc = fail();
        goto done;
    }
    printf("%s\n", json);
    rc = 0;
done:
    free(json);
    lens_image_release(&img);
    lens_vision_session_free(s);
    lens_pipeline_free(pipe);
    lens_model_free(model);
    return rc;
}
