// simd/norm_scalar.c: reference RMSNorm, LayerNorm, softmax, log-softmax and
// logsumexp (the executable spec for simd/norm_*.c).
//
// Reductions here run sequentially in double and the scalar parts use libm
// (expf, sqrt, log), so this file is the accuracy yardstick: the SIMD files
// reduce in f32 lanes (rmsnorm, layernorm) and use a polynomial expf, and
// tests/test_kern_norm.c bounds their distance from these functions.
//
// Special values, shared by every ISA:
// - n == 0 is a no-op (logsumexp returns -Inf, the log of an empty sum).
// - softmax / log-softmax / logsumexp subtract the max m first. A -Inf
//   entry contributes exp(-Inf) = 0 (softmax 0, log-softmax -Inf). If every
//   entry is -Inf, or some entry is +Inf, x - m is NaN for the max entries,
//   so softmax and log-softmax give NaN everywhere (as torch 1.13 does);
//   logsumexp returns m itself (-Inf or +Inf, as torch.logsumexp) unless
//   some entry is NaN.
// - Any NaN input makes every softmax / log-softmax output and the
//   logsumexp NaN (it reaches the shared sum). rmsnorm / layernorm: a NaN
//   or Inf input poisons the shared statistic, so the whole row is NaN.
#include <assert.h>
#include <math.h>

#include "simd/kernels.h"

// ---- normalisation ----

// HF LlamaRMSNorm: variance = mean(x^2); y = w * (x * rsqrt(variance+eps)),
// in f32 except that the mean of squares is accumulated in double here.
static void rmsnorm_f32_scalar(size_t n, const float *x, const float *w,
                               float eps, float *y) {
    assert(n == 0 || (x && w && y));
    if (n == 0) return;
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) ss += (double)x[i] * (double)x[i];
    float r = (float)(1.0 / sqrt(ss / (double)n + (double)eps));
    for (size_t i = 0; i < n; i++) y[i] = (x[i] * r) * w[i];
}

// torch.nn.LayerNorm: biased variance (divide by n). Statistics and the
// output expression in double, rounded once to f32.
static void layernorm_f32_scalar(size_t n, const float *x, const float *gamma,
                                 const float *beta, float eps, float *y) {
    assert(n == 0 || (x && gamma && y));
    if (n == 0) return;
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += x[i];
    double mean = s / (double)n, v = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - mean;
        v += d * d;
    }
    double rstd = 1.0 / sqrt(v / (double)n + (double)eps);
    for (size_t i = 0; i < n; i++) {
        double b = beta ? (double)beta[i] : 0.0;
        y[i] = (float)(((double)x[i] - mean) * rstd * (double)gamma[i] + b);
    }
}

// ---- softmax family ----

// Largest element; NaNs are skipped here (they reach the result through
// the sum instead). -Inf when every element is -Inf or NaN.
static float max_f32(size_t n, const float *x) {
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (x[i] > m) m = x[i];
    return m;
}

// y = exp(x - m) / sum_j exp(x_j - m): exponentials in f32 (expf), stored
// in y, summed in double; then one f32 multiply by (float)(1/sum).
static void softmax_f32_scalar(size_t n, const float *x, float *y) {
    assert(n == 0 || (x && y));
    if (n == 0) return;
    float m = max_f32(n, x);
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        float e = expf(x[i] - m);
        y[i] = e;
        s += e;
    }
    float inv = (float)(1.0 / s);
    for (size_t i = 0; i < n; i++) y[i] *= inv;
}

// y = x - m - log(sum exp(x - m)), evaluated in double and rounded once.
static void logsoftmax_f32_scalar(size_t n, const float *x, float *y) {
    assert(n == 0 || (x && y));
    if (n == 0) return;
    float m = max_f32(n, x);
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += expf(x[i] - m);
    double ls = log(s);
    for (size_t i = 0; i < n; i++)
        y[i] = (float)((double)x[i] - (double)m - ls);
}

// m + log(sum exp(x - m)): exponentials in f32, sum in double (the
// perplexity evaluator's per-token normaliser).
static double logsumexp_f32_scalar(size_t n, const float *x) {
    assert(n == 0 || x);
    float m = max_f32(n, x);
    if (isinf(m)) { // all -Inf (or empty), or a +Inf entry: the result is m
        for (size_t i = 0; i < n; i++)
            if (isnan(x[i])) return NAN;
        return m;
    }
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += expf(x[i] - m);
    return (double)m + log(s);
}

void cpr_fill_norm_scalar(struct cpr_kernels *k) {
    k->rmsnorm_f32 = rmsnorm_f32_scalar;
    k->layernorm_f32 = layernorm_f32_scalar;
    k->softmax_f32 = softmax_f32_scalar;
    k->logsoftmax_f32 = logsoftmax_f32_scalar;
    k->logsumexp_f32 = logsumexp_f32_scalar;
}
