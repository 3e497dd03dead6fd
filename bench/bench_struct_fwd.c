// bench/bench_struct_fwd.c: the forward pass of several models (dense and
// structured-pruned), timed interleaved in one process, in wall seconds
// and process CPU seconds (all threads): the CPU figure stays meaningful on
// a loaded machine, where wall time only shows the share of the cores this
// process got. Each model is mapped once and warmed by one untimed pass, so
// neither hashing nor first-touch page faults are in the figures.
// usage: bench_struct_fwd MODEL_DIR... (the first is the reference)
// Environment: FWD_TOKENS (512: one chunk of that many tokens; at most the
// context), FWD_ROUNDS (5), FWD_THREADS (2). Prints per model the median
// CPU and wall seconds per chunk and tokens per CPU-second relative to the
// first model. Tokens are a fixed pseudo-random sequence (the work does
// not depend on them).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "core/model.h"
#include "core/pool.h"
#include "data/model_load.h"
#include "eval/perplexity.h"

enum { MAXM = 8, MAXR = 64 };

static long env_long(const char *name, long def) {
    const char *v = getenv(name);
    return v && atol(v) > 0 ? atol(v) : def;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv) {
    if (argc < 2) { // `make bench` runs every bench bare: bench_struct.sh runs this one
        printf("SKIP bench_struct_fwd: no model given (bench/bench_struct.sh "
               "passes its models)\n");
        return 0;
    }
    if (argc - 1 > MAXM) {
        fprintf(stderr, "usage: bench_struct_fwd MODEL_DIR... (1 to %d)\n", MAXM);
        return 2;
    }
    const int nm = argc - 1;
    int64_t T = env_long("FWD_TOKENS", 512);
    int R = (int)env_long("FWD_ROUNDS", 5);
    if (R > MAXR) R = MAXR;
    const int TH = (int)env_long("FWD_THREADS", 2);
    struct cpr_err err = {0};
    struct cpr_pool *pool = NULL;
    static struct cpr_model m[MAXM];
    if (cpr_pool_init(&pool, (size_t)TH, &err)) goto fail;
    for (int i = 0; i < nm; i++) {
        if (cpr_model_load(argv[i + 1], &m[i], &err)) goto fail;
        if (T > m[i].cfg.context) T = m[i].cfg.context;
    }
    int32_t *ids = malloc((size_t)T * sizeof *ids);
    if (!ids) return 1;
    uint64_t s = 12345;
    for (int64_t t = 0; t < T; t++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        ids[t] = (int32_t)((s >> 33) % (uint64_t)m[0].cfg.vocab);
    }
    struct cpr_ppl_opts po = {.protocol = CPR_PPL_HF, .seqlen = T, .max_chunks = 1};
    struct cpr_ppl_result res;
    static double cpu[MAXM][MAXR], wall[MAXM][MAXR];
    for (int i = 0; i < nm; i++) // warm: page faults, arena
        if (cpr_ppl_eval(&m[i], NULL, pool, ids, T, &po, &res, &err)) goto fail;
    for (int r = 0; r < R; r++)
        for (int i = 0; i < nm; i++) {
            double c0 = cpr_bench_cpu_now(), w0 = cpr_bench_now();
            if (cpr_ppl_eval(&m[i], NULL, pool, ids, T, &po, &res, &err)) goto fail;
            cpu[i][r] = cpr_bench_cpu_now() - c0, wall[i][r] = cpr_bench_now() - w0;
        }
    double c_ref = 0;
    printf("%-40s %10s %10s %12s %10s\n", "model", "cpu_s", "wall_s",
           "tok/cpu_s", "vs_first");
    for (int i = 0; i < nm; i++) {
        double c = median(cpu[i], R), w = median(wall[i], R);
        if (i == 0) c_ref = c;
        printf("%-40s %10.3f %10.3f %12.1f %10.3f\n", argv[i + 1], c, w,
               (double)T / c, c_ref / c);
    }
    printf("(%lld tokens per chunk, %d threads, %d interleaved rounds, medians)\n",
           (long long)T, TH, R);
    free(ids);
    for (int i = 0; i < nm; i++) cpr_model_free(&m[i]);
    cpr_pool_free(pool);
    return 0;
fail:
    fprintf(stderr, "bench_struct_fwd: %s\n", err.msg);
    return 1;
}
