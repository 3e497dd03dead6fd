// simd/gemm_scalar.c: reference GEMM / SYRK and the backward products
// (the executable spec).
//
// y = alpha * x W^T + beta * y with W (n, k) row-major; every y element is
// one dot product over k accumulated in double, in increasing k, then
// rounded once. beta == 0 writes y without reading it (NaNs ignored).
#include <assert.h>

#include "simd/kernels.h"

static float bf16_bits_to_f32(uint16_t h) {
    union { uint32_t u; float f; } v = {.u = (uint32_t)h << 16};
    return v.f;
}

// IEEE half -> float, exact (normals, subnormals, Inf, NaN).
static float f16_bits_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ffu;
    union { uint32_t u; float f; } v;
    if (exp == 0x1f) {
        v.u = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        v.u = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        v.u = sign;
    } else { // subnormal: man * 2^-24
        int e = -1;
        do { e++; man <<= 1; } while (!(man & 0x400u));
        v.u = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ffu) << 13);
    }
    return v.f;
}

static void store(float *y, float alpha, double acc, float beta) {
    float r = alpha * (float)acc;
    *y = beta == 0.0f ? r : r + beta * *y;
}

static void gemm_f32_scalar(size_t m, size_t n, size_t k, float alpha,
                            const float *x, size_t ldx, const float *w,
                            size_t ldw, float beta, float *y, size_t ldy) {
    assert(m == 0 || n == 0 || (x && w && y));
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (size_t p = 0; p < k; p++)
                acc += (double)x[i * ldx + p] * (double)w[j * ldw + p];
            store(&y[i * ldy + j], alpha, acc, beta);
        }
}

static void gemm_h16_scalar(size_t m, size_t n, size_t k, float alpha,
                            const float *x, size_t ldx, const uint16_t *w,
                            size_t ldw, float beta, float *y, size_t ldy,
                            float (*widen)(uint16_t)) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (size_t p = 0; p < k; p++)
                acc += (double)x[i * ldx + p] * (double)widen(w[j * ldw + p]);
            store(&y[i * ldy + j], alpha, acc, beta);
        }
}

static void gemm_bf16w_scalar(size_t m, size_t n, size_t k, float alpha,
                              const float *x, size_t ldx, const uint16_t *w,
                              size_t ldw, float beta, float *y, size_t ldy) {
    gemm_h16_scalar(m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy,
                    bf16_bits_to_f32);
}

static void gemm_f16w_scalar(size_t m, size_t n, size_t k, float alpha,
                             const float *x, size_t ldx, const uint16_t *w,
                             size_t ldw, float beta, float *y, size_t ldy) {
    gemm_h16_scalar(m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy,
                    f16_bits_to_f32);
}

static void syrk_f32_scalar(size_t n, size_t k, const float *x, size_t ldx,
                            float *h, size_t ldh, size_t i0, size_t i1) {
    assert(i0 <= i1 && i1 <= n);
    for (size_t i = i0; i < i1; i++)
        for (size_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (size_t t = 0; t < k; t++)
                acc += (double)x[t * ldx + i] * (double)x[t * ldx + j];
            h[i * ldh + j] += (float)acc;
        }
}

// ---- backward products (kernels.h: gemm_nn / gemm_tn) ----

// c = alpha a B + beta c, B (k, n) row-major; b(p, j) reads element (p, j).
static void gemm_nn_scalar(size_t m, size_t n, size_t k, float alpha,
                           const float *a, size_t lda, const void *b,
                           size_t ldb, float beta, float *c, size_t ldc,
                           float (*bval)(const void *, size_t)) {
    assert(m == 0 || n == 0 || (a && b && c));
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (size_t p = 0; p < k; p++)
                acc += (double)a[i * lda + p] * (double)bval(b, p * ldb + j);
            store(&c[i * ldc + j], alpha, acc, beta);
        }
}

static float bval_f32(const void *b, size_t idx) {
    return ((const float *)b)[idx];
}

static float bval_bf16(const void *b, size_t idx) {
    return bf16_bits_to_f32(((const uint16_t *)b)[idx]);
}

static void gemm_nn_f32_scalar(size_t m, size_t n, size_t k, float alpha,
                               const float *a, size_t lda, const float *b,
                               size_t ldb, float beta, float *c, size_t ldc) {
    gemm_nn_scalar(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bval_f32);
}

static void gemm_nn_bf16b_scalar(size_t m, size_t n, size_t k, float alpha,
                                 const float *a, size_t lda, const uint16_t *b,
                                 size_t ldb, float beta, float *c, size_t ldc) {
    gemm_nn_scalar(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bval_bf16);
}

// c = alpha A^T B + beta c, A (k, m), B (k, n).
static void gemm_tn_f32_scalar(size_t m, size_t n, size_t k, float alpha,
                               const float *a, size_t lda, const float *b,
                               size_t ldb, float beta, float *c, size_t ldc) {
    assert(m == 0 || n == 0 || (a && b && c));
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (size_t p = 0; p < k; p++)
                acc += (double)a[p * lda + i] * (double)b[p * ldb + j];
            store(&c[i * ldc + j], alpha, acc, beta);
        }
}

// ---- compressed W: walk each row's stored values in column order ----

static float wide_f32(const void *v, size_t i) { return ((const float *)v)[i]; }
static float wide_bf16(const void *v, size_t i) {
    return bf16_bits_to_f32(((const uint16_t *)v)[i]);
}
static float wide_f16(const void *v, size_t i) {
    return f16_bits_to_f32(((const uint16_t *)v)[i]);
}

// sum_p x[p] W[r][p] in double over the stored values of row r, in
// increasing column (NM24 +0 padding values included: they add +-0).
static double sp_row_dot(const struct cpr_spw *w, size_t r, size_t k,
                         const float *x, float (*wide)(const void *, size_t)) {
    const uint8_t *m = w->meta + r * w->ldm;
    size_t v = (size_t)w->row_off[r];
    double acc = 0.0;
    if (!w->nm24) {
        for (size_t p = 0; p < k; p++)
            if ((m[p / 8] >> (p % 8)) & 1)
                acc += (double)x[p] * (double)wide(w->vals, v++);
        return acc;
    }
    for (size_t g = 0; 4 * g < k; g++)
        for (size_t s = 0; s < 2; s++) {
            size_t q = 2 * g + s, col = 4 * g + ((m[q / 4] >> (2 * (q % 4))) & 3);
            acc += (double)x[col] * (double)wide(w->vals, v + q);
        }
    return acc;
}

static void spgemm_scalar(size_t m, size_t n, size_t k, float alpha,
                          const float *x, size_t ldx, const struct cpr_spw *w,
                          float beta, float *y, size_t ldy,
                          float (*wide)(const void *, size_t)) {
    assert(m == 0 || n == 0 || (x && w && y));
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            store(&y[i * ldy + j], alpha, sp_row_dot(w, j, k, x + i * ldx, wide),
                  beta);
}

static void spgemm_f32_scalar(size_t m, size_t n, size_t k, float alpha,
                              const float *x, size_t ldx,
                              const struct cpr_spw *w, float beta, float *y,
                              size_t ldy) {
    spgemm_scalar(m, n, k, alpha, x, ldx, w, beta, y, ldy, wide_f32);
}

static void spgemm_bf16_scalar(size_t m, size_t n, size_t k, float alpha,
                               const float *x, size_t ldx,
                               const struct cpr_spw *w, float beta, float *y,
                               size_t ldy) {
    spgemm_scalar(m, n, k, alpha, x, ldx, w, beta, y, ldy, wide_bf16);
}

static void spgemm_f16_scalar(size_t m, size_t n, size_t k, float alpha,
                              const float *x, size_t ldx,
                              const struct cpr_spw *w, float beta, float *y,
                              size_t ldy) {
    spgemm_scalar(m, n, k, alpha, x, ldx, w, beta, y, ldy, wide_f16);
}

void cpr_fill_gemm_scalar(struct cpr_kernels *k) {
    k->spgemm_f32 = spgemm_f32_scalar;
    k->spgemm_bf16 = spgemm_bf16_scalar;
    k->spgemm_f16 = spgemm_f16_scalar;
    k->gemm_f32 = gemm_f32_scalar;
    k->gemm_bf16w = gemm_bf16w_scalar;
    k->gemm_f16w = gemm_f16w_scalar;
    k->syrk_f32 = syrk_f32_scalar;
    k->gemm_nn_f32 = gemm_nn_f32_scalar;
    k->gemm_nn_bf16b = gemm_nn_bf16b_scalar;
    k->gemm_tn_f32 = gemm_tn_f32_scalar;
}
