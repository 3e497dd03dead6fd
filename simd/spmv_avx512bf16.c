// simd/spmv_avx512bf16.c: compressed-weight x vector for bf16 and f16
// values at the avx512bf16 level, installed when the CPU also has
// AVX512_VBMI and AVX512_VBMI2 (simd/dispatch.c); the other spmv slots stay
// those of simd/spmv_avx512.c.
//
// bf16 values (bitmask and 2:4) use the numerics of this table's dense bf16
// product (simd/gemm_avx512bf16.c, gemv1): x is rounded to bf16 once per
// call (round to nearest even, into a stack panel zero-padded to a multiple
// of 64 columns) and vdpbf16ps sums pairs of exact bf16 products into f32
// lanes (bf16 denormals read as zero). One vdpbf16ps does 32 columns, where
// widening the values and two f32 FMAs did before: the earlier kernels of
// this file and simd/spmv_avx512.c spent most of their issue slots on the
// widening and could not keep the memory system busy.
//   bitmask: one vpexpandw (VBMI2) places the next popcount(mask) stored
//     values at the set bits of a 32-bit mask word, zeroing the other lanes,
//     from one unaligned 64-byte load (the values array is padded,
//     core/weight.h). The 32-column blocks of a row are summed exactly as
//     gemv1 sums them (four chains over 128-column steps, 32-column tail
//     steps into chain 0, reduced (c0 + c1) + (c2 + c3)), and a pruned
//     weight is an expanded +0 where the dense product reads a stored 0, so
//     for k <= XB a row's result is bit-identical to gemm_bf16w at m = 1 on
//     the zero-stored weights (tests/test_kern_spmv.c checks this).
//   2:4: a 32-bit lane holds the two stored values of one group, so each
//     lane needs the x pair (x[4g + i0], x[4g + i1]): vpmultishiftqb (VBMI)
//     pulls the 2-bit index of each value slot out of the group's meta
//     word into a 16-bit lane, one vpternlogd adds the group base 4g, and
//     vpermt2w gathers the bf16 x of 64 columns (16 groups, one zmm of
//     values) from two zmm of the panel. Four chains over 256 columns.
//   Rows longer than XB columns are done 64 rows at a time, x panel by x
//   panel (row starts found by popcount for the bitmask).
// f16 values (bitmask only): vpexpandw as above, vcvtph2ps of each half, f32
// FMA with x read directly: values and x exact, as in simd/spmv_avx512.c.
// Software prefetch of the value and mask streams (the hardware prefetcher
// alone left these kernels waiting on memory).
#include <assert.h>
#include <string.h>

#include "simd/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define CPR_AI static inline __attribute__((always_inline))

// x columns per bf16 panel (32 KiB on the stack; as gemv1's XB_MAX, so the
// bitmask kernel is bit-identical to gemv1 wherever gemv1 runs), a multiple
// of 256.
enum { XB = 16384, RB = 64 };
// Prefetch distances (bytes) of the value and mask streams. Two threads
// streaming from DRAM need several KiB in flight each: the values stream
// 4 KiB ahead, the mask 256 B (a bitmask step reads 1/8 as many mask bytes
// as it covers columns). Chosen by an A/B of 1 KiB .. 8 KiB on the 7B
// shapes (bench/results/sparse_runs.md, stop 26): 1 KiB left the down_proj
// shape (k = 11008) measurably below the dense stream rate.
enum { PF_VALS = 4096, PF_META = 256 };

CPR_AI __mmask16 lanes16(size_t r) {
    return r >= 16 ? (__mmask16)0xFFFFu : (__mmask16)((1u << r) - 1u);
}
CPR_AI __mmask32 lanes32(size_t r) {
    return r >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << r) - 1u);
}

// The 32-bit mask word of columns [j, j + 32) of a row with k columns
// (bytes past the row's meta are not read; bits past k are 0).
CPR_AI uint32_t mask32(const uint8_t *m, size_t j, size_t k) {
    uint32_t w = 0;
    size_t nb = (k - j + 7) / 8;
    memcpy(&w, m + j / 8, nb < 4 ? nb : 4);
    return w;
}

CPR_AI void store(float beta, float *y, float acc) {
    *y = beta == 0.0f ? acc : acc + beta * *y;
}

CPR_AI float reduce4(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1),
                                              _mm512_add_ps(a2, a3)));
}

// x[0, kp) rounded to bf16 into xb (as gemv1), zeros up to the next
// multiple of 64.
static void x_to_bf16(const float *x, size_t kp, uint16_t *xb) {
    size_t p = 0;
    for (; p < kp; p += 32) {
        size_t cnt = kp - p;
        __m512 lo = _mm512_maskz_loadu_ps(lanes16(cnt), x + p);
        __m512 hi = _mm512_maskz_loadu_ps(lanes16(cnt > 16 ? cnt - 16 : 0), x + p + 16);
        _mm512_store_si512(xb + p, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
    if (p % 64) _mm512_store_si512(xb + p, _mm512_setzero_si512());
}

CPR_AI __m512 dot32(__m512 a, __m512i w, const uint16_t *xb) {
    return _mm512_dpbf16_ps(a, (__m512bh)w, (__m512bh)_mm512_load_si512(xb));
}

// Stored values of one bitmask row (popcount of its mask).
static size_t row_count(const uint8_t *m, size_t ldm) {
    size_t c = 0, i = 0;
    for (; i + 8 <= ldm; i += 8) {
        uint64_t w;
        memcpy(&w, m + i, 8);
        c += (size_t)__builtin_popcountll(w);
    }
    for (; i < ldm; i++) c += (size_t)__builtin_popcount(m[i]);
    return c;
}

// ---- bf16 bitmask ----

// Columns [p0, p0 + kp) of one row (m: the row's meta, k: its columns)
// against the bf16 panel xb of those columns; returns the partial sum and
// advances *vp past the values used.
CPR_AI float bm_panel(const uint8_t *m, size_t k, size_t p0, size_t kp,
                      const uint16_t *xb, const uint16_t **vp) {
    const uint16_t *v = *vp;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    size_t j = 0;
    for (; j + 128 <= kp; j += 128) {
        const uint8_t *mb = m + (p0 + j) / 8;
        uint64_t m0, m1;
        memcpy(&m0, mb, 8);
        memcpy(&m1, mb + 8, 8);
        _mm_prefetch((const char *)v + PF_VALS, _MM_HINT_T0);
        _mm_prefetch((const char *)v + PF_VALS + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)mb + PF_META, _MM_HINT_T0);
        size_t c0 = (size_t)__builtin_popcount((uint32_t)m0);
        size_t c1 = (size_t)__builtin_popcountll(m0);
        size_t c2 = c1 + (size_t)__builtin_popcount((uint32_t)m1);
        size_t c3 = c1 + (size_t)__builtin_popcountll(m1);
        __m512i w0 = _mm512_maskz_expand_epi16((__mmask32)m0, _mm512_loadu_si512(v));
        __m512i w1 = _mm512_maskz_expand_epi16((__mmask32)(m0 >> 32),
                                               _mm512_loadu_si512(v + c0));
        __m512i w2 = _mm512_maskz_expand_epi16((__mmask32)m1, _mm512_loadu_si512(v + c1));
        __m512i w3 = _mm512_maskz_expand_epi16((__mmask32)(m1 >> 32),
                                               _mm512_loadu_si512(v + c2));
        a0 = dot32(a0, w0, xb + j);
        a1 = dot32(a1, w1, xb + j + 32);
        a2 = dot32(a2, w2, xb + j + 64);
        a3 = dot32(a3, w3, xb + j + 96);
        v += c3;
    }
    for (; j < kp; j += 32) {
        uint32_t mw = mask32(m, p0 + j, k);
        a0 = dot32(a0, _mm512_maskz_expand_epi16((__mmask32)mw, _mm512_loadu_si512(v)),
                   xb + j);
        v += __builtin_popcount(mw);
    }
    *vp = v;
    return reduce4(a0, a1, a2, a3);
}

static void bitmask_bf16(size_t n_rows, size_t k, const uint8_t *meta,
                         size_t ldm, const void *vals, const float *x,
                         float beta, float *y) {
    assert(n_rows == 0 || (meta && vals && y && (k == 0 || x)));
    _Alignas(64) uint16_t xb[XB];
    const uint16_t *v = vals;
    if (k <= XB) {
        x_to_bf16(x, k, xb);
        for (size_t r = 0; r < n_rows; r++)
            store(beta, y + r, bm_panel(meta + r * ldm, k, 0, k, xb, &v));
        return;
    }
    const uint16_t *ptr[RB];
    float part[RB];
    for (size_t rb = 0; rb < n_rows; rb += RB) {
        size_t nb = n_rows - rb < RB ? n_rows - rb : RB;
        const uint8_t *mb = meta + rb * ldm;
        for (size_t i = 0; i < nb; i++) {
            ptr[i] = v;
            part[i] = 0.0f;
            v += row_count(mb + i * ldm, ldm);
        }
        for (size_t p0 = 0; p0 < k; p0 += XB) {
            size_t kp = k - p0 < XB ? k - p0 : XB;
            x_to_bf16(x + p0, kp, xb);
            for (size_t i = 0; i < nb; i++)
                part[i] += bm_panel(mb + i * ldm, k, p0, kp, xb, &ptr[i]);
        }
        for (size_t i = 0; i < nb; i++) store(beta, y + rb + i, part[i]);
    }
}

// ---- bf16 2:4 ----

// Column numbers (within 64 columns) of the 32 value slots whose 2-bit
// indices are the 64 bits of q: slot l -> 4 (l / 2) + ((q >> 2l) & 3).
CPR_AI __m512i nm_cols(uint64_t q) {
    // vpmultishiftqb: the low byte of 16-bit lane l takes the 8 bits of q
    // from bit 2l (its control byte; the high bytes take bits from 0 and are
    // masked off).
    const __m512i sel = _mm512_set_epi16(
        62, 60, 58, 56, 54, 52, 50, 48, 46, 44, 42, 40, 38, 36, 34, 32,
        30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i base = _mm512_set_epi16(
        60, 60, 56, 56, 52, 52, 48, 48, 44, 44, 40, 40, 36, 36, 32, 32,
        28, 28, 24, 24, 20, 20, 16, 16, 12, 12, 8, 8, 4, 4, 0, 0);
    __m512i bits = _mm512_multishift_epi64_epi8(sel, _mm512_set1_epi64((long long)q));
    // (bits & 3) | base per 16-bit lane.
    return _mm512_ternarylogic_epi32(bits, _mm512_set1_epi16(3), base, 0xEA);
}

// 64 columns at xb (16 groups) against the 32 values w whose indices are q.
CPR_AI __m512 nm_step(__m512 a, uint64_t q, __m512i w, const uint16_t *xb) {
    __m512i xg = _mm512_permutex2var_epi16(_mm512_load_si512(xb), nm_cols(q),
                                           _mm512_load_si512(xb + 32));
    return _mm512_dpbf16_ps(a, (__m512bh)w, (__m512bh)xg);
}

// Columns [p0, p0 + kp) of one row (p0 a multiple of 256; m: the row's
// meta, v: its values) against the panel xb.
CPR_AI float nm_panel(const uint8_t *m, size_t p0, size_t kp,
                      const uint16_t *xb, const uint16_t *v) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    const uint8_t *mp = m + p0 / 8; // 2 bits per slot, 2 slots per 4 columns
    v += p0 / 2;
    size_t j = 0;
    for (; j + 256 <= kp; j += 256, v += 128) {
        const uint8_t *mb = mp + j / 8;
        uint64_t q[4];
        memcpy(q, mb, 32);
        _mm_prefetch((const char *)v + PF_VALS, _MM_HINT_T0);
        _mm_prefetch((const char *)v + PF_VALS + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)v + PF_VALS + 128, _MM_HINT_T0);
        _mm_prefetch((const char *)v + PF_VALS + 192, _MM_HINT_T0);
        _mm_prefetch((const char *)mb + PF_META, _MM_HINT_T0);
        a0 = nm_step(a0, q[0], _mm512_loadu_si512(v), xb + j);
        a1 = nm_step(a1, q[1], _mm512_loadu_si512(v + 32), xb + j + 64);
        a2 = nm_step(a2, q[2], _mm512_loadu_si512(v + 64), xb + j + 128);
        a3 = nm_step(a3, q[3], _mm512_loadu_si512(v + 96), xb + j + 192);
    }
    for (; j < kp; j += 64, v += 32) {
        // The last step may hold fewer than 16 groups: only its slots'
        // values and meta bytes are read; the other lanes gather zeros
        // from the padding of xb (their columns are >= kp).
        size_t slots = (kp - j < 64 ? (kp - j + 3) / 4 : 16) * 2;
        uint64_t q = 0;
        memcpy(&q, mp + j / 8, (slots + 3) / 4);
        a0 = nm_step(a0, q, _mm512_maskz_loadu_epi16(lanes32(slots), v), xb + j);
    }
    return reduce4(a0, a1, a2, a3);
}

static void nm24_bf16(size_t n_rows, size_t k, const uint8_t *meta,
                      size_t ldm, const void *vals, const float *x,
                      float beta, float *y) {
    assert(n_rows == 0 || (meta && vals && y && (k == 0 || x)));
    _Alignas(64) uint16_t xb[XB];
    const uint16_t *v = vals;
    const size_t slots = (k + 3) / 4 * 2;
    if (k <= XB) {
        x_to_bf16(x, k, xb);
        for (size_t r = 0; r < n_rows; r++)
            store(beta, y + r, nm_panel(meta + r * ldm, 0, k, xb, v + r * slots));
        return;
    }
    float part[RB];
    for (size_t rb = 0; rb < n_rows; rb += RB) {
        size_t nb = n_rows - rb < RB ? n_rows - rb : RB;
        for (size_t i = 0; i < nb; i++) part[i] = 0.0f;
        for (size_t p0 = 0; p0 < k; p0 += XB) {
            size_t kp = k - p0 < XB ? k - p0 : XB;
            x_to_bf16(x + p0, kp, xb);
            for (size_t i = 0; i < nb; i++)
                part[i] += nm_panel(meta + (rb + i) * ldm, p0, kp, xb,
                                    v + (rb + i) * slots);
        }
        for (size_t i = 0; i < nb; i++) store(beta, y + rb + i, part[i]);
    }
}

// ---- f16 bitmask ----

// natural order, x read directly (masked at the tail).
CPR_AI void f16_step(__m512i w, const float *x, size_t rem, __m512 *a0,
                     __m512 *a1) {
    *a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm512_castsi512_si256(w)),
                          _mm512_maskz_loadu_ps(lanes16(rem), x), *a0);
    *a1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm512_extracti64x4_epi64(w, 1)),
                          _mm512_maskz_loadu_ps(lanes16(rem > 16 ? rem - 16 : 0), x + 16),
                          *a1);
}

static void bitmask_f16(size_t n_rows, size_t k, const uint8_t *meta,
                        size_t ldm, const void *vals, const float *x,
                        float beta, float *y) {
    assert(n_rows == 0 || (meta && vals && y && (k == 0 || x)));
    const uint16_t *v = vals;
    for (size_t r = 0; r < n_rows; r++) {
        const uint8_t *m = meta + r * ldm;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
        size_t j = 0;
        for (; j + 64 <= k; j += 64) {
            uint64_t mw;
            memcpy(&mw, m + j / 8, 8);
            _mm_prefetch((const char *)v + PF_VALS, _MM_HINT_T0);
            _mm_prefetch((const char *)(m + j / 8) + PF_META, _MM_HINT_T0);
            size_t c0 = (size_t)__builtin_popcount((uint32_t)mw);
            __m512i w0 = _mm512_maskz_expand_epi16((__mmask32)mw, _mm512_loadu_si512(v));
            __m512i w1 = _mm512_maskz_expand_epi16((__mmask32)(mw >> 32),
                                                   _mm512_loadu_si512(v + c0));
            f16_step(w0, x + j, 32, &a0, &a1);
            f16_step(w1, x + j + 32, 32, &a2, &a3);
            v += __builtin_popcountll(mw);
        }
        for (; j < k; j += 32) {
            uint32_t mw = mask32(m, j, k);
            __m512i w = _mm512_maskz_expand_epi16((__mmask32)mw, _mm512_loadu_si512(v));
            f16_step(w, x + j, k - j, &a0, &a1);
            v += __builtin_popcount(mw);
        }
        store(beta, y + r, reduce4(a0, a1, a2, a3));
    }
}

void cpr_fill_spmv_avx512bf16(struct cpr_kernels *k) {
    k->spmv_bitmask_bf16 = bitmask_bf16;
    k->spmv_nm24_bf16 = nm24_bf16;
    k->spmv_bitmask_f16 = bitmask_f16;
}

#endif
