// simd/blas1_neon.c: dot / axpy / axpy_rows / scale with aarch64 Advanced
// SIMD.
#include "simd/kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>

// Full unrolling of the loops over accumulator arrays keeps them in
// registers (as simd/gemm_avx512.c does).
#if defined(__clang__)
#define CPR_UNROLL _Pragma("unroll")
#else
#define CPR_UNROLL _Pragma("GCC unroll 16")
#endif

static float dot_f32_neon(size_t n, const float *x, const float *y) {
    float32x4_t a0 = vdupq_n_f32(0), a1 = vdupq_n_f32(0);
    float32x4_t a2 = vdupq_n_f32(0), a3 = vdupq_n_f32(0);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = vfmaq_f32(a0, vld1q_f32(x + i), vld1q_f32(y + i));
        a1 = vfmaq_f32(a1, vld1q_f32(x + i + 4), vld1q_f32(y + i + 4));
        a2 = vfmaq_f32(a2, vld1q_f32(x + i + 8), vld1q_f32(y + i + 8));
        a3 = vfmaq_f32(a3, vld1q_f32(x + i + 12), vld1q_f32(y + i + 12));
    }
    for (; i + 4 <= n; i += 4) a0 = vfmaq_f32(a0, vld1q_f32(x + i), vld1q_f32(y + i));
    float acc = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
    for (; i < n; i++) acc += x[i] * y[i];
    return acc;
}

static void axpy_f32_neon(size_t n, float a, const float *x, float *y) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
    for (; i < n; i++) y[i] += a * x[i];
}

enum { ROW_CHUNK = 32 }; // rows per chunk: 16 KiB of 128-float rows

// o's columns in blocks of 64 (sixteen accumulators), then 4 at a time,
// then the last n % 4 one by one. Each accumulator starts from o, takes
// vfmaq_n_f32(acc, v[t][i], s[t]) for t = 0, 1, ... and is stored at the
// end (of the chunk, see below): axpy_f32_neon's arithmetic per element.
// The column tail is the same C expression as axpy_f32_neon's tail loop
// (y += a * x), so the compiler's fusing choice is the same in both.
static void rows_block_neon(size_t n, size_t nt, const float *s,
                            const float *v, size_t ldv, float *o) {
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        float32x4_t a[16];
        CPR_UNROLL
        for (int q = 0; q < 16; q++) a[q] = vld1q_f32(o + i + 4 * q);
        const float *x = v + i;
        for (size_t t = 0; t < nt; t++, x += ldv) {
            const float st = s[t];
            CPR_UNROLL
            for (int q = 0; q < 16; q++) a[q] = vfmaq_n_f32(a[q], vld1q_f32(x + 4 * q), st);
        }
        CPR_UNROLL
        for (int q = 0; q < 16; q++) vst1q_f32(o + i + 4 * q, a[q]);
    }
    for (; i + 4 <= n; i += 4) {
        float32x4_t a = vld1q_f32(o + i);
        const float *x = v + i;
        for (size_t t = 0; t < nt; t++, x += ldv) a = vfmaq_n_f32(a, vld1q_f32(x), s[t]);
        vst1q_f32(o + i, a);
    }
    for (; i < n; i++) {
        float y = o[i];
        for (size_t t = 0; t < nt; t++) y += s[t] * v[t * ldv + i];
        o[i] = y;
    }
}

// Rows in chunks of ROW_CHUNK: each column block of a chunk reads rows the
// previous block just brought into L1 (o goes through memory between
// chunks, which is exact), so a width of several blocks still streams
// v once from memory.
static void axpy_rows_f32_neon(size_t n, size_t nt, const float *s,
                               const float *v, size_t ldv, float *o) {
    for (size_t t0 = 0; t0 < nt; t0 += ROW_CHUNK)
        rows_block_neon(n, nt - t0 < ROW_CHUNK ? nt - t0 : ROW_CHUNK, s + t0,
                        v + t0 * ldv, ldv, o);
}

static void scale_f32_neon(size_t n, float a, float *x) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(x + i, vmulq_n_f32(vld1q_f32(x + i), a));
    for (; i < n; i++) x[i] *= a;
}

void cpr_fill_blas1_neon(struct cpr_kernels *k) {
    k->dot_f32 = dot_f32_neon;
    k->axpy_f32 = axpy_f32_neon;
    k->scale_f32 = scale_f32_neon;
    k->axpy_rows_f32 = axpy_rows_f32_neon;
}
#endif
