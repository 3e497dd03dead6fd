// bench/bench_eval_arch.c: evaluation throughput per architecture family at
// real layer shapes, as a fraction of the f32 GEMM rate measured in the
// same run (issue 13).
//
// Families and shapes (config.json of the released models; f32 weights so
// the ratio compares like with like, except Gemma in bf16 (its 256000 x 2048
// f32 embedding alone is 2 GiB on a shared 24 GiB machine); fewer layers than the real model so a run stays short and small; the
// lm_head is kept at the real vocabulary and counted):
//   qwen2  Qwen2-0.5B: hidden 896, intermediate 4864, 14/2 heads, vocab 151936
//   qwen3  Qwen3-0.6B: hidden 1024, intermediate 3072, 16/8 heads of 128,
//          vocab 151936, q/k norms, tied
//   gemma  Gemma-2B:   hidden 2048, intermediate 16384, 8/1 heads of 256,
//          vocab 256000, (1 + w) norms, GeGLU-tanh, scaled embeddings, tied
//   llama  TinyLlama-1.1B: hidden 2048, intermediate 5632, 32/4 heads,
//          vocab 32000 (the LLaMA reference row)
//   opt    OPT-125M:    hidden 768, ffn 3072, 12 heads, vocab 50272, all 12
//          layers (LayerNorm, learned positions, ReLU, biases, tied)
//   gpt2   GPT-2 124M:  hidden 768, n_inner 3072, 12 heads, vocab 50257, all
//          12 layers (fused q|k|v Conv1D, gelu_new, tied)
//   neox   Pythia-160M: hidden 768, intermediate 3072, 12 heads, vocab
//          50304, all 12 layers (fused per-head qkv, rotary_pct 0.25,
//          parallel residual, exact GELU, untied embed_out)
// One chunk of SEQLEN tokens on 2 threads, timed as the best of REPS runs of
// embed + every block + the NLL head.
//   GFLOP/s = (2 * (linear params + vocab * hidden) * seqlen
//              + 2 * seqlen^2 * n_heads * head_dim * layers) / seconds
//   ratio   = GFLOP/s / f32 GEMM GFLOP/s (2048 x 5632 x 2048 projection, the
//             forward's threading), the GEMM rate measured again right
//             before each family (interleaved: on the shared, loaded box a
//             rate taken once at the start drifts away from the later rows).
// Results: bench/results/eval_arch.json (rows) and the printed table.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "core/forward.h"
#include "core/matmul.h"
#include "core/rng.h"
#include "core/synth.h"
#include "data/arch_synth.h"

#define SEQLEN 512
#define REPS 2

struct fam {
    const char *name, *real;
    struct cpr_synth_spec s;
};

static struct cpr_pool *g_pool;
struct gemm_ctx {
    const struct cpr_kernels *k;
    float *w, *x, *y;
};

static void gemm_worker(void *p, size_t ith, size_t nth) {
    struct gemm_ctx *g = p;
    size_t b0, b1;
    cpr_pool_split(5632 / 256, ith, nth, 1, &b0, &b1);
    for (size_t b = b0; b < b1; b++)
        g->k->gemm_f32(SEQLEN, 256, 2048, 1.0f, g->x, 2048,
                       g->w + b * 256 * 2048, 2048, 0.0f, g->y + b * 256, 5632);
}

static void gemm_once(void *p) { cpr_pool_run(g_pool, gemm_worker, p); }

static double gemm_rate(struct cpr_pool *pool, const struct cpr_kernels *k) {
    struct gemm_ctx g = {.k = k};
    g_pool = pool;
    g.w = malloc((size_t)5632 * 2048 * 4);
    g.x = malloc((size_t)SEQLEN * 2048 * 4);
    g.y = malloc((size_t)SEQLEN * 5632 * 4);
    if (!g.w || !g.x || !g.y) return -1;
    for (size_t i = 0; i < (size_t)5632 * 2048; i++) g.w[i] = (float)(i % 7) * 0.01f;
    for (size_t i = 0; i < (size_t)SEQLEN * 2048; i++) g.x[i] = (float)(i % 5) * 0.1f;
    double s = cpr_bench_time(gemm_once, &g, 1.0, 2);
    free(g.w), free(g.x), free(g.y);
    return 2.0 * SEQLEN * 5632.0 * 2048.0 / s * 1e-9;
}

static int run_family(struct cpr_bench_report *rep, struct cpr_pool *pool,
                      const struct cpr_kernels *k, const struct fam *fa,
                      double gemm_gf) {
    struct cpr_model m;
    struct cpr_err err = {0};
    if (cpr_arch_synth_handles(fa->s.arch)
            ? cpr_arch_synth_model(&m, &fa->s, &err)
            : cpr_synth_model(&m, &fa->s, &err)) {
        fprintf(stderr, "bench_eval_arch: %s: %s\n", fa->name, err.msg);
        return -1;
    }
    struct cpr_forward f;
    if (cpr_forward_init(&f, &m, k, pool, 1, SEQLEN, &err)) {
        fprintf(stderr, "bench_eval_arch: %s: %s\n", fa->name, err.msg);
        cpr_model_free(&m);
        return -1;
    }
    int32_t *tok = malloc(SEQLEN * sizeof *tok);
    double *nll = malloc(SEQLEN * sizeof *nll);
    struct cpr_rng r;
    cpr_rng_seed(&r, 3);
    for (int i = 0; i < SEQLEN; i++)
        tok[i] = (int32_t)cpr_rng_below(&r, (uint64_t)fa->s.vocab);
    double best = 1e30;
    enum cpr_status st = CPR_OK;
    for (int rep_i = 0; rep_i < REPS && !st; rep_i++) {
        double t0 = cpr_bench_now();
        st = cpr_forward_chunk_nll(&f, tok, 1, SEQLEN, 0, nll, &err);
        double dt = cpr_bench_now() - t0;
        if (dt < best) best = dt;
    }
    if (st) fprintf(stderr, "bench_eval_arch: %s: %s\n", fa->name, err.msg);
    const struct cpr_model_config *c = &m.cfg;
    double qd = (double)(c->n_heads * c->head_dim);
    double flops = 2.0 * (double)(cpr_model_linear_params(&m) +
                                  c->vocab * c->hidden) * SEQLEN +
                   2.0 * SEQLEN * (double)SEQLEN * qd * (double)c->n_layers;
    double gf = flops / best * 1e-9;
    char shape[160], note[256];
    snprintf(shape, sizeof shape, "%s L=%lld seq=%d %s", fa->name,
             (long long)c->n_layers, SEQLEN, cpr_dtype_name(fa->s.dtype));
    snprintf(note, sizeof note, "%s layer shapes; %.1f tok/s; f32 GEMM %.1f "
             "GF/s just before", fa->real, SEQLEN / best, gemm_gf);
    cpr_bench_row(rep, "eval_chunk", cpr_isa_name(cpr_kernels_isa()), shape,
                  (int)cpr_pool_size(pool), best, gf, -1,
                  gemm_gf > 0 ? gf / gemm_gf : -1, note);
    free(tok), free(nll);
    cpr_forward_free(&f);
    cpr_model_free(&m);
    return st ? -1 : 0;
}

int main(void) {
    struct cpr_pool *pool = NULL;
    struct cpr_err err = {0};
    if (cpr_pool_init(&pool, 2, &err)) {
        fprintf(stderr, "bench_eval_arch: %s\n", err.msg);
        return 1;
    }
    const struct cpr_kernels *k = cpr_kernels_get();
    const enum cpr_dtype dt = CPR_DTYPE_F32;
    const struct fam fams[] = {
        {"llama", "TinyLlama-1.1B",
         {.arch = CPR_ARCH_LLAMA, .hidden = 2048, .intermediate = 5632,
          .n_layers = 4, .n_heads = 32, .n_kv_heads = 4, .vocab = 32000,
          .context = SEQLEN, .dtype = dt, .seed = 1, .bos_id = 1, .eos_id = 2}},
        {"qwen2", "Qwen2-0.5B",
         {.arch = CPR_ARCH_QWEN2, .hidden = 896, .intermediate = 4864,
          .n_layers = 6, .n_heads = 14, .n_kv_heads = 2, .vocab = 151936,
          .context = SEQLEN, .dtype = dt, .seed = 1, .qkv_bias = 1,
          .bias_std = 0.02, .tied_embeddings = 1, .bos_id = -1, .eos_id = -1}},
        {"qwen3", "Qwen3-0.6B",
         {.arch = CPR_ARCH_QWEN3, .hidden = 1024, .intermediate = 3072,
          .n_layers = 6, .n_heads = 16, .n_kv_heads = 8, .head_dim = 128,
          .vocab = 151936, .context = SEQLEN, .dtype = dt, .seed = 1,
          .tied_embeddings = 1, .bos_id = -1, .eos_id = -1}},
        {"gemma", "Gemma-2B",
         {.arch = CPR_ARCH_GEMMA, .hidden = 2048, .intermediate = 16384,
          .n_layers = 2, .n_heads = 8, .n_kv_heads = 1, .head_dim = 256,
          .vocab = 256000, .context = SEQLEN, .dtype = CPR_DTYPE_BF16, .seed = 1,
          .tied_embeddings = 1, .bos_id = 2, .eos_id = 1}},
        {"opt", "OPT-125M",
         {.arch = CPR_ARCH_OPT, .hidden = 768, .intermediate = 3072,
          .n_layers = 12, .n_heads = 12, .vocab = 50272, .context = SEQLEN,
          .dtype = dt, .seed = 1, .bias_std = 0.02, .bos_id = 2, .eos_id = 2}},
        {"gpt2", "GPT-2 124M",
         {.arch = CPR_ARCH_GPT2, .hidden = 768, .intermediate = 3072,
          .n_layers = 12, .n_heads = 12, .vocab = 50257, .context = SEQLEN,
          .dtype = dt, .seed = 1, .bias_std = 0.02, .bos_id = 50256,
          .eos_id = 50256}},
        {"neox", "Pythia-160M",
         {.arch = CPR_ARCH_GPT_NEOX, .hidden = 768, .intermediate = 3072,
          .n_layers = 12, .n_heads = 12, .vocab = 50304, .context = SEQLEN,
          .dtype = dt, .seed = 1, .bias_std = 0.02, .bos_id = 0, .eos_id = 0}},
    };
    struct cpr_bench_report rep;
    cpr_bench_report_open(&rep, "eval_arch", 2);
    double g = gemm_rate(pool, k);
    cpr_bench_row(&rep, "matmul_f32", cpr_isa_name(cpr_kernels_isa()),
                  "M=512 N=5632 K=2048", 2,
                  2.0 * SEQLEN * 5632.0 * 2048.0 / (g * 1e9), g, -1, -1,
                  "the reference rate for the eval ratios");
    int rc = 0;
    for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++) {
        if (i > 0) g = gemm_rate(pool, k);
        rc |= run_family(&rep, pool, k, &fams[i], g);
    }
    if (cpr_bench_report_close(&rep)) rc = -1;
    cpr_pool_free(pool);
    return rc ? 1 : 0;
}
