// tests/test_kern_convert.c: bf16/f16 <-> f32 conversions.
//
// The scalar reference is checked against independent oracles: widening
// against the value formula (ldexp) on all 65536 patterns, narrowing
// against a nearest-value search in the table of all f16 / bf16 values
// with ties to even, plus hand-worked cases. Every ISA is then checked
// bit for bit against the scalar reference: widening on all 65536
// patterns, narrowing on every rounding boundary (each representable
// value, each midpoint and their f32 neighbours), NaN payloads, Inf,
// subnormals and random bit patterns; at the standard sizes plus a large
// one, with misaligned pointers and a guard after the output. The slow
// test runs all 2^32 f32 patterns through each ISA's narrowing.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"

static const size_t LARGE = 100003;
enum { GUARD = 8 };

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// malloc'd buffer of n (+ GUARD) elements of `size` bytes at `off`
// elements past a 64-byte boundary; free with free(base).
static void *alloc_at(void **base, size_t n, size_t size, size_t off) {
    *base = aligned_alloc(64, ((n + off + GUARD) * size + 63) / 64 * 64);
    return *base ? (char *)*base + off * size : NULL;
}

// ---- independent oracles ----
// Value of a half: (-1)^s * man * 2^-24 (subnormal) or (1024 + man) *
// 2^(exp - 25); Inf/NaN as bits (the spec keeps NaN payload and signaling).
static uint32_t f16_oracle(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31u, m = h & 0x3ffu;
    if (e == 31) return sign | 0x7f800000u | (m << 13);
    double v = e ? ldexp(1024.0 + m, (int)e - 25) : ldexp((double)m, -24);
    return sign | f32_bits((float)v); // exact: every half fits in f32
}

// Nearest f16 to finite x by binary search over the increasing magnitudes
// of 0x0000..0x7bff, ties to the even pattern; |x| >= 65520 (the midpoint
// between 65504 and the would-be 65536) overflows to Inf.
static uint16_t f16_nearest(float x, const float *mag) {
    uint16_t sign = signbit(x) ? 0x8000u : 0;
    double a = fabs((double)x);
    if (a >= 65520.0) return (uint16_t)(sign | 0x7c00u);
    unsigned lo = 0, hi = 0x7bff; // largest h with mag[h] <= a
    while (lo < hi) {
        unsigned mid = (lo + hi + 1) / 2;
        if ((double)mag[mid] <= a) lo = mid;
        else hi = mid - 1;
    }
    double up = lo < 0x7bff ? (double)mag[lo + 1] : 65536.0;
    double dl = a - mag[lo], du = up - a;
    unsigned h = dl < du ? lo : du < dl ? lo + 1 : (lo & 1u) ? lo + 1 : lo;
    return (uint16_t)(sign | h);
}

// Nearest bf16 to finite x: the two candidates are x truncated to 16 bits
// and the next pattern up in magnitude (0x7f80 = Inf is the correct
// result past the largest finite value with unbounded exponent, i.e. at
// >= 2^128 * (1 - 2^-9)), compared in double.
static uint16_t bf16_nearest(float x) {
    uint32_t u = f32_bits(x);
    uint16_t t = (uint16_t)(u >> 16);
    double a = fabs((double)x), lo = fabs((double)bits_f32((uint32_t)t << 16));
    double hi = (t & 0x7fffu) == 0x7f7fu ? ldexp(1.0, 128) // next would be Inf
                                         : fabs((double)bits_f32((uint32_t)(t + 1) << 16));
    double dl = a - lo, du = hi - a;
    return dl < du ? t : du < dl ? (uint16_t)(t + 1) : (t & 1u) ? (uint16_t)(t + 1) : t;
}

// ---- input sets ----
// Narrowing inputs: every representable value of the 16-bit format, the
// midpoints to the next one, and the f32 neighbours of both, both signs;
// NaNs with assorted payloads (quiet and signaling); random bit patterns.
static size_t narrow_inputs(float *x, size_t cap, int f16, struct cpr_rng *r) {
    size_t n = 0;
    for (uint32_t h = 0; h < 0x7c00u && f16; h++) {
        float v = bits_f32(f16_oracle((uint16_t)h));
        float nx = h + 1 < 0x7c00u ? bits_f32(f16_oracle((uint16_t)(h + 1))) : 65536.0f;
        float mid = (float)(((double)v + nx) / 2); // exact in f32
        float c[6] = {v, mid, nextafterf(mid, 0), nextafterf(mid, INFINITY),
                      nextafterf(v, INFINITY), h ? nextafterf(v, 0) : 1e-45f};
        for (int i = 0; i < 6 && n + 2 <= cap; i++) x[n++] = c[i], x[n++] = -c[i];
    }
    for (uint32_t h = 0; h < 0x7f80u && !f16; h++) {
        uint32_t b = h << 16;
        uint32_t lows[6] = {0, 1, 0x7fff, 0x8000, 0x8001, 0xffff};
        for (int i = 0; i < 6 && n + 2 <= cap; i++)
            x[n++] = bits_f32(b | lows[i]), x[n++] = bits_f32(b | lows[i] | 0x80000000u);
    }
    const uint32_t special[] = {0x7f800000u, 0xff800000u, 0x7f800001u, 0xff800001u,
                                0x7fc00000u, 0xffc00000u, 0x7fffffffu, 0xffffffffu,
                                0x7fa00000u, 0x7f802000u, 0x7f801fffu, 0x7fbfffffu,
                                0x7f7fffffu, 0xff7fffffu, 0x00000001u, 0x807fffffu,
                                0x477fefffu, 0x477ff000u, 0x477ff001u, 0x33000000u,
                                0x33000001u, 0x387fe000u, 0x387ff000u, 0x80000000u};
    for (size_t i = 0; i < sizeof special / sizeof special[0] && n < cap; i++)
        x[n++] = bits_f32(special[i]);
    while (n < cap) x[n++] = bits_f32((uint32_t)cpr_rng_u64(r));
    return n;
}

// ---- widening, all 65536 patterns ----
static void check_widen(struct cpr_test_ctx *t, int f16) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    const size_t n = 65536;
    void *hb, *fb;
    uint16_t *h = alloc_at(&hb, n, 2, 1);
    float *ref = malloc(n * sizeof *ref), *got = alloc_at(&fb, n, 4, 3);
    for (size_t i = 0; i < n; i++) h[i] = (uint16_t)i;
    (f16 ? tabs[0].f16_to_f32 : tabs[0].bf16_to_f32)(n, h, ref);
    for (size_t i = 0; i < n; i++) {
        uint32_t want = f16 ? f16_oracle((uint16_t)i) : (uint32_t)i << 16;
        if (f32_bits(ref[i]) != want) {
            CPR_CHECK(t, 0, "scalar %s 0x%04zx: got 0x%08x want 0x%08x", f16 ? "f16" : "bf16",
                      i, f32_bits(ref[i]), want);
            break;
        }
    }
    for (size_t ti = 1; ti < nt; ti++) {
        cpr_cvt_h16_f32_fn fn = f16 ? tabs[ti].f16_to_f32 : tabs[ti].bf16_to_f32;
        for (size_t g = 0; g < GUARD; g++) got[n + g] = 7.0f;
        fn(n, h, got);
        for (size_t i = 0; i < n; i++)
            if (f32_bits(got[i]) != f32_bits(ref[i])) {
                CPR_CHECK(t, 0, "%s %s_to_f32 0x%04zx: got 0x%08x want 0x%08x",
                          cpr_isa_name(isas[ti]), f16 ? "f16" : "bf16", i, f32_bits(got[i]),
                          f32_bits(ref[i]));
                break;
            }
        CPR_CHECK(t, got[n] == 7.0f, "%s wrote past n", cpr_isa_name(isas[ti]));
    }
    free(hb);
    free(ref);
    free(fb);
}

static void test_widen_bf16_all(struct cpr_test_ctx *t) { check_widen(t, 0); }
static void test_widen_f16_all(struct cpr_test_ctx *t) { check_widen(t, 1); }

// ---- narrowing: hand-worked cases ----
static void test_narrow_cases(struct cpr_test_ctx *t) {
    static const struct { uint32_t in; uint16_t bf16, f16; } cases[] = {
        {0x3f800000u, 0x3f80, 0x3c00}, // 1.0
        {0xbf800000u, 0xbf80, 0xbc00}, // -1.0
        {0x00000000u, 0x0000, 0x0000}, // +0
        {0x80000000u, 0x8000, 0x8000}, // -0
        {0x3f808000u, 0x3f80, 0x3c04}, // 1 + 2^-8: bf16 tie, even stays down
        {0x3f818000u, 0x3f82, 0x3c0c}, // 1 + 3*2^-8: bf16 tie, odd rounds up
        {0x3f808001u, 0x3f81, 0x3c04}, // just above the bf16 tie
        {0x3f801000u, 0x3f80, 0x3c00}, // 1 + 2^-11: f16 tie, even stays down
        {0x3f803000u, 0x3f80, 0x3c02}, // 1 + 3*2^-11: f16 tie, odd rounds up
        {0x477fe000u, 0x4780, 0x7bff}, // 65504, f16 max
        {0x477fefffu, 0x4780, 0x7bff}, // just below 65520
        {0x477ff000u, 0x4780, 0x7c00}, // 65520 -> f16 Inf
        {0x7f7fffffu, 0x7f80, 0x7c00}, // f32 max -> Inf in both
        {0xff7fffffu, 0xff80, 0xfc00},
        {0x7f7f7fffu, 0x7f7f, 0x7c00}, // below the bf16 overflow tie
        {0x7f7f8000u, 0x7f80, 0x7c00}, // bf16 overflow tie (odd) -> Inf
        {0x7f800000u, 0x7f80, 0x7c00}, // +Inf
        {0xff800000u, 0xff80, 0xfc00}, // -Inf
        {0x7fc00000u, 0x7fc0, 0x7e00}, // quiet NaN
        {0xffc00000u, 0xffc0, 0xfe00},
        {0x7f800001u, 0x7fc0, 0x7e00}, // signaling NaN, low payload lost
        {0x7fa00000u, 0x7fe0, 0x7f00}, // signaling NaN, payload kept + quiet
        {0x38800000u, 0x3880, 0x0400}, // 2^-14, smallest normal f16
        {0x387fc000u, 0x3880, 0x03ff}, // 2^-14 - 2^-24, largest f16 subnormal
        {0x33800000u, 0x3380, 0x0001}, // 2^-24, smallest f16 subnormal
        {0x33000000u, 0x3300, 0x0000}, // 2^-25: tie -> 0
        {0x33000001u, 0x3300, 0x0001}, // just above 2^-25 -> 2^-24
        {0x33c00000u, 0x33c0, 0x0002}, // 1.5 * 2^-24: tie -> even (2)
        {0x33a00000u, 0x33a0, 0x0001}, // 1.25 * 2^-24
        {0x387ff000u, 0x3880, 0x0400}, // rounds up from subnormal to normal
        {0x00000001u, 0x0000, 0x0000}, // f32 subnormal: bf16 keeps it if >= half
        {0x00008000u, 0x0000, 0x0000}, // bf16 tie at 0 -> 0
        {0x00018000u, 0x0002, 0x0000}, // bf16 tie at 1 -> 2
        {0x807fffffu, 0x8080, 0x8000}, // largest f32 subnormal -> bf16 min normal
    };
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float x = bits_f32(cases[c].in);
        for (size_t ti = 0; ti < nt; ti++) {
            uint16_t b = 0, h = 0;
            tabs[ti].f32_to_bf16(1, &x, &b);
            tabs[ti].f32_to_f16(1, &x, &h);
            CPR_CHECK(t, b == cases[c].bf16, "%s f32_to_bf16(0x%08x) = 0x%04x, want 0x%04x",
                      cpr_isa_name(isas[ti]), cases[c].in, b, cases[c].bf16);
            CPR_CHECK(t, h == cases[c].f16, "%s f32_to_f16(0x%08x) = 0x%04x, want 0x%04x",
                      cpr_isa_name(isas[ti]), cases[c].in, h, cases[c].f16);
        }
    }
}

// ---- narrowing: oracle + cross-ISA on all boundaries ----
static void check_narrow(struct cpr_test_ctx *t, int f16) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, f16 ? 31 : 32);
    const size_t cap = 1u << 20;
    float *mag = malloc(0x7c00 * sizeof *mag);
    void *xb, *gb;
    float *x = alloc_at(&xb, cap, 4, 5);
    uint16_t *ref = malloc(cap * sizeof *ref), *got = alloc_at(&gb, cap, 2, 3);
    for (uint32_t h = 0; h < 0x7c00u; h++) mag[h] = bits_f32(f16_oracle((uint16_t)h));
    size_t n = narrow_inputs(x, cap, f16, &r);
    const char *name = f16 ? "f32_to_f16" : "f32_to_bf16";
    (f16 ? tabs[0].f32_to_f16 : tabs[0].f32_to_bf16)(n, x, ref);
    for (size_t i = 0, bad = 0; i < n && bad < 5; i++) { // the spec vs the oracle
        uint32_t u = f32_bits(x[i]);
        uint16_t want;
        if (isnan(x[i])) // quiet, sign and top payload bits kept
            want = f16 ? (uint16_t)(((u >> 16) & 0x8000u) | 0x7e00u | ((u >> 13) & 0x3ffu))
                       : (uint16_t)((u >> 16) | 0x40u);
        else if (isinf(x[i]))
            want = f16 ? (uint16_t)(((u >> 16) & 0x8000u) | 0x7c00u) : (uint16_t)(u >> 16);
        else
            want = f16 ? f16_nearest(x[i], mag) : bf16_nearest(x[i]);
        if (ref[i] != want) {
            CPR_CHECK(t, 0, "scalar %s(0x%08x) = 0x%04x, oracle 0x%04x", name, u, ref[i], want);
            bad++;
        }
    }
    for (size_t ti = 1; ti < nt; ti++) {
        cpr_cvt_f32_h16_fn fn = f16 ? tabs[ti].f32_to_f16 : tabs[ti].f32_to_bf16;
        fn(n, x, got);
        for (size_t i = 0; i < n; i++)
            if (got[i] != ref[i]) {
                CPR_CHECK(t, 0, "%s %s(0x%08x) = 0x%04x, scalar 0x%04x", cpr_isa_name(isas[ti]),
                          name, f32_bits(x[i]), got[i], ref[i]);
                break;
            }
    }
    free(mag);
    free(xb);
    free(ref);
    free(gb);
}

static void test_narrow_bf16(struct cpr_test_ctx *t) { check_narrow(t, 0); }
static void test_narrow_f16(struct cpr_test_ctx *t) { check_narrow(t, 1); }

// ---- sizes, misalignment, no writes past n ----
static void test_sizes(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 33);
    for (size_t si = 0; si <= cpr_test_n_sizes; si++) {
        size_t n = si < cpr_test_n_sizes ? cpr_test_sizes[si] : LARGE;
        for (size_t mis = 0; mis < 3; mis++) {
            void *b1, *b2, *b3, *b4;
            uint16_t *h = alloc_at(&b1, n, 2, mis * 3 + 1), *hr = malloc((n + 1) * 2);
            uint16_t *hg = alloc_at(&b2, n, 2, mis + 5);
            float *f = alloc_at(&b3, n, 4, mis), *fr = malloc((n + 1) * 4);
            float *fg = alloc_at(&b4, n, 4, mis + 1);
            for (size_t i = 0; i < n; i++) {
                h[i] = (uint16_t)cpr_rng_u64(&r);
                // mostly ordinary values at assorted scales, some raw bits
                f[i] = (i % 7 == 3) ? bits_f32((uint32_t)cpr_rng_u64(&r))
                                    : (float)ldexp(cpr_rng_normal(&r), (int)(i % 41) - 20);
            }
            for (int op = 0; op < 4; op++) {
                static const char *const names[4] = {"bf16_to_f32", "f16_to_f32",
                                                     "f32_to_bf16", "f32_to_f16"};
                for (size_t ti = 0; ti < nt; ti++) {
                    const struct cpr_kernels *k = &tabs[ti];
                    int widen = op < 2;
                    void *dst = ti == 0 ? (widen ? (void *)fr : (void *)hr)
                                        : (widen ? (void *)fg : (void *)hg);
                    if (ti > 0)
                        for (size_t g = 0; g < GUARD; g++) {
                            if (widen) fg[n + g] = 7.0f;
                            else hg[n + g] = 0x1234;
                        }
                    if (op == 0) k->bf16_to_f32(n, h, dst);
                    if (op == 1) k->f16_to_f32(n, h, dst);
                    if (op == 2) k->f32_to_bf16(n, f, dst);
                    if (op == 3) k->f32_to_f16(n, f, dst);
                    if (ti == 0) continue;
                    int same = widen ? memcmp(fg, fr, n * 4) == 0 : memcmp(hg, hr, n * 2) == 0;
                    CPR_CHECK(t, same, "%s %s n=%zu mis=%zu differs from scalar",
                              cpr_isa_name(isas[ti]), names[op], n, mis);
                    int guard_ok = 1;
                    for (size_t g = 0; g < GUARD; g++)
                        guard_ok &= widen ? fg[n + g] == 7.0f : hg[n + g] == 0x1234;
                    CPR_CHECK(t, guard_ok, "%s %s n=%zu wrote past n", cpr_isa_name(isas[ti]),
                              names[op], n);
                }
            }
            free(b1), free(b2), free(b3), free(b4), free(hr), free(fr);
        }
    }
}

// ---- slow: all 2^32 f32 patterns, every ISA vs scalar ----
static void test_narrow_all_f32(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    const size_t blk = 1u << 20;
    float *x = malloc(blk * 4);
    uint16_t *rb = malloc(blk * 2), *rh = malloc(blk * 2), *g = malloc(blk * 2);
    for (uint64_t base = 0; base < (1ull << 32); base += blk) {
        for (size_t i = 0; i < blk; i++) x[i] = bits_f32((uint32_t)(base + i));
        tabs[0].f32_to_bf16(blk, x, rb);
        tabs[0].f32_to_f16(blk, x, rh);
        for (size_t ti = 1; ti < nt; ti++) {
            tabs[ti].f32_to_bf16(blk, x, g);
            if (memcmp(g, rb, blk * 2) != 0)
                CPR_CHECK(t, 0, "%s f32_to_bf16 differs in block 0x%08llx",
                          cpr_isa_name(isas[ti]), (unsigned long long)base);
            tabs[ti].f32_to_f16(blk, x, g);
            if (memcmp(g, rh, blk * 2) != 0)
                CPR_CHECK(t, 0, "%s f32_to_f16 differs in block 0x%08llx",
                          cpr_isa_name(isas[ti]), (unsigned long long)base);
        }
        if (t->failures) break;
    }
    free(x), free(rb), free(rh), free(g);
}

const struct cpr_test cpr_tests_kern_convert[] = {
    {"widen_bf16_all", test_widen_bf16_all, 0},
    {"widen_f16_all", test_widen_f16_all, 0},
    {"narrow_cases", test_narrow_cases, 0},
    {"narrow_bf16", test_narrow_bf16, 0},
    {"narrow_f16", test_narrow_f16, 0},
    {"sizes", test_sizes, 0},
    {"narrow_all_f32", test_narrow_all_f32, 1},
    {0},
};
