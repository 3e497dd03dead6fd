// tests/test_kern_select.c: select_smallest / kth_smallest / nm_mask for
// every ISA this machine runs, against a sort-based brute-force oracle
// written here (qsort on (score, index) with NaN above +Inf, float-equal
// scores tied by index). Masks must match exactly.
//
// Inputs stress the order: many ties (quantized values), all-equal rows,
// NaNs of both signs, +-0, +-Inf, sorted / reversed rows, and rows whose
// strided sample is unrepresentative (forces the SIMD kernels' wide
// fallback pass). Sizes: the standard list, the sampled sizes, 11008, and
// a large one; k in {0, 1, n/3, n/2, n-1, n}; misaligned score pointers.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"

static const size_t EXTRA_SIZES[] = {2048, 4096, 11008, 100003};
#define N_EXTRA (sizeof EXTRA_SIZES / sizeof EXTRA_SIZES[0])

// ---- oracle ----
static const float *g_score; // qsort has no context argument

static int cmp_pos(const void *pa, const void *pb) {
    uint32_t i = *(const uint32_t *)pa, j = *(const uint32_t *)pb;
    float a = g_score[i], b = g_score[j];
    int na = isnan(a), nb = isnan(b);
    if (na != nb) return na ? 1 : -1;
    if (!na) {
        if (a < b) return -1;
        if (a > b) return 1;
    }
    return i < j ? -1 : 1;
}

// order[r] = position of rank r.
static void oracle_order(size_t n, const float *s, uint32_t *order) {
    for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
    g_score = s;
    qsort(order, n, sizeof *order, cmp_pos);
}

static uint32_t bits(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    return u;
}

// ---- inputs ----
enum { F_NORMAL, F_QUANT, F_EQUAL, F_SPECIAL, F_SORTED, F_REVERSED,
       F_BADSAMPLE, F_ZEROS, N_FILLS };
static const char *const fill_names[N_FILLS] = {
    "normal", "quantized", "all-equal", "nan/inf/zero", "sorted",
    "reversed", "bad-sample", "+-0"};

static void fill(struct cpr_rng *r, int kind, float *x, size_t n) {
    cpr_test_fill_normal(r, x, n, 1.0f);
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case F_QUANT: x[i] = floorf(x[i] * 2.0f); break; // ~12 levels
        case F_EQUAL: x[i] = 0.25f; break;
        case F_SPECIAL: {
            uint32_t c = (uint32_t)cpr_rng_u64(r) % 10;
            if (c == 0) x[i] = NAN;
            else if (c == 1) x[i] = -NAN;
            else if (c == 2) x[i] = INFINITY;
            else if (c == 3) x[i] = -INFINITY;
            else if (c == 4) x[i] = 0.0f;
            else if (c == 5) x[i] = -0.0f;
            else if (c == 6) { uint32_t u = 0x7fa00001u; memcpy(&x[i], &u, 4); } // sNaN
            else if (c == 7) x[i] = 1e-45f; // subnormal
            break;
        }
        case F_SORTED: x[i] = (float)i * 0.5f; break;
        case F_REVERSED: x[i] = (float)(n - i); break;
        case F_BADSAMPLE: // the SIMD sample takes positions j*s + s/2
            if (n >= 2048 && i % (n / 256) == (n / 256) / 2) x[i] = 1000.0f + x[i];
            break;
        case F_ZEROS: x[i] = ((uint32_t)cpr_rng_u64(r) & 1) ? 0.0f : -0.0f; break;
        default: break;
        }
    }
}

// ---- select_smallest + kth_smallest ----
static void check_row(struct cpr_test_ctx *t, const struct cpr_kernels *tabs,
                      const enum cpr_isa *isas, size_t nt, size_t n,
                      const float *x, const char *what) {
    uint32_t *order = malloc((n + 1) * sizeof *order);
    uint32_t *scratch = malloc((n + 1) * sizeof *scratch);
    uint8_t *want = malloc(n + 1), *got = malloc(n + 1);
    oracle_order(n, x, order);
    size_t ks[6] = {0, 1, n / 3, n / 2, n ? n - 1 : 0, n};
    for (int ki = 0; ki < 6; ki++) {
        size_t k = ks[ki];
        if (k > n) continue;
        memset(want, 0, n + 1);
        for (size_t r = 0; r < k; r++) want[order[r]] = 1;
        for (size_t ti = 0; ti < nt; ti++) {
            memset(got, 0xAA, n + 1);
            tabs[ti].select_smallest_f32(n, k, x, got, scratch);
            CPR_CHECK(t, got[n] == 0xAA, "%s select n=%zu wrote past the end",
                      cpr_isa_name(isas[ti]), n);
            for (size_t i = 0; i < n; i++)
                if (got[i] != want[i]) {
                    CPR_CHECK(t, 0, "%s select %s n=%zu k=%zu: mask[%zu]=%d want %d",
                              cpr_isa_name(isas[ti]), what, n, k, i, got[i], want[i]);
                    break;
                }
            if (k >= 1) {
                // canonical: -0 -> +0, any NaN -> 0x7fc00000
                float v = x[order[k - 1]];
                uint32_t w = isnan(v) ? 0x7fc00000u : bits(v == 0.0f ? 0.0f : v);
                float g = tabs[ti].kth_smallest_f32(n, k, x, scratch);
                CPR_CHECK(t, bits(g) == w, "%s kth %s n=%zu k=%zu: got %08x want %08x",
                          cpr_isa_name(isas[ti]), what, n, k, (unsigned)bits(g),
                          (unsigned)w);
            }
        }
    }
    free(order);
    free(scratch);
    free(want);
    free(got);
}

static void test_select(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 11);
    for (size_t si = 0; si < cpr_test_n_sizes + N_EXTRA; si++) {
        size_t n = si < cpr_test_n_sizes ? cpr_test_sizes[si]
                                         : EXTRA_SIZES[si - cpr_test_n_sizes];
        for (int f = 0; f < N_FILLS; f++) {
            if (n > 20000 && f != F_NORMAL && f != F_QUANT) continue;
            size_t mis = (si + (size_t)f) % 7;
            float *x = cpr_test_alloc_offset(n, mis);
            fill(&r, f, x, n);
            check_row(t, tabs, isas, nt, n, x, fill_names[f]);
            cpr_test_free_offset(x, mis);
        }
    }
}

// A hand-worked case: ties, -0/+0, NaN.
static void test_select_hand(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    //            0     1     2      3     4    5      6     7
    float x[8] = {1.0f, NAN, -0.0f, 1.0f, 0.0f, -2.0f, 1.0f, INFINITY};
    // order: 5(-2) 2(-0) 4(+0) 0(1) 3(1) 6(1) 7(inf) 1(nan)
    static const uint8_t want4[8] = {1, 0, 1, 0, 1, 1, 0, 0};
    static const uint8_t want7[8] = {1, 0, 1, 1, 1, 1, 1, 1};
    uint8_t got[8];
    uint32_t scratch[8];
    for (size_t ti = 0; ti < nt; ti++) {
        tabs[ti].select_smallest_f32(8, 4, x, got, scratch);
        CPR_CHECK(t, memcmp(got, want4, 8) == 0, "%s hand k=4", cpr_isa_name(isas[ti]));
        tabs[ti].select_smallest_f32(8, 7, x, got, scratch);
        CPR_CHECK(t, memcmp(got, want7, 8) == 0, "%s hand k=7", cpr_isa_name(isas[ti]));
        CPR_CHECK(t, bits(tabs[ti].kth_smallest_f32(8, 2, x, scratch)) == 0,
                  "%s kth 2 is +0", cpr_isa_name(isas[ti]));
        CPR_CHECK(t, tabs[ti].kth_smallest_f32(8, 6, x, scratch) == 1.0f,
                  "%s kth 6", cpr_isa_name(isas[ti]));
        CPR_CHECK(t, isnan(tabs[ti].kth_smallest_f32(8, 8, x, scratch)),
                  "%s kth 8 NaN", cpr_isa_name(isas[ti]));
    }
}

// ---- N:M ----
static void test_nm(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    static const unsigned pat[][2] = {{2, 4}, {4, 8}, {1, 4}, {3, 4}, {1, 2},
                                      {0, 4}, {4, 4}, {3, 8}, {8, 16}, {5, 16},
                                      {2, 3}, {5, 32}, {1, 1}, {7, 12}};
    struct cpr_rng r;
    cpr_rng_seed(&r, 12);
    for (size_t pi = 0; pi < sizeof pat / sizeof pat[0]; pi++) {
        unsigned np = pat[pi][0], m = pat[pi][1];
        for (size_t si = 0; si < cpr_test_n_sizes + 2; si++) {
            size_t n = si < cpr_test_n_sizes ? cpr_test_sizes[si] : (si == cpr_test_n_sizes ? 4096 : 11008 * 3);
            n -= n % m;
            for (int f = 0; f < N_FILLS; f++) {
                size_t mis = (si + pi) % 5;
                float *x = cpr_test_alloc_offset(n, mis);
                uint8_t *want = malloc(n + 1), *got = malloc(n + 1);
                uint32_t order[32];
                fill(&r, f, x, n);
                for (size_t g = 0; g < n; g += m) {
                    oracle_order(m, x + g, order);
                    for (unsigned q = 0; q < m; q++) want[g + order[q]] = q < np;
                }
                for (size_t ti = 0; ti < nt; ti++) {
                    memset(got, 0xAA, n + 1);
                    tabs[ti].nm_mask_f32(n, np, m, x, got);
                    CPR_CHECK(t, got[n] == 0xAA, "%s nm wrote past the end",
                              cpr_isa_name(isas[ti]));
                    for (size_t i = 0; i < n; i++)
                        if (got[i] != want[i]) {
                            CPR_CHECK(t, 0, "%s nm %u:%u %s n=%zu: mask[%zu]=%d want %d",
                                      cpr_isa_name(isas[ti]), np, m, fill_names[f],
                                      n, i, got[i], want[i]);
                            break;
                        }
                }
                cpr_test_free_offset(x, mis);
                free(want);
                free(got);
            }
        }
    }
}

const struct cpr_test cpr_tests_kern_select[] = {
    {"select_hand", test_select_hand, 0},
    {"select_vs_oracle", test_select, 0},
    {"nm_vs_oracle", test_nm, 0},
    {0},
};
