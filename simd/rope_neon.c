// simd/rope_neon.c: rotary position embedding with aarch64 Advanced SIMD.
//
// Half-split: 4 pairs per step from the two halves of a head. Interleaved:
// vld2q/vst2q split and re-interleave 4 pairs. One product per output is
// fused, as in rope_avx2.c; tails use fmaf the same way.
#include <assert.h>

#include "simd/kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>

static void rope_half_f32_neon(size_t n_heads, size_t head_dim, float *x,
                               const float *cos, const float *sin) {
    assert(head_dim % 2 == 0);
    size_t h = head_dim / 2;
    for (size_t hd = 0; hd < n_heads; hd++) {
        float *v0 = x + hd * head_dim, *v1 = v0 + h;
        size_t i = 0;
        for (; i + 4 <= h; i += 4) {
            float32x4_t c = vld1q_f32(cos + i), s = vld1q_f32(sin + i);
            float32x4_t x0 = vld1q_f32(v0 + i), x1 = vld1q_f32(v1 + i);
            vst1q_f32(v0 + i, vfmsq_f32(vmulq_f32(x0, c), x1, s));
            vst1q_f32(v1 + i, vfmaq_f32(vmulq_f32(x0, s), x1, c));
        }
        for (; i < h; i++) {
            float x0 = v0[i], x1 = v1[i];
            v0[i] = fmaf(-x1, sin[i], x0 * cos[i]);
            v1[i] = fmaf(x1, cos[i], x0 * sin[i]);
        }
    }
}

static void rope_interleaved_f32_neon(size_t n_heads, size_t head_dim,
                                      float *x, const float *cos,
                                      const float *sin) {
    assert(head_dim % 2 == 0);
    size_t h = head_dim / 2;
    for (size_t hd = 0; hd < n_heads; hd++) {
        float *v = x + hd * head_dim;
        size_t i = 0;
        for (; i + 4 <= h; i += 4) { // pairs i .. i+3
            float32x4_t c = vld1q_f32(cos + i), s = vld1q_f32(sin + i);
            float32x4x2_t p = vld2q_f32(v + 2 * i); // val[0] = x0s, val[1] = x1s
            float32x4x2_t o;
            o.val[0] = vfmsq_f32(vmulq_f32(p.val[0], c), p.val[1], s);
            o.val[1] = vfmaq_f32(vmulq_f32(p.val[0], s), p.val[1], c);
            vst2q_f32(v + 2 * i, o);
        }
        for (; i < h; i++) {
            float x0 = v[2 * i], x1 = v[2 * i + 1];
            v[2 * i] = fmaf(-x1, sin[i], x0 * cos[i]);
            v[2 * i + 1] = fmaf(x1, cos[i], x0 * sin[i]);
        }
    }
}

void cpr_fill_rope_neon(struct cpr_kernels *k) {
    k->rope_half_f32 = rope_half_f32_neon;
    k->rope_interleaved_f32 = rope_interleaved_f32_neon;
}
#endif
