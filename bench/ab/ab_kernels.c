// bench/ab/ab_kernels.c: one timed GEMM / SYRK / Cholesky case per process,
// for before/after comparisons of two builds of the library (see
// bench/ab/run_ab.sh, which builds this file against each and alternates
// them case by case so machine load hits both alike). Not part of
// `make bench`.
//
// usage: ab_kernels OP ISA M N K [reps] [threads]
//   OP  gemm_f32 | gemm_bf16w | gemm_f16w   (cpr_matmul, beta 0)
//       syrk                                 (cpr_syrk, n = N, tokens = K)
//       cholesky                             (cpr_cholesky, n = N)
// Prints the best time in seconds of `reps` calls (default 3) after one
// warm-up call, and the GFLOP/s. threads (default 2): the pool size; with
// 1 the calls run on the calling thread and are timed in thread CPU time,
// which time slicing by other processes on a shared machine does not
// inflate (wall time otherwise).
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "core/linalg.h"
#include "core/matmul.h"
#include "core/pool.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "simd/kernels.h"

static int cpu_clock;

static double now(void) {
    if (!cpu_clock) return cpr_bench_now();
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: ab_kernels OP ISA M N K [reps]\n");
        return 2;
    }
    const char *op = argv[1];
    int isa = cpr_isa_parse(argv[2]);
    size_t m = strtoull(argv[3], NULL, 10), n = strtoull(argv[4], NULL, 10);
    size_t kd = strtoull(argv[5], NULL, 10);
    int reps = argc > 6 ? atoi(argv[6]) : 3;
    int threads = argc > 7 ? atoi(argv[7]) : 2;
    if (isa < 0 || reps < 1 || threads < 1) return 2;
    cpu_clock = threads == 1;
    struct cpr_kernels kt;
    if ((int)cpr_kernels_build(&kt, (enum cpr_isa)isa) != isa) {
        fprintf(stderr, "ISA %s not available\n", argv[2]);
        return 1;
    }
    struct cpr_pool *pool = NULL;
    struct cpr_err err = {0};
    if (threads > 1 && cpr_pool_init(&pool, (size_t)threads, &err) != CPR_OK) return 1;
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 7);
    double flops, best = 1e300;
    if (!strcmp(op, "cholesky")) {
        float *a0 = aligned_alloc(64, n * n * sizeof(float));
        float *a = aligned_alloc(64, n * n * sizeof(float));
        for (size_t i = 0; i < n; i++) // diagonally dominant => SPD
            for (size_t j = 0; j < n; j++)
                a0[i * n + j] = i == j ? (float)n : (float)(cpr_rng_uniform_f64(&rng) - 0.5);
        for (int r = 0; r <= reps; r++) {
            memcpy(a, a0, n * n * sizeof(float));
            double t0 = now();
            if (cpr_cholesky(pool, &kt, n, a, n, &err) != CPR_OK) return 1;
            double dt = now() - t0;
            if (r > 0 && dt < best) best = dt;
        }
        flops = (double)n * n * n / 3.0;
    } else if (!strcmp(op, "syrk")) {
        float *x = aligned_alloc(64, kd * n * sizeof(float));
        float *h = aligned_alloc(64, n * n * sizeof(float));
        for (size_t i = 0; i < kd * n; i++) x[i] = (float)(cpr_rng_uniform_f64(&rng) - 0.5);
        memset(h, 0, n * n * sizeof(float));
        for (int r = 0; r <= reps; r++) {
            double t0 = now();
            if (cpr_syrk(pool, &kt, n, kd, x, n, h, n, &err) != CPR_OK) return 1;
            double dt = now() - t0;
            if (r > 0 && dt < best) best = dt;
        }
        flops = 2.0 * n * n * kd;
    } else {
        int dt = !strcmp(op, "gemm_f32") ? 0 : !strcmp(op, "gemm_bf16w") ? 1
                 : !strcmp(op, "gemm_f16w") ? 2 : -1;
        if (dt < 0) return 2;
        float *x = aligned_alloc(64, m * kd * sizeof(float));
        float *w = aligned_alloc(64, n * kd * sizeof(float));
        uint16_t *w16 = aligned_alloc(64, n * kd * sizeof(uint16_t));
        float *y = aligned_alloc(64, m * n * sizeof(float));
        for (size_t i = 0; i < m * kd; i++) x[i] = (float)(cpr_rng_uniform_f64(&rng) - 0.5);
        for (size_t i = 0; i < n * kd; i++) w[i] = (float)(cpr_rng_uniform_f64(&rng) - 0.5);
        struct cpr_tensor wt;
        int64_t shp[2] = {(int64_t)n, (int64_t)kd};
        if (dt == 0) {
            cpr_tensor_wrap(&wt, CPR_DTYPE_F32, w, 2, shp, 1);
        } else {
            (dt == 1 ? kt.f32_to_bf16 : kt.f32_to_f16)(n * kd, w, w16);
            cpr_tensor_wrap(&wt, dt == 1 ? CPR_DTYPE_BF16 : CPR_DTYPE_F16, w16, 2, shp, 1);
        }
        for (int r = 0; r <= reps; r++) {
            double t0 = now();
            if (cpr_matmul(pool, &kt, m, x, kd, &wt, y, n, 0.0f, &err) != CPR_OK) return 1;
            double d = now() - t0;
            if (r > 0 && d < best) best = d;
        }
        flops = 2.0 * m * n * kd;
    }
    printf("%.6f %.2f\n", best, flops / best * 1e-9);
    cpr_pool_free(pool);
    return 0;
}
