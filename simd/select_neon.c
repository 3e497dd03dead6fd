// simd/select_neon.c: top-k / k-th / N:M selection with aarch64 Advanced
// SIMD.
//
// Same method as select_avx512.c (sample select on integer keys, see
// simd/select_common.h) with 4-lane registers; in-band keys are appended
// branch-free (NEON has no compress). Mask bytes are produced 16 at a time
// by narrowing four compare results. N:M uses lane rotations (vext/vrev)
// for m in {2, 4}; other m use the generic rank count.
#include "simd/kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <assert.h>

#include "simd/select_common.h"

static inline int32x4_t key4(float32x4_t x) {
    int32x4_t i = vreinterpretq_s32_f32(x);
    int32x4_t a = vandq_s32(i, vdupq_n_s32(0x7fffffff));
    int32x4_t key = vbslq_s32(vcltzq_s32(i), vnegq_s32(a), a);
    uint32x4_t nan = vcgtq_s32(a, vdupq_n_s32(0x7f800000));
    return vbslq_s32(nan, vdupq_n_s32(INT32_MAX), key);
}

// Four compare results (all-ones / zero) -> 16 bytes of 1 / 0.
static inline void store_mask16(uint8_t *dst, uint32x4_t c0, uint32x4_t c1,
                                uint32x4_t c2, uint32x4_t c3) {
    uint16x8_t h0 = vcombine_u16(vmovn_u32(c0), vmovn_u32(c1));
    uint16x8_t h1 = vcombine_u16(vmovn_u32(c2), vmovn_u32(c3));
    uint8x16_t b = vcombine_u8(vmovn_u16(h0), vmovn_u16(h1));
    vst1q_u8(dst, vandq_u8(b, vdupq_n_u8(1)));
}

static size_t band_pass(size_t n, const float *score, int32_t lo, int32_t hi,
                        uint32_t *scratch, size_t *c) {
    int32x4_t vlo = vdupq_n_s32(lo);
    size_t cnt = 0, w = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
        int32x4_t k = key4(vld1q_f32(score + i));
        int32_t kk[4];
        uint32_t off[4];
        vst1q_s32(kk, k);
        vst1q_u32(off, vreinterpretq_u32_s32(vsubq_s32(k, vlo)));
        for (int j = 0; j < 4; j++) {
            cnt += kk[j] < lo;
            scratch[w] = off[j]; // branch-free append: w advances when in band
            w += kk[j] >= lo && kk[j] <= hi;
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

static void select_smallest_f32_neon(size_t n, size_t k, const float *score,
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
    int32x4_t vt = vdupq_n_s32(t);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        int32x4_t k0 = key4(vld1q_f32(score + i)), k1 = key4(vld1q_f32(score + i + 4));
        int32x4_t k2 = key4(vld1q_f32(score + i + 8)), k3 = key4(vld1q_f32(score + i + 12));
        store_mask16(mask + i, vcltq_s32(k0, vt), vcltq_s32(k1, vt),
                     vcltq_s32(k2, vt), vcltq_s32(k3, vt));
        if (need) {
            uint32x4_t e = vorrq_u32(vorrq_u32(vceqq_s32(k0, vt), vceqq_s32(k1, vt)),
                                     vorrq_u32(vceqq_s32(k2, vt), vceqq_s32(k3, vt)));
            if (vmaxvq_u32(e)) // rare: some tie in these 16, take in order
                for (size_t j = i; j < i + 16 && need; j++)
                    if (sel_key(score[j]) == t) {
                        mask[j] = 1;
                        need--;
                    }
        }
    }
    sel_mask_tail(i, n, score, t, &need, mask);
}

static float kth_smallest_f32_neon(size_t n, size_t k, const float *x,
                                   uint32_t *scratch) {
    assert(k >= 1 && k <= n && n <= UINT32_MAX && x && scratch);
    size_t less;
    return sel_key_to_float(threshold(n, k, x, scratch, &less));
}

// ---- N:M (see select_avx512.c for the rotation argument) ----
// Lane p precedes its partner's comparison as "earlier index" exactly where
// the rotation wrapped: the constant wrap masks below.
static inline uint32x4_t before4(int32x4_t kp, int32x4_t k, uint32x4_t wrap) {
    return vorrq_u32(vcltq_s32(kp, k), vandq_u32(vceqq_s32(kp, k), wrap));
}

static inline uint32x4_t nm4(int32x4_t k, unsigned m, int32x4_t vnp) {
    int32x4_t rank;
    if (m == 2) {
        static const uint32_t w1[4] = {0, ~0u, 0, ~0u};
        rank = vreinterpretq_s32_u32(before4(vrev64q_s32(k), k, vld1q_u32(w1)));
    } else { // m == 4
        static const uint32_t w1[4] = {0, 0, 0, ~0u}, w2[4] = {0, 0, ~0u, ~0u},
                              w3[4] = {0, ~0u, ~0u, ~0u};
        uint32x4_t b1 = before4(vextq_s32(k, k, 1), k, vld1q_u32(w1));
        uint32x4_t b2 = before4(vextq_s32(k, k, 2), k, vld1q_u32(w2));
        uint32x4_t b3 = before4(vextq_s32(k, k, 3), k, vld1q_u32(w3));
        rank = vaddq_s32(vaddq_s32(vreinterpretq_s32_u32(b1), vreinterpretq_s32_u32(b2)),
                         vreinterpretq_s32_u32(b3));
    }
    rank = vnegq_s32(rank); // compare results are -1 where true
    return vcltq_s32(rank, vnp);
}

static void nm_mask_f32_neon(size_t n, unsigned n_prune, unsigned m,
                             const float *score, uint8_t *mask) {
    assert(m >= 1 && n % m == 0 && n_prune <= m);
    if (n == 0) return;
    if (n_prune == 0 || n_prune == m) {
        memset(mask, n_prune == m, n);
        return;
    }
    if (m != 2 && m != 4) {
        sel_nm_generic(0, n, n_prune, m, score, mask);
        return;
    }
    int32x4_t vnp = vdupq_n_s32((int32_t)n_prune);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        store_mask16(mask + i, nm4(key4(vld1q_f32(score + i)), m, vnp),
                     nm4(key4(vld1q_f32(score + i + 4)), m, vnp),
                     nm4(key4(vld1q_f32(score + i + 8)), m, vnp),
                     nm4(key4(vld1q_f32(score + i + 12)), m, vnp));
    sel_nm_generic(i, n, n_prune, m, score, mask); // whole groups remain
}

void cpr_fill_select_neon(struct cpr_kernels *k) {
    k->select_smallest_f32 = select_smallest_f32_neon;
    k->kth_smallest_f32 = kth_smallest_f32_neon;
    k->nm_mask_f32 = nm_mask_f32_neon;
}
#endif
