// simd/select_common.h: the portable parts of the SIMD select kernels,
// included by select_avx2.c, select_avx512.c and select_neon.c (each copy
// is compiled with that file's ISA flags). Plain C, static inline, no ISA
// #ifs. The scalar reference (select_scalar.c) deliberately does not use
// this file, so the tests compare two independent methods.
//
// Integer key: key(x) is an int32 whose signed order is the float order of
// select_scalar.c without the index:
//   key = +|bits| for x >= 0, -|bits| for x < 0 (so -0 and +0 both give 0,
//   a tie), and INT32_MAX for every NaN (above +Inf = 0x7f800000, and all
//   NaNs tie).
// A key range [lo, hi] is mapped to uint32 offsets key - lo for the radix
// passes.
//
// Selection of the k-th smallest key (sample select):
//  1. take SEL_SAMPLES keys at a fixed stride (AVX-512: from the keys a
//     first streaming pass stored in scratch; AVX2/NEON: from the scores),
//     take two order statistics of them (radix sort or radix select), and
//     bracket the expected rank k/n with a band [lo, hi] about 3 standard
//     deviations of the sample rank to each side (a miss, ~0.3% of rows,
//     costs one more pass);
//  2. one vectorized pass counts keys < lo and compacts the offsets of
//     keys in [lo, hi] into scratch (~20% of n at k = n/2);
//  3. an exact radix select (digits of up to 10 bits) on the candidates gives the
//     threshold key T and the count of keys < T.
// If the k-th key is outside the band (unlucky sample), step 2 is redone
// with the band [INT32_MIN, INT32_MAX] (every key a candidate), so the
// result is always exact; only the speed depends on the sample.
// The mask is then key < T, plus the first (k - #less) positions with
// key == T (ties to the lower index).
#ifndef CPR_SIMD_SELECT_COMMON_H
#define CPR_SIMD_SELECT_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { SEL_SAMPLES = 256, SEL_MIN_SAMPLED = 2048, SEL_DIGIT = 10 };

static inline int32_t sel_key(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    int32_t a = (int32_t)(u & 0x7fffffffu);
    if (a > 0x7f800000) return INT32_MAX;
    return (u >> 31) ? -a : a;
}

// Inverse of sel_key on its image: 0 -> +0, INT32_MAX -> quiet NaN.
static inline float sel_key_to_float(int32_t key) {
    uint32_t u;
    if (key == INT32_MAX) u = 0x7fc00000u;
    else if (key < 0) u = (uint32_t)(-key) | 0x80000000u;
    else u = (uint32_t)key;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

// Sort a small int32 array (the sample) by LSD radix sort on the biased
// key, 8-bit digits: branch-free, ~4 * (n + 256) steps. tmp holds n.
static inline void sel_sort_i32(int32_t *a, int32_t *tmp, size_t n) {
    uint32_t cnt[256];
    int32_t *src = a, *dst = tmp;
    for (int shift = 0; shift < 32; shift += 8) {
        memset(cnt, 0, sizeof cnt);
        for (size_t i = 0; i < n; i++)
            cnt[(((uint32_t)src[i] ^ 0x80000000u) >> shift) & 0xffu]++;
        if (cnt[(((uint32_t)src[0] ^ 0x80000000u) >> shift) & 0xffu] == n)
            continue; // one bucket: this digit is already in order
        uint32_t sum = 0;
        for (int d = 0; d < 256; d++) {
            uint32_t c = cnt[d];
            cnt[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[cnt[(((uint32_t)src[i] ^ 0x80000000u) >> shift) & 0xffu]++] = src[i];
        int32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, n * sizeof *a);
}

// Band [*lo, *hi] from a sorted sample smp[SEL_SAMPLES] of the keys.
static inline void sel_band_sorted(size_t n, size_t k, const int32_t *smp,
                                   int32_t *lo, int32_t *hi) {
    double q = (double)k / (double)n, s = SEL_SAMPLES;
    double mid = q * s, delta = 3.0 * sqrt(s * q * (1.0 - q)) + 2.0;
    double rlo = floor(mid - delta), rhi = ceil(mid + delta);
    *lo = rlo >= 0 ? smp[(size_t)rlo] : INT32_MIN;
    *hi = rhi < s ? smp[(size_t)rhi] : INT32_MAX;
}

// Band [*lo, *hi] for the k-th smallest (1-based) of n keys, from a strided
// sample of `score`. Wide open ([INT32_MIN, INT32_MAX]) for small n.
static inline void sel_band(size_t n, size_t k, const float *score,
                            int32_t *lo, int32_t *hi) {
    *lo = INT32_MIN;
    *hi = INT32_MAX;
    if (n < SEL_MIN_SAMPLED) return;
    int32_t smp[SEL_SAMPLES], tmp[SEL_SAMPLES];
    size_t stride = n / SEL_SAMPLES;
    for (size_t j = 0; j < SEL_SAMPLES; j++)
        smp[j] = sel_key(score[j * stride + stride / 2]);
    sel_sort_i32(smp, tmp, SEL_SAMPLES);
    sel_band_sorted(n, k, smp, lo, hi);
}

static inline uint32_t sel_radix_kth(uint32_t *a, size_t c, size_t r,
                                     uint32_t span, size_t *n_less);

// The same from keys already computed (stored as uint32 bit patterns). The
// two sample order statistics come from two radix selects on copies of the
// sample (offsets from its minimum), which is cheaper than sorting it.
static inline void sel_band_keys(size_t n, size_t k, const uint32_t *keys,
                                 int32_t *lo, int32_t *hi) {
    *lo = INT32_MIN;
    *hi = INT32_MAX;
    if (n < SEL_MIN_SAMPLED) return;
    uint32_t off[SEL_SAMPLES], tmp[SEL_SAMPLES];
    size_t stride = n / SEL_SAMPLES;
    int32_t mn = INT32_MAX, mx = INT32_MIN;
    for (size_t j = 0; j < SEL_SAMPLES; j++) {
        int32_t v = (int32_t)keys[j * stride + stride / 2];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    for (size_t j = 0; j < SEL_SAMPLES; j++)
        off[j] = keys[j * stride + stride / 2] - (uint32_t)mn;
    double q = (double)k / (double)n, s = SEL_SAMPLES;
    double mid = q * s, delta = 3.0 * sqrt(s * q * (1.0 - q)) + 2.0;
    double rlo = floor(mid - delta), rhi = ceil(mid + delta);
    uint32_t span = (uint32_t)mx - (uint32_t)mn;
    size_t less;
    if (rlo >= 0) {
        memcpy(tmp, off, sizeof tmp);
        *lo = (int32_t)((uint32_t)mn + sel_radix_kth(tmp, SEL_SAMPLES, (size_t)rlo, span, &less));
    }
    if (rhi < s) {
        memcpy(tmp, off, sizeof tmp);
        *hi = (int32_t)((uint32_t)mn + sel_radix_kth(tmp, SEL_SAMPLES, (size_t)rhi, span, &less));
    }
}

// Exact radix select on c uint32 values (modified in place): returns the
// value of 0-based rank r and sets *n_less to how many values are smaller.
// `span` bounds every value (values <= span).
static inline uint32_t sel_radix_kth(uint32_t *a, size_t c, size_t r,
                                     uint32_t span, size_t *n_less) {
    uint32_t hist[1u << SEL_DIGIT];
    size_t less = 0;
    uint32_t prefix = 0;
    int shift = 0;
    while (shift < 32 && (span >> shift) != 0) shift++; // bits of span
    while (shift > 0 && c > 16) {
        // digit width ~ log2(c): a 1024-bucket pass over a few survivors
        // would cost more in clearing and scanning than it saves
        int b = 4; // ~4 survivors per bucket
        while (b < SEL_DIGIT && ((size_t)1 << (b + 3)) <= c) b++;
        if (b > shift) b = shift;
        shift -= b;
        uint32_t dm = (1u << b) - 1u;
        memset(hist, 0, sizeof(uint32_t) << b);
        for (size_t i = 0; i < c; i++) hist[(a[i] >> shift) & dm]++;
        uint32_t d = 0;
        size_t below = 0;
        while (below + hist[d] <= r) below += hist[d++];
        less += below;
        r -= below;
        size_t w = 0;
        for (size_t i = 0; i < c; i++) { // branch-free compaction
            uint32_t v = a[i];
            a[w] = v;
            w += ((v >> shift) & dm) == d;
        }
        c = w;
        prefix |= d << shift;
    }
    if (shift == 0) { // all survivors equal the prefix
        *n_less = less;
        return prefix;
    }
    // At most 16 survivors: the value whose [#smaller, #smaller-or-equal)
    // range holds r, by direct counting.
    for (size_t i = 0; i < c; i++) {
        size_t lt = 0, le = 0;
        for (size_t j = 0; j < c; j++) {
            lt += a[j] < a[i];
            le += a[j] <= a[i];
        }
        if (lt <= r && r < le) {
            *n_less = less + lt;
            return a[i];
        }
    }
    *n_less = less; // unreachable: some survivor always matches
    return prefix;
}

// From the band pass: count_lo keys < lo and c candidate offsets in
// scratch. Returns 1 and the threshold key / #keys < T when the k-th key
// (1-based) lies in the band, 0 when the caller must redo the pass wide.
static inline int sel_resolve(size_t k, int32_t lo, int32_t hi,
                              size_t count_lo, uint32_t *scratch, size_t c,
                              int32_t *t, size_t *n_less) {
    if (k <= count_lo || k > count_lo + c) return 0;
    size_t less;
    uint32_t span = (uint32_t)hi - (uint32_t)lo;
    uint32_t off = sel_radix_kth(scratch, c, k - 1 - count_lo, span, &less);
    *t = (int32_t)((uint32_t)lo + off);
    *n_less = count_lo + less;
    return 1;
}

// Scalar tail of the final mask pass: positions [i, n) given threshold t and
// *need ties still to take.
static inline void sel_mask_tail(size_t i, size_t n, const float *score,
                                 int32_t t, size_t *need, uint8_t *mask) {
    for (; i < n; i++) {
        int32_t key = sel_key(score[i]);
        uint8_t m = key < t;
        if (key == t && *need) {
            m = 1;
            (*need)--;
        }
        mask[i] = m;
    }
}

// Generic N:M by rank counting on keys, for group sizes the vector code
// does not cover; groups [g0, n).
static inline void sel_nm_generic(size_t g0, size_t n, unsigned n_prune,
                                  unsigned m, const float *score,
                                  uint8_t *mask) {
    for (size_t g = g0; g < n; g += m) {
        for (unsigned i = 0; i < m; i++) {
            int32_t ki = sel_key(score[g + i]);
            unsigned rank = 0;
            for (unsigned j = 0; j < m; j++) {
                int32_t kj = sel_key(score[g + j]);
                rank += kj < ki || (kj == ki && j < i);
            }
            mask[g + i] = rank < n_prune;
        }
    }
}

#endif
