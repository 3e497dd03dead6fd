// bench/bench_grad_block.c: throughput of the whole backward pass of one
// LLaMA-7B-shaped decoder block (core/backward.h cpr_backward_block),
// against the f32 GEMM rate of the same run, same shapes, same threads.
//
// The block: hidden 4096, intermediate 11008, 32 heads (head_dim 128, no
// GQA), RMSNorm, RoPE, SwiGLU; its weights f32 in memory (a one-layer
// synthetic model, core/synth.h), then bf16 in memory. Tokens: n_seq x
// seqlen (default 2 x 512). What is timed, per call: the backward of the
// block itself, from its checkpointed input and the gradient w.r.t. its
// output (set up once by a pass that stops above the block), i.e.
//   - the recompute of the block's forward (norms, q/k/v/o, RoPE,
//     attention per query block, gate/up, SwiGLU, down),
//   - the SwiGLU, RMSNorm, RoPE and residual backward,
//   - attention backward per query block (core/attention_bwd.h),
//   - dX = dY W of the seven linears (core/matmul_bwd.h),
//   - dW = dY^T X of the seven linears, accumulated (beta = 1) into an f32
//     buffer by the gradient hook (what a caller forming gradients does).
// Not timed: the embedding, the head's gradient, slab I/O and accumulators
// such as GBLM's (bench_grad_mem / bench_grad7b time those).
//
// FLOPs counted (2 per multiply-add; only the products the pass performs):
//   linears: 3 x 2 T n_out n_in per linear (recompute, dX, dW), summed
//            over q, k, v, o, gate, up, and 2 x for down (the recompute
//            stops before it: its output is not needed);
//   attention: per sequence, head and query block of m rows whose key
//            range has nk keys (nk = q0 + m: the causal block reads keys
//            0..q0+m-1, the masked part of its diagonal tile included, as
//            the kernels compute it): forward S = QK^T and O = PV (2 x 2
//            m nk hd) and backward P recompute, dP = dO V^T, dQ, dK, dV
//            (5 x 2 m nk hd).
// Elementwise work (norms, SwiGLU, RoPE, softmax) is time without FLOPs.
// GEMM reference: y = x W^T (core/matmul.h, the forward f32 GEMM) for the
// seven linears at the same T, f32 weights, same pool; rate = 2 T sum(n_out
// n_in) / the sum of the best times. ratio = block rate / that rate.
// The rounds interleave the reference and the block calls and keep the
// best time of each, so load hits both alike.
// usage: bench_grad_block [n_seq] [seqlen] [rounds] [bf16: 0|1]
//        (defaults 2, 512, 3, 1)
// Results: bench/results/grad_block.json.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "core/backward.h"
#include "core/forward.h"
#include "core/matmul.h"
#include "core/matmul_bwd.h"
#include "core/synth.h"

enum { HID = 4096, INTER = 11008, HEADS = 32 };

// The gradient hook: dW += dY^T X into one f32 buffer (large enough for
// the largest linear), and the time it spends.
struct dw_hook {
    struct cpr_pool *pool;
    const struct cpr_kernels *k;
    float *dw;
    double secs;
};

static enum cpr_status dw_fn(void *user, const struct cpr_grad *g,
                             struct cpr_err *err) {
    struct dw_hook *h = user;
    double t0 = cpr_bench_now();
    enum cpr_status s = cpr_matmul_dw(
        h->pool, h->k, (size_t)g->n_rows, (size_t)g->n_out, (size_t)g->n_in,
        1.0f, g->dy, (size_t)g->n_out, g->x, (size_t)g->n_in, 1.0f, h->dw,
        (size_t)g->n_in, err);
    h->secs += cpr_bench_now() - t0;
    return s;
}

// The products the block's backward performs (see the header).
static double linear_params(void) {
    return 4.0 * HID * HID + 3.0 * HID * INTER;
}

static double attn_flops(int64_t n_seq, int64_t seqlen) {
    const double hd = HID / HEADS;
    double per_head = 0.0;
    for (int64_t q0 = 0; q0 < seqlen; q0 += CPR_ATTN_QB) {
        int64_t m = seqlen - q0 < CPR_ATTN_QB ? seqlen - q0 : CPR_ATTN_QB;
        per_head += 2.0 * (double)m * (double)(q0 + m) * hd;
    }
    return (2.0 + 5.0) * per_head * HEADS * (double)n_seq;
}

struct block_run {
    struct cpr_model m;
    struct cpr_backward b;
    float *dh0; // (T, hidden) the gradient w.r.t. the block's output
    double best, best_dw;
};

static int die(const char *what, const struct cpr_err *err) {
    fprintf(stderr, "bench_grad_block: %s: %s\n", what, err->msg);
    return 1;
}

// Build the one-layer model of dtype dt and run the pass above the block
// once (embedding, forward, head), keeping dh.
static int block_setup(struct block_run *r, enum cpr_dtype dt,
                       struct cpr_pool *pool, const struct cpr_kernels *k,
                       int64_t n_seq, int64_t seqlen) {
    struct cpr_err err = {0};
    struct cpr_synth_spec s = {.hidden = HID, .intermediate = INTER,
                               .n_layers = 1, .n_heads = HEADS,
                               .n_kv_heads = HEADS, .vocab = 512,
                               .context = seqlen, .dtype = dt, .seed = 15,
                               .norm_jitter = 0.1, .bos_id = 1, .eos_id = 2};
    memset(r, 0, sizeof *r);
    if (cpr_synth_model(&r->m, &s, &err)) return die("synth", &err);
    if (cpr_backward_init(&r->b, &r->m, k, pool, n_seq, seqlen, &err))
        return die("backward init", &err);
    const int64_t T = n_seq * seqlen;
    int32_t *tok = malloc((size_t)T * sizeof(int32_t));
    r->dh0 = malloc((size_t)(T * HID) * sizeof(float));
    if (!tok || !r->dh0) {
        fprintf(stderr, "bench_grad_block: out of memory\n");
        return 1;
    }
    uint64_t x = 88172645463325252ull;
    for (int64_t i = 0; i < T; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        tok[i] = (int32_t)(x % 512);
    }
    r->b.first_layer = 1; // stop above the block: ckpt[0] and dh are set
    enum cpr_status st = cpr_backward_run(&r->b, tok, n_seq, seqlen, 1.0f,
                                          NULL, NULL, NULL, &err);
    free(tok);
    if (st) return die("setup pass", &err);
    memcpy(r->dh0, r->b.dh, (size_t)(T * HID) * sizeof(float));
    r->best = r->best_dw = 1e30;
    return 0;
}

// One timed backward of the block (dh restored first, untimed).
static int block_once(struct block_run *r, struct dw_hook *h, int64_t n_seq,
                      int64_t seqlen) {
    struct cpr_err err = {0};
    memcpy(r->b.dh, r->dh0, (size_t)(n_seq * seqlen * HID) * sizeof(float));
    h->secs = 0.0;
    double t0 = cpr_bench_now();
    if (cpr_backward_block(&r->b, 0, n_seq, seqlen, dw_fn, h, &err))
        return die("block backward", &err);
    double dt = cpr_bench_now() - t0;
    if (dt < r->best) r->best = dt, r->best_dw = h->secs;
    return 0;
}

static void block_free(struct block_run *r) {
    cpr_backward_free(&r->b);
    cpr_model_free(&r->m);
    free(r->dh0);
}

// The reference: y = x W^T for the block's seven f32 linears; returns the
// summed seconds (best per linear updated in best[7]).
static int gemm_ref(struct cpr_model *m, struct cpr_pool *pool,
                    const struct cpr_kernels *k, size_t T, const float *x,
                    float *y, double best[7]) {
    struct cpr_layer *L = &m->layers[0];
    const struct cpr_tensor *w[7] = {&L->wq, &L->wk, &L->wv, &L->wo,
                                     &L->w_gate, &L->w_up, &L->w_down};
    struct cpr_err err = {0};
    for (int i = 0; i < 7; i++) {
        size_t n = (size_t)w[i]->shape[0], kd = (size_t)w[i]->shape[1];
        double t0 = cpr_bench_now();
        if (cpr_matmul(pool, k, T, x, kd, w[i], y, n, 0.0f, &err))
            return die("gemm", &err);
        double dt = cpr_bench_now() - t0;
        if (dt < best[i]) best[i] = dt;
    }
    return 0;
}

int main(int argc, char **argv) {
    const int64_t n_seq = argc > 1 ? atol(argv[1]) : 2;
    const int64_t seqlen = argc > 2 ? atol(argv[2]) : 512;
    const int rounds = argc > 3 ? atoi(argv[3]) : 3;
    const int do_bf16 = argc > 4 ? atoi(argv[4]) : 1;
    if (n_seq < 1 || seqlen < 2 || rounds < 1) {
        fprintf(stderr, "usage: bench_grad_block [n_seq] [seqlen] [rounds] "
                        "[bf16: 0|1]\n");
        return 2;
    }
    const int threads = 2;
    const int64_t T = n_seq * seqlen;
    struct cpr_err err = {0};
    struct cpr_pool *pool = NULL;
    if (cpr_pool_init(&pool, threads, &err)) return die("pool", &err);
    const struct cpr_kernels *k = cpr_kernels_get();
    float *x = malloc((size_t)(T * INTER) * sizeof(float));
    float *y = malloc((size_t)(T * INTER) * sizeof(float));
    float *dw = calloc((size_t)HID * INTER, sizeof(float));
    if (!x || !y || !dw) {
        fprintf(stderr, "bench_grad_block: out of memory\n");
        return 1;
    }
    uint64_t st = 0x2545F4914F6CDD1Dull;
    for (int64_t i = 0; i < T * INTER; i++) {
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        x[i] = (float)((double)(st >> 11) / 9007199254740992.0 - 0.5);
    }
    struct dw_hook h = {pool, k, dw, 0.0};
    struct block_run r32, r16;
    if (block_setup(&r32, CPR_DTYPE_F32, pool, k, n_seq, seqlen)) return 1;
    if (do_bf16 && block_setup(&r16, CPR_DTYPE_BF16, pool, k, n_seq, seqlen))
        return 1;
    double gbest[7];
    for (int i = 0; i < 7; i++) gbest[i] = 1e30;
    // warm-up (page faults of the buffers, pool wake-up), then the rounds
    if (gemm_ref(&r32.m, pool, k, (size_t)T, x, y, gbest) ||
        block_once(&r32, &h, n_seq, seqlen))
        return 1;
    for (int i = 0; i < 7; i++) gbest[i] = 1e30;
    r32.best = 1e30;
    for (int rd = 0; rd < rounds; rd++) {
        if (gemm_ref(&r32.m, pool, k, (size_t)T, x, y, gbest) ||
            block_once(&r32, &h, n_seq, seqlen) ||
            (do_bf16 && block_once(&r16, &h, n_seq, seqlen)))
            return 1;
        fprintf(stderr, "round %d: block f32 %.3f s\n", rd, r32.best);
    }
    double gsum = 0.0;
    for (int i = 0; i < 7; i++) gsum += gbest[i];
    const double P = linear_params();
    const double gemm_rate = 2.0 * (double)T * P / gsum * 1e-9;
    const double lin = 2.0 * (double)T * (3.0 * P - (double)HID * INTER);
    const double att = attn_flops(n_seq, seqlen);
    const double flops = lin + att;

    const char *isa = cpr_isa_name(cpr_kernels_isa());
    char shape[128];
    snprintf(shape, sizeof shape,
             "LLaMA-7B block (4096, 11008, 32 heads), %lld x %lld tokens",
             (long long)n_seq, (long long)seqlen);
    struct cpr_bench_report rep;
    cpr_bench_report_open(&rep, "grad_block", threads);
    printf("%lld x %lld tokens, %d threads, isa %s; FLOPs per block "
           "backward: %.1f G (linears %.1f G, attention %.1f G)\n",
           (long long)n_seq, (long long)seqlen, threads, isa, flops * 1e-9,
           lin * 1e-9, att * 1e-9);
    printf("%-16s %9s %9s %8s %9s\n", "what", "seconds", "GFLOP/s", "ratio",
           "dW s");
    printf("%-16s %9.4f %9.1f %8.3f %9s\n", "gemm_f32", gsum, gemm_rate, 1.0,
           "-");
    cpr_bench_row(&rep, "gemm_f32", isa, shape, threads, gsum, gemm_rate, -1.0,
                  1.0, "y = x W^T (core/matmul) over the block's 7 linears, "
                       "f32 weights, best per linear over the rounds");
    struct block_run *runs[2] = {&r32, do_bf16 ? &r16 : NULL};
    const char *names[2] = {"block_bwd_f32w", "block_bwd_bf16w"};
    for (int i = 0; i < 2; i++) {
        if (!runs[i]) continue;
        double rate = flops / runs[i]->best * 1e-9;
        printf("%-16s %9.4f %9.1f %8.3f %9.4f\n", names[i], runs[i]->best, rate,
               rate / gemm_rate, runs[i]->best_dw);
        char note[320];
        snprintf(note, sizeof note,
                 "whole backward of the block (recompute, attention bwd, "
                 "norms, SwiGLU, dX and dW of 7 linears), weights %s in "
                 "memory; %.1f GFLOP counted; dW hook %.3f s of it; ratio = "
                 "vs gemm_f32 of this run; target >= 0.6",
                 i ? "bf16" : "f32", flops * 1e-9, runs[i]->best_dw);
        cpr_bench_row(&rep, names[i], isa, shape, threads, runs[i]->best, rate,
                      -1.0, rate / gemm_rate, note);
    }
    int rc = cpr_bench_report_close(&rep);
    block_free(&r32);
    if (do_bf16) block_free(&r16);
    free(x);
    free(y);
    free(dw);
    cpr_pool_free(pool);
    return rc ? 1 : 0;
}
