// tests/test_kern_gemm_driver.c: the portable GEMM driver (simd/gemm_driver.h)
// with pluggable operands, against a double-precision reference computed
// here.
//
// A test-local micro-kernel (plain C over the driver's f32 panel format)
// and tiny blocks (MR 3, NR 4, MC 7, NC 10, KC 5) make every edge case of
// the driver occur on small shapes: partial micro-tiles, several MC / NC /
// KC blocks, k not a multiple of KC. Operands: A as x (m, k) rows or given
// transposed as (k, m); B as W (n, k) in f32 or bf16, as W given (k, n),
// and as a compressed sparse W (a CSR format defined here whose pack
// routine decompresses a tile), the case the opaque-source contract is for.
// Each shape m, n, k in {1, 2, 3, 17, 65, 129} (plus k = 0) runs with
// misaligned pointers and padded leading dimensions; beta = 0 over a NaN
// C; C outside the computed range must stay untouched; and a sub-range
// call [m0, m1) x [n0, n1) must give bit-identical elements to the full
// call (the determinism contract core/matmul.h relies on).
// The ISA micro-kernels and pack routines are covered through the kernel
// slots by tests/test_kern_gemm.c (gemm = rows A and (n, k) B, syrk =
// transposed A and (k, n) B).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simd/gemm_driver.h"
#include "simd/kernels.h"
#include "tests/harness.h"

#define DRV_ATOL 1e-6
#define DRV_RTOL 1e-5
#define DRV_RTOL_K 6e-8

enum { T_MR = 3, T_NR = 4, T_MC = 7, T_NC = 10, T_KC = 5, T_ALD = T_KC + 1 };

static const struct cpr_gemm_desc D = {
    .mr = T_MR, .nr = T_NR, .mc = T_MC, .nc = T_NC, .kc = T_KC,
    .b_panel_bytes = T_KC * T_NR * sizeof(float), .a_ld = T_ALD};

// ---- a plain-C micro-kernel over the f32 panel formats ----

static void ukr_generic(size_t ars, size_t aps, size_t mr, size_t nr,
                        size_t kc, const float *a, const float *b, float *c,
                        size_t ldc, float alpha, float beta, int wonly) {
    for (size_t r = 0; r < mr; r++)
        for (size_t l = 0; l < nr; l++) {
            float acc = 0.0f;
            for (size_t p = 0; p < kc; p++) acc += a[r * ars + p * aps] * b[p * T_NR + l];
            float *o = c + r * ldc + l;
            *o = wonly ? alpha * acc : alpha * acc + beta * *o;
        }
}

static void ukr_rows(size_t mr, size_t nr, size_t kc, const void *a,
                     const void *b, float *c, size_t ldc, float alpha,
                     float beta, int wonly) {
    ukr_generic(T_ALD, 1, mr, nr, kc, a, b, c, ldc, alpha, beta, wonly);
}

static void ukr_kmajor(size_t mr, size_t nr, size_t kc, const void *a,
                       const void *b, float *c, size_t ldc, float alpha,
                       float beta, int wonly) {
    ukr_generic(1, T_MR, mr, nr, kc, a, b, c, ldc, alpha, beta, wonly);
}

// ---- a compressed B: W (n, k) in CSR, decompressed tile by tile ----

struct csr {
    size_t n;
    size_t *row_ptr; // (n + 1)
    uint32_t *col;   // (nnz) increasing within a row
    float *val;      // (nnz)
};

static void pack_b_csr(const struct cpr_gemm_desc *d, const void *src,
                       size_t ld, size_t r0, size_t p0, size_t rows,
                       size_t kc, void *dst) {
    (void)ld;
    const struct csr *w = src;
    size_t panels = (rows + d->nr - 1) / d->nr;
    memset(dst, 0, panels * d->b_panel_bytes);
    for (size_t j = 0; j < rows; j++) {
        float *panel = (float *)((unsigned char *)dst + j / d->nr * d->b_panel_bytes);
        for (size_t e = w->row_ptr[r0 + j]; e < w->row_ptr[r0 + j + 1]; e++)
            if (w->col[e] >= p0 && w->col[e] < p0 + kc)
                panel[(w->col[e] - p0) * d->nr + j % d->nr] = w->val[e];
    }
}

// ---- the test ----

enum akind { A_ROWS, A_COLS, A_COUNT };
enum bkind { B_NK_F32, B_NK_BF16, B_KN_F32, B_CSR, B_COUNT };
static const char *const a_name[] = {"x(m,k)", "x^T(k,m)"};
static const char *const b_name[] = {"W(n,k) f32", "W(n,k) bf16", "W(k,n) f32", "W csr"};

// One shape, every A and B kind. wv holds the W (n, k) values the kernels
// see (rounded for bf16, sparsified for csr), the reference's input.
static void run_case(struct cpr_test_ctx *t, struct cpr_rng *r,
                     const struct cpr_kernels *ks, size_t m, size_t n,
                     size_t k, size_t idx, int *fails) {
    size_t ldc = n + 1 + idx % 2;
    size_t ma = idx % 5, mb = (idx + 1) % 4, mc = (idx + 2) % 3;
    size_t lda_r = k + 1 + idx % 3, lda_c = m + 2; // A as (m, k) / (k, m)
    size_t ldb_nk = k + 2, ldb_kn = n + 3;          // B as (n, k) / (k, n)
    float *xr = cpr_test_alloc_offset(m * lda_r + 1, ma);
    float *xc = cpr_test_alloc_offset(k * lda_c + 1, ma);
    float *wnk = cpr_test_alloc_offset(n * ldb_nk + 1, mb);
    float *wkn = cpr_test_alloc_offset(k * ldb_kn + 1, mb);
    uint16_t *w16 = malloc((n * ldb_nk + 2) * sizeof(uint16_t));
    float *wv = malloc((n * k + 1) * sizeof(float)); // W values seen, (n, k)
    float *c0 = malloc((m * ldc + 1) * sizeof(float));
    float *c = cpr_test_alloc_offset(m * ldc + 1, mc);
    float *cf = malloc((m * ldc + 1) * sizeof(float));
    double *ref = malloc((m * n + 1) * sizeof(double));
    double *mag = malloc((m * n + 1) * sizeof(double));
    struct csr sp = {n, malloc((n + 1) * sizeof(size_t)),
                     malloc((n * k + 1) * sizeof(uint32_t)), malloc((n * k + 1) * sizeof(float))};
    cpr_test_fill_normal(r, xr, m * lda_r, 1.0f);
    for (size_t i = 0; i < m; i++)
        for (size_t p = 0; p < k; p++) xc[p * lda_c + i] = xr[i * lda_r + p];
    cpr_test_fill_normal(r, wnk, n * ldb_nk, 0.5f);
    for (size_t bk = 0; bk < B_COUNT; bk++) {
        // the values B is made of, and the operand's storage
        sp.row_ptr[0] = 0;
        for (size_t j = 0; j < n; j++) {
            size_t e = sp.row_ptr[j];
            for (size_t p = 0; p < k; p++) {
                float v = wnk[j * ldb_nk + p];
                if (bk == B_CSR) {
                    if ((j * 7 + p * 3) % 5 < 2) v = 0.0f; // 40% zeros
                    else {
                        sp.col[e] = (uint32_t)p;
                        sp.val[e++] = v;
                    }
                }
                wv[j * k + p] = v;
                wkn[p * ldb_kn + j] = v;
            }
            sp.row_ptr[j + 1] = e;
        }
        if (bk == B_NK_BF16) {
            ks->f32_to_bf16(n * ldb_nk, wnk, w16);
            for (size_t j = 0; j < n; j++)
                for (size_t p = 0; p < k; p++) ks->bf16_to_f32(1, &w16[j * ldb_nk + p], &wv[j * k + p]);
        }
        struct cpr_gemm_b b = {wnk, ldb_nk, cpr_gemm_pack_b_nk_f32, cpr_gemm_prefetch_rows_f32};
        if (bk == B_NK_BF16) b = (struct cpr_gemm_b){w16, ldb_nk, cpr_gemm_pack_b_nk_bf16,
                                                     cpr_gemm_prefetch_rows_h16};
        if (bk == B_KN_F32) b = (struct cpr_gemm_b){wkn, ldb_kn, cpr_gemm_pack_b_kn_f32, NULL};
        if (bk == B_CSR) b = (struct cpr_gemm_b){&sp, 0, pack_b_csr, NULL};
        for (size_t ak = 0; ak < A_COUNT; ak++) {
            struct cpr_gemm_a a = {xr, lda_r, cpr_gemm_pack_a_rows_f32, ukr_rows,
                                   T_ALD * sizeof(float), cpr_gemm_prefetch_rows_f32};
            if (ak == A_COLS)
                a = (struct cpr_gemm_a){xc, lda_c, cpr_gemm_pack_a_cols_f32, ukr_kmajor,
                                        T_KC * sizeof(float), NULL};
            float alpha = (idx + ak) % 2 ? -2.0f : 1.0f;
            float beta = (idx + bk) % 2 ? 0.5f : 0.0f;
            if (beta == 0.0f)
                for (size_t i = 0; i < m * ldc; i++) c0[i] = NAN;
            else
                cpr_test_fill_normal(r, c0, m * ldc, 1.0f);
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < n; j++) {
                    double acc = 0, am = 0;
                    for (size_t p = 0; p < k; p++) {
                        double pr = (double)xr[i * lda_r + p] * wv[j * k + p];
                        acc += pr;
                        am += fabs(pr);
                    }
                    double yb = beta == 0.0f ? 0.0 : (double)beta * c0[i * ldc + j];
                    ref[i * n + j] = alpha * acc + yb;
                    mag[i * n + j] = fabs(alpha) * am + fabs(yb);
                }
            memcpy(c, c0, m * ldc * sizeof(float));
            cpr_gemm_drive(&D, &a, &b, 0, m, 0, n, k, alpha, beta, c, ldc);
            double rtol = DRV_RTOL + (double)k * DRV_RTOL_K;
            int bad = 0;
            for (size_t i = 0; i < m; i++) {
                for (size_t j = 0; j < n; j++) {
                    double got = c[i * ldc + j], want = ref[i * n + j];
                    if (!isfinite(got) || fabs(got - want) > DRV_ATOL + rtol * mag[i * n + j]) {
                        if (bad++ < 2)
                            CPR_CHECK(t, 0, "A %s, B %s, m=%zu n=%zu k=%zu: C[%zu][%zu] = %.9g want %.9g",
                                      a_name[ak], b_name[bk], m, n, k, i, j, got, want);
                    }
                }
                for (size_t j = n; j < ldc; j++)
                    bad += memcmp(&c[i * ldc + j], &c0[i * ldc + j], sizeof(float)) != 0;
            }
            CPR_CHECK(t, bad == 0, "A %s, B %s, m=%zu n=%zu k=%zu: %d bad elements (or padding written)",
                      a_name[ak], b_name[bk], m, n, k, bad);
            *fails += bad != 0;
            // an interior sub-range: bit-identical inside, untouched outside
            size_t m0 = m / 3, m1 = m - m / 4, n0 = n / 4, n1 = n - n / 3;
            memcpy(cf, c, m * ldc * sizeof(float));
            memcpy(c, c0, m * ldc * sizeof(float));
            cpr_gemm_drive(&D, &a, &b, m0, m1, n0, n1, k, alpha, beta, c, ldc);
            int same = 1;
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < ldc; j++) {
                    int in = i >= m0 && i < m1 && j >= n0 && j < n1;
                    same &= memcmp(&c[i * ldc + j], in ? &cf[i * ldc + j] : &c0[i * ldc + j],
                                   sizeof(float)) == 0;
                }
            CPR_CHECK(t, same, "A %s, B %s, m=%zu n=%zu k=%zu: rows [%zu,%zu) cols [%zu,%zu) "
                      "not bit-identical to the full call (or wrote outside)",
                      a_name[ak], b_name[bk], m, n, k, m0, m1, n0, n1);
            *fails += !same;
        }
    }
    cpr_test_free_offset(xr, ma);
    cpr_test_free_offset(xc, ma);
    cpr_test_free_offset(wnk, mb);
    cpr_test_free_offset(wkn, mb);
    cpr_test_free_offset(c, mc);
    free(w16);
    free(wv);
    free(c0);
    free(cf);
    free(ref);
    free(mag);
    free(sp.row_ptr);
    free(sp.col);
    free(sp.val);
}

static void test_driver_operands(struct cpr_test_ctx *t) {
    struct cpr_kernels ks;
    cpr_kernels_build(&ks, CPR_ISA_SCALAR); // only the converters are used
    struct cpr_rng r;
    cpr_rng_seed(&r, 21);
    static const size_t S[] = {1, 2, 3, 17, 65, 129};
    size_t ns = sizeof S / sizeof S[0], idx = 0;
    int fails = 0;
    for (size_t a = 0; a < ns && fails < 4; a++)
        for (size_t b = 0; b < ns && fails < 4; b++)
            for (size_t c = 0; c < ns && fails < 4; c++, idx++)
                run_case(t, &r, &ks, S[a], S[b], S[c], idx, &fails);
    run_case(t, &r, &ks, 5, 6, 0, idx, &fails); // k = 0: C = beta*C
}

const struct cpr_test cpr_tests_kern_gemm_driver[] = {
    {"operands", test_driver_operands, 0},
    {0},
};
