// simd/score_scalar.c: reference pruning-score helpers (the spec).
//
// absmul_f32: out[j] = |w[j]| * s[j], one f32 multiply (so every ISA gives
// the same bits for non-NaN results; a NaN result stays NaN). This is the
// Wanda score |W_ij| * ||X_j||_2 for one row, with s the column norms.
// count_zeros_f32: how many x[i] compare equal to 0.0f, i.e. +0 and -0;
// NaN and nonzero subnormals do not count (no flush-to-zero). Used to
// measure the sparsity a mask produced.
#include <assert.h>
#include <math.h>

#include "simd/kernels.h"

static void absmul_f32_scalar(size_t n, const float *w, const float *s, float *out) {
    assert(n == 0 || (w && s && out));
    for (size_t j = 0; j < n; j++) out[j] = fabsf(w[j]) * s[j];
}

static size_t count_zeros_f32_scalar(size_t n, const float *x) {
    assert(n == 0 || x);
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += x[i] == 0.0f;
    return c;
}

void cpr_fill_score_scalar(struct cpr_kernels *k) {
    k->absmul_f32 = absmul_f32_scalar;
    k->count_zeros_f32 = count_zeros_f32_scalar;
}
