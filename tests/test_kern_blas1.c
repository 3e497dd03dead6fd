// tests/test_kern_blas1.c: dot / axpy / axpy_rows / scale against the scalar reference
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

// axpy_rows: every table against the loop of its own axpy_f32 (bit-identical:
// the slot's contract) and against the scalar reference (within the FMA
// rounding difference). The columns of v past n (ldv > n) hold NaN, so a
// kernel that reads them into o fails; o[n] is a guard that must survive.
static void test_axpy_rows(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t ntab = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 3);
    static const size_t ns[] = {0, 1, 7, 8, 16, 33, 64, 100, 128, 130, 200};
    static const size_t nts[] = {0, 1, 5, 33, 512}; // 33: one past a 32-row chunk
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < sizeof nts / sizeof nts[0]; b++)
            for (size_t pad = 0; pad <= 3; pad += 3) {
                size_t n = ns[a], nt = nts[b], ldv = n + pad, mis = (a + b + pad) % 5;
                float *s = cpr_test_alloc_offset(nt, mis);
                float *v = cpr_test_alloc_offset(nt * ldv, (mis + 1) % 5);
                float *o0 = malloc((n + 1) * 4), *o = cpr_test_alloc_offset(n + 1, (mis + 2) % 5);
                float *loop = malloc((n + 1) * 4), *ref = malloc((n + 1) * 4);
                double *mag = calloc(n + 1, sizeof(double));
                cpr_test_fill_normal(&r, s, nt, 1.0f / (float)(nt + 1));
                cpr_test_fill_normal(&r, v, nt * ldv, 1.0f);
                cpr_test_fill_normal(&r, o0, n + 1, 1.0f);
                for (size_t tt = 0; tt < nt; tt++)
                    for (size_t i = n; i < ldv; i++) v[tt * ldv + i] = NAN;
                for (size_t i = 0; i < n; i++) {
                    mag[i] = fabs(o0[i]);
                    for (size_t tt = 0; tt < nt; tt++)
                        mag[i] += fabs((double)s[tt] * v[tt * ldv + i]);
                }
                memcpy(ref, o0, (n + 1) * 4);
                tabs[0].axpy_rows_f32(n, nt, s, v, ldv, ref);
                for (size_t ti = 0; ti < ntab; ti++) {
                    const char *isa = cpr_isa_name(isas[ti]);
                    memcpy(o, o0, (n + 1) * 4);
                    tabs[ti].axpy_rows_f32(n, nt, s, v, ldv, o);
                    memcpy(loop, o0, (n + 1) * 4);
                    for (size_t tt = 0; tt < nt; tt++)
                        tabs[ti].axpy_f32(n, s[tt], v + tt * ldv, loop);
                    CPR_CHECK(t, o[n] == o0[n], "%s axpy_rows n=%zu nt=%zu wrote past n",
                              isa, n, nt);
                    for (size_t i = 0; i < n; i++) {
                        if (memcmp(&o[i], &loop[i], 4) != 0) {
                            CPR_CHECK(t, 0,
                                      "%s axpy_rows n=%zu nt=%zu ldv=%zu i=%zu: %.9g, "
                                      "axpy loop %.9g (must be bit-identical)",
                                      isa, n, nt, ldv, i, o[i], loop[i]);
                            break;
                        }
                        // each of the nt + 1 terms may differ by one rounding
                        double tol = 1e-30 + 2.0 * (double)(nt + 1) * 6e-8 * mag[i];
                        if (!(fabs((double)o[i] - ref[i]) <= tol)) {
                            CPR_CHECK(t, 0,
                                      "%s axpy_rows n=%zu nt=%zu i=%zu: %.9g, scalar %.9g",
                                      isa, n, nt, i, o[i], ref[i]);
                            break;
                        }
                    }
                }
                cpr_test_free_offset(s, mis);
                cpr_test_free_offset(v, (mis + 1) % 5);
                cpr_test_free_offset(o, (mis + 2) % 5);
                free(o0), free(loop), free(ref), free(mag);
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
    {"axpy_rows", test_axpy_rows, 0},
    {"dispatch_complete", test_dispatch_complete, 0},
    {0},
};
