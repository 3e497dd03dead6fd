// tests/test_kern_gemm_bwd.c: the backward-pass products gemm_nn_f32 /
// gemm_nn_bf16b (dX = dY W) and gemm_tn_f32 (dW = dY^T X) for every ISA
// this machine runs, against a double-precision reference computed here
// (independent of simd/gemm_scalar.c), and core/matmul_bwd.h's threaded
// entry points (bit-identical for 1, 2 and 3 threads).
//
// Shapes: odd sizes, sizes crossing the cache blocks of every ISA (KC =
// 192/256, MC = 112/120, NC = 256/512), k = 0; strides larger than the
// rows; misaligned pointers (bf16 B at an odd 2-byte offset); alpha and
// beta variants; beta = 0 with c filled with NaN; the padding past each
// row of c must stay untouched.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/matmul_bwd.h"
#include "core/pool.h"
#include "tests/harness.h"

// |got - ref| <= ATOL + (RTOL + k RTOL_K) * (|alpha| sum_p |a b| + |beta c0|)
#define BWD_ATOL 1e-6
#define BWD_RTOL 1e-5
#define BWD_RTOL_K 6e-8

enum op { OP_NN_F32, OP_NN_BF16, OP_TN_F32, OP_COUNT };
static const char *const op_name[] = {"gemm_nn_f32", "gemm_nn_bf16b", "gemm_tn_f32"};

struct bcase { size_t m, n, k; float alpha, beta; };

static float bf16_val(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void run_case(struct cpr_test_ctx *t, struct cpr_rng *r,
                     const struct cpr_kernels *tabs, const enum cpr_isa *isas,
                     size_t nt, enum op op, const struct bcase *c, size_t idx) {
    size_t m = c->m, n = c->n, k = c->k;
    // A: (m, k) for nn, (k, m) for tn; B: (k, n); C: (m, n).
    size_t a_rows = op == OP_TN_F32 ? k : m, a_cols = op == OP_TN_F32 ? m : k;
    size_t lda = a_cols + (idx % 2 ? 3 : 0), ldb = n + (idx % 3 ? 5 : 0);
    size_t ldc = n + (idx % 2 ? 0 : 2);
    size_t ma = idx % 5, mb = (idx + 1) % 4, mc = (idx + 2) % 3;
    float *a = cpr_test_alloc_offset(a_rows * lda + 1, ma);
    float *b32 = cpr_test_alloc_offset(k * ldb + 1, mb);
    float *b16_base = cpr_test_alloc_offset(k * ldb / 2 + 2, mb);
    uint16_t *b16 = (uint16_t *)b16_base + 1; // odd 2-byte offset
    float *bv = malloc((k * ldb + 1) * sizeof(float)); // B's values as used
    float *c0 = malloc((m * ldc + 1) * sizeof(float));
    float *cc = cpr_test_alloc_offset(m * ldc + 1, mc);
    double *ref = malloc((m * n + 1) * sizeof(double));
    double *mag = malloc((m * n + 1) * sizeof(double));
    cpr_test_fill_normal(r, a, a_rows * lda, 1.0f);
    cpr_test_fill_normal(r, b32, k * ldb, 1.0f);
    if (op == OP_NN_BF16) {
        tabs[0].f32_to_bf16(k * ldb, b32, b16);
        for (size_t i = 0; i < k * ldb; i++) bv[i] = bf16_val(b16[i]);
    } else {
        memcpy(bv, b32, k * ldb * sizeof(float));
    }
    cpr_test_fill_normal(r, c0, m * ldc, 1.0f);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double acc = 0.0, am = 0.0;
            for (size_t p = 0; p < k; p++) {
                double av = op == OP_TN_F32 ? a[p * lda + i] : a[i * lda + p];
                double pr = av * bv[p * ldb + j];
                acc += pr;
                am += fabs(pr);
            }
            double y0 = c->beta == 0.0f ? 0.0 : c0[i * ldc + j];
            ref[i * n + j] = c->alpha * acc + c->beta * y0;
            mag[i * n + j] = fabs(c->alpha) * am + fabs(c->beta * y0);
        }
    double rtol = BWD_RTOL + (double)k * BWD_RTOL_K;
    for (size_t ti = 0; ti < nt; ti++) {
        const struct cpr_kernels *kt = &tabs[ti];
        memcpy(cc, c0, m * ldc * sizeof(float));
        if (c->beta == 0.0f) // write-only: NaNs inside rows must be ignored
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < n; j++) cc[i * ldc + j] = NAN;
        if (op == OP_NN_F32)
            kt->gemm_nn_f32(m, n, k, c->alpha, a, lda, b32, ldb, c->beta, cc, ldc);
        else if (op == OP_NN_BF16)
            kt->gemm_nn_bf16b(m, n, k, c->alpha, a, lda, b16, ldb, c->beta, cc, ldc);
        else
            kt->gemm_tn_f32(m, n, k, c->alpha, a, lda, b32, ldb, c->beta, cc, ldc);
        size_t bad = 0;
        double worst = 0.0;
        for (size_t i = 0; i < m; i++) {
            for (size_t j = 0; j < n; j++) {
                double e = fabs((double)cc[i * ldc + j] - ref[i * n + j]);
                double lim = BWD_ATOL + rtol * mag[i * n + j];
                if (!(e <= lim)) bad++;
                if (e / lim > worst) worst = e / lim;
            }
            for (size_t j = n; j < ldc; j++)
                if (memcmp(&cc[i * ldc + j], &c0[i * ldc + j], sizeof(float)))
                    bad++;
        }
        CPR_CHECK(t, bad == 0,
                  "%s %s m=%zu n=%zu k=%zu alpha=%g beta=%g: %zu elements off "
                  "(worst %.3g x tolerance) or padding touched",
                  cpr_isa_name(isas[ti]), op_name[op], m, n, k, c->alpha,
                  c->beta, bad, worst);
    }
    cpr_test_free_offset(a, ma);
    cpr_test_free_offset(b32, mb);
    cpr_test_free_offset(b16_base, mb);
    cpr_test_free_offset(cc, mc);
    free(bv);
    free(c0);
    free(ref);
    free(mag);
}

static const struct bcase CASES[] = {
    {1, 1, 1, 1.0f, 0.0f},     {7, 13, 5, 1.0f, 1.0f},    {3, 40, 17, -1.5f, 0.5f},
    {29, 70, 257, 1.0f, 0.0f}, {113, 260, 300, 0.5f, 1.0f}, // crosses MC/NC/KC
    {121, 33, 193, 1.0f, 1.0f}, {15, 513, 64, 1.0f, 0.0f},  {64, 64, 64, 2.0f, -1.0f},
    {2, 1023, 9, 1.0f, 1.0f},  {130, 17, 520, 1.0f, 0.0f},  {9, 11, 0, 1.0f, 0.5f},
    {5, 3, 1023, 1.0f, 0.0f},
};

static void test_gemm_bwd(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 151);
    size_t idx = 0;
    for (int op = 0; op < OP_COUNT; op++)
        for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++, idx++)
            run_case(t, &r, tabs, isas, nt, (enum op)op, &CASES[i], idx);
}

// ---- threaded entry points: identical for any thread count ----

static void test_matmul_bwd_threads(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_pool *pools[4] = {NULL, NULL, NULL, NULL};
    struct cpr_err err = {0};
    for (size_t p = 1; p < 4; p++)
        CPR_CHECK_STATUS(t, cpr_pool_init(&pools[p], p, &err), CPR_OK, &err, NULL);
    struct cpr_rng r;
    cpr_rng_seed(&r, 152);
    // (tokens, n_out, n_in)
    static const size_t shapes[][3] = {{37, 300, 1000}, {5, 17, 130}, {70, 513, 333}};
    for (size_t si = 0; si < 3; si++) {
        size_t m = shapes[si][0], no = shapes[si][1], ni = shapes[si][2];
        size_t lddy = no + 1, ldx = ni + 2, ldc = ni + 3;
        float *dy = malloc(m * lddy * sizeof(float));
        float *x = malloc(m * ldx * sizeof(float));
        float *w = malloc(no * ni * sizeof(float));
        uint16_t *w16 = malloc(no * ni * sizeof(uint16_t));
        size_t cn = (m > no ? m : no) * ldc;
        float *c0 = malloc(cn * sizeof(float));
        float *cd = malloc(cn * sizeof(float));
        float *c = malloc(cn * sizeof(float));
        cpr_test_fill_normal(&r, dy, m * lddy, 1.0f);
        cpr_test_fill_normal(&r, x, m * ldx, 1.0f);
        cpr_test_fill_normal(&r, w, no * ni, 1.0f);
        cpr_test_fill_normal(&r, c0, cn, 1.0f);
        tabs[0].f32_to_bf16(no * ni, w, w16);
        int64_t shp[2] = {(int64_t)no, (int64_t)ni};
        for (size_t ti = 0; ti < nt; ti++) {
            const struct cpr_kernels *kt = &tabs[ti];
            for (int op = 0; op < OP_COUNT; op++) {
                memcpy(cd, c0, cn * sizeof(float));
                if (op == OP_NN_F32)
                    kt->gemm_nn_f32(m, ni, no, 1.0f, dy, lddy, w, ni, 0.5f, cd, ldc);
                else if (op == OP_NN_BF16)
                    kt->gemm_nn_bf16b(m, ni, no, 1.0f, dy, lddy, w16, ni, 0.5f, cd, ldc);
                else
                    kt->gemm_tn_f32(no, ni, m, 2.0f, dy, lddy, x, ldx, 1.0f, cd, ldc);
                for (size_t p = 0; p < 4; p++) {
                    memcpy(c, c0, cn * sizeof(float));
                    enum cpr_status st;
                    if (op == OP_TN_F32) {
                        st = cpr_matmul_dw(pools[p], kt, m, no, ni, 2.0f, dy, lddy,
                                           x, ldx, 1.0f, c, ldc, &err);
                    } else {
                        struct cpr_tensor wt;
                        if (op == OP_NN_F32)
                            cpr_tensor_wrap(&wt, CPR_DTYPE_F32, w, 2, shp, 1);
                        else
                            cpr_tensor_wrap(&wt, CPR_DTYPE_BF16, w16, 2, shp, 1);
                        st = cpr_matmul_dx(pools[p], kt, m, dy, lddy, &wt, c, ldc,
                                           0.5f, &err);
                    }
                    CPR_CHECK_STATUS(t, st, CPR_OK, &err, NULL);
                    CPR_CHECK(t, memcmp(c, cd, cn * sizeof(float)) == 0,
                              "%s %s tokens=%zu out=%zu in=%zu: %zu-thread result "
                              "differs from one kernel call",
                              cpr_isa_name(isas[ti]), op_name[op], m, no, ni,
                              cpr_pool_size(pools[p]));
                }
            }
        }
        free(dy);
        free(x);
        free(w);
        free(w16);
        free(c0);
        free(cd);
        free(c);
    }
    for (size_t p = 1; p < 4; p++) cpr_pool_free(pools[p]);
}

static void test_matmul_bwd_errors(struct cpr_test_ctx *t) {
    struct cpr_err err = {0};
    float buf[64] = {0};
    uint16_t h[16] = {0};
    struct cpr_tensor w;
    int64_t shp[2] = {4, 4};
    cpr_tensor_wrap(&w, CPR_DTYPE_F16, h, 2, shp, 1);
    CPR_CHECK_STATUS(t, cpr_matmul_dx(NULL, NULL, 2, buf, 4, &w, buf, 4, 0.0f, &err),
                     CPR_ERR_UNSUPPORTED, &err, "f32/bf16");
    CPR_CHECK_STATUS(t, cpr_matmul_dx(NULL, NULL, 2, buf, 4, NULL, buf, 4, 0.0f, &err),
                     CPR_ERR_UNSUPPORTED, &err, "matmul_dx");
    cpr_tensor_wrap(&w, CPR_DTYPE_F32, buf, 2, shp, 1);
    CPR_CHECK_STATUS(t, cpr_matmul_dx(NULL, NULL, 2, buf, 3, &w, buf, 4, 0.0f, &err),
                     CPR_ERR_ARG, &err, "lddy 3");
    CPR_CHECK_STATUS(t, cpr_matmul_dx(NULL, NULL, 2, NULL, 4, &w, buf, 4, 0.0f, &err),
                     CPR_ERR_ARG, &err, "NULL");
    CPR_CHECK_STATUS(t, cpr_matmul_dw(NULL, NULL, 2, 4, 4, 1.0f, buf, 4, buf, 4,
                                      0.0f, buf, 3, &err),
                     CPR_ERR_ARG, &err, "lddw 3");
    CPR_CHECK_STATUS(t, cpr_matmul_dw(NULL, NULL, 2, 4, 4, 1.0f, NULL, 4, buf, 4,
                                      0.0f, buf, 4, &err),
                     CPR_ERR_ARG, &err, "NULL");
}

const struct cpr_test cpr_tests_kern_gemm_bwd[] = {
    {"gemm_bwd", test_gemm_bwd, 0},
    {"matmul_bwd_threads", test_matmul_bwd_threads, 0},
    {"matmul_bwd_errors", test_matmul_bwd_errors, 0},
    {0},
};
