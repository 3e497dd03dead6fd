// simd/gemm_avx2.c: the AVX2 + FMA leaves of the GEMM / SYRK driver
// (simd/gemm_driver.c): a 6 x 16 micro-kernel and the f16 pack routine.
//
// MR x NR = 6 x 16 with 12 ymm accumulators (12 FMAs : 8 loads per k step).
// KC = 256 (B micro-panel 16 KiB in L1), MC = 120, NC = 256: packed A
// 120 KiB + packed B 256 KiB of the driver's stack scratch. Packing is the
// driver's portable code (A rows and syrk copies are memcpy; W^T is a
// scalar transpose, O(n k) against O(m n k) flops) except f16 weights,
// widened here with F16C.
//
// Numerics: each y element is one f32 FMA chain over k in increasing order
// within KC blocks that start at multiples of KC; y = alpha*acc + beta*y on
// the first block, y = alpha*acc + y after. The arithmetic depends only on
// k, the element's x row and W row, never on its tile position or on m/n,
// so any thread split gives bit-identical results.
// m <= 4 (decode) skips the driver: W rows are streamed once through
// 8-wide partial sums (simd/gemv_avx2.c), a different summation order
// chosen by m alone (n splits stay bit-identical; an m split only if no
// part crosses m = 4).
#include "simd/gemm_driver.h"
#include "simd/gemv_small.h"
#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define CPR_AI static inline __attribute__((always_inline))
// Full unrolling of the loops over micro-tile rows keeps the accumulators
// in registers.
#if defined(__clang__)
#define CPR_UNROLL _Pragma("unroll")
#else
#define CPR_UNROLL _Pragma("GCC unroll 16")
#endif

enum { MR = 6, NR = 16, KC = 256, MC = 120, NC = 256 };

// ---- packing ----

static inline float wide_f16(const void *row, size_t p) {
    return _cvtsh_ss(((const uint16_t *)row)[p]); // exact
}

// W (n, k) f16 -> the driver's f32 panels, widened with F16C.
static void pack_b_nk_f16(const struct cpr_gemm_desc *d, const void *src,
                          size_t ld, size_t r0, size_t p0, size_t rows,
                          size_t kc, void *dst) {
    cpr_gemm_pack_b_nk_wide(d, src, ld, 2, r0, p0, rows, kc, dst, wide_f16);
}

// syrk's operands, with this file's constant block sizes.
static void pack_a_cols(const struct cpr_gemm_desc *d, const void *src,
                        size_t ld, size_t r0, size_t p0, size_t rows,
                        size_t kc, void *dst) {
    (void)d;
    cpr_gemm_pack_a_cols_f32_with(MR, KC, src, ld, r0, p0, rows, kc, dst);
}

static void pack_b_kn(const struct cpr_gemm_desc *d, const void *src,
                      size_t ld, size_t r0, size_t p0, size_t rows, size_t kc,
                      void *dst) {
    (void)d;
    cpr_gemm_pack_b_kn_f32_with(NR, KC, src, ld, r0, p0, rows, kc, dst);
}

// dX = dY W with bf16 W: B (k, n) widened while copying (constant NR).
static void pack_b_kn_bf16(const struct cpr_gemm_desc *d, const void *src,
                           size_t ld, size_t r0, size_t p0, size_t rows,
                           size_t kc, void *dst) {
    (void)d;
    cpr_gemm_pack_b_kn_bf16_with(NR, KC, src, ld, r0, p0, rows, kc, dst);
}

// ---- micro-kernel ----

static inline __m256i lane_mask(size_t cnt) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)cnt),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// One mr x nr tile: acc(r, l) = sum_p A(r, p) B(p, l), A(r, p) at
// a[r*ars + p*aps], B(p, l) at b[p*NR + l]; y = alpha*acc + beta*y, or
// alpha*acc when wonly (y not read).
CPR_AI void ukr(const int mr, const size_t ars, const size_t aps, size_t kc,
                const float *a, const float *b, float *y, size_t ldy,
                size_t nr, float alpha, float beta, int wonly) {
    __m256 c0[MR], c1[MR];
    CPR_UNROLL
    for (int r = 0; r < mr; r++) c0[r] = c1[r] = _mm256_setzero_ps();
    for (size_t p = 0; p < kc; p++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        CPR_UNROLL
        for (int r = 0; r < mr; r++) {
            __m256 av = _mm256_broadcast_ss(a + r * ars);
            c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
        }
        a += aps;
        b += NR;
    }
    __m256i m0 = lane_mask(nr), m1 = lane_mask(nr > 8 ? nr - 8 : 0);
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    CPR_UNROLL
    for (int r = 0; r < mr; r++) {
        float *yr = y + (size_t)r * ldy;
        __m256 o0, o1;
        if (wonly) {
            o0 = _mm256_mul_ps(va, c0[r]);
            o1 = _mm256_mul_ps(va, c1[r]);
        } else {
            o0 = _mm256_fmadd_ps(va, c0[r], _mm256_mul_ps(vb, _mm256_maskload_ps(yr, m0)));
            o1 = _mm256_fmadd_ps(va, c1[r], _mm256_mul_ps(vb, _mm256_maskload_ps(yr + 8, m1)));
        }
        _mm256_maskstore_ps(yr, m0, o0);
        _mm256_maskstore_ps(yr + 8, m1, o1);
    }
}

// Dispatch on mr so each tail height gets its own unrolled kernel.
CPR_AI void tile(const size_t ars, const size_t aps, size_t mr, size_t kc,
                 const float *a, const float *b, float *y, size_t ldy,
                 size_t nr, float alpha, float beta, int wonly) {
    switch (mr) {
    case 6: ukr(6, ars, aps, kc, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 5: ukr(5, ars, aps, kc, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 4: ukr(4, ars, aps, kc, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 3: ukr(3, ars, aps, kc, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 2: ukr(2, ars, aps, kc, a, b, y, ldy, nr, alpha, beta, wonly); break;
    default: ukr(1, ars, aps, kc, a, b, y, ldy, nr, alpha, beta, wonly); break;
    }
}

// The driver's micro-kernels: row-contiguous packed A (gemm) and k-major
// packed A (syrk); each exists once, out of line.
static void ukr_rows(size_t mr, size_t nr, size_t kc, const void *a,
                     const void *b, float *c, size_t ldc, float alpha,
                     float beta, int wonly) {
    tile(KC, 1, mr, kc, a, b, c, ldc, nr, alpha, beta, wonly);
}

static void ukr_kmajor(size_t mr, size_t nr, size_t kc, const void *a,
                       const void *b, float *c, size_t ldc, float alpha,
                       float beta, int wonly) {
    tile(1, MR, mr, kc, a, b, c, ldc, nr, alpha, beta, wonly);
}

// ---- kernel slots ----

static const struct cpr_gemm_isa ISA = {
    .d = {.mr = MR, .nr = NR, .mc = MC, .nc = NC, .kc = KC,
          .b_panel_bytes = KC * NR * sizeof(float), .a_ld = KC},
    .ukr_rows = ukr_rows, .ukr_kmajor = ukr_kmajor,
    .pack_a_rows = cpr_gemm_pack_a_rows_f32, .pack_a_cols = pack_a_cols,
    .pack_b_kn = pack_b_kn, .pack_b_kn_bf16 = pack_b_kn_bf16,
    .pack_b_nk = {cpr_gemm_pack_b_nk_f32, cpr_gemm_pack_b_nk_bf16, pack_b_nk_f16}};

// m <= 4 (decode) streams W rows without packing (simd/gemv_avx2.c); the
// choice depends on m only, so n splits stay bit-identical.
static void gemm_xwt(enum cpr_gemm_wtype wt, size_t m, size_t n, size_t k,
                     float alpha, const float *x, size_t ldx, const void *w,
                     size_t ldw, float beta, float *y, size_t ldy) {
    if (m >= 1 && m <= CPR_GEMV_SMALL_M && k > 0 && n > 0)
        cpr_gemv_small_avx2(wt, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
    else
        cpr_gemm_xwt(&ISA, wt, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
}

static void gemm_f32_avx2(size_t m, size_t n, size_t k, float alpha,
                          const float *x, size_t ldx, const float *w,
                          size_t ldw, float beta, float *y, size_t ldy) {
    gemm_xwt(CPR_GEMM_W_F32, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
}

static void gemm_bf16w_avx2(size_t m, size_t n, size_t k, float alpha,
                            const float *x, size_t ldx, const uint16_t *w,
                            size_t ldw, float beta, float *y, size_t ldy) {
    gemm_xwt(CPR_GEMM_W_BF16, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
}

static void gemm_f16w_avx2(size_t m, size_t n, size_t k, float alpha,
                           const float *x, size_t ldx, const uint16_t *w,
                           size_t ldw, float beta, float *y, size_t ldy) {
    gemm_xwt(CPR_GEMM_W_F16, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
}

static void syrk_f32_avx2(size_t n, size_t k, const float *x, size_t ldx,
                          float *h, size_t ldh, size_t i0, size_t i1) {
    cpr_gemm_syrk(&ISA, n, k, x, ldx, h, ldh, i0, i1);
}

static void gemm_nn_f32_avx2(size_t m, size_t n, size_t k, float alpha,
                              const float *a, size_t lda, const float *b,
                              size_t ldb, float beta, float *c, size_t ldc) {
    cpr_gemm_nn(&ISA, CPR_GEMM_W_F32, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

static void gemm_nn_bf16b_avx2(size_t m, size_t n, size_t k, float alpha,
                                const float *a, size_t lda, const uint16_t *b,
                                size_t ldb, float beta, float *c, size_t ldc) {
    cpr_gemm_nn(&ISA, CPR_GEMM_W_BF16, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

static void gemm_tn_f32_avx2(size_t m, size_t n, size_t k, float alpha,
                              const float *a, size_t lda, const float *b,
                              size_t ldb, float beta, float *c, size_t ldc) {
    cpr_gemm_tn(&ISA, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void spgemm_f32_avx2(size_t m, size_t n, size_t k, float alpha,
                        const float *x, size_t ldx, const struct cpr_spw *w, float beta,
                        float *y, size_t ldy) {
    cpr_gemm_xwt_spw(&ISA, CPR_GEMM_W_F32, m, n, k, alpha, x, ldx, w, beta, y, ldy);
}

static void spgemm_bf16_avx2(size_t m, size_t n, size_t k, float alpha,
                        const float *x, size_t ldx, const struct cpr_spw *w, float beta,
                        float *y, size_t ldy) {
    cpr_gemm_xwt_spw(&ISA, CPR_GEMM_W_BF16, m, n, k, alpha, x, ldx, w, beta, y, ldy);
}

static void spgemm_f16_avx2(size_t m, size_t n, size_t k, float alpha,
                        const float *x, size_t ldx, const struct cpr_spw *w, float beta,
                        float *y, size_t ldy) {
    cpr_gemm_xwt_spw(&ISA, CPR_GEMM_W_F16, m, n, k, alpha, x, ldx, w, beta, y, ldy);
}

void cpr_fill_gemm_avx2(struct cpr_kernels *k) {
    k->spgemm_f32 = spgemm_f32_avx2;
    k->spgemm_bf16 = spgemm_bf16_avx2;
    k->spgemm_f16 = spgemm_f16_avx2;
    k->gemm_f32 = gemm_f32_avx2;
    k->gemm_bf16w = gemm_bf16w_avx2;
    k->gemm_f16w = gemm_f16w_avx2;
    k->syrk_f32 = syrk_f32_avx2;
    k->gemm_nn_f32 = gemm_nn_f32_avx2;
    k->gemm_nn_bf16b = gemm_nn_bf16b_avx2;
    k->gemm_tn_f32 = gemm_tn_f32_avx2;
}
#endif
