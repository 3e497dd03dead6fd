// simd/spmv_avx512.c: compressed-weight x vector with AVX-512 F/BW/VL.
//
// Bitmask: 16 columns per step. The next 16 stored values are loaded
// (whatever the mask; the values array is padded), widened to f32, and
// vexpandps puts value i at the lane of the mask's i-th set bit, zeroing
// the other lanes; one FMA with x[j..j+16) follows and the value pointer
// advances by popcount(mask). Two accumulators alternate.
// 2:4: 8 groups (32 columns, 16 values) per step. The 16 2-bit indices
// (one 32-bit word of meta) become column numbers 4*(l/2) + idx_l, and
// vpermt2ps gathers those x entries from two x vectors.
// Tails (< 16 columns, < 8 groups) use masked loads / scalar loops.
// Accumulation: f32 lanes (FMA), reduced at the end of each row.
#include <assert.h>
#include <string.h>

#include "simd/kernels.h"
#include "simd/spmv_common.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define CPR_AI static inline __attribute__((always_inline))

// Software prefetch distances (bytes) of the value and meta streams: the
// hardware prefetcher alone left the kernels waiting on memory.
enum { PF_VALS = 2048, PF_META = 512 };

CPR_AI size_t vsz(enum vt t) { return t == VT_F32 ? 4 : 2; }

// 16 values from p widened exactly to f32 (reads 32 or 64 bytes).
CPR_AI __m512 load16(enum vt t, const char *p) {
    if (t == VT_F32) return _mm512_loadu_ps((const float *)p);
    __m256i h = _mm256_loadu_si256((const __m256i *)p);
    if (t == VT_BF16)
        return _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    return _mm512_cvtph_ps(h);
}

CPR_AI float scalar_val(enum vt t, const char *p) {
    if (t == VT_F32) {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    uint16_t h;
    memcpy(&h, p, 2);
    if (t == VT_BF16) {
        uint32_t u = (uint32_t)h << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

CPR_AI void store(float beta, float *y, float acc) {
    *y = beta == 0.0f ? acc : acc + beta * *y;
}

// ---- bitmask ----

// One 16-column chunk: the values at v expanded to the set bits of km.
CPR_AI __m512 bm_chunk(enum vt t, __mmask16 km, const char *v) {
    if (t == VT_F32) return _mm512_maskz_expandloadu_ps(km, v);
    return _mm512_maskz_expand_ps(km, load16(t, v));
}

CPR_AI void bitmask(enum vt t, size_t n_rows, size_t k, const uint8_t *meta,
                    size_t ldm, const void *vals, const float *x, float beta,
                    float *y) {
    assert(n_rows == 0 || (meta && vals && y && (k == 0 || x)));
    const char *v = vals;
    const size_t es = vsz(t);
    for (size_t r = 0; r < n_rows; r++) {
        const uint8_t *m = meta + r * ldm;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
        size_t j = 0;
        for (; j + 64 <= k; j += 64) {
            uint64_t mw;
            memcpy(&mw, m + j / 8, 8);
            _mm_prefetch(v + PF_VALS, _MM_HINT_T0);
            _mm_prefetch((const char *)(m + j / 8) + PF_META, _MM_HINT_T0);
            size_t c0 = (size_t)__builtin_popcount((unsigned)(mw & 0xFFFF));
            size_t c1 = (size_t)__builtin_popcount((unsigned)mw);
            size_t c2 = (size_t)__builtin_popcountll(mw & 0xFFFFFFFFFFFFull);
            size_t c3 = (size_t)__builtin_popcountll(mw);
            __m512 w0 = bm_chunk(t, (__mmask16)mw, v);
            __m512 w1 = bm_chunk(t, (__mmask16)(mw >> 16), v + es * c0);
            __m512 w2 = bm_chunk(t, (__mmask16)(mw >> 32), v + es * c1);
            __m512 w3 = bm_chunk(t, (__mmask16)(mw >> 48), v + es * c2);
            v += es * c3;
            a0 = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + j), a0);
            a1 = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + j + 16), a1);
            a2 = _mm512_fmadd_ps(w2, _mm512_loadu_ps(x + j + 32), a2);
            a3 = _mm512_fmadd_ps(w3, _mm512_loadu_ps(x + j + 48), a3);
        }
        for (; j < k; j += 16) {
            size_t rem = k - j < 16 ? k - j : 16;
            const uint8_t *mb = m + j / 8;
            unsigned bits = mb[0], cnt = popc8[mb[0]];
            if (rem > 8) bits |= (unsigned)mb[1] << 8, cnt += popc8[mb[1]];
            __mmask16 lm = (__mmask16)((1u << rem) - 1u);
            __m512 w = _mm512_maskz_expand_ps((__mmask16)bits, load16(t, v));
            a0 = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(lm, x + j), a0);
            v += es * cnt;
        }
        __m512 s = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
        store(beta, y + r, _mm512_reduce_add_ps(s));
    }
}

// ---- 2:4 ----

CPR_AI void nm24(enum vt t, size_t n_rows, size_t k, const uint8_t *meta,
                 size_t ldm, const void *vals, const float *x, float beta,
                 float *y) {
    assert(n_rows == 0 || (meta && vals && y && (k == 0 || x)));
    const char *v = vals;
    const size_t es = vsz(t), slots = (k + 3) / 4 * 2;
    const __m512i shifts = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16,
                                             18, 20, 22, 24, 26, 28, 30);
    const __m512i base = _mm512_setr_epi32(0, 0, 4, 4, 8, 8, 12, 12, 16, 16,
                                           20, 20, 24, 24, 28, 28);
    const __m512i three = _mm512_set1_epi32(3);
    for (size_t r = 0; r < n_rows; r++) {
        const uint8_t *m = meta + r * ldm;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        size_t j = 0, s = 0;
        for (; j + 64 <= k; j += 64, s += 32) {
            uint64_t bits;
            memcpy(&bits, m + s / 4, 8);
            _mm_prefetch(v + PF_VALS, _MM_HINT_T0);
            _mm_prefetch((const char *)(m + s / 4) + PF_META, _MM_HINT_T0);
            __m512i b0 = _mm512_set1_epi32((int)(uint32_t)bits);
            __m512i b1 = _mm512_set1_epi32((int)(uint32_t)(bits >> 32));
            __m512i c0 = _mm512_add_epi32(
                base, _mm512_and_si512(_mm512_srlv_epi32(b0, shifts), three));
            __m512i c1 = _mm512_add_epi32(
                base, _mm512_and_si512(_mm512_srlv_epi32(b1, shifts), three));
            __m512 x0 = _mm512_permutex2var_ps(_mm512_loadu_ps(x + j), c0,
                                               _mm512_loadu_ps(x + j + 16));
            __m512 x1 = _mm512_permutex2var_ps(_mm512_loadu_ps(x + j + 32), c1,
                                               _mm512_loadu_ps(x + j + 48));
            a0 = _mm512_fmadd_ps(load16(t, v), x0, a0);
            a1 = _mm512_fmadd_ps(load16(t, v + 16 * es), x1, a1);
            v += 32 * es;
        }
        for (; j + 32 <= k; j += 32, s += 16) {
            uint32_t bits;
            memcpy(&bits, m + s / 4, 4);
            __m512i col = _mm512_add_epi32(
                base, _mm512_and_si512(
                          _mm512_srlv_epi32(_mm512_set1_epi32((int)bits), shifts),
                          three));
            __m512 xg = _mm512_permutex2var_ps(_mm512_loadu_ps(x + j), col,
                                               _mm512_loadu_ps(x + j + 16));
            a0 = _mm512_fmadd_ps(load16(t, v), xg, a0);
            v += 16 * es;
        }
        float acc = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
        for (; s < slots; s++, v += es) {
            size_t col = 4 * (s / 2) + ((m[s / 4] >> (2 * (s % 4))) & 3);
            acc += scalar_val(t, v) * x[col];
        }
        store(beta, y + r, acc);
    }
}

CPR_SPMV_DTYPE_SLOTS()

// ---- unpack ----
// Bitmask: vpexpandd puts the next stored values at the set bits' lanes
// (16-bit values zero-extended to 32 bits and narrowed back with vpmovdw,
// so bit patterns pass unchanged). 2:4: the same expand with the column
// mask of 4 groups (nm24_cols; indices increase within a group, so value
// order is column order) and a fixed advance of 8 values per 16 columns.
// Tails (the last < 16 columns) fall back to plain loops.
// nm24_cols[b]: the 8-column occupancy mask of the two groups whose four
// 2-bit indices are meta byte b.
static const uint8_t nm24_cols[256] = {
    17,19,21,25,19,18,22,26,21,22,20,28,25,26,28,24,
    49,51,53,57,51,50,54,58,53,54,52,60,57,58,60,56,
    81,83,85,89,83,82,86,90,85,86,84,92,89,90,92,88,
    145,147,149,153,147,146,150,154,149,150,148,156,153,154,156,152,
    49,51,53,57,51,50,54,58,53,54,52,60,57,58,60,56,
    33,35,37,41,35,34,38,42,37,38,36,44,41,42,44,40,
    97,99,101,105,99,98,102,106,101,102,100,108,105,106,108,104,
    161,163,165,169,163,162,166,170,165,166,164,172,169,170,172,168,
    81,83,85,89,83,82,86,90,85,86,84,92,89,90,92,88,
    97,99,101,105,99,98,102,106,101,102,100,108,105,106,108,104,
    65,67,69,73,67,66,70,74,69,70,68,76,73,74,76,72,
    193,195,197,201,195,194,198,202,197,198,196,204,201,202,204,200,
    145,147,149,153,147,146,150,154,149,150,148,156,153,154,156,152,
    161,163,165,169,163,162,166,170,165,166,164,172,169,170,172,168,
    193,195,197,201,195,194,198,202,197,198,196,204,201,202,204,200,
    129,131,133,137,131,130,134,138,133,134,132,140,137,138,140,136,
};

CPR_AI void unpack16(int wide, const char *v, unsigned m, char *out, size_t n) {
    __mmask16 lm = (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
    if (wide) {
        __m512i w = _mm512_maskz_expand_epi32((__mmask16)m,
                                              _mm512_loadu_si512((const void *)v));
        _mm512_mask_storeu_epi32(out, lm, w);
    } else {
        __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)v));
        w = _mm512_maskz_expand_epi32((__mmask16)m, w);
        _mm256_mask_storeu_epi16(out, lm, _mm512_cvtepi32_epi16(w));
    }
}

CPR_AI void unpack_bm(int wide, size_t n_rows, size_t k, const uint8_t *meta,
                      size_t ldm, const void *vals, void *dst, size_t ldd) {
    const size_t es = wide ? 4 : 2;
    const char *v = vals;
    for (size_t r = 0; r < n_rows; r++) {
        const uint8_t *m = meta + r * ldm;
        char *out = (char *)dst + r * ldd * es;
        for (size_t j = 0; j < k; j += 16) {
            size_t rem = k - j;
            unsigned bits = m[j / 8], cnt = popc8[m[j / 8]];
            if (rem > 8) bits |= (unsigned)m[j / 8 + 1] << 8, cnt += popc8[m[j / 8 + 1]];
            unpack16(wide, v, bits, out + j * es, rem);
            v += es * cnt;
        }
    }
}

CPR_AI void unpack_nm(int wide, size_t n_rows, size_t k, const uint8_t *meta,
                      size_t ldm, const void *vals, void *dst, size_t ldd) {
    const size_t es = wide ? 4 : 2, slots = (k + 3) / 4 * 2;
    const char *v = vals;
    for (size_t r = 0; r < n_rows; r++) {
        const uint8_t *m = meta + r * ldm;
        char *out = (char *)dst + r * ldd * es;
        size_t j = 0, s = 0;
        for (; j + 16 <= k; j += 16, s += 8, v += 8 * es) {
            unsigned bits = nm24_cols[m[s / 4]] | (unsigned)nm24_cols[m[s / 4 + 1]] << 8;
            unpack16(wide, v, bits, out + j * es, 16);
        }
        if (j < k) memset(out + j * es, 0, (k - j) * es);
        for (; s < slots; s++, v += es) {
            size_t col = 4 * (s / 2) + ((m[s / 4] >> (2 * (s % 4))) & 3);
            uint32_t u = 0;
            memcpy(&u, v, es);
            if (u) memcpy(out + col * es, v, es);
        }
    }
}

static void unpack_bitmask_h16(size_t n, size_t k, const uint8_t *m, size_t ldm,
                               const void *v, void *d, size_t ldd) {
    unpack_bm(0, n, k, m, ldm, v, d, ldd);
}
static void unpack_bitmask_f32(size_t n, size_t k, const uint8_t *m, size_t ldm,
                               const void *v, void *d, size_t ldd) {
    unpack_bm(1, n, k, m, ldm, v, d, ldd);
}
static void unpack_nm24_h16(size_t n, size_t k, const uint8_t *m, size_t ldm,
                            const void *v, void *d, size_t ldd) {
    unpack_nm(0, n, k, m, ldm, v, d, ldd);
}
static void unpack_nm24_f32(size_t n, size_t k, const uint8_t *m, size_t ldm,
                            const void *v, void *d, size_t ldd) {
    unpack_nm(1, n, k, m, ldm, v, d, ldd);
}

void cpr_fill_spmv_avx512(struct cpr_kernels *k) {
    k->unpack_bitmask_h16 = unpack_bitmask_h16;
    k->unpack_bitmask_f32 = unpack_bitmask_f32;
    k->unpack_nm24_h16 = unpack_nm24_h16;
    k->unpack_nm24_f32 = unpack_nm24_f32;
    CPR_SPMV_FILL_DTYPE_SLOTS(k);
}

#endif
