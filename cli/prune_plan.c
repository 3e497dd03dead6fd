// cli/prune_plan.c: the memory plan and time estimate of `cprune prune`,
// printed before any weight is read (contract in cli/prune.h).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/progress.h"
#include "cli/prune.h"
#include "core/forward.h"
#include "core/matmul.h"
#include "core/pool.h"
#include "methods/gradstats.h"
#include "methods/pipe_diag.h"
#include "methods/stats.h"
#include "simd/kernels.h"

static double gib(size_t b) { return (double)b / (1024.0 * 1024.0 * 1024.0); }

// Measured f32 GEMM rate (GFLOP/s) of this machine at the run's thread
// count: a (256 x 1024) x (1024 x 1024)^T product, best of 3 after a
// warm-up; 0 when the buffers cannot be had.
static double gemm_rate(int threads) {
    const size_t M = 256, N = 1024, K = 1024;
    float *x = calloc(M * K, sizeof *x), *w = calloc(N * K, sizeof *w),
          *y = calloc(M * N, sizeof *y);
    struct cpr_pool *pool = NULL;
    struct cpr_err err = {0};
    double best = 0.0;
    if (x && w && y && !cpr_pool_init(&pool, (size_t)threads, &err)) {
        for (size_t i = 0; i < M * K; i++) x[i] = (float)(i % 7) * 0.1f;
        for (size_t i = 0; i < N * K; i++) w[i] = (float)(i % 5) * 0.1f;
        const struct cpr_kernels *k = cpr_kernels_get();
        for (int r = 0; r < 4; r++) {
            const double t0 = cli_now();
            cpr_gemm_f32_mt(pool, k, M, N, K, 1.0f, x, K, w, K, 0.0f, y, N);
            const double dt = cli_now() - t0;
            const double g = 2.0 * (double)(M * N * K) / dt * 1e-9;
            if (r > 0 && g > best) best = g;
        }
    }
    cpr_pool_free(pool);
    free(x), free(w), free(y);
    return best;
}

// Under a cgroup v1 memory controller (the process's memory cgroup from
// /proc/self/cgroup): lower *avail to limit_in_bytes - usage_in_bytes
// (page cache included, as the controller counts it) when that is less.
static void cgroup_v1_limit(size_t *avail) {
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f) return;
    char line[1024], path[1200] = "";
    while (fgets(line, sizeof line, f)) { // "4:memory:/name"
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || strncmp(c1 + 1, "memory:", 7)) continue;
        line[strcspn(line, "\n")] = 0;
        snprintf(path, sizeof path, "/sys/fs/cgroup/memory%s", c2 + 1);
    }
    fclose(f);
    if (!path[0]) return;
    unsigned long long lim = 0, use = 0;
    char fn[1300];
    snprintf(fn, sizeof fn, "%s/memory.limit_in_bytes", path);
    if ((f = fopen(fn, "r"))) {
        if (fscanf(f, "%llu", &lim) != 1) lim = 0;
        fclose(f);
    }
    snprintf(fn, sizeof fn, "%s/memory.usage_in_bytes", path);
    if ((f = fopen(fn, "r"))) {
        if (fscanf(f, "%llu", &use) != 1) use = 0;
        fclose(f);
    }
    if (lim && lim > use && (size_t)(lim - use) < *avail)
        *avail = (size_t)(lim - use);
}

// The memory the host offers: MemAvailable, lowered by a cgroup v2
// memory.max (minus what the cgroup already uses) when one is set.
static size_t available_bytes(void) {
    size_t avail = 0;
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
                avail = (size_t)kb * 1024;
        fclose(f);
    }
    unsigned long long mx = 0, cur = 0;
    f = fopen("/sys/fs/cgroup/memory.max", "r");
    if (f) {
        if (fscanf(f, "%llu", &mx) != 1) mx = 0; // "max": no limit
        fclose(f);
    }
    f = fopen("/sys/fs/cgroup/memory.current", "r");
    if (f) {
        if (fscanf(f, "%llu", &cur) != 1) cur = 0;
        fclose(f);
    }
    if (mx && mx > cur && (size_t)(mx - cur) < avail) avail = (size_t)(mx - cur);
    cgroup_v1_limit(&avail);
    return avail;
}

void prune_plan_compute(const struct prune_run *run, const struct cpr_model *m,
                        struct prune_plan *p) {
    memset(p, 0, sizeof *p);
    const struct cpr_model_config *c = &m->cfg;
    const int64_t nl = c->n_layers;
    const int64_t b0 = run->block_begin;
    const int64_t b1 = run->block_end > 0 ? run->block_end : nl;
    // weights (file-backed mappings, not anonymous memory)
    size_t blk = 0, blk_numel = 0, lin_max = 0, cols_max = 0;
    double blk_params = 0.0, prune_flops = 0.0;
    struct cpr_linear_ref lr[CPR_MAX_LINEARS];
    const int n_lin = cpr_layer_linears((struct cpr_model *)m, 0, lr,
                                        CPR_MAX_LINEARS);
    for (int j = 0; j < n_lin; j++) {
        const struct cpr_tensor *t = lr[j].w;
        const size_t n = (size_t)cpr_tensor_numel(t);
        const double R = (double)t->shape[0], C = (double)t->shape[1];
        blk += cpr_tensor_nbytes(t);
        blk_numel += n;
        blk_params += (double)n;
        if (n > lin_max) lin_max = n;
        if ((size_t)t->shape[1] > cols_max) cols_max = (size_t)t->shape[1];
        if (run->needs & CPR_NEED_HESSIAN) // OBS updates + factorizations
            prune_flops += 2.0 * R * C * C + 2.0 * C * C * C;
    }
    p->weights = (size_t)nl * blk + cpr_tensor_nbytes(&m->tok_embed) +
                 (c->tied_embeddings ? 0 : cpr_tensor_nbytes(&m->lm_head));
    // calibration
    const int64_t seqlen = run->needs ? run->seqlen : 0;
    const int64_t ns = run->needs ? run->nsamples : 0;
    int64_t chunk = 0;
    if (run->needs) {
        chunk = 4096 / seqlen;
        if (chunk < 1) chunk = 1;
        if (chunk > ns) chunk = ns;
        p->activations = (size_t)(ns * seqlen * c->hidden) *
                         (run->calib_bf16 ? 2 : 4);
        p->forward = (size_t)(chunk * seqlen * c->hidden) * 4 +
                     cpr_forward_arena_bytes(m, (size_t)run->threads, chunk,
                                             seqlen);
        const int64_t sites[4] = {c->hidden, c->n_heads * c->head_dim,
                                  c->hidden, c->intermediate};
        for (int s = 0; s < 4; s++)
            p->statistics += cpr_site_stats_bytes((size_t)sites[s], run->needs,
                                                  run->hessian_f64);
        if (run->needs & CPR_NEED_HESSIAN)
            p->statistics += cols_max * cols_max * sizeof(float);
        if (run->needs & CPR_NEED_GRAD) // gradstats l1 + l2 (f32) and the
            // backward pass's block checkpoints (methods/gradstats.h)
            // of the pruned blocks (--grad-scratch: one layer's slab in RAM,
            // the rest on disk), the backward pass's buffers, the dW scratch
            p->statistics += (size_t)(run->grad_scratch ? 1 : b1 - b0) *
                                 blk_numel * 8 + lin_max * 4 +
                             cpr_backward_bytes(m, (size_t)run->threads, 1,
                                                seqlen) +
                             // windows grouped layer-major: the others'
                             // checkpoints and block-output gradients
                             (size_t)(cpr_gradstats_group(
                                          m, run->grad_scratch != NULL, seqlen,
                                          ns) - 1) *
                                 (size_t)((nl + 1) * seqlen * c->hidden) * 4;
    }
    if (run->needs && run->method && run->method->prepass_bytes &&
        run->method_state) { // e.g. mixed sensitivity=hutchinson
        p->prepass = run->method->prepass_bytes(run->method_state, m, seqlen,
                                                (size_t)run->threads);
        p->statistics += p->prepass;
    }
    // the linear being pruned in f32 plus its rounded copy and scores
    p->scratch = lin_max * (4 + 4 + 4);
    if (run->needs & CPR_NEED_HESSIAN) // the method's inverse factor
        p->scratch += cols_max * cols_max * 8;
    const int diag = run->needs && !run->no_diagnostics;
    size_t diag_max = 0;
    if (diag) // the widest block's sample and tiles (methods/pipe_diag.h)
        for (int64_t l = b0; l < b1; l++) {
            const size_t d = cpr_pipe_diag_bytes((struct cpr_model *)m, l,
                                                 (size_t)(ns * seqlen));
            if (d > diag_max) diag_max = d;
        }
    p->scratch += diag_max;
    // pruned blocks held until written: one with --shards, else all
    p->owned = (run->shards ? 1 : (size_t)(b1 - b0)) * blk;
    p->anon = (run->calib_disk ? 0 : p->activations) + p->forward +
              p->statistics + p->scratch + p->owned;
    p->available = available_bytes();
    // time: forward passes (statistics, diagnostics, propagation) of the
    // blocks up to b1, Hessian accumulation and the method's own work
    const double tok = (double)(ns * seqlen);
    const double attn = 2.0 * (double)seqlen * (double)(c->n_heads *
                                                        c->head_dim);
    const double fwd_tok = 2.0 * blk_params + attn;
    const double passes = 1.0 + (run->needs ? 1.0 : 0.0) + (diag ? 1.0 : 0.0) +
                          (run->needs & CPR_NEED_GRAD ? 3.0 : 0.0); // fwd+bwd
    double hess = 0.0;
    if (run->needs & CPR_NEED_HESSIAN)
        for (int s = 0; s < 4; s++) {
            const double n = s == 3 ? (double)c->intermediate
                                    : (double)c->hidden;
            hess += 2.0 * tok * n * n;
        }
    p->flops_block = tok * fwd_tok * passes + hess + prune_flops;
    p->gflops = gemm_rate(run->threads);
    const double total = p->flops_block * (double)(b1 - b0) +
                         tok * fwd_tok * (double)b0;
    p->est_seconds = p->gflops > 0 ? total / (p->gflops * 1e9) : 0.0;
    p->est_block_seconds =
        p->gflops > 0 ? p->flops_block / (p->gflops * 1e9) : 0.0;
}

void prune_plan_print(FILE *f, const struct prune_run *run,
                      const struct prune_plan *p) {
    fprintf(f, "plan:      weights %.2f GiB mapped (page cache, not "
               "anonymous)\n", gib(p->weights));
    if (run->calib_disk) // file-backed: page cache, like the weights
        fprintf(f, "plan:      activations %.2f GiB (%s) in a scratch file "
                   "in %s (--calib-store disk: file-backed, not "
                   "anonymous)\n", gib(p->activations),
                run->calib_bf16 ? "bf16" : "f32", run->tmp_dir);
    fprintf(f, "plan:      anonymous %.2f GiB = activations %.2f (%s) + "
               "forward %.2f + statistics %.2f + scratch %.2f + pruned "
               "blocks held %.2f (%s)\n", gib(p->anon),
            gib(run->calib_disk ? 0 : p->activations),
            run->calib_disk ? "on disk" : run->calib_bf16 ? "bf16" : "f32",
            gib(p->forward), gib(p->statistics), gib(p->scratch),
            gib(p->owned), run->shards ? "one: --shards" : "all until written");
    if (p->prepass)
        fprintf(f, "plan:      statistics include the method's dense "
                   "pre-pass, %.2f GiB (%s)\n", gib(p->prepass),
                run->method_name ? run->method_name : "method");
    fprintf(f, "plan:      budget %.2f GiB (%s)\n",
            gib(run->max_memory ? run->max_memory : p->available),
            run->max_memory ? "--max-memory" : "available now");
    fprintf(f, "plan:      estimate %.0f s (%.1f s per pruned block) at "
               "%.1f GFLOP/s measured f32 GEMM, %d threads\n",
            p->est_seconds, p->est_block_seconds, p->gflops, run->threads);
}
