/* Test-only helper for the Python image parity tests: decode an image with
 * lens, optionally preprocess it, and write the result as .npy.
 *
 *   dump_tensor IN OUT.npy [options]
 *     --decode-only            write the decoded pixels (H x W x channels, uint8)
 *     --format rgb|bgr|gray|rgba|bgra   decoded pixel format (default rgb)
 *     --target WxH             decode target (enables DCT-scaled JPEG decoding)
 *     --no-scaled              never decode scaled
 *     --ignore-exif
 *     --max-pixels N
 *     --size WxH               model input size (default 224x224)
 *     --resize stretch|letterbox|crop   --short N   --pad V
 *     --interp bilinear|area   --channels rgb|bgr|gray
 *     --scale S  --mean a,b,c  --std a,b,c
 *     --layout nchw|nhwc       --dtype float|uint8
 *     --time N                 run the preprocessing N more times, print the
 *                              fastest in ms ("time_ms <x>") on stdout
 *     --time-decode N          decode N more times, print the fastest
 *                              ("decode_ms <x>")
 * Prints "decoded <w> <h> source <sw> <sh>" and, when preprocessing,
 * "transform <sx> <sy> <ox> <oy>" on stdout. Exit 1 with lens's message on
 * stderr when lens fails, 2 on bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/npy.h"
#include "lens/image.h"

static int usage(const char *msg) {
    fprintf(stderr, "dump_tensor: %s\n", msg);
    return 2;
}

static int parse_format(const char *s, lens_pixel_format *f) {
    static const char *names[] = {"", "gray", "rgb", "bgr", "rgba", "bgra"};
    for (int i = 1; i < 6; i++)
        if (strcmp(s, names[i]) == 0) {
            *f = (lens_pixel_format)i;
            return 0;
        }
    return -1;
}

static int parse3(const char *s, float v[3]) {
    return sscanf(s, "%f,%f,%f", &v[0], &v[1], &v[2]) == 3 ? 0 : -1;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 3) return usage("usage: dump_tensor IN OUT.npy [options]");
    const char *in = argv[1], *outp = argv[2];
    lens_decode_options dopt = {0};
    lens_preprocess pp;
    lens_preprocess_default(&pp);
    int decode_only = 0, repeat = 0, repeat_decode = 0;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--decode-only") == 0) decode_only = 1;
        else if (strcmp(a, "--no-scaled") == 0) dopt.no_scaled_decode = true;
        else if (strcmp(a, "--ignore-exif") == 0) dopt.ignore_exif = true;
        else if (!v) return usage("missing value");
        else {
            i++;
            if (strcmp(a, "--format") == 0) {
                if (parse_format(v, &dopt.format)) return usage("bad --format");
            } else if (strcmp(a, "--target") == 0) {
                if (sscanf(v, "%dx%d", &dopt.target_width, &dopt.target_height) != 2) return usage("bad --target");
            } else if (strcmp(a, "--max-pixels") == 0) {
                dopt.max_pixels = atoll(v);
            } else if (strcmp(a, "--size") == 0) {
                if (sscanf(v, "%dx%d", &pp.width, &pp.height) != 2) return usage("bad --size");
            } else if (strcmp(a, "--resize") == 0) {
                if (strcmp(v, "stretch") == 0) pp.resize = LENS_RESIZE_STRETCH;
                else if (strcmp(v, "letterbox") == 0) pp.resize = LENS_RESIZE_LETTERBOX;
                else if (strcmp(v, "crop") == 0) pp.resize = LENS_RESIZE_CROP;
                else return usage("bad --resize");
            } else if (strcmp(a, "--short") == 0) {
                pp.resize_short = atoi(v);
            } else if (strcmp(a, "--pad") == 0) {
                pp.pad_value = atoi(v);
            } else if (strcmp(a, "--interp") == 0) {
                if (strcmp(v, "bilinear") == 0) pp.interp = LENS_INTERP_BILINEAR;
                else if (strcmp(v, "area") == 0) pp.interp = LENS_INTERP_AREA;
                else return usage("bad --interp");
            } else if (strcmp(a, "--channels") == 0) {
                if (strcmp(v, "rgb") == 0) pp.channels = LENS_CHANNELS_RGB;
                else if (strcmp(v, "bgr") == 0) pp.channels = LENS_CHANNELS_BGR;
                else if (strcmp(v, "gray") == 0) pp.channels = LENS_CHANNELS_GRAY;
                else return usage("bad --channels");
            } else if (strcmp(a, "--scale") == 0) {
                pp.scale = strtof(v, NULL);
            } else if (strcmp(a, "--mean") == 0) {
                if (parse3(v, pp.mean)) return usage("bad --mean");
            } else if (strcmp(a, "--std") == 0) {
                if (parse3(v, pp.std)) return usage("bad --std");
            } else if (strcmp(a, "--layout") == 0) {
                if (strcmp(v, "nchw") == 0) pp.layout = LENS_LAYOUT_NCHW;
                else if (strcmp(v, "nhwc") == 0) pp.layout = LENS_LAYOUT_NHWC;
                else return usage("bad --layout");
            } else if (strcmp(a, "--dtype") == 0) {
                if (strcmp(v, "float") == 0) pp.dtype = LENS_DTYPE_FLOAT;
                else if (strcmp(v, "uint8") == 0) pp.dtype = LENS_DTYPE_UINT8;
                else return usage("bad --dtype");
            } else if (strcmp(a, "--time") == 0) {
                repeat = atoi(v);
            } else if (strcmp(a, "--time-decode") == 0) {
                repeat_decode = atoi(v);
            } else {
                return usage("unknown option");
            }
        }
    }

    lens_image img;
    if (lens_image_decode_file(in, &dopt, &img) != LENS_OK) {
        fprintf(stderr, "%s\n", lens_last_error());
        return 1;
    }
    printf("decoded %d %d source %d %d\n", img.width, img.height, img.source_width, img.source_height);
    if (repeat_decode > 0) {
        double best = 1e30;
        for (int r = 0; r < repeat_decode; r++) {
            lens_image again;
            double t0 = now_ms();
            if (lens_image_decode_file(in, &dopt, &again) != LENS_OK) return 1;
            double t1 = now_ms() - t0;
            lens_image_release(&again);
            if (t1 < best) best = t1;
        }
        printf("decode_ms %.4f\n", best);
    }
    int rc = 0;
    if (decode_only) {
        /* Copy rows out of the (possibly strided) image into a dense tensor. */
        int ch = lens_pixel_format_channels(img.format);
        lens_tensor t = {LENS_DTYPE_UINT8, 3, {img.height, img.width, ch}, NULL};
        uint8_t *buf = malloc((size_t)img.width * img.height * ch);
        if (!buf) return 1;
        for (int y = 0; y < img.height; y++)
            memcpy(buf + (size_t)y * img.width * ch, img.data + img.stride * y, (size_t)img.width * ch);
        t.data = buf;
        if (lens_npy_write(outp, &t) != LENS_OK) {
            fprintf(stderr, "%s\n", lens_last_error());
            rc = 1;
        }
        free(buf);
        lens_image_release(&img);
        return rc;
    }

    size_t bytes = lens_preprocess_tensor_bytes(&pp);
    if (bytes == 0) {
        lens_image_release(&img);
        return usage("invalid preprocessing spec");
    }
    void *x = malloc(bytes);
    lens_transform tf;
    if (!x || lens_preprocess_image(&img, &pp, x, bytes, &tf) != LENS_OK) {
        fprintf(stderr, "%s\n", lens_last_error());
        lens_image_release(&img);
        free(x);
        return 1;
    }
    printf("transform %.9g %.9g %.9g %.9g\n", tf.scale_x, tf.scale_y, tf.offset_x, tf.offset_y);
    if (repeat > 0) {
        double best = 1e30;
        for (int r = 0; r < repeat; r++) {
            double t0 = now_ms();
            lens_preprocess_image(&img, &pp, x, bytes, NULL);
            double t1 = now_ms() - t0;
            if (t1 < best) best = t1;
        }
        printf("time_ms %.4f\n", best);
    }
    int C = pp.channels == LENS_CHANNELS_GRAY ? 1 : 3;
    lens_tensor t = {pp.dtype, 4, {1, C, pp.height, pp.width}, x};
    if (pp.layout == LENS_LAYOUT_NHWC) t.dims[1] = pp.height, t.dims[2] = pp.width, t.dims[3] = C;
    if (lens_npy_write(outp, &t) != LENS_OK) {
        fprintf(stderr, "%s\n", lens_last_error());
        rc = 1;
    }
    free(x);
    lens_image_release(&img);
    return rc;
}
