/* Image layer: decoding and encoding (round trips, EXIF orientation,
 * hostile files, limits, DCT-scaled decoding) and the preprocessing pass
 * (geometry, arithmetic worked out by hand, layouts, strides, errors).
 * Parity with OpenCV on real photos lives in tests/image/. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jpeglib.h>

#include "core/common.h"
#include "image/image_internal.h"
#include "image/pp_kernels.h"
#include "lens/image.h"

static int failures;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
            failures++;                                                    \
        }                                                                  \
    } while (0)

static uint32_t rng = 99;
static uint32_t rnd(void) {
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}

/* A test picture: gradients with distinct quadrants, so orientation and
 * channel mistakes show, and smooth enough to survive JPEG. */
static lens_image make_image(int32_t w, int32_t h, lens_pixel_format f) {
    lens_image img;
    if (lens_image_alloc(w, h, f, &img) != LENS_OK) {
        fprintf(stderr, "alloc failed\n");
        exit(1);
    }
    int ch = lens_pixel_format_channels(f);
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) {
            uint8_t *p = img.data + img.stride * y + (int64_t)x * ch;
            int q = (x * 2 >= w) + 2 * (y * 2 >= h);
            uint8_t v[4] = {(uint8_t)(q & 1 ? 220 : 30), (uint8_t)(q & 2 ? 200 : 40),
                            (uint8_t)(60 + 40 * q), 255};
            for (int c = 0; c < ch; c++) p[c] = ch == 1 ? (uint8_t)(40 + 50 * q) : v[c];
        }
    return img;
}

static uint8_t *encode(const lens_image *img, bool png, size_t *n) {
    uint8_t *buf = NULL;
    lens_status st = png ? lens_png_encode(img, &buf, n) : lens_jpeg_encode(img, 95, &buf, n);
    if (st != LENS_OK) {
        fprintf(stderr, "encode failed: %s\n", lens_last_error());
        exit(1);
    }
    return buf;
}

static double mean_abs_diff(const lens_image *a, const lens_image *b) {
    int ch = lens_pixel_format_channels(a->format);
    double s = 0;
    for (int32_t y = 0; y < a->height; y++)
        for (int64_t i = 0; i < (int64_t)a->width * ch; i++)
            s += fabs((double)a->data[a->stride * y + i] - b->data[b->stride * y + i]);
    return s / ((double)a->width * a->height * ch);
}

/* ---- formats, alloc, wrap -------------------------------------------------- */

static void test_formats(void) {
    CHECK(lens_pixel_format_channels(LENS_PIXEL_GRAY) == 1, "gray channels");
    CHECK(lens_pixel_format_channels(LENS_PIXEL_BGR) == 3, "bgr channels");
    CHECK(lens_pixel_format_channels(LENS_PIXEL_BGRA) == 4, "bgra channels");
    CHECK(lens_pixel_format_channels(LENS_PIXEL_UNKNOWN) == 0, "unknown channels");
    CHECK(lens_pixel_format_channels((lens_pixel_format)77) == 0, "invalid channels");
    CHECK(strcmp(lens_pixel_format_name(LENS_PIXEL_RGBA), "rgba") == 0, "name");

    lens_image img;
    CHECK(lens_image_alloc(0, 5, LENS_PIXEL_RGB, &img) == LENS_STATUS_INVALID_ARGUMENT, "zero width");
    CHECK(lens_image_alloc(5, 5, LENS_PIXEL_UNKNOWN, &img) == LENS_STATUS_INVALID_ARGUMENT, "bad format");
    CHECK(lens_image_alloc(INT32_MAX, INT32_MAX, LENS_PIXEL_RGBA, &img) != LENS_OK, "huge alloc refused");
    CHECK(lens_image_alloc(3, 2, LENS_PIXEL_RGB, &img) == LENS_OK, "alloc");
    CHECK(img.stride == 9 && img.owned && img.source_width == 3 && img.data[17] == 0, "alloc fields");
    lens_image_release(&img);
    CHECK(img.data == NULL && img.width == 0, "release zeroes");
    lens_image_release(&img); /* twice is fine */

    uint8_t buf[4 * 10] = {0};
    CHECK(lens_image_wrap(buf, 3, 4, 10, LENS_PIXEL_RGB, &img) == LENS_OK, "wrap with stride");
    CHECK(!img.owned && img.stride == 10 && img.data == buf, "wrap fields");
    lens_image_release(&img); /* does not free borrowed pixels */
    CHECK(lens_image_wrap(buf, 4, 4, 10, LENS_PIXEL_RGB, &img) == LENS_STATUS_INVALID_ARGUMENT,
          "stride smaller than a row");
    CHECK(strstr(lens_last_error(), "stride") != NULL, "message names the stride: %s", lens_last_error());
    CHECK(lens_image_wrap(NULL, 3, 4, 10, LENS_PIXEL_RGB, &img) == LENS_STATUS_INVALID_ARGUMENT, "NULL data");
    CHECK(lens_image_wrap(buf, 3, 0, 10, LENS_PIXEL_RGB, &img) == LENS_STATUS_INVALID_ARGUMENT, "zero height");
    CHECK(lens_image_wrap(buf, 3, 4, 10, (lens_pixel_format)9, &img) == LENS_STATUS_INVALID_ARGUMENT,
          "bad format");
    CHECK(lens_image_wrap(buf, 2, INT32_MAX, INT64_MAX / 2, LENS_PIXEL_GRAY, &img) ==
              LENS_STATUS_INVALID_ARGUMENT, "stride * height overflow");
}

/* ---- round trips ------------------------------------------------------------ */

static void test_round_trip(void) {
    char dir[] = "/tmp/lens-test-image-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp failed");
        return;
    }
    char path[256];
    lens_pixel_format fmts[] = {LENS_PIXEL_GRAY, LENS_PIXEL_RGB, LENS_PIXEL_BGR, LENS_PIXEL_RGBA,
                                LENS_PIXEL_BGRA};
    for (size_t i = 0; i < LENS_ARRAY_LEN(fmts); i++) {
        lens_image src = make_image(37, 21, fmts[i]);
        for (int64_t k = 0; k < src.stride * src.height; k++) src.data[k] ^= (uint8_t)(rnd() & 7);
        lens_decode_options o = {0};
        o.format = fmts[i];
        /* PNG: exact. */
        snprintf(path, sizeof path, "%s/rt%zu.PNG", dir, i);
        CHECK(lens_image_write_file(path, &src, 0) == LENS_OK, "write %s: %s", path, lens_last_error());
        lens_image back;
        CHECK(lens_image_decode_file(path, &o, &back) == LENS_OK, "read %s: %s", path, lens_last_error());
        if (back.data) {
            CHECK(back.width == 37 && back.height == 21 && back.format == fmts[i], "png shape");
            CHECK(mean_abs_diff(&src, &back) == 0, "png round trip of %s not exact",
                  lens_pixel_format_name(fmts[i]));
        }
        lens_image_release(&back);
        /* JPEG: close. */
        snprintf(path, sizeof path, "%s/rt%zu.jpeg", dir, i);
        CHECK(lens_image_write_file(path, &src, 97) == LENS_OK, "write %s: %s", path, lens_last_error());
        CHECK(lens_image_decode_file(path, &o, &back) == LENS_OK, "read %s: %s", path, lens_last_error());
        if (back.data) {
            int ch = lens_pixel_format_channels(fmts[i]);
            double d = 0;
            for (int32_t y = 0; y < 21; y++)
                for (int32_t x = 0; x < 37; x++)
                    for (int c = 0; c < LENS_MIN(ch, 3); c++) /* JPEG has no alpha */
                        d += fabs((double)src.data[src.stride * y + x * ch + c] -
                                  back.data[back.stride * y + x * ch + c]);
            d /= 37.0 * 21 * LENS_MIN(ch, 3);
            /* The noise and sharp quadrant edges cost ~6 at quality 97 with
             * 4:2:0 chroma; a channel swap or shifted rows costs > 50. */
            CHECK(d < 8.0, "jpeg round trip of %s: mean error %.2f", lens_pixel_format_name(fmts[i]), d);
            if (ch == 4) CHECK(back.data[3] == 255, "jpeg alpha is opaque");
        }
        lens_image_release(&back);
        lens_image_release(&src);
    }
    /* A strided (wrapped) image encodes like its dense copy. */
    lens_image dense = make_image(11, 7, LENS_PIXEL_RGB);
    uint8_t *pad = calloc(7, 40);
    for (int y = 0; y < 7; y++) memcpy(pad + y * 40, dense.data + dense.stride * y, 33);
    lens_image wrapped;
    CHECK(lens_image_wrap(pad, 11, 7, 40, LENS_PIXEL_RGB, &wrapped) == LENS_OK, "wrap");
    snprintf(path, sizeof path, "%s/wrapped.png", dir);
    CHECK(lens_image_write_file(path, &wrapped, 0) == LENS_OK, "write wrapped: %s", lens_last_error());
    lens_image back;
    CHECK(lens_image_decode_file(path, NULL, &back) == LENS_OK, "read wrapped");
    if (back.data) CHECK(mean_abs_diff(&dense, &back) == 0, "wrapped round trip");
    lens_image_release(&back);
    /* Errors: unknown extension, bad quality, unwritable path. */
    CHECK(lens_image_write_file("/tmp/x.bmp", &dense, 0) == LENS_STATUS_INVALID_ARGUMENT, "bmp refused");
    CHECK(lens_image_write_file(path, &dense, 101) == LENS_OK, "quality ignored for png");
    snprintf(path, sizeof path, "%s/q.jpg", dir);
    CHECK(lens_image_write_file(path, &dense, 101) == LENS_STATUS_INVALID_ARGUMENT, "quality 101");
    CHECK(lens_image_write_file("/nonexistent-dir/x.png", &dense, 0) == LENS_STATUS_IO_ERROR, "bad dir");
    CHECK(strstr(lens_last_error(), "/nonexistent-dir/x.png") != NULL, "message names the file");
    lens_image_release(&dense);
    free(pad);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
}

/* ---- EXIF ------------------------------------------------------------------- */

/* APP1 with IFD0 holding one entry (tag, type, count, value). */
static size_t exif_segment(uint8_t *seg, bool be, uint16_t tag, uint16_t type, uint32_t value) {
    uint8_t t[64];
    size_t n = 0;
#define P16(v) (be ? (t[n++] = (uint8_t)((v) >> 8), t[n++] = (uint8_t)(v)) : (t[n++] = (uint8_t)(v), t[n++] = (uint8_t)((v) >> 8)))
#define P32(v) (be ? (P16((v) >> 16), P16((v) & 0xffff)) : (P16((v) & 0xffff), P16((v) >> 16)))
    t[n++] = be ? 'M' : 'I';
    t[n++] = be ? 'M' : 'I';
    P16(42);
    P32(8u);
    P16(1);
    P16(tag);
    P16(type);
    P32(1u);
    if (type == 3) {
        P16(value);
        P16(0);
    } else {
        P32(value);
    }
    P32(0u);
#undef P16
#undef P32
    size_t len = 2 + 6 + n;
    seg[0] = 0xff, seg[1] = 0xe1, seg[2] = (uint8_t)(len >> 8), seg[3] = (uint8_t)len;
    memcpy(seg + 4, "Exif\0\0", 6);
    memcpy(seg + 10, t, n);
    return 10 + n;
}

static uint8_t *with_segment(const uint8_t *jpg, size_t n, const uint8_t *seg, size_t sn, size_t *out_n) {
    uint8_t *b = malloc(n + sn);
    memcpy(b, jpg, 2);
    memcpy(b + 2, seg, sn);
    memcpy(b + 2 + sn, jpg + 2, n - 2);
    *out_n = n + sn;
    return b;
}

/* Where upright pixel (x, y) comes from in the stored w x h image (EXIF 2.32). */
static void stored_of(int o, int32_t w, int32_t h, int32_t x, int32_t y, int32_t *sx, int32_t *sy) {
    switch (o) {
    case 2: *sx = w - 1 - x, *sy = y; break;
    case 3: *sx = w - 1 - x, *sy = h - 1 - y; break;
    case 4: *sx = x, *sy = h - 1 - y; break;
    case 5: *sx = y, *sy = x; break;
    case 6: *sx = y, *sy = h - 1 - x; break; /* rotate 90 clockwise to view */
    case 7: *sx = w - 1 - y, *sy = h - 1 - x; break;
    case 8: *sx = w - 1 - y, *sy = x; break; /* rotate 90 counter-clockwise */
    default: *sx = x, *sy = y; break;
    }
}

static void test_exif(void) {
    lens_image src = make_image(24, 10, LENS_PIXEL_RGB);
    size_t n;
    uint8_t *jpg = encode(&src, false, &n);
    lens_decode_options raw_opt = {0};
    raw_opt.ignore_exif = true;
    lens_image stored;
    CHECK(lens_image_decode_memory(jpg, n, &raw_opt, &stored) == LENS_OK, "decode plain");
    for (int o = 1; o <= 8; o++)
        for (int be = 0; be < 2; be++) {
            uint8_t seg[64];
            size_t sn = exif_segment(seg, be, 0x0112, 3, (uint32_t)o), bn;
            uint8_t *b = with_segment(jpg, n, seg, sn, &bn);
            lens_image up;
            lens_status st = lens_image_decode_memory(b, bn, NULL, &up);
            CHECK(st == LENS_OK, "orientation %d: %s", o, lens_last_error());
            if (st == LENS_OK) {
                bool swap = o >= 5;
                CHECK(up.width == (swap ? 10 : 24) && up.height == (swap ? 24 : 10),
                      "orientation %d: %dx%d", o, up.width, up.height);
                CHECK(up.source_width == up.width && up.source_height == up.height,
                      "orientation %d: source size follows", o);
                int bad = 0;
                for (int32_t y = 0; y < up.height && up.width == (swap ? 10 : 24); y++)
                    for (int32_t x = 0; x < up.width; x++) {
                        int32_t sx, sy;
                        stored_of(o, 24, 10, x, y, &sx, &sy);
                        bad += memcmp(up.data + up.stride * y + x * 3,
                                      stored.data + stored.stride * sy + sx * 3, 3) != 0;
                    }
                CHECK(bad == 0, "orientation %d (%s): %d pixels misplaced", o, be ? "MM" : "II", bad);
                if (o == 6) {
                    /* The stored top-left quadrant (red 30) ends at the top right. */
                    const uint8_t *tr = up.data + (up.width - 1) * 3;
                    CHECK(tr[0] < 100 && tr[1] < 100, "orientation 6 turns clockwise");
                }
            }
            lens_image_release(&up);
            free(b);
        }
    /* Hostile or odd EXIF: ignored (orientation 1), never a crash. */
    struct {
        uint16_t tag, type;
        uint32_t value;
    } odd[] = {{0x0112, 3, 0}, {0x0112, 3, 9}, {0x0112, 3, 65535}, {0x0112, 2, 6}, {0x0110, 3, 6},
               {0x0112, 4, 6}};
    for (size_t i = 0; i < LENS_ARRAY_LEN(odd); i++) {
        uint8_t seg[64];
        size_t sn = exif_segment(seg, false, odd[i].tag, odd[i].type, odd[i].value), bn;
        uint8_t *b = with_segment(jpg, n, seg, sn, &bn);
        lens_image up;
        CHECK(lens_image_decode_memory(b, bn, NULL, &up) == LENS_OK, "odd exif %zu", i);
        bool rotated = odd[i].type == 4; /* LONG 6: accepted */
        CHECK(up.width == (rotated ? 10 : 24), "odd exif %zu: width %d", i, up.width);
        lens_image_release(&up);
        free(b);
    }
    /* The parser alone on every prefix of a valid blob (ASan checks the
     * bounds), and on blobs with offsets pointing anywhere. */
    uint8_t seg[64];
    size_t sn = exif_segment(seg, true, 0x0112, 3, 8);
    CHECK(lens_exif_orientation(seg + 4, sn - 4) == 8, "blob parses");
    for (size_t k = 0; k < sn - 4; k++) {
        uint8_t *copy = malloc(k ? k : 1);
        memcpy(copy, seg + 4, k);
        int o = lens_exif_orientation(copy, k);
        /* 6 + 8 + 2 + 12 bytes hold the entry; the next-IFD link is not needed. */
        CHECK(o == (k >= 28 ? 8 : 1), "prefix of %zu bytes gives %d", k, o);
        free(copy);
    }
    for (int t = 0; t < 2000; t++) {
        uint8_t blob[40];
        memcpy(blob, seg + 4, sizeof blob < sn - 4 ? sizeof blob : sn - 4);
        for (int k = 0; k < 3; k++) blob[6 + rnd() % 30] = (uint8_t)rnd();
        size_t len = 6 + rnd() % 34;
        uint8_t *copy = malloc(len);
        memcpy(copy, blob, len);
        int o = lens_exif_orientation(copy, len);
        CHECK(o >= 1 && o <= 8, "fuzzed blob gives %d", o);
        free(copy);
    }
    CHECK(lens_exif_orientation(NULL, 10) == 1, "NULL blob");
    lens_image_release(&stored);
    lens_image_release(&src);
    lens_free(jpg);
}

/* ---- hostile files and limits ------------------------------------------------ */

static uint32_t crc32_of(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return c ^ 0xffffffffu;
}

static void be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void test_hostile(void) {
    lens_image src = make_image(64, 48, LENS_PIXEL_RGB), img;
    size_t nj, np;
    uint8_t *jpg = encode(&src, false, &nj), *png = encode(&src, true, &np);

    /* Truncated at many points: an error naming the problem, never a crash. */
    for (int png_file = 0; png_file < 2; png_file++) {
        const uint8_t *d = png_file ? png : jpg;
        size_t n = png_file ? np : nj;
        size_t cuts[] = {1, 2, 3, 5, 8, 20, 100, n / 3, n / 2, n - 20, n - 13, n - 5, n - 2, n - 1};
        for (size_t i = 0; i < LENS_ARRAY_LEN(cuts); i++) {
            if (cuts[i] >= n) continue;
            uint8_t *copy = malloc(cuts[i]); /* exact size: ASan sees any overread */
            memcpy(copy, d, cuts[i]);
            lens_status st = lens_image_decode_memory(copy, cuts[i], NULL, &img);
            CHECK(st != LENS_OK, "%s cut to %zu of %zu bytes decoded", png_file ? "png" : "jpeg", cuts[i], n);
            CHECK(st != LENS_OK && lens_last_error()[0] != 0, "no message");
            CHECK(img.data == NULL, "no pixels on failure");
            lens_image_release(&img);
            free(copy);
        }
    }
    /* Corrupt bytes in the middle: error or a picture, but no crash. */
    for (int t = 0; t < 60; t++) {
        int pick = t & 1;
        size_t n = pick ? np : nj;
        uint8_t *copy = malloc(n);
        memcpy(copy, pick ? png : jpg, n);
        for (int k = 0; k < 1 + t % 5; k++) copy[rnd() % n] = (uint8_t)rnd();
        if (lens_image_decode_memory(copy, n, NULL, &img) == LENS_OK)
            CHECK(img.width > 0 && img.height > 0 && img.data, "corrupt file decoded to nothing");
        lens_image_release(&img);
        free(copy);
    }
    /* Not an image, empty, other formats. */
    static const uint8_t text[] = "hello, this is not a picture";
    CHECK(lens_image_decode_memory(text, sizeof text, NULL, &img) == LENS_STATUS_INVALID_ARGUMENT, "text");
    CHECK(strstr(lens_last_error(), "not an image") != NULL, "message: %s", lens_last_error());
    CHECK(lens_image_decode_memory(text, 0, NULL, &img) == LENS_STATUS_INVALID_ARGUMENT, "empty");
    CHECK(strstr(lens_last_error(), "empty") != NULL, "message: %s", lens_last_error());
    CHECK(lens_image_decode_memory("GIF89a\1\0\1\0", 10, NULL, &img) == LENS_STATUS_UNSUPPORTED, "gif");
    CHECK(strstr(lens_last_error(), "GIF") != NULL, "message: %s", lens_last_error());
    CHECK(lens_image_decode_memory(NULL, 5, NULL, &img) == LENS_STATUS_INVALID_ARGUMENT, "NULL data");
    CHECK(lens_image_decode_file("/nonexistent/cat.jpg", NULL, &img) == LENS_STATUS_IO_ERROR, "missing file");
    CHECK(strstr(lens_last_error(), "/nonexistent/cat.jpg") != NULL, "message names the file: %s",
          lens_last_error());
    lens_decode_options bad = {0};
    bad.format = (lens_pixel_format)42;
    CHECK(lens_image_decode_memory(jpg, nj, &bad, &img) == LENS_STATUS_INVALID_ARGUMENT, "bad format option");

    /* A truncated file on disk: the message names the file. */
    char path[] = "/tmp/lens-trunc-XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) {
        if (write(fd, jpg, nj / 2) != (ssize_t)(nj / 2)) CHECK(0, "write failed");
        close(fd);
        CHECK(lens_image_decode_file(path, NULL, &img) == LENS_STATUS_INVALID_ARGUMENT, "truncated file");
        CHECK(strstr(lens_last_error(), path) != NULL, "message names the file: %s", lens_last_error());
        unlink(path);
    }

    /* Huge declared dimensions: refused from the header, before decoding. */
    uint8_t *big = malloc(nj);
    memcpy(big, jpg, nj);
    size_t sof = 0;
    for (size_t i = 2; i + 9 < nj; i++)
        if (big[i] == 0xff && (big[i + 1] == 0xc0 || big[i + 1] == 0xc2)) {
            sof = i;
            break;
        }
    CHECK(sof != 0, "no SOF marker in our own JPEG");
    if (sof) {
        big[sof + 5] = 0xea, big[sof + 6] = 0x60; /* height 60000 */
        big[sof + 7] = 0xea, big[sof + 8] = 0x60; /* width 60000 */
        CHECK(lens_image_decode_memory(big, nj, NULL, &img) == LENS_STATUS_LIMIT_EXCEEDED,
              "60000x60000 JPEG: %s", lens_last_error());
        CHECK(strstr(lens_last_error(), "60000x60000") != NULL, "message: %s", lens_last_error());
    }
    free(big);
    uint8_t hp[8 + 25];
    memcpy(hp, png, 8);
    be32(hp + 8, 13);
    memcpy(hp + 12, "IHDR", 4);
    be32(hp + 16, 50000);
    be32(hp + 20, 40000);
    hp[24] = 8, hp[25] = 2, hp[26] = 0, hp[27] = 0, hp[28] = 0;
    be32(hp + 29, crc32_of(hp + 12, 17));
    CHECK(lens_image_decode_memory(hp, sizeof hp, NULL, &img) == LENS_STATUS_LIMIT_EXCEEDED,
          "50000x40000 PNG header: %s", lens_last_error());
    /* The limit is configurable; zero-size headers are errors. */
    lens_decode_options lim = {0};
    lim.max_pixels = 64 * 48 - 1;
    CHECK(lens_image_decode_memory(jpg, nj, &lim, &img) == LENS_STATUS_LIMIT_EXCEEDED, "jpeg over limit");
    CHECK(lens_image_decode_memory(png, np, &lim, &img) == LENS_STATUS_LIMIT_EXCEEDED, "png over limit");
    lim.max_pixels = 64 * 48;
    CHECK(lens_image_decode_memory(png, np, &lim, &img) == LENS_OK, "png at the limit");
    lens_image_release(&img);
    be32(hp + 16, 0);
    be32(hp + 29, crc32_of(hp + 12, 17));
    CHECK(lens_image_decode_memory(hp, sizeof hp, NULL, &img) != LENS_OK, "zero-width PNG");

    /* Allocation failures anywhere in decoding: a clean error, nothing leaked (ASan). */
    for (uint64_t k = 1; k < 40; k++) {
        for (int pick = 0; pick < 2; pick++) {
            lens_alloc_fail_after(k);
            lens_status st = lens_image_decode_memory(pick ? png : jpg, pick ? np : nj, NULL, &img);
            lens_alloc_fail_after(0);
            CHECK(st == LENS_OK || st == LENS_STATUS_OUT_OF_MEMORY, "alloc failure %llu gave %s: %s",
                  (unsigned long long)k, lens_status_string(st), lens_last_error());
            lens_image_release(&img);
        }
    }
    lens_image_release(&src);
    lens_free(jpg);
    lens_free(png);
}

/* ---- DCT-scaled decoding ------------------------------------------------------ */

static void test_scaled_decode(void) {
    lens_image src = make_image(800, 600, LENS_PIXEL_RGB), img;
    size_t n;
    uint8_t *jpg = encode(&src, false, &n);
    struct {
        int32_t tw, th, w, h;
        bool off;
    } cases[] = {
        {100, 75, 200, 150, false},  /* 1/4: 1/8 would be 100x75 < 2x target */
        {50, 37, 100, 75, false},    /* 1/8 */
        {200, 150, 400, 300, false}, /* 1/2, exactly twice */
        {224, 224, 800, 600, false}, /* 1/2 is 400x300 < 448: full size */
        {50, 37, 800, 600, true},    /* scaling off */
        {0, 37, 800, 600, false},    /* no target */
        {10, 400, 800, 600, false},  /* one direction needs it all */
    };
    for (size_t i = 0; i < LENS_ARRAY_LEN(cases); i++) {
        lens_decode_options o = {0};
        o.target_width = cases[i].tw;
        o.target_height = cases[i].th;
        o.no_scaled_decode = cases[i].off;
        CHECK(lens_image_decode_memory(jpg, n, &o, &img) == LENS_OK, "decode: %s", lens_last_error());
        CHECK(img.width == cases[i].w && img.height == cases[i].h, "target %dx%d: decoded %dx%d, want %dx%d",
              cases[i].tw, cases[i].th, img.width, img.height, cases[i].w, cases[i].h);
        CHECK(img.source_width == 800 && img.source_height == 600, "source size %dx%d", img.source_width,
              img.source_height);
        /* The transform maps back to the full picture. */
        lens_preprocess pp;
        lens_preprocess_default(&pp);
        float *x = malloc(lens_preprocess_tensor_bytes(&pp));
        lens_transform tf;
        CHECK(lens_preprocess_image(&img, &pp, x, lens_preprocess_tensor_bytes(&pp), &tf) == LENS_OK, "pp");
        float sx, sy;
        lens_transform_point(&tf, 224, 224, &sx, &sy);
        CHECK(fabsf(sx - 800) < 1e-3f && fabsf(sy - 600) < 1e-3f, "corner maps to %g,%g", sx, sy);
        free(x);
        lens_image_release(&img);
    }
    /* With a quarter-turn EXIF tag the target is compared with the upright size. */
    uint8_t seg[64];
    size_t sn = exif_segment(seg, false, 0x0112, 3, 6), bn;
    uint8_t *b = with_segment(jpg, n, seg, sn, &bn);
    lens_decode_options o = {0};
    o.target_width = 75, o.target_height = 100; /* upright is 600x800 */
    CHECK(lens_image_decode_memory(b, bn, &o, &img) == LENS_OK, "decode rotated");
    CHECK(img.width == 150 && img.height == 200 && img.source_width == 600 && img.source_height == 800,
          "rotated scaled decode: %dx%d of %dx%d", img.width, img.height, img.source_width, img.source_height);
    lens_image_release(&img);
    free(b);
    /* Gray output from a colour JPEG, and from a gray PNG. */
    o = (lens_decode_options){0};
    o.format = LENS_PIXEL_GRAY;
    CHECK(lens_image_decode_memory(jpg, n, &o, &img) == LENS_OK && img.format == LENS_PIXEL_GRAY &&
              img.stride == 800, "gray jpeg");
    lens_image_release(&img);
    lens_image_release(&src);
    lens_free(jpg);
}

/* ---- CMYK JPEG (Adobe, inverted inks) ----------------------------------------------- */

static void test_cmyk(void) {
    /* 16x16: left half red, right half grey 50%, written as inverted CMYK
     * the way Photoshop does (libjpeg adds the Adobe marker for CMYK). */
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char *buf = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &buf, &size);
    c.image_width = 16, c.image_height = 16, c.input_components = 4, c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    jpeg_start_compress(&c, TRUE);
    uint8_t row[64];
    for (int x = 0; x < 16; x++) {
        uint8_t *p = row + 4 * x;
        if (x < 8) p[0] = 255, p[1] = 0, p[2] = 0, p[3] = 255;   /* c=0 m=1 y=1 k=0: red */
        else p[0] = 255, p[1] = 255, p[2] = 255, p[3] = 128;      /* k=0.5: grey 128 */
    }
    for (int y = 0; y < 16; y++) {
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    lens_image img;
    lens_decode_options o = {0};
    o.format = LENS_PIXEL_BGR;
    CHECK(lens_image_decode_memory(buf, size, &o, &img) == LENS_OK, "cmyk decode: %s", lens_last_error());
    if (img.data) {
        const uint8_t *l = img.data + img.stride * 8 + 2 * 3, *r = img.data + img.stride * 8 + 13 * 3;
        CHECK(l[2] > 245 && l[1] < 10 && l[0] < 10, "cmyk red as bgr: %d %d %d", l[0], l[1], l[2]);
        CHECK(abs(r[0] - 128) < 4 && abs(r[1] - 128) < 4 && abs(r[2] - 128) < 4, "cmyk grey: %d %d %d", r[0], r[1],
              r[2]);
    }
    lens_image_release(&img);
    o.format = LENS_PIXEL_GRAY;
    CHECK(lens_image_decode_memory(buf, size, &o, &img) == LENS_OK && img.format == LENS_PIXEL_GRAY, "cmyk to gray");
    if (img.data) CHECK(abs(img.data[img.stride * 8 + 2] - 76) < 4, "cmyk red as gray: %d", img.data[img.stride * 8 + 2]);
    lens_image_release(&img);
    free(buf);
}

/* ---- preprocessing -------------------------------------------------------------- */

static lens_status pp_run(const lens_image *img, const lens_preprocess *pp, void **out, lens_transform *tf) {
    size_t bytes = lens_preprocess_tensor_bytes(pp);
    *out = malloc(bytes ? bytes : 1);
    return lens_preprocess_image(img, pp, *out, bytes, tf);
}

static void test_preprocess_hand(void) {
    lens_preprocess pp;
    lens_preprocess_default(&pp);
    CHECK(pp.width == 224 && pp.height == 224 && pp.pad_value == 114 && fabsf(pp.scale - 1 / 255.0f) < 1e-9f &&
              pp.std[2] == 1 && pp.dtype == LENS_DTYPE_FLOAT, "defaults");
    CHECK(lens_preprocess_tensor_bytes(&pp) == 224 * 224 * 3 * 4, "tensor bytes");

    /* 2x2 -> 1x1: the average, rounded half up (cv2's 2x2 fast path). */
    uint8_t px[12] = {10, 0, 0, 20, 0, 0, 30, 0, 0, 41, 0, 0};
    lens_image img;
    lens_image_wrap(px, 2, 2, 6, LENS_PIXEL_RGB, &img);
    pp.width = pp.height = 1;
    pp.dtype = LENS_DTYPE_UINT8;
    void *out;
    CHECK(pp_run(&img, &pp, &out, NULL) == LENS_OK, "2x2->1x1");
    CHECK(((uint8_t *)out)[0] == 25, "2x2 average: %d (want (101+2)>>2 = 25)", ((uint8_t *)out)[0]);
    free(out);
    pp.interp = LENS_INTERP_AREA;
    CHECK(pp_run(&img, &pp, &out, NULL) == LENS_OK && ((uint8_t *)out)[0] == 25, "area 2x2");
    free(out);

    /* 3x3 blocks with area: sum * (1/9), rounded to nearest. */
    uint8_t g6[36];
    for (int i = 0; i < 36; i++) g6[i] = (uint8_t)(i * 7);
    lens_image_wrap(g6, 6, 6, 6, LENS_PIXEL_GRAY, &img);
    pp.width = pp.height = 2;
    pp.channels = LENS_CHANNELS_GRAY;
    CHECK(pp_run(&img, &pp, &out, NULL) == LENS_OK, "area 3x");
    for (int by = 0; by < 2; by++)
        for (int bx = 0; bx < 2; bx++) {
            int s = 0;
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 3; x++) s += g6[(by * 3 + y) * 6 + bx * 3 + x];
            int want = (int)lrint(s / 9.0);
            CHECK(((uint8_t *)out)[by * 2 + bx] == want, "area block %d,%d: %d want %d", bx, by,
                  ((uint8_t *)out)[by * 2 + bx], want);
        }
    free(out);

    /* Upscaling 1x1: constant everywhere, normalised per channel. */
    uint8_t one[3] = {51, 102, 204};
    lens_image_wrap(one, 1, 1, 3, LENS_PIXEL_RGB, &img);
    lens_preprocess_default(&pp);
    pp.width = 5, pp.height = 3;
    for (int c = 0; c < 3; c++) pp.mean[c] = 0.5f, pp.std[c] = 0.25f;
    CHECK(pp_run(&img, &pp, &out, NULL) == LENS_OK, "1x1 up");
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 15; i++) {
            float v = ((float *)out)[c * 15 + i], want = (one[c] / 255.0f - 0.5f) / 0.25f;
            CHECK(fabsf(v - want) < 1e-5f, "1x1 up c%d i%d: %g want %g", c, i, v, want);
        }
    free(out);

    /* Bilinear at 1.5x, worked out by hand: 2 pixels [0, 200] -> 3.
     * x = (d + 0.5) * 2/3 - 0.5: d=0 -> -1/6 (clamped to pixel 0): 0;
     * d=1 -> 0.5: weights 1024/1024: 100; d=2 -> 7/6 >= 1: pixel 1: 200. */
    uint8_t two[2] = {0, 200};
    lens_image_wrap(two, 2, 1, 2, LENS_PIXEL_GRAY, &img);
    lens_preprocess_default(&pp);
    pp.width = 3, pp.height = 1, pp.channels = LENS_CHANNELS_GRAY, pp.dtype = LENS_DTYPE_UINT8;
    CHECK(pp_run(&img, &pp, &out, NULL) == LENS_OK, "1.5x");
    uint8_t *u = out;
    CHECK(u[0] == 0 && u[1] == 100 && u[2] == 200, "1.5x: %d %d %d", u[0], u[1], u[2]);
    free(out);
}

static void test_preprocess_geometry(void) {
    lens_image src = make_image(100, 50, LENS_PIXEL_RGB);
    lens_preprocess pp;
    lens_preprocess_default(&pp);
    void *out;
    lens_transform tf;
    /* Letterbox 100x50 into 64x64: content 64x32 at rows 16..47. */
    pp.width = pp.height = 64;
    pp.resize = LENS_RESIZE_LETTERBOX;
    pp.dtype = LENS_DTYPE_UINT8;
    pp.pad_value = 7;
    CHECK(pp_run(&src, &pp, &out, &tf) == LENS_OK, "letterbox");
    {
        uint8_t *u = out;
        int pad_ok = 1, content_ok = 1;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 64; y++)
                for (int x = 0; x < 64; x++) {
                    uint8_t v = u[c * 4096 + y * 64 + x];
                    if (y < 16 || y >= 48) pad_ok &= v == 7;
                    else content_ok &= v != 7;
                }
        CHECK(pad_ok && content_ok, "letterbox padding rows");
    }
    CHECK(fabsf(tf.scale_x - 0.64f) < 1e-6f && fabsf(tf.scale_y - 0.64f) < 1e-6f && tf.offset_x == 0 &&
              tf.offset_y == 16 && tf.source_width == 100, "letterbox transform %g %g %g %g", tf.scale_x,
          tf.scale_y, tf.offset_x, tf.offset_y);
    float sx, sy;
    lens_transform_point(&tf, 64, 48, &sx, &sy);
    CHECK(fabsf(sx - 100) < 1e-4f && fabsf(sy - 50) < 1e-4f, "letterbox corner -> %g,%g", sx, sy);
    free(out);

    /* Crop: 100x50 with short side 32 -> 64x32, centre 32x32 window at x 16. */
    pp.resize = LENS_RESIZE_CROP;
    pp.width = pp.height = 32;
    pp.resize_short = 0;
    CHECK(pp_run(&src, &pp, &out, &tf) == LENS_OK, "crop");
    CHECK(fabsf(tf.scale_x - 0.64f) < 1e-6f && tf.offset_x == -16 && tf.offset_y == 0, "crop transform %g %g %g",
          tf.scale_x, tf.offset_x, tf.offset_y);
    /* The crop equals the same window of a stretch to 64x32. */
    lens_preprocess st = pp;
    st.resize = LENS_RESIZE_STRETCH;
    st.width = 64;
    void *full;
    CHECK(pp_run(&src, &st, &full, NULL) == LENS_OK, "stretch 64x32");
    int same = 1;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 32; y++)
            same &= memcmp((uint8_t *)out + c * 1024 + y * 32, (uint8_t *)full + c * 2048 + y * 64 + 16, 32) == 0;
    CHECK(same, "crop is a window of the stretch");
    free(out);
    free(full);
    /* Crop larger than the resized image: padded with 0, centred. */
    pp.resize_short = 10; /* 20x10 */
    CHECK(pp_run(&src, &pp, &out, &tf) == LENS_OK, "crop with padding");
    CHECK(tf.offset_x == 6 && tf.offset_y == 11, "padded crop offsets %g %g", tf.offset_x, tf.offset_y);
    CHECK(((uint8_t *)out)[0] == 0 && ((uint8_t *)out)[11 * 32 + 6] != 0, "padded crop content");
    free(out);

    /* Layouts and orders agree: NHWC is NCHW transposed; BGR swaps R and B;
     * a BGR source gives the RGB source's tensor; RGBA's alpha is ignored. */
    lens_preprocess_default(&pp);
    pp.width = 33, pp.height = 17;
    void *nchw, *nhwc, *bgr, *from_bgr, *from_rgba;
    CHECK(pp_run(&src, &pp, &nchw, NULL) == LENS_OK, "nchw");
    pp.layout = LENS_LAYOUT_NHWC;
    CHECK(pp_run(&src, &pp, &nhwc, NULL) == LENS_OK, "nhwc");
    pp.layout = LENS_LAYOUT_NCHW;
    pp.channels = LENS_CHANNELS_BGR;
    CHECK(pp_run(&src, &pp, &bgr, NULL) == LENS_OK, "bgr");
    pp.channels = LENS_CHANNELS_RGB;
    lens_image sb;
    lens_image_alloc(100, 50, LENS_PIXEL_BGR, &sb);
    lens_image sa;
    lens_image_alloc(100, 50, LENS_PIXEL_RGBA, &sa);
    for (int y = 0; y < 50; y++) {
        lens_pixels_convert_row(src.data + src.stride * y, LENS_PIXEL_RGB, sb.data + sb.stride * y, LENS_PIXEL_BGR, 100);
        lens_pixels_convert_row(src.data + src.stride * y, LENS_PIXEL_RGB, sa.data + sa.stride * y, LENS_PIXEL_RGBA, 100);
        for (int x = 0; x < 100; x++) sa.data[sa.stride * y + x * 4 + 3] = (uint8_t)rnd();
    }
    CHECK(pp_run(&sb, &pp, &from_bgr, NULL) == LENS_OK, "from bgr");
    CHECK(pp_run(&sa, &pp, &from_rgba, NULL) == LENS_OK, "from rgba");
    const float *a = nchw, *b = nhwc, *g = bgr, *fb = from_bgr, *fa = from_rgba;
    int ok_t = 1, ok_b = 1, ok_s = 1;
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 33 * 17; i++) {
            ok_t &= a[c * 561 + i] == b[i * 3 + c];
            ok_b &= a[c * 561 + i] == g[(2 - c) * 561 + i];
            ok_s &= a[c * 561 + i] == fb[c * 561 + i] && a[c * 561 + i] == fa[c * 561 + i];
        }
    CHECK(ok_t, "nhwc is nchw transposed");
    CHECK(ok_b, "bgr swaps channels");
    CHECK(ok_s, "source format does not change the tensor");
    free(nchw), free(nhwc), free(bgr), free(from_bgr), free(from_rgba);

    /* Gray: from an RGB image with R=G=B equals from the gray image itself. */
    lens_image gray = make_image(45, 31, LENS_PIXEL_GRAY), rgb;
    lens_image_alloc(45, 31, LENS_PIXEL_RGB, &rgb);
    for (int y = 0; y < 31; y++)
        lens_pixels_convert_row(gray.data + gray.stride * y, LENS_PIXEL_GRAY, rgb.data + rgb.stride * y,
                                LENS_PIXEL_RGB, 45);
    lens_preprocess_default(&pp);
    pp.width = 20, pp.height = 50, pp.channels = LENS_CHANNELS_GRAY;
    void *o1, *o2;
    CHECK(pp_run(&gray, &pp, &o1, NULL) == LENS_OK && pp_run(&rgb, &pp, &o2, NULL) == LENS_OK, "gray runs");
    CHECK(memcmp(o1, o2, lens_preprocess_tensor_bytes(&pp)) == 0, "gray from gray == gray from rgb");
    free(o1), free(o2);
    /* Gray image to an RGB model: three equal planes. */
    pp.channels = LENS_CHANNELS_RGB;
    CHECK(pp_run(&gray, &pp, &o1, NULL) == LENS_OK, "gray to rgb");
    CHECK(memcmp(o1, (float *)o1 + 1000, 4000) == 0 && memcmp(o1, (float *)o1 + 2000, 4000) == 0, "planes equal");
    free(o1);

    /* uint8 and float agree: float = (u8 * scale - mean) / std. */
    lens_preprocess_default(&pp);
    pp.width = 40, pp.height = 40, pp.interp = LENS_INTERP_AREA;
    pp.mean[0] = 0.485f, pp.mean[1] = 0.456f, pp.mean[2] = 0.406f;
    pp.std[0] = 0.229f, pp.std[1] = 0.224f, pp.std[2] = 0.225f;
    CHECK(pp_run(&src, &pp, &o1, NULL) == LENS_OK, "float");
    pp.dtype = LENS_DTYPE_UINT8;
    CHECK(pp_run(&src, &pp, &o2, NULL) == LENS_OK, "uint8");
    int ok = 1;
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 1600; i++) {
            float want = (((uint8_t *)o2)[c * 1600 + i] * pp.scale - pp.mean[c]) / pp.std[c];
            ok &= fabsf(((float *)o1)[c * 1600 + i] - want) < 1e-6f;
        }
    CHECK(ok, "float is the normalised uint8");
    free(o1), free(o2);

    /* A strided (wrapped) image gives the dense image's tensor. */
    int64_t stride = 100 * 3 + 13;
    uint8_t *padded = malloc((size_t)stride * 50);
    memset(padded, 0xee, (size_t)stride * 50);
    for (int y = 0; y < 50; y++) memcpy(padded + stride * y, src.data + src.stride * y, 300);
    lens_image wr;
    lens_image_wrap(padded, 100, 50, stride, LENS_PIXEL_RGB, &wr);
    lens_preprocess_default(&pp);
    pp.width = 70, pp.height = 30;
    CHECK(pp_run(&src, &pp, &o1, NULL) == LENS_OK && pp_run(&wr, &pp, &o2, NULL) == LENS_OK, "strided");
    CHECK(memcmp(o1, o2, lens_preprocess_tensor_bytes(&pp)) == 0, "stride does not change the tensor");
    free(o1), free(o2), free(padded);

    lens_image_release(&gray);
    lens_image_release(&rgb);
    lens_image_release(&sb);
    lens_image_release(&sa);
    lens_image_release(&src);
}

static void test_preprocess_errors(void) {
    lens_image img = make_image(8, 8, LENS_PIXEL_RGB);
    lens_preprocess pp;
    float buf[3 * 4 * 4];
    static const char *bad[] = {"width 0",   "pad 300",       "std 0",    "dtype int64", "mode 9",
                                "nan scale", "height 100000", "layout 5", "short -1"};
    for (size_t i = 0; i < LENS_ARRAY_LEN(bad); i++) {
        lens_preprocess_default(&pp);
        pp.width = pp.height = 4;
        switch (i) {
        case 0: pp.width = 0; break;
        case 1: pp.pad_value = 300; break;
        case 2: pp.std[1] = 0; break;
        case 3: pp.dtype = LENS_DTYPE_INT64; break;
        case 4: pp.resize = (lens_resize_mode)9; break;
        case 5: pp.scale = NAN; break;
        case 6: pp.height = 100000; break;
        case 7: pp.layout = (lens_layout)5; break;
        case 8: pp.resize_short = -1; break;
        }
        CHECK(lens_preprocess_tensor_bytes(&pp) == 0, "%s: tensor bytes not 0", bad[i]);
        CHECK(lens_preprocess_image(&img, &pp, buf, sizeof buf, NULL) == LENS_STATUS_INVALID_ARGUMENT,
              "%s accepted", bad[i]);
        CHECK(strstr(lens_last_error(), "preprocess") != NULL, "%s: message %s", bad[i], lens_last_error());
    }
    lens_preprocess_default(&pp);
    pp.width = pp.height = 4;
    CHECK(lens_preprocess_image(&img, &pp, buf, sizeof buf - 1, NULL) == LENS_STATUS_INVALID_ARGUMENT, "small dst");
    CHECK(strstr(lens_last_error(), "192") != NULL, "message gives the size: %s", lens_last_error());
    CHECK(lens_preprocess_image(&img, &pp, NULL, sizeof buf, NULL) == LENS_STATUS_INVALID_ARGUMENT, "NULL dst");
    CHECK(lens_preprocess_image(NULL, &pp, buf, sizeof buf, NULL) == LENS_STATUS_INVALID_ARGUMENT, "NULL img");
    CHECK(lens_preprocess_image(&img, NULL, buf, sizeof buf, NULL) == LENS_STATUS_INVALID_ARGUMENT, "NULL spec");
    CHECK(lens_preprocess_tensor_bytes(NULL) == 0, "NULL spec bytes");
    CHECK(lens_preprocess_image(&img, &pp, (char *)buf + 1, sizeof buf - 4, NULL) == LENS_STATUS_INVALID_ARGUMENT,
          "misaligned float dst");
    lens_image broken = img;
    broken.stride = 5;
    CHECK(lens_preprocess_image(&broken, &pp, buf, sizeof buf, NULL) == LENS_STATUS_INVALID_ARGUMENT, "bad stride");
    /* Extreme aspect ratios: one-pixel-wide images, huge upscales, crops of slivers. */
    lens_image sliver = make_image(1, 3000, LENS_PIXEL_RGB);
    lens_resize_mode modes[] = {LENS_RESIZE_STRETCH, LENS_RESIZE_LETTERBOX, LENS_RESIZE_CROP};
    for (int interp = 0; interp < 2; interp++)
        for (size_t m = 0; m < 3; m++) {
            lens_preprocess_default(&pp);
            pp.width = 64, pp.height = 48, pp.resize = modes[m], pp.interp = (lens_interp)interp;
            void *out;
            lens_status st = pp_run(&sliver, &pp, &out, NULL);
            CHECK(st == LENS_OK || st == LENS_STATUS_LIMIT_EXCEEDED, "sliver mode %zu interp %d: %s", m, interp,
                  lens_last_error());
            free(out);
        }
    /* Allocation failures: a clean OUT_OF_MEMORY. */
    lens_preprocess_default(&pp);
    pp.width = pp.height = 4;
    for (uint64_t k = 1; k < 6; k++) {
        lens_alloc_fail_after(k);
        lens_status st = lens_preprocess_image(&img, &pp, buf, sizeof buf, NULL);
        lens_alloc_fail_after(0);
        CHECK(st == LENS_OK || st == LENS_STATUS_OUT_OF_MEMORY, "alloc failure %llu: %s", (unsigned long long)k,
              lens_status_string(st));
    }
    lens_image_release(&sliver);
    lens_image_release(&img);
}

/* Every pp kernel variant against the reference, at lengths around any
 * vector width (0..70) and at odd offsets. */
static void test_kernels(void) {
    size_t nv;
    const lens_pp_kernels *v = lens_pp_kernels_variants(&nv), *ref = &v[0];
    CHECK(lens_pp_kernels_best() != NULL, "no best variant");
    enum { N = 80 };
    uint8_t src[4 * N + 8];
    int32_t r0[3 * N], r1[3 * N], o0[N], o1[N];
    int16_t w0[N], w1[N];
    float lut[3][256];
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 256; i++) lut[c][i] = (float)(i * (c + 1)) * 0.37f - 3.0f;
    for (size_t t = 1; t < nv; t++) {
        if (!v[t].supported(lens_cpu_features())) {
            printf("test_image: %s not supported here, skipped\n", v[t].name);
            continue;
        }
        for (size_t n = 0; n <= 70; n++) {
            for (size_t i = 0; i < sizeof src; i++) src[i] = (uint8_t)rnd();
            for (size_t i = 0; i < 3 * N; i++) r0[i] = (int32_t)(rnd() % (255 * 2048 + 1)), r1[i] = (int32_t)(rnd() % (255 * 2048 + 1));
            for (size_t i = 0; i < N; i++) {
                o0[i] = (int32_t)(rnd() % N) * 3;
                o1[i] = o0[i] + 3;
                w0[i] = (int16_t)(rnd() % 2049);
                w1[i] = (int16_t)(2048 - w0[i]);
            }
            int map[3] = {2, 1, 0};
            uint8_t va[3 * N + 1], vb[3 * N + 1];
            v[t].vblend(r0 + 1, r1 + 2, w0[3], w1[3], va + 1, 3 * n - (n > 0));
            ref->vblend(r0 + 1, r1 + 2, w0[3], w1[3], vb + 1, 3 * n - (n > 0));
            CHECK(memcmp(va + 1, vb + 1, 3 * n - (n > 0)) == 0, "%s vblend n=%zu", v[t].name, n);
            int32_t ha[3 * N], hb[3 * N];
            v[t].hlinear3(src, o0, o1, w0, w1, map, ha, n);
            ref->hlinear3(src, o0, o1, w0, w1, map, hb, n);
            CHECK(memcmp(ha, hb, 12 * n) == 0, "%s hlinear3 n=%zu", v[t].name, n);
            v[t].hlinear1(src, o0, o1, w0, w1, ha, n);
            ref->hlinear1(src, o0, o1, w0, w1, hb, n);
            CHECK(memcmp(ha, hb, 4 * n) == 0, "%s hlinear1 n=%zu", v[t].name, n);
            float fa[3 * N + 3], fb[3 * N + 3];
            v[t].f32_planar3(src, (const float(*)[256])lut, fa, fa + N, fa + 2 * N, n);
            ref->f32_planar3(src, (const float(*)[256])lut, fb, fb + N, fb + 2 * N, n);
            CHECK(memcmp(fa, fb, 4 * n) == 0 && memcmp(fa + N, fb + N, 4 * n) == 0 &&
                      memcmp(fa + 2 * N, fb + 2 * N, 4 * n) == 0, "%s f32_planar3 n=%zu", v[t].name, n);
            v[t].f32_planar1(src + 1, lut[1], fa + 1, n);
            ref->f32_planar1(src + 1, lut[1], fb + 1, n);
            CHECK(memcmp(fa + 1, fb + 1, 4 * n) == 0, "%s f32_planar1 n=%zu", v[t].name, n);
            v[t].f32_interleaved3(src, (const float(*)[256])lut, fa, n);
            ref->f32_interleaved3(src, (const float(*)[256])lut, fb, n);
            CHECK(memcmp(fa, fb, 12 * n) == 0, "%s f32_interleaved3 n=%zu", v[t].name, n);
            uint8_t ua[3 * N], ub[3 * N];
            v[t].u8_planar3(src + 2, ua, ua + N, ua + 2 * N, n);
            ref->u8_planar3(src + 2, ub, ub + N, ub + 2 * N, n);
            CHECK(memcmp(ua, ub, n) == 0 && memcmp(ua + N, ub + N, n) == 0 && memcmp(ua + 2 * N, ub + 2 * N, n) == 0,
                  "%s u8_planar3 n=%zu", v[t].name, n);
        }
    }
    /* The reference itself on a hand case: 100 and 200 at weights 1536/512 -> 125. */
    int32_t a = 100 * 2048, b = 200 * 2048;
    uint8_t out;
    ref->vblend(&a, &b, 1536, 512, &out, 1);
    CHECK(out == 125, "vblend hand case: %d", out);
}

int main(void) {
    test_kernels();
    test_formats();
    test_round_trip();
    test_exif();
    test_hostile();
    test_scaled_decode();
    test_cmyk();
    test_preprocess_hand();
    test_preprocess_geometry();
    test_preprocess_errors();
    if (failures) {
        fprintf(stderr, "test_image: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_image: all passed\n");
    return 0;
}
