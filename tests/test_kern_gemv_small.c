// tests/test_kern_gemv_small.c: the m <= 4 (decode) paths of gemm_f32 /
// gemm_bf16w / gemm_f16w (simd/gemv_avx2.c, simd/gemv_neon.c, the AVX-512
// and AVX512-BF16 small paths) for every ISA this machine runs, against a
// double-precision reference computed here and against the scalar kernel.
//
// Odd shapes around the 8- and 16-wide k steps and the 4-row W blocks,
// m = 1..5 (5 crosses to the packing path), exact-size allocations (the
// last W row and x row end at the end of their buffer: a read past them is
// an ASan error), 2-byte misaligned 16-bit weights, strides, beta = 0 with
// NaN in y; then bit-identity of any n split (the threads' split).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"

#define ATOL 1e-6
#define RTOL 1e-5
#define RTOL_K 6e-8
#define RTOL_BF16DOT 3.9e-3 // AVX512BF16 rounds x to bf16 (kernels.h)

enum { WK_F32, WK_BF16, WK_F16, WK_COUNT };
static const char *const wk_name[] = {"f32", "bf16", "f16"};

static void call(const struct cpr_kernels *t, int wk, size_t m, size_t n,
                 size_t k, float alpha, const float *x, size_t ldx,
                 const void *w, size_t ldw, float beta, float *y, size_t ldy) {
    if (wk == WK_F32)
        t->gemm_f32(m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
    else
        (wk == WK_BF16 ? t->gemm_bf16w : t->gemm_f16w)(m, n, k, alpha, x, ldx, w,
                                                        ldw, beta, y, ldy);
}

struct gcase { size_t m, n, k; };

static void run_case(struct cpr_test_ctx *t, struct cpr_rng *r,
                     const struct cpr_kernels *tabs, const enum cpr_isa *isas,
                     size_t nt, const struct gcase *c, size_t idx) {
    size_t m = c->m, n = c->n, k = c->k;
    size_t ldx = k + (idx % 2 ? 3 : 0), ldw = k + (idx % 3 == 1 ? 5 : 0);
    size_t ldy = n + (idx % 2 ? 0 : 2);
    size_t nx = (m - 1) * ldx + k, nw = (n - 1) * ldw + k; // exact sizes
    float *x = malloc(nx * sizeof(float));
    float *w0 = malloc(nw * sizeof(float));
    float *wf = malloc(nw * sizeof(float));
    char *wraw = malloc(nw * sizeof(float) + 2);
    float *y0 = malloc(m * ldy * sizeof(float));
    float *y = malloc(m * ldy * sizeof(float));
    float *ys = malloc(m * ldy * sizeof(float));
    float *yp = malloc(m * ldy * sizeof(float));
    double *ref = malloc(m * n * sizeof(double)), *mag = malloc(m * n * sizeof(double));
    cpr_test_fill_normal(r, x, nx, 1.0f);
    cpr_test_fill_normal(r, w0, nw, 0.5f);
    for (int wk = 0; wk < WK_COUNT; wk++) {
        // 16-bit weights 2 bytes past malloc's alignment, ending exactly at
        // the end of the buffer.
        void *w;
        if (wk == WK_F32) {
            w = wraw;
            memcpy(w, w0, nw * sizeof(float));
            memcpy(wf, w0, nw * sizeof(float));
        } else {
            uint16_t *w16 = (uint16_t *)(wraw + nw * sizeof(float) + 2) - nw;
            if (wk == WK_BF16) {
                tabs[0].f32_to_bf16(nw, w0, w16);
                tabs[0].bf16_to_f32(nw, w16, wf);
            } else {
                tabs[0].f32_to_f16(nw, w0, w16);
                tabs[0].f16_to_f32(nw, w16, wf);
            }
            w = w16;
        }
        for (int v = 0; v < 2; v++) {
            float alpha = v ? -0.75f : 1.0f, beta = v ? 1.5f : 0.0f;
            if (beta == 0.0f)
                for (size_t i = 0; i < m * ldy; i++) y0[i] = NAN;
            else
                cpr_test_fill_normal(r, y0, m * ldy, 1.0f);
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < n; j++) {
                    double acc = 0, am = 0;
                    for (size_t p = 0; p < k; p++) {
                        double pr = (double)x[i * ldx + p] * wf[j * ldw + p];
                        acc += pr;
                        am += fabs(pr);
                    }
                    double yb = beta == 0.0f ? 0.0 : (double)beta * y0[i * ldy + j];
                    ref[i * n + j] = alpha * acc + yb;
                    mag[i * n + j] = fabs(alpha) * am + fabs(yb);
                }
            memcpy(ys, y0, m * ldy * sizeof(float));
            call(&tabs[0], wk, m, n, k, alpha, x, ldx, w, ldw, beta, ys, ldy);
            for (size_t ti = 0; ti < nt; ti++) {
                int dot = wk == WK_BF16 && isas[ti] == CPR_ISA_AVX512BF16;
                double rtol = RTOL + (double)k * RTOL_K + (dot ? RTOL_BF16DOT : 0);
                memcpy(y, y0, m * ldy * sizeof(float));
                call(&tabs[ti], wk, m, n, k, alpha, x, ldx, w, ldw, beta, y, ldy);
                int bad = 0;
                for (size_t i = 0; i < m && bad < 3; i++) {
                    for (size_t j = 0; j < n && bad < 3; j++) {
                        double got = y[i * ldy + j], want = ref[i * n + j];
                        double tol = ATOL + rtol * mag[i * n + j];
                        double vs = fabs(got - ys[i * ldy + j]);
                        if (!isfinite(got) || fabs(got - want) > tol || vs > 2 * tol) {
                            CPR_CHECK(t, 0, "%s gemm_%sw m=%zu n=%zu k=%zu beta=%g: "
                                      "y[%zu][%zu] = %.9g, reference %.9g, scalar %.9g",
                                      cpr_isa_name(isas[ti]), wk_name[wk], m, n, k,
                                      beta, i, j, got, want, ys[i * ldy + j]);
                            bad++;
                        }
                    }
                    for (size_t j = n; j < ldy; j++)
                        if (memcmp(&y[i * ldy + j], &y0[i * ldy + j], sizeof(float))) {
                            CPR_CHECK(t, 0, "%s gemm_%sw m=%zu n=%zu k=%zu: padding "
                                      "y[%zu][%zu] written", cpr_isa_name(isas[ti]),
                                      wk_name[wk], m, n, k, i, j);
                            bad = 3;
                            break;
                        }
                }
                // Any n split (how core/matmul.c gives rows of W to threads)
                // must be bit-identical to one call.
                size_t esz = wk == WK_F32 ? 4 : 2;
                for (size_t cut = 1; cut < n; cut += (n > 6 ? n / 3 : 1)) {
                    memcpy(yp, y0, m * ldy * sizeof(float));
                    call(&tabs[ti], wk, m, cut, k, alpha, x, ldx, w, ldw, beta, yp, ldy);
                    call(&tabs[ti], wk, m, n - cut, k, alpha, x, ldx,
                         (const char *)w + cut * ldw * esz, ldw, beta, yp + cut, ldy);
                    CPR_CHECK(t, memcmp(yp, y, m * ldy * sizeof(float)) == 0,
                              "%s gemm_%sw m=%zu n=%zu k=%zu: split at n=%zu differs "
                              "from one call", cpr_isa_name(isas[ti]), wk_name[wk],
                              m, n, k, cut);
                }
            }
        }
    }
    free(x), free(w0), free(wf), free(wraw), free(y0), free(y), free(ys), free(yp);
    free(ref), free(mag);
}

static void test_small_m(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 41);
    static const size_t ks[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 257, 1029};
    static const size_t ns[] = {1, 2, 3, 4, 5, 7, 9, 13};
    size_t idx = 0;
    for (size_t m = 1; m <= 5; m++)
        for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++, idx++) {
            struct gcase c = {m, ns[(ki + m) % (sizeof ns / sizeof ns[0])], ks[ki]};
            run_case(t, &r, tabs, isas, nt, &c, idx);
        }
    // decode-like shapes: one token through a 7B-sized row count's slice
    static const struct gcase big[] = {{1, 37, 4096}, {2, 21, 11008}, {4, 11, 4100}};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++, idx++)
        run_case(t, &r, tabs, isas, nt, &big[i], idx);
}

const struct cpr_test cpr_tests_kern_gemv_small[] = {
    {"small_m", test_small_m, 0},
    {0},
};
