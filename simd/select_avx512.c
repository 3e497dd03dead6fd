// simd/select_avx512.c: top-k / k-th / N:M selection with AVX-512 F/BW/VL.
//
// Sample select on integer keys (see simd/select_common.h): a key pass
// streams the row once into scratch; the sample is read from there; the
// band pass (count below the band, in-place compaction of in-band keys
// with vpcompressd into a register then a plain store) and the final mask
// pass are 16 lanes wide; only the candidates (a few % of n) go through the
// scalar radix select. Masks are bit-identical to select_scalar.c.
// N:M ranks each element inside its group with lane rotations
// (vpermd) for m in {2, 4, 8, 16}; other m use the generic rank count.
#include "simd/kernels.h"

#if defined(__x86_64__)
#include <assert.h>
#include <immintrin.h>

#include "simd/select_common.h"

static inline __mmask16 tail_mask(size_t r) {
    return (__mmask16)((1u << r) - 1u);
}

// 16 keys (sel_key) from 16 floats.
static inline __m512i key16(__m512 x) {
    __m512i i = _mm512_castps_si512(x);
    __m512i a = _mm512_and_si512(i, _mm512_set1_epi32(0x7fffffff));
    __mmask16 neg = _mm512_movepi32_mask(i);
    __m512i key = _mm512_mask_sub_epi32(a, neg, _mm512_setzero_si512(), a);
    __mmask16 nan = _mm512_cmpgt_epi32_mask(a, _mm512_set1_epi32(0x7f800000));
    return _mm512_mask_mov_epi32(key, nan, _mm512_set1_epi32(INT32_MAX));
}

// Key pass: scratch[i] = key(score[i]) as uint32 bits. This is the one
// pass that streams the row from memory, sequentially (the hardware
// prefetcher's best case); later passes hit the cache.
static void key_pass(size_t n, const float *score, uint32_t *scratch) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_si512((void *)(scratch + i), key16(_mm512_loadu_ps(score + i)));
    if (i < n) {
        __mmask16 tm = tail_mask(n - i);
        _mm512_mask_storeu_epi32(scratch + i, tm, key16(_mm512_maskz_loadu_ps(tm, score + i)));
    }
}

// Band pass over the keys in scratch, in place: returns #keys < lo and
// compacts (key - lo) for keys in [lo, hi] to the front of scratch (*c of
// them). The compressed full-width store at w <= i only overwrites keys
// already read.
static size_t band_pass(size_t n, int32_t lo, int32_t hi, uint32_t *scratch,
                        size_t *c) {
    __m512i vlo = _mm512_set1_epi32(lo), vhi = _mm512_set1_epi32(hi);
    size_t cnt = 0, w = 0, i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i k = _mm512_loadu_si512((const void *)(scratch + i));
        __mmask16 lt = _mm512_cmplt_epi32_mask(k, vlo);
        __mmask16 in = _mm512_mask_cmple_epi32_mask((__mmask16)~lt, k, vhi);
        cnt += (size_t)__builtin_popcount(lt);
        __m512i off = _mm512_maskz_compress_epi32(in, _mm512_sub_epi32(k, vlo));
        _mm512_storeu_si512((void *)(scratch + w), off);
        w += (size_t)__builtin_popcount(in);
    }
    if (i < n) {
        __mmask16 tm = tail_mask(n - i);
        __m512i k = _mm512_maskz_loadu_epi32(tm, scratch + i);
        __mmask16 lt = _mm512_mask_cmplt_epi32_mask(tm, k, vlo);
        __mmask16 in = _mm512_mask_cmple_epi32_mask(tm & (__mmask16)~lt, k, vhi);
        cnt += (size_t)__builtin_popcount(lt);
        unsigned np = (unsigned)__builtin_popcount(in);
        __m512i off = _mm512_maskz_compress_epi32(in, _mm512_sub_epi32(k, vlo));
        _mm512_mask_storeu_epi32(scratch + w, tail_mask(np), off);
        w += np;
    }
    *c = w;
    return cnt;
}

// Threshold key of the k-th smallest (1 <= k <= n) and #keys below it.
static int32_t threshold(size_t n, size_t k, const float *score,
                         uint32_t *scratch, size_t *n_less) {
    int32_t lo, hi, t;
    size_t c;
    key_pass(n, score, scratch);
    sel_band_keys(n, k, scratch, &lo, &hi);
    size_t cnt = band_pass(n, lo, hi, scratch, &c);
    if (!sel_resolve(k, lo, hi, cnt, scratch, c, &t, n_less)) {
        key_pass(n, score, scratch); // the band pass consumed the keys
        cnt = band_pass(n, INT32_MIN, INT32_MAX, scratch, &c);
        int ok = sel_resolve(k, INT32_MIN, INT32_MAX, cnt, scratch, c, &t, n_less);
        assert(ok);
        (void)ok;
    }
    return t;
}

// Keep the lowest `*need` set bits of eq (ties to the lower index).
static inline __mmask16 take_ties(__mmask16 eq, size_t *need) {
    __mmask16 sel = 0;
    unsigned e = eq;
    while (e && *need) {
        unsigned b = e & (0u - e);
        sel |= (__mmask16)b;
        e ^= b;
        (*need)--;
    }
    return sel;
}

static void select_smallest_f32_avx512(size_t n, size_t k, const float *score,
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
    __m512i vt = _mm512_set1_epi32(t);
    __m128i one = _mm_set1_epi8(1);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i key = key16(_mm512_loadu_ps(score + i));
        __mmask16 m = _mm512_cmplt_epi32_mask(key, vt);
        if (need) m |= take_ties(_mm512_cmpeq_epi32_mask(key, vt), &need);
        _mm_storeu_si128((__m128i *)(mask + i), _mm_maskz_mov_epi8(m, one));
    }
    sel_mask_tail(i, n, score, t, &need, mask);
}

static float kth_smallest_f32_avx512(size_t n, size_t k, const float *x,
                                     uint32_t *scratch) {
    assert(k >= 1 && k <= n && n <= UINT32_MAX && x && scratch);
    size_t less;
    return sel_key_to_float(threshold(n, k, x, scratch, &less));
}

// ---- N:M ----
// For m | 16: lane p of rotation d holds the element (p%m + d) % m of the
// same group; it precedes lane p when its key is smaller, or equal with a
// lower index, which is exactly when the rotation wrapped around.
static void nm_mask_f32_avx512(size_t n, unsigned n_prune, unsigned m,
                               const float *score, uint8_t *mask) {
    assert(m >= 1 && n % m == 0 && n_prune <= m);
    if (n == 0) return;
    if (n_prune == 0 || n_prune == m) {
        memset(mask, n_prune == m, n);
        return;
    }
    if (m != 2 && m != 4 && m != 8 && m != 16) {
        sel_nm_generic(0, n, n_prune, m, score, mask);
        return;
    }
    __m512i perm[15];
    __mmask16 wrap[15];
    for (unsigned d = 1; d < m; d++) {
        int32_t idx[16];
        unsigned w = 0;
        for (unsigned p = 0; p < 16; p++) {
            unsigned pos = p % m;
            idx[p] = (int32_t)(p - pos + (pos + d) % m);
            if (pos + d >= m) w |= 1u << p;
        }
        perm[d - 1] = _mm512_loadu_si512((const void *)idx);
        wrap[d - 1] = (__mmask16)w;
    }
    __m512i vnp = _mm512_set1_epi32((int)n_prune), one32 = _mm512_set1_epi32(1);
    __m128i one = _mm_set1_epi8(1);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i k = key16(_mm512_loadu_ps(score + i));
        __m512i rank = _mm512_setzero_si512();
        for (unsigned d = 1; d < m; d++) {
            __m512i kp = _mm512_permutexvar_epi32(perm[d - 1], k);
            __mmask16 lt = _mm512_cmplt_epi32_mask(kp, k) |
                           _mm512_mask_cmpeq_epi32_mask(wrap[d - 1], kp, k);
            rank = _mm512_mask_add_epi32(rank, lt, rank, one32);
        }
        __mmask16 sel = _mm512_cmplt_epi32_mask(rank, vnp);
        _mm_storeu_si128((__m128i *)(mask + i), _mm_maskz_mov_epi8(sel, one));
    }
    sel_nm_generic(i, n, n_prune, m, score, mask); // whole groups remain
}

void cpr_fill_select_avx512(struct cpr_kernels *k) {
    k->select_smallest_f32 = select_smallest_f32_avx512;
    k->kth_smallest_f32 = kth_smallest_f32_avx512;
    k->nm_mask_f32 = nm_mask_f32_avx512;
}
#endif
