// tests/test_kern_spmv.c: the compressed-weight kernels (simd/spmv_*.c),
// the layouts (core/weight.c) and the compressed matmul
// (core/weight_matmul.c), against dense products, for every ISA.
//
// Exactness: with weights k/4 (k in +-1..4) and x small integers every
// product and every partial sum is exact in f32, so any correct kernel
// gives exactly the dense result whatever its summation order; a kernel
// that mishandles a mask bit, an index or a tail cannot pass.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/matmul.h"
#include "core/pool.h"
#include "core/weight.h"
#include "core/weight_matmul.h"
#include "tests/harness.h"

static const enum cpr_dtype dtypes[3] = {CPR_DTYPE_F32, CPR_DTYPE_BF16,
                                         CPR_DTYPE_F16};

// Patterns: bitmask densities, and 2:4-compatible fills.
enum pat { P_DENSITY, P_24, P_14, P_ZERO, P_LE2 };

// Fill dense f32 weights w (n, k) zeroed by pattern; `exact` picks
// exact-sum values.
static void make_w(struct cpr_rng *r, float *w, size_t n, size_t k,
                   enum pat p, double density, int exact) {
    for (size_t i = 0; i < n * k; i++) {
        float v = exact ? (float)((int)cpr_rng_below(r, 4) + 1) * 0.25f *
                              (cpr_rng_below(r, 2) ? 1.0f : -1.0f)
                        : (float)cpr_rng_normal(r);
        w[i] = v;
    }
    for (size_t row = 0; row < n; row++) {
        float *wr = w + row * k;
        for (size_t g = 0; g * 4 < k; g++) {
            size_t width = k - 4 * g < 4 ? k - 4 * g : 4;
            int keep[4] = {1, 1, 1, 1};
            switch (p) {
            case P_DENSITY:
                for (size_t i = 0; i < width; i++)
                    keep[i] = cpr_rng_uniform_f64(r) < density;
                break;
            case P_ZERO: keep[0] = keep[1] = keep[2] = keep[3] = 0; break;
            case P_14: case P_24: case P_LE2: {
                int want = p == P_14 ? 1 : p == P_24 ? 2
                                                     : (int)cpr_rng_below(r, 3);
                for (int i = 0; i < 4; i++) keep[i] = 0;
                for (int c = 0; c < want && c < (int)width;) {
                    size_t i = cpr_rng_below(r, width);
                    if (!keep[i]) keep[i] = 1, c++;
                }
                break;
            }
            }
            for (size_t i = 0; i < width; i++)
                if (!keep[i]) wr[4 * g + i] = 0.0f;
        }
    }
}

// Dense tensor of dtype dt holding w (converted exactly for exact values;
// rounded otherwise). buf receives the bytes.
static void to_dtype(const struct cpr_kernels *k0, enum cpr_dtype dt,
                     const float *w, size_t n, size_t kk, void *buf,
                     struct cpr_tensor *t) {
    int64_t shp[2] = {(int64_t)n, (int64_t)kk};
    if (dt == CPR_DTYPE_F32) memcpy(buf, w, n * kk * 4);
    else if (dt == CPR_DTYPE_BF16) k0->f32_to_bf16(n * kk, w, buf);
    else k0->f32_to_f16(n * kk, w, buf);
    cpr_tensor_wrap(t, dt, buf, 2, shp, 1);
}

// The ISA that filled slot `name` of table k.
static enum cpr_isa slot_isa(const struct cpr_kernels *k, const char *name) {
    for (size_t s = 0; cpr_kernel_slot_names[s]; s++)
        if (strcmp(cpr_kernel_slot_names[s], name) == 0) return k->slot_isa[s];
    return CPR_ISA_SCALAR;
}

static cpr_spmv_fn slot(const struct cpr_kernels *k, enum cpr_wlayout l,
                        enum cpr_dtype dt) {
    int bm = l == CPR_WLAYOUT_BITMASK;
    if (dt == CPR_DTYPE_F32) return bm ? k->spmv_bitmask_f32 : k->spmv_nm24_f32;
    if (dt == CPR_DTYPE_BF16) return bm ? k->spmv_bitmask_bf16 : k->spmv_nm24_bf16;
    return bm ? k->spmv_bitmask_f16 : k->spmv_nm24_f16;
}

// One case: every ISA's kernel vs the dense product of the zero-stored
// weights (exact values: equality; random values: tolerance against the
// dense gemm kernel of the same table).
static void run_case(struct cpr_test_ctx *t, struct cpr_kernels *tabs,
                     enum cpr_isa *isas, size_t nt, struct cpr_rng *r,
                     size_t n, size_t k, enum pat p, double density,
                     enum cpr_wlayout layout, enum cpr_dtype dt, int exact,
                     size_t mis) {
    float *w = malloc((n * k + 1) * sizeof(float));
    void *wb = malloc((n * k + 1) * 4);
    float *x = cpr_test_alloc_offset(k + 1, mis);
    float *wd = malloc((n * k + 1) * sizeof(float));
    float *y = malloc((n + 1) * sizeof(float));
    float *yd = malloc((n + 1) * sizeof(float));
    make_w(r, w, n, k, p, density, exact);
    for (size_t i = 0; i < k; i++)
        x[i] = exact ? (float)((int)cpr_rng_below(r, 17) - 8)
                     : (float)cpr_rng_normal(r);
    struct cpr_tensor dense, sp;
    to_dtype(&tabs[0], dt, w, n, k, wb, &dense);
    struct cpr_err err = {0};
    enum cpr_status s = cpr_sparse_compress(&dense, layout, "w", &sp, &err);
    CPR_CHECK(t, s == CPR_OK && sp.sparse, "compress %s n=%zu k=%zu: %s",
              cpr_wlayout_name(layout), n, k, err.msg);
    if (s != CPR_OK || !sp.sparse) goto out;
    // Round trip: bit-exact.
    struct cpr_tensor back;
    if (cpr_sparse_decompress(&sp, &back, &err) == CPR_OK) {
        CPR_CHECK(t, memcmp(back.data, wb, n * k * cpr_dtype_size(dt)) == 0,
                  "decompress %s %s n=%zu k=%zu not bit-exact",
                  cpr_wlayout_name(layout), cpr_dtype_name(dt), n, k);
        cpr_tensor_free(&back);
    }
    // The dense weights as the kernels see them (after dtype rounding).
    for (size_t i = 0; i < n; i++) cpr_tensor_row_f32(&dense, (int64_t)i, wd + i * k);
    for (size_t ti = 0; ti < nt; ti++) {
        const struct cpr_kernels *kt = &tabs[ti];
        const struct cpr_sparse *sv = sp.sparse;
        // Unpack: exact bit patterns, every element written (dst starts as
        // garbage), row stride past k.
        {
            size_t es = cpr_dtype_size(dt), ldd = k + 3;
            char *u = malloc(n * ldd * es + 1);
            memset(u, 0xAB, n * ldd * es + 1);
            int bm = layout == CPR_WLAYOUT_BITMASK, wide = es == 4;
            cpr_unpack_fn fn = bm ? (wide ? kt->unpack_bitmask_f32 : kt->unpack_bitmask_h16)
                                  : (wide ? kt->unpack_nm24_f32 : kt->unpack_nm24_h16);
            fn(n, k, sv->meta, (size_t)sv->meta_ld, sv->values, u, ldd);
            for (size_t i = 0; i < n; i++)
                CPR_CHECK(t, memcmp(u + i * ldd * es, (char *)wb + i * k * es,
                                    k * es) == 0,
                          "%s unpack %s %s n=%zu k=%zu row %zu differs",
                          cpr_isa_name(isas[ti]), cpr_wlayout_name(layout),
                          cpr_dtype_name(dt), n, k, i);
            free(u);
        }
        slot(kt, layout, dt)(n, k, sv->meta, (size_t)sv->meta_ld, sv->values,
                             x, 0.0f, y);
        // The dense kernel of the same table on the zero-stored weights.
        // AVX512BF16's bf16 gemm rounds x to bf16, and so do that table's
        // own bf16 spmv slots (simd/spmv_avx512bf16.c): a looser tolerance
        // against ref for both, and its bitmask kernel must equal the
        // dense m = 1 product bit for bit (k <= its 16384-column panel).
        int bf_x = dt == CPR_DTYPE_BF16 && isas[ti] == CPR_ISA_AVX512BF16;
        int bf_slot = bf_x && slot_isa(kt, layout == CPR_WLAYOUT_BITMASK
                                                ? "spmv_bitmask_bf16"
                                                : "spmv_nm24_bf16") == CPR_ISA_AVX512BF16;
        int same_bits = bf_slot && layout == CPR_WLAYOUT_BITMASK && k <= 16384;
        int cmp_dense = !bf_x || bf_slot;
        if (dt == CPR_DTYPE_F32)
            kt->gemm_f32(1, n, k, 1.0f, x, k, wd, k, 0.0f, yd, n);
        else if (dt == CPR_DTYPE_BF16)
            kt->gemm_bf16w(1, n, k, 1.0f, x, k, wb, k, 0.0f, yd, n);
        else
            kt->gemm_f16w(1, n, k, 1.0f, x, k, wb, k, 0.0f, yd, n);
        for (size_t i = 0; i < n; i++) {
            double ref = 0, mag = 0;
            for (size_t j = 0; j < k; j++) {
                ref += (double)wd[i * k + j] * x[j];
                mag += fabs((double)wd[i * k + j] * x[j]);
            }
            if (exact) {
                CPR_CHECK(t, y[i] == (float)ref,
                          "%s %s %s n=%zu k=%zu pat=%d dens=%.2f mis=%zu row "
                          "%zu: %.9g != exact %.9g", cpr_isa_name(isas[ti]),
                          cpr_wlayout_name(layout), cpr_dtype_name(dt), n, k,
                          (int)p, density, mis, i, y[i], ref);
            } else {
                double tol = 1e-5 + (bf_x ? 1.0 / 256 : 0.0) * mag +
                             4e-7 * (double)(k + 1) * mag;
                CPR_CHECK(t, fabs(y[i] - ref) <= tol &&
                                 (!cmp_dense || fabs(y[i] - yd[i]) <= 2 * tol),
                          "%s %s %s n=%zu k=%zu row %zu: %.9g vs %.9g (dense "
                          "kernel %.9g) tol %.3g", cpr_isa_name(isas[ti]),
                          cpr_wlayout_name(layout), cpr_dtype_name(dt), n, k,
                          i, y[i], ref, yd[i], tol);
            }
            if (same_bits)
                CPR_CHECK(t, memcmp(&y[i], &yd[i], sizeof(float)) == 0,
                          "%s bitmask bf16 n=%zu k=%zu row %zu: %.9g != dense "
                          "kernel %.9g (must be bit-identical)",
                          cpr_isa_name(isas[ti]), n, k, i, y[i], yd[i]);
        }
        // beta = 1 accumulates onto y.
        for (size_t i = 0; i < n; i++) yd[i] = y[i];
        slot(kt, layout, dt)(n, k, sv->meta, (size_t)sv->meta_ld, sv->values,
                             x, 1.0f, y);
        if (exact)
            for (size_t i = 0; i < n; i++)
                CPR_CHECK(t, y[i] == 2 * yd[i], "%s beta=1 row %zu: %g != %g",
                          cpr_isa_name(isas[ti]), i, y[i], 2 * yd[i]);
    }
    cpr_tensor_free(&sp);
out:
    free(w), free(wb), free(wd), free(y), free(yd);
    cpr_test_free_offset(x, mis);
}

static void test_spmv_exact(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 1601);
    static const double dens[] = {0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0};
    for (size_t si = 0; si < cpr_test_n_sizes; si++) {
        size_t k = cpr_test_sizes[si];
        size_t n = 1 + si % 5, mis = si % 7;
        for (int d = 0; d < 3; d++) {
            for (size_t di = 0; di < sizeof dens / sizeof dens[0]; di++)
                run_case(t, tabs, isas, nt, &r, n, k, P_DENSITY, dens[di],
                         CPR_WLAYOUT_BITMASK, dtypes[d], 1, mis);
            for (int p = P_24; p <= P_LE2; p++) {
                run_case(t, tabs, isas, nt, &r, n, k, (enum pat)p, 0,
                         CPR_WLAYOUT_NM24, dtypes[d], 1, mis);
                run_case(t, tabs, isas, nt, &r, n, k, (enum pat)p, 0,
                         CPR_WLAYOUT_BITMASK, dtypes[d], 1, mis);
            }
        }
    }
}

static void test_spmv_random(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 1602);
    static const size_t ks[] = {5, 64, 100, 4099};
    for (size_t i = 0; i < 4; i++)
        for (int d = 0; d < 3; d++) {
            run_case(t, tabs, isas, nt, &r, 7, ks[i], P_DENSITY, 0.5,
                     CPR_WLAYOUT_BITMASK, dtypes[d], 0, i);
            run_case(t, tabs, isas, nt, &r, 7, ks[i], P_24, 0,
                     CPR_WLAYOUT_NM24, dtypes[d], 0, i);
        }
    // More rows with 128-column steps and 32-column tails, random values:
    // where a kernel must be bit-identical to the dense product (AVX512BF16
    // bf16 bitmask) a different chain for a tail step shows in some row.
    for (size_t i = 0; i < 2; i++) {
        static const size_t kb[2] = {200, 4196};
        run_case(t, tabs, isas, nt, &r, 64, kb[i], P_DENSITY, 0.6,
                 CPR_WLAYOUT_BITMASK, CPR_DTYPE_BF16, 0, i);
        run_case(t, tabs, isas, nt, &r, 64, kb[i], P_24, 0,
                 CPR_WLAYOUT_NM24, CPR_DTYPE_BF16, 0, i);
    }
    // Rows longer than a kernel's x panel (simd/spmv_avx512bf16.c: 16384
    // columns) in more than one 64-row block, exact values.
    for (int d = 1; d < 3; d++)
        run_case(t, tabs, isas, nt, &r, 70, 16500, P_DENSITY, 0.3,
                 CPR_WLAYOUT_BITMASK, dtypes[d], 1, 3);
    // The same for 2:4 (its AVX512_BF16 kernel also goes panel by panel),
    // with a short last group.
    run_case(t, tabs, isas, nt, &r, 70, 16501, P_24, 0, CPR_WLAYOUT_NM24,
             CPR_DTYPE_BF16, 1, 5);
}

// Layout rules: -0 kept, misfit groups named, auto choices.
static void test_layout_rules(struct cpr_test_ctx *t) {
    float w[2 * 8] = {0, -0.0f, 1, 0, /**/ 1, 2, 0, 0,
                      3, 0, 0, 4, /**/ 5, 6, 7, 0};
    int64_t shp[2] = {2, 8};
    struct cpr_tensor dense, sp;
    cpr_tensor_wrap(&dense, CPR_DTYPE_F32, w, 2, shp, 1);
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_sparse_compress(&dense, CPR_WLAYOUT_NM24, "lin.w",
                                            &sp, &err),
                     CPR_ERR_FORMAT, &err, "lin.w: row 1 group 1");
    CPR_CHECK_STATUS(t, cpr_sparse_compress(&dense, CPR_WLAYOUT_BITMASK,
                                            "lin.w", &sp, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK(t, sp.sparse && sp.sparse->nnz == 9, "nnz %lld (the -0 counts)",
              sp.sparse ? (long long)sp.sparse->nnz : -1LL);
    struct cpr_tensor back;
    CPR_CHECK_STATUS(t, cpr_sparse_decompress(&sp, &back, &err), CPR_OK, &err,
                     NULL);
    CPR_CHECK(t, memcmp(back.data, w, sizeof w) == 0, "round trip");
    cpr_tensor_free(&back);
    // A compressed tensor refuses dense copies.
    CPR_CHECK_STATUS(t, cpr_tensor_copy_f32(&back, &sp, &err),
                     CPR_ERR_UNSUPPORTED, &err, "compressed");
    cpr_tensor_free(&sp);
    // auto: 2:4-compatible -> nm; fully dense -> stays dense (a view).
    float w24[8] = {1, 0, 2, 0, 0, 0, 3, 4};
    int64_t s24[2] = {1, 8};
    cpr_tensor_wrap(&dense, CPR_DTYPE_F32, w24, 2, s24, 1);
    CPR_CHECK_STATUS(t, cpr_sparse_compress(&dense, CPR_WLAYOUT_AUTO, "a", &sp,
                                            &err), CPR_OK, &err, NULL);
    CPR_CHECK(t, sp.sparse && sp.sparse->layout == CPR_WLAYOUT_NM24, "auto nm");
    cpr_tensor_free(&sp);
    float wd[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    cpr_tensor_wrap(&dense, CPR_DTYPE_F32, wd, 2, s24, 1);
    CPR_CHECK_STATUS(t, cpr_sparse_compress(&dense, CPR_WLAYOUT_AUTO, "d", &sp,
                                            &err), CPR_OK, &err, NULL);
    CPR_CHECK(t, !sp.sparse && sp.data == wd && !sp.owns_data, "auto dense");
    // Views check the bytes they are given.
    uint8_t meta[1] = {0x83}; // bits 0, 1, 7 of 7 columns: bit 7 is past
    float vals[3 + CPR_SPARSE_PAD] = {0};
    struct cpr_sparse *v = NULL;
    CPR_CHECK_STATUS(t, cpr_sparse_view(CPR_WLAYOUT_BITMASK, CPR_DTYPE_F32, 1,
                                        7, vals, 3 + CPR_SPARSE_PAD, meta, 1,
                                        "t", &v, &err),
                     CPR_ERR_FORMAT, &err, "past column 7");
    meta[0] = 0x03;
    CPR_CHECK_STATUS(t, cpr_sparse_view(CPR_WLAYOUT_BITMASK, CPR_DTYPE_F32, 1,
                                        7, vals, 3 + CPR_SPARSE_PAD, meta, 1,
                                        "t", &v, &err),
                     CPR_ERR_FORMAT, &err, "meta implies 2");
    uint8_t idx[1] = {0x01 | (0x01 << 2)}; // group 0 indices (1, 1)
    CPR_CHECK_STATUS(t, cpr_sparse_view(CPR_WLAYOUT_NM24, CPR_DTYPE_F32, 1, 4,
                                        vals, 2 + CPR_SPARSE_PAD, idx, 1, "t",
                                        &v, &err),
                     CPR_ERR_FORMAT, &err, "row 0 group 0");
    cpr_sparse_free(v);
}

// cpr_matmul on compressed weights: decode path within tolerance of the
// dense product, prefill path bit-identical to it, any thread count.
static void test_sparse_matmul(struct cpr_test_ctx *t) {
    struct cpr_pool *pool3 = NULL;
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_pool_init(&pool3, 3, &err), CPR_OK, &err, NULL);
    struct cpr_rng r;
    cpr_rng_seed(&r, 1603);
    const struct cpr_kernels *k = cpr_kernels_get();
    size_t n = 333, kd = 257, ms[3] = {1, 3, 37};
    float *w = malloc(n * kd * sizeof(float));
    uint16_t *wb = malloc(n * kd * sizeof(uint16_t));
    float *x = malloc(37 * kd * sizeof(float));
    float *yd = malloc(37 * n * sizeof(float)), *y1 = malloc(37 * n * sizeof(float));
    float *y3 = malloc(37 * n * sizeof(float));
    cpr_test_fill_normal(&r, x, 37 * kd, 1.0f);
    for (int li = 0; li < 2; li++) {
        enum cpr_wlayout l = li ? CPR_WLAYOUT_NM24 : CPR_WLAYOUT_BITMASK;
        make_w(&r, w, n, kd, li ? P_24 : P_DENSITY, 0.3, 0);
        k->f32_to_bf16(n * kd, w, wb);
        int64_t shp[2] = {(int64_t)n, (int64_t)kd};
        struct cpr_tensor dense, sp;
        cpr_tensor_wrap(&dense, CPR_DTYPE_BF16, wb, 2, shp, 1);
        CPR_CHECK_STATUS(t, cpr_sparse_compress(&dense, l, "w", &sp, &err),
                         CPR_OK, &err, NULL);
        for (int mi = 0; mi < 3; mi++) {
            size_t m = ms[mi];
            cpr_matmul(NULL, k, m, x, kd, &dense, yd, n, 0.0f, &err);
            CPR_CHECK_STATUS(t, cpr_matmul(NULL, k, m, x, kd, &sp, y1, n, 0.0f,
                                           &err), CPR_OK, &err, NULL);
            CPR_CHECK_STATUS(t, cpr_matmul(pool3, k, m, x, kd, &sp, y3, n,
                                           0.0f, &err), CPR_OK, &err, NULL);
            CPR_CHECK(t, memcmp(y1, y3, m * n * sizeof(float)) == 0,
                      "%s m=%zu: 1 vs 3 threads differ", cpr_wlayout_name(l), m);
            // Decode: |y - y_dense| <= 2^-7 sum|w x| (AVX512BF16's dense
            // bf16 kernel rounds x to bf16; the others agree far closer).
            size_t bad = 0;
            for (size_t i = 0; i < m; i++)
                for (size_t c = 0; c < n; c++) {
                    double mag = 0;
                    for (size_t j = 0; j < kd; j++)
                        mag += fabs((double)w[c * kd + j] * x[i * kd + j]);
                    double d = fabs((double)y1[i * n + c] - yd[i * n + c]);
                    if (d > 1e-5 + mag / 128) bad++;
                }
            if (m > CPR_SPARSE_GEMV_M)
                CPR_CHECK(t, memcmp(y1, yd, m * n * sizeof(float)) == 0,
                          "%s m=%zu: prefill not bit-identical to dense",
                          cpr_wlayout_name(l), m);
            else
                CPR_CHECK(t, bad == 0, "%s m=%zu: %zu outputs off the dense "
                          "product", cpr_wlayout_name(l), m, bad);
        }
        cpr_tensor_free(&sp);
    }
    free(w), free(wb), free(x), free(yd), free(y1), free(y3);
    cpr_pool_free(pool3);
}

const struct cpr_test cpr_tests_kern_spmv[] = {
    {"spmv_exact", test_spmv_exact, 0},
    {"spmv_random", test_spmv_random, 0},
    {"layout_rules", test_layout_rules, 0},
    {"sparse_matmul", test_sparse_matmul, 0},
    {0},
};
