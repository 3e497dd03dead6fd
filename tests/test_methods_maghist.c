// tests/test_methods_maghist.c: the global magnitude plan from histograms
// over the (mapped, any dtype) tensors gives exactly the threshold and caps
// of the bisection plan on f32 copies: random matrices in f32, bf16 and
// f16 (many ties), with zeros, +-Inf and NaN, several sparsities and
// density floors, 1 and 3 threads; and the same errors.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "methods/magnitude.h"
#include "methods/magnitude_hist.h"
#include "simd/kernels.h"
#include "tests/harness.h"

enum { NM = 4 };
static const size_t ROWS[NM] = {8, 16, 4, 12}, COLS[NM] = {32, 24, 40, 7};
static const float SCALE[NM] = {1.0f, 0.05f, 3.0f, 0.5f};

// Fill matrix i (f32) with normals plus special values; store as dt.
static void make(struct cpr_rng *rng, enum cpr_dtype dt, int specials,
                 float *f32[NM], struct cpr_tensor ts[NM]) {
    const struct cpr_kernels *k = cpr_kernels_get();
    for (int i = 0; i < NM; i++) {
        size_t n = ROWS[i] * COLS[i];
        float *w = malloc(n * sizeof *w);
        cpr_test_fill_normal(rng, w, n, SCALE[i]);
        if (specials) {
            w[3] = 0.0f;
            w[4] = -0.0f;
            w[n - 1] = INFINITY;
            if (i == 2) w[5] = NAN;
            if (i == 3) w[6] = -INFINITY;
        }
        int64_t shape[2] = {(int64_t)ROWS[i], (int64_t)COLS[i]};
        struct cpr_err err = {0};
        cpr_tensor_alloc(&ts[i], dt, 2, shape, &err);
        if (dt == CPR_DTYPE_F32) memcpy(ts[i].data, w, n * sizeof *w);
        else if (dt == CPR_DTYPE_BF16) k->f32_to_bf16(n, w, ts[i].data);
        else k->f32_to_f16(n, w, ts[i].data);
        free(w);
        // The f32 copy the old plan saw: the stored values, widened.
        f32[i] = malloc(n * sizeof(float));
        for (size_t r = 0; r < ROWS[i]; r++)
            cpr_tensor_row_f32(&ts[i], (int64_t)r, f32[i] + r * COLS[i]);
    }
}

static void test_vs_bisection(struct cpr_test_ctx *t) {
    struct cpr_pool *pool3 = NULL;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_pool_init(&pool3, 3, &err), CPR_OK, &err, NULL);
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 11);
    const double sps[] = {0.0, 0.1, 0.5, 0.77, 0.95, 1.0};
    const double mds[] = {0.0, 0.3, 0.6};
    int cases = 0;
    for (int dt = 0; dt < CPR_DTYPE_COUNT; dt++) {
        for (int sp = 0; sp < 2; sp++) {
            float *f32[NM];
            struct cpr_tensor ts[NM] = {{0}};
            make(&rng, (enum cpr_dtype)dt, sp, f32, ts);
            struct cpr_matrix mats[NM];
            const struct cpr_tensor *wp[NM];
            for (int i = 0; i < NM; i++) {
                mats[i] = (struct cpr_matrix){"g", f32[i], ROWS[i], COLS[i],
                                              COLS[i],
                                              CPR_MATRIX_GROUP_UNKNOWN};
                wp[i] = &ts[i];
            }
            for (size_t a = 0; a < sizeof sps / sizeof sps[0]; a++) {
                for (size_t b = 0; b < sizeof mds / sizeof mds[0]; b++) {
                    float th0[NM], th1[NM], th3[NM];
                    size_t c0[NM], c1[NM], c3[NM];
                    struct cpr_err e0 = {0}, e1 = {0}, e3 = {0};
                    enum cpr_status s0 = cpr_magnitude_global_plan(
                        NULL, NM, mats, sps[a], mds[b], th0, c0, &e0);
                    enum cpr_status s1 = cpr_magnitude_global_plan_tensors(
                        NULL, NM, wp, sps[a], mds[b], th1, c1, &e1);
                    enum cpr_status s3 = cpr_magnitude_global_plan_tensors(
                        pool3, NM, wp, sps[a], mds[b], th3, c3, &e3);
                    CPR_CHECK(t, s0 == s1 && s1 == s3,
                              "%s specials %d s %g md %g: status %d %d %d",
                              cpr_dtype_name((enum cpr_dtype)dt), sp, sps[a],
                              mds[b], (int)s0, (int)s1, (int)s3);
                    if (s0 || s1 || s3) {
                        CPR_CHECK(t, strcmp(e0.msg, e1.msg) == 0,
                                  "messages '%s' vs '%s'", e0.msg, e1.msg);
                        continue;
                    }
                    cases++;
                    CPR_CHECK(t, memcmp(th0, th1, sizeof th0) == 0 &&
                                     memcmp(th0, th3, sizeof th0) == 0 &&
                                     memcmp(c0, c1, sizeof c0) == 0 &&
                                     memcmp(c0, c3, sizeof c0) == 0,
                              "%s specials %d s %g md %g: tau %a / %a / %a",
                              cpr_dtype_name((enum cpr_dtype)dt), sp, sps[a],
                              mds[b], (double)th0[0], (double)th1[0],
                              (double)th3[0]);
                }
            }
            for (int i = 0; i < NM; i++) {
                free(f32[i]);
                cpr_tensor_free(&ts[i]);
            }
        }
    }
    CPR_CHECK(t, cases >= 30, "only %d comparable cases", cases);
    cpr_pool_free(pool3);
}

// A compressed or non-2-D tensor is refused with its index.
static void test_errors(struct cpr_test_ctx *t) {
    struct cpr_tensor a = {0};
    struct cpr_err err = {0};
    int64_t shape[1] = {8};
    cpr_tensor_alloc(&a, CPR_DTYPE_F32, 1, shape, &err);
    const struct cpr_tensor *wp[1] = {&a};
    float th[1];
    size_t cap[1];
    CPR_CHECK_STATUS(t, cpr_magnitude_global_plan_tensors(NULL, 1, wp, 0.5,
                                                          0.0, th, cap, &err),
                     CPR_ERR_ARG, &err, "matrix 0");
    cpr_tensor_free(&a);
}

const struct cpr_test cpr_tests_methods_maghist[] = {
    {"plan_vs_bisection", test_vs_bisection, 0},
    {"errors", test_errors, 0},
    {0},
};
