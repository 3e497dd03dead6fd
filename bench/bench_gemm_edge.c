// bench/bench_gemm_edge.c: is a GEMM at an odd width as fast per flop as
// at the dense width? The eval shapes of a FLAP-pruned LLaMA-7B layer
// (bf16 weights, M tokens per chunk, through core/matmul.h like the
// forward pass): gate/up_proj N = 11008 vs a pruned N (default 7700, not
// a multiple of any block) vs the nearby round N = 7680, K = 4096; and
// down_proj K = 11008 vs 7700 vs 7680, N = 4096. Rows report GFLOP/s and
// the rate relative to the dense shape of the same projection (1.0 = an
// odd width costs exactly its share of the flops).
// Environment: EDGE_M (512), EDGE_W (7700), EDGE_THREADS (2),
// EDGE_ROUNDS (5: every shape timed once per round, interleaved; the best
// time of each is kept), EDGE_SECONDS (0.3 per timing), EDGE_CPU (1: time
// the process CPU seconds of a call, all threads together, instead of wall
// time: on a loaded machine the work per flop, not the share of the
// cores this process got; rates are then per CPU-second).
// Results: bench/results/gemm_edge.json.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "core/matmul.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "simd/kernels.h"

struct ectx {
    struct cpr_pool *pool;
    size_t m;
    const float *x;
    struct cpr_tensor w;
    float *y;
};

static void run(void *v) {
    struct ectx *c = v;
    struct cpr_err err;
    cpr_matmul(c->pool, NULL, c->m, c->x, (size_t)c->w.shape[1], &c->w, c->y,
               (size_t)c->w.shape[0], 0.0f, &err);
}

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Best CPU seconds of one call: a warm-up, then >= 3 calls and >= sec.
static double cpu_time(void (*fn)(void *), void *ctx, double sec) {
    fn(ctx);
    double best = 1e30, total = 0;
    for (int i = 0; i < 3 || total < sec; i++) {
        double t0 = cpu_now();
        fn(ctx);
        double t = cpu_now() - t0;
        total += t;
        if (t < best) best = t;
    }
    return best;
}

static long env_long(const char *name, long def) {
    const char *v = getenv(name);
    return v && atol(v) > 0 ? atol(v) : def;
}

int main(void) {
    const size_t M = (size_t)env_long("EDGE_M", 512);
    const size_t W = (size_t)env_long("EDGE_W", 7700);
    const int TH = (int)env_long("EDGE_THREADS", 2);
    const int ROUNDS = (int)env_long("EDGE_ROUNDS", 5);
    const char *sv = getenv("EDGE_SECONDS");
    const double SEC = sv && atof(sv) > 0 ? atof(sv) : 0.3;
    const int CPU = env_long("EDGE_CPU", 0) == 1;
    enum { D = 4096, FF = 11008 };
    if (W > FF) {
        fprintf(stderr, "bench_gemm_edge: EDGE_W %zu > %d\n", W, FF);
        return 2;
    }
    struct cpr_err err;
    struct cpr_pool *pool = NULL;
    if (cpr_pool_init(&pool, (size_t)TH, &err)) {
        fprintf(stderr, "bench_gemm_edge: %s\n", err.msg);
        return 1;
    }
    const size_t xel = M * FF, wel = (size_t)FF * D;
    float *x = malloc(xel * sizeof *x), *y = malloc(xel * sizeof *y);
    float *wf = malloc(wel * sizeof *wf);
    uint16_t *wb = malloc(wel * sizeof *wb);
    if (!x || !y || !wf || !wb) {
        fprintf(stderr, "bench_gemm_edge: out of memory\n");
        return 1;
    }
    struct cpr_rng rng;
    cpr_rng_seed(&rng, 5);
    for (size_t i = 0; i < xel; i++) x[i] = (float)cpr_rng_normal(&rng);
    for (size_t i = 0; i < wel; i++) wf[i] = 0.02f * (float)cpr_rng_normal(&rng);
    const struct cpr_kernels *k = cpr_kernels_get();
    k->f32_to_bf16(wel, wf, wb);
    free(wf);
    const size_t r7680 = W >= 7680 ? 7680 : W / 128 * 128;
    // (N, K, group): group 0 = gate/up (N varies), 1 = down (K varies);
    // the first of each group is the dense reference
    const size_t shapes[6][3] = {{FF, D, 0}, {W, D, 0}, {r7680, D, 0},
                                 {D, FF, 1}, {D, W, 1}, {D, r7680, 1}};
    double best[6];
    for (int s = 0; s < 6; s++) best[s] = 1e30;
    for (int r = 0; r < ROUNDS; r++)
        for (int s = 0; s < 6; s++) {
            struct ectx c = {.pool = pool, .m = M, .x = x, .y = y};
            c.w.ndim = 2, c.w.dtype = CPR_DTYPE_BF16, c.w.data = wb;
            c.w.shape[0] = (int64_t)shapes[s][0];
            c.w.shape[1] = (int64_t)shapes[s][1];
            c.w.stride[0] = (int64_t)shapes[s][1], c.w.stride[1] = 1;
            double t = CPU ? cpu_time(run, &c, SEC) : cpr_bench_time(run, &c, SEC, 3);
            if (t < best[s]) best[s] = t;
        }
    enum cpr_isa isa = CPR_ISA_SCALAR;
    for (size_t i = 0; cpr_kernel_slot_names[i]; i++)
        if (!strcmp(cpr_kernel_slot_names[i], "gemm_bf16w")) isa = k->slot_isa[i];
    struct cpr_bench_report rep;
    cpr_bench_report_open(&rep, "gemm_edge", TH);
    printf("%-10s %-22s %10s %10s %8s\n", "kernel", "shape", "ms", "GFLOP/s",
           "rel");
    for (int s = 0; s < 6; s++) {
        const size_t n = shapes[s][0], kd = shapes[s][1];
        const double gf = 2.0 * (double)M * (double)n * (double)kd / best[s] / 1e9;
        const int ref = shapes[s][2] == 0 ? 0 : 3;
        const double gref = 2.0 * (double)M * (double)shapes[ref][0] *
                            (double)shapes[ref][1] / best[ref] / 1e9;
        char shape[64], note[160];
        snprintf(shape, sizeof shape, "M=%zu N=%zu K=%zu", M, n, kd);
        snprintf(note, sizeof note, "rate relative to N=%zu K=%zu (%s); best "
                 "of %d interleaved rounds%s", shapes[ref][0], shapes[ref][1],
                 shapes[s][2] == 0 ? "gate/up_proj" : "down_proj", ROUNDS,
                 CPU ? "; process CPU seconds (EDGE_CPU=1)" : "");
        printf("%-10s %-22s %10.2f %10.1f %8.3f\n", "gemm_bf16w", shape,
               best[s] * 1e3, gf, gf / gref);
        cpr_bench_row(&rep, "gemm_bf16w", cpr_isa_name(isa), shape, TH,
                      best[s], gf, -1, gf / gref, note);
    }
    int rc = cpr_bench_report_close(&rep) ? 1 : 0;
    free(x), free(y), free(wb);
    cpr_pool_free(pool);
    return rc;
}
