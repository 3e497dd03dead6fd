// simd/act_scalar.c: reference SiLU, GELU (erf), GELU (tanh) and SwiGLU
// (the executable spec for simd/act_*.c), elementwise in f32 with libm.
//
// The formulas are torch's, rewritten where torch's form loses relative
// accuracy for negative x (1 + erf(z) and 1 + tanh(y) cancel):
//   silu(x)      = x * sigmoid(x)
//   gelu(x)      = 0.5 x (1 + erf(x/sqrt2))  = 0.5 x erfc(-x/sqrt2)
//   gelu_tanh(x) = 0.5 x (1 + tanh(y))        = x * sigmoid(2y),
//                  y = sqrt(2/pi) (x + 0.044715 x^3)
//   swiglu(g, u) = silu(g) * u
// with x * sigmoid(s) = x / (1 + e) for s > 0 and x e / (1 + e) otherwise,
// e = exp(-|s|) <= 1, so the exp never overflows and tiny negative results
// (silu(-95) = -5e-40) keep their relative accuracy instead of flushing to
// -0 as x / (1 + exp(-x)) does once exp(-x) overflows. The rewrites are
// exact identities; they differ from torch's evaluation only by torch's
// own rounding (absolute ~1e-7 |x| where the results are tiny), and give
// results with a few ulp of relative error everywhere.
//
// Large |x| saturates cleanly: silu(100) = 100, silu(-100) = -3.7e-42
// (subnormal; torch flushes it to -0), silu(-200) = -0, gelu(20) = 20,
// gelu(-20) = -0. +Inf maps
// to +Inf; -Inf gives NaN (-Inf * 0, as torch gives); NaN propagates.
#include <assert.h>
#include <math.h>

#include "simd/kernels.h"

#define SQRT1_2F 0.70710678118654752f
// -2 * sqrt(2/pi): exp(-2y) = exp(GELU_TANH_K2 * (x + 0.044715 x^3))
#define GELU_TANH_K2 (-1.59576912160573071f)
#define GELU_TANH_C 0.044715f

// x * sigmoid(s) without overflow (see the header).
static inline float x_sigmoid(float x, float s) {
    float e = expf(-fabsf(s));
    return (s > 0.0f ? x : x * e) / (1.0f + e);
}

static void silu_f32_scalar(size_t n, const float *x, float *y) {
    assert(n == 0 || (x && y));
    for (size_t i = 0; i < n; i++) y[i] = x_sigmoid(x[i], x[i]);
}

static void gelu_f32_scalar(size_t n, const float *x, float *y) {
    assert(n == 0 || (x && y));
    for (size_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * erfcf(-x[i] * SQRT1_2F);
}

// The cubic is evaluated as x + ((C*x)*x)*x in separate f32 steps; the
// SIMD files do exactly the same (no FMA) so the exp sees the same
// argument on every ISA (its condition number is 2|y|). The sigmoid is
// taken of s = 2y, whose sign is the sign of a = x + 0.044715 x^3.
static void gelu_tanh_f32_scalar(size_t n, const float *x, float *y) {
    assert(n == 0 || (x && y));
    for (size_t i = 0; i < n; i++) {
        float v = x[i], c = GELU_TANH_C * v;
        c = c * v;
        c = c * v;
        float a = v + c;
        float e = expf(GELU_TANH_K2 * fabsf(a));
        y[i] = (a > 0.0f ? v : v * e) / (1.0f + e);
    }
}

static void swiglu_f32_scalar(size_t n, const float *gate, const float *up,
                              float *out) {
    assert(n == 0 || (gate && up && out));
    for (size_t i = 0; i < n; i++)
        out[i] = x_sigmoid(gate[i], gate[i]) * up[i];
}

void cpr_fill_act_scalar(struct cpr_kernels *k) {
    k->silu_f32 = silu_f32_scalar;
    k->gelu_f32 = gelu_f32_scalar;
    k->gelu_tanh_f32 = gelu_tanh_f32_scalar;
    k->swiglu_f32 = swiglu_f32_scalar;
}
