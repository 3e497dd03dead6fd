// bench/bench_grad_arch.c: a whole gradient pass (core/backward) through the
// non-gated blocks of OPT, GPT-2 and GPT-NeoX at real layer shapes, as a
// fraction of the f32 GEMM rate of the same linears measured in the same
// run (issue 15's backward throughput, for the families of issue 13).
//
// Models (synthetic, f32 weights, data/arch_synth.h): GPT-2 124M (hidden
// 768, n_inner 3072, 12 heads, fused c_attn, gelu_new), OPT-125M (768, ffn
// 3072, 12 heads, ReLU, all biases) and Pythia-160M (768, 3072, 12 heads,
// fused per-head qkv, rotary_pct 0.25, parallel residual, exact GELU), with
// LAYERS blocks and a small vocabulary (VOCAB) so the rows measure the
// blocks, not the output head. One window of T tokens on 2 threads; the
// hook forms every linear's dW = dY^T X (core/matmul_bwd), as gradstats does
// (without its accumulation loop).
//   pass     seconds of cpr_backward_run (checkpointing forward, head,
//            per block: recompute, MLP/attention backward, dX and dW)
//   useful   4 x 2 T n_out n_in per linear (forward, recompute, dX, dW) +
//            2 x 2 T vocab hidden (logits, dX through the head); attention,
//            norms, activations and GELU's recomputed pre-activation are
//            overhead, not counted
//   fwd      the same linears' y = x W^T (core/matmul), T rows, timed in the
//            same round (the f32 GEMM rate at these shapes)
//   ratio    (useful / pass) / (fwd flops / fwd seconds)
// Rounds interleave the families and keep the best time of each.
// usage: bench_grad_arch [tokens] [layers] [rounds] (defaults 512, 2, 3).
// Results: bench/results/grad_arch.json and the printed table.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "core/backward.h"
#include "core/matmul.h"
#include "core/matmul_bwd.h"
#include "core/rng.h"
#include "data/arch_synth.h"

#define VOCAB 1024

struct fam {
    const char *name, *real;
    struct cpr_synth_spec s;
    struct cpr_model m;
    double best_pass, best_fwd, useful, fwd_flops;
};

struct ctx {
    struct cpr_pool *pool;
    const struct cpr_kernels *k;
    struct fam *fa;
    struct cpr_backward b;
    const int32_t *tok;
    int64_t T;
    float *dw, *x, *y;
};

static enum cpr_status form_dw(void *user, const struct cpr_grad *g,
                               struct cpr_err *err) {
    struct ctx *c = user;
    return cpr_matmul_dw(c->pool, c->k, (size_t)g->n_rows, (size_t)g->n_out,
                         (size_t)g->n_in, 1.0f, g->dy, (size_t)g->n_out, g->x,
                         (size_t)g->n_in, 0.0f, c->dw, (size_t)g->n_in, err);
}

static void run_pass(void *p) {
    struct ctx *c = p;
    struct cpr_err err = {0};
    double loss;
    if (cpr_backward_run(&c->b, c->tok, 1, c->T, 1.0f, form_dw, c, &loss,
                         &err)) {
        fprintf(stderr, "bench_grad_arch: %s: %s\n", c->fa->name, err.msg);
        exit(1);
    }
}

static void run_fwd(void *p) { // every linear of block 0, T rows
    struct ctx *c = p;
    struct cpr_err err = {0};
    struct cpr_linear_ref r[CPR_MAX_LINEARS];
    const int n = cpr_layer_linears(&c->fa->m, 0, r, CPR_MAX_LINEARS);
    for (int j = 0; j < n; j++)
        if (cpr_matmul(c->pool, c->k, (size_t)c->T, c->x,
                       (size_t)r[j].w->shape[1], r[j].w, c->y,
                       (size_t)r[j].w->shape[0], 0.0f, &err)) {
            fprintf(stderr, "bench_grad_arch: %s\n", err.msg);
            exit(1);
        }
}

int main(int argc, char **argv) {
    const int64_t T = argc > 1 ? atol(argv[1]) : 512;
    const int64_t L = argc > 2 ? atol(argv[2]) : 2;
    const int rounds = argc > 3 ? atoi(argv[3]) : 3;
    if (T < 2 || L < 1 || rounds < 1) {
        fprintf(stderr, "usage: bench_grad_arch [tokens >= 2] [layers >= 1] "
                        "[rounds >= 1]\n");
        return 2;
    }
    struct cpr_err err = {0};
    struct cpr_pool *pool = NULL;
    if (cpr_pool_init(&pool, 2, &err)) {
        fprintf(stderr, "bench_grad_arch: %s\n", err.msg);
        return 1;
    }
    const struct cpr_kernels *k = cpr_kernels_get();
    struct fam fams[] = {
        {.name = "gpt2", .real = "GPT-2 124M",
         .s = {.arch = CPR_ARCH_GPT2, .hidden = 768, .intermediate = 3072,
          .n_layers = L, .n_heads = 12, .vocab = VOCAB, .context = T,
          .dtype = CPR_DTYPE_F32, .seed = 1, .bias_std = 0.02, .bos_id = 0,
          .eos_id = 0}},
        {.name = "opt", .real = "OPT-125M",
         .s = {.arch = CPR_ARCH_OPT, .hidden = 768, .intermediate = 3072,
          .n_layers = L, .n_heads = 12, .vocab = VOCAB, .context = T,
          .dtype = CPR_DTYPE_F32, .seed = 1, .bias_std = 0.02, .bos_id = 2,
          .eos_id = 2}},
        {.name = "neox", .real = "Pythia-160M",
         .s = {.arch = CPR_ARCH_GPT_NEOX, .hidden = 768, .intermediate = 3072,
          .n_layers = L, .n_heads = 12, .vocab = VOCAB, .context = T,
          .dtype = CPR_DTYPE_F32, .seed = 1, .bias_std = 0.02, .bos_id = 0,
          .eos_id = 0}},
    };
    const size_t nf = sizeof fams / sizeof fams[0];
    int32_t *tok = malloc((size_t)T * sizeof *tok);
    float *dw = malloc((size_t)3 * 768 * 3072 * sizeof(float));
    float *x = malloc((size_t)T * 3072 * sizeof(float));
    float *y = malloc((size_t)T * 3 * 768 * 4 * sizeof(float));
    if (!tok || !dw || !x || !y) {
        fprintf(stderr, "bench_grad_arch: out of memory\n");
        return 1;
    }
    struct cpr_rng r;
    cpr_rng_seed(&r, 3);
    for (int64_t i = 0; i < T; i++) tok[i] = (int32_t)cpr_rng_below(&r, VOCAB);
    for (int64_t i = 0; i < T * 3072; i++) x[i] = (float)cpr_rng_normal(&r);
    for (size_t i = 0; i < nf; i++) {
        struct fam *fa = &fams[i];
        fa->best_pass = fa->best_fwd = 1e30;
        if (cpr_arch_synth_model(&fa->m, &fa->s, &err)) {
            fprintf(stderr, "bench_grad_arch: %s: %s\n", fa->name, err.msg);
            return 1;
        }
        const struct cpr_model_config *c = &fa->m.cfg;
        struct cpr_linear_ref lr[CPR_MAX_LINEARS];
        const int n = cpr_layer_linears(&fa->m, 0, lr, CPR_MAX_LINEARS);
        double per_block = 0;
        for (int j = 0; j < n; j++)
            per_block += 2.0 * (double)T * (double)lr[j].w->shape[0] *
                         (double)lr[j].w->shape[1];
        fa->fwd_flops = per_block;
        fa->useful = 4.0 * per_block * (double)c->n_layers +
                     2.0 * 2.0 * (double)T * (double)c->vocab * (double)c->hidden;
    }
    for (int rd = 0; rd < rounds; rd++)
        for (size_t i = 0; i < nf; i++) {
            struct ctx c = {.pool = pool, .k = k, .fa = &fams[i], .tok = tok,
                            .T = T, .dw = dw, .x = x, .y = y};
            if (cpr_backward_init(&c.b, &fams[i].m, k, pool, 1, T, &err)) {
                fprintf(stderr, "bench_grad_arch: %s: %s\n", fams[i].name,
                        err.msg);
                return 1;
            }
            double s = cpr_bench_time(run_fwd, &c, 0.5, 2);
            if (s < fams[i].best_fwd) fams[i].best_fwd = s;
            s = cpr_bench_time(run_pass, &c, 0.5, 1);
            if (s < fams[i].best_pass) fams[i].best_pass = s;
            cpr_backward_free(&c.b);
        }
    struct cpr_bench_report rep;
    cpr_bench_report_open(&rep, "grad_arch", 2);
    const char *isa = cpr_isa_name(cpr_kernels_isa());
    printf("%-6s %-12s %8s %9s %9s %7s\n", "family", "shape", "pass s",
           "GFLOP/s", "fwd GF/s", "ratio");
    for (size_t i = 0; i < nf; i++) {
        struct fam *fa = &fams[i];
        const double gf = fa->useful / fa->best_pass * 1e-9;
        const double fwd = fa->fwd_flops / fa->best_fwd * 1e-9;
        char shape[128], note[256];
        snprintf(shape, sizeof shape, "%s layers, L=%lld T=%lld vocab=%d f32",
                 fa->real, (long long)L, (long long)T, VOCAB);
        snprintf(note, sizeof note, "whole gradient pass with dW formed per "
                 "linear; ratio = useful GFLOP/s / fwd_f32 GFLOP/s of the "
                 "block's linears (%.1f) in the same round; best of %d "
                 "interleaved rounds", fwd, rounds);
        printf("%-6s %-12s %8.4f %9.1f %9.1f %7.3f\n", fa->name, fa->real,
               fa->best_pass, gf, fwd, gf / fwd);
        cpr_bench_row(&rep, "grad_pass", isa, shape, 2, fa->best_pass, gf, -1,
                      gf / fwd, note);
        cpr_model_free(&fa->m);
    }
    int rc = cpr_bench_report_close(&rep);
    free(tok), free(dw), free(x), free(y);
    cpr_pool_free(pool);
    return rc ? 1 : 0;
}
