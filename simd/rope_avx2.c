// simd/rope_avx2.c: rotary position embedding with AVX2 + FMA.
//
// As rope_avx512.c with 8 lanes (4 interleaved pairs per register); tails
// run the scalar formula with one product fused (fmaf), like the vector
// body, so every element gets the same rounding.
#include <assert.h>

#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

static void rope_half_f32_avx2(size_t n_heads, size_t head_dim, float *x,
                               const float *cos, const float *sin) {
    assert(head_dim % 2 == 0);
    size_t h = head_dim / 2;
    for (size_t hd = 0; hd < n_heads; hd++) {
        float *v0 = x + hd * head_dim, *v1 = v0 + h;
        size_t i = 0;
        for (; i + 8 <= h; i += 8) {
            __m256 c = _mm256_loadu_ps(cos + i), s = _mm256_loadu_ps(sin + i);
            __m256 x0 = _mm256_loadu_ps(v0 + i), x1 = _mm256_loadu_ps(v1 + i);
            _mm256_storeu_ps(v0 + i, _mm256_fmsub_ps(x0, c, _mm256_mul_ps(x1, s)));
            _mm256_storeu_ps(v1 + i, _mm256_fmadd_ps(x1, c, _mm256_mul_ps(x0, s)));
        }
        for (; i < h; i++) {
            float x0 = v0[i], x1 = v1[i];
            v0[i] = fmaf(x0, cos[i], -(x1 * sin[i]));
            v1[i] = fmaf(x1, cos[i], x0 * sin[i]);
        }
    }
}

static void rope_interleaved_f32_avx2(size_t n_heads, size_t head_dim,
                                      float *x, const float *cos,
                                      const float *sin) {
    assert(head_dim % 2 == 0);
    size_t h = head_dim / 2;
    const __m256i dup = _mm256_set_epi32(3, 3, 2, 2, 1, 1, 0, 0);
    for (size_t hd = 0; hd < n_heads; hd++) {
        float *v = x + hd * head_dim;
        size_t i = 0;
        for (; i + 4 <= h; i += 4) { // pairs i .. i+3
            __m256 c = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(cos + i)), dup);
            __m256 s = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(sin + i)), dup);
            __m256 xv = _mm256_loadu_ps(v + 2 * i);
            __m256 xs = _mm256_permute_ps(xv, 0xB1); // swap within pairs
            // even lanes: x0*c - x1*s ; odd lanes: x1*c + x0*s
            _mm256_storeu_ps(v + 2 * i, _mm256_fmaddsub_ps(xv, c, _mm256_mul_ps(xs, s)));
        }
        for (; i < h; i++) {
            float x0 = v[2 * i], x1 = v[2 * i + 1];
            v[2 * i] = fmaf(x0, cos[i], -(x1 * sin[i]));
            v[2 * i + 1] = fmaf(x1, cos[i], x0 * sin[i]);
        }
    }
}

void cpr_fill_rope_avx2(struct cpr_kernels *k) {
    k->rope_half_f32 = rope_half_f32_avx2;
    k->rope_interleaved_f32 = rope_interleaved_f32_avx2;
}
#endif
