/* CPU feature detection, once. LENS_ISA=ref|avx2|avx512 caps what is used,
 * so tests can run every kernel variant on one machine. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/common.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static lens_cpu g_cpu;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void detect(void) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    bool osxsave = (c >> 27) & 1;
    bool fma = (c >> 12) & 1;
    uint64_t xcr0 = 0;
    if (osxsave) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = ((uint64_t)hi << 32) | lo;
    }
    bool ymm = (xcr0 & 6) == 6;
    bool zmm = (xcr0 & 0xe6) == 0xe6;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    g_cpu.avx2 = ymm && ((b >> 5) & 1);
    g_cpu.fma = ymm && fma;
    g_cpu.avx512f = zmm && ((b >> 16) & 1);
    g_cpu.avx512dq = zmm && ((b >> 17) & 1);
    g_cpu.avx512bw = zmm && ((b >> 30) & 1);
    g_cpu.avx512vl = zmm && ((b >> 31) & 1);
#endif
    const char *isa = getenv("LENS_ISA");
    if (isa) {
        if (!strcmp(isa, "ref")) {
            memset(&g_cpu, 0, sizeof g_cpu);
        } else if (!strcmp(isa, "avx2")) {
            g_cpu.avx512f = g_cpu.avx512bw = g_cpu.avx512dq = g_cpu.avx512vl = false;
        }
    }
}

const lens_cpu *lens_cpu_features(void) {
    pthread_once(&g_once, detect);
    return &g_cpu;
}

bool lens_cpu_any(const lens_cpu *cpu) {
    (void)cpu;
    return true;
}
bool lens_cpu_avx2_fma(const lens_cpu *cpu) { return cpu->avx2 && cpu->fma; }
bool lens_cpu_avx512(const lens_cpu *cpu) {
    return cpu->avx512f && cpu->avx512bw && cpu->avx512dq && cpu->avx512vl && lens_cpu_avx2_fma(cpu);
}

int lens_cpu_count(void) {
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
