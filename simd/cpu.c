// simd/cpu.c: CPU feature detection (cpuid + xgetbv on x86-64; NEON is
// baseline on aarch64). A feature counts only when the CPU reports it AND
// the OS saves the register state it needs (XCR0 bits), which is the check
// ggml's cpu-feats.cpp skips.
#include "simd/kernels.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

// XCR0 via xgetbv, without needing -mxsave on this file.
static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static void detect(struct cpr_cpu_features *f) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    int f16c = (c >> 29) & 1;
    uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    int ymm_ok = (xcr0 & 0x6) == 0x6;           // SSE + AVX state
    int zmm_ok = ymm_ok && (xcr0 & 0xe0) == 0xe0; // opmask + ZMM_Hi256 + Hi16
    unsigned maxleaf = (unsigned)__get_cpuid_max(0, NULL);
    unsigned b7 = 0, c7 = 0, a71 = 0;
    if (maxleaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        b7 = b;
        c7 = c;
        __cpuid_count(7, 1, a, b, c, d);
        a71 = a;
    }
    int avx2 = (b7 >> 5) & 1;
    int avx512f = (b7 >> 16) & 1, avx512dq = (b7 >> 17) & 1;
    int avx512bw = (b7 >> 30) & 1, avx512vl = (b7 >> 31) & 1;
    int avx512bf16 = (a71 >> 5) & 1;
    f->avx2 = ymm_ok && avx && avx2 && fma && f16c;
    f->avx512 = f->avx2 && zmm_ok && avx512f && avx512dq && avx512bw && avx512vl;
    f->avx512bf16 = f->avx512 && avx512bf16;
    f->avx512vbmi = f->avx512 && ((c7 >> 1) & 1);
    f->avx512vbmi2 = f->avx512 && ((c7 >> 6) & 1);

    unsigned brand[12];
    if ((unsigned)__get_cpuid_max(0x80000000u, NULL) >= 0x80000004u) {
        for (unsigned i = 0; i < 3; i++)
            __get_cpuid(0x80000002u + i, &brand[4 * i], &brand[4 * i + 1],
                        &brand[4 * i + 2], &brand[4 * i + 3]);
        memcpy(f->brand, brand, 48);
        f->brand[48] = '\0';
        // trim leading/trailing blanks
        size_t s = 0, e = strlen(f->brand);
        while (f->brand[s] == ' ') s++;
        while (e > s && f->brand[e - 1] == ' ') e--;
        memmove(f->brand, f->brand + s, e - s);
        f->brand[e - s] = '\0';
    }
}
#elif defined(__aarch64__)
static void detect(struct cpr_cpu_features *f) {
    f->neon = 1;
    strcpy(f->brand, "aarch64");
}
#else
static void detect(struct cpr_cpu_features *f) { (void)f; }
#endif

static struct cpr_cpu_features g_features;
static pthread_once_t g_features_once = PTHREAD_ONCE_INIT;

static void detect_once(void) { detect(&g_features); }

const struct cpr_cpu_features *cpr_cpu_features(void) {
    pthread_once(&g_features_once, detect_once);
    return &g_features;
}
