// bench/bench_grad_mem.c: anonymous memory and time of one core/backward
// gradient pass on a LLaMA-7B-shaped synthetic model with few layers.
//
// The model (hidden 4096, intermediate 11008, 32 heads, vocab 32000,
// untied lm_head, bf16) is built in memory by cpr_synth_model, so its
// weights are anonymous memory too: the figure reported is the growth of
// RssAnon over the weights (peak sampled by a thread every 20 ms), i.e.
// what the gradient pass itself holds: the checkpoints (layers x T x 4096
// f32), the forward arena, the backward buffers and the attention scratch.
// The hook is NULL: per-weight accumulators (8 bytes per parameter, 54 GB
// for 7B) would need the file-backed scratch, which is not built.
// usage: bench_grad_mem [layers] [tokens]   (defaults 2, 256)
// Results: bench/results/grad_mem.json.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "core/backward.h"
#include "core/synth.h"

static long rss_anon_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "RssAnon:", 8)) kb = atol(line + 8);
    if (f) fclose(f);
    return kb;
}

static volatile int stop_flag;
static long peak_kb;

static void *sampler(void *arg) {
    (void)arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    while (!stop_flag) {
        long kb = rss_anon_kb();
        if (kb > peak_kb) peak_kb = kb;
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int64_t layers = argc > 1 ? atol(argv[1]) : 2, T = argc > 2 ? atol(argv[2]) : 256;
    if (layers < 1 || T < 2) {
        fprintf(stderr, "usage: bench_grad_mem [layers] [tokens]\n");
        return 2;
    }
    struct cpr_synth_spec s = {.hidden = 4096, .intermediate = 11008,
                               .n_layers = layers, .n_heads = 32, .n_kv_heads = 32,
                               .vocab = 32000, .context = 4096,
                               .dtype = CPR_DTYPE_BF16, .seed = 1,
                               .bos_id = 1, .eos_id = 2};
    struct cpr_model m;
    struct cpr_err err = {0};
    struct cpr_pool *pool = NULL;
    if (cpr_synth_model(&m, &s, &err) != CPR_OK ||
        cpr_pool_init(&pool, 2, &err) != CPR_OK) {
        fprintf(stderr, "bench_grad_mem: %s\n", err.msg);
        return 1;
    }
    int32_t *tok = malloc((size_t)T * sizeof(int32_t));
    for (int64_t i = 0; i < T; i++) tok[i] = (int32_t)((i * 7919) % 32000);
    long base = rss_anon_kb();
    peak_kb = base;
    pthread_t th;
    pthread_create(&th, NULL, sampler, NULL);
    double t0 = cpr_bench_now(), loss = 0.0;
    struct cpr_backward b;
    enum cpr_status st = cpr_backward_init(&b, &m, NULL, pool, 1, T, &err);
    if (st == CPR_OK) st = cpr_backward_run(&b, tok, 1, T, 1.0f, NULL, NULL, &loss, &err);
    double secs = cpr_bench_now() - t0;
    cpr_backward_free(&b);
    stop_flag = 1;
    pthread_join(th, NULL);
    if (st != CPR_OK) {
        fprintf(stderr, "bench_grad_mem: %s\n", err.msg);
        return 1;
    }
    double gib = (double)(peak_kb - base) / (1024.0 * 1024.0);
    char shape[128], note[192];
    snprintf(shape, sizeof shape, "LLaMA-7B-shaped, %lld layers, bf16, 1 x %lld tokens",
             (long long)layers, (long long)T);
    snprintf(note, sizeof note,
             "peak RssAnon over the weights %.3f GiB (weights %.2f GiB anon); "
             "loss %.4f; hook NULL", gib, (double)base / (1024.0 * 1024.0), loss);
    printf("%s: %.2f s, %s\n", shape, secs, note);
    struct cpr_bench_report rep;
    cpr_bench_report_open(&rep, "grad_mem", 2);
    cpr_bench_row(&rep, "grad_pass", cpr_isa_name(cpr_kernels_isa()), shape, 2, secs,
                  -1.0, -1.0, -1.0, note);
    int rc = cpr_bench_report_close(&rep);
    free(tok);
    cpr_pool_free(pool);
    cpr_model_free(&m);
    return rc ? 1 : 0;
}
