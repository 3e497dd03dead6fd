// tests/test_kern_score.c: absmul_f32 and count_zeros_f32.
//
// absmul must equal fabsf(w)*s computed here, bit for bit (NaN results:
// NaN), for every ISA, with -0, subnormals, Inf and NaN among the inputs.
// count_zeros must equal a count made here: +0 and -0 count, NaN and
// nonzero subnormals do not. Standard sizes plus a large one, misaligned
// pointers, a guard after the output, and a multi-megaelement count that
// crosses the SIMD lane-counter flush.
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

// Mostly normal values, with -0, +0, subnormals, +-Inf and NaN mixed in.
static void fill_special(struct cpr_rng *r, float *x, size_t n) {
    static const float sp[] = {0.0f, -0.0f, 1e-45f, -1e-40f, INFINITY, -INFINITY, NAN};
    for (size_t i = 0; i < n; i++) {
        uint64_t u = cpr_rng_below(r, 16);
        x[i] = u < 7 ? sp[u] : (float)cpr_rng_normal(r);
    }
}

static void test_absmul(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 51);
    for (size_t si = 0; si <= cpr_test_n_sizes; si++) {
        size_t n = si < cpr_test_n_sizes ? cpr_test_sizes[si] : LARGE;
        for (size_t mis = 0; mis < 3; mis++) {
            float *w = cpr_test_alloc_offset(n, mis), *s = cpr_test_alloc_offset(n, mis + 1);
            float *out = cpr_test_alloc_offset(n + GUARD, 2 * mis + 3);
            float *want = malloc((n + 1) * sizeof *want);
            fill_special(&r, w, n);
            for (size_t i = 0; i < n; i++) // s: norms, some zero / Inf / NaN
                s[i] = i % 11 == 5 ? w[(i * 7) % n] : (float)fabs(cpr_rng_normal(&r));
            for (size_t i = 0; i < n; i++) want[i] = fabsf(w[i]) * s[i];
            for (size_t ti = 0; ti < nt; ti++) {
                for (size_t g = 0; g < GUARD; g++) out[n + g] = 9.0f;
                tabs[ti].absmul_f32(n, w, s, out);
                size_t bad = n;
                for (size_t i = 0; i < n && bad == n; i++)
                    if (isnan(want[i]) ? !isnan(out[i]) : f32_bits(out[i]) != f32_bits(want[i]))
                        bad = i;
                CPR_CHECK(t, bad == n, "%s absmul n=%zu mis=%zu i=%zu: |%g|*%g = %g, want %g",
                          cpr_isa_name(isas[ti]), n, mis, bad, bad < n ? w[bad] : 0,
                          bad < n ? s[bad] : 0, bad < n ? out[bad] : 0,
                          bad < n ? want[bad] : 0);
                int guard_ok = 1;
                for (size_t g = 0; g < GUARD; g++) guard_ok &= out[n + g] == 9.0f;
                CPR_CHECK(t, guard_ok, "%s absmul n=%zu wrote past n", cpr_isa_name(isas[ti]), n);
            }
            cpr_test_free_offset(w, mis);
            cpr_test_free_offset(s, mis + 1);
            cpr_test_free_offset(out, 2 * mis + 3);
            free(want);
        }
    }
    // Hand-worked: sign of w dropped, sign of s kept, exact product.
    float w[4] = {-2.0f, -0.0f, 3.0f, -1.5f}, s[4] = {0.25f, 5.0f, -2.0f, 3.0f}, o[4];
    const float e[4] = {0.5f, 0.0f, -6.0f, 4.5f};
    for (size_t ti = 0; ti < nt; ti++) {
        tabs[ti].absmul_f32(4, w, s, o);
        CPR_CHECK(t, memcmp(o, e, sizeof o) == 0, "%s absmul hand case",
                  cpr_isa_name(isas[ti]));
    }
}

static size_t count_ref(size_t n, const float *x) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = f32_bits(x[i]);
        c += (u & 0x7fffffffu) == 0; // bit test: +0 or -0, independent of FP compare
    }
    return c;
}

static void test_count_zeros(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 52);
    for (size_t si = 0; si <= cpr_test_n_sizes; si++) {
        size_t n = si < cpr_test_n_sizes ? cpr_test_sizes[si] : LARGE;
        for (size_t mis = 0; mis < 4; mis++) {
            float *x = cpr_test_alloc_offset(n, mis);
            fill_special(&r, x, n);
            // end on a zero, and sometimes start on one, to catch tail bugs
            if (n) x[n - 1] = mis & 1 ? -0.0f : 0.0f;
            if (n > 1 && mis >= 2) x[0] = 0.0f;
            x[n] = 0.0f; // just past the end: must not be counted
            size_t want = count_ref(n, x);
            for (size_t ti = 0; ti < nt; ti++) {
                size_t got = tabs[ti].count_zeros_f32(n, x);
                CPR_CHECK(t, got == want, "%s count_zeros n=%zu mis=%zu: %zu, want %zu",
                          cpr_isa_name(isas[ti]), n, mis, got, want);
            }
            cpr_test_free_offset(x, mis);
        }
    }
    // Hand-worked and all-zero / no-zero arrays across the flush boundary.
    const float h[9] = {0.0f, -0.0f, NAN, 1e-45f, -1e-45f, INFINITY, 1.0f, -0.0f, 0.0f};
    const size_t big = (3u << 20) + 37;
    float *z = cpr_test_alloc_offset(big, 1);
    for (size_t ti = 0; ti < nt; ti++) {
        CPR_CHECK(t, tabs[ti].count_zeros_f32(9, h) == 4, "%s count_zeros hand case",
                  cpr_isa_name(isas[ti]));
        memset(z, 0, big * sizeof *z);
        size_t c0 = tabs[ti].count_zeros_f32(big, z);
        CPR_CHECK(t, c0 == big, "%s count_zeros all-zero n=%zu: %zu", cpr_isa_name(isas[ti]),
                  big, c0);
        for (size_t i = 0; i < big; i++) z[i] = i % 3 ? -0.0f : NAN;
        size_t c1 = tabs[ti].count_zeros_f32(big, z);
        CPR_CHECK(t, c1 == big - (big + 2) / 3, "%s count_zeros mixed n=%zu: %zu",
                  cpr_isa_name(isas[ti]), big, c1);
    }
    cpr_test_free_offset(z, 1);
}

const struct cpr_test cpr_tests_kern_score[] = {
    {"absmul", test_absmul, 0},
    {"count_zeros", test_count_zeros, 0},
    {0},
};
