// simd/rope_scalar.c: reference rotary position embedding (the executable
// spec for simd/rope_*.c).
//
// One token position: n_heads heads of head_dim floats each, contiguous in
// x, rotated in place; cos[i], sin[i] (i < head_dim/2) hold the angle of
// pair i for this position (computed by the caller, in double then
// rounded, so every ISA sees the same angles). Each output is
//   x0' = x0*cos - x1*sin ; x1' = x1*cos + x0*sin
// with both products rounded to f32 here; the SIMD files fuse one product
// (FMA), so they agree within ~1 ulp of |x0*cos| + |x1*sin|.
// Pairs: half-split (HF rotate_half) (i, i + d/2); interleaved (llama2.c,
// Meta's original checkpoints) (2i, 2i+1). The caller must use the layout
// that matches how the q/k projection rows were stored.
#include <assert.h>

#include "simd/kernels.h"

static void rope_half_f32_scalar(size_t n_heads, size_t head_dim, float *x,
                                 const float *cos, const float *sin) {
    assert(head_dim % 2 == 0);
    assert(n_heads == 0 || head_dim == 0 || (x && cos && sin));
    size_t h = head_dim / 2;
    for (size_t hd = 0; hd < n_heads; hd++) {
        float *v = x + hd * head_dim;
        for (size_t i = 0; i < h; i++) {
            float x0 = v[i], x1 = v[i + h];
            v[i] = x0 * cos[i] - x1 * sin[i];
            v[i + h] = x1 * cos[i] + x0 * sin[i];
        }
    }
}

static void rope_interleaved_f32_scalar(size_t n_heads, size_t head_dim,
                                        float *x, const float *cos,
                                        const float *sin) {
    assert(head_dim % 2 == 0);
    assert(n_heads == 0 || head_dim == 0 || (x && cos && sin));
    size_t h = head_dim / 2;
    for (size_t hd = 0; hd < n_heads; hd++) {
        float *v = x + hd * head_dim;
        for (size_t i = 0; i < h; i++) {
            float x0 = v[2 * i], x1 = v[2 * i + 1];
            v[2 * i] = x0 * cos[i] - x1 * sin[i];
            v[2 * i + 1] = x1 * cos[i] + x0 * sin[i];
        }
    }
}

void cpr_fill_rope_scalar(struct cpr_kernels *k) {
    k->rope_half_f32 = rope_half_f32_scalar;
    k->rope_interleaved_f32 = rope_interleaved_f32_scalar;
}
