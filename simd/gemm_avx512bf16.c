// simd/gemm_avx512bf16.c: the AVX512_BF16 (vdpbf16ps) leaves of the GEMM
// driver (simd/gemm_driver.c) for bf16 weights.
//
// Only the gemm_bf16w slot; f32 and f16 weights use simd/gemm_avx512.c.
// Small m (decode, m <= 4) streams W rows through vdpbf16ps dot products
// without packing (see gemm_small).
// The driver's Goto/BLIS blocking on bf16 pairs, with this file's own
// packed formats (the driver treats them as opaque bytes):
//   A = x rounded to bf16 (round to nearest even, vcvtne2ps2bf16), packed
//       row-contiguous, so one 32-bit broadcast is the pair (x[p], x[p+1]);
//   B = W (bf16, used as stored) packed into NR = 32-row panels of 32-bit
//       pairs (W[j][p], W[j][p+1]): a 16 x 16 transpose of 32-bit words.
// Each vdpbf16ps does acc += x[p] w[p] + x[p+1] w[p+1] per lane (32 flops
// per instruction against 16 for an f32 FMA). MR x NR = 14 x 32 with 28
// zmm accumulators; KC = 384 k values (192 pairs: one B micro-panel is
// 24 KiB, L1-resident), MC = 112, NC = 512 (as in simd/gemm_avx512.c: a
// wide NC means fewer re-packs of x). Driver stack scratch: 91 KiB (A) +
// 384 KiB (B) = 475 KiB, no malloc. Software prefetch as in
// simd/gemm_avx512.c (y tile; next A and W blocks to L2).
//
// Numerics (differs from the other gemm kernels, see kernels.h): x is
// rounded to bf16 (relative error <= 2^-9 per element); the products of
// two bf16 are exact in f32 and each is added with one f32 rounding;
// vdpbf16ps treats bf16 denormal inputs as zero and flushes denormal
// results to zero. So each element is within ~2^-8 sum|x w| + k eps of the
// exact product with the bf16 weights. The arithmetic for an element
// depends only on k, its x row and W row (pairs start at even k from 0,
// KC blocks at multiples of KC), so results do not depend on tiling or on
// how m and n are split across threads.
#include <assert.h>
#include "simd/gemm_driver.h"
#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define CPR_AI static inline __attribute__((always_inline))
#if defined(__clang__)
#define CPR_UNROLL _Pragma("unroll")
#else
#define CPR_UNROLL _Pragma("GCC unroll 16")
#endif

// KC counts k values (bf16 elements); KQ = KC / 2 pairs.
// AQ: row stride of packed A in pairs; the +16 spreads the rows of an A
// micro-panel over distinct L1 sets (a 1 KiB stride would stack them).
enum { MR = 14, NR = 32, KC = 384, KQ = KC / 2, AQ = KQ + 16, MC = 112, NC = 512 };

// ---- packing ----

static inline __mmask16 mask16(size_t r) {
    return r >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << r) - 1u);
}

// In-place transpose of a 16 x 16 block held as 16 rows.
static inline void tr16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // r[4g + j], 128-bit lane L: column 4L + j of rows 4g..4g+3
    for (int g = 0; g < 4; g++) {
        r[4 * g + 0] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        r[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
        r[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        r[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    // 4 x 4 transpose of 128-bit lanes for each j
    for (int j = 0; j < 4; j++) {
        __m512 u0 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x44);
        __m512 u1 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xEE);
        __m512 u2 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x44);
        __m512 u3 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xEE);
        t[j] = _mm512_shuffle_f32x4(u0, u2, 0x88);      // column j
        t[4 + j] = _mm512_shuffle_f32x4(u0, u2, 0xDD);  // column 4 + j
        t[8 + j] = _mm512_shuffle_f32x4(u1, u3, 0x88);  // column 8 + j
        t[12 + j] = _mm512_shuffle_f32x4(u1, u3, 0xDD); // column 12 + j
    }
    for (int i = 0; i < 16; i++) r[i] = t[i];
}

static inline __mmask32 mask32(size_t r) {
    return r >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << r) - 1u);
}

// B block: rows [r0, r0+nc) of W (bf16), k values [p0, p0+kc), as NR-row
// panels of
// pairs: panel q at bp + q*KQ*NR, pair (p/2, l) at (p/2)*NR + l. Pairs past
// kc are zero-padded (odd kc); rows past nc are zero.
static void pack_b(const struct cpr_gemm_desc *d, const void *src, size_t ldw,
                   size_t r0, size_t p0, size_t nc, size_t kc, void *dst) {
    (void)d;
    const uint16_t *w = (const uint16_t *)src + r0 * ldw + p0;
    uint32_t *bp = dst;
    size_t kq = (kc + 1) / 2;
    for (size_t j0 = 0; j0 < nc; j0 += 16) {
        uint32_t *dst = bp + (j0 / NR) * KQ * NR + (j0 % NR);
        size_t rows = nc - j0 < 16 ? nc - j0 : 16;
        for (size_t p0 = 0; p0 < kc; p0 += 32) {
            __mmask32 km = mask32(kc - p0);
            size_t nq = kq - p0 / 2 < 16 ? kq - p0 / 2 : 16;
            __m512 r[16];
            // whole 32-value steps load unmasked (masked loads that cross
            // a cache line can cost more than plain unaligned ones, and W
            // rows of a pruned width or an 8-byte-aligned file seldom
            // start on a line); same values either way
            if (kc - p0 >= 32)
                for (size_t i = 0; i < 16; i++)
                    r[i] = i < rows ? _mm512_loadu_ps(w + (j0 + i) * ldw + p0)
                                    : _mm512_setzero_ps();
            else
                for (size_t i = 0; i < 16; i++)
                    r[i] = i < rows ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(
                                          km, w + (j0 + i) * ldw + p0))
                                    : _mm512_setzero_ps();
            tr16(r);
            for (size_t q = 0; q < nq; q++)
                _mm512_storeu_ps((float *)(dst + (p0 / 2 + q) * NR), r[q]);
        }
        if (j0 % NR == 0 && j0 + 16 >= nc) // the panel's upper half is empty
            for (size_t q = 0; q < kq; q++)
                _mm512_storeu_si512(dst + q * NR + 16, _mm512_setzero_si512());
    }
}

// A block: rows [r0, r0+mc) of x (k values [p0, p0+kc)) rounded to bf16, row r at
// ap + r*AQ (as pairs), zero past kc up to the next multiple of 32.
static void pack_a(const struct cpr_gemm_desc *d, const void *src, size_t ldx,
                   size_t r0, size_t p0, size_t mc, size_t kc, void *dst) {
    (void)d;
    const float *x = (const float *)src + r0 * ldx + p0;
    uint32_t *ap = dst;
    for (size_t r = 0; r < mc; r++) {
        const float *src = x + r * ldx;
        size_t p = 0;
        for (; p + 32 <= kc; p += 32) // whole steps unmasked (see pack_b)
            _mm512_storeu_si512(ap + r * AQ + p / 2,
                                (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + p + 16),
                                                             _mm512_loadu_ps(src + p)));
        if (p < kc) {
            size_t left = kc - p;
            __m512 lo = _mm512_maskz_loadu_ps(mask16(left), src + p);
            __m512 hi = _mm512_maskz_loadu_ps(mask16(left > 16 ? left - 16 : 0), src + p + 16);
            __m512bh v = _mm512_cvtne2ps_pbh(hi, lo);
            _mm512_storeu_si512(ap + r * AQ + p / 2, (__m512i)v);
        }
    }
}

// ---- micro-kernel ----
// y rows [0, mr) of a tile = alpha*acc + beta*y (alpha*acc when wonly),
// columns under the masks m0 (0..15) and m1 (16..31); full: the masks are
// all ones and the loads and stores go unmasked.
CPR_AI void store_tile(const int mr, const __m512 *c0, const __m512 *c1,
                       float *y, size_t ldy, __mmask16 m0, __mmask16 m1,
                       const int full, float alpha, float beta, int wonly) {
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    CPR_UNROLL
    for (int r = 0; r < mr; r++) {
        float *yr = y + (size_t)r * ldy;
        __m512 o0, o1;
        if (wonly) {
            o0 = _mm512_mul_ps(va, c0[r]);
            o1 = _mm512_mul_ps(va, c1[r]);
        } else {
            __m512 y0 = full ? _mm512_loadu_ps(yr) : _mm512_maskz_loadu_ps(m0, yr);
            __m512 y1 = full ? _mm512_loadu_ps(yr + 16)
                             : _mm512_maskz_loadu_ps(m1, yr + 16);
            o0 = _mm512_fmadd_ps(va, c0[r], _mm512_mul_ps(vb, y0));
            o1 = _mm512_fmadd_ps(va, c1[r], _mm512_mul_ps(vb, y1));
        }
        if (full) {
            _mm512_storeu_ps(yr, o0);
            _mm512_storeu_ps(yr + 16, o1);
        } else {
            _mm512_mask_storeu_ps(yr, m0, o0);
            _mm512_mask_storeu_ps(yr + 16, m1, o1);
        }
    }
}

// One mr x nr tile over kq pairs: acc(r, l) = sum_q dot2(A pair (r, q),
// B pair (q, l)); then y = alpha*acc + beta*y, or alpha*acc when wonly.
CPR_AI void ukr(const int mr, size_t kq, const uint32_t *a, const uint32_t *b,
                float *y, size_t ldy, size_t nr, float alpha, float beta,
                int wonly) {
    __m512 c0[MR], c1[MR];
    CPR_UNROLL
    for (int r = 0; r < mr; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    // y rows are strided (ldy): fetch the tile now so it is in L1 by the
    // time the k loop ends.
    // A row of 32 floats spans three lines when it does not start on a
    // 64-byte boundary (ldy = a pruned width such as 7723): the last
    // element's line too.
    for (int r = 0; r < mr; r++) {
        _mm_prefetch((const char *)(y + (size_t)r * ldy), _MM_HINT_T0);
        _mm_prefetch((const char *)(y + (size_t)r * ldy + 16), _MM_HINT_T0);
        _mm_prefetch((const char *)(y + (size_t)r * ldy + 31), _MM_HINT_T0);
    }
    for (size_t q = 0; q < kq; q++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + 16);
        CPR_UNROLL
        for (int r = 0; r < mr; r++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[r * AQ]);
            c0[r] = _mm512_dpbf16_ps(c0[r], av, b0);
            c1[r] = _mm512_dpbf16_ps(c1[r], av, b1);
        }
        a += 1;
        b += NR;
    }
    // Full-width tiles load and store y unmasked: masked accesses that
    // cross a cache line (y rows at ldy = a pruned width such as 7723 are
    // not line-aligned) can cost more than plain unaligned ones. Same
    // values.
    if (nr == NR) {
        store_tile(mr, c0, c1, y, ldy, 0xFFFF, 0xFFFF, 1, alpha, beta, wonly);
    } else {
        store_tile(mr, c0, c1, y, ldy, mask16(nr), mask16(nr > 16 ? nr - 16 : 0),
                   0, alpha, beta, wonly);
    }
}

// The driver's micro-kernel over kc k values (kq = ceil(kc/2) pairs; an odd
// tail pair is zero-padded by both pack routines). Dispatch on mr so each
// tail height gets its own fully unrolled kernel.
static void tile(size_t mr, size_t nr, size_t kc, const void *ap,
                 const void *bp, float *y, size_t ldy, float alpha, float beta,
                 int wonly) {
    size_t kq = (kc + 1) / 2;
    const uint32_t *a = ap, *b = bp;
    switch (mr) {
    case 14: ukr(14, kq, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 13: ukr(13, kq, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 12: ukr(12, kq, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 11: ukr(11, kq, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 10: ukr(10, kq, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 9: ukr(9, kq, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 8: ukr(8, kq, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 7: ukr(7, kq, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 6: ukr(6, kq, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 5: ukr(5, kq, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 4: ukr(4, kq, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 3: ukr(3, kq, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 2: ukr(2, kq, a, b, y, ldy, nr, alpha, beta, wonly); break;
    default: ukr(1, kq, a, b, y, ldy, nr, alpha, beta, wonly); break;
    }
}

// ---- small m (decode): dot products, no packing ----
// For m <= SMALL_M x rows, packing W (each element used m times) costs
// more than the product, so W rows are streamed once: 4 W rows x up to 4
// x rows of 16-lane vdpbf16ps partial sums over 32 k values at a time
// (x rounded to bf16 as in the packed path; full steps load unmasked and
// prefetch PF_AHEAD bytes ahead in each row; masked tails load zeros),
// then a fixed reduction. An element's arithmetic depends only on k, its
// x row, its W row and m (the path), never on n or its place: n splits
// stay bit-identical. m = 1 (one decode token) takes gemv1 below instead
// when k <= XB_MAX.
enum { SMALL_M = 4 };
// Software prefetch distance along each W row (bytes): the hardware
// prefetcher alone left 4 concurrent row streams short (measured: one
// thread, 11008 x 4096 bf16, m = 1: 7.1 -> 5.2 ms CPU time per call).
enum { PF_AHEAD = 1024 };

// One 32-value k step at p (cnt values: full steps load unmasked, the tail
// masked; the same data and arithmetic either way).
CPR_AI void small_step(const int mr, const int full, size_t p, size_t cnt,
                       const float *x, size_t ldx, const uint16_t *w,
                       size_t ldw, size_t nw, __m512 acc[4][4]) {
    __mmask32 km = mask32(cnt);
    __m512bh wv[4];
    if (full)
        for (size_t q = 0; q < nw; q++)
            _mm_prefetch((const char *)(w + q * ldw + p) + PF_AHEAD, _MM_HINT_T0);
    for (size_t q = 0; q < 4; q++)
        wv[q] = (__m512bh)(q >= nw ? _mm512_setzero_si512()
                           : full  ? _mm512_loadu_si512(w + q * ldw + p)
                                   : _mm512_maskz_loadu_epi16(km, w + q * ldw + p));
    __mmask16 m0 = mask16(cnt), m1 = mask16(cnt > 16 ? cnt - 16 : 0);
    CPR_UNROLL
    for (int i = 0; i < mr; i++) {
        const float *xi = x + (size_t)i * ldx + p;
        __m512 lo = full ? _mm512_loadu_ps(xi) : _mm512_maskz_loadu_ps(m0, xi);
        __m512 hi = full ? _mm512_loadu_ps(xi + 16) : _mm512_maskz_loadu_ps(m1, xi + 16);
        __m512bh xv = _mm512_cvtne2ps_pbh(hi, lo);
        for (int q = 0; q < 4; q++) acc[i][q] = _mm512_dpbf16_ps(acc[i][q], xv, wv[q]);
    }
}

CPR_AI void small_rows(const int mr, size_t k, float alpha, const float *x,
                       size_t ldx, const uint16_t *w, size_t ldw, size_t nw,
                       float beta, float *y, size_t ldy) {
    __m512 acc[4][4];
    CPR_UNROLL
    for (int i = 0; i < mr; i++)
        for (int q = 0; q < 4; q++) acc[i][q] = _mm512_setzero_ps();
    size_t k32 = k & ~(size_t)31;
    for (size_t p = 0; p < k32; p += 32)
        small_step(mr, 1, p, 32, x, ldx, w, ldw, nw, acc);
    if (k32 < k) small_step(mr, 0, k32, k - k32, x, ldx, w, ldw, nw, acc);
    CPR_UNROLL
    for (int i = 0; i < mr; i++)
        for (size_t q = 0; q < nw; q++) {
            float sm = alpha * _mm512_reduce_add_ps(acc[i][q]);
            float *yo = y + (size_t)i * ldy + q;
            *yo = beta == 0.0f ? sm : sm + beta * *yo;
        }
}

// m = 1 with k <= XB_MAX (decode): x is rounded to bf16 once into a stack
// buffer (zero-padded to a multiple of 32) and each W row is streamed alone,
// one sequential stream with software prefetch PF_ROW bytes ahead, through
// four vdpbf16ps chains of 32 k values (128 per step; the tail in masked
// 32-value steps). Measured one thread, 11008 x 4096: 6.0 -> 3.9 ms CPU
// time per call against small_rows (bench/results/decode_kern.json). Sum
// order: chain c holds the k values p with (p / 32) % 4 == c over the full
// 128-steps, the tail goes to chain 0; reduced (c0 + c1) + (c2 + c3).
enum { XB_MAX = 16384, PF_ROW = 2048 };

static void gemv1(size_t n, size_t k, float alpha, const float *x,
                  const uint16_t *w, size_t ldw, float beta, float *y) {
    _Alignas(64) uint16_t xb[XB_MAX];
    for (size_t p = 0; p < k; p += 32) {
        size_t cnt = k - p;
        __m512 lo = _mm512_maskz_loadu_ps(mask16(cnt), x + p);
        __m512 hi = _mm512_maskz_loadu_ps(mask16(cnt > 16 ? cnt - 16 : 0), x + p + 16);
        _mm512_store_si512(xb + p, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
    for (size_t j = 0; j < n; j++) {
        const uint16_t *wr = w + j * ldw;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
        size_t p = 0;
        for (; p + 128 <= k; p += 128) {
            const char *pf = (const char *)(wr + p) + PF_ROW;
            _mm_prefetch(pf, _MM_HINT_T0);
            _mm_prefetch(pf + 64, _MM_HINT_T0);
            _mm_prefetch(pf + 128, _MM_HINT_T0);
            _mm_prefetch(pf + 192, _MM_HINT_T0);
            a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512(wr + p),
                                  (__m512bh)_mm512_load_si512(xb + p));
            a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_loadu_si512(wr + p + 32),
                                  (__m512bh)_mm512_load_si512(xb + p + 32));
            a2 = _mm512_dpbf16_ps(a2, (__m512bh)_mm512_loadu_si512(wr + p + 64),
                                  (__m512bh)_mm512_load_si512(xb + p + 64));
            a3 = _mm512_dpbf16_ps(a3, (__m512bh)_mm512_loadu_si512(wr + p + 96),
                                  (__m512bh)_mm512_load_si512(xb + p + 96));
        }
        for (; p < k; p += 32)
            a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_maskz_loadu_epi16(mask32(k - p), wr + p),
                                  (__m512bh)_mm512_load_si512(xb + p));
        float sm = alpha * _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1),
                                                              _mm512_add_ps(a2, a3)));
        y[j] = beta == 0.0f ? sm : sm + beta * y[j];
    }
}

static void gemm_small(size_t m, size_t n, size_t k, float alpha,
                       const float *x, size_t ldx, const uint16_t *w,
                       size_t ldw, float beta, float *y, size_t ldy) {
    if (m == 1 && k <= XB_MAX) {
        gemv1(n, k, alpha, x, w, ldw, beta, y);
        return;
    }
    for (size_t j = 0; j < n; j += 4) {
        size_t nw = n - j < 4 ? n - j : 4;
        const uint16_t *wj = w + j * ldw;
        switch (m) {
        case 4: small_rows(4, k, alpha, x, ldx, wj, ldw, nw, beta, y + j, ldy); break;
        case 3: small_rows(3, k, alpha, x, ldx, wj, ldw, nw, beta, y + j, ldy); break;
        case 2: small_rows(2, k, alpha, x, ldx, wj, ldw, nw, beta, y + j, ldy); break;
        default: small_rows(1, k, alpha, x, ldx, wj, ldw, nw, beta, y + j, ldy); break;
        }
    }
}

// ---- kernel slot ----

static const struct cpr_gemm_desc DESC = {
    .mr = MR, .nr = NR, .mc = MC, .nc = NC, .kc = KC,
    .b_panel_bytes = KQ * NR * sizeof(uint32_t), .a_ld = AQ};

static void gemm_bf16w_avx512bf16(size_t m, size_t n, size_t k, float alpha,
                                  const float *x, size_t ldx,
                                  const uint16_t *w, size_t ldw, float beta,
                                  float *y, size_t ldy) {
    assert(m == 0 || n == 0 || (x && w && y));
    if (m >= 1 && m <= SMALL_M && k > 0 && n > 0) {
        gemm_small(m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
        return;
    }
    struct cpr_gemm_a a = {x, ldx, pack_a, tile, AQ * sizeof(uint32_t),
                           cpr_gemm_prefetch_rows_f32};
    struct cpr_gemm_b b = {w, ldw, pack_b, cpr_gemm_prefetch_rows_h16};
    cpr_gemm_drive(&DESC, &a, &b, 0, m, 0, n, k, alpha, beta, y, ldy);
}

static void spgemm_bf16_avx512bf16(size_t m, size_t n, size_t k, float alpha,
                                   const float *x, size_t ldx,
                                   const struct cpr_spw *w, float beta,
                                   float *y, size_t ldy) {
    assert(m == 0 || n == 0 || (x && w && y));
    struct cpr_gemm_spw_memo memo;
    memo.rows = 0;
    struct cpr_gemm_spb sb = {w, 2, pack_b, &memo};
    struct cpr_gemm_a a = {x, ldx, pack_a, tile, AQ * sizeof(uint32_t),
                           cpr_gemm_prefetch_rows_f32};
    struct cpr_gemm_b b = {&sb, k, cpr_gemm_pack_b_spw, cpr_gemm_prefetch_spw};
    cpr_gemm_drive(&DESC, &a, &b, 0, m, 0, n, k, alpha, beta, y, ldy);
}

void cpr_fill_gemm_avx512bf16(struct cpr_kernels *k) {
    k->spgemm_bf16 = spgemm_bf16_avx512bf16;
    k->gemm_bf16w = gemm_bf16w_avx512bf16;
}
#endif
