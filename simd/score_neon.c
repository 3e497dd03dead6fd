// simd/score_neon.c: absmul / count_zeros with aarch64 Advanced SIMD.
//
// absmul is FABS then one FMUL per element, as the scalar spec, so results
// are identical. count_zeros uses FCMEQ #0 (NaN never equal; -0 == +0),
// whose all-ones lanes are subtracted from 32-bit lane counters, folded
// into the size_t total every CHUNK elements so they cannot overflow.
#include <assert.h>
#include <math.h>

#include "simd/kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>

enum { CHUNK = 1 << 20 }; // elements per lane-counter flush

static void absmul_f32_neon(size_t n, const float *w, const float *s, float *out) {
    assert(n == 0 || (w && s && out));
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        vst1q_f32(out + j, vmulq_f32(vabsq_f32(vld1q_f32(w + j)), vld1q_f32(s + j)));
        vst1q_f32(out + j + 4,
                  vmulq_f32(vabsq_f32(vld1q_f32(w + j + 4)), vld1q_f32(s + j + 4)));
    }
    for (; j < n; j++) out[j] = fabsf(w[j]) * s[j];
}

static size_t count_zeros_f32_neon(size_t n, const float *x) {
    assert(n == 0 || x);
    size_t total = 0, i = 0;
    while (i + 16 <= n) {
        size_t end = n - i > CHUNK ? i + CHUNK : n;
        uint32x4_t c0 = vdupq_n_u32(0), c1 = c0, c2 = c0, c3 = c0;
        for (; i + 16 <= end; i += 16) {
            c0 = vsubq_u32(c0, vceqzq_f32(vld1q_f32(x + i)));
            c1 = vsubq_u32(c1, vceqzq_f32(vld1q_f32(x + i + 4)));
            c2 = vsubq_u32(c2, vceqzq_f32(vld1q_f32(x + i + 8)));
            c3 = vsubq_u32(c3, vceqzq_f32(vld1q_f32(x + i + 12)));
        }
        total += vaddvq_u32(vaddq_u32(vaddq_u32(c0, c1), vaddq_u32(c2, c3)));
    }
    for (; i < n; i++) total += x[i] == 0.0f;
    return total;
}

void cpr_fill_score_neon(struct cpr_kernels *k) {
    k->absmul_f32 = absmul_f32_neon;
    k->count_zeros_f32 = count_zeros_f32_neon;
}
#endif
