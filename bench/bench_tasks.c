// bench/bench_tasks.c: zero-shot task scoring throughput vs perplexity
// evaluation on the same real model (tinystories-656k from $CPRUNE_DATA),
// 2 threads. The target: task tokens/s >= 0.8 x eval tokens/s.
//
// Requests are made from the TinyStories eval token stream with a fixed
// recipe: 400 documents, a context of 50..350 tokens starting at a
// pseudo-random offset, 4 continuations of 5..20 tokens each (HellaSwag-like
// shapes: the 4 choices share their context, continuations share no
// prefix). Task tokens/s counts the request input tokens
// (sum of n_ctx + n_cont - 1: the work a per-request forward would do,
// so the KV path's savings show as speed); eval tokens/s is
// cpr_ppl_eval's (hf protocol, seqlen 512, 40 chunks). The tasks are timed
// with shared contexts through the KV cache (default) and without
// (no_kv_share, the batch path only). Best of 3 runs each.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "core/pool.h"
#include "data/corpus.h"
#include "data/model_load.h"
#include "data/tokenizer.h"
#include "eval/perplexity.h"
#include "eval/tasks.h"

#define DOCS 400
#define CHOICES 4

int main(void) {
    const char *root = getenv("CPRUNE_DATA");
    if (!root || !*root) root = "../shared";
    char path[1024];
    snprintf(path, sizeof path, "%s/models/tinystories-656k", root);
    struct cpr_err err = {0};
    struct cpr_model m = {0};
    struct cpr_tokenizer tok = {0};
    struct cpr_pool *pool = NULL;
    char *text = NULL;
    size_t len = 0;
    int32_t *ids = NULL;
    int64_t n = 0;
    if (cpr_model_load(path, &m, &err) ||
        cpr_tokenizer_load_for_model(&tok, path, NULL, m.cfg.vocab, &err) ||
        cpr_corpus_load(root, "tinystories", "eval", &text, &len, &err) ||
        cpr_tokenizer_encode(&tok, text, len, 1, &ids, &n, &err) ||
        cpr_pool_init(&pool, 2, &err)) {
        fprintf(stderr, "bench_tasks: %s (skipped)\n", err.msg);
        return 0;
    }
    struct cpr_ll_request *rq = calloc(DOCS * CHOICES, sizeof *rq);
    uint64_t x = 88172645463325252ull;
    for (int d = 0; d < DOCS; d++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t nc = 50 + (int64_t)(x % 301), off = (int64_t)((x >> 20) % (uint64_t)(n - 800));
        for (int c = 0; c < CHOICES; c++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            struct cpr_ll_request *q = &rq[d * CHOICES + c];
            q->ctx = ids + off;
            q->n_ctx = nc;
            q->cont = ids + (int64_t)((x >> 8) % (uint64_t)(n - 40));
            q->n_cont = 5 + (int64_t)(x % 16);
        }
    }
    struct cpr_ll_result *rs = calloc(DOCS * CHOICES, sizeof *rs);
    struct cpr_ll_stats st = {0}, st_off = {0};
    struct cpr_ll_opts off = {.no_kv_share = 1};
    double best_t = 1e30, best_e = 1e30, best_off = 1e30;
    int64_t req_tokens = 0;
    for (int i = 0; i < DOCS * CHOICES; i++) req_tokens += rq[i].n_ctx + rq[i].n_cont - 1;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = cpr_bench_now();
        if (cpr_ll_score(&m, NULL, pool, rq, DOCS * CHOICES, NULL, rs, &st, &err)) break;
        double t = cpr_bench_now() - t0;
        if (t < best_t) best_t = t;
        t0 = cpr_bench_now();
        if (cpr_ll_score(&m, NULL, pool, rq, DOCS * CHOICES, &off, rs, &st_off, &err)) break;
        t = cpr_bench_now() - t0;
        if (t < best_off) best_off = t;
        struct cpr_ppl_opts po = {.protocol = CPR_PPL_HF, .seqlen = 512, .max_chunks = 40};
        struct cpr_ppl_result pr;
        t0 = cpr_bench_now();
        if (cpr_ppl_eval(&m, NULL, pool, ids, n, &po, &pr, &err)) break;
        t = cpr_bench_now() - t0;
        if (t < best_e) best_e = t;
    }
    if (err.code) fprintf(stderr, "bench_tasks: %s\n", err.msg);
    double task_tps = (double)req_tokens / best_t, eval_tps = 40.0 * 512 / best_e;
    double off_tps = (double)req_tokens / best_off;
    printf("tasks: %lld requests, %lld request tokens\n", (long long)(DOCS * CHOICES),
           (long long)req_tokens);
    printf("  shared contexts (KV): %lld forward tokens, %lld kv contexts, %lld calls: "
           "%.3f s, %.0f tok/s\n", (long long)st.tokens, (long long)st.kv_contexts,
           (long long)st.calls, best_t, task_tps);
    printf("  batch path only:      %lld forward tokens (%lld padded, %lld sequences, "
           "%lld calls): %.3f s, %.0f tok/s\n", (long long)st_off.tokens,
           (long long)st_off.padded_tokens, (long long)st_off.sequences,
           (long long)st_off.calls, best_off, off_tps);
    printf("  speed-up %.2fx\n", task_tps / off_tps);
    printf("eval:  40 x 512 tokens: %.0f tok/s; ratio %.2f (target >= 0.80)\n", eval_tps,
           task_tps / eval_tps);
    struct cpr_bench_report r;
    cpr_bench_report_open(&r, "tasks", 2);
    char note[160];
    snprintf(note, sizeof note, "tinystories-656k; ratio = task tok/s / eval tok/s "
             "(%.0f / %.0f); target >= 0.80", task_tps, eval_tps);
    cpr_bench_row(&r, "tasks_vs_eval", cpr_isa_name(cpr_kernels_isa()),
                  "400 docs x 4 choices, ctx 50..350, cont 5..20", 2, best_t, -1, -1,
                  task_tps / eval_tps, note);
    snprintf(note, sizeof note, "tinystories-656k; shared contexts via KV cache vs batch "
             "path only (%.0f / %.0f tok/s)", task_tps, off_tps);
    cpr_bench_row(&r, "tasks_kv_vs_batch", cpr_isa_name(cpr_kernels_isa()),
                  "400 docs x 4 choices, ctx 50..350, cont 5..20", 2, best_t, -1, -1,
                  task_tps / off_tps, note);
    cpr_bench_report_close(&r);
    free(rq);
    free(rs);
    free(ids);
    free(text);
    cpr_pool_free(pool);
    cpr_tokenizer_free(&tok);
    cpr_model_free(&m);
    return 0;
}
