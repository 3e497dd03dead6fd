// bench/bench_grad.c: throughput of a linear layer's backward products on
// a LLaMA-7B-shaped decoder block, against the forward f32 GEMM rate.
//
// For each of the block's seven linears (q, k, v, o: 4096 x 4096; gate,
// up: 11008 x 4096; down: 4096 x 11008) at T tokens, through the threaded
// entry points on 2 threads with the dispatched ISA:
//   fwd_f32     y = x W^T            (core/matmul.h, the f32 GEMM rate)
//   dx_f32      dX = dY W            (core/matmul_bwd.h, W f32)
//   dx_bf16w    dX = dY W            (W bf16, widened while packing)
//   dw_f32      dW += dY^T X         (accumulating, as over windows)
// Each product is 2 T n_out n_in flops; a row gives the block's total
// seconds (sum over the seven linears of each linear's best time) and
// GFLOP/s; ratio = that rate / the fwd_f32 rate of the same run. The
// "backward" row is dx_f32 + dw_f32 together (what a gradient pass does
// per linear). The machine is shared: the ops are interleaved within
// each of `rounds` passes and the best time per (op, linear) is kept.
// usage: bench_grad [tokens] [seconds-per-measurement] [rounds]
// (defaults 256, 0.2, 2). Results: bench/results/grad.json.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "core/matmul.h"
#include "core/matmul_bwd.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "simd/kernels.h"

enum { OP_FWD, OP_DX, OP_DX_BF16, OP_DW, OP_COUNT };
static const char *const op_name[OP_COUNT] = {"fwd_f32", "dx_f32", "dx_bf16w",
                                              "dw_f32"};

struct job {
    struct cpr_pool *pool;
    const struct cpr_kernels *k;
    int op;
    size_t t, n_out, n_in;
    struct cpr_tensor w32, w16;
    const float *x, *dy;
    float *out;
};

static void run_op(void *ctx) {
    struct job *j = ctx;
    struct cpr_err err = {0};
    enum cpr_status st = CPR_OK;
    switch (j->op) {
    case OP_FWD:
        st = cpr_matmul(j->pool, j->k, j->t, j->x, j->n_in, &j->w32, j->out,
                        j->n_out, 0.0f, &err);
        break;
    case OP_DX:
        st = cpr_matmul_dx(j->pool, j->k, j->t, j->dy, j->n_out, &j->w32, j->out,
                           j->n_in, 0.0f, &err);
        break;
    case OP_DX_BF16:
        st = cpr_matmul_dx(j->pool, j->k, j->t, j->dy, j->n_out, &j->w16, j->out,
                           j->n_in, 0.0f, &err);
        break;
    default:
        st = cpr_matmul_dw(j->pool, j->k, j->t, j->n_out, j->n_in, 1.0f, j->dy,
                           j->n_out, j->x, j->n_in, 1.0f, j->out, j->n_in, &err);
        break;
    }
    if (st != CPR_OK) {
        fprintf(stderr, "bench_grad: %s\n", err.msg);
        exit(1);
    }
}

int main(int argc, char **argv) {
    size_t T = argc > 1 ? (size_t)atol(argv[1]) : 256;
    double secs = argc > 2 ? atof(argv[2]) : 0.2;
    int rounds = argc > 3 ? atoi(argv[3]) : 2;
    if (T == 0 || secs <= 0 || rounds < 1) {
        fprintf(stderr, "usage: bench_grad [tokens] [seconds] [rounds]\n");
        return 2;
    }
    static const size_t lin[7][2] = {{4096, 4096}, {4096, 4096}, {4096, 4096},
                                     {4096, 4096}, {11008, 4096}, {11008, 4096},
                                     {4096, 11008}};
    const size_t big = 11008 * 4096, wide = 11008;
    struct cpr_err err = {0};
    struct cpr_pool *pool = NULL;
    if (cpr_pool_init(&pool, 2, &err) != CPR_OK) {
        fprintf(stderr, "bench_grad: %s\n", err.msg);
        return 1;
    }
    const struct cpr_kernels *k = cpr_kernels_get();
    float *w = malloc(big * sizeof(float));
    uint16_t *w16 = malloc(big * sizeof(uint16_t));
    float *out = malloc(big * sizeof(float)); // dW (largest output)
    float *x = malloc(T * wide * sizeof(float));
    float *dy = malloc(T * wide * sizeof(float));
    if (!w || !w16 || !out || !x || !dy) {
        fprintf(stderr, "bench_grad: out of memory\n");
        return 1;
    }
    struct cpr_rng r;
    cpr_rng_seed(&r, 15);
    for (size_t i = 0; i < big; i++) w[i] = (float)cpr_rng_normal(&r) * 0.02f;
    for (size_t i = 0; i < T * wide; i++) {
        x[i] = (float)cpr_rng_normal(&r);
        dy[i] = (float)cpr_rng_normal(&r) * 1e-3f;
    }
    memset(out, 0, big * sizeof(float));
    k->f32_to_bf16(big, w, w16);

    double best[OP_COUNT][7];
    for (int o = 0; o < OP_COUNT; o++)
        for (int l = 0; l < 7; l++) best[o][l] = 1e30;
    for (int rd = 0; rd < rounds; rd++)
        for (int l = 0; l < 7; l++)
            for (int o = 0; o < OP_COUNT; o++) {
                struct job j = {.pool = pool, .k = k, .op = o, .t = T,
                                .n_out = lin[l][0], .n_in = lin[l][1], .x = x,
                                .dy = dy, .out = out};
                int64_t shp[2] = {(int64_t)lin[l][0], (int64_t)lin[l][1]};
                cpr_tensor_wrap(&j.w32, CPR_DTYPE_F32, w, 2, shp, 1);
                cpr_tensor_wrap(&j.w16, CPR_DTYPE_BF16, w16, 2, shp, 1);
                double s = cpr_bench_time(run_op, &j, secs, 3);
                if (s < best[o][l]) best[o][l] = s;
            }

    double flops = 0.0;
    for (int l = 0; l < 7; l++) flops += 2.0 * (double)T * lin[l][0] * lin[l][1];
    double tsum[OP_COUNT];
    for (int o = 0; o < OP_COUNT; o++) {
        tsum[o] = 0.0;
        for (int l = 0; l < 7; l++) tsum[o] += best[o][l];
    }
    double fwd_rate = flops / tsum[OP_FWD] * 1e-9;
    const char *isa = cpr_isa_name(cpr_kernels_isa());
    char shape[96];
    snprintf(shape, sizeof shape, "LLaMA-7B block, T=%zu, 7 linears", T);
    struct cpr_bench_report rep;
    cpr_bench_report_open(&rep, "grad", 2);
    printf("%-10s %-8s %10s %9s %8s\n", "kernel", "isa", "seconds", "GFLOP/s",
           "vs fwd");
    for (int o = 0; o < OP_COUNT; o++) {
        double rate = flops / tsum[o] * 1e-9;
        printf("%-10s %-8s %10.4f %9.1f %8.3f\n", op_name[o], isa, tsum[o], rate,
               rate / fwd_rate);
        cpr_bench_row(&rep, op_name[o], isa, shape, 2, tsum[o], rate, -1.0,
                      rate / fwd_rate,
                      "ratio = GFLOP/s / fwd_f32 GFLOP/s of this run; best of "
                      "interleaved rounds per linear, summed over the block");
    }
    double tb = tsum[OP_DX] + tsum[OP_DW], rate = 2.0 * flops / tb * 1e-9;
    printf("%-10s %-8s %10.4f %9.1f %8.3f\n", "backward", isa, tb, rate,
           rate / fwd_rate);
    cpr_bench_row(&rep, "backward", isa, shape, 2, tb, rate, -1.0,
                  rate / fwd_rate,
                  "dx_f32 + dw_f32 (the linear products of a gradient pass; "
                  "attention, norms and recompute not included); target >= 0.6");
    int rc = cpr_bench_report_close(&rep);
    free(w);
    free(w16);
    free(out);
    free(x);
    free(dy);
    cpr_pool_free(pool);
    return rc ? 1 : 0;
}
