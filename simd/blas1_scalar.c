// simd/blas1_scalar.c: reference dot / axpy / axpy_rows / scale (the
// executable spec).
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

// The loop of axpy_f32_scalar calls, literally: same expression, same order.
static void axpy_rows_f32_scalar(size_t n, size_t nt, const float *s,
                                 const float *v, size_t ldv, float *o) {
    assert(nt == 0 || n == 0 || (s && v && o && ldv >= n));
    for (size_t t = 0; t < nt; t++) {
        const float a = s[t], *x = v + t * ldv;
        for (size_t i = 0; i < n; i++) o[i] += a * x[i];
    }
}

static void scale_f32_scalar(size_t n, float a, float *x) {
    assert(n == 0 || x);
    for (size_t i = 0; i < n; i++) x[i] *= a;
}

void cpr_fill_blas1_scalar(struct cpr_kernels *k) {
    k->dot_f32 = dot_f32_scalar;
    k->axpy_f32 = axpy_f32_scalar;
    k->scale_f32 = scale_f32_scalar;
    k->axpy_rows_f32 = axpy_rows_f32_scalar;
}
