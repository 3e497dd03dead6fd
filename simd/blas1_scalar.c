// simd/blas1_scalar.c: reference dot / axpy / scale (the executable spec).
//
// dot accumulates in double, sequentially; the SIMD versions accumulate in
// f32 lanes and must agree within atol + rtol * sum|x_i y_i|.
#include <assert.h>

#include "simd/kernels.h"

static float dot_f32_scalar(size_t n, const float *x, const float *y) {
    assert(n == 0 || (x && y));
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) acc += (double)x[i] * (double)y[i];
    return (float)acc;
}

static void axpy_f32_scalar(size_t n, float a, const float *x, float *y) {
    assert(n == 0 || (x && y));
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

static void scale_f32_scalar(size_t n, float a, float *x) {
    assert(n == 0 || x);
    for (size_t i = 0; i < n; i++) x[i] *= a;
}

void cpr_fill_blas1_scalar(struct cpr_kernels *k) {
    k->dot_f32 = dot_f32_scalar;
    k->axpy_f32 = axpy_f32_scalar;
    k->scale_f32 = scale_f32_scalar;
}
