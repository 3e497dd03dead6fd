// tests/test_eval_tasks.c: the pieces of zero-shot task scoring by hand:
// numpy-argmax and acc_norm edge cases, mean_stderr, Python's whitespace
// set and len(), HellaSwag's preprocess, the task readers' prompts and
// their errors (file:line, field, expected vs found), and the scorer on a
// synthetic model checked against cpr_forward_chunk_nll request by request
// (prefix sharing, left truncation, empty continuations, bad requests).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/forward.h"
#include "core/pool.h"
#include "core/synth.h"
#include "data/taskfile.h"
#include "data/tokenizer.h"
#include "eval/tasks.h"
#include "tests/harness.h"

static void test_metrics(struct cpr_test_ctx *t) {
    double a[] = {-3, -1, -1, -2};
    CPR_CHECK(t, cpr_mc_argmax(a, 4) == 1, "first maximum on ties");
    double b[] = {-3, NAN, -1, NAN};
    CPR_CHECK(t, cpr_mc_argmax(b, 4) == 1, "NaN wins, first one (numpy)");
    int acc, an;
    // ll / len: (-4/2, -3/1) -> acc picks 1, acc_norm picks 0.
    double ll[] = {-4, -3};
    int64_t len[] = {2, 1};
    cpr_mc_score(ll, len, 2, 0, &acc, &an);
    CPR_CHECK(t, acc == 0 && an == 1, "acc %d acc_norm %d", acc, an);
    // An empty choice: -2/0 = -inf never wins; 0/0 = NaN always wins.
    double l2[] = {-2, -5};
    int64_t z2[] = {0, 3};
    cpr_mc_score(l2, z2, 2, 1, &acc, &an);
    CPR_CHECK(t, acc == 0 && an == 1, "-inf: acc %d acc_norm %d", acc, an);
    double l3[] = {0, -1};
    cpr_mc_score(l3, z2, 2, 0, &acc, &an);
    CPR_CHECK(t, acc == 1 && an == 1, "NaN: acc %d acc_norm %d", acc, an);
    double x[] = {1, 0, 1, 1}, mu, se;
    cpr_mean_stderr(x, 4, &mu, &se);
    // sample std of (1,0,1,1) = 0.5, / sqrt(4) = 0.25
    CPR_CHECK(t, mu == 0.75 && fabs(se - 0.25) < 1e-15, "mean %g stderr %g", mu, se);
    cpr_mean_stderr(x, 1, &mu, &se);
    CPR_CHECK(t, mu == 1 && isnan(se), "one sample: stderr N/A");
}

static void test_strings(struct cpr_test_ctx *t) {
    const char *s = "ab \t\n\xc2\xa0\xe3\x80\x80";
    CPR_CHECK(t, cpr_task_rstrip_len(s, strlen(s)) == 2, "rstrip Unicode spaces: %zu",
              cpr_task_rstrip_len(s, strlen(s)));
    const char *u = "x\xe2\x80\x8b"; // U+200B is not whitespace for Python
    CPR_CHECK(t, cpr_task_rstrip_len(u, strlen(u)) == strlen(u), "U+200B kept");
    CPR_CHECK(t, cpr_task_utf8_chars("h\xc3\xa9llo \xe2\x98\x83") == 7, "len in code points");
    struct { const char *in, *out; } hs[] = {
        {"  A man [title] walks.  ", "A man. walks."},
        {"drop [header] this", "drop this"},
        {"keep [open\nbracket]", "keep [open\nbracket]"},
        {"a   b", "a  b"},  // one pass of "  " -> " "
        {"x [a] [b] y", "x  y"},
    };
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
        char *o = cpr_task_hellaswag_preprocess(hs[i].in);
        CPR_CHECK(t, o && strcmp(o, hs[i].out) == 0, "preprocess('%s') = '%s', want '%s'",
                  hs[i].in, o ? o : "(null)", hs[i].out);
        free(o);
    }
}

static char *tmpdir(void) {
    char *d = strdup("/tmp/cprune_tasks_XXXXXX");
    return mkdtemp(d) ? d : NULL;
}

static void put(const char *dir, const char *name, const char *text) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void rm(const char *dir, const char *name) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    unlink(p);
}

static void test_readers(struct cpr_test_ctx *t) {
    char *d = tmpdir();
    if (!d) {
        CPR_CHECK(t, 0, "mkdtemp");
        return;
    }
    struct cpr_taskset ts;
    struct cpr_err err = {0};
    // Prompts of each template.
    put(d, "boolq.jsonl", "{\"passage\":\"P\",\"question\":\"q\",\"answer\":true}\n\n");
    CPR_CHECK_STATUS(t, cpr_taskset_read(&ts, d, "boolq", 0, &err), CPR_OK, &err, NULL);
    CPR_CHECK(t, ts.n_docs == 1 && strcmp(ts.docs[0].ctx[0], "P\nQuestion: q?\nAnswer:") == 0 &&
                     strcmp(ts.docs[0].cont[1], " yes") == 0 && ts.docs[0].gold == 1,
              "boolq prompt");
    cpr_taskset_free(&ts);
    put(d, "winogrande.jsonl", "{\"sentence\":\"A told B that _ won . \",\"option1\":\"A\","
                               "\"option2\":\"B\",\"answer\":\"2\"}\n");
    CPR_CHECK_STATUS(t, cpr_taskset_read(&ts, d, "winogrande", 0, &err), CPR_OK, &err, NULL);
    CPR_CHECK(t, strcmp(ts.docs[0].ctx[0], "A told B that A") == 0 &&
                     strcmp(ts.docs[0].ctx[1], "A told B that B") == 0 &&
                     strcmp(ts.docs[0].cont[0], " won .") == 0 && ts.docs[0].gold == 1,
              "winogrande: '%s' '%s'", ts.docs[0].ctx[1], ts.docs[0].cont[0]);
    cpr_taskset_free(&ts);
    put(d, "hellaswag.jsonl", "{\"activity_label\":\"Run\",\"ctx_a\":\"A man runs.\","
                              "\"ctx_b\":\"tHE man\",\"endings\":[\"stops [title] now.\","
                              "\"x\"],\"label\":\"1\"}\n");
    CPR_CHECK_STATUS(t, cpr_taskset_read(&ts, d, "hellaswag", 0, &err), CPR_OK, &err, NULL);
    CPR_CHECK(t, strcmp(ts.docs[0].ctx[0], "Run: A man runs. The man") == 0 &&
                     strcmp(ts.docs[0].cont[0], " stops. now.") == 0 &&
                     ts.docs[0].norm_chars[0] == 11 && ts.docs[0].gold == 1,
              "hellaswag: '%s' '%s'", ts.docs[0].ctx[0], ts.docs[0].cont[0]);
    cpr_taskset_free(&ts);
    // --limit keeps the first N; original counts all.
    put(d, "g.jsonl", "{\"context\":\"a\",\"choices\":[\"b\",\"c\"],\"gold\":1}\n"
                      "{\"context\":\"d\",\"choices\":[\"e\"],\"gold\":0}\n");
    CPR_CHECK_STATUS(t, cpr_taskset_read(&ts, d, "g", 1, &err), CPR_OK, &err, NULL);
    CPR_CHECK(t, ts.n_docs == 1 && ts.n_docs_file == 2 && ts.kind == CPR_TASK_GENERIC,
              "limit");
    cpr_taskset_free(&ts);
    // Errors.
    CPR_CHECK_STATUS(t, cpr_taskset_read(&ts, d, "piqa", 0, &err), CPR_ERR_NOTFOUND, &err,
                     "piqa.jsonl");
    CPR_CHECK_STATUS(t, cpr_taskset_read(&ts, d, "../x", 0, &err), CPR_ERR_ARG, &err,
                     "task name");
    put(d, "g.jsonl", "{\"context\":\"a\",\"choices\":[\"b\"],\"gold\":3}\n");
    CPR_CHECK_STATUS(t, cpr_taskset_read(&ts, d, "g", 0, &err), CPR_ERR_FORMAT, &err,
                     "g.jsonl:1: gold answer 3 is outside the 1 choices");
    put(d, "g.jsonl", "\n{\"context\":7,\"choices\":[\"b\"],\"gold\":0}\n");
    CPR_CHECK_STATUS(t, cpr_taskset_read(&ts, d, "g", 0, &err), CPR_ERR_FORMAT, &err,
                     "g.jsonl:2: field 'context': expected a string, found number");
    put(d, "g.jsonl", "{\"context\":\"a\",\n");
    CPR_CHECK_STATUS(t, cpr_taskset_read(&ts, d, "g", 0, &err), CPR_ERR_FORMAT, &err,
                     "g.jsonl:1");
    put(d, "arc_easy.jsonl", "{\"question\":\"q\",\"choices\":{\"text\":[\"a\"],"
                             "\"label\":[\"A\"]},\"answerKey\":\"B\"}\n");
    CPR_CHECK_STATUS(t, cpr_taskset_read(&ts, d, "arc_easy", 0, &err), CPR_ERR_FORMAT, &err,
                     "answerKey 'B' is not one of the choice labels");
    put(d, "rte.jsonl", "{\"sentence1\":\"a\",\"sentence2\":\"b\",\"label\":\"maybe\"}\n");
    CPR_CHECK_STATUS(t, cpr_taskset_read(&ts, d, "rte", 0, &err), CPR_ERR_FORMAT, &err,
                     "expected entailment or not_entailment, found 'maybe'");
    rm(d, "rte.jsonl");
    put(d, "rte.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\n");
    CPR_CHECK_STATUS(t, cpr_taskset_read(&ts, d, "rte", 0, &err), CPR_ERR_FORMAT, &err,
                     "rte.tsv:2: expected 4 tab-separated fields, found 3");
    put(d, "piqa.jsonl", "{\"goal\":\"g\",\"sol1\":\"a\",\"sol2\":\"b\"}\n"
                         "{\"goal\":\"g\",\"sol1\":\"a\",\"sol2\":\"b\"}\n");
    CPR_CHECK_STATUS(t, cpr_taskset_read(&ts, d, "piqa", 0, &err), CPR_ERR_NOTFOUND, &err,
                     "no labels file");
    put(d, "piqa.lst", "1\n");
    CPR_CHECK_STATUS(t, cpr_taskset_read(&ts, d, "piqa", 0, &err), CPR_ERR_FORMAT, &err,
                     "has 1 labels, fewer than the documents");
    put(d, "piqa.lst", "1\n0\n1\n");
    CPR_CHECK_STATUS(t, cpr_taskset_read(&ts, d, "piqa", 0, &err), CPR_ERR_FORMAT, &err,
                     "has 3 labels but");
    put(d, "piqa.lst", "1\n0\n");
    CPR_CHECK_STATUS(t, cpr_taskset_read(&ts, d, "piqa", 0, &err), CPR_OK, &err, NULL);
    CPR_CHECK(t, ts.docs[0].gold == 1 && ts.docs[1].gold == 0, "piqa labels from .lst");
    cpr_taskset_free(&ts);
    const char *files[] = {"boolq.jsonl", "winogrande.jsonl", "hellaswag.jsonl", "g.jsonl",
                           "arc_easy.jsonl", "rte.tsv", "piqa.jsonl", "piqa.lst"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) rm(d, files[i]);
    rmdir(d);
    free(d);
}

// The scorer against cpr_forward_chunk_nll on each request alone.
static void test_scorer(struct cpr_test_ctx *t) {
    struct cpr_synth_spec sp = {
        .arch = CPR_ARCH_LLAMA, .hidden = 32, .intermediate = 64, .n_layers = 2,
        .n_heads = 4, .n_kv_heads = 2, .vocab = 40, .context = 24,
        .dtype = CPR_DTYPE_F32, .seed = 5, .init_std = 0.3, .norm_jitter = 0.1,
        .rope_theta = 10000, .bos_id = 1, .eos_id = 2,
    };
    struct cpr_model m = {0};
    struct cpr_err err = {0};
    if (cpr_synth_model(&m, &sp, &err)) {
        CPR_CHECK(t, 0, "synth: %s", err.msg);
        return;
    }
    // r0: plain; r1: r0's context with a one-token continuation (shares
    // r0's pass); r2: identical to r0; r3: 30 tokens, truncated to 24;
    // r4: empty continuation.
    int32_t c0[] = {3, 4, 5, 6}, x0[] = {7, 8, 9};
    int32_t x1[] = {7};
    int32_t c3[27], x3[] = {11, 12, 13};
    for (int i = 0; i < 27; i++) c3[i] = (int32_t)(3 + (i * 7) % 30);
    struct cpr_ll_request rq[] = {
        {c0, 4, x0, 3}, {c0, 4, x1, 1}, {c0, 4, x0, 3}, {c3, 27, x3, 3}, {c0, 4, x0, 0},
    };
    struct cpr_ll_result rs[5];
    struct cpr_ll_stats st;
    CPR_CHECK_STATUS(t, cpr_ll_score(&m, NULL, NULL, rq, 5, NULL, rs, &st, &err), CPR_OK,
                     &err, NULL);
    CPR_CHECK(t, st.sequences == 2 && st.shared == 2, "sequences %lld shared %lld",
              (long long)st.sequences, (long long)st.shared);
    CPR_CHECK(t, rs[4].loglik == 0 && rs[4].greedy == 1, "empty continuation");
    CPR_CHECK(t, rs[3].truncated == 29 - 24 && rs[0].truncated == 0, "truncated %lld",
              (long long)rs[3].truncated);
    // By hand: each request alone, NLLs of the scored positions.
    struct cpr_forward f = {0};
    if (cpr_forward_init(&f, &m, NULL, NULL, 1, 25, &err)) {
        CPR_CHECK(t, 0, "forward: %s", err.msg);
        cpr_model_free(&m);
        return;
    }
    for (int r = 0; r < 4; r++) {
        int32_t full[40];
        int64_t n = 0;
        for (int64_t i = 0; i < rq[r].n_ctx; i++) full[n++] = rq[r].ctx[i];
        for (int64_t i = 0; i < rq[r].n_cont; i++) full[n++] = rq[r].cont[i];
        int64_t off = n - 1 > 24 ? n - 25 : 0, len = n - off; // inp + last target
        double nll[40];
        if (cpr_forward_chunk_nll(&f, full + off, 1, len, 0, nll, &err)) {
            CPR_CHECK(t, 0, "chunk_nll: %s", err.msg);
            break;
        }
        double want = 0;
        for (int64_t j = len - 1 - rq[r].n_cont; j < len - 1; j++) want -= nll[j];
        CPR_CHECK(t, fabs(rs[r].loglik - want) <= 1e-5 * (1 + fabs(want)),
                  "request %d: %.9g, by hand %.9g", r, rs[r].loglik, want);
    }
    CPR_CHECK(t, rs[0].loglik == rs[2].loglik, "duplicates agree");
    cpr_forward_free(&f);
    // Bad requests.
    int32_t bad[] = {3, 99};
    struct cpr_ll_request b1[] = {{bad, 2, x0, 1}};
    CPR_CHECK_STATUS(t, cpr_ll_score(&m, NULL, NULL, b1, 1, NULL, rs, NULL, &err),
                     CPR_ERR_ARG, &err, "token id 99 at position 1");
    struct cpr_ll_request b2[] = {{c0, 0, x0, 1}};
    CPR_CHECK_STATUS(t, cpr_ll_score(&m, NULL, NULL, b2, 1, NULL, rs, NULL, &err),
                     CPR_ERR_ARG, &err, "at least one context token");
    struct cpr_ll_request b3[] = {{c0, 1, c3, 25}};
    CPR_CHECK_STATUS(t, cpr_ll_score(&m, NULL, NULL, b3, 1, NULL, rs, NULL, &err),
                     CPR_ERR_ARG, &err, "more than the context window 24");
    cpr_model_free(&m);
}

// Shared contexts through the KV cache: the same values as the batch path
// (to the KV path's rounding), bit-identical for 1 and 2 threads, and the
// context really runs once (forward tokens n_ctx + sum(n_cont - 1)).
static void test_shared_kv(struct cpr_test_ctx *t) {
    struct cpr_synth_spec sp = {
        .arch = CPR_ARCH_LLAMA, .hidden = 32, .intermediate = 64, .n_layers = 2,
        .n_heads = 4, .n_kv_heads = 2, .vocab = 40, .context = 24,
        .dtype = CPR_DTYPE_F32, .seed = 9, .init_std = 0.3, .norm_jitter = 0.1,
        .rope_theta = 10000, .bos_id = 1, .eos_id = 2,
    };
    struct cpr_model m = {0};
    struct cpr_err err = {0};
    struct cpr_pool *pool = NULL;
    if (cpr_synth_model(&m, &sp, &err) || cpr_pool_init(&pool, 2, &err)) {
        CPR_CHECK(t, 0, "setup: %s", err.msg);
        cpr_model_free(&m);
        return;
    }
    // Doc A: context of 5, continuations of 3, 2, 4, 1 tokens; doc B:
    // context of 6, two of 3; a lone request; doc C: a shared context whose
    // second continuation does not fit the window (20 + 6 - 1 > 24).
    int32_t ca[] = {3, 4, 5, 6, 7}, cb[] = {9, 8, 7, 6, 5, 4}, cl[] = {10, 11};
    int32_t x1[] = {12, 13, 14}, x2[] = {15, 16}, x3[] = {17, 18, 19, 20}, x4[] = {21};
    int32_t x5[] = {22, 23, 24}, x6[] = {25, 26, 27}, x7[] = {28, 29, 30, 31, 32, 33};
    int32_t cc[20];
    for (int i = 0; i < 20; i++) cc[i] = (int32_t)(3 + (i * 5) % 33);
    struct cpr_ll_request rq[] = {
        {ca, 5, x1, 3}, {cb, 6, x5, 3}, {ca, 5, x2, 2}, {cl, 2, x3, 4}, {ca, 5, x3, 4},
        {cb, 6, x6, 3}, {ca, 5, x4, 1}, {cc, 20, x2, 2}, {cc, 20, x7, 6}, {cc, 20, x1, 3},
    };
    enum { N = sizeof rq / sizeof rq[0] };
    struct cpr_ll_result a[N], b[N], c[N];
    struct cpr_ll_stats sa, sb, sc;
    struct cpr_ll_opts off = {.no_kv_share = 1};
    CPR_CHECK_STATUS(t, cpr_ll_score(&m, NULL, NULL, rq, N, NULL, a, &sa, &err), CPR_OK,
                     &err, NULL);
    CPR_CHECK_STATUS(t, cpr_ll_score(&m, NULL, pool, rq, N, NULL, c, &sc, &err), CPR_OK,
                     &err, NULL);
    CPR_CHECK_STATUS(t, cpr_ll_score(&m, NULL, NULL, rq, N, &off, b, &sb, &err), CPR_OK,
                     &err, NULL);
    for (int i = 0; i < N; i++) {
        CPR_CHECK(t, fabs(a[i].loglik - b[i].loglik) <= 1e-5 * (1 + fabs(b[i].loglik)) &&
                         a[i].greedy == b[i].greedy && a[i].truncated == b[i].truncated,
                  "request %d: shared %.10g, unshared %.10g", i, a[i].loglik, b[i].loglik);
        CPR_CHECK(t, memcmp(&a[i].loglik, &c[i].loglik, sizeof(double)) == 0 &&
                         a[i].greedy == c[i].greedy,
                  "request %d: %.17g (1 thread) vs %.17g (2 threads)", i, a[i].loglik,
                  c[i].loglik);
    }
    // KV: A = 5 + 2 + 1 + 3 + 0, B = 6 + 2 + 2, C (x2, x1 fit) = 20 + 1 + 2;
    // batch: the lone request 2 + 4 - 1 and C's x7, truncated to 24.
    int64_t want = (5 + 2 + 1 + 3 + 0) + (6 + 2 + 2) + (20 + 1 + 2) + (2 + 4 - 1) + 24;
    CPR_CHECK(t, sa.tokens == want && sa.kv_contexts == 3 && sc.tokens == want,
              "forward tokens %lld (want %lld), kv contexts %lld", (long long)sa.tokens,
              (long long)want, (long long)sa.kv_contexts);
    CPR_CHECK(t, sb.kv_contexts == 0 && sb.tokens > sa.tokens, "unshared: %lld tokens",
              (long long)sb.tokens);
    CPR_CHECK(t, a[8].truncated == 20 + 6 - 1 - 24, "truncated %lld",
              (long long)a[8].truncated);
    // A model the KV path refuses (sliding window shorter than the
    // context): the batch path, the same bits as with sharing off.
    m.cfg.block.sliding_window = 8;
    CPR_CHECK_STATUS(t, cpr_ll_score(&m, NULL, NULL, rq, N, NULL, a, &sa, &err), CPR_OK,
                     &err, NULL);
    CPR_CHECK_STATUS(t, cpr_ll_score(&m, NULL, NULL, rq, N, &off, b, &sb, &err), CPR_OK,
                     &err, NULL);
    CPR_CHECK(t, sa.kv_contexts == 0 && sa.tokens == sb.tokens, "sliding window: %lld kv "
              "contexts", (long long)sa.kv_contexts);
    for (int i = 0; i < N; i++)
        CPR_CHECK(t, memcmp(&a[i].loglik, &b[i].loglik, sizeof(double)) == 0,
                  "sliding window request %d", i);
    cpr_pool_free(pool);
    cpr_model_free(&m);
}

// _encode_pair with a tokenizer that appends EOS (add_eos_token): the
// harness encodes without special tokens, so the ids equal the plain ones.
static void test_encode_eos(struct cpr_test_ctx *t) {
    char src[512], buf[600];
    cpr_test_data_path("models/tinystories-656k/tokenizer.json", src, sizeof src);
    FILE *in = fopen(src, "rb");
    if (!in) {
        cpr_test_skip(t, "tinystories-656k not found (set CPRUNE_DATA)");
        return;
    }
    char *d = tmpdir();
    snprintf(buf, sizeof buf, "%s/tokenizer.json", d);
    FILE *out = fopen(buf, "wb");
    char chunk[65536];
    size_t k;
    while (out && (k = fread(chunk, 1, sizeof chunk, in)) > 0) fwrite(chunk, 1, k, out);
    fclose(in);
    if (out) fclose(out);
    put(d, "tokenizer_config.json", "{\"bos_token\": \"<|start_story|>\", \"eos_token\": "
                                    "\"<|end_story|>\", \"add_bos_token\": false, "
                                    "\"add_eos_token\": true}");
    struct cpr_tokenizer plain = {0}, eos = {0};
    struct cpr_err err = {0};
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&plain, src, CPR_TOKENIZER_HF_JSON, 2048, &err),
                     CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_tokenizer_load(&eos, buf, CPR_TOKENIZER_HF_JSON, 2048, &err),
                     CPR_OK, &err, NULL);
    int32_t *c1 = NULL, *x1 = NULL, *c2 = NULL, *x2 = NULL;
    int64_t nc1 = 0, nx1 = 0, nc2 = 0, nx2 = 0;
    CPR_CHECK_STATUS(t, cpr_task_encode_pair(&plain, "The cat sat ", "on the mat", 0, &c1,
                                             &nc1, &x1, &nx1, &err), CPR_OK, &err, NULL);
    CPR_CHECK_STATUS(t, cpr_task_encode_pair(&eos, "The cat sat ", "on the mat", 0, &c2,
                                             &nc2, &x2, &nx2, &err), CPR_OK, &err, NULL);
    CPR_CHECK(t, nc1 == nc2 && nx1 == nx2 && nx1 > 0 &&
                     !memcmp(c1, c2, (size_t)nc1 * 4) && !memcmp(x1, x2, (size_t)nx1 * 4),
              "EOS-appending tokenizer: %lld+%lld vs %lld+%lld ids", (long long)nc2,
              (long long)nx2, (long long)nc1, (long long)nx1);
    free(c1), free(x1), free(c2), free(x2);
    cpr_tokenizer_free(&plain);
    cpr_tokenizer_free(&eos);
    rm(d, "tokenizer.json");
    rm(d, "tokenizer_config.json");
    rmdir(d);
    free(d);
}

const struct cpr_test cpr_tests_eval_tasks[] = {
    {"encode_eos", test_encode_eos, 0},
    {"metrics", test_metrics, 0},
    {"strings", test_strings, 0},
    {"readers", test_readers, 0},
    {"scorer", test_scorer, 0},
    {"shared_kv", test_shared_kv, 0},
    {0},
};
