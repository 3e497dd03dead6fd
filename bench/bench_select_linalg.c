// bench/bench_select_linalg.c: the select family (row top-k, N:M masks)
// per ISA, and the blocked Cholesky of core/linalg.c against the f32 GEMM
// measured in the same run.
//
// Rows reported (bench/results/select_linalg.json):
//   stream_read         measured read bandwidth, 1 and 2 threads
//   select_smallest_f32 4096 x 11008 scores, k = 50% of each row, rows split
//                       over 2 threads; GB/s counts the scores read (4 B)
//                       plus the mask written (1 B) per element; ratio vs
//                       scalar; the note gives the fraction of the 2-thread
//                       stream bandwidth (target >= 50%)
//   nm_mask_f32         the same matrix, 2:4 and 4:8, 2 threads
//   cpr_cholesky        4096 x 4096 SPD, 2 threads, n^3/3 flops; ratio =
//                       Cholesky GFLOP/s / GEMM GFLOP/s (target >= 50%)
//   gemm_f32            the GEMM slot of the best table, M=1024 N=4096
//                       K=4096 (M=64 if that slot is the scalar reference),
//                       split over 2 threads by N (rows of W)
// usage: bench_select_linalg [seconds-per-measurement] (default 0.3)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "core/linalg.h"
#include "core/rng.h"
#include "simd/kernels.h"

enum { ROWS = 4096, COLS = 11008, CH_N = 4096, GM = 1024, GN = 4096, GK = 4096 };

struct sel_ctx {
    const struct cpr_kernels *k;
    struct cpr_pool *pool;
    const float *score;
    uint8_t *mask;
    uint32_t *scratch; // COLS per thread
    unsigned np, m;    // N:M pattern (m == 0: top-k)
};

static void sel_rows(void *vctx, size_t ith, size_t nth) {
    const struct sel_ctx *c = vctx;
    size_t r0, r1;
    cpr_pool_split(ROWS, ith, nth, 1, &r0, &r1);
    for (size_t r = r0; r < r1; r++) {
        const float *s = c->score + r * COLS;
        uint8_t *m = c->mask + r * COLS;
        if (c->m) c->k->nm_mask_f32(COLS, c->np, c->m, s, m);
        else c->k->select_smallest_f32(COLS, COLS / 2, s, m, c->scratch + ith * COLS);
    }
}

static void sel_run(void *vctx) {
    struct sel_ctx *c = vctx;
    cpr_pool_run(c->pool, sel_rows, c);
}

struct gemm_ctx {
    const struct cpr_kernels *k;
    size_t m; // GM, or 64 when only the slow scalar GEMM exists
    struct cpr_pool *pool;
    const float *x, *w;
    float *y;
};

static void gemm_part(void *vctx, size_t ith, size_t nth) {
    const struct gemm_ctx *c = vctx;
    size_t n0, n1;
    cpr_pool_split(GN, ith, nth, 64, &n0, &n1);
    if (n1 > n0)
        c->k->gemm_f32(c->m, n1 - n0, GK, 1.0f, c->x, GK, c->w + n0 * GK, GK, 0.0f,
                       c->y + n0, GN);
}

static void gemm_run(void *vctx) {
    struct gemm_ctx *c = vctx;
    cpr_pool_run(c->pool, gemm_part, c);
}

int main(int argc, char **argv) {
    double min_s = argc > 1 ? atof(argv[1]) : 0.3;
    if (!(min_s > 0)) min_s = 0.3;
    struct cpr_err err;
    struct cpr_pool *pool = NULL;
    if (cpr_pool_init(&pool, 2, &err) != CPR_OK) {
        fprintf(stderr, "bench_select_linalg: %s\n", err.msg);
        return 1;
    }
    struct cpr_kernels tabs[CPR_ISA_COUNT];
    enum cpr_isa isas[CPR_ISA_COUNT];
    size_t nt = 0;
    for (int lv = 0; lv < CPR_ISA_COUNT; lv++)
        if (cpr_isa_best((enum cpr_isa)lv) == (enum cpr_isa)lv)
            isas[nt] = cpr_kernels_build(&tabs[nt], (enum cpr_isa)lv), nt++;
    size_t sel_slot = 0, nm_slot = 0, gemm_slot = 0;
    for (size_t s = 0; cpr_kernel_slot_names[s]; s++) {
        if (!strcmp(cpr_kernel_slot_names[s], "select_smallest_f32")) sel_slot = s;
        if (!strcmp(cpr_kernel_slot_names[s], "nm_mask_f32")) nm_slot = s;
        if (!strcmp(cpr_kernel_slot_names[s], "gemm_f32")) gemm_slot = s;
    }

    struct cpr_bench_report rep;
    cpr_bench_report_open(&rep, "select_linalg", 2);
    char note[160], shape[64];

    double bw1 = cpr_bench_stream_gbps(NULL), bw2 = cpr_bench_stream_gbps(pool);
    cpr_bench_row(&rep, "stream_read", "-", "1 GiB", 1, -1, -1, bw1, -1, "sum of a 1 GiB buffer");
    cpr_bench_row(&rep, "stream_read", "-", "1 GiB", 2, -1, -1, bw2, -1, "sum of a 1 GiB buffer");

    // ---- select ----
    size_t elems = (size_t)ROWS * COLS;
    float *score = aligned_alloc(64, elems * sizeof(float));
    uint8_t *mask = aligned_alloc(64, elems);
    uint32_t *scratch = malloc(2 * COLS * sizeof(uint32_t));
    if (!score || !mask || !scratch) {
        fprintf(stderr, "bench_select_linalg: out of memory\n");
        return 1;
    }
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 5);
    for (size_t i = 0; i < elems; i++) // |W| * s-like scores: positive, spread
        score[i] = (float)fabs(0.02 * cpr_rng_normal(&rng)) * (1.0f + (float)(i % COLS) / COLS);
    struct sel_ctx sc = {.pool = pool, .score = score, .mask = mask, .scratch = scratch};
    snprintf(shape, sizeof shape, "%dx%d k=%d", ROWS, COLS, COLS / 2);
    double t_scalar = -1;
    for (size_t ti = 0; ti < nt; ti++) {
        if (ti > 0 && tabs[ti].slot_isa[sel_slot] != isas[ti]) continue;
        sc.k = &tabs[ti];
        sc.m = 0;
        double t = cpr_bench_time(sel_run, &sc, min_s, 2);
        if (ti == 0) t_scalar = t;
        double gbps = (double)elems * 5 / t * 1e-9;
        snprintf(note, sizeof note, "%.0f%% of 2-thread stream (%.1f GB/s); ratio vs scalar",
                 100 * gbps / bw2, bw2);
        cpr_bench_row(&rep, "select_smallest_f32", cpr_isa_name(isas[ti]), shape, 2, t, -1, gbps,
                      t_scalar / t, note);
    }
    static const unsigned pats[][2] = {{2, 4}, {4, 8}};
    for (size_t p = 0; p < 2; p++) {
        snprintf(shape, sizeof shape, "%dx%d %u:%u", ROWS, COLS, pats[p][0], pats[p][1]);
        t_scalar = -1;
        for (size_t ti = 0; ti < nt; ti++) {
            if (ti > 0 && tabs[ti].slot_isa[nm_slot] != isas[ti]) continue;
            sc.k = &tabs[ti];
            sc.np = pats[p][0];
            sc.m = pats[p][1];
            double t = cpr_bench_time(sel_run, &sc, min_s, 2);
            if (ti == 0) t_scalar = t;
            double gbps = (double)elems * 5 / t * 1e-9;
            snprintf(note, sizeof note, "%.0f%% of 2-thread stream; ratio vs scalar", 100 * gbps / bw2);
            cpr_bench_row(&rep, "nm_mask_f32", cpr_isa_name(isas[ti]), shape, 2, t, -1, gbps,
                          t_scalar / t, note);
        }
    }
    free(mask);
    free(scratch);

    // ---- GEMM reference and Cholesky, best table ----
    const struct cpr_kernels *kb = &tabs[nt - 1];
    const char *gemm_isa = cpr_isa_name(kb->slot_isa[gemm_slot]);
    int gemm_scalar = kb->slot_isa[gemm_slot] == CPR_ISA_SCALAR;
    // score doubles as GEMM input (45M floats >= 1024*4096 + 4096*4096 + ...)
    float *gy = malloc((size_t)GM * GN * sizeof(float));
    struct gemm_ctx gc = {.k = kb, .pool = pool, .m = gemm_scalar ? 64 : GM, .x = score,
                          .w = score + (size_t)GM * GK, .y = gy};
    double tg = cpr_bench_time(gemm_run, &gc, min_s, 2);
    double gemm_gf = 2.0 * (double)gc.m * GN * GK / tg * 1e-9;
    snprintf(shape, sizeof shape, "M=%zu N=%d K=%d", gc.m, GN, GK);
    cpr_bench_row(&rep, "gemm_f32", gemm_isa, shape, 2, tg, gemm_gf, -1, -1,
                  gemm_scalar ? "only the scalar reference GEMM is in the table (M cut to 64)"
                              : "slot of the best table, split over N");
    free(gy);

    size_t n = CH_N;
    float *a0 = aligned_alloc(64, n * n * sizeof(float)), *a = aligned_alloc(64, n * n * sizeof(float));
    for (size_t i = 0; i < n; i++) // diagonally dominant => SPD
        for (size_t j = 0; j <= i; j++)
            a0[i * n + j] = i == j ? (float)n : (float)(cpr_rng_uniform_f64(&rng) - 0.5);
    double best = 1e300;
    int reps = gemm_scalar ? 1 : 3;
    for (int r = 0; r < reps; r++) {
        memcpy(a, a0, n * n * sizeof(float));
        double t0 = cpr_bench_now();
        enum cpr_status s = cpr_cholesky(pool, kb, n, a, n, &err);
        double t1 = cpr_bench_now() - t0;
        if (s != CPR_OK) {
            fprintf(stderr, "bench_select_linalg: %s\n", err.msg);
            return 1;
        }
        if (t1 < best) best = t1;
    }
    double chol_gf = (double)n * n * n / 3.0 / best * 1e-9;
    snprintf(shape, sizeof shape, "n=%zu", n);
    snprintf(note, sizeof note, "n^3/3 flops; ratio = vs gemm_f32 %s GFLOP/s in this run (%.1f)",
             gemm_isa, gemm_gf);
    cpr_bench_row(&rep, "cpr_cholesky", cpr_isa_name(isas[nt - 1]), shape, 2, best, chol_gf, -1,
                  gemm_gf > 0 ? chol_gf / gemm_gf : -1, note);

    free(a0);
    free(a);
    free(score);
    cpr_pool_free(pool);
    return cpr_bench_report_close(&rep) ? 1 : 0;
}
