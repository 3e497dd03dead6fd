// tests/test_kern_spgemm.c: the prefill kernels for compressed weights
// (spgemm slots: the GEMM driver's decompressing pack-B, simd/gemm_driver.c,
// and the scalar reference), against the dense gemm slot of the same table
// on the zero-stored weights: bit-identical, for every ISA, every dtype,
// layout, density and pattern, sizes that cross the micro-tile (MR, NR) and
// cache-block (KC, NC, MC) edges, misaligned x and y, beta 0 and 1, and a
// split of the rows (as core/weight_matmul.c splits threads).
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/weight.h"
#include "tests/harness.h"

enum pat { P_DENSITY, P_24, P_LE2 };

// Dense f32 weights w (n, k), normal values, zeroed by pattern; 1 in 9
// kept weights is a -0 (kept by the layouts: must unpack as -0).
static void make_w(struct cpr_rng *r, float *w, size_t n, size_t k,
                   enum pat p, double density) {
    for (size_t row = 0; row < n; row++)
        for (size_t g = 0; g * 4 < k; g++) {
            size_t width = k - 4 * g < 4 ? k - 4 * g : 4;
            int keep[4] = {0, 0, 0, 0};
            if (p == P_DENSITY) {
                for (size_t i = 0; i < width; i++)
                    keep[i] = cpr_rng_uniform_f64(r) < density;
            } else {
                int want = p == P_24 ? 2 : (int)cpr_rng_below(r, 3);
                for (int c = 0; c < want && c < (int)width;) {
                    size_t i = cpr_rng_below(r, width);
                    if (!keep[i]) keep[i] = 1, c++;
                }
            }
            for (size_t i = 0; i < width; i++) {
                float v = (float)cpr_rng_normal(r);
                if (cpr_rng_below(r, 9) == 0) v = -0.0f;
                w[row * k + 4 * g + i] = keep[i] ? v : 0.0f;
            }
        }
}

static void dense_gemm(const struct cpr_kernels *kt, enum cpr_dtype dt,
                       size_t m, size_t n, size_t k, const float *x,
                       size_t ldx, const void *wb, float beta, float *y,
                       size_t ldy) {
    if (dt == CPR_DTYPE_F32)
        kt->gemm_f32(m, n, k, 1.0f, x, ldx, wb, k, beta, y, ldy);
    else if (dt == CPR_DTYPE_BF16)
        kt->gemm_bf16w(m, n, k, 1.0f, x, ldx, wb, k, beta, y, ldy);
    else
        kt->gemm_f16w(m, n, k, 1.0f, x, ldx, wb, k, beta, y, ldy);
}

// Rows [r0, r1) of the compressed s as the spgemm slots take them.
static struct cpr_spw spw_of(const struct cpr_kernels *kt,
                             const struct cpr_sparse *s, size_t r0) {
    int bm = s->layout == CPR_WLAYOUT_BITMASK, wide = s->dtype == CPR_DTYPE_F32;
    struct cpr_spw w = {
        .nm24 = !bm, .meta = s->meta + r0 * (size_t)s->meta_ld,
        .ldm = (size_t)s->meta_ld, .vals = s->values, .row_off = s->row_off + r0,
        .unpack = bm ? (wide ? kt->unpack_bitmask_f32 : kt->unpack_bitmask_h16)
                     : (wide ? kt->unpack_nm24_f32 : kt->unpack_nm24_h16)};
    return w;
}

static cpr_spgemm_fn spgemm_slot(const struct cpr_kernels *kt,
                                 enum cpr_dtype dt) {
    return dt == CPR_DTYPE_F32 ? kt->spgemm_f32
           : dt == CPR_DTYPE_BF16 ? kt->spgemm_bf16 : kt->spgemm_f16;
}

static void run_case(struct cpr_test_ctx *t, const struct cpr_kernels *tabs,
                     const enum cpr_isa *isas, size_t nt, struct cpr_rng *r,
                     size_t m, size_t n, size_t k, enum pat p, double density,
                     enum cpr_wlayout layout, enum cpr_dtype dt, size_t mis) {
    size_t ldy = n + 3;
    float *w = malloc((n * k + 1) * sizeof(float));
    void *wb = malloc((n * k + 1) * 4);
    float *x = cpr_test_alloc_offset(m * k + 1, mis);
    float *yd = cpr_test_alloc_offset(m * ldy + 1, (mis + 3) % 16);
    float *ys = cpr_test_alloc_offset(m * ldy + 1, (mis + 5) % 16);
    make_w(r, w, n, k, p, density);
    cpr_test_fill_normal(r, x, m * k, 1.0f);
    int64_t shp[2] = {(int64_t)n, (int64_t)k};
    if (dt == CPR_DTYPE_F32) memcpy(wb, w, n * k * 4);
    else if (dt == CPR_DTYPE_BF16) tabs[0].f32_to_bf16(n * k, w, wb);
    else tabs[0].f32_to_f16(n * k, w, wb);
    struct cpr_tensor dense, sp;
    cpr_tensor_wrap(&dense, dt, wb, 2, shp, 1);
    struct cpr_err err = {0};
    enum cpr_status s = cpr_sparse_compress(&dense, layout, "w", &sp, &err);
    if (s == CPR_OK && !sp.sparse) goto out; // nothing to save: stays dense
    CPR_CHECK(t, s == CPR_OK, "compress: %s", err.msg);
    if (s != CPR_OK) goto out;
    for (size_t ti = 0; ti < nt; ti++) {
        const struct cpr_kernels *kt = &tabs[ti];
        for (int bi = 0; bi < 2; bi++) {
            float beta = bi ? 1.0f : 0.0f;
            for (size_t i = 0; i < m * ldy; i++)
                yd[i] = ys[i] = bi ? (float)(i % 7) - 3.0f : 1e30f;
            dense_gemm(kt, dt, m, n, k, x, k, wb, beta, yd, ldy);
            // rows split in two at h (a multiple of 8 when n allows)
            size_t h = n / 2 / 8 * 8;
            struct cpr_spw w0 = spw_of(kt, sp.sparse, 0);
            struct cpr_spw w1 = spw_of(kt, sp.sparse, h);
            spgemm_slot(kt, dt)(m, h, k, 1.0f, x, k, &w0, beta, ys, ldy);
            spgemm_slot(kt, dt)(m, n - h, k, 1.0f, x, k, &w1, beta, ys + h, ldy);
            size_t bad = 0, first = 0;
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < n; j++)
                    if (memcmp(&yd[i * ldy + j], &ys[i * ldy + j], 4) != 0)
                        if (bad++ == 0) first = i * ldy + j;
            CPR_CHECK(t, bad == 0,
                      "%s spgemm %s %s m=%zu n=%zu k=%zu pat=%d dens=%.2f "
                      "beta=%g: %zu outputs differ from dense, first at %zu: "
                      "%.9g vs %.9g", cpr_isa_name(isas[ti]),
                      cpr_wlayout_name(layout), cpr_dtype_name(dt), m, n, k,
                      (int)p, density, beta, bad, first, ys[first], yd[first]);
            // untouched padding columns
            for (size_t i = 0; i < m; i++)
                for (size_t j = n; j < ldy; j++)
                    if (ys[i * ldy + j] != (bi ? (float)((i * ldy + j) % 7) - 3.0f
                                               : 1e30f))
                        bad++;
            CPR_CHECK(t, bad == 0, "%s spgemm wrote past n",
                      cpr_isa_name(isas[ti]));
        }
    }
    cpr_tensor_free(&sp);
out:
    free(w), free(wb);
    cpr_test_free_offset(x, mis);
    cpr_test_free_offset(yd, (mis + 3) % 16);
    cpr_test_free_offset(ys, (mis + 5) % 16);
}

static void test_spgemm_vs_dense(struct cpr_test_ctx *t) {
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = cpr_test_tables(tabs, isas);
    struct cpr_rng r;
    cpr_rng_seed(&r, 1604);
    static const enum cpr_dtype dts[3] = {CPR_DTYPE_F32, CPR_DTYPE_BF16,
                                          CPR_DTYPE_F16};
    static const double dens[] = {0.0, 0.1, 0.5, 0.7, 1.0};
    // (m, n, k): micro-tile edges, k across KC (192, 256, 384) blocks,
    // n across NC (256, 512), m across MC (112, 120); n and k across both
    // (simd/gemm_driver.c's memo of row offsets between k blocks)
    static const size_t shapes[][3] = {
        {5, 1, 1},    {6, 17, 7},    {7, 33, 13},  {14, 31, 64},
        {15, 65, 200}, {9, 40, 385}, {17, 520, 33}, {125, 37, 777},
        {5, 530, 400},
    };
    size_t ns = sizeof shapes / sizeof shapes[0];
    for (size_t si = 0; si < ns; si++)
        for (int d = 0; d < 3; d++) {
            size_t m = shapes[si][0], n = shapes[si][1], k = shapes[si][2];
            size_t mis = (si + (size_t)d) % 16;
            int big = m * n * k > 200000;
            for (size_t di = 0; di < sizeof dens / sizeof dens[0]; di++)
                if (!big || di == 2)
                    run_case(t, tabs, isas, nt, &r, m, n, k, P_DENSITY,
                             dens[di], CPR_WLAYOUT_BITMASK, dts[d], mis);
            run_case(t, tabs, isas, nt, &r, m, n, k, P_24, 0, CPR_WLAYOUT_NM24,
                     dts[d], mis);
            run_case(t, tabs, isas, nt, &r, m, n, k, P_LE2, 0,
                     CPR_WLAYOUT_NM24, dts[d], mis);
            if (!big)
                run_case(t, tabs, isas, nt, &r, m, n, k, P_24, 0,
                         CPR_WLAYOUT_BITMASK, dts[d], mis);
        }
}

const struct cpr_test cpr_tests_kern_spgemm[] = {
    {"spgemm_vs_dense", test_spgemm_vs_dense, 0},
    {0},
};
