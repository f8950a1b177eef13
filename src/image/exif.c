/* EXIF orientation (tag 0x0112 in IFD0), read defensively.
 *
 * Layout (EXIF 2.32 / TIFF 6.0): an APP1 payload is "Exif\0\0" followed by a
 * TIFF structure: byte order "II" or "MM", the number 42, the offset of
 * IFD0; IFD0 is a 16-bit entry count then 12-byte entries (tag, type,
 * count, value-or-offset). A SHORT value of count 1 sits in the first two
 * bytes of the value field. Every offset and count comes from the file, so
 * each is checked against the bytes present before it is read. */
#include "image/image_internal.h"

typedef struct tiff {
    const uint8_t *p;
    size_t n;
    bool be;
} tiff;

static bool rd16(const tiff *t, size_t off, uint32_t *v) {
    if (off > t->n || t->n - off < 2) return false;
    const uint8_t *q = t->p + off;
    *v = t->be ? (uint32_t)q[0] << 8 | q[1] : (uint32_t)q[1] << 8 | q[0];
    return true;
}

static bool rd32(const tiff *t, size_t off, uint32_t *v) {
    if (off > t->n || t->n - off < 4) return false;
    const uint8_t *q = t->p + off;
    *v = t->be ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3]
               : (uint32_t)q[3] << 24 | (uint32_t)q[2] << 16 | (uint32_t)q[1] << 8 | q[0];
    return true;
}

int lens_exif_orientation(const uint8_t *data, size_t size) {
    if (!data) return 1;
    if (size >= 6 && memcmp(data, "Exif\0\0", 6) == 0) data += 6, size -= 6;
    if (size < 8) return 1;
    tiff t = {data, size, false};
    if (data[0] == 'I' && data[1] == 'I') t.be = false;
    else if (data[0] == 'M' && data[1] == 'M') t.be = true;
    else return 1;
    uint32_t magic, ifd, count;
    if (!rd16(&t, 2, &magic) || magic != 42 || !rd32(&t, 4, &ifd) || !rd16(&t, ifd, &count)) return 1;
    /* Entries must lie inside the blob; a count that runs past the end is
     * cut to the entries actually present. */
    size_t max_entries = (size - (size_t)ifd - 2) / 12;
    if (count > max_entries) count = (uint32_t)max_entries;
    for (uint32_t i = 0; i < count; i++) {
        size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        uint32_t tag, type, n, v;
        if (!rd16(&t, e, &tag) || !rd16(&t, e + 2, &type) || !rd32(&t, e + 4, &n)) return 1;
        if (tag != 0x0112) continue;
        if (n < 1) return 1;
        if (type == 3) { /* SHORT */
            if (!rd16(&t, e + 8, &v)) return 1;
        } else if (type == 4) { /* LONG: not what the standard says, but seen in the wild */
            if (!rd32(&t, e + 8, &v)) return 1;
        } else {
            return 1;
        }
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}
