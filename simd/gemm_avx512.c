// simd/gemm_avx512.c: the AVX-512F leaves of the GEMM / SYRK driver
// (simd/gemm_driver.c): micro-kernels, pack routines, block sizes, and a
// no-packing path for tiny m.
//
// The driver does Goto/BLIS-style blocking. For y = alpha x W^T + beta y:
//   A = x (m, k)   broadcast operand, packed row-contiguous per MC x KC block,
//   B = W^T (k, n) vector operand, packed k-major into NR-wide panels
//                  (a transpose of W's rows, widened from bf16/f16 exactly),
//   C = y (m, n).
// The MR x NR = 14 x 32 micro-kernel keeps 28 zmm accumulators, loads two
// B vectors and broadcasts 14 A values per k step (28 FMAs : 16 loads).
//
// Blocking (Zen 5: 48 KiB L1d, 1 MiB L2 per core):
//   KC = 192: one B micro-panel (KC x NR f32 = 24 KiB) stays in L1 while the
//             A micro-panels (14 x KC = 10.5 KiB) stream from L2;
//   MC = 112: packed A = 91 KiB (rows padded to KC + 16);
//   NC = 512: packed B = 384 KiB. A is re-packed once per NC columns of
//             the thread's n, so a wide NC matters more than a deep KC:
//             measured on Zen 5 (one thread, M=512 N=2048), KC/NC =
//             192/512 beat 256/256 by 2-6% and 128/768 (y passes) too.
// Packing buffers are the driver's stack scratch: 475 KiB (< the 512 KiB
// kernel budget; pool threads have 8 MiB stacks). No malloc. Software
// prefetch: the y tile at the start of each micro-kernel, and the next A
// and W blocks (to L2) spread over the tiles of the current block (the
// driver's prefetch hooks).
// Where the time goes (one thread, M=512 N=2048 K=4096, rdtsc): the
// micro-kernel alone runs at ~97% of the FMA peak; packing W (a transpose)
// costs ~5%, packing x ~3-4%, the y read-modify-write per KC block ~2-3%.
//
// Numerics: every y element is one f32 FMA chain over k in increasing
// order inside each KC block (blocks start at multiples of KC from p = 0);
// block sums are folded into y as y = alpha*acc + beta*y (first block),
// then y = alpha*acc + y. The arithmetic for an element depends only on k,
// its x row and its W row, never on its position in a tile or on n, so
// any split of n across threads gives bit-identical results.
//
// m <= 4 (a few tokens) skips packing: W rows are streamed through
// 16-lane dot products (see gemm_small), a different summation order. The
// choice depends on m only, so n splits stay bit-identical; an m split is
// bit-identical only if no part crosses m = 4.
//
// syrk uses the same micro-kernel with A = X^T packed k-major (a plain copy
// of row segments of X) and B = X (copies of row segments).
#include <assert.h>
#include <string.h>

#include "simd/gemm_driver.h"
#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define CPR_AI static inline __attribute__((always_inline))
// Full unrolling of the loops over micro-tile rows lets the accumulator
// arrays live in registers.
#if defined(__clang__)
#define CPR_UNROLL _Pragma("unroll")
#else
#define CPR_UNROLL _Pragma("GCC unroll 16")
#endif

// AS: row stride of packed A. KC + 16 floats (832 bytes) spreads the 14
// rows of an A micro-panel over distinct L1 sets (a stride that is a
// multiple of 1 KiB would stack every 4th row in one set).
enum { MR = 14, NR = 32, KC = 192, MC = 112, NC = 512, AS = KC + 16 };
// m at or below which gemm streams W rows through dot products instead of
// packing (measured crossover on Zen 5: m = 1 runs 2.4x faster, m = 4
// 1.7x, m = 8 breaks even).
enum { SMALL_M = 4 };
// The same order as enum cpr_gemm_wtype.
enum wtype { W_F32, W_BF16, W_F16 };

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

// Up to 16 consecutive weights of one W row as f32 (zeros past `cnt`).
CPR_AI __m512 load_w16(enum wtype wt, const void *w, size_t off, size_t cnt) {
    __mmask16 km = mask16(cnt);
    if (wt == W_F32) return _mm512_maskz_loadu_ps(km, (const float *)w + off);
    __m256i h = _mm256_maskz_loadu_epi16(km, (const uint16_t *)w + off);
    if (wt == W_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// B block: rows [0, nc) of W (columns [0, kc)) into panels of NR rows,
// panel q at bp + q*KC*NR holding element (p, l) at p*NR + l. Rows past nc
// are zero.
CPR_AI void pack_b(enum wtype wt, const void *w, size_t ldw, size_t nc,
                   size_t kc, float *bp) {
    size_t esz = wt == W_F32 ? 4 : 2;
    for (size_t j0 = 0; j0 < nc; j0 += 16) {
        float *dst = bp + (j0 / NR) * KC * NR + (j0 % NR);
        size_t rows = nc - j0 < 16 ? nc - j0 : 16;
        for (size_t p0 = 0; p0 < kc; p0 += 16) {
            size_t np = kc - p0 < 16 ? kc - p0 : 16;
            __m512 r[16];
            for (size_t i = 0; i < 16; i++)
                r[i] = i < rows ? load_w16(wt, (const char *)w + (j0 + i) * ldw * esz,
                                           p0, np)
                                : _mm512_setzero_ps();
            tr16(r);
            for (size_t q = 0; q < np; q++) _mm512_storeu_ps(dst + (p0 + q) * NR, r[q]);
        }
        if (rows <= 16 && j0 % NR == 0 && j0 + 16 >= nc) // empty upper half
            for (size_t p = 0; p < kc; p++)
                _mm512_storeu_ps(dst + p * NR + 16, _mm512_setzero_ps());
    }
}

static void pack_b_nk_f32(const struct cpr_gemm_desc *d, const void *src,
                          size_t ld, size_t r0, size_t p0, size_t rows,
                          size_t kc, void *dst) {
    (void)d;
    pack_b(W_F32, (const float *)src + r0 * ld + p0, ld, rows, kc, dst);
}

static void pack_b_nk_bf16(const struct cpr_gemm_desc *d, const void *src,
                           size_t ld, size_t r0, size_t p0, size_t rows,
                           size_t kc, void *dst) {
    (void)d;
    pack_b(W_BF16, (const uint16_t *)src + r0 * ld + p0, ld, rows, kc, dst);
}

static void pack_b_nk_f16(const struct cpr_gemm_desc *d, const void *src,
                          size_t ld, size_t r0, size_t p0, size_t rows,
                          size_t kc, void *dst) {
    (void)d;
    pack_b(W_F16, (const uint16_t *)src + r0 * ld + p0, ld, rows, kc, dst);
}

// syrk's B = X (k, n): NR floats per token, masked copies (zeros past nr).
static void pack_b_kn(const struct cpr_gemm_desc *d, const void *src,
                      size_t ld, size_t r0, size_t p0, size_t rows, size_t kc,
                      void *dst) {
    (void)d;
    const float *x = (const float *)src + p0 * ld + r0;
    for (size_t jr = 0; jr < rows; jr += NR) {
        size_t nr = rows - jr < NR ? rows - jr : NR;
        float *panel = (float *)dst + jr * KC;
        __mmask16 m0 = mask16(nr), m1 = mask16(nr > 16 ? nr - 16 : 0);
        for (size_t p = 0; p < kc; p++) {
            const float *s = x + p * ld + jr;
            _mm512_storeu_ps(panel + p * NR, _mm512_maskz_loadu_ps(m0, s));
            _mm512_storeu_ps(panel + p * NR + 16, _mm512_maskz_loadu_ps(m1, s + 16));
        }
    }
}

// dX = dY W with bf16 W: B (k, n) bf16, NR values per k widened (shift
// into the high half) with masked loads (zeros past nr).
static void pack_b_kn_bf16(const struct cpr_gemm_desc *d, const void *src,
                           size_t ld, size_t r0, size_t p0, size_t rows,
                           size_t kc, void *dst) {
    (void)d;
    const uint16_t *x = (const uint16_t *)src + p0 * ld + r0;
    for (size_t jr = 0; jr < rows; jr += NR) {
        size_t nr = rows - jr < NR ? rows - jr : NR;
        float *panel = (float *)dst + jr * KC;
        __mmask16 m0 = mask16(nr), m1 = mask16(nr > 16 ? nr - 16 : 0);
        for (size_t p = 0; p < kc; p++) {
            const uint16_t *s = x + p * ld + jr;
            __m512i w0 = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m0, s));
            __m512i w1 = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m1, s + 16));
            _mm512_storeu_ps(panel + p * NR,
                             _mm512_castsi512_ps(_mm512_slli_epi32(w0, 16)));
            _mm512_storeu_ps(panel + p * NR + 16,
                             _mm512_castsi512_ps(_mm512_slli_epi32(w1, 16)));
        }
    }
}

// syrk's A = X^T: k-major micro-panels (ap[p*MR + r]), mr <= 14 floats per
// token, one masked copy each.
static void pack_a_cols(const struct cpr_gemm_desc *d, const void *src,
                        size_t ld, size_t r0, size_t p0, size_t rows,
                        size_t kc, void *dst) {
    (void)d;
    const float *x = (const float *)src + p0 * ld + r0;
    for (size_t ir = 0; ir < rows; ir += MR) {
        size_t mr = rows - ir < MR ? rows - ir : MR;
        __mmask16 am = mask16(mr);
        float *panel = (float *)dst + ir * KC;
        for (size_t p = 0; p < kc; p++)
            _mm512_mask_storeu_ps(panel + p * MR, am,
                                  _mm512_maskz_loadu_ps(am, x + p * ld + ir));
    }
}

// ---- micro-kernel ----
// One mr x nr tile (mr <= MR, nr <= NR): acc = sum_p A(r, p) * B(p, l),
// with A(r, p) at a[r*ars + p*aps], B(p, l) at b[p*NR + l]; then
// y = alpha*acc + beta*y, or alpha*acc when wonly (y not read).
CPR_AI void ukr(const int mr, const size_t ars, const size_t aps, size_t kc,
                const float *a, const float *b, float *y, size_t ldy,
                size_t nr, float alpha, float beta, int wonly) {
    __m512 c0[MR], c1[MR];
    CPR_UNROLL
    for (int r = 0; r < mr; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    // y rows are strided (ldy): fetch the tile now so it is in L1 by the
    // time the k loop ends (y lives in L3 for big m*n).
    // A row of 32 floats spans three lines when it does not start on a
    // 64-byte boundary (ldy = a pruned width such as 7723): the last
    // element's line too.
    for (int r = 0; r < mr; r++) {
        _mm_prefetch((const char *)(y + (size_t)r * ldy), _MM_HINT_T0);
        _mm_prefetch((const char *)(y + (size_t)r * ldy + 16), _MM_HINT_T0);
        _mm_prefetch((const char *)(y + (size_t)r * ldy + 31), _MM_HINT_T0);
    }
    for (size_t p = 0; p < kc; p++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        CPR_UNROLL
        for (int r = 0; r < mr; r++) {
            __m512 av = _mm512_set1_ps(a[r * ars]);
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
        }
        a += aps;
        b += NR;
    }
    __mmask16 m0 = mask16(nr), m1 = mask16(nr > 16 ? nr - 16 : 0);
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    CPR_UNROLL
    for (int r = 0; r < mr; r++) {
        float *yr = y + (size_t)r * ldy;
        __m512 o0, o1;
        if (wonly) {
            o0 = _mm512_mul_ps(va, c0[r]);
            o1 = _mm512_mul_ps(va, c1[r]);
        } else {
            o0 = _mm512_fmadd_ps(va, c0[r], _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m0, yr)));
            o1 = _mm512_fmadd_ps(va, c1[r],
                                 _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m1, yr + 16)));
        }
        _mm512_mask_storeu_ps(yr, m0, o0);
        _mm512_mask_storeu_ps(yr + 16, m1, o1);
    }
}

// Dispatch on mr so each tail height gets its own fully unrolled kernel.
CPR_AI void tile(const size_t ars, const size_t aps, size_t mr, size_t kc,
                 const float *a, const float *b, float *y, size_t ldy,
                 size_t nr, float alpha, float beta, int wonly) {
    switch (mr) {
    case 14: ukr(14, ars, aps, kc, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 13: ukr(13, ars, aps, kc, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 12: ukr(12, ars, aps, kc, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 11: ukr(11, ars, aps, kc, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 10: ukr(10, ars, aps, kc, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 9: ukr(9, ars, aps, kc, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 8: ukr(8, ars, aps, kc, a, b, y, ldy, nr, alpha, beta, wonly); break;
    case 7: ukr(7, ars, aps, kc, a, b, y, ldy, nr, alpha, beta, wonly); break;
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
    tile(AS, 1, mr, kc, a, b, c, ldc, nr, alpha, beta, wonly);
}

static void ukr_kmajor(size_t mr, size_t nr, size_t kc, const void *a,
                       const void *b, float *c, size_t ldc, float alpha,
                       float beta, int wonly) {
    tile(1, MR, mr, kc, a, b, c, ldc, nr, alpha, beta, wonly);
}

// ---- small m: dot products, no packing ----
// For a handful of x rows, packing W costs more than the product (each W
// element is used m times), so W rows are streamed once: 4 W rows x up to
// 4 x rows of 16-lane partial sums, reduced at the end. Each element is
// acc lanes over k in 16-element chunks (masked tail), then a fixed
// reduction tree: still independent of its position and of n.
CPR_AI void small_rows(enum wtype wt, const int mr, size_t k, float alpha,
                       const float *x, size_t ldx, const void *w, size_t ldw,
                       size_t j, size_t nw, float beta, float *y, size_t ldy) {
    size_t esz = wt == W_F32 ? 4 : 2;
    const char *wb = (const char *)w + j * ldw * esz;
    __m512 acc[4][4];
    CPR_UNROLL
    for (int i = 0; i < mr; i++)
        for (int q = 0; q < 4; q++) acc[i][q] = _mm512_setzero_ps();
    for (size_t p = 0; p < k; p += 16) {
        size_t cnt = k - p < 16 ? k - p : 16;
        __m512 wv[4];
        for (size_t q = 0; q < 4; q++)
            wv[q] = q < nw ? load_w16(wt, wb + q * ldw * esz, p, cnt) : _mm512_setzero_ps();
        CPR_UNROLL
        for (int i = 0; i < mr; i++) {
            __m512 xv = _mm512_maskz_loadu_ps(mask16(cnt), x + (size_t)i * ldx + p);
            for (int q = 0; q < 4; q++) acc[i][q] = _mm512_fmadd_ps(xv, wv[q], acc[i][q]);
        }
    }
    CPR_UNROLL
    for (int i = 0; i < mr; i++)
        for (size_t q = 0; q < nw; q++) {
            float s = alpha * _mm512_reduce_add_ps(acc[i][q]);
            float *yo = y + (size_t)i * ldy + j + q;
            *yo = beta == 0.0f ? s : s + beta * *yo;
        }
}

// m = 1 (one decode token): each W row streamed alone (one sequential
// stream, software prefetch PF_ROW bytes ahead) through four 16-lane FMA
// chains over 64 k values per step (the tail in masked 16-value steps into
// chain 0), reduced (c0 + c1) + (c2 + c3): depends only on k and the path.
enum { PF_ROW = 2048 };

CPR_AI void gemv1(enum wtype wt, size_t n, size_t k, float alpha,
                  const float *x, const void *w, size_t ldw, float beta,
                  float *y) {
    size_t esz = wt == W_F32 ? 4 : 2;
    for (size_t j = 0; j < n; j++) {
        const char *wr = (const char *)w + j * ldw * esz;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
        size_t p = 0;
        for (; p + 64 <= k; p += 64) {
            const char *pf = wr + p * esz + PF_ROW;
            for (size_t b = 0; b < 64 * esz; b += 64) _mm_prefetch(pf + b, _MM_HINT_T0);
            a0 = _mm512_fmadd_ps(load_w16(wt, wr, p, 16), _mm512_loadu_ps(x + p), a0);
            a1 = _mm512_fmadd_ps(load_w16(wt, wr, p + 16, 16), _mm512_loadu_ps(x + p + 16), a1);
            a2 = _mm512_fmadd_ps(load_w16(wt, wr, p + 32, 16), _mm512_loadu_ps(x + p + 32), a2);
            a3 = _mm512_fmadd_ps(load_w16(wt, wr, p + 48, 16), _mm512_loadu_ps(x + p + 48), a3);
        }
        for (; p < k; p += 16) {
            size_t cnt = k - p < 16 ? k - p : 16;
            a0 = _mm512_fmadd_ps(load_w16(wt, wr, p, cnt),
                                 _mm512_maskz_loadu_ps(mask16(cnt), x + p), a0);
        }
        float sm = alpha * _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1),
                                                              _mm512_add_ps(a2, a3)));
        y[j] = beta == 0.0f ? sm : sm + beta * y[j];
    }
}

CPR_AI void gemm_small(enum wtype wt, size_t m, size_t n, size_t k,
                       float alpha, const float *x, size_t ldx, const void *w,
                       size_t ldw, float beta, float *y, size_t ldy) {
    if (m == 1) {
        gemv1(wt, n, k, alpha, x, w, ldw, beta, y);
        return;
    }
    for (size_t j = 0; j < n; j += 4) {
        size_t nw = n - j < 4 ? n - j : 4;
        for (size_t i = 0; i < m; i += 4) {
            const float *xi = x + i * ldx;
            float *yi = y + i * ldy;
            switch (m - i < 4 ? m - i : 4) {
            case 4: small_rows(wt, 4, k, alpha, xi, ldx, w, ldw, j, nw, beta, yi, ldy); break;
            case 3: small_rows(wt, 3, k, alpha, xi, ldx, w, ldw, j, nw, beta, yi, ldy); break;
            case 2: small_rows(wt, 2, k, alpha, xi, ldx, w, ldw, j, nw, beta, yi, ldy); break;
            default: small_rows(wt, 1, k, alpha, xi, ldx, w, ldw, j, nw, beta, yi, ldy); break;
            }
        }
    }
}

// ---- kernel slots ----

static const struct cpr_gemm_isa ISA = {
    .d = {.mr = MR, .nr = NR, .mc = MC, .nc = NC, .kc = KC,
          .b_panel_bytes = KC * NR * sizeof(float), .a_ld = AS},
    .ukr_rows = ukr_rows, .ukr_kmajor = ukr_kmajor,
    .pack_a_rows = cpr_gemm_pack_a_rows_f32, .pack_a_cols = pack_a_cols,
    .pack_b_kn = pack_b_kn, .pack_b_kn_bf16 = pack_b_kn_bf16,
    .pack_b_nk = {pack_b_nk_f32, pack_b_nk_bf16, pack_b_nk_f16},
    .prefetch_x = cpr_gemm_prefetch_rows_f32,
    .prefetch_w = {cpr_gemm_prefetch_rows_f32, cpr_gemm_prefetch_rows_h16,
                   cpr_gemm_prefetch_rows_h16}};

// Tiny m skips the driver (depends on m only: n splits stay bit-identical).
CPR_AI void gemm_xwt(enum wtype wt, size_t m, size_t n, size_t k,
                     float alpha, const float *x, size_t ldx, const void *w,
                     size_t ldw, float beta, float *y, size_t ldy) {
    if (m <= SMALL_M && k > 0)
        gemm_small(wt, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
    else
        cpr_gemm_xwt(&ISA, (enum cpr_gemm_wtype)wt, m, n, k, alpha, x, ldx, w, ldw,
                     beta, y, ldy);
}

static void gemm_f32_avx512(size_t m, size_t n, size_t k, float alpha,
                            const float *x, size_t ldx, const float *w,
                            size_t ldw, float beta, float *y, size_t ldy) {
    gemm_xwt(W_F32, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
}

static void gemm_bf16w_avx512(size_t m, size_t n, size_t k, float alpha,
                              const float *x, size_t ldx, const uint16_t *w,
                              size_t ldw, float beta, float *y, size_t ldy) {
    gemm_xwt(W_BF16, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
}

static void gemm_f16w_avx512(size_t m, size_t n, size_t k, float alpha,
                             const float *x, size_t ldx, const uint16_t *w,
                             size_t ldw, float beta, float *y, size_t ldy) {
    gemm_xwt(W_F16, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
}

static void syrk_f32_avx512(size_t n, size_t k, const float *x, size_t ldx,
                            float *h, size_t ldh, size_t i0, size_t i1) {
    cpr_gemm_syrk(&ISA, n, k, x, ldx, h, ldh, i0, i1);
}

static void gemm_nn_f32_avx512(size_t m, size_t n, size_t k, float alpha,
                                const float *a, size_t lda, const float *b,
                                size_t ldb, float beta, float *c, size_t ldc) {
    cpr_gemm_nn(&ISA, CPR_GEMM_W_F32, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

static void gemm_nn_bf16b_avx512(size_t m, size_t n, size_t k, float alpha,
                                  const float *a, size_t lda, const uint16_t *b,
                                  size_t ldb, float beta, float *c, size_t ldc) {
    cpr_gemm_nn(&ISA, CPR_GEMM_W_BF16, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

static void gemm_tn_f32_avx512(size_t m, size_t n, size_t k, float alpha,
                                const float *a, size_t lda, const float *b,
                                size_t ldb, float beta, float *c, size_t ldc) {
    cpr_gemm_tn(&ISA, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void spgemm_f32_avx512(size_t m, size_t n, size_t k, float alpha,
                        const float *x, size_t ldx, const struct cpr_spw *w, float beta,
                        float *y, size_t ldy) {
    cpr_gemm_xwt_spw(&ISA, CPR_GEMM_W_F32, m, n, k, alpha, x, ldx, w, beta, y, ldy);
}

static void spgemm_bf16_avx512(size_t m, size_t n, size_t k, float alpha,
                        const float *x, size_t ldx, const struct cpr_spw *w, float beta,
                        float *y, size_t ldy) {
    cpr_gemm_xwt_spw(&ISA, CPR_GEMM_W_BF16, m, n, k, alpha, x, ldx, w, beta, y, ldy);
}

static void spgemm_f16_avx512(size_t m, size_t n, size_t k, float alpha,
                        const float *x, size_t ldx, const struct cpr_spw *w, float beta,
                        float *y, size_t ldy) {
    cpr_gemm_xwt_spw(&ISA, CPR_GEMM_W_F16, m, n, k, alpha, x, ldx, w, beta, y, ldy);
}

void cpr_fill_gemm_avx512(struct cpr_kernels *k) {
    k->spgemm_f32 = spgemm_f32_avx512;
    k->spgemm_bf16 = spgemm_bf16_avx512;
    k->spgemm_f16 = spgemm_f16_avx512;
    k->gemm_f32 = gemm_f32_avx512;
    k->gemm_bf16w = gemm_bf16w_avx512;
    k->gemm_f16w = gemm_f16w_avx512;
    k->syrk_f32 = syrk_f32_avx512;
    k->gemm_nn_f32 = gemm_nn_f32_avx512;
    k->gemm_nn_bf16b = gemm_nn_bf16b_avx512;
    k->gemm_tn_f32 = gemm_tn_f32_avx512;
}
#endif
