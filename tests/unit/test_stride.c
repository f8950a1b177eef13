/* Strided-copy family: every variant against the reference, bit for bit,
 * at strides 1-5 and every length 0..70 (around the 16-lane vector and
 * its 2-vector loads), from a source buffer that ends exactly at the last
 * element read, so that ASan catches any read past it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/stride.h"

int main(void) {
    size_t nv;
    const lens_f32_strided_copy_variant *vs = lens_f32_strided_copy_variants(&nv);
    const lens_cpu *cpu = lens_cpu_features();
    int cases = 0, fails = 0;
    for (size_t vi = 0; vi < nv; vi++) {
        if (!vs[vi].supported(cpu)) {
            printf("skip %s (CPU)\n", vs[vi].name);
            continue;
        }
        for (size_t s = 1; s <= 5; s++)
            for (size_t n = 0; n <= 70; n++) {
                size_t len = n ? (n - 1) * s + 1 : 1;
                float *src = malloc(len * sizeof(float));
                float *got = malloc((n + 1) * sizeof(float)), *want = malloc((n + 1) * sizeof(float));
                for (size_t i = 0; i < len; i++) src[i] = (float)i * 0.5f - 3.0f;
                got[n] = want[n] = 42.0f; /* guard: nothing written past n */
                lens_f32_strided_copy__ref(src, s, n, want);
                vs[vi].fn(src, s, n, got);
                if (memcmp(got, want, (n + 1) * sizeof(float))) {
                    fprintf(stderr, "%s s=%zu n=%zu: mismatch\n", vs[vi].name, s, n);
                    fails++;
                }
                cases++;
                free(src), free(got), free(want);
            }
        printf("%s: checked\n", vs[vi].name);
    }
    printf("%d cases, %d failures\n", cases, fails);
    return fails ? 1 : 0;
}
