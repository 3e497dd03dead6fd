// bench/bench_eval.c: end-to-end evaluation throughput of the forward pass
// on a synthetic LLaMA-shaped ~1B-parameter model (TinyLlama-1.1B shapes:
// hidden 2048, intermediate 5632, 32 heads, 4 kv heads, vocab 32000,
// 22 layers), one chunk of seqlen 2048 on 2 threads, bf16 then f32 weights.
//
// Reported per dtype:
//   tokens/s      = seqlen / seconds for embed + every block + NLL head
//   GFLOP/s       = FLOPs / seconds with the useful (causal) FLOP count
//     FLOPs = 2 * (linear params + lm_head params) * seqlen      (GEMMs)
//           + 2 * seqlen^2 * n_heads * head_dim * n_layers     (attention:
//             QK^T and PV, each 2 * s^2/2 * qd flops with the causal half)
//     (the lm_head is applied to seqlen - 1 rows; counted as seqlen.)
//   ratio         = GFLOP/s / the f32 GEMM rate measured in the same run
//                   on a 2048 x 5632 x 2048 projection (the MLP shape), same
//                   pool and threading as the forward's linears. Target
//                   >= 0.60.
//   peak RSS vs weight bytes (getrusage; the model lives in anonymous
//   memory here, so RSS = weights + work buffers + the process).
//
// If one layer takes too long on this (shared) machine the layer count is
// reduced so each dtype run stays within ~40 s; the row says how many
// layers ran (env CPRUNE_BENCH_LAYERS overrides). bf16 runs first so its
// peak RSS is not masked by the larger f32 model.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench/bench_util.h"
#include "core/forward.h"
#include "core/rng.h"
#include "core/rng.h"
#include "core/synth.h"

#define SEQLEN 2048
#define FULL_LAYERS 22
#define BUDGET_S 40.0

static struct cpr_synth_spec spec_1b(int64_t layers, enum cpr_dtype dt) {
    struct cpr_synth_spec s = {
        .arch = CPR_ARCH_LLAMA, .hidden = 2048, .intermediate = 5632,
        .n_layers = layers, .n_heads = 32, .n_kv_heads = 4, .vocab = 32000,
        .context = SEQLEN, .dtype = dt, .seed = 1, .rope_theta = 10000,
        .bos_id = 1, .eos_id = 2,
    };
    return s;
}

static double peak_rss_bytes(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss * 1024.0; // Linux: KiB
}

static double weight_bytes(const struct cpr_model *m) {
    double b = (double)cpr_tensor_nbytes(&m->tok_embed) +
               (double)cpr_tensor_nbytes(&m->final_norm);
    if (!m->cfg.tied_embeddings) b += (double)cpr_tensor_nbytes(&m->lm_head);
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        struct cpr_linear_ref r[CPR_MAX_LINEARS];
        const int nl = cpr_layer_linears((struct cpr_model *)m, l, r,
                                         CPR_MAX_LINEARS);
        for (int j = 0; j < nl; j++) b += (double)cpr_tensor_nbytes(r[j].w);
    }
    return b;
}

// ---- f32 GEMM rate ----
// The same threading the forward's linears use: fixed 256-column blocks of
// W split across the pool, one gemm_f32 kernel call per block.
struct gemm_ctx {
    const struct cpr_kernels *k;
    float *w, *x, *y;
};

static void gemm_worker(void *p, size_t ith, size_t nth) {
    struct gemm_ctx *g = p;
    size_t b0, b1;
    cpr_pool_split(5632 / 256, ith, nth, 1, &b0, &b1);
    for (size_t b = b0; b < b1; b++)
        g->k->gemm_f32(SEQLEN, 256, 2048, 1.0f, g->x, 2048, g->w + b * 256 * 2048,
                       2048, 0.0f, g->y + b * 256, 5632);
}

static struct cpr_pool *g_pool;
static void gemm_once(void *p) { cpr_pool_run(g_pool, gemm_worker, p); }

static double gemm_rate(struct cpr_pool *pool, const struct cpr_kernels *k) {
    struct gemm_ctx g = {.k = k};
    g_pool = pool;
    g.w = malloc((size_t)5632 * 2048 * 4);
    g.x = malloc((size_t)SEQLEN * 2048 * 4);
    g.y = malloc((size_t)SEQLEN * 5632 * 4);
    for (size_t i = 0; i < (size_t)5632 * 2048; i++) g.w[i] = (float)(i % 7) * 0.01f;
    for (size_t i = 0; i < (size_t)SEQLEN * 2048; i++) g.x[i] = (float)(i % 5) * 0.1f;
    double s = cpr_bench_time(gemm_once, &g, 1.0, 2);
    free(g.w), free(g.x), free(g.y);
    return 2.0 * SEQLEN * 5632.0 * 2048.0 / s * 1e-9;
}

// ---- one dtype ----
static int run_dtype(struct cpr_bench_report *rep, struct cpr_pool *pool,
                     const struct cpr_kernels *k, enum cpr_dtype dt,
                     int64_t layers, double gemm_gflops, const int32_t *tok) {
    struct cpr_model m;
    struct cpr_err err = {0};
    struct cpr_synth_spec s = spec_1b(layers, dt);
    double t0 = cpr_bench_now();
    if (cpr_synth_model(&m, &s, &err)) {
        fprintf(stderr, "bench_eval: %s\n", err.msg);
        return -1;
    }
    double t_build = cpr_bench_now() - t0;
    struct cpr_forward f;
    if (cpr_forward_init(&f, &m, k, pool, 1, SEQLEN, &err)) {
        fprintf(stderr, "bench_eval: %s\n", err.msg);
        cpr_model_free(&m);
        return -1;
    }
    double *nll = malloc(SEQLEN * sizeof *nll);
    t0 = cpr_bench_now();
    enum cpr_status st = cpr_forward_chunk_nll(&f, tok, 1, SEQLEN, 0, nll, &err);
    double secs = cpr_bench_now() - t0;
    if (st) fprintf(stderr, "bench_eval: %s\n", err.msg);
    const struct cpr_model_config *c = &m.cfg;
    double qd = (double)(c->n_heads * c->head_dim);
    double flops = 2.0 * (double)(cpr_model_linear_params(&m) + c->vocab * c->hidden) * SEQLEN +
                   2.0 * SEQLEN * (double)SEQLEN * qd * (double)c->n_layers;
    double gf = flops / secs * 1e-9;
    double wb = weight_bytes(&m), rss = peak_rss_bytes();
    char shape[128], note[256];
    snprintf(shape, sizeof shape, "L=%lld seq=%d %s", (long long)layers, SEQLEN,
             cpr_dtype_name(dt));
    snprintf(note, sizeof note,
             "%.1f tok/s; %.2fB params; ratio vs f32 GEMM %.1f GF/s; peak RSS "
             "%.2f GiB, weights %.2f GiB, arena %.2f GiB; build %.1f s%s",
             SEQLEN / secs, (double)cpr_model_total_params(&m) * 1e-9, gemm_gflops,
             rss / (1 << 30), wb / (1 << 30), (double)f.arena.cap / (1 << 30),
             t_build, layers < FULL_LAYERS ? "; layers reduced" : "");
    cpr_bench_row(rep, "eval_chunk", cpr_isa_name(cpr_kernels_isa()), shape,
                  (int)cpr_pool_size(pool), secs, gf, -1,
                  gemm_gflops > 0 ? gf / gemm_gflops : -1, note);
    free(nll);
    cpr_forward_free(&f);
    cpr_model_free(&m);
    return st ? -1 : 0;
}

// Seconds per block, timed on a 1-layer model of the same shapes.
static double time_one_layer(struct cpr_pool *pool, const struct cpr_kernels *k,
                             const int32_t *tok) {
    struct cpr_model m;
    struct cpr_err err = {0};
    struct cpr_synth_spec s = spec_1b(1, CPR_DTYPE_F32);
    s.vocab = 64;
    if (cpr_synth_model(&m, &s, &err)) return -1;
    struct cpr_forward f;
    if (cpr_forward_init(&f, &m, k, pool, 1, SEQLEN, &err)) {
        cpr_model_free(&m);
        return -1;
    }
    int32_t *t2 = malloc(SEQLEN * 4);
    for (int i = 0; i < SEQLEN; i++) t2[i] = tok[i] % 64;
    cpr_forward_embed(&f, t2, 1, SEQLEN, f.hidden, &err);
    double t0 = cpr_bench_now();
    cpr_forward_block(&f, 0, f.hidden, 1, SEQLEN, NULL, &err);
    double dt = cpr_bench_now() - t0;
    free(t2);
    cpr_forward_free(&f);
    cpr_model_free(&m);
    return dt;
}

int main(void) {
    struct cpr_pool *pool = NULL;
    struct cpr_err err = {0};
    if (cpr_pool_init(&pool, 2, &err)) {
        fprintf(stderr, "bench_eval: %s\n", err.msg);
        return 1;
    }
    const struct cpr_kernels *k = cpr_kernels_get();
    struct cpr_bench_report rep;
    cpr_bench_report_open(&rep, "eval", 2);

    int32_t *tok = malloc(SEQLEN * sizeof *tok);
    struct cpr_rng r;
    cpr_rng_seed(&r, 3);
    for (int i = 0; i < SEQLEN; i++) tok[i] = (int32_t)cpr_rng_below(&r, 32000);

    double g = gemm_rate(pool, k);
    cpr_bench_row(&rep, "matmul_f32", cpr_isa_name(cpr_kernels_isa()),
                  "M=2048 N=5632 K=2048", 2, 2.0 * SEQLEN * 5632.0 * 2048.0 / (g * 1e9),
                  g, -1, -1, "the reference rate for the eval ratio");

    int64_t layers = FULL_LAYERS;
    const char *env = getenv("CPRUNE_BENCH_LAYERS");
    if (env && atoi(env) > 0) {
        layers = atoi(env);
    } else {
        double per = time_one_layer(pool, k, tok);
        if (per > 0 && per * FULL_LAYERS > BUDGET_S) {
            layers = (int64_t)(BUDGET_S / per);
            if (layers < 1) layers = 1;
        }
        printf("# one f32 block at seqlen %d: %.2f s -> %lld layers\n", SEQLEN,
               per, (long long)layers);
    }
    int rc = 0;
    rc |= run_dtype(&rep, pool, k, CPR_DTYPE_BF16, layers, g, tok);
    rc |= run_dtype(&rep, pool, k, CPR_DTYPE_F32, layers, g, tok);
    if (cpr_bench_report_close(&rep)) rc = -1;
    free(tok);
    cpr_pool_free(pool);
    return rc ? 1 : 0;
}
