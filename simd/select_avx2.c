// simd/select_avx2.c: top-k / k-th / N:M selection with AVX2.
//
// Same method as select_avx512.c (sample select on integer keys, see
// simd/select_common.h) with 8-lane registers. AVX2 has no compress, so
// in-band keys are appended by walking the set bits of the lane mask; the
// band holds a few % of the elements, so this costs little. Mask bytes are
// produced 32 at a time by packing four compare results.
// N:M uses lane rotations (vpermd) for m in {2, 4, 8}.
#include "simd/kernels.h"

#if defined(__x86_64__)
#include <assert.h>
#include <immintrin.h>

#include "simd/select_common.h"

static inline __m256i key8(__m256 x) {
    __m256i i = _mm256_castps_si256(x);
    __m256i a = _mm256_and_si256(i, _mm256_set1_epi32(0x7fffffff));
    __m256i key = _mm256_sign_epi32(a, i); // -a where i < 0 (a = 0 at i = 0)
    __m256i nan = _mm256_cmpgt_epi32(a, _mm256_set1_epi32(0x7f800000));
    return _mm256_blendv_epi8(key, _mm256_set1_epi32(INT32_MAX), nan);
}

// Four 8-lane compare results (all-ones / zero) -> 32 bytes of 1 / 0.
static inline void store_mask32(uint8_t *dst, __m256i c0, __m256i c1,
                                __m256i c2, __m256i c3) {
    __m256i ab = _mm256_packs_epi32(c0, c1), cd = _mm256_packs_epi32(c2, c3);
    __m256i b = _mm256_packs_epi16(ab, cd);
    b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)dst, _mm256_and_si256(b, _mm256_set1_epi8(1)));
}

static size_t band_pass(size_t n, const float *score, int32_t lo, int32_t hi,
                        uint32_t *scratch, size_t *c) {
    __m256i vlo = _mm256_set1_epi32(lo), vhi = _mm256_set1_epi32(hi);
    size_t cnt = 0, w = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i k = key8(_mm256_loadu_ps(score + i));
        __m256i lt = _mm256_cmpgt_epi32(vlo, k), gt = _mm256_cmpgt_epi32(k, vhi);
        unsigned mlt = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(lt));
        unsigned mout = (unsigned)_mm256_movemask_ps(
            _mm256_castsi256_ps(_mm256_or_si256(lt, gt)));
        cnt += (size_t)__builtin_popcount(mlt);
        unsigned in = ~mout & 0xffu;
        if (in) {
            uint32_t off[8];
            _mm256_storeu_si256((__m256i *)off, _mm256_sub_epi32(k, vlo));
            while (in) {
                scratch[w++] = off[__builtin_ctz(in)];
                in &= in - 1;
            }
        }
    }
    for (; i < n; i++) {
        int32_t k = sel_key(score[i]);
        cnt += k < lo;
        if (k >= lo && k <= hi) scratch[w++] = (uint32_t)k - (uint32_t)lo;
    }
    *c = w;
    return cnt;
}

static int32_t threshold(size_t n, size_t k, const float *score,
                         uint32_t *scratch, size_t *n_less) {
    int32_t lo, hi, t;
    size_t c;
    sel_band(n, k, score, &lo, &hi);
    size_t cnt = band_pass(n, score, lo, hi, scratch, &c);
    if (!sel_resolve(k, lo, hi, cnt, scratch, c, &t, n_less)) {
        cnt = band_pass(n, score, INT32_MIN, INT32_MAX, scratch, &c);
        int ok = sel_resolve(k, INT32_MIN, INT32_MAX, cnt, scratch, c, &t, n_less);
        assert(ok);
        (void)ok;
    }
    return t;
}

static void select_smallest_f32_avx2(size_t n, size_t k, const float *score,
                                     uint8_t *mask, uint32_t *scratch) {
    assert(k <= n && n <= UINT32_MAX);
    assert(n == 0 || (score && mask && scratch));
    if (n == 0) return;
    if (k == 0 || k == n) {
        memset(mask, k == n, n);
        return;
    }
    size_t less;
    int32_t t = threshold(n, k, score, scratch, &less);
    size_t need = k - less;
    __m256i vt = _mm256_set1_epi32(t);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i k0 = key8(_mm256_loadu_ps(score + i));
        __m256i k1 = key8(_mm256_loadu_ps(score + i + 8));
        __m256i k2 = key8(_mm256_loadu_ps(score + i + 16));
        __m256i k3 = key8(_mm256_loadu_ps(score + i + 24));
        store_mask32(mask + i, _mm256_cmpgt_epi32(vt, k0), _mm256_cmpgt_epi32(vt, k1),
                     _mm256_cmpgt_epi32(vt, k2), _mm256_cmpgt_epi32(vt, k3));
        if (need) { // ties at the threshold: lowest positions first
            __m256i e0 = _mm256_cmpeq_epi32(k0, vt), e1 = _mm256_cmpeq_epi32(k1, vt);
            __m256i e2 = _mm256_cmpeq_epi32(k2, vt), e3 = _mm256_cmpeq_epi32(k3, vt);
            uint32_t eq = (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(e0)) |
                          (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(e1)) << 8 |
                          (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(e2)) << 16 |
                          (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(e3)) << 24;
            while (eq && need) {
                mask[i + (size_t)__builtin_ctz(eq)] = 1;
                eq &= eq - 1;
                need--;
            }
        }
    }
    sel_mask_tail(i, n, score, t, &need, mask);
}

static float kth_smallest_f32_avx2(size_t n, size_t k, const float *x,
                                   uint32_t *scratch) {
    assert(k >= 1 && k <= n && n <= UINT32_MAX && x && scratch);
    size_t less;
    return sel_key_to_float(threshold(n, k, x, scratch, &less));
}

// ---- N:M (see select_avx512.c for the rotation argument) ----
static void nm_mask_f32_avx2(size_t n, unsigned n_prune, unsigned m,
                             const float *score, uint8_t *mask) {
    assert(m >= 1 && n % m == 0 && n_prune <= m);
    if (n == 0) return;
    if (n_prune == 0 || n_prune == m) {
        memset(mask, n_prune == m, n);
        return;
    }
    if (m != 2 && m != 4 && m != 8) {
        sel_nm_generic(0, n, n_prune, m, score, mask);
        return;
    }
    __m256i perm[7], wrap[7];
    for (unsigned d = 1; d < m; d++) {
        int32_t idx[8], w[8];
        for (unsigned p = 0; p < 8; p++) {
            unsigned pos = p % m;
            idx[p] = (int32_t)(p - pos + (pos + d) % m);
            w[p] = pos + d >= m ? -1 : 0;
        }
        perm[d - 1] = _mm256_loadu_si256((const __m256i *)idx);
        wrap[d - 1] = _mm256_loadu_si256((const __m256i *)w);
    }
    __m256i vnp = _mm256_set1_epi32((int)n_prune);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i sel[4];
        for (int v = 0; v < 4; v++) {
            __m256i k = key8(_mm256_loadu_ps(score + i + 8 * (size_t)v));
            __m256i rank = _mm256_setzero_si256();
            for (unsigned d = 1; d < m; d++) {
                __m256i kp = _mm256_permutevar8x32_epi32(k, perm[d - 1]);
                __m256i lt = _mm256_or_si256(
                    _mm256_cmpgt_epi32(k, kp),
                    _mm256_and_si256(_mm256_cmpeq_epi32(kp, k), wrap[d - 1]));
                rank = _mm256_sub_epi32(rank, lt); // lt is -1 where true
            }
            sel[v] = _mm256_cmpgt_epi32(vnp, rank);
        }
        store_mask32(mask + i, sel[0], sel[1], sel[2], sel[3]);
    }
    sel_nm_generic(i, n, n_prune, m, score, mask); // whole groups remain
}

void cpr_fill_select_avx2(struct cpr_kernels *k) {
    k->select_smallest_f32 = select_smallest_f32_avx2;
    k->kth_smallest_f32 = kth_smallest_f32_avx2;
    k->nm_mask_f32 = nm_mask_f32_avx2;
}
#endif
