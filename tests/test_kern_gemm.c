// tests/test_kern_gemm.c: gemm_f32 / gemm_bf16w / gemm_f16w / syrk_f32 for
// every ISA this machine runs, against a double-precision reference
// computed here (independent of the scalar kernel), plus the threaded
// entry points of core/matmul.h (bit-identical for 1, 2 and 3 threads).
//
// Shapes: a covering set of the standard sizes (each size appears as m, as
// n and as k), shapes that cross the cache blocks (KC = 256, MC = 112,
// NC = 256 on AVX-512) and a few with 1023; strides larger than the rows;
// misaligned pointers (bf16/f16 weights at odd 2-byte offsets); alpha/beta
// variants; beta = 0 with y filled with NaN; padding past each row of y
// must stay untouched.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/matmul.h"
#include "core/pool.h"
#include "tests/harness.h"

// |got - ref| <= GEMM_ATOL + rtol * (|alpha| sum_p |x w| + |beta y0|) with
// rtol = GEMM_RTOL + k * GEMM_RTOL_K (f32 FMA chains: ~k eps worst case).
#define GEMM_ATOL 1e-6
#define GEMM_RTOL 1e-5
#define GEMM_RTOL_K 6e-8
// The AVX512BF16 bf16-weight kernel rounds x to bf16 (relative error
// <= 2^-9 per term) before vdpbf16ps. Against the exact product it is
// allowed 2^-8 relative to sum|x w| (the documented bound); it is also
// held to the tight f32 tolerance against a reference computed here with
// x rounded to bf16, so a small slip (one dropped pair) cannot hide in the
// loose bound.
#define GEMM_RTOL_BF16DOT 3.9e-3

enum wkind { WK_F32, WK_BF16, WK_F16, WK_COUNT };
static const char *const wk_name[] = {"f32", "bf16", "f16"};

struct shape { size_t m, n, k; };

// ---- reference and helpers ----

// Weights as stored (f32, or 16-bit patterns) and their exact f32 values.
struct wbuf {
    float *wf;      // (n, ldw) f32 values actually used (rounded for h16)
    float *raw32;   // f32 storage (WK_F32), misaligned
    uint16_t *raw16; // 16-bit storage, misaligned by one uint16
    float *raw16_base;
    size_t mis;
};

static void wbuf_make(struct wbuf *b, const struct cpr_kernels *ks,
                      enum wkind wk, const float *w0, size_t rows, size_t ldw,
                      size_t mis) {
    size_t len = rows * ldw;
    b->mis = mis;
    b->wf = malloc((len + 1) * sizeof(float));
    b->raw32 = NULL;
    b->raw16 = NULL;
    b->raw16_base = NULL;
    if (wk == WK_F32) {
        b->raw32 = cpr_test_alloc_offset(len, mis);
        memcpy(b->raw32, w0, len * sizeof(float));
        memcpy(b->wf, w0, len * sizeof(float));
    } else {
        b->raw16_base = cpr_test_alloc_offset(len / 2 + 2, mis);
        b->raw16 = (uint16_t *)b->raw16_base + 1; // 2-byte misalignment
        if (wk == WK_BF16) {
            ks->f32_to_bf16(len, w0, b->raw16);
            ks->bf16_to_f32(len, b->raw16, b->wf);
        } else {
            ks->f32_to_f16(len, w0, b->raw16);
            ks->f16_to_f32(len, b->raw16, b->wf);
        }
    }
}

static void wbuf_free(struct wbuf *b) {
    free(b->wf);
    cpr_test_free_offset(b->raw32, b->mis);
    cpr_test_free_offset(b->raw16_base, b->mis);
}

static void call_gemm(const struct cpr_kernels *t, enum wkind wk,
                      const struct shape *s, float alpha, const float *x,
                      size_t ldx, const struct wbuf *w, size_t ldw,
                      float beta, float *y, size_t ldy) {
    if (wk == WK_F32)
        t->gemm_f32(s->m, s->n, s->k, alpha, x, ldx, w->raw32, ldw, beta, y, ldy);
    else
        (wk == WK_BF16 ? t->gemm_bf16w : t->gemm_f16w)(
            s->m, s->n, s->k, alpha, x, ldx, w->raw16, ldw, beta, y, ldy);
}

// Compare y (m, n) stride ldy with ref/mag; padding [n, ldy) must equal
// y0's. Returns 0 on success (first mismatches reported).
static int check_y(struct cpr_test_ctx *t, const char *what,
                   const struct shape *s, const float *y, const float *y0,
                   size_t ldy, const double *ref, const double *mag,
                   double rtol) {
    double max_err = 0;
    int bad = 0;
    for (size_t i = 0; i < s->m; i++) {
        for (size_t j = 0; j < s->n; j++) {
            double got = y[i * ldy + j], want = ref[i * s->n + j];
            double err = fabs(got - want);
            if (!isfinite(got) || err > GEMM_ATOL + rtol * mag[i * s->n + j]) {
                if (bad < 3)
                    CPR_CHECK(t, 0, "%s m=%zu n=%zu k=%zu: y[%zu][%zu] = %.9g want %.9g",
                              what, s->m, s->n, s->k, i, j, got, want);
                bad++;
            }
            if (err > max_err) max_err = err;
        }
        for (size_t j = s->n; j < ldy; j++)
            if (memcmp(&y[i * ldy + j], &y0[i * ldy + j], sizeof(float))) {
                CPR_CHECK(t, 0, "%s m=%zu n=%zu k=%zu: padding y[%zu][%zu] written",
                          what, s->m, s->n, s->k, i, j);
                return 1;
            }
    }
    if (bad)
        CPR_CHECK(t, 0, "%s m=%zu n=%zu k=%zu: %d bad elements, max err %.3g", what,
                  s->m, s->n, s->k, bad, max_err);
    return bad;
}

// ---- gemm against the reference ----

static void run_gemm_shape(struct cpr_test_ctx *t, struct cpr_rng *r,
                           const struct cpr_kernels *tabs,
                           const enum cpr_isa *isas, size_t nt,
                           const struct shape *s, size_t idx) {
    size_t ldx = s->k + (idx % 3 ? 3 : 0), ldw = s->k + (idx % 2 ? 5 : 0);
    size_t ldy = s->n + (idx % 3 == 2 ? 0 : 2);
    size_t mx = idx % 7, mw = (idx + 3) % 5, my = (idx + 1) % 4;
    float *x = cpr_test_alloc_offset(s->m * ldx + 1, mx);
    float *w0 = malloc((s->n * ldw + 1) * sizeof(float));
    float *y0 = malloc((s->m * ldy + 1) * sizeof(float));
    float *y = cpr_test_alloc_offset(s->m * ldy + 1, my);
    double *ref = malloc((s->m * s->n + 1) * sizeof(double));
    double *mag = malloc((s->m * s->n + 1) * sizeof(double));
    cpr_test_fill_normal(r, x, s->m * ldx, 1.0f);
    cpr_test_fill_normal(r, w0, s->n * ldw, 0.5f);
    static const float alphas[3] = {1.0f, 0.5f, -2.0f};
    static const float betas[3] = {0.0f, 1.25f, 1.0f};
    // x rounded to bf16 (the AVX512BF16 bf16-weight kernel's input)
    uint16_t *xb16 = malloc((s->m * ldx + 1) * sizeof(uint16_t));
    float *xb = malloc((s->m * ldx + 1) * sizeof(float));
    double *refb = malloc((s->m * s->n + 1) * sizeof(double));
    double *magb = malloc((s->m * s->n + 1) * sizeof(double));
    tabs[0].f32_to_bf16(s->m * ldx, x, xb16);
    tabs[0].bf16_to_f32(s->m * ldx, xb16, xb);
    for (int wk = 0; wk < WK_COUNT; wk++) {
        struct wbuf wb;
        wbuf_make(&wb, &tabs[0], (enum wkind)wk, w0, s->n, ldw, mw);
        for (int v = 0; v < 3; v++) {
            float alpha = alphas[v], beta = betas[v];
            if (beta == 0.0f)
                for (size_t i = 0; i < s->m * ldy; i++) y0[i] = NAN;
            else
                cpr_test_fill_normal(r, y0, s->m * ldy, 1.0f);
            for (size_t i = 0; i < s->m; i++)
                for (size_t j = 0; j < s->n; j++) {
                    double acc = 0, am = 0;
                    for (size_t p = 0; p < s->k; p++) {
                        double pr = (double)x[i * ldx + p] * wb.wf[j * ldw + p];
                        acc += pr;
                        am += fabs(pr);
                    }
                    double yb = beta == 0.0f ? 0.0 : (double)beta * y0[i * ldy + j];
                    ref[i * s->n + j] = alpha * acc + yb;
                    mag[i * s->n + j] = fabs(alpha) * am + fabs(yb);
                    if (wk != WK_BF16) continue;
                    acc = am = 0;
                    for (size_t p = 0; p < s->k; p++) {
                        double pr = (double)xb[i * ldx + p] * wb.wf[j * ldw + p];
                        acc += pr;
                        am += fabs(pr);
                    }
                    refb[i * s->n + j] = alpha * acc + yb;
                    magb[i * s->n + j] = fabs(alpha) * am + fabs(yb);
                }
            for (size_t ti = 0; ti < nt; ti++) {
                memcpy(y, y0, s->m * ldy * sizeof(float));
                call_gemm(&tabs[ti], (enum wkind)wk, s, alpha, x, ldx, &wb, ldw, beta,
                          y, ldy);
                double rtol = GEMM_RTOL + (double)s->k * GEMM_RTOL_K;
                if (wk == WK_BF16 && isas[ti] == CPR_ISA_AVX512BF16)
                    rtol += GEMM_RTOL_BF16DOT;
                char what[96];
                snprintf(what, sizeof what, "%s gemm_%sw alpha=%g beta=%g",
                         cpr_isa_name(isas[ti]), wk_name[wk], alpha, beta);
                check_y(t, what, s, y, y0, ldy, ref, mag, rtol);
                if (wk == WK_BF16 && isas[ti] == CPR_ISA_AVX512BF16)
                    check_y(t, what, s, y, y0, ldy, refb, magb,
                            GEMM_RTOL + (double)s->k * GEMM_RTOL_K);
            }
        }
        wbuf_free(&wb);
    }
    cpr_test_free_offset(x, mx);
    cpr_test_free_offset(y, my);
    free(xb16);
    free(xb);
    free(refb);
    free(magb);
    free(w0);
    free(y0);
    free(ref);
    free(mag);
}

static void test_gemm(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 11);
    const size_t *S = cpr_test_sizes;
    size_t ns = cpr_test_n_sizes - 1; // the sizes below 1023
    size_t idx = 0;
    // each size once as m, once as n, once as k (7 and 11 are prime to 15)
    for (size_t i = 0; i < ns; i++, idx++) {
        struct shape s = {S[i], S[(7 * i + 3) % ns], S[(11 * i + 5) % ns]};
        run_gemm_shape(t, &r, tabs, isas, nt, &s, idx);
    }
    static const struct shape extra[] = {
        {1023, 17, 33}, {5, 1023, 64}, {3, 40, 1023}, {1, 1, 1023},
        {113, 260, 300}, // crosses MC, NC and KC on AVX-512
        {130, 513, 520}, {29, 70, 257}, {64, 64, 64},
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++, idx++)
        run_gemm_shape(t, &r, tabs, isas, nt, &extra[i], idx);
}

static void test_gemm_big(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 12);
    static const struct shape big[] = {{150, 520, 4100}, {600, 300, 700}};
    for (size_t i = 0; i < 2; i++) run_gemm_shape(t, &r, tabs, isas, nt, &big[i], i);
}

// ---- syrk ----

struct syrk_case { size_t n, k, i0, i1; };

static void run_syrk(struct cpr_test_ctx *t, struct cpr_rng *r,
                     const struct cpr_kernels *tabs, const enum cpr_isa *isas,
                     size_t nt, const struct syrk_case *c, size_t idx) {
    size_t ldx = c->n + (idx % 2 ? 3 : 0), ldh = c->n + (idx % 3 ? 1 : 0);
    size_t mx = idx % 5, mh = (idx + 2) % 3;
    float *x = cpr_test_alloc_offset(c->k * ldx + 1, mx);
    float *h0 = malloc((c->n * ldh + 1) * sizeof(float));
    float *h = cpr_test_alloc_offset(c->n * ldh + 1, mh);
    double *ref = malloc((c->n * c->n + 1) * sizeof(double));
    double *mag = malloc((c->n * c->n + 1) * sizeof(double));
    cpr_test_fill_normal(r, x, c->k * ldx, 1.0f);
    cpr_test_fill_normal(r, h0, c->n * ldh, 1.0f);
    for (size_t i = 0; i < c->n; i++)
        for (size_t j = 0; j < c->n; j++) {
            int in = i >= c->i0 && i < c->i1;
            double acc = h0[i * ldh + j], am = fabs(h0[i * ldh + j]);
            for (size_t p = 0; in && p < c->k; p++) {
                double pr = (double)x[p * ldx + i] * x[p * ldx + j];
                acc += pr;
                am += fabs(pr);
            }
            ref[i * c->n + j] = acc;
            mag[i * c->n + j] = in ? am : 0.0; // rows outside: exact
        }
    struct shape s = {c->n, c->n, c->k};
    for (size_t ti = 0; ti < nt; ti++) {
        memcpy(h, h0, c->n * ldh * sizeof(float));
        tabs[ti].syrk_f32(c->n, c->k, x, ldx, h, ldh, c->i0, c->i1);
        char what[96];
        snprintf(what, sizeof what, "%s syrk i0=%zu i1=%zu", cpr_isa_name(isas[ti]),
                 c->i0, c->i1);
        check_y(t, what, &s, h, h0, ldh, ref, mag,
                GEMM_RTOL + (double)c->k * GEMM_RTOL_K);
    }
    cpr_test_free_offset(x, mx);
    cpr_test_free_offset(h, mh);
    free(h0);
    free(ref);
    free(mag);
}

static void test_syrk(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 13);
    static const struct syrk_case cases[] = {
        {1, 1, 0, 1},      {7, 3, 2, 5},        {33, 17, 0, 33},
        {65, 300, 10, 50}, {100, 520, 37, 99},  {17, 1023, 0, 17},
        {300, 40, 250, 300}, {16, 0, 0, 16},    {31, 64, 5, 5},
        {127, 15, 1, 126}, {8, 8, 0, 8},        {2, 63, 1, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_syrk(t, &r, tabs, isas, nt, &cases[i], i);
}

static void test_syrk_big(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 14);
    struct syrk_case c = {530, 5000, 100, 530};
    run_syrk(t, &r, tabs, isas, nt, &c, 1);
}

// ---- threaded entry points: identical for any thread count ----

static void test_matmul_threads(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_pool *pools[4] = {NULL, NULL, NULL, NULL};
    struct cpr_err err = {0};
    for (size_t p = 1; p < 4; p++)
        CPR_CHECK_STATUS(t, cpr_pool_init(&pools[p], p, &err), CPR_OK, &err, NULL);
    struct cpr_rng r;
    cpr_rng_seed(&r, 15);
    // the last two: pruned-width patterns (FLAP AL-AM: N not a multiple of
    // any block, K = a KC multiple plus a short tail, odd K so every W row
    // starts at a different offset in its cache line)
    static const struct shape shapes[] = {
        {37, 1000, 300}, {5, 130, 17}, {70, 333, 513}, {3, 700, 129},
        {29, 203, 400}, {20, 150, 781}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const struct shape *s = &shapes[si];
        size_t ldx = s->k + 1, ldy = s->n + 3;
        float *x = malloc(s->m * ldx * sizeof(float));
        float *w0 = malloc(s->n * s->k * sizeof(float));
        float *y0 = malloc(s->m * ldy * sizeof(float));
        float *yd = malloc(s->m * ldy * sizeof(float));
        float *y = malloc(s->m * ldy * sizeof(float));
        uint16_t *w16 = malloc(s->n * s->k * sizeof(uint16_t));
        cpr_test_fill_normal(&r, x, s->m * ldx, 1.0f);
        cpr_test_fill_normal(&r, w0, s->n * s->k, 1.0f);
        cpr_test_fill_normal(&r, y0, s->m * ldy, 1.0f);
        for (int wk = 0; wk < WK_COUNT; wk++) {
            struct cpr_tensor wt;
            int64_t shp[2] = {(int64_t)s->n, (int64_t)s->k};
            if (wk == WK_F32) {
                cpr_tensor_wrap(&wt, CPR_DTYPE_F32, w0, 2, shp, 1);
            } else if (wk == WK_BF16) {
                tabs[0].f32_to_bf16(s->n * s->k, w0, w16);
                cpr_tensor_wrap(&wt, CPR_DTYPE_BF16, w16, 2, shp, 1);
            } else {
                tabs[0].f32_to_f16(s->n * s->k, w0, w16);
                cpr_tensor_wrap(&wt, CPR_DTYPE_F16, w16, 2, shp, 1);
            }
            for (size_t ti = 0; ti < nt; ti++) {
                const struct cpr_kernels *kt = &tabs[ti];
                // direct single kernel call over the whole n
                memcpy(yd, y0, s->m * ldy * sizeof(float));
                if (wk == WK_F32)
                    kt->gemm_f32(s->m, s->n, s->k, 1.0f, x, ldx, w0, s->k, 0.5f, yd, ldy);
                else
                    (wk == WK_BF16 ? kt->gemm_bf16w : kt->gemm_f16w)(
                        s->m, s->n, s->k, 1.0f, x, ldx, w16, s->k, 0.5f, yd, ldy);
                for (size_t p = 0; p < 4; p++) {
                    memcpy(y, y0, s->m * ldy * sizeof(float));
                    enum cpr_status st =
                        cpr_matmul(pools[p], kt, s->m, x, ldx, &wt, y, ldy, 0.5f, &err);
                    CPR_CHECK_STATUS(t, st, CPR_OK, &err, NULL);
                    CPR_CHECK(t, memcmp(y, yd, s->m * ldy * sizeof(float)) == 0,
                              "%s matmul %s m=%zu n=%zu k=%zu: %zu-thread result "
                              "differs from one kernel call",
                              cpr_isa_name(isas[ti]), wk_name[wk], s->m, s->n, s->k,
                              cpr_pool_size(pools[p]));
                }
            }
        }
        free(x);
        free(w0);
        free(y0);
        free(yd);
        free(y);
        free(w16);
    }
    for (size_t p = 1; p < 4; p++) cpr_pool_free(pools[p]);
}

static void test_syrk_threads(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_pool *pools[4] = {NULL, NULL, NULL, NULL};
    struct cpr_err err = {0};
    for (size_t p = 1; p < 4; p++)
        CPR_CHECK_STATUS(t, cpr_pool_init(&pools[p], p, &err), CPR_OK, &err, NULL);
    struct cpr_rng r;
    cpr_rng_seed(&r, 16);
    size_t n = 203, k = 301, ldx = n + 2, ldh = n + 1;
    float *x = malloc(k * ldx * sizeof(float));
    float *hd = calloc(n * ldh, sizeof(float));
    float *h = malloc(n * ldh * sizeof(float));
    cpr_test_fill_normal(&r, x, k * ldx, 1.0f);
    for (size_t ti = 0; ti < nt; ti++) {
        memset(hd, 0, n * ldh * sizeof(float));
        tabs[ti].syrk_f32(n, k, x, ldx, hd, ldh, 0, n);
        int sym = 1;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < i; j++)
                sym &= memcmp(&hd[i * ldh + j], &hd[j * ldh + i], sizeof(float)) == 0;
        CPR_CHECK(t, sym, "%s syrk: H not exactly symmetric", cpr_isa_name(isas[ti]));
        for (size_t p = 0; p < 4; p++) {
            memset(h, 0, n * ldh * sizeof(float));
            CPR_CHECK_STATUS(t, cpr_syrk(pools[p], &tabs[ti], n, k, x, ldx, h, ldh, &err),
                             CPR_OK, &err, NULL);
            CPR_CHECK(t, memcmp(h, hd, n * ldh * sizeof(float)) == 0,
                      "%s cpr_syrk %zu threads differs from one kernel call",
                      cpr_isa_name(isas[ti]), cpr_pool_size(pools[p]));
        }
    }
    free(x);
    free(hd);
    free(h);
    for (size_t p = 1; p < 4; p++) cpr_pool_free(pools[p]);
}

static void test_matmul_errors(struct cpr_test_ctx *t) {
    struct cpr_err err = {0};
    float x[8] = {0}, y[8] = {0}, w[8] = {0};
    struct cpr_tensor wt;
    int64_t shp1[1] = {8}, shp2[2] = {2, 4};
    cpr_tensor_wrap(&wt, CPR_DTYPE_F32, w, 1, shp1, 1);
    CPR_CHECK_STATUS(t, cpr_matmul(NULL, NULL, 2, x, 4, &wt, y, 2, 0.0f, &err),
                     CPR_ERR_UNSUPPORTED, &err, "2-D");
    cpr_tensor_wrap(&wt, CPR_DTYPE_F32, w, 2, shp2, 1);
    CPR_CHECK_STATUS(t, cpr_matmul(NULL, NULL, 2, x, 3, &wt, y, 2, 0.0f, &err),
                     CPR_ERR_ARG, &err, "ldx");
    CPR_CHECK_STATUS(t, cpr_matmul(NULL, NULL, 2, NULL, 4, &wt, y, 2, 0.0f, &err),
                     CPR_ERR_ARG, &err, "NULL");
    CPR_CHECK_STATUS(t, cpr_syrk(NULL, NULL, 4, 2, x, 3, y, 4, &err), CPR_ERR_ARG,
                     &err, "ldx");
    CPR_CHECK_STATUS(t, cpr_matmul(NULL, NULL, 2, x, 4, &wt, y, 2, 0.0f, &err), CPR_OK,
                     &err, NULL);
}

const struct cpr_test cpr_tests_kern_gemm[] = {
    {"gemm", test_gemm, 0},
    {"syrk", test_syrk, 0},
    {"matmul_threads", test_matmul_threads, 0},
    {"syrk_threads", test_syrk_threads, 0},
    {"matmul_errors", test_matmul_errors, 0},
    {"gemm_big", test_gemm_big, 1},
    {"syrk_big", test_syrk_big, 1},
    {0},
};
