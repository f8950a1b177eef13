/* Body of lens_nms_any, included by each variant's file with NMS_NAME set.
 * Branch-free inner loop over blocks of 64 kept boxes so the compiler
 * vectorises it; stops after the first block that suppresses. */
int NMS_NAME(const float *kept, int64_t n, const float *b, float area_b, float iou_threshold) {
    const float by1 = b[0], bx1 = b[1], by2 = b[2], bx2 = b[3];
    for (int64_t j0 = 0; j0 < n; j0 += 64) {
        int64_t j1 = n - j0 < 64 ? n : j0 + 64;
        int any = 0;
        for (int64_t j = j0; j < j1; j++) {
            const float *a = kept + 4 * j;
            float iy1 = a[0] > by1 ? a[0] : by1, ix1 = a[1] > bx1 ? a[1] : bx1;
            float iy2 = a[2] < by2 ? a[2] : by2, ix2 = a[3] < bx2 ? a[3] : bx2;
            float w = ix2 - ix1, h = iy2 - iy1;
            float inter = (w > 0.0f ? w : 0.0f) * (h > 0.0f ? h : 0.0f);
            float area_a = (a[2] - a[0]) * (a[3] - a[1]);
            float uni = area_a + area_b - inter;
            any |= (inter > 0.0f) & (area_a > 0.0f) & (uni > 0.0f) & (inter / uni > iou_threshold);
        }
        if (any) return 1;
    }
    return 0;
}
