// tests/test_kern_blas1.c: dot / axpy / scale against the scalar reference
// for every ISA this machine runs, at the standard sizes plus a large one,
// with misaligned pointers.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"

// dot: |got - ref| <= DOT_ATOL + DOT_RTOL * sum|x_i y_i|
#define DOT_ATOL 1e-6
#define DOT_RTOL 1e-5
// axpy: one FMA rounding apart per element
#define AXPY_RTOL 1e-6

static const size_t LARGE = 100003;

static void test_dot(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 1);
    for (size_t si = 0; si <= cpr_test_n_sizes; si++) {
        size_t n = si < cpr_test_n_sizes ? cpr_test_sizes[si] : LARGE;
        for (size_t mis = 0; mis < 3; mis++) {
            float *x = cpr_test_alloc_offset(n, mis), *y = cpr_test_alloc_offset(n, mis + 1);
            cpr_test_fill_normal(&r, x, n, 1.0f);
            cpr_test_fill_normal(&r, y, n, 1.0f);
            double ref = 0, mag = 0;
            for (size_t i = 0; i < n; i++) {
                ref += (double)x[i] * y[i];
                mag += fabs((double)x[i] * y[i]);
            }
            for (size_t ti = 0; ti < nt; ti++) {
                float got = tabs[ti].dot_f32(n, x, y);
                CPR_CHECK(t, isfinite(got), "%s dot n=%zu not finite",
                          cpr_isa_name(isas[ti]), n);
                CPR_CHECK(t, fabs(got - ref) <= DOT_ATOL + DOT_RTOL * mag,
                          "%s dot n=%zu mis=%zu: got %.9g ref %.9g",
                          cpr_isa_name(isas[ti]), n, mis, got, ref);
            }
            cpr_test_free_offset(x, mis);
            cpr_test_free_offset(y, mis + 1);
        }
    }
}

static void test_axpy_scale(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 2);
    for (size_t si = 0; si <= cpr_test_n_sizes; si++) {
        size_t n = si < cpr_test_n_sizes ? cpr_test_sizes[si] : LARGE;
        size_t mis = si % 5;
        float *x = cpr_test_alloc_offset(n, mis), *y0 = malloc((n + 1) * 4);
        float *y = cpr_test_alloc_offset(n, mis + 3), *ref = malloc((n + 1) * 4);
        cpr_test_fill_normal(&r, x, n, 1.0f);
        cpr_test_fill_normal(&r, y0, n, 1.0f);
        const float a = -0.75f;
        for (size_t ti = 0; ti < nt; ti++) {
            memcpy(y, y0, n * 4);
            tabs[ti].axpy_f32(n, a, x, y);
            for (size_t i = 0; i < n; i++) {
                double want = (double)y0[i] + (double)a * x[i];
                double tol = AXPY_RTOL * (fabs(y0[i]) + fabs(a * x[i])) + 1e-30;
                if (fabs(y[i] - want) > tol) {
                    CPR_CHECK(t, 0, "%s axpy n=%zu i=%zu got %.9g want %.9g",
                              cpr_isa_name(isas[ti]), n, i, y[i], want);
                    break;
                }
            }
            memcpy(y, y0, n * 4);
            tabs[ti].scale_f32(n, a, y);
            for (size_t i = 0; i < n; i++)
                if (y[i] != a * y0[i]) { // one rounding: exact match
                    CPR_CHECK(t, 0, "%s scale n=%zu i=%zu", cpr_isa_name(isas[ti]), n, i);
                    break;
                }
        }
        cpr_test_free_offset(x, mis);
        cpr_test_free_offset(y, mis + 3);
        free(y0);
        free(ref);
    }
}

// The dispatcher must give every slot a kernel and respect CPRUNE_ISA caps.
static void test_dispatch_complete(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    CPR_CHECK(t, nt >= 1 && isas[0] == CPR_ISA_SCALAR, "scalar table first");
    size_t ns = cpr_kernel_slot_count();
    for (size_t ti = 0; ti < nt; ti++) {
        void (*const *fp)(void) = (void (*const *)(void))&tabs[ti];
        for (size_t s = 0; s < ns; s++) {
            CPR_CHECK(t, fp[s] != NULL, "%s: slot %s is empty",
                      cpr_isa_name(isas[ti]), cpr_kernel_slot_names[s]);
            CPR_CHECK(t, tabs[ti].slot_isa[s] <= isas[ti],
                      "%s: slot %s from a higher ISA", cpr_isa_name(isas[ti]),
                      cpr_kernel_slot_names[s]);
        }
    }
    CPR_CHECK(t, cpr_kernel_slot_names[ns] == NULL, "slot name list length");
    CPR_CHECK(t, cpr_isa_parse("avx2") == CPR_ISA_AVX2, "parse avx2");
    CPR_CHECK(t, cpr_isa_parse("bogus") == -1, "parse bogus");
}

const struct cpr_test cpr_tests_kern_blas1[] = {
    {"dot", test_dot, 0},
    {"axpy_scale", test_axpy_scale, 0},
    {"dispatch_complete", test_dispatch_complete, 0},
    {0},
};
