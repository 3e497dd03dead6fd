// simd/gemm_neon.c: blocked GEMM and SYRK with aarch64 NEON (f32 FMA).
//
// The structure of simd/gemm_avx512.c with 4-lane registers: A = x packed
// row-contiguous per MC x KC block (broadcast operand), B = W^T packed into
// NR = 16 column panels (k-major; bf16/f16 widened exactly while packing),
// an MR x NR = 6 x 16 micro-kernel with 24 q-register accumulators (24
// FMAs : 4 vector loads + 6 scalar loads per k step). KC = 256 (B
// micro-panel 16 KiB), MC = 120, NC = 256: stack scratch 376 KiB, no malloc.
// Packing is plain scalar code. Partial tiles (nr < 16) go through a
// 16-float row buffer with the same vector arithmetic as full tiles.
//
// Numerics: each y element is one f32 FMA chain over k in increasing order
// within KC blocks that start at multiples of KC; y = alpha*acc + beta*y on
// the first block, y = alpha*acc + y after. The arithmetic depends only on
// k, the element's x row and W row, so any thread split gives bit-identical
// results.
#include <assert.h>
#include <string.h>

#include "simd/kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#define CPR_AI static inline __attribute__((always_inline))
// Full unrolling of the loops over micro-tile rows keeps the accumulators
// in registers.
#if defined(__clang__)
#define CPR_UNROLL _Pragma("unroll")
#else
#define CPR_UNROLL _Pragma("GCC unroll 16")
#endif

enum { MR = 6, NR = 16, KC = 256, MC = 120, NC = 256 };
enum wtype { W_F32, W_BF16, W_F16 };

// ---- packing ----

CPR_AI float widen(enum wtype wt, const void *w, size_t i) {
    if (wt == W_F32) return ((const float *)w)[i];
    uint16_t h = ((const uint16_t *)w)[i];
    if (wt == W_F16) {
        float16x4_t v = vreinterpret_f16_u16(vdup_n_u16(h));
        return vgetq_lane_f32(vcvt_f32_f16(v), 0); // exact
    }
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

// B block: rows [0, nc) of W (columns [0, kc)) into NR-row panels, panel q
// at bp + q*KC*NR with element (p, l) at p*NR + l; rows past nc are zero.
CPR_AI void pack_b(enum wtype wt, const void *w, size_t ldw, size_t nc,
                   size_t kc, float *bp) {
    size_t esz = wt == W_F32 ? 4 : 2;
    for (size_t j0 = 0; j0 < nc; j0 += NR) {
        float *dst = bp + j0 * KC;
        size_t rows = nc - j0 < NR ? nc - j0 : NR;
        for (size_t l = 0; l < rows; l++) {
            const void *src = (const char *)w + (j0 + l) * ldw * esz;
            for (size_t p = 0; p < kc; p++) dst[p * NR + l] = widen(wt, src, p);
        }
        for (size_t l = rows; l < NR; l++)
            for (size_t p = 0; p < kc; p++) dst[p * NR + l] = 0.0f;
    }
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

static void tile_rows(size_t mr, size_t kc, const float *a, const float *b,
                      float *y, size_t ldy, size_t nr, float alpha,
                      float beta, int wonly) {
    tile(KC, 1, mr, kc, a, b, y, ldy, nr, alpha, beta, wonly);
}

static void tile_kmajor(size_t mr, size_t kc, const float *a, const float *b,
                        float *y, size_t ldy, size_t nr) {
    tile(1, MR, mr, kc, a, b, y, ldy, nr, 1.0f, 1.0f, 0);
}

// ---- gemm driver ----

CPR_AI void gemm_drive(enum wtype wt, size_t m, size_t n, size_t k,
                       float alpha, const float *x, size_t ldx,
                       const void *w, size_t ldw, float beta, float *y,
                       size_t ldy) {
    assert(m == 0 || n == 0 || (x && w && y));
    if (m == 0 || n == 0) return;
    if (k == 0) { // empty product: y = beta*y
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++)
                y[i * ldy + j] = beta == 0.0f ? 0.0f : beta * y[i * ldy + j];
        return;
    }
    _Alignas(64) float ap[MC * KC];
    _Alignas(64) float bp[NC * KC];
    size_t esz = wt == W_F32 ? 4 : 2;
    for (size_t jc = 0; jc < n; jc += NC) {
        size_t nc = n - jc < NC ? n - jc : NC;
        for (size_t pc = 0; pc < k; pc += KC) {
            size_t kc = k - pc < KC ? k - pc : KC;
            pack_b(wt, (const char *)w + (jc * ldw + pc) * esz, ldw, nc, kc, bp);
            int wonly = pc == 0 && beta == 0.0f;
            float be = pc == 0 ? beta : 1.0f;
            for (size_t ic = 0; ic < m; ic += MC) {
                size_t mc = m - ic < MC ? m - ic : MC;
                for (size_t r = 0; r < mc; r++)
                    memcpy(ap + r * KC, x + (ic + r) * ldx + pc, kc * sizeof(float));
                for (size_t jr = 0; jr < nc; jr += NR) {
                    size_t nr = nc - jr < NR ? nc - jr : NR;
                    for (size_t ir = 0; ir < mc; ir += MR) {
                        size_t mr = mc - ir < MR ? mc - ir : MR;
                        tile_rows(mr, kc, ap + ir * KC, bp + jr * KC,
                                  y + (ic + ir) * ldy + jc + jr, ldy, nr, alpha, be, wonly);
                    }
                }
            }
        }
    }
}

static void gemm_f32_neon(size_t m, size_t n, size_t k, float alpha,
                          const float *x, size_t ldx, const float *w,
                          size_t ldw, float beta, float *y, size_t ldy) {
    gemm_drive(W_F32, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
}

static void gemm_bf16w_neon(size_t m, size_t n, size_t k, float alpha,
                            const float *x, size_t ldx, const uint16_t *w,
                            size_t ldw, float beta, float *y, size_t ldy) {
    gemm_drive(W_BF16, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
}

static void gemm_f16w_neon(size_t m, size_t n, size_t k, float alpha,
                           const float *x, size_t ldx, const uint16_t *w,
                           size_t ldw, float beta, float *y, size_t ldy) {
    gemm_drive(W_F16, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
}

// ---- syrk ----
// h[i][j] += sum_t x[t][i] x[t][j], i in [i0, i1): M = i, N = j, K = t;
// A(i, t) = x[t][i] packed k-major (ap[p*MR + r]), B(t, j) = x[t][j] in
// NR panels: both are copies of row segments of x.
static void syrk_f32_neon(size_t n, size_t k, const float *x, size_t ldx,
                          float *h, size_t ldh, size_t i0, size_t i1) {
    assert(i0 <= i1 && i1 <= n);
    if (i0 == i1 || k == 0) return;
    _Alignas(64) float ap[MC * KC];
    _Alignas(64) float bp[NC * KC];
    for (size_t jc = 0; jc < n; jc += NC) {
        size_t nc = n - jc < NC ? n - jc : NC;
        for (size_t pc = 0; pc < k; pc += KC) {
            size_t kc = k - pc < KC ? k - pc : KC;
            for (size_t jr = 0; jr < nc; jr += NR) {
                size_t nr = nc - jr < NR ? nc - jr : NR;
                for (size_t p = 0; p < kc; p++) {
                    float *dst = bp + jr * KC + p * NR;
                    memcpy(dst, x + (pc + p) * ldx + jc + jr, nr * sizeof(float));
                    for (size_t l = nr; l < NR; l++) dst[l] = 0.0f;
                }
            }
            for (size_t ic = i0; ic < i1; ic += MC) {
                size_t mc = i1 - ic < MC ? i1 - ic : MC;
                for (size_t ir = 0; ir < mc; ir += MR) {
                    size_t mr = mc - ir < MR ? mc - ir : MR;
                    for (size_t p = 0; p < kc; p++)
                        memcpy(ap + ir * KC + p * MR, x + (pc + p) * ldx + ic + ir,
                               mr * sizeof(float));
                }
                for (size_t jr = 0; jr < nc; jr += NR) {
                    size_t nr = nc - jr < NR ? nc - jr : NR;
                    for (size_t ir = 0; ir < mc; ir += MR) {
                        size_t mr = mc - ir < MR ? mc - ir : MR;
                        tile_kmajor(mr, kc, ap + ir * KC, bp + jr * KC,
                                    h + (ic + ir) * ldh + jc + jr, ldh, nr);
                    }
                }
            }
        }
    }
}

void cpr_fill_gemm_neon(struct cpr_kernels *k) {
    k->gemm_f32 = gemm_f32_neon;
    k->gemm_bf16w = gemm_bf16w_neon;
    k->gemm_f16w = gemm_f16w_neon;
    k->syrk_f32 = syrk_f32_neon;
}
#endif
