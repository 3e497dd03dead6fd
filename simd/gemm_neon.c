// simd/gemm_neon.c: the aarch64 NEON leaves of the GEMM / SYRK driver
// (simd/gemm_driver.c): a 6 x 16 micro-kernel and the f16 pack routine.
//
// MR x NR = 6 x 16 with 24 q-register accumulators (24 FMAs : 4 vector
// loads + 6 scalar loads per k step). Partial tiles (nr < 16) go through a
// 16-float row buffer with the same vector arithmetic as full tiles.
// KC = 256 (B micro-panel 16 KiB in L1), MC = 120, NC = 256: packed A
// 120 KiB + packed B 256 KiB of the driver's stack scratch. Packing is the
// driver's portable code (A rows and syrk copies are memcpy; W^T is a
// scalar transpose, O(n k) against O(m n k) flops) except f16 weights,
// widened here with vcvt.
//
// Numerics: each y element is one f32 FMA chain over k in increasing order
// within KC blocks that start at multiples of KC; y = alpha*acc + beta*y on
// the first block, y = alpha*acc + y after. The arithmetic depends only on
// k, the element's x row and W row, never on its tile position or on m/n,
// so any thread split gives bit-identical results.
// m <= 4 (decode) skips the driver: W rows are streamed once through
// 8-wide partial sums (simd/gemv_neon.c), a different summation order
// chosen by m alone (n splits stay bit-identical; an m split only if no
// part crosses m = 4).
#include "simd/gemm_driver.h"
#include "simd/gemv_small.h"
#include "simd/kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>

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
    uint16_t h = ((const uint16_t *)row)[p];
    float16x4_t v = vreinterpret_f16_u16(vdup_n_u16(h));
    return vgetq_lane_f32(vcvt_f32_f16(v), 0); // exact
}

// W (n, k) f16 -> the driver's f32 panels, widened with vcvt.
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
// One mr x nr tile: acc(r, l) = sum_p A(r, p) B(p, l), A(r, p) at
// a[r*ars + p*aps], B(p, l) at b[p*NR + l]; y = alpha*acc + beta*y, or
// alpha*acc when wonly (y not read).
CPR_AI void ukr(const int mr, const size_t ars, const size_t aps, size_t kc,
                const float *a, const float *b, float *y, size_t ldy,
                size_t nr, float alpha, float beta, int wonly) {
    float32x4_t c[MR][4];
    CPR_UNROLL
    for (int r = 0; r < mr; r++)
        c[r][0] = c[r][1] = c[r][2] = c[r][3] = vdupq_n_f32(0.0f);
    for (size_t p = 0; p < kc; p++) {
        float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
        float32x4_t b2 = vld1q_f32(b + 8), b3 = vld1q_f32(b + 12);
        CPR_UNROLL
        for (int r = 0; r < mr; r++) {
            float av = a[r * ars];
            c[r][0] = vfmaq_n_f32(c[r][0], b0, av);
            c[r][1] = vfmaq_n_f32(c[r][1], b1, av);
            c[r][2] = vfmaq_n_f32(c[r][2], b2, av);
            c[r][3] = vfmaq_n_f32(c[r][3], b3, av);
        }
        a += aps;
        b += NR;
    }
    float32x4_t va = vdupq_n_f32(alpha), vb = vdupq_n_f32(beta);
    CPR_UNROLL
    for (int r = 0; r < mr; r++) {
        float buf[NR] = {0};
        float *yr = y + (size_t)r * ldy, *yv = nr == NR ? yr : buf;
        if (nr < NR && !wonly) memcpy(buf, yr, nr * sizeof(float));
        for (int v = 0; v < 4; v++) {
            float32x4_t o = wonly ? vmulq_f32(va, c[r][v])
                                  : vfmaq_f32(vmulq_f32(vb, vld1q_f32(yv + 4 * v)), va,
                                              c[r][v]);
            vst1q_f32(yv + 4 * v, o);
        }
        if (nr < NR) memcpy(yr, buf, nr * sizeof(float));
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

// m <= 4 (decode) streams W rows without packing (simd/gemv_neon.c); the
// choice depends on m only, so n splits stay bit-identical.
static void gemm_xwt(enum cpr_gemm_wtype wt, size_t m, size_t n, size_t k,
                     float alpha, const float *x, size_t ldx, const void *w,
                     size_t ldw, float beta, float *y, size_t ldy) {
    if (m >= 1 && m <= CPR_GEMV_SMALL_M && k > 0 && n > 0)
        cpr_gemv_small_neon(wt, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
    else
        cpr_gemm_xwt(&ISA, wt, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
}

static void gemm_f32_neon(size_t m, size_t n, size_t k, float alpha,
                          const float *x, size_t ldx, const float *w,
                          size_t ldw, float beta, float *y, size_t ldy) {
    gemm_xwt(CPR_GEMM_W_F32, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
}

static void gemm_bf16w_neon(size_t m, size_t n, size_t k, float alpha,
                            const float *x, size_t ldx, const uint16_t *w,
                            size_t ldw, float beta, float *y, size_t ldy) {
    gemm_xwt(CPR_GEMM_W_BF16, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
}

static void gemm_f16w_neon(size_t m, size_t n, size_t k, float alpha,
                           const float *x, size_t ldx, const uint16_t *w,
                           size_t ldw, float beta, float *y, size_t ldy) {
    gemm_xwt(CPR_GEMM_W_F16, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
}

static void syrk_f32_neon(size_t n, size_t k, const float *x, size_t ldx,
                          float *h, size_t ldh, size_t i0, size_t i1) {
    cpr_gemm_syrk(&ISA, n, k, x, ldx, h, ldh, i0, i1);
}

static void gemm_nn_f32_neon(size_t m, size_t n, size_t k, float alpha,
                              const float *a, size_t lda, const float *b,
                              size_t ldb, float beta, float *c, size_t ldc) {
    cpr_gemm_nn(&ISA, CPR_GEMM_W_F32, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

static void gemm_nn_bf16b_neon(size_t m, size_t n, size_t k, float alpha,
                                const float *a, size_t lda, const uint16_t *b,
                                size_t ldb, float beta, float *c, size_t ldc) {
    cpr_gemm_nn(&ISA, CPR_GEMM_W_BF16, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

static void gemm_tn_f32_neon(size_t m, size_t n, size_t k, float alpha,
                              const float *a, size_t lda, const float *b,
                              size_t ldb, float beta, float *c, size_t ldc) {
    cpr_gemm_tn(&ISA, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void spgemm_f32_neon(size_t m, size_t n, size_t k, float alpha,
                        const float *x, size_t ldx, const struct cpr_spw *w, float beta,
                        float *y, size_t ldy) {
    cpr_gemm_xwt_spw(&ISA, CPR_GEMM_W_F32, m, n, k, alpha, x, ldx, w, beta, y, ldy);
}

static void spgemm_bf16_neon(size_t m, size_t n, size_t k, float alpha,
                        const float *x, size_t ldx, const struct cpr_spw *w, float beta,
                        float *y, size_t ldy) {
    cpr_gemm_xwt_spw(&ISA, CPR_GEMM_W_BF16, m, n, k, alpha, x, ldx, w, beta, y, ldy);
}

static void spgemm_f16_neon(size_t m, size_t n, size_t k, float alpha,
                        const float *x, size_t ldx, const struct cpr_spw *w, float beta,
                        float *y, size_t ldy) {
    cpr_gemm_xwt_spw(&ISA, CPR_GEMM_W_F16, m, n, k, alpha, x, ldx, w, beta, y, ldy);
}

void cpr_fill_gemm_neon(struct cpr_kernels *k) {
    k->spgemm_f32 = spgemm_f32_neon;
    k->spgemm_bf16 = spgemm_bf16_neon;
    k->spgemm_f16 = spgemm_f16_neon;
    k->gemm_f32 = gemm_f32_neon;
    k->gemm_bf16w = gemm_bf16w_neon;
    k->gemm_f16w = gemm_f16w_neon;
    k->syrk_f32 = syrk_f32_neon;
    k->gemm_nn_f32 = gemm_nn_f32_neon;
    k->gemm_nn_bf16b = gemm_nn_bf16b_neon;
    k->gemm_tn_f32 = gemm_tn_f32_neon;
}
#endif
