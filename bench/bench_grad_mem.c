// bench/bench_grad_mem.c: anonymous memory and time of one core/backward
// gradient pass on a LLaMA-7B-shaped synthetic model with few layers.
//
// The model (hidden 4096, intermediate 11008, 32 heads, vocab 32000,
// untied lm_head, bf16) is built in memory by cpr_synth_model, so its
// weights are anonymous memory too: the figure reported is the growth of
// RssAnon over the weights (peak sampled by a thread every 20 ms), i.e.
// what the gradient pass itself holds: the checkpoints (layers x T x 4096
// f32), the forward arena, the backward buffers and the attention scratch.
// Accumulators (argument 3): none (hook NULL), ram (GBLM's l1/l2,
// methods/gradstats.h: 8 bytes per decoder parameter in RAM) or a
// directory: the same accumulators in an unlinked scratch file there
// (data/scratch_file.h), one layer slab in RAM. With accumulators the pass
// runs `windows` windows, finishes the norms and reads every layer back
// (what the pipeline does), all inside the measured region.
// Windows go through cpr_gradstats_windows in groups of `group` (argument
// 5; 0 = cpr_gradstats_group's choice, 1 = one window at a time, as before
// grouping existed); the note gives the bytes the accumulators moved to and
// from the scratch file (methods/gradstats.h counters).
// Arguments 6 and 7: a model directory or file (e.g. the 32-layer
// 7B-shaped bf16 model of `cprune synth`; "-" = the in-memory synthetic
// one), loaded mmapped (file-backed, so RssAnon is the gradient pass's
// alone and `layers` is ignored), and the first layer whose accumulators
// are kept (core/backward.h first_layer: the backward pass stops there;
// the forward pass and its checkpoints still cover every layer, so the
// memory is that of a full pass while the scratch file holds only layers
// first..L-1).
// usage: bench_grad_mem [layers] [tokens] [none|ram|DIR] [windows] [group]
//                       [model|-] [first]
//        (defaults 2, 256, none, 1, 0, -, 0)
// Results: bench/results/grad_mem.json.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "core/backward.h"
#include "core/synth.h"
#include "data/model_load.h"
#include "data/scratch_file.h"
#include "methods/gradstats.h"

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
static volatile long peak_kb; // written by the sampler, read for progress

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

// The gradstats hook, timing the first call (the end of the forward pass
// and the head's gradient).
// Progress on stderr at each new layer (a run cut short still says how
// far it got and its memory so far).
struct timed {
    struct cpr_gradstats *gs;
    double t0, t_first;
    int64_t last;
    long base_kb;
};

static enum cpr_status timed_hook(void *user, const struct cpr_grad *g,
                                  struct cpr_err *err) {
    struct timed *t = user;
    if (t->t_first == 0.0) t->t_first = cpr_bench_now();
    if (g->layer != t->last) {
        t->last = g->layer;
        fprintf(stderr, "[%.1f s] backward of layer %lld; peak RssAnon so "
                "far +%.3f GiB\n", cpr_bench_now() - t->t0,
                (long long)g->layer,
                (double)(peak_kb - t->base_kb) / (1024.0 * 1024.0));
    }
    return t->gs ? cpr_gradstats_hook(t->gs, g, err) : CPR_OK;
}

int main(int argc, char **argv) {
    int64_t layers = argc > 1 ? atol(argv[1]) : 2, T = argc > 2 ? atol(argv[2]) : 256;
    const char *acc = argc > 3 ? argv[3] : "none";
    const int64_t n_win = argc > 4 ? atol(argv[4]) : 1;
    int64_t group = argc > 5 ? atol(argv[5]) : 0;
    const char *mpath = argc > 6 && strcmp(argv[6], "-") ? argv[6] : NULL;
    int64_t first = argc > 7 ? atol(argv[7]) : 0;
    const int use_acc = strcmp(acc, "none") != 0;
    const int use_file = use_acc && strcmp(acc, "ram") != 0;
    if (layers < 1 || T < 2 || n_win < 1 || group < 0 || first < 0) {
        fprintf(stderr, "usage: bench_grad_mem [layers] [tokens] "
                        "[none|ram|DIR] [windows] [group] [model|-] "
                        "[first]\n");
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
    if ((mpath ? cpr_model_load(mpath, &m, &err)
               : cpr_synth_model(&m, &s, &err)) != CPR_OK ||
        cpr_pool_init(&pool, 2, &err) != CPR_OK) {
        fprintf(stderr, "bench_grad_mem: %s\n", err.msg);
        return 1;
    }
    layers = m.cfg.n_layers;
    if (first >= layers) {
        fprintf(stderr, "bench_grad_mem: first layer %lld of %lld\n",
                (long long)first, (long long)layers);
        return 2;
    }
    int32_t *tok = malloc((size_t)(T * n_win) * sizeof(int32_t));
    for (int64_t i = 0; i < T * n_win; i++)
        tok[i] = (int32_t)((i * 7919) % m.cfg.vocab);
    long base = rss_anon_kb();
    peak_kb = base;
    pthread_t th;
    pthread_create(&th, NULL, sampler, NULL);
    double t0 = cpr_bench_now();
    struct cpr_backward b;
    struct cpr_gradstats gs;
    struct cpr_scratch_file sf = {.fd = -1};
    memset(&gs, 0, sizeof gs);
    enum cpr_status st = cpr_backward_init(&b, &m, NULL, pool, 1, T, &err);
    if (st == CPR_OK && use_file) st = cpr_scratch_file_open(&sf, acc, &err);
    b.first_layer = first;
    if (st == CPR_OK && use_acc)
        st = cpr_gradstats_init_range(&gs, &m, NULL, pool,
                                      use_file ? &sf.io : NULL, first, layers,
                                      &err);
    if (st == CPR_OK && use_acc && group == 0)
        group = cpr_gradstats_group(&m, use_file, T, n_win);
    if (group < 1) group = 1;
    // the first group's forward (+ head) time, then its backward: the
    // per-layer backward time projects a pass over more layers
    struct timed tm = {use_acc ? &gs : NULL, t0, 0.0, -1, base};
    double t_group1 = 0.0;
    for (int64_t w = 0; w < n_win && st == CPR_OK; w += group) {
        const int64_t g = n_win - w < group ? n_win - w : group;
        st = cpr_backward_run_windows(&b, tok + w * T, g, T, 1.0f, timed_hook,
                                      &tm, NULL, &err);
        if (use_acc) gs.n_windows += (size_t)g;
        if (w == 0) t_group1 = cpr_bench_now();
    }
    if (st == CPR_OK && use_acc) {
        cpr_gradstats_finish(&gs, CPR_GRAD_F32);
        for (int64_t l = first; l < layers && st == CPR_OK; l++)
            st = cpr_gradstats_load(&gs, l, &err);
    }
    double secs = cpr_bench_now() - t0;
    const double fwd1 = tm.t_first - t0, bwd1 = t_group1 - tm.t_first;
    const double gib_w = (double)gs.bytes_written / (1024.0 * 1024.0 * 1024.0);
    const double gib_r = (double)gs.bytes_read / (1024.0 * 1024.0 * 1024.0);
    const double file_gib = (double)sf.size / (1024.0 * 1024.0 * 1024.0);
    cpr_gradstats_free(&gs);
    cpr_scratch_file_close(&sf);
    cpr_backward_free(&b);
    stop_flag = 1;
    pthread_join(th, NULL);
    if (st != CPR_OK) {
        fprintf(stderr, "bench_grad_mem: %s\n", err.msg);
        return 1;
    }
    double gib = (double)(peak_kb - base) / (1024.0 * 1024.0);
    char shape[384], note[512];
    snprintf(shape, sizeof shape, "%s%s, %lld layers "
             "(gradients of %lld..%lld), %lld x %lld tokens",
             mpath ? "model " : "LLaMA-7B-shaped synthetic in memory",
             mpath ? mpath : "",
             (long long)layers, (long long)first, (long long)layers - 1,
             (long long)n_win, (long long)T);
    snprintf(note, sizeof note,
             "peak RssAnon over the weights %.3f GiB (weights %.2f GiB anon); "
             "accumulators %s%s (file %.2f GiB); windows in groups of %lld; "
             "scratch I/O %.2f GiB written, %.2f GiB read (finish and "
             "reading every layer back included); first group: forward + "
             "head %.1f s, backward %.1f s (%.1f s per layer)", gib,
             (double)base / (1024.0 * 1024.0),
             use_file ? "scratch file in " : "", acc, file_gib,
             (long long)group, gib_w, gib_r, fwd1, bwd1,
             bwd1 / (double)(layers - first));
    printf("%s: %.2f s, %s\n", shape, secs, note);
    struct cpr_bench_report rep;
    cpr_bench_report_open(&rep, "grad_mem", 2);
    cpr_bench_row(&rep, !use_acc ? "grad_pass" : use_file ? "grad_pass_scratch"
                                                  : "grad_pass_ram", cpr_isa_name(cpr_kernels_isa()), shape, 2, secs,
                  -1.0, -1.0, -1.0, note);
    int rc = cpr_bench_report_close(&rep);
    free(tok);
    cpr_pool_free(pool);
    cpr_model_free(&m);
    return rc ? 1 : 0;
}
